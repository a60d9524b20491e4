//! `GET /gigs`: every filter, every sort, keyword search (case, accents, plurals, several words),
//! stable cursor paging over many pages, and that hidden gigs never show up.

use std::collections::HashSet;

use gigmarket_shared::domain::user::UserStatus;
use gigmarket_tests::fixtures::{gig_body, gig_id, priced_gig};
use gigmarket_tests::{Session, TestApp};
use serde_json::{Value, json};
use uuid::Uuid;

/// Six active gigs with known prices, delivery times, categories and ratings.
struct Storefront {
    app: TestApp,
    /// By letter: a logo, b badges, c illustration, d backend, e seo, f web design.
    ids: Vec<Uuid>,
}

impl Storefront {
    fn id(&self, letter: char) -> Uuid {
        self.ids[(letter as u8 - b'a') as usize]
    }

    fn ids(&self, letters: &str) -> Vec<Uuid> {
        letters.chars().map(|letter| self.id(letter)).collect()
    }

    /// Asserts `GET /gigs?<query>` returns exactly these gigs in this order.
    async fn assert_ordered(&self, query: &str, letters: &str) {
        assert_eq!(
            self.app.browse_ids(query).await,
            self.ids(letters),
            "GET /gigs?{query} should be {letters}"
        );
    }

    /// Asserts `GET /gigs?<query>` returns exactly these gigs in any order.
    async fn assert_set(&self, query: &str, letters: &str) {
        let got: HashSet<Uuid> = self.app.browse_ids(query).await.into_iter().collect();
        let want: HashSet<Uuid> = self.ids(letters).into_iter().collect();
        assert_eq!(got, want, "GET /gigs?{query} should be {{{letters}}}");
    }
}

fn gig(
    title: &str,
    subcategory: (&str, &str),
    price: u64,
    days: u32,
    tags: &[&str],
    description: &str,
) -> Value {
    let mut body = priced_gig(title, price, days);
    body["category"] = json!(subcategory.0);
    body["subcategory"] = json!(subcategory.1);
    body["tags"] = json!(tags);
    body["description"] = json!(description);
    body
}

async fn storefront() -> Storefront {
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    let specs = [
        (
            gig(
                "Minimalist logo design",
                ("graphics-design", "logo-design"),
                5_000,
                7,
                &["branding"],
                "Clean marks for modern companies, delivered as vectors.",
            ),
            Some((9, 2)),
        ),
        (
            gig(
                "Vintage logo badges",
                ("graphics-design", "logo-design"),
                12_000,
                2,
                &["retro"],
                "Hand lettered badges with a worn, classic look.",
            ),
            Some((5, 1)),
        ),
        (
            gig(
                "Children's book illustration",
                ("graphics-design", "illustration"),
                30_000,
                14,
                &["kids"],
                "Whimsical full page illustrations for picture books.",
            ),
            Some((3, 1)),
        ),
        (
            gig(
                "Rust backend API development",
                ("programming-tech", "backend"),
                80_000,
                30,
                &["rust", "aws"],
                "Axum services on Lambda with DynamoDB storage.",
            ),
            None,
        ),
        (
            gig(
                "SEO audit for your website",
                ("digital-marketing", "seo"),
                2_500,
                3,
                &["audit"],
                "A technical audit with a prioritised list of fixes.",
            ),
            Some((8, 2)),
        ),
        (
            gig(
                "WordPress website design",
                ("graphics-design", "web-design"),
                45_000,
                10,
                &["wordpress"],
                "Responsive themes, built and configured for you.",
            ),
            Some((24, 5)),
        ),
    ];
    let mut ids = Vec::new();
    for (body, rating) in specs {
        let id = gig_id(&app.create_gig(&owner, &body).await);
        if let Some((sum, count)) = rating {
            app.rate_gig(id, sum, count).await;
        }
        ids.push(id);
    }
    Storefront { app, ids }
}

