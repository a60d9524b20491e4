"""The local stack's Stripe: localstripe plus the parts of Stripe's API that Gigmarket needs and
localstripe lacks (among them Connect: Express accounts, onboarding links, transfers, reversals,
balances and disputes), so the Rust client and webhook handlers cannot tell it from Stripe.

localstripe (PyPI, GPL-3.0) is imported from the venv and run as this process, never copied: this
module changes its behaviour at run time (wrapping its classes' methods, middlewares, routes of
its own) and then calls its own `start()`. Every addition follows Stripe's API reference
(https://docs.stripe.com/api); docs/local-stack.md lists them and where each one maps.

    python tools/stripe-local/stripe_local.py --port N --from-scratch

Pinned to localstripe 1.15.10 (scripts/requirements-dev.txt): the wrapped names are its internals,
so a bump must re-run tests/integration/stripe_client.rs and stripe_connect.rs.
"""

import asyncio
import collections
import contextvars
import hashlib
import hmac
import json
import logging
import re
import secrets
import time

import aiohttp
from aiohttp import web
from localstripe import resources, server, webhooks
from localstripe.errors import UserError
from localstripe.resources import Charge, Event, PaymentIntent, PaymentMethod, Refund

# Stripe's `request` on an event: the API request that caused it. Automatic events (none here
# yet) carry nulls, as Stripe's do.
_current_request = contextvars.ContextVar("current_request", default=None)
# The connected account a request acts as (its `Stripe-Account` header), None for the platform.
_current_account = contextvars.ContextVar("current_account", default=None)

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


def event_init(self, type, data, account=None, previous_attributes=None):
    """`account`: the connected account the event happened on (Stripe sets `account` on those
    events only, and sends them to Connect endpoints only); `previous_attributes`: the values an
    `*.updated` event's change replaced, as Stripe puts them in `data`."""
    _event_init(self, type, data)
    self._account = account
    if account is not None:
        self.account = account
    if previous_attributes is not None:
        self.data["previous_attributes"] = previous_attributes
    # How many endpoints this event goes to: localstripe delivers once and never retries, so the
    # count at creation is what a delivery would show.
    self.pending_webhooks = sum(1 for hook in webhooks._webhooks.values() if receives(hook, self))
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
    # The platform lists its own events; a connected account's are listed with its
    # `Stripe-Account` header.
    account = _current_account.get()
    page._list = [event for event in page._list if getattr(event, "_account", None) == account]
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
    _current_account.set(request.headers.get("Stripe-Account") or None)
    return await handler(request)


# --- Idempotent requests -----------------------------------------------------------------------

# Stripe saves the first answer to a POST with an Idempotency-Key once its endpoint has begun to
# act, and answers every later POST with that key from it; parameters that failed validation save
# nothing. localstripe answers both with 4xx, so this saves what shows an endpoint acted: a 2xx,
# a 402 (the card was tried) and a 5xx. Keyed per secret key and `Stripe-Account`, as Stripe keys
# per account.
_idempotent = {}
_idempotency_locks = collections.defaultdict(asyncio.Lock)


def saved_answer(status):
    return status < 400 or status == 402 or status >= 500


@web.middleware
async def idempotency(request, handler):
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key or not request.path.startswith("/v1/"):
        return await handler(request)
    scope = (server.get_api_key(request), request.headers.get("Stripe-Account"), key)
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


# --- Lost answers (local only) -------------------------------------------------------------------

# Requests whose answer is lost once, registered with `POST /_config/lost_answers` (`method`,
# `path`): Stripe acts on the request and saves its answer under the Idempotency-Key, but the
# caller sees a 500 `api_error`, as when the connection drops or the caller crashes before
# reading the answer. A retry with the same key then gets the saved answer, as from Stripe.
_lost_answers = collections.Counter()


async def register_lost_answer(request):
    data = await server.get_post_data(request) or {}
    method = required(data.pop("method", None), "method").upper()
    path = required(data.pop("path", None), "path")
    unknown_parameter(data)
    _lost_answers[(method, path)] += 1
    return web.Response()


@web.middleware
async def lost_answers(request, handler):
    response = await handler(request)
    scope = (request.method, request.path)
    if _lost_answers[scope] > 0 and response.status < 400:
        _lost_answers[scope] -= 1
        return server.json_response(
            {"error": {"type": "api_error",
                       "message": "An error occurred with our connection to Stripe."}},
            status=500)
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
TEST_PAYMENT_METHODS = {
    "pm_card_threeDSecure2Required": "4000000000003220",
    # "Disputes": the charge succeeds and is then disputed as fraudulent
    # (https://docs.stripe.com/testing#disputes).
    "pm_card_createDispute": "4000000000000259",
}

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
        if request.path == "/v1/payouts" and request.headers.get("Stripe-Account"):
            return await create_connected_payout(request)
        match = WEBHOOK_CONFIG_PATH.match(request.path)
        if match:
            return await register_webhook(request, handler, match)
    if request.method == "GET" and request.path == "/v1/balance":
        return await retrieve_balance(request)
    if request.method == "DELETE" and request.path == "/_config/data":
        # The saved answers and links name objects that are gone with the data.
        _idempotent.clear()
        _account_links.clear()
        _lost_answers.clear()
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
    if charge_obj is not None and charge_obj.disputed:
        # Error code `charge_disputed`: "The charge you're attempting to refund has been charged
        # back."
        raise UserError(
            400,
            f"Charge {charge_obj.id} has been charged back; cannot issue a refund.",
            {"code": "charge_disputed", "charge": charge_obj.id},
        )
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


