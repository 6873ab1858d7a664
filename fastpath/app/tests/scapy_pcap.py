#!/usr/bin/python3
"""The scapy side of the `fastpath` binary interop test (tests/scapy_pcap.rs).

scapy is the independent ESP implementation on the far side of the gateway. The Rust test
describes the SAs (CASES.json); this script

  gen   CASES.json DIR           writes DIR/in0.pcap (plaintext frames for the protected port),
                                 DIR/in1.pcap (ESP frames scapy encrypted, for the unprotected
                                 port) and DIR/expect.json (what each should become);
  check CASES.json DIR OUT.json  reads DIR/out1.pcap (the gateway's ESP: scapy decrypts every
                                 frame and compares it with the plaintext it came from) and
                                 DIR/out0.pcap (the gateway's plaintext: each must be one that
                                 scapy encrypted, exactly once), and writes the errors found.

Sequence numbers identify packets: the gateway's k-th ESP frame of an SA (seq k) comes from
the k-th plaintext frame that SA's policy selected.
"""
import json
import os
import random
import struct
import sys

from scapy.layers import ipsec
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.packet import Raw

# The ESN patch for scapy's HMAC transforms, shared with the ESP core's interop test.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "esp", "tests"))
import scapy_esn  # noqa: E402

# The gateway's own port MACs do not matter (its ports are promiscuous).
SENDER_MAC = "02:00:00:00:00:aa"
GATEWAY_MAC = "02:00:00:00:00:bb"




def ip_of(addr):
    return IPv6 if ":" in addr else IP


def make_sa(c, spi, inbound):
    """scapy's SA for one of the gateway's: for the gateway's inbound SA scapy is the sender,
    so its tunnel header goes from the gateway's remote address to its local one."""
    tunnel = None
    if c["tunnel"]:
        local, remote = c["tunnel"]
        src, dst = (remote, local) if inbound else (local, remote)
        tunnel = ip_of(src)(src=src, dst=dst)
    natt = None
    if c["natt"]:
        local, remote = c["natt"]
        sport, dport = (remote, local) if inbound else (local, remote)
        natt = UDP(sport=sport, dport=dport, chksum=0)
    return SecurityAssociation(
        ESP,
        spi=spi,
        crypt_algo=c["crypt_algo"],
        crypt_key=bytes.fromhex(c["crypt_key"]),
        auth_algo=c["auth_algo"],
        auth_key=bytes.fromhex(c["auth_key"]) if c["auth_key"] else None,
        tunnel_header=tunnel,
        nat_t_header=natt,
        esn_en=c["esn"],
    )


def plaintext(flow, size, rng):
    """An IPv4 or IPv6 UDP packet of the flow with `size` random payload bytes."""
    l3 = ip_of(flow["src"])(src=flow["src"], dst=flow["dst"])
    return bytes(l3 / UDP(sport=flow["sport"], dport=flow["dport"]) / Raw(rng.randbytes(size)))


def ethertype(ip_bytes):
    return 0x86DD if ip_bytes[0] >> 4 == 6 else 0x0800


def mac_bytes(mac):
    return bytes.fromhex(mac.replace(":", ""))


def write_pcap(path, frames):
    """An Ethernet pcap of IP packets (scapy's own writer is slow: this is the hot part)."""
    head = mac_bytes(GATEWAY_MAC) + mac_bytes(SENDER_MAC)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ip_bytes in frames:
            b = head + struct.pack("!H", ethertype(ip_bytes)) + ip_bytes
            f.write(struct.pack("<IIII", 0, 0, len(b), len(b)) + b)


def read_frames(path):
    """The frames of a pcap as (destination MAC, EtherType, what follows)."""
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return []
    magic = struct.unpack("<I", data[:4])[0] if len(data) >= 24 else 0
    endian = {0xA1B2C3D4: "<", 0xD4C3B2A1: ">", 0xA1B23C4D: "<", 0x4D3CB2A1: ">"}.get(magic)
    if endian is None:
        raise ValueError(f"{path}: not a pcap file")
    frames, at = [], 24
    while at + 16 <= len(data):
        caplen = struct.unpack(endian + "I", data[at + 8: at + 12])[0]
        b = data[at + 16: at + 16 + caplen]
        at += 16 + caplen
        frames.append((":".join(f"{x:02x}" for x in b[:6]), struct.unpack("!H", b[12:14])[0], b[14:]))
    return frames


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s ^ 0xFFFF


def fix_udp6_checksum(pkt):
    """scapy writes a zero UDP checksum into NAT-T headers; over IPv6 it must be filled in."""
    if pkt.version == 6 and UDP in pkt:
        pkt[UDP].chksum = None
    return pkt


