#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets into fuzz/seeds/<target>/ (small, committed).
ci/fuzz.sh copies them into the (uncommitted) corpus directories before a run.
Run from anywhere: python3 fuzz/seeds/gen.py"""
import ipaddress
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
NAT_T = 4500


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src, dst, proto, payload, tos=0, flags=0x4000, ttl=64, options=b""):
    hl = 20 + len(options)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | hl // 4, tos, hl + len(payload), 1, flags, ttl,
                    proto, 0, ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    h += options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ip6(src, dst, proto, payload, tc=0, hlim=64, ext=b""):
    first = (6 << 28) | (tc << 20)
    h = struct.pack("!IHBB16s16s", first, len(ext) + len(payload), proto if not ext else 0, hlim,
                    ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed)
    if ext:
        ext = bytes([proto]) + ext[1:]
    return h + ext + payload


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport, dport):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x02, 1024, 0, 0)


def icmp(t, c):
    return struct.pack("!BBHHH", t, c, 0, 1, 1) + b"ping"


HBH = bytes([0, 0, 1, 4, 0, 0, 0, 0])  # hop-by-hop, PadN
PAY = bytes(range(48))

# The inner packets a tunnel carries (see the selectors of the SAs in inbound_esp.rs).
INNER = [
    ip4("203.0.113.20", "198.51.100.10", 17, udp(1024, 5001, PAY)),
    ip4("203.0.113.20", "198.51.100.10", 1, icmp(8, 0), tos=0x02),
    ip4("198.51.100.10", "203.0.113.20", 6, tcp(40000, 443), options=b"\x01\x01\x01\x00"),
    ip6("2001:db8:1::10", "2001:db8:2::20", 17, udp(1024, 5001, PAY)),
    ip6("2001:db8:1::10", "2001:db8:2::20", 58, icmp(128, 0), ext=HBH),
    ip4("203.0.113.20", "198.51.100.10", 17, udp(1, 2, b""), flags=0x2000),  # a fragment
]


def rec(kind, body):
    body = bytes([kind]) + body
    return struct.pack("!H", len(body)) + body


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def inbound_esp():
    n_sas = 10
    transport = {2, 4, 8}
    for sa in range(n_sas):
        # kind 2: through the outbound twin, then back.
        write("inbound_esp", "outbound-sa%d" % sa,
              b"\x00" + b"".join(rec(2, bytes([sa, 0]) + p) for p in INNER))
        # kind 1: sealed plaintext with a correct trailer; tunnel: an inner packet (next header
        # 4 or 41), transport: an upper-layer segment (next header 17, 6, 59).
        recs = []
        for i, p in enumerate(INNER):
            if sa in transport:
                seg = udp(1024, 5001, PAY) if i % 2 == 0 else tcp(1, 80)
                nh = 17 if i % 2 == 0 else 6
                flags = 0x01 | (0x10 if i >= 3 else 0) | (0x02 if i == 4 else 0)
                recs.append(rec(1, bytes([sa, flags, nh, 0]) + seg))
            else:
                nh = 4 if p[0] >> 4 == 4 else 41
                recs.append(rec(1, bytes([sa, 0x01, nh, 0]) + p))
        recs.append(rec(1, bytes([sa, 0x01, 59, 0])))  # a dummy packet
        recs.append(rec(1, bytes([sa, 0x00, 0, 0]) + b"\x01\x02\x02\x04"))  # raw trailer
        write("inbound_esp", "sealed-sa%d" % sa, b"\x01" + b"".join(recs))
    # A burst of 70 (two chunks), replays and an outer-ECN change included.
    recs = [rec(2, bytes([k % n_sas, 0x80 if k % 7 == 0 else (0x07 if k % 11 == 0 else 0)]) + INNER[k % 4])
            for k in range(70)]
    write("inbound_esp", "burst-70", b"\x02" + b"".join(recs))
    # kind 0: raw packets, kind 3: NAT-T (keepalive, IKE, ESP with an unknown SPI).
    esp = struct.pack("!II", 0x1000, 1) + bytes(40)
    write("inbound_esp", "raw", b"\x00" + rec(0, ip4("192.0.2.2", "192.0.2.1", 50, esp))
          + rec(0, ip6("2001:db8::2", "2001:db8::1", 50, esp, ext=HBH))
          + rec(0, ip4("192.0.2.2", "192.0.2.1", 17, udp(NAT_T, NAT_T, esp)))
          + rec(0, ip4("192.0.2.2", "192.0.2.1", 50, esp, flags=0x2000)))
    write("inbound_esp", "nat-t", b"\x00" + rec(3, b"\x00\xff") + rec(3, b"\x00" + bytes(20))
          + rec(3, b"\x01" + struct.pack("!II", 0x1003, 9) + bytes(48))
          + rec(3, b"\x00" + struct.pack("!II", 0x1009, 2) + bytes(64)))


def wire_ip():
    for i, p in enumerate(INNER):
        write("wire_ip", "inner%d" % i, p)
    esp = struct.pack("!II", 0x1000, 1) + bytes(24)
    write("wire_ip", "esp4", ip4("192.0.2.2", "192.0.2.1", 50, esp))
    write("wire_ip", "esp6-hbh", ip6("2001:db8::2", "2001:db8::1", 50, esp, ext=HBH))
    write("wire_ip", "natt4", ip4("192.0.2.2", "192.0.2.1", 17, udp(NAT_T, NAT_T, esp)))
    write("wire_ip", "ike4", ip4("192.0.2.2", "192.0.2.1", 17, udp(NAT_T, NAT_T, bytes(28))))
    # IPv6: hop-by-hop, routing, then a later fragment.
    h = ip6("2001:db8::2", "2001:db8::1", 0, b"")
    ext = bytes([43, 0]) + bytes(6) + bytes([44, 0]) + bytes(6) + struct.pack("!BBHI", 17, 0, 0x0008, 7)
    body = ext + udp(1, 2, b"y")
    h = h[:4] + struct.pack("!H", len(body)) + h[6:]
    write("wire_ip", "frag6", h + body)
    write("wire_ip", "trailing", ip4("192.0.2.2", "192.0.2.1", 6, tcp(1, 2)) + b"\xee" * 6)


def config_parse():
    lab = """# a lab