# --- Webhook endpoints: Connect endpoints ---------------------------------------------------

def receives(hook, event):
    """Whether an endpoint gets an event: one of its enabled types, and, as Stripe splits them, a
    Connect endpoint (registered with `connect=true`) gets only the events that happened on a
    connected account (those with `account`), a platform endpoint only the platform's own."""
    if hook.events is not None and event.type not in hook.events:
        return False
    return getattr(hook, "connect", False) == (getattr(event, "_account", None) is not None)


_delivery_log = logging.getLogger("aiohttp.access")


async def deliver(event):
    """localstripe's delivery with Connect's split (`receives`): about a second after the call,
    once, no retries, `Stripe-Signature: t=<created>,v1=<HMAC-SHA256 of "t.body">` per endpoint."""
    body = json.dumps(event._export(), indent=2, sort_keys=True).encode("utf-8")
    signed = str(event.created).encode("ascii") + b"." + body
    await asyncio.sleep(1)
    for hook in list(webhooks._webhooks.values()):
        if not receives(hook, event):
            continue
        mac = hmac.new(hook.secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": f"t={event.created},v1={mac}",
        }
        try:
            async with aiohttp.ClientSession() as session:
                async with session.post(hook.url, data=body, headers=headers) as answer:
                    _delivery_log.info("webhook %s to %s: %d", event.type, hook.url, answer.status)
        except aiohttp.ClientError as error:
            _delivery_log.info("webhook %s to %s failed: %s", event.type, hook.url, error)


# localstripe's schedule_webhook looks this name up at each call.
webhooks._send_webhook = deliver


WEBHOOK_CONFIG_PATH = re.compile(r"^/_config/webhooks/(?P<id>[A-Za-z0-9_-]+)$")


async def register_webhook(request, handler, match):
    """POST /_config/webhooks/{id} with localstripe's `url`, `secret`, `events[]` and Stripe's
    `connect` (true: the endpoint listens to connected accounts, as a Connect endpoint
    registered with `connect=true` on POST /v1/webhook_endpoints does)."""
    data = await server.get_post_data(request) or {}
    connect = resources.try_convert_to_bool(data.get("connect", False))
    if type(connect) is not bool:
        raise invalid("Invalid boolean: connect", "connect")
    response = await handler(request)
    if response.status == 200:
        webhooks._webhooks[match["id"]].connect = connect
    return response


# --- Connect: validation helpers -----------------------------------------------------------------

def unknown_parameter(params, parent=None):
    """Stripe's 400 for the first parameter left over once the known ones are taken."""
    if params:
        name = next(iter(params))
        if parent is not None:
            name = f"{parent}[{name}]"
        raise invalid(f"Received unknown parameter: {name}", name)


def required(value, param):
    if value is None or value == "":
        raise invalid(f"Missing required param: {param}.", param)
    return value


def positive_integer(value, param):
    number = resources.try_convert_to_int(value)
    if type(number) is not int or number <= 0:
        raise invalid("Invalid positive integer", param)
    return number


def currency_code(value):
    value = required(value, "currency")
    if type(value) is not str or not re.fullmatch(r"[A-Za-z]{3}", value):
        raise invalid(f"Invalid currency: {value}", "currency")
    return value.lower()


def metadata_of(value):
    if value is None or value == "":
        return {}
    if type(value) is not dict or not all(type(v) is str for v in value.values()):
        raise invalid("Invalid object", "metadata")
    return dict(value)


def boolean(value, param, default):
    if value is None:
        return default
    value = resources.try_convert_to_bool(value)
    if type(value) is not bool:
        raise invalid(f"Invalid boolean: {value}", param)
    return value


def no_such(kind, id, param=None):
    """Stripe's 404 for an id that names nothing (or 400 when it is a parameter)."""
    contents = {"code": "resource_missing"}
    if param is not None:
        contents["param"] = param
    return UserError(404 if param is None else 400, f"No such {kind}: '{id}'", contents)


def lookup(cls, id, kind, param=None):
    found = resources.store.get(f"{cls.object}:{id}") if type(id) is str else None
    if found is None:
        raise no_such(kind, id, param)
    return found


def insufficient_funds(message):
    """Error code `balance_insufficient`: "The transfer or payout couldn't be completed because
    the associated account doesn't have a sufficient balance available"."""
    return UserError(400, message, {"code": "balance_insufficient"})


# --- Connect: accounts -------------------------------------------------------------------------

