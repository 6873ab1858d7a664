#!/usr/bin/env bash
# What HA seqnum sync costs the fast path: the same fastpath binary with snapshots on
# (`--ha-sync --sync-period-packets 2`) and off, measured at the same time, one on each CPU,
# on the harness of bench/side_by_side.sh (its cells, inputs and measurer). The figure is the
# ratio on / off (goal: at least 0.97), not the rates: the host's slow swings move both.
#
#   bash bench/ha_sync_cost.sh                          # 64 and 1400 B, both ciphers and directions
#   SIZES=64 DIRS=out REPEAT=2 DURATION=4 bash bench/ha_sync_cost.sh
#
# How: per cell and repetition, two runs of one binary start together, each with both its
# lcores on one CPU; odd repetitions put the sync-on run on CPU 0, even ones on CPU 1 (an even
# REPEAT cancels the CPUs' own difference). Both have a control socket. The sync-on run's
# workers note per packet that an SA owes a record once it moved PERIOD_PACKETS packets, and
# push one record per owing SA at the end of each burst, with its newest state (one SA in
# full bursts of 64: one record per burst); its sync thread (a thread of the main lcore: on
# the worker's CPU here, so its cost counts) drains the rings every millisecond. Without a
# subscriber the sync thread still drains them, keeping the newest record per SA, so the
# rings never fill and nothing is sent; with
# CONSUME=1 (default) bench/sync_probe.py subscribes to the stream on the sync-on run's CPU,
# as the slow path would, and the batches go out. The probe also reads `sync_stats` and
# `stats` at the measuring window's two ends: records taken per packet in the window (1/64
# here: one per burst) prove the snapshots happen while the rate is measured.
# Records were once pushed per packet (every second one at period 2, up to 3.4 M/s): the
# worker's pushes and the sync thread's draining on the same CPU cost 8-12 % of the outbound
# rate (pooled ratio 0.947, out GCM 0.881, out CBC 0.922 at REPEAT=2 DURATION=4 WARMUP=2); one
# record per SA per burst brought them to 0.992, 0.994 and 0.979 (0.991, 0.991 and 0.977 in
# a second run). What is left is the CPU time of the sync thread and its consumer beside the
# worker (worker CPU share 0.97 on against 0.98 off); per burst the worker is as fast (1.00).
# Caveat: the `in` inputs are a looped pcap, so after its first pass every ESP packet repeats
# a sequence number the SA has seen (anti-replay off in these configs): the inbound SA stops
# moving and takes no more records. The `in` cells measure only the per-packet check of the
# trigger; the outbound cells measure records taken (their records/packet column says which).
#
# Inputs: the pcaps that bench/vs_secgw.sh leaves in $WORK/data (run it once first).
# Knobs: DURATION=8 WARMUP=3 REPEAT=4 MEM_MB=1024 SIZES CIPHERS DIRS PERIOD_PACKETS=2 HUGE
#        PERIOD_MS=1000 CONSUME=1 LATENCY=1 AUTOGROUP_NICE=-10 OFF_MODE=idle CONTROL=0 WORK
#        SKIP_CARGO
# LATENCY=1: both sides run with --latency (the per-burst ratio below). CONTROL=1: the "on"
# side is an "off" one, all else unchanged: the method's own bias and spread.
# OFF_MODE=idle: the sync-off side runs with `--ha-sync` and both triggers at 0: no record is
# ever due, its sync thread wakes every millisecond to drain empty rings. OFF_MODE=none: no
# `--ha-sync` at all. Why idle: on this host a CPU whose process has a thread waking that often
# is left alone by other sessions' busy processes, and one without gets them. With none, the
# sync-off side had 91-93 % of its CPU against the sync-on side's 99-100 %, even in the `in`
# cells where no record is taken (rate ratios of 1.06 there); with idle both had 98-100 % and
# the four ratios below agreed (0.995-0.998 over the `in` cells). What idle leaves out, the
# cost of an idle drain thread, is within that agreement.
# AUTOGROUP_NICE: the script runs in a session of its own at this niceness (bench/lib/
# side_runs.sh, niced_session; 0: as it is started). Without it, on this host (each session a
# scheduler group) builds running elsewhere took 72 % of the sync-off side's CPU and none of
# the sync-on side's, pair after pair: rate ratios of 3.
#
# Output: one line per run; then the per-cell and pooled ratios sync on / sync off
# (bench/side_ratios.py) four ways: of the rates (the figure: the sync thread shares the
# worker's CPU here, so its cost counts), per CPU-second of each side's worker thread (what
# the records cost the hot path alone), per CPU-second of each whole process, and of the
# inverse median time per burst (LATENCY=1); then per cell the records the sync-on side took
# per packet, what its consumer received, and each side's CPU share, with a warning when a
# side had under 90 % of its CPU (then trust the per-CPU-second and per-burst ratios more
# than the rates'). JSON lines in bench/results/<stamp>-hasync-{on,off,probe}.jsonl.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AUTOGROUP_NICE=${AUTOGROUP_NICE:--10}
# shellcheck source=bench/lib/side_runs.sh
. "$ROOT/bench/lib/side_runs.sh"
niced_session "${BASH_SOURCE[0]}" "$@"
side_defaults
SIZES=${SIZES:-"64 1400"}
PERIOD_PACKETS=${PERIOD_PACKETS:-2}
PERIOD_MS=${PERIOD_MS:-1000}
CONSUME=${CONSUME:-1}
LATENCY=${LATENCY:-1}
OFF_MODE=${OFF_MODE:-idle}
ON=$RESDIR/$STAMP-hasync-on.jsonl
OFF=$RESDIR/$STAMP-hasync-off.jsonl
PROBE=$RESDIR/$STAMP-hasync-probe.jsonl
TMP=$(mktemp -d /tmp/ha_sync_cost.XXXXXX)
PREFIX_BASE=hsc$$

