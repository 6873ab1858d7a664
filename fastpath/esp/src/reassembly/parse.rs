//! Parsing of IPv4 and IPv6 fragments into what the table needs: key, offset, MF, data and
//! the first fragment's header.

use super::Reason;
use crate::wire::checksum;
use crate::wire::{be16, be32, proto, IPV4_HEADER_LEN, IPV6_HEADER_LEN};

/// IPv6 destination options header (IANA protocol number).
const DEST_OPTS: u8 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(super) struct Key {
    pub(super) src: [u8; 16],
    pub(super) dst: [u8; 16],
    pub(super) id: u32,
    pub(super) protocol: u8,
    pub(super) v6: bool,
}

/// One parsed fragment.
pub(super) struct Frag<'p> {
    pub(super) key: Key,
    pub(super) offset: usize,
    pub(super) mf: bool,
    pub(super) data: &'p [u8],
    /// IPv4 header / IPv6 unfragmentable part.
    pub(super) header: &'p [u8],
    /// IPv6: the offset in `header` of the next header byte that says 44, and the Fragment
    /// header's next header.
    pub(super) nh_at: usize,
    pub(super) next: u8,
}

impl Frag<'_> {
    pub(super) fn v6(&self) -> bool {
        self.key.v6
    }
}

/// Parses a fragment: `Ok(None)` if the packet is not one.
pub(super) fn parse(p: &[u8]) -> Result<Option<Frag<'_>>, Reason> {
    match p.first().map(|b| b >> 4) {
        Some(4) => parse_v4(p),
        Some(6) => parse_v6(p),
        _ => Err(Reason::Malformed),
    }
}

fn parse_v4(p: &[u8]) -> Result<Option<Frag<'_>>, Reason> {
    if p.len() < IPV4_HEADER_LEN {
        return Err(Reason::Malformed);
    }
    let ihl = (p[0] & 0x0f) as usize * 4;
    let total = be16(p, 2) as usize;
    if ihl < IPV4_HEADER_LEN || total < ihl || p.len() < total {
        return Err(Reason::Malformed);
    }
    if checksum::checksum(&p[..ihl]) != 0 {
        return Err(Reason::Malformed);
    }
    let fo = be16(p, 6);
    let offset = (fo & 0x1fff) as usize * 8;
    let mf = fo & 0x2000 != 0;
    if offset == 0 && !mf {
        return Ok(None);
    }
    let mut key = Key {
        id: be16(p, 4) as u32,
        protocol: p[9],
        ..Key::default()
    };
    key.src[..4].copy_from_slice(&p[12..16]);
    key.dst[..4].copy_from_slice(&p[16..20]);
    Ok(Some(Frag {
        key,
        offset,
        mf,
        data: &p[ihl..total],
        header: &p[..ihl],
        nh_at: 0,
        next: p[9],
    }))
}

fn parse_v6(p: &[u8]) -> Result<Option<Frag<'_>>, Reason> {
    if p.len() < IPV6_HEADER_LEN {
        return Err(Reason::Malformed);
    }
    let total = IPV6_HEADER_LEN + be16(p, 4) as usize;
    if p.len() < total {
        return Err(Reason::Malformed);
    }
    let p = &p[..total];
    let (mut next, mut nh_at, mut at) = (p[6], 6, IPV6_HEADER_LEN);
    loop {
        match next {
            proto::HOP_BY_HOP | proto::IPV6_ROUTE | DEST_OPTS => {
                if next == proto::HOP_BY_HOP && at != IPV6_HEADER_LEN {
                    return Err(Reason::Malformed);
                }
                let len = match p.get(at + 1) {
                    Some(&l) => (l as usize + 1) * 8,
                    None => return Err(Reason::Malformed),
                };
                if p.len() < at + len {
                    return Err(Reason::Malformed);
                }
                nh_at = at;
                next = p[at];
                at += len;
            }
            proto::IPV6_FRAG => break,
            _ => return Ok(None),
        }
    }
    if p.len() < at + 8 || p[at] == proto::IPV6_FRAG {
        return Err(Reason::Malformed);
    }
    let fo = be16(p, at + 2);
    let mut key = Key {
        id: be32(p, at + 4),
        v6: true,
        ..Key::default()
    };
    key.src.copy_from_slice(&p[8..24]);
    key.dst.copy_from_slice(&p[24..40]);
    Ok(Some(Frag {
        key,
        offset: (fo & 0xfff8) as usize,
        mf: fo & 1 != 0,
        data: &p[at + 8..],
        header: &p[..at],
        nh_at,
        next: p[at],
    }))
}
