#!/usr/bin/env python3
"""Where each side of a bench/side_by_side.sh run spends its time per packet, from a
system-wide `perf record -e cpu-clock` taken during it (PERF=1).

Per run, each process's CPU samples in its measuring window (WARMUP s after its first sample,
for DURATION s) are counted in units of its own samples in the net_pcap PMD, the receive side
of the harness that both run unchanged: `units` = samples / pcap samples, the work per packet
in units of the work of receiving one; `ratio` = theirs / ours, what the speed ratio would be
if receiving cost both the same. It does not: `pcap` is our PMD CPU time per packet over
theirs (pcap samples / F over the packets of the window, from the run's rate), and the
wall-clock ratio of the run is close to ratio / pcap. So this does not replace the wall-clock
ratio; it splits it into what the processes' own work explains (`ratio`) and what the same
PMD costs in each (`pcap`: the packet copy into mbufs, whose cache state each process sets).

    perf_units.py PERF_SCRIPT_OUTPUT OURS.jsonl THEIRS.jsonl FREQ WARMUP DURATION

PERF_SCRIPT_OUTPUT: `perf script -F comm,pid,tid,time,ip,dso`. Processes are told apart by
their threads' names (ipsec-secgw, fastpath / rte-worker-N) and matched to the runs of the
JSON files by when they started.
"""
import json
import math
import re
import statistics
import sys
from collections import defaultdict

LINE = re.compile(r"^\s*(.+?)\s+(\d+)/(\d+)\s+([\d.]+):\s+\S+\s+\((.*)\)\s*$")


def samples(path):
    """Per process (tgid): its threads' names and its samples as (time, is_pcap)."""
    comms, times = defaultdict(set), defaultdict(list)
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            comm, pid, t, dso = m.group(1), int(m.group(2)), float(m.group(4)), m.group(5)
            comms[pid].add(comm)
            times[pid].append((t, "net_pcap" in dso))
    return comms, times


def main():
    script, ours_path, theirs_path = sys.argv[1:4]
    freq, warmup, duration = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
    comms, times = samples(script)
    first = {p: min(t for t, _ in ts) for p, ts in times.items()}
    side = {}
    for p, names in comms.items():
        if "ipsec-secgw" in names:
            side[p] = "theirs"
        elif any(n == "fastpath" or n.startswith("rte-worker") for n in names):
            side[p] = "ours"
    runs = {
        "ours": [json.loads(l) for l in open(ours_path) if l.strip()],
        "theirs": [json.loads(l) for l in open(theirs_path) if l.strip()],
    }
    ours_procs = sorted((p for p in side if side[p] == "ours"), key=first.get)
    theirs_procs = [p for p in side if side[p] == "theirs"]
    # Ours in the order of the runs; a process that never ran makes no samples, and then the
    # order cannot match them. Theirs: the one that started closest to ours (they start
    # together), which leaves out any stray ipsec-secgw running at the time.
    if len(ours_procs) != len(runs["ours"]) or not theirs_procs:
        print("perf: %d processes of ours for %d runs; not matched" % (
            len(ours_procs), len(runs["ours"])))
        return
    pairs = []
    for po in ours_procs:
        pt = min(theirs_procs, key=lambda p: abs(first[p] - first[po]))
        pairs.append((po, pt if abs(first[pt] - first[po]) < 5 else None))

    def cost(pid, run):
        t0 = first[pid] + warmup
        window = [pc for t, pc in times[pid] if t0 <= t < t0 + duration]
        pcap = sum(window)
        pps = run.get("pps") or 0
        if not run.get("ok") or pcap == 0 or pps <= 0:
            return None
        return len(window) / pcap, pcap / freq / (pps * duration) * 1e9

    cells = defaultdict(lambda: {"ratio": [], "pcap": [], "ours": [], "theirs": []})
    for (po, pt), ro, rt in zip(pairs, runs["ours"], runs["theirs"]):
        if pt is None:
            continue
        a, b = cost(po, ro), cost(pt, rt)
        if a is None or b is None:
            continue
        c = cells[(ro["dir"], ro["cipher"], ro["size"])]
        c["ours"].append(a[0])
        c["theirs"].append(b[0])
        c["ratio"].append(b[0] / a[0])
        c["pcap"].append(a[1] / b[1])
    print("\nfrom perf (units: samples per net_pcap sample; ratio: theirs / ours; pcap: the PMD's"
          " time per packet, ours / theirs)")
    print("dir  cipher            size | units ours  theirs | ratio (range)        | pcap   n")
    order = lambda k: (k[0] != "out", k[1], k[2] != "64", k[2] != "512", k[2] != "1400")
    pooled = defaultdict(list)
    for k in sorted(cells, key=order):
        c = cells[k]
        med = statistics.median
        print("%-4s %-16s %5s | %7.2f %8.2f   | %5.2f  (%.2f-%.2f)  | %4.2f  %d" % (
            *k, med(c["ours"]), med(c["theirs"]), med(c["ratio"]), min(c["ratio"]),
            max(c["ratio"]), med(c["pcap"]), len(c["ratio"])))
        for g in ((k[0], k[1]), ("both", k[1])):
            pooled[g].extend(math.log(r) for r in c["ratio"])
    for (d, c), x in sorted(pooled.items(), key=lambda g: (g[0][1], g[0][0] == "both", g[0][0] != "out")):
        print("%-4s %-22s | geometric mean ratio %.3f over %d runs" % (d, c, math.exp(sum(x) / len(x)), len(x)))


if __name__ == "__main__":
    main()