trap 'rm -rf "$TMP" /var/run/dpdk/${PREFIX_BASE}_* 2>/dev/null || true; release_huge_pages' EXIT

side_prepare
reserve_huge_pages
: > "$ON"
: > "$OFF"
: > "$PROBE"

SYNC_ON=(--ha-sync --sync-period-packets "$PERIOD_PACKETS" --sync-period-ms "$PERIOD_MS")
SYNC_OFF=()
case $OFF_MODE in
idle) SYNC_OFF=(--ha-sync --sync-period-packets 0 --sync-period-ms 0) ;;
none) ;;
*) echo "OFF_MODE: idle or none" >&2; exit 2 ;;
esac
# CONTROL=1: the "on" side as the "off" one (all else, the probe too, unchanged): the
# method's own bias.
[ "${CONTROL:-0}" = 1 ] && SYNC_ON=(${SYNC_OFF[@]+"${SYNC_OFF[@]}"})
# Both sides time their bursts (--latency) when LATENCY=1: the per-burst ratio.
BOTH=()
[ "$LATENCY" = 1 ] && BOTH=(--latency)
CONSUME_ARG=()
[ "$CONSUME" = 1 ] && CONSUME_ARG=(--consume)
log "HA sync cost: sync on (${SYNC_ON[*]}, consumer $([ "$CONSUME" = 1 ] && echo on || echo off)) against off (${SYNC_OFF[*]:-no --ha-sync}), same binary, one per CPU, DURATION=$DURATION WARMUP=$WARMUP REPEAT=$REPEAT, git $(cd "$ROOT" && git rev-parse --short HEAD)"
for rep in $(seq 1 "$REPEAT"); do
    for dir in $DIRS; do for c in $CIPHERS; do for s in $SIZES; do
        on_cpu=$(((rep + 1) % 2)); off_cpu=$((1 - on_cpu))
        rm -f "$TMP/on.sock" "$TMP/off.sock"
        fastpath_side "$rep" "$dir" "$c" "$s" "$off_cpu" off "$FP" --control "$TMP/off.sock" ${BOTH[@]+"${BOTH[@]}"} \
            ${SYNC_OFF[@]+"${SYNC_OFF[@]}"} > "$TMP/off.json" &
        off_pid=$!
        "$PY" "$ROOT/bench/sync_probe.py" --socket "$TMP/on.sock" --cpu "$on_cpu" \
            --warmup "$WARMUP" --duration "$DURATION" \
            ${CONSUME_ARG[@]+"${CONSUME_ARG[@]}"} > "$TMP/probe.json" &
        probe_pid=$!
        fastpath_side "$rep" "$dir" "$c" "$s" "$on_cpu" on "$FP" --control "$TMP/on.sock" ${BOTH[@]+"${BOTH[@]}"} \
            ${SYNC_ON[@]+"${SYNC_ON[@]}"} > "$TMP/on.json"
        wait "$off_pid" || true
        wait "$probe_pid" || true
        tag "$rep" "$dir" "$c" "$s" sync-on < "$TMP/on.json" >> "$ON"
        tag "$rep" "$dir" "$c" "$s" sync-off < "$TMP/off.json" >> "$OFF"
        tag "$rep" "$dir" "$c" "$s" probe < "$TMP/probe.json" >> "$PROBE"
        log "rep $rep $dir $c $s: sync on (CPU $on_cpu) $(rate < "$TMP/on.json") | off $(rate < "$TMP/off.json") Mpps | records/packet $("$PY" -c 'import json,sys; print(json.load(sys.stdin).get("per_packet", "FAIL"))' < "$TMP/probe.json")"
    done; done; done
