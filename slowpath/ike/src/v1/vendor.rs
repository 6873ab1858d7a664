//! Vendor ID payloads (RFC 2408 3.16): the ones we send, and what a peer's list tells us
//! (RFC 3706 DPD, the NAT-T flavour, XAUTH, strongSwan, Cisco Unity, IKE fragmentation).

use super::natt::NattVersion;

/// RFC 3706 DPD, version 1.0 (the last two octets are major and minor version).
pub const DPD: [u8; 16] = hex16("afcad71368a1f1c96b8696fc77570100");
/// MD5("RFC 3947").
pub const NATT_RFC3947: [u8; 16] = hex16("4a131c81070358455c5728f20e95452f");
/// MD5("draft-ietf-ipsec-nat-t-ike-03").
pub const NATT_DRAFT_03: [u8; 16] = hex16("7d9419a65310ca6f2c179d9215529d56");
/// MD5("draft-ietf-ipsec-nat-t-ike-02\n"), the newline included, as strongSwan sends it.
pub const NATT_DRAFT_02N: [u8; 16] = hex16("90cb80913ebb696e086381b5ec427b1f");
/// MD5("draft-ietf-ipsec-nat-t-ike-02").
pub const NATT_DRAFT_02: [u8; 16] = hex16("cd60464335df21f87cfdb2fc68b6a448");
/// The first eight octets of MD5("draft-ietf-ipsra-isakmp-xauth-06.txt").
pub const XAUTH: [u8; 8] = [0x09, 0x00, 0x26, 0x89, 0xdf, 0xd6, 0xb7, 0x12];
/// MD5("strongSwan").
pub const STRONGSWAN: [u8; 16] = hex16("882fe56d6fd20dbc2251613b2ebe5beb");
/// MD5("CISCO-UNITY") with its last two octets the version (1.0).
pub const CISCO_UNITY: [u8; 16] = hex16("12f5f28c457168a9702d9fe274cc0100");
/// MD5("FRAGMENTATION"), Cisco's IKEv1 fragmentation.
pub const FRAGMENTATION: [u8; 16] = hex16("4048b7d56ebce88525e7de7f00d6c2d3");

/// A vendor ID we recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Dpd,
    Natt(NattVersion),
    Xauth,
    StrongSwan,
    CiscoUnity,
    Fragmentation,
}

/// The known ID a VID payload's body is, if any. DPD and Unity match on all but their
/// minor version; Cisco's FRAGMENTATION may carry four octets of flags after the hash.
pub fn recognize(vid: &[u8]) -> Option<Vendor> {
    let exact: [(&[u8], Vendor); 7] = [
        (&NATT_RFC3947, Vendor::Natt(NattVersion::Rfc3947)),
        (&NATT_DRAFT_03, Vendor::Natt(NattVersion::Draft03)),
        (&NATT_DRAFT_02N, Vendor::Natt(NattVersion::Draft02)),
        (&NATT_DRAFT_02, Vendor::Natt(NattVersion::Draft02)),
        (&XAUTH, Vendor::Xauth),
        (&STRONGSWAN, Vendor::StrongSwan),
        (&FRAGMENTATION, Vendor::Fragmentation),
    ];
    if let Some((_, v)) = exact.iter().find(|(id, _)| *id == vid) {
        return Some(*v);
    }
    let versioned = |id: &[u8; 16]| vid.len() == 16 && vid[..15] == id[..15];
    if versioned(&DPD) {
        Some(Vendor::Dpd)
    } else if versioned(&CISCO_UNITY) {
        Some(Vendor::CiscoUnity)
    } else if vid.len() == 20 && vid[..16] == FRAGMENTATION {
        Some(Vendor::Fragmentation)
    } else {
        None
    }
}

/// What a peer's vendor IDs say it supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerVendors {
    pub dpd: bool,
    /// The best NAT-T flavour both of us speak.
    pub natt: Option<NattVersion>,
    pub xauth: bool,
    pub strongswan: bool,
    pub cisco_unity: bool,
    pub fragmentation: bool,
    /// VIDs we do not know (counted, otherwise ignored as RFC 2408 says).
    pub unknown: u32,
}

