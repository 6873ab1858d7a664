#!/usr/bin/env python3
"""Turns the charon logs of capture.sh into strongswan.txt, the IKEv1 key derivation vectors.

    extract.py PSK CASE-A.log CASE-B.log [CASE-A.log CASE-B.log ...]

A is the initiator, B the responder. From each log: the messages the daemon received (net 3
dumps: A's log holds B's messages, B's log A's), and what keymat_v1.c prints (ike/chd 4 and
3): the D-H secret, SKEYID*, Ka, IVs, HASH_I/R, the Quick Mode hashes, the KEYMAT seeds and
the keys cut from KEYMAT. The values charon does not print (KEYMAT as one string) are
computed here with hashlib/hmac from what it prints, and marked so.
"""
import hashlib
import hmac
import re
import sys

LABEL = re.compile(r"^(\d+)\[(\w+)\] (.*) => (\d+) bytes @ ")
ROW = re.compile(r"^(\d+)\[(\w+)\]\s+(\d+): ((?:[0-9A-F]{2} ){0,15}[0-9A-F]{2})")


def dumps(path):
    """(label, bytes) of every hex dump, in log order (threads interleave: keyed by thread)."""
    out, open_dumps = [], {}
    for line in open(path, errors="replace"):
        m = LABEL.match(line)
        if m:
            entry = [m.group(3), bytearray(), int(m.group(4))]
            out.append(entry)
            open_dumps[m.group(1)] = entry
            continue
        m = ROW.match(line)
        if m and m.group(1) in open_dumps:
            open_dumps[m.group(1)][1] += bytes.fromhex(m.group(4).replace(" ", ""))
    for label, data, n in out:
        assert len(data) == n, (path, label, len(data), n)
    return [(label, bytes(data)) for label, data, _ in out]


def first(entries, label):
    for lab, data in entries:
        if lab == label:
            return data
    return None


def packets(entries, exchange):
    """Distinct received messages of one exchange type, in order."""
    seen = []
    for lab, data in entries:
        # On port 4500 (NAT-T floats there after Main Mode 4) the non-ESP marker comes first.
        if data[:4] == bytes(4):
            data = data[4:]
        if lab == "received packet" and len(data) >= 28 and data[18] == exchange:
            if data not in seen:
                seen.append(data)
    return seen


def case(name, log_a, log_b, psk):
    a, b = dumps(log_a), dumps(log_b)
    from_a, from_b = packets(b, 2), packets(a, 2)
    qm_a, qm_b = packets(b, 32), packets(a, 32)
    lines = [f"[{name}]"]
    put = lambda k, v: lines.append(f"{k} = {v.hex() if isinstance(v, bytes) else v}")
    if psk is not None:
        put("psk", psk)
    for i, (x, y) in enumerate(zip(from_a, from_b)):
        put(f"mm{2 * i + 1}", x)
        put(f"mm{2 * i + 2}", y)
    if qm_a and qm_b:
        put("qm1", qm_a[0])
        put("qm2", qm_b[0])
        if len(qm_a) > 1:
            put("qm3", qm_a[1])
    for key, label in [
        ("g_xy", "shared Diffie Hellman secret"),
        ("skeyid", "SKEYID"),
        ("skeyid_d", "SKEYID_d"),
        ("skeyid_a", "SKEYID_a"),
        ("skeyid_e", "SKEYID_e"),
        ("enc_key", "encryption key Ka"),
        ("initial_iv", "initial IV"),
        ("hash_i", "HASH_I"),
        ("hash_r", "HASH_R"),
        ("qm_hash1", "Hash(1)"),
        ("qm_hash2", "Hash(2)"),
        ("qm_hash3", "Hash(3)"),
        ("qm_g_xy", "DH secret"),
        ("initiator_sa_seed", "initiator SA seed"),
        ("encr_i", "encryption initiator key"),
        ("integ_i", "integrity initiator key"),
        ("encr_r", "encryption responder key"),
        ("integ_r", "integrity responder key"),
    ]:
        v = first(a, label)
        if v is not None:
            put(key, v)
    if qm_a:
        mid = int.from_bytes(qm_a[0][20:24], "big")
        put("qm_mid", f"{mid}")
        put("qm1_iv", first(a, f"next IV for MID {mid}"))
    # KEYMAT of the initiator's outbound SA as one string (charon prints its two cuts):
    # KEYMAT = K1 | K2 | ..., K1 = prf(SKEYID_d, seed), Kn = prf(SKEYID_d, Kn-1 | seed).
    digest = {20: hashlib.sha1, 32: hashlib.sha256}[len(first(a, "SKEYID_d"))]
    skeyid_d, seed = first(a, "SKEYID_d"), first(a, "initiator SA seed")
    want = len(first(a, "encryption initiator key")) + len(first(a, "integrity initiator key"))
    km, block = b"", b""
    while len(km) < want:
        block = hmac.new(skeyid_d, block + seed, digest).digest()
        km += block
    lines.append("# computed by extract.py (hmac), not printed by charon; equals encr_i | integ_i:")
    put("keymat_i", km[:want])
    assert km[:want] == first(a, "encryption initiator key") + first(a, "integrity initiator key")
    return lines


def main():
    psk = sys.argv[1].encode()
    logs = sys.argv[2:]
    print("# IKEv1 key material of real negotiations between two strongSwan 5.9.8 daemons,")
    print("# written by capture.sh and extract.py (hex unless said). mm1..mm6 and qm1..qm3 are")
    print("# the ISAKMP messages as sent; the rest is what charon logged at ike/chd 4 (qm_mid in")
    print("# decimal); capture.sh has the configuration.")
    for i in range(0, len(logs), 2):
        name = logs[i].rsplit("/", 1)[-1].split("-")[0]
        print()
        print("\n".join(case(name, logs[i], logs[i + 1], psk if name == "psk" else None)))


main()
