//! Admin use cases: people (a user's details, block, unblock) and the audit log. Every route of
//! the `admin` function goes through [`require_admin`] first; every admin action writes its audit
//! entry in the action's own transaction. `gigctl` calls the same use cases as an operator.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::audit::{Actor, AuditAction, AuditEntry, ReasonBody, TargetKind};
use crate::domain::user::{Caller, PrivateProfile, Role, UserStatus};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{CursorCodec, Page, PageParams};
use crate::store::Store;
use crate::store::admin_users::UserCounts;
use crate::store::audit::{AuditFilter, year_month};

/// Refuses every caller who is not an admin (403): the first line of every admin route.
pub fn require_admin(caller: &Caller) -> ApiResult<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only admins may use the admin API"))
    }
}

/// The admin `caller` as the actor of the audited actions of request `request_id`.
pub fn admin_actor(caller: &Caller, request_id: Option<String>) -> ApiResult<Actor> {
    require_admin(caller)?;
    Ok(Actor::admin(caller.id, request_id))
}

/// `GET /admin/users/{id}`: everything an admin needs to judge an account.
#[derive(Debug, Serialize)]
pub struct AdminUserView {
    pub profile: PrivateProfile,
    pub counts: UserCounts,
    /// Whether the user's gigs are still being re-listed or unlisted after a status change.
    pub gigs_reindex_pending: bool,
}

pub async fn user_detail(store: &Store, caller: Caller, user_id: Uuid) -> ApiResult<AdminUserView> {
    require_admin(&caller)?;
    let (user, ratings) = store
        .user_with_ratings(user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let (counts, gigs_reindex_pending) = tokio::try_join!(
        store.user_counts(user_id),
        store.gig_reindex_pending(user_id)
    )?;
    Ok(AdminUserView {
        profile: PrivateProfile::from(&user).with_ratings(&ratings),
        counts,
        gigs_reindex_pending,
    })
}

/// `POST /admin/users/{id}/block` `{reason}` (and `gigctl block-user`). Effective at once: the
/// status (login and refresh refused, and every write's own transaction checks it), the revoked
/// sessions and the audit entry are one transaction; the gigs leave browse right after
/// (resumable, see `Store::commit_user_status`). Nobody blocks themselves or an admin (409).
/// `reason` is the body as parsed (or why it could not be): admins only, before it is judged.
pub async fn block_user(
    store: &Store,
    actor: &Actor,
    user_id: Uuid,
    reason: ApiResult<ReasonBody>,
    now: OffsetDateTime,
) -> ApiResult<AdminUserStatus> {
    let reason = reason?.validate()?;
    set_status(
        store,
        actor,
        user_id,
        UserStatus::Blocked,
        Some(reason),
        now,
    )
    .await
}

/// `POST /admin/users/{id}/unblock` (and `gigctl unblock-user`): the gigs return to browse.
pub async fn unblock_user(
    store: &Store,
    actor: &Actor,
    user_id: Uuid,
    now: OffsetDateTime,
) -> ApiResult<AdminUserStatus> {
    set_status(store, actor, user_id, UserStatus::Active, None, now).await
}

/// What a block or unblock answers.
#[derive(Debug, Serialize)]
pub struct AdminUserStatus {
    pub id: Uuid,
    pub status: UserStatus,
    pub audit_id: Uuid,
}

async fn set_status(
    store: &Store,
    actor: &Actor,
    user_id: Uuid,
    status: UserStatus,
    reason: Option<String>,
    now: OffsetDateTime,
) -> ApiResult<AdminUserStatus> {
    if actor.is_user(user_id) {
        return Err(ApiError::conflict(
            "admin-not-blockable",
            "admins can not block or unblock themselves",
        ));
    }
    let user = store
        .get_user(user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    if user.role == Role::Admin {
        return Err(ApiError::conflict(
            "admin-not-blockable",
            "admin accounts can not be blocked or unblocked",
        ));
    }
    let action = match status {
        UserStatus::Blocked => AuditAction::BlockUser,
        UserStatus::Active => AuditAction::UnblockUser,
    };
    let entry = AuditEntry::new(actor, action, (TargetKind::User, user_id), reason, now);
    let mark = store
        .commit_user_status(user_id, status, &entry, now)
        .await?;
    store.finish_gig_reindex(user_id, &mark).await?;
    Ok(AdminUserStatus {
        id: user_id,
        status,
        audit_id: entry.id,
    })
}

/// Finishes the gig re-listings a crash left half-way (the scheduler and `gigctl` call it).
pub async fn resume_gig_reindexes(store: &Store) -> ApiResult<usize> {
    store.resume_gig_reindexes().await
}

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
    fn only_admins_pass() {
        let id = Uuid::new_v4();
        for role in [Role::Client, Role::Freelancer] {
            assert!(require_admin(&Caller { id, role }).is_err());
        }
        assert!(
            require_admin(&Caller {
                id,
                role: Role::Admin
            })
            .is_ok()
        );
    }

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
