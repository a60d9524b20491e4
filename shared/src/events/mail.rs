//! The one mail layout every event shares (greeting, lines, footer; text and escaped HTML) and
//! the formatting helpers the per-subject wording uses.

use time::OffsetDateTime;

use crate::domain::money::Currency;

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What a subject's wording decides; [`Message::to_email`] lays it out.
pub(super) struct Message {
    pub subject: String,
    pub lines: Vec<String>,
    /// Names what the mail is about, e.g. `Order <id> - Gigmarket`.
    pub footer: String,
}

impl Message {
    pub fn to_email(&self, recipient_name: &str) -> Email {
        let greeting = format!("Hello {recipient_name},");
        let text = [greeting.as_str(), ""]
            .into_iter()
            .chain(self.lines.iter().map(String::as_str))
            .chain(["", self.footer.as_str()])
            .collect::<Vec<_>>()
            .join("\n");
        let html = format!(
            "<!doctype html><html><body><p>{}</p>{}<p style=\"color:#888\">{}</p></body></html>",
            escape_html(&greeting),
            self.lines
                .iter()
                .map(|line| format!("<p>{}</p>", escape_html(line)))
                .collect::<String>(),
            escape_html(&self.footer)
        );
        Email {
            subject: self.subject.clone(),
            text,
            html,
        }
    }
}

/// Minor units in the currency's own decimals: `5000` `EUR` -> `EUR 50.00`, `5000` `JPY` ->
/// `JPY 5000`, `5000` `KWD` -> `KWD 5.000`.
pub fn format_money(minor: u64, currency: &str) -> String {
    let exponent = Currency::parse(currency).map_or(2, |currency| currency.exponent());
    if exponent == 0 {
        return format!("{currency} {minor}");
    }
    let unit = 10_u64.pow(exponent);
    let width = exponent as usize;
    format!("{currency} {}.{:0width$}", minor / unit, minor % unit)
}

/// `November 25, 2026 12:00 UTC`; `-` when there is no date.
pub(super) fn format_date(at: Option<OffsetDateTime>) -> String {
    at.map(|at| {
        format!(
            "{} {:02}, {} {:02}:{:02} UTC",
            at.month(),
            at.day(),
            at.year(),
            at.hour(),
            at.minute()
        )
    })
    .unwrap_or_else(|| "-".to_owned())
}

/// Everything in a mail comes from people (titles, notes, names), so all of it is escaped.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}
