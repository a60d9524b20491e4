//! Users and their credentials, and the one spelling of a user's status in conditions (other
//! entities' transactions check it: a blocked freelancer's gigs are unlisted and take no orders).

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{self, USER_LIST_SHARDS, attr, entity, index};
use super::sessions::{RefreshToken, session_items};
use super::transaction::{TransactOutcome, Transaction};
use super::{Store, attribute, from_item, key_attributes, rfc3339, s, to_item};
use crate::domain::audit::AuditEntry;
use crate::domain::metrics::{MetricsDelta, role_name, user_status_name};
use crate::domain::user::{ProfileChanges, Role, User, UserStatus};
use crate::error::ApiError;

/// The login secret for one email. Kept off the profile item so no profile read ever loads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub user_id: Uuid,
    pub password_hash: String,
}

/// What a transaction requires of a user's status item, as it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserCondition {
    /// The user exists and is not blocked.
    NotBlocked,
    Blocked,
    /// There is no such user (gigs stored without an account, e.g. imported ones).
    Missing,
}

impl UserCondition {
    /// The condition matching what was read about the user.
    pub(crate) fn as_read(user: Option<&User>) -> Self {
        match user {
            None => Self::Missing,
            Some(user) if user.is_blocked() => Self::Blocked,
            Some(_) => Self::NotBlocked,
        }
    }
}

impl<N: Copy + std::fmt::Debug> Transaction<N> {
    /// Fails the transaction (as `name`) unless the user is still as `condition` says: blocking
    /// is another request's write, so an earlier read of the user can be stale.
    pub(crate) fn check_user(
        &mut self,
        name: N,
        user_id: Uuid,
        condition: UserCondition,
    ) -> Result<&mut Self, ApiError> {
        let blocked = attribute(&UserStatus::Blocked)?;
        self.check(name, &keys::user(user_id), |check| match condition {
            UserCondition::Missing => {
                check.condition_expression(format!("attribute_not_exists({})", attr::PK))
            }
            UserCondition::Blocked => check
                .condition_expression("#status = :blocked")
                .expression_attribute_names("#status", attr::STATUS)
                .expression_attribute_values(":blocked", blocked),
            UserCondition::NotBlocked => check
                .condition_expression(format!(
                    "attribute_exists({}) AND (attribute_not_exists(#status) OR #status <> :blocked)",
                    attr::PK
                ))
                .expression_attribute_names("#status", attr::STATUS)
                .expression_attribute_values(":blocked", blocked),
        })
    }
}

/// The items of a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Registration {
    Profile,
    Email,
    SessionFamily,
    SessionToken,
    Metrics,
    // `gigctl create-admin`'s audit entry.
    Audit,
}

impl Store {
    /// Creates the user and claims their email in one transaction: of any number of concurrent
    /// registrations for one email exactly one succeeds, the rest get 409.
    pub async fn create_user(&self, user: &User, password_hash: &str) -> Result<(), ApiError> {
        self.create_user_with_session(user, password_hash, None)
            .await
    }

    /// [`Store::create_user`], and when `session` is given (refresh-token digest and record) its
    /// first session too, in the SAME transaction: a registration either leaves a user who is
    /// signed in or nothing at all, so a retry after a failure never meets "email taken".
    pub async fn create_user_with_session(
        &self,
        user: &User,
        password_hash: &str,
        session: Option<(&str, &RefreshToken)>,
    ) -> Result<(), ApiError> {
        self.create_user_audited(user, password_hash, session, None)
            .await
    }

