#!/usr/bin/env bash
# The main job on its embedded default: the fast path encrypting and decrypting traffic from
# the project's own generator on virtual ports, printing live throughput.
#   bash ci/demo.sh [SECONDS] [FRAME_SIZE|imix] [CONFIG]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
size=${2:-imix}
conf=${3:-ci/demo.conf}
bash ci/setup.sh
cargo build --release --quiet -p fastpath -p bench
work=$(mktemp -d /tmp/fastpath-demo.XXXXXX)
prefix="fpdemo$$"
trap 'rm -rf "$work" "/var/run/dpdk/$prefix"' EXIT
target/release/trafgen --out "$work/plain.pcap" --size "$size" --count 1024
echo "fastpath: $conf, frames of $size bytes, ${secs}s (Ctrl-C stops it)"
target/release/fastpath --config "$conf" --duration "$secs" -- \
  -l 0,1 --no-huge -m 512 --file-prefix "$prefix" --no-pci --log-level=warning \
  --vdev "net_pcap0,rx_pcap=$work/plain.pcap,infinite_rx=1,tx_pcap=/dev/null" \
  --vdev net_ring0
