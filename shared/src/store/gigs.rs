//! Gigs and their listing entries: the storefront's data.
//!
//! The gig item (`GIG#<id>`/`GIG`) is the truth. While a gig is *listed* (active, owner not
//! blocked; stored as `listed` on the gig item) it also has listing entries, one per partition it
//! can be browsed or searched in (see `keys` for the layout). Every write of a gig is ONE
//! transaction holding the gig write, its entry puts/deletes and a check of the owner's status,
//! conditioned on the gig's `version`, `status` and `listed` as read: a concurrent change makes
//! it `Stale` and the caller re-reads and decides again. So entries always match the gig item,
//! and browse reads entries only, never filtering by status.
//!
//! Counters (`open_orders`, `order_count`, `rating_sum`, `rating_count`) belong to the orders
//! and reviews transactions: edits update named content attributes and never put the whole item.
//! After a rating change, `reindex_gig` refreshes the entries' rating sort keys.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, PutRequest, TransactWriteItem, Update,
    WriteRequest,
};
use serde_json::Value;
use uuid::Uuid;

use super::keys::{self, Key, entity, listing};
use super::{Item, Store, TransactOutcome, from_item, key_attributes, n, s, sdk_error, to_item};
use crate::domain::browse::{BrowseQuery, SortOrder};
use crate::domain::gig::{Gig, GigStatus, GigSummary};
use crate::domain::search::gig_terms;
use crate::domain::user::UserStatus;
use crate::error::ApiError;
use crate::pagination::PageRequest;

/// A gig as stored: the domain gig plus what only the store and moderation track.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredGig {
    pub gig: Gig,
    /// Whether listing entries exist (active and owner not blocked).
    pub listed: bool,
    /// Why moderation rejected it; shown to the owner and admins.
    pub rejection_reason: Option<String>,
}

/// The result of a conditional gig write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GigWrite {
    /// Written; `listed` says whether the gig now has listing entries.
    Saved { listed: bool },
    /// The gig (or its owner's status) changed since it was read: re-read and decide again.
    Stale,
}

/// Index reads per browse page at most: filters may reject most of what one page reads.
const MAX_QUERY_REQUESTS: usize = 4;

/// A gig's index attribute names: `gsiN` -> (`gsiNpk`, `gsiNsk`).
fn index_attributes(index: &str) -> (String, String) {
    (format!("{index}pk"), format!("{index}sk"))
}

const OWNER_INDEX: &str = "gsi1";
const PRICE_INDEX: &str = "gsi1";
const NEWEST_INDEX: &str = "gsi2";
const RATING_INDEX: &str = "gsi3";
const RELEVANCE_INDEX: &str = "gsi4";

fn created_ms(gig: &Gig) -> i128 {
    gig.created_at.unix_timestamp_nanos() / 1_000_000
}

