#!/usr/bin/python3
"""Sends malformed VRRP adverts on an interface (scapy as an independent implementation).
Each would make the receiver's instance a backup if it were accepted: priority 254 for
VRID 51 with the right addresses. Usage: vrrp_bad_adverts.py IFACE SRC VIP
Prints the counter each frame must land in, one per line."""
import sys
from scapy.all import Ether, IP, IPv6, Raw, sendp
from scapy.layers.vrrp import VRRPv3

iface, src, vip = sys.argv[1:4]
mac = "02:00:00:00:00:99"
eth = Ether(src=mac, dst="01:00:5e:00:00:12")


def ip(ttl=255):
    return IP(src=src, dst="224.0.0.18", ttl=ttl, proto=112, tos=0xC0)


good = VRRPv3(vrid=51, priority=254, adv=10, addrlist=[vip])
built = bytes(ip() / good)  # scapy fills in the checksum with the pseudo-header
vrrp_bytes = built[20:]

cases = [
    ("ttl", eth / ip(ttl=254) / good),
    ("bad_checksum", eth / ip() / Raw(vrrp_bytes[:6] + bytes([vrrp_bytes[6] ^ 0xFF]) + vrrp_bytes[7:])),
    ("bad_version", eth / ip() / Raw(bytes([0x41]) + vrrp_bytes[1:])),
    ("bad_type", eth / ip() / Raw(bytes([0x32]) + vrrp_bytes[1:])),
    ("truncated", eth / ip() / Raw(vrrp_bytes[:5])),
    ("length", eth / ip() / Raw(vrrp_bytes[:3] + bytes([2]) + vrrp_bytes[4:])),
    ("address_count", eth / ip() / Raw(vrrp_bytes[:3] + bytes([0]) + vrrp_bytes[4:8])),
]
for counter, frame in cases:
    sendp(frame, iface=iface, verbose=False)
    print(counter)
