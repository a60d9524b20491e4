//! `reviews`: two-way reviews of completed orders, sealed until both sides have spoken (or the
//! window closed: the scheduler, driven with `now`), exact rating totals under concurrency,
//! replies, listings and who may do what.

use std::collections::HashSet;
use std::sync::Arc;

use gigmarket_shared::app::reviews as review_cases;
use gigmarket_shared::domain::gig::{Gig, Revisions};
use gigmarket_shared::domain::review::PostReview;
use gigmarket_shared::domain::user::{Caller, Role, UserStatus};
use gigmarket_tests::fixtures::Cast;
use gigmarket_tests::{Session, TestApp, TestResponse};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

async fn setup() -> (TestApp, Cast, Gig) {
    let app = TestApp::new().await;
    let (cast, gig) = app.cast_with_gig().await;
    (app, cast, gig)
}

async fn review(app: &TestApp, who: &Session, order_id: Uuid, body: Value) -> TestResponse {
    let mut body = body;
    body["order_id"] = json!(order_id);
    app.post("/reviews", &body, Some(&who.access_token)).await
}

fn simple(rating: u8) -> Value {
    json!({"rating": rating, "comment": format!("{rating} stars, fair and square.")})
}

/// Every item of a listing path (which has a query string), over all pages.
async fn all_items(app: &TestApp, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut url = path.to_owned();
    loop {
        let response = app.get(&url, None).await;
        assert_eq!(response.status, 200, "{url}: {response:?}");
        items.extend(response.body["items"].as_array().unwrap().iter().cloned());
        match response.body["next_cursor"].as_str() {
            Some(cursor) => url = format!("{path}&cursor={cursor}"),
            None => return items,
        }
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn review_states(app: &TestApp, who: &Session, order_id: Uuid) -> Value {
    let order = app.order(who, order_id).await;
    assert_eq!(order.status, 200, "{order:?}");
    order.body["reviews"].clone()
}

#[tokio::test]
async fn reviews_are_sealed_until_both_sides_have_spoken_then_published_together() {
    let (app, cast, gig) = setup().await;
    let order_id = app.order_in(&cast, &gig, "completed").await;
    assert_eq!(
        review_states(&app, &cast.client, order_id).await,
        json!({"client": "none", "freelancer": "none"})
    );

    let by_client = review(
        &app,
        &cast.client,
        order_id,
        json!({"rating": 4, "comment": "Good logo.", "communication": 5, "as_described": 4, "would_recommend": true}),
    )
    .await;
    assert_eq!(by_client.status, 201, "{by_client:?}");
    assert_eq!(by_client.body["state"], "sealed");
    assert_eq!(by_client.body["reviewee_id"], json!(cast.freelancer.id));
    assert_eq!(by_client.body["communication"], 5);

    // Sealed: nobody but its author sees it, anywhere.
    let gig_reviews = format!("/gigs/{}/reviews?limit=10", gig.id);
    let seller_reviews = format!("/users/{}/reviews?as=seller&limit=10", cast.freelancer.id);
    let buyer_reviews = format!("/users/{}/reviews?as=buyer&limit=10", cast.client.id);
    assert!(all_items(&app, &gig_reviews).await.is_empty());
    assert!(all_items(&app, &seller_reviews).await.is_empty());
    for who in [&cast.client, &cast.freelancer] {
        assert_eq!(
            review_states(&app, who, order_id).await,
            json!({"client": "sealed", "freelancer": "none"})
        );
    }
    let seller = app
        .get(&format!("/users/{}", cast.freelancer.id), None)
        .await;
    assert_eq!(seller.body["seller_rating"]["count"], 0, "{seller:?}");
    assert_eq!(
        app.get(&format!("/gigs/{}", gig.id), None).await.body["rating_summary"]["count"],
        0
    );

    // The second review publishes both, in one transaction.
    let by_freelancer = review(&app, &cast.freelancer, order_id, simple(5)).await;
    assert_eq!(by_freelancer.status, 201, "{by_freelancer:?}");
    assert_eq!(by_freelancer.body["state"], "published");
    assert_eq!(by_freelancer.body["reviewee_id"], json!(cast.client.id));

    let on_gig = all_items(&app, &gig_reviews).await;
    assert_eq!(ids(&on_gig), [by_client.body["id"].as_str().unwrap()]);
    assert_eq!(on_gig[0]["state"], "published");
    assert_eq!(on_gig[0]["comment"], "Good logo.");
    assert_eq!(
        ids(&all_items(&app, &seller_reviews).await),
        ids(&on_gig),
        "the seller's reviews are the gig's"
    );
    assert_eq!(
        ids(&all_items(&app, &buyer_reviews).await),
        [by_freelancer.body["id"].as_str().unwrap()]
    );
    assert_eq!(
        review_states(&app, &cast.freelancer, order_id).await,
        json!({"client": "published", "freelancer": "published"})
    );

    let gig_view = app.get(&format!("/gigs/{}", gig.id), None).await.body;
    let summary = &gig_view["rating_summary"];
    assert_eq!(summary["count"], 1);
    assert_eq!(summary["average"], 4.0);
    assert_eq!(
        summary["histogram"],
        json!({"1": 0, "2": 0, "3": 0, "4": 1, "5": 0})
    );
    assert_eq!(summary["communication"], 5.0);
    assert_eq!(summary["as_described"], 4.0);
    assert_eq!(summary["would_recommend_percent"], 100);
    assert_eq!(gig_view["rating"], json!({"average": 4.0, "count": 1}));
    // The client's review, published by the freelancer's, re-indexed the gig's listings and
    // the search index too.
    let listed = app
        .get(&format!("/users/{}/gigs", cast.freelancer.id), None)
        .await
        .body;
    assert_eq!(
        listed["items"][0]["rating"],
        json!({"average": 4.0, "count": 1})
    );
    let found = app.get("/gigs?sort=rating", None).await.body;
    assert_eq!(
        found["items"][0]["rating"],
        json!({"average": 4.0, "count": 1})
    );

    let seller = app
        .get(&format!("/users/{}", cast.freelancer.id), None)
        .await
        .body;
    assert_eq!(seller["seller_rating"]["average"], 4.0);
    assert_eq!(seller["buyer_rating"]["count"], 0);
    let me = app.get("/me", Some(&cast.client.access_token)).await.body;
    assert_eq!(me["buyer_rating"]["count"], 1, "{me}");
    assert_eq!(me["buyer_rating"]["average"], 5.0);
    assert_eq!(me["seller_rating"]["count"], 0);
}

#[tokio::test]
async fn only_the_parties_of_a_completed_order_review_once_each() {
    let (app, cast, gig) = setup().await;
    let completed = app.order_in(&cast, &gig, "completed").await;
    let delivered = app.order_in(&cast, &gig, "delivered").await;

    for who in [&cast.stranger, &cast.admin] {
        let response = review(&app, who, completed, simple(5)).await;
        assert_eq!(response.status, 404, "{response:?}");
        assert_eq!(response.problem(), "not-found");
    }
    let unknown = review(&app, &cast.client, Uuid::new_v4(), simple(5)).await;
    assert_eq!(unknown.status, 404);

    let not_completed = review(&app, &cast.client, delivered, simple(5)).await;
    assert_eq!(not_completed.status, 409, "{not_completed:?}");
    assert_eq!(not_completed.problem(), "order-not-completed");

    let unauthenticated = app
        .post(
            "/reviews",
            &json!({"order_id": completed, "rating": 5, "comment": "x"}),
            None,
        )
        .await;
    assert_eq!(unauthenticated.status, 401);

    // Sub-ratings rate a seller: not the freelancer's to give.
    let with_subs = review(
        &app,
        &cast.freelancer,
        completed,
        json!({"rating": 5, "comment": "Paid on time.", "communication": 5}),
    )
    .await;
    assert_eq!(with_subs.status, 400, "{with_subs:?}");
    assert!(
        with_subs
            .error_fields()
            .contains(&"communication".to_owned())
    );

    assert_eq!(
        review(&app, &cast.client, completed, simple(5))
            .await
            .status,
        201
    );
    let again = review(&app, &cast.client, completed, simple(1)).await;
    assert_eq!(again.status, 409, "{again:?}");
    assert_eq!(again.problem(), "already-reviewed");
    assert_eq!(
        review(&app, &cast.freelancer, completed, simple(4))
            .await
            .status,
        201
    );
    let after_both = review(&app, &cast.freelancer, completed, simple(4)).await;
    assert_eq!(after_both.problem(), "already-reviewed");
}

#[tokio::test]
async fn blocked_users_can_not_review_or_reply() {
    let (app, cast, gig) = setup().await;
    let order_id = app.order_in(&cast, &gig, "completed").await;
    app.set_user_status(cast.client.id, UserStatus::Blocked)
        .await;
    let blocked = review(&app, &cast.client, order_id, simple(5)).await;
    assert_eq!(blocked.status, 403, "{blocked:?}");
    app.set_user_status(cast.client.id, UserStatus::Active)
        .await;
    // The block ended the client's sessions: they sign in again.
    let client = app.sign_in_again(&cast.client).await;
    assert_eq!(review(&app, &client, order_id, simple(5)).await.status, 201);
    let second = review(&app, &cast.freelancer, order_id, simple(5)).await;
    let client_review_id = {
        let items = all_items(&app, &format!("/gigs/{}/reviews?limit=5", gig.id)).await;
        items[0]["id"].as_str().unwrap().to_owned()
    };
    assert_eq!(second.status, 201);
    app.set_user_status(cast.freelancer.id, UserStatus::Blocked)
        .await;
    let reply = app
        .post(
            &format!("/reviews/{client_review_id}/reply"),
            &json!({"comment": "Thanks!"}),
            Some(&cast.freelancer.access_token),
        )
        .await;
    assert_eq!(reply.status, 403, "{reply:?}");
}

#[tokio::test]
async fn invalid_reviews_are_400_with_every_field_named() {
    let (app, cast, gig) = setup().await;
    let order_id = app.order_in(&cast, &gig, "completed").await;
    let invalid = review(
        &app,
        &cast.client,
        order_id,
        json!({"rating": 6, "comment": "x".repeat(2_001), "as_described": 0}),
    )
    .await;
    assert_eq!(invalid.status, 400, "{invalid:?}");
    assert_eq!(invalid.problem(), "validation-error");
    let mut fields = invalid.error_fields();
    fields.sort();
    assert_eq!(fields, ["as_described", "comment", "rating"]);

    for body in [
        json!({"rating": 5, "comment": "ok", "stars": 5}),
        json!({"rating": "five", "comment": "ok"}),
        json!({"rating": 4.5, "comment": "ok"}),
        json!({"comment": "ok"}),
        json!({"rating": 5, "comment": "   "}),
    ] {
        let response = review(&app, &cast.client, order_id, body.clone()).await;
        assert_eq!(response.status, 400, "{body}: {response:?}");
    }
    let bad_id = app
        .post(
            "/reviews",
            &json!({"order_id": "not-a-uuid", "rating": 5, "comment": "ok"}),
            Some(&cast.client.access_token),
        )
        .await;
    assert_eq!(bad_id.status, 400);
    // Nothing was written by any of them.
    assert_eq!(
        review_states(&app, &cast.client, order_id).await,
        json!({"client": "none", "freelancer": "none"})
    );
}

/// The use case with a controlled clock (the handler reads the real one).
async fn post_at(
    app: &TestApp,
    who: &Session,
    role: Role,
    order_id: Uuid,
    rating: i64,
    now: OffsetDateTime,
) -> Result<gigmarket_shared::domain::review::Review, gigmarket_shared::ApiError> {
    review_cases::post(
        &app.state.store,
        Caller {
            id: who.id,
            role,
            session: None,
        },
        PostReview {
            order_id,
            rating,
            comment: "Reviewed late in the window.".to_owned(),
            communication: None,
            as_described: None,
            would_recommend: None,
        },
        now,
    )
    .await
}

#[tokio::test]
async fn the_scheduler_publishes_what_is_still_sealed_when_the_window_closes() {
    let (app, cast, gig) = setup().await;
    let order_id = app.order_in(&cast, &gig, "completed").await;
    let store = &app.state.store;
    let now = OffsetDateTime::now_utc();
    let sealed = review(&app, &cast.client, order_id, simple(3)).await;
    assert_eq!(sealed.status, 201);

    // Before the window closes nothing is due.
    let early = scheduler::run(store, &app.stripe, now + Duration::days(9))
        .await
        .unwrap();
    assert_eq!(early.reviews_published, 0);
    let gig_reviews = format!("/gigs/{}/reviews?limit=10", gig.id);
    assert!(all_items(&app, &gig_reviews).await.is_empty());

    // After it, the freelancer may no longer review, and the scheduler publishes the client's.
    let closed = now + Duration::days(10) + Duration::minutes(1);
    let late = post_at(
        &app,
        &cast.freelancer,
        Role::Freelancer,
        order_id,
        5,
        closed,
    )
    .await
    .unwrap_err();
    assert_eq!(late.status(), 409);
    assert_eq!(late.problem_code(), "review-window-closed");
    let run = scheduler::run(store, &app.stripe, closed).await.unwrap();
    assert_eq!(run.reviews_published, 1, "{run:?}");
    let published = all_items(&app, &gig_reviews).await;
    assert_eq!(ids(&published), [sealed.body["id"].as_str().unwrap()]);
    assert_eq!(
        review_states(&app, &cast.freelancer, order_id).await,
        json!({"client": "published", "freelancer": "none"})
    );
    let summary = app.get(&format!("/gigs/{}", gig.id), None).await.body["rating_summary"].clone();
    assert_eq!(summary["count"], 1);
    assert_eq!(summary["average"], 3.0);

    // Idempotent: a second run finds nothing and counts nothing twice.
    let again = scheduler::run(store, &app.stripe, closed + Duration::minutes(15))
        .await
        .unwrap();
    assert_eq!(again.reviews_published, 0);
    assert_eq!(app.gig(gig.id).await.rating_count, 1);
}

#[tokio::test]
async fn a_review_published_by_the_second_one_is_never_published_again_by_the_scheduler() {
    let (app, cast, gig) = setup().await;
    let order_id = app.order_in(&cast, &gig, "completed").await;
    let store = &app.state.store;
    let first = review(&app, &cast.client, order_id, simple(2)).await;
    assert_eq!(first.status, 201);
    // The scheduler's view of the first review, read while it was still sealed.
    let stale_due: Vec<_> = store
        .due_reviews(OffsetDateTime::now_utc() + Duration::days(11), 10)
        .await
        .unwrap();
    assert_eq!(stale_due.len(), 1);
    assert_eq!(
        review(&app, &cast.freelancer, order_id, simple(5))
            .await
            .status,
        201
    );

    // Racing with the second review, the scheduler loses: its condition (still sealed) fails.
    let later = OffsetDateTime::now_utc() + Duration::days(11);
    assert!(
        !store
            .publish_sealed_review(&stale_due[0], later)
            .await
            .unwrap()
    );
    let run = scheduler::run(store, &app.stripe, later).await.unwrap();
    assert_eq!(run.reviews_published, 0);
    let gig_now = app.gig(gig.id).await;
    assert_eq!((gig_now.rating_count, gig_now.rating_sum), (1, 2));
    let client = app
        .get(&format!("/users/{}", cast.client.id), None)
        .await
        .body;
    assert_eq!(client["buyer_rating"]["count"], 1);
}

#[tokio::test]
async fn concurrent_reviews_keep_every_rating_total_exact() {
    let (app, cast, gig) = setup().await;
    const ORDERS: usize = 8;
    let mut orders = Vec::new();
    for _ in 0..ORDERS {
        orders.push(app.order_in(&cast, &gig, "completed").await);
    }
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for (index, order_id) in orders.iter().copied().enumerate() {
        for (who, rating, body) in [
            (
                cast.client.clone(),
                index % 5 + 1,
                json!({"rating": index % 5 + 1, "comment": "Concurrent.", "communication": (index + 2) % 5 + 1, "would_recommend": index % 2 == 0}),
            ),
            (
                cast.freelancer.clone(),
                (index + 3) % 5 + 1,
                simple(((index + 3) % 5 + 1) as u8),
            ),
        ] {
            let app = Arc::clone(&app);
            let mut body = body;
            body["rating"] = json!(rating);
            tasks.push(tokio::spawn(async move {
                review(&app, &who, order_id, body).await
            }));
        }
    }
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response.status, 201, "{response:?}");
    }

    // What the stored published reviews add up to...
    let gig_reviews = all_items(&app, &format!("/gigs/{}/reviews?limit=3", gig.id)).await;
    let buyer_reviews = all_items(
        &app,
        &format!("/users/{}/reviews?as=buyer&limit=3", cast.client.id),
    )
    .await;
    assert_eq!(gig_reviews.len(), ORDERS);
    assert_eq!(buyer_reviews.len(), ORDERS);
    let add_up = |reviews: &[Value]| {
        let mut histogram = [0u64; 5];
        let mut sum = 0u64;
        let (mut communication_sum, mut communication_count) = (0u64, 0u64);
        let (mut yes, mut recommend_count) = (0u64, 0u64);
        for review in reviews {
            let rating = review["rating"].as_u64().unwrap();
            sum += rating;
            histogram[rating as usize - 1] += 1;
            if let Some(value) = review["communication"].as_u64() {
                communication_sum += value;
                communication_count += 1;
            }
            if let Some(flag) = review["would_recommend"].as_bool() {
                yes += u64::from(flag);
                recommend_count += 1;
            }
        }
        let centi = |sum: u64, count: u64| ((sum * 100 + count / 2) / count) as f64 / 100.0;
        json!({
            "average": centi(sum, reviews.len() as u64),
            "count": reviews.len(),
            "histogram": {"1": histogram[0], "2": histogram[1], "3": histogram[2], "4": histogram[3], "5": histogram[4]},
            "communication": if communication_count > 0 { json!(centi(communication_sum, communication_count)) } else { Value::Null },
            "as_described": Value::Null,
            "would_recommend_percent": (yes * 100 + recommend_count / 2).checked_div(recommend_count),
        })
    };
    // ...is what every aggregate says.
    let expected_seller = add_up(&gig_reviews);
    let gig_view = app.get(&format!("/gigs/{}", gig.id), None).await.body;
    assert_eq!(gig_view["rating_summary"], expected_seller);
    let freelancer = app
        .get(&format!("/users/{}", cast.freelancer.id), None)
        .await
        .body;
    assert_eq!(freelancer["seller_rating"], expected_seller);
    let client = app
        .get(&format!("/users/{}", cast.client.id), None)
        .await
        .body;
    assert_eq!(client["buyer_rating"], add_up(&buyer_reviews));
    // The listings and the search index carry the same average.
    let listed = app
        .get(&format!("/users/{}/gigs", cast.freelancer.id), None)
        .await
        .body;
    assert_eq!(
        listed["items"][0]["rating"]["average"], expected_seller["average"],
        "{listed}"
    );
    let found = app.get("/gigs?sort=rating", None).await.body;
    assert_eq!(
        found["items"][0]["rating"]["average"], expected_seller["average"],
        "{found}"
    );
}

