use super::*;
use crate::rng::TestRng;
use crate::v1::wire::hash;

const CKY: ([u8; 8], [u8; 8]) = (
    0x0123_4567_89ab_cdefu64.to_be_bytes(),
    0xfedc_ba98_7654_3210u64.to_be_bytes(),
);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn hash_is_the_concatenation_under_the_negotiated_hash() {
    // Python: hashlib.sha1/sha256(cky_i + cky_r + bytes([192,0,2,1]) + (500).to_bytes(2, "big")).
    let a = addr("192.0.2.1:500");
    let h = nat_d_hash(hash::SHA1, CKY.0, CKY.1, a).unwrap();
    assert_eq!(hex::encode(h), "b43b59394bf8bc930246a8f80b6fddf05c58d9bf");
    let h = nat_d_hash(hash::SHA2_256, CKY.0, CKY.1, a).unwrap();
    assert_eq!(
        hex::encode(h),
        "895b033071ed996fae034af3323a9b105eac6c936fe91a726bbab35e88d6c5e3"
    );
    assert_eq!(
        nat_d_hash(hash::SHA2_384, CKY.0, CKY.1, a).unwrap().len(),
        48
    );
    assert_eq!(
        nat_d_hash(hash::SHA2_512, CKY.0, CKY.1, a).unwrap().len(),
        64
    );
    assert_eq!(
        nat_d_hash(1, CKY.0, CKY.1, a),
        Err(NattError::UnknownHash(1))
    );
}

/// `detect` with SHA-1 for a datagram from `remote` to `local`.
fn detect_at(received: &[&[u8]], local: &str, remote: &str) -> NatStatus {
    detect(hash::SHA1, CKY, received, addr(local), addr(remote)).unwrap()
}

/// What the peer at `peer_sees_us`'s other end sends: its NAT-D about us, then its own.
fn sent_by_peer(peer_own: &str, peer_sees_us: &str) -> [Vec<u8>; 2] {
    our_nat_d(hash::SHA1, CKY, addr(peer_own), addr(peer_sees_us), None).unwrap()
}

#[test]
fn no_nat() {
    let [a, b] = sent_by_peer("198.51.100.2:500", "192.0.2.1:500");
    let got = detect_at(&[&a, &b], "192.0.2.1:500", "198.51.100.2:500");
    assert_eq!(got, NatStatus::default());
    assert!(!got.float(Some(NattVersion::Rfc3947)));
    assert_eq!(
        encapsulation_mode(Some(NattVersion::Rfc3947), got, Mode::Tunnel),
        encapsulation::TUNNEL
    );
}

#[test]
fn peer_behind_a_nat() {
    // The peer thinks it is 10.0.0.2:500; we see 203.0.113.9:31000.
    let [a, b] = sent_by_peer("10.0.0.2:500", "192.0.2.1:500");
    let got = detect_at(&[&a, &b], "192.0.2.1:500", "203.0.113.9:31000");
    assert_eq!(
        got,
        NatStatus {
            we_are_behind: false,
            peer_is_behind: true
        }
    );
    assert!(got.float(Some(NattVersion::Rfc3947)));
    assert!(!got.float(None));
    assert_eq!(
        encapsulation_mode(Some(NattVersion::Rfc3947), got, Mode::Tunnel),
        encapsulation::UDP_TUNNEL
    );
    assert_eq!(
        encapsulation_mode(Some(NattVersion::Draft02), got, Mode::Transport),
        encapsulation::UDP_TRANSPORT_DRAFT
    );
    // A peer without NAT-T gets plain ESP (and the SA will not pass the NAT).
    assert_eq!(
        encapsulation_mode(None, got, Mode::Transport),
        encapsulation::TRANSPORT
    );
}

#[test]
fn we_are_behind_a_nat() {
    // We are 10.1.0.1:500 inside; the peer saw us as 203.0.113.1:4500.
    let [a, b] = sent_by_peer("198.51.100.2:500", "203.0.113.1:4500");
    let got = detect_at(&[&a, &b], "10.1.0.1:500", "198.51.100.2:500");
    assert_eq!(
        got,
        NatStatus {
            we_are_behind: true,
            peer_is_behind: false
        }
    );
    // A peer listing several own addresses: any of them matching is enough.
    let other = nat_d_hash(hash::SHA1, CKY.0, CKY.1, addr("10.9.9.9:500")).unwrap();
    let got = detect_at(&[&a, &other, &b], "10.1.0.1:500", "198.51.100.2:500");
    assert!(!got.peer_is_behind);
}

#[test]
fn encap_fakes_our_hash() {
    let local = addr("192.0.2.1:500");
    let remote = addr("198.51.100.2:500");
    let mut rng = TestRng::new(3);
    let [theirs, ours] = our_nat_d(hash::SHA1, CKY, local, remote, Some(&mut rng)).unwrap();
    // The peer, comparing with the datagram's source, finds "us" behind a NAT.
    let at_peer = detect(hash::SHA1, CKY, &[&theirs, &ours], remote, local).unwrap();
    assert_eq!(
        at_peer,
        NatStatus {
            we_are_behind: false,
            peer_is_behind: true
        }
    );
    assert_eq!(ours.len(), 20);
}

#[test]
fn too_few_payloads_are_an_error() {
    let h = [0u8; 20];
    let (l, r) = (addr("192.0.2.1:500"), addr("198.51.100.2:500"));
    assert_eq!(
        detect(hash::SHA1, CKY, &[], l, r),
        Err(NattError::MissingNatD)
    );
    assert_eq!(
        detect(hash::SHA1, CKY, &[&h], l, r),
        Err(NattError::MissingNatD)
    );
    // Wrong-length hashes are simply different: a NAT, not a panic.
    let got = detect(hash::SHA1, CKY, &[&h[..3], &[]], l, r).unwrap();
    assert!(got.we_are_behind && got.peer_is_behind);
}

#[test]
fn encapsulation_values_round_trip() {
    for v in [
        NattVersion::Draft02,
        NattVersion::Draft03,
        NattVersion::Rfc3947,
    ] {
        for m in [Mode::Tunnel, Mode::Transport] {
            assert_eq!(parse_encapsulation(v.udp_encapsulation(m)), Some((m, true)));
        }
    }
    assert_eq!(parse_encapsulation(1), Some((Mode::Tunnel, false)));
    assert_eq!(parse_encapsulation(2), Some((Mode::Transport, false)));
    assert_eq!(parse_encapsulation(0), None);
    assert_eq!(parse_encapsulation(61445), None);
    assert_eq!(
        (
            NattVersion::Rfc3947.nat_d_payload(),
            NattVersion::Draft03.nat_d_payload()
        ),
        (20, 130)
    );
    assert_eq!(
        (
            NattVersion::Rfc3947.nat_oa_payload(),
            NattVersion::Draft02.nat_oa_payload()
        ),
        (21, 131)
    );
    assert!(
        NattVersion::Rfc3947 > NattVersion::Draft03 && NattVersion::Draft03 > NattVersion::Draft02
    );
}
