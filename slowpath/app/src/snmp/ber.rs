//! The few BER encodings SNMP messages are made of (X.690 definite lengths, as RFC 3416's
//! types need): each function appends one whole TLV to a buffer. Constructed values are
//! built in their own buffer and wrapped, so every length is known when it is written.

/// Tags of the universal and SNMP application types a trap carries.
pub mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;
    pub const IP_ADDRESS: u8 = 0x40;
    pub const GAUGE32: u8 = 0x42;
    pub const TIME_TICKS: u8 = 0x43;
    /// SNMPv2-Trap-PDU, [7] IMPLICIT (RFC 3416).
    pub const TRAP_V2: u8 = 0xa7;
}

/// A length, short form below 128, else long form with as few bytes as it takes.
pub fn length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// Any TLV whose content is already encoded.
pub fn tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    length(out, content.len());
    out.extend_from_slice(content);
}

/// How many bytes the tag and length of a TLV with `len` content bytes take.
pub fn header_len(len: usize) -> usize {
    let mut h = Vec::with_capacity(10);
    length(&mut h, len);
    1 + h.len()
}

/// A signed INTEGER in two's complement, minimal: no leading 0x00 or 0xff that the next
/// byte's top bit makes redundant.
pub fn integer(out: &mut Vec<u8>, tag: u8, v: i64) {
    let bytes = v.to_be_bytes();
    let mut skip = 0;
    while skip < 7 {
        let (b, next) = (bytes[skip], bytes[skip + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            skip += 1;
        } else {
            break;
        }
    }
    tlv(out, tag, &bytes[skip..]);
}

/// An unsigned 32-bit application type (Gauge32/Unsigned32, TimeTicks): an INTEGER
/// encoding under its own tag, so values with the top bit set get a leading 0x00.
pub fn unsigned(out: &mut Vec<u8>, tag: u8, v: u32) {
    integer(out, tag, i64::from(v));
}

pub fn octets(out: &mut Vec<u8>, v: &[u8]) {
    tlv(out, tag::OCTET_STRING, v);
}

/// An OBJECT IDENTIFIER from its arcs; the first two are folded into one subidentifier.
/// Callers pass well-formed OIDs (at least two arcs, the first 0 to 2): the MIB's constants.
pub fn oid(out: &mut Vec<u8>, arcs: &[u32]) {
    let mut content = Vec::with_capacity(arcs.len() + 4);
    let first = arcs.first().copied().unwrap_or(0) * 40 + arcs.get(1).copied().unwrap_or(0);
    subidentifier(&mut content, first);
    for &a in arcs.iter().skip(2) {
        subidentifier(&mut content, a);
    }
    tlv(out, tag::OID, &content);
}

/// Base 128, most significant group first, the continuation bit on all but the last.
fn subidentifier(out: &mut Vec<u8>, v: u32) {
    let mut groups = [0u8; 5];
    let mut n = 0;
    let mut rest = v;
    loop {
        groups[n] = (rest & 0x7f) as u8;
        n += 1;
        rest >>= 7;
        if rest == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(groups[i] | if i > 0 { 0x80 } else { 0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut v);
        v
    }

    #[test]
    fn integers_are_minimal_twos_complement() {
        let cases: [(i64, &[u8]); 7] = [
            (0, &[2, 1, 0]),
            (127, &[2, 1, 0x7f]),
            (128, &[2, 2, 0, 0x80]),
            (256, &[2, 2, 1, 0]),
            (-1, &[2, 1, 0xff]),
            (-129, &[2, 2, 0xff, 0x7f]),
            (65507, &[2, 3, 0, 0xff, 0xe3]),
        ];
        for (v, want) in cases {
            assert_eq!(enc(|o| integer(o, tag::INTEGER, v)), want, "{v}");
        }
        assert_eq!(
            enc(|o| unsigned(o, tag::GAUGE32, 0xdead_beef)),
            [0x42, 5, 0, 0xde, 0xad, 0xbe, 0xef]
        );
    }

    #[test]
    fn lengths_take_the_long_form_from_128() {
        assert_eq!(enc(|o| length(o, 127)), [0x7f]);
        assert_eq!(enc(|o| length(o, 128)), [0x81, 0x80]);
        assert_eq!(enc(|o| length(o, 300)), [0x82, 0x01, 0x2c]);
        assert_eq!(header_len(127), 2);
        assert_eq!(header_len(300), 4);
    }

    #[test]
    fn oids_fold_the_first_arcs_and_split_big_ones() {
        // snmpTrapOID.0, and an arc above 127 (X.690 8.19 example style).
        assert_eq!(
            enc(|o| oid(o, &[1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0])),
            [6, 10, 0x2b, 6, 1, 6, 3, 1, 1, 4, 1, 0]
        );
        assert_eq!(
            enc(|o| oid(o, &[1, 3, 6, 1, 4, 1, 32473])),
            [6, 8, 0x2b, 6, 1, 4, 1, 0x81, 0xfd, 0x59]
        );
        assert_eq!(enc(|o| oid(o, &[2, 999])), [6, 2, 0x88, 0x37]);
    }
}
