#!/usr/bin/env bash
# Run OpenMelder locally as a demo: migrate, load the demo data, then the task worker and the
# web server (uvicorn) on 127.0.0.1 until Ctrl-C.
#
#   scripts/run.sh                        (make run)
#
# Environment: PORT (default 8000), DATA_DIR (default ./var), DEBUG (default true),
# DEMO_PASSWORD (default: generated once, kept in $DATA_DIR/demo-password), and anything else
# the settings read (DATABASE_URL defaults to a SpatiaLite file in DATA_DIR; without SECRET_KEY the
# settings generate a key once per DATA_DIR and keep it in $DATA_DIR/secret-key, so every process and
# manage.py command run with this DATA_DIR agrees on it).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

say() { printf '[run] %s\n' "$*"; }
die() {
    printf '[run] ERROR: %s\n' "$*" >&2
    exit 1
}

"$REPO/scripts/bootstrap.sh" base

# VENV_DIR: another virtualenv than .venv (the smoke test runs the product from one with base.txt only).
PY=${VENV_DIR:-$REPO/.venv}/bin/python
PORT=${PORT:-8000}
DATA_DIR=${DATA_DIR:-$REPO/var}
mkdir -p "$DATA_DIR"
DATA_DIR=$(cd "$DATA_DIR" && pwd) # absolute, so every process agrees on it
export DATA_DIR
export DEBUG=${DEBUG:-true}
export PYTHONUNBUFFERED=1 # log lines appear as they happen, not when a buffer fills
LOG_DIR=$DATA_DIR/logs
mkdir -p "$LOG_DIR"

# The same demo password on every run, so the printed logins stay valid.
if [ -z "${DEMO_PASSWORD:-}" ]; then
    pw_file=$DATA_DIR/demo-password
    if [ ! -s "$pw_file" ]; then
        (
            umask 077
            /usr/bin/python3 -c 'import secrets; print(secrets.token_urlsafe(12))' >"$pw_file"
        )
    fi
    chmod 600 "$pw_file"
    DEMO_PASSWORD=$(head -n 1 "$pw_file")
fi
export DEMO_PASSWORD

# Fail early and clearly if the port is taken (otherwise the health check below could even
# succeed against whatever else is listening there). SO_REUSEADDR as uvicorn does, so
# connections of a previous run still in TIME_WAIT don't count as "in use".
if ! /usr/bin/python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$PORT" 2>/dev/null; then
    die "port $PORT on 127.0.0.1 is in use (or invalid); choose another: make run PORT=8001"
fi

say "migrating the database"
"$PY" manage.py migrate --noinput
say "collecting static files"
"$PY" manage.py collectstatic --noinput -v0
say "loading demo data"
demo_log=$DATA_DIR/load_demo.log
"$PY" manage.py load_demo 2>&1 | tee "$demo_log"

# --- Background processes -------------------------------------------------------------------
server_pid=
worker_pid=

# shellcheck disable=SC2317 # called from a trap
cleanup() {
    set +e
    local pid tries
    for pid in $server_pid $worker_pid; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in $server_pid $worker_pid; do
        tries=100 # 10 s for a graceful shutdown, then SIGKILL
        while kill -0 "$pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
            sleep 0.1
            tries=$((tries - 1))
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    server_pid=
    worker_pid=
}
trap cleanup EXIT
trap 'echo; say "stopping"; exit 130' INT
trap 'say "stopping"; exit 143' TERM

# Links in mails point here.
export PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:$PORT}
# Hand over deliveries a killed worker left behind and start the periodic sweep.
"$PY" manage.py schedule_notifications
# Photos without their public rendition (faces and plates blurred), e.g. after an upgrade.
"$PY" manage.py render_photos
# DSGVO retention: remove what is due now and keep the daily run queued.
"$PY" manage.py anonymise --schedule

# Output goes to a log file and, prefixed with the process name, to the terminal. $! is the
# PID of the command itself (the redirection's tee/sed run in their own processes).
# No auto-reload: a demo does not change its code, and a reload could cut a task short.
"$PY" manage.py db_worker --no-reload \
    > >(tee -a "$LOG_DIR/worker.log" | sed -u 's/^/[worker] /') 2>&1 &
