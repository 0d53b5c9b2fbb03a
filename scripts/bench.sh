#!/usr/bin/env bash
# Benchmarks against a throw-away database (and, for the websocket fan-out and the mixed load, a
# throw-away Redis): each prints its figures, and at the end one table of all of them. They never
# fail on figures.
#
#   scripts/bench.sh                                   (make bench: all eight, about 17 minutes)
#   BENCH="routing photos" scripts/bench.sh            (some of them)
#   BENCH=routing scripts/bench.sh --points 5000       (make bench BENCH=routing BENCH_ARGS="--points 5000")
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

"$REPO/scripts/bootstrap.sh" bench

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
# The public pages (the mixed load's list) need the static files' manifest, as in production.
"$REPO/.venv/bin/python" manage.py collectstatic --noinput -v0
# BENCH selects the benchmarks (default: all); arguments go to each selected one.
# The hot path first: it measures per-request cost on the demo's data alone, before the others add a million
# reports (map), thousands of submissions (submit, mixed) and 10,100 authorities (routing) to the same database.
ALL="hotpath photos submit map mixed routing fanout blurring"
BENCH=${BENCH:-$ALL}
for name in $BENCH; do
    case $name in
        photos | submit | map | routing | fanout | mixed | blurring | hotpath) ;;
        *)
            echo "BENCH may name $ALL, not '$name'" >&2
            exit 2
            ;;
    esac
done
# The websocket fan-out and the mixed load run as in production, with Redis (channel layer, rate-limit
# cache): a throw-away one, like make test's.
case " $BENCH " in
    *" fanout "* | *" mixed "* | *" hotpath "*)
        start_redis "$tmp"
        ;;
esac
# Every benchmark appends its headline figures here (bench/results.py); printed as one table at the end.
export BENCH_RESULTS="$tmp/results.jsonl"
: >"$BENCH_RESULTS"
for name in $BENCH; do
    echo "[bench] $name ($(date +%T))" >&2
    case $name in
        fanout | mixed | hotpath)
            REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" "$REPO/.venv/bin/python" -m "bench.$name" "$@"
            ;;
        *)
            # Without Redis: the configuration these have always measured (the embedded default's).
            "$REPO/.venv/bin/python" -m "bench.$name" "$@"
            ;;
    esac
done
"$REPO/.venv/bin/python" -m bench.results "$BENCH_RESULTS"
