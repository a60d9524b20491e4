//! The index's behaviour on a real tantivy index in memory: ranking, typos, filters, sorts,
//! facets, replaces and paging. Gigs go through the domain's own validation.

use gigmarket_shared::domain::gig::{Gig, GigDraft, GigStatus, PackageDraft, Tier};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Cursor, GigIndex, PRICE_BANDS, SearchRequest, Sort};

/// A listed gig with one package.
struct Listing {
    title: &'static str,
    tags: &'static [&'static str],
    description: &'static str,
    category: &'static str,
    subcategory: &'static str,
    price_cents: u64,
    delivery_days: u32,
}

const DESCRIPTION: &str = "Careful work with revisions and clear communication throughout.";

fn listing(title: &'static str) -> Listing {
    Listing {
        title,
        tags: &[],
        description: DESCRIPTION,
        category: "graphics-design",
        subcategory: "logo-design",
        price_cents: 5_000,
        delivery_days: 5,
    }
}

fn gig(listing: &Listing) -> Gig {
    let content = GigDraft {
        title: listing.title.to_owned(),
        description: listing.description.to_owned(),
        category: listing.category.to_owned(),
        subcategory: Some(listing.subcategory.to_owned()),
        tags: listing.tags.iter().map(|tag| (*tag).to_owned()).collect(),
        packages: vec![PackageDraft {
            tier: Tier::Basic,
            name: "Basic".to_owned(),
            description: "What this package includes".to_owned(),
            price_cents: listing.price_cents,
            currency: "EUR".to_owned(),
            delivery_days: listing.delivery_days,
            revisions: 1,
            unlimited_revisions: false,
            features: vec![],
        }],
    }
    .validate()
    .expect("a valid gig");
    Gig::new(
        Uuid::new_v4(),
        content,
        GigStatus::Active,
        OffsetDateTime::now_utc(),
    )
}

fn index_of(gigs: &[Gig]) -> GigIndex {
    let mut index = GigIndex::in_ram().expect("index");
    for gig in gigs {
        index.replace(gig).expect("replace");
    }
    index.commit().expect("commit");
    index
}

/// The first page (20) of `q`, whole.
fn first_page(index: &GigIndex, q: &str) -> crate::SearchPage {
    index
        .search(&SearchRequest {
            q: q.to_owned(),
            limit: 20,
            ..SearchRequest::default()
        })
        .expect("search")
}

fn search(index: &GigIndex, q: &str) -> Vec<Uuid> {
    first_page(index, q).gig_ids
}

#[test]
fn a_title_match_ranks_above_tags_and_tags_above_description() {
    let in_description = gig(&Listing {
        description: "We also draw a logo for the menu, carefully and on time.",
        ..listing("Restaurant menu layout")
    });
    let in_tags = gig(&Listing {
        tags: &["logo"],
        ..listing("Brand sheet for startups")
    });
    let in_title = gig(&listing("Minimalist logo for your shop"));
    let unrelated = gig(&listing("Podcast editing and mixing"));
    let index = index_of(&[
        in_description.clone(),
        in_tags.clone(),
        in_title.clone(),
        unrelated,
    ]);
    assert_eq!(
        search(&index, "logos"),
        vec![in_title.id, in_tags.id, in_description.id]
    );
}

#[test]
fn every_word_must_match_and_more_matches_rank_higher() {
    let both = gig(&listing("Modern logo design for startups"));
    let logo_only = gig(&listing("Logo animation for intros"));
    let design_only = gig(&listing("Website design in Figma"));
    let index = index_of(&[logo_only, design_only, both.clone()]);
    assert_eq!(search(&index, "logo design"), vec![both.id]);
}