ACCOUNT_TYPES = ("express", "custom", "standard")
CAPABILITIES = ("transfers", "card_payments")
# What Stripe asks of a new Express account before it can take transfers and payouts.
ONBOARDING_REQUIREMENTS = (
    "business_profile.url",
    "business_type",
    "external_account",
    "individual.dob.day",
    "individual.first_name",
    "individual.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
)
DEFAULT_CURRENCIES = {"US": "usd", "GB": "gbp", "CH": "chf", "CA": "cad", "AU": "aud"}
EURO_COUNTRIES = {
    "AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PT", "SI", "SK",
}
# An account link's life: Stripe's expire "a few minutes" after creation.
ACCOUNT_LINK_SECONDS = 300


def requirements_of(due):
    """Stripe's `requirements` hash: `due` collected by nobody yet is past due, which disables
    the account (`requirements.past_due`)."""
    due = list(due)
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": due,
        "disabled_reason": "requirements.past_due" if due else None,
        "errors": [],
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": [],
    }


def previous_attributes(before, after):
    """An `*.updated` event's `data.previous_attributes`: the old value of each changed field,
    and of a changed hash only its changed keys."""
    changed = {}
    for key, new in after.items():
        old = before.get(key)
        if old == new:
            continue
        if type(old) is dict and type(new) is dict:
            changed[key] = {sub: old.get(sub) for sub in new if old.get(sub) != new.get(sub)}
        else:
            changed[key] = old
    return changed


class Account(resources.StripeObject):
    """A connected account (https://docs.stripe.com/api/accounts/object). Onboarding is
    simulated by its account links; `_balance` is its available balance per currency."""

    object = "account"
    _id_prefix = "acct_"

    def __init__(self, type=None, country=None, email=None, capabilities=None, metadata=None,
                 business_type=None, default_currency=None, **unknown):
        unknown_parameter(unknown)
        type = one_of(required(type, "type"), ACCOUNT_TYPES, "type")
        country = optional_string(country, "country") or "US"
        if not re.fullmatch(r"[A-Za-z]{2}", country):
            raise invalid(f"Country '{country}' is unknown.", "country")
        country = country.upper()
        email = optional_string(email, "email")
        requested = {}
        if capabilities not in (None, ""):
            if builtins_type(capabilities) is not dict:
                raise invalid("Invalid object", "capabilities")
            for name, wanted in capabilities.items():
                if name not in CAPABILITIES:
                    raise invalid(f"Received unknown parameter: capabilities[{name}]",
                                  f"capabilities[{name}]")
                if builtins_type(wanted) is not dict:
                    raise invalid("Invalid object", f"capabilities[{name}]")
                unknown_parameter({k: v for k, v in wanted.items() if k != "requested"},
                                  f"capabilities[{name}]")
                if boolean(wanted.get("requested"), f"capabilities[{name}][requested]", False):
                    requested[name] = "inactive"
        metadata = metadata_of(metadata)
        business_type = optional_string(business_type, "business_type")
        if default_currency is not None:
            default_currency = currency_code(default_currency)
        super().__init__()
        self.type = type
        self.country = country
        self.email = email
        self.business_type = business_type
        self.capabilities = requested
        self.charges_enabled = False
        self.payouts_enabled = False
        self.details_submitted = False
        self.default_currency = default_currency or (
            "eur" if country in EURO_COUNTRIES else DEFAULT_CURRENCIES.get(country, "usd"))
        self.metadata = metadata
        self.requirements = requirements_of(ONBOARDING_REQUIREMENTS)
        self.tos_acceptance = {"date": None, "ip": None, "user_agent": None}
        self._balance = collections.Counter()

    def _change(self, **fields):
        """Sets `fields` and emits `account.updated` (on the account, with the replaced values)
        if anything changed. Every field gets a new value, never an edited one, so the event's
        copy of the account keeps what it showed."""
        before = self._export()
        for name, value in fields.items():
            setattr(self, name, value)
        after = self._export()
        changed = previous_attributes(before, after)
        if changed:
            webhooks.schedule_webhook(
                Event("account.updated", self, account=self.id, previous_attributes=changed))

    def _complete_onboarding(self):
        self._change(
            details_submitted=True,
            charges_enabled=True,
            payouts_enabled=True,
            capabilities={name: "active" for name in self.capabilities},
            requirements=requirements_of(()),
            tos_acceptance={"date": int(time.time()), "ip": "127.0.0.1", "user_agent": None},
        )

    def _require(self, due):
        self._change(
            charges_enabled=False,
            payouts_enabled=False,
            capabilities={name: "inactive" for name in self.capabilities},
            requirements=requirements_of(due),
        )


builtins_type = type

# Account links by their url's token: {account, refresh_url, return_url, expires_at, used}.
_account_links = {}


