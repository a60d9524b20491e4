//! Browse and search.