#[test]
fn a_misspelled_word_still_finds_its_gigs_with_exact_spellings_first() {
    let illustration = gig(&listing("Children's book illustration"));
    let mascot = gig(&listing("Mascot illustrations in watercolour"));
    let other = gig(&listing("Podcast editing and mixing"));
    let index = index_of(&[illustration.clone(), mascot.clone(), other]);
    // One edit in a word of 5-8 characters, two from 9.
    let mut found = search(&index, "ilustration");
    found.sort();
    let mut expected = vec![illustration.id, mascot.id];
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(
        search(&index, "ilustrtion").len(),
        2,
        "two edits at 10 characters"
    );
    assert!(search(&index, "podcst").contains(&search(&index, "podcast")[0]));
    // A typo that keeps a suffix the stemmer would strip still meets the word.
    let optimization = gig(&listing("Website speed optimization"));
    let index_of_speed = index_of(std::slice::from_ref(&optimization));
    assert_eq!(
        search(&index_of_speed, "optimizzation"),
        vec![optimization.id]
    );
    // Four characters get no edit: `lgoo` is not `logo` as typed; the page is its correction's.
    let logo = gig(&listing("Minimalist logo for your shop"));
    let index = index_of(std::slice::from_ref(&logo));
    let page = first_page(&index, "lgoo");
    assert_eq!(page.corrected_query.as_deref(), Some("logo"));
    assert_eq!(page.gig_ids, vec![logo.id]);
    // The last word also matches as a prefix (the user may still be typing).
    assert_eq!(search(&index, "minimalist log"), vec![logo.id]);
    // An exact spelling ranks above a typo match of another word.
    let design = gig(&listing("Poster design for concerts"));
    let resign = gig(&listing("Poster resign letters for concerts"));
    let index = index_of(&[resign.clone(), design.clone()]);
    assert_eq!(search(&index, "poster design"), vec![design.id, resign.id]);
}

#[test]
fn did_you_mean_offers_a_corrected_query_with_more_results() {
    let logo = gig(&listing("Minimalist logo for your shop"));
    let other = gig(&listing("Logo animation for intros"));
    let index = index_of(&[logo, other]);
    // Four characters have no typo allowance: nothing matches as typed, so the page is the
    // correction's, and says so.
    let page = first_page(&index, "lgoo");
    assert_eq!(page.total, 2);
    assert_eq!(page.corrected_query.as_deref(), Some("logo"));
    assert_eq!(page.did_you_mean, None);
    // A word nothing is close to: no correction, an empty page.
    let nothing = first_page(&index, "zzzq");
    assert_eq!((nothing.total, nothing.corrected_query), (0, None));
    let found = first_page(&index, "logo");
    assert_eq!(found.total, 2);
    assert_eq!(
        found.did_you_mean, None,
        "no suggestion for a query with results"
    );
    assert_eq!(found.corrected_query, None);
}

#[test]
fn filters_narrow_by_category_subcategory_price_delivery_and_rating() {
    let cheap_fast = gig(&Listing {
        price_cents: 2_000,
        delivery_days: 1,
        ..listing("Quick logo sketch for startups")
    });
    let dear_slow = gig(&Listing {
        price_cents: 40_000,
        delivery_days: 14,
        ..listing("Full logo system for brands")
    });
    let code = gig(&Listing {
        category: "programming-tech",
        subcategory: "backend",
        ..listing("Logo generator API in Rust")
    });
    let mut rated = gig(&listing("Rated logo design for shops"));
    rated.rating_count = 4;
    rated.rating_sum = 19;
    let index = index_of(&[
        cheap_fast.clone(),
        dear_slow.clone(),
        code.clone(),
        rated.clone(),
    ]);
    let found = |request: SearchRequest| {
        let mut ids = index
            .search(&SearchRequest {
                q: "logo".to_owned(),
                limit: 20,
                ..request
            })
            .expect("search")
            .gig_ids;
        ids.sort();
        ids
    };
    let sorted = |mut ids: Vec<Uuid>| {
        ids.sort();
        ids
    };
    assert_eq!(
        found(SearchRequest {
            category: Some("programming-tech".to_owned()),
            ..SearchRequest::default()
        }),
        vec![code.id]
    );
    assert_eq!(
        found(SearchRequest {
            subcategory: Some("logo-design".to_owned()),
            ..SearchRequest::default()
        }),
        sorted(vec![cheap_fast.id, dear_slow.id, rated.id])
    );
    assert_eq!(
        found(SearchRequest {
            min_price: Some(2_001),
            max_price: Some(40_000),
            ..SearchRequest::default()
        }),
        sorted(vec![dear_slow.id, code.id, rated.id])
    );
    assert_eq!(
        found(SearchRequest {
            max_delivery_days: Some(1),
            ..SearchRequest::default()
        }),
        vec![cheap_fast.id]
    );
    assert_eq!(
        found(SearchRequest {
            min_rating_centi: Some(475),
            ..SearchRequest::default()
        }),
        vec![rated.id]
    );
    assert!(
        found(SearchRequest {
            category: Some("no-such-category".to_owned()),
            ..SearchRequest::default()
        })
        .is_empty()
    );
}

