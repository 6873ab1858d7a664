//! IP fragmentation without allocation: IPv4 (RFC 791 §3.2, "Fragmentation") and IPv6
//! (RFC 8200 §4.5). A [`Fragmenter`] checks a packet once and says how many fragments it
//! makes and how long each is; the caller allocates one buffer per fragment (an mbuf) and
//! has fragment `k` written into it:
//!
//! ```
//! # use esp::wire::fragment::Fragmenter;
//! # let packet = { let mut p = vec![0u8; 3000]; p[0] = 0x45; p[2..4].copy_from_slice(&3000u16.to_be_bytes()); p[8] = 64; p };
//! let f = Fragmenter::ipv4(&packet, 1500).unwrap();
//! for k in 0..f.count() {
//!     let mut buf = vec![0u8; f.fragment_len(k)]; // rte_pktmbuf_alloc + append in the worker
//!     f.write(k, &mut buf).unwrap();
//! }
//! ```
//!
//! A packet that already fits in the MTU makes one "fragment": the packet itself, unchanged.

use super::{be16, proto, IPV4_HEADER_LEN, IPV6_HEADER_LEN};
use crate::wire::checksum;

/// The smallest MTU IPv4 allows (RFC 791: every module must forward 68-octet datagrams).
pub const IPV4_MIN_MTU: usize = 68;
/// The smallest MTU IPv6 allows (RFC 8200 §5).
pub const IPV6_MIN_MTU: usize = 1280;
/// IPv6 Fragment header length.
pub const IPV6_FRAG_HEADER_LEN: usize = 8;
/// IPv6 destination options header (IANA protocol number).
const DEST_OPTS: u8 = 60;

/// Why a packet could not be fragmented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FragError {
    /// IPv4 DF is set and the packet does not fit: send ICMP fragmentation needed instead.
    #[error("don't fragment is set")]
    DontFragment,
    /// Below the protocol minimum (68 for IPv4, 1280 for IPv6), or too small for the IPv6
    /// unfragmentable part plus a Fragment header plus 8 bytes.
    #[error("MTU too small")]
    MtuTooSmall,
    /// Not a well-formed IP packet of the expected version (bad lengths, bad options,
    /// fragment offset overflow).
    #[error("malformed packet")]
    Malformed,
    /// An IPv6 packet that already carries a Fragment header (only the source fragments, once).
    #[error("packet is already an IPv6 fragment")]
    AlreadyFragmented,
    /// `write` was given a buffer shorter than `fragment_len(k)`.
    #[error("output buffer too small")]
    BufferTooSmall,
    /// `write` was asked for a fragment `k >= count()`.
    #[error("no such fragment")]
    BadIndex,
}

/// The plan for fragmenting one packet; borrows the packet, never allocates.
#[derive(Debug, Clone, Copy)]
pub struct Fragmenter<'a> {
    /// The packet, cut to the length its header claims.
    packet: &'a [u8],
    v6: bool,
    /// Bytes of `packet` before the fragmentable part (IPv4 header / IPv6 unfragmentable part).
    head: usize,
    /// Payload bytes carried by the first fragment, and by each later one (multiples of 8).
    first_cap: usize,
    cap: usize,
    count: usize,
    /// IPv4: the packet's own offset (bytes) and MF (fragmenting a fragment, RFC 791).
    base_offset: usize,
    base_mf: bool,
    /// IPv4: the header of fragments after the first (fixed header and copied options).
    later_header: [u8; 60],
    later_header_len: usize,
    /// IPv6: the fragment identification, and where the next header byte that must say 44 is.
    id: u32,
    nh_at: usize,
}

