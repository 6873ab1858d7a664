#!/usr/bin/env bash
# Our `fastpath` and DPDK's ipsec-secgw measured at the same time, one on each CPU, on the
# harness of bench/vs_secgw.sh: a ratio that the host's slow swings cannot bias.
#
#   bash bench/side_by_side.sh                   # every cell, 4 repetitions
#   SIZES=64 CIPHERS=aes-128-gcm DIRS=out REPEAT=5 bash bench/side_by_side.sh
#   SELF=1 bash bench/side_by_side.sh            # control: our binary against itself
#   SELF=1 OTHER=/tmp/fastpath.old bash bench/side_by_side.sh   # A/B of two of our binaries
#
# Why: on these shared 2-vCPU machines one binary's rate on one cell swings by up to 60 %
# over minutes (the same binary measured 3.2-5.5 Mpps on `out GCM 64` within one run), in
# phases that last tens of seconds, so cells measured one after the other (vs_secgw.sh) can
# land in different phases. Run together, both see the same phase.
#
# How: for each cell and repetition, ipsec-secgw runs with one lcore (lcore 1: the anchor's
# LCORES=1 layout, whose main lcore runs the poll loop) under the anchor's measure.py, with
# the anchor's configs and command line (bench.sh's run_secgw); at the same moment our
# fastpath runs with both its lcores (the worker, and the main one, which sleeps) on the other
# CPU, under vs_secgw.py's measurer. Odd repetitions put ours on CPU 0, even ones on CPU 1: an
# A/B of two of our binaries found CPU 0 about 3 % faster here, which an even REPEAT cancels. The two vCPUs here are not
# SMT siblings of one another as far as the guest can tell (lscpu: 1 thread per core), and two
# copies of `bench --bin esp` run together kept their rates. Each side's rate is the delta of
# its TX port's opackets over DURATION s after WARMUP s from its own start; both start
# together, so the windows overlap but for their start-up difference (about a second).
# SELF=1 puts a second copy of our binary on CPU 1 in ipsec-secgw's place: its ratios show the
# method's own bias (CPU 0 against CPU 1) and spread. With OTHER=BINARY, that second one is
# another fastpath binary (say, the previous commit's): an A/B that the host's phases cannot
# bias either (swap the two between runs to cancel the CPUs' own difference). How far to trust
# it: one binary against an identical copy, REPEAT=4, gave per-cell medians from 0.78 to 1.15
# over the 8 GCM cells, and a geometric mean of 1.003: read single cells to +-15-20 %, the mean
# over cells to a few per cent (more repetitions narrow both). Build the binary to test with
# `cargo build --release -p fastpath`: at the workspace root, plain `cargo build` does not.
#
# Inputs: the pcaps and ipsec-secgw configs that bench/vs_secgw.sh (the anchor) left in
# $WORK/data: run it once first. The ESP inputs are copied before the runs start.
# Knobs: DURATION=8 WARMUP=3 REPEAT=4 MEM_MB=1024 SIZES CIPHERS DIRS WORK ANCHOR SKIP_CARGO SELF
#        OTHER PERF ROUTE AUTOGROUP_NICE BINARY SAS ZIPF HUGE
# HUGE=1: both sides on 2 MiB hugetlbfs pages (reserved and mounted if need be, as root)
# instead of --no-huge's ordinary 4 KiB pages: the memory a NIC-bound deployment runs on.
# SAS=N (with SELF=1): many tunnels. Our binary runs a config of N SAs and N policies on a pcap
# whose packets each belong to a random one of them (bench/src/bin/sa_scale_inputs.rs: the
# policy of SA i protects destination 10.0.0.0 + i, inbound packets come encrypted under SA i),
# against itself on the same number of packets, all of one SA: the ratios are N SAs / 1 SA.
# Both pcaps hold SAS_PACKETS packets (default 2 * N), every one in an mbuf of its own.
# ZIPF=S (with SAS=N): the N-SA side's packets pick their SA from a Zipf distribution of
# exponent S (1.0: the SA of rank k carries a share proportional to 1 / k), as real users'
# traffic is skewed, instead of uniformly.
# BINARY=PATH: that fastpath binary as ours instead of the tree's (say, a previous commit's).
# AUTOGROUP_NICE=N (say -10): the run in a session of its own at that niceness, so that other
# sessions' builds take less of the CPUs from both sides (bench/lib/side_runs.sh).
# ROUTE=1 (the default): our configs hold a `route` toward the other side's router, as a
# gateway has, so every packet we send is looked up in the FIB (ipsec-secgw looks each one up
# in its LPM too); the harness's packets miss it and leave by the port's `peer-mac`, its
# default route (without a kernel there is no neighbour for a gateway route to resolve).
# ROUTE=0: no route, each port sends to its one next hop without a lookup.
# PERF=1 (not with SELF): `perf record -a -e cpu-clock` over the whole run, then
# bench/perf_units.py: each side's cost per packet in units of its own net_pcap receive, and
# what that receive costs in each (see its header): which part of a ratio the processes' own
# work explains. Needs perf (linux-perf); the samples stay in bench/results/<stamp>-side-perf.data.
# Output: one line per run, then per cell the median rates and the median of the per-run
# ratios (ours / theirs), then per cipher and direction the geometric mean of all its runs'
# ratios with a 95 % bootstrap interval (the figure to read: cells alone are noise); JSON
# lines in bench/results/<stamp>-side-{fastpath,secgw}.jsonl.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib/side_runs.sh
. "$ROOT/bench/lib/side_runs.sh"
side_defaults
niced_session "${BASH_SOURCE[0]}" "$@"
ANCHOR=${ANCHOR:-$(cd "$ROOT/.." && pwd)/shared/anchors/ipsec-secgw}
SIZES=${SIZES:-"64 512 1400 imix"}
SELF=${SELF:-0}
PERF=${PERF:-0}
PERF_FREQ=${PERF_FREQ:-999}
BIN=$WORK/src/ipsec-secgw/build/ipsec-secgw
OURS=$RESDIR/$STAMP-side-fastpath.jsonl
THEIRS=$RESDIR/$STAMP-side-secgw.jsonl
PERF_DATA=$RESDIR/$STAMP-side-perf.data
TMP=$(mktemp -d /tmp/side_by_side.XXXXXX)
# The EAL file prefixes start with PREFIX_BASE: set it to tell this run's from another's.
PREFIX_BASE=${PREFIX_BASE:-sbs$$}

