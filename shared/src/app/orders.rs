//! Order use cases: place (idempotently), list, read, and change orders. Every order transition
//! is here: the `orders` function and the `scheduler` go through [`change`], an admin's cancel
//! through [`cancel_as_admin`], so a change by a person, by an admin and by the clock are decided
//! by the same state machine and written by the same transaction, money included; what the
//! change then asks of Stripe (a refund, the cancel of an unpaid PaymentIntent) follows the
//! write (`app::payments::follow_up`).

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{payments, require_role, stripe_reports, verified_caller};
use crate::config::Config;
use crate::domain::audit::{self, AuditAction, AuditEntry, TargetKind};
use crate::domain::gig::GigStatus;
use crate::domain::order::{
    ActionInput, Actor, Order, OrderAction, OrderStatus, Party, PlaceOrder, TimelineEntry,
};
use crate::domain::order::{Transition, Unorderable, check_idempotency_key};
use crate::domain::quota::QuotaKind;
use crate::domain::review::OrderReviewStates;
use crate::domain::user::{Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{CursorCodec, Page, PageParams};
use crate::store::Store;
use crate::store::orders::OrderList;
use crate::store::orders::{IdempotencyRecord, Placement, TransitionEffects, TransitionWrite};
use crate::stripe::client::{NewPaymentIntent, StripeClient};

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

/// A placement's answer: the order, the status code to send (the same on every replay) and the
/// secret the client's browser confirms the payment with.
pub struct Placed {
    pub order: Order,
    pub status_code: u16,
    /// Never stored: Stripe gives it to the key's owner on every read of the intent, and only the
    /// client may see it.
    pub client_secret: Option<String>,
}

impl Placed {
    /// The answer's body: the order, its `payment` with the client secret added.
    pub fn body(&self) -> ApiResult<serde_json::Value> {
        let mut body = serde_json::to_value(&self.order).map_err(ApiError::internal)?;
        if let Some(payment) = body.get_mut("payment").and_then(|p| p.as_object_mut()) {
            payment.insert(
                "client_secret".to_owned(),
                serde_json::Value::from(self.client_secret.clone()),
            );
        }
        Ok(body)
    }
}

/// `POST /orders` (clients only). `idempotency_key` is the header as sent, if it was: the same
/// key and body answer the same order and status, however often. The order is written together
/// with its PaymentIntent's id, awaiting payment: the intent is created first (keyed by the new
/// order's id) and cancelled again if the order is not written.
pub async fn place(
    store: &Store,
    stripe: &StripeClient,
    config: &Config,
    caller: Caller,
    idempotency_key: Option<&str>,
    request: &PlaceOrder,
    now: OffsetDateTime,
) -> ApiResult<Placed> {
    require_role(caller, Role::Client)?;
    let idempotency_key = check_idempotency_key(idempotency_key)?;
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let store = &store.acting_as(caller);
    let requirements = request.validate()?;
    let hash = request_hash(request)?;
    // A replay answers as the first request did, even if the gig has changed since.
    if let Some(record) = store
        .idempotency_record(caller.id, &idempotency_key)
        .await?
    {
        return replay(store, stripe, record, &hash).await;
    }
    let gig = store
        .get_gig(request.gig_id)
        .await?
        .ok_or(ApiError::NotFound("gig"))?;
    if gig.freelancer_id == caller.id {
        return Err(ApiError::Forbidden("you can not order your own gig"));
    }
    verified_caller(store, caller).await?;
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
    let mut order = Order::place(
        caller.id,
        &gig,
        request.package,
        requirements,
        &config.fees,
        now,
    )
    .map_err(|refusal| match refusal {
        Unorderable::PackageNotOffered => ApiError::invalid(
            "package",
            "not_offered",
            "this gig does not offer that package",
        ),
        Unorderable::NotChargeable(_) => gig_not_orderable(),
    })?;
    // Refused before Stripe is asked for anything; the placement's transaction holds the limit.
    let quota = config
        .quotas
        .quota(QuotaKind::OrderPlacements, caller.id, now);
    if store.quota_used(&quota).await? >= quota.limit {
        return Err(quota.exceeded(now).into());
    }
    let currency_seen = request.currency.trim().to_ascii_uppercase();
    if request.expected_price_cents != order.price_cents || currency_seen != order.currency {
        return Err(ApiError::PriceChanged {
            expected_price_cents: request.expected_price_cents,
            expected_currency: currency_seen,
            current_price_cents: order.price_cents,
            current_currency: order.currency.clone(),
        });
    }
    let intent = stripe
        .create_payment_intent(&NewPaymentIntent {
            order_id: &order.id.to_string(),
            amount_minor: i64::try_from(order.client_total_cents).map_err(ApiError::internal)?,
            currency: &order.currency,
        })
        .await
        .map_err(stripe_reports::unavailable)?;
    order.payment = Some(payments::payment_of(
        &intent,
        order.client_total_cents,
        &order.currency,
    ));
    let placement = store
        .place_order(
            &order,
            gig.version,
            &idempotency_key,
            &hash,
            &quota,
            now.unix_timestamp(),
        )
        .await;
    if !matches!(placement, Ok(Placement::Created)) {
        // Nobody will ever pay it: the client never saw its secret.
        if let Err(error) = stripe.cancel_payment_intent(&intent.id).await {
            tracing::warn!(error = %error, order_id = %order.id, "cancelling an unused PaymentIntent");
        }
    }
    match placement? {
        Placement::Created => Ok(Placed {
            order,
            status_code: 201,
            client_secret: intent.client_secret,
        }),
        Placement::Replayed(record) => replay(store, stripe, record, &hash).await,
        Placement::GigNotOrderable => Err(gig_not_orderable()),
        Placement::GigChanged => Err(ApiError::conflict(
            "gig-changed",
            "the gig changed while the order was placed; review it and order again",
        )),
        Placement::FreelancerUnavailable => Err(freelancer_unavailable()),
        Placement::QuotaReached => Err(quota.exceeded(now).into()),
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

async fn replay(
    store: &Store,
    stripe: &StripeClient,
    record: IdempotencyRecord,
    hash: &str,
) -> ApiResult<Placed> {
    if record.request_hash != hash {
        return Err(ApiError::unprocessable(
            "idempotency-key-reused",
            "this Idempotency-Key was used for a different request; use a new key for a new order",
        ));
    }
    let order = store.get_order(record.order_id).await?.ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("order of idempotency record missing"))
    })?;
    // The secret is read again from the intent, so a replay answers what the first one did.
    let client_secret = match &order.payment {
        Some(payment) => {
            stripe
                .retrieve_payment_intent(&payment.intent_id)
                .await
                .map_err(stripe_reports::unavailable)?
                .client_secret
        }
        None => None,
    };
    Ok(Placed {
        order,
        status_code: record.status_code,
        client_secret,
    })
}

