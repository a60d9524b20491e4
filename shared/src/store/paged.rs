//! The one way the store reads a list: every listing (browse and search, a freelancer's gigs,
//! a user's orders, the scheduler's deadlines, an order's timeline) is a [`Listing`] — which
//! index, which partition, which sort-key range, which direction, which filters — read by
//! [`Store::page`] (one page behind a cursor) or [`Store::read_all`].
//!
//! A page is Queries of `limit + 1` items (the extra one says whether there is a next page).
//! With filters DynamoDB may drop most of what it reads, so a filtered listing reads ahead and
//! keeps going while the page is not full, up to its request cap; then the cursor resumes after
//! the last item read, so pages may come back short but never skip or repeat an item.
//!
//! Cursors are bound to their listing: a [`Position`] carries the listing's scope, a digest of
//! everything that defines it, so a cursor of another query (another partition, sort order or
//! filter) is refused with 400. Nobody above the store builds a scope.
//!
//! A new listing is a `Listing` and one call:
//!
//! ```ignore
//! pub async fn reviews_of_gig(&self, gig_id: Uuid, page: &PageRequest)
//!     -> Result<(Vec<Review>, Option<Position>), ApiError> {
//!     let listing = Listing::on(index::REVIEWS_OF_GIG, keys::reviews_of_gig(gig_id)).descending();
//!     self.page_as(&listing, page).await
//! }
//! ```

use std::collections::{BTreeMap, HashMap};

use aws_lc_rs::digest;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::keys::{Index, attr};
use super::{Item, Store, from_item, s, sdk_error};
use crate::error::ApiError;
use crate::pagination::{PageRequest, Position, invalid_cursor};

/// Filtered reads ask for at least this many items per Query, at most `MAX_READ`.
const MIN_FILTERED_READ: usize = 25;
const MAX_READ: usize = 300;

/// A sort-key condition on the listing's partition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortRange {
    /// Inclusive bounds (`BETWEEN`).
    Between(String, String),
    /// Everything at or before this key (`<=`).
    AtMost(String),
    /// Keys with this prefix (`begins_with`), for partitions shared by several entities.
    Prefix(String),
}

/// What one listing reads. Build with [`Listing::on`] (an index) or [`Listing::table`] (the
/// table's own key), then the optional parts.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    /// `None`: the table's primary key.
    index: Option<Index>,
    partition: String,
    sort: Option<SortRange>,
    ascending: bool,
    consistent: bool,
    /// Filter clauses, joined with AND; their `#name`s and `:value`s.
    filters: Vec<String>,
    names: BTreeMap<String, String>,
    values: BTreeMap<String, AttributeValue>,
    /// With filters: items read per item still missing.
    read_ahead: usize,
    /// Queries per page at most.
    request_cap: usize,
}

impl Listing {
    /// The items of `partition` on `index`, ascending by its sort key.
    pub fn on(index: Index, partition: impl Into<String>) -> Self {
        Self::new(Some(index), partition.into())
    }

    /// The items of one table partition (strongly consistent reads are possible here only).
    pub fn table(partition: impl Into<String>) -> Self {
        Self::new(None, partition.into())
    }

    fn new(index: Option<Index>, partition: String) -> Self {
        Self {
            index,
            partition,
            sort: None,
            ascending: true,
            consistent: false,
            filters: Vec::new(),
            names: BTreeMap::new(),
            values: BTreeMap::new(),
            read_ahead: 3,
            request_cap: 4,
        }
    }

    /// Newest (greatest sort key) first.
    pub fn descending(mut self) -> Self {
        self.ascending = false;
        self
    }

    pub fn sort_range(mut self, range: SortRange) -> Self {
        self.sort = Some(range);
        self
    }

    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// At most `requests` Queries per page (default 4).
    pub fn request_cap(mut self, requests: usize) -> Self {
        self.request_cap = requests.max(1);
        self
    }

    /// Keeps items whose `attribute <op> value` (`op`: `=`, `<>`, `<`, `<=`, `>`, `>=`).
    pub fn filter(mut self, attribute: &str, op: &str, value: AttributeValue) -> Self {
        let name = self.name(attribute);
        let placeholder = self.value(value);
        self.filters.push(format!("{name} {op} {placeholder}"));
        self
    }

    /// Keeps items where `attribute <op> value` does NOT hold, including those without the
    /// attribute (a comparison with a missing attribute is false).
    pub fn filter_not(mut self, attribute: &str, op: &str, value: AttributeValue) -> Self {
        let name = self.name(attribute);
        let placeholder = self.value(value);
        self.filters
            .push(format!("NOT ({name} {op} {placeholder})"));
        self
    }

