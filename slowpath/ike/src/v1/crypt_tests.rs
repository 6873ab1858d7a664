use super::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

// RFC 3602 case 1: one AES-128-CBC block.
#[test]
fn aes_known_answer() {
    let key = h("06a9214036b8a15b512e03d534120006");
    let iv = h("3dafba429d9eb430b422da802c9fac41");
    let c = encrypt(PayloadCipher::Aes128Cbc, &key, &iv, b"Single block msg").unwrap();
    assert_eq!(*c.data, h("e353779c1079aeb82708942dbe77181a"));
    assert_eq!(c.next_iv, h("e353779c1079aeb82708942dbe77181a"));
    let d = decrypt(PayloadCipher::Aes128Cbc, &key, &iv, &c.data).unwrap();
    assert_eq!(&d.data[..], b"Single block msg");
    assert_eq!(d.next_iv, c.next_iv);
}

#[test]
fn padding_and_chain() {
    for cipher in [
        PayloadCipher::Aes128Cbc,
        PayloadCipher::Aes192Cbc,
        PayloadCipher::Aes256Cbc,
        PayloadCipher::TripleDesCbc,
    ] {
        let key = vec![7u8; cipher.key_len()];
        let b = cipher.block_len();
        let iv0 = vec![1u8; b];
        let m1 = encrypt(cipher, &key, &iv0, &[0xaa; 21]).unwrap();
        assert_eq!(m1.data.len(), 21usize.div_ceil(b) * b);
        // The next message of the exchange starts from the last block of this one.
        let m2 = encrypt(cipher, &key, &m1.next_iv, &[0xbb; 5]).unwrap();
        let d1 = decrypt(cipher, &key, &iv0, &m1.data).unwrap();
        assert_eq!(&d1.data[..21], &[0xaa; 21]);
        assert!(d1.data[21..].iter().all(|&x| x == 0));
        let d2 = decrypt(cipher, &key, &d1.next_iv, &m2.data).unwrap();
        assert_eq!(&d2.data[..5], &[0xbb; 5]);
        // The wrong IV garbles the first block only (CBC), which the HASH check will catch.
        let bad = decrypt(cipher, &key, &iv0, &m2.data).unwrap();
        assert_ne!(&bad.data[..5], &[0xbb; 5]);
        // Not whole blocks, empty, wrong key or IV sizes: errors, not panics.
        assert!(decrypt(cipher, &key, &iv0, &m1.data[1..]).is_err());
        assert!(decrypt(cipher, &key, &iv0, &[]).is_err());
        assert!(decrypt(cipher, &key[1..], &iv0, &m1.data).is_err());
        assert!(encrypt(cipher, &key, &iv0[1..], b"x").is_err());
    }
}

#[test]
fn ivs() {
    let prf = Prf::HmacSha1;
    let iv = initial_iv(prf, b"gxi", b"gxr", 16).unwrap();
    assert_eq!(iv, hash(prf.digest(), b"gxigxr").unwrap()[..16]);
    let mut chain = Phase1Iv::new(prf, b"gxi", b"gxr", PayloadCipher::TripleDesCbc).unwrap();
    assert_eq!(chain.current(), &iv[..8]);
    chain.advance(vec![9; 8]);
    let qm = chain.for_exchange(0xdead_beef).unwrap();
    let mut input = vec![9u8; 8];
    input.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(qm, hash(prf.digest(), &input).unwrap()[..8]);
    assert_eq!(Phase1Iv::from_parts(prf, vec![9; 8]), chain);
    // A SHA-1 digest is too short for a 32-octet "block": an error.
    assert!(initial_iv(prf, b"a", b"b", 32).is_err());
}

#[test]
fn cipher_ids() {
    use crate::v1::wire::encryption::*;
    assert_eq!(
        PayloadCipher::from_phase1(AES_CBC, None).unwrap(),
        PayloadCipher::Aes128Cbc
    );
    assert_eq!(
        PayloadCipher::from_phase1(AES_CBC, Some(256)).unwrap(),
        PayloadCipher::Aes256Cbc
    );
    assert_eq!(
        PayloadCipher::from_phase1(TRIPLE_DES_CBC, None).unwrap(),
        PayloadCipher::TripleDesCbc
    );
    assert!(PayloadCipher::from_phase1(AES_CBC, Some(100)).is_err());
    assert!(PayloadCipher::from_phase1(DES_CBC, None).is_err());
}
