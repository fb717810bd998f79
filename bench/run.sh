#!/usr/bin/env bash
# Builds mcp-prompts and loadgen in release, starts the server on 127.0.0.1 with
# a throw-away data folder, runs the benchmark suite against it and prints every
# figure. Loopback only; every step is bounded in time (the whole run takes
# about 2-3 minutes after the builds).
#
#   bench/run.sh              # full suite
#   SKIP_BUILD=1 bench/run.sh # reuse existing release binaries
#   LOADGEN_THREADS=2 bench/run.sh
#   NICE=-15 bench/run.sh     # as root: favour server and loadgen over other jobs
#   SERVER=/path/to/mcp-prompts bench/run.sh  # another server binary
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
SERVER="${SERVER:-$ROOT/target/release/mcp-prompts}"
LOADGEN="$BENCH_DIR/target/release/loadgen"
THREADS="${LOADGEN_THREADS:-1}"
NICE_CMD=()
if [[ -n "${NICE:-}" ]]; then NICE_CMD=(nice -n "$NICE"); fi
RESULTS="$(mktemp)"
SERVER_PID=""
SERVER_OUT=""
CANNED_PID=""
DATA_DIRS=()

cleanup() {
    if [[ -n "$CANNED_PID" ]]; then kill "$CANNED_PID" 2>/dev/null || true; fi
    stop_server
    for d in "${DATA_DIRS[@]}"; do rm -rf "$d"; done
    rm -f "$RESULTS"
}
trap cleanup EXIT

if [[ -z "${SKIP_BUILD:-}" ]]; then
    echo "== building (release)"
    (cd "$ROOT" && cargo build --release --bin mcp-prompts)
    (cd "$BENCH_DIR" && cargo build --release)
fi

# Sessions need a file descriptor each, on both sides.
ulimit -n "$(ulimit -Hn)"
echo "== open files limit: $(ulimit -n); cores: $(nproc); $(date -u +%Y-%m-%dT%H:%M:%SZ)"
# Figures are only meaningful on an otherwise idle machine (2 cores shared by
# server and load generator).
busy="$(ps -eo comm= | grep -cE '^(rustc|cc1|cc1plus|ld|cargo)$' || true)"
if [[ "$busy" -gt 0 ]]; then
    echo "!! warning: $busy compiler/cargo process(es) running: figures will be low"
fi
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"

start_server() {
    local data
    data="$(mktemp -d)"
    DATA_DIRS+=("$data")
    SERVER_OUT="$(mktemp)"
    RUST_LOG="${RUST_LOG:-warn}" "${NICE_CMD[@]}" "$SERVER" serve --addr 127.0.0.1:0 --data "$data" \
        --rate-per-sec 0 --max-connections-per-principal 1000000 --max-http-sessions-per-principal 1000000 >"$SERVER_OUT" 2>&1 &
    SERVER_PID=$!
    URL=""
    for _ in $(seq 1 200); do
        URL="$(grep -o 'ws://[^ ]*' "$SERVER_OUT" | head -n1 || true)"
        [[ -n "$URL" ]] && break
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            cat "$SERVER_OUT" >&2
            echo "server exited during startup" >&2
            exit 1
        fi
        sleep 0.05
    done
    if [[ -z "$URL" ]]; then
        cat "$SERVER_OUT" >&2
        echo "server printed no ws:// URL within 10 s" >&2
        exit 1
    fi
    echo "== server pid $SERVER_PID at $URL"
}

stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
    [[ -n "$SERVER_OUT" ]] && rm -f "$SERVER_OUT"
    SERVER_OUT=""
}

# The calibration server (src/bin/canned.rs); C holds the loadgen arguments
# that point at it.
start_canned() {
    local out
    out="$(mktemp)"
    "${NICE_CMD[@]}" "$BENCH_DIR/target/release/canned" >"$out" &
    CANNED_PID=$!
    for _ in $(seq 1 100); do [[ -s "$out" ]] && break; sleep 0.05; done
    C=(--url "$(head -n1 "$out")" --server-pid "$CANNED_PID" --label canned)
    rm -f "$out"
}

stop_canned() {
    kill "$CANNED_PID" 2>/dev/null || true
    wait "$CANNED_PID" 2>/dev/null || true
    CANNED_PID=""
}

# Runs one loadgen command with a hard time limit; keeps its RESULT lines.
bench() {
    local limit="$1"
    shift
    echo
    echo "== loadgen $*"
    if ! timeout --kill-after=5 "$limit" "${NICE_CMD[@]}" "$LOADGEN" --threads "$THREADS" "$@" | tee -a "$RESULTS"; then
        echo "!! loadgen $1 failed or timed out" | tee -a "$RESULTS"
    fi
    # Let the server reap the closed connections before the next step.
    sleep 1
}

start_server
P=(--server-pid "$SERVER_PID")
bench 60 throughput --url "$URL" "${P[@]}" --connections 1 --duration-secs 10
bench 60 throughput --url "$URL" "${P[@]}" --connections 64 --duration-secs 10
# The transport's ceiling on this machine: the same round trip with no catalog work.
bench 60 throughput --url "$URL" "${P[@]}" --connections 64 --duration-secs 10 --method ping
# The ceiling for this generator on this machine today: the same requests
# against a server that only answers with a canned reply of the same size.
start_canned
bench 60 throughput "${C[@]}" --connections 64 --duration-secs 10
stop_canned
bench 60 fanout --url "$URL" "${P[@]}" --sessions 1000 --changes 1
bench 120 fanout --url "$URL" "${P[@]}" --sessions 10000 --changes 1
# The same fan-outs from a server that only broadcasts the two frames.
start_canned
bench 60 fanout "${C[@]}" --sessions 1000 --changes 1
bench 120 fanout "${C[@]}" --sessions 10000 --changes 1
stop_canned
bench 90 fanout --url "$URL" "${P[@]}" --sessions 1000 --rate 100 --duration-secs 10
# Streamable HTTP: one session, 64 concurrent keep-alive POSTs.
HTTP_URL="$(sed 's#^ws://#http://#; s#/ws$#/mcp#' <<<"$URL")"
bench 60 http --url "$HTTP_URL" "${P[@]}" --in-flight 64 --duration-secs 10
bench 60 http --url "$HTTP_URL" "${P[@]}" --in-flight 64 --duration-secs 10 --method ping
stop_server

# stdio: loadgen starts `mcp-prompts stdio` on a fresh data folder itself.
bench 60 stdio --server "$SERVER" --in-flight 64 --duration-secs 10
bench 60 stdio --server "$SERVER" --in-flight 64 --duration-secs 10 --method ping

# Memory on fresh servers, so memory freed by earlier steps is not reused.
for n in 1000 10000; do
    start_server
    bench 90 memory --url "$URL" --sessions "$n" --pid "$SERVER_PID"
    stop_server
done

echo
echo "== summary ($(date -u +%Y-%m-%d), $(nproc) cores, loadgen threads $THREADS)"
"$LOADGEN" summarize "$RESULTS"
