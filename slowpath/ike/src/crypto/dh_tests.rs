//! Key exchange tests: RFC 5903 section 8 (ECP 256 and 384), RFC 7748 section 6.1
//! (X25519), MODP agreement, and rejection of bad peer values.

use super::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(char::is_whitespace, "")).unwrap()
}

struct EcpVector {
    group: u16,
    i: &'static str,
    gi: &'static str,
    r: &'static str,
    gr: &'static str,
    gir: &'static str,
}

// RFC 5903 8.1, 256-bit random ECP group.
const P256: EcpVector = EcpVector {
    group: ECP_256,
    i: "C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
    gi: "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180
         5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
    r: "C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
    gr: "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63
         56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
    gir: "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE",
};

// RFC 5903 8.2, 384-bit random ECP group.
const P384: EcpVector = EcpVector {
    group: ECP_384,
    i: "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655
        E35B5380 41E649EE 3FAEF896 783AB194",
    gi: "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6
         DE3AC808 ACB4BDB4 C88732AE E95F41AA 9482ED1F C0EEB9CA FC498462 5CCFC23F
         65032149 E0E144AD A0241815 35A0F38E EB9FCFF3 C2C947DA E69B4C63 4573A81C",
    r: "41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942
        E0308312 916B8ED2 960E4BD5 5A7448FC",
    gr: "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D
         0D1AC43A 0336DEF9 6FDA41D0 774A3571 DCFBEC7A ACF31964 72169E83 8430367F
         66EEBE3C 6E70C416 DD5F0C68 759DD1FF F83FA401 42209DFF 5EAAD96D B9E6386C",
    gir: "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4
          D6031355 69B9E9D0 9CF5D4A2 70F59746",
};

fn ecp_vector(v: &EcpVector) {
    let i = KeyExchange::ecp_from_scalar(v.group, &h(v.i)).unwrap();
    let r = KeyExchange::ecp_from_scalar(v.group, &h(v.r)).unwrap();
    assert_eq!(i.public_value(), h(v.gi), "g^i");
    assert_eq!(r.public_value(), h(v.gr), "g^r");
    assert_eq!(*i.compute_shared(&h(v.gr)).unwrap(), h(v.gir));
    assert_eq!(*r.compute_shared(&h(v.gi)).unwrap(), h(v.gir));
}

#[test]
fn rfc5903_ecp_256() {
    ecp_vector(&P256);
}

#[test]
fn rfc5903_ecp_384() {
    ecp_vector(&P384);
}

// RFC 7748 6.1.
#[test]
fn rfc7748_x25519() {
    let alice = KeyExchange::x25519_from_private(&h(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    ))
    .unwrap();
    let bob = KeyExchange::x25519_from_private(&h(
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    ))
    .unwrap();
    let alice_pub = h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    let bob_pub = h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    let shared = h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    assert_eq!(alice.public_value(), alice_pub);
    assert_eq!(bob.public_value(), bob_pub);
    assert_eq!(*alice.compute_shared(&bob_pub).unwrap(), shared);
    assert_eq!(*bob.compute_shared(&alice_pub).unwrap(), shared);
}

#[test]
fn every_group_agrees() {
    for group in [
        MODP_1024, MODP_2048, MODP_3072, ECP_256, ECP_384, ECP_521, CURVE25519,
    ] {
        let info = dh_info(group).unwrap();
        let a = KeyExchange::generate(group).unwrap();
        let b = KeyExchange::generate(group).unwrap();
        assert_eq!(a.group(), group);
        assert_eq!(a.public_value().len(), info.public_len, "group {group}");
        let s1 = a.compute_shared(b.public_value()).unwrap();
        let s2 = b.compute_shared(a.public_value()).unwrap();
        assert_eq!(*s1, *s2, "group {group}");
        assert_eq!(s1.len(), info.shared_len, "group {group}");
    }
}

#[test]
fn unsupported_group() {
    assert!(KeyExchange::generate(5).is_err());
    assert!(KeyExchange::generate(0).is_err());
}

fn rejected(kx: &KeyExchange, peer: &[u8]) -> bool {
    matches!(
        kx.compute_shared(peer),
        Err(CryptoError::InvalidPublicValue { .. })
    )
}

#[test]
fn modp_rejects_bad_values() {
    let kx = KeyExchange::generate(MODP_1024).unwrap();
    let len = 128;
    let p = BigNum::get_rfc2409_prime_1024().unwrap();
    let padded = |n: &BigNum| n.to_vec_padded(len as i32).unwrap();
    let one = |v: u32| padded(&BigNum::from_u32(v).unwrap());
    let mut p_minus_1 = p.to_owned().unwrap();
    p_minus_1.sub_word(1).unwrap();
    let mut p_plus_1 = p.to_owned().unwrap();
    p_plus_1.add_word(1).unwrap();
    for bad in [
        one(0),
        one(1),
        padded(&p_minus_1),
        padded(&p),
        padded(&p_plus_1),
        vec![0xff; len],
    ] {
        assert!(rejected(&kx, &bad));
    }
    // 2 and p-2 are in range.
    assert!(kx.compute_shared(&one(2)).is_ok());
    let mut p_minus_2 = p.to_owned().unwrap();
    p_minus_2.sub_word(2).unwrap();
    assert!(kx.compute_shared(&padded(&p_minus_2)).is_ok());
    // Lengths other than the prime's.
    let good = KeyExchange::generate(MODP_1024).unwrap();
    let v = good.public_value();
    assert!(kx.compute_shared(v).is_ok());
    for bad in [&v[1..], &[v, &[0][..]].concat()[..], &[][..]] {
        assert!(rejected(&kx, bad));
    }
}

