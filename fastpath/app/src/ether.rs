//! Ethernet II framing: the fast path strips it on receive and writes it on transmit; MAC
//! addresses packed for atomic publication and printed as Linux prints them.

/// Bytes of an Ethernet II header (no VLAN tag).
pub const HEADER_LEN: usize = 14;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// The EtherType of a frame, if it is long enough to have one.
pub fn ethertype(frame: &[u8]) -> Option<u16> {
    frame.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// Writes a header for an IP packet: the EtherType follows the IP version nibble.
pub fn write_header(hdr: &mut [u8], dst: [u8; 6], src: [u8; 6], ip_version: u8) {
    hdr[0..6].copy_from_slice(&dst);
    hdr[6..12].copy_from_slice(&src);
    let ty = if ip_version == 6 {
        ETHERTYPE_IPV6
    } else {
        ETHERTYPE_IPV4
    };
    hdr[12..14].copy_from_slice(&ty.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_ethertype() {
        let mut h = [0u8; HEADER_LEN];
        write_header(&mut h, [1; 6], [2; 6], 6);
        assert_eq!(ethertype(&h), Some(ETHERTYPE_IPV6));
        write_header(&mut h, [1; 6], [2; 6], 4);
        assert_eq!(ethertype(&h), Some(ETHERTYPE_IPV4));
        assert_eq!(&h[0..6], &[1; 6]);
        assert_eq!(ethertype(&h[..13]), None);
    }
}
