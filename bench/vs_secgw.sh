#!/usr/bin/env bash
# Our `fastpath` against DPDK's ipsec-secgw on the same harness, in the same run.
#
#   bash bench/vs_secgw.sh                       # 10 s cells, 3 interleaved repetitions
#   DURATION=5 REPEAT=2 bash bench/vs_secgw.sh   # a quicker look
#
# The anchor (../shared/anchors/ipsec-secgw, read-only) builds and measures ipsec-secgw; this
# script only calls its bench.sh (REPEAT=1 per repetition; its first call builds the sample
# into $WORK if the binary is missing) and then measures our binary on exactly the same
# harness: EAL `-l 0,1` (main lcore 0, one worker lcore 1), `--no-huge -m $MEM_MB`, port 0 =
# `net_pcap0,rx_pcap=F,infinite_rx=1,tx_pcap=/dev/null` (replayed forever), port 1 =
# `net_null0` (marked `tx-only` in our config, or it would be polled as an endless source),
# the same input pcaps ($WORK/data/plain_<size>.pcap, and for decryption the
# esp_<cipher>_<size>.pcap that ipsec-secgw itself produced in the same repetition), the
# same SA (SPI 5, tunnel 192.0.2.1 -> 192.0.2.2, the anchor's keys, anti-replay off, no ESN)
# and the same method: packets/s = delta of the TX port's ethdev `opackets` over DURATION s
# after WARMUP s, and a cell only counts if nothing was dropped.
# Each repetition runs the anchor (all its cells), then all of ours: interleaved, so that
# slow drifts of a noisy machine hit both. The table gives medians over the repetitions.
#
# IMIX: our trafgen's IMIX (`trafgen --size imix`: 7:4:1 of 64, 570, 1518 B, 1024 frames),
# with the 1518 B frames shortened to IMIX_CAP (1400) B: ipsec-secgw runs with its default
# MTU of 1500 (bench.sh passes no --mtu) and drops, without fragmentation, every ESP packet
# above it, i.e. every frame above about 1444 B (IMIX_CAP=0 keeps 1518 B; ipsec-secgw then
# fails the IMIX cells). The file is written as $WORK/data/plain_$IMIX_ALIAS.pcap before the
# anchor runs: bench.sh generates a pcap only when it is missing, and needs a numeric size,
# so it measures that file as "size $IMIX_ALIAS" (its raw results say 9999, the table here
# says imix). Gbit/s use the mean frame length of the input pcap, for both.
#
# Knobs (environment), as the anchor's:
#   DURATION=10 WARMUP=2 REPEAT=3 MEM_MB=1024
#   SIZES="64 512 1400 imix"  CIPHERS="aes-128-gcm aes-128-cbc-sha1"  DIRS="out in"
#   WORK=/tmp/ipsec-secgw-anchor   the anchor's build, pcaps and results
#   ANCHOR=<repo>/../shared/anchors/ipsec-secgw
#   ANCHOR_SKIP_VERIFY=after-first  the anchor's scapy checks: "after-first" (only in
#                                   repetition 1), 1 (never) or 0 (every repetition)
#   LATENCY=1        run our cells with `fastpath --latency` (2 TSC reads and one histogram
#                    record per burst of up to 64 packets) and report p50/p99/p99.9/max
#   SKIP_CARGO=1     do not build; use target/release/{fastpath,trafgen} as they are
#   INTERLEAVE=rep   rep: each repetition runs all the anchor's cells, then all ours; cell:
#                    the anchor's cell then ours, cell by cell (the two runs of a cell are
#                    seconds apart, not minutes: fairer on a host whose speed drifts; each
#                    anchor call captures its ESP input again, a few seconds more per cell)
#   IMIX_ALIAS=9999  the numeric name under which the anchor sees the IMIX pcap
#   IMIX_CAP=1400    the largest IMIX frame (0: as trafgen makes it, 1518 B)
# Output: the table, and JSON lines in bench/results/<stamp>-{fastpath,secgw,summary}.jsonl.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ANCHOR=${ANCHOR:-$(cd "$ROOT/.." && pwd)/shared/anchors/ipsec-secgw}
WORK=${WORK:-/tmp/ipsec-secgw-anchor}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
REPEAT=${REPEAT:-3}
MEM_MB=${MEM_MB:-1024}
SIZES=${SIZES:-"64 512 1400 imix"}
CIPHERS=${CIPHERS:-"aes-128-gcm aes-128-cbc-sha1"}
DIRS=${DIRS:-"out in"}
LATENCY=${LATENCY:-1}
IMIX_ALIAS=${IMIX_ALIAS:-9999}
IMIX_CAP=${IMIX_CAP:-1400}
ANCHOR_SKIP_VERIFY=${ANCHOR_SKIP_VERIFY:-after-first}
INTERLEAVE=${INTERLEAVE:-rep}
PY=$(command -v python3)
HELPER=$ROOT/bench/vs_secgw.py
DATA=$WORK/data
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESDIR=$ROOT/bench/results
OURS=$RESDIR/$STAMP-fastpath.jsonl
SUMMARY=$RESDIR/$STAMP-summary.jsonl
THEIRS_LIST=$RESDIR/$STAMP-secgw.jsonl
TMP=$(mktemp -d /tmp/vs_secgw.XXXXXX)
PREFIX_BASE=vsfp$$
N=0

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
cleanup() {
    rm -rf "$TMP" /var/run/dpdk/${PREFIX_BASE}_* 2>/dev/null || true
}
trap cleanup EXIT

