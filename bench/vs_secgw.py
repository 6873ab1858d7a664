#!/usr/bin/env python3
"""Helper of bench/vs_secgw.sh (standard library only).

  vs_secgw.py ours --dir out|in --cipher C --size S --in-pcap F --rep N \
      --warmup W --duration D [--txport P] [--rxport P] -- CMD...
      Runs one bounded `fastpath ... --json --stats-ms 500` cell (CMD), reads its JSON lines
      and prints one JSON result: packets/s from the TX port's ethdev `opackets` delta between
      the first sample at t >= W and the first sample >= D s later (divided by the
      difference of their `t`), the same method as the anchor's measure.py, plus the checks
      that nothing was dropped. Exit 0 only if the cell is ok.
  vs_secgw.py table --data DIR --ours OURS.jsonl --theirs A.jsonl [A2.jsonl ...] \
      [--imix-alias 9999] [--summary OUT.jsonl]
      Median Mpps and Gbit/s per cell for both, and the ratio ours/theirs.
  vs_secgw.py pcapinfo F     prints "count mean_len min_len max_len" of a classic pcap.
  vs_secgw.py capframes IN OUT CAP
      Copies a pcap of Ethernet/IPv4/UDP frames, shortening every frame longer than CAP bytes
      to CAP (UDP payload cut, IP and UDP lengths and checksums recomputed). ipsec-secgw
      (no --mtu in the anchor: 1500) drops an ESP packet above the MTU, so an IMIX whose
      largest frame is 1518 B cannot go through it without fragmentation.

Gbit/s = Mpps x mean input frame bytes x 8 (pcap record length: no FCS, preamble or IFG),
for both implementations from the same pcap files: the plain frame for `out`, the ESP frame
for `in` (the anchor's own `in_frame` is the first record's length, wrong for IMIX).
"""
import argparse
import json
import os
import signal
import statistics
import struct
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def pcap_lengths(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("%s: not a classic pcap" % path)
    at, lens = 24, []
    while at + 16 <= len(data):
        caplen, wirelen = struct.unpack(end + "II", data[at + 8:at + 16])
        lens.append(wirelen)
        at += 16 + caplen
    return lens


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    t = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return (~t) & 0xFFFF


def cap_frame(f, cap):
    if len(f) <= cap:
        return f
    if f[12:14] != b"\x08\x00" or f[23] != 17:
        raise ValueError("capframes: only Ethernet/IPv4/UDP frames can be shortened")
    ihl = (f[14] & 0x0F) * 4
    f = bytearray(f[:cap])
    ip_len = cap - 14
    udp_len = ip_len - ihl
    struct.pack_into("!H", f, 16, ip_len)
    struct.pack_into("!H", f, 24, 0)
    struct.pack_into("!H", f, 24, csum16(bytes(f[14:14 + ihl])))
    u = 14 + ihl
    struct.pack_into("!HH", f, u + 4, udp_len, 0)
    pseudo = bytes(f[26:34]) + struct.pack("!BBH", 0, 17, udp_len)
    struct.pack_into("!H", f, u + 6, csum16(pseudo + bytes(f[u:])) or 0xFFFF)
    return bytes(f)


def capframes(src, dst, cap):
    with open(src, "rb") as fh:
        data = fh.read()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        raise ValueError("capframes: want a little-endian microsecond pcap")
    out, at = [data[:24]], 24
    while at + 16 <= len(data):
        sec, usec, caplen, _ = struct.unpack("<IIII", data[at:at + 16])
        f = cap_frame(data[at + 16:at + 16 + caplen], cap)
        out.append(struct.pack("<IIII", sec, usec, len(f), len(f)) + f)
        at += 16 + caplen
    with open(dst, "wb") as fh:
        fh.write(b"".join(out))


def pcap_mean(path):
    lens = pcap_lengths(path)
    return sum(lens) / len(lens) if lens else 0.0


# ------------------------------------------------------------------ one cell of ours
def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                    todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def threads(root):
    """{tid: (comm, utime+stime ticks, cpu)} of the process tree under root."""
    res = {}
    for pid in descendants(root):
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    st = f.read()
            except OSError:
                continue
            comm = st[st.index("(") + 1:st.rindex(")")]
            v = st[st.rindex(")") + 2:].split()
            res[int(tid)] = (comm, int(v[11]) + int(v[12]), int(v[36]))
    return res


def steal():
    res = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                v = line.split()
                res[int(v[0][3:])] = int(v[8])
    return res


def port(sample, pid):
    for p in sample.get("ports", []):
        if p["port"] == pid:
            return p
    raise KeyError("port %d not in the JSON line" % pid)


def run_ours(a):
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    res = {"impl": "fastpath", "rep": a.rep, "dir": a.dir, "cipher": a.cipher,
           "size": a.size, "in_frame": round(pcap_mean(a.in_pcap), 2), "ok": False}
    limit = a.warmup + a.duration + a.slack
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(a.log, "wb"),
                            stdin=subprocess.DEVNULL, text=True)
    res["pid"] = proc.pid
    if a.harness_cpu >= 0:
        try:
            os.sched_setaffinity(0, {a.harness_cpu})
        except OSError:
            pass
    lines, s0, s1, th0, th1, st0, st1, final, lat = [], None, None, None, None, None, None, None, []
    deadline = time.monotonic() + limit
    try:
        # readline blocks, but the child is bounded (its --duration, and `timeout` in CMD),
        # so EOF comes; the deadline is checked between lines.
        for line in proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                j = json.loads(line)
            except ValueError:
                continue
            kind = j.get("kind")
            if kind == "interval":
                lines.append(j)
                if s0 is None and j["t"] >= a.warmup:
                    s0, th0, st0 = j, threads(proc.pid), steal()
                elif s0 is not None and s1 is None and j["t"] - s0["t"] >= a.duration - 0.05:
                    s1, th1, st1 = j, threads(proc.pid), steal()
            elif kind == "final":
                final = j
            elif kind == "latency":
                lat.append(j)
            if time.monotonic() > deadline:
                res["error"] = "deadline"
                break
    finally:
        if proc.poll() is None:
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                for p in reversed(descendants(proc.pid)):
                    try:
                        os.kill(p, signal.SIGINT)
                    except OSError:
                        pass
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        res["exit_code"] = proc.returncode
    if s0 is None or s1 is None:
        res.setdefault("error", "no measurement window (%d samples, exit %s)"
                       % (len(lines), proc.returncode))
        return res
    dt = s1["t"] - s0["t"]
    tx0, tx1 = port(s0, a.txport), port(s1, a.txport)
    rx0, rx1 = port(s0, a.rxport), port(s1, a.rxport)
    d = lambda k: s1[k] - s0[k]
    drops = {k: s1["drops"][k] - s0["drops"].get(k, 0) for k in s1["drops"]}
    work = "encrypted" if a.dir == "out" else "decrypted"
    res.update({
        "elapsed_s": round(dt, 4),
        "port_tx_opackets": tx1["opackets"] - tx0["opackets"],
        "port_rx_ipackets": rx1["ipackets"] - rx0["ipackets"],
        "port_rx_nombuf": rx1["rx_nombuf"] - rx0["rx_nombuf"],
        "port_rx_imissed": rx1["imissed"] - rx0["imissed"],
        work: d(work),
        "tx_full": d("tx_full"),
        "exception_dropped": d("exception_dropped"),
        "bypassed": d("bypassed"),
        "drops": sum(drops.values()),
        "drops_by_reason": {k: v for k, v in drops.items() if v},
    })
    if final is not None:
        res["drops_total"] = sum(final["drops"].values())
        res["tx_full_total"] = final["tx_full"]
    # the worker lcore's thread (EAL names it rte-worker-N): its CPU share in the window
    named = [t for t in th1 if th1[t][0] == "rte-worker-%d" % a.lcore]
    if named:
        t = named[0]
        comm, ticks, cpu = th1[t]
        res["lcore_thread"] = comm
        res["lcore_cpu"] = cpu
        res["lcore_cpu_share"] = round((ticks - th0.get(t, ("", 0, 0))[1]) / CLK_TCK / dt, 3)
        res["steal_share"] = round((st1[cpu] - st0[cpu]) / CLK_TCK / dt, 3)
    # all its threads' CPU share in the window (the worker's, and its helpers' on its CPU)
    res["process_cpu_share"] = round(sum(ticks - th0.get(t, ("", 0, 0))[1]
                                         for t, (_, ticks, _) in th1.items()) / CLK_TCK / dt, 3)
    if lat:
        res["latency"] = lat
    res["pps"] = res["port_tx_opackets"] / dt
    res["rx_pps"] = res["port_rx_ipackets"] / dt
    checks = [
        (res["port_tx_opackets"] > 0, "nothing sent"),
        (res["drops"] == 0, "ESP drops %s" % res["drops_by_reason"]),
        (res.get("drops_total", 0) == 0, "ESP drops over the whole run"),
        (res["tx_full"] == 0, "TX queue full (%d)" % res["tx_full"]),
        (res["exception_dropped"] == 0, "exception drops"),
        (res["port_rx_nombuf"] == 0, "rx_nombuf"),
        (res[work] >= 0.99 * res["port_tx_opackets"], "fewer %s than sent" % work),
    ]
    bad = [why for good, why in checks if not good]
    res["ok"] = not bad and "error" not in res
    if bad:
        res["error"] = "; ".join(bad)
    return res


