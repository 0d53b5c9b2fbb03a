#!/usr/bin/env bash
# Run the test suite twice: against PostGIS and against SpatiaLite (both supported backends).
# Tests marked backend_independent (their outcome cannot depend on the database backend) run in the
# PostGIS run only; the total counts every test once per run it took part in.
#
#   scripts/test.sh [pytest args...]        (make test PYTEST_ARGS="-k foo -x")
#
# Starts throw-away PostgreSQL and Redis servers on 127.0.0.1 in a temporary directory and
# removes them on exit, also on failure or Ctrl-C. Both runs happen even if the first fails;
# the exit status is non-zero if either failed (pytest's "no tests collected" counts as failed).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

"$REPO/scripts/bootstrap.sh" test

# shellcheck source=scripts/servers.sh
. "$REPO/scripts/servers.sh"

servers_workdir  # sets $tmp; servers and directory go on exit, also on failure or Ctrl-C

start_postgres "$tmp"
start_redis "$tmp"

export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
SECRET_KEY="test-$(/usr/bin/python3 -c 'import secrets; print(secrets.token_urlsafe(40))')"
export SECRET_KEY
export DEBUG=false
export DATA_DIR="$tmp/data"
# tests/smoke installs requirements/base.txt alone into this virtualenv once; both runs share it.
export SMOKE_VENV="$tmp/smoke-venv"
mkdir -p "$DATA_DIR" "$tmp/spatialite"

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

names=()
statuses=()
sum_passed=0
sum_failed=0
sum_skipped=0
overall=0

run_backend() {
    local name=$1 url=$2 once=$3 slug rc counts passed failed skipped line
    shift 3 # the rest are the pytest arguments
    slug=$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')
    echo
    echo "=== $name ==="
    set +e
    # TESTS_BACKEND_INDEPENDENT_RAN (tests/conftest.py): leave out the backend_independent tests.
    DATABASE_URL=$url TESTS_BACKEND_INDEPENDENT_RAN=$once "$REPO/.venv/bin/python" -m pytest --junitxml="$tmp/$slug.xml" "$@"
    rc=$?
    set -e
    if [ "$rc" -eq 5 ] && [ -n "$once" ] && [ "$first_rc" -ne 5 ]; then
        # Everything selected was backend-independent and ran in the first run already.
        echo "$name: every selected test is backend-independent and ran on PostGIS."
        names+=("$name")
        statuses+=("nothing left to run (all selected tests are backend-independent)")
        return
    fi
    first_rc=$rc

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

first_rc=5
run_backend PostGIS "postgis://postgres@127.0.0.1:$PGPORT/openmelder" "" "$@"
run_backend SpatiaLite "spatialite:///$tmp/spatialite/openmelder.sqlite3" 1 "$@"

echo
echo "=== Summary ==="
for i in "${!names[@]}"; do
    echo "${names[$i]}: ${statuses[$i]}"
done
echo "Total: $sum_passed passed, $sum_failed failed, $sum_skipped skipped (tests marked backend_independent ran in the PostGIS run only)"
exit "$overall"