    fn name(&mut self, attribute: &str) -> String {
        let name = format!("#{attribute}");
        self.names.insert(name.clone(), attribute.to_owned());
        name
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":f{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// The partition and sort key attributes of what this listing reads.
    fn key_names(&self) -> (&'static str, &'static str) {
        match self.index {
            Some(index) => (index.pk(), index.sk()),
            None => (attr::PK, attr::SK),
        }
    }

    /// The attributes of a resume position: the table key, plus the index key on an index.
    fn position_names(&self) -> Vec<&'static str> {
        let mut names = vec![attr::PK, attr::SK];
        if let Some(index) = self.index {
            names.extend([index.pk(), index.sk()]);
        }
        names
    }

    /// A digest of everything that decides which items this listing returns in which order:
    /// the one place a cursor's scope comes from.
    pub fn scope(&self) -> String {
        let mut canonical = format!(
            "{}|{}|{:?}|{}|{}",
            self.index.map_or("table", Index::name),
            self.partition,
            self.sort,
            self.ascending,
            self.filters.join(" AND "),
        );
        for (name, attribute) in &self.names {
            canonical.push_str(&format!("|{name}={attribute}"));
        }
        for (placeholder, value) in &self.values {
            canonical.push_str(&format!("|{placeholder}={}", canonical_value(value)));
        }
        let digest = digest::digest(&digest::SHA256, canonical.as_bytes());
        URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
    }

    fn position_of(&self, item: &Item) -> Value {
        let key = self
            .position_names()
            .into_iter()
            .filter_map(|name| match item.get(name) {
                Some(AttributeValue::S(value)) => {
                    Some((name.to_owned(), Value::String(value.clone())))
                }
                _ => None,
            })
            .collect();
        Value::Object(key)
    }

    /// The `ExclusiveStartKey` of a position, if it is one of this listing's.
    fn start_key(&self, position: &Position) -> Result<Item, ApiError> {
        if position.scope != self.scope() {
            return Err(invalid_cursor());
        }
        let object = position.key.as_object().ok_or_else(invalid_cursor)?;
        let names = self.position_names();
        if object.len() != names.len() {
            return Err(invalid_cursor());
        }
        let mut key = Item::new();
        for name in names {
            let value = object
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(invalid_cursor)?;
            key.insert(name.to_owned(), s(value));
        }
        if key.get(self.key_names().0) != Some(&s(&self.partition)) {
            return Err(invalid_cursor());
        }
        Ok(key)
    }
}

/// A stable text for a filter value (the scope must not depend on the SDK's `Debug`).
fn canonical_value(value: &AttributeValue) -> String {
    match value {
        AttributeValue::S(text) => format!("S:{text}"),
        AttributeValue::N(number) => format!("N:{number}"),
        AttributeValue::Bool(flag) => format!("B:{flag}"),
        AttributeValue::Ss(set) => format!("SS:{}", set.join("\u{1f}")),
        other => format!("{other:?}"),
    }
}

impl Store {
    /// One page of `listing`, resuming after `page.after`; with the position to resume from when
    /// there may be more.
    pub(crate) async fn page(
        &self,
        listing: &Listing,
        page: &PageRequest,
    ) -> Result<(Vec<Item>, Option<Position>), ApiError> {
        let start = page
            .after
            .as_ref()
            .map(|position| listing.start_key(position))
            .transpose()?;
        let (items, next) = self.query(listing, page.limit as usize, start).await?;
        let next = next.map(|key| Position {
            scope: listing.scope(),
            key,
        });
        Ok((items, next))
    }

    /// [`Store::page`], each item decoded into the domain type stored there.
    pub(crate) async fn page_as<T: DeserializeOwned>(
        &self,
        listing: &Listing,
        page: &PageRequest,
    ) -> Result<(Vec<T>, Option<Position>), ApiError> {
        let (items, next) = self.page(listing, page).await?;
        let values = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((values, next))
    }

    /// Every item of `listing`, up to `max_items`, in its order (no cursor: for the store's
    /// own loops, the scheduler and an order's timeline).
    pub(crate) async fn read_all(
        &self,
        listing: &Listing,
        max_items: usize,
    ) -> Result<Vec<Item>, ApiError> {
        const CHUNK: usize = 100;
        let mut all = Vec::new();
        let mut start = None;
        while all.len() < max_items {
            let (items, next) = self
                .query(listing, (max_items - all.len()).min(CHUNK), start.take())
                .await?;
            all.extend(items);
            match next {
                Some(position) => start = Some(self.position_key(listing, &position)?),
                None => break,
            }
        }
        Ok(all)
    }

