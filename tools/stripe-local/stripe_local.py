"""The local stack's Stripe: localstripe plus the parts of Stripe's API that Gigmarket needs and
localstripe lacks, so the Rust client and webhook handler cannot tell it from Stripe.

localstripe (PyPI, GPL-3.0) is imported from the venv and run as this process, never copied: this
module changes its behaviour at run time (wrapping its classes' methods, three middlewares, one
route) and then calls its own `start()`. Every addition follows Stripe's API reference
(https://docs.stripe.com/api); docs/local-stack.md lists them and where each one maps.

    python tools/stripe-local/stripe_local.py --port N --from-scratch

Pinned to localstripe 1.15.10 (scripts/requirements-dev.txt): the wrapped names are its internals,
so a bump must re-run tests/integration/stripe_client.rs.
"""

import asyncio
import collections
import contextvars
import re
import secrets
import time

from aiohttp import web
from localstripe import resources, server, webhooks
from localstripe.errors import UserError
from localstripe.resources import Charge, Event, PaymentIntent, PaymentMethod, Refund

# Stripe's `request` on an event: the API request that caused it. Automatic events (none here
# yet) carry nulls, as Stripe's do.
_current_request = contextvars.ContextVar("current_request", default=None)

# Stripe's documented values for `cancellation_reason` on POST /v1/payment_intents/{id}/cancel
# and `reason` on POST /v1/refunds.
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")

CANCEL_PATH = re.compile(r"^/v1/payment_intents/(?P<id>[A-Za-z0-9_]+)/cancel$")
AUTHENTICATE_PATH = re.compile(r"^/v1/payment_intents/(?P<id>[A-Za-z0-9_]+)/_authenticate$")


def invalid(message, param):
    """Stripe's 400 for a bad parameter: an `invalid_request_error` that names the parameter."""
    return UserError(400, message, {"param": param})


def optional_string(value, param):
    """A string parameter; Stripe reads an empty form value as "unset"."""
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise invalid(f"Invalid string: {value!r}", param)
    return value


def one_of(value, allowed, param):
    if value is None:
        return None
    if value not in allowed:
        raise invalid(f"Invalid {param}: must be one of {', '.join(allowed)}", param)
    return value


# --- Events: the fields Stripe's event object has and localstripe's lacks ---------------------

_event_init = Event.__init__


def event_init(self, type, data):
    _event_init(self, type, data)
    # How many endpoints this event goes to: localstripe delivers once and never retries, so the
    # count at creation is what a delivery would show.
    self.pending_webhooks = sum(
        1
        for hook in webhooks._webhooks.values()
        if hook.events is None or type in hook.events
    )
    self.request = _current_request.get() or {"id": None, "idempotency_key": None}


Event.__init__ = event_init

_event_list_all = Event._api_list_all.__func__


# Stripe's bound on `types` in one list request.
MAX_EVENT_TYPES = 20


def event_list_all(cls, url, types=None, **kwargs):
    # `types`: "An array of up to 20 strings containing specific event names ... You may pass
    # either type or types, but not both" (Stripe's List all events); localstripe has `type` only.
    if types is not None:
        if kwargs.get("type") is not None:
            raise invalid("You may pass either type or types, but not both.", "types")
        if type(types) is not list or not all(type(name) is str for name in types):
            raise invalid("Invalid array", "types")
        if len(types) > MAX_EVENT_TYPES:
            raise invalid(f"types: at most {MAX_EVENT_TYPES} event names", "types")
    # Stripe lists events newest first; localstripe in creation order. Reversing the store's
    # insertion order keeps events of the same second in their true order.
    page = _event_list_all(cls, url, **kwargs)
    if types is not None:
        page._list = [event for event in page._list if event.type in types]
    page._list.reverse()
    return page


Event._api_list_all = classmethod(event_list_all)


@web.middleware
async def request_context(request, handler):
    """Gives each API request Stripe's request id and remembers its Idempotency-Key, for the
    `request` of the events it causes."""
    _current_request.set(
        {
            "id": "req_" + secrets.token_hex(7),
            "idempotency_key": request.headers.get("Idempotency-Key"),
        }
    )
    return await handler(request)


# --- Idempotent requests -----------------------------------------------------------------------

