#!/usr/bin/env bash
# The deployment build: every function for Lambda's arm64 (Graviton) with the pinned cargo-lambda
# and zig from .local/venv (scripts/requirements-dev.txt), exactly what `sam build` and the CDK app
# run. Checks each zipped bootstrap against the budget and prints a size table.
# Called by scripts/test.sh; by hand: `bash scripts/build-arm64.sh` (after `make bootstrap`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# Lambda's limit for a zip upload is 50 MB; ours is far lower, to keep cold starts short.
BUDGET_BYTES=${ARM64_ZIP_BUDGET_BYTES:-6000000}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export PATH="$ROOT/.local/venv/bin:$PATH"

functions=()
for manifest in functions/*/Cargo.toml; do
  functions+=("$(basename "$(dirname "$manifest")")")
done
start=$(date +%s)
# Built as `sam build` and the CDK app build them, each function with only its own features: cargo
# unifies features across the packages of one invocation, so one invocation for all would give
# every function the gigmarket-shared features (and AWS clients) of all the others. Functions with
# the same gigmarket-shared dependency line share one invocation, so their fat-LTO links run in
# parallel; dependencies compile once for all.
# --output-format zip writes target/lambda/<function>/bootstrap.zip, the artifact Lambda takes.
declare -A groups=()
for function in "${functions[@]}"; do
  shared_line=$(grep -E '^gigmarket-shared' "functions/$function/Cargo.toml")
  groups[$shared_line]+=" -p $function"
done
for shared_line in "${!groups[@]}"; do
  # shellcheck disable=SC2086  # the package flags are meant to split
  cargo lambda build --release --arm64 --locked --output-format zip ${groups[$shared_line]}
done
echo "arm64 release build of ${#functions[@]} functions: $(($(date +%s) - start)) s" >&2

python3 - "$TARGET_DIR/lambda" "$BUDGET_BYTES" "${functions[@]}" <<'PY'
import os, sys, zipfile
lambda_dir, budget, functions = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
mb = lambda n: f"{n / 1e6:.2f} MB"
print(f"| function | bootstrap | zipped | budget {mb(budget)} |")
print("|---|---|---|---|")
over = []
for name in functions:
    path = os.path.join(lambda_dir, name, "bootstrap.zip")
    with zipfile.ZipFile(path) as archive:
        raw = archive.getinfo("bootstrap").file_size
    zipped = os.path.getsize(path)
    ok = zipped <= budget
    if not ok:
        over.append(name)
    print(f"| {name} | {mb(raw)} | {mb(zipped)} | {'ok' if ok else 'OVER'} |")
if over:
    sys.exit(f"zipped bootstrap over budget: {', '.join(over)}")
PY