# ------------------------------------------------------------------ table
def load(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            for line in f:
                if line.strip():
                    rows.append(json.loads(line))
    return rows


def table(a):
    alias = str(a.imix_alias)
    ours = load(a.ours)
    theirs = load(a.theirs)
    label = lambda s: "imix" if str(s) == alias else str(s)
    cells = {}
    for r in theirs:
        r["impl"] = "ipsec-secgw"
        r["size"] = label(r["size"])
    for r in ours + theirs:
        k = (r["dir"], r["cipher"], str(r["size"]))
        cells.setdefault(k, {"fastpath": [], "ipsec-secgw": [], "bad": {"fastpath": 0, "ipsec-secgw": 0}})
        if r.get("ok"):
            cells[k][r["impl"]].append(r["pps"] / 1e6)
            if r.get("lcore_cpu_share"):
                cells[k].setdefault("cpu_" + r["impl"], []).append(r["lcore_cpu_share"])
                cells[k].setdefault("norm_" + r["impl"], []).append(
                    r["pps"] / 1e6 / min(1.0, r["lcore_cpu_share"]))
        else:
            cells[k]["bad"][r["impl"]] += 1

    def frame_bytes(d, c, s):
        name = alias if s == "imix" else s
        f = ("plain_%s.pcap" % name) if d == "out" else ("esp_%s_%s.pcap" % (c, name))
        try:
            return pcap_mean(os.path.join(a.data, f))
        except OSError:
            return float("nan")

    order = lambda k: (k[0] != "out", k[1], 99999 if k[2] == "imix" else int(k[2]))
    out = []
    hdr = "%-4s %-16s %5s %7s | %7s %6s %2s %11s %4s | %7s %6s %2s %11s %4s | %5s" % (
        "dir", "cipher", "frame", "in_B", "ours", "Gbit/s", "n", "range", "cpu",
        "secgw", "Gbit/s", "n", "range", "cpu", "ratio") + " | %6s %6s %5s" % (
        "ours/c", "secgw/c", "ratio")
    print("median Mpps over the repetitions (n = ok runs; range = min-max Mpps; cpu = median "
          "CPU share of the worker lcore's thread in the window, < 1 = preempted;\n"
          "x/c = median of Mpps / cpu share per run: the rate per CPU-second of the worker, "
          "less sensitive to preemption, but not to cache and SMT sharing)")
    print(hdr)
    print("-" * len(hdr))
    for k in sorted(cells, key=order):
        d, c, s = k
        fb = frame_bytes(d, c, s)
        row = {"dir": d, "cipher": c, "size": s, "in_frame": round(fb, 2)}
        txt = "%-4s %-16s %5s %7.1f" % (d, c, s, fb)
        for impl in ("fastpath", "ipsec-secgw"):
            v = cells[k][impl]
            nbad = cells[k]["bad"][impl]
            if v:
                m = statistics.median(v)
                cpu = cells[k].get("cpu_" + impl)
                cpu = statistics.median(cpu) if cpu else None
                row[impl] = {"mpps": round(m, 4), "gbps": round(m * fb * 8 / 1000, 3),
                             "n": len(v), "failed": nbad, "min": round(min(v), 4),
                             "max": round(max(v), 4), "cpu_share": cpu}
                txt += " | %7.3f %6.2f %2d %11s %4s" % (
                    m, m * fb * 8 / 1000, len(v), "%.2f-%.2f" % (min(v), max(v)),
                    "-" if cpu is None else "%.2f" % cpu)
            else:
                row[impl] = {"n": 0, "failed": nbad}
                txt += " | %7s %6s %2d %11s %4s" % ("-", "-", 0, "", "")
            if nbad:
                txt += "!"
        if cells[k]["fastpath"] and cells[k]["ipsec-secgw"]:
            row["ratio"] = round(row["fastpath"]["mpps"] / row["ipsec-secgw"]["mpps"], 3)
            txt += " | %5.2f" % row["ratio"]
        else:
            txt += " | %5s" % "-"
        no, nt = cells[k].get("norm_fastpath"), cells[k].get("norm_ipsec-secgw")
        no = statistics.median(no) if no else None
        nt = statistics.median(nt) if nt else None
        fmt = lambda x: "-" if x is None else "%.3f" % x
        txt += " | %6s %6s" % (fmt(no), fmt(nt))
        if no and nt:
            row["per_cpu_mpps"] = {"fastpath": round(no, 4), "ipsec-secgw": round(nt, 4)}
            row["per_cpu_ratio"] = round(no / nt, 3)
            txt += " %5.2f" % (no / nt)
        print(txt)
        out.append(row)
    # our per-burst latency (median over repetitions of each percentile)
    lat = {}
    for r in ours:
        for l in r.get("latency", []):
            lat.setdefault((r["dir"], r["cipher"], str(r["size"])), []).append(l)
    if lat:
        print("\nfastpath per-burst latency (rx burst -> tx, up to 64 packets; "
              "median over repetitions, microseconds)")
        print("%-4s %-16s %5s | %8s %8s %8s %9s %8s" % (
            "dir", "cipher", "frame", "p50", "p99", "p99.9", "max", "bursts"))
        for k in sorted(lat, key=order):
            ls = lat[k]
            med = lambda f: statistics.median(x[f] for x in ls) / 1e3
            print("%-4s %-16s %5s | %8.2f %8.2f %8.2f %9.1f %8d" % (
                k[0], k[1], k[2], med("p50_ns"), med("p99_ns"), med("p99_9_ns"),
                med("max_ns"), int(statistics.median(x["bursts"] for x in ls))))
            for row in out:
                if (row["dir"], row["cipher"], row["size"]) == k:
                    row["fastpath_latency_us"] = {p: round(med(p + "_ns"), 3) for p in
                                                  ("p50", "p99", "p99_9", "max")}
    nfail = sum(c["bad"]["fastpath"] + c["bad"]["ipsec-secgw"] for c in cells.values())
    print("\n%d cells, %d failed runs (a failed run is not in the medians; '!' marks a cell "
          "with one)" % (len(cells), nfail))
    for k in sorted(cells, key=order):
        for impl in ("fastpath", "ipsec-secgw"):
            if cells[k]["bad"][impl]:
                print("  failed: %s %s %s %s x%d" % (impl, k[0], k[1], k[2], cells[k]["bad"][impl]))
    if a.summary:
        with open(a.summary, "w") as f:
            for row in out:
                f.write(json.dumps(row) + "\n")
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    o = sub.add_parser("ours")
    o.add_argument("--dir", choices=("out", "in"), required=True)
    o.add_argument("--cipher", required=True)
    o.add_argument("--size", required=True)
    o.add_argument("--in-pcap", required=True)
    o.add_argument("--rep", type=int, default=1)
    o.add_argument("--warmup", type=float, default=2.0)
    o.add_argument("--duration", type=float, default=10.0)
    o.add_argument("--slack", type=float, default=40.0)
    o.add_argument("--rxport", type=int, default=0)
    o.add_argument("--txport", type=int, default=1)
    o.add_argument("--lcore", type=int, default=1)
    o.add_argument("--harness-cpu", type=int, default=0)
    o.add_argument("--log", default="/dev/null")
    o.add_argument("cmd", nargs=argparse.REMAINDER)
    t = sub.add_parser("table")
    t.add_argument("--data", required=True)
    t.add_argument("--ours", nargs="+", required=True)
    t.add_argument("--theirs", nargs="*", default=[])
    t.add_argument("--imix-alias", default="9999")
    t.add_argument("--summary")
    p = sub.add_parser("pcapinfo")
    p.add_argument("pcap")
    c = sub.add_parser("capframes")
    c.add_argument("src")
    c.add_argument("dst")
    c.add_argument("cap", type=int)
    a = ap.parse_args()
    if a.what == "capframes":
        capframes(a.src, a.dst, a.cap)
        return 0
    if a.what == "ours":
        try:
            r = run_ours(a)
        except Exception as e:  # report, never hang
            r = {"impl": "fastpath", "rep": a.rep, "dir": a.dir, "cipher": a.cipher,
                 "size": a.size, "ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(r))
        return 0 if r.get("ok") else 1
    if a.what == "table":
        return table(a)
    lens = pcap_lengths(a.pcap)
    print(len(lens), round(sum(lens) / max(1, len(lens)), 2), min(lens, default=0),
          max(lens, default=0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