#[tokio::test]
async fn review_listings_are_newest_first_and_cursor_paged() {
    let (app, cast, gig) = setup().await;
    let mut published = Vec::new();
    for rating in [1, 2, 3, 4, 5] {
        let order_id = app.order_in(&cast, &gig, "completed").await;
        let by_client = review(&app, &cast.client, order_id, simple(rating)).await;
        assert_eq!(by_client.status, 201);
        assert_eq!(
            review(&app, &cast.freelancer, order_id, simple(5))
                .await
                .status,
            201
        );
        published.push(
            by_client.body["id"]
                .as_str()
                .unwrap()
                .parse::<Uuid>()
                .unwrap(),
        );
    }
    published.reverse();
    let (seen, pages) = app
        .collect_pages(&format!("/gigs/{}/reviews?limit=2", gig.id), None)
        .await;
    assert_eq!(seen, published, "newest first");
    assert_eq!(pages, 3);
    let (as_seller, _) = app
        .collect_pages(
            &format!("/users/{}/reviews?as=seller&limit=2", cast.freelancer.id),
            None,
        )
        .await;
    assert_eq!(as_seller, published);

    // A cursor belongs to its listing.
    let first = app
        .get(&format!("/gigs/{}/reviews?limit=2", gig.id), None)
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let foreign = app
        .get(
            &format!(
                "/users/{}/reviews?as=seller&limit=2&cursor={cursor}",
                cast.freelancer.id
            ),
            None,
        )
        .await;
    assert_eq!(foreign.status, 400, "{foreign:?}");
    let unknown_as = app
        .get(
            &format!("/users/{}/reviews?as=admin", cast.freelancer.id),
            None,
        )
        .await;
    assert_eq!(unknown_as.status, 400);
    let unknown_gig = app
        .get(&format!("/gigs/{}/reviews", Uuid::new_v4()), None)
        .await;
    assert_eq!(unknown_gig.status, 200);
    assert_eq!(unknown_gig.body["items"], json!([]));
}

