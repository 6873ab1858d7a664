//! IKE on UDP port 4500 (RFC 3948 2.2, RFC 7296 2.23): the four zero octets of the non-ESP
//! marker tell an IKE message from ESP, whose SPI is never zero.

/// The non-ESP marker.
pub const NON_ESP_MARKER: [u8; 4] = [0; 4];

/// What a UDP payload received on port 4500 is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port4500<'a> {
    /// An IKE message, marker removed: for `Message::parse`.
    Ike(&'a [u8]),
    /// A NAT-keepalive: one 0xFF octet (RFC 3948 2.3).
    Keepalive,
    /// UDP-encapsulated ESP (starts with a non-zero SPI).
    Esp(&'a [u8]),
}

/// Sorts a port 4500 UDP payload; `None` for what is none of the three (shorter than a
/// marker, or a zero SPI without the rest of a marker).
pub fn classify_port_4500(udp_payload: &[u8]) -> Option<Port4500<'_>> {
    match udp_payload {
        [0xff] => Some(Port4500::Keepalive),
        [0, 0, 0, 0, rest @ ..] => Some(Port4500::Ike(rest)),
        [a, b, c, d, ..] if [*a, *b, *c, *d] != NON_ESP_MARKER => Some(Port4500::Esp(udp_payload)),
        _ => None,
    }
}

/// The IKE message of a datagram received on local port `local_port`: as it came, or behind
/// its marker on 4500; `Ok(None)` for a NAT-keepalive, an error for what is not IKE.
pub fn ike_message(
    local_port: u16,
    datagram: &[u8],
) -> Result<Option<&[u8]>, crate::action::DropReason> {
    if local_port != crate::sa::ike_sa::NATT_PORT {
        return Ok(Some(datagram));
    }
    match classify_port_4500(datagram) {
        Some(Port4500::Ike(r)) => Ok(Some(r)),
        Some(Port4500::Keepalive) => Ok(None),
        _ => Err(crate::action::DropReason::NotIke),
    }
}

/// The marker followed by `message`, for sending on port 4500.
pub fn with_non_esp_marker(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(NON_ESP_MARKER.len() + message.len());
    out.extend_from_slice(&NON_ESP_MARKER);
    out.extend_from_slice(message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify() {
        assert_eq!(classify_port_4500(&[0xff]), Some(Port4500::Keepalive));
        assert_eq!(
            classify_port_4500(&with_non_esp_marker(&[1, 2])),
            Some(Port4500::Ike(&[1, 2]))
        );
        assert_eq!(
            classify_port_4500(&[0, 0, 1, 5, 0, 0, 0, 1]),
            Some(Port4500::Esp(&[0, 0, 1, 5, 0, 0, 0, 1]))
        );
        assert_eq!(classify_port_4500(&[0, 0, 0]), None);
        assert_eq!(classify_port_4500(&[]), None);
        assert_eq!(classify_port_4500(&[0xfe]), None);
    }
}
