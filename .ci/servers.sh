#!/usr/bin/env bash
# Sourced by .ci/run: starts the cache servers the tests need, on free
# loopback ports, as background processes of this script (not daemonized: a
# daemonized Redis exits 0 even when its port is taken), checks that the
# server answering each port is the one started here, exports the addresses
# for the tests, and stops everything it started, by PID, when the script
# exits, whether the tests passed or not.
#
# Exports: MEMO_TEST_REDIS_URL (also listening on the Unix socket
# MEMO_TEST_REDIS_SOCKET), MEMO_TEST_REDIS_TLS_URL (a Redis that speaks only
# TLS, with a certificate of a CA made here, MEMO_TEST_REDIS_CA, and an ACL
# user whose password has ':', '@' and '%' in it, percent-encoded in the URL),
# MEMO_TEST_REDIS_CLUSTER (three masters), MEMO_TEST_REDIS_SENTINEL (a
# sentinel watching a master with one replica, as MEMO_TEST_REDIS_SENTINEL_MASTER),
# MEMO_TEST_MEMCACHED (three servers), MEMO_TEST_REDIS_SERVER and
# MEMO_TEST_MEMCACHED_SERVER (the binaries, for tests that start, kill and
# restart servers of their own), and MEMO_TEST_REQUIRE_SERVERS=1, which turns
# a missing server into a test failure instead of a skip.

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null || ! command -v memcached >/dev/null || ! command -v openssl >/dev/null; then
    printf '\n== installing redis-server and memcached\n'
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server redis-tools memcached openssl >/dev/null
fi

SERVERS_DIR=$(mktemp -d)
SERVER_PIDS=()

stop_servers() {
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${SERVER_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$SERVERS_DIR"
}
trap stop_servers EXIT

# Prints $1 ports that are free on loopback, each with port+10000 free too
# (a Redis Cluster node's bus port).
free_ports() {
    python3 - "$1" <<'PY'
import random, socket, sys
def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
found = []
while len(found) < int(sys.argv[1]):
    port = random.randint(20000, 30000)
    if port not in found and free(port) and free(port + 10000):
        found.append(port)
print(" ".join(map(str, found)))
PY
}

# Waits until the Redis on port $1 answers as process $2 (its log: $3);
# the rest are options of redis-cli to reach it (TLS, a user).
await_redis() {
    local port=$1 pid=$2 log=$3
    shift 3
    for _ in $(seq 200); do
        if redis-cli -h 127.0.0.1 -p "$port" "$@" INFO server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$pid"; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        sleep 0.05
    done
    echo "redis-server (pid $pid) is not the server answering port $port:" >&2
    cat "$log" >&2
    exit 1
}

# Waits until the memcached on port $1 answers as process $2.
await_memcached() {
    for _ in $(seq 200); do
        if python3 - "$1" "$2" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"stats\r\n")
data = b""
while not data.endswith(b"END\r\n"):
    data += s.recv(65536)
sys.exit(0 if f"STAT pid {sys.argv[2]}\r\n".encode() in data else 1)
PY
        then
            return 0
        fi
        if ! kill -0 "$2" 2>/dev/null; then break; fi
        sleep 0.05
    done
    echo "memcached (pid $2) is not the server answering port $1" >&2
    exit 1
}

start_redis() {
    local port=$1
    shift
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$SERVERS_DIR" "$@" >"$SERVERS_DIR/redis-$port.log" 2>&1 &
    SERVER_PIDS+=($!)
    await_redis "$port" "$!" "$SERVERS_DIR/redis-$port.log"
}

start_memcached() {
    memcached -u "$(id -un)" -l 127.0.0.1 -p "$1" -U 0 -m 64 >"$SERVERS_DIR/memcached-$1.log" 2>&1 &
    SERVER_PIDS+=($!)
    await_memcached "$1" "$!"
}

# A CA, and a certificate it signs for 127.0.0.1 and localhost.
make_certificates() {
    local dir=$SERVERS_DIR/tls
    mkdir -p "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=memo test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 2 -extfile "$dir/san.ext" -out "$dir/server.pem" 2>/dev/null
}

read -r REDIS_PORT TLS_PORT C1 C2 C3 M1 M2 M3 SM SR SS <<<"$(free_ports 11)"