#[tokio::test]
async fn every_filter_narrows_to_exactly_the_matching_gigs() {
    let shop = storefront().await;
    shop.assert_set("", "abcdef").await;
    shop.assert_set("category=graphics-design", "abcf").await;
    shop.assert_set("subcategory=logo-design", "ab").await;
    shop.assert_set("category=graphics-design&subcategory=illustration", "c")
        .await;
    shop.assert_set("min_price=10000", "bcdf").await;
    shop.assert_set("max_price=12000", "abe").await;
    shop.assert_set("min_price=5000&max_price=30000", "abc")
        .await;
    shop.assert_set("max_delivery_days=7", "abe").await;
    shop.assert_set("min_rating=4.5", "abf").await;
    shop.assert_set("min_rating=0", "abcef").await; // unrated d has no rating to compare
    // Combined, with and without a keyword, on every index.
    shop.assert_set("q=logo&max_price=10000", "a").await;
    shop.assert_set("q=design&category=graphics-design&max_delivery_days=7", "a")
        .await;
    shop.assert_set("q=design&subcategory=web-design", "f")
        .await;
    shop.assert_ordered(
        "category=graphics-design&min_rating=4.6&sort=price_asc",
        "bf",
    )
    .await;
    shop.assert_ordered("q=logo&min_rating=4.6&sort=rating", "b")
        .await;
    shop.assert_ordered(
        "min_price=3000&max_price=50000&max_delivery_days=10&sort=newest",
        "fba",
    )
    .await;
    shop.assert_set("category=music-audio", "").await;

    // The cards carry what a storefront shows.
    let page = shop
        .app
        .get("/gigs?subcategory=logo-design&sort=price_asc", None)
        .await;
    let card = &page.body["items"][0];
    assert_eq!(card["title"], "Minimalist logo design");
    assert_eq!(card["starting_price_cents"], 5_000);
    assert_eq!(card["currency"], "EUR");
    assert_eq!(card["delivery_days"], 7);
    assert_eq!(card["rating"], json!({"average": 4.5, "count": 2}));
    assert_eq!(card["category"], "graphics-design");
    assert_eq!(card["tags"], json!(["branding"]));
}

#[tokio::test]
async fn every_sort_orders_the_results() {
    let shop = storefront().await;
    shop.assert_ordered("sort=price_asc", "eabcfd").await;
    shop.assert_ordered("sort=price_desc", "dfcbae").await;
    shop.assert_ordered("sort=newest", "fedcba").await;
    shop.assert_ordered("", "fedcba").await; // newest is the default without q
    shop.assert_ordered("sort=rating", "bfaecd").await;
    shop.assert_ordered("sort=relevance", "bfaecd").await; // without q: by rating
    shop.assert_ordered("category=graphics-design&sort=price_desc", "fcba")
        .await;
    shop.assert_ordered("q=design&sort=price_asc", "af").await;
    shop.assert_ordered("q=design&sort=newest", "fa").await;
    shop.assert_ordered("q=design&sort=rating", "fa").await;
}

#[tokio::test]
async fn relevance_ranks_title_over_tag_over_description_then_rating() {
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    let body = |title: &str, tags: &[&str], description: &str| {
        let mut body = gig_body(title);
        body["tags"] = json!(tags);
        body["description"] = json!(description);
        body
    };
    let in_description = gig_id(
        &app.create_gig(
            &owner,
            &body(
                "Portrait painting from photos",
                &[],
                "Soft watercolour portraits of people and pets.",
            ),
        )
        .await,
    );
    let in_tag = gig_id(
        &app.create_gig(
            &owner,
            &body(
                "Botanical prints for your home",
                &["watercolour"],
                "Framed prints of plants.",
            ),
        )
        .await,
    );
    let in_title = gig_id(
        &app.create_gig(
            &owner,
            &body(
                "Watercolour wedding invitations",
                &[],
                "Invitations painted by hand.",
            ),
        )
        .await,
    );
    let in_title_rated = gig_id(
        &app.create_gig(
            &owner,
            &body(
                "Watercolour pet portraits",
                &[],
                "Your pet, painted by hand.",
            ),
        )
        .await,
    );
    app.rate_gig(in_title_rated, 5, 1).await;
    assert_eq!(
        app.browse_ids("q=watercolours").await,
        vec![in_title_rated, in_title, in_tag, in_description]
    );
    // Under a sort by a key every word must be in the title or a tag: a word only in the
    // description does not make a gig about it.
    assert_eq!(
        app.browse_ids("q=watercolour&sort=newest").await,
        vec![in_title_rated, in_title, in_tag]
    );
}

