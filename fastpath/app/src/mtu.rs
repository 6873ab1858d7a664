//! MTU handling around the ESP core (RFC 4301 §8): an ESP packet larger than the port's MTU is
//! fragmented after encryption, unless the inner packet may not be (IPv4 with DF, or IPv6), in
//! which case its sender gets ICMP fragmentation-needed / packet-too-big with the MTU left for
//! it; outer fragments that arrive are reassembled before decryption. The pure parts live in
//! the ESP core (`esp::wire::fragment`, `esp::reassembly`, `esp::icmp`); this module moves
//! their bytes in and out of mbufs.

use crate::ether;
use dpdk::mbuf::{Mbuf, MbufBurst};
use dpdk::mempool::Mempool;
use esp::outbound::{encapsulated_len, encapsulated_len_bound, max_inner_len};
use esp::reassembly::{Insert, Reassembler};
use esp::sa::{Mode, Sa};
use esp::wire::fragment::Fragmenter;
use esp::wire::ip::{IpHeader, IpVersion};
use std::net::IpAddr;

/// The smallest MTU IPv6 allows (RFC 8200 §5): below it, the outer packet is fragmented
/// rather than asking an IPv6 sender to go lower.
const IPV6_MIN_MTU: usize = 1280;

/// More than any SA adds to a packet: IPv6 outer header 40, UDP 8, ESP 8, IV 16, padding up
/// to 15 plus 2 trailer bytes, ICV 16 (105).
const MAX_ESP_OVERHEAD: usize = 128;

/// Whether a packet of `len` bytes fits `mtu` once protected by any SA: what the caller knows
/// before it reads the SA (with 100,000 SAs, a cache miss it need not take here).
#[inline]
pub fn fits_any_sa(len: usize, mtu: usize) -> bool {
    len + MAX_ESP_OVERHEAD <= mtu
}

/// Whether a packet of `len` bytes fits `mtu` once protected by `sa`, whatever its header:
/// a bound that grows with `len`, so a length that fits says that every shorter one does too.
#[inline]
pub fn fits_sa(sa: &Sa, len: usize, mtu: usize) -> bool {
    encapsulated_len_bound(sa, len) <= mtu
}

/// Counters of the MTU path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MtuCounters {
    /// ESP packets fragmented after encryption, and the fragments sent.
    pub fragmented: u64,
    pub fragments_out: u64,
    /// ICMP too-big errors sent back to senders.
    pub icmp_too_big: u64,
    /// Outer fragments received, and whole packets rebuilt from them.
    pub fragments_in: u64,
    pub reassembled: u64,
    /// Packets or fragments dropped: no mbuf, no source address for the ICMP error, or
    /// refused by the reassembler (malformed, overlapping, too big, over its source's share).
    pub dropped: u64,
    /// Datagrams the reassembler gave up: timed out, evicted from a full table (the oldest
    /// of the source holding the most), and new ones refused (their source at its share).
    pub reassembly_timed_out: u64,
    pub reassembly_evicted: u64,
    pub reassembly_refused: u64,
    /// Packets for the node larger than its TAP's MTU, given to the kernel in fragments.
    pub to_kernel_fragmented: u64,
}

