//! `gigs` function: publishing, moderation, visibility, ownership, optimistic concurrency and
//! archiving rules. Browse and search have their own file (`gigs_search.rs`).

use gigmarket_shared::domain::user::UserStatus;
use gigmarket_tests::fixtures::{gig_body, gig_id, order_body, package, priced_gig};
use gigmarket_tests::{RawRequest, TestApp};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

#[tokio::test]
async fn new_gigs_wait_for_review_until_an_admin_approves() {
    let app = TestApp::new().await;
    let owner = app.register_freelancer().await;
    let admin = app.create_admin().await;
    let created = app
        .post(
            "/gigs",
            &gig_body("Minimalist logo design"),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = gig_id(&created.body);
    assert_eq!(created.body["status"], "pending_review");
    assert_eq!(created.body["version"], 1);
    assert_eq!(created.body["starting_price_cents"], 5_000);
    assert_eq!(created.body["currency"], "EUR");
    assert_eq!(created.body["freelancer_id"], owner.id.to_string());
    assert_eq!(created.header("location"), Some(&*format!("/gigs/{id}")));
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(created.body["rating"], json!({"average": null, "count": 0}));

    // Pending: the owner and admins see it, nobody else, and browse does not list it.
    let path = format!("/gigs/{id}");
    assert_eq!(app.get(&path, None).await.status, 404);
    let stranger = app.register_client().await;
    assert_eq!(
        app.get(&path, Some(&stranger.access_token)).await.status,
        404
    );
    let own = app.get(&path, Some(&owner.access_token)).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.body["status"], "pending_review");
    assert_eq!(own.body["open_orders"], 0, "owners see private fields");
    assert_eq!(app.get(&path, Some(&admin.access_token)).await.status, 200);
    assert!(app.browse_ids("").await.is_empty());

    // Only admins approve (the admin API; tests/integration/admin_gigs.rs has the rest).
    let by_owner = app
        .moderate(&owner, id, "approve", Some("\"1\""), None)
        .await;
    assert_eq!(by_owner.status, 403);
    assert_eq!(by_owner.problem(), "forbidden");
    let approved = app
        .moderate(&admin, id, "approve", Some("\"1\""), None)
        .await;
    assert_eq!(approved.status, 200, "{approved:?}");
    assert_eq!(approved.body["status"], "active");
    let again = app
        .moderate(&admin, id, "approve", Some("\"1\""), None)
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.problem(), "invalid-gig-status");

    let public = app.get(&path, None).await;
    assert_eq!(public.status, 200);
    assert_eq!(public.header("etag"), Some("\"1\""));
    assert_eq!(public.body["title"], "Minimalist logo design");
    assert!(
        public.body.get("open_orders").is_none(),
        "no private fields for the public"
    );
    assert_eq!(app.browse_ids("").await, vec![id]);
}

#[tokio::test]
async fn auto_approval_publishes_at_once() {
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    let gig = app
        .create_gig(&owner, &gig_body("Hand drawn illustrations"))
        .await;
    assert_eq!(gig["status"], "active");
    assert_eq!(app.browse_ids("").await, vec![gig_id(&gig)]);
}

#[tokio::test]
async fn only_freelancers_create_gigs() {
    let app = TestApp::new().await;
    let body = gig_body("Minimalist logo design");
    let client = app.register_client().await;
    let as_client = app.post("/gigs", &body, Some(&client.access_token)).await;
    assert_eq!(as_client.status, 403);
    assert_eq!(as_client.problem(), "forbidden");
    let admin = app.create_admin().await;
    assert_eq!(
        app.post("/gigs", &body, Some(&admin.access_token))
            .await
            .status,
        403
    );
    let anonymous = app.post("/gigs", &body, None).await;
    assert_eq!(anonymous.status, 401);
    // Even with a bad body, the role is what the client hears about.
    let bad = app
        .post("/gigs", &json!({"title": 1}), Some(&client.access_token))
        .await;
    assert_eq!(bad.status, 403);
    assert!(app.browse_ids("").await.is_empty());
}

