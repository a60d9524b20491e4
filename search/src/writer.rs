//! The index writer's use cases (feature `s3`): gig ids in, the next published version out
//! ([`index_gigs`]), and the scheduled full rebuild that repairs any drift ([`rebuild`]).
//!
//! A hint says only which gig changed. Each gig is read again from the table, the truth, and
//! put back if it is listed (active, its owner not blocked) or deleted otherwise; so a hint that
//! repeats, arrives late or names a gig that no longer exists changes nothing wrong.

use gigmarket_shared::search_index::SearchIndexBucket;
use gigmarket_shared::store::Store;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::published::{Publication, Replica, ReplicaError};

/// Times a run applies its gigs when another writer keeps publishing first.
const PUBLISH_ATTEMPTS: u32 = 3;

/// What one run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexRun {
    /// The version current after the run (`None`: nothing has been published yet and the run
    /// changed nothing).
    pub version: Option<u64>,
    /// Gigs put back as listed.
    pub listed: usize,
    /// Gigs deleted from the index: not listed, or no longer in the table.
    pub unlisted: usize,
}

/// Brings the gigs `gig_ids` up to date in the published index through `replica` (the writer's
/// copy, refreshed first), publishing as of `now`. A publication another writer superseded
/// reloads the copy and applies the same gigs again, as read then.
pub async fn index_gigs(
    replica: &mut Replica,
    store: &Store,
    bucket: &SearchIndexBucket,
    gig_ids: &[Uuid],
    now: OffsetDateTime,
) -> Result<IndexRun, ReplicaError> {
    let mut gig_ids = gig_ids.to_vec();
    gig_ids.sort_unstable();
    gig_ids.dedup();
    for _ in 0..PUBLISH_ATTEMPTS {
        replica.refresh(bucket).await?;
        let stored = store.get_stored_gigs(&gig_ids).await?;
        let mut run = IndexRun {
            version: None,
            listed: 0,
            unlisted: 0,
        };
        let index = replica.index_mut();
        for id in &gig_ids {
            match stored.iter().find(|stored| stored.gig.id == *id) {
                Some(stored) if stored.listed => {
                    index.replace(&stored.gig)?;
                    run.listed += 1;
                }
                _ => {
                    index.delete(*id)?;
                    run.unlisted += 1;
                }
            }
        }
        index.commit()?;
        match replica.publish(bucket, now).await? {
            Publication::Published { version } => {
                run.version = Some(version);
                return Ok(run);
            }
            Publication::Unchanged => {
                run.version = replica.published_version();
                return Ok(run);
            }
            Publication::Superseded => {
                let kept = replica.retired_files_kept();
                *replica = Replica::load(bucket).await?.keeping_retired_files_for(kept);
            }
        }
    }
    Err(ReplicaError::KeptSuperseded {
        attempts: PUBLISH_ATTEMPTS,
    })
}

/// The full rebuild: every gig the table lists and every gig the index holds is read again and
/// put back or deleted, as a hint would have it. It works on the published index rather than a
/// fresh one, so versions (and the cursors naming them) keep counting up, and a gig a lost hint
/// left behind in either direction is repaired. A published version that names a missing file
/// (hint runs fail on it) is replaced by one rebuilt from the table alone, its number counted
/// from 0 again: a cursor of the lost version then reads as one of an older version.
pub async fn rebuild(
    replica: &mut Replica,
    store: &Store,
    bucket: &SearchIndexBucket,
    now: OffsetDateTime,
) -> Result<IndexRun, ReplicaError> {
    match replica.refresh(bucket).await {
        Err(ReplicaError::MissingFile { version, name }) => {
            tracing::error!(
                version,
                name,
                "the published search index names a missing file; rebuilding it from the table"
            );
            let kept = replica.retired_files_kept();
            *replica = Replica::replacing(bucket)
                .await?
                .keeping_retired_files_for(kept);
        }
        other => {
            other?;
        }
    }
    let mut gig_ids = store.listed_gig_ids().await?;
    gig_ids.extend(replica.index().gig_ids()?);
    index_gigs(replica, store, bucket, &gig_ids, now).await
}