impl MtuCounters {
    /// Each counter by the name operators read (`--json`'s `mtu`, `fastpath-ctl stats`).
    pub fn named(&self) -> [(&'static str, u64); 10] {
        [
            ("fragmented", self.fragmented),
            ("fragments_out", self.fragments_out),
            ("icmp_too_big", self.icmp_too_big),
            ("fragments_in", self.fragments_in),
            ("reassembled", self.reassembled),
            ("dropped", self.dropped),
            ("reassembly_timed_out", self.reassembly_timed_out),
            ("reassembly_evicted", self.reassembly_evicted),
            ("reassembly_refused", self.reassembly_refused),
            ("to_kernel_fragmented", self.to_kernel_fragmented),
        ]
    }
}

/// What the MTU path of one worker owns.
pub struct MtuPath {
    /// Mbufs for fragments and ICMP errors.
    pub pool: Mempool,
    /// Mbufs large enough for a reassembled packet.
    pub big_pool: Mempool,
    pub reassembler: Reassembler,
    pub counters: MtuCounters,
    next_ipv6_id: u32,
}

/// What to do with an outbound packet that is about to be encrypted.
pub enum Fit {
    Fits,
    /// Encrypt, then fragment the ESP packet.
    FragmentAfter,
    /// Do not encrypt: the sender must send smaller packets (this ICMP error tells it).
    TooBig(Option<Mbuf>),
    /// As `TooBig`, for the node's own packet: the ICMP error is for its kernel, and comes
    /// from the far end (the SA's tunnel peer, or the packet's destination), since one from
    /// the node's own address would be a martian to it.
    TooBigFromNode(Option<Mbuf>),
}

impl MtuPath {
    pub fn new(
        pool: Mempool,
        big_pool: Mempool,
        reassembler: Reassembler,
        worker: usize,
    ) -> MtuPath {
        MtuPath {
            pool,
            big_pool,
            reassembler,
            counters: MtuCounters::default(),
            next_ipv6_id: (worker as u32) << 24,
        }
    }

    /// Decides for `packet` (an inner IP packet) protected by `sa` on a port of `mtu` bytes;
    /// builds the ICMP error from the first of `locals` of the right family when one is due.
    pub fn check(&mut self, sa: &Sa, packet: &[u8], mtu: usize, locals: &[IpAddr]) -> Fit {
        // Most packets are far below the MTU: no need to parse them again to know.
        if fits_any_sa(packet.len(), mtu) {
            return Fit::Fits;
        }
        // Near the MTU: this SA's own overhead, still without parsing (parsing cost 1.2 % of
        // the time per 1400-byte packet, perf on the bench's `out` cell).
        if fits_sa(sa, packet.len(), mtu) {
            return Fit::Fits;
        }
        let Ok(h) = IpHeader::parse(packet) else {
            return Fit::Fits;
        };
        if encapsulated_len(sa, h.total_len, h.header_len) <= mtu {
            return Fit::Fits;
        }
        let room = max_inner_len(sa, mtu, h.header_len);
        let must_not_fragment = match h.version {
            IpVersion::V4 => h.dont_fragment,
            IpVersion::V6 => room >= IPV6_MIN_MTU,
        };
        if !must_not_fragment {
            return Fit::FragmentAfter;
        }
        let v4 = h.version == IpVersion::V4;
        if locals.contains(&h.src(packet)) {
            let src = match sa.config.mode {
                Mode::Tunnel { remote, .. } if remote.is_ipv4() == v4 => remote,
                _ => h.dst(packet),
            };
            return Fit::TooBigFromNode(self.icmp(src, packet, room));
        }
        let src = locals.iter().copied().find(|a| a.is_ipv4() == v4);
        Fit::TooBig(src.and_then(|src| self.icmp(src, packet, room)))
    }

    fn icmp(&mut self, src: IpAddr, offending: &[u8], mtu: usize) -> Option<Mbuf> {
        let mut m = self.pool.alloc()?;
        let room = m.tailroom().min(IPV6_MIN_MTU as u16);
        let out = m.append(room)?;
        let len = esp::icmp::too_big(src, offending, mtu, out)?;
        m.trim(room - len as u16);
        self.counters.icmp_too_big += 1;
        Some(m)
    }

    /// Splits an ESP packet (IP, no Ethernet) into fragments of at most `mtu` bytes, pushed
    /// into `out` as far as it has room; the original is consumed.
    pub fn fragment<const N: usize>(&mut self, m: Mbuf, mtu: usize, out: &mut MbufBurst<N>) {
        let before = out.len();
        let whole = self.split(m.data(), mtu, out);
        self.counters.fragments_out += (out.len() - before) as u64;
        if whole {
            self.counters.fragmented += 1;
        } else {
            self.counters.dropped += 1;
        }
    }

