#!/usr/bin/env bash
# `make fuzz` (not part of `make test`): schemathesis over the API against openapi.yaml, every
# pass `make test` runs and an anonymous one (anonymous, freelancer, client with a gig to order
# and an order to review, admin on the admin routes), each with several fresh random seeds and
# hundreds of examples per operation. Starts the local stack if it is not running and a
# `cargo lambda watch` of its own (both stopped at the end), on a table of its own. `make fuzz`
# runs it niced.
#
#   FUZZ_SEEDS=3             how many fresh random seeds (each printed; replay with FUZZ_SEED_LIST)
#   FUZZ_SEED_LIST="1 2"     these seeds instead of fresh ones
#   FUZZ_MAX_EXAMPLES=300    examples per operation and phase
#   FUZZ_PASSES="anonymous freelancer client admin"   which passes
#   FUZZ_ARGS="..."          more schemathesis arguments, e.g. "--phases fuzzing"
#
# Ends with one line per failed run (pass and seed) and exits 1 if there was any; schemathesis'
# own output (with a curl line per failure to reproduce it) is in .local/logs/fuzz-<run>.log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
log() { printf '\n==> %s\n' "$*" >&2; }

bash scripts/bootstrap.sh
cargo build --locked -p gigctl

started_stack=false
if ! bash scripts/stack.sh status >/dev/null 2>&1; then
  started_stack=true
fi
watch_pid=""
cleanup() {
  if [[ -n "$watch_pid" ]]; then
    kill -- "-$watch_pid" 2>/dev/null || kill "$watch_pid" 2>/dev/null || true
    wait "$watch_pid" 2>/dev/null || true
  fi
  if $started_stack; then
    bash scripts/stack.sh stop || true
  fi
}
trap cleanup EXIT
bash scripts/stack.sh start
source scripts/env.sh

run_id=fuzz-$(date +%s)-$$
export TABLE_NAME="gigmarket-$run_id" ORDER_EVENTS_QUEUE_NAME="gigmarket-$run_id"
eval "$(cargo run --quiet --locked -p gigctl -- setup)"

mkdir -p .local/logs
report=".local/logs/$run_id.log"
watch_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log "starting cargo lambda watch on port $watch_port (log .local/logs/watch-$run_id.log)"
# As in make test: every request comes from 127.0.0.1, and schemathesis registers and fails
# logins by the thousand, so the per-address limits are lifted, and so are the per-user quotas
# and the per-client request rate (it creates gigs, orders and messages by the hundred). --ignore-changes: by default watch
# restarts every function when a file in the checkout changes, and a request in flight then is
# never answered (schemathesis reports a 30 s read timeout); a long run should not depend on
# nobody editing the checkout.
setsid env LOGIN_MAX_ATTEMPTS_PER_ADDRESS=1000000 REGISTRATIONS_PER_ADDRESS=1000000 \
  ORDER_PLACEMENTS_PER_HOUR=1000000 MESSAGES_PER_MINUTE=1000000 GIGS_CREATED_PER_DAY=1000000 \
  REQUESTS_PER_MINUTE_PER_USER=1000000000 REQUESTS_PER_MINUTE_PER_ADDRESS=1000000000 \
  cargo lambda watch -P "$watch_port" --concurrency 4 --ignore-changes >".local/logs/watch-$run_id.log" 2>&1 &
watch_pid=$!
export GIGMARKET_API_URL="http://127.0.0.1:$watch_port"
source scripts/fuzz-lib.sh
wait_for_api "$watch_pid" ".local/logs/watch-$run_id.log"
# watch builds a function at its first request, which would count against schemathesis'
# response-time check: call every function once first (one route each, from watch's router).
log "warming up every function"
python3 - "$GIGMARKET_API_URL" <<'PY'
import sys, tomllib, urllib.request, urllib.error
router = tomllib.load(open("Cargo.toml", "rb"))["workspace"]["metadata"]["lambda"]["watch"]["router"]
first = {}
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for path, methods in router.items():
    for entry in methods:
        first.setdefault(entry["function"], (entry["method"], path))
for function, (method, path) in sorted(first.items()):
    url = sys.argv[1] + path.replace("{id}", "00000000-0000-4000-8000-000000000000")
    request = urllib.request.Request(url, method=method, data=b"{}" if method != "GET" else None,
                                     headers={"content-type": "application/json"})
    try:
        status = opener.open(request, timeout=900).status
    except urllib.error.HTTPError as error:
        status = error.code
    print(f"  {function}: {method} {path} -> {status}", file=sys.stderr)
PY

log "seeding the passes' accounts, gig and order"
fuzz_seed_freelancer
fuzz_seed_client
fuzz_seed_admin_target

seeds=${FUZZ_SEED_LIST:-$(python3 -c "import random; print(' '.join(str(random.randrange(2**32)) for _ in range(${FUZZ_SEEDS:-3})))")}
export SCHEMATHESIS_MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-300}
passes=${FUZZ_PASSES:-anonymous freelancer client admin}
log "seeds: $seeds; passes: $passes; $SCHEMATHESIS_MAX_EXAMPLES examples per operation; report $report"
# shellcheck disable=SC2206 # FUZZ_ARGS is a list of words.
extra=(${FUZZ_ARGS:-})
failed=()
for seed in $seeds; do
  for pass in $passes; do
    log "pass $pass, seed $seed"
    status=0
    case $pass in
      anonymous) SCHEMATHESIS_SEED=$seed fuzz "" "${extra[@]}" ;;
      freelancer) SCHEMATHESIS_SEED=$seed fuzz "$fuzz_token" "${extra[@]}" ;;
      client) SCHEMATHESIS_SEED=$seed FUZZ_GIG_ID=$fuzz_gig_id FUZZ_ORDER_ID=$review_order_id fuzz "$client_token" "${extra[@]}" ;;
      admin) SCHEMATHESIS_SEED=$seed FUZZ_ADMIN_TARGET_ID=$admin_target_id FUZZ_MODERATION_GIG_ID=$moderation_gig_id FUZZ_ADMIN_ORDER_ID=$admin_order_id \
        fuzz "$admin_token" \
        --include-tag admin --phases examples,coverage,fuzzing "${extra[@]}" ;;
      *) echo "unknown pass $pass" >&2; exit 2 ;;
    esac >>"$report" 2>&1 || status=$?
    tail -n 3 "$report" >&2
    if [[ $status != 0 ]]; then
      failed+=("$pass seed $seed (exit $status)")
    fi
  done
done

log "fuzz summary: seeds $seeds, $SCHEMATHESIS_MAX_EXAMPLES examples per operation"
if ((${#failed[@]})); then
  printf '  FAILED: %s\n' "${failed[@]}" >&2
  echo "  details: $report" >&2
  exit 1
fi
echo "  every pass clean ($report)" >&2
