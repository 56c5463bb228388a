#!/usr/bin/env bash
# `make bench`: seed a database, start the ASGI server as production does, load it, print figures.
#
# PostgreSQL + Redis by default (a fresh database `agora_bench` on 127.0.0.1:5432, Redis db 13);
# BENCH_DATABASE_URL / REDIS_URL point it elsewhere; BENCH_SQLITE=1 measures the embedded mode
# (SQLite in a temporary folder, in-process cache). Every knob is listed in bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
UVICORN=.venv/bin/uvicorn
OUT_DIR=bench/out
if [ "${BENCH_SQLITE:-0}" = 1 ]; then
  # The feed scenario compares Redis timelines with the database: it has no embedded-mode counterpart.
  SCENARIOS=${BENCH_SCENARIOS:-catalog,flash_sale}
else
  SCENARIOS=${BENCH_SCENARIOS:-catalog,flash_sale,feed}
fi
FEED_USERS=${BENCH_FEED_USERS:-10000}
FEED_POSTS=${BENCH_FEED_POSTS:-500000}
FEED_FOLLOWS=${BENCH_FEED_FOLLOWS:-50}
WANTS_FEED=0
case ",$SCENARIOS," in *,feed,*) WANTS_FEED=1 ;; esac
WORKERS=${BENCH_WORKERS:-2}
PRODUCTS=${BENCH_PRODUCTS:-2000}
USERS=${BENCH_USERS:-200}
SEED=${BENCH_SEED:-1}
DEFAULT_DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_bench
PG_ADMIN_URL=postgresql://postgres@127.0.0.1:5432/postgres
DEFAULT_REDIS_URL=redis://127.0.0.1:6379/13

