#!/usr/bin/env python3
"""Checks that a pcap of decrypted frames gives back the original plaintext (stdlib only).

usage: pcap_compare.py ORIGINAL.pcap DECRYPTED.pcap

Frame i of each must be Ethernet/IPv4/UDP with the same source and destination address,
protocol, IP total length, UDP ports, UDP length and UDP payload bytes, and the decrypted
frame's IPv4 header checksum must be valid. TTL, IP id/flags, DSCP and the MAC addresses are
not compared (a gateway may rewrite them). Exit status 0 and one line "OK ..." if all frames
match; otherwise 1 and the first difference.
"""
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise SystemExit("FAIL %s: not a classic pcap" % path)
    at, out = 24, []
    while at + 16 <= len(data):
        caplen = struct.unpack(end + "I", data[at + 8:at + 12])[0]
        out.append(data[at + 16:at + 16 + caplen])
        at += 16 + caplen
    return out


def csum_ok(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


def parse(f):
    """(src, dst, proto, ip_len, sport, dport, udp_len, payload, csum_ok) or an error string."""
    if len(f) < 14 + 20 + 8 or f[12:14] != b"\x08\x00":
        return "not Ethernet/IPv4"
    ip = f[14:]
    if ip[0] >> 4 != 4:
        return "IP version %d" % (ip[0] >> 4)
    ihl = (ip[0] & 0x0F) * 4
    ip_len = struct.unpack("!H", ip[2:4])[0]
    if ip_len > len(ip) or ihl < 20:
        return "IP length %d, frame has %d" % (ip_len, len(ip))
    proto = ip[9]
    if proto != 17:
        return "IP protocol %d, not UDP" % proto
    udp = ip[ihl:ip_len]
    sport, dport, udp_len = struct.unpack("!HHH", udp[:6])
    return (ip[12:16], ip[16:20], proto, ip_len, sport, dport, udp_len, bytes(udp[8:]),
            csum_ok(ip[:ihl]))


FIELDS = ("src", "dst", "proto", "ip_len", "sport", "dport", "udp_len", "payload")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    orig, dec = frames(sys.argv[1]), frames(sys.argv[2])
    if len(orig) != len(dec):
        print("FAIL: %d frames decrypted, %d original" % (len(dec), len(orig)))
        return 1
    for i, (o, d) in enumerate(zip(orig, dec)):
        po, pd = parse(o), parse(d)
        if isinstance(po, str):
            print("FAIL frame %d: original is %s" % (i, po))
            return 1
        if isinstance(pd, str):
            print("FAIL frame %d: decrypted frame is %s" % (i, pd))
            return 1
        for name, a, b in zip(FIELDS, po, pd):
            if a != b:
                print("FAIL frame %d: %s differs (%r, want %r)" % (
                    i, name, b if name != "payload" else "%d bytes" % len(b),
                    a if name != "payload" else "%d bytes" % len(a)))
                return 1
        if not pd[8]:
            print("FAIL frame %d: bad IPv4 header checksum" % i)
            return 1
    lens = sorted({len(o) for o in orig})
    print("OK %d frames (%s B) == original: addresses, ports, lengths, payload" % (
        len(orig), "/".join(map(str, lens))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
