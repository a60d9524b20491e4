#!/usr/bin/env bash
# The storefront benchmark (`make bench`): builds tools/bench with the `bench-fast` profile
# (release optimisations without LTO), starts the local stack if it is not running, seeds a fresh
# table with BENCH_GIGS gigs (default 5000) and prints p50/p95 latency, DynamoDB requests and
# consumed capacity per call of GET /gigs and GET /gigs/{id}. Stops the stack only if it started it.
# A long-running DynamoDB Local that holds many test tables is markedly slower: for comparable
# numbers run it on a fresh stack (`make stop` first).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash scripts/bootstrap.sh
cargo build --locked --profile bench-fast -p bench

started_stack=false
if ! bash scripts/stack.sh status >/dev/null 2>&1; then
  started_stack=true
fi
cleanup() {
  if $started_stack; then
    bash scripts/stack.sh stop || true
  fi
}
trap cleanup EXIT
bash scripts/stack.sh start
source scripts/env.sh

target/bench-fast/bench