/// RFC 6989 2.2: in a safe-prime group, 1 < y < p-1 is the whole check, the same in every
/// MODP group. p-2 (of order 2q, not in the subgroup of g) is in range: OpenSSL's own full
/// check (y^q = 1) refused it for MODP 2048 and 3072 only, the primes it knows with their q.
#[test]
fn modp_checks_the_range_in_every_group() {
    for (group, p) in [
        (MODP_1024, BigNum::get_rfc2409_prime_1024().unwrap()),
        (MODP_2048, BigNum::get_rfc3526_prime_2048().unwrap()),
        (MODP_3072, BigNum::get_rfc3526_prime_3072().unwrap()),
    ] {
        let len = dh_info(group).unwrap().public_len as i32;
        let padded = |n: &BigNum| n.to_vec_padded(len).unwrap();
        let minus = |w: u32| {
            let mut n = p.to_owned().unwrap();
            n.sub_word(w).unwrap();
            padded(&n)
        };
        let kx = KeyExchange::generate(group).unwrap();
        assert!(kx.compute_shared(&minus(2)).is_ok(), "group {group}: p-2");
        assert!(kx
            .compute_shared(&padded(&BigNum::from_u32(2).unwrap()))
            .is_ok());
        for bad in [minus(1), minus(0), padded(&BigNum::from_u32(1).unwrap())] {
            assert!(rejected(&kx, &bad), "group {group}");
        }
        let mine = crate::sa::dh::DhPrivate::generate(group, &mut crate::rng::TestRng::new(3));
        assert!(
            mine.unwrap().shared(&minus(2)).is_ok(),
            "group {group}: p-2"
        );
    }
}

#[test]
fn modp_secret_is_left_padded() {
    // x = 1000 and g^r = 2: g^ir = 2^1000 < p, whose top two bytes of 128 are zero.
    let kx = KeyExchange::modp_from_private(MODP_1024, 1000).unwrap();
    let mut two = vec![0u8; 128];
    two[127] = 2;
    let s = kx.compute_shared(&two).unwrap();
    let mut expect = vec![0u8; 128];
    expect[2] = 1;
    assert_eq!(*s, expect);
}

#[test]
fn ecp_rejects_bad_points() {
    let kx = KeyExchange::generate(ECP_256).unwrap();
    let good = h(P256.gr);
    assert!(kx.compute_shared(&good).is_ok());
    let mut off_curve = good.clone();
    off_curve[63] ^= 1;
    assert!(rejected(&kx, &off_curve));
    assert!(rejected(&kx, &[0u8; 64])); // (0, 0): not on the curve, and no infinity encoding
    assert!(rejected(&kx, &[0xffu8; 64])); // coordinates >= p
    assert!(rejected(&kx, &good[..63]));
    assert!(rejected(&kx, &[&[4u8][..], &good].concat())); // SEC1 prefix is not IKE's format
                                                           // A P-384 point offered in a P-256 exchange.
    assert!(rejected(&kx, &h(P384.gr)));
}

#[test]
fn x25519_rejects_low_order_and_bad_lengths() {
    let kx = KeyExchange::generate(CURVE25519).unwrap();
    let mut one = [0u8; 32];
    one[0] = 1;
    // u = 0 and u = 1 are of low order: the result is all zeros (RFC 7748 6.1, RFC 8031 2.3).
    assert!(rejected(&kx, &[0u8; 32]));
    assert!(rejected(&kx, &one));
    assert!(rejected(&kx, &[9u8; 31]));
    assert!(rejected(&kx, &[9u8; 33]));
}

#[test]
fn debug_shows_only_the_group() {
    let kx = KeyExchange::generate(ECP_256).unwrap();
    assert_eq!(format!("{kx:?}"), "KeyExchange { group: 19, .. }");
}

#[test]
fn from_private_round_trips_and_agrees() {
    for group in [MODP_1024, MODP_2048, ECP_256, ECP_384, ECP_521, CURVE25519] {
        let raw: Vec<u8> = (0..KeyExchange::private_len(group).unwrap())
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(7))
            .collect();
        let a = KeyExchange::from_private(group, &raw).unwrap();
        let again = KeyExchange::from_private(group, &a.private_bytes().unwrap()).unwrap();
        assert_eq!(a.public_value(), again.public_value(), "{group}");
        let b = KeyExchange::generate(group).unwrap();
        assert_eq!(
            *a.compute_shared(b.public_value()).unwrap(),
            *b.compute_shared(a.public_value()).unwrap(),
            "{group}"
        );
    }
    assert!(KeyExchange::from_private(MODP_2048, &[1]).is_err());
    assert!(KeyExchange::from_private(ECP_256, &[0; 40]).is_err());
    assert!(KeyExchange::private_len(5).is_err());
}
