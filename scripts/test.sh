#!/usr/bin/env bash
# The one test command (`make test`, and what .ci/run calls). Its steps, in order:
# 1. bootstrap: installs what is missing;
# 2. lint: cargo fmt --check, clippy -D warnings, redocly lint of openapi.yaml;
# 3. infra: offline checks (cfn-lint, sam validate --lint, cdk synth, the keyset resource);
# 4. build: the workspace (functions, tools, tests); the arm64 deployment build starts beside
#    the rest, in the background;
# 5. stack: the local stack if it is not running, then the run's own table, queue, JWT secret,
#    call log and secrets file, `cargo lambda watch` serving every function, the local bridge;
# 6. tests: load (alone), the suite, the end-to-end tests through watch (tests/e2e), the
#    refused mail (alone), the generated TypeScript client's example (tests/clients);
# 7. fuzz: the schemathesis passes with their seeding (scripts/fuzz-lib.sh);
# 8. after the run: permissions (the call log against SAM and CDK), EMF lines, no secrets in the
#    logs (tests/permissions.rs, tests/after_run.rs);
# 9. the arm64 sizes.
# It stops what it started. SKIP_ARM64=1 skips the arm64 deployment build (steps 4 and 9), for a
# quicker run on a busy machine; CI leaves it unset.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
log() { printf '\n==> %s\n' "$*" >&2; }

