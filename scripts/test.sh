#!/usr/bin/env bash
# Run the test suite twice: against PostGIS and against SpatiaLite (both supported backends).
# Tests marked backend_independent (their outcome cannot depend on the database backend) run once: their
# modules are shared out between the two runs (tests/conftest.py, TESTS_BACKEND_INDEPENDENT_SHARE); the
# total counts every test once per run it took part in.
#
#   scripts/test.sh [pytest args...]        (make test PYTEST_ARGS="tests/notifications -x")
#   TEST_SEQUENTIAL=1 scripts/test.sh ...   (make test TEST_SEQUENTIAL=1: one run after the other)
#
# Both runs get the same pytest arguments. By default they run at the same time (much of a run is waiting for
# sockets, servers and subprocesses, so two share the machine well): the PostGIS run's output appears live,
# the SpatiaLite run's is kept in a file and printed, in full, when both have ended. With TEST_SEQUENTIAL=1
# they run one after the other as plain foreground processes, both live (for debugging, e.g. with --pdb).
#
# Starts a throw-away PostgreSQL (shared: every test database has a name of its own) and a Redis per run
# (pub/sub channels are global to a Redis server, whatever the database number) on 127.0.0.1 in a temporary
# directory; each run also has its own DATA_DIR, JUnit report and pytest cache directory. The base-only
# virtualenv of tests/smoke is built once, in the background from the start (tests/smoke/base_venv.py), and
# both runs wait for it. Everything is stopped and removed on exit, also on failure, Ctrl-C or SIGTERM (the
# runs get a Ctrl-C first, so their fixtures stop what they started). Both runs happen even if one fails;
# the exit status is non-zero if either failed (pytest's "no tests collected" counts as failed).
#
# Time limit: TEST_TIME_LIMIT seconds (default 4800, 80 min) after this script started, bootstrap included, the
# runs get a Ctrl-C, so that each still prints its summary and its slowest tests before CI's 90 minutes are up; the
# run then counts as failed. Each run lists its slowest tests (--durations); a single test fails after the timeout
# in pyproject.toml (pytest-timeout).
#
# The static checks (scripts/lint.sh: ruff and mypy) run alongside, in the background from the start; their
# output is printed before the summary, and a finding fails the whole run as a failed test would.
set -euo pipefail

TIME_LIMIT=${TEST_TIME_LIMIT:-4800}
case $TIME_LIMIT in '' | *[!0-9]*) echo "TEST_TIME_LIMIT must be a number of seconds, not '$TIME_LIMIT'" >&2; exit 2 ;; esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

"$REPO/scripts/bootstrap.sh" test

# shellcheck source=scripts/servers.sh
. "$REPO/scripts/servers.sh"

servers_workdir  # sets $tmp; servers and directory go on exit, also on failure or Ctrl-C

SEQUENTIAL=${TEST_SEQUENTIAL:-}
[ "$SEQUENTIAL" != 0 ] || SEQUENTIAL=

# A process started in the background here gets a process group of its own, so that it and everything it
# started can be stopped together; and Ctrl-C (SIGINT), which bash ignores in background commands of a script,
# is restored, so that pytest turns it into KeyboardInterrupt and tears its fixtures down.
OWN_GROUP='import os, signal, sys
os.setpgid(0, 0)
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])'
run_pids=()     # pytest processes running in the background
smoke_pid=      # the build of the smoke tests' virtualenv
watchdog_pid=   # interrupts the runs at the time limit
lint_pid=       # scripts/lint.sh
spatialite_log= # the SpatiaLite run's output while both run
declare -A started_at=() # PID -> its start time: bash reaps ended children at once, and a PID can be reused

_start_time() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

# Remember background process $1 (just started) as one of ours.
_track() { started_at[$1]=$(_start_time "$1"); }

# True while $1 is still the background process we started under that PID.
_ours() { [ -n "${started_at[$1]:-}" ] && [ "$(_start_time "$1")" = "${started_at[$1]}" ] && _alive "$1"; }

# Signal process group $2 (a process started with OWN_GROUP; the process alone if it has not got there yet).
_signal_group() {
    kill "-$1" -- "-$2" 2>/dev/null || kill "-$1" "$2" 2>/dev/null || true
}

# Stop background process $1 and its process group: SIGINT ($2 s to end), SIGTERM (10 s), SIGKILL.
_stop_group() {
    local pid=$1 grace=$2
    _ours "$pid" || return 0
    _signal_group INT "$pid"
    if ! _wait_gone "$pid" "$grace"; then
        echo "[test] process $pid did not stop after Ctrl-C in $grace s; terminating it" >&2
        _signal_group TERM "$pid"
        if ! _wait_gone "$pid" 10; then
            _signal_group KILL "$pid"
            _wait_gone "$pid" 5 || true
        fi
    fi
    # What is left of the group (children of a killed process) goes too.
    _signal_group KILL "$pid"
    wait "$pid" 2>/dev/null || true
}