#[tokio::test]
async fn the_reviewed_party_replies_to_a_published_review_once() {
    let (app, cast, gig) = setup().await;
    let order_id = app.order_in(&cast, &gig, "completed").await;
    let by_client = review(&app, &cast.client, order_id, simple(4)).await;
    let review_id = by_client.body["id"].as_str().unwrap().to_owned();
    let reply_path = format!("/reviews/{review_id}/reply");
    let reply = |who: &Session, text: &str| {
        let body = json!({"comment": text});
        let token = who.access_token.clone();
        let app = &app;
        let path = reply_path.clone();
        async move { app.post(&path, &body, Some(&token)).await }
    };

    // Sealed: the reviewee does not even know it exists.
    assert_eq!(reply(&cast.freelancer, "Thanks").await.status, 404);
    assert_eq!(
        review(&app, &cast.freelancer, order_id, simple(5))
            .await
            .status,
        201
    );

    assert_eq!(
        reply(&cast.client, "My own").await.status,
        403,
        "the author"
    );
    assert_eq!(reply(&cast.stranger, "Hm").await.status, 403);
    assert_eq!(reply(&cast.freelancer, "  ").await.status, 400);
    let answered = reply(&cast.freelancer, "Thank you, a pleasure!").await;
    assert_eq!(answered.status, 200, "{answered:?}");
    assert_eq!(answered.body["reply"]["comment"], "Thank you, a pleasure!");
    let again = reply(&cast.freelancer, "Once more").await;
    assert_eq!(again.status, 409);
    assert_eq!(again.problem(), "already-replied");
    let unknown = app
        .post(
            &format!("/reviews/{}/reply", Uuid::new_v4()),
            &json!({"comment": "?"}),
            Some(&cast.freelancer.access_token),
        )
        .await;
    assert_eq!(unknown.status, 404);

    let listed = all_items(&app, &format!("/gigs/{}/reviews?limit=5", gig.id)).await;
    assert_eq!(listed[0]["reply"]["comment"], "Thank you, a pleasure!");
    let distinct: HashSet<String> = ids(&listed).into_iter().collect();
    assert_eq!(distinct.len(), 1);
}

