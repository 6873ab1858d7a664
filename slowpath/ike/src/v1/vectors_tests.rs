//! Cross-check against strongSwan: `vectors/strongswan.txt` holds the messages of real
//! Main Mode + Quick Mode negotiations between two charon daemons and the key material
//! charon logged (vectors/capture.sh regenerates it). Everything is recomputed here from the
//! messages alone, through our codec, key derivation and decryption.

use super::crypt::{decrypt, PayloadCipher, Phase1Iv};
use super::keymat::*;
use super::wire::*;
use crate::crypto::prf::Prf;
use std::collections::HashMap;

const VECTORS: &str = include_str!("vectors/strongswan.txt");

/// The `[name]` sections of the vector file, each `key = hex-or-number`.
fn sections() -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current = String::new();
    for line in VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_string();
        } else if let Some((k, v)) = line.split_once(" = ") {
            out.entry(current.clone())
                .or_default()
                .insert(k.to_string(), v.to_string());
        }
    }
    out
}

struct Case(HashMap<String, String>);

impl Case {
    fn hex(&self, key: &str) -> Vec<u8> {
        hex::decode(self.0.get(key).unwrap_or_else(|| panic!("no {key}"))).unwrap()
    }
}

/// A message's header and its payloads, decrypted with `iv` when it is encrypted; returns
/// the next IV of its exchange too.
struct Opened {
    header: Header,
    chain: Vec<u8>,
    next_iv: Vec<u8>,
}

impl Opened {
    fn payloads(&self) -> Vec<Payload> {
        parse_payloads(self.header.next_payload, &self.chain).unwrap()
    }

    fn raw(&self, kind: u8) -> Vec<u8> {
        raw_payloads(self.header.next_payload, &self.chain)
            .unwrap()
            .into_iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, b)| b.to_vec())
            .unwrap_or_else(|| panic!("no payload {kind}"))
    }

    fn after_hash(&self) -> Vec<u8> {
        assert_eq!(self.header.next_payload, payload_type::HASH);
        after_first_payload(self.header.next_payload, &self.chain)
            .unwrap()
            .to_vec()
    }
}

fn open(msg: &[u8], key: &[u8], cipher: PayloadCipher, iv: &[u8]) -> Opened {
    let header = parse_header(msg).unwrap();
    let body = &msg[HEADER_LEN..];
    if !header.is_encrypted() {
        parse_payloads(header.next_payload, body).unwrap();
        return Opened {
            header,
            chain: body.to_vec(),
            next_iv: iv.to_vec(),
        };
    }
    let plain = decrypt(cipher, key, iv, body).unwrap();
    let chain = unpadded(header.next_payload, &plain.data).unwrap().to_vec();
    Opened {
        header,
        chain,
        next_iv: plain.next_iv,
    }
}

fn only_transform(sa: &[u8]) -> Transform {
    let Payload::Sa(sa) = parse_payload(payload_type::SA, sa).unwrap() else {
        unreachable!()
    };
    sa.proposals[0].transforms[0].clone()
}

fn spi_of(sa: &[u8]) -> [u8; 4] {
    let Payload::Sa(sa) = parse_payload(payload_type::SA, sa).unwrap() else {
        unreachable!()
    };
    sa.proposals[0].spi.clone().try_into().unwrap()
}