impl<'a> Fragmenter<'a> {
    /// Plans the fragmentation of IPv4 `packet` (bytes past its total length are ignored) into
    /// fragments of at most `mtu` bytes. DF only matters if the packet does not fit.
    pub fn ipv4(packet: &'a [u8], mtu: usize) -> Result<Self, FragError> {
        if mtu < IPV4_MIN_MTU {
            return Err(FragError::MtuTooSmall);
        }
        if packet.len() < IPV4_HEADER_LEN || packet[0] >> 4 != 4 {
            return Err(FragError::Malformed);
        }
        let ihl = (packet[0] & 0x0f) as usize * 4;
        let total = be16(packet, 2) as usize;
        if ihl < IPV4_HEADER_LEN || total < ihl || packet.len() < total {
            return Err(FragError::Malformed);
        }
        let packet = &packet[..total];
        let mut later_header = [0u8; 60];
        later_header[..IPV4_HEADER_LEN].copy_from_slice(&packet[..IPV4_HEADER_LEN]);
        let later_header_len = copy_options(&packet[IPV4_HEADER_LEN..ihl], &mut later_header)?;
        let mut f = Fragmenter {
            packet,
            v6: false,
            head: ihl,
            first_cap: 0,
            cap: 0,
            count: 1,
            base_offset: (be16(packet, 6) & 0x1fff) as usize * 8,
            base_mf: be16(packet, 6) & 0x2000 != 0,
            later_header,
            later_header_len,
            id: 0,
            nh_at: 0,
        };
        if total <= mtu {
            return Ok(f);
        }
        if be16(packet, 6) & 0x4000 != 0 {
            return Err(FragError::DontFragment);
        }
        // mtu >= 68 and headers <= 60 bytes: at least 8 bytes per fragment.
        f.first_cap = (mtu - ihl) & !7;
        f.cap = (mtu - later_header_len) & !7;
        let payload = total - ihl;
        f.count = 1 + (payload - f.first_cap).div_ceil(f.cap);
        // The last fragment's offset must fit the 13-bit field.
        let last_start = f.base_offset + f.first_cap + (f.count - 2) * f.cap;
        if last_start / 8 > 0x1fff {
            return Err(FragError::Malformed);
        }
        Ok(f)
    }

    /// Plans the fragmentation of IPv6 `packet` (bytes past its payload length are ignored)
    /// into fragments of at most `mtu` bytes, with Fragment headers carrying `id`. The
    /// unfragmentable part (RFC 8200 §4.5) is the IPv6 header and the hop-by-hop, routing and
    /// destination options headers up to the last routing header.
    pub fn ipv6(packet: &'a [u8], mtu: usize, id: u32) -> Result<Self, FragError> {
        if mtu < IPV6_MIN_MTU {
            return Err(FragError::MtuTooSmall);
        }
        if packet.len() < IPV6_HEADER_LEN || packet[0] >> 4 != 6 {
            return Err(FragError::Malformed);
        }
        let total = IPV6_HEADER_LEN + be16(packet, 4) as usize;
        if packet.len() < total {
            return Err(FragError::Malformed);
        }
        let packet = &packet[..total];
        // Walk hop-by-hop, routing and destination options; the unfragmentable part ends
        // after the last hop-by-hop or routing header.
        let (mut next, mut at) = (packet[6], IPV6_HEADER_LEN);
        let (mut head, mut nh_at) = (IPV6_HEADER_LEN, 6);
        loop {
            match next {
                proto::HOP_BY_HOP | proto::IPV6_ROUTE | DEST_OPTS => {
                    if next == proto::HOP_BY_HOP && at != IPV6_HEADER_LEN {
                        return Err(FragError::Malformed);
                    }
                    let len = match packet.get(at + 1) {
                        Some(&l) => (l as usize + 1) * 8,
                        None => return Err(FragError::Malformed),
                    };
                    if packet.len() < at + len {
                        return Err(FragError::Malformed);
                    }
                    let (kind, here) = (next, at);
                    next = packet[at];
                    at += len;
                    if kind != DEST_OPTS {
                        head = at;
                        nh_at = here;
                    }
                }
                proto::IPV6_FRAG => return Err(FragError::AlreadyFragmented),
                _ => break,
            }
        }
        let mut f = Fragmenter {
            packet,
            v6: true,
            head,
            first_cap: 0,
            cap: 0,
            count: 1,
            base_offset: 0,
            base_mf: false,
            later_header: [0; 60],
            later_header_len: 0,
            id,
            nh_at,
        };
        if total <= mtu {
            return Ok(f);
        }
        let room = mtu
            .checked_sub(head + IPV6_FRAG_HEADER_LEN)
            .ok_or(FragError::MtuTooSmall)?
            & !7;
        if room == 0 {
            return Err(FragError::MtuTooSmall);
        }
        f.first_cap = room;
        f.cap = room;
        f.count = (total - head).div_ceil(room);
        // total <= 65575, so offsets stay below 65536 and fit the 13-bit field.
        Ok(f)
    }