start_redis "$REDIS_PORT" --unixsocket "$SERVERS_DIR/redis.sock" --unixsocketperm 700
make_certificates
# The password of the TLS server's user, and as it goes in a URL.
TLS_PASSWORD='p:w@d%1'
TLS_PASSWORD_IN_URL='p%3Aw%40d%251'
redis-server --port 0 --tls-port "$TLS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$SERVERS_DIR" --tls-cert-file "$SERVERS_DIR/tls/server.pem" --tls-key-file "$SERVERS_DIR/tls/server.key" \
    --tls-ca-cert-file "$SERVERS_DIR/tls/ca.pem" --tls-auth-clients no \
    --user default off --user memo on ">$TLS_PASSWORD" '~*' '+@all' \
    >"$SERVERS_DIR/redis-tls-$TLS_PORT.log" 2>&1 &
SERVER_PIDS+=($!)
await_redis "$TLS_PORT" "$!" "$SERVERS_DIR/redis-tls-$TLS_PORT.log" \
    --tls --cacert "$SERVERS_DIR/tls/ca.pem" --user memo --pass "$TLS_PASSWORD"
for port in "$C1" "$C2" "$C3"; do
    start_redis "$port" --cluster-enabled yes --cluster-config-file "nodes-$port.conf" --cluster-node-timeout 2000
done
redis-cli --cluster create "127.0.0.1:$C1" "127.0.0.1:$C2" "127.0.0.1:$C3" --cluster-replicas 0 --cluster-yes \
    >"$SERVERS_DIR/cluster-create.log" 2>&1 || { cat "$SERVERS_DIR/cluster-create.log" >&2; exit 1; }
for _ in $(seq 200); do
    if redis-cli -p "$C1" CLUSTER INFO | tr -d '\r' | grep -qx 'cluster_state:ok'; then break; fi
    sleep 0.05
done
# A master, its replica, and a sentinel watching them (quorum 1).
start_redis "$SM"
start_redis "$SR" --replicaof 127.0.0.1 "$SM"
printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor memo 127.0.0.1 %s 1\nsentinel down-after-milliseconds memo 1000\n' \
    "$SS" "$SERVERS_DIR" "$SM" >"$SERVERS_DIR/sentinel.conf"
redis-server "$SERVERS_DIR/sentinel.conf" --sentinel >"$SERVERS_DIR/sentinel-$SS.log" 2>&1 &
SERVER_PIDS+=($!)
await_redis "$SS" "$!" "$SERVERS_DIR/sentinel-$SS.log"
for port in "$M1" "$M2" "$M3"; do
    start_memcached "$port"
done

export MEMO_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export MEMO_TEST_REDIS_SOCKET="$SERVERS_DIR/redis.sock"
export MEMO_TEST_REDIS_TLS_URL="rediss://memo:$TLS_PASSWORD_IN_URL@127.0.0.1:$TLS_PORT"
export MEMO_TEST_REDIS_CA="$SERVERS_DIR/tls/ca.pem"
export MEMO_TEST_REDIS_CLUSTER="127.0.0.1:$C1,127.0.0.1:$C2,127.0.0.1:$C3"
export MEMO_TEST_REDIS_SENTINEL="127.0.0.1:$SS"
export MEMO_TEST_REDIS_SENTINEL_MASTER=memo
export MEMO_TEST_MEMCACHED="127.0.0.1:$M1,127.0.0.1:$M2,127.0.0.1:$M3"
export MEMO_TEST_REDIS_SERVER=$(command -v redis-server)
export MEMO_TEST_MEMCACHED_SERVER=$(command -v memcached)
export MEMO_TEST_REQUIRE_SERVERS=1
printf '== cache servers: redis %s (and %s), TLS redis %s, cluster %s, sentinel %s, memcached %s\n' \
    "$MEMO_TEST_REDIS_URL" "$MEMO_TEST_REDIS_SOCKET" "$MEMO_TEST_REDIS_TLS_URL" "$MEMO_TEST_REDIS_CLUSTER" \
    "$MEMO_TEST_REDIS_SENTINEL" "$MEMO_TEST_MEMCACHED"
