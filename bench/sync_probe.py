#!/usr/bin/env python3
"""Helper of bench/ha_sync_cost.sh (standard library only): the HA seqnum stream of one
running fastpath, seen through its control socket.

  sync_probe.py --socket SOCK --warmup S --duration S [--cpu N] [--consume]

Waits for the socket, then asks `sync_stats` and `stats` WARMUP s after it appeared and half
a second before the end of the DURATION s that follow (the run's measuring window), and prints one JSON line: the records the
workers' rings gave the sync side (`drained`) and the packets the workers processed between
the two, and their ratio (1/N at `--sync-period-packets N` when every due record is taken).
With --consume it also subscribes to the sync stream (`sync_subscribe`) and reads it until
the fast path closes it, as the slow path would: the batches go out instead of waiting in the
sync side's coalescer. --cpu pins this process (and its reading) to that CPU.
"""
import argparse
import json
import os
import socket
import threading
import time

VERSION = 2


def call(path, op):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(2.0)
        s.connect(path)
        s.sendall(json.dumps({"v": VERSION, "id": 1, "op": op}).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(65536)
            if not d:
                break
            buf += d
    reply = json.loads(buf)
    if not reply.get("ok"):
        raise RuntimeError("%s refused: %s" % (op, reply.get("error")))
    return reply["result"]


def sample(path):
    sync, stats = call(path, "sync_stats"), call(path, "stats")
    return sync, stats["encrypted"] + stats["decrypted"]


def consume(path, seen):
    """Reads the sync stream until the fast path closes it, counting batches and records."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.sendall(json.dumps({"v": VERSION, "id": 1, "op": "sync_subscribe"}).encode() + b"\n")
        while True:
            d = s.recv(1 << 16)
            if not d:
                break
            seen["batches"] += d.count(b'"sync":')
            seen["records"] += d.count(b'"sa":')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--warmup", type=float, required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--cpu", type=int)
    ap.add_argument("--consume", action="store_true")
    ap.add_argument("--wait", type=float, default=30.0)
    a = ap.parse_args()
    if a.cpu is not None:
        os.sched_setaffinity(0, {a.cpu})
    res = {"ok": False}
    deadline = time.monotonic() + a.wait
    while not os.path.exists(a.socket):
        if time.monotonic() > deadline:
            res["error"] = "no control socket"
            print(json.dumps(res))
            return
        time.sleep(0.05)
    t0 = time.monotonic()
    seen = {"batches": 0, "records": 0}
    reader = None
    try:
        if a.consume:
            reader = threading.Thread(target=consume, args=(a.socket, seen), daemon=True)
            reader.start()
        time.sleep(max(0.0, t0 + a.warmup - time.monotonic()))
        (s0, p0) = sample(a.socket)
        time.sleep(max(0.0, t0 + a.warmup + a.duration - 0.5 - time.monotonic()))
        (s1, p1) = sample(a.socket)
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        res["error"] = "probe: %s" % e
        print(json.dumps(res))
        return
    packets = p1 - p0
    records = s1["drained"] - s0["drained"]
    res.update({
        "snapshots": s1.get("snapshots"),
        "settings": s1.get("settings"),
        "packets": packets,
        "records": records,
        "per_packet": round(records / packets, 4) if packets else 0.0,
        "sent": s1["sent"] - s0["sent"],
        "batches": s1["batches"] - s0["batches"],
    })
    if reader is not None:
        reader.join(timeout=a.wait)
        res["received_records"] = seen["records"]
        res["received_batches"] = seen["batches"]
    res["ok"] = bool(res["snapshots"]) and records > 0
    print(json.dumps(res))


if __name__ == "__main__":
    main()