def create_account_link(request_origin, account=None, type=None, refresh_url=None,
                        return_url=None, **unknown):
    """POST /v1/account_links (https://docs.stripe.com/api/account_links/create): a single-use
    onboarding link that expires in minutes. Its url is this process's stand-in for Stripe's
    hosted onboarding (`GET /setup/e/{account}/{token}`)."""
    unknown_parameter(unknown)
    account = lookup(Account, required(account, "account"), "account", "account")
    one_of(required(type, "type"), ("account_onboarding", "account_update"), "type")
    if type == "account_update" and account.type != "custom":
        raise invalid(
            "You cannot create `account_update` type Account Links for accounts that are not "
            "custom accounts.", "type")
    for value, param in ((refresh_url, "refresh_url"), (return_url, "return_url")):
        if not re.match(r"^https?://", required(optional_string(value, param), param)):
            raise invalid(f"Not a valid URL: {value}", param)
    created = int(time.time())
    token = secrets.token_urlsafe(18)
    _account_links[token] = {
        "account": account.id,
        "refresh_url": refresh_url,
        "return_url": return_url,
        "expires_at": created + ACCOUNT_LINK_SECONDS,
        "used": False,
    }
    return {
        "object": "account_link",
        "created": created,
        "expires_at": created + ACCOUNT_LINK_SECONDS,
        "url": f"{request_origin}/setup/e/{account.id}/{token}",
    }


ONBOARDING_PATH = re.compile(r"^/setup/e/(?P<account>acct_[A-Za-z0-9]+)/(?P<token>[A-Za-z0-9_-]+)$")


@web.middleware
async def hosted_onboarding(request, handler):
    """The hosted onboarding page an account link leads to, as the freelancer's browser sees it
    in test mode once the form is filled: a fresh link completes onboarding and redirects to
    `return_url`; a used or expired one redirects to `refresh_url` and changes nothing. Before
    localstripe's auth: a browser sends no API key."""
    match = ONBOARDING_PATH.match(request.path) if request.method == "GET" else None
    if match is None:
        return await handler(request)
    link = _account_links.get(match["token"])
    if link is None or link["account"] != match["account"]:
        return web.Response(status=404, text="This link is not valid.\n")
    if link["used"] or time.time() > link["expires_at"]:
        return web.Response(status=302, headers={"Location": link["refresh_url"]})
    link["used"] = True
    resources.store["account:" + link["account"]]._complete_onboarding()
    return web.Response(status=302, headers={"Location": link["return_url"]})


async def set_requirements(request):
    """POST /_test/accounts/{id}/requirements with `currently_due[]` (a local test helper, no
    Stripe API): Stripe asks the account for more, as after a verification fails, so it is
    disabled (payouts and charges off, capabilities inactive) until onboarded again; emits
    `account.updated`."""
    account = lookup(Account, request.match_info["id"], "account")
    data = await server.get_post_data(request) or {}
    due = data.pop("currently_due", None)
    unknown_parameter(data)
    if type(due) is str:
        due = [due]
    if type(due) is not list or not due or not all(type(item) is str for item in due):
        raise invalid("currently_due: a non-empty array of requirement names", "currently_due")
    account._require(due)
    return server.json_response(account._export())


# --- Connect: balances -------------------------------------------------------------------------

def platform_available(currency):
    """The platform's available balance in `currency`: charges paid, less refunds, transfers
    (net of reversals) and the net of disputes' balance transactions (the disputed amount and
    Stripe's dispute fee withdrawn, the amount reinstated when won). (Stripe holds charges as
    pending for days first; here they are available at once.)"""
    total = 0
    for key, obj in list(resources.store.items()):
        kind = key.split(":", 1)[0]
        if getattr(obj, "currency", "").lower() != currency:
            continue
        if kind == "charge" and obj.status == "succeeded" and obj.captured:
            total += obj.amount
        elif kind == "refund" and obj.status == "succeeded":
            total -= obj.amount
        elif kind == "transfer":
            total -= obj.amount - obj.amount_reversed
        elif kind == "dispute":
            total += sum(transaction["net"] for transaction in obj.balance_transactions)
    return total


def balance_object(amounts):
    """Stripe's balance object (https://docs.stripe.com/api/balance/balance_object)."""
    currencies = sorted(amounts) or ["usd"]
    return {
        "object": "balance",
        "available": [
            {"amount": amounts.get(currency, 0), "currency": currency,
             "source_types": {"card": amounts.get(currency, 0)}}
            for currency in currencies
        ],
        "pending": [
            {"amount": 0, "currency": currency, "source_types": {"card": 0}}
            for currency in currencies
        ],
        "livemode": False,
    }


def connected_account(request):
    """The account a `Stripe-Account` header names; Stripe refuses one the key cannot reach."""
    id = request.headers.get("Stripe-Account")
    account = resources.store.get("account:" + id)
    if account is None:
        raise UserError(
            403,
            f"The provided key does not have access to account '{id}' (or that account does "
            "not exist). Application access may have been revoked.",
            {"code": "account_invalid"},
        )
    return account


async def retrieve_balance(request):
    """GET /v1/balance: the platform's, or with `Stripe-Account` the connected account's."""
    if request.headers.get("Stripe-Account"):
        return server.json_response(balance_object(dict(connected_account(request)._balance)))
    currencies = {
        obj.currency.lower()
        for key, obj in list(resources.store.items())
        if key.split(":", 1)[0] in ("charge", "transfer") and getattr(obj, "currency", None)
    }
    return server.json_response(
        balance_object({currency: platform_available(currency) for currency in currencies}))


