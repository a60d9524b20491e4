#!/usr/bin/env bash
# The one test command (`make test`, and what .ci/run calls): installs what is missing, checks
# formatting and lints, checks the infra offline (cfn-lint, sam validate --lint, cdk synth),
# builds, starts the local stack if it is not running, runs every test against it (including the
# end-to-end test through `cargo lambda watch`), invokes sample events with `cargo lambda invoke`,
# fuzzes the API against openapi.yaml with schemathesis, and stops what it started.
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

log "building the workspace (functions, tools, tests)"
cargo build --workspace --all-targets --locked


# Reuse a stack `make dev` left running; otherwise start one and stop it at the end.
started_stack=false
if ! bash scripts/stack.sh status >/dev/null 2>&1; then
  started_stack=true
fi
watch_pid=""
bridge_pid=""
arm64_pid=""
cleanup() {
  if [[ -n "$arm64_pid" ]]; then
    kill -- "-$arm64_pid" 2>/dev/null || true
    wait "$arm64_pid" 2>/dev/null || true
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
log "deployment build: every function for arm64, in the background (.local/logs/arm64-build.log, $arm64_target_dir)"
mkdir -p .local/logs
CARGO_TARGET_DIR="$arm64_target_dir" setsid nice -n 10 bash scripts/build-arm64.sh >.local/logs/arm64-build.log 2>&1 &
arm64_pid=$!

log "starting the local stack"
bash scripts/stack.sh start
source scripts/env.sh

# The end-to-end test's functions get a table and queue of their own, so it never sees a dev
# stack's data; other tests create one fresh table each.
run_id=$(date +%s)-$$
export TABLE_NAME="gigmarket-e2e-$run_id"
export ORDER_EVENTS_QUEUE_NAME="gigmarket-e2e-$run_id"
eval "$(cargo run --quiet --locked -p gigctl -- setup)"

# The JWT keyset in moto's Secrets Manager: the functions under watch read it as deployed ones do
# (JWT_KEYS_SECRET_ID), so the secret's grant is proven too. In-process tests keep the file.
jwt_secret_id="gigmarket/e2e-$run_id/jwt-keys"
.local/venv/bin/python - "$jwt_secret_id" "$JWT_KEYS_FILE" <<'PY'
import sys, boto3
secret_id, keys_file = sys.argv[1], sys.argv[2]
boto3.client("secretsmanager").create_secret(Name=secret_id, SecretString=open(keys_file).read())
PY

# Every AWS call the functions make from here on, one JSON line per IAM authorisation
# (shared/src/call_log.rs); tests/permissions.rs checks the SAM and CDK grants against it last.
export CALL_LOG="$ROOT/.local/aws-calls-$run_id.jsonl"
: >"$CALL_LOG"

# Every password and token the run uses, one a line (the e2e tests add theirs through
# tests/src/secrets.rs); checked against every function's log at the end.
export GIGMARKET_SECRETS_FILE="$ROOT/.local/secrets-$run_id.txt"
: >"$GIGMARKET_SECRETS_FILE"
remember_secret() { printf '%s\n' "$@" >>"$GIGMARKET_SECRETS_FILE"; }
remember_secret "a long password" "an even longer password" "a fresh reset password" \
  "fuzzing password 1" "fuzzing admin password"

watch_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log "starting cargo lambda watch on port $watch_port"
mkdir -p .local/logs
# setsid: its own process group, so cleanup stops watch and every function it spawned.
# Every request through watch comes from 127.0.0.1, and schemathesis registers and fails logins
# by the hundred: lift the per-address limits (their tests run in-process, tests/integration).
setsid env -u JWT_KEYS_FILE JWT_KEYS_SECRET_ID="$jwt_secret_id" GIGMARKET_AWS_CALL_LOG="$CALL_LOG" \
  LOGIN_MAX_ATTEMPTS_PER_ADDRESS=100000 REGISTRATIONS_PER_ADDRESS=100000 \
  cargo lambda watch -P "$watch_port" --concurrency 4 >.local/logs/watch-test.log 2>&1 &
watch_pid=$!
export GIGMARKET_API_URL="http://127.0.0.1:$watch_port"
# The schemathesis passes and their seeding (shared with `make fuzz`), and wait_for_api.
source scripts/fuzz-lib.sh
wait_for_api "$watch_pid" .local/logs/watch-test.log

# The bridge plays AWS's event source mappings: table stream -> dispatcher, queue -> notifier.
# The schedule is off: the end-to-end test invokes the scheduler itself.
log "starting the local bridge"
"${CARGO_TARGET_DIR:-target}/debug/bridge" --invoke-url "$GIGMARKET_API_URL" --schedule-every 0 \
  >.local/logs/bridge-test.log 2>&1 &
bridge_pid=$!

log "invoking sample events through cargo lambda invoke"
# events/ on a fresh table: register, log in, then the profile and orders with the session's token.
invoke() {
  local function=$1 file=$2 expected=$3 output status
  output=$(cargo lambda invoke -P "$watch_port" "$function" --data-file "$file")
  status=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["statusCode"])' <<<"$output")
  if [[ "$status" != "$expected" ]]; then
    echo "cargo lambda invoke $function --data-file $file: status $status, expected $expected"
    echo "$output" | head -c 2000
    exit 1
  fi
  echo "  $file -> $status" >&2
  INVOKE_OUTPUT=$output
}
invoke auth events/auth/register.json 201
invoke auth events/auth/login.json 200
access_token=$(python3 -c 'import json,sys; print(json.loads(json.load(sys.stdin)["body"])["access_token"])' <<<"$INVOKE_OUTPUT")
remember_secret "$access_token"
sed "s/<ACCESS_TOKEN>/$access_token/" events/users/get-me.json >.local/get-me.json
invoke users .local/get-me.json 200
sed "s/<CLIENT_TOKEN>/$access_token/" events/orders/list-orders.json >.local/list-orders.json
invoke orders .local/list-orders.json 200
invoke gigs events/gigs/list-categories.json 200
# Email verification and password reset: another verification mail for the new account, and a
# reset mail (202 whatever the email). Both are `account` events auth sends to the queue itself.
sed "s/<ACCESS_TOKEN>/$access_token/" events/auth/resend-verification.json >.local/resend-verification.json
invoke auth .local/resend-verification.json 202
invoke auth events/auth/forgot-password.json 202
# The scheduler's sample (what its rule sends): a run over the still empty table does nothing.
output=$(cargo lambda invoke -P "$watch_port" scheduler --data-file events/scheduler/scheduled.json)
python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if r=={"auto_completed":0,"marked_late":0,"skipped":0,"reviews_published":0} else f"scheduler: {r}")' <<<"$output"
echo "  events/scheduler/scheduled.json -> $output" >&2