#[tokio::test]
async fn keywords_ignore_case_accents_and_plurals_and_must_all_match() {
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    let mut cafe = gig_body("Café Crème branding kits");
    cafe["tags"] = json!(["Menus", "signage"]);
    cafe["description"] = json!("Logos, menus and storefront lettering for coffee shops.");
    let cafe = gig_id(&app.create_gig(&owner, &cafe).await);
    let mut vintage = gig_body("Vintage logo badges");
    vintage["tags"] = json!(["retro"]);
    let vintage = gig_id(&app.create_gig(&owner, &vintage).await);
    for q in [
        "cafe",
        "CAF%C3%89",
        "Cafes",
        "creme",
        "cr%C3%A8mes",
        "kit",
        "BRANDING",
        // Snowball keeps `-us` plurals whole (`menus`), so `menu` is not asked here; `letter`
        // meets `lettering`.
        "menus",
        "letter",
        "coffee%20shops",
        "Cafe%20logo",
        "storefront",
    ] {
        // The exact word ranks first; a word one typo away (`cafes` and the fixture
        // description's `care`ful) may follow it, never lead.
        let found = app.browse_ids(&format!("q={q}")).await;
        assert_eq!(found.first(), Some(&cafe), "q={q}: {found:?}");
        if q.chars().count() < 5 {
            assert_eq!(
                found,
                vec![cafe],
                "q={q}: no typo allowance under 5 characters"
            );
        }
    }
    let mut both = app.browse_ids("q=logos").await;
    both.sort();
    let mut expected = vec![cafe, vintage];
    expected.sort();
    assert_eq!(both, expected);
    assert_eq!(app.browse_ids("q=vintage%20logos").await, vec![vintage]);
    assert_eq!(app.browse_ids("q=logo+vintage").await, vec![vintage]);
    assert!(app.browse_ids("q=vintage%20coffee").await.is_empty());
    assert!(app.browse_ids("q=plumbing").await.is_empty());
}

