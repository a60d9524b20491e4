//! The search index published to its bucket in moto's S3, as the writer and the readers will
//! use it (`gigmarket_search::published::Replica`): each test makes its own bucket. A reader's
//! refresh fetches only the files it lacks, a second writer that loaded an older version is
//! refused by the manifest's condition, a version that names a missing file leaves a reader on
//! the version it had, and the writer's run (`writer::index_gigs`) follows the table (DynamoDB
//! Local) whatever its hints say.

use gigmarket_search::published::{Publication, Replica, ReplicaError};
use gigmarket_search::writer::index_gigs;
use gigmarket_search::{GigIndex, SearchRequest};
use gigmarket_shared::aws;
use gigmarket_shared::domain::gig::{Gig, GigStatus, Revisions};
use gigmarket_shared::search_index::SearchIndexBucket;
use gigmarket_tests::TestApp;
use serde_json::json;
use std::collections::BTreeSet;
use time::OffsetDateTime;
use uuid::Uuid;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A new bucket in moto and its client.
async fn bucket() -> (SearchIndexBucket, aws_sdk_s3::Client) {
    let sdk = aws::sdk_config().await;
    let client = aws::s3(&sdk);
    let name = format!("gigmarket-search-{}", Uuid::new_v4().simple());
    client
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("a bucket in moto (scripts/stack.sh start, source scripts/env.sh)");
    (SearchIndexBucket::new(client.clone(), name), client)
}

fn listed_gig() -> Gig {
    TestApp::active_gig(Uuid::new_v4(), Revisions::Limited(1))
}

/// The ids a search for "logo" finds (every gig of `listed_gig` matches it).
fn found(index: &GigIndex) -> BTreeSet<Uuid> {
    index
        .search(&SearchRequest {
            q: "logo".to_owned(),
            limit: 50,
            ..SearchRequest::default()
        })
        .expect("search")
        .gig_ids
        .into_iter()
        .collect()
}

/// Puts `gigs` in the writer's copy, commits and publishes; answers the new version.
async fn publish(writer: &mut Replica, bucket: &SearchIndexBucket, gigs: &[Gig]) -> u64 {
    for gig in gigs {
        writer.index_mut().replace(gig).expect("replace");
    }
    writer.index_mut().commit().expect("commit");
    match writer.publish(bucket, now()).await.expect("publish") {
        Publication::Published { version } => version,
        other => panic!("not published: {other:?}"),
    }
}

async fn delete_file(client: &aws_sdk_s3::Client, bucket: &SearchIndexBucket, name: &str) {
    client
        .delete_object()
        .bucket(bucket.bucket())
        .key(SearchIndexBucket::file_key(name))
        .send()
        .await
        .expect("deleted");
}

#[tokio::test]
async fn a_reader_loads_the_published_version_and_refreshes_with_only_the_new_files() {
    let (bucket, client) = bucket().await;
    let mut writer = Replica::load(&bucket).await.expect("nothing published yet");
    assert_eq!(writer.published_version(), None);
    let first: Vec<Gig> = (0..3).map(|_| listed_gig()).collect();
    let version = publish(&mut writer, &bucket, &first).await;

    let mut reader = Replica::load(&bucket).await.expect("loaded");
    assert_eq!(reader.published_version(), Some(version));
    let ids: BTreeSet<Uuid> = first.iter().map(|gig| gig.id).collect();
    assert_eq!(found(reader.index()), ids);
    assert!(!reader.refresh(&bucket).await.expect("unchanged"));
    assert_eq!(
        writer
            .publish(&bucket, now())
            .await
            .expect("nothing to publish"),
        Publication::Unchanged
    );

    // The next version pauses one gig and lists a new one.
    let before = writer.index().files().expect("files");
    let mut paused = first[0].clone();
    paused.status = GigStatus::Paused;
    let added = listed_gig();
    let next = publish(&mut writer, &bucket, &[paused, added.clone()]).await;
    assert!(next > version);
    let after = writer.index().files().expect("files");
    let kept: Vec<&String> = before
        .files
        .iter()
        .filter(|name| after.files.contains(name))
        .collect();
    assert!(!kept.is_empty(), "{before:?} {after:?}");
    // Files both versions share leave the bucket: the reader holds them, a new one can not load.
    for name in &kept {
        delete_file(&client, &bucket, name).await;
    }
    assert!(reader.refresh(&bucket).await.expect("refreshed"));
    assert_eq!(reader.published_version(), Some(next));
    let expected: BTreeSet<Uuid> = [first[1].id, first[2].id, added.id].into();
    assert_eq!(found(reader.index()), expected);
    let refused = Replica::load(&bucket).await;
    assert!(
        matches!(refused, Err(ReplicaError::MissingFile { version, .. }) if version == next),
        "{:?}",
        refused.err()
    );
}

