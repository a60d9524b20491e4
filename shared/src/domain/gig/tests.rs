use super::*;
use crate::domain::Invalid;

fn package(tier: Tier, price_cents: u64) -> PackageDraft {
    PackageDraft {
        tier,
        name: "Package".into(),
        description: "What it includes".into(),
        price_cents,
        currency: "eur".into(),
        delivery_days: 3,
        revisions: 1,
        unlimited_revisions: false,
        features: vec![],
    }
}

fn draft(packages: Vec<PackageDraft>) -> GigDraft {
    GigDraft {
        title: "A logo for your company".into(),
        description: "Vector logo with three concepts and revisions.".into(),
        category: "graphics-design".into(),
        subcategory: Some("logo-design".into()),
        tags: vec![" Flat  Logo ".into(), "flat logo".into()],
        packages,
    }
}

fn fields(result: Result<GigContent, Invalid>) -> Vec<(String, &'static str)> {
    match result {
        Err(Invalid(errors)) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
        other => panic!("expected validation error, got {other:?}"),
    }
}

#[test]
fn valid_drafts_are_normalised_and_ordered_by_tier() {
    let content = draft(vec![package(Tier::Premium, 900), package(Tier::Basic, 100)])
        .validate()
        .unwrap();
    assert_eq!(content.tags, vec!["flat logo"]);
    let tiers: Vec<Tier> = content.packages.iter().map(|p| p.tier).collect();
    assert_eq!(tiers, vec![Tier::Basic, Tier::Premium]);
    assert_eq!(content.packages[0].currency, "EUR");
}

#[test]
fn a_higher_tier_may_not_undercut_any_lower_one() {
    assert_eq!(
        fields(
            draft(vec![
                package(Tier::Basic, 500),
                package(Tier::Standard, 400),
                package(Tier::Premium, 450),
            ])
            .validate()
        ),
        vec![
            (
                "packages[1].price_cents".to_owned(),
                "cheaper_than_lower_tier"
            ),
            (
                "packages[2].price_cents".to_owned(),
                "cheaper_than_lower_tier"
            ),
        ]
    );
    let mut other_currency = package(Tier::Standard, 600);
    other_currency.currency = "USD".into();
    assert_eq!(
        fields(draft(vec![package(Tier::Basic, 500), other_currency]).validate()),
        vec![("packages[1].currency".to_owned(), "currency_mismatch")]
    );
}

#[test]
fn every_offending_field_is_reported_in_field_order() {
    let mut bad_standard = package(Tier::Standard, 0);
    bad_standard.delivery_days = 91;
    bad_standard.revisions = 11;
    bad_standard.currency = "XYZ".into();
    let mut cheap_premium = package(Tier::Premium, 400);
    cheap_premium.currency = "usd".into();
    let mut duplicate_basic = package(Tier::Basic, 600);
    duplicate_basic.name = "  ".into();
    let mut gig = draft(vec![
        package(Tier::Basic, 500),
        bad_standard,
        cheap_premium,
        duplicate_basic,
    ]);
    gig.title = "Logo".into();
    gig.description = "   ".into();
    gig.category = "cooking".into();
    gig.tags = ["a", "b", "c", "d", "e", "f"].map(String::from).to_vec();
    let expected = [
        ("title", "too_short"),
        ("description", "required"),
        ("category", "unknown_category"),
        ("tags", "too_many"),
        ("packages", "too_many"),
        ("packages[1].price_cents", "must_be_positive"),
        ("packages[1].currency", "invalid_currency"),
        ("packages[1].delivery_days", "out_of_range"),
        ("packages[1].revisions", "out_of_range"),
        ("packages[2].currency", "currency_mismatch"),
        ("packages[3].tier", "duplicate_tier"),
        ("packages[3].name", "required"),
        ("packages[2].price_cents", "cheaper_than_lower_tier"),
    ];
    assert_eq!(
        fields(gig.validate()),
        expected.map(|(field, code)| (field.to_owned(), code))
    );
}