# After run $2 (process $1, started with OWN_GROUP) has ended: stop what it left running in its process group.
_stop_leftovers() {
    if kill -0 -- "-$1" 2>/dev/null; then
        echo "[test] the $2 run left processes behind; stopping them:" >&2
        ps -o pid=,args= -g "$1" >&2 || true
        kill -TERM -- "-$1" 2>/dev/null || true
        sleep 2
        kill -KILL -- "-$1" 2>/dev/null || true
    fi
}

# shellcheck disable=SC2317 # called from a trap
_test_cleanup() {
    set +e
    trap '' INT TERM # a second Ctrl-C or SIGTERM must not cut the cleanup short (see servers_workdir)
    local pid interrupted=
    for pid in "${run_pids[@]}"; do
        if _ours "$pid"; then
            interrupted=yes
            _stop_group "$pid" 60 &
        fi
    done
    [ -z "$watchdog_pid" ] || kill "$watchdog_pid" 2>/dev/null
    [ -z "$smoke_pid" ] || _stop_group "$smoke_pid" 10 &
    [ -z "$lint_pid" ] || _stop_group "$lint_pid" 10 &
    wait # for the _stop_group above: the runs end in parallel
    if [ -n "$interrupted" ] && [ -n "$spatialite_log" ] && [ -s "$spatialite_log" ]; then
        echo
        echo "=== SpatiaLite (interrupted) ==="
        cat "$spatialite_log"
    fi
    _servers_cleanup
}
trap _test_cleanup EXIT

# tests/smoke installs requirements/base.txt alone into this virtualenv; the build overlaps with the servers'
# start and the first tests, and both runs wait for it (a lock, see tests/smoke/base_venv.py).
export SMOKE_VENV="$tmp/smoke-venv"
/usr/bin/python3 -c "$OWN_GROUP" "$REPO/.venv/bin/python" "$REPO/tests/smoke/base_venv.py" "$SMOKE_VENV" \
    </dev/null >"$tmp/smoke-venv.builder.log" 2>&1 &
smoke_pid=$!
_track "$smoke_pid"

# Static checks: a few seconds of CPU, overlapping with the servers' start.
/usr/bin/python3 -c "$OWN_GROUP" bash "$REPO/scripts/lint.sh" </dev/null >"$tmp/lint.log" 2>&1 &
lint_pid=$!
_track "$lint_pid"

start_postgres "$tmp"
mkdir -p "$tmp/postgis/data" "$tmp/spatialite/data"
start_redis "$tmp/postgis"
postgis_redis=$REDIS_PORT
start_redis "$tmp/spatialite"
spatialite_redis=$REDIS_PORT

SECRET_KEY="test-$(/usr/bin/python3 -c 'import secrets; print(secrets.token_urlsafe(40))')"
export SECRET_KEY
export DEBUG=false

# Counts come from a JUnit XML report (so pytest's own console output stays untouched);
# errors are counted as failures. Prints "PASSED FAILED SKIPPED", or nothing if no report.
junit_counts() {
    [ -s "$1" ] || return 0
    /usr/bin/python3 - "$1" <<'EOF' 2>/dev/null || true
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = failed = skipped = 0
for s in suites:
    total += int(s.get("tests", 0))
    failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
    skipped += int(s.get("skipped", 0))
print(total - failed - skipped, failed, skipped)
EOF
}

# The command of one run, in $command: its own database, Redis, DATA_DIR, JUnit report and pytest cache.
pytest_command() {
    local slug=$1 url=$2 share=$3 redis_port=$4
    shift 4 # the rest are the pytest arguments
    # TESTS_BACKEND_INDEPENDENT_SHARE (tests/conftest.py): which share of the backend_independent tests to run.
    command=(env "DATABASE_URL=$url" "TESTS_BACKEND_INDEPENDENT_SHARE=$share"
        "REDIS_URL=redis://127.0.0.1:$redis_port/0" "DATA_DIR=$tmp/$slug/data"
        "$REPO/.venv/bin/python" -m pytest --junitxml="$tmp/$slug.xml" -o "cache_dir=$REPO/.pytest_cache/$slug"
        --durations=15 --durations-min=5 "$@")
}

names=()
statuses=()
sum_passed=0
sum_failed=0
sum_skipped=0
overall=0