class ConnectedPayout(resources.Payout):
    """A payout from a connected account's balance to its bank (POST /v1/payouts with
    `Stripe-Account`): the test's way to empty the balance a reversal would take from."""

    def __init__(self, account, amount=None, currency=None, description=None, metadata=None,
                 statement_descriptor=None, **unknown):
        unknown_parameter(unknown)
        amount = positive_integer(required(amount, "amount"), "amount")
        currency = currency_code(currency)
        description = optional_string(description, "description")
        metadata = metadata_of(metadata)
        statement_descriptor = optional_string(statement_descriptor, "statement_descriptor")
        if not account.payouts_enabled:
            # Error code `payouts_not_allowed`.
            raise UserError(400, "Payouts have been disabled on this account.",
                            {"code": "payouts_not_allowed"})
        if account._balance[currency] < amount:
            raise insufficient_funds(
                "You have insufficient funds in your Stripe account for this transfer.")
        resources.StripeObject.__init__(self)
        account._balance[currency] -= amount
        self.amount = amount
        self.currency = currency
        self.description = description
        self.metadata = metadata
        self.statement_descriptor = statement_descriptor
        self.arrival_date = int(time.time()) + 2 * 86400
        self.automatic = False
        self.balance_transaction = "txn_" + resources.random_id(24)
        self.destination = "ba_" + resources.random_id(24)
        self.failure_balance_transaction = None
        self.failure_code = None
        self.failure_message = None
        self.method = "standard"
        self.original_payout = None
        self.reversed_by = None
        self.source_type = "card"
        self.status = "pending"
        self.type = "bank_account"
        webhooks.schedule_webhook(Event("payout.created", self, account=account.id))


async def create_connected_payout(request):
    account = connected_account(request)
    data = await server.get_post_data(request) or {}
    expand = data.pop("expand", None)
    return server.json_response(ConnectedPayout(account, **data)._export(expand=expand))


# --- Connect: transfers and reversals ----------------------------------------------------------

# The transfer object's `reversals`: Stripe embeds the first ten, as in every list it embeds.
EMBEDDED_REVERSALS = 10


class Transfer(resources.StripeObject):
    """A transfer to a connected account (https://docs.stripe.com/api/transfers/object)."""

    object = "transfer"
    _id_prefix = "tr_"

    def __init__(self, amount=None, currency=None, destination=None, transfer_group=None,
                 source_transaction=None, description=None, metadata=None, source_type=None,
                 **unknown):
        unknown_parameter(unknown)
        amount = positive_integer(required(amount, "amount"), "amount")
        currency = currency_code(currency)
        destination = lookup(Account, required(destination, "destination"), "destination",
                             "destination")
        transfer_group = optional_string(transfer_group, "transfer_group")
        description = optional_string(description, "description")
        metadata = metadata_of(metadata)
        one_of(source_type, ("card", "bank_account", "fpx"), "source_type")
        if destination.capabilities.get("transfers") != "active":
            # Error code `insufficient_capabilities_for_transfer`.
            raise UserError(
                400,
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                {"code": "insufficient_capabilities_for_transfer", "param": "destination"},
            )
        source_transaction = optional_string(source_transaction, "source_transaction")
        if source_transaction is not None:
            charge = lookup(Charge, source_transaction, "charge", "source_transaction")
            if charge.status != "succeeded" or not charge.captured:
                raise invalid(
                    f"The source_transaction {charge.id} must be a succeeded charge.",
                    "source_transaction")
            if charge.currency.lower() != currency:
                raise invalid(
                    f"The currency of source_transaction's balance transaction "
                    f"({charge.currency.lower()}) must be the same as the transfer currency "
                    f"({currency}).", "currency")
            sent = sum(
                obj.amount for key, obj in list(resources.store.items())
                if key.startswith("transfer:") and obj.source_transaction == charge.id)
            left = charge.amount - charge.amount_refunded - sent
            if amount > left:
                raise invalid(
                    f"The transfer amount ({money(amount, currency)}) exceeds what is left of "
                    f"source_transaction {charge.id} ({money(left, currency)}).", "amount")
        elif platform_available(currency) < amount:
            raise insufficient_funds(
                "You have insufficient funds in your Stripe account. One likely reason you have "
                "insufficient funds is that your funds are automatically being paid out; try "
                "enabling manual payouts by going to https://dashboard.stripe.com/account/payouts.")
        super().__init__()
        destination._balance[currency] += amount
        self.amount = amount
        self.amount_reversed = 0
        self.balance_transaction = "txn_" + resources.random_id(24)
        self.currency = currency
        self.description = description
        self.destination = destination.id
        self.destination_payment = "py_" + resources.random_id(24)
        self.metadata = metadata
        self.reversed = False
        self.source_transaction = source_transaction
        self.source_type = source_type or "card"
        self.transfer_group = transfer_group
        self._reversals = []
        webhooks.schedule_webhook(Event("transfer.created", self))

    @property
    def reversals(self):
        """The embedded list: the newest `EMBEDDED_REVERSALS` only, `has_more` when there are
        more (GET /v1/transfers/{id}/reversals pages through them all)."""
        newest = list(reversed(self._reversals))
        return {
            "object": "list",
            "data": [reversal._export() for reversal in newest[:EMBEDDED_REVERSALS]],
            "has_more": len(newest) > EMBEDDED_REVERSALS,
            "total_count": len(newest),
            "url": f"/v1/transfers/{self.id}/reversals",
        }


