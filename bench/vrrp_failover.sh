#!/usr/bin/env bash
# Failover time of a pair of our nodes (fast path + slow path, VRRP with 100 ms adverts):
# runs ci/vrrp_pair.sh REPEAT times and summarises its figures: the time from a fault (the
# master's slow path killed; the master's outside link cut) to the other node being master,
# and to the first gratuitous ARP for the VIP from the virtual MAC seen on the bridge.
#
#   REPEAT=5 bash bench/vrrp_failover.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-3}
out=$(mktemp /tmp/vrrp-failover.XXXXXX)
trap 'rm -f "$out"' EXIT
cargo build --release --quiet -p fastpath -p slowpath
for i in $(seq "$REPEAT"); do
  echo "== run $i/$REPEAT"
  FIGURES=$out bash ci/vrrp_pair.sh | grep -E '^(figure|FAILED|vrrp_pair)'
done
python3 - "$out" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"figure: (.*): master after (-?\d+) ms, GARP seen after (-?\d+) ms", line)
    if m:
        rows.setdefault(m[1], []).append((int(m[2]), int(m[3])))
print(f"{'fault':<26} {'runs':>4} {'master ms (median, min-max)':>30} {'GARP ms (median, min-max)':>28}")
for k, v in rows.items():
    ms, gs = [a for a, _ in v], [b for _, b in v]
    print(f"{k:<26} {len(v):>4} {statistics.median(ms):>14.0f} ({min(ms)}-{max(ms)}) {statistics.median(gs):>16.0f} ({min(gs)}-{max(gs)})")
PY
