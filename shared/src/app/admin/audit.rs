//! `GET /admin/audit`: the audit log, by actor, by target, or a whole month.

use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::require_admin;
use crate::domain::audit::AuditEntry;
use crate::domain::user::Caller;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{CursorCodec, Page, PageParams};
use crate::store::Store;
use crate::store::audit::{AuditFilter, year_month};

/// Longer than any user id or operator name (`check_operator_name`: 80).
const ACTOR_MAX_CHARS: usize = 100;

/// `GET /admin/audit` query: `actor` (an admin's id or an operator's name), `target` (a user or
/// gig id), `month` (`yyyy-mm`, only without the others: the unfiltered log is per month).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub target: Option<Uuid>,
    pub month: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub async fn audit_log(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    query: AuditQuery,
    now: OffsetDateTime,
) -> ApiResult<Page<AuditEntry>> {
    require_admin(&caller)?;
    let actor = query
        .actor
        .map(|actor| actor.trim().to_owned())
        .filter(|actor| !actor.is_empty());
    if actor
        .as_ref()
        .is_some_and(|actor| actor.chars().count() > ACTOR_MAX_CHARS)
    {
        return Err(ApiError::invalid(
            "actor",
            "too_long",
            format!("must be at most {ACTOR_MAX_CHARS} characters"),
        ));
    }
    let filter = match (actor, query.target, query.month) {
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "month lists the whole log of a month; it can not be combined with actor or target"
                    .into(),
            ));
        }
        (Some(actor), Some(target), None) => AuditFilter::ActorAndTarget(actor, target),
        (Some(actor), None, None) => AuditFilter::Actor(actor),
        (None, Some(target), None) => AuditFilter::Target(target),
        (None, None, month) => AuditFilter::Month(match month {
            Some(month) => valid_month(&month)?,
            None => year_month(now),
        }),
    };
    let page = cursors.page_request(&PageParams {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let (entries, next) = store.audit_log(&filter, &page).await?;
    Ok(cursors.page(entries, next))
}

/// `yyyy-mm`, a real month.
fn valid_month(month: &str) -> ApiResult<String> {
    let valid = month.len() == 7
        && month.as_bytes()[4] == b'-'
        && month[..4].bytes().all(|b| b.is_ascii_digit())
        && month[5..]
            .parse::<u8>()
            .is_ok_and(|number| (1..=12).contains(&number))
        && month[5..].bytes().all(|b| b.is_ascii_digit());
    if valid {
        Ok(month.to_owned())
    } else {
        Err(ApiError::invalid(
            "month",
            "invalid_month",
            "must be a month as yyyy-mm",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_checked() {
        assert!(valid_month("2026-11").is_ok());
        for bad in [
            "2026-13", "2026-00", "26-11", "2026/11", "2026-1a", "2026-+1",
        ] {
            assert!(valid_month(bad).is_err(), "{bad}");
        }
    }
}
