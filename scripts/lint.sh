#!/usr/bin/env bash
# Static checks: ruff (lint rules in pyproject.toml, [tool.ruff.lint]) over the whole tree and mypy with
# the Django and DRF plugins over the apps ([tool.mypy]).
#
#   scripts/lint.sh        (run from anywhere; uses .venv, or $VENV_DIR)
#
# Both checks run even if the first fails; the exit status is non-zero if either failed.
# Needs the test set of packages (scripts/bootstrap.sh test).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
VENV=${VENV_DIR:-$REPO/.venv}

# mypy's Django plugin imports backend.settings, which refuses to load without a SECRET_KEY and would
# otherwise create its SpatiaLite file and data directory under var/. Harmless values in a temporary
# directory: nothing is connected to, nothing is written there.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export SECRET_KEY=lint-only DEBUG=false DATA_DIR="$scratch" DATABASE_URL="spatialite:///$scratch/lint.sqlite3"
# A fresh mypy cache every run (a few seconds): the Django plugin's cache does not notice changed settings
# types and then reports errors that are gone (or hides new ones). Also keeps .mypy_cache out of the tree.
export MYPY_CACHE_DIR="$scratch/mypy-cache"
unset SECRET_KEY_FILE REDIS_URL

failed=()
run() {
    local name=$1
    shift
    printf '[lint] %s\n' "$*"
    if ! "$@"; then
        failed+=("$name")
    fi
}

run ruff "$VENV/bin/ruff" check .
run mypy "$VENV/bin/mypy"

if [ "${#failed[@]}" -gt 0 ]; then
    printf '[lint] FAILED: %s\n' "${failed[*]}"
    exit 1
fi
printf '[lint] passed: ruff, mypy\n'