#[tokio::test]
async fn a_writer_that_loaded_an_older_version_is_superseded_and_publishes_after_a_reload() {
    let (bucket, _) = bucket().await;
    let mut first = Replica::load(&bucket).await.expect("loaded");
    let mut second = Replica::load(&bucket).await.expect("loaded");
    let one = listed_gig();
    publish(&mut first, &bucket, std::slice::from_ref(&one)).await;

    let two = listed_gig();
    second.index_mut().replace(&two).expect("replace");
    second.index_mut().commit().expect("commit");
    assert_eq!(
        second.publish(&bucket, now()).await.expect("answered"),
        Publication::Superseded
    );
    let reader = Replica::load(&bucket).await.expect("loaded");
    assert_eq!(found(reader.index()), [one.id].into());

    // Reloaded, the same change applies on top of what the other writer published.
    let mut second = Replica::load(&bucket).await.expect("loaded");
    publish(&mut second, &bucket, std::slice::from_ref(&two)).await;
    let reader = Replica::load(&bucket).await.expect("loaded");
    assert_eq!(found(reader.index()), [one.id, two.id].into());
}

#[tokio::test]
async fn a_version_naming_a_missing_file_leaves_the_reader_on_its_version() {
    let (bucket, client) = bucket().await;
    let mut writer = Replica::load(&bucket).await.expect("loaded");
    let one = listed_gig();
    let version = publish(&mut writer, &bucket, std::slice::from_ref(&one)).await;
    let mut reader = Replica::load(&bucket).await.expect("loaded");

    let before = writer.index().files().expect("files");
    let next = publish(&mut writer, &bucket, &[listed_gig()]).await;
    let new_file = writer
        .index()
        .files()
        .expect("files")
        .files
        .into_iter()
        .find(|name| !before.files.contains(name))
        .expect("a file the new version added");
    delete_file(&client, &bucket, &new_file).await;

    for _ in 0..2 {
        let refused = reader.refresh(&bucket).await;
        assert!(
            matches!(refused, Err(ReplicaError::MissingFile { version, ref name }) if version == next && *name == new_file),
            "{refused:?}"
        );
        assert_eq!(reader.published_version(), Some(version));
        assert_eq!(found(reader.index()), [one.id].into());
    }
}

/// A cast whose freelancer has two active gigs in the table.
async fn two_gigs_of_one_owner(app: &TestApp) -> (gigmarket_tests::fixtures::Cast, Gig, Gig) {
    let (cast, first) = app.cast_with_gig().await;
    let second = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    (cast, first, second)
}

/// The writer's run on hints: each gig is read again from the table, so the index follows the
/// table whatever the hints say (repeated, of a gig that does not exist, of a paused gig or of
/// one whose owner was blocked).
#[tokio::test]
async fn the_writer_indexes_what_the_table_holds_whatever_the_hints_say() {
    let (app, bucket) = (TestApp::new().await, bucket().await.0);
    let (cast, first, second) = two_gigs_of_one_owner(&app).await;
    let (other, _) = app.cast_with_gig().await;
    let third = app
        .create_active_gig(other.freelancer.id, Revisions::Limited(1))
        .await;
    let store = &app.state.store;
    let mut writer = Replica::load(&bucket).await.expect("loaded");
    let hints = [first.id, second.id, first.id, third.id, Uuid::new_v4()];
    let run = index_gigs(&mut writer, store, &bucket, &hints, now())
        .await
        .expect("indexed");
    assert_eq!((run.listed, run.unlisted), (3, 1));
    let mut reader = Replica::load(&bucket).await.expect("loaded");
    assert_eq!(reader.published_version(), run.version);
    assert_eq!(
        found(reader.index()),
        [first.id, second.id, third.id].into()
    );

    // Paused by its owner; the other owner blocked by an admin: both leave on their hints.
    let token = Some(cast.freelancer.access_token.as_str());
    let paused = app
        .post(&format!("/gigs/{}/pause", second.id), &json!({}), token)
        .await;
    assert_eq!(paused.status, 200, "{paused:?}");
    let blocked = app
        .post(
            &format!("/admin/users/{}/block", other.freelancer.id),
            &json!({"reason": "spam gigs"}),
            Some(&cast.admin.access_token),
        )
        .await;
    assert_eq!(blocked.status, 200, "{blocked:?}");
    let run = index_gigs(&mut writer, store, &bucket, &[third.id, second.id], now())
        .await
        .expect("indexed");
    assert_eq!((run.listed, run.unlisted), (0, 2));
    assert!(reader.refresh(&bucket).await.expect("refreshed"));
    assert_eq!(found(reader.index()), [first.id].into());
}

