#!/usr/bin/env bash
# The loss window of a kill -9 failover of two of our nodes (VRRP with 100 ms adverts, the HA
# sync on), against strongSwan: ci/ha_failover.sh's scenario 1 REPEAT times in one run. Each
# round restarts the node the previous one killed, waits for it to be in sync and master
# again, sets up a fresh tunnel, sends UDP with sequence numbers through it at TRAFFIC_PPS and
# kills both processes of the master. The window of a round is the time from the last echoed
# packet before the kill to the first one after it (its resolution: one packet interval, 5 ms
# at the default 200 pps). Prints each window, the median, min and max, and whether the median
# meets the goal (at most 400 ms); a JSON line in bench/results/<stamp>-ha-failover-loss.jsonl.
# Exits 1 if a check of the test failed (the figures are printed all the same).
#
#   REPEAT=5 bash bench/ha_failover_loss.sh
#   TRAFFIC_PPS=1000 bash bench/ha_failover_loss.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-5}
TRAFFIC_PPS=${TRAFFIC_PPS:-200}
GOAL_MS=${GOAL_MS:-400}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/results
results=bench/results/$STAMP-ha-failover-loss.jsonl
figures=$(mktemp /tmp/ha-failover-loss.XXXXXX)
log=$figures.log
trap 'rm -f "$figures" "$log"' EXIT
cargo build --release --quiet -p fastpath -p slowpath

rounds=$(for _ in $(seq "$REPEAT"); do printf '1 '; done)
status=0
SCENARIOS=$rounds TRAFFIC_PPS=$TRAFFIC_PPS FIGURES=$figures bash ci/ha_failover.sh >"$log" 2>&1 || status=$?
grep -E '^(FAILED|ha_failover:)' "$log" || true
[ "$status" = 0 ] || tail -40 "$log"

python3 - "$figures" "$results" "$STAMP" "$TRAFFIC_PPS" "$GOAL_MS" "$status" <<'PY'
import json, re, statistics, sys
path, out, stamp, pps, goal, status = sys.argv[1:]
runs = []
for line in open(path):
    m = re.match(r"figure: 1\. .*: loss window (\d+) ms, (\d+) lost of (\d+)", line)
    if m:
        runs.append({"window_ms": int(m[1]), "lost": int(m[2]), "sent": int(m[3])})
if not runs:
    sys.exit("no loss window measured")
w = [r["window_ms"] for r in runs]
for i, r in enumerate(runs, 1):
    print(f"run {i}: loss window {r['window_ms']} ms ({r['lost']} lost of {r['sent']} at {pps} pps)")
median = statistics.median(w)
met = median <= int(goal)
print(f"loss window at {pps} pps over {len(w)} runs: median {median:.0f} ms, min {min(w)}, max {max(w)}"
      f"; goal (median at most {goal} ms) {'met' if met else 'NOT met'}")
with open(out, "a") as f:
    f.write(json.dumps({"bench": "ha_failover_loss", "stamp": stamp, "pps": float(pps),
                        "runs": runs, "median_ms": median, "min_ms": min(w), "max_ms": max(w),
                        "goal_ms": int(goal), "goal_met": met,
                        "test_passed": status == "0"}) + "\n")
print(f"json: {out}")
PY
exit "$status"