PERF_PID=
cleanup() {
    [ -z "$PERF_PID" ] || kill -INT "$PERF_PID" 2>/dev/null || true
    rm -rf "$TMP" /var/run/dpdk/${PREFIX_BASE}_* 2>/dev/null || true
    release_huge_pages
}
trap cleanup EXIT

[ -f "$ANCHOR/measure.py" ] || { echo "no anchor at $ANCHOR (set ANCHOR=)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "no ipsec-secgw at $BIN: run bench/vs_secgw.sh once first" >&2; exit 2; }
side_prepare
SAS=${SAS:-}
ZIPF=${ZIPF:-}
SCALE_OPTS=()
[ -z "$ZIPF" ] || [ -n "$SAS" ] || { echo "ZIPF=S skews the SAs of SAS=N: set SAS" >&2; exit 2; }
if [ -n "$SAS" ]; then
    [ "$SELF" = 1 ] || { echo "SAS=N compares N SAs with 1 of our own: set SELF=1" >&2; exit 2; }
    SAS_PACKETS=${SAS_PACKETS:-$((SAS * 2))}
    (cd "$ROOT" && cargo build --release --quiet -p bench --bin sa_scale_inputs)
    # The 1-SA side's inputs in $TMP/one, under the names fastpath_side reads from $TMP.
    mkdir -p "$TMP/one"
    for dir in $DIRS; do for c in $CIPHERS; do for s in $SIZES; do
        [ "$s" != imix ] || { echo "SAS=N: sizes in bytes only" >&2; exit 2; }
        for n in "$SAS" 1; do
            at=$TMP; skew=(); [ -z "$ZIPF" ] || skew=(--zipf "$ZIPF")
            [ "$n" != 1 ] || { at=$TMP/one; skew=(); }
            "$ROOT/target/release/sa_scale_inputs" --dir "$dir" --cipher "$c" --sas "$n" --size "$s" \
                --count "$SAS_PACKETS" --conf "$at/${dir}_$c.conf" --pcap "$at/in_${dir}_${c}_$s.pcap" \
                "${skew[@]}"
        done
    done; done; done
    # Every packet of the pcap sits in an mbuf: the pool must hold them and the rings (a
    # mempool's best size is a power of two less one).
    pool=16384; while [ "$pool" -lt $((SAS_PACKETS + 16384)) ]; do pool=$((pool * 2)); done
    SCALE_OPTS=(--mbufs $((pool - 1)))
    # (without hugepages, 262143 mbufs did not fit in -m 1024 and did in -m 2048)
    [ "$MEM_MB" -ge $((pool / 128)) ] || MEM_MB=$((pool / 128))
fi
if [ -n "${BINARY:-}" ]; then cp "$BINARY" "$FP"; fi
reserve_huge_pages
if [ "${ROUTE:-1}" = 1 ]; then
    for c in $CIPHERS; do
        for at in "$TMP" "$TMP/one"; do
            [ -f "$at/out_$c.conf" ] || continue
            echo "route 198.51.100.0/24 via 198.51.100.1 port 0" >> "$at/out_$c.conf"
            echo "route 192.0.2.0/24 via 192.0.2.254 port 0" >> "$at/in_$c.conf"
        done
    done
fi
OTHER_FP=$FP
if [ -n "${OTHER:-}" ]; then cp "$OTHER" "$TMP/fastpath.other"; OTHER_FP=$TMP/fastpath.other; fi
: > "$OURS"
: > "$THEIRS"

run=$(side_run_seconds)
# ours REP DIR CIPHER SIZE CPU NAME [BINARY]: our binary with its worker lcore on CPU $5.
ours() { fastpath_side "$1" "$2" "$3" "$4" "$5" "$6" "${7:-$FP}" "${SCALE_OPTS[@]}"; }
# other REP DIR CIPHER SIZE CPU: SELF=1's second run (with SAS=N, on the 1-SA inputs).
other() {
    if [ -n "$SAS" ]; then TMP=$TMP/one ours "$@" other "$OTHER_FP"
    else ours "$@" other "$OTHER_FP"; fi
}
# secgw REP DIR CIPHER SIZE CPU: ipsec-secgw's one lcore (lcore 1, as the anchor's run_secgw
# with LCORES=1) on CPU $5.
secgw() {
    local prefix=${PREFIX_BASE}_secgw_$1 v0 v1 rxp txp umask=""
    local pcapdev="net_pcap0,rx_pcap=$TMP/in_$2_$3_$4.pcap,infinite_rx=1"
    if [ "$2" = out ]; then v0=$pcapdev; v1=net_null0; rxp=0; txp=1
    else v0=net_null0; v1=$pcapdev; rxp=1; txp=0; umask="-u 0x2"; fi
    # shellcheck disable=SC2086,SC2046
    timeout -s KILL $((run + 60)) "$PY" "$ANCHOR/measure.py" --prefix "$prefix" \
        --rxport $rxp --txport $txp --lcore 1 --dir "$2" --warmup "$WARMUP" \
        --duration "$DURATION" --harness-cpu $((1 - $5)) --log "$TMP/secgw_$1_$2_$3_$4.log" -- \
        timeout -k 5 -s INT $((run + 40)) "$BIN" --lcores "1@$5" $(eal_memory) \
            --file-prefix "$prefix" --no-pci \
            --vdev "$v0" --vdev "$v1" --vdev crypto_aesni_mb0 \
            -- -p 0x3 -P $umask --config "($rxp,0,1)" -f "$DATA/$2_$3.cfg" || true
    rm -rf "/var/run/dpdk/$prefix"
}

log "side by side (CPUs swapped every other repetition): fastpath and $([ "$SELF" = 1 ] && echo "fastpath ${OTHER:-again}" || echo ipsec-secgw), DURATION=$DURATION WARMUP=$WARMUP REPEAT=$REPEAT ROUTE=${ROUTE:-1} HUGE=$HUGE, git $(cd "$ROOT" && git rev-parse --short HEAD)"
if [ "$PERF" = 1 ]; then
    [ "$SELF" != 1 ] || { echo "PERF=1 compares with ipsec-secgw: not with SELF=1" >&2; exit 2; }
    command -v perf > /dev/null || { echo "PERF=1 needs perf (apt-get install linux-perf)" >&2; exit 2; }
    perf record -a -q -e cpu-clock -F "$PERF_FREQ" -o "$PERF_DATA" > /dev/null 2>&1 &
    PERF_PID=$!
    sleep 1
fi
for rep in $(seq 1 "$REPEAT"); do
    for dir in $DIRS; do for c in $CIPHERS; do for s in $SIZES; do
        # Odd repetitions: ours on CPU 0; even ones: the other way round (cancels the CPUs'
        # own difference over an even number of repetitions).
        mine=$(((rep + 1) % 2)); theirs_cpu=$((1 - mine))
        if [ "$SELF" = 1 ]; then
            other "$rep" "$dir" "$c" "$s" "$theirs_cpu" > "$TMP/theirs.json" &
        else
            secgw "$rep" "$dir" "$c" "$s" "$theirs_cpu" > "$TMP/theirs.json" &
        fi
        theirs_pid=$!
        ours "$rep" "$dir" "$c" "$s" "$mine" ours > "$TMP/ours.json"
        # (that run only: a bare wait would also wait for PERF=1's perf record)
        wait "$theirs_pid" || true
        tag "$rep" "$dir" "$c" "$s" fastpath < "$TMP/ours.json" >> "$OURS"
        tag "$rep" "$dir" "$c" "$s" "$([ "$SELF" = 1 ] && echo fastpath-cpu1 || echo secgw)" < "$TMP/theirs.json" >> "$THEIRS"
        log "rep $rep $dir $c $s: ours (CPU $mine) $(rate < "$TMP/ours.json") | theirs $(rate < "$TMP/theirs.json") Mpps"
    done; done; done
done

"$PY" "$ROOT/bench/side_ratios.py" "$OURS" "$THEIRS" ours theirs
if [ -n "$PERF_PID" ]; then
    kill -INT "$PERF_PID"; wait "$PERF_PID" || true; PERF_PID=
    perf script -i "$PERF_DATA" -F comm,pid,tid,time,ip,dso 2> /dev/null > "$TMP/perf.txt"
    "$PY" "$ROOT/bench/perf_units.py" "$TMP/perf.txt" "$OURS" "$THEIRS" "$PERF_FREQ" "$WARMUP" "$DURATION"
fi
echo "raw: $OURS $THEIRS$([ "$PERF" = 1 ] && echo " $PERF_DATA")"