/// A writer whose copy is behind the bucket (another writer published since it loaded) applies
/// its hints on the current version, so nothing the other one published is lost.
#[tokio::test]
async fn a_writer_behind_the_bucket_applies_its_hints_on_the_current_version() {
    let (app, bucket) = (TestApp::new().await, bucket().await.0);
    let (_, first, second) = two_gigs_of_one_owner(&app).await;
    let store = &app.state.store;
    let mut one = Replica::load(&bucket).await.expect("loaded");
    let mut other = Replica::load(&bucket).await.expect("loaded");
    let first_run = index_gigs(&mut one, store, &bucket, &[first.id], now())
        .await
        .expect("indexed");
    let second_run = index_gigs(&mut other, store, &bucket, &[second.id], now())
        .await
        .expect("indexed");
    assert!(second_run.version > first_run.version, "{second_run:?}");
    let reader = Replica::load(&bucket).await.expect("loaded");
    assert_eq!(found(reader.index()), [first.id, second.id].into());
}

/// Files a version stops naming are deleted by the first publication `RETIRED_FILES_KEPT`
/// after that version, never sooner: a reader may still be loading the version before.
#[tokio::test]
async fn files_no_version_names_are_deleted_once_retired_long_enough() {
    let (bucket, _) = bucket().await;
    let start = now();
    let mut writer = Replica::load(&bucket).await.expect("loaded");
    let gigs = [listed_gig(), listed_gig()];
    // Commits `changed` and publishes as of `at`; answers the version's files.
    let publish_at = async |writer: &mut Replica, at: OffsetDateTime, changed: Vec<Gig>| {
        for gig in &changed {
            writer.index_mut().replace(gig).expect("replace");
        }
        writer.index_mut().commit().expect("commit");
        let published = writer.publish(&bucket, at).await.expect("published");
        assert!(
            matches!(published, Publication::Published { .. }),
            "{published:?}"
        );
        writer.index().files().expect("files")
    };
    let paused = |gig: &Gig| {
        let mut paused = gig.clone();
        paused.status = GigStatus::Paused;
        paused
    };
    // Both gigs listed, then each paused in turn: the later versions stop naming files.
    let first = publish_at(&mut writer, start, gigs.to_vec()).await;
    let second = publish_at(&mut writer, start, vec![paused(&gigs[0])]).await;
    let third = publish_at(&mut writer, start, vec![paused(&gigs[1])]).await;
    let retired: Vec<String> = first
        .files
        .iter()
        .chain(&second.files)
        .filter(|name| !third.files.contains(name))
        .cloned()
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    assert!(!retired.is_empty(), "{first:?} {second:?} {third:?}");

    let kept = async |bucket: &SearchIndexBucket, names: &[String]| {
        let mut kept = Vec::new();
        for name in names {
            if bucket.file(name).await.expect("read").is_some() {
                kept.push(name.clone());
            }
        }
        kept
    };
    // Still there five minutes on; gone by the publication after ten.
    let added = listed_gig();
    let later = start + time::Duration::minutes(5);
    publish_at(&mut writer, later, vec![added.clone()]).await;
    assert_eq!(kept(&bucket, &retired).await, retired);
    let last = listed_gig();
    let later = start + time::Duration::minutes(11);
    publish_at(&mut writer, later, vec![last.clone()]).await;
    assert_eq!(kept(&bucket, &retired).await, Vec::<String>::new());
    let reader = Replica::load(&bucket)
        .await
        .expect("the current version is whole");
    assert_eq!(found(reader.index()), [added.id, last.id].into());
}