def page_limit(data):
    """A list's `limit`: 1 to 100, 10 when unset (Stripe's pagination)."""
    limit = data.pop("limit", None)
    limit = 10 if limit in (None, "") else positive_integer(limit, "limit")
    if limit > 100:
        raise invalid("This value must be less than or equal to 100.", "limit")
    return limit


def list_reversals(transfer, data):
    """GET /v1/transfers/{id}/reversals (https://docs.stripe.com/api/transfer_reversals/list):
    newest first, paged by `limit` and `starting_after` (the next page) or `ending_before` (the
    one before)."""
    limit = page_limit(data)
    starting_after = optional_string(data.pop("starting_after", None), "starting_after")
    ending_before = optional_string(data.pop("ending_before", None), "ending_before")
    unknown_parameter(data)
    reversals = list(reversed(transfer._reversals))
    ids = [reversal.id for reversal in reversals]
    if starting_after is not None:
        if starting_after not in ids:
            raise no_such("transfer_reversal", starting_after, "starting_after")
        page = reversals[ids.index(starting_after) + 1:]
        has_more = len(page) > limit
        page = page[:limit]
    elif ending_before is not None:
        if ending_before not in ids:
            raise no_such("transfer_reversal", ending_before, "ending_before")
        before = reversals[:ids.index(ending_before)]
        has_more = len(before) > limit
        page = before[-limit:]
    else:
        has_more = len(reversals) > limit
        page = reversals[:limit]
    return {
        "object": "list",
        "data": [reversal._export() for reversal in page],
        "has_more": has_more,
        "url": f"/v1/transfers/{transfer.id}/reversals",
    }


def list_transfers(data):
    """GET /v1/transfers (https://docs.stripe.com/api/transfers/list): newest first, filtered by
    `destination` and `transfer_group`, paged by `limit` (1..100, default 10) and
    `starting_after`."""
    destination = optional_string(data.pop("destination", None), "destination")
    transfer_group = optional_string(data.pop("transfer_group", None), "transfer_group")
    starting_after = optional_string(data.pop("starting_after", None), "starting_after")
    limit = page_limit(data)
    unknown_parameter(data)
    transfers = sorted(
        (obj for key, obj in list(resources.store.items()) if key.startswith("transfer:")
         and (destination is None or obj.destination == destination)
         and (transfer_group is None or obj.transfer_group == transfer_group)),
        key=lambda transfer: transfer.created, reverse=True)
    if starting_after is not None:
        ids = [transfer.id for transfer in transfers]
        if starting_after not in ids:
            raise no_such("transfer", starting_after, "starting_after")
        transfers = transfers[ids.index(starting_after) + 1:]
    return {
        "object": "list",
        "data": [transfer._export() for transfer in transfers[:limit]],
        "has_more": len(transfers) > limit,
        "url": "/v1/transfers",
    }


class TransferReversal(resources.StripeObject):
    """A reversal of a transfer (https://docs.stripe.com/api/transfer_reversals/object)."""

    object = "transfer_reversal"
    _id_prefix = "trr_"

    def __init__(self, transfer, amount=None, description=None, metadata=None,
                 refund_application_fee=None, **unknown):
        unknown_parameter(unknown)
        left = transfer.amount - transfer.amount_reversed
        if left <= 0:
            raise invalid(f"Transfer {transfer.id} has already been reversed in full.", "amount")
        amount = left if amount in (None, "") else positive_integer(amount, "amount")
        if amount > left:
            raise invalid(
                f"Reversal amount ({money(amount, transfer.currency)}) is greater than the "
                f"amount of transfer {transfer.id} not yet reversed "
                f"({money(left, transfer.currency)}).", "amount")
        optional_string(description, "description")
        metadata = metadata_of(metadata)
        boolean(refund_application_fee, "refund_application_fee", False)
        account = resources.store["account:" + transfer.destination]
        if account._balance[transfer.currency] < amount:
            raise insufficient_funds(
                f"Insufficient funds in the connected account {account.id} to reverse "
                f"{money(amount, transfer.currency)} of transfer {transfer.id}.")
        super().__init__()
        account._balance[transfer.currency] -= amount
        transfer.amount_reversed += amount
        transfer.reversed = transfer.amount_reversed == transfer.amount
        transfer._reversals.append(self)
        self.amount = amount
        self.balance_transaction = "txn_" + resources.random_id(24)
        self.currency = transfer.currency
        self.destination_payment_refund = "pyr_" + resources.random_id(24)
        self.metadata = metadata
        self.source_refund = None
        self.transfer = transfer.id
        # "Occurs whenever a transfer is reversed, including partial reversals."
        webhooks.schedule_webhook(Event("transfer.reversed", transfer))


# --- Disputes, as Stripe's test cards open and close them --------------------------------------