#[tokio::test]
async fn paging_returns_the_exact_set_without_duplicates_or_gaps() {
    // More gigs from one owner than a day's quota allows a person.
    let app = TestApp::with_config(|config| {
        config.gig_auto_approve = true;
        config.quotas.gigs_created_per_day = 100;
    })
    .await;
    let owner = app.register_freelancer().await;
    let mut all = Vec::new();
    let mut fast = Vec::new();
    for index in 0..25u64 {
        // Five gigs share each price, so ties must be broken the same way on every page.
        let price = 1_000 * (index % 5 + 1);
        let days = if index % 3 == 0 { 2 } else { 20 };
        let body = priced_gig(&format!("Paging sample gig number {index}"), price, days);
        let id = gig_id(&app.create_gig(&owner, &body).await);
        all.push((id, price));
        if days == 2 {
            fast.push(id);
        }
    }
    let expect_set = |got: &[Uuid], want: &[Uuid]| {
        let got: HashSet<&Uuid> = got.iter().collect();
        let want: HashSet<&Uuid> = want.iter().collect();
        assert_eq!(got, want);
    };
    let every: Vec<Uuid> = all.iter().map(|(id, _)| *id).collect();

    // Plain browse, newest first: 25 gigs in pages of 7.
    let (ids, pages) = app.collect_pages("/gigs?limit=7", None).await;
    assert_eq!(pages, 4);
    let newest_first: Vec<Uuid> = every.iter().rev().copied().collect();
    assert_eq!(ids, newest_first);

    // Price order with ties, through a keyword partition.
    let (ids, pages) = app
        .collect_pages("/gigs?limit=4&q=paging&sort=price_asc", None)
        .await;
    assert_eq!(pages, 7);
    expect_set(&ids, &every);
    let price_of = |id: &Uuid| all.iter().find(|(other, _)| other == id).unwrap().1;
    let prices: Vec<u64> = ids.iter().map(price_of).collect();
    assert!(prices.is_sorted(), "{prices:?}");

    // A price range (key condition) over several pages.
    let (ids, pages) = app
        .collect_pages(
            "/gigs?limit=3&min_price=2000&max_price=3000&sort=price_desc",
            None,
        )
        .await;
    assert_eq!(ids.len(), 10);
    assert!(pages >= 4);
    assert!(ids.iter().map(price_of).is_sorted_by(|a, b| a >= b));

    // A sparse filter (one gig in three): pages are read ahead and never skip or repeat.
    let (ids, pages) = app
        .collect_pages("/gigs?limit=2&max_delivery_days=5&sort=newest", None)
        .await;
    assert!(pages > 3, "{pages}");
    let fast_newest_first: Vec<Uuid> = fast.iter().rev().copied().collect();
    assert_eq!(ids, fast_newest_first);

    // Same again through a keyword partition with filters.
    let (ids, _) = app
        .collect_pages(
            "/gigs?limit=2&q=sample%20gig&max_delivery_days=5&max_price=4000",
            None,
        )
        .await;
    let want: Vec<Uuid> = fast
        .iter()
        .copied()
        .filter(|id| price_of(id) <= 4_000)
        .collect();
    expect_set(&ids, &want);
}

