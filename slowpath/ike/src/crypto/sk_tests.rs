//! SK payload tests: round trips, tampering, wrong keys, bad padding, and an
//! independent recomputation with OpenSSL's plain cipher and HMAC APIs.

use super::*;
use crate::crypto::transform::*;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm;

fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand_bytes(&mut v).unwrap();
    v
}

fn suites() -> Vec<Suite> {
    let mut out = Vec::new();
    for bits in [128, 192, 256] {
        out.push(Suite {
            encr: ENCR_AES_GCM_16,
            encr_key_bits: bits,
            integ: None,
            prf: None,
            dh: None,
            esn: None,
        });
        for integ in [
            AUTH_HMAC_SHA1_96,
            AUTH_HMAC_SHA2_256_128,
            AUTH_HMAC_SHA2_384_192,
            AUTH_HMAC_SHA2_512_256,
        ] {
            out.push(Suite {
                encr: ENCR_AES_CBC,
                encr_key_bits: bits,
                integ: Some(integ),
                prf: None,
                dh: None,
                esn: None,
            });
        }
    }
    out
}

/// Random SK_e and SK_a of the right sizes for `suite`.
fn keys_for(suite: &Suite) -> (Vec<u8>, Vec<u8>) {
    let e = suite.encr_info().unwrap().keymat_len();
    let a = suite.integ_info().unwrap().map_or(0, |i| i.key_len);
    (random(e), random(a))
}

fn cipher(suite: &Suite) -> (SkCipher, Vec<u8>, Vec<u8>) {
    let (e, a) = keys_for(suite);
    (SkCipher::from_suite(suite, &e, &a).unwrap(), e, a)
}

/// A stand-in for IKE header (28 bytes) + SK generic payload header (4 bytes).
fn prefix() -> Vec<u8> {
    (0..32u8).map(|i| i.wrapping_mul(37)).collect()
}

#[test]
fn round_trip_every_suite_and_length() {
    let prefix = prefix();
    for suite in suites() {
        let (c, _, _) = cipher(&suite);
        for len in 0..=100usize {
            let pt: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let body = c.seal(len as u64, &prefix, &pt).unwrap();
            assert_eq!(body.len(), c.sealed_len(len), "{suite:?} {len}");
            let ct_len = body.len() - c.iv_len() - c.icv_len();
            assert_eq!(ct_len % suite.encr_info().unwrap().block_size, 0);
            assert_eq!(c.open(&prefix, &body).unwrap(), pt, "{suite:?} {len}");
        }
    }
}

#[test]
fn tampering_with_any_byte_fails() {
    let prefix = prefix();
    let pt = b"inner payloads: IDi, AUTH, SAi2, TSi, TSr".to_vec();
    for suite in suites() {
        let (c, _, _) = cipher(&suite);
        let body = c.seal(7, &prefix, &pt).unwrap();
        for i in 0..prefix.len() {
            let mut p = prefix.clone();
            p[i] ^= 0x01;
            assert!(c.open(&p, &body).is_err(), "{suite:?} prefix byte {i}");
        }
        for i in 0..body.len() {
            let mut b = body.clone();
            b[i] ^= 0x80;
            assert!(c.open(&prefix, &b).is_err(), "{suite:?} body byte {i}");
        }
    }
}

#[test]
fn short_or_long_bodies_fail_without_panicking() {
    let prefix = prefix();
    for suite in suites() {
        let (c, _, _) = cipher(&suite);
        let body = c.seal(1, &prefix, b"payload").unwrap();
        for n in 0..body.len() {
            assert!(c.open(&prefix, &body[..n]).is_err(), "{suite:?} {n}");
        }
        let mut longer = body.clone();
        longer.push(0);
        assert!(c.open(&prefix, &longer).is_err());
        assert!(c.open(&[], &body).is_err());
    }
}

