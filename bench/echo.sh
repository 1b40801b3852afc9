#!/usr/bin/env bash
# The echo benchmark of issue 6, deterministic part: userspace instructions and syscalls
# per request for each echo server, which wall-clock drift on a small shared machine
# cannot blur.
#
# For each server and configuration (connections x message size) it runs the server
# (bench/src/bin/echo_server.rs) with a fixed load from bench/src/bin/echo_load.rs:
# `--requests N` round trips in total, after which the load generator closes every
# connection and the server, started with `--conns C`, exits by itself. It does so twice,
# with N = SMALL and N = LARGE, so start-up and shutdown cancel:
#
#   per request = (count(LARGE) - count(SMALL)) / (LARGE - SMALL)
#
# - instructions: `valgrind --tool=callgrind` on the server; the total `Ir` (userspace
#   only: the kernel's share of a syscall is not counted).
# - syscalls by kind: `strace -f -c` on the server (all threads), calls and errors
#   (errors are mostly EAGAIN: a read or write that found the socket not ready).
#
# The count of `epoll_wait` calls (and of futex calls in multi-threaded servers) depends
# on how many events are ready per wait, so on timing; strace and valgrind slow the server
# down, which batches more events per wait than a free-running server sees. The other
# counts do not depend on timing.
#
# Run (about 2 minutes per configuration; needs valgrind, strace and perf):
#
#   cd bench && CARGO_TARGET_DIR=/work/target-bench-echo cargo build --release --bins
#   BIN=/work/target-bench-echo/release ./echo.sh > /tmp/echo-costs.md
#
# Variables: BIN (default ../target/release), CONFIGS (default "1x64 50x64"), SMALL
# (2000), LARGE (20000), IMPLS (all six), OUT (raw outputs, default /tmp/echo-costs).
set -euo pipefail

cd "$(dirname "$0")"
BIN=${BIN:-../target/release}
CONFIGS=${CONFIGS:-"1x64 50x64"}
SMALL=${SMALL:-2000}
LARGE=${LARGE:-20000}
IMPLS=${IMPLS:-"epoll ply-ct tokio-ct smol ply-mt tokio-mt"}
OUT=${OUT:-/tmp/echo-costs}
mkdir -p "$OUT"
# Syscall counters for `perf stat`: the kernel's tracepoints, counted in the kernel at
# full speed (no ptrace stop per call, unlike strace).
PERF_EVENTS="-e raw_syscalls:sys_enter"
for k in recvfrom sendto read write readv writev epoll_wait epoll_pwait epoll_ctl futex sched_yield; do
    PERF_EVENTS+=" -e syscalls:sys_enter_$k"
done
PERF_EVENTS+=" -e raw_syscalls:sys_exit --filter ret==-11"
port=$((7300 + RANDOM % 500))

# run TOOL IMPL CONNS SIZE REQUESTS: one fixed-load run; leaves its output in $OUT.
run() {
    local tool=$1 imp=$2 c=$3 s=$4 n=$5 cpus=0
    [[ $imp == *-mt ]] && cpus=0,1
    port=$((port + 1))
    local srv=("$BIN/echo_server" --impl "$imp" --cpus "$cpus" --addr "127.0.0.1:$port" --conns "$c")
    local f="$OUT/$tool.$imp.${c}x$s.$n"
    case $tool in
        callgrind) valgrind --tool=callgrind --callgrind-out-file="$f" "${srv[@]}" >/dev/null 2>"$f.log" & ;;
        strace) strace -f -c -o "$f" "${srv[@]}" >/dev/null & ;;
        perf) perf stat -x, -o "$f" $PERF_EVENTS -- "${srv[@]}" >/dev/null & ;;
    esac
    local pid=$!
    "$BIN/echo_load" --addr "127.0.0.1:$port" --cpus 1 --connections "$c" --size "$s" --requests "$n" >/dev/null
    wait $pid
}

# The total instruction count of a callgrind output file.
instructions() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }

# "calls errors name" per syscall of an `strace -c` summary (errors column may be empty).
strace_counts() {
    awk '/^-/ { sep++; next } sep == 1 && NF >= 5 {
        errs = (NF == 6) ? $5 : 0; print $4, errs, $NF }' "$1"
}

# The same from a `perf stat -x,` file: "calls 0 name"; `total` counts every syscall,
# `EAGAIN` every syscall that returned it.
perf_counts() {
    awk -F, '$1 ~ /^[0-9]+$/ { n = $3; sub(/^.*sys_enter_?/, "", n)
        if ($3 ~ /exit/) n = "EAGAIN"; if (n == "") n = "total"; print $1, 0, n }' "$1"
}

# per_request COUNTS SMALL_FILE LARGE_FILE: "total | name calls, ..." per request,
# largest first.
per_request() {
    join -1 3 -2 3 -a 2 -e 0 -o 0,1.1,1.2,2.1,2.2 \
        <($1 "$2" | sort -k3) <($1 "$3" | sort -k3) |
        awk -v d=$((LARGE - SMALL)) '{
            calls = ($4 - $2) / d; errs = ($5 - $3) / d
            if ($1 == "total") { total = calls; next }
            if ($1 != "EAGAIN") sum += calls
            if (calls >= 0.005) {
                s = sprintf("%s %.2f", $1, calls)
                if (errs >= 0.005) s = s sprintf(" (%.2f failed)", errs)
                print calls, s
            }
        } END { if (total == "") total = sum
            else if (total - sum >= 0.005) printf "%f other %.2f\n", total - sum, total - sum
            printf "%f TOTAL\n", total }' |
        sort -gr | awk '$2 == "TOTAL" { total = $1; next } { $1 = ""; sub(/^ /, ""); parts = parts sep $0; sep = ", " }
            END { printf "%.2f | %s", total, parts }'
}

for cfg in $CONFIGS; do
    c=${cfg%x*}
    s=${cfg#*x}
    declare -A ins=()
    for imp in $IMPLS; do
        for n in $SMALL $LARGE; do
            for tool in callgrind strace perf; do
                run $tool "$imp" "$c" "$s" "$n"
            done
        done
        a=$(instructions "$OUT/callgrind.$imp.${c}x$s.$SMALL")
        b=$(instructions "$OUT/callgrind.$imp.${c}x$s.$LARGE")
        ins[$imp]=$(((b - a) / (LARGE - SMALL)))
    done
    echo
    echo "### $c connection(s) x $s B: per request, (N=$LARGE minus N=$SMALL) / $((LARGE - SMALL))"
    echo
    echo "| server | instructions | vs tokio-ct | syscalls (strace) | by kind (strace -f -c) |"
    echo "|---|---:|---:|---:|---|"
    for imp in $IMPLS; do
        ratio=$(awk -v x="${ins[$imp]}" -v y="${ins[tokio-ct]:-0}" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "-" }')
        echo "| $imp | ${ins[$imp]} | $ratio | $(per_request strace_counts "$OUT/strace.$imp.${c}x$s.$SMALL" "$OUT/strace.$imp.${c}x$s.$LARGE") |"
    done
    echo
    echo "| server | syscalls (perf) | by kind, free-running (perf stat, tracepoints) |"
    echo "|---|---:|---|"
    for imp in $IMPLS; do
        echo "| $imp | $(per_request perf_counts "$OUT/perf.$imp.${c}x$s.$SMALL" "$OUT/perf.$imp.${c}x$s.$LARGE") |"
    done
    unset ins
done
