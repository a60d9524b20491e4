# shellcheck shell=bash
# The schemathesis passes over the API served by `cargo lambda watch`, and the accounts and data
# they need; shared by `make test` (scripts/test.sh: each pass once, a fixed seed, 50 examples) and
# `make fuzz` (scripts/fuzz.sh: every pass, fresh seeds, hundreds of examples). Sourced from the
# repository root with ROOT, run_id, GIGMARKET_API_URL and the local stack's environment
# (scripts/env.sh, plus TABLE_NAME from `gigctl setup`) set. The seeding functions set globals:
# the caller reads the tokens and ids they made.

# test.sh records every secret it uses; elsewhere there is nothing to record.
declare -F remember_secret >/dev/null || remember_secret() { :; }

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }

# Waits until the API at GIGMARKET_API_URL answers (a problem+json 400 from a function counts:
# watch is up and routes); gives up with watch's log when its process ($1) dies or after 3 minutes.
wait_for_api() {
  local pid=$1 log_file=$2 code=""
  for _ in $(seq 1 180); do
    code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
      -d '{}' "$GIGMARKET_API_URL/auth/login" || true)
    [[ "$code" == 400 ]] && return 0
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$log_file"; return 1; }
    sleep 1
  done
  echo "cargo lambda watch did not answer (last status $code)"
  tail -n 40 "$log_file"
  return 1
}

# Registers an account through the API and prints its JSON answer: email, role, name.
register_account() {
  curl -s --noproxy '*' -X POST "$GIGMARKET_API_URL/auth/register" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"fuzzing password 1\",\"name\":\"$3\",\"role\":\"$2\"}"
}

# Registered accounts publish, order and message only once their email is verified: an operator
# does it for the fuzz accounts (the e2e test follows the real mail's link).
verify_email() { cargo run --quiet --locked -p gigctl -- verify-email --email "$1" >/dev/null; }

# The freelancer pass's account (fuzz_email, fuzz_token), and a second account for
# POST /conversations to talk to (FUZZ_PARTICIPANT_ID: the hooks point participant_id at it), so
# conversations are really opened.
fuzz_seed_freelancer() {
  fuzz_email="fuzz-$run_id@example.com"
  fuzz_token=$(register_account "$fuzz_email" freelancer Fuzz | json_field access_token)
  remember_secret "$fuzz_token"
  FUZZ_PARTICIPANT_ID=$(register_account "fuzz-peer-$run_id@example.com" client "Fuzz Peer" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
  export FUZZ_PARTICIPANT_ID
  verify_email "$fuzz_email"
  verify_email "fuzz-peer-$run_id@example.com"
}

# The client pass's data (after fuzz_seed_freelancer): a freelancer can not order, so seed an
# active gig (fuzz_gig_id: published by the fuzz freelancer, approved by an admin made with
# gigctl, admin_token) and a client (client_token); the hooks point well-formed POST /orders
# bodies at that gig. And a completed order between the two (review_order_id), so the hooks point
# well-formed POST /reviews bodies at it and a review is really created and checked.
fuzz_seed_client() {
  admin_email="fuzz-admin-$run_id@example.com"
  GIGMARKET_ADMIN_PASSWORD="fuzzing admin password" cargo run --quiet --locked -p gigctl -- \
    create-admin --email "$admin_email" --name "Fuzz Admin" --operator make-test >/dev/null
  admin_token=$(curl -s --noproxy '*' -X POST "$GIGMARKET_API_URL/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$admin_email\",\"password\":\"fuzzing admin password\"}" | json_field access_token)
  remember_secret "$admin_token"
  fuzz_gig_id=$(curl -s --noproxy '*' -X POST "$GIGMARKET_API_URL/gigs" -H "authorization: Bearer $fuzz_token" \
    -H 'content-type: application/json' \
    --data "$(python3 -c 'import json; print(json.load(open("events/gigs/create-gig.json"))["body"])')" | json_field id)
  # Approved with the ETag of the version reviewed (a new gig's is "1").
  curl -sf --noproxy '*' -o /dev/null -X POST "$GIGMARKET_API_URL/admin/gigs/$fuzz_gig_id/approve" \
    -H "authorization: Bearer $admin_token" -H 'if-match: "1"' -H 'content-type: application/json' -d '{}'
  client_token=$(register_account "fuzz-client-$run_id@example.com" client "Fuzz Client" | json_field access_token)
  remember_secret "$client_token"
  verify_email "fuzz-client-$run_id@example.com"
  review_order_id=$(place_order review-seed)
  local step action token body
  for step in "accept:$fuzz_token:{}" "deliver:$fuzz_token:{\"message\":\"Done\",\"attachments\":[]}" "complete:$client_token:{}"; do
    IFS=: read -r action token body <<<"$step"
    curl -sf --noproxy '*' -o /dev/null -X POST "$GIGMARKET_API_URL/orders/$review_order_id/$action" \
      -H "authorization: Bearer $token" -H 'content-type: application/json' -d "$body"
  done
}

# Places an order for the seeded gig's basic package (5000 EUR cents, as events/gigs/create-gig.json
# offers it) as the fuzz client (after fuzz_seed_client), with the idempotency key "$1-$run_id",
# and pays for it; prints its id.
place_order() {
  local placed
  placed=$(curl -sf --noproxy '*' -X POST "$GIGMARKET_API_URL/orders" -H "authorization: Bearer $client_token" \
    -H "Idempotency-Key: $1-$run_id" -H 'content-type: application/json' \
    -d "{\"gig_id\":\"$fuzz_gig_id\",\"package\":\"basic\",\"requirements\":\"An order to work on.\",\"expected_price_cents\":5000,\"currency\":\"EUR\"}")
  pay_order "$placed"
  json_field id <<<"$placed"
}

# Pays for the order a placement answered ($1) as a browser does: Stripe's test card on the
# order's PaymentIntent (its id is the client secret's part before "_secret_"), confirmed at the
# local Stripe; then waits until the webhook has made the order pending.
pay_order() {
  local secret intent order_id attempt
  secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["payment"]["client_secret"])' "$1")
  intent=${secret%%_secret_*}
  order_id=$(json_field id <<<"$1")
  curl -sf --noproxy '*' -o /dev/null -u "$STRIPE_SECRET_KEY:" -X POST "$STRIPE_API_BASE/v1/payment_intents/$intent" \
    -d payment_method=pm_card_visa
  curl -sf --noproxy '*' -o /dev/null -u "$STRIPE_SECRET_KEY:" -X POST "$STRIPE_API_BASE/v1/payment_intents/$intent/confirm"
  for attempt in $(seq 240); do
    if curl -sf --noproxy '*' "$GIGMARKET_API_URL/orders/$order_id" -H "authorization: Bearer $client_token" \
      | json_field status | grep -qx pending; then
      return 0
    fi
    sleep 0.25
  done
  echo "order $order_id: the payment webhook never made it pending" >&2
  return 1
}