    /// Splits a frame for the kernel (Ethernet, then an IP packet larger than `mtu`, such as a
    /// reassembled IKE message) into frames with the same Ethernet header and IP fragments of
    /// at most `mtu` bytes, pushed into `out`: a TAP refuses frames over its MTU, and the
    /// kernel reassembles them again. The original is consumed.
    pub fn fragment_frame<const N: usize>(&mut self, m: Mbuf, mtu: usize, out: &mut MbufBurst<N>) {
        let Some((eth, ip)) = m.data().split_first_chunk::<{ ether::HEADER_LEN }>() else {
            self.counters.dropped += 1;
            return;
        };
        let before = out.len();
        let whole = self.split(ip, mtu, out);
        for f in &mut out.as_mut_slice()[before..] {
            if let Some(h) = f.prepend(ether::HEADER_LEN as u16) {
                h.copy_from_slice(eth);
            }
        }
        if whole {
            self.counters.to_kernel_fragmented += 1;
        } else {
            self.counters.dropped += 1;
        }
    }

    /// Pushes the IP fragments of `packet` (at most `mtu` bytes each) into `out`; false if
    /// not all of them made it (unfragmentable, no room in `out`, no mbuf).
    fn split<const N: usize>(&mut self, packet: &[u8], mtu: usize, out: &mut MbufBurst<N>) -> bool {
        self.next_ipv6_id = self.next_ipv6_id.wrapping_add(1);
        let Ok(frag) = Fragmenter::new(packet, mtu, self.next_ipv6_id) else {
            return false;
        };
        if frag.count() > out.spare() {
            return false;
        }
        for k in 0..frag.count() {
            let len = frag.fragment_len(k);
            let Some(mut f) = self.pool.alloc() else {
                return false;
            };
            let Some(buf) = u16::try_from(len).ok().and_then(|l| f.append(l)) else {
                return false;
            };
            if frag.write(k, buf).is_err() {
                return false;
            }
            let _ = out.push(f);
        }
        true
    }

    /// The counters, the reassembler's give-ups included.
    pub fn counters(&self) -> MtuCounters {
        let r = self.reassembler.counters();
        MtuCounters {
            reassembly_timed_out: r.timed_out,
            reassembly_evicted: r.evicted,
            reassembly_refused: r.source_limit,
            ..self.counters.clone()
        }
    }

    /// Adds an outer fragment (its IP packet, with its Ethernet header just before it as the
    /// port's receive left it); returns the whole packet once it is complete, laid out the
    /// same way with the Ethernet header of the fragment that completed it (all came from
    /// one sender): what is for the node reaches the kernel in that frame.
    pub fn reassemble(&mut self, mut m: Mbuf, now_ns: u64) -> Option<Mbuf> {
        self.counters.fragments_in += 1;
        match self.reassembler.insert(m.data(), now_ns) {
            Insert::Complete(len) => {
                let mut eth = [0u8; ether::HEADER_LEN];
                let Some(h) = m.prepend(ether::HEADER_LEN as u16) else {
                    self.counters.dropped += 1;
                    return None;
                };
                eth.copy_from_slice(h);
                drop(m);
                let whole = self.whole_frame(&eth, len);
                if whole.is_none() {
                    self.counters.dropped += 1;
                }
                whole
            }
            Insert::Incomplete | Insert::NotFragment => None,
            Insert::Dropped(_) => {
                self.counters.dropped += 1;
                None
            }
        }
    }

    /// The reassembled packet of `len` bytes in a big mbuf, `eth` in the headroom before it.
    fn whole_frame(&mut self, eth: &[u8; ether::HEADER_LEN], len: usize) -> Option<Mbuf> {
        let mut whole = self.big_pool.alloc()?;
        let frame_len = u16::try_from(ether::HEADER_LEN + len).ok()?;
        let buf = whole.append(frame_len)?;
        buf[..ether::HEADER_LEN].copy_from_slice(eth);
        buf[ether::HEADER_LEN..].copy_from_slice(self.reassembler.reassembled());
        whole.adj(ether::HEADER_LEN as u16);
        self.counters.reassembled += 1;
        Some(whole)
    }
}
