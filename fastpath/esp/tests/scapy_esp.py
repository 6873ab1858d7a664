#!/usr/bin/python3
"""The scapy side of the ESP interop test (scapy is an independent ESP implementation).

Reads the cases the Rust test wrote: for each SA, the ESP packets our core produced (with
the plaintext they came from) and plaintexts for scapy to encrypt. Decrypts and verifies ours,
encrypts its own, and writes the results for the Rust side to decrypt.

Usage: scapy_esp.py CASES.json RESULTS.json
"""
import json
import struct
import sys

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers import ipsec
from scapy.layers.ipsec import ESP, SecurityAssociation


def esn_aware_hmac():
    """scapy 2.5 leaves the ESN high half out of the ESP ICV of non-AEAD transforms, which
    RFC 4303 §2.8 / RFC 4304 put at the end of the MAC input. Add it, for ESP only."""
    sign, verify = ipsec.AuthAlgo.sign, ipsec.AuthAlgo.verify

    def sign_esn(self, pkt, key, esn_en=False, esn=0):
        esn_en, esn = CURRENT_ESN
        if not (self.mac and esn_en and pkt.haslayer(ESP)):
            return sign(self, pkt, key, esn_en, esn)
        mac = self.new_mac(key)
        mac.update(bytes(pkt[ESP]) + struct.pack("!L", esn))
        pkt[ESP].data += mac.finalize()[: self.icv_size]
        return pkt

    def verify_esn(self, pkt, key, esn_en=False, esn=0):
        esn_en, esn = CURRENT_ESN
        if not (self.mac and self.icv_size and esn_en and isinstance(pkt, ESP)):
            return verify(self, pkt, key, esn_en, esn)
        icv = pkt.data[len(pkt.data) - self.icv_size:]
        clone = pkt.copy()
        clone.data = clone.data[: len(clone.data) - self.icv_size]
        mac = self.new_mac(key)
        mac.update(bytes(clone) + struct.pack("!L", esn))
        if mac.finalize()[: self.icv_size] != icv:
            raise ipsec.IPSecIntegrityError("ICV mismatch (ESN)")

    ipsec.AuthAlgo.sign = sign_esn
    ipsec.AuthAlgo.verify = verify_esn


CURRENT_ESN = (False, 0)


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
    global CURRENT_ESN
    errors = []
    for i, p in enumerate(c["ours"]):
        seq = p["seq"]
        CURRENT_ESN = (c["esn"], seq >> 32)
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
    global CURRENT_ESN
    out = []
    for p in c["theirs"]:
        seq = p["seq"]
        CURRENT_ESN = (c["esn"], seq >> 32)
        pkt = parse_ip(bytes.fromhex(p["plain"]))
        esp = sa.encrypt(pkt, seq_num=seq & 0xFFFFFFFF, esn_en=c["esn"], esn=seq >> 32)
        out.append(bytes(esp).hex())
    return out


def main():
    esn_aware_hmac()
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