    /// Plans by the packet's version (`ipv6_id` is used only for IPv6).
    pub fn new(packet: &'a [u8], mtu: usize, ipv6_id: u32) -> Result<Self, FragError> {
        match packet.first().map(|b| b >> 4) {
            Some(4) => Self::ipv4(packet, mtu),
            Some(6) => Self::ipv6(packet, mtu, ipv6_id),
            _ => Err(FragError::Malformed),
        }
    }

    /// How many fragments (1 when the packet fits as it is).
    pub fn count(&self) -> usize {
        self.count
    }

    /// Whether the packet is sent as it is (it fits).
    pub fn fits(&self) -> bool {
        self.count == 1
    }

    /// (start, end) of fragment `k`'s payload in the fragmentable part.
    fn range(&self, k: usize) -> (usize, usize) {
        let payload = self.packet.len() - self.head;
        if self.count == 1 {
            return (0, payload);
        }
        let start = if k == 0 {
            0
        } else {
            self.first_cap + (k - 1) * self.cap
        };
        let end = if k == 0 {
            self.first_cap
        } else {
            start + self.cap
        };
        (start, end.min(payload))
    }

    fn header_len(&self, k: usize) -> usize {
        match (self.v6, k) {
            (true, _) => self.head + IPV6_FRAG_HEADER_LEN,
            (false, 0) => self.head,
            (false, _) => self.later_header_len,
        }
    }

    /// The length of fragment `k` (0 if `k >= count()`).
    pub fn fragment_len(&self, k: usize) -> usize {
        if k >= self.count {
            return 0;
        }
        if self.count == 1 {
            return self.packet.len();
        }
        let (start, end) = self.range(k);
        self.header_len(k) + end - start
    }

    /// The lengths of all fragments, in order.
    pub fn lens(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.count).map(|k| self.fragment_len(k))
    }

    /// Writes fragment `k` at the start of `out`; returns its length.
    pub fn write(&self, k: usize, out: &mut [u8]) -> Result<usize, FragError> {
        if k >= self.count {
            return Err(FragError::BadIndex);
        }
        let len = self.fragment_len(k);
        if out.len() < len {
            return Err(FragError::BufferTooSmall);
        }
        let out = &mut out[..len];
        if self.count == 1 {
            out.copy_from_slice(self.packet);
            return Ok(len);
        }
        let (start, end) = self.range(k);
        let last = k + 1 == self.count;
        let hl = self.header_len(k);
        let data = &self.packet[self.head + start..self.head + end];
        out[hl..].copy_from_slice(data);
        if self.v6 {
            let h = &mut out[..hl];
            h[..self.head].copy_from_slice(&self.packet[..self.head]);
            let orig_next = h[self.nh_at];
            h[self.nh_at] = proto::IPV6_FRAG;
            h[4..6].copy_from_slice(&((len - IPV6_HEADER_LEN) as u16).to_be_bytes());
            let fh = &mut h[self.head..];
            fh[0] = orig_next;
            fh[1] = 0;
            let off = (start as u16) | u16::from(!last);
            fh[2..4].copy_from_slice(&off.to_be_bytes());
            fh[4..8].copy_from_slice(&self.id.to_be_bytes());
        } else {
            let h = &mut out[..hl];
            if k == 0 {
                h.copy_from_slice(&self.packet[..hl]);
            } else {
                h.copy_from_slice(&self.later_header[..hl]);
                h[0] = 0x40 | (hl / 4) as u8;
            }
            h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            let mf = !last || self.base_mf;
            let reserved = be16(self.packet, 6) & 0x8000;
            let flags = reserved | if mf { 0x2000 } else { 0 };
            let off = ((self.base_offset + start) / 8) as u16;
            h[6..8].copy_from_slice(&(flags | off).to_be_bytes());
            h[10..12].copy_from_slice(&[0, 0]);
            let c = checksum::checksum(h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
        }
        Ok(len)
    }
}