#[tokio::test]
async fn validation_names_every_offending_field_and_stores_nothing() {
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    let token = Some(owner.access_token.as_str());
    let mut cheap_premium = package("premium", 4_000, 3);
    cheap_premium["currency"] = json!("usd");
    let mut bad_standard = package("standard", 0, 91);
    bad_standard["revisions"] = json!(11);
    bad_standard["currency"] = json!("XYZ");
    let mut duplicate_basic = package("basic", 6_000, 7);
    duplicate_basic["name"] = json!("  ");
    let body = json!({
        "title": "Logo",
        "description": "   ",
        "category": "cooking",
        "tags": ["a", "b", "c", "d", "e", "f"],
        "packages": [package("basic", 5_000, 7), bad_standard, cheap_premium, duplicate_basic]
    });
    let response = app.post("/gigs", &body, token).await;
    assert_eq!(response.status, 400, "{response:?}");
    assert_eq!(response.problem(), "validation-error");
    assert_eq!(
        response.error_fields(),
        vec![
            "category",
            "description",
            "packages",
            "packages[1].currency",
            "packages[1].delivery_days",
            "packages[1].price_cents",
            "packages[1].revisions",
            "packages[2].currency",
            "packages[2].price_cents",
            "packages[3].name",
            "packages[3].tier",
            "tags",
            "title",
        ]
    );
    let codes: Vec<&str> = response.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["code"].as_str().unwrap())
        .collect();
    for code in [
        "duplicate_tier",
        "must_be_positive",
        "invalid_currency",
        "currency_mismatch",
        "cheaper_than_lower_tier",
        "out_of_range",
        "unknown_category",
        "too_many",
        "too_short",
    ] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }

    // Type errors and unknown fields name their field too.
    let mut float_price = gig_body("Minimalist logo design");
    float_price["packages"][0]["price_cents"] = json!(49.99);
    let response = app.post("/gigs", &float_price, token).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.error_fields(), vec!["packages[0].price_cents"]);
    let mut unknown = gig_body("Minimalist logo design");
    unknown["status"] = json!("active");
    let response = app.post("/gigs", &unknown, token).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.body["errors"][0]["code"], "unknown_field");
    let mut no_packages = gig_body("Minimalist logo design");
    no_packages["packages"] = json!([]);
    no_packages["subcategory"] = json!("seo");
    let response = app.post("/gigs", &no_packages, token).await;
    assert_eq!(response.error_fields(), vec!["packages", "subcategory"]);
    let mut bad_revisions = gig_body("Minimalist logo design");
    bad_revisions["packages"][0]["revisions"] = json!("lots");
    let response = app.post("/gigs", &bad_revisions, token).await;
    assert_eq!(response.error_fields(), vec!["packages[0].revisions"]);

    let mine = app.get("/me/gigs", token).await;
    assert_eq!(mine.body["items"], json!([]), "nothing was stored");

    // The good parts are normalised: currency upper-cased, tags lower-cased, packages by tier.
    let mut messy = gig_body("  Minimalist logo design  ");
    messy["tags"] = json!(["  Flat   Design ", "flat design", "LOGO"]);
    messy["packages"] = json!([package("premium", 9_000, 2), package("basic", 1_000, 4)]);
    messy["packages"][0]["currency"] = json!("eur");
    messy["packages"][1]["revisions"] = json!(0);
    messy["packages"][1]["unlimited_revisions"] = json!(true);
    let created = app.create_gig(&owner, &messy).await;
    assert_eq!(created["title"], "Minimalist logo design");
    assert_eq!(created["tags"], json!(["flat design", "logo"]));
    assert_eq!(created["packages"][0]["tier"], "basic");
    assert_eq!(created["packages"][0]["revisions"], 0);
    assert_eq!(created["packages"][0]["unlimited_revisions"], true);
    assert_eq!(created["packages"][1]["unlimited_revisions"], false);
    assert_eq!(created["packages"][1]["currency"], "EUR");
}

