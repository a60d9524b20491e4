//! Gig use cases: publishing (create, edit, pause, resume, archive), who sees what, and the
//! storefront lists. The review queue and its decisions (approve, reject, remove) are `app::admin::gigs`, on
//! the same read-decide-write path ([`change_gig`]).
//!
//! Every change is read-decide-write: the gig is read, a domain rule decides the new gig, and the
//! store writes it in one transaction conditioned on what was read. If another change landed in
//! between, the decision is made again on the fresh gig (an `If-Match` edit then fails with 412).

use time::OffsetDateTime;
use uuid::Uuid;

use super::{require_role, verified_caller};
use crate::domain::gig::{Gig, GigCard, GigDraft, GigPatch, GigStatus, GigView};
use crate::domain::quota::{QuotaKind, QuotaLimits};
use crate::domain::user::{Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{CursorCodec, Page, PageParams};
use crate::store::Store;
use crate::store::gigs::{Decided, GigWrite, StoredGig};

/// A gig as one caller may see it, with the version its `ETag` names.
#[derive(Debug)]
pub struct SeenGig {
    pub view: GigView,
    pub etag: String,
}

/// Owners and admins see every status and the admin's decision details.
fn is_privileged(stored: &StoredGig, viewer: Option<Caller>) -> bool {
    viewer.is_some_and(|viewer| viewer.is_admin() || viewer.id == stored.gig.freelancer_id)
}

/// Listed gigs are public; the rest exist only for their owner and admins.
fn can_see(stored: &StoredGig, viewer: Option<Caller>) -> bool {
    stored.listed || is_privileged(stored, viewer)
}

fn seen_by(stored: &StoredGig, viewer: Option<Caller>) -> SeenGig {
    let view = if is_privileged(stored, viewer) {
        GigView::private(&stored.gig, stored.rejection_reason.as_deref())
    } else {
        GigView::public(&stored.gig)
    };
    SeenGig {
        view,
        etag: stored.gig.etag(),
    }
}

/// Who changes a gig, and in which capacity.
#[derive(Clone, Copy)]
pub(super) enum GigEditor {
    /// Publishing: only the gig's owner.
    Owner(Caller),
    /// An admin's decision (`app::admin::require_admin` has let them in).
    Moderator,
}

/// What a rule decided for the gig as read. Short-lived, so the size difference is fine.
#[allow(clippy::large_enum_variant)]
pub(super) enum Change {
    Unchanged,
    To {
        gig: Gig,
        rejection_reason: Option<String>,
    },
}

impl Change {
    /// A status move that keeps the content (and clears any rejection reason).
    fn status(stored: &StoredGig, status: GigStatus, now: OffsetDateTime) -> Self {
        Self::To {
            gig: Gig {
                status,
                updated_at: now,
                ..stored.gig.clone()
            },
            rejection_reason: None,
        }
    }
}

async fn load(store: &Store, gig_id: Uuid, editor: GigEditor) -> ApiResult<StoredGig> {
    let stored = store
        .get_stored_gig(gig_id)
        .await?
        .ok_or(ApiError::NotFound("gig"))?;
    match editor {
        GigEditor::Owner(caller) if stored.gig.freelancer_id != caller.id => {
            // Someone else's gig: say so only if they could see it anyway.
            if can_see(&stored, Some(caller)) {
                Err(ApiError::Forbidden("only the gig's owner may change it"))
            } else {
                Err(ApiError::NotFound("gig"))
            }
        }
        _ => Ok(stored),
    }
}

/// Reads the gig, lets `decide` choose its new state, writes it conditioned on what was read;
/// when something else changed the gig in between, decides again on the fresh read. `decided`:
/// an admin's decision, written with its audit entry in the same transaction.
pub(super) async fn change_gig(
    store: &Store,
    gig_id: Uuid,
    editor: GigEditor,
    decided: Option<Decided<'_>>,
    decide: impl Fn(&StoredGig) -> ApiResult<Change>,
) -> ApiResult<StoredGig> {
    for _ in 0..5 {
        let stored = load(store, gig_id, editor).await?;
        let (gig, rejection_reason) = match decide(&stored)? {
            Change::Unchanged => return Ok(stored),
            Change::To {
                gig,
                rejection_reason,
            } => (gig, rejection_reason),
        };
        let write = match decided {
            Some(decided) => {
                store
                    .save_gig_decided(&stored, &gig, rejection_reason.as_deref(), decided)
                    .await?
            }
            None => {
                store
                    .save_gig(&stored, &gig, rejection_reason.as_deref())
                    .await?
            }
        };
        if let GigWrite::Saved { listed } = write {
            return Ok(StoredGig {
                gig,
                listed,
                rejection_reason,
            });
        }
    }
    Err(ApiError::conflict(
        "concurrent-update",
        "the gig kept changing while this request was applied; try again",
    ))
}

/// `POST /gigs` (freelancers): a new gig, in review unless `auto_approve`. `draft` is the body
/// as parsed, or why it could not be: a caller of the wrong role hears that first.
pub async fn create(
    store: &Store,
    caller: Caller,
    draft: ApiResult<GigDraft>,
    auto_approve: bool,
    quotas: &QuotaLimits,
    now: OffsetDateTime,
) -> ApiResult<SeenGig> {
    require_role(caller, Role::Freelancer)?;
    let content = draft?.validate()?;
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let store = &store.acting_as(caller);
    // A gig goes to review (or live) as it is created: its owner's address must be proven.
    verified_caller(store, caller).await?;
    let gig = Gig::new(caller.id, content, GigStatus::initial(auto_approve), now);
    let quota = quotas.quota(QuotaKind::GigsCreated, caller.id, now);
    if let GigWrite::QuotaReached = store.create_gig_within(&gig, Some(&quota)).await? {
        return Err(quota.exceeded(now).into());
    }
    let stored = StoredGig {
        gig,
        listed: false,
        rejection_reason: None,
    };
    Ok(seen_by(&stored, Some(caller)))
}

/// `GET /gigs/{id}`: anyone may read a listed gig; owners and admins any but an archived one.
pub async fn get(store: &Store, viewer: Option<Caller>, gig_id: Uuid) -> ApiResult<SeenGig> {
    // With the rating totals the reviews keep on the same item (one read).
    let (stored, ratings) = store
        .stored_gig_with_ratings(gig_id)
        .await?
        .filter(|(stored, _)| can_see(stored, viewer))
        // Archived is deleted as far as the API goes (DELETE answered 204): gone for everyone,
        // owners included; they still find it, with its status, in GET /me/gigs.
        .filter(|(stored, _)| stored.gig.status != GigStatus::Archived)
        .ok_or(ApiError::NotFound("gig"))?;
    let mut seen = seen_by(&stored, viewer);
    seen.view.rating_summary = Some(ratings.summary());
    Ok(seen)
}

/// `PATCH /gigs/{id}`: a content edit based on the version `if_match` names (the header's
/// value, already known to be present and non-empty), so an edit is always based on what the
/// editor saw.
pub async fn edit(
    store: &Store,
    caller: Caller,
    gig_id: Uuid,
    patch: GigPatch,
    if_match: &str,
    auto_approve: bool,
    now: OffsetDateTime,
) -> ApiResult<SeenGig> {
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let store = &store.acting_as(caller);
    let stored = change_gig(store, gig_id, GigEditor::Owner(caller), None, |stored| {
        // An invalid edit is 400 whatever the ETag: the caller learns what to fix without a
        // fresh read first.
        let content = patch.clone().apply(&stored.gig)?;
        if !stored.gig.matches_if_match(if_match) {
            return Err(ApiError::PreconditionFailed(format!(
                "the gig changed since you read it (its ETag is now {}); read it again",
                stored.gig.etag()
            )));
        }
        if content == stored.gig.content() {
            return Ok(Change::Unchanged);
        }
        let status = stored.gig.status.after_edit(auto_approve)?;
        Ok(Change::To {
            gig: stored.gig.edited(content, status, now),
            rejection_reason: None,
        })
    })
    .await?;
    Ok(seen_by(&stored, Some(caller)))
}

/// `DELETE /gigs/{id}`: archives the gig: hidden for good and not orderable, kept for its
/// orders, which run on (were open orders to stop it, a client could pin any gig by ordering).
/// Archiving an archived gig is done already.
pub async fn archive(
    store: &Store,
    caller: Caller,
    gig_id: Uuid,
    now: OffsetDateTime,
) -> ApiResult<()> {
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let store = &store.acting_as(caller);
    change_gig(store, gig_id, GigEditor::Owner(caller), None, |stored| {
        if stored.gig.status == GigStatus::Archived {
            return Ok(Change::Unchanged);
        }
        Ok(Change::status(stored, GigStatus::Archived, now))
    })
    .await?;
    Ok(())
}

/// A status move by the owner without content change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMove {
    Pause,
    Resume,
}

