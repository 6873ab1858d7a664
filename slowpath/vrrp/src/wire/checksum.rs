//! The Internet checksum (RFC 1071) and the pseudo-header sums VRRPv3 adds (RFC 5798 §5.2.8).

use std::net::IpAddr;

/// IANA protocol number of VRRP (the pseudo-header's protocol / next-header field).
pub const PROTO_VRRP: u8 = 112;

/// Adds `data` to a running one's-complement sum as big-endian 16-bit words (an odd tail byte
/// is padded with a zero byte, as RFC 1071 says).
pub fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        acc = fold_once(acc + u32::from(u16::from_be_bytes([w[0], w[1]])));
    }
    if let [last] = words.remainder() {
        acc = fold_once(acc + (u32::from(*last) << 8));
    }
    acc
}

/// Keeps the accumulator small enough that further additions never overflow.
fn fold_once(acc: u32) -> u32 {
    (acc & 0xffff) + (acc >> 16)
}

/// The final checksum: the one's complement of the folded sum. A message that already carries
/// its checksum yields 0 when it is valid.
pub fn finish(mut acc: u32) -> u16 {
    while acc >> 16 != 0 {
        acc = fold_once(acc);
    }
    !(acc as u16)
}

/// The sum of the pseudo-header of an upper-layer message of `len` bytes and protocol `proto`:
/// RFC 768's for IPv4 (src, dst, zero, protocol, 16-bit length), RFC 8200 §8.1's for IPv6
/// (src, dst, 32-bit length, three zero bytes, next header). Mixed families sum the addresses
/// as given (the caller refuses those before).
pub fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
    let acc = sum(sum(0, &ip_bytes(src)), &ip_bytes(dst));
    match src {
        IpAddr::V4(_) => sum(acc, &[0, proto, (len >> 8) as u8, len as u8]),
        IpAddr::V6(_) => sum(
            acc,
            &[
                (len >> 24) as u8,
                (len >> 16) as u8,
                (len >> 8) as u8,
                len as u8,
                0,
                0,
                0,
                proto,
            ],
        ),
    }
}

/// The address bytes in network order (4 or 16).
pub fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The checksum of `data` alone.
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(0, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2, checksum 0x220d.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(
            checksum(&[0x12, 0x34, 0x56]),
            checksum(&[0x12, 0x34, 0x56, 0x00])
        );
    }

    #[test]
    fn valid_message_sums_to_zero() {
        let mut m = vec![0x45, 0x00, 0x00, 0x1c, 0xab, 0xcd, 0x00, 0x00];
        let c = checksum(&m);
        m.extend_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&m), 0);
    }

    #[test]
    fn long_input_does_not_overflow() {
        assert_eq!(checksum(&vec![0xff; 200_000]), 0);
    }
}