/// The review events of the stream records written since the last call, through the real
/// dispatcher and queue, mailed by the real notifier; returns their types.
async fn dispatch_review_events(
    app: &TestApp,
    pipeline: &mut gigmarket_tests::pipeline::Pipeline,
) -> Vec<String> {
    let stream_event = pipeline.stream_event().await;
    let response = dispatcher::handle(stream_event, &pipeline.sqs, &pipeline.queues()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let messages: Vec<_> = pipeline
        .receive_all()
        .await
        .into_iter()
        .filter(|message| {
            let event: gigmarket_shared::events::Event =
                serde_json::from_str(message.body().unwrap()).unwrap();
            event.event_type.to_string().starts_with("review.")
        })
        .collect();
    let mut types: Vec<String> = messages
        .iter()
        .map(|message| {
            serde_json::from_str::<Value>(message.body().unwrap()).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    types.sort();
    if !messages.is_empty() {
        let notifier = app.notifier();
        let batch = gigmarket_tests::pipeline::Pipeline::sqs_event(&messages);
        // Delivered twice: mailed once.
        for _ in 0..2 {
            let response = notifier.handle(batch.clone()).await;
            assert!(response.batch_item_failures.is_empty(), "{response:?}");
        }
    }
    types
}

#[tokio::test]
async fn the_other_side_is_invited_once_and_each_published_review_is_mailed_to_its_reviewee() {
    use gigmarket_tests::pipeline::subjects_to;
    let (app, mut pipeline) = TestApp::with_pipeline().await;
    let cast = app.cast().await;
    let gig = app
        .create_active_gig(cast.freelancer.id, Revisions::Limited(1))
        .await;
    let order_id = app.order_in(&cast, &gig, "completed").await;
    assert!(dispatch_review_events(&app, &mut pipeline).await.is_empty());
    // moto lists mail in no particular order: compare what arrived since, as sorted lists.
    let mut seen_freelancer = subjects_to(&cast.freelancer.email).await;
    let mut seen_client = subjects_to(&cast.client.email).await;
    async fn new_since(address: &str, seen: &mut Vec<String>) -> Vec<String> {
        let mut fresh = subjects_to(address).await;
        for old in seen.iter() {
            let position = fresh.iter().position(|subject| subject == old).unwrap();
            fresh.remove(position);
        }
        seen.extend(fresh.iter().cloned());
        fresh.sort();
        fresh
    }

    let by_client = review(&app, &cast.client, order_id, simple(4)).await;
    assert_eq!(by_client.status, 201);
    assert_eq!(
        dispatch_review_events(&app, &mut pipeline).await,
        ["review.sealed"]
    );
    assert_eq!(
        new_since(&cast.freelancer.email, &mut seen_freelancer).await,
        ["Your client reviewed \"I will design your logo\": leave your review to see theirs"]
    );
    assert!(
        new_since(&cast.client.email, &mut seen_client)
            .await
            .is_empty()
    );

    assert_eq!(
        review(&app, &cast.freelancer, order_id, simple(5))
            .await
            .status,
        201
    );
    assert_eq!(
        dispatch_review_events(&app, &mut pipeline).await,
        ["review.published", "review.published"],
        "the second review (inserted published) and the first (sealed -> published)"
    );
    assert_eq!(
        new_since(&cast.freelancer.email, &mut seen_freelancer).await,
        ["New review: 4 stars for I will design your logo"]
    );
    assert_eq!(
        new_since(&cast.client.email, &mut seen_client).await,
        ["New review: 5 stars for I will design your logo"]
    );

    // A reply changes a published review: nobody is told again.
    let reply = app
        .post(
            &format!("/reviews/{}/reply", by_client.body["id"].as_str().unwrap()),
            &json!({"comment": "Thanks!"}),
            Some(&cast.freelancer.access_token),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert!(dispatch_review_events(&app, &mut pipeline).await.is_empty());
}

/// A completed order of `client` on `gig`, reviewed by both sides (so both reviews are public).
async fn reviewed_order(app: &TestApp, cast: &Cast, client: &Session, gig: &Gig) -> Uuid {
    let order_id = app.place_order(client, gig).await;
    for (who, action) in [
        (&cast.freelancer, "accept"),
        (&cast.freelancer, "deliver"),
        (client, "complete"),
    ] {
        app.order_step(who, order_id, action).await;
    }
    for who in [client, &cast.freelancer] {
        let posted = review(app, who, order_id, simple(4)).await;
        assert_eq!(posted.status, 201, "{posted:?}");
    }
    order_id
}

/// How many reviews of a listing belong to `order_id`.
fn of_order(items: &[Value], order_id: Uuid) -> usize {
    items
        .iter()
        .filter(|item| item["order_id"] == json!(order_id))
        .count()
}

#[tokio::test]
async fn public_listings_hide_reviews_naming_a_blocked_user_or_a_removed_gig() {
    let (app, cast, gig) = setup().await;
    let by_client = reviewed_order(&app, &cast, &cast.client, &gig).await;
    let by_stranger = reviewed_order(&app, &cast, &cast.stranger, &gig).await;
    let gig_reviews = format!("/gigs/{}/reviews?limit=10", gig.id);
    let seller_reviews = format!("/users/{}/reviews?as=seller&limit=10", cast.freelancer.id);
    let client_reviews = format!("/users/{}/reviews?as=buyer&limit=10", cast.client.id);
    let on_gig = all_items(&app, &gig_reviews).await;
    assert_eq!(
        (of_order(&on_gig, by_client), of_order(&on_gig, by_stranger)),
        (1, 1)
    );
    assert_eq!(all_items(&app, &client_reviews).await.len(), 1);

    // A blocked client's review leaves the gig and the seller; reviews of them go too.
    app.set_user_status(cast.client.id, UserStatus::Blocked)
        .await;
    for path in [&gig_reviews, &seller_reviews] {
        let items = all_items(&app, path).await;
        assert_eq!(
            (of_order(&items, by_client), of_order(&items, by_stranger)),
            (0, 1),
            "{path}: {items:?}"
        );
    }
    assert!(all_items(&app, &client_reviews).await.is_empty());
    app.set_user_status(cast.client.id, UserStatus::Active)
        .await;
    assert_eq!(of_order(&all_items(&app, &gig_reviews).await, by_client), 1);

    // A removed gig's reviews leave every public listing, the seller's and buyers' included.
    let removed = app
        .moderate(
            &cast.admin,
            gig.id,
            "remove",
            None,
            Some("Counterfeit goods"),
        )
        .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    assert!(all_items(&app, &gig_reviews).await.is_empty());
    assert!(all_items(&app, &seller_reviews).await.is_empty());
    assert!(all_items(&app, &client_reviews).await.is_empty());
}