[ -x "$ANCHOR/bench.sh" ] || { echo "no anchor at $ANCHOR (set ANCHOR=)" >&2; exit 2; }
mkdir -p "$RESDIR" "$DATA"
: > "$OURS"
: > "$THEIRS_LIST"

# ------------------------------------------------------------------ our binaries
if [ "${SKIP_CARGO:-0}" != 1 ]; then
    log "cargo build --release -p fastpath -p bench"
    (cd "$ROOT" && cargo build --release --quiet -p fastpath -p bench)
fi
# A private copy: others may rebuild target/ while this runs.
cp "$ROOT/target/release/fastpath" "$ROOT/target/release/trafgen" "$TMP/"
FP=$TMP/fastpath
if [ "$LATENCY" = 1 ] && ! "$FP" --help | grep -q -- --latency; then
    log "this fastpath has no --latency; measuring without it"; LATENCY=0
fi

# ------------------------------------------------------------------ inputs
ANCHOR_SIZES=""
for s in $SIZES; do
    if [ "$s" = imix ]; then
        "$TMP/trafgen" --out "$TMP/imix.pcap" --size imix --count 1024 >/dev/null
        if [ "$IMIX_CAP" -gt 0 ]; then
            "$PY" "$HELPER" capframes "$TMP/imix.pcap" "$DATA/plain_$IMIX_ALIAS.pcap" "$IMIX_CAP"
        else
            cp "$TMP/imix.pcap" "$DATA/plain_$IMIX_ALIAS.pcap"
        fi
        ANCHOR_SIZES="$ANCHOR_SIZES $IMIX_ALIAS"
    else
        ANCHOR_SIZES="$ANCHOR_SIZES $s"
    fi
