//! The metrics counters (layout: `keys`, "Metrics counters"): written by the transactions that
//! move them (`Transaction::count`), read by summing every shard (`Store::metrics`), beside the
//! money figures, which are the ledger's platform balances (`store::ledger`).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use uuid::Uuid;

use super::keys::{self, Key, METRICS_SHARDS, attr, entity, shard_of};
use super::transaction::Transaction;
use super::{Item, Store, key_attributes, ledger, n, s, sdk_error};
use crate::domain::metrics::{Counter, Metrics, MetricsDelta, MoneyFigures};
use crate::error::ApiError;

/// Every area with counters: the `<area>` of `METRICS#<area>` (`Counter::area`).
const AREAS: [&str; 5] = ["users", "gigs", "orders", "reviews", "messages"];

impl<N: Copy + std::fmt::Debug> Transaction<N> {
    /// Adds `delta` to the counters, on the shard `entity_id` picks: one update (named `name`)
    /// per area moved, holding every counter of that area, so the transaction touches each
    /// shard item once. Nothing when the delta is empty.
    pub(crate) fn count(
        &mut self,
        name: N,
        delta: &MetricsDelta,
        entity_id: Uuid,
    ) -> Result<&mut Self, ApiError> {
        let mut by_area: BTreeMap<&'static str, Vec<(String, i64)>> = BTreeMap::new();
        for (counter, by) in delta.changes() {
            by_area
                .entry(counter.area())
                .or_default()
                .push((counter.name(), *by));
        }
        let shard = shard_of(entity_id);
        for (area, changes) in by_area {
            self.update(name, &keys::metrics_shard(area, shard), |update| {
                let mut update = update
                    .expression_attribute_names("#entity", attr::ENTITY)
                    .expression_attribute_values(":entity", s(entity::METRICS_SHARD));
                let mut adds = Vec::new();
                for (position, (counter, by)) in changes.into_iter().enumerate() {
                    adds.push(format!("#c{position} :c{position}"));
                    update = update
                        .expression_attribute_names(format!("#c{position}"), counter)
                        .expression_attribute_values(format!(":c{position}"), n(by));
                }
                update.update_expression(format!("SET #entity = :entity ADD {}", adds.join(", ")))
            })?;
        }
        Ok(self)
    }
}

/// Every shard item of every area.
fn all_shards() -> Vec<Key> {
    AREAS
        .iter()
        .flat_map(|area| (0..METRICS_SHARDS).map(move |shard| keys::metrics_shard(area, shard)))
        .collect()
}

/// The counters of one shard item: each number attribute that names a counter.
fn shard_totals(item: &Item) -> impl Iterator<Item = (&str, i64)> {
    item.iter().filter_map(|(name, value)| match value {
        AttributeValue::N(number) if Counter::from_name(name).is_some() => {
            number.parse().ok().map(|number| (name.as_str(), number))
        }
        _ => None,
    })
}

/// Keys one `BatchGetItem` may ask for.
const BATCH_GET_KEYS: usize = 100;

impl Store {
    /// Every figure: all counter shard items and the ledger's currency shards in one strongly
    /// consistent `BatchGetItem` (48 keys), each counter summed over its shards; then, when the
    /// ledger holds money, the money figures from the platform balances of each currency (one
    /// more `BatchGetItem`, 4 keys a currency).
    pub async fn metrics(&self) -> Result<Metrics, ApiError> {
        let mut shards = all_shards();
        shards.extend(ledger::currency_shards());
        let items = self.batch_get(shards).await?;
        let mut totals: HashMap<&str, i64> = HashMap::new();
        for item in &items {
            for (name, value) in shard_totals(item) {
                *totals.entry(name).or_default() += value;
            }
        }
        let mut metrics = Metrics::from_totals(totals);
        let currencies = ledger::currencies_in(&items);
        if !currencies.is_empty() {
            let wanted = ledger::figure_balances(&currencies);
            let balances = self.batch_get(wanted.keys().cloned().collect()).await?;
            metrics.money = MoneyFigures::from_balances(&ledger::balances_in(balances, &wanted)?);
        }
        Ok(metrics)
    }

    /// The items at `keys` that exist, strongly consistent: `BatchGetItem`s of at most 100 keys,
    /// asking again for the keys DynamoDB leaves unprocessed.
    pub(crate) async fn batch_get(&self, keys: Vec<Key>) -> Result<Vec<Item>, ApiError> {
        self.batch_get_read(keys, true).await
    }

    /// [`Store::batch_get`], strongly consistent or not (`consistent`): an eventually consistent
    /// read costs half.
    pub(crate) async fn batch_get_read(
        &self,
        keys: Vec<Key>,
        consistent: bool,
    ) -> Result<Vec<Item>, ApiError> {
        let mut items: Vec<Item> = Vec::new();
        for chunk in keys.chunks(BATCH_GET_KEYS) {
            let mut pending: Vec<Item> = chunk.iter().map(key_attributes).collect();
            for attempt in 0..10u64 {
                if pending.is_empty() {
                    break;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(consistent)
                    .build()
                    .map_err(ApiError::internal)?;
                let output = self
                    .client()
                    .batch_get_item()
                    .request_items(self.table(), request)
                    .set_return_consumed_capacity(self.return_capacity())
                    .send()
                    .await
                    .map_err(sdk_error("BatchGetItem"))?;
                self.record_capacity(output.consumed_capacity());
                if let Some(mut responses) = output.responses {
                    items.extend(responses.remove(self.table()).unwrap_or_default());
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut unprocessed| unprocessed.remove(self.table()))
                    .map(|keys| keys.keys)
                    .unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * (attempt + 1))).await;
                }
            }
            if !pending.is_empty() {
                return Err(ApiError::service_unavailable(anyhow::anyhow!(
                    "metrics: item reads stayed unprocessed"
                )));
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_come_from_the_id_and_stay_in_range() {
        let id = Uuid::now_v7();
        assert_eq!(shard_of(id), shard_of(id));
        assert!((0..200).all(|_| shard_of(Uuid::now_v7()) < METRICS_SHARDS));
        let used: std::collections::HashSet<u32> =
            (0..400).map(|_| shard_of(Uuid::new_v4())).collect();
        assert_eq!(
            used.len(),
            METRICS_SHARDS as usize,
            "ids spread over every shard"
        );
    }

    #[test]
    fn every_area_of_a_counter_is_read() {
        let delta = MetricsDelta::user_registered(
            crate::domain::user::Role::Client,
            crate::domain::user::UserStatus::Active,
        )
        .and(MetricsDelta::message_sent())
        .and(MetricsDelta::review_shown(3))
        .and(MetricsDelta::gig_created(
            crate::domain::gig::GigStatus::Active,
        ));
        for (counter, _) in delta.changes() {
            assert!(AREAS.contains(&counter.area()), "{counter:?}");
        }
        assert_eq!(all_shards().len(), AREAS.len() * METRICS_SHARDS as usize);
        assert!(
            all_shards().len() + ledger::currency_shards().len() <= BATCH_GET_KEYS,
            "one BatchGetItem reads every shard"
        );
    }
}
