//! Domain types and rules. No AWS types here: these are plain data plus the checks that decide
//! whether a request is acceptable, unit-tested without any server.

pub mod browse;
pub mod category;
pub mod gig;
pub mod order;
pub mod search;
pub mod user;

use crate::error::Violations;

/// The one text-length rule of every request field: empty is `required`, then `too_short`
/// below `min_chars` and `too_long` above `max_chars` (counted in characters, not bytes).
pub(crate) fn check_text(
    violations: &mut Violations,
    field: &str,
    text: &str,
    min_chars: usize,
    max_chars: usize,
) {
    let chars = text.chars().count();
    if chars == 0 {
        violations.add(field, "required", "must not be empty");
    } else if chars < min_chars {
        violations.add(
            field,
            "too_short",
            format!("must be at least {min_chars} characters"),
        );
    }
    violations.check(
        chars <= max_chars,
        field,
        "too_long",
        format!("must be at most {max_chars} characters"),
    );
}