def gen(doc, d):
    cases = doc["cases"]
    queues_out, queues_in, expect = [], [], []
    for i, c in enumerate(cases):
        rng = random.Random(1000 + i)
        outs = [plaintext(c["out"], n, rng) for n in c["out"]["sizes"]] if c["out"] else []
        ins = [plaintext(c["in"], n, rng) for n in c["in"]["sizes"]]
        sa = make_sa(c, c["in_spi"], inbound=True)
        wire = []
        for p, seq in zip(ins, c["in"]["seqs"]):
            lo, hi = seq & 0xFFFFFFFF, seq >> 32
            scapy_esn.use(c["esn"], hi)
            # scapy takes a sequence number (or ESN high half) of 0 for "its own": set both.
            sa.seq_num, sa.esn = lo, hi
            e = sa.encrypt(ip_of(c["in"]["src"])(p), seq_num=lo, esn_en=c["esn"], esn=hi)
            wire.append(bytes(fix_udp6_checksum(e)))
        if c.get("negative"):
            # All but the last, then a copy of the last with one ciphertext bit flipped (ICV
            # failure: it must not move the window), the real last one, then the second again.
            bad = bytearray(wire[-1])
            bad[len(bad) - 20] ^= 0x10
            wire = wire[:-1] + [bytes(bad), wire[-1], wire[1]]
        queues_out.append(outs)
        queues_in.append(wire)
        expect.append({"out": [p.hex() for p in outs], "in": [p.hex() for p in ins]})
    # Interleave the SAs, so that every burst mixes transforms and modes.
    for name, queues in (("in0.pcap", queues_out), ("in1.pcap", queues_in)):
        frames = []
        for k in range(max((len(q) for q in queues), default=0)):
            frames.extend(q[k] for q in queues if k < len(q))
        write_pcap(f"{d}/{name}", frames)
    json.dump(expect, open(f"{d}/expect.json", "w"))


def esp_offset(raw):
    """(IP header length, offset of ESP, UDP-encapsulated?) of an outer packet, or None."""
    if raw[0] >> 4 == 4:
        hl, proto = (raw[0] & 15) * 4, raw[9]
    else:
        hl, proto = 40, raw[6]
    if proto == 50:
        return hl, hl, False
    if proto == 17:
        return hl, hl + 8, True
    return None


def comparable(raw, tunnel):
    """The inner packet's bytes, with the TTL / hop limit and IPv4 checksum zeroed in tunnel
    mode (where the gateway forwards the packet and decrements its TTL)."""
    b = bytearray(raw)
    if tunnel:
        if b[0] >> 4 == 4:
            b[8] = 0
            b[10:12] = b"\0\0"
        else:
            b[7] = 0
    return bytes(b)


