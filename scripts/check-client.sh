#!/usr/bin/env bash
# A client nobody here wrote, against the running API: installs tests/clients (npm ci, pinned by
# its lock; skipped while the stamp matches), generates its TypeScript types from openapi.yaml
# (openapi-typescript), compiles it with tsc under --strict (a type error fails here), and runs
# the example with node: register, verify the email from moto's mail, browse, order (up to the
# payment, which a browser makes with Stripe.js).
#
# Needs GIGMARKET_API_URL (e.g. what `make dev` prints) and MOTO_ENDPOINT (in .local/stack.env;
# `source scripts/env.sh`), and a listed gig to order (`make dev` seeds demo gigs).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLIENT_DIR="$ROOT/tests/clients"
log() { printf 'check-client: %s\n' "$*" >&2; }
die() { printf 'check-client: error: %s\n' "$*" >&2; exit 1; }

[[ -n "${GIGMARKET_API_URL:-}" ]] || die "GIGMARKET_API_URL is not set (the API's base URL, e.g. http://127.0.0.1:9000)"
[[ -n "${MOTO_ENDPOINT:-}" ]] || die "MOTO_ENDPOINT is not set (source scripts/env.sh after 'make stack')"
command -v npm >/dev/null 2>&1 || die "npm not found; install Node.js (20+)"

# The stamp holds the hash of the pins and the Node version: a changed one reinstalls.
stamp="$CLIENT_DIR/node_modules/.check-client-stamp"
want=$(cat "$CLIENT_DIR/package.json" "$CLIENT_DIR/package-lock.json" <(node --version) | sha256sum | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  log "installing tests/clients/node_modules (npm ci) ..."
  # No install scripts: every package it pins is plain JavaScript.
  (cd "$CLIENT_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
  printf '%s\n' "$want" >"$stamp"
fi

cd "$CLIENT_DIR"
# Both outputs are overwritten in place, never deleted first: `cargo lambda watch` restarts every
# function when a directory in the workspace disappears, even an ignored one.
log "generating the types from openapi.yaml (openapi-typescript)"
./node_modules/.bin/openapi-typescript ../../openapi.yaml --output src/generated/gigmarket.ts
log "compiling with tsc --strict"
# One pass checks and emits; noEmitOnError in tsconfig.json keeps a failed check from running.
./node_modules/.bin/tsc --strict
log "running the example against $GIGMARKET_API_URL"
node dist/example.js
