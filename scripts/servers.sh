# shellcheck shell=bash
# Throw-away PostgreSQL/PostGIS and Redis servers for tests, on 127.0.0.1 only.
#
# Source this file, then:
#   start_postgres DIR   # sets PGPORT; database "openmelder", user "postgres", no password
#   start_redis DIR      # sets REDIS_PORT (and REDIS_PID) to those of the server it started
#   stop_redis; stop_postgres
#
# start_redis may be called again with another DIR for another, independent Redis (scripts/test.sh gives each
# concurrent test run its own: pub/sub channels are shared by all database numbers of one server);
# stop_redis stops every Redis started from this shell.
#
# DIR is a scratch directory (e.g. from mktemp -d) that the caller removes afterwards.
# The Debian packages start no service; we run our own servers in DIR and record the real
# server PIDs (not the PID of a shell or of pg_ctl) so the stop functions end exactly those.
# Nothing here changes shell options of the caller.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

PGPORT=
PG_PID=
PG_DIR=
REDIS_PORT=
REDIS_PID=
REDIS_PIDS=() # every Redis started from this shell, for stop_redis

_servers_log() { printf '[servers] %s\n' "$*" >&2; }

# A free TCP port on the loopback interface: let the kernel pick one (bind to port 0).
# There is a tiny window before the server binds it; the start functions retry on failure.
_free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# PostgreSQL refuses to run as root, so as root we run its tools as the "postgres" user.
# The command and its arguments are passed as positional parameters (no quoting games);
# "cd /" avoids "could not change directory" warnings when the caller's cwd is private.
_as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        su -s /bin/sh -c 'cd / && exec "$@"' postgres -- sh "$@"
    else
        "$@"
    fi
}

# True while process $1 exists and is not a zombie. Daemonized servers are re-parented to
# PID 1, which may take its time to reap them; a zombie has already stopped.
_alive() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$state" ] && [ "$state" != Z ]
}

# Wait (up to $2 seconds, default 30) until process $1 is gone. It is not our child
# (servers daemonize), so poll instead of using `wait`.
_wait_gone() {
    local pid=$1 tries=$(( ${2:-30} * 10 ))
    while _alive "$pid"; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || return 1
        sleep 0.1
    done
}

# True if PID $1 is still the process named $2 (guards against a recycled PID).
_is_proc() {
    [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] && _alive "$1"
}

start_postgres() {
    local dir=${1:?usage: start_postgres DIR}
    if _is_proc "$PG_PID" postgres; then
        _servers_log "PostgreSQL already running (pid $PG_PID, port $PGPORT)"
        return 1
    fi
    if [ ! -x "$PG_BIN/initdb" ]; then
        _servers_log "no $PG_BIN/initdb: install postgresql-15-postgis-3 (scripts/bootstrap.sh does)"
        return 1
    fi
    PG_DIR=$dir/postgres
    mkdir -p "$PG_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$PG_DIR"
        chmod 700 "$PG_DIR"
        # The postgres user must be able to reach PG_DIR; a mktemp -d directory is mode 700
        # and owned by root, so allow traversal (search only, no listing) where needed.
        if ! _as_pg test -w "$PG_DIR"; then
            chmod o+x "$dir"
            if ! _as_pg test -w "$PG_DIR"; then
                _servers_log "user postgres cannot reach $PG_DIR (a parent directory is private?)"
                return 1
            fi
        fi
    fi

    if ! _as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" --auth=trust -U postgres \
            --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1; then
        _servers_log "initdb failed:"
        cat "$PG_DIR/initdb.log" >&2
        return 1
    fi

    local attempt port
    for attempt in 1 2 3; do
        port=$(_free_port)
        # -w: pg_ctl waits until the server accepts connections. -k: Unix socket in our dir,
        # not /var/run/postgresql (which may not exist or belong to a system cluster).
        # fsync/synchronous_commit/full_page_writes off: data is thrown away, speed matters.
        if _as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
                -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
                start >"$PG_DIR/pg_ctl.log" 2>&1; then
            break
        fi
        _servers_log "PostgreSQL did not start on port $port (attempt $attempt); server log:"
        tail -n 20 "$PG_DIR/server.log" >&2 || true
        port=
    done
    [ -n "$port" ] || return 1

    # The first line of postmaster.pid is the PID of the postmaster itself.
    PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
    PGPORT=$port
    export PGPORT

    local tries=300
    until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" -U postgres; do
        tries=$((tries - 1))
        if [ "$tries" -le 0 ] || ! _alive "$PG_PID"; then
            _servers_log "PostgreSQL is not ready on port $PGPORT; server log:"
            tail -n 20 "$PG_DIR/server.log" >&2 || true
            stop_postgres
            return 1
        fi
        sleep 0.1
    done

    if ! "$PG_BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres openmelder; then
        _servers_log "createdb openmelder failed"
        stop_postgres
        return 1
    fi
    _servers_log "PostgreSQL 15 on 127.0.0.1:$PGPORT (pid $PG_PID, data $PG_DIR/data)"
}

