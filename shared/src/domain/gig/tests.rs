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
        revisions: Revisions::Limited(1),
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
