//! The table definition, from `infra/table.json`: the same document the SAM template and the CDK
//! app are checked against, so local tables can not drift from deployed ones (and the store's
//! `keys::Index` is checked against it below).

use anyhow::Context;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde::Deserialize;

pub const TABLE_DEFINITION_JSON: &str = include_str!("../../../infra/table.json");

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub attribute_definitions: Vec<AttributeDef>,
    pub key_schema: Vec<KeyDef>,
    pub global_secondary_indexes: Vec<IndexDef>,
    pub billing_mode: String,
    pub stream_specification: StreamDef,
    pub time_to_live_attribute: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDef {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyDef>,
    pub projection: ProjectionDef,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionDef {
    pub projection_type: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDef {
    pub stream_enabled: bool,
    pub stream_view_type: String,
}

impl TableDefinition {
    pub fn load() -> Self {
        serde_json::from_str(TABLE_DEFINITION_JSON)
            .expect("infra/table.json is a valid table definition")
    }
}

fn key_schema(keys: &[KeyDef]) -> anyhow::Result<Vec<KeySchemaElement>> {
    keys.iter()
        .map(|key| {
            KeySchemaElement::builder()
                .attribute_name(&key.attribute_name)
                .key_type(KeyType::from(key.key_type.as_str()))
                .build()
                .context("key schema")
        })
        .collect()
}

/// Creates the table (if absent) exactly as defined, waits until it is active and turns on TTL.
pub async fn create_table(client: &Client, table_name: &str) -> anyhow::Result<()> {
    let definition = TableDefinition::load();
    let exists = client
        .describe_table()
        .table_name(table_name)
        .send()
        .await
        .is_ok();
    if exists {
        return Ok(());
    }
    let mut request = client
        .create_table()
        .table_name(table_name)
        .billing_mode(BillingMode::from(definition.billing_mode.as_str()))
        .set_key_schema(Some(key_schema(&definition.key_schema)?))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(definition.stream_specification.stream_enabled)
                .stream_view_type(StreamViewType::from(
                    definition.stream_specification.stream_view_type.as_str(),
                ))
                .build()
                .context("stream spec")?,
        );
    for attribute in &definition.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&attribute.attribute_name)
                .attribute_type(ScalarAttributeType::from(attribute.attribute_type.as_str()))
                .build()
                .context("attribute definition")?,
        );
    }
    for index in &definition.global_secondary_indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            index.projection.projection_type.as_str(),
                        ))
                        .build(),
                )
                .build()
                .context("index")?,
        );
    }
    request
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(error)))
        .with_context(|| format!("creating table {table_name}"))?;
    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(&definition.time_to_live_attribute)
                .build()
                .context("ttl spec")?,
        )
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(error)))
        .context("enabling TTL")?;
    Ok(())
}

/// Drops a table: tests and the benchmark clean up with it, nothing deployed may.
#[cfg(feature = "test-support")]
pub async fn delete_table(client: &Client, table_name: &str) -> anyhow::Result<()> {
    client
        .delete_table()
        .table_name(table_name)
        .send()
        .await
        .map_err(|error| {
            anyhow::anyhow!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(error))
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys::{Index, attr};

    /// The indexes and attributes the store's code names are the ones the table has.
    #[test]
    fn keys_match_the_table_definition() {
        let definition = TableDefinition::load();
        let names = |keys: &[KeyDef]| -> Vec<String> {
            keys.iter().map(|key| key.attribute_name.clone()).collect()
        };
        assert_eq!(names(&definition.key_schema), [attr::PK, attr::SK]);
        let indexes: Vec<(String, Vec<String>)> = definition
            .global_secondary_indexes
            .iter()
            .map(|index| (index.index_name.clone(), names(&index.key_schema)))
            .collect();
        let ours: Vec<(String, Vec<String>)> = Index::ALL
            .iter()
            .map(|index| {
                (
                    index.name().to_owned(),
                    vec![index.pk().to_owned(), index.sk().to_owned()],
                )
            })
            .collect();
        assert_eq!(indexes, ours);
        assert_eq!(definition.time_to_live_attribute, attr::EXPIRES_AT);
    }
}
