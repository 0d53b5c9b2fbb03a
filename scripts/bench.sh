#!/usr/bin/env bash
# Benchmarks against a throw-away database (and, for the websocket fan-out, a throw-away Redis):
# they print figures and never fail on them.
#
#   scripts/bench.sh [bench.routing args...]          (make bench BENCH_ARGS="--points 5000")
#   BENCH_BACKEND=spatialite scripts/bench.sh          (default: postgis)
#
# PostGIS: starts a throw-away PostgreSQL on 127.0.0.1 in a temporary directory (scripts/servers.sh).
# SpatiaLite: a database file in the temporary directory. Either way the directory and the server
# are removed on exit, also on failure or Ctrl-C. The exit status is the benchmark's.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

BACKEND=${BENCH_BACKEND:-postgis}
case "$BACKEND" in
    postgis | spatialite) ;;
    *)
        echo "BENCH_BACKEND must be postgis or spatialite, not '$BACKEND'" >&2
        exit 2
        ;;
esac

"$REPO/scripts/bootstrap.sh" test

# shellcheck source=scripts/servers.sh
. "$REPO/scripts/servers.sh"

servers_workdir  # sets $tmp; servers and directory go on exit, also on failure or Ctrl-C

if [ "$BACKEND" = postgis ]; then
    start_postgres "$tmp"
    export DATABASE_URL="postgis://postgres@127.0.0.1:$PGPORT/openmelder"
else
    mkdir -p "$tmp/spatialite"
    export DATABASE_URL="spatialite:///$tmp/spatialite/openmelder.sqlite3"
fi

SECRET_KEY="bench-$(/usr/bin/python3 -c 'import secrets; print(secrets.token_urlsafe(40))')"
export SECRET_KEY
export DEBUG=false
export DATA_DIR="$tmp/data"
export DJANGO_SETTINGS_MODULE=backend.settings
mkdir -p "$DATA_DIR"

echo "[bench] backend $BACKEND; migrating" >&2
"$REPO/.venv/bin/python" manage.py migrate -v0
# BENCH selects the benchmarks (default: all); arguments go to each selected one.
BENCH=${BENCH:-routing photos submit fanout map}
for name in $BENCH; do
    case $name in
        routing | photos | submit | fanout | map) ;;
        *)
            echo "BENCH may name routing, photos, submit, fanout and map, not '$name'" >&2
            exit 2
            ;;
    esac
done
# The websocket fan-out runs over the Redis channel layer: a throw-away Redis, like make test's.
case " $BENCH " in
    *" fanout "*)
        start_redis "$tmp"
        ;;
esac
for name in $BENCH; do
    echo "[bench] $name" >&2
    if [ "$name" = fanout ]; then
        # Only the fan-out gets Redis; the others keep measuring the configuration they always did.
        REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" "$REPO/.venv/bin/python" -m "bench.$name" "$@"
    else
        "$REPO/.venv/bin/python" -m "bench.$name" "$@"
    fi
done