# The summary line of run $1 (slug $2), which ended with status $3; the other run ended with status $4.
report_run() {
    local name=$1 slug=$2 rc=$3 other_rc=$4 counts passed failed skipped line
    if [ "$rc" -eq 5 ] && [ "$other_rc" -ne 5 ]; then
        # Everything selected was backend-independent and fell to the other run's share.
        echo "$name: every selected test is backend-independent and ran in the other run."
        names+=("$name")
        statuses+=("nothing left to run (the selected tests are backend-independent and ran in the other run)")
        return
    fi

    counts=$(junit_counts "$tmp/$slug.xml")
    if [ -n "$counts" ]; then
        read -r passed failed skipped <<<"$counts"
        sum_passed=$((sum_passed + passed))
        sum_failed=$((sum_failed + failed))
        sum_skipped=$((sum_skipped + skipped))
        counts="$passed passed, $failed failed, $skipped skipped"
    else
        counts="no counts (no test report)"
    fi

    case $rc in
        0) line="passed ($counts)" ;;
        5) line="FAILED: no tests were collected (pytest exit 5)" ;;
        *) line="FAILED (pytest exit $rc; $counts)" ;;
    esac
    if [ "$rc" -eq 5 ]; then
        echo "*** $name: no tests were collected: this counts as a failure." >&2
    fi
    [ "$rc" -eq 0 ] || overall=1
    names+=("$name")
    statuses+=("$line")
}

postgis_url="postgis://postgres@127.0.0.1:$PGPORT/openmelder"
spatialite_url="spatialite:///$tmp/spatialite/openmelder.sqlite3"
postgis_rc=0
spatialite_rc=0

if [ -n "$SEQUENTIAL" ]; then
    echo
    echo "=== PostGIS ==="
    pytest_command postgis "$postgis_url" 1/2 "$postgis_redis" "$@"
    "${command[@]}" || postgis_rc=$?
    echo
    echo "=== SpatiaLite ==="
    pytest_command spatialite "$spatialite_url" 2/2 "$spatialite_redis" "$@"
    "${command[@]}" || spatialite_rc=$?
else
    spatialite_log=$tmp/spatialite.log
    echo
    echo "[test] The PostGIS and SpatiaLite runs run at the same time: the PostGIS run's output follows live, the"
    echo "[test] SpatiaLite run's when both have ended (TEST_SEQUENTIAL=1: one after the other)."
    echo
    echo "=== PostGIS ==="
    pytest_command postgis "$postgis_url" 1/2 "$postgis_redis" "$@"
    /usr/bin/python3 -c "$OWN_GROUP" "${command[@]}" </dev/null &
    postgis_pid=$!
    _track "$postgis_pid"
    run_pids+=("$postgis_pid")
    pytest_command spatialite "$spatialite_url" 2/2 "$spatialite_redis" "$@"
    /usr/bin/python3 -c "$OWN_GROUP" "${command[@]}" </dev/null >"$spatialite_log" 2>&1 &
    spatialite_pid=$!
    _track "$spatialite_pid"
    run_pids+=("$spatialite_pid")

    # The time limit: both runs get a Ctrl-C (their fixtures stop what they started, pytest prints its summary).
    remaining=$((TIME_LIMIT - SECONDS))
    (
        # The sleep holds none of our output open, and goes with the watchdog.
        sleep "$((remaining > 0 ? remaining : 0))" </dev/null >/dev/null 2>&1 &
        trap 'kill $! 2>/dev/null; exit 0' TERM
        wait $!
        echo "[test] *** time limit: $TIME_LIMIT s since the start (TEST_TIME_LIMIT); interrupting the runs ***" >&2
        : >"$tmp/time-limit"
        _signal_group INT "$postgis_pid"
        _signal_group INT "$spatialite_pid"
    ) &
    watchdog_pid=$!

    wait "$postgis_pid" || postgis_rc=$?
    run_pids=("$spatialite_pid")
    _stop_leftovers "$postgis_pid" PostGIS
    if _ours "$spatialite_pid"; then
        echo "[test] The PostGIS run has ended; waiting for the SpatiaLite run." >&2
    fi
    wait "$spatialite_pid" || spatialite_rc=$?
    run_pids=()
    kill "$watchdog_pid" 2>/dev/null || true
    watchdog_pid=
    _stop_leftovers "$spatialite_pid" SpatiaLite
    echo
    echo "=== SpatiaLite ==="
    cat "$spatialite_log"
    spatialite_log=
fi
echo
report_run PostGIS postgis "$postgis_rc" "$spatialite_rc"
report_run SpatiaLite spatialite "$spatialite_rc" "$postgis_rc"

lint_rc=0
wait "$lint_pid" || lint_rc=$?
lint_pid=
echo
echo "=== Static checks (ruff, mypy) ==="
cat "$tmp/lint.log"
if [ "$lint_rc" -eq 0 ]; then
    lint_line="passed"
else
    lint_line="FAILED (scripts/lint.sh exit $lint_rc; findings above)"
    overall=1
fi

echo
echo "=== Summary ==="
if [ -e "$tmp/time-limit" ]; then
    echo "Time limit: the runs were interrupted after $TIME_LIMIT s (TEST_TIME_LIMIT); see each run's slowest tests"
    overall=1
fi
echo "Static checks (ruff, mypy): $lint_line"
for i in "${!names[@]}"; do
    echo "${names[$i]}: ${statuses[$i]}"
done
echo "Total: $sum_passed passed, $sum_failed failed, $sum_skipped skipped (tests marked backend_independent ran in one of the two runs)"
exit "$overall"