#[tokio::test]
async fn edits_need_the_current_etag_and_go_back_to_review() {
    let app = TestApp::new().await;
    let owner = app.register_freelancer().await;
    let admin = app.create_admin().await;
    let id = app
        .create_approved_gig(&owner, &admin, &gig_body("Minimalist logo design"))
        .await;
    let path = format!("/gigs/{id}");
    let edit = |etag: Option<&str>, body: serde_json::Value| {
        let mut request = RawRequest::new("PATCH", path.clone())
            .json(&body)
            .bearer(&owner.access_token);
        if let Some(etag) = etag {
            request = request.header("if-match", etag);
        }
        request
    };

    let missing = app
        .send(edit(None, json!({"title": "Modern minimalist logos"})))
        .await;
    assert_eq!(missing.status, 428);
    assert_eq!(missing.problem(), "precondition-required");
    let empty = app
        .send(edit(Some(" "), json!({"title": "Modern minimalist logos"})))
        .await;
    assert_eq!(
        empty.status, 400,
        "an empty If-Match is malformed: {empty:?}"
    );
    assert_eq!(empty.problem(), "bad-request");

    let edited = app
        .send(edit(
            Some("\"1\""),
            json!({"title": "Modern minimalist logos", "subcategory": null}),
        ))
        .await;
    assert_eq!(edited.status, 200, "{edited:?}");
    assert_eq!(edited.header("etag"), Some("\"2\""));
    assert_eq!(edited.body["version"], 2);
    assert_eq!(edited.body["title"], "Modern minimalist logos");
    assert_eq!(edited.body["subcategory"], json!(null));
    assert_eq!(
        edited.body["description"],
        gig_body("x")["description"],
        "untouched fields stay"
    );
    // Review is required (the default), so the edited gig left the storefront.
    assert_eq!(edited.body["status"], "pending_review");
    assert!(app.browse_ids("").await.is_empty());
    assert_eq!(app.get(&path, None).await.status, 404);

    let stale = app
        .send(edit(
            Some("\"1\""),
            json!({"title": "Another title entirely"}),
        ))
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.problem(), "precondition-failed");
    // An invalid edit is 400 even with a stale ETag, and `null` never silently keeps a field.
    let invalid_and_stale = app
        .send(edit(Some("\"1\""), json!({"title": "short"})))
        .await;
    assert_eq!(invalid_and_stale.status, 400, "{invalid_and_stale:?}");
    assert_eq!(invalid_and_stale.error_fields(), ["title"]);
    for field in ["title", "description", "category", "tags", "packages"] {
        let null = app.send(edit(Some("\"2\""), json!({ field: null }))).await;
        assert_eq!(null.status, 400, "{field}: null is refused: {null:?}");
        assert_eq!(null.error_fields(), [field]);
    }
    let invalid = app
        .send(edit(
            Some("\"2\""),
            json!({"packages": [], "colour": "red"}),
        ))
        .await;
    assert_eq!(invalid.status, 400);
    // The subcategory was cleared above, so any category is fine now.
    let recategorised = app
        .send(edit(Some("\"2\""), json!({"category": "music-audio"})))
        .await;
    assert_eq!(recategorised.status, 200, "{recategorised:?}");
    let current = app.get(&path, Some(&owner.access_token)).await;
    assert_eq!(current.body["title"], "Modern minimalist logos");
    assert_eq!(current.body["category"], "music-audio");
    assert_eq!(current.header("etag"), Some("\"3\""));
}

#[tokio::test]
async fn edits_with_auto_approval_stay_listed_under_new_terms() {
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    let id = gig_id(
        &app.create_gig(&owner, &gig_body("Watercolour portraits"))
            .await,
    );
    assert_eq!(app.browse_ids("q=watercolour").await, vec![id]);
    let edited = app
        .send(
            RawRequest::new("PATCH", format!("/gigs/{id}"))
                .json(
                    &json!({"title": "Charcoal portraits", "packages": [package("basic", 900, 2)]}),
                )
                .bearer(&owner.access_token)
                .header("if-match", "\"1\""),
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:?}");
    assert_eq!(edited.body["status"], "active");
    assert!(
        app.browse_ids("q=watercolour").await.is_empty(),
        "old terms are gone"
    );
    assert_eq!(app.browse_ids("q=charcoal").await, vec![id]);
    assert_eq!(app.browse_ids("max_price=900").await, vec![id]);
}

#[tokio::test]
async fn concurrent_edits_never_silently_overwrite() {
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    let id = gig_id(
        &app.create_gig(&owner, &gig_body("Minimalist logo design"))
            .await,
    );
    for round in 1..=3u64 {
        let etag = format!("\"{round}\"");
        let edit = |title: String| {
            app.send(
                RawRequest::new("PATCH", format!("/gigs/{id}"))
                    .json(&json!({ "title": title }))
                    .bearer(&owner.access_token)
                    .header("if-match", &etag),
            )
        };
        let (first, second) = tokio::join!(
            edit(format!("First editor title {round}")),
            edit(format!("Second editor title {round}"))
        );
        let mut statuses = [first.status, second.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [200, 412],
            "exactly one edit wins: {first:?} {second:?}"
        );
        let winner = if first.status == 200 { first } else { second };
        let stored = app.get(&format!("/gigs/{id}"), None).await;
        assert_eq!(stored.body["title"], winner.body["title"]);
        assert_eq!(stored.body["version"], round + 1);
    }
}