port 0 protected peer-mac 02:00:00:00:00:01
port 1 unprotected peer-mac 02:00:00:00:00:02
sa 1 out spi 0x1005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.1 192.0.2.2 esn window 2048
sa 2 in spi 0x2005 aes128-sha1 key 2b7e151628aed2a6abf7158809cf4f3c auth-key 0102030405060708090a0b0c0d0e0f1011121314 tunnel 192.0.2.1 192.0.2.2 natt 4500:4500 lifetime-packets 100:200 standby
sa 3 in spi 0x2006 null-sha256 auth-key 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20 transport dscp 46 df set ttl 32 lifetime-bytes 1000:2000
sa 4 out spi 4096 aes256-sha256 key 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f auth-key 00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:14:15:16:17:18:19:1a:1b:1c:1d:1e:1f tunnel 2001:db8::1 2001:db8::2
sp out protect 1 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24 proto udp dport 5001
sp in protect 2 pri 10 src 203.0.113.0/24 dst 198.51.100.0/24
sp in protect 2,3 pri 5 src 2001:db8::/32 dst 2001:db8:1::1 proto icmp6 sport 128:129
sp out bypass pri 1 src 0.0.0.0/0 dst 192.0.2.0/24 proto udp dport 500:500
sp out discard pri 99 src ::/0 dst ::/0 proto 47
"""
    write("config_parse", "lab.conf", lab.encode())
    write("config_parse", "sa-only.conf",
          b"sa 7 in spi 0x300 aes256gcm16 key " + b"ab" * 36 + b" tunnel 10.0.0.1 10.0.0.2 window 0 df clear dscp copy\n")
    write("config_parse", "bad.conf", b"port 0 inside\n# x\nsa 1 out spi 1 aes999\n")
    # Regression: a null cipher's SA wrote back as `key ` with nothing after it.
    write("config_parse", "null-cipher.conf",
          b"sa 3 in spi 0x2006 null-sha256 auth-key " + b"01" * 32 + b" transport\n")
    # Regression: an SA id of 4e9 had the SAD allocate 32 GB (now refused by the parser).
    write("config_parse", "huge-sa-id.conf",
          b"sa 4000000000 in spi 0x2005 aes128gcm16 key " + b"2b" * 20 + b" tunnel 192.0.2.1 192.0.2.2\n")


def vrrp_frame():
    """Ethernet frames of VRRP adverts as keepalived sends them (TOS 0xc0, TTL/hop limit 255,
    to 224.0.0.18 / ff02::12, source MAC the virtual MAC), built here apart from the Rust code."""
    def advert(version, vrid, prio, interval, addrs, src, dst, v6):
        a = b"".join((ipaddress.IPv6Address if v6 else ipaddress.IPv4Address)(x).packed for x in addrs)
        if version == 3:
            m = struct.pack("!BBBBHH", 0x31, vrid, prio, len(addrs), interval & 0x0FFF, 0) + a
            if v6:
                pseudo = (ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
                          + struct.pack("!I3xB", len(m), 112))
            else:
                pseudo = (ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
                          + struct.pack("!xBH", 112, len(m)))
        else:
            m = struct.pack("!BBBBBBH", 0x21, vrid, prio, len(addrs), 0, interval // 100, 0) + a + bytes(8)
            pseudo = b""
        return m[:6] + struct.pack("!H", csum(pseudo + m)) + m[8:]

    def eth(dst, vrid, v6, ethertype):
        return bytes(dst) + bytes([0, 0, 0x5E, 0, 2 if v6 else 1, vrid]) + struct.pack("!H", ethertype)

    src4, grp4 = "192.168.1.1", "224.0.0.18"
    m = advert(3, 51, 100, 100, ["192.168.1.254"], src4, grp4, False)
    write("vrrp_frame", "v3-ipv4",
          eth([1, 0, 0x5E, 0, 0, 0x12], 51, False, 0x0800) + ip4(src4, grp4, 112, m, tos=0xC0, flags=0, ttl=255))
    src6, grp6 = "fe80::1", "ff02::12"
    m = advert(3, 52, 200, 50, ["fe80::52", "2001:db8::52"], src6, grp6, True)
    write("vrrp_frame", "v3-ipv6",
          eth([0x33, 0x33, 0, 0, 0, 0x12], 52, True, 0x86DD) + ip6(src6, grp6, 112, m, tc=0xC0, hlim=255))
    m = advert(2, 53, 255, 300, ["10.0.0.53", "10.0.0.54"], "10.0.0.1", grp4, False)
    # Ethernet padding after a short packet.
    write("vrrp_frame", "v2-ipv4",
          eth([1, 0, 0x5E, 0, 0, 0x12], 53, False, 0x0800)
          + ip4("10.0.0.1", grp4, 112, m, tos=0xC0, flags=0, ttl=255) + bytes(6))


def control_request():
    """Request lines of both control sockets, as an operator's socat would send them."""
    key = "00" * 20
    sa = ('{"id": 9, "dir": "out", "spi": 4105, "transform": "aes128gcm16", "key": "%s", '
          '"mode": {"tunnel": {"local": "192.0.2.1", "remote": "192.0.2.2"}}, "esn": true}' % key)
    sp = ('{"dir": "out", "action": {"protect": 9}, "priority": 5, "src": "10.1.0.0/16", '
          '"dst": "10.2.0.0/16", "proto": 17, "dport": [53, 53]}')
    lines = [
        '{"v":2,"id":1,"op":"sa_add","sa":%s}' % sa,
        '{"v":2,"id":2,"op":"sp_add","sp":%s}' % sp,
        '{"v":2,"id":3,"op":"sa_activate","sa":"all","oseq_shift":65536,"generation":3}',
        '{"v":2,"id":4,"op":"sa_deactivate","sa":"0x12"}',
        '{"v":2,"id":5,"op":"sa_sync","sync":[{"sa":7,"spi":8197,"dir":"in","oseq":0,"top":99,'
        '"bits":[1,2,3,4],"gen":5,"at_ns":123}]}',
        '{"v":2,"id":6,"op":"port_mac","port":1,"mac":"00:00:5e:00:01:33"}',
        '{"v":2,"id":7,"op":"switchover","group":"gw","hold_ms":3000}',
        '{"v":2,"id":8,"op":"terminate","conn":"gw2"}',
        '{"v":1,"id":9,"op":"stats"}',
    ]
    for i, l in enumerate(lines):
        write("control_request", "line-%d" % i, l.encode())