DISPUTE_CARD = TEST_PAYMENT_METHODS["pm_card_createDispute"]
EVIDENCE_FIELDS = (
    "access_activity_log", "billing_address", "cancellation_policy",
    "cancellation_policy_disclosure", "cancellation_rebuttal", "customer_communication",
    "customer_email_address", "customer_name", "customer_purchase_ip", "customer_signature",
    "duplicate_charge_documentation", "duplicate_charge_explanation", "duplicate_charge_id",
    "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
    "refund_refusal_explanation", "service_date", "service_documentation", "shipping_address",
    "shipping_carrier", "shipping_date", "shipping_documentation", "shipping_tracking_number",
    "uncategorized_file", "uncategorized_text",
)
# Test mode's evidence outcomes ("Disputes" in https://docs.stripe.com/testing).
TEST_EVIDENCE = {"winning_evidence": "won", "losing_evidence": "lost"}
OPEN_DISPUTE_STATUSES = ("warning_needs_response", "needs_response")
CLOSED_DISPUTE_STATUSES = ("won", "lost", "warning_closed")


# Stripe's dispute fee ("dispute received fee"): $15.00 in the US, "or local equivalent"
# (support.stripe.com/questions/dispute-fees-faq). Here the same number of minor units in the
# dispute's currency (the platform settles in each charge's currency). It is not returned when
# the dispute is won: "If the dispute is found in your favor, the disputed amount and the dispute
# countered fee is returned to you" (support.stripe.com/topics/disputes); the countered fee, for
# submitting evidence, is not emulated.
DISPUTE_FEE = 1500


def dispute_balance_transaction(dispute, amount, fee, reporting_category, description):
    """A balance transaction of a dispute (https://docs.stripe.com/api/balance_transactions/object):
    `amount` taken (negative) or given back, Stripe's `fee` on it, `net` what the platform's
    balance moves by."""
    created = int(time.time())
    return {
        "id": "txn_" + resources.random_id(24),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created,
        "balance_type": "payments",
        "created": created,
        "currency": dispute.currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": [] if fee == 0 else [{
            "amount": fee,
            "application": None,
            "currency": dispute.currency,
            "description": "Dispute fee",
            "type": "stripe_fee",
        }],
        "net": amount - fee,
        "reporting_category": reporting_category,
        "source": dispute.id,
        "status": "available",
        "type": "adjustment",
    }


class Dispute(resources.StripeObject):
    """A dispute (https://docs.stripe.com/api/disputes/object). Its `balance_transactions`
    ("zero, one, or two balance transactions that show funds withdrawn and reinstated"): the
    disputed amount and the dispute fee withdrawn as it opens, the amount reinstated when won;
    each event carries the list as it stands."""

    object = "dispute"
    _id_prefix = "du_"

    def __init__(self, charge):
        super().__init__()
        self.amount = charge.amount
        self.balance_transactions = []
        self.charge = charge.id
        self.currency = charge.currency.lower()
        self.evidence = {field: None for field in EVIDENCE_FIELDS}
        self.evidence_details = {
            "due_by": self.created + 7 * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        }
        self.is_charge_refundable = False
        self.metadata = {}
        self.network_reason_code = "10.4"
        self.payment_intent = charge.payment_intent
        self.payment_method_details = {
            "type": "card", "card": {"brand": "visa", "network_reason_code": "10.4"}}
        self.reason = "fraudulent"
        self.status = "needs_response"
        self.balance_transactions.append(dispute_balance_transaction(
            self, -self.amount, DISPUTE_FEE, "dispute",
            f"Chargeback withdrawal for {self.charge}"))
        charge._dispute = self
        webhooks.schedule_webhook(Event("charge.dispute.created", self))
        webhooks.schedule_webhook(Event("charge.dispute.funds_withdrawn", self))

    def _close(self, status):
        self.status = status
        if status == "won":
            self.balance_transactions.append(dispute_balance_transaction(
                self, self.amount, 0, "dispute_reversal",
                f"Chargeback reversal for {self.charge}"))
        webhooks.schedule_webhook(Event("charge.dispute.closed", self))
        if status == "won":
            webhooks.schedule_webhook(Event("charge.dispute.funds_reinstated", self))

    def _refuse_if_closed(self):
        if self.status in CLOSED_DISPUTE_STATUSES:
            raise UserError(400, f"This dispute is already closed ({self.status}).")

    @classmethod
    def _api_update(cls, id, evidence=None, metadata=None, submit=None, **unknown):
        """POST /v1/disputes/{id}: evidence (submitted unless `submit=false`). Test mode decides
        by `uncategorized_text`: `winning_evidence` wins, `losing_evidence` loses, anything else
        stays under review."""
        unknown_parameter(unknown)
        dispute = cls._api_retrieve(id)
        evidence = {} if evidence in (None, "") else evidence
        if type(evidence) is not dict:
            raise invalid("Invalid object", "evidence")
        unknown_parameter({k: v for k, v in evidence.items() if k not in EVIDENCE_FIELDS},
                          "evidence")
        metadata = metadata_of(metadata)
        submit = boolean(submit, "submit", True)
        dispute._refuse_if_closed()
        if dispute.status == "under_review":
            raise UserError(400, "This dispute's evidence has already been submitted.")
        dispute.evidence = {**dispute.evidence, **evidence}
        dispute.metadata = {**dispute.metadata, **metadata}
        details = dict(dispute.evidence_details)
        details["has_evidence"] = any(value for value in dispute.evidence.values())
        outcome = None
        if submit:
            details["submission_count"] += 1
            outcome = TEST_EVIDENCE.get(dispute.evidence.get("uncategorized_text"))
            if outcome is None:
                dispute.status = "under_review"
        dispute.evidence_details = details
        if outcome is None:
            webhooks.schedule_webhook(Event("charge.dispute.updated", dispute))
        else:
            dispute._close(outcome)
        return dispute

    @classmethod
    def _api_close(cls, id, **unknown):
        """POST /v1/disputes/{id}/close: accepts the dispute as lost."""
        unknown_parameter(unknown)
        dispute = cls._api_retrieve(id)
        dispute._refuse_if_closed()
        dispute._close("warning_closed" if dispute.status.startswith("warning_") else "lost")
        return dispute

    @classmethod
    def _api_retrieve(cls, id):
        return lookup(cls, id, "dispute")


