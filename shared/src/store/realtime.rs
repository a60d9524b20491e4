//! Real time: connection tickets (stored under their digest, consumed by the `$connect` they
//! open) and open WebSocket connections, kept twice: by connection id (what `$disconnect` and
//! a failed push know) and in their user's partition (what a push to a user reads).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys::{self, attr, entity};
use super::paged::{Listing, SortRange};
use super::transaction::TransactOutcome;
use super::{Store, from_item, n, to_item};
use crate::domain::realtime::Connection;
use crate::error::ApiError;

/// What is stored under a ticket's digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTicket {
    pub user_id: Uuid,
    /// Unix seconds; also the table's TTL attribute.
    pub expires_at: i64,
}

/// The items of opening a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opening {
    Ticket,
    Connection,
    UserConnection,
}

/// What a `$connect` with a ticket came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    Open,
    /// The ticket was used meanwhile or expired.
    TicketRefused,
}

/// A user's connections are few (one per device); a push reads them all.
const MAX_CONNECTIONS_READ: usize = 100;

impl Store {
    /// Stores a new ticket for the acting user (a store made with `acting_as`: a blocked user
    /// gets 403 from the write itself).
    pub async fn put_ticket(
        &self,
        ticket_digest: &str,
        ticket: &StoredTicket,
    ) -> Result<(), ApiError> {
        let item = to_item(
            &keys::realtime_ticket(ticket_digest),
            entity::REALTIME_TICKET,
            ticket,
        )?;
        let mut transaction = self.transaction();
        transaction.put_new(Opening::Ticket, item)?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionFailed(_) => Err(ApiError::internal(anyhow::anyhow!(
                "realtime ticket digest collision"
            ))),
        }
    }

    pub async fn ticket(&self, ticket_digest: &str) -> Result<Option<StoredTicket>, ApiError> {
        self.get_as(&keys::realtime_ticket(ticket_digest)).await
    }

    /// Consumes the ticket and stores the connection under both its keys, in one transaction
    /// that (on a store acting as the connection's user) also refuses a blocked user: of two
    /// connects with one ticket exactly one opens.
    pub async fn open_connection(
        &self,
        ticket_digest: &str,
        connection: &Connection,
        now_unix: i64,
    ) -> Result<Opened, ApiError> {
        let mut transaction = self.transaction();
        transaction
            .delete_if(
                Opening::Ticket,
                &keys::realtime_ticket(ticket_digest),
                |delete| {
                    delete
                        .condition_expression(format!(
                            "attribute_exists({}) AND #expires_at > :now",
                            attr::PK
                        ))
                        .expression_attribute_names("#expires_at", attr::EXPIRES_AT)
                        .expression_attribute_values(":now", n(now_unix))
                },
            )?
            .put(
                Opening::Connection,
                to_item(
                    &keys::connection(&connection.connection_id),
                    entity::CONNECTION,
                    connection,
                )?,
                |put| put,
            )?
            .put(
                Opening::UserConnection,
                to_item(
                    &keys::user_connection(connection.user_id, &connection.connection_id),
                    entity::USER_CONNECTION,
                    connection,
                )?,
                |put| put,
            )?;
        match self.transact(transaction).await? {
            TransactOutcome::Committed => Ok(Opened::Open),
            TransactOutcome::ConditionFailed(_) => Ok(Opened::TicketRefused),
        }
    }

    /// The connection with this id, live or not.
    pub async fn connection(&self, connection_id: &str) -> Result<Option<Connection>, ApiError> {
        self.get_as(&keys::connection(connection_id)).await
    }

    /// Deletes both items of a connection (nothing when it is already gone).
    pub async fn close_connection(&self, connection: &Connection) -> Result<(), ApiError> {
        let mut transaction = self.transaction();
        transaction
            .delete(
                Opening::Connection,
                &keys::connection(&connection.connection_id),
            )?
            .delete(
                Opening::UserConnection,
                &keys::user_connection(connection.user_id, &connection.connection_id),
            )?;
        self.transact(transaction).await?;
        Ok(())
    }

    /// A user's live connections: the expired ones (whose `$disconnect` never came and which the
    /// table's TTL has not deleted yet) are left out.
    pub async fn connections_of(
        &self,
        user_id: Uuid,
        now_unix: i64,
    ) -> Result<Vec<Connection>, ApiError> {
        let listing = Listing::table(keys::connections_of(user_id))
            .sort_range(SortRange::Prefix(keys::USER_CONNECTION_PREFIX.to_owned()))
            .filter(attr::EXPIRES_AT, ">", n(now_unix));
        self.read_all(&listing, MAX_CONNECTIONS_READ)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }
}
