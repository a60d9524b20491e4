//! Account events (`account.<kind>`): the mails that carry a single-use link (email
//! verification, password reset). `auth` sends them straight to the events queue after the
//! token is stored; they are the only mails the notifier sends to an unverified address.
//! The link (with the token's plaintext) is in the event and the mail, never in the table or a
//! log line: `AccountSummary`'s `Debug` leaves it out.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::mail::{Message as Mail, format_date};
use super::{Recipient, RecipientRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountEventKind {
    /// A new account, or one that asked for another link: verify the address.
    VerificationRequested,
    /// Someone asked to reset the account's password.
    PasswordResetRequested,
}

impl AccountEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerificationRequested => "verification_requested",
            Self::PasswordResetRequested => "password_reset_requested",
        }
    }
}

/// What account events carry (`"account": {...}`): whose account, and the link to follow.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub user_id: Uuid,
    /// The page that takes the token (`<APP_BASE_URL>/verify-email?token=...`).
    pub link: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for AccountSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountSummary")
            .field("user_id", &self.user_id)
            .field("link", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The account's owner; none for the nil user of a decoy reset mail (`app::account_tokens`,
/// `forgot_password`: an unknown email costs the same work as a real one, and mails no one).
pub(super) fn recipients(account: &AccountSummary) -> Vec<Recipient> {
    if account.user_id.is_nil() {
        return Vec::new();
    }
    vec![Recipient {
        user_id: account.user_id,
        role: RecipientRole::Participant,
    }]
}

pub(super) fn message(kind: AccountEventKind, account: &AccountSummary) -> Mail {
    let expires = format_date(Some(account.expires_at));
    let (subject, lines) = match kind {
        AccountEventKind::VerificationRequested => (
            "Verify your email address for Gigmarket".to_owned(),
            vec![
                "Please confirm that this is your email address by opening this link:".to_owned(),
                account.link.clone(),
                format!("The link works once, until {expires}."),
                "If you did not create a Gigmarket account, ignore this mail.".to_owned(),
            ],
        ),
        AccountEventKind::PasswordResetRequested => (
            "Reset your Gigmarket password".to_owned(),
            vec![
                "Someone (we hope you) asked to reset your password. Choose a new one here:"
                    .to_owned(),
                account.link.clone(),
                format!(
                    "The link works once, until {expires}; resetting signs you out everywhere."
                ),
                "If you did not ask for this, ignore this mail: your password stays as it is."
                    .to_owned(),
            ],
        ),
    };
    Mail {
        subject,
        lines,
        footer: "Your account - Gigmarket".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Event, EventType};

    const OWNER: Uuid = Uuid::from_u128(0x0c0ffee);

    fn summary() -> AccountSummary {
        AccountSummary {
            user_id: OWNER,
            link: "http://localhost:3000/verify-email?token=secret-token".to_owned(),
            expires_at: time::macros::datetime!(2026-11-26 12:00 UTC),
        }
    }

    #[test]
    fn account_events_round_trip_and_mail_the_link_to_the_owner() {
        let event = Event::for_account(
            AccountEventKind::PasswordResetRequested,
            summary(),
            time::macros::datetime!(2026-11-26 11:00 UTC),
        );
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "account.password_reset_requested");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        assert_eq!(
            back.event_type,
            EventType::Account(AccountEventKind::PasswordResetRequested)
        );
        let notice = back.notice().expect("a known type about its subject");
        assert!(notice.mails_unverified_addresses());
        let recipients = notice.recipients();
        assert_eq!(recipients.len(), 1);
        assert_eq!(recipients[0].user_id, OWNER);
        let mail = notice.render(&recipients[0], "Ann");
        assert!(mail.text.contains(&summary().link), "{}", mail.text);
        assert!(mail.text.contains("November 26, 2026 12:00 UTC"));
    }

    #[test]
    fn debug_leaves_the_link_out() {
        assert!(!format!("{:?}", summary()).contains("secret-token"));
    }

    #[test]
    fn a_decoy_reset_mail_of_the_nil_user_mails_no_one() {
        let decoy = AccountSummary {
            user_id: Uuid::nil(),
            ..summary()
        };
        let event = Event::for_account(
            AccountEventKind::PasswordResetRequested,
            decoy,
            time::macros::datetime!(2026-11-26 11:00 UTC),
        );
        assert!(event.notice().unwrap().recipients().is_empty());
    }
}
