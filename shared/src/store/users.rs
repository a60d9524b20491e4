//! Users and their credentials.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{self, entity};
use super::{
    Store, TransactOutcome, from_item, key_attributes, missing_if_condition_failed, s, to_item,
};
use crate::domain::user::{ProfileChanges, User, UserStatus};
use crate::error::ApiError;

/// The login secret for one email. Kept off the profile item so no profile read ever loads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub user_id: Uuid,
    pub password_hash: String,
}

impl Store {
    /// Creates the user and claims their email in one transaction: of any number of concurrent
    /// registrations for one email exactly one succeeds, the rest get 409.
    pub async fn create_user(&self, user: &User, password_hash: &str) -> Result<(), ApiError> {
        let profile = to_item(&keys::user(user.id), entity::USER, user)?;
        let credentials = to_item(
            &keys::email_credentials(&user.email),
            entity::CREDENTIALS,
            &Credentials {
                user_id: user.id,
                password_hash: password_hash.to_owned(),
            },
        )?;
        match self
            .transact(vec![self.put_new(profile)?, self.put_new(credentials)?])
            .await?
        {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionFailed(failed) if failed.contains(&1) => Err(
                ApiError::conflict("email-taken", "an account with this email already exists"),
            ),
            TransactOutcome::ConditionFailed(_) => {
                Err(ApiError::internal(anyhow::anyhow!("user id collision")))
            }
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
        user_id: Uuid,
        changes: &ProfileChanges,
        now: OffsetDateTime,
    ) -> Result<User, ApiError> {
        let mut set = vec!["updated_at = :updated_at".to_owned()];
        let mut remove = Vec::new();
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::user(user_id))))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllNew)
            .expression_attribute_values(":updated_at", s(rfc3339(now)));
        if let Some(name) = &changes.name {
            set.push("#name = :name".to_owned());
            request = request
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name));
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
        let output = request
            .update_expression(expression)
            .send()
            .await
            .map_err(missing_if_condition_failed("user"))?;
        from_item(output.attributes.unwrap_or_default())
    }

    /// Blocks or unblocks a user. Their gigs leave browse and search when blocked and return
    /// when unblocked: after the status write, each of their active gigs is re-listed from the
    /// new status (one transaction per gig, each checking the status it relied on).
    pub async fn set_user_status(
        &self,
        user_id: Uuid,
        status: UserStatus,
        now: OffsetDateTime,
    ) -> Result<(), ApiError> {
        let status = serde_json::to_value(status).map_err(ApiError::internal)?;
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::user(user_id))))
            .condition_expression("attribute_exists(pk)")
            .update_expression("SET #status = :status, updated_at = :now")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str().unwrap_or_default()))
            .expression_attribute_values(":now", s(rfc3339(now)))
            .send()
            .await
            .map_err(missing_if_condition_failed("user"))?;
        self.reindex_owner_gigs(user_id).await
    }
}

pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .expect("UTC timestamps format")
}