fn bool_attribute(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

fn decode_stored_gig(mut item: Item) -> Result<StoredGig, ApiError> {
    let listed = bool_attribute(&item, "listed");
    let rejection_reason = match item.remove("rejection_reason") {
        Some(AttributeValue::S(reason)) => Some(reason),
        _ => None,
    };
    Ok(StoredGig {
        gig: from_item(item)?,
        listed,
        rejection_reason,
    })
}

/// The listing entries a listed gig has: (key, item) per partition.
fn listing_entries(gig: &Gig) -> Result<Vec<(Key, Item)>, ApiError> {
    let summary = gig.summary();
    let base: Item = serde_dynamo::to_item(&summary)
        .map_err(|error| ApiError::internal(anyhow::anyhow!(error)))?;
    let price_key = listing::price_sort_key(summary.starting_price_cents, gig.id);
    let newest_key = keys::created_sort_key(created_ms(gig), gig.id);
    let rating_key = listing::rating_sort_key(summary.rating_centi(), summary.rating_count, gig.id);
    let terms = gig_terms(&gig.title, &gig.tags, &gig.description);

    let mut partitions: Vec<(String, Option<u32>)> = vec![
        (listing::all(), None),
        (listing::category(&gig.category), None),
        (listing::owner(gig.freelancer_id), None),
    ];
    if let Some(sub) = &gig.subcategory {
        partitions.push((listing::subcategory(&gig.category, sub), None));
    }
    for (term, weight) in &terms {
        partitions.push((listing::term(term), Some(*weight)));
    }
    let term_set = AttributeValue::Ss(terms.iter().map(|(term, _)| term.clone()).collect());

    partitions
        .into_iter()
        .map(|(partition, weight)| {
            let key = keys::gig_listing(gig.id, &partition);
            let mut item = base.clone();
            item.extend(key_attributes(&key));
            item.insert("entity".into(), s(entity::GIG_LISTING));
            for (index, sort_key) in [
                (PRICE_INDEX, &price_key),
                (NEWEST_INDEX, &newest_key),
                (RATING_INDEX, &rating_key),
            ] {
                let (pk, sk) = index_attributes(index);
                item.insert(pk, s(&partition));
                item.insert(sk, s(sort_key));
            }
            if let Some(average) = summary.rating().average {
                item.insert("rating_avg".into(), n(average));
            }
            if let Some(weight) = weight {
                let (pk, sk) = index_attributes(RELEVANCE_INDEX);
                item.insert(pk, s(&partition));
                item.insert(sk, s(listing::relevance_sort_key(weight, &rating_key)));
                item.insert("terms".into(), term_set.clone());
            }
            Ok((key, item))
        })
        .collect()
}

/// The gig item: the domain gig, its owner-index keys and the listing flag.
fn gig_item(gig: &Gig, listed: bool) -> Result<Item, ApiError> {
    let mut item = to_item(&keys::gig(gig.id), entity::GIG, gig)?;
    let (pk, sk) = index_attributes(OWNER_INDEX);
    item.insert(pk, s(keys::gig_owner_partition(gig.freelancer_id)));
    item.insert(sk, s(keys::created_sort_key(created_ms(gig), gig.id)));
    item.insert("listed".into(), AttributeValue::Bool(listed));
    Ok(item)
}

fn internal(message: &'static str) -> ApiError {
    ApiError::internal(anyhow::anyhow!(message))
}

/// One index query of a listing, paged by the caller's cursor.
struct IndexQuery {
    index: &'static str,
    partition: String,
    /// Inclusive sort-key range (a price range on the price index).
    sort_range: Option<(String, String)>,
    forward: bool,
    filter: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl IndexQuery {
    fn new(index: &'static str, partition: String, forward: bool) -> Self {
        Self {
            index,
            partition,
            sort_range: None,
            forward,
            filter: Vec::new(),
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }

    /// Adds `#name <op> :name` to the filter.
    fn filter(&mut self, attribute: &str, op: &str, value: AttributeValue) {
        let placeholder = format!(":{attribute}");
        self.names
            .insert(format!("#{attribute}"), attribute.to_owned());
        self.filter.push(format!("#{attribute} {op} {placeholder}"));
        self.values.insert(placeholder, value);
    }
}

/// The cursor position of an item in an index: its table key and index key.
fn position_of(item: &Item, index: &str) -> Value {
    let (pk, sk) = index_attributes(index);
    let mut position = serde_json::Map::new();
    for name in ["pk".to_owned(), "sk".to_owned(), pk, sk] {
        if let Some(AttributeValue::S(value)) = item.get(&name) {
            position.insert(name, Value::String(value.clone()));
        }
    }
    Value::Object(position)
}

fn start_key(position: &Value, index: &str, partition: &str) -> Result<Item, ApiError> {
    let invalid = || {
        ApiError::invalid(
            "cursor",
            "invalid_cursor",
            "cursor does not belong to this listing",
        )
    };
    let (pk, sk) = index_attributes(index);
    let object = position.as_object().ok_or_else(invalid)?;
    let mut key = Item::new();
    for name in ["pk", "sk", pk.as_str(), sk.as_str()] {
        let value = object
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(invalid)?;
        key.insert(name.to_owned(), s(value));
    }
    if object.len() != 4 || key.get(&pk) != Some(&s(partition)) {
        return Err(invalid());
    }
    Ok(key)
}

impl Store {
    /// Stores a new gig; when it is active (and its owner not blocked) its listing entries too,
    /// in the same transaction.
    pub async fn create_gig(&self, gig: &Gig) -> Result<(), ApiError> {
        for _ in 0..5 {
            if let GigWrite::Saved { .. } = self.write_gig(None, gig, None).await? {
                return Ok(());
            }
        }
        Err(internal("create_gig: the owner's status kept changing"))
    }

    pub async fn get_gig(&self, gig_id: Uuid) -> Result<Option<Gig>, ApiError> {
        Ok(self.get_stored_gig(gig_id).await?.map(|stored| stored.gig))
    }

    /// The gig with its listing flag and rejection reason (one strongly consistent GetItem).
    pub async fn get_stored_gig(&self, gig_id: Uuid) -> Result<Option<StoredGig>, ApiError> {
        self.get(&keys::gig(gig_id))
            .await?
            .map(decode_stored_gig)
            .transpose()
    }

    /// Replaces `before` (as read) with `after` (content and status; counters are never
    /// written), re-deriving the listing entries, in one transaction. `Stale` when the gig or
    /// its owner's status changed since `before` was read. Archiving is also conditioned on no
    /// open orders.
    pub async fn save_gig(
        &self,
        before: &StoredGig,
        after: &Gig,
        rejection_reason: Option<&str>,
    ) -> Result<GigWrite, ApiError> {
        self.write_gig(Some(before), after, rejection_reason).await
    }

    /// Re-derives a gig's listing entries from its item and its owner's status: after a block
    /// or unblock, or after the reviews transaction changed its rating.
    pub async fn reindex_gig(&self, gig_id: Uuid) -> Result<(), ApiError> {
        for _ in 0..5 {
            let Some(stored) = self.get_stored_gig(gig_id).await? else {
                return Ok(());
            };
            if stored.gig.status != GigStatus::Active && !stored.listed {
                return Ok(());
            }
            let write = self
                .write_gig(
                    Some(&stored),
                    &stored.gig,
                    stored.rejection_reason.as_deref(),
                )
                .await?;
            if let GigWrite::Saved { .. } = write {
                return Ok(());
            }
        }
        Err(internal("reindex_gig: the gig kept changing"))
    }

    /// Lists or unlists every active gig of a freelancer after their account status changed.
    /// Each gig is its own transaction (a freelancer's gigs do not fit in one).
    pub async fn reindex_owner_gigs(&self, freelancer_id: Uuid) -> Result<(), ApiError> {
        let mut after: Option<Value> = None;
        loop {
            let page = PageRequest {
                limit: 100,
                after: after.take(),
            };
            let (gigs, next) = self.owner_gigs(freelancer_id, &page).await?;
            for stored in gigs {
                if stored.gig.status == GigStatus::Active || stored.listed {
                    self.reindex_gig(stored.gig.id).await?;
                }
            }
            match next {
                Some(position) => after = Some(position),
                None => return Ok(()),
            }
        }
    }

    /// A freelancer's own gigs in every status, newest first (`GET /me/gigs`): one Query page.
    pub async fn owner_gigs(
        &self,
        freelancer_id: Uuid,
        page: &PageRequest,
    ) -> Result<(Vec<StoredGig>, Option<Value>), ApiError> {
        let query = IndexQuery::new(OWNER_INDEX, keys::gig_owner_partition(freelancer_id), false);
        let (items, next) = self.query_page(query, page).await?;
        let gigs = items
            .into_iter()
            .map(decode_stored_gig)
            .collect::<Result<_, _>>()?;
        Ok((gigs, next))
    }

    /// A freelancer's listed gigs, newest first (`GET /users/{id}/gigs`): one Query page.
    pub async fn listed_gigs_of(
        &self,
        freelancer_id: Uuid,
        page: &PageRequest,
    ) -> Result<(Vec<GigSummary>, Option<Value>), ApiError> {
        let query = IndexQuery::new(NEWEST_INDEX, listing::owner(freelancer_id), false);
        self.summaries(query, page).await
    }

    /// Browse and search (`GET /gigs`). The query reads ONE listing partition (the driving
    /// search term's, else the subcategory's, category's or all) on the index of the requested
    /// order; a price range on the price order is a key condition; other criteria are filters.
    pub async fn browse_gigs(
        &self,
        query: &BrowseQuery,
        page: &PageRequest,
    ) -> Result<(Vec<GigSummary>, Option<Value>), ApiError> {
        let driving_term = query.driving_term();
        let partition = match (driving_term, &query.category, &query.subcategory) {
            (Some(term), _, _) => listing::term(term),
            (None, Some(category), Some(sub)) => listing::subcategory(category, sub),
            (None, Some(category), None) => listing::category(category),
            (None, None, _) => listing::all(),
        };
        let (index, forward) = match query.sort {
            SortOrder::PriceAsc => (PRICE_INDEX, true),
            SortOrder::PriceDesc => (PRICE_INDEX, false),
            SortOrder::Newest => (NEWEST_INDEX, false),
            SortOrder::Rating => (RATING_INDEX, false),
            SortOrder::Relevance if driving_term.is_some() => (RELEVANCE_INDEX, false),
            SortOrder::Relevance => (RATING_INDEX, false),
        };
        let mut request = IndexQuery::new(index, partition, forward);
        if driving_term.is_some() {
            if let Some(category) = &query.category {
                request.filter("category", "=", s(category));
            }
            if let Some(sub) = &query.subcategory {
                request.filter("subcategory", "=", s(sub));
            }
            let others = query
                .terms
                .iter()
                .filter(|term| Some(term.as_str()) != driving_term);
            for (position, term) in others.enumerate() {
                let placeholder = format!(":term{position}");
                request.names.insert("#terms".into(), "terms".into());
                request
                    .filter
                    .push(format!("contains(#terms, {placeholder})"));
                request.values.insert(placeholder, s(term));
            }
        }
        if query.min_price.is_some() || query.max_price.is_some() {
            if index == PRICE_INDEX {
                request.sort_range = Some(listing::price_bounds(query.min_price, query.max_price));
            } else {
                if let Some(min) = query.min_price {
                    request
                        .names
                        .insert("#price".into(), "starting_price_cents".into());
                    request.filter.push("#price >= :min_price".into());
                    request.values.insert(":min_price".into(), n(min));
                }
                if let Some(max) = query.max_price {
                    request
                        .names
                        .insert("#price".into(), "starting_price_cents".into());
                    request.filter.push("#price <= :max_price".into());
                    request.values.insert(":max_price".into(), n(max));
                }
            }
        }
        if let Some(days) = query.max_delivery_days {
            request.filter("delivery_days", "<=", n(days));
        }
        if let Some(rating) = query.min_rating {
            // Unrated gigs have no `rating_avg`, so any minimum excludes them.
            request.filter("rating_avg", ">=", n(rating));
        }
        self.summaries(request, page).await
    }

    async fn summaries(
        &self,
        query: IndexQuery,
        page: &PageRequest,
    ) -> Result<(Vec<GigSummary>, Option<Value>), ApiError> {
        let (items, next) = self.query_page(query, page).await?;
        let summaries = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((summaries, next))
    }

    /// Reads one page of an index partition. Without filters that is one Query of `limit + 1`
    /// items (the extra one tells whether there is a next page). With filters it reads ahead
    /// and, while the page is not full, continues up to `MAX_QUERY_REQUESTS` Queries; then the
    /// cursor resumes after the last item read, so pages may be short but never skip or repeat.
    async fn query_page(
        &self,
        query: IndexQuery,
        page: &PageRequest,
    ) -> Result<(Vec<Item>, Option<Value>), ApiError> {
        let want = page.limit as usize;
        let (pk, sk) = index_attributes(query.index);
        let mut key_condition = "#ipk = :ipk".to_owned();
        let mut names = query.names.clone();
        let mut values = query.values.clone();
        names.insert("#ipk".into(), pk);
        values.insert(":ipk".into(), s(&query.partition));
        if let Some((low, high)) = &query.sort_range {
            key_condition.push_str(" AND #isk BETWEEN :low AND :high");
            names.insert("#isk".into(), sk);
            values.insert(":low".into(), s(low));
            values.insert(":high".into(), s(high));
        }
        let filter = (!query.filter.is_empty()).then(|| query.filter.join(" AND "));
        let mut start = page
            .after
            .as_ref()
            .map(|position| start_key(position, query.index, &query.partition))
            .transpose()?;
        let mut items: Vec<Item> = Vec::new();
        for request_number in 1..=MAX_QUERY_REQUESTS {
            let missing = want + 1 - items.len();
            let read = if filter.is_some() {
                (missing * 3).clamp(25, 300)
            } else {
                missing
            };
            let output = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(query.index)
                .key_condition_expression(&key_condition)
                .set_filter_expression(filter.clone())
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(query.forward)
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
                let next = items.last().map(|item| position_of(item, query.index));
                return Ok((items, next));
            }
            match output.last_evaluated_key {
                None => return Ok((items, None)),
                Some(last) if request_number == MAX_QUERY_REQUESTS => {
                    return Ok((items, Some(position_of(&last, query.index))));
                }
                Some(last) => start = Some(last),
            }
        }
        unreachable!("the loop returns on its last request")
    }

    /// The one write path of a gig (create when `before` is None): see the module doc.
    async fn write_gig(
        &self,
        before: Option<&StoredGig>,
        after: &Gig,
        rejection_reason: Option<&str>,
    ) -> Result<GigWrite, ApiError> {
        // Whether the owner is blocked matters only for an active gig; the check item pins what
        // we read, so a concurrent block or unblock makes this write stale instead of wrong.
        let owner_blocked = if after.status == GigStatus::Active {
            Some(
                self.get_user(after.freelancer_id)
                    .await?
                    .is_some_and(|user| user.is_blocked()),
            )
        } else {
            None
        };
        let listed = owner_blocked == Some(false);
        let old_entries: Vec<Key> = match before {
            Some(before) if before.listed => listing_entries(&before.gig)?
                .into_iter()
                .map(|(key, _)| key)
                .collect(),
            _ => Vec::new(),
        };
        let new_entries = if listed {
            listing_entries(after)?
        } else {
            Vec::new()
        };

        let mut items = vec![match before {
            None => self.put_new_gig(after, listed)?,
            Some(before) => self.update_gig(before, after, listed, rejection_reason)?,
        }];
        if let Some(blocked) = owner_blocked {
            let blocked_status = s(status_name(UserStatus::Blocked));
            let check = ConditionCheck::builder()
                .table_name(self.table())
                .set_key(Some(key_attributes(&keys::user(after.freelancer_id))))
                .condition_expression(if blocked {
                    "#status = :blocked"
                } else {
                    // Gigs of users that do not exist (fixtures) count as not blocked.
                    "attribute_not_exists(#status) OR #status <> :blocked"
                })
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":blocked", blocked_status)
                .build()
                .map_err(ApiError::internal)?;
            items.push(TransactWriteItem::builder().condition_check(check).build());
        }
        let new_keys: HashSet<&Key> = new_entries.iter().map(|(key, _)| key).collect();
        for key in old_entries.iter().filter(|key| !new_keys.contains(key)) {
            let delete = Delete::builder()
                .table_name(self.table())
                .set_key(Some(key_attributes(key)))
                .build()
                .map_err(ApiError::internal)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        for (_, item) in new_entries {
            let put = Put::builder()
                .table_name(self.table())
                .set_item(Some(item))
                .build()
                .map_err(ApiError::internal)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        match self.transact(items).await? {
            TransactOutcome::Committed => Ok(GigWrite::Saved { listed }),
            TransactOutcome::ConditionFailed(failed) if before.is_none() && failed.contains(&0) => {
                Err(internal("gig id collision"))
            }
            TransactOutcome::ConditionFailed(_) => Ok(GigWrite::Stale),
        }
    }

    /// Bulk import into a fresh table (the benchmark, data migrations): each gig as listed with
    /// its entries, through BatchWriteItem. NOT transactional and no owner check, so never on a
    /// request path; DynamoDB Local runs transactions one at a time, which makes seeding
    /// thousands of gigs through `create_gig` take most of an hour.
    pub async fn import_listed_gigs(&self, gigs: &[Gig]) -> Result<(), ApiError> {
        let mut requests = Vec::new();
        for gig in gigs {
            requests.push(gig_item(gig, true)?);
            requests.extend(listing_entries(gig)?.into_iter().map(|(_, item)| item));
        }
        for chunk in requests.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .map_err(ApiError::internal)?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, ApiError>>()?;
            for attempt in 0..10u64 {
                if pending.is_empty() {
                    break;
                }
                let output = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), pending)
                    .set_return_consumed_capacity(self.return_capacity())
                    .send()
                    .await
                    .map_err(sdk_error("BatchWriteItem"))?;
                self.record_capacity(output.consumed_capacity());
                pending = output
                    .unprocessed_items
                    .and_then(|mut unprocessed| unprocessed.remove(self.table()))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * (attempt + 1))).await;
                }
            }
            if !pending.is_empty() {
                return Err(internal("import: items stayed unprocessed"));
            }
        }
        Ok(())
    }

    fn put_new_gig(&self, gig: &Gig, listed: bool) -> Result<TransactWriteItem, ApiError> {
        self.put_new(gig_item(gig, listed)?)
    }

    /// Sets the content and status attributes by name, so the counters the orders and reviews
    /// transactions maintain on the same item are never overwritten.
    fn update_gig(
        &self,
        before: &StoredGig,
        after: &Gig,
        listed: bool,
        rejection_reason: Option<&str>,
    ) -> Result<TransactWriteItem, ApiError> {
        let mut set = vec![
            "title = :title",
            "description = :description",
            "category = :category",
            "tags = :tags",
            "packages = :packages",
            "#status = :status",
            "version = :version",
            "updated_at = :updated_at",
            "listed = :listed",
        ];
        let mut remove = Vec::new();
        let mut values: Item = HashMap::from([
            (":title".into(), s(&after.title)),
            (":description".into(), s(&after.description)),
            (":category".into(), s(&after.category)),
            (":tags".into(), attribute(&after.tags)?),
            (":packages".into(), attribute(&after.packages)?),
            (":status".into(), s(after.status.as_str())),
            (":version".into(), n(after.version)),
            (":updated_at".into(), attribute(&Rfc3339(after.updated_at))?),
            (":listed".into(), AttributeValue::Bool(listed)),
            (":old_version".into(), n(before.gig.version)),
            (":old_status".into(), s(before.gig.status.as_str())),
        ]);
        match &after.subcategory {
            Some(sub) => {
                set.push("subcategory = :subcategory");
                values.insert(":subcategory".into(), s(sub));
            }
            None => remove.push("subcategory"),
        }
        match rejection_reason {
            Some(reason) => {
                set.push("rejection_reason = :reason");
                values.insert(":reason".into(), s(reason));
            }
            None => remove.push("rejection_reason"),
        }
        let mut condition = "version = :old_version AND #status = :old_status".to_owned();
        if before.listed {
            condition.push_str(" AND listed = :true");
            values.insert(":true".into(), AttributeValue::Bool(true));
        } else {
            condition.push_str(" AND (attribute_not_exists(listed) OR listed = :false)");
            values.insert(":false".into(), AttributeValue::Bool(false));
        }
        if after.status == GigStatus::Archived {
            condition.push_str(" AND (attribute_not_exists(open_orders) OR open_orders = :zero)");
            values.insert(":zero".into(), n(0));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::gig(before.gig.id))))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(ApiError::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

fn status_name(status: UserStatus) -> &'static str {
    match status {
        UserStatus::Active => "active",
        UserStatus::Blocked => "blocked",
    }
}

/// A timestamp serialised the way the gig item stores it.
struct Rfc3339(time::OffsetDateTime);

impl serde::Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        time::serde::rfc3339::serialize(&self.0, serializer)
    }
}

fn attribute<T: serde::Serialize>(value: &T) -> Result<AttributeValue, ApiError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|error| ApiError::internal(anyhow::anyhow!(error)))
}