done

for per in "" worker process $([ "$LATENCY" = 1 ] && echo burst); do
    "$PY" "$ROOT/bench/side_ratios.py" "$ON" "$OFF" on off ${per:+--per "$per"}
done
"$PY" - "$ON" "$OFF" "$PROBE" "$PERIOD_PACKETS" <<'PYEOF'
import json, statistics, sys
rows = lambda f: [json.loads(l) for l in open(f) if l.strip()]
cells = {}
for on, off, probe in zip(*(rows(f) for f in sys.argv[1:4])):
    cells.setdefault((on["dir"], on["cipher"], on["size"]), []).append((on, off, probe))
med = lambda xs, f: f % statistics.median(xs) if xs else "-"
print("\nper cell, medians: records the sync-on run took per packet in the window (at most one"
      " per SA per burst: 1/64 in full bursts of one SA at period %s), records its consumer"
      " received; each side's CPU share (worker thread / whole process)" % sys.argv[4])
busy = 0
for k in sorted(cells, key=lambda k: (k[0] != "out", k[1], k[2] != "64")):
    runs = cells[k]
    per = [p["per_packet"] for _, _, p in runs if "per_packet" in p]
    got = [p["received_records"] for _, _, p in runs if "received_records" in p]
    share = lambda i, key: [r[i][key] for r in runs if key in r[i]]
    busy += any(x < 0.9 for i in (0, 1) for x in share(i, "process_cpu_share"))
    bad = [p["error"] for _, _, p in runs if "error" in p]
    print("%-4s %-16s %5s | records/packet %s, received %s | on %s/%s off %s/%s%s" % (
        *k, med(per, "%.4f"), med(got, "%d"),
        med(share(0, "lcore_cpu_share"), "%.2f"), med(share(0, "process_cpu_share"), "%.2f"),
        med(share(1, "lcore_cpu_share"), "%.2f"), med(share(1, "process_cpu_share"), "%.2f"),
        " | probe: %s" % bad[0] if bad else ""))
if busy:
    print("the host was busy: in %d cells a side had under 90 %% of its CPU; read the per-burst and"
          " per-CPU-second ratios, not the rates'" % busy)
PYEOF
echo "raw: $ON $OFF $PROBE"