/// Which side of their orders a caller lists.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ListAs {
    Client,
    Freelancer,
}

/// `GET /orders`: the caller's orders, newest first. `as` defaults to the caller's role.
pub async fn list(
    store: &Store,
    cursors: &CursorCodec,
    caller: Caller,
    list_as: Option<ListAs>,
    status: Option<OrderStatus>,
    paging: PageParams,
) -> ApiResult<Page<Order>> {
    let list_as = list_as.unwrap_or(match caller.role {
        Role::Freelancer => ListAs::Freelancer,
        Role::Client | Role::Admin => ListAs::Client,
    });
    let page = cursors.page_request(&paging)?;
    let list = match list_as {
        ListAs::Client => OrderList::AsClient,
        ListAs::Freelancer => OrderList::AsFreelancer,
    };
    let (orders, next) = store.list_orders(list, caller.id, status, &page).await?;
    Ok(cursors.page(orders, next))
}

/// An order with its whole history, as its parties see it.
#[derive(Debug, Serialize)]
pub struct OrderWithTimeline {
    #[serde(flatten)]
    pub order: Order,
    pub timeline: Vec<TimelineEntry>,
    /// Each side's review state (`none`, `sealed`, `published`).
    pub reviews: OrderReviewStates,
}

/// `GET /orders/{id}`: its client, its freelancer and admins; anyone else gets 404, as for an
/// unknown id.
pub async fn get(store: &Store, caller: Caller, order_id: Uuid) -> ApiResult<OrderWithTimeline> {
    let (order, timeline, reviews) = store
        .order_with_timeline(order_id)
        .await?
        .filter(|(order, _, _)| order.visible_to(Party::of(caller.id, caller.role, order)))
        .ok_or(ApiError::NotFound("order"))?;
    Ok(OrderWithTimeline {
        order,
        timeline,
        reviews,
    })
}