#[tokio::test]
async fn other_freelancers_can_not_change_a_gig() {
    let app = TestApp::new().await;
    let owner = app.register_freelancer().await;
    let other = app.register_freelancer().await;
    let admin = app.create_admin().await;
    let active = app
        .create_approved_gig(&owner, &admin, &gig_body("Minimalist logo design"))
        .await;
    let pending = gig_id(
        &app.create_gig(&owner, &gig_body("Pending logo design work"))
            .await,
    );
    let token = Some(other.access_token.as_str());
    for (id, expected) in [(active, 403), (pending, 404)] {
        let path = format!("/gigs/{id}");
        let patch = app
            .send(
                RawRequest::new("PATCH", path.clone())
                    .json(&json!({"title": "Stolen gig title here"}))
                    .bearer(&other.access_token)
                    .header("if-match", "\"1\""),
            )
            .await;
        assert_eq!(patch.status, expected, "PATCH {path}: {patch:?}");
        assert_eq!(app.delete(&path, token).await.status, expected);
        assert_eq!(
            app.post(&format!("{path}/pause"), &json!({}), token)
                .await
                .status,
            expected
        );
        let stored = app.get(&path, Some(&owner.access_token)).await;
        assert_ne!(stored.body["title"], "Stolen gig title here");
        assert_ne!(stored.body["status"], "archived");
    }
    // Admins moderate but do not edit.
    let by_admin = app
        .send(
            RawRequest::new("PATCH", format!("/gigs/{active}"))
                .json(&json!({"title": "Admin edited the title"}))
                .bearer(&admin.access_token)
                .header("if-match", "\"1\""),
        )
        .await;
    assert_eq!(by_admin.status, 403);
    // Unknown and unparsable ids are 404.
    let unknown = format!("/gigs/{}", uuid::Uuid::new_v4());
    assert_eq!(
        app.get(&unknown, Some(&owner.access_token)).await.status,
        404
    );
    assert_eq!(app.get("/gigs/not-a-uuid", None).await.status, 404);
}

#[tokio::test]
async fn pause_and_resume_hide_and_show_a_gig() {
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    let id = gig_id(
        &app.create_gig(&owner, &gig_body("Minimalist logo design"))
            .await,
    );
    let token = Some(owner.access_token.as_str());
    let paused = app
        .post(&format!("/gigs/{id}/pause"), &json!({}), token)
        .await;
    assert_eq!(paused.status, 200);
    assert_eq!(paused.body["status"], "paused");
    assert!(app.browse_ids("").await.is_empty());
    assert!(app.browse_ids("q=logo").await.is_empty());
    assert_eq!(app.get(&format!("/gigs/{id}"), None).await.status, 404);
    let again = app
        .post(&format!("/gigs/{id}/pause"), &json!({}), token)
        .await;
    assert_eq!(again.status, 409);
    let resumed = app
        .post(&format!("/gigs/{id}/resume"), &json!({}), token)
        .await;
    assert_eq!(resumed.body["status"], "active");
    assert_eq!(app.browse_ids("q=logo").await, vec![id]);
    let resumed_again = app
        .post(&format!("/gigs/{id}/resume"), &json!({}), token)
        .await;
    assert_eq!(resumed_again.status, 409);
}