#[test]
fn wrong_keys_fail() {
    let prefix = prefix();
    for suite in suites() {
        let (c, e, a) = cipher(&suite);
        let body = c.seal(3, &prefix, b"hello").unwrap();
        let (e2, a2) = keys_for(&suite);
        let other = SkCipher::from_suite(&suite, &e2, &a2).unwrap();
        assert!(matches!(
            other.open(&prefix, &body),
            Err(CryptoError::IntegrityCheckFailed)
        ));
        // Right integrity key, wrong encryption key or salt: still refused (CBC by the
        // ICV over the ciphertext, GCM by the tag).
        let mut e3 = e.clone();
        let last = e3.len() - 1;
        e3[last] ^= 1;
        let other = SkCipher::from_suite(&suite, &e3, &a).unwrap();
        if suite.integ.is_none() {
            assert!(other.open(&prefix, &body).is_err());
        } else {
            // The ICV still verifies; decryption gives garbage, not the plaintext.
            assert_ne!(other.open(&prefix, &body).ok(), Some(b"hello".to_vec()));
        }
    }
}

#[test]
fn bad_pad_length_is_refused() {
    let prefix = prefix();
    // GCM: a valid tag over a plaintext whose Pad Length points past its start.
    let suite = suites()[0];
    let (c, e, _) = cipher(&suite);
    let iv = [9u8; 8];
    let nonce = [&e[16..], &iv[..]].concat();
    let mut tag = [0u8; 16];
    let ct = symm::encrypt_aead(
        symm::Cipher::aes_128_gcm(),
        &e[..16],
        Some(&nonce),
        &prefix,
        &[1, 2, 3, 4],
        &mut tag,
    )
    .unwrap();
    let body = [&iv[..], &ct, &tag].concat();
    assert!(matches!(
        c.open(&prefix, &body),
        Err(CryptoError::BadPadding)
    ));

    // CBC: a valid ICV over a block whose Pad Length is 16.
    let suite = suites()[1];
    let (c, e, a) = cipher(&suite);
    let iv = [5u8; 16];
    let mut block = [0u8; 16];
    block[15] = 16;
    let mut crypter = symm::Crypter::new(
        symm::Cipher::aes_128_cbc(),
        symm::Mode::Encrypt,
        &e,
        Some(&iv),
    )
    .unwrap();
    crypter.pad(false);
    let mut ct = vec![0u8; 32];
    let n = crypter.update(&block, &mut ct).unwrap();
    ct.truncate(n);
    let key = PKey::hmac(&a).unwrap();
    let mut signer = Signer::new(MessageDigest::sha1(), &key).unwrap();
    signer.update(&[&prefix[..], &iv, &ct].concat()).unwrap();
    let icv = signer.sign_to_vec().unwrap();
    let body = [&iv[..], &ct, &icv[..12]].concat();
    assert!(matches!(
        c.open(&prefix, &body),
        Err(CryptoError::BadPadding)
    ));
    // Pad Length 15 leaves an empty payload chain, which is fine.
    block[15] = 15;
    let mut crypter = symm::Crypter::new(
        symm::Cipher::aes_128_cbc(),
        symm::Mode::Encrypt,
        &e,
        Some(&iv),
    )
    .unwrap();
    crypter.pad(false);
    let mut ct = vec![0u8; 32];
    let n = crypter.update(&block, &mut ct).unwrap();
    ct.truncate(n);
    let mut signer = Signer::new(MessageDigest::sha1(), &key).unwrap();
    signer.update(&[&prefix[..], &iv, &ct].concat()).unwrap();
    let icv = signer.sign_to_vec().unwrap();
    let body = [&iv[..], &ct, &icv[..12]].concat();
    assert_eq!(c.open(&prefix, &body).unwrap(), Vec::<u8>::new());
}

// The CBC body recomputed with openssl::symm::encrypt and an HMAC Signer.
#[test]
fn cbc_matches_plain_openssl() {
    let suite = Suite {
        encr: ENCR_AES_CBC,
        encr_key_bits: 256,
        integ: Some(AUTH_HMAC_SHA2_256_128),
        prf: None,
        dh: None,
        esn: None,
    };
    let (c, e, a) = cipher(&suite);
    let prefix = prefix();
    let pt: Vec<u8> = (0..37u8).collect();
    let body = c.seal(0, &prefix, &pt).unwrap();
    let (iv, rest) = body.split_at(16);
    let (ct, icv) = rest.split_at(rest.len() - 16);

    // 37 bytes + 10 padding + Pad Length = 48.
    let mut padded = pt.clone();
    padded.extend_from_slice(&[0u8; 10]);
    padded.push(10);
    // symm::encrypt adds a PKCS#7 block after whole blocks; CBC output is prefix-stable.
    let full = symm::encrypt(symm::Cipher::aes_256_cbc(), &e, Some(iv), &padded).unwrap();
    assert_eq!(ct, &full[..48]);

    let key = PKey::hmac(&a).unwrap();
    let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
    signer.update(&prefix).unwrap();
    signer.update(iv).unwrap();
    signer.update(ct).unwrap();
    assert_eq!(icv, &signer.sign_to_vec().unwrap()[..16]);
}

