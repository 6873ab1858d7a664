#!/usr/bin/env bash
# Switch time of crypto groups: 1 group, and N (10,000 by default) at once when the peer
# they share dies, with the `fastpath` binary (null ports, no hugepages) behind the slow
# path's table. Each group has two members with one CHILD SA each; a switch is the group
# machine's input, its move, and the fast path's answer to the batches that carry it.
#   bash bench/crypto_group_switch.sh      (N=1000 for a short run)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
BIN=${BIN:-target/release}
[ -x "$BIN/fastpath" ] || cargo build --release --quiet -p fastpath
tag=cg-switch-$$
dir=$(mktemp -d "/tmp/$tag.XXXXXX")
fp=""
cleanup() {
  [ -n "$fp" ] && kill -INT "$fp" 2>/dev/null && wait "$fp" 2>/dev/null || true
  rm -rf "$dir" "/var/run/dpdk/$tag"
}
trap cleanup EXIT
printf 'port 0 protected peer-mac 02:00:00:00:00:02\nport 1 unprotected peer-mac 02:00:00:00:00:03\n' >"$dir/fp.conf"
"$BIN/fastpath" --config "$dir/fp.conf" --control "$dir/ctl.sock" --idle-sleep-us 200 --stats-ms 0 -- \
  -l 0,1 --no-huge -m 512 --no-pci --log-level=error --file-prefix "$tag" \
  --vdev=net_null0 --vdev=net_null1 >"$dir/fp.log" 2>&1 &
fp=$!
for _ in $(seq 300); do [ -S "$dir/ctl.sock" ] && break; sleep 0.1; done
[ -S "$dir/ctl.sock" ] || { cat "$dir/fp.log"; exit 1; }
CRYPTO_GROUP_N=$N CRYPTO_GROUP_FASTPATH=$dir/ctl.sock \
  cargo test --release -q -p slowpath --lib crypto_group_switch_time -- --ignored --nocapture 2>&1 |
  grep -E '^figure:|panicked|FAILED' | sed "s|\$| (N=$N bash bench/crypto_group_switch.sh)|"
