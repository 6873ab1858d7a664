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
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
ID=$1; shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/ipsec-secgw-anchor}
DATA=$WORK/data
DURATION=${DURATION:-8}
IMIX_ALIAS=9999
# shellcheck source=bench/lib/fastpath_configs.sh
. "$ROOT/bench/lib/fastpath_configs.sh"
cells=("$@")
if [ ${#cells[@]} -eq 0 ]; then
    for d in out in; do for c in cbc gcm; do for s in 64 512 1400 imix; do cells+=("$d/$c/$s"); done; done; done
fi
TMP=$(mktemp -d /tmp/ab_interleaved.XXXXXX)
trap 'rm -rf "$TMP" /var/run/dpdk/abi$$' EXIT
(cd "$ROOT" && cargo build --release -q -p fastpath --features ab --target-dir target/ab)
BIN=$ROOT/target/ab/release/fastpath
write_fastpath_configs "$TMP" aes-128-gcm aes-128-cbc-sha1
printf '%-22s %8s %8s %8s   %s\n' cell "B/A p50" p25 mean "bursts A B"
for cell in "${cells[@]}"; do
    IFS=/ read -r dir cipher size <<< "$cell"
    case $cipher in cbc) c=aes-128-cbc-sha1 ;; gcm) c=aes-128-gcm ;; *) echo "cipher: cbc or gcm" >&2; exit 2 ;; esac
    n=$(name_of "$size")
    if [ "$dir" = out ]; then in=$DATA/plain_$n.pcap; else in=$DATA/esp_${c}_$n.pcap; fi
    [ -s "$in" ] || { echo "no input $in: run bench/vs_secgw.sh first" >&2; exit 2; }
    line=$(FP_AB=$ID timeout $((DURATION + 30)) "$BIN" --config "$TMP/${dir}_$c.conf" --latency \
        --stats-ms 0 --duration "$DURATION" -- -l 0,1 --main-lcore 0 --no-huge -m 1024 \
        --file-prefix "abi$$" --no-pci --log-level=warning \
        --vdev "net_pcap0,rx_pcap=$in,infinite_rx=1,tx_pcap=/dev/null" --vdev net_null0 2>&1 \
        | grep '^ab experiment' || true)
    rm -rf "/var/run/dpdk/abi$$"
    [ -n "$line" ] || { echo "$cell: no result (did the run fail?)" >&2; continue; }
    # "... bursts A <a> B <b> | ... B/A p50 <r> p25 <r> mean <r>"
    read -r na nb p50 p25 mean < <(sed -E 's/.*bursts A ([0-9]+) B ([0-9]+) .*B\/A p50 ([0-9.]+) p25 ([0-9.]+) mean ([0-9.]+).*/\1 \2 \3 \4 \5/' <<< "$line")
    printf '%-22s %8s %8s %8s   %s %s\n' "$cell" "$p50" "$p25" "$mean" "$na" "$nb"
done