// The GCM body checked with openssl::symm::decrypt_aead: nonce = salt | IV, AAD = prefix.
#[test]
fn gcm_matches_plain_openssl() {
    let suite = Suite {
        encr: ENCR_AES_GCM_16,
        encr_key_bits: 256,
        integ: None,
        prf: None,
        dh: None,
        esn: None,
    };
    let (c, e, _) = cipher(&suite);
    let prefix = prefix();
    let pt = b"IDr | AUTH | SA | TSi | TSr".to_vec();
    let counter = 0x0102_0304_0506_0708u64;
    let body = c.seal(counter, &prefix, &pt).unwrap();
    let (iv, rest) = body.split_at(8);
    let (ct, tag) = rest.split_at(rest.len() - 16);
    assert_eq!(iv, counter.to_be_bytes());
    let nonce = [&e[32..36], iv].concat();
    let plain = symm::decrypt_aead(
        symm::Cipher::aes_256_gcm(),
        &e[..32],
        Some(&nonce),
        &prefix,
        ct,
        tag,
    )
    .unwrap();
    // No alignment for GCM: one Pad Length octet of zero.
    assert_eq!(plain, [&pt[..], &[0]].concat());
}

#[test]
fn roles_pair_up() {
    let suite = suites()[5];
    let (e_i, a_i) = keys_for(&suite);
    let (e_r, a_r) = keys_for(&suite);
    let keys = IkeKeys {
        sk_d: Zeroizing::new(vec![1; 32]),
        sk_ai: Zeroizing::new(a_i),
        sk_ar: Zeroizing::new(a_r),
        sk_ei: Zeroizing::new(e_i),
        sk_er: Zeroizing::new(e_r),
        sk_pi: Zeroizing::new(vec![2; 32]),
        sk_pr: Zeroizing::new(vec![3; 32]),
    };
    let (i_out, i_in) = sk_ciphers(&suite, &keys, true).unwrap();
    let (r_out, r_in) = sk_ciphers(&suite, &keys, false).unwrap();
    let p = prefix();
    assert_eq!(
        r_in.open(&p, &i_out.seal(0, &p, b"req").unwrap()).unwrap(),
        b"req"
    );
    assert_eq!(
        i_in.open(&p, &r_out.seal(0, &p, b"resp").unwrap()).unwrap(),
        b"resp"
    );
    assert!(i_in.open(&p, &i_out.seal(1, &p, b"x").unwrap()).is_err());
}

#[test]
fn key_sizes_are_checked() {
    let gcm = suites()[0];
    assert!(matches!(
        SkCipher::from_suite(&gcm, &[0; 16], &[]),
        Err(CryptoError::BadLength { .. })
    ));
    assert!(SkCipher::from_suite(&gcm, &[0; 20], &[0; 20]).is_err());
    let cbc = suites()[1];
    assert!(SkCipher::from_suite(&cbc, &[0; 16], &[0; 19]).is_err());
    assert!(SkCipher::new(
        ENCR_AES_CBC,
        128,
        Some(AUTH_HMAC_SHA1_96),
        &[0; 16],
        &[0; 20]
    )
    .is_ok());
    assert!(SkCipher::new(ENCR_AES_GCM_16, 128, Some(AUTH_NONE), &[0; 20], &[]).is_ok());
    assert!(SkCipher::new(ENCR_AES_CBC, 128, None, &[0; 16], &[]).is_err());
}

#[test]
fn debug_hides_keys() {
    let c = SkCipher::new(ENCR_AES_GCM_16, 128, None, &[0xab; 20], &[]).unwrap();
    assert_eq!(
        format!("{c:?}"),
        "SkCipher { encr: 20, key_bits: 128, integ: None, .. }"
    );
}