worker_pid=$!
# backend.server starts uvicorn as the Dockerfile and compose.yaml do: forwarded headers are believed
# only with TRUSTED_PROXY=true, from TRUSTED_PROXY_ADDRESSES.
"$PY" -m backend.server --host 127.0.0.1 --port "$PORT" \
    > >(tee -a "$LOG_DIR/server.log" | sed -u 's/^/[server] /') 2>&1 &
server_pid=$!

base_url=http://127.0.0.1:$PORT
# Prints the HTTP status of a GET, or nothing if there is no answer. No proxy: it is local.
http_status() {
    /usr/bin/python3 - "$1" <<'EOF'
import sys
import urllib.error
import urllib.request

opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(sys.argv[1], timeout=2) as response:
        print(response.status)
except urllib.error.HTTPError as exc:
    print(exc.code)
except Exception:
    pass
EOF
}

deadline=$((SECONDS + 30))
status=
while :; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        printf '[run] ERROR: the web server exited during startup. Last lines of %s:\n' "$LOG_DIR/server.log" >&2
        tail -n 30 "$LOG_DIR/server.log" >&2
        exit 1
    fi
    if ! kill -0 "$worker_pid" 2>/dev/null; then
        printf '[run] ERROR: the task worker exited during startup. Last lines of %s:\n' "$LOG_DIR/worker.log" >&2
        tail -n 30 "$LOG_DIR/worker.log" >&2
        exit 1
    fi
    status=$(http_status "$base_url/healthz")
    case $status in 2??) break ;; esac
    if [ "$SECONDS" -ge "$deadline" ]; then
        die "$base_url/healthz did not answer OK within 30 s (last answer: ${status:-none}); see $LOG_DIR/server.log"
    fi
    sleep 0.5
done

if [ -n "${DATABASE_URL:-}" ]; then
    db_info="DATABASE_URL=${DATABASE_URL%%://*}://…"
else
    db_info="$DATA_DIR/openmelder.sqlite3 (SpatiaLite)"
fi
if [ -n "${SECRET_KEY:-}${SECRET_KEY_FILE:-}" ]; then
    secret_info="from SECRET_KEY or SECRET_KEY_FILE"
else
    secret_info="$DATA_DIR/secret-key (generated on the first start, mode 600)"
fi
cat <<EOF

==========================================================================
 OpenMelder is running (DEBUG=$DEBUG)
   Public map:  $base_url/   (list $base_url/meldungen/, report form $base_url/melden/)
   Staff:       $base_url/staff/   (log in as a department, e.g. bauhof-hameln)
   Admin:       $base_url/admin/   (log in as admin)
   API docs:    $base_url/api/docs/   (citizen API /api/v1/, staff API /api/staff/)
   Open311:     $base_url/open311/v2/discovery.xml
   Health:      $base_url/healthz   $base_url/readyz
   Websockets:  ws://127.0.0.1:$PORT/ws/map/, /ws/reports/{id}/, /ws/staff/
 Data:        $DATA_DIR
   database:  $db_info
   logs:      $LOG_DIR/server.log, $LOG_DIR/worker.log
   secret:    $secret_info
   demo data: $demo_log

EOF
# The "Logins" section of load_demo's output: its heading line and everything after it.
if grep -q '^Logins' "$demo_log"; then
    awk '/^Logins/ { found = 1 } found { print "  " $0 }' "$demo_log"
else
    echo "  (load_demo printed no Logins section; see $demo_log)"
fi
cat <<EOF

 Press Ctrl-C to stop.
==========================================================================

EOF

# Run until one of the two exits (or Ctrl-C, which runs the traps above).
set +e
wait -n "$server_pid" "$worker_pid"
rc=$?
set -e
if [ "$rc" -eq 0 ]; then
    # Ctrl-C reaches the whole process group: a child that shut down cleanly means we are stopping.
    say "stopped"
    exit 0
fi
if ! kill -0 "$server_pid" 2>/dev/null; then
    say "the web server exited (status $rc); stopping the worker. See $LOG_DIR/server.log"
else
    say "the task worker exited (status $rc); stopping the web server. See $LOG_DIR/worker.log"
fi
exit "$rc"