log "events from the wrong trigger: each event function refuses a payload that is not its trigger's"
# A stream batch to the notifier, an SQS batch to the dispatcher, an API request to the
# scheduler and the notifier: a WrongTrigger invocation error each, nothing processed.
for pair in notifier:events/dispatcher/order-placed.json dispatcher:events/notifier/order-placed.json \
  scheduler:events/gigs/browse-gigs.json notifier:events/gigs/browse-gigs.json; do
  function=${pair%%:*} file=${pair#*:}
  if output=$(cargo lambda invoke -P "$watch_port" "$function" --data-file "$file" 2>&1); then
    echo "cargo lambda invoke $function --data-file $file was accepted: $output"
    exit 1
  fi
  grep -q WrongTrigger <<<"$output" || { echo "$function $file: not a WrongTrigger refusal: $output"; exit 1; }
  echo "  $function refuses $file" >&2
done

log "load through watch: 200 placements, then 240 transitions, started at once (tests/load.rs)"
# Alone: it checks that the marketplace metrics moved by its own orders only. Before the suite:
# DynamoDB Local slows as it ages (hundreds of test tables), and this step is the most sensitive.
cargo nextest run --locked -p gigmarket-tests --test load

log "running the test suite"
# permissions runs last, on the call log of everything (below); load ran alone (above).
cargo nextest run --workspace --locked --no-fail-fast -E 'not binary(permissions) and not binary(load)'

log "schemathesis: fuzzing the local API against openapi.yaml"
# A seeded account, so the bearer routes are exercised past authentication (scripts/fuzz-lib.sh).
fuzz_seed_freelancer
fuzz "$fuzz_token"

log "schemathesis: again as a client, with an active gig to order"
# A freelancer can not order, so the pass above only sees the order routes refuse: an active
# gig to order, a client, and a completed order to review (scripts/fuzz-lib.sh).
fuzz_seed_client
FUZZ_GIG_ID=$fuzz_gig_id FUZZ_ORDER_ID=$review_order_id fuzz "$client_token"

log "the scheduler through watch: one order past its auto-complete deadline, one past its due date"
# Deadlines are days away, so move two real orders' deadlines (the attribute the domain checks and
# its deadline index entry, gsi3sk) into the past and let the deployed code path do the rest:
# auto-complete (order, timeline, the gig's counters) and mark late.
order_action() {
  local body=${3:-'{}'}
  curl -sf --noproxy '*' -o /dev/null -X POST "$GIGMARKET_API_URL/orders/$1/$2" -H "authorization: Bearer $fuzz_token" \
    -H 'content-type: application/json' -d "$body"
}
to_complete=$(place_order auto-complete)
order_action "$to_complete" accept
order_action "$to_complete" deliver '{"message":"Done","attachments":["https://files.example.com/logo.png"]}'
to_mark_late=$(place_order late)
order_action "$to_mark_late" accept
.local/venv/bin/python - "$TABLE_NAME" "$to_complete" "$to_mark_late" <<'PY'
import sys, boto3
table, to_complete, to_mark_late = sys.argv[1:]
for order, deadline in [(to_complete, "auto_complete_at"), (to_mark_late, "due_at")]:
    boto3.client("dynamodb").update_item(
        TableName=table, Key={"pk": {"S": f"ORDER#{order}"}, "sk": {"S": "ORDER"}},
        UpdateExpression=f"SET gsi3sk = :past, {deadline} = :then",
        ExpressionAttributeValues={":past": {"S": f"{0:012}#{order}"}, ":then": {"S": "2000-01-01T00:00:00Z"}},
        ConditionExpression=f"attribute_exists(gsi3pk) AND attribute_exists({deadline})")
PY
output=$(cargo lambda invoke -P "$watch_port" scheduler --data-file events/scheduler/scheduled.json)
echo "  scheduler: $output" >&2
python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if r["auto_completed"]>=1 and r["marked_late"]>=1 else f"scheduler: {r}")' <<<"$output"

