//! An inbound SA's traffic selectors (RFC 4301 §5.2: a decrypted packet must match the SA's
//! selectors), kept where a packet reads them: the common case, one pair of address
//! prefixes with any protocol and ports, inline in the SA's per-packet lines; anything else
//! in a list of its own (one more line to read, not prefetched).

use crate::spd::{net_contains, FlowKey, IpNet, PortRange, Selector};
use crate::wire::ip::{IpHeader, IpVersion};

/// The selectors a decrypted packet must match (none: any packet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selectors(Repr);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Repr {
    #[default]
    Any,
    /// One selector of any protocol and ports: the two prefixes alone.
    Pair { src: IpNet, dst: IpNet },
    /// Two or more selectors, or one with a protocol or ports.
    List(Vec<Selector>),
}

// Inside the SA's fourth line, beside what precedes it (see the layout map in sa's tests).
const _: () = assert!(std::mem::size_of::<Selectors>() <= 40);

/// Whether `s` is a pair of prefixes alone (any protocol, any ports).
fn is_pair(s: &Selector) -> bool {
    s.proto.is_none() && s.sport == PortRange::ANY && s.dport == PortRange::ANY
}

impl Selectors {
    /// Whether every packet matches (no selector).
    #[inline]
    pub fn is_any(&self) -> bool {
        matches!(self.0, Repr::Any)
    }

    pub fn is_empty(&self) -> bool {
        self.is_any()
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Any => 0,
            Repr::Pair { .. } => 1,
            Repr::List(l) => l.len(),
        }
    }

    /// Adds a selector: a packet then matches if it matches any of them.
    pub fn push(&mut self, s: Selector) {
        self.0 = match std::mem::take(&mut self.0) {
            Repr::Any if is_pair(&s) => Repr::Pair {
                src: s.src,
                dst: s.dst,
            },
            Repr::Any => Repr::List(vec![s]),
            Repr::Pair { src, dst } => Repr::List(vec![Selector::between(src, dst), s]),
            Repr::List(mut l) => {
                l.push(s);
                Repr::List(l)
            }
        };
    }

    /// The selectors, in the order they were added.
    pub fn to_vec(&self) -> Vec<Selector> {
        match &self.0 {
            Repr::Any => Vec::new(),
            Repr::Pair { src, dst } => vec![Selector::between(*src, *dst)],
            Repr::List(l) => l.clone(),
        }
    }

    /// Whether a decrypted packet's flow is allowed: no selector, or one that it matches.
    #[inline]
    pub fn allow(&self, flow: &FlowKey) -> bool {
        match &self.0 {
            Repr::Any => true,
            Repr::Pair { src, dst } => net_contains(src, &flow.src) && net_contains(dst, &flow.dst),
            Repr::List(l) => l.iter().any(|s| s.matches(flow)),
        }
    }

    /// As [`Selectors::allow`] for the IP packet `packet`, parsed as `h`. An IPv4 pair of
    /// prefixes reads the two addresses straight from the header: no flow key built, no
    /// ports read (a line further into the packet), no call.
    #[inline(always)]
    pub fn allow_packet(&self, h: &IpHeader, packet: &[u8]) -> bool {
        match (&self.0, h.version, packet.get(12..20)) {
            (Repr::Any, ..) => true,
            (
                Repr::Pair {
                    src: IpNet::V4(s),
                    dst: IpNet::V4(d),
                },
                IpVersion::V4,
                Some(a),
            ) => {
                let word = |at: usize| u32::from_be_bytes([a[at], a[at + 1], a[at + 2], a[at + 3]]);
                let within = |n: &ipnet::Ipv4Net, x: u32| {
                    (x ^ u32::from(n.addr())) & u32::from(n.netmask()) == 0
                };
                within(s, word(0)) & within(d, word(4))
            }
            _ => self.allow(&FlowKey::of(h, packet)),
        }
    }
}

impl From<Vec<Selector>> for Selectors {
    fn from(list: Vec<Selector>) -> Self {
        list.into_iter().collect()
    }
}

