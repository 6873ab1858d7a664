//! The pieces together, as two peers would use them: proposal, key exchange, IKE SA
//! keys, SK protection, PSK AUTH, and Child SA keys, with both sides agreeing.

use super::auth::{psk_auth, signed_octets, verify_psk_auth};
use super::dh::KeyExchange;
use super::keys::{derive_child_keys, derive_ike_keys};
use super::prf::Prf;
use super::proposal::{select, KeMode, OfferedProposal, Policy};
use super::sk::sk_ciphers;
use super::transform::*;

#[test]
fn initiator_and_responder_agree() {
    // IKE_SA_INIT: the responder picks a suite, both sides run the key exchange.
    let offered = OfferedProposal {
        number: 1,
        protocol: PROTO_IKE,
        spi: vec![],
        transforms: vec![
            (TRANSFORM_ENCR, ENCR_AES_GCM_16, Some(256)).into(),
            (TRANSFORM_PRF, PRF_HMAC_SHA2_384, None).into(),
            (TRANSFORM_DH, CURVE25519, None).into(),
        ],
    };
    let policy = Policy {
        protocol: PROTO_IKE,
        encr: vec![(ENCR_AES_GCM_16, 256)],
        prf: vec![PRF_HMAC_SHA2_384],
        dh: vec![CURVE25519],
        ..Policy::default()
    };
    let suite = select(&[offered], &[policy], KeMode::Payload(CURVE25519))
        .unwrap()
        .suite;
    let (kx_i, kx_r) = (
        KeyExchange::generate(CURVE25519).unwrap(),
        KeyExchange::generate(CURVE25519).unwrap(),
    );
    let (ni, nr) = ([0x11u8; 32], [0x22u8; 32]);
    let (spi_i, spi_r) = ([1u8; 8], [2u8; 8]);
    let g_ir_i = kx_i.compute_shared(kx_r.public_value()).unwrap();
    let g_ir_r = kx_r.compute_shared(kx_i.public_value()).unwrap();
    let keys_i = derive_ike_keys(&suite, &ni, &nr, &g_ir_i, spi_i, spi_r).unwrap();
    let keys_r = derive_ike_keys(&suite, &ni, &nr, &g_ir_r, spi_i, spi_r).unwrap();
    assert_eq!(*keys_i.sk_d, *keys_r.sk_d);
    assert_eq!(keys_i.sk_d.len(), 48);
    assert_eq!(keys_i.sk_ei.len(), 36);

    // IKE_AUTH request: AUTH from the initiator, checked by the responder.
    let msg1 = b"the initiator's IKE_SA_INIT request".as_slice();
    let idi = [2u8, 0, 0, 0, b'i'];
    let auth = psk_auth(Prf::HmacSha384, b"psk", msg1, &nr, &keys_i.sk_pi, &idi).unwrap();
    let octets = signed_octets(Prf::HmacSha384, msg1, &nr, &keys_r.sk_pi, &idi).unwrap();
    verify_psk_auth(Prf::HmacSha384, b"psk", &octets, &auth).unwrap();

    // ... sealed by the initiator, opened by the responder.
    let (out_i, _) = sk_ciphers(&suite, &keys_i, true).unwrap();
    let (_, in_r) = sk_ciphers(&suite, &keys_r, false).unwrap();
    let header = [0xabu8; 32];
    let body = out_i.seal(0, &header, &auth).unwrap();
    assert_eq!(in_r.open(&header, &body).unwrap(), auth);

    // The Child SA of IKE_AUTH: both sides cut the same KEYMAT.
    let esp = Suite {
        encr: ENCR_AES_GCM_16,
        encr_key_bits: 128,
        integ: None,
        prf: None,
        dh: None,
        esn: Some(true),
    };
    let c_i = derive_child_keys(Prf::HmacSha384, &keys_i.sk_d, None, &ni, &nr, &esp).unwrap();
    let c_r = derive_child_keys(Prf::HmacSha384, &keys_r.sk_d, None, &ni, &nr, &esp).unwrap();
    assert_eq!(*c_i.encr_i, *c_r.encr_i);
    assert_eq!(*c_i.encr_r, *c_r.encr_r);
    assert_ne!(*c_i.encr_i, *c_i.encr_r);
}