log "the scheduler through watch: a review still sealed when its window closed is published"
# The auto-completed order above is reviewed by its client (sealed); move the
# review's window (the attribute the use case checks and its deadline index entry, gsi3sk) into
# the past and let the deployed code path publish it (review, review states, rating totals, the
# gig's re-index).
review_id=$(curl -sf --noproxy '*' -X POST "$GIGMARKET_API_URL/reviews" -H "authorization: Bearer $client_token" \
  -H 'content-type: application/json' \
  -d "{\"order_id\":\"$to_complete\",\"rating\":4,\"comment\":\"Published by the clock.\"}" | json_field id)
.local/venv/bin/python - "$TABLE_NAME" "$review_id" <<'PY'
import sys, boto3
table, review = sys.argv[1:]
boto3.client("dynamodb").update_item(
    TableName=table, Key={"pk": {"S": f"REVIEW#{review}"}, "sk": {"S": "REVIEW"}},
    UpdateExpression="SET gsi3sk = :past, window_closes_at = :then",
    ExpressionAttributeValues={":past": {"S": f"{0:012}#{review}"}, ":then": {"S": "2000-01-01T00:00:00Z"}},
    ConditionExpression="attribute_exists(gsi3pk)")
PY
output=$(cargo lambda invoke -P "$watch_port" scheduler --data-file events/scheduler/scheduled.json)
echo "  scheduler: $output" >&2
python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if r["reviews_published"]>=1 else f"scheduler: {r}")' <<<"$output"

