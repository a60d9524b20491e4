#!/usr/bin/env bash
# The one dev command (`make dev`): installs what is missing, starts the local stack, creates the
# table and queues, seeds demo data, and serves every function on one port with `cargo lambda watch`.
# Ctrl-C stops the API; the stack keeps running (`make stop` stops it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PORT=${PORT:-9000}

bash scripts/bootstrap.sh
# Build before watch starts: a watch started while cargo writes Cargo.lock dies.
cargo build --workspace --locked
bash scripts/stack.sh start
source scripts/env.sh

export TABLE_NAME=${TABLE_NAME:-gigmarket-local}
export SENDER_EMAIL=${SENDER_EMAIL:-no-reply@gigmarket.local}
eval "$(cargo run --quiet --locked -p gigctl -- setup)"
cargo run --quiet --locked -p gigctl -- seed

cat <<MSG

Gigmarket API: http://127.0.0.1:$PORT
  try:  curl -s -X POST http://127.0.0.1:$PORT/auth/login -H 'content-type: application/json' \\
          -d '{"email":"client@demo.gigmarket.local","password":"demo-password-123"}'
  stack endpoints: .local/stack.env   sent mail: $MOTO_ENDPOINT/moto-api/data.json
  Ctrl-C stops the API; 'make stop' stops DynamoDB Local and moto.

MSG
exec cargo lambda watch -P "$PORT" --concurrency 4
