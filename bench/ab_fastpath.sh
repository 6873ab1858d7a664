#!/usr/bin/env bash
# A/B of two fastpath binaries on one cell of the vs_secgw harness, runs alternated (A, B, A,
# B, ...) so that the host's slow drifts hit both: packets/s, and the median (p50) per-burst
# processing time from `--latency`, which preemption and noisy neighbours disturb less.
#
#   bash bench/ab_fastpath.sh OLD_BINARY NEW_BINARY DIR CIPHER SIZE [REPS]
#     DIR: out | in    CIPHER: gcm | cbc    SIZE: 64 | 512 | 1400 | imix    REPS: default 3
#
# Inputs are the pcaps bench/vs_secgw.sh leaves in $WORK/data (run it once first): the
# plaintext ones, and for `in` the ESP that ipsec-secgw produced. The SA and ports are those
# of vs_secgw.sh. Per run: DURATION s (default 5); the rate is the mean of the last 3 one-second
# intervals. Prints one line per binary: the rates, then the p50s in ns per burst.
# ROUTE=1: the config holds a `route` toward the other side's router, as in
# bench/side_by_side.sh (these packets miss it and leave by the port's default), so every
# packet is looked up in the FIB; ROUTE=0 (the default): no route.
set -euo pipefail
[ $# -ge 5 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
A=$1 B=$2 DIR=$3 CIPHER=$4 SIZE=$5 REPS=${6:-3}
WORK=${WORK:-/tmp/ipsec-secgw-anchor}
DURATION=${DURATION:-5}
DATA=$WORK/data
TMP=$(mktemp -d /tmp/ab_fastpath.XXXXXX)
trap 'rm -rf "$TMP" /var/run/dpdk/abfp$$_*' EXIT

case $CIPHER in
gcm) sa="aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe"; cname=aes-128-gcm ;;
cbc) sa="aes128-sha1 key 2b7e151628aed2a6abf7158809cf4f3c auth-key 0102030405060708090a0b0c0d0e0f1011121314"; cname=aes-128-cbc-sha1 ;;
*) echo "cipher: gcm or cbc" >&2; exit 2 ;;
esac
name=$SIZE; [ "$SIZE" = imix ] && name=9999
if [ "$DIR" = out ]; then
    in=$DATA/plain_$name.pcap
    cat > "$TMP/cfg" <<EOF
port 0 protected   peer-mac 02:00:00:00:00:02
port 1 unprotected peer-mac 00:16:3e:22:a1:d9 tx-only
sa 1 out spi 5 $sa tunnel 192.0.2.1 192.0.2.2
sp out protect 1 pri 1 src 198.51.100.0/24 dst 203.0.113.0/24
EOF
else
    in=$DATA/esp_${cname}_$name.pcap
    cat > "$TMP/cfg" <<EOF
port 0 unprotected peer-mac 02:00:00:00:00:02
port 1 protected   peer-mac 00:16:3e:7e:94:9a tx-only
sa 1 in spi 5 $sa tunnel 192.0.2.2 192.0.2.1 window 0
sp in protect 1 pri 1 src 198.51.100.0/24 dst 203.0.113.0/24
EOF
fi
if [ "${ROUTE:-0}" = 1 ]; then
    if [ "$DIR" = out ]; then echo "route 198.51.100.0/24 via 198.51.100.1 port 0" >> "$TMP/cfg"
    else echo "route 192.0.2.0/24 via 192.0.2.254 port 0" >> "$TMP/cfg"; fi
fi
[ -s "$in" ] || { echo "no input $in: run bench/vs_secgw.sh first" >&2; exit 2; }

one() { # binary, run number -> "Mpps p50_ns"
    "$1" --config "$TMP/cfg" --json --stats-ms 1000 --latency --duration "$DURATION" -- \
        -l 0,1 --main-lcore 0 --no-huge -m 1024 --file-prefix "abfp$$_$2" --no-pci \
        --log-level=warning --vdev "net_pcap0,rx_pcap=$in,infinite_rx=1,tx_pcap=/dev/null" \
        --vdev net_null0 2>/dev/null | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.startswith("{")]
done = [l["encrypted"] + l["decrypted"] for l in lines if l.get("kind") == "interval"]
k = min(3, len(done) - 1)
lat = [l for l in lines if l.get("kind") == "latency"]
print("%.3f %d" % ((done[-1] - done[-1 - k]) / k / 1e6 if k > 0 else 0, lat[0]["p50_ns"] if lat else 0))'
    rm -rf "/var/run/dpdk/abfp$$_$2"
}

ra=() rb=() pa=() pb=()
for r in $(seq 1 "$REPS"); do
    read -r m p < <(one "$A" "a$r"); ra+=("$m"); pa+=("$p")
    read -r m p < <(one "$B" "b$r"); rb+=("$m"); pb+=("$p")
done
echo "$DIR $CIPHER $SIZE, $REPS alternated runs of ${DURATION}s"
echo "A $A: Mpps ${ra[*]} | p50 ns/burst ${pa[*]}"
echo "B $B: Mpps ${rb[*]} | p50 ns/burst ${pb[*]}"