/// A caller's action on an order by id: unknown and foreign orders are both 404.
pub async fn act(
    store: &Store,
    stripe: &StripeClient,
    caller: Caller,
    order_id: Uuid,
    action: OrderAction,
    input: ActionInput,
    now: OffsetDateTime,
) -> ApiResult<Order> {
    let (order, party) = super::visible_order(store, caller, order_id).await?;
    if party == Party::Admin && action == OrderAction::Cancel {
        // An admin's cancel is audited whichever route it comes by.
        let reason = input.note.unwrap_or_default();
        let actor = audit::Actor::admin(caller.id, None);
        return cancel_as_admin(store, stripe, &actor, order_id, reason, now)
            .await
            .map(|cancelled| cancelled.order);
    }
    // Refused (403 account-blocked) in the write itself if the caller is blocked.
    let store = &store.acting_as(caller);
    change(
        store,
        stripe,
        &order,
        action,
        Actor::user(caller.id, party),
        input,
        now,
    )
    .await
}

/// Applies `action` to `order` (as read) and writes it, with the money it moves; then asks
/// Stripe for what the change decided. A concurrent change that got there first makes this a
/// 409, never a lost update.
pub async fn change(
    store: &Store,
    stripe: &StripeClient,
    order: &Order,
    action: OrderAction,
    actor: Actor,
    input: ActionInput,
    now: OffsetDateTime,
) -> ApiResult<Order> {
    let transition = order.transition(action, actor, input, now)?;
    written(store, stripe, transition, TransitionEffects::default()).await
}

/// Writes `transition` (with the files a delivery uses), then follows it up at Stripe; answers
/// the order as the change left it (with the refund as Stripe accepted it, when it did at once).
/// Only `app::files` delivers with files, and it is built with the files bucket's client.
#[cfg(feature = "s3")]
pub(super) async fn written_with_files(
    store: &Store,
    stripe: &StripeClient,
    transition: Transition,
    files: &[crate::domain::file::CheckedFile],
) -> ApiResult<Order> {
    let effects = TransitionEffects {
        files,
        ..TransitionEffects::default()
    };
    written(store, stripe, transition, effects).await
}

/// Writes `transition`, then follows it up at Stripe; answers the order as the change left it
/// (with the refund as Stripe accepted it, when it did at once).
async fn written(
    store: &Store,
    stripe: &StripeClient,
    transition: Transition,
    effects: TransitionEffects<'_>,
) -> ApiResult<Order> {
    match store.apply_transition_with(&transition, effects).await? {
        TransitionWrite::Applied => {}
        TransitionWrite::OrderChanged | TransitionWrite::EventAlreadyApplied => {
            return Err(order_changed());
        }
    }
    Ok(payments::follow_up(store, stripe, transition.after).await)
}

/// What an admin cancel answers: the cancelled order and the audit entry that records it.
#[derive(Debug, Serialize)]
pub struct AdminOrderCancelled {
    pub order: Order,
    pub audit_id: Uuid,
}

/// An admin's cancel, audited: the transition of [`change`] with the audit entry in the same
/// transaction. What `POST /admin/orders/{id}/cancel` runs, and `POST /orders/{id}/cancel` when
/// an admin calls it, so no admin cancel goes unaudited. The state machine decides
/// (`domain::order::decide`: an admin may cancel any open order, 409 from a closed one); both
/// parties are mailed `order.cancelled` through the order event pipeline.
pub async fn cancel_as_admin(
    store: &Store,
    stripe: &StripeClient,
    actor: &audit::Actor,
    order_id: Uuid,
    reason: String,
    now: OffsetDateTime,
) -> ApiResult<AdminOrderCancelled> {
    let order = store
        .get_order(order_id)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let order_actor = Actor {
        id: actor.user_id(),
        role: Party::Admin,
    };
    let transition = order.transition(
        OrderAction::Cancel,
        order_actor,
        ActionInput {
            note: Some(reason.clone()),
            ..ActionInput::default()
        },
        now,
    )?;
    let entry = AuditEntry::new(
        actor,
        AuditAction::CancelOrder,
        (TargetKind::Order, order.id),
        Some(reason),
        now,
    );
    let effects = TransitionEffects {
        audit: Some(&entry),
        ..TransitionEffects::default()
    };
    let order = written(store, stripe, transition, effects).await?;
    Ok(AdminOrderCancelled {
        order,
        audit_id: entry.id,
    })
}

/// A transition lost the race to a concurrent change (409).
fn order_changed() -> ApiError {
    ApiError::conflict(
        "order-changed",
        "the order was changed by someone else at the same time; reload it and try again",
    )
}