/// Copies the IPv4 options with the copied flag (RFC 791) after the 20-byte header in `out`,
/// pads them to a multiple of 4 with end-of-list, and returns the header length. Checks the
/// option list is well formed.
fn copy_options(opts: &[u8], out: &mut [u8; 60]) -> Result<usize, FragError> {
    let mut at = 0;
    let mut w = IPV4_HEADER_LEN;
    while at < opts.len() {
        let kind = opts[at];
        let len = match kind {
            0 => break,
            1 => 1,
            _ => match opts.get(at + 1) {
                Some(&l) if l >= 2 && at + l as usize <= opts.len() => l as usize,
                _ => return Err(FragError::Malformed),
            },
        };
        if kind & 0x80 != 0 {
            out[w..w + len].copy_from_slice(&opts[at..at + len]);
            w += len;
        }
        at += len;
    }
    let padded = w.div_ceil(4) * 4;
    out[w..padded].fill(0);
    Ok(padded)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An IPv4 packet with `opts` (a multiple of 4 bytes) and `payload` bytes of a pattern.
    pub(crate) fn ipv4_packet(opts: &[u8], payload: usize, df: bool, id: u16) -> Vec<u8> {
        let ihl = 20 + opts.len();
        let total = ihl + payload;
        let mut p = vec![0u8; total];
        p[0] = 0x40 | (ihl / 4) as u8;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[4..6].copy_from_slice(&id.to_be_bytes());
        if df {
            p[6] = 0x40;
        }
        p[8] = 64;
        p[9] = proto::UDP;
        p[12..16].copy_from_slice(&[198, 51, 100, 1]);
        p[16..20].copy_from_slice(&[203, 0, 113, 1]);
        p[20..ihl].copy_from_slice(opts);
        for (i, b) in p[ihl..].iter_mut().enumerate() {
            *b = (i * 7 + i / 251) as u8;
        }
        let c = checksum::checksum(&p[..ihl]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p
    }

    /// An IPv6 packet with extension headers `ext` (each `(next-header code, total len)`, in
    /// order), then UDP, with `payload` bytes in all after the extension headers.
    pub(crate) fn ipv6_packet(ext: &[(u8, usize)], payload: usize) -> Vec<u8> {
        let ext_len: usize = ext.iter().map(|e| e.1).sum();
        let total = 40 + ext_len + payload;
        let mut p = vec![0u8; total];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&((total - 40) as u16).to_be_bytes());
        p[7] = 64;
        p[8] = 0x20;
        p[9] = 0x01;
        p[23] = 1;
        p[24] = 0x20;
        p[25] = 0x01;
        p[39] = 2;
        let mut nh_at = 6;
        let mut at = 40;
        for &(code, len) in ext {
            p[nh_at] = code;
            p[at + 1] = (len / 8 - 1) as u8;
            for b in &mut p[at + 2..at + len] {
                *b = 0xee;
            }
            nh_at = at;
            at += len;
        }
        p[nh_at] = proto::UDP;
        for (i, b) in p[at..].iter_mut().enumerate() {
            *b = (i * 13 + i / 253) as u8;
        }
        p
    }

    fn all(f: &Fragmenter) -> Vec<Vec<u8>> {
        (0..f.count())
            .map(|k| {
                let mut b = vec![0xaa; f.fragment_len(k) + 3];
                let n = f.write(k, &mut b).unwrap();
                assert_eq!(n, f.fragment_len(k));
                b.truncate(n);
                b
            })
            .collect()
    }

    /// Reassembles IPv4 fragments by hand (independently of `reassembly`).
    fn join_v4(frags: &[Vec<u8>]) -> Vec<u8> {
        let first = &frags[0];
        let ihl = (first[0] & 15) as usize * 4;
        let mut out = first[..ihl].to_vec();
        let mut expect = 0;
        for (i, f) in frags.iter().enumerate() {
            let hl = (f[0] & 15) as usize * 4;
            assert_eq!(checksum::checksum(&f[..hl]), 0);
            assert_eq!(be16(f, 2) as usize, f.len());
            assert_eq!(f[4..6], first[4..6], "ID kept");
            let fo = be16(f, 6);
            assert_eq!((fo & 0x1fff) as usize * 8, expect);
            assert_eq!(fo & 0x2000 != 0, i + 1 < frags.len());
            if i + 1 < frags.len() {
                assert_eq!((f.len() - hl) % 8, 0);
            }
            out.extend_from_slice(&f[hl..]);
            expect += f.len() - hl;
        }
        out
    }

    #[test]
    fn ipv4_fragments_fit_and_join() {
        for opts in [&[][..], &[0x01, 0x01, 0x01, 0x00][..]] {
            for payload in [0, 1, 7, 8, 47, 48, 100, 1000, 1479, 1480, 1481, 3000, 9000] {
                for mtu in [68, 69, 76, 100, 576, 1280, 1500, 9000] {
                    let p = ipv4_packet(opts, payload, false, 0x1234);
                    let f = Fragmenter::ipv4(&p, mtu).unwrap();
                    let frags = all(&f);
                    assert!(frags.iter().all(|x| x.len() <= mtu));
                    if p.len() <= mtu {
                        assert_eq!(frags, vec![p.clone()]);
                        continue;
                    }
                    let mut joined = join_v4(&frags);
                    // Restore what reassembly restores: length, flags, checksum.
                    let n = joined.len() as u16;
                    joined[2..4].copy_from_slice(&n.to_be_bytes());
                    joined[6..8].copy_from_slice(&[0, 0]);
                    joined[10..12].copy_from_slice(&p[10..12]);
                    assert_eq!(joined, p, "payload {payload} mtu {mtu}");
                    // Fragments are as large as the MTU allows (but the last).
                    for x in &frags[..frags.len() - 1] {
                        assert!(x.len() + 8 > mtu);
                    }
                }
            }
        }
    }

    #[test]
    fn ipv4_options_copied_only_when_flagged() {
        // Security (130, copied, 11 bytes), record route (7, not copied, 7 bytes), NOP,
        // end-of-list padding: 20 bytes of options.
        let mut opts = vec![130, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        opts.extend_from_slice(&[7, 7, 4, 0, 0, 0, 0]);
        opts.extend_from_slice(&[1, 0]);
        let p = ipv4_packet(&opts, 500, false, 7);
        let f = Fragmenter::ipv4(&p, 200).unwrap();
        let frags = all(&f);
        assert_eq!(
            frags[0][20..40],
            p[20..40],
            "first fragment carries every option"
        );
        assert_eq!(frags[0][0], 0x4a);
        for x in &frags[1..] {
            assert_eq!(x[0], 0x48, "20 + 11 copied bytes padded to 32");
            assert_eq!(x[20..31], opts[..11]);
            assert_eq!(x[31], 0);
            assert_eq!(checksum::checksum(&x[..32]), 0);
        }
        let mut joined = Vec::new();
        for x in &frags {
            let hl = (x[0] & 15) as usize * 4;
            joined.extend_from_slice(&x[hl..]);
        }
        assert_eq!(joined, p[40..]);
    }

    #[test]
    fn ipv4_fragment_of_a_fragment_keeps_offset_and_mf() {
        let mut p = ipv4_packet(&[], 400, false, 9);
        p[6..8].copy_from_slice(&(0x2000u16 | 100).to_be_bytes()); // MF, offset 800
        let c = {
            p[10..12].copy_from_slice(&[0, 0]);
            checksum::checksum(&p[..20])
        };
        p[10..12].copy_from_slice(&c.to_be_bytes());
        let frags = all(&Fragmenter::ipv4(&p, 220).unwrap());
        assert_eq!(frags.len(), 2);
        assert_eq!(be16(&frags[0], 6), 0x2000 | 100);
        assert_eq!(be16(&frags[1], 6), 0x2000 | (100 + 25));
        // Offset overflow: a fragment near 64 KiB cannot be split past the 13-bit field.
        p[6..8].copy_from_slice(&(0x1ff0u16).to_be_bytes());
        assert_eq!(Fragmenter::ipv4(&p, 100).err(), Some(FragError::Malformed));
    }

    #[test]
    fn ipv4_errors() {
        let p = ipv4_packet(&[], 2000, true, 1);
        assert_eq!(
            Fragmenter::ipv4(&p, 1500).err(),
            Some(FragError::DontFragment)
        );
        assert_eq!(Fragmenter::ipv4(&p, 2020).map(|f| f.count()), Ok(1));
        let p = ipv4_packet(&[], 2000, false, 1);
        assert_eq!(Fragmenter::ipv4(&p, 67).err(), Some(FragError::MtuTooSmall));
        assert_eq!(Fragmenter::ipv4(&p, 0).err(), Some(FragError::MtuTooSmall));
        assert_eq!(
            Fragmenter::ipv4(&p[..100], 1500).err(),
            Some(FragError::Malformed)
        );
        assert_eq!(
            Fragmenter::ipv4(&p[..19], 1500).err(),
            Some(FragError::Malformed)
        );
        assert_eq!(
            Fragmenter::ipv4(&[], 1500).err(),
            Some(FragError::Malformed)
        );
        let mut q = p.clone();
        q[0] = 0x44;
        assert_eq!(Fragmenter::ipv4(&q, 1500).err(), Some(FragError::Malformed));
        q[0] = 0x65;
        assert_eq!(Fragmenter::ipv4(&q, 1500).err(), Some(FragError::Malformed));
        let mut q = p.clone();
        q[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert_eq!(Fragmenter::ipv4(&q, 1500).err(), Some(FragError::Malformed));
        // Option overrunning the header.
        let q = ipv4_packet(&[130, 9, 0, 0], 2000, false, 1);
        assert_eq!(Fragmenter::ipv4(&q, 1500).err(), Some(FragError::Malformed));
        let q = ipv4_packet(&[130, 1, 0, 0], 2000, false, 1);
        assert_eq!(Fragmenter::ipv4(&q, 1500).err(), Some(FragError::Malformed));
        let f = Fragmenter::ipv4(&p, 1500).unwrap();
        assert_eq!(f.count(), 2);
        assert_eq!(f.write(2, &mut [0; 2000]), Err(FragError::BadIndex));
        assert_eq!(f.write(0, &mut [0; 1499]), Err(FragError::BufferTooSmall));
        assert_eq!(f.fragment_len(2), 0);
        assert_eq!(f.lens().collect::<Vec<_>>(), vec![1500, 20 + 2000 - 1480]);
        // Trailing bytes (Ethernet padding) are not part of the packet.
        let mut padded = p.clone();
        padded.extend_from_slice(&[0; 30]);
        assert_eq!(all(&Fragmenter::ipv4(&padded, 1500).unwrap()), all(&f));
    }

    fn join_v6(frags: &[Vec<u8>], unfrag: usize) -> Vec<u8> {
        let first = &frags[0];
        let mut out = first[..unfrag].to_vec();
        let mut expect = 0;
        let id = &first[unfrag + 4..unfrag + 8];
        for (i, f) in frags.iter().enumerate() {
            assert_eq!(be16(f, 4) as usize + 40, f.len());
            assert_eq!(&f[unfrag + 4..unfrag + 8], id);
            let fo = be16(f, unfrag + 2);
            assert_eq!((fo & 0xfff8) as usize, expect);
            assert_eq!(fo & 1 != 0, i + 1 < frags.len());
            assert_eq!(f[unfrag + 1], 0);
            assert_eq!(f[unfrag], first[unfrag]);
            if i + 1 < frags.len() {
                assert_eq!((f.len() - unfrag - 8) % 8, 0);
            }
            out.extend_from_slice(&f[unfrag + 8..]);
            expect += f.len() - unfrag - 8;
        }
        out
    }

    #[test]
    fn ipv6_fragments_fit_and_join() {
        type Ext<'a> = &'a [(u8, usize)];
        let cases: [(Ext, usize, u8); 5] = [
            (&[], 40, 6),
            (&[(0, 8)], 48, 40),
            (&[(0, 16), (43, 24)], 80, 56),
            // Destination options before a routing header are unfragmentable...
            (&[(60, 8), (43, 24)], 72, 48),
            // ... and after the last one they travel in the fragments.
            (&[(0, 8), (60, 16)], 48, 40),
        ];
        for (ext, unfrag, nh_at) in cases {
            for payload in [0, 1, 8, 1000, 1232, 1233, 1300, 3000, 9000, 65000] {
                for mtu in [1280, 1281, 1287, 1500, 9000] {
                    let p = ipv6_packet(ext, payload);
                    let f = Fragmenter::ipv6(&p, mtu, 0xdead_beef).unwrap();
                    let frags = all(&f);
                    assert!(frags.iter().all(|x| x.len() <= mtu));
                    if p.len() <= mtu {
                        assert_eq!(frags, vec![p.clone()]);
                        continue;
                    }
                    for x in &frags {
                        assert_eq!(x[nh_at as usize], proto::IPV6_FRAG);
                        assert_eq!(x[unfrag + 4..unfrag + 8], 0xdead_beefu32.to_be_bytes());
                    }
                    let mut joined = join_v6(&frags, unfrag);
                    joined[nh_at as usize] = frags[0][unfrag];
                    joined[4..6].copy_from_slice(&p[4..6]);
                    assert_eq!(joined, p, "ext {ext:?} payload {payload} mtu {mtu}");
                    for x in &frags[..frags.len() - 1] {
                        assert!(x.len() + 8 > mtu);
                    }
                }
            }
        }
    }

    #[test]
    fn ipv6_errors() {
        let p = ipv6_packet(&[], 3000);
        assert_eq!(
            Fragmenter::ipv6(&p, 1279, 1).err(),
            Some(FragError::MtuTooSmall)
        );
        assert_eq!(
            Fragmenter::ipv6(&p[..100], 1500, 1).err(),
            Some(FragError::Malformed)
        );
        assert_eq!(
            Fragmenter::ipv6(&p[..39], 1500, 1).err(),
            Some(FragError::Malformed)
        );
        assert_eq!(
            Fragmenter::ipv6(&ipv4_packet(&[], 10, false, 0), 1500, 1).err(),
            Some(FragError::Malformed)
        );
        let q = ipv6_packet(&[(44, 8)], 3000);
        assert_eq!(
            Fragmenter::ipv6(&q, 1500, 1).err(),
            Some(FragError::AlreadyFragmented)
        );
        // Hop-by-hop not first.
        let q = ipv6_packet(&[(43, 8), (0, 8)], 3000);
        assert_eq!(
            Fragmenter::ipv6(&q, 1500, 1).err(),
            Some(FragError::Malformed)
        );
        // Extension header overrunning the packet.
        let mut q = ipv6_packet(&[(0, 8)], 0);
        q[41] = 5;
        assert_eq!(
            Fragmenter::ipv6(&q, 1500, 1).err(),
            Some(FragError::Malformed)
        );
        // An unfragmentable part that leaves no room in the MTU.
        let q = ipv6_packet(&[(0, 1280)], 100);
        assert_eq!(
            Fragmenter::ipv6(&q, 1280, 1).err(),
            Some(FragError::MtuTooSmall)
        );
        let q = ipv6_packet(&[(0, 1232)], 100);
        assert_eq!(
            Fragmenter::ipv6(&q, 1280, 1).err(),
            Some(FragError::MtuTooSmall)
        );
        assert_eq!(
            Fragmenter::ipv6(&ipv6_packet(&[(0, 1224)], 100), 1280, 1).map(|f| f.count()),
            Ok(13)
        );
        assert_eq!(
            Fragmenter::new(&[0x50; 60], 1500, 0).err(),
            Some(FragError::Malformed)
        );
        assert_eq!(Fragmenter::new(&p, 1500, 0).map(|f| f.count()), Ok(3));
    }

    #[test]
    fn never_panics_on_random_input() {
        let mut s = 0x1234_5678_9abc_def0u64;
        let mut rnd = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for i in 0..20_000 {
            let len = (rnd() % 3000) as usize;
            let mut p: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
            if let Some(b) = p.first_mut() {
                *b = if i % 2 == 0 { 0x40 | (*b & 15) } else { 0x60 };
            }
            if len >= 7 && i % 3 != 0 {
                let l = (rnd() % 3000) as u16;
                p[2..4].copy_from_slice(&l.to_be_bytes());
                p[4..6].copy_from_slice(&l.saturating_sub(40).to_be_bytes());
                p[6] &= 0xbf; // DF clear more often than not
            }
            let mtu = (rnd() % 3000) as usize;
            if let Ok(f) = Fragmenter::new(&p, mtu, 1) {
                for k in 0..f.count() {
                    let mut b = vec![0; f.fragment_len(k)];
                    assert!(f.write(k, &mut b).is_ok());
                    assert!(b.len() <= mtu);
                }
            }
        }
    }
}
