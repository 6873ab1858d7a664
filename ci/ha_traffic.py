"""UDP traffic with per-packet sequence numbers, to measure what a failover loses.

  ha_traffic.py echo PORT
      answers every datagram to its sender (the host behind our gateway).
  ha_traffic.py send DST PORT PPS STATUS [SRC]
      sends a datagram (sequence number, send time) to DST:PORT PPS times a second (bound to
      SRC if given, e.g. a virtual IP) and matches the echoes. Every 100 ms it writes STATUS
      (JSON, replaced atomically): sent, answered, when the last echo came (unix ms). On
      SIGTERM or SIGINT it stops sending, waits 1 s for late echoes and writes the summary into
      STATUS with "done": true: lost, duplicates, reordered, and the outages. An outage is a run
      of consecutive unanswered packets; its window is the time from the last answered packet
      before it to the first answered one after it (or to the end): how long nothing got through.
"""
import json
import os
import select
import signal
import socket
import struct
import sys
import time

HEADER = struct.Struct("!IQ")  # sequence number, send time (unix ns)
PAD = b"\0" * 36


def echo(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))
    while True:
        data, peer = sock.recvfrom(2048)
        sock.sendto(data, peer)


def unix_ms():
    return time.time_ns() // 1_000_000


def write_status(path, status):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(status, f)
    os.replace(tmp, path)


def outages(sent_ms, answered):
    """The runs of unanswered packets, each with its window in ms."""
    runs, seq, n = [], 0, len(sent_ms)
    while seq < n:
        if seq in answered:
            seq += 1
            continue
        first = seq
        while seq < n and seq not in answered:
            seq += 1
        start = sent_ms[first - 1] if first > 0 else sent_ms[first]
        end = sent_ms[seq] if seq < n else unix_ms()
        runs.append({"first_seq": first, "lost": seq - first, "start_ms": start,
                     "window_ms": end - start})
    return runs


def send(dst, port, pps, status_path, src=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if src:
        sock.bind((src, 0))
    sock.setblocking(False)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    interval = 1.0 / pps
    sent_ms, answered = [], set()
    dups = reordered = highest = 0
    last_rx_ms = 0
    next_send = next_status = time.monotonic()
    drain_until = None

    def receive():
        nonlocal dups, reordered, highest, last_rx_ms
        while True:
            try:
                data = sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # an ICMP error from a route that is not there yet
                continue
            if len(data) < HEADER.size:
                continue
            seq, _ = HEADER.unpack_from(data)
            if seq >= len(sent_ms):
                continue
            if seq in answered:
                dups += 1
                continue
            if seq < highest:
                reordered += 1
            highest = max(highest, seq)
            answered.add(seq)
            last_rx_ms = unix_ms()

    while True:
        now = time.monotonic()
        if stop and drain_until is None:
            drain_until = now + 1.0
        if drain_until is not None and now >= drain_until:
            break
        if drain_until is None and now >= next_send:
            seq = len(sent_ms)
            sent_ms.append(unix_ms())
            try:
                sock.sendto(HEADER.pack(seq, time.time_ns()) + PAD, (dst, port))
            except OSError:
                pass  # no route for a moment: counted as lost
            next_send += interval
            if next_send < now - 1.0:  # the process was starved: do not burst to catch up
                next_send = now
        if now >= next_status:
            write_status(status_path, {"sent": len(sent_ms), "answered": len(answered),
                                       "last_rx_ms": last_rx_ms, "done": False})
            next_status = now + 0.1
        wait = max(0.0, min(next_send, next_status) - time.monotonic())
        try:
            select.select([sock], [], [], wait)
        except InterruptedError:
            pass
        receive()

    runs = outages(sent_ms, answered)
    write_status(status_path, {
        "sent": len(sent_ms), "answered": len(answered), "last_rx_ms": last_rx_ms,
        "lost": len(sent_ms) - len(answered), "duplicates": dups, "reordered": reordered,
        "pps": pps, "outages": runs,
        "max_window_ms": max((r["window_ms"] for r in runs), default=0), "done": True})


def main(argv):
    if len(argv) == 3 and argv[1] == "echo":
        echo(int(argv[2]))
    elif len(argv) in (6, 7) and argv[1] == "send":
        send(argv[2], int(argv[3]), float(argv[4]), argv[5], argv[6] if len(argv) == 7 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