#[tokio::test]
async fn archiving_hides_for_good_and_open_orders_run_on() {
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    let id = gig_id(
        &app.create_gig(&owner, &gig_body("Minimalist logo design"))
            .await,
    );
    let path = format!("/gigs/{id}");
    let token = Some(owner.access_token.as_str());
    let client = app.register_client().await;
    let gig = app.gig(id).await;
    let order_id = app.place_order(&client, &gig).await;

    // Edits never overwrite the counters the orders transactions maintain.
    let edited = app
        .send(
            RawRequest::new("PATCH", path.clone())
                .json(&json!({"title": "Minimalist logo design pro"}))
                .bearer(&owner.access_token)
                .header("if-match", "\"1\""),
        )
        .await;
    assert_eq!(edited.status, 200);
    assert_eq!(edited.body["open_orders"], 1);
    assert_eq!(edited.body["order_count"], 1);

    // An open order does not keep the freelancer from archiving (a client could otherwise
    // pin any gig by ordering): the gig leaves the market, its order runs on.
    assert_eq!(app.delete(&path, token).await.status, 204);
    assert_eq!(
        app.delete(&path, token).await.status,
        204,
        "archiving is idempotent"
    );
    let refused = app
        .place_order_with_key(&client, &Uuid::new_v4().to_string(), &order_body(&gig))
        .await;
    assert!(
        matches!(refused.status, 404 | 409),
        "no new order on an archived gig: {refused:?}"
    );
    for action in ["accept", "deliver"] {
        app.order_step(&owner, order_id, action).await;
    }
    let completed = app.order_step(&client, order_id, "complete").await;
    assert_eq!(completed["status"], "completed");
    assert!(app.browse_ids("").await.is_empty());
    assert!(app.browse_ids("q=minimalist").await.is_empty());
    assert_eq!(app.get(&path, None).await.status, 404);
    assert_eq!(
        app.get(&path, token).await.status,
        404,
        "deleted (archived) for its owner too"
    );
    let mine = app.get("/me/gigs", token).await;
    let own = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|gig| gig["id"] == json!(id))
        .cloned()
        .expect("the owner still lists it");
    assert_eq!(own["status"], "archived");
    assert_eq!(own["order_count"], 1);
    for action in ["pause", "resume"] {
        let response = app
            .post(&format!("{path}/{action}"), &json!({}), token)
            .await;
        assert_eq!(response.status, 409, "{action}");
    }
    let edit = app
        .send(
            RawRequest::new("PATCH", path.clone())
                .json(&json!({"title": "Back from the archive"}))
                .bearer(&owner.access_token)
                .header("if-match", "\"2\""),
        )
        .await;
    assert_eq!(edit.status, 409);
}

#[tokio::test]
async fn rejected_gigs_show_the_reason_to_their_owner_and_can_be_resubmitted() {
    let app = TestApp::new().await;
    let owner = app.register_freelancer().await;
    let admin = app.create_admin().await;
    let id = gig_id(
        &app.create_gig(&owner, &gig_body("Minimalist logo design"))
            .await,
    );
    let path = format!("/gigs/{id}");
    let empty_reason = app
        .moderate(&admin, id, "reject", Some("\"1\""), Some(" "))
        .await;
    assert_eq!(empty_reason.error_fields(), vec!["reason"]);
    let by_owner = app
        .moderate(&owner, id, "reject", Some("\"1\""), Some("nope"))
        .await;
    assert_eq!(by_owner.status, 403);
    let rejected = app
        .moderate(
            &admin,
            id,
            "reject",
            Some("\"1\""),
            Some("Uses a trademarked logo"),
        )
        .await;
    assert_eq!(rejected.status, 200);
    assert_eq!(rejected.body["status"], "rejected");
    let own = app.get(&path, Some(&owner.access_token)).await;
    assert_eq!(own.body["rejection_reason"], "Uses a trademarked logo");
    assert_eq!(app.get(&path, None).await.status, 404);
    let approve = app
        .moderate(&admin, id, "approve", Some("\"1\""), None)
        .await;
    assert_eq!(approve.status, 409, "a rejected gig must be edited first");

    let resubmitted = app
        .send(
            RawRequest::new("PATCH", path.clone())
                .json(&json!({"title": "Original minimalist logo design"}))
                .bearer(&owner.access_token)
                .header("if-match", "\"1\""),
        )
        .await;
    assert_eq!(resubmitted.status, 200);
    assert_eq!(resubmitted.body["status"], "pending_review");
    assert!(resubmitted.body.get("rejection_reason").is_none());
}