stop_postgres() {
    if [ -z "$PG_PID" ]; then
        return 0
    fi
    if _is_proc "$PG_PID" postgres; then
        # SIGINT = "fast" shutdown: disconnect clients, stop cleanly. Escalate if it hangs.
        kill -INT "$PG_PID" 2>/dev/null || true
        if ! _wait_gone "$PG_PID" 30; then
            _servers_log "PostgreSQL (pid $PG_PID) did not stop in 30 s; sending SIGQUIT"
            kill -QUIT "$PG_PID" 2>/dev/null || true
            if ! _wait_gone "$PG_PID" 10; then
                kill -KILL "$PG_PID" 2>/dev/null || true
                _wait_gone "$PG_PID" 10 || _servers_log "PostgreSQL (pid $PG_PID) is still running"
            fi
        fi
    fi
    PG_PID=
}

start_redis() {
    local dir=${1:?usage: start_redis DIR}
    local running
    running=$(cat "$dir/redis/redis.pid" 2>/dev/null || true)
    if _is_proc "$running" redis-server; then
        _servers_log "Redis already running in $dir/redis (pid $running)"
        return 1
    fi
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        _servers_log "redis-server/redis-cli not found: install redis-server (scripts/bootstrap.sh does)"
        return 1
    fi
    local rdir=$dir/redis
    mkdir -p "$rdir"

    local attempt port pid tries
    for attempt in 1 2 3; do
        port=$(_free_port)
        rm -f "$rdir/redis.pid"
        # --save '' and --appendonly no: no persistence. --daemonize: the server detaches
        # and writes its own PID to the pidfile.
        if redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
                --daemonize yes --pidfile "$rdir/redis.pid" --dir "$rdir" \
                --logfile "$rdir/redis.log" >/dev/null 2>&1; then
            tries=100
            pid=
            while [ "$tries" -gt 0 ]; do
                [ -n "$pid" ] || pid=$(cat "$rdir/redis.pid" 2>/dev/null || true)
                if [ -n "$pid" ] && [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
                    REDIS_PID=$pid
                    REDIS_PIDS+=("$pid")
                    REDIS_PORT=$port
                    export REDIS_PORT
                    _servers_log "Redis on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"
                    return 0
                fi
                # The daemon died (e.g. port taken in the meantime): retry with another port.
                if [ -n "$pid" ] && ! _alive "$pid"; then
                    break
                fi
                tries=$((tries - 1))
                sleep 0.1
            done
            if [ -n "$pid" ] && _is_proc "$pid" redis-server; then
                kill -TERM "$pid" 2>/dev/null || true
                _wait_gone "$pid" 10 || true
            fi
        fi
        _servers_log "Redis did not start on port $port (attempt $attempt); log:"
        tail -n 10 "$rdir/redis.log" >&2 2>/dev/null || true
    done
    return 1
}

stop_redis() {
    local pid
    for pid in "${REDIS_PIDS[@]}" $REDIS_PID; do
        if _is_proc "$pid" redis-server; then
            kill -TERM "$pid" 2>/dev/null || true
            if ! _wait_gone "$pid" 10; then
                kill -KILL "$pid" 2>/dev/null || true
                _wait_gone "$pid" 5 || _servers_log "Redis (pid $pid) is still running"
            fi
        fi
    done
    REDIS_PIDS=()
    REDIS_PID=
}

# A temporary directory for the servers of one script run, in $tmp: on exit (also on failure or
# Ctrl-C) every server started from here is stopped and the directory removed.
servers_workdir() {
    tmp=$(mktemp -d)
    trap _servers_cleanup EXIT
    # A signal ends the script with the usual status; the EXIT trap then cleans up. Further INT/TERM are ignored
    # from then on: a second one (timeout(1) signals the child and then its whole group; Ctrl-C pressed twice)
    # would otherwise end the cleanup half-way and leave servers running.
    trap 'trap "" INT TERM; exit 130' INT
    trap 'trap "" INT TERM; exit 143' TERM
}

# shellcheck disable=SC2317 # called from a trap
_servers_cleanup() {
    # No set -e in here: every step must run even if one fails; and no signal may cut it short.
    set +e
    trap '' INT TERM
    stop_redis
    stop_postgres
    rm -rf "$tmp"
}