# Stripe saves the first answer to a POST with an Idempotency-Key once its endpoint has begun to
# act, and answers every later POST with that key from it; parameters that failed validation save
# nothing. localstripe answers both with 4xx, so this saves what shows an endpoint acted: a 2xx,
# a 402 (the card was tried) and a 5xx. Keyed per secret key, as Stripe keys per account.
_idempotent = {}
_idempotency_locks = collections.defaultdict(asyncio.Lock)


def saved_answer(status):
    return status < 400 or status == 402 or status >= 500


@web.middleware
async def idempotency(request, handler):
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key or not request.path.startswith("/v1/"):
        return await handler(request)
    scope = (server.get_api_key(request), key)
    params = (request.path, await server.get_post_data(request, remove_auth=False))
    # One request per key at a time: a retry that arrives while the first runs waits for its
    # answer instead of acting too.
    async with _idempotency_locks[scope]:
        saved = _idempotent.get(scope)
        if saved is not None:
            first_params, status, body = saved
            if first_params != params:
                return server.json_response(
                    {
                        "error": {
                            "type": "idempotency_error",
                            "message": (
                                "Keys for idempotent requests can only be used with the same "
                                "parameters they were first used with. Try using a key other "
                                f"than '{key}' if you meant to execute a different request."
                            ),
                        }
                    },
                    status=400,
                )
            return web.Response(
                body=body,
                status=status,
                content_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = await handler(request)
        except UserError as error:
            response = error.to_response()
        if saved_answer(response.status):
            _idempotent[scope] = (params, response.status, response.body)
        return response


# --- PaymentIntents: transfer_group, cancellation_reason, payment_intent.canceled --------------

_intent_init = PaymentIntent.__init__


def intent_init(self, transfer_group=None, **kwargs):
    transfer_group = optional_string(transfer_group, "transfer_group")
    _intent_init(self, **kwargs)
    self.transfer_group = transfer_group
    self.cancellation_reason = None
    self.canceled_at = None


PaymentIntent.__init__ = intent_init

_intent_update = PaymentIntent._api_update.__func__


def intent_update(cls, id, **data):
    if "transfer_group" in data:
        new = optional_string(data["transfer_group"], "transfer_group")
        current = cls._api_retrieve(id).transfer_group
        # Stripe: "You can only provide transfer_group if it hasn't been set."
        if current is not None and new != current:
            raise invalid(
                "You can only provide transfer_group if it hasn't been set.",
                "transfer_group",
            )
        data["transfer_group"] = new
    for field in ("cancellation_reason", "canceled_at"):
        if field in data:
            raise invalid(f"Received unknown parameter: {field}", field)
    new_attempt = bool(data.get("payment_method"))
    if new_attempt:
        check_new_payment_method(cls._api_retrieve(id), data["payment_method"])
    intent = _intent_update(cls, id, **data)
    if new_attempt:
        intent.next_action = None
        intent._new_attempt = True
    # Stripe: last_payment_error "will be cleared if the PaymentIntent is later updated for any
    # reason". localstripe derives it from the last charge and a failed authentication.
    intent._authentication_failed = False
    intent._cleared_charge = intent.latest_charge
    return intent


PaymentIntent._api_update = classmethod(intent_update)


# --- PaymentIntents: a new attempt after a failed one, 3-D Secure -------------------------------

# Stripe's test PaymentMethods that localstripe lacks, by the test card number they stand for
# ("Test the 3DS flow" in
# https://docs.stripe.com/payments/3d-secure/authentication-flow).
TEST_PAYMENT_METHODS = {"pm_card_threeDSecure2Required": "4000000000003220"}

# Where a PaymentIntent takes another payment method: before it succeeds or is cancelled.
NEW_PAYMENT_METHOD_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")


def check_new_payment_method(intent, payment_method):
    """A new `payment_method` for `intent` starts a new attempt: Stripe takes one while the intent
    is unpaid (after a declined card too) and then waits for a confirm ("updating the
    payment_method always requires you to confirm the PaymentIntent again"); a paid or cancelled
    intent refuses it with `payment_intent_unexpected_state`. localstripe alone derives the status
    from the last charge, so after a decline it refuses every retry."""
    if intent.status not in NEW_PAYMENT_METHOD_STATUSES:
        raise UserError(
            400,
            f"You cannot update this PaymentIntent's payment_method because it has a status of "
            f"{intent.status}.",
            {"code": "payment_intent_unexpected_state", "param": "payment_method"},
        )
    PaymentMethod._api_retrieve(payment_method)  # 404 for an unknown one, as Stripe answers


_intent_status = PaymentIntent.status.fget


def intent_status(self):
    if (getattr(self, "_new_attempt", False) and self.payment_method and not self._canceled
            and not self.next_action):
        return "requires_confirmation"
    return _intent_status(self)


PaymentIntent.status = property(intent_status)

_intent_last_payment_error = PaymentIntent.last_payment_error.fget


def intent_last_payment_error(self):
    cleared = getattr(self, "_cleared_charge", None)
    if cleared is not None and self.latest_charge is cleared and not self._authentication_failed:
        return None
    return _intent_last_payment_error(self)


PaymentIntent.last_payment_error = property(intent_last_payment_error)

_intent_confirm = PaymentIntent._confirm


def intent_confirm(self, on_failure_now):
    """A confirmation that needs the customer to authenticate emits
    `payment_intent.requires_action`, as Stripe does."""
    _intent_confirm(self, on_failure_now)
    if self.next_action:
        webhooks.schedule_webhook(Event("payment_intent.requires_action", self))


PaymentIntent._confirm = intent_confirm


async def authenticate_intent(request, handler, match):
    """localstripe's test route that plays the client at the bank's 3-D Secure challenge: a
    failed challenge also emits `payment_intent.payment_failed`, as Stripe does (its error is
    `payment_intent_authentication_failure`); a passed one goes on to the charge."""
    response = await handler(request)
    intent = resources.store.get("payment_intent:" + match["id"])
    if response.status == 200 and intent is not None and intent._authentication_failed:
        webhooks.schedule_webhook(Event("payment_intent.payment_failed", intent))
    return response

_intent_create_charge = PaymentIntent._create_charge


def intent_create_charge(self, on_failure_now):
    # The new attempt's charge takes the failed one's place as `latest_charge`.
    if getattr(self, "_new_attempt", False) and self.status == "requires_confirmation":
        self._new_attempt = False
        self.latest_charge = None
    _intent_create_charge(self, on_failure_now)


PaymentIntent._create_charge = intent_create_charge

_test_payment_method = PaymentMethod._try_get_canonical_test_article.__func__


def test_payment_method(cls, id):
    number = TEST_PAYMENT_METHODS.get(id)
    if number is None:
        return _test_payment_method(cls, id)
    return PaymentMethod(
        type="card", card=dict(number=number, exp_month="12", exp_year="2030", cvc="123")
    )


PaymentMethod._try_get_canonical_test_article = classmethod(test_payment_method)


async def cancel_intent(request, match):
    """POST /v1/payment_intents/{id}/cancel with Stripe's optional `cancellation_reason`; sets
    `canceled_at` and emits `payment_intent.canceled`. localstripe's own cancel does the state
    change (its route refuses any parameter, so this one answers in its place)."""
    data = await server.get_post_data(request) or {}
    expand = data.pop("expand", None)
    reason = one_of(data.pop("cancellation_reason", None), CANCELLATION_REASONS,
                    "cancellation_reason")
    if data:
        param = next(iter(data))
        raise invalid(f"Received unknown parameter: {param}", param)
    intent = PaymentIntent._api_cancel(match["id"])
    intent.cancellation_reason = reason
    intent.canceled_at = int(time.time())
    webhooks.schedule_webhook(Event("payment_intent.canceled", intent))
    return server.json_response(intent._export(expand=expand))


@web.middleware
async def overrides(request, handler):
    """Routes this module answers instead of localstripe's, or adds to (its routes are registered
    first and bound to its own functions, which wrapping its classes' methods does not reach)."""
    if request.method == "POST":
        match = CANCEL_PATH.match(request.path)
        if match:
            return await cancel_intent(request, match)
        match = AUTHENTICATE_PATH.match(request.path)
        if match:
            return await authenticate_intent(request, handler, match)
    if request.method == "DELETE" and request.path == "/_config/data":
        # The saved answers name objects that are gone with the data.
        _idempotent.clear()
    return await handler(request)


# --- Charges: transfer_group ----------------------------------------------------------------

def charge_transfer_group(self):
    """A charge's transfer group: its own, or its PaymentIntent's (Stripe copies it over)."""
    own = getattr(self, "_transfer_group", None)
    if own is not None or not self.payment_intent:
        return own
    intent = resources.store.get("payment_intent:" + self.payment_intent)
    return getattr(intent, "transfer_group", None)


def set_charge_transfer_group(self, value):
    self._transfer_group = optional_string(value, "transfer_group")


Charge.transfer_group = property(charge_transfer_group, set_charge_transfer_group)

_charge_init = Charge.__init__


def charge_init(self, transfer_group=None, **kwargs):
    transfer_group = optional_string(transfer_group, "transfer_group")
    _charge_init(self, **kwargs)
    self._transfer_group = transfer_group


Charge.__init__ = charge_init


# --- Refunds: reason, Stripe's refusals, charge.refunded and refund.created -------------------

def charge_to_refund(charge, payment_intent):
    """The charge a refund request names, or None when localstripe's own checks should answer
    (an unknown id, a malformed one)."""
    if type(charge) is str:
        return resources.store.get("charge:" + charge)
    if type(payment_intent) is str:
        intent = resources.store.get("payment_intent:" + payment_intent)
        if intent is not None and intent.latest_charge is None:
            raise invalid(
                f"This PaymentIntent ({payment_intent}) does not have a successful charge to "
                "refund.",
                "payment_intent",
            )
        return intent.latest_charge if intent is not None else None
    return None


def money(amount, currency):
    return f"{amount} {currency}"


_refund_init = Refund.__init__


def refund_init(self, charge=None, payment_intent=None, amount=None, reason=None, **kwargs):
    reason = one_of(reason, REFUND_REASONS, "reason")
    charge_obj = charge_to_refund(charge, payment_intent)
    if charge_obj is not None and charge_obj.status == "succeeded":
        left = charge_obj.amount - charge_obj.amount_refunded
        wanted = resources.try_convert_to_int(amount)
        if left <= 0:
            raise UserError(
                400,
                f"Charge {charge_obj.id} has already been refunded.",
                {"code": "charge_already_refunded", "charge": charge_obj.id},
            )
        if type(wanted) is int and wanted > left:
            raise invalid(
                f"Refund amount ({money(wanted, charge_obj.currency)}) is greater than "
                f"unrefunded amount on charge ({money(left, charge_obj.currency)})",
                "amount",
            )
    _refund_init(self, charge=charge, payment_intent=payment_intent, amount=amount, **kwargs)
    self.reason = reason
    charge_obj = Charge._api_retrieve(self.charge)
    # Stripe names the PaymentIntent on every refund of its charge, however it was asked for.
    if self.payment_intent is None:
        self.payment_intent = charge_obj.payment_intent
    # Exported now, so each event holds the objects as this refund left them.
    webhooks.schedule_webhook(Event("charge.refunded", charge_obj))
    webhooks.schedule_webhook(Event("refund.created", self))


Refund.__init__ = refund_init


# --- Local-only configuration (localstripe's /_config namespace) --------------------------------

async def delete_webhook(request):
    """DELETE /_config/webhooks/{id}: forgets an endpoint that POST /_config/webhooks/{id}
    registered (a test's listener that is gone), so nothing is delivered to it any more."""
    if webhooks._webhooks.pop(request.match_info["id"], None) is None:
        raise UserError(404, "Not Found")
    return web.Response()


def install(app):
    # Innermost: after localstripe's error and auth middlewares, as its own routes are.
    app.middlewares.append(request_context)
    app.middlewares.append(idempotency)
    app.middlewares.append(overrides)
    app.router.add_delete("/_config/webhooks/{id}", delete_webhook)


# localstripe pickles its whole store to /tmp/localstripe.pickle on every change, one file for every
# instance on the machine; the stack always starts --from-scratch and keeps state in memory only.
resources.Store.dump_to_disk = lambda self: None

install(server.app)

if __name__ == "__main__":
    server.start()