Charge._dispute = None
Charge.disputed = property(lambda self: self._dispute is not None)

_charge_trigger_payment = Charge._trigger_payment


def charge_trigger_payment(self, on_success=None):
    """A charge paid with the dispute test card succeeds and is then disputed as fraudulent."""
    _charge_trigger_payment(self, on_success)
    method = resources.store.get("payment_method:" + (self.payment_method or ""))
    if (self.status == "succeeded" and self._dispute is None
            and getattr(method, "_card_number", None) == DISPUTE_CARD):
        Dispute(self)


Charge._trigger_payment = charge_trigger_payment


# --- Connect and disputes: routes ----------------------------------------------------------------

def json_handler(action):
    """An aiohttp handler for `action(match_info, data)`, where data is the form (POST) or the
    query (GET) without `expand`; answers the object it returns, exported with `expand`."""
    async def handle(request):
        if request.method == "POST":
            data = await server.get_post_data(request) or {}
        else:
            data = server.unflatten_data(request.query)
        expand = data.pop("expand", None)
        result = action(request, dict(request.match_info), data)
        if type(result) is dict:
            return server.json_response(result)
        return server.json_response(result._export(expand=expand))
    return handle


CONNECT_ROUTES = (
    ("POST", "/v1/accounts", lambda request, path, data: Account(**data)),
    ("GET", "/v1/accounts/{id}",
     lambda request, path, data: unknown_parameter(data) or lookup(Account, path["id"],
                                                                   "account")),
    ("POST", "/v1/account_links",
     lambda request, path, data: create_account_link(str(request.url.origin()), **data)),
    ("POST", "/v1/transfers", lambda request, path, data: Transfer(**data)),
    ("GET", "/v1/transfers", lambda request, path, data: list_transfers(data)),
    ("GET", "/v1/transfers/{id}",
     lambda request, path, data: unknown_parameter(data) or lookup(Transfer, path["id"],
                                                                   "transfer")),
    ("GET", "/v1/transfers/{id}/reversals",
     lambda request, path, data: list_reversals(lookup(Transfer, path["id"], "transfer"), data)),
    ("POST", "/v1/transfers/{id}/reversals",
     lambda request, path, data: TransferReversal(lookup(Transfer, path["id"], "transfer"),
                                                  **data)),
    ("GET", "/v1/disputes/{id}",
     lambda request, path, data: unknown_parameter(data) or Dispute._api_retrieve(path["id"])),
    ("POST", "/v1/disputes/{id}",
     lambda request, path, data: Dispute._api_update(path["id"], **data)),
    ("POST", "/v1/disputes/{id}/close",
     lambda request, path, data: Dispute._api_close(path["id"], **data)),
)


# --- Local-only configuration (localstripe's /_config namespace) --------------------------------

async def delete_webhook(request):
    """DELETE /_config/webhooks/{id}: forgets an endpoint that POST /_config/webhooks/{id}
    registered (a test's listener that is gone), so nothing is delivered to it any more."""
    if webhooks._webhooks.pop(request.match_info["id"], None) is None:
        raise UserError(404, "Not Found")
    return web.Response()


def install(app):
    # Outermost: the hosted onboarding page is a browser's, with no API key.
    app.middlewares.insert(0, hosted_onboarding)
    # Innermost: after localstripe's error and auth middlewares, as its own routes are.
    app.middlewares.append(request_context)
    # Outside the idempotency: the answer Stripe saved is the one a retry gets.
    app.middlewares.append(lost_answers)
    app.middlewares.append(idempotency)
    app.middlewares.append(overrides)
    app.router.add_delete("/_config/webhooks/{id}", delete_webhook)
    app.router.add_post("/_config/lost_answers", register_lost_answer)
    for method, path, action in CONNECT_ROUTES:
        app.router.add_route(method, path, json_handler(action))
    app.router.add_post("/_test/accounts/{id}/requirements", set_requirements)


# localstripe pickles its whole store to /tmp/localstripe.pickle on every change, one file for every
# instance on the machine; the stack always starts --from-scratch and keeps state in memory only.
resources.Store.dump_to_disk = lambda self: None

install(server.app)

if __name__ == "__main__":
    server.start()
