#!/usr/bin/env bash
# The one test command (`make test`, and what .ci/run calls): installs what is missing, checks
# formatting and lints, builds, starts the local stack if it is not running, runs every test
# against it (including the end-to-end test through `cargo lambda watch`), and stops what it started.
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

log "building the workspace (functions, tools, tests)"
cargo build --workspace --all-targets --locked

# Reuse a stack `make dev` left running; otherwise start one and stop it at the end.
started_stack=false
if ! bash scripts/stack.sh status >/dev/null 2>&1; then
  started_stack=true
fi
watch_pid=""
bridge_pid=""
cleanup() {
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

log "starting the local stack"
bash scripts/stack.sh start
source scripts/env.sh

# The end-to-end test's functions get a table and queue of their own, so it never sees a dev
# stack's data; other tests create one fresh table each.
run_id=$(date +%s)-$$
export TABLE_NAME="gigmarket-e2e-$run_id"
export ORDER_EVENTS_QUEUE_NAME="gigmarket-e2e-$run_id"
eval "$(cargo run --quiet --locked -p gigctl -- setup)"

watch_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log "starting cargo lambda watch on port $watch_port"
mkdir -p .local/logs
# setsid: its own process group, so cleanup stops watch and every function it spawned.
setsid cargo lambda watch -P "$watch_port" --concurrency 4 >.local/logs/watch-test.log 2>&1 &
watch_pid=$!
export GIGMARKET_API_URL="http://127.0.0.1:$watch_port"
# Ready when a function answers (a problem+json 4xx counts): watch itself is up and routes.
for _ in $(seq 1 180); do
  code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
    -d '{}' "$GIGMARKET_API_URL/auth/login" || true)
  [[ "$code" == 400 ]] && break
  kill -0 "$watch_pid" 2>/dev/null || { tail -n 40 .local/logs/watch-test.log; exit 1; }
  sleep 1
done
[[ "$code" == 400 ]] || { echo "cargo lambda watch did not answer (last status $code)"; tail -n 40 .local/logs/watch-test.log; exit 1; }

# The bridge plays AWS's event source mappings: table stream -> dispatcher, queue -> notifier.
# The schedule is off: the end-to-end test invokes the scheduler itself.
log "starting the local bridge"
"${CARGO_TARGET_DIR:-target}/debug/bridge" --invoke-url "$GIGMARKET_API_URL" --schedule-every 0 \
  >.local/logs/bridge-test.log 2>&1 &
bridge_pid=$!

log "running the test suite"
cargo nextest run --workspace --locked --no-fail-fast