/// `POST /gigs/{id}/pause`, `/resume` (owner).
pub async fn move_status(
    store: &Store,
    caller: Caller,
    gig_id: Uuid,
    status_move: StatusMove,
    now: OffsetDateTime,
) -> ApiResult<SeenGig> {
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let store = &store.acting_as(caller);
    let stored = change_gig(store, gig_id, GigEditor::Owner(caller), None, |stored| {
        let status = stored.gig.status;
        let next = match status_move {
            StatusMove::Pause => status.pause(),
            StatusMove::Resume => status.resume(),
        }?;
        Ok(Change::status(stored, next, now))
    })
    .await?;
    Ok(seen_by(&stored, Some(caller)))
}

/// `GET /me/gigs` (freelancers): the caller's gigs in every status, newest first.
pub async fn my_gigs(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    paging: PageParams,
) -> ApiResult<Page<GigView>> {
    require_role(caller, Role::Freelancer)?;
    let page = cursors.page_request(&paging)?;
    let (gigs, next) = store.owner_gigs(caller.id, &page).await?;
    let views = gigs
        .iter()
        .map(|stored| GigView::private(&stored.gig, stored.rejection_reason.as_deref()))
        .collect();
    Ok(cursors.page(views, next))
}

/// `GET /users/{id}/gigs`, public: a freelancer's listed gigs (none while they are blocked).
pub async fn listed_gigs_of(
    store: &Store,
    cursors: &CursorCodec,
    freelancer_id: Uuid,
    paging: PageParams,
) -> ApiResult<Page<GigCard>> {
    let page = cursors.page_request(&paging)?;
    let (summaries, next) = store.listed_gigs_of(freelancer_id, &page).await?;
    let cards = summaries.iter().map(GigCard::from).collect();
    Ok(cursors.page(cards, next))
}