    /// [`Store::create_user_with_session`] with `audit` (an operator creating an admin)
    /// in the same transaction.
    pub async fn create_user_audited(
        &self,
        user: &User,
        password_hash: &str,
        session: Option<(&str, &RefreshToken)>,
        audit: Option<&AuditEntry>,
    ) -> Result<(), ApiError> {
        let mut profile = to_item(&keys::user(user.id), entity::USER, user)?;
        profile.extend(user_list_keys(user));
        let credentials = to_item(
            &keys::email_credentials(&user.email),
            entity::CREDENTIALS,
            &Credentials {
                user_id: user.id,
                password_hash: password_hash.to_owned(),
            },
        )?;
        let mut transaction = self.transaction();
        transaction
            .put_new(Registration::Profile, profile)?
            .put_new(Registration::Email, credentials)?
            .count(
                Registration::Metrics,
                &MetricsDelta::user_registered(user.role, user.status),
                user.id,
            )?;
        if let Some((token_digest, token)) = session {
            let (family, token) = session_items(token_digest, token)?;
            transaction
                .put_new(Registration::SessionFamily, family)?
                .put_new(Registration::SessionToken, token)?;
        }
        if let Some(audit) = audit {
            transaction.audit(Registration::Audit, audit)?;
        }
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionFailed(failed) if failed.includes(Registration::Email) => {
                Err(ApiError::conflict(
                    "email-taken",
                    "an account with this email already exists",
                ))
            }
            TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
                "user registration refused: {failed:?}"
            ))),
        }
    }

    pub async fn get_user(&self, user_id: Uuid) -> Result<Option<User>, ApiError> {
        self.get_as(&keys::user(user_id)).await
    }

    pub async fn credentials(
        &self,
        normalized_email: &str,
    ) -> Result<Option<Credentials>, ApiError> {
        self.get_as(&keys::email_credentials(normalized_email))
            .await
    }

    /// Applies a validated profile patch in one conditional update and returns the new profile.
    pub async fn update_profile(
        &self,
        acting: impl Into<super::acting::Acting>,
        changes: &ProfileChanges,
        now: OffsetDateTime,
    ) -> Result<User, ApiError> {
        let acting = acting.into();
        let user_id = acting.user_id;
        // A blocked account, or an access token of an ended session, edits nothing (403
        // account-blocked, 401), decided by the write (`store::acting`).
        let condition = super::acting::acting_condition(acting)?;
        let mut set = vec!["updated_at = :updated_at".to_owned()];
        let mut remove = Vec::new();
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::user(user_id))))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(Some(condition.names))
            .set_expression_attribute_values(Some(condition.values))
            .return_values(ReturnValue::AllNew)
            .expression_attribute_values(":updated_at", rfc3339(now));
        if let Some(name) = &changes.name {
            set.push("#name = :name".to_owned());
            // The admin user list by name follows the name.
            set.push(format!("{} = :name_sort", index::USERS_BY_NAME.sk()));
            request = request
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name))
                .expression_attribute_values(":name_sort", s(user_name_sort(name, user_id)));
        }
        if let Some(skills) = &changes.skills {
            set.push("skills = :skills".to_owned());
            let list = skills.iter().map(s).collect();
            request = request.expression_attribute_values(":skills", AttributeValue::L(list));
        }
        for (attribute, value) in [
            ("bio", &changes.bio),
            ("country", &changes.country),
            ("avatar_url", &changes.avatar_url),
        ] {
            match value {
                None => {}
                Some(None) => remove.push(attribute.to_owned()),
                Some(Some(text)) => {
                    set.push(format!("{attribute} = :{attribute}"));
                    request = request.expression_attribute_values(format!(":{attribute}"), s(text));
                }
            }
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let output = match request.update_expression(expression).send().await {
            Ok(output) => output,
            Err(error) if super::condition_failed(&error) => {
                let user = self.get_user(user_id).await?;
                return Err(match super::acting::refusal(user.as_ref(), acting) {
                    Some(refusal) if user.is_some() => refusal,
                    _ => ApiError::NotFound("user"),
                });
            }
            Err(error) => return Err(super::sdk_error("UpdateItem")(error)),
        };
        from_item(output.attributes.unwrap_or_default())
    }
}

// ---- the keys of the admin's users list (`keys.rs`, "Admin: lists") ----

/// The email search key: trimmed, lower case (as registration stores it).
pub(crate) fn email_search_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The name search key: lower case, whitespace runs as one space, trimmed.
pub fn name_search_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

pub(crate) fn user_shard(user_id: Uuid) -> u32 {
    (user_id.as_u128() % u128::from(USER_LIST_SHARDS)) as u32
}

/// The gsi1/gsi2 partition of a user with this role and status.
pub(crate) fn user_list_partition(role: Role, status: UserStatus, user_id: Uuid) -> String {
    keys::users_partition(
        role_name(role),
        user_status_name(status),
        user_shard(user_id),
    )
}

/// The list keys of a user item (gsi1 by email, gsi2 by name).
pub(crate) fn user_list_keys(user: &User) -> Vec<(String, AttributeValue)> {
    let partition = user_list_partition(user.role, user.status, user.id);
    let by_email = keys::user_list_sort(&email_search_key(&user.email), user.id);
    let by_name = keys::user_list_sort(&name_search_key(&user.name), user.id);
    vec![
        (index::USERS_BY_EMAIL.pk().to_owned(), s(&partition)),
        (index::USERS_BY_EMAIL.sk().to_owned(), s(by_email)),
        (index::USERS_BY_NAME.pk().to_owned(), s(partition)),
        (index::USERS_BY_NAME.sk().to_owned(), s(by_name)),
    ]
}

/// The gsi2 sort key of a user named `name`.
pub(crate) fn user_name_sort(name: &str, user_id: Uuid) -> String {
    keys::user_list_sort(&name_search_key(name), user_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::Role;

    #[test]
    fn users_land_in_the_partition_of_their_role_status_and_shard() {
        let id = Uuid::from_u128(6);
        assert_eq!(
            user_list_partition(Role::Freelancer, UserStatus::Blocked, id),
            "USERS#freelancer#blocked#2"
        );
        assert!((0..100).all(|_| user_shard(Uuid::now_v7()) < USER_LIST_SHARDS));
        assert_eq!(name_search_key("  Ann   Marie\tSMITH "), "ann marie smith");
    }
}