#[test]
fn each_sort_orders_by_its_key() {
    let now = OffsetDateTime::now_utc();
    let mut gigs: Vec<Gig> = [
        (3_000, 3, 12, 400, 30),
        (9_000, 1, 40, 480, 10),
        (1_500, 2, 5, 300, 20),
    ]
    .into_iter()
    .map(|(price, age_days, orders, rating, count)| {
        let mut gig = gig(&Listing {
            price_cents: price,
            ..listing("Vector logo design for shops")
        });
        gig.created_at = now - time::Duration::days(age_days);
        gig.order_count = orders;
        gig.rating_count = count;
        gig.rating_sum = rating * count / 100;
        gig
    })
    .collect();
    // A gig the words match only in its description: relevance puts it last, and a sort by a
    // key leaves it out (it is the cheapest, so a price sort would otherwise show it first).
    let mut weak = gig(&Listing {
        description: "A logo design with vector files, delivered on time.",
        price_cents: 1_000,
        ..listing("Brand sheet for shops")
    });
    weak.created_at = now - time::Duration::days(10);
    gigs.push(weak.clone());
    // The words in its tags: in every sort, below the title matches by relevance.
    let mut tagged = gig(&Listing {
        tags: &["logo", "design"],
        price_cents: 2_000,
        ..listing("Brand kit for shops")
    });
    tagged.created_at = now - time::Duration::days(5);
    gigs.push(tagged);
    let index = index_of(&gigs);
    let order = |sort: Sort| {
        index
            .search(&SearchRequest {
                q: "logo design".to_owned(),
                sort,
                limit: 20,
                ..SearchRequest::default()
            })
            .expect("search")
            .gig_ids
    };
    let ids = |places: &[usize]| {
        places
            .iter()
            .map(|place| gigs[*place].id)
            .collect::<Vec<_>>()
    };
    assert_eq!(order(Sort::PriceAsc), ids(&[2, 4, 0, 1]));
    assert_eq!(order(Sort::PriceDesc), ids(&[1, 0, 4, 2]));
    assert_eq!(order(Sort::Newest), ids(&[1, 2, 0, 4]));
    assert_eq!(order(Sort::BestSelling), ids(&[1, 0, 2, 4]));
    // Rating: 4.80 (10), 4.00 (30), 3.00 (20), unrated.
    assert_eq!(order(Sort::Rating), ids(&[1, 0, 2, 4]));
    // Relevance: the three title matches score alike and break the tie by rating; then the
    // tags, then the description.
    assert_eq!(order(Sort::Relevance), ids(&[1, 0, 2, 4, 3]));
}

