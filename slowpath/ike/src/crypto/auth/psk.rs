//! The octets that AUTH covers, and the shared-key MIC (RFC 7296 2.15).

use crate::crypto::error::{CryptoError, Result};
use crate::crypto::prf::Prf;
use openssl::memcmp;

/// The fixed pad string of RFC 7296 2.15, without a terminating NUL.
const KEY_PAD: &[u8] = b"Key Pad for IKEv2";

/// InitiatorSignedOctets / ResponderSignedOctets = RealMessage | Nonce | MACedIDFor.
///
/// - `real_message`: our own IKE_SA_INIT message as sent (the initiator's first
///   message, or the responder's), from the IKE header to its end.
/// - `peer_nonce`: the other side's Nonce Data (Nr for the initiator's AUTH, Ni for
///   the responder's).
/// - `sk_p`: SK_pi for the initiator's AUTH, SK_pr for the responder's.
/// - `id_payload_body`: the ID payload after its generic header (ID Type, 3 reserved
///   octets, identification data), i.e. IDi' or IDr'.
///
/// To verify the peer, call it with the peer's message, our nonce, the peer's SK_p
/// and the peer's ID.
pub fn signed_octets(
    prf: Prf,
    real_message: &[u8],
    peer_nonce: &[u8],
    sk_p: &[u8],
    id_payload_body: &[u8],
) -> Result<Vec<u8>> {
    let maced_id = prf.compute(sk_p, id_payload_body)?;
    Ok([real_message, peer_nonce, &maced_id].concat())
}

/// AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), SignedOctets).
///
/// For EAP (RFC 7296 2.16), pass the MSK as `psk` (or SK_p when the method makes no MSK).
pub fn psk_auth_for_octets(prf: Prf, psk: &[u8], octets: &[u8]) -> Result<Vec<u8>> {
    let key = prf.compute(psk, KEY_PAD)?;
    Ok(prf.compute(&key, octets)?.to_vec())
}

/// The AUTH data for shared-key authentication, from the parts of the signed octets.
pub fn psk_auth(
    prf: Prf,
    psk: &[u8],
    real_message: &[u8],
    peer_nonce: &[u8],
    sk_p: &[u8],
    id_payload_body: &[u8],
) -> Result<Vec<u8>> {
    let octets = signed_octets(prf, real_message, peer_nonce, sk_p, id_payload_body)?;
    psk_auth_for_octets(prf, psk, &octets)
}

/// Checks a received shared-key AUTH in constant time.
pub fn verify_psk_auth(prf: Prf, psk: &[u8], octets: &[u8], auth_data: &[u8]) -> Result<()> {
    let expect = psk_auth_for_octets(prf, psk, octets)?;
    if expect.len() == auth_data.len() && memcmp::eq(&expect, auth_data) {
        Ok(())
    } else {
        Err(CryptoError::AuthenticationFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed independently with Python's hmac module:
    //   sk_mac = HMAC-SHA256(sk_p, id); octets = msg | nonce | sk_mac
    //   auth = HMAC-SHA256(HMAC-SHA256(psk, b"Key Pad for IKEv2"), octets)
    #[test]
    fn known_answer_sha256() {
        let msg = b"IKE_SA_INIT request bytes";
        let nonce = [0x4eu8; 32];
        let sk_p = [0x11u8; 32];
        let id = [2, 0, 0, 0, b'g', b'w', b'.', b'e', b'x'];
        let octets = signed_octets(Prf::HmacSha256, msg, &nonce, &sk_p, &id).unwrap();
        assert_eq!(octets.len(), msg.len() + 32 + 32);
        assert_eq!(
            hex::encode(&octets[msg.len() + 32..]),
            "db71e5d4902c79060159c81e0786c1065d1cf1e9fcf748e1d6705e70595ab1b3"
        );
        let auth = psk_auth(Prf::HmacSha256, b"secret psk", msg, &nonce, &sk_p, &id).unwrap();
        assert_eq!(
            hex::encode(&auth),
            "8f8921b5873bfcc7e69c2a98b5ce3df42ba376fc622fda44eea9bec086c4fa07"
        );
        assert!(verify_psk_auth(Prf::HmacSha256, b"secret psk", &octets, &auth).is_ok());
    }

    #[test]
    fn verify_refuses_wrong_inputs() {
        let octets = signed_octets(Prf::HmacSha1, b"m", b"n", b"k", b"id").unwrap();
        let auth = psk_auth_for_octets(Prf::HmacSha1, b"psk", &octets).unwrap();
        assert_eq!(auth.len(), 20);
        let fails = |psk: &[u8], o: &[u8], a: &[u8]| {
            matches!(
                verify_psk_auth(Prf::HmacSha1, psk, o, a),
                Err(CryptoError::AuthenticationFailed)
            )
        };
        assert!(fails(b"psK", &octets, &auth));
        let mut o = octets.clone();
        o[0] ^= 1;
        assert!(fails(b"psk", &o, &auth));
        assert!(fails(b"psk", &octets, &auth[..19]));
        assert!(fails(b"psk", &octets, &[]));
        let mut a = auth.clone();
        a[19] ^= 1;
        assert!(fails(b"psk", &octets, &a));
    }
}