log "a failed mail: SES refuses, the notifier releases its claim and counts a failure"
# The notifier's failure path (release the mail claim, MailFailures), through watch and the
# bridge like every other call: moto refuses mail from an unverified sender, so un-verify it,
# place an order, wait for the failure, verify it again (the redelivery then mails).
sender=${SENDER_EMAIL:-no-reply@gigmarket.local}
ses() { .local/venv/bin/python -c "import boto3, sys; getattr(boto3.client('ses'), sys.argv[1])(**{sys.argv[2]: sys.argv[3]})" "$@"; }
ses delete_identity Identity "$sender"
curl -sf --noproxy '*' -o /dev/null -X POST "$GIGMARKET_API_URL/orders" -H "authorization: Bearer $client_token" \
  -H "Idempotency-Key: mail-failure-$run_id" -H 'content-type: application/json' \
  -d "{\"gig_id\":\"$fuzz_gig_id\",\"package\":\"basic\",\"requirements\":\"A failed mail, then a sent one.\"}"
released=false
for _ in $(seq 1 60); do
  # Call log lines have their keys sorted: action, function, leading_key, resource.
  if grep -q '"action":"dynamodb:DeleteItem","function":"notifier"' "$CALL_LOG"; then
    released=true
    break
  fi
  sleep 1
done
ses verify_email_identity EmailAddress "$sender"
$released || { echo "the notifier never released a mail claim after a refused send"; tail -n 40 .local/logs/watch-test.log; exit 1; }

# Admin.
log "admin through watch: a user's details, block (the gig leaves browse), unblock, the audit log"
# The admin function's every grant: counts (index Queries), the block transaction (user Update,
# audit Put), the re-listing (gig Update, entry Delete/Put, owner ConditionCheck), the mark's
# UpdateItem, the audit listing. The fuzz freelancer's gig is active here.
admin_call() {
  curl -sf --noproxy '*' -X "$1" "$GIGMARKET_API_URL$2" -H "authorization: Bearer $admin_token" \
    -H 'content-type: application/json' ${3:+-d "$3"}
}
fuzz_freelancer_id=$(curl -sf --noproxy '*' "$GIGMARKET_API_URL/me" -H "authorization: Bearer $fuzz_token" | json_field id)
admin_call GET "/admin/users/$fuzz_freelancer_id" >/dev/null
admin_call POST "/admin/users/$fuzz_freelancer_id/block" '{"reason":"make test: blocked for a moment"}' >/dev/null
listed=$(curl -sf --noproxy '*' "$GIGMARKET_API_URL/gigs/$fuzz_gig_id" -o /dev/null -w '%{http_code}' || true)
[ "$listed" = 404 ] || { echo "a blocked freelancer's gig is still public ($listed)"; exit 1; }
admin_call POST "/admin/users/$fuzz_freelancer_id/unblock" '{}' >/dev/null
curl -sf --noproxy '*' -o /dev/null "$GIGMARKET_API_URL/gigs/$fuzz_gig_id"
admin_call GET "/admin/audit?target=$fuzz_freelancer_id" |
  python3 -c 'import json,sys; a=[e["action"] for e in json.load(sys.stdin)["items"]]; sys.exit(0 if a==["unblock_user","block_user"] else f"audit: {a}")'
# Admin metrics and oversight: the counters through watch (the BatchGetItem grant on METRICS#);
# an unknown review's hide is 404 (GetItem on REVIEW#).
log "admin metrics and oversight through watch"
admin_call GET "/admin/metrics" |
  python3 -c 'import json,sys; m=json.load(sys.stdin); sys.exit(0 if m["users"]["admin"]["active"] >= 1 and "pending" in m["orders"] else f"metrics: {m}")'
hidden=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -X POST "$GIGMARKET_API_URL/admin/reviews/$(python3 -c 'import uuid; print(uuid.uuid4())')/hide" \
  -H "authorization: Bearer $admin_token" -H 'content-type: application/json' -d '{"reason":"make test"}')
