#!/usr/bin/env bash
# The benchmarks (`make bench`), each printing markdown tables. Builds tools/bench with the
# `bench-fast` profile (release optimisations without LTO), starts the local stack if it is not
# running, then:
# 1. storefront: seeds a fresh table with BENCH_GIGS gigs (default 5000) and prints p50/p95
#    latency, DynamoDB requests and consumed capacity per call of GET /gigs and GET /gigs/{id},
#    then the search relevance set (tools/bench/relevance.json): precision@5, nDCG@10,
#    requests/RCU per query;
#    search_bench: the same set judged for the DynamoDB search and the tantivy index
#    (gigmarket-search) side by side, then the index at BENCH_SEARCH_SIZES gigs (default
#    5000,100000): build time, size, warm p50/p95 per query kind (src/bin/search_bench.rs);
# 2. auth_memory: peak RSS of 1,000 logins, sequential and 8 concurrent (BENCH_LOGINS);
# 3. lambda_bench: cold start and footprint of every release-built function (the deployment's
#    release profile, host architecture; API functions on one route each, the event functions on
#    their sample batch) and the floor under a Runtime API emulator
#    (BENCH_INVOKES, BENCH_FUNCTIONS=gigs,users,... to narrow), and the attribution ladder
#    (src/bin/ladder.rs; BENCH_LADDER=0 skips it, BENCH_ROUNDS sets the alternating runs).
#    BENCH_SKIP_RELEASE=1 skips it all (its release builds take long: fat LTO per binary).
# 4. cost per route: every route of the route table on its success path, in-process against
#    DynamoDB Local: DynamoDB requests, consumed RCU/WCU and the cost per million calls
#    (tools/bench/src/bin/cost.rs; GIGMARKET_DYNAMODB_CAPACITY turns the capacity counting on),
#    and the real-time steps: $connect, $disconnect, a push; per million messages and
#    connection-minutes.
# 5. pipeline throughput: PIPELINE_BENCH_ORDERS orders placed and accepted, transitions per
#    second from the API to the mail in moto and the lag p50/p99 (tools/bench/src/bin/pipeline_bench.rs).
# 6. real-time pushes: REALTIME_BENCH_USERS users (default 100) x 2 devices on WebSockets through
#    the local gateway, REALTIME_BENCH_MESSAGES messages (default 400): send -> socket latency
#    p50/p99 and pushes per second (tools/bench/src/bin/realtime_bench.rs).
# Stops the stack only if it started it.
# A long-running DynamoDB Local that holds many test tables is markedly slower: for comparable
# numbers run it on a fresh stack (`make stop` first).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash scripts/bootstrap.sh
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
# The harness (tests/src) only for the two binaries that use it (tools/bench/Cargo.toml).
cargo build --locked --profile bench-fast -p bench --no-default-features
cargo build --locked --profile bench-fast -p bench --bin cost --bin pipeline_bench --bin realtime_bench
if [[ -z "${BENCH_SKIP_RELEASE:-}" ]]; then
  # One invocation per gigmarket-shared feature set, as the deployment builds them (see
  # scripts/build-arm64.sh): cargo would otherwise unify the features of all of them.
  cargo build --locked --release -p gigs -p users -p reviews -p orders -p messages -p admin
  cargo build --locked --release -p auth
  cargo build --locked --release -p dispatcher
  cargo build --locked --release -p notifier
  cargo build --locked --release -p scheduler
  cargo build --locked --release -p search
  cargo build --locked --release -p indexer
  cargo build --locked --release -p bench --no-default-features --bin floor --bin ladder
fi

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

"$TARGET_DIR/bench-fast/bench"
"$TARGET_DIR/bench-fast/search_bench"
"$TARGET_DIR/bench-fast/auth_memory"
if [[ -z "${BENCH_SKIP_RELEASE:-}" ]]; then
  BENCH_BINARIES="$TARGET_DIR/release" "$TARGET_DIR/bench-fast/lambda_bench"
fi
GIGMARKET_DYNAMODB_CAPACITY=1 "$TARGET_DIR/bench-fast/cost"
"$TARGET_DIR/bench-fast/pipeline_bench"
"$TARGET_DIR/bench-fast/realtime_bench"

