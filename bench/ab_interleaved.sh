#!/usr/bin/env bash
# Interleaved A/B inside one fastpath process (see fastpath/esp/src/ab.rs): for a change too
# small for two processes' throughput to show on a shared machine.
#
#   bash bench/ab_interleaved.sh ID [CELL...]      CELL: DIR/CIPHER/SIZE, e.g. out/cbc/512
#
# The experiment ID is a local edit `if esp::ab::b(ID) { new } else { old }`; ID 0 (no such
# edit) is the A/A control, whose ratios show the method's own error. The script builds
# fastpath with `--features ab` (into target/ab, so the normal build stays as it is), then runs
# each cell once for DURATION s (default 8) on the bench's inputs (the pcaps that
# bench/vs_secgw.sh leaves in $WORK/data) with FP_AB=ID and --latency: the worker alternates
# its bursts between A and B and times each. Prints per cell the ratio B/A of the median (and
# 25th percentile, and mean) time per burst: below 1, B is faster. Cells by default: out and
# in, cbc and gcm, 64 512 1400 imix.
# SAS=N: each cell on N SAs and N policies instead of the harness's one, its pcap of SAS_PACKETS
# packets (default 2 * N) each of a random SA, as side_by_side.sh's SAS=N builds them
# (bench/src/bin/sa_scale_inputs.rs); sizes in bytes only.
# ROUTE=1: the configs hold side_by_side.sh's `route` (its default), so that every packet sent
# is looked up in the FIB as there (not with SAS=N); ROUTE=0 (the default, as before): each
# port sends to its one next hop.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
ID=$1; shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/ipsec-secgw-anchor}
DATA=$WORK/data
DURATION=${DURATION:-8}
SAS=${SAS:-}
# The EAL file prefix: set it to tell this run's files from another worktree's.
PREFIX=${PREFIX:-abi$$}
IMIX_ALIAS=9999
# shellcheck source=bench/lib/fastpath_configs.sh
. "$ROOT/bench/lib/fastpath_configs.sh"
cells=("$@")
if [ ${#cells[@]} -eq 0 ]; then
    for d in out in; do for c in cbc gcm; do for s in 64 512 1400 imix; do cells+=("$d/$c/$s"); done; done; done
fi
TMP=$(mktemp -d /tmp/ab_interleaved.XXXXXX)
trap 'rm -rf "$TMP" "/var/run/dpdk/$PREFIX"' EXIT
(cd "$ROOT" && cargo build --release -q -p fastpath --features ab --target-dir target/ab)
BIN=$ROOT/target/ab/release/fastpath
write_fastpath_configs "$TMP" aes-128-gcm aes-128-cbc-sha1
add_routes() {
    [ "${ROUTE:-0}" = 1 ] || return 0
    echo "route 198.51.100.0/24 via 198.51.100.1 port 0" >> "$1/out_$2.conf"
    echo "route 192.0.2.0/24 via 192.0.2.254 port 0" >> "$1/in_$2.conf"
}
for c in aes-128-gcm aes-128-cbc-sha1; do add_routes "$TMP" "$c"; done
MEM_MB=1024
SCALE_OPTS=()
if [ -n "$SAS" ]; then
    SAS_PACKETS=${SAS_PACKETS:-$((SAS * 2))}
    (cd "$ROOT" && cargo build --release -q -p bench --bin sa_scale_inputs)
    # Every packet of the pcap sits in an mbuf: the pool holds them and the rings.
    pool=16384; while [ "$pool" -lt $((SAS_PACKETS + 16384)) ]; do pool=$((pool * 2)); done
    SCALE_OPTS=(--mbufs $((pool - 1)))
    [ "$MEM_MB" -ge $((pool / 128)) ] || MEM_MB=$((pool / 128))
fi
printf '%-22s %8s %8s %8s   %s\n' cell "B/A p50" p25 mean "bursts A B"
for cell in "${cells[@]}"; do
    IFS=/ read -r dir cipher size <<< "$cell"
    case $cipher in cbc) c=aes-128-cbc-sha1 ;; gcm) c=aes-128-gcm ;; *) echo "cipher: cbc or gcm" >&2; exit 2 ;; esac
    n=$(name_of "$size")
    conf=$TMP/${dir}_$c.conf
    if [ -n "$SAS" ]; then
        [ "$size" != imix ] || { echo "SAS=N: sizes in bytes only" >&2; exit 2; }
        conf=$TMP/scale_${dir}_$c.conf in=$TMP/scale_${dir}_${c}_$size.pcap
        "$ROOT/target/release/sa_scale_inputs" --dir "$dir" --cipher "$c" --sas "$SAS" --size "$size" \
            --count "$SAS_PACKETS" --conf "$conf" --pcap "$in"
    elif [ "$dir" = out ]; then in=$DATA/plain_$n.pcap; else in=$DATA/esp_${c}_$n.pcap; fi
    [ -s "$in" ] || { echo "no input $in: run bench/vs_secgw.sh first" >&2; exit 2; }
    line=$(FP_AB=$ID timeout $((DURATION + 60)) "$BIN" --config "$conf" --latency \
        --stats-ms 0 --duration "$DURATION" ${SCALE_OPTS[@]+"${SCALE_OPTS[@]}"} -- -l 0,1 --main-lcore 0 --no-huge -m "$MEM_MB" \
        --file-prefix "$PREFIX" --no-pci --log-level=warning \
        --vdev "net_pcap0,rx_pcap=$in,infinite_rx=1,tx_pcap=/dev/null" --vdev net_null0 2>&1 \
        | grep '^ab experiment' || true)
    rm -rf "/var/run/dpdk/$PREFIX"
    [ -n "$line" ] || { echo "$cell: no result (did the run fail?)" >&2; continue; }
    # "... bursts A <a> B <b> | ... B/A p50 <r> p25 <r> mean <r>"
    read -r na nb p50 p25 mean < <(sed -E 's/.*bursts A ([0-9]+) B ([0-9]+) .*B\/A p50 ([0-9.]+) p25 ([0-9.]+) mean ([0-9.]+).*/\1 \2 \3 \4 \5/' <<< "$line")
    printf '%-22s %8s %8s %8s   %s %s\n' "$cell" "$p50" "$p25" "$mean" "$na" "$nb"
done
