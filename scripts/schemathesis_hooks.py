"""Schemathesis hooks for `make test` (loaded through SCHEMATHESIS_HOOKS by scripts/test.sh).

`cargo lambda watch` answers a request whose body or a header value is not valid UTF-8 with its
own 500 before any function runs (it must put both into a JSON event; deployed, API Gateway passes
such a body base64-encoded and the function answers 400: tests/integration/http_contract.rs
`a_body_that_is_not_utf8_is_400`). So the malformed bodies and header values schemathesis sends
are made valid UTF-8 here: a body's invalid bytes become U+FFFD, and a header value's non-ASCII
characters (which HTTP clients send as Latin-1 bytes) are sent as their UTF-8 bytes instead. They
stay malformed (not JSON, not visible ASCII) and must still be rejected with a 4xx.

Second, watch itself sometimes answers a request with its own 500 (`https://httpstatuses.com/500`,
never a function's problem+json) when a function's response is large: about 1 in 100 responses
of ~50 KB (`GET /me/gigs?limit=100`), even one request at a time, while the function logged its
200. Such a transport failure is retried (up to 3 times); any 500 a function produces is not.

Third, in the client pass (FUZZ_GIG_ID set), a well-formed `gig_id` in `POST /orders` names the
active gig scripts/test.sh seeded, so orders are really placed and their responses (and the linked
order routes) are checked against the spec; a malformed `gig_id` is left malformed.

Fourth, in the client pass (FUZZ_ORDER_ID set), a well-formed `order_id` in
`POST /reviews` names the completed order scripts/test.sh seeded between the fuzz client and the
fuzz freelancer, so a review is really created (the first valid body; later ones are 409
`already-reviewed`) and its response checked against the spec.
Fourth (messaging), a well-formed `participant_id` in `POST /conversations` names the second user
scripts/test.sh seeded (FUZZ_PARTICIPANT_ID), and in the client pass a well-formed `gig_id` there
names the seeded gig, so conversations are really opened and continued, and their responses (and
the linked conversation routes) checked against the spec.
Fifth (admin), in the admin pass (FUZZ_ADMIN_TARGET_ID set), a well-formed `{id}` of an
`/admin/users/...` route names a client scripts/test.sh seeded for it, so users are really read,
blocked (with a valid reason) and unblocked, and the audit log has entries to list.
Sixth (admin oversight), in the admin pass (FUZZ_ADMIN_ORDER_ID set), a well-formed `{id}` of
`POST /admin/orders/{id}/cancel` names an open order scripts/test.sh seeded, so an admin cancel
really happens (and the repeats are 409).
Sixth (moderation), in the admin pass (FUZZ_MODERATION_GIG_ID set), a well-formed `{id}` of an
`/admin/gigs/...` route names the gig in review scripts/test.sh seeded, and a non-empty
`If-Match` becomes its ETag (`"1"`: nothing edits it), so it is really approved, rejected or
removed and the answers checked against the spec; an empty or missing `If-Match` stays as it is.
"""

import os
import uuid

import requests
import schemathesis
from hypothesis.internal import lambda_sources
from schemathesis.core import NOT_SET


def _tolerate_cpython_ast_depth_bug():
    """Keeps a CPython 3.11.7 bug from ending a pass with a Runtime Error.

    Hypothesis describes a filter's lambda by `ast.parse`-ing its source file; on CPython before
    3.11.8 that can raise a spurious `SystemError: AST constructor recursion depth mismatch`
    (CPython gh-106905) for schemathesis' large coverage module, which ended a `make test` pass
    with a Runtime Error before any request was sent. The description is only cosmetic: on that
    error the lambda is described as unknown, as Hypothesis does when it can not find the source.
    """
    describe = lambda_sources._lambda_description

    def described(f, *args, **kwargs):
        try:
            return describe(f, *args, **kwargs)
        except SystemError:
            return "lambda: <unknown>"

    lambda_sources._lambda_description = described


_tolerate_cpython_ast_depth_bug()

WATCH_OWN_500 = b'{"type":"https://httpstatuses.com/500"'