#[test]
fn unlimited_revisions_lift_the_count() {
    let mut unlimited = package(Tier::Basic, 100);
    unlimited.revisions = 0;
    unlimited.unlimited_revisions = true;
    let content = draft(vec![unlimited]).validate().unwrap();
    assert_eq!(content.packages[0].revisions, Revisions::Unlimited);
    let back = PackageDraft::from(&content.packages[0]);
    assert_eq!((back.revisions, back.unlimited_revisions), (0, true));
}

#[test]
fn revisions_are_two_plain_fields_on_the_wire() {
    let content = draft(vec![package(Tier::Basic, 100)]).validate().unwrap();
    let mut package = content.packages[0].clone();
    let json = serde_json::to_value(&package).unwrap();
    assert_eq!(json["revisions"], 1);
    assert_eq!(json["unlimited_revisions"], false);
    package.revisions = Revisions::Unlimited;
    let json = serde_json::to_value(&package).unwrap();
    assert_eq!(json["revisions"], 0);
    assert_eq!(json["unlimited_revisions"], true);
    assert_eq!(serde_json::from_value::<Package>(json).unwrap(), package);
    let item: serde_dynamo::Item = serde_dynamo::to_item(&package).unwrap();
    assert_eq!(
        serde_dynamo::from_item::<_, Package>(item).unwrap(),
        package
    );
}

#[test]
fn packages_stored_with_the_revisions_word_still_read() {
    let mut stored = serde_json::json!({
        "tier": "basic", "name": "Basic", "description": "One concept", "price_cents": 100,
        "currency": "EUR", "delivery_days": 3, "revisions": "unlimited", "features": []
    });
    let package: Package = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(package.revisions, Revisions::Unlimited);
    stored["revisions"] = serde_json::json!(2);
    let package: Package = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(package.revisions, Revisions::Limited(2));
    stored["revisions"] = serde_json::json!("lots");
    assert!(serde_json::from_value::<Package>(stored).is_err());
}

#[test]
fn status_moves_follow_the_lifecycle() {
    use GigStatus::*;
    assert_eq!(PendingReview.approve().unwrap(), Active);
    assert!(Active.approve().is_err());
    assert_eq!(Active.pause().unwrap(), Paused);
    assert!(Paused.pause().is_err());
    assert_eq!(Paused.resume().unwrap(), Active);
    assert!(Archived.reject().is_err());
    assert_eq!(PendingReview.reject().unwrap(), Rejected);
    assert!(
        Active.reject().is_err(),
        "a live gig is removed, not rejected"
    );
    assert_eq!(Active.remove().unwrap(), Removed);
    assert_eq!(Paused.remove().unwrap(), Removed);
    for not_live in [PendingReview, Rejected, Archived, Removed] {
        assert!(not_live.remove().is_err(), "{not_live:?}");
    }
    assert!(Removed.resume().is_err());
    assert!(Removed.after_edit(false).is_err());
    assert!(Removed.after_edit(true).is_err());
    assert_eq!(Active.after_edit(false).unwrap(), PendingReview);
    assert_eq!(Paused.after_edit(true).unwrap(), Paused);
    assert_eq!(Rejected.after_edit(true).unwrap(), Active);
    assert!(Archived.after_edit(true).is_err());
    assert_eq!(GigStatus::initial(false), PendingReview);
}

#[test]
fn if_match_names_the_current_version() {
    let content = draft(vec![package(Tier::Basic, 100)]).validate().unwrap();
    let gig = Gig::new(
        Uuid::new_v4(),
        content,
        GigStatus::Active,
        time::macros::datetime!(2026-11-25 12:00 UTC),
    );
    assert_eq!(gig.etag(), "\"1\"");
    assert!(gig.matches_if_match("\"1\""));
    assert!(gig.matches_if_match("\"7\", \"1\""));
    assert!(gig.matches_if_match("*"));
    assert!(!gig.matches_if_match("\"2\""));
    assert!(
        !gig.matches_if_match("W/\"1\""),
        "weak tags never match If-Match"
    );
    let edited = gig.edited(
        gig.content(),
        GigStatus::Active,
        time::macros::datetime!(2026-11-25 12:00 UTC),
    );
    assert_eq!(edited.version, 2);
    assert!(!edited.matches_if_match("\"1\""));
}