log() { printf '\n== [%ss] %s\n' "$SECONDS" "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

if [ ! -x "$PY" ] || [ ! -x "$UVICORN" ]; then
  die "no .venv: run 'make bench' (it installs the test dependencies first)"
fi
[[ "$WORKERS" =~ ^[1-9][0-9]?$ ]] || die "BENCH_WORKERS must be a number from 1 to 99"

# Bad knobs fail now, not after minutes of seeding.
"$PY" -m bench --check --scenarios "$SCENARIOS" || die "fix the BENCH_* settings above"

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/agora-bench.XXXXXX")
SERVER_PID=""
STEP_PID=""

# Each long step runs in the background and is waited for: bash runs a trap only once the
# foreground command is over, so a TERM would otherwise wait for minutes of seeding or load.
step() {
  "$@" &
  STEP_PID=$!
  local rc=0
  wait "$STEP_PID" || rc=$?
  STEP_PID=""
  return "$rc"
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  # The server runs in its own process group, so its workers are signalled with it.
  kill -TERM -- "-$SERVER_PID" 2>/dev/null || kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local status=$?
  if [ -n "$STEP_PID" ]; then
    kill -TERM "$STEP_PID" 2>/dev/null || true
    wait "$STEP_PID" 2>/dev/null || true
  fi
  stop_server
  if [ -f "$WORK_DIR/server.log" ]; then
    mkdir -p "$OUT_DIR" && cp "$WORK_DIR/server.log" "$OUT_DIR/server.log"
  fi
  rm -rf "$WORK_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The feed scenario asks one server for both feed implementations (the X-Agora-Feed-Backend header).
[ "$WANTS_FEED" = 0 ] || export AGORA_FEED_BACKEND_HEADER=1
# The server and the seeding run with production settings, never with a developer's own.
export DJANGO_SETTINGS_MODULE=agora.settings
export DJANGO_DEBUG=0
export DJANGO_SECRET_KEY=agora-bench-not-a-secret
export AGORA_VAR_DIR="$WORK_DIR/var"
export AGORA_SITE_URL=http://127.0.0.1
export AGORA_LOG_LEVEL=WARNING
export PYTHONDONTWRITEBYTECODE=1
unset DJANGO_ALLOWED_HOSTS AGORA_MEDIA_ROOT AGORA_STATIC_ROOT CELERY_BROKER_URL CELERY_TASK_ALWAYS_EAGER

start_local_postgres() {
  command -v pg_isready >/dev/null || die "pg_isready not found: install PostgreSQL or set BENCH_SQLITE=1"
  if ! pg_isready -h 127.0.0.1 -p 5432 -q && command -v pg_ctlcluster >/dev/null && [ "$(id -u)" = 0 ]; then
    log "starting PostgreSQL"
    # shellcheck disable=SC2012  # one cluster version directory; ls is fine here
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && return 0; sleep 1; done
  die "PostgreSQL does not answer on 127.0.0.1:5432 (start it, set BENCH_DATABASE_URL, or BENCH_SQLITE=1)"
}

start_local_redis() {
  if "$PY" -c 'import redis, sys; redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2).ping()' 2>/dev/null; then
    return 0
  fi
  command -v redis-server >/dev/null || die "Redis does not answer on 127.0.0.1:6379 and redis-server is not installed"
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp >/dev/null
  for _ in $(seq 1 30); do
    "$PY" -c 'import redis; redis.Redis(host="127.0.0.1", port=6379).ping()' 2>/dev/null && return 0
    sleep 1
  done
  die "Redis did not start"
}

# The seeded database of an earlier run is reused while the data sizes, the seed, the migrations
# and the demo loader are unchanged: seeding takes far longer than the load. A change elsewhere
# that alters the data (a service writing a new field) needs BENCH_RESEED=1.
seed_key() {
  {
    echo "$PRODUCTS $USERS $SEED"
    [ "$WANTS_FEED" = 0 ] || echo "feed $FEED_USERS $FEED_POSTS $FEED_FOLLOWS"
    find agora -type f \( -path '*/migrations/*.py' -o -path 'agora/core/demo/*.py' -o -path '*/commands/demo.py' \
      -o -path '*/demo.py' -o -path '*/commands/seed_social.py' \) \
      -print0 | LC_ALL=C sort -z | xargs -0 cat
  } | sha256sum | cut -c1-12
}

SEEDED=0
CACHE_DIR=$OUT_DIR/cache
if [ "${BENCH_SQLITE:-0}" = 1 ]; then
  LABEL="SQLite (embedded mode)"
  MODE=sqlite
  mkdir -p "$AGORA_VAR_DIR"
  export DATABASE_URL="sqlite:///$AGORA_VAR_DIR/agora.sqlite3"
  unset REDIS_URL
  KEY=$(seed_key)
  if [ "${BENCH_RESEED:-0}" != 1 ] && [ -f "$CACHE_DIR/sqlite-$KEY.sqlite3" ]; then
    cp "$CACHE_DIR/sqlite-$KEY.sqlite3" "$AGORA_VAR_DIR/agora.sqlite3"
    SEEDED=1
  fi
else
  LABEL="PostgreSQL + Redis"
  if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    MODE=given
    LABEL=""  # the report names the database it finds there
    export DATABASE_URL=$BENCH_DATABASE_URL
  else
    MODE=postgres
    start_local_postgres
    export DATABASE_URL=$DEFAULT_DATABASE_URL
    KEY=$(seed_key)
    template_key=$KEY
    [ "${BENCH_RESEED:-0}" != 1 ] || template_key=-
    log "fresh database agora_bench"
    state=$("$PY" -m bench.database postgres-fresh "$PG_ADMIN_URL" agora_bench "$template_key")
    [ "$state" != seeded ] || SEEDED=1
  fi
  if [ -n "${REDIS_URL:-}" ]; then
    # Someone else's Redis: a key prefix of our own, and nothing flushed.
    export AGORA_CACHE_PREFIX="agora-bench-$$"
  else
    start_local_redis
    export REDIS_URL=$DEFAULT_REDIS_URL
    export AGORA_CACHE_PREFIX=agora-bench
    "$PY" -c 'import os, redis; redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()'
  fi
fi
mkdir -p "$AGORA_VAR_DIR"

log "migrate and collect static files (${LABEL:-BENCH_DATABASE_URL})"
step "$PY" manage.py migrate --noinput -v 0
step "$PY" manage.py collectstatic --noinput -v 0

if [ "${BENCH_SKIP_SEED:-0}" = 1 ]; then
  log "seeding skipped (BENCH_SKIP_SEED=1): using the data already in the database"
elif [ "$SEEDED" = 1 ]; then
  log "demo data ($PRODUCTS products, $USERS users, seed $SEED) copied from an earlier run (BENCH_RESEED=1 seeds anew)"
  "$PY" -m bench.database analyze
else
  log "demo data: $PRODUCTS products, $USERS users, seed $SEED"
  seed_args=(--products "$PRODUCTS" --users "$USERS" --seed "$SEED")
  # A database we did not create may already hold data: never add a second copy to it.
  [ "$MODE" != given ] || seed_args+=(--if-empty)
  start=$SECONDS
  step "$PY" manage.py demo "${seed_args[@]}"
  if [ "$WANTS_FEED" = 1 ]; then
    log "social data for the feed: $FEED_USERS people, $FEED_POSTS posts, $FEED_FOLLOWS follows each"
    step "$PY" manage.py seed_social --if-empty --users "$FEED_USERS" --posts "$FEED_POSTS" \
      --follows-per-user "$FEED_FOLLOWS" --seed "$SEED"
  fi
  echo "seeded in $((SECONDS - start)) s"
  "$PY" -m bench.database analyze
  case $MODE in
    postgres) "$PY" -m bench.database postgres-save "$PG_ADMIN_URL" agora_bench "$KEY" ;;
    sqlite)
      "$PY" -m bench.database sqlite-checkpoint "$AGORA_VAR_DIR/agora.sqlite3"
      mkdir -p "$CACHE_DIR"
      rm -f "$CACHE_DIR"/sqlite-*.sqlite3
      cp "$AGORA_VAR_DIR/agora.sqlite3" "$CACHE_DIR/sqlite-$KEY.sqlite3"
      ;;
  esac
fi

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE_URL="http://127.0.0.1:$PORT"
SERVER_DESC="uvicorn agora.asgi:application, $WORKERS workers, --no-access-log, DJANGO_DEBUG off"
log "starting $SERVER_DESC on $BASE_URL"
# Job control on for this one command: the server gets a process group of its own (pgid = pid).
set -m
"$UVICORN" agora.asgi:application --host 127.0.0.1 --port "$PORT" --workers "$WORKERS" \
  --no-access-log --log-level warning >"$WORK_DIR/server.log" 2>&1 &
SERVER_PID=$!
set +m

ready=0
for _ in $(seq 1 120); do
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK_DIR/server.log" >&2; die "the server stopped while starting"; }
  if "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$BASE_URL/healthz" \
    2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.5
done
[ "$ready" = 1 ] || { cat "$WORK_DIR/server.log" >&2; die "no answer from $BASE_URL/healthz after 60 s"; }

status=0
step "$PY" -m bench "$BASE_URL" --scenarios "$SCENARIOS" --label "$LABEL" --server "$SERVER_DESC" \
  --server-pgid "$SERVER_PID" --out-dir "$OUT_DIR" || status=$?
stop_server
if [ "$status" != 0 ] && [ -s "$WORK_DIR/server.log" ]; then
  echo "--- last lines of the server log (all of it in $OUT_DIR/server.log) ---" >&2
  tail -n 40 "$WORK_DIR/server.log" >&2
fi
exit "$status"