def sync_datagram():
    """Scripts of payloads that the target seals as the peer node: pieces of
    `len u8, flags u8, plaintext`, the plaintext being frames (fuzz_targets/sync_datagram.rs)."""
    def data(seq, stream):
        return b"\x03" + struct.pack("!QH", seq, len(stream)) + stream

    def msg(kind, body):
        return struct.pack("!BI", kind, len(body)) + body

    def piece(plain, flags=0):
        return struct.pack("!BB", len(plain), flags) + plain

    ike_sa = msg(1, struct.pack("!QQ", 1, 2) + bytes(range(40)))
    snap = msg(3, struct.pack("!IB", 0x1005, 1) + b"\x04\xc0\x00\x02\x02"
               + struct.pack("!QQ4QH", 9, 8, 1, 2, 3, 4, 5))
    lease = msg(4, struct.pack("!I", 4) + b"vips" + b"\x04\x0a\x03\x00\x01\x01" + b"CN=carol")
    ack = b"\x02" + struct.pack("!QB", 1, 1) + struct.pack("!QQ", 3, 5)
    write("sync_datagram", "records", piece(data(2, ike_sa + snap)) + piece(data(3, lease), 0x11))
    write("sync_datagram", "bulk", piece(data(2, msg(0x80, b""))) + piece(b"\x01" + ack)
          + piece(data(3, msg(0x81, struct.pack("!Q", 0))), 0x20))
    # A record split over two chunks, the second one first, then a replay.
    write("sync_datagram", "split", piece(data(3, ike_sa[20:])) + piece(data(2, ike_sa[:20]))
          + piece(data(2, ike_sa[:20]), 0x02))


inbound_esp()
wire_ip()
config_parse()
vrrp_frame()
control_request()
sync_datagram()