log "installing local tools (no-op when present)"
bash scripts/bootstrap.sh

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "infra offline checks: cfn-lint, sam validate --lint, cdk synth (no bundling)"
# Offline: no credentials, no telemetry, no notices; a region is all the validators need.
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} SAM_CLI_TELEMETRY=0 CDK_DISABLE_CLI_TELEMETRY=true
.local/venv/bin/cfn-lint infra/template.yaml
.local/venv/bin/sam validate --lint -t infra/template.yaml
# The synth output is what tests/integration/infra.rs checks.
(
  cd infra/cdk
  rm -rf cdk.out
  ./node_modules/.bin/tsc
  GIGMARKET_SKIP_BUNDLING=1 ./node_modules/.bin/cdk synth --quiet --no-notices >/dev/null
)
# W3005 (a DependsOn a GetAtt already implies) is how CDK writes every Lambda role.
.local/venv/bin/cfn-lint --ignore-checks W3005 -- infra/cdk/cdk.out/*.template.json
# The custom resource that writes the first JWT keyset, against moto's Secrets Manager.
PYTHONDONTWRITEBYTECODE=1 .local/venv/bin/python -m unittest discover -s infra/jwt-keyset

log "openapi.yaml: redocly lint (recommended rules)"
bash scripts/lint-spec.sh

log "building the workspace (functions, tools, tests)"
cargo build --workspace --all-targets --locked


# Reuse a stack `make dev` left running; otherwise start one and stop it at the end.
started_stack=false
if ! bash scripts/stack.sh status >/dev/null 2>&1; then
  started_stack=true
fi
watch_pid=""
bridge_pid=""
gateway_pid=""
arm64_pid=""
cleanup() {
  if [[ -n "$arm64_pid" ]]; then
    kill -- "-$arm64_pid" 2>/dev/null || true
    wait "$arm64_pid" 2>/dev/null || true
  fi
  if [[ -n "$gateway_pid" ]]; then
    kill "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  if [[ -n "$bridge_pid" ]]; then
    kill "$bridge_pid" 2>/dev/null || true
    wait "$bridge_pid" 2>/dev/null || true
  fi
  if [[ -n "$watch_pid" ]]; then
    kill -- "-$watch_pid" 2>/dev/null || kill "$watch_pid" 2>/dev/null || true
    wait "$watch_pid" 2>/dev/null || true
  fi
  if $started_stack; then
    bash scripts/stack.sh stop || true
  fi
}
trap cleanup EXIT

# The deployment build (arm64 release of every function, zipped sizes within budget) runs beside
# the stack tests, which mostly wait on DynamoDB Local and HTTP; it is checked at the end. It has
# its own target dir: in the shared one, cargo's build-directory lock made every `cargo run` of the
# tests (gigctl, each function `cargo lambda watch` starts) wait for a whole arm64 link group. It
# shares nothing with the debug build anyway (other profile, other target), and runs niced so the
# tests' own builds come first.
arm64_target_dir="${CARGO_TARGET_DIR:-$PWD/target}/arm64"
mkdir -p .local/logs
if [[ -z "${SKIP_ARM64:-}" ]]; then
  log "deployment build: every function for arm64, in the background (.local/logs/arm64-build.log, $arm64_target_dir)"
  CARGO_TARGET_DIR="$arm64_target_dir" setsid nice -n 10 bash scripts/build-arm64.sh >.local/logs/arm64-build.log 2>&1 &
  arm64_pid=$!
fi

log "starting the local stack"
bash scripts/stack.sh start
source scripts/env.sh

# The end-to-end test's functions get a table and queue of their own, so it never sees a dev
# stack's data; other tests create one fresh table each.
run_id=$(date +%s)-$$
export TABLE_NAME="gigmarket-e2e-$run_id"
export ORDER_EVENTS_QUEUE_NAME="gigmarket-e2e-$run_id"
# The run's own search index queue and bucket: an index of another table's gigs would answer
# with gigs this table lacks.
export SEARCH_INDEX_QUEUE_NAME="gigmarket-e2e-$run_id-search-index"
export SEARCH_INDEX_BUCKET="gigmarket-search-index-e2e-$run_id"
eval "$(cargo run --quiet --locked -p gigctl -- setup)"

# The JWT keysets (verifying and signing), the Stripe key and the two webhooks' signing secrets in
# moto's Secrets Manager: the functions under watch read them as deployed ones do
# (JWT_KEYS_SECRET_ID, JWT_SIGNING_KEYS_SECRET_ID (auth alone), STRIPE_SECRET_KEY_ID,
# STRIPE_WEBHOOK_SECRETS_ID, STRIPE_CONNECT_WEBHOOK_SECRETS_ID), so each secret's grant is proven
# too. In-process tests keep the
# file and the plain values. The values go through the environment, never onto a command line.
jwt_secret_id="gigmarket/e2e-$run_id/jwt-keys"
jwt_signing_secret_id="gigmarket/e2e-$run_id/jwt-signing-keys"
stripe_key_secret_id="gigmarket/e2e-$run_id/stripe-secret-key"
stripe_webhook_secret_id="gigmarket/e2e-$run_id/stripe-webhook-secrets"
stripe_connect_secret_id="gigmarket/e2e-$run_id/stripe-connect-webhook-secrets"
.local/venv/bin/python - "$jwt_secret_id" "$JWT_KEYS_FILE" "$stripe_key_secret_id" "$stripe_webhook_secret_id" \
  "$stripe_connect_secret_id" "$jwt_signing_secret_id" "$JWT_SIGNING_KEYS_FILE" <<'PY'
import os, sys, boto3
jwt_id, keys_file, stripe_key_id, stripe_webhook_id, stripe_connect_id, signing_id, signing_file = sys.argv[1:8]
secrets = boto3.client("secretsmanager")
secrets.create_secret(Name=jwt_id, SecretString=open(keys_file).read())
secrets.create_secret(Name=signing_id, SecretString=open(signing_file).read())
secrets.create_secret(Name=stripe_key_id, SecretString=os.environ["STRIPE_SECRET_KEY"])
secrets.create_secret(Name=stripe_webhook_id, SecretString=os.environ["STRIPE_WEBHOOK_SECRETS"])
secrets.create_secret(Name=stripe_connect_id, SecretString=os.environ["STRIPE_CONNECT_WEBHOOK_SECRETS"])
PY

# Every AWS call the functions make from here on, one JSON line per IAM authorisation
# (shared/src/call_log.rs: only processes watch runs as functions record); tests/permissions.rs
# checks the SAM and CDK grants against it last.
export GIGMARKET_AWS_CALL_LOG="$ROOT/.local/aws-calls-$run_id.jsonl"
: >"$GIGMARKET_AWS_CALL_LOG"

# Every password and token the run uses, one a line (the e2e tests add theirs through
# tests/src/secrets.rs, the fuzz seeding its own); tests/after_run.rs checks the logs for them.
export GIGMARKET_SECRETS_FILE="$ROOT/.local/secrets-$run_id.txt"
: >"$GIGMARKET_SECRETS_FILE"
remember_secret() { printf '%s\n' "$@" >>"$GIGMARKET_SECRETS_FILE"; }
remember_secret "fuzzing password 1" "fuzzing admin password"
# The stripe service signs its webhook deliveries with them.
remember_secret "$STRIPE_WEBHOOK_SECRETS" "$STRIPE_CONNECT_WEBHOOK_SECRETS"
# watch's log holds every function's output (tracing, EMF), the bridge's its own.
export GIGMARKET_WATCH_LOG="$ROOT/.local/logs/watch-test.log" GIGMARKET_BRIDGE_LOG="$ROOT/.local/logs/bridge-test.log"

watch_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The local WebSocket gateway (tools/gateway): its port is chosen first, so the functions under
# watch get its management API as their callback URL.
gateway_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export REALTIME_CALLBACK_URL="http://127.0.0.1:$gateway_port/local"
export GIGMARKET_WEBSOCKET_URL="ws://127.0.0.1:$gateway_port/local"
log "starting cargo lambda watch on port $watch_port"
mkdir -p .local/logs
# setsid: its own process group, so cleanup stops watch and every function it spawned.
# Every request through watch comes from 127.0.0.1, and schemathesis registers and fails logins
# by the hundred: lift the per-address limits; the load test places 20 orders per client and
# schemathesis creates gigs and sends messages by the hundred: lift the per-user quotas and the
# per-client request rate too (the tests of all of them run in-process, tests/integration).
# Earnings clear at once (PAYOUT_CLEARANCE_DAYS=0), so the end-to-end payout needs no clock.
# `search` polls the index every second and the indexer deletes retired index files after 5 s,
# so a gig change is searchable within seconds and the run sees the deletions it grants.
setsid env -u JWT_KEYS_FILE -u JWT_SIGNING_KEYS_FILE -u STRIPE_SECRET_KEY -u STRIPE_WEBHOOK_SECRETS \
  -u STRIPE_CONNECT_WEBHOOK_SECRETS JWT_KEYS_SECRET_ID="$jwt_secret_id" \
  JWT_SIGNING_KEYS_SECRET_ID="$jwt_signing_secret_id" STRIPE_SECRET_KEY_ID="$stripe_key_secret_id" \
  STRIPE_WEBHOOK_SECRETS_ID="$stripe_webhook_secret_id" \
  STRIPE_CONNECT_WEBHOOK_SECRETS_ID="$stripe_connect_secret_id" PAYOUT_CLEARANCE_DAYS=0 \
  SEARCH_INDEX_POLL_SECS=1 SEARCH_INDEX_RETIRED_FILES_KEPT_SECS=5 \
  LOGIN_MAX_ATTEMPTS_PER_ADDRESS=100000 REGISTRATIONS_PER_ADDRESS=100000 \
  ORDER_PLACEMENTS_PER_HOUR=100000 MESSAGES_PER_MINUTE=100000 GIGS_CREATED_PER_DAY=100000 \
  REQUESTS_PER_MINUTE_PER_USER=100000000 REQUESTS_PER_MINUTE_PER_ADDRESS=100000000 \
  cargo lambda watch -P "$watch_port" --concurrency 4 >"$GIGMARKET_WATCH_LOG" 2>&1 &
watch_pid=$!
export GIGMARKET_API_URL="http://127.0.0.1:$watch_port"
# The schemathesis passes and their seeding (shared with `make fuzz`), and wait_for_api.
source scripts/fuzz-lib.sh
wait_for_api "$watch_pid" "$GIGMARKET_WATCH_LOG"
# Stripe's events reach the webhook under watch (payments), signed with the stack's
# STRIPE_WEBHOOK_SECRETS (the secret above): a test card's payment moves its order as deployed.
bash scripts/stack.sh stripe-webhook "$GIGMARKET_API_URL/webhooks/stripe" e2e
# Connected accounts' events (account.updated) reach the Connect webhook (payouts), signed with
# STRIPE_CONNECT_WEBHOOK_SECRETS.
bash scripts/stack.sh stripe-connect-webhook "$GIGMARKET_API_URL/webhooks/stripe/connect" e2e-connect

# The bridge plays AWS's event source mappings: table stream -> dispatcher, queues -> notifier and
# indexer.
# The schedule is off: the end-to-end tests invoke the scheduler themselves.
log "starting the local bridge"
"${CARGO_TARGET_DIR:-target}/debug/bridge" --invoke-url "$GIGMARKET_API_URL" --schedule-every 0 \
  >"$GIGMARKET_BRIDGE_LOG" 2>&1 &
bridge_pid=$!

log "starting the local WebSocket gateway on port $gateway_port"
"${CARGO_TARGET_DIR:-target}/debug/gateway" --invoke-url "$GIGMARKET_API_URL" --address "127.0.0.1:$gateway_port" \
  >"$ROOT/.local/logs/gateway-test.log" 2>&1 &
gateway_pid=$!

# --- Tests: the scenarios are Rust tests (tests/); each step below runs one group of them.
log "load through watch: 200 placements, then 240 transitions, started at once (tests/load.rs)"
# Alone: it checks that the marketplace metrics moved by its own orders only. Before the suite:
# DynamoDB Local slows as it ages (hundreds of test tables), and this step is the most sensitive.
cargo nextest run --locked -p gigmarket-tests --test load

log "running the test suite"
# In-process tests of every crate. The end-to-end tests come next, the after-run checks last.
cargo nextest run --workspace --locked --no-fail-fast \
  -E 'not (binary(load) | binary(e2e) | binary(mail_refused) | binary(permissions) | binary(after_run))'

log "end to end through watch and the bridge (tests/e2e): sample events, scheduler, admin, ..."
cargo nextest run --locked --no-fail-fast -p gigmarket-tests --test e2e

log "a mail SES refuses, alone (tests/mail_refused.rs): it un-verifies the sender for a moment"
cargo nextest run --locked -p gigmarket-tests --test mail_refused

log "a client nobody here wrote: the TypeScript client generated from openapi.yaml (tests/clients)"
# register, verify by the mailed token, browse, order: the listed gigs are the tests' own.
bash scripts/check-client.sh

# --- Fuzzing: schemathesis over the API served by watch (scripts/fuzz-lib.sh).
log "schemathesis: fuzzing the local API against openapi.yaml"
# A seeded account, so the bearer routes are exercised past authentication (scripts/fuzz-lib.sh).
fuzz_seed_freelancer
fuzz "$fuzz_token"

log "schemathesis: again as a client, with an active gig to order"
# A freelancer can not order, so the pass above only sees the order routes refuse: an active
# gig to order, a client, and a completed order to review (scripts/fuzz-lib.sh).
fuzz_seed_client
FUZZ_GIG_ID=$fuzz_gig_id FUZZ_ORDER_ID=$review_order_id fuzz "$client_token"

log "schemathesis: the admin routes as an admin"
# A client, a gig in review and an open order of their own for the admin routes' ids
# (scripts/fuzz-lib.sh); the lists have the fuzz users, orders and reviews to read. No stateful
# phase: the admin routes have no links.
fuzz_seed_admin_target
FUZZ_ADMIN_TARGET_ID=$admin_target_id FUZZ_MODERATION_GIG_ID=$moderation_gig_id FUZZ_ADMIN_ORDER_ID=$admin_order_id \
  fuzz "$admin_token" --include-tag admin --phases examples,coverage,fuzzing

# --- After the run: checks on what the whole run recorded.
log "after the run: permissions (the call log), EMF lines and no secrets in the logs"
# The bridge may still be delivering the last order events: wait until the call log stops growing.
size=-1
while [[ "$(stat -c %s "$GIGMARKET_AWS_CALL_LOG")" != "$size" ]]; do
  size=$(stat -c %s "$GIGMARKET_AWS_CALL_LOG")
  sleep 3
done
cargo nextest run --locked --no-fail-fast -p gigmarket-tests --test permissions --test after_run

if [[ -z "$arm64_pid" ]]; then
  log "deployment build: skipped (SKIP_ARM64)"
  exit 0
fi
log "deployment build: arm64 sizes"
if ! wait "$arm64_pid"; then
  arm64_pid=""
  tail -n 40 .local/logs/arm64-build.log
  echo "the arm64 deployment build failed (or a zipped bootstrap is over budget)"
  exit 1
fi
arm64_pid=""
grep -E '^(\||arm64 release build)' .local/logs/arm64-build.log