[ "$hidden" = 404 ] || { echo "hiding an unknown review answered $hidden"; exit 1; }

# Gig moderation through the admin function: the queue (its gsi2 Query), a rejection on the ETag
# reviewed, an approval and a removal: gig Update, listing entry Put and Delete, owner
# ConditionCheck, counters Update and audit Put in one transaction each, all through watch.
log "gig moderation through watch: the queue, reject, approve, remove, each audited"
moderate() {  # moderate <gig id> <decision> <If-Match or ""> <body>
  curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -X POST "$GIGMARKET_API_URL/admin/gigs/$1/$2" \
    -H "authorization: Bearer $admin_token" -H 'content-type: application/json' ${3:+-H "if-match: $3"} -d "$4"
}
to_reject=$(submit_gig)
to_remove=$(submit_gig)
admin_call GET "/admin/gigs?status=pending_review&limit=100" | python3 -c '
import json, sys
queued = {item["gig"]["id"]: item["etag"] for item in json.load(sys.stdin)["items"]}
wanted = sys.argv[1:]
sys.exit(0 if all(queued.get(gig) == "\"1\"" for gig in wanted) else f"queue: {queued}, wanted {wanted}")
' "$to_reject" "$to_remove"
[ "$(moderate "$to_reject" reject '' '{"reason":"make test"}')" = 428 ] || { echo "a rejection without If-Match was not 428"; exit 1; }
[ "$(moderate "$to_reject" reject '"7"' '{"reason":"make test"}')" = 412 ] || { echo "a rejection on a stale ETag was not 412"; exit 1; }
[ "$(moderate "$to_reject" reject '"1"' '{"reason":"make test: rejected"}')" = 200 ] || { echo "the rejection failed"; exit 1; }
[ "$(moderate "$to_remove" approve '"1"' '{}')" = 200 ] || { echo "the approval failed"; exit 1; }
curl -sf --noproxy '*' -o /dev/null "$GIGMARKET_API_URL/gigs/$to_remove"
[ "$(moderate "$to_remove" remove '' '{"reason":"make test: removed"}')" = 200 ] || { echo "the removal failed"; exit 1; }
removed=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$GIGMARKET_API_URL/gigs/$to_remove")
[ "$removed" = 404 ] || { echo "a removed gig is still public ($removed)"; exit 1; }
for gig in "$to_reject" "$to_remove"; do
  admin_call GET "/admin/audit?target=$gig" |
    python3 -c 'import json,sys; a=[e["action"] for e in json.load(sys.stdin)["items"]]; sys.exit(0 if a in (["reject_gig"], ["remove_gig","approve_gig"]) else f"audit: {a}")'
done

# Admin oversight: an open order cancelled by an admin (GetItem and the transition's
# transaction on ORDER#, GIG#, METRICS#, AUDIT#).
log "admin oversight through watch: cancel an open order, the users, orders and reviews lists"
admin_cancelled=$(place_order admin-cancel)
admin_call POST "/admin/orders/$admin_cancelled/cancel" '{"reason":"make test: cancelled by an admin"}' |
  python3 -c 'import json,sys; o=json.load(sys.stdin)["order"]; sys.exit(0 if o["status"]=="cancelled" else f"admin cancel: {o}")'
# The lists (index Queries): the cancelled order among the orders, the fuzz freelancer found by
# their email, the review the scheduler published among the reviews.
admin_call GET "/admin/orders?status=cancelled&limit=100" |
  python3 -c 'import json,sys; ids=[o["id"] for o in json.load(sys.stdin)["items"]]; sys.exit(0 if sys.argv[1] in ids else f"admin orders: {ids}")' "$admin_cancelled"
admin_call GET "/admin/users?role=freelancer&q=$fuzz_email" |
  python3 -c 'import json,sys; ids=[u["id"] for u in json.load(sys.stdin)["items"]]; sys.exit(0 if ids==[sys.argv[1]] else f"admin users: {ids}")' "$fuzz_freelancer_id"