#[tokio::test]
async fn cursors_belong_to_their_query_and_bad_parameters_are_named() {
    let app = TestApp::with_config(|config| config.gig_auto_approve = true).await;
    let owner = app.register_freelancer().await;
    for index in 0..3 {
        app.create_gig(&owner, &gig_body(&format!("Cursor test gig {index}")))
            .await;
    }
    let first = app.get("/gigs?limit=1&q=cursor", None).await;
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let elsewhere = app
        .get(&format!("/gigs?limit=1&q=test&cursor={cursor}"), None)
        .await;
    assert_eq!(elsewhere.status, 400);
    assert_eq!(elsewhere.error_fields(), vec!["cursor"]);
    let other_sort = app
        .get(
            &format!("/gigs?limit=1&q=cursor&sort=newest&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(other_sort.error_fields(), vec!["cursor"]);
    let forged = app.get("/gigs?cursor=eyJzIjoiIn0.AAAA", None).await;
    assert_eq!(forged.error_fields(), vec!["cursor"]);
    // A different limit with the same query is fine.
    let next = app
        .get(&format!("/gigs?limit=5&q=cursor&cursor={cursor}"), None)
        .await;
    assert_eq!(next.status, 200);
    assert_eq!(next.body["items"].as_array().unwrap().len(), 2);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("sort=cheapest", "sort"),
        ("min_price=abc", "min_price"),
        ("min_price=-1", "min_price"),
        ("min_price=10&max_price=5", "min_price"),
        ("min_rating=6", "min_rating"),
        ("max_delivery_days=0", "max_delivery_days"),
        ("category=cooking", "category"),
        ("subcategory=seo&category=music-audio", "subcategory"),
        ("q=the", "q"),
        ("q=one%20two%20three%20four%20five%20six", "q"),
        ("colour=red", "colour"),
    ] {
        let response = app.get(&format!("/gigs?{query}"), None).await;
        assert_eq!(response.status, 400, "{query}: {response:?}");
        assert_eq!(response.problem(), "validation-error");
        assert_eq!(response.error_fields(), vec![field], "{query}");
    }
}

#[tokio::test]
async fn hidden_gigs_never_appear_in_any_listing() {
    let app = TestApp::new().await;
    let admin = app.create_admin().await;
    let owner = app.register_freelancer().await;
    let blocked = app.register_freelancer().await;
    let token = |session: &Session| Some(session.access_token.clone());
    let body = |name: &str| {
        let mut body = gig_body(&format!("Hidden check gig {name}"));
        body["tags"] = json!(["visibility"]);
        body
    };
    let visible = app
        .create_approved_gig(&owner, &admin, &body("visible"))
        .await;
    app.create_gig(&owner, &body("pending")).await;
    let paused = app
        .create_approved_gig(&owner, &admin, &body("paused"))
        .await;
    app.post(
        &format!("/gigs/{paused}/pause"),
        &json!({}),
        token(&owner).as_deref(),
    )
    .await;
    let archived = app
        .create_approved_gig(&owner, &admin, &body("archived"))
        .await;
    app.delete(&format!("/gigs/{archived}"), token(&owner).as_deref())
        .await;
    let removed = app
        .create_approved_gig(&owner, &admin, &body("removed"))
        .await;
    let taken_down = app
        .moderate(&admin, removed, "remove", None, Some("Misleading claims"))
        .await;
    assert_eq!(taken_down.body["status"], "removed");
    let blocked_gig = app
        .create_approved_gig(&blocked, &admin, &body("blocked"))
        .await;
    app.set_user_status(blocked.id, UserStatus::Blocked).await;
    // The blocked owner's gig stays blocked-hidden even when an admin touches it again.
    let reapprove = app.approve_gig(&admin, blocked_gig).await;
    assert_eq!(reapprove.status, 409, "it is still active, just unlisted");

    for query in [
        "",
        "q=hidden",
        "q=visibility",
        "q=hidden%20check",
        "category=graphics-design",
        "subcategory=logo-design",
        "sort=price_asc",
        "sort=price_desc",
        "sort=rating",
        "sort=relevance",
        "q=gig&sort=newest",
        "max_price=1000000",
    ] {
        assert_eq!(
            app.browse_ids(query).await,
            vec![visible],
            "GET /gigs?{query}"
        );
    }
    for freelancer in [&owner, &blocked] {
        let public = app
            .collect_pages(&format!("/users/{}/gigs?limit=10", freelancer.id), None)
            .await
            .0;
        let expected = if freelancer.id == owner.id {
            vec![visible]
        } else {
            vec![]
        };
        assert_eq!(public, expected);
    }
    let (mine, _) = app
        .collect_pages("/me/gigs?limit=10", token(&owner).as_deref())
        .await;
    assert_eq!(mine.len(), 5, "owners still see all of their gigs");
}

#[tokio::test]
async fn sparse_matches_behind_many_non_matching_gigs_are_found_across_reads() {
    // More gigs from one owner than a day's quota allows a person.
    let app = TestApp::with_config(|config| {
        config.gig_auto_approve = true;
        config.quotas.gigs_created_per_day = 100;
    })
    .await;
    let owner = app.register_freelancer().await;
    let mut matching = Vec::new();
    // The two oldest gigs deliver in a day; the 30 newer ones, which newest-first reads see
    // first, do not. A page must read past them (several Queries) and not stop empty-handed.
    for index in 0..32 {
        let days = if index < 2 { 1 } else { 9 };
        let body = priced_gig(&format!("Sparse filter gig {index}"), 1_000, days);
        let id = gig_id(&app.create_gig(&owner, &body).await);
        if days == 1 {
            matching.push(id);
        }
    }
    matching.reverse();
    let first = app
        .get("/gigs?limit=1&max_delivery_days=1&sort=newest", None)
        .await;
    assert_eq!(
        first.body["items"].as_array().unwrap().len(),
        1,
        "{first:?}"
    );
    let (ids, _) = app
        .collect_pages("/gigs?limit=1&max_delivery_days=1&sort=newest", None)
        .await;
    assert_eq!(ids, matching);
    let (ids, _) = app
        .collect_pages(
            "/gigs?limit=1&q=sparse&max_delivery_days=1&sort=rating",
            None,
        )
        .await;
    let got: HashSet<Uuid> = ids.into_iter().collect();
    assert_eq!(got, matching.into_iter().collect());
}
