//! Helpers shared by the integration tests: a small deterministic PRNG and packet builders.
#![allow(dead_code)]

use esp::wire::checksum::{checksum, finish, pseudo_header, sum};
use std::net::IpAddr;

/// Deterministic, so a failing case can be replayed.
pub use toolkit::xorshift::Rng;

/// An IPv4 or IPv6 UDP packet with a valid checksum and `len` random payload bytes.
pub fn udp_packet(
    src: &str,
    dst: &str,
    sport: u16,
    dport: u16,
    len: usize,
    rng: &mut Rng,
) -> Vec<u8> {
    let src: IpAddr = src.parse().unwrap();
    let dst: IpAddr = dst.parse().unwrap();
    let mut udp = Vec::with_capacity(8 + len);
    udp.extend_from_slice(&sport.to_be_bytes());
    udp.extend_from_slice(&dport.to_be_bytes());
    udp.extend_from_slice(&((8 + len) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&rng.bytes(len));
    let (s, d): (Vec<u8>, Vec<u8>) = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => (s.octets().to_vec(), d.octets().to_vec()),
        (IpAddr::V6(s), IpAddr::V6(d)) => (s.octets().to_vec(), d.octets().to_vec()),
        _ => panic!("mixed families"),
    };
    let pseudo = pseudo_header(&s, &d, 17, udp.len() as u32);
    let c = match finish(sum(pseudo, &udp)) {
        0 => 0xffff,
        c => c,
    };
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    let mut p = Vec::new();
    if src.is_ipv4() {
        let total = 20 + udp.len();
        p.extend_from_slice(&[0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0]);
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p.extend_from_slice(&s);
        p.extend_from_slice(&d);
        let c = checksum(&p);
        p[10..12].copy_from_slice(&c.to_be_bytes());
    } else {
        p.extend_from_slice(&[0x60, 0, 0, 0]);
        p.extend_from_slice(&(udp.len() as u16).to_be_bytes());
        p.extend_from_slice(&[17, 64]);
        p.extend_from_slice(&s);
        p.extend_from_slice(&d);
    }
    p.extend_from_slice(&udp);
    p
}