admin_call GET "/admin/reviews?hidden=false&limit=100" |
  python3 -c 'import json,sys; ids=[r["review"]["id"] for r in json.load(sys.stdin)["items"]]; sys.exit(0 if sys.argv[1] in ids else f"admin reviews: {ids}")' "$review_id"

log "schemathesis: the admin routes as an admin"
# A client, a gig in review and an open order of their own for the admin routes' ids
# (scripts/fuzz-lib.sh); the lists have the fuzz users, orders and reviews to read. No stateful
# phase: the admin routes have no links.
fuzz_seed_admin_target
FUZZ_ADMIN_TARGET_ID=$admin_target_id FUZZ_MODERATION_GIG_ID=$moderation_gig_id FUZZ_ADMIN_ORDER_ID=$admin_order_id \
  fuzz "$admin_token" --include-tag admin --phases examples,coverage,fuzzing

log "unlisting a gig through watch: its listing entries are deleted"
# Pausing an active gig deletes its browse and search entries in the gig's transaction.
curl -sf --noproxy '*' -o /dev/null -X POST "$GIGMARKET_API_URL/gigs/$fuzz_gig_id/pause" \
  -H "authorization: Bearer $fuzz_token" -H 'content-type: application/json' -d '{}'

log "business metrics: EMF lines in the functions' output"
# What CloudWatch turns into metrics: each counter this run must have produced at least once.
.local/venv/bin/python - .local/logs/watch-test.log <<'PY'
import json, sys
seen = {}
for line in open(sys.argv[1], errors="replace"):
    start = line.find("{")
    if start < 0 or '"_aws"' not in line:
        continue
    try:
        document = json.loads(line[start:])
    except ValueError:
        continue
    if "_aws" not in document:
        continue
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for metric in directive["Metrics"]:
            name = metric["Name"]
            assert isinstance(document[name], int) and document[name] > 0, line
            assert metric["Unit"] == "Count", line
            seen[name] = seen.get(name, 0) + document[name]
print("  EMF counters seen:", ", ".join(f"{name} {count}" for name, count in sorted(seen.items())), file=sys.stderr)
missing = {"OrdersPlaced", "OrdersCompleted", "MailsSent", "MailFailures"} - set(seen)
sys.exit(f"no EMF line for {sorted(missing)}" if missing else 0)
PY

log "permissions: every call recorded in this run is granted, every grant was called"
# The bridge may still be delivering the last order events: wait until the log stops growing.
size=-1
while [[ "$(stat -c %s "$CALL_LOG")" != "$size" ]]; do
  size=$(stat -c %s "$CALL_LOG")
  sleep 3
done
GIGMARKET_AWS_CALL_LOG="$CALL_LOG" cargo nextest run --locked -p gigmarket-tests --test permissions

log "secrets never in logs: no password or token this run used is in any function's output"
# watch's log holds every function's output (tracing, EMF), the bridge's its own.
.local/venv/bin/python - "$GIGMARKET_SECRETS_FILE" .local/logs/watch-test.log .local/logs/bridge-test.log <<'PY'
import sys
secrets = {line.rstrip("\n") for line in open(sys.argv[1]) if line.strip()}
# The e2e tests record theirs; far fewer means the recording broke and the check proves nothing.
if len(secrets) < 20:
    sys.exit(f"only {len(secrets)} secrets recorded in {sys.argv[1]}")
leaks = []
for log in sys.argv[2:]:
    text = open(log, errors="replace").read()
    leaks += [(log, secret) for secret in secrets if secret in text]
for log, secret in leaks:
    print(f"  {log}: a secret ({secret[:6]}..., {len(secret)} chars) is in the log", file=sys.stderr)
print(f"  {len(secrets)} secrets checked against {len(sys.argv) - 2} logs", file=sys.stderr)
sys.exit(1 if leaks else 0)
PY

log "deployment build: arm64 sizes"
if ! wait "$arm64_pid"; then
  arm64_pid=""
  tail -n 40 .local/logs/arm64-build.log
  echo "the arm64 deployment build failed (or a zipped bootstrap is over budget)"
  exit 1
fi
arm64_pid=""
grep -E '^(\||arm64 release build)' .local/logs/arm64-build.log
