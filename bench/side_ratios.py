#!/usr/bin/env python3
"""Summary of two sides measured at the same time (bench/side_by_side.sh, bench/ha_sync_cost.sh).

  side_ratios.py A.jsonl B.jsonl [NAME_A NAME_B] [--per worker|process|burst]

A.jsonl and B.jsonl hold one result per run of vs_secgw.py (tagged with rep, dir, cipher,
size), line n of one paired with line n of the other. Prints per cell the median rates and
the median of the per-run ratios A/B, then per cipher and direction the geometric mean of all
its runs' ratios with a 95 % bootstrap interval (the figure to read: cells alone are noise).
With --per, each rate is divided by the CPU share its worker thread (worker) or its whole
process (process) had in the window: packets per CPU-second, which other processes' load on
that CPU does not bias (on a busy host the scheduler can give the two sides unequal shares);
or (burst, runs with --latency) the inverse of the median time the worker took per burst,
which preemption disturbs least: ratios of it are the other side's p50 over this side's.
"""
import argparse
import json
import math
import random
import statistics


def rows(path):
    return [json.loads(line) for line in open(path) if line.strip()]


SHARE = {None: None, "worker": "lcore_cpu_share", "process": "process_cpu_share"}


def rate(row, per):
    """Mpps, Mpps per CPU-second of the worker or process, or bursts per us at the median
    time per burst; None if the run has no such figure."""
    if not row.get("ok"):
        return None
    if per is None:
        return row["pps"] / 1e6
    if per == "burst":
        p50 = (row.get("latency") or [{}])[0].get("p50_ns")
        return 1e3 / p50 if p50 else None
    share = row.get(SHARE[per])
    return row["pps"] / 1e6 / share if share else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("names", nargs="*", default=["ours", "theirs"])
    ap.add_argument("--per", choices=("worker", "process", "burst"))
    args = ap.parse_args()
    a_rows, b_rows = rows(args.a), rows(args.b)
    name_a, name_b = (args.names + ["ours", "theirs"][len(args.names):])[:2]
    unit = {None: "Mpps", "burst": "bursts/us"}.get(args.per, "Mpps/CPU")
    key = lambda r: (r["dir"], r["cipher"], r["size"])
    cells = {}
    for a, b in zip(a_rows, b_rows):
        c = cells.setdefault(key(a), {"a": [], "b": [], "r": []})
        ra, rb = rate(a, args.per), rate(b, args.per)
        if ra is not None and rb is not None:
            c["a"].append(ra)
            c["b"].append(rb)
            c["r"].append(ra / rb)
    if args.per == "burst":
        print("\nper burst: the inverse of each side's median time per burst (p50_ns)")
    elif args.per is not None:
        print("\nper CPU-second of each side's %s (%s)" % (args.per, SHARE[args.per]))
    print("\ndir  cipher            size | %13s %13s | ratio %s / %s (median of per-run ratios, range)  n"
          % ("%s %s" % (name_a, unit), "%s %s" % (name_b, unit), name_a, name_b))
    ahead = 0
    order = lambda k: (k[0] != "out", k[1], k[2] != "64", k[2] != "512", k[2] != "1400")
    for k in sorted(cells, key=order):
        c = cells[k]
        if not c["r"]:
            print("%-4s %-16s %5s |  no complete pair" % k)
            continue
        m = statistics.median(c["r"])
        ahead += m > 1
        print("%-4s %-16s %5s | %13.3f %13.3f | %5.3f  (%.3f-%.3f)  %d" % (
            *k, statistics.median(c["a"]), statistics.median(c["b"]), m, min(c["r"]), max(c["r"]),
            len(c["r"])))
    medians = [statistics.median(c["r"]) for c in cells.values() if c["r"]]
    print("%s ahead in %d of %d cells; geometric mean of the median ratios %.3f" % (
        name_a, ahead, len(cells), statistics.geometric_mean(medians or [1])))
    # Single cells are too noisy to call; the runs of a cipher and direction pooled are not:
    # their geometric mean ratio, with a 95 % bootstrap interval (resampled runs, fixed seed).
    random.seed(1)
    groups = {}
    for (d, c, _), cell in cells.items():
        for g in ((d, c), ("both", c), ("all", "")):
            groups.setdefault(g, []).extend(math.log(r) for r in cell["r"])
    print("\npooled runs                 | geometric mean ratio (95 % bootstrap interval)  runs")
    for (d, c), x in sorted(groups.items(), key=lambda g: (g[0][0] == "all", g[0][1],
                                                           g[0][0] == "both", g[0][0] != "out")):
        if len(x) < 2:
            continue
        means = sorted(sum(random.choices(x, k=len(x))) / len(x) for _ in range(4000))
        print("%-4s %-22s | %.3f  (%.3f-%.3f)  %d" % (d, c, math.exp(sum(x) / len(x)),
              math.exp(means[100]), math.exp(means[3899]), len(x)))


if __name__ == "__main__":
    main()
