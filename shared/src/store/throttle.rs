//! Throttles that can not be raced: fixed-window counters where each attempt is RESERVED with a
//! conditional `ADD` under the limit before the guarded work runs (password verification,
//! registration). However many requests arrive at once, DynamoDB serialises the writes to one
//! item, so at most `limit` of them are granted per window; the rest are refused before doing
//! anything. A check-then-act (read the count, work, then increment) lets every request that
//! starts before the first increment through.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use super::keys::{self, Key, attr, entity};
use super::{Store, condition_failed, key_attributes, n, s, sdk_error};
use crate::domain::quota::Window;
use crate::error::ApiError;

/// What an attempt is counted against.
#[derive(Debug, Clone, Copy)]
pub enum Throttle<'a> {
    /// Logins to one email from one address (see `app::Accounts::login` for why per address).
    LoginToEmailFromAddress { email: &'a str, source_ip: &'a str },
    /// Logins from one address, whatever the email.
    LoginFromAddress(&'a str),
    /// Registrations from one address.
    RegistrationFromAddress(&'a str),
    /// Verification mails one user asked for.
    VerificationMails(uuid::Uuid),
    /// Verification mails one user asked for in a day (their one email's daily cap).
    VerificationMailsPerDay(uuid::Uuid),
    /// Password-reset mails for one email asked from one address.
    ResetMails { email: &'a str, source_ip: &'a str },
    /// Password-reset mails for one email in a day, from every address together.
    ResetMailsPerDay(&'a str),
    /// Typing signals one user sent on the WebSocket API.
    Typing(uuid::Uuid),
    /// Requests one client (`RequestClient::key`) sent to the API functions.
    Requests(&'a str),
}

impl Throttle<'_> {
    fn key(self, window: Window) -> Key {
        match self {
            Self::LoginToEmailFromAddress { email, source_ip } => {
                keys::login_attempts(email, window.start, source_ip)
            }
            Self::LoginFromAddress(source_ip) => {
                keys::login_attempts_from_address(source_ip, window.start)
            }
            Self::RegistrationFromAddress(source_ip) => {
                keys::registrations_from_address(source_ip, window.start)
            }
            Self::VerificationMails(user_id) => keys::verification_mails(user_id, window.start),
            Self::VerificationMailsPerDay(user_id) => {
                keys::verification_mails_per_day(user_id, window.start)
            }
            Self::ResetMailsPerDay(email) => keys::reset_mails_per_day(email, window.start),
            Self::ResetMails { email, source_ip } => {
                keys::reset_mails(email, source_ip, window.start)
            }
            Self::Typing(user_id) => keys::typing_signals(user_id, window.start),
            Self::Requests(client) => keys::request_rate(client, window.start),
        }
    }
}

impl Store {
    /// Reserves one attempt under `limit` in `window`, atomically: `true` if granted. The item
    /// expires (TTL) when the window ends.
    pub async fn reserve_attempt(
        &self,
        throttle: Throttle<'_>,
        limit: u32,
        window: Window,
    ) -> Result<bool, ApiError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&throttle.key(window))))
            .update_expression(
                "ADD #attempts :one SET #expires_at = :expires_at, #entity = :entity",
            )
            .condition_expression("attribute_not_exists(#attempts) OR #attempts < :limit")
            .expression_attribute_names("#attempts", attr::ATTEMPTS)
            .expression_attribute_names("#expires_at", attr::EXPIRES_AT)
            .expression_attribute_names("#entity", attr::ENTITY)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":expires_at", n(window.end()))
            .expression_attribute_values(":entity", s(entity::THROTTLE_WINDOW))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if condition_failed::<UpdateItemError, _>(&error) => Ok(false),
            Err(error) => Err(sdk_error("UpdateItem")(error)),
        }
    }

    /// Gives back an attempt that turned out legitimate (a successful login), so successes never
    /// use up the budget for failures. Only ever after a granted reservation in the same window.
    pub async fn release_attempt(
        &self,
        throttle: Throttle<'_>,
        window: Window,
    ) -> Result<(), ApiError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&throttle.key(window))))
            .update_expression("ADD #attempts :minus_one")
            .condition_expression("#attempts > :zero")
            .expression_attribute_names("#attempts", attr::ATTEMPTS)
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Nothing to give back (the window item expired or was never there).
            Err(error) if condition_failed::<UpdateItemError, _>(&error) => Ok(()),
            Err(error) => Err(sdk_error("UpdateItem")(error)),
        }
    }

    /// Attempts reserved (and not given back) in `window`.
    pub async fn reserved_attempts(
        &self,
        throttle: Throttle<'_>,
        window: Window,
    ) -> Result<u32, ApiError> {
        #[derive(serde::Deserialize)]
        struct Counted {
            attempts: u32,
        }
        let counted: Option<Counted> = self.get_as(&throttle.key(window)).await?;
        Ok(counted.map_or(0, |counted| counted.attempts))
    }
}