def check_outbound(c, want, frames, mac):
    """The gateway's ESP frames of one SA: framing, outer headers, then scapy decrypts."""
    errors = []
    if len(frames) != len(want):
        errors.append(f"{len(frames)} ESP frames out, want {len(want)}")
    sa = make_sa(c, c["out_spi"], inbound=False)
    scapy_esn.use(c["esn"], 0)
    seen = set()
    for dst_mac, ether_type, raw in frames:
        hl, at, udp = esp_offset(raw)
        spi, seq = struct.unpack("!LL", raw[at: at + 8])
        tag = f"seq {seq}"
        if dst_mac != mac:
            errors.append(f"{tag}: Ethernet dst {dst_mac}, want the peer-mac {mac}")
        if ether_type != ethertype(raw):
            errors.append(f"{tag}: EtherType {ether_type:#x} for IPv{raw[0] >> 4}")
        if seq in seen or not 1 <= seq <= len(want):
            errors.append(f"{tag}: unexpected sequence number (want each of 1..{len(want)} once)")
            continue
        seen.add(seq)
        plain = bytes.fromhex(want[seq - 1])
        v4 = raw[0] >> 4 == 4
        src, dst = (raw[12:16], raw[16:20]) if v4 else (raw[8:24], raw[24:40])
        if c["tunnel"]:
            outer = IP(raw[:hl]) if v4 else IPv6(raw[:40])
            if (outer.src, outer.dst) != tuple(c["tunnel"]):
                errors.append(f"{tag}: outer {outer.src} -> {outer.dst}, want the tunnel {c['tunnel']}")
        else:
            psrc, pdst = (plain[12:16], plain[16:20]) if v4 else (plain[8:24], plain[24:40])
            if (src, dst) != (psrc, pdst):
                errors.append(f"{tag}: transport-mode addresses differ from the plaintext's")
        if v4 and checksum(raw[:hl]) != 0:
            errors.append(f"{tag}: bad outer IPv4 header checksum")
        if bool(c["natt"]) != udp:
            errors.append(f"{tag}: UDP encapsulation {udp}, want {bool(c['natt'])}")
        if udp:
            sport, dport, ulen, ucsum = struct.unpack("!HHHH", raw[hl: hl + 8])
            if [sport, dport] != c["natt"]:
                errors.append(f"{tag}: NAT-T ports {sport}:{dport}, want {c['natt']}")
            if ulen != len(raw) - hl:
                errors.append(f"{tag}: UDP length {ulen}, want {len(raw) - hl}")
            if not v4:
                pseudo = src + dst + struct.pack("!LxxxB", ulen, 17)
                if ucsum == 0 or checksum(pseudo + raw[hl:]) != 0:
                    errors.append(f"{tag}: bad IPv6 UDP checksum {ucsum:#x}")
            elif ucsum != 0 and checksum(src + dst + struct.pack("!xBH", 17, ulen) + raw[hl:]) != 0:
                errors.append(f"{tag}: bad IPv4 UDP checksum {ucsum:#x}")
        # Hand scapy the ESP packet as an RFC 3948 receiver sees it once the UDP header is
        # gone (scapy 2.5 mishandles IPv6 transport-mode NAT-T otherwise).
        esp = ESP(raw[at:])
        if v4:
            outer = IP(raw[:hl])
            outer.remove_payload()
            outer.proto, outer.len, outer.chksum = 50, None, None
            outer = IP(bytes(outer / esp))
        else:
            outer = IPv6(raw[:40])
            outer.remove_payload()
            outer.nh, outer.plen = 50, None
            outer = IPv6(bytes(outer / esp))
        try:
            inner = bytes(sa.decrypt(outer))
        except Exception as e:  # an ICV or padding error is the finding
            errors.append(f"{tag}: scapy could not decrypt: {e!r}")
            continue
        tunnel = bool(c["tunnel"])
        if comparable(inner, tunnel) != comparable(plain, tunnel):
            errors.append(f"{tag}: decrypted {inner.hex()[:96]}... != sent {plain.hex()[:96]}...")
        elif tunnel:
            ttl_at = 8 if inner[0] >> 4 == 4 else 7
            if inner[ttl_at] != plain[ttl_at] - 1:
                errors.append(f"{tag}: inner TTL {inner[ttl_at]}, want {plain[ttl_at] - 1}")
            if inner[0] >> 4 == 4 and checksum(inner[: (inner[0] & 15) * 4]) != 0:
                errors.append(f"{tag}: bad inner IPv4 header checksum after the TTL decrement")
    return errors


def check(doc, d, out_path):
    cases = doc["cases"]
    mac_out, mac_in = doc["unprotected_peer_mac"], doc["protected_peer_mac"]
    expect = json.load(open(f"{d}/expect.json"))
    errors = {c["name"]: [] for c in cases}
    general = []
    by_spi = {c["out_spi"]: i for i, c in enumerate(cases) if c["out"]}
    esp_frames = {i: [] for i in by_spi.values()}
    for f in read_frames(f"{d}/out1.pcap"):
        raw = f[2]
        o = esp_offset(raw)
        spi = struct.unpack("!L", raw[o[1]: o[1] + 4])[0] if o and len(raw) >= o[1] + 8 else None
        if spi in by_spi:
            esp_frames[by_spi[spi]].append(f)
        else:
            general.append(f"unprotected port sent a frame of no outbound SA: {raw.hex()[:96]}")
    for i, fs in esp_frames.items():
        errors[cases[i]["name"]] += check_outbound(cases[i], expect[i]["out"], fs, mac_out)

    # The plaintext scapy encrypted must come out of the protected port, each exactly once.
    wanted = {}
    for i, e in enumerate(expect):
        for k, p in enumerate(e["in"]):
            wanted[bytes.fromhex(p)] = (i, k)
    got = {}
    for dst_mac, ether_type, raw in read_frames(f"{d}/out0.pcap"):
        if raw not in wanted:
            general.append(f"protected port sent a frame scapy did not encrypt: {raw.hex()[:96]}")
            continue
        i, k = wanted[raw]
        got[raw] = got.get(raw, 0) + 1
        if dst_mac != mac_in:
            errors[cases[i]["name"]].append(f"packet {k}: Ethernet dst {dst_mac}, want {mac_in}")
        if ether_type != ethertype(raw):
            errors[cases[i]["name"]].append(f"packet {k}: EtherType {ether_type:#x}")
    for raw, (i, k) in wanted.items():
        n = got.get(raw, 0)
        if n != 1:
            errors[cases[i]["name"]].append(f"scapy's packet {k} came out decrypted {n} times")
    json.dump({"cases": errors, "general": general}, open(out_path, "w"))


def main():
    scapy_esn.install()
    doc = json.load(open(sys.argv[2]))
    if sys.argv[1] == "gen":
        gen(doc, sys.argv[3])
    else:
        check(doc, sys.argv[3], sys.argv[4])


if __name__ == "__main__":
    main()