#[test]
fn facets_count_per_category_and_price_band_of_the_current_query() {
    let gigs = [
        gig(&Listing {
            price_cents: 1_000,
            ..listing("Logo design for cafes")
        }),
        gig(&Listing {
            price_cents: 1_200,
            ..listing("Logo design for gyms")
        }),
        gig(&Listing {
            price_cents: 30_000,
            category: "programming-tech",
            subcategory: "backend",
            ..listing("Logo upload API in Rust")
        }),
        gig(&Listing {
            price_cents: 30_000,
            category: "programming-tech",
            subcategory: "backend",
            ..listing("Payments API in Rust")
        }),
    ];
    let index = index_of(&gigs);
    let page = index
        .search(&SearchRequest {
            q: "logo".to_owned(),
            category: Some("graphics-design".to_owned()),
            limit: 20,
            ..SearchRequest::default()
        })
        .expect("search");
    assert_eq!(page.total, 2);
    // The category facet ignores the category filter, so the other category can be offered.
    let categories: Vec<(&str, u64)> = page
        .facets
        .categories
        .iter()
        .map(|count| (count.category, count.count))
        .collect();
    assert_eq!(
        categories,
        vec![("graphics-design", 2), ("programming-tech", 1)]
    );
    let bands: Vec<u64> = page.facets.price_bands.iter().map(|b| b.count).collect();
    assert_eq!(bands.len(), PRICE_BANDS.len());
    assert_eq!(bands, vec![2, 0, 0, 0, 0]);
    // The price facet ignores the price filter.
    let priced = index
        .search(&SearchRequest {
            q: "rust".to_owned(),
            max_price: Some(1_000),
            limit: 20,
            ..SearchRequest::default()
        })
        .expect("search");
    assert_eq!(priced.total, 0);
    let bands: Vec<u64> = priced.facets.price_bands.iter().map(|b| b.count).collect();
    assert_eq!(bands, vec![0, 0, 0, 0, 2]);
}

#[test]
fn replacing_a_gig_is_idempotent_and_takes_its_latest_state() {
    let original = gig(&listing("Minimalist logo for your shop"));
    let mut index = index_of(std::slice::from_ref(&original));
    // The same hint twice, then an older one after the newer: the writer re-reads the gig, so
    // each carries the gig as it is now.
    let mut edited = original.clone();
    edited.title = "Watercolour mascot for your shop".to_owned();
    for _ in 0..2 {
        index.replace(&edited).expect("replace");
        index.commit().expect("commit");
    }
    index.replace(&edited).expect("replace");
    index.replace(&edited).expect("replace");
    index.commit().expect("commit");
    assert_eq!(index.len(), 1);
    assert!(search(&index, "logo").is_empty());
    assert_eq!(search(&index, "mascot"), vec![original.id]);
    // Paused: gone from search; resumed: back, once.
    let mut paused = edited.clone();
    paused.status = GigStatus::Paused;
    index.replace(&paused).expect("replace");
    index.commit().expect("commit");
    assert!(search(&index, "mascot").is_empty());
    index.replace(&edited).expect("replace");
    index.replace(&edited).expect("replace");
    index.commit().expect("commit");
    assert_eq!(search(&index, "mascot"), vec![original.id]);
    // Deleted (no longer in the table): gone; deleting again is a no-op.
    index.delete(original.id).expect("deleted");
    index.delete(original.id).expect("deleted");
    index.commit().expect("commit");
    assert!(index.is_empty());
}

#[test]
fn pages_are_full_until_the_results_run_out_and_cursors_carry_the_version() {
    let gigs: Vec<Gig> = (0..23)
        .map(|place| {
            gig(&Listing {
                price_cents: 1_000 + place * 100,
                ..listing("Vector logo design for shops")
            })
        })
        .collect();
    // Gigs the filter drops, between the matching ones.
    let mut all = gigs.clone();
    for _ in 0..10 {
        all.push(gig(&Listing {
            price_cents: 90_000,
            ..listing("Vector logo design for shops")
        }));
    }
    let mut index = index_of(&all);
    let request = SearchRequest {
        q: "logo".to_owned(),
        max_price: Some(50_000),
        sort: Sort::PriceAsc,
        limit: 10,
        ..SearchRequest::default()
    };
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor = None;
    loop {
        let page = index
            .search(&SearchRequest {
                cursor,
                ..request.clone()
            })
            .expect("search");
        assert_eq!(page.total, 23);
        sizes.push(page.gig_ids.len());
        seen.extend(page.gig_ids);
        match page.next_cursor {
            Some(next) => {
                assert_eq!(next.version, index.version());
                // The cursor round-trips through its opaque form.
                cursor = Some(Cursor::decode(&next.encode()).expect("cursor"));
            }
            None => break,
        }
    }
    assert_eq!(sizes, vec![10, 10, 3]);
    assert_eq!(seen, gigs.iter().map(|gig| gig.id).collect::<Vec<_>>());

    // A cursor from an older version still answers: the next page of the current version.
    let first = index.search(&request).expect("search");
    let old_cursor = first.next_cursor.expect("a second page");
    let cheapest = gig(&Listing {
        price_cents: 500,
        ..listing("Vector logo design for shops")
    });
    index.replace(&cheapest).expect("replace");
    let version = index.commit().expect("commit");
    assert!(version > old_cursor.version);
    let second = index
        .search(&SearchRequest {
            cursor: Some(old_cursor),
            ..request.clone()
        })
        .expect("search");
    assert_eq!(second.version, version);
    assert_eq!(second.gig_ids.len(), 10);
    // Everything moved one place: the page starts with the last gig of the old first page.
    assert_eq!(second.gig_ids[0], gigs[9].id);
    assert!(Cursor::decode("not a cursor").is_err());
}