    /// What a sparse deadline list (`partition` of `index`, sort keys from
    /// `keys::deadline_sort`) holds due at or before `by`, oldest first, at most `limit`. The
    /// index is eventually consistent: callers re-check each item in their write's condition.
    pub(crate) async fn due<T: DeserializeOwned>(
        &self,
        index: Index,
        partition: String,
        by: time::OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<T>, ApiError> {
        let listing = Listing::on(index, partition).sort_range(SortRange::AtMost(
            super::keys::deadline_upper_bound(by.unix_timestamp()),
        ));
        self.read_all(&listing, limit)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    fn position_key(&self, listing: &Listing, key: &Value) -> Result<Item, ApiError> {
        listing.start_key(&Position {
            scope: listing.scope(),
            key: key.clone(),
        })
    }

    /// Reads up to `want` items from `start`: see the module doc. Returns the position after
    /// the last item returned when the listing may go on.
    async fn query(
        &self,
        listing: &Listing,
        want: usize,
        mut start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Value>), ApiError> {
        let (pk, sk) = listing.key_names();
        let mut key_condition = "#kpk = :kpk".to_owned();
        let mut names: HashMap<String, String> = listing.names.clone().into_iter().collect();
        let mut values: Item = listing.values.clone().into_iter().collect();
        names.insert("#kpk".into(), pk.to_owned());
        values.insert(":kpk".into(), s(&listing.partition));
        if let Some(range) = &listing.sort {
            names.insert("#ksk".into(), sk.to_owned());
            match range {
                SortRange::Between(low, high) => {
                    key_condition.push_str(" AND #ksk BETWEEN :klow AND :khigh");
                    values.insert(":klow".into(), s(low));
                    values.insert(":khigh".into(), s(high));
                }
                SortRange::AtMost(high) => {
                    key_condition.push_str(" AND #ksk <= :khigh");
                    values.insert(":khigh".into(), s(high));
                }
                SortRange::Prefix(prefix) => {
                    key_condition.push_str(" AND begins_with(#ksk, :kprefix)");
                    values.insert(":kprefix".into(), s(prefix));
                }
            }
        }
        let filter = (!listing.filters.is_empty()).then(|| listing.filters.join(" AND "));
        let mut items: Vec<Item> = Vec::new();
        for request_number in 1..=listing.request_cap {
            let missing = want + 1 - items.len();
            let read = if filter.is_some() {
                (missing * listing.read_ahead).clamp(MIN_FILTERED_READ, MAX_READ)
            } else {
                missing
            };
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(listing.index.map(|index| index.name().to_owned()))
                .key_condition_expression(&key_condition)
                .set_filter_expression(filter.clone())
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(listing.ascending)
                .consistent_read(listing.consistent)
                .limit(read as i32)
                .set_exclusive_start_key(start.take())
                .set_return_consumed_capacity(self.return_capacity())
                .send()
                .await
                .map_err(sdk_error("Query"))?;
            self.record_capacity(output.consumed_capacity());
            items.extend(output.items.unwrap_or_default());
            if items.len() > want {
                items.truncate(want);
                let next = items.last().map(|item| listing.position_of(item));
                return Ok((items, next));
            }
            match output.last_evaluated_key {
                None => return Ok((items, None)),
                Some(last) if request_number == listing.request_cap => {
                    return Ok((items, Some(listing.position_of(&last))));
                }
                Some(last) => start = Some(last),
            }
        }
        unreachable!("the loop returns on its last request")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::n;

    fn listing() -> Listing {
        Listing::on(Index::Gsi2, "P#1").descending()
    }

    #[test]
    fn scope_follows_everything_that_defines_the_listing() {
        let base = listing().scope();
        assert_eq!(base, listing().scope(), "stable");
        assert_ne!(base, Listing::on(Index::Gsi3, "P#1").descending().scope());
        assert_ne!(base, Listing::on(Index::Gsi2, "P#2").descending().scope());
        assert_ne!(base, Listing::on(Index::Gsi2, "P#1").scope(), "direction");
        assert_ne!(base, listing().filter("status", "=", s("pending")).scope());
        assert_ne!(
            listing().filter("days", "<=", n(3)).scope(),
            listing().filter("days", "<=", n(4)).scope()
        );
        assert_ne!(
            base,
            listing().sort_range(SortRange::Prefix("A#".into())).scope()
        );
    }

    #[test]
    fn positions_resume_only_their_own_listing() {
        let item: Item = [
            ("pk", "A#1"),
            ("sk", "A"),
            ("gsi2pk", "P#1"),
            ("gsi2sk", "0001#a"),
            ("title", "not a key"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), s(value)))
        .collect();
        let position = Position {
            scope: listing().scope(),
            key: listing().position_of(&item),
        };
        assert_eq!(
            position.key,
            json!({"pk": "A#1", "sk": "A", "gsi2pk": "P#1", "gsi2sk": "0001#a"})
        );
        let start = listing().start_key(&position).unwrap();
        assert_eq!(start.len(), 4);
        let other = listing().filter("status", "=", s("x"));
        assert!(other.start_key(&position).is_err(), "another query");
        let moved = Position {
            key: json!({"pk": "A#1", "sk": "A", "gsi2pk": "P#9", "gsi2sk": "0001#a"}),
            ..position.clone()
        };
        assert!(listing().start_key(&moved).is_err(), "another partition");
        let extra = Position {
            key: json!({"pk": "A#1", "sk": "A", "gsi2pk": "P#1", "gsi2sk": "0", "x": "y"}),
            ..position
        };
        assert!(listing().start_key(&extra).is_err(), "foreign attributes");
    }
}
