//! Admin use cases on users: a user's details, block and unblock (and resuming the gig
//! re-listings they start), and the marketplace-wide users list.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::require_admin;
use crate::domain::audit::{Actor, AuditAction, AuditEntry, ReasonBody, TargetKind};
use crate::domain::user::{Caller, PrivateProfile, Role, UserStatus};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{CursorCodec, Page, PageParams};
use crate::store::Store;
use crate::store::admin::users::{UserCounts, UserFilter};

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

/// How long a status change's own request has to finish re-listing the user's gigs before the
/// scheduler takes over: far beyond the function timeout, so the two seldom do the work twice
/// (which would be harmless: the re-listing is derived from the current status).
pub const GIG_REINDEX_GRACE: time::Duration = time::Duration::minutes(2);

/// Finishes the gig re-listings a crash left half-way: those marked at or before `marked_by`, at
/// most `limit` (the scheduler, `GIG_REINDEX_GRACE` before its `now`, and `gigctl`).
pub async fn resume_gig_reindexes(
    store: &Store,
    marked_by: OffsetDateTime,
    limit: usize,
) -> ApiResult<usize> {
    store.resume_gig_reindexes(marked_by, limit).await
}

// ---- the users list ----

/// Longest `q` of `GET /admin/users` (longer than any name or email prefix worth typing).
pub const USER_QUERY_MAX_CHARS: usize = 100;

/// `GET /admin/users` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersQuery {
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    /// An email or name prefix, any case.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /admin/users`: users by role, status and email or name prefix, in email (or matched
/// key) order, cursor-paged, from the sharded user index (never a Scan).
pub async fn list_users(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    query: UsersQuery,
) -> ApiResult<Page<PrivateProfile>> {
    require_admin(&caller)?;
    let q = query
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    if let Some(q) = &q {
        if q.chars().count() > USER_QUERY_MAX_CHARS {
            return Err(ApiError::invalid(
                "q",
                "too_long",
                format!("must be at most {USER_QUERY_MAX_CHARS} characters"),
            ));
        }
        // No stored email or name holds one (and the index keys rely on it).
        if q.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                "q",
                "invalid_characters",
                "must not contain control characters",
            ));
        }
    }
    let page = cursors.page_request(&PageParams {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let filter = UserFilter {
        role: query.role,
        status: query.status,
        q,
    };
    let (users, next) = store.list_users(&filter, &page).await?;
    let profiles = users.iter().map(PrivateProfile::from).collect();
    Ok(cursors.page(profiles, next))
}