/// A reader's copy of a published version: the files `files` names, taken from `index`.
fn copy_of(index: &GigIndex) -> GigIndex {
    let files = index.files().expect("files");
    GigIndex::from_files(&files, |name| index.file(name).ok()).expect("loaded")
}

#[test]
fn a_version_loaded_from_its_files_searches_alike_and_later_versions_share_files() {
    let logo = gig(&listing("Minimalist logo for your shop"));
    let mascot = gig(&listing("Cartoon mascot for your team"));
    let mut index = index_of(&[logo.clone(), mascot.clone()]);
    let first = index.files().expect("files");
    assert!(!first.files.is_empty(), "{first:?}");
    let copy = copy_of(&index);
    assert_eq!(copy.version(), index.version());
    assert_eq!(search(&copy, "logo"), vec![logo.id]);
    assert_eq!(search(&copy, "mascot"), vec![mascot.id]);

    // A pause adds a deletes file and a new (empty-able) segment; the first segment's files stay.
    let mut paused = logo.clone();
    paused.status = GigStatus::Paused;
    index.replace(&paused).expect("replace");
    let icon = gig(&listing("Flat icon set for apps"));
    index.replace(&icon).expect("replace");
    index.commit().expect("commit");
    let second = index.files().expect("files");
    assert!(second.version > first.version);
    let kept: Vec<&String> = first
        .files
        .iter()
        .filter(|name| second.files.contains(name))
        .collect();
    assert!(!kept.is_empty(), "{first:?} {second:?}");
    assert!(second.files.len() > kept.len(), "{second:?}");
    let copy = copy_of(&index);
    assert!(search(&copy, "logo").is_empty());
    assert_eq!(search(&copy, "icon"), vec![icon.id]);
    assert_eq!(search(&copy, "mascot"), vec![mascot.id]);
}

#[test]
fn commits_past_the_segment_limit_merge_into_one_segment() {
    let mut index = GigIndex::in_ram().expect("index");
    let mut gigs = Vec::new();
    for place in 0..12 {
        let listed = gig(&listing(
            [
                "Minimalist logo design",
                "Flat icon set for apps",
                "Cartoon mascot for teams",
            ][place % 3],
        ));
        index.replace(&listed).expect("replace");
        index.commit().expect("commit");
        gigs.push(listed);
    }
    let files = index.files().expect("files");
    let segments: std::collections::BTreeSet<&str> = files
        .files
        .iter()
        .map(|name| name.split('.').next().unwrap())
        .collect();
    assert!(segments.len() <= 8, "{files:?}");
    let copy = copy_of(&index);
    assert_eq!(copy.len(), 12);
    assert_eq!(search(&copy, "mascot").len(), 4);
}

#[test]
fn a_version_with_a_file_missing_is_refused_whole() {
    let index = index_of(&[gig(&listing("Minimalist logo for your shop"))]);
    let files = index.files().expect("files");
    let missing = files.files[0].clone();
    let refused = GigIndex::from_files(&files, |name| {
        (name != missing).then(|| index.file(name).expect("a file"))
    });
    assert!(
        matches!(refused, Err(crate::SearchError::MissingFile(ref name)) if *name == missing),
        "{:?}",
        refused.err()
    );
}
