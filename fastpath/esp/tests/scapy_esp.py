#!/usr/bin/python3
"""The scapy side of the ESP interop test (scapy is an independent ESP implementation).

Reads the cases the Rust test wrote: for each SA, the ESP packets our core produced (with
the plaintext they came from) and plaintexts for scapy to encrypt. Decrypts and verifies ours,
encrypts its own, and writes the results for the Rust side to decrypt.

Usage: scapy_esp.py CASES.json RESULTS.json
"""
import json
import sys

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation

import scapy_esn




def make_sa(c):
    tunnel = None
    if c["tunnel"]:
        src, dst = c["tunnel"]
        tunnel = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
    natt = UDP(sport=c["natt"][0], dport=c["natt"][1], chksum=0) if c["natt"] else None
    return SecurityAssociation(
        ESP,
        spi=c["spi"],
        crypt_algo=c["crypt_algo"],
        crypt_key=bytes.fromhex(c["crypt_key"]),
        auth_algo=c["auth_algo"],
        auth_key=bytes.fromhex(c["auth_key"]) if c["auth_key"] else None,
        tunnel_header=tunnel,
        nat_t_header=natt,
        esn_en=c["esn"],
    )


def parse_ip(raw):
    return IPv6(raw) if raw[0] >> 4 == 6 else IP(raw)


def comparable(pkt, tunnel):
    """The inner packet's bytes, with what a forwarding gateway may change zeroed: in tunnel
    mode the inner TTL / hop limit (decremented on encapsulation) and the IPv4 checksum."""
    b = bytearray(bytes(pkt))
    if tunnel:
        if b[0] >> 4 == 4:
            b[8] = 0
            b[10:12] = b"\0\0"
        else:
            b[7] = 0
    return bytes(b)


def check_ours(sa, c):
    errors = []
    for i, p in enumerate(c["ours"]):
        seq = p["seq"]
        scapy_esn.use(c["esn"], seq >> 32)
        sa.esn = seq >> 32
        outer = parse_ip(bytes.fromhex(p["esp"]))
        if ESP not in outer:
            errors.append(f"packet {i}: scapy sees no ESP layer: {outer.summary()}")
            continue
        if outer[ESP].seq != seq & 0xFFFFFFFF or outer[ESP].spi != c["spi"]:
            errors.append(f"packet {i}: spi/seq {outer[ESP].spi:#x}/{outer[ESP].seq} != {c['spi']:#x}/{seq}")
        if c["natt"] and (UDP not in outer or outer[UDP].dport != c["natt"][1]):
            errors.append(f"packet {i}: not UDP-encapsulated to port {c['natt'][1]}")
        if c["natt"] and not c["tunnel"] and outer.version == 6:
            # scapy 2.5 leaves the UDP header in when it decrypts IPv6 transport-mode NAT-T:
            # hand it the packet without it, as RFC 3948 receivers see it once de-encapsulated.
            esp = outer[ESP]
            outer = IPv6(src=outer.src, dst=outer.dst, hlim=outer.hlim, nh=50) / ESP(bytes(esp))
        try:
            inner = sa.decrypt(outer)
        except Exception as e:  # an ICV or padding error is the finding
            errors.append(f"packet {i}: scapy could not decrypt: {e!r}")
            continue
        want = bytes.fromhex(p["plain"])
        got = comparable(inner, bool(c["tunnel"]))
        if got != comparable(parse_ip(want), bool(c["tunnel"])):
            errors.append(f"packet {i}: decrypted {bytes(inner).hex()[:120]} != {want.hex()[:120]}")
    return errors


def encrypt_theirs(sa, c):
    out = []
    for p in c["theirs"]:
        seq = p["seq"]
        scapy_esn.use(c["esn"], seq >> 32)
        pkt = parse_ip(bytes.fromhex(p["plain"]))
        esp = sa.encrypt(pkt, seq_num=seq & 0xFFFFFFFF, esn_en=c["esn"], esn=seq >> 32)
        out.append(bytes(esp).hex())
    return out


def main():
    scapy_esn.install()
    cases = json.load(open(sys.argv[1]))
    results = []
    for c in cases:
        sa = make_sa(c)
        try:
            errors = check_ours(sa, c)
            theirs = encrypt_theirs(make_sa(c), c)
        except Exception as e:
            errors, theirs = [f"scapy failed: {e!r}"], []
        results.append({"name": c["name"], "errors": errors, "theirs": theirs})
    json.dump(results, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
