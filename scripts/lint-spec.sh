#!/usr/bin/env bash
# Lints openapi.yaml with Redocly's recommended rules (redocly.yaml; the accepted exceptions, each
# with its reason, are in .redocly.lint-ignore.yaml). Fails on any error or warning: redocly itself
# exits 0 on warnings. Needs Redocly's CLI in .local/node (`make bootstrap`); reads nothing else,
# so `make test` runs it before the build.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
REDOCLY="$ROOT/.local/node/node_modules/.bin/redocly"
[[ -x "$REDOCLY" ]] || { echo "lint-spec: $REDOCLY is missing; run 'make bootstrap'" >&2; exit 1; }
# No update check against npm on every run.
export REDOCLY_SUPPRESS_UPDATE_NOTICE=true

# The JSON report has the totals; the readable report is only printed when there is a problem.
# --lint-config=error: a mistyped setting in redocly.yaml fails too, rather than being ignored.
if report=$("$REDOCLY" lint openapi.yaml --lint-config=error --format=json 2>/dev/null) &&
  node -e 'const t = JSON.parse(require("fs").readFileSync(0, "utf8")).totals;
    process.exit(t.errors + t.warnings === 0 ? 0 : 1)' <<<"$report"; then
  echo "lint-spec: openapi.yaml has 0 errors and 0 warnings (redocly lint, recommended rules)" >&2
  exit 0
fi
"$REDOCLY" lint openapi.yaml --lint-config=error || true
echo "lint-spec: redocly lint found problems in openapi.yaml (above); fix them, or turn a rule off in redocly.yaml with the reason beside it" >&2
exit 1
