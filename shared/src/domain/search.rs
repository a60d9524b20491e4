//! Keyword search terms: how gig text and queries become index terms.
//!
//! Both sides go through the same `normalize_words`: NFD-decompose, drop combining marks (so
//! `Café` and `cafe` meet), lowercase, split on anything that is not a letter or digit, drop stop
//! words and one-letter words, then stem each word once with Snowball English so `logos`/`logo`,
//! `stories`/`story` and `designer`/`designing`/`design` become one term each (see `stem`). The
//! search index (`gigmarket-search`) tokenises gigs and queries with it.

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Words considered in a query; more is a 400, not a silent truncation.
pub const MAX_QUERY_TERMS: usize = 5;
/// Longer "words" are noise (hashes, URLs) and would only bloat keys.
pub const MAX_TERM_CHARS: usize = 32;

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "i", "in", "into", "is", "it",
    "me", "my", "of", "on", "or", "our", "that", "the", "this", "to", "we", "will", "with", "you",
    "your",
];

/// The normalised, stemmed words of `text`, in order, duplicates kept.
pub fn normalize_words(text: &str) -> Vec<String> {
    fold_words(text).iter().map(|word| stem(word)).collect()
}

/// The words of `text` as `normalize_words` sees them before stemming: folded, split, stop words
/// and one-letter words dropped. Spelling suggestions ("did you mean") offer these, since a stem
/// need not be a word.
pub fn fold_words(text: &str) -> Vec<String> {
    let folded: String = text
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| word.chars().count() >= 2 && word.chars().count() <= MAX_TERM_CHARS)
        .filter(|word| !STOP_WORDS.contains(word))
        .map(str::to_owned)
        .collect()
}

/// Snowball English (Porter2), the kept stemmer: plurals and common suffixes meet their stem
/// (`logos`/`logo`, `stories`/`story`, `designing`/`design`), short words stay whole (`three`).
/// Applied exactly once, to index terms and query terms alike (both come from `normalize_words`),
/// so a stem need not be a word (`source` -> `sourc`) nor a fixed point of the stemmer: it only has
/// to be the same on both sides. Terms are internal, never shown. The input is already lowercased,
/// as Snowball expects.
pub fn stem(word: &str) -> String {
    Stemmer::create(Algorithm::English).stem(word).into_owned()
}

/// A query's distinct terms in order of appearance.
pub fn query_terms(q: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in normalize_words(q) {
        if !terms.contains(&word) {
            terms.push(word);
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_and_plurals() {
        assert_eq!(
            normalize_words("Café LOGOS, the Stories & boxes; naïve-Résumés!"),
            normalize_words("cafe logo story box NAIVE resume")
        );
        for (inflected, base) in [
            ("logos", "logo"),
            ("stories", "story"),
            ("movies", "movie"),
            ("matches", "match"),
            ("caches", "cache"),
            ("boxes", "box"),
            ("classes", "class"),
            ("websites", "website"),
            ("sizes", "size"),
            ("uses", "use"),
            ("keys", "key"),
            ("statuses", "status"),
            ("files", "file"),
            ("sources", "source"),
            ("designer", "design"),
            ("designing", "design"),
            ("editing", "edit"),
            ("translations", "translation"),
            ("developer", "development"),
            ("animated", "animation"),
            ("arts", "art"),
        ] {
            assert_eq!(stem(inflected), stem(base), "{inflected} / {base}");
        }
        // The hand-written stemmer this replaced over-stemmed by running twice: `three` -> `thr`,
        // `files` -> `fil`. Snowball keeps short words and strips one suffix.
        for (word, term) in [
            ("three", "three"),
            ("files", "file"),
            ("source", "sourc"),
            ("class", "class"),
            ("analysis", "analysi"),
            ("bus", "bus"),
            ("seo", "seo"),
            ("3d", "3d"),
        ] {
            assert_eq!(stem(word), term, "{word}");
        }
        // Unrelated words stay apart. (Snowball's known miss: `-us` plurals such as `menus` keep
        // their `s` and do not meet their singular; rare in gig text.)
        for (one, other) in [("logo", "log"), ("three", "thr"), ("news", "new")] {
            assert_ne!(stem(one), stem(other), "{one} / {other}");
        }
    }

    #[test]
    fn query_terms_are_distinct() {
        assert_eq!(
            query_terms("Logo logos LOGO design"),
            vec![stem("logo"), stem("design")]
        );
        assert!(query_terms("the a !!").is_empty());
    }
}