#[tokio::test]
async fn blocking_a_freelancer_takes_their_gigs_out_of_the_storefront() {
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    let other = app.register_freelancer().await;
    let first = gig_id(
        &app.create_gig(&owner, &gig_body("Minimalist logo design"))
            .await,
    );
    let second = gig_id(
        &app.create_gig(&owner, &priced_gig("Logo animation for intros", 700, 2))
            .await,
    );
    let others = gig_id(
        &app.create_gig(&other, &gig_body("Geometric logo design"))
            .await,
    );
    let owner_gigs = format!("/users/{}/gigs?limit=10", owner.id);
    assert_eq!(app.browse_ids("q=logo").await.len(), 3);

    // What `gigctl block-user` does.
    app.set_user_status(owner.id, UserStatus::Blocked).await;
    assert_eq!(app.browse_ids("q=logo").await, vec![others]);
    assert_eq!(app.browse_ids("").await, vec![others]);
    assert_eq!(
        app.browse_ids("category=graphics-design").await,
        vec![others]
    );
    assert!(app.collect_pages(&owner_gigs, None).await.0.is_empty());
    assert_eq!(app.get(&format!("/gigs/{first}"), None).await.status, 404);

    app.set_user_status(owner.id, UserStatus::Active).await;
    let mut back = app.browse_ids("q=logo").await;
    back.sort();
    let mut expected = vec![first, second, others];
    expected.sort();
    assert_eq!(back, expected);
    assert_eq!(
        app.collect_pages(&owner_gigs, None).await.0,
        vec![second, first]
    );
    assert_eq!(app.get(&format!("/gigs/{first}"), None).await.status, 200);
}

#[tokio::test]
async fn my_gigs_list_every_status_and_public_lists_only_active_ones() {
    let app = TestApp::new().await;
    let owner = app.register_freelancer().await;
    let admin = app.create_admin().await;
    let token = Some(owner.access_token.as_str());
    let active = app
        .create_approved_gig(&owner, &admin, &gig_body("Active logo design gig"))
        .await;
    let paused = app
        .create_approved_gig(&owner, &admin, &gig_body("Paused logo design gig"))
        .await;
    app.post(&format!("/gigs/{paused}/pause"), &json!({}), token)
        .await;
    let archived = app
        .create_approved_gig(&owner, &admin, &gig_body("Archived logo design gig"))
        .await;
    assert_eq!(
        app.delete(&format!("/gigs/{archived}"), token).await.status,
        204
    );
    let pending = gig_id(
        &app.create_gig(&owner, &gig_body("Pending logo design gig"))
            .await,
    );

    let (mine, pages) = app.collect_pages("/me/gigs?limit=2", token).await;
    assert_eq!(
        mine,
        vec![pending, archived, paused, active],
        "newest first"
    );
    assert_eq!(pages, 2);
    let first_page = app.get("/me/gigs?limit=4", token).await;
    let statuses: Vec<&str> = first_page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|gig| gig["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pending_review", "archived", "paused", "active"]);

    let public = app
        .collect_pages(&format!("/users/{}/gigs?limit=1", owner.id), None)
        .await
        .0;
    assert_eq!(public, vec![active]);

    let client = app.register_client().await;
    assert_eq!(
        app.get("/me/gigs", Some(&client.access_token)).await.status,
        403
    );
    assert_eq!(app.get("/me/gigs", None).await.status, 401);
    assert_eq!(
        app.get("/me/gigs?limit=0", token).await.error_fields(),
        vec!["limit"]
    );
    assert_eq!(app.get("/me/gigs?status=x", token).await.status, 400);
}

#[tokio::test]
async fn categories_are_a_fixed_tree() {
    let app = TestApp::new().await;
    let response = app.get("/categories", None).await;
    assert_eq!(response.status, 200);
    let categories = response.body["categories"].as_array().unwrap();
    let design = categories
        .iter()
        .find(|category| category["id"] == "graphics-design")
        .expect("graphics-design");
    assert_eq!(design["name"], "Graphics & Design");
    assert!(
        design["subcategories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|sub| sub["id"] == "logo-design")
    );
}

#[tokio::test]
async fn store_create_gig_lists_active_fixture_gigs_for_other_teams() {
    // Other teams' tests put gigs straight into the store, owners not necessarily registered.
    use gigmarket_shared::domain::gig::{Gig, GigDraft, GigStatus};
    let app = TestApp::new().await;
    let draft: GigDraft = serde_json::from_value(gig_body("Fixture gig for orders")).unwrap();
    let gig = Gig::new(
        uuid::Uuid::new_v4(),
        draft.validate().unwrap(),
        GigStatus::Active,
        OffsetDateTime::now_utc(),
    );
    app.state.store.create_gig(&gig).await.unwrap();
    assert_eq!(
        app.state.store.get_gig(gig.id).await.unwrap(),
        Some(gig.clone())
    );
    assert_eq!(app.browse_ids("q=fixture").await, vec![gig.id]);
    assert_eq!(
        app.get(&format!("/gigs/{}", gig.id), None).await.status,
        200
    );
}
