"""ESN for scapy's non-AEAD ESP transforms, shared by the scapy interop scripts.

scapy 2.5 leaves the ESN high half out of the ESP ICV of non-AEAD transforms (HMAC), which
RFC 4303 §2.8 / RFC 4304 put at the end of the MAC input. `install()` patches scapy's
AuthAlgo so that, for ESP only, the high half given by `use(esn_en, hi)` is appended; scapy's
own signatures do not pass the ESN to sign/verify, hence the module-level state.
"""
import struct

from scapy.layers import ipsec
from scapy.layers.ipsec import ESP

_current = (False, 0)


def use(esn_en, hi):
    """Sets whether ESN is on and the high half for the next sign/verify."""
    global _current
    _current = (bool(esn_en), hi)


def install():
    sign, verify = ipsec.AuthAlgo.sign, ipsec.AuthAlgo.verify

    def sign_esn(self, pkt, key, esn_en=False, esn=0):
        esn_en, hi = _current
        if not (self.mac and esn_en and pkt.haslayer(ESP)):
            return sign(self, pkt, key, esn_en, esn)
        mac = self.new_mac(key)
        mac.update(bytes(pkt[ESP]) + struct.pack("!L", hi))
        pkt[ESP].data += mac.finalize()[: self.icv_size]
        return pkt

    def verify_esn(self, pkt, key, esn_en=False, esn=0):
        esn_en, hi = _current
        if not (self.mac and self.icv_size and esn_en and isinstance(pkt, ESP)):
            return verify(self, pkt, key, esn_en, esn)
        icv = pkt.data[len(pkt.data) - self.icv_size:]
        clone = pkt.copy()
        clone.data = clone.data[: len(clone.data) - self.icv_size]
        mac = self.new_mac(key)
        mac.update(bytes(clone) + struct.pack("!L", hi))
        if mac.finalize()[: self.icv_size] != icv:
            raise ipsec.IPSecIntegrityError("ICV mismatch (ESN)")

    ipsec.AuthAlgo.sign = sign_esn
    ipsec.AuthAlgo.verify = verify_esn
