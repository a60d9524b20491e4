//! The one mail layout every event shares (greeting, lines, footer; text and escaped HTML) and
//! the formatting helpers the per-subject wording uses.

use time::OffsetDateTime;

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

/// `5000` `EUR` -> `EUR 50.00`.
pub fn format_money(cents: u64, currency: &str) -> String {
    format!("{currency} {}.{:02}", cents / 100, cents % 100)
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