fn check_case(name: &str, c: &Case) {
    let none = PayloadCipher::Aes128Cbc;
    let (mm1, mm2) = (
        open(&c.hex("mm1"), &[], none, &[]),
        open(&c.hex("mm2"), &[], none, &[]),
    );
    let (mm3, mm4) = (
        open(&c.hex("mm3"), &[], none, &[]),
        open(&c.hex("mm4"), &[], none, &[]),
    );
    // The responder's SA holds the chosen transform.
    let chosen =
        Phase1Transform::from_transform(&only_transform(&mm2.raw(payload_type::SA))).unwrap();
    let prf = prf_for_hash(chosen.hash).unwrap();
    let cipher = PayloadCipher::from_phase1(chosen.encryption, chosen.key_bits).unwrap();
    let (cky_i, cky_r) = (mm2.header.icookie, mm2.header.rcookie);
    assert_eq!(mm1.header.icookie, cky_i);
    let sai_b = mm1.raw(payload_type::SA);
    let (g_xi, g_xr) = (mm3.raw(payload_type::KE), mm4.raw(payload_type::KE));
    let (ni, nr) = (mm3.raw(payload_type::NONCE), mm4.raw(payload_type::NONCE));
    let g_xy = c.hex("g_xy");

    let skeyid = match chosen.auth_method {
        auth_method::PRE_SHARED_KEY => skeyid_psk(prf, &c.hex("psk"), &ni, &nr).unwrap(),
        _ => skeyid_sig(prf, &ni, &nr, &g_xy).unwrap(),
    };
    assert_eq!(*skeyid, c.hex("skeyid"), "{name}: SKEYID");
    let keys = phase1_keys(prf, &skeyid, &g_xy, &cky_i, &cky_r, cipher.key_len()).unwrap();
    assert_eq!(*keys.skeyid_d, c.hex("skeyid_d"), "{name}: SKEYID_d");
    assert_eq!(*keys.skeyid_a, c.hex("skeyid_a"), "{name}: SKEYID_a");
    assert_eq!(*keys.skeyid_e, c.hex("skeyid_e"), "{name}: SKEYID_e");
    assert_eq!(*keys.enc_key, c.hex("enc_key"), "{name}: encryption key");

    // Main Mode 5 and 6: the IV chain from hash(g^xi | g^xr), then HASH_I / HASH_R.
    let mut iv = Phase1Iv::new(prf, &g_xi, &g_xr, cipher).unwrap();
    assert_eq!(iv.current(), c.hex("initial_iv"), "{name}: initial IV");
    let key = &keys.enc_key[..];
    let mm5 = open(&c.hex("mm5"), key, cipher, iv.current());
    iv.advance(mm5.next_iv.clone());
    let mm6 = open(&c.hex("mm6"), key, cipher, iv.current());
    iv.advance(mm6.next_iv.clone());
    let t = Phase1Transcript {
        g_xi: &g_xi,
        g_xr: &g_xr,
        cky_i: &cky_i,
        cky_r: &cky_r,
        sai_b: &sai_b,
    };
    let hash_i = hash_i(prf, &skeyid, &t, &mm5.raw(payload_type::ID)).unwrap();
    let hash_r = hash_r(prf, &skeyid, &t, &mm6.raw(payload_type::ID)).unwrap();
    assert_eq!(*hash_i, c.hex("hash_i"), "{name}: HASH_I");
    assert_eq!(*hash_r, c.hex("hash_r"), "{name}: HASH_R");
    if chosen.auth_method == auth_method::PRE_SHARED_KEY {
        assert!(mm5.payloads().contains(&Payload::Hash(hash_i.to_vec())));
        assert!(mm6.payloads().contains(&Payload::Hash(hash_r.to_vec())));
    }

    // Quick Mode: its IV from the last phase 1 block and the M-ID, then its chain.
    let mid: u32 = c.0["qm_mid"].parse().unwrap();
    let qm_iv = iv.for_exchange(mid).unwrap();
    assert_eq!(qm_iv, c.hex("qm1_iv"), "{name}: Quick Mode IV");
    let qm1 = open(&c.hex("qm1"), key, cipher, &qm_iv);
    let qm2 = open(&c.hex("qm2"), key, cipher, &qm1.next_iv);
    let qm3 = open(&c.hex("qm3"), key, cipher, &qm2.next_iv);
    assert_eq!(qm1.header.message_id, mid);
    let (ni_b, nr_b) = (qm1.raw(payload_type::NONCE), qm2.raw(payload_type::NONCE));
    let skeyid_a = &keys.skeyid_a[..];
    let h1 = quick_mode_hash1(prf, skeyid_a, mid, &qm1.after_hash()).unwrap();
    let h2 = quick_mode_hash2(prf, skeyid_a, mid, &ni_b, &qm2.after_hash()).unwrap();
    let h3 = quick_mode_hash3(prf, skeyid_a, mid, &ni_b, &nr_b).unwrap();
    assert_eq!(*h1, c.hex("qm_hash1"), "{name}: HASH(1)");
    assert_eq!(*h2, c.hex("qm_hash2"), "{name}: HASH(2)");
    assert_eq!(*h3, c.hex("qm_hash3"), "{name}: HASH(3)");
    assert_eq!(qm1.raw(payload_type::HASH), *h1);
    assert_eq!(qm2.raw(payload_type::HASH), *h2);
    assert_eq!(qm3.payloads(), vec![Payload::Hash(h3.to_vec())]);

    // KEYMAT of both SAs: the initiator's outbound SA is keyed with the responder's SPI.
    let p2 = Phase2Transform::from_transform(&only_transform(&qm2.raw(payload_type::SA))).unwrap();
    let g_qm = p2.group.map(|_| c.hex("qm_g_xy"));
    let (spi_i, spi_r) = (
        spi_of(&qm1.raw(payload_type::SA)),
        spi_of(&qm2.raw(payload_type::SA)),
    );
    let (ei, ai) = (c.hex("encr_i"), c.hex("integ_i"));
    let len = ei.len() + ai.len();
    let d = &keys.skeyid_d[..];
    let km_i = keymat(
        prf,
        d,
        g_qm.as_deref(),
        protocol::IPSEC_ESP,
        &spi_r,
        &ni_b,
        &nr_b,
        len,
    );
    let km_r = keymat(
        prf,
        d,
        g_qm.as_deref(),
        protocol::IPSEC_ESP,
        &spi_i,
        &ni_b,
        &nr_b,
        len,
    );
    assert_eq!(
        *km_i.unwrap(),
        [ei, ai].concat(),
        "{name}: initiator KEYMAT"
    );
    assert_eq!(
        *km_r.unwrap(),
        [c.hex("encr_r"), c.hex("integ_r")].concat(),
        "{name}: responder KEYMAT"
    );
    assert_eq!(g_qm.is_some(), name == "sig", "{name}: PFS");
}

#[test]
fn strongswan_main_mode_psk() {
    let s = sections();
    check_case("psk", &Case(s["psk"].clone()));
}

#[test]
fn strongswan_main_mode_signatures_quick_mode_pfs() {
    let s = sections();
    check_case("sig", &Case(s["sig"].clone()));
}

#[test]
fn the_vectors_cover_the_expansion_and_both_prfs() {
    let s = sections();
    // AES-256 keyed from a 20-octet SHA-1 SKEYID_e: appendix B expansion was exercised.
    assert_eq!(hex::decode(&s["psk"]["skeyid_e"]).unwrap().len(), 20);
    assert_eq!(hex::decode(&s["psk"]["enc_key"]).unwrap().len(), 32);
    assert_eq!(
        hex::decode(&s["sig"]["skeyid"]).unwrap().len(),
        Prf::HmacSha256.output_len()
    );
}
