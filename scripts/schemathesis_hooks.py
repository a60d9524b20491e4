"""Schemathesis hooks for `make test` (loaded through SCHEMATHESIS_HOOKS by scripts/test.sh).

`cargo lambda watch` answers a request whose body is not valid UTF-8 with its own 500 before any
function runs (deployed, API Gateway passes such a body base64-encoded and the function answers
400: tests/http_contract.rs `a_body_that_is_not_utf8_is_400`). So the malformed bodies schemathesis
sends are made valid UTF-8 here; they stay malformed JSON and must still be rejected with a 4xx.
"""

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    if isinstance(case.body, (bytes, bytearray)):
        try:
            case.body.decode("utf-8")
        except UnicodeDecodeError:
            case.body = case.body.decode("utf-8", "replace").encode("utf-8")