impl FromIterator<Selector> for Selectors {
    fn from_iter<I: IntoIterator<Item = Selector>>(iter: I) -> Self {
        let mut s = Selectors::default();
        for x in iter {
            s.push(x);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use toolkit::xorshift::Rng;

    fn net(rng: &mut Rng, v6: bool) -> IpNet {
        let r = rng.next_u64();
        if v6 {
            let a = (r as u128) << 64 | (rng.next_u64() as u128);
            // Short prefixes often, so that random flows fall inside some.
            let len = [0u8, 1, 8, 48, 64, 127, 128][(r % 7) as usize];
            format!("{}/{len}", Ipv6Addr::from(a)).parse().unwrap()
        } else {
            let len = [0u8, 1, 2, 4, 8, 24, 32][(r % 7) as usize];
            format!("{}/{len}", Ipv4Addr::from(r as u32))
                .parse()
                .unwrap()
        }
    }

    fn selector(rng: &mut Rng) -> Selector {
        let v6 = rng.next_u64() & 1 == 1;
        let mut s = Selector::between(net(rng, v6), net(rng, v6));
        match rng.next_u64() % 4 {
            0 => s.proto = Some(17),
            1 => s.dport = PortRange::new(0, 1024),
            2 => s.sport = PortRange::single(53),
            _ => {}
        }
        s
    }

    fn flow(rng: &mut Rng, near: &Selector) -> FlowKey {
        let addr = |rng: &mut Rng, n: &IpNet| -> IpAddr {
            // Inside or just outside the prefix, or of the other family.
            let r = rng.next_u64();
            match (n, r % 5) {
                (_, 0) if n.addr().is_ipv4() => IpAddr::from([0u16; 8]),
                (_, 0) => IpAddr::from([0u8; 4]),
                (IpNet::V4(n), _) => IpAddr::from(Ipv4Addr::from(
                    u32::from(n.addr()) ^ ((r >> 8) as u32 >> n.prefix_len().min(31)),
                )),
                (IpNet::V6(n), _) => IpAddr::from(Ipv6Addr::from(
                    u128::from(n.addr()) ^ ((r as u128) << 64 >> n.prefix_len().min(127)),
                )),
            }
        };
        let r = rng.next_u64();
        FlowKey {
            src: addr(rng, &near.src),
            dst: addr(rng, &near.dst),
            proto: if r & 1 == 0 { 17 } else { 6 },
            sport: if r & 2 == 0 { 53 } else { (r >> 16) as u16 },
            dport: (r >> 32) as u16,
        }
    }

    /// Against the list they stand for, selector by selector (RFC 4301's "any of them"),
    /// over random selectors of both families and flows in, near and outside them.
    #[test]
    fn allow_agrees_with_the_list() {
        let mut rng = Rng::new(0x5e1);
        let mut inline = 0;
        // Inline pairs' verdicts: (allowed, refused).
        let mut seen = (0, 0);
        for _ in 0..3000 {
            let n = (rng.next_u64() % 4) as usize;
            let list: Vec<Selector> = (0..n).map(|_| selector(&mut rng)).collect();
            let s = Selectors::from(list.clone());
            assert_eq!(s.len(), list.len());
            assert_eq!(s.to_vec(), list);
            inline += usize::from(matches!(s.0, Repr::Pair { .. }));
            for _ in 0..20 {
                let near = match list.get((rng.next_u64() % 4) as usize) {
                    Some(x) => *x,
                    None => selector(&mut rng),
                };
                let f = flow(&mut rng, &near);
                let want = list.is_empty() || list.iter().any(|x| x.matches(&f));
                assert_eq!(s.allow(&f), want, "{list:?} {f:?}");
                if matches!(s.0, Repr::Pair { .. }) {
                    if want {
                        seen.0 += 1
                    } else {
                        seen.1 += 1
                    }
                }
            }
        }
        assert!(inline > 100, "the inline case was exercised ({inline})");
        assert!(
            seen.0 > 300 && seen.1 > 300,
            "inline pairs both allow and refuse: {seen:?}"
        );
    }

    /// The packet of a flow: an IPv4 or IPv6 header (by the flow's source) and its ports.
    fn packet_of(f: &FlowKey) -> Vec<u8> {
        let mut p = match (f.src, f.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut h = vec![0x45, 0, 0, 24, 0, 0, 0, 0, 64, f.proto, 0, 0];
                h.extend_from_slice(&s.octets());
                h.extend_from_slice(&d.octets());
                h
            }
            (s, d) => {
                let v6 = |a: IpAddr| match a {
                    IpAddr::V6(a) => a,
                    IpAddr::V4(a) => a.to_ipv6_mapped(),
                };
                let mut h = vec![0x60, 0, 0, 0, 0, 4, f.proto, 64];
                h.extend_from_slice(&v6(s).octets());
                h.extend_from_slice(&v6(d).octets());
                h
            }
        };
        p.extend_from_slice(&f.sport.to_be_bytes());
        p.extend_from_slice(&f.dport.to_be_bytes());
        p
    }

    /// A packet's verdict read from its header (`allow_packet`, which reads an IPv4 pair's
    /// addresses in place) is the verdict on its flow key, for every kind of selectors.
    #[test]
    fn allow_packet_agrees_with_allow() {
        let mut rng = Rng::new(0xa11);
        let mut pairs = (0, 0);
        for _ in 0..3000 {
            let n = (rng.next_u64() % 3) as usize;
            let list: Vec<Selector> = (0..n).map(|_| selector(&mut rng)).collect();
            let s = Selectors::from(list.clone());
            for _ in 0..20 {
                let near = list.first().copied().unwrap_or_else(|| selector(&mut rng));
                let mut f = flow(&mut rng, &near);
                let p = packet_of(&f);
                let h = IpHeader::parse(&p).unwrap();
                if let (IpAddr::V4(_), IpAddr::V6(_)) | (IpAddr::V6(_), IpAddr::V4(_)) =
                    (f.src, f.dst)
                {
                    // one header holds one family: the packet's flow is the mapped one
                    f = FlowKey::of(&h, &p);
                }
                assert_eq!(FlowKey::of(&h, &p), f);
                let want = s.allow(&f);
                assert_eq!(s.allow_packet(&h, &p), want, "{list:?} {f:?}");
                if matches!(s.0, Repr::Pair { .. }) && h.version == IpVersion::V4 {
                    if want {
                        pairs.0 += 1
                    } else {
                        pairs.1 += 1
                    }
                }
            }
        }
        assert!(
            pairs.0 > 300 && pairs.1 > 100,
            "IPv4 pairs both allow and refuse: {pairs:?}"
        );
    }

    #[test]
    fn a_pair_is_inline_and_more_is_a_list() {
        let p = Selector::between("10.0.0.0/8".parse().unwrap(), "0.0.0.0/0".parse().unwrap());
        let mut s = Selectors::default();
        assert!(s.is_any());
        s.push(p);
        assert!(matches!(s.0, Repr::Pair { .. }));
        let mut ported = p;
        ported.dport = PortRange::single(80);
        s.push(ported);
        assert!(matches!(&s.0, Repr::List(l) if l.len() == 2));
        assert_eq!(s.to_vec(), vec![p, ported]);
        assert!(matches!(Selectors::from(vec![ported]).0, Repr::List(_)));
    }
}
