//! The fixed category tree gigs are filed under (`GET /categories`). It lives in code because it
//! changes with releases, not at runtime: a gig's category and subcategory are validated against
//! it on create and edit, and browse filters name its ids.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Category {
    /// Stable slug used in gigs and filters.
    pub id: &'static str,
    pub name: &'static str,
    pub subcategories: &'static [Subcategory],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Subcategory {
    /// Unique across the whole tree, so a subcategory alone names its category.
    pub id: &'static str,
    pub name: &'static str,
}

const fn sub(id: &'static str, name: &'static str) -> Subcategory {
    Subcategory { id, name }
}

pub const CATEGORIES: &[Category] = &[
    Category {
        id: "graphics-design",
        name: "Graphics & Design",
        subcategories: &[
            sub("logo-design", "Logo Design"),
            sub("illustration", "Illustration"),
            sub("web-design", "Website Design"),
            sub("brand-identity", "Brand Identity"),
        ],
    },
    Category {
        id: "programming-tech",
        name: "Programming & Tech",
        subcategories: &[
            sub("web-development", "Website Development"),
            sub("mobile-apps", "Mobile Apps"),
            sub("backend", "Backend & APIs"),
            sub("devops", "DevOps & Cloud"),
            sub("data-science", "Data Science"),
        ],
    },
    Category {
        id: "writing-translation",
        name: "Writing & Translation",
        subcategories: &[
            sub("articles", "Articles & Blog Posts"),
            sub("translation", "Translation"),
            sub("proofreading", "Proofreading & Editing"),
        ],
    },
    Category {
        id: "digital-marketing",
        name: "Digital Marketing",
        subcategories: &[
            sub("seo", "Search Engine Optimization"),
            sub("social-media", "Social Media Marketing"),
            sub("email-marketing", "Email Marketing"),
        ],
    },
    Category {
        id: "video-animation",
        name: "Video & Animation",
        subcategories: &[
            sub("video-editing", "Video Editing"),
            sub("animation", "Animation"),
        ],
    },
    Category {
        id: "music-audio",
        name: "Music & Audio",
        subcategories: &[
            sub("voice-over", "Voice Over"),
            sub("mixing-mastering", "Mixing & Mastering"),
        ],
    },
];

pub fn category(id: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|category| category.id == id)
}

/// The category a subcategory belongs to (subcategory ids are unique across the tree).
pub fn parent_of(subcategory_id: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|category| {
        category
            .subcategories
            .iter()
            .any(|sub| sub.id == subcategory_id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_slugs() {
        let mut ids: Vec<&str> = CATEGORIES
            .iter()
            .flat_map(|c| std::iter::once(c.id).chain(c.subcategories.iter().map(|s| s.id)))
            .collect();
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "category and subcategory ids are unique");
        assert!(
            ids.iter()
                .all(|id| id.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        );
        assert_eq!(parent_of("seo").unwrap().id, "digital-marketing");
        assert!(category("nope").is_none());
    }
}
