//! What a gig is stored as: the gig item (with its owner-index keys and listing flag) and, while
//! it is listed, one listing entry per partition it can be found in (layout in `keys`).

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::gig::{Gig, GigStatus};
use crate::error::ApiError;
use crate::store::keys::{self, Key, attr, entity, index, listing};
use crate::store::{Item, key_attributes, s, to_item};

fn created_ms(gig: &Gig) -> i128 {
    gig.created_at.unix_timestamp_nanos() / 1_000_000
}

/// The gig item: the domain gig, its owner-index keys and the listing flag.
pub(super) fn gig_item(gig: &Gig, listed: bool) -> Result<Item, ApiError> {
    let mut item = to_item(&keys::gig(gig.id), entity::GIG, gig)?;
    let owner = index::GIG_OWNER;
    item.insert(
        owner.pk().into(),
        s(keys::gig_owner_partition(gig.freelancer_id)),
    );
    item.insert(
        owner.sk().into(),
        s(keys::created_sort_key(created_ms(gig), gig.id)),
    );
    item.insert(attr::LISTED.into(), AttributeValue::Bool(listed));
    if gig.status == GigStatus::PendingReview {
        let queue = index::GIG_REVIEW_QUEUE;
        item.insert(queue.pk().into(), s(keys::gig_review_queue_partition()));
        item.insert(
            queue.sk().into(),
            s(keys::gig_review_queue_sort(created_ms(gig), gig.id)),
        );
    }
    Ok(item)
}

/// The listing entries a listed gig has: (key, item) per partition. Browse and search are the
/// search index's; the table lists a gig only where a Query still reads it: every listed gig
/// (`BROWSE#ALL`, the index's full rebuild) and its owner's (`GET /users/{id}/gigs`), both
/// newest first.
pub(super) fn listing_entries(gig: &Gig) -> Result<Vec<(Key, Item)>, ApiError> {
    let summary = gig.summary();
    let base: Item = serde_dynamo::to_item(&summary)
        .map_err(|error| ApiError::internal(anyhow::anyhow!(error)))?;
    let newest_key = keys::created_sort_key(created_ms(gig), gig.id);
    let newest = index::LISTING_NEWEST;
    [listing::all(), listing::owner(gig.freelancer_id)]
        .into_iter()
        .map(|partition| {
            let key = keys::gig_listing(gig.id, &partition);
            let mut item = base.clone();
            item.extend(key_attributes(&key));
            item.insert(attr::ENTITY.into(), s(entity::GIG_LISTING));
            item.insert(newest.pk().into(), s(&partition));
            item.insert(newest.sk().into(), s(&newest_key));
            Ok((key, item))
        })
        .collect()
}
