//! The RFC 2409 formulas written out by hand with plain concatenations, independently of the
//! part lists above; the cross-check against strongSwan is in `vectors_tests.rs`.

use super::*;

fn p(prf: Prf, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    prf.compute(key, &parts.concat()).unwrap().to_vec()
}

const G_XY: &[u8] = b"shared secret g^xy of some length";
const NI: &[u8] = b"initiator nonce!";
const NR: &[u8] = b"responder nonce.";
const CKY_I: [u8; 8] = *b"cookie-i";
const CKY_R: [u8; 8] = *b"cookie-r";

#[test]
fn skeyid_forms() {
    let prf = Prf::HmacSha256;
    assert_eq!(
        *skeyid_psk(prf, b"secret", NI, NR).unwrap(),
        p(prf, b"secret", &[NI, NR])
    );
    assert_eq!(
        *skeyid_sig(prf, NI, NR, G_XY).unwrap(),
        p(prf, &[NI, NR].concat(), &[G_XY])
    );
}

#[test]
fn phase1_keys_and_expansion() {
    for (prf, enc_len) in [
        (Prf::HmacSha1, 24),
        (Prf::HmacSha1, 32),
        (Prf::HmacSha256, 16),
    ] {
        let skeyid = skeyid_psk(prf, b"psk", NI, NR).unwrap();
        let k = phase1_keys(prf, &skeyid, G_XY, &CKY_I, &CKY_R, enc_len).unwrap();
        let d = p(prf, &skeyid, &[G_XY, &CKY_I, &CKY_R, &[0]]);
        let a = p(prf, &skeyid, &[&d, G_XY, &CKY_I, &CKY_R, &[1]]);
        let e = p(prf, &skeyid, &[&a, G_XY, &CKY_I, &CKY_R, &[2]]);
        assert_eq!((*k.skeyid_d).clone(), d);
        assert_eq!((*k.skeyid_a).clone(), a);
        assert_eq!((*k.skeyid_e).clone(), e);
        let expect = if e.len() >= enc_len {
            e[..enc_len].to_vec()
        } else {
            // Appendix B: K1 = prf(SKEYID_e, 0), K2 = prf(SKEYID_e, K1).
            let k1 = p(prf, &e, &[&[0]]);
            let k2 = p(prf, &e, &[&k1]);
            [k1, k2].concat()[..enc_len].to_vec()
        };
        assert_eq!(*k.enc_key, expect);
        assert!(!format!("{k:?}").contains("skeyid_e"));
    }
}

#[test]
fn phase1_hashes() {
    let prf = Prf::HmacSha1;
    let t = Phase1Transcript {
        g_xi: b"gxi",
        g_xr: b"gxr",
        cky_i: &CKY_I,
        cky_r: &CKY_R,
        sai_b: b"sa body",
    };
    assert_eq!(
        *hash_i(prf, b"skeyid", &t, b"idii").unwrap(),
        p(
            prf,
            b"skeyid",
            &[b"gxi", b"gxr", &CKY_I, &CKY_R, b"sa body", b"idii"]
        )
    );
    assert_eq!(
        *hash_r(prf, b"skeyid", &t, b"idir").unwrap(),
        p(
            prf,
            b"skeyid",
            &[b"gxr", b"gxi", &CKY_R, &CKY_I, b"sa body", b"idir"]
        )
    );
}

#[test]
fn phase2_hashes() {
    let prf = Prf::HmacSha256;
    let mid = 0x0102_0304u32;
    let m = [1u8, 2, 3, 4];
    assert_eq!(
        *quick_mode_hash1(prf, b"a", mid, b"rest").unwrap(),
        p(prf, b"a", &[&m, b"rest"])
    );
    assert_eq!(
        *quick_mode_hash2(prf, b"a", mid, NI, b"rest").unwrap(),
        p(prf, b"a", &[&m, NI, b"rest"])
    );
    assert_eq!(
        *quick_mode_hash3(prf, b"a", mid, NI, NR).unwrap(),
        p(prf, b"a", &[&[0], &m, NI, NR])
    );
    assert_eq!(
        *informational_hash(prf, b"a", mid, b"d").unwrap(),
        p(prf, b"a", &[&m, b"d"])
    );
}

#[test]
fn keymat_with_and_without_pfs() {
    let prf = Prf::HmacSha1;
    let spi = [0xc0, 0x01, 0xca, 0xfe];
    for g_qm in [None, Some(&b"quick mode g^xy"[..])] {
        let seed = [g_qm.unwrap_or_default(), &[3], &spi, NI, NR].concat();
        let k1 = p(prf, b"skeyid_d", &[&seed]);
        let k2 = p(prf, b"skeyid_d", &[&k1, &seed]);
        let k3 = p(prf, b"skeyid_d", &[&k2, &seed]);
        let all = [k1, k2, k3].concat();
        for len in [16, 20, 36, 40, 60] {
            let km = keymat(prf, b"skeyid_d", g_qm, 3, &spi, NI, NR, len).unwrap();
            assert_eq!(*km, all[..len], "pfs {} len {len}", g_qm.is_some());
        }
    }
}

#[test]
fn hash_ids() {
    assert_eq!(prf_for_hash(hash::SHA1).unwrap(), Prf::HmacSha1);
    assert_eq!(prf_for_hash(hash::SHA2_512).unwrap(), Prf::HmacSha512);
    assert!(prf_for_hash(hash::MD5).is_err());
}
