#!/usr/bin/env bash
# The one dev command (`make dev`): installs what is missing, builds the API reference page from
# openapi.yaml, starts the local stack, creates the table and queues, seeds demo data, and serves
# every function on one port with `cargo lambda watch`, and the local WebSocket gateway beside it.
# The local bridge plays AWS's event source mappings (table stream -> dispatcher, order-events queue
# -> notifier, search index queue -> indexer, schedules -> scheduler and indexer) against watch's
# invoke endpoint, so order changes end up as mail in moto and gig changes in search. Ctrl-C stops the API, the gateway and the bridge; the stack keeps running
# (`make stop`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PORT=${PORT:-9000}
# The local WebSocket gateway (tools/gateway): clients connect here; the functions post to its
# management API (REALTIME_CALLBACK_URL).
GATEWAY_PORT=${GATEWAY_PORT:-9001}
export REALTIME_CALLBACK_URL="http://127.0.0.1:$GATEWAY_PORT/local"

bash scripts/bootstrap.sh
# The API reference page, built beside the cargo build. --inlineBundle puts Redoc's scripts in the
# page, so it works offline. A failed page is reported, not fatal: the API does not need it.
api_reference=.local/api-reference.html
mkdir -p .local/logs
REDOCLY_SUPPRESS_UPDATE_NOTICE=true .local/node/node_modules/.bin/redocly build-docs openapi.yaml \
  --inlineBundle -o "$api_reference" >.local/logs/api-reference.log 2>&1 &
api_reference_pid=$!
# Build before watch starts: a watch started while cargo writes Cargo.lock dies.
cargo build --workspace --locked
if wait "$api_reference_pid"; then
  api_reference="file://$ROOT/$api_reference (built from openapi.yaml; open it in a browser)"
else
  api_reference="not built, see .local/logs/api-reference.log"
fi
bash scripts/stack.sh start
source scripts/env.sh

export TABLE_NAME=${TABLE_NAME:-gigmarket-local}
export SENDER_EMAIL=${SENDER_EMAIL:-no-reply@gigmarket.local}
eval "$(cargo run --quiet --locked -p gigctl -- setup)"
cargo run --quiet --locked -p gigctl -- seed
# A gig change is searchable within seconds (deployed: the 15 s default).
export SEARCH_INDEX_POLL_SECS=${SEARCH_INDEX_POLL_SECS:-2}

cat <<MSG

Gigmarket API: http://127.0.0.1:$PORT
  API reference: $api_reference
  WebSocket API: ws://127.0.0.1:$GATEWAY_PORT/local?ticket=<POST /realtime/tickets> (log: .local/logs/gateway.log)
  try:  curl -s -X POST http://127.0.0.1:$PORT/auth/login -H 'content-type: application/json' \\
          -d '{"email":"client@demo.gigmarket.local","password":"demo-password-123"}'
  stack endpoints: .local/stack.env   sent mail: curl -s $MOTO_ENDPOINT/moto-api/data.json (key "ses" -> "Message")
  bridge log (stream -> dispatcher, queues -> notifier and indexer, scheduler every 60 s): .local/logs/bridge.log
  Ctrl-C stops the API, the gateway and the bridge; 'make stop' stops DynamoDB Local and moto.

MSG
# The bridge retries until watch answers, so it can start first.
"${CARGO_TARGET_DIR:-target}/debug/bridge" --invoke-url "http://127.0.0.1:$PORT" >.local/logs/bridge.log 2>&1 &
bridge_pid=$!
"${CARGO_TARGET_DIR:-target}/debug/gateway" --invoke-url "http://127.0.0.1:$PORT" \
  --address "127.0.0.1:$GATEWAY_PORT" >.local/logs/gateway.log 2>&1 &
gateway_pid=$!
trap 'kill "$bridge_pid" "$gateway_pid" 2>/dev/null || true' EXIT
# Stripe's events go to the webhook (payments) watch serves, signed with STRIPE_WEBHOOK_SECRETS
# (scripts/env.sh exported it to watch); nothing is sent before someone pays.
bash scripts/stack.sh stripe-webhook "http://127.0.0.1:$PORT/webhooks/stripe"
# Connected accounts' events (a freelancer's onboarding) go to the Connect webhook (payouts).
bash scripts/stack.sh stripe-connect-webhook "http://127.0.0.1:$PORT/webhooks/stripe/connect"
cargo lambda watch -P "$PORT" --concurrency 4