impl PeerVendors {
    /// From the bodies of the VID payloads of a peer's message.
    pub fn from_vids<'a>(vids: impl IntoIterator<Item = &'a [u8]>) -> PeerVendors {
        let mut p = PeerVendors::default();
        for vid in vids {
            match recognize(vid) {
                Some(Vendor::Dpd) => p.dpd = true,
                Some(Vendor::Natt(v)) => p.natt = p.natt.max(Some(v)),
                Some(Vendor::Xauth) => p.xauth = true,
                Some(Vendor::StrongSwan) => p.strongswan = true,
                Some(Vendor::CiscoUnity) => p.cisco_unity = true,
                Some(Vendor::Fragmentation) => p.fragmentation = true,
                None => p.unknown += 1,
            }
        }
        p
    }
}

/// The VIDs of our first phase 1 message (and of the responder's answer): DPD always (so
/// that we answer the peer's R-U-THERE), the NAT-T flavours we speak, best first.
pub fn ours() -> [&'static [u8]; 4] {
    [&DPD, &NATT_RFC3947, &NATT_DRAFT_03, &NATT_DRAFT_02N]
}

/// 32 hex digits at compile time.
const fn hex16(s: &str) -> [u8; 16] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 32, "16 octets");
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::hash::{hash, MessageDigest};

    fn md5(s: &[u8]) -> Vec<u8> {
        hash(MessageDigest::md5(), s).unwrap().to_vec()
    }

    #[test]
    fn ids_are_the_hashes_they_claim() {
        assert_eq!(md5(b"RFC 3947"), NATT_RFC3947);
        assert_eq!(md5(b"draft-ietf-ipsec-nat-t-ike-03"), NATT_DRAFT_03);
        assert_eq!(md5(b"draft-ietf-ipsec-nat-t-ike-02\n"), NATT_DRAFT_02N);
        assert_eq!(md5(b"draft-ietf-ipsec-nat-t-ike-02"), NATT_DRAFT_02);
        assert_eq!(md5(b"draft-ietf-ipsra-isakmp-xauth-06.txt")[..8], XAUTH);
        assert_eq!(md5(b"strongSwan"), STRONGSWAN);
        assert_eq!(md5(b"CISCO-UNITY")[..14], CISCO_UNITY[..14]);
        assert_eq!(md5(b"FRAGMENTATION"), FRAGMENTATION);
        // RFC 3706 section 7 (version 1.0).
        assert_eq!(
            DPD,
            [
                0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57,
                0x01, 0x00
            ]
        );
    }

    #[test]
    fn a_strongswan_list_is_read() {
        // What strongSwan 5 sends in Main Mode: XAUTH, DPD, the NAT-T flavours, its own.
        let vids: [&[u8]; 6] = [
            &XAUTH,
            &DPD,
            &NATT_DRAFT_02N,
            &NATT_RFC3947,
            &STRONGSWAN,
            b"something else",
        ];
        let p = PeerVendors::from_vids(vids);
        assert_eq!(
            p,
            PeerVendors {
                dpd: true,
                natt: Some(NattVersion::Rfc3947),
                xauth: true,
                strongswan: true,
                cisco_unity: false,
                fragmentation: false,
                unknown: 1,
            }
        );
        let drafts: [&[u8]; 2] = [&NATT_DRAFT_02, &NATT_DRAFT_03];
        assert_eq!(
            PeerVendors::from_vids(drafts).natt,
            Some(NattVersion::Draft03)
        );
        assert_eq!(PeerVendors::from_vids([]), PeerVendors::default());
    }

    #[test]
    fn versioned_ids_match_on_their_prefix() {
        let mut dpd_1_1 = DPD;
        dpd_1_1[15] = 1;
        assert_eq!(recognize(&dpd_1_1), Some(Vendor::Dpd));
        let mut dpd_2 = DPD;
        dpd_2[14] = 2;
        assert_eq!(recognize(&dpd_2), None);
        let mut unity = CISCO_UNITY;
        unity[15] = 0x02;
        assert_eq!(recognize(&unity), Some(Vendor::CiscoUnity));
        let mut frag = FRAGMENTATION.to_vec();
        frag.extend([0x80, 0, 0, 0]);
        assert_eq!(recognize(&frag), Some(Vendor::Fragmentation));
        // Truncated or longer copies are unknown, never a panic.
        assert_eq!(recognize(&DPD[..15]), None);
        assert_eq!(recognize(&[]), None);
        assert_eq!(recognize(&[NATT_RFC3947.as_slice(), &[0]].concat()), None);
    }

    #[test]
    fn we_send_dpd_and_every_natt_flavour() {
        let p = PeerVendors::from_vids(ours());
        assert!(p.dpd && p.natt == Some(NattVersion::Rfc3947) && p.unknown == 0);
    }
}
