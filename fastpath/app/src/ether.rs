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

/// A MAC address packed in the low 48 bits of a u64 (for atomic publication).
pub fn mac_to_u64(mac: [u8; 6]) -> u64 {
    let mut b = [0u8; 8];
    b[2..].copy_from_slice(&mac);
    u64::from_be_bytes(b)
}

/// The inverse of [`mac_to_u64`].
pub fn mac_from_u64(v: u64) -> [u8; 6] {
    let b = v.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// A MAC address as Linux writes it (`02:00:00:00:00:0b`).
pub fn format_mac(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
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

    #[test]
    fn a_mac_survives_packing_and_prints_as_linux_does() {
        let m = [0xde, 0xad, 0xbe, 0xef, 0, 1];
        assert_eq!(mac_from_u64(mac_to_u64(m)), m);
        assert_eq!(mac_to_u64(m) >> 48, 0);
        assert_eq!(format_mac(m), "de:ad:be:ef:00:01");
    }
}