done
ANCHOR_SIZES=${ANCHOR_SIZES# }
# shellcheck source=bench/lib/fastpath_configs.sh
. "$ROOT/bench/lib/fastpath_configs.sh"

# shellcheck disable=SC2086
write_fastpath_configs "$TMP" $CIPHERS

{
    echo "date_utc=$STAMP"
    echo "cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p') nproc=$(nproc) kernel=$(uname -r)"
    echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "fastpath=$(sha256sum "$FP" | cut -c1-16) git=$(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- fastpath || echo +dirty)"
    echo "DURATION=$DURATION WARMUP=$WARMUP REPEAT=$REPEAT MEM_MB=$MEM_MB SIZES=\"$SIZES\" CIPHERS=\"$CIPHERS\" DIRS=\"$DIRS\" LATENCY=$LATENCY IMIX_CAP=$IMIX_CAP"
} > "$RESDIR/$STAMP.env"
cat "$RESDIR/$STAMP.env" >&2

# ------------------------------------------------------------------ one cell of ours
run_ours() {
    local rep=$1 dir=$2 c=$3 s=$4 in
    if [ "$dir" = out ]; then in=$DATA/plain_$(name_of "$s").pcap
    else in=$DATA/esp_${c}_$(name_of "$s").pcap; fi
    N=$((N + 1))
    local prefix=${PREFIX_BASE}_$N lat=""
    [ "$LATENCY" = 1 ] && lat=--latency
    local run=$((WARMUP + DURATION + 1)) out
    if [ ! -s "$in" ]; then
        out="{\"impl\": \"fastpath\", \"rep\": $rep, \"dir\": \"$dir\", \"cipher\": \"$c\", \"size\": \"$s\", \"ok\": false, \"error\": \"no input $in\"}"
    else
        # shellcheck disable=SC2086
        out=$(timeout -s KILL $((run + 60)) "$PY" "$HELPER" ours --dir "$dir" --cipher "$c" \
            --size "$s" --in-pcap "$in" --rep "$rep" --warmup "$WARMUP" --duration "$DURATION" \
            --rxport 0 --txport 1 --lcore 1 --log "$TMP/ours_${rep}_${dir}_${c}_$s.log" -- \
            timeout -k 5 -s INT $((run + 30)) "$FP" --config "$TMP/${dir}_$c.conf" --json \
                --stats-ms 500 --duration "$run" $lat -- \
                -l 0,1 --main-lcore 0 --no-huge -m "$MEM_MB" --file-prefix "$prefix" --no-pci \
                --log-level=warning \
                --vdev "net_pcap0,rx_pcap=$in,infinite_rx=1,tx_pcap=/dev/null" \
                --vdev net_null0) || true
        [ -n "$out" ] || out="{\"impl\": \"fastpath\", \"rep\": $rep, \"dir\": \"$dir\", \"cipher\": \"$c\", \"size\": \"$s\", \"ok\": false, \"error\": \"helper killed\"}"
    fi
    rm -rf "/var/run/dpdk/$prefix"
    echo "$out" >> "$OURS"
    log "$(echo "$out" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print("rep %d fastpath %-3s %-16s %5s: %s %.3f Mpps (cpu share %s, steal %s) %s" % (r["rep"], r["dir"], r["cipher"], r["size"], "ok" if r["ok"] else "FAIL", r.get("pps", 0)/1e6, r.get("lcore_cpu_share"), r.get("steal_share"), r.get("error", "")))')"
}

# ------------------------------------------------------------------ the repetitions
ncells=0
for _ in $DIRS; do for _ in $CIPHERS; do for _ in $SIZES; do ncells=$((ncells + 1)); done; done; done
anchor_limit=$((600 + ncells * (WARMUP + DURATION + 40)))
# One call of the anchor's bench.sh (REPEAT=1) over the given sizes, ciphers and directions.
run_anchor() { # rep, tag, sizes, ciphers, dirs, skip-verify
    local alog=$TMP/anchor_$1_$2.log res
    if WORK=$WORK SKIP_BUILD=1 SKIP_VERIFY=$6 REPEAT=1 DURATION=$DURATION WARMUP=$WARMUP \
        MEM_MB=$MEM_MB SIZES="$3" CIPHERS="$4" DIRS="$5" \
        timeout -s KILL "$anchor_limit" bash "$ANCHOR/bench.sh" > "$alog" 2>&1; then
        res=$(sed -n 's/^raw results: //p' "$alog" | tail -1)
        echo "$res" >> "$THEIRS_LIST"
        grep -E '^\[.*\] rep 1 ' "$alog" | sed 's/^\[[^]]*\] rep 1/secgw/' >&2 || true
    else
        log "anchor bench.sh failed (repetition $1, $2); its log:"; tail -20 "$alog" >&2
        cp "$alog" "$RESDIR/$STAMP-anchor-$1-$2.log"
    fi
}
for rep in $(seq 1 "$REPEAT"); do
    sv=0
    case "$ANCHOR_SKIP_VERIFY" in after-first) [ "$rep" = 1 ] || sv=1;; 1) sv=1;; esac
    if [ "$INTERLEAVE" = cell ]; then
        # Each cell: the anchor (capturing its own ESP input for the cell first), then ours.
        log "repetition $rep/$REPEAT: cell by cell, ipsec-secgw then fastpath"
        for dir in $DIRS; do
            for c in $CIPHERS; do
                for s in $SIZES; do
                    run_anchor "$rep" "${dir}_${c}_$s" "$(name_of "$s")" "$c" "$dir" "$sv"
                    run_ours "$rep" "$dir" "$c" "$s"
                done
            done
        done
        continue
    fi
    log "repetition $rep/$REPEAT: ipsec-secgw (anchor bench.sh, REPEAT=1, SIZES=\"$ANCHOR_SIZES\")"
    run_anchor "$rep" all "$ANCHOR_SIZES" "$CIPHERS" "$DIRS" "$sv"
    log "repetition $rep/$REPEAT: fastpath"
    for dir in $DIRS; do
        for c in $CIPHERS; do
            for s in $SIZES; do
                run_ours "$rep" "$dir" "$c" "$s"
            done
        done
    done
done

# ------------------------------------------------------------------ the table
mapfile -t theirs < <(grep -v '^$' "$THEIRS_LIST" || true)
# keep a copy of the anchor's raw rows next to ours
cat "${theirs[@]}" > "$THEIRS_LIST.tmp" 2>/dev/null || true
mv "$THEIRS_LIST.tmp" "$THEIRS_LIST"
echo
echo "fastpath vs ipsec-secgw (anchor MODE=legacy, crypto_aesni_mb0), one worker lcore,"
echo "DURATION=${DURATION}s WARMUP=${WARMUP}s, $REPEAT interleaved repetitions, $(cut -d' ' -f1-3 /proc/loadavg) load"
"$PY" "$HELPER" table --data "$DATA" --imix-alias "$IMIX_ALIAS" --ours "$OURS" \
    --theirs "$THEIRS_LIST" --summary "$SUMMARY"
echo "raw: $OURS $THEIRS_LIST; summary: $SUMMARY"