def _utf8_on_the_wire(value):
    """A header value whose Latin-1 encoding (what goes on the wire) is valid UTF-8."""
    if not isinstance(value, str) or value.isascii():
        return value
    try:
        value.encode("latin-1").decode("utf-8")
        return value  # already UTF-8 bytes on the wire
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value.encode("utf-8").decode("latin-1")


def _is_uuid(value):
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _seeded_body_field(case, path, field, variable):
    """Points the well-formed `field` id of a POST `path` body at the seeded one (`variable`)."""
    seeded = os.environ.get(variable)
    if not seeded or case.operation.method.upper() != "POST" or case.operation.path != path:
        return
    if isinstance(case.body, dict) and _is_uuid(case.body.get(field)):
        case.body[field] = seeded


def _seeded_gig(case):
    """Points a well-formed POST /orders body at the seeded active gig."""
    _seeded_body_field(case, "/orders", "gig_id", "FUZZ_GIG_ID")


def _seeded_review_order(case):
    """Points a well-formed POST /reviews body at the seeded completed order."""
    _seeded_body_field(case, "/reviews", "order_id", "FUZZ_ORDER_ID")


def _seeded_conversation(case):
    """Messaging: points a well-formed POST /conversations body at the seeded participant (and,
    in the client pass, the seeded gig)."""
    _seeded_body_field(case, "/conversations", "participant_id", "FUZZ_PARTICIPANT_ID")
    _seeded_body_field(case, "/conversations", "gig_id", "FUZZ_GIG_ID")


def _seeded_path_id(case, variable, matches):
    """Points a well-formed `{id}` of the operations `matches` accepts at the seeded one; says
    whether it did."""
    seeded = os.environ.get(variable)
    if not seeded or not matches(case.operation.path):
        return False
    if not isinstance(case.path_parameters, dict) or not _is_uuid(case.path_parameters.get("id")):
        return False
    case.path_parameters["id"] = seeded
    return True


def _seeded_admin_target(case):
    """Admin: points a well-formed user id of an /admin/users route at the seeded target."""
    _seeded_path_id(case, "FUZZ_ADMIN_TARGET_ID", lambda path: path.startswith("/admin/users/"))


def _seeded_admin_order(case):
    """Admin oversight: points a well-formed order id of POST /admin/orders/{id}/cancel at the
    open order scripts/test.sh seeded, so one cancel really happens (later ones are 409)."""
    _seeded_path_id(case, "FUZZ_ADMIN_ORDER_ID", lambda path: path == "/admin/orders/{id}/cancel")


def _seeded_moderation_gig(case):
    """Moderation: points a well-formed gig id of an /admin/gigs route at the seeded gig in
    review, with its ETag in a non-empty If-Match."""
    if not _seeded_path_id(case, "FUZZ_MODERATION_GIG_ID", lambda path: path.startswith("/admin/gigs/")):
        return
    if case.headers:
        for name, value in list(case.headers.items()):
            if name.lower() == "if-match" and isinstance(value, str) and value.strip():
                case.headers[name] = '"1"'


@schemathesis.hook
def before_call(context, case, kwargs):
    _seeded_admin_target(case)
    _seeded_admin_order(case)
    _seeded_moderation_gig(case)
    _seeded_gig(case)
    _seeded_review_order(case)
    _seeded_conversation(case)
    if isinstance(case.body, (bytes, bytearray)):
        try:
            case.body.decode("utf-8")
        except UnicodeDecodeError:
            case.body = case.body.decode("utf-8", "replace").encode("utf-8")
    if case.headers:
        for name, value in list(case.headers.items()):
            case.headers[name] = _utf8_on_the_wire(value)


@schemathesis.hook
def after_call(context, case, response):
    if response.status_code != 500 or not response.content.startswith(WATCH_OWN_500):
        return
    with requests.Session() as session:
        for _ in range(3):
            retried = session.send(response.request, timeout=30)
            if retried.status_code == 500 and retried.content.startswith(WATCH_OWN_500):
                continue
            response.status_code = retried.status_code
            response.message = retried.reason
            response.headers = {name.lower(): [value] for name, value in retried.headers.items()}
            response.content = retried.content
            response.content_size = len(retried.content)
            response.encoding = retried.encoding
            response._deserialized = NOT_SET
            return