# A new gig by the fuzz freelancer, in review; prints its id.
submit_gig() {
  curl -sf --noproxy '*' -X POST "$GIGMARKET_API_URL/gigs" -H "authorization: Bearer $fuzz_token" \
    -H 'content-type: application/json' \
    --data "$(python3 -c 'import json; print(json.load(open("events/gigs/create-gig.json"))["body"])')" | json_field id
}

# The admin pass's targets (after fuzz_seed_freelancer): a client of its own for the admin
# routes' user ids (admin_target_id; the pass gets it as FUZZ_ADMIN_TARGET_ID), so it is really
# read, blocked and unblocked; and a gig in review of its own for the moderation routes
# (moderation_gig_id, as FUZZ_MODERATION_GIG_ID: the hooks point well-formed gig ids at it and
# send its ETag), so it is really listed, decided on and removed once live; and an open order
# (after fuzz_seed_client; admin_order_id, as FUZZ_ADMIN_ORDER_ID) for the admin cancel.
fuzz_seed_admin_target() {
  admin_target_id=$(register_account "fuzz-target-$run_id@example.com" client "Fuzz Target" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
  moderation_gig_id=$(submit_gig)
  admin_order_id=$(place_order admin-fuzz)
}

# One schemathesis run against openapi.yaml with the bearer token $1 (empty: anonymous); any
# further arguments go to schemathesis (e.g. an operation filter). SCHEMATHESIS_SEED and
# SCHEMATHESIS_MAX_EXAMPLES (per operation) choose the run.
fuzz() {
  local token=$1
  shift
  local auth=() config="$ROOT/scripts/schemathesis.toml"
  # Run from .local/ (gitignored): watch restarts every function when a file in the workspace
  # changes, and schemathesis writes its state into its working directory.
  mkdir -p .local/schemathesis
  if [[ -n "$token" ]]; then
    auth=(-H "Authorization: Bearer $token")
  else
    # Anonymous: schemathesis would otherwise sign up through POST /auth/register and log in.
    config="$ROOT/.local/schemathesis/anonymous.toml"
    { cat "$ROOT/scripts/schemathesis.toml"; printf '\n[auth]\nauto-signup = false\n'; } >"$config"
  fi
  (
    cd .local/schemathesis
    # Every check but two: no 5xx; every status, content type, header and body as the spec says;
    # schema-invalid input rejected; bearer routes refuse a missing or bad token. Left out:
    # unsupported_method (an unrouted method never reaches a function: API Gateway, like watch,
    # answers 404 itself) and positive_data_acceptance (some rules, e.g. "the password must not
    # contain the email" or real ISO country codes, are stricter than JSON Schema can say).
    PYTHONPATH="$ROOT/scripts" SCHEMATHESIS_HOOKS=schemathesis_hooks "$ROOT/.local/venv/bin/schemathesis" \
      --config-file "$config" run \
      "$ROOT/openapi.yaml" --url "$GIGMARKET_API_URL" "${auth[@]}" \
      --checks all --exclude-checks unsupported_method,positive_data_acceptance \
      --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" --seed "${SCHEMATHESIS_SEED:-20261125}" \
      --workers 2 --request-timeout 30 \
      --generation-database none --no-color "$@"
  )
}
