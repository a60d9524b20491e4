//! What a gig is stored as: the gig item (with its owner-index keys and listing flag) and, while
//! it is listed, one listing entry per partition it can be found in (layout in `keys`).

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::gig::{Gig, GigStatus, GigSummary};
use crate::domain::search::gig_terms;
use crate::error::ApiError;
use crate::store::keys::{self, Key, attr, entity, index, listing};
use crate::store::{Item, key_attributes, n, s, to_item};

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

/// The average rating entries are filtered on (`min_rating`), from the same integer hundredths
/// the rating sort key uses, so the filter and the order can never disagree.
fn rating_average(summary: &GigSummary) -> Option<AttributeValue> {
    let centi = summary.rating_centi();
    (summary.rating_count > 0).then(|| n(format!("{}.{:02}", centi / 100, centi % 100)))
}

/// The listing entries a listed gig has: (key, item) per partition.
pub(super) fn listing_entries(gig: &Gig) -> Result<Vec<(Key, Item)>, ApiError> {
    let summary = gig.summary();
    let base: Item = serde_dynamo::to_item(&summary)
        .map_err(|error| ApiError::internal(anyhow::anyhow!(error)))?;
    let price_key = listing::price_sort_key(summary.starting_price_cents, gig.id);
    let newest_key = keys::created_sort_key(created_ms(gig), gig.id);
    let rating_key = listing::rating_sort_key(summary.rating_centi(), summary.rating_count, gig.id);
    let terms = gig_terms(&gig.title, &gig.tags, &gig.description);

    let mut partitions: Vec<(String, Option<u32>)> = vec![
        (listing::all(), None),
        (listing::category(&gig.category), None),
        (listing::owner(gig.freelancer_id), None),
    ];
    if let Some(sub) = &gig.subcategory {
        partitions.push((listing::subcategory(&gig.category, sub), None));
    }
    for (term, weight) in &terms {
        partitions.push((listing::term(term), Some(*weight)));
    }
    let term_set = AttributeValue::Ss(terms.iter().map(|(term, _)| term.clone()).collect());
    let average = rating_average(&summary);

    partitions
        .into_iter()
        .map(|(partition, weight)| {
            let key = keys::gig_listing(gig.id, &partition);
            let mut item = base.clone();
            item.extend(key_attributes(&key));
            item.insert(attr::ENTITY.into(), s(entity::GIG_LISTING));
            for (index, sort_key) in [
                (index::LISTING_PRICE, &price_key),
                (index::LISTING_NEWEST, &newest_key),
                (index::LISTING_RATING, &rating_key),
            ] {
                item.insert(index.pk().into(), s(&partition));
                item.insert(index.sk().into(), s(sort_key));
            }
            if let Some(average) = &average {
                item.insert(attr::RATING_AVG.into(), average.clone());
            }
            if let Some(weight) = weight {
                let relevance = index::LISTING_RELEVANCE;
                item.insert(relevance.pk().into(), s(&partition));
                item.insert(
                    relevance.sk().into(),
                    s(listing::relevance_sort_key(weight, &rating_key)),
                );
                item.insert(attr::TERMS.into(), term_set.clone());
            }
            Ok((key, item))
        })
        .collect()
}
