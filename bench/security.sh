#!/usr/bin/env bash
# The security figures, measured side by side in one run:
#  - issue 10 (`subscriptions`): server RSS under the subscription attack (every client
#    subscribes to 64 random 64-character names) against a build from before the fix
#    (BEFORE=<commit>, optional) and this tree, and this tree with random real section
#    sets and with plain clients;
#  - issue 10 (`tls`): the server's CPU per connection (TCP + TLS + upgrade) and fan-out
#    CPU per delivered message at 1000 clients, with and without TLS;
#  - issue 20 (`attacks`): the server's peak RSS (VmHWM) and the CPU it spent during
#    each attack of bench/attacks.sh (/api/history readers, fleet name flood, fleet
#    oversize frames, continuation and ping floods), before (BEFORE) and after.
#
#   bench/security.sh [DURATION_SECONDS] [BEFORE_COMMIT]
#   SECTIONS="attacks" bench/security.sh 20 fa16fa7     # only issue 20's part
#
# Runs only on 127.0.0.1. Results go to stdout and target/bench/security/.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-60}"
BEFORE="${2:-}"
OUT=target/bench/security
mkdir -p "$OUT"

echo "== building (release): server, plugins, loadgen"
cargo xtask install >/dev/null
cargo build --release --quiet -p monitoring-tests --bin loadgen --bin attack-history --bin attack-fleet --bin attack-ws
SECTIONS="${SECTIONS:-subscriptions tls attacks}"
has() { [[ " $SECTIONS " == *" $1 "* ]]; }
if [ -n "$BEFORE" ]; then
    echo "== building the server as of $BEFORE"
    # A worktree already at that commit is reused: only what changed is rebuilt.
    if [ "$(git -C target/bench-before rev-parse HEAD 2>/dev/null)" != "$(git rev-parse "$BEFORE")" ]; then
        rm -rf target/bench-before
        git worktree prune
        git worktree add --force --detach target/bench-before "$BEFORE" >/dev/null
    fi
    (cd target/bench-before && CARGO_TARGET_DIR="$PWD/../bench-before-target" cargo xtask install >/dev/null)
fi
ulimit -n "$(ulimit -Hn)"
if [ "$(nproc)" -ge 2 ]; then SERVER_CPU=(taskset -c 0); CLIENT_CPU=(taskset -c 1); else SERVER_CPU=(); CLIENT_CPU=(); fi

PIDS=()
cleanup() {
    for pid in "${PIDS[@]:-}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

config() { # plugins_dir → a config file on stdout
    sed -e 's/^max_clients = .*/max_clients = 2000/' \
        -e "s|^plugins_dir = .*|plugins_dir = \"$1\"|" plugins.toml
}
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
load() { # label url clients mode [extra loadgen args]
    local label=$1 url=$2 clients=$3 mode=$4; shift 4
    echo "-- $label: RSS at start $(rss_mb "$SERVER_PID") MB"
    "${CLIENT_CPU[@]}" target/release/loadgen --label "$label" --url "$url" --pid "$SERVER_PID" \
        --clients "$clients" --subscribe "$mode" --warmup 5 --duration "$DURATION" --pingers 20 "$@" \
        | tee "$OUT/$label.txt"
    sleep 2
    echo "-- $label: RSS after the clients left $(rss_mb "$SERVER_PID") MB"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
}

NEW=target/release/monitoring-websocket-server
# Every client comes from 127.0.0.1, so the per-address limits are lifted.
lift() {
    sed -i -e '/^max_clients_per_ip = /d' -e '/^max_connections = /d' \
        -e 's/^max_clients = 2000$/max_clients = 2000\nmax_clients_per_ip = 0\nmax_connections = 4000/' "$1"
}

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
if has subscriptions; then
echo "== subscription attack, 1000 clients, ${DURATION} s each"
if [ -n "$BEFORE" ]; then
    sed -e "s/^max_clients = .*/max_clients = 2000/" -e "s|^plugins_dir = .*|plugins_dir = \"$PWD/target/bench-before/plugins\"|" \
        target/bench-before/plugins.toml >"$OUT/before.toml"
    RUST_LOG=warn "${SERVER_CPU[@]}" target/bench-before-target/release/monitoring-websocket-server \
        --config "$OUT/before.toml" --host 127.0.0.1 --port 18911 >"$OUT/before.log" 2>&1 &
    PIDS+=($!); SERVER_PID=$!; sleep 2
    load before-junk ws://127.0.0.1:18911/ 1000 junk
fi
for mode in junk real plain; do
    config "$PWD/plugins" >"$OUT/after-$mode.toml"; lift "$OUT/after-$mode.toml"
    RUST_LOG=warn "${SERVER_CPU[@]}" "$NEW" --config "$OUT/after-$mode.toml" --host 127.0.0.1 \
        --port 18912 >"$OUT/after-$mode.log" 2>&1 &
    PIDS+=($!); SERVER_PID=$!; sleep 2
    load "after-$mode" ws://127.0.0.1:18912/ 1000 "$mode"
done

fi

if has tls; then
echo "== TLS"
CERTS="$OUT/certs"; mkdir -p "$CERTS"
if [ ! -f "$CERTS/server.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=bench CA" -keyout "$CERTS/ca.key" -out "$CERTS/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$CERTS/server.key" -out "$CERTS/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$CERTS/ext"
    openssl x509 -req -in "$CERTS/server.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" \
        -CAcreateserial -days 2 -extfile "$CERTS/ext" -out "$CERTS/server.pem" 2>/dev/null
fi
for tls in plain tls; do
    config "$PWD/plugins" >"$OUT/$tls.toml"; lift "$OUT/$tls.toml"
    if [ "$tls" = tls ]; then
        sed -i "s|^\[server\]|[server]\ntls_cert = \"$PWD/$CERTS/server.pem\"\ntls_key = \"$PWD/$CERTS/server.key\"|" "$OUT/$tls.toml"
        URL=wss://127.0.0.1:18913/; CA=(--ca "$CERTS/ca.pem")
    else
        URL=ws://127.0.0.1:18913/; CA=()
    fi
    RUST_LOG=warn "${SERVER_CPU[@]}" "$NEW" --config "$OUT/$tls.toml" --host 127.0.0.1 --port 18913 \
        >"$OUT/$tls.log" 2>&1 &
    PIDS+=($!); SERVER_PID=$!; sleep 2
    "${CLIENT_CPU[@]}" target/release/loadgen --url "$URL" --pid "$SERVER_PID" --handshakes 500 "${CA[@]}" \
        | tee "$OUT/handshakes-$tls.txt"
    load "fanout-$tls" "$URL" 1000 plain "${CA[@]}"
done
fi

if has attacks; then
    source bench/attacks.sh
fi
