//! Order use cases: place (idempotently) and change orders. The `orders` function and the
//! `scheduler` both go through [`change_order`], so a change by a person and one by the clock are
//! decided by the same state machine and written by the same transaction.

use aws_lc_rs::digest;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::gig::GigStatus;
use crate::domain::order::{ActionInput, Actor, Order, OrderAction, Party, PlaceOrder};
use crate::error::{ApiError, ApiResult};
use crate::store::Store;
use crate::store::orders::{IdempotencyRecord, Placement};
use crate::web::AuthUser;

/// SHA-256 (hex) of the request as parsed and re-serialised, so whitespace and key order do not
/// make two equal requests differ.
pub fn request_hash(request: &PlaceOrder) -> ApiResult<String> {
    let canonical = serde_json::to_vec(request).map_err(ApiError::internal)?;
    Ok(digest::digest(&digest::SHA256, &canonical)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// A placement's answer: the order and the status code to send (the same on every replay).
pub struct Placed {
    pub order: Order,
    pub status_code: u16,
}

/// `POST /orders` after the caller is known to be a client and the key to be well formed.
pub async fn place_order(
    store: &Store,
    client_id: Uuid,
    idempotency_key: &str,
    request: &PlaceOrder,
    now: OffsetDateTime,
) -> ApiResult<Placed> {
    let requirements = request.validate()?;
    let hash = request_hash(request)?;
    // A replay answers as the first request did, even if the gig has changed since.
    if let Some(record) = store.idempotency_record(client_id, idempotency_key).await? {
        return replay(store, record, &hash).await;
    }
    let gig = store
        .get_gig(request.gig_id)
        .await?
        .ok_or(ApiError::NotFound("gig"))?;
    if gig.freelancer_id == client_id {
        return Err(ApiError::Forbidden("you can not order your own gig"));
    }
    if gig.status != GigStatus::Active {
        return Err(gig_not_orderable());
    }
    let freelancer_available = store
        .get_user(gig.freelancer_id)
        .await?
        .is_some_and(|freelancer| !freelancer.is_blocked());
    if !freelancer_available {
        return Err(freelancer_unavailable());
    }
    let order =
        Order::place(client_id, &gig, request.package, requirements, now).ok_or_else(|| {
            ApiError::invalid(
                "package",
                "not_offered",
                "this gig does not offer that package",
            )
        })?;
    match store
        .place_order(&order, idempotency_key, &hash, now.unix_timestamp())
        .await?
    {
        Placement::Created => Ok(Placed {
            order,
            status_code: 201,
        }),
        Placement::Replayed(record) => replay(store, record, &hash).await,
        Placement::GigNotOrderable => Err(gig_not_orderable()),
        Placement::FreelancerUnavailable => Err(freelancer_unavailable()),
    }
}

fn freelancer_unavailable() -> ApiError {
    ApiError::conflict(
        "freelancer-unavailable",
        "the freelancer of this gig can not take orders",
    )
}

fn gig_not_orderable() -> ApiError {
    ApiError::conflict("gig-not-orderable", "this gig is not taking orders")
}

async fn replay(store: &Store, record: IdempotencyRecord, hash: &str) -> ApiResult<Placed> {
    if record.request_hash != hash {
        return Err(ApiError::unprocessable(
            "idempotency-key-reused",
            "this Idempotency-Key was used for a different request; use a new key for a new order",
        ));
    }
    let order = store.get_order(record.order_id).await?.ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("order of idempotency record missing"))
    })?;
    Ok(Placed {
        order,
        status_code: record.status_code,
    })
}

/// Applies `action` to `order` (as read) and writes it. A concurrent change that got there first
/// makes this a 409, never a lost update.
pub async fn change_order(
    store: &Store,
    order: &Order,
    action: OrderAction,
    actor: Actor,
    input: ActionInput,
    now: OffsetDateTime,
) -> ApiResult<Order> {
    let transition = order.transition(action, actor, input, now)?;
    if store.apply_transition(&transition).await? {
        Ok(transition.after)
    } else {
        Err(ApiError::conflict(
            "order-changed",
            "the order was changed by someone else at the same time; reload it and try again",
        ))
    }
}

/// A caller's action on an order by id: unknown and foreign orders are both 404.
pub async fn act_on_order(
    store: &Store,
    caller: AuthUser,
    order_id: Uuid,
    action: OrderAction,
    input: ActionInput,
) -> ApiResult<Order> {
    let order = store
        .get_order(order_id)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let party = Party::of(caller.id, caller.role, &order);
    change_order(
        store,
        &order,
        action,
        Actor::user(caller.id, party),
        input,
        OffsetDateTime::now_utc(),
    )
    .await
}
