//! The exception path: what the kernel sends through a port's TAP, and what the worker gives
//! it (frames that are not transit or ESP, and packets for the node itself).

use super::transmit::frame;
use super::{Worker, BURST};
use crate::ether;
use dpdk::mbuf::{Mbuf, MbufBurst};
use esp::spd::{Action, FlowKey};
use esp::wire::ip::IpHeader;
use esp::wire::{proto, IKE_PORT, NAT_T_PORT};
use std::net::IpAddr;

impl Worker {
    /// The kernel's frames from the TAP of port `of`: out of that port as they are, except the
    /// node's own IP traffic that an outbound policy protects (say, the answer to a ping of
    /// the gateway's inside address through the tunnel), which is encrypted as forwarded
    /// traffic is. See [`protectable_ip`] for what is never protected.
    pub(super) fn kernel_sent(&mut self, of: usize, rx: &mut MbufBurst<BURST>, now_ns: u64) {
        let mut protect = MbufBurst::<BURST>::default();
        let mut as_is = MbufBurst::<BURST>::default();
        for m in rx.take_all() {
            let covered = protectable_ip(m.data()).is_some_and(|(h, ip)| {
                matches!(
                    self.tables.spd_out.lookup(&FlowKey::of(&h, ip)),
                    Some((_, p)) if matches!(p.action, Action::Protect(_))
                )
            });
            let _ = if covered {
                protect.push(m)
            } else {
                as_is.push(m)
            };
        }
        if !as_is.is_empty() {
            self.transmit(of, &mut as_is);
        }
        if !protect.is_empty() {
            self.counters.from_node += protect.len() as u64;
            self.outbound(self.protected, &mut protect, now_ns);
        }
    }

    /// Gives IP packets to the kernel through the TAP of port `port`, as frames to the TAP's
    /// own MAC (as Linux re-injects what it decrypted on the interface the ESP came in on).
    pub(super) fn give_to_kernel<const N: usize>(&mut self, port: usize, burst: &mut MbufBurst<N>) {
        let Some(tap) = self.ports[port].exception else {
            self.counters.exception_dropped += burst.len() as u64;
            burst.clear();
            return;
        };
        frame(burst, self.ports[port].own_mac, self.ports[port].peer_mac);
        self.counters.exception += burst.len() as u64;
        self.send_to_kernel(tap, burst);
    }

    /// Hands a frame to the kernel through the port's TAP, or drops it if there is none.
    pub(super) fn exception(&mut self, from: usize, m: Mbuf) {
        match self.ports[from].exception {
            Some(tap) => {
                self.counters.exception += 1;
                let mut one = MbufBurst::<BURST>::default();
                let _ = one.push(m);
                self.send_to_kernel(tap, &mut one);
            }
            None => self.counters.exception_dropped += 1,
        }
    }
}

/// Whether the kernel should have a packet to `dst`: one of the node's addresses, multicast /
/// broadcast (VRRP, ND, DHCP...), or IPv6 link-local (never forwarded; the kernel solicits
/// from its TAP's link-local address, and the advertisements come back to it).
pub(super) fn for_node(locals: &[IpAddr], dst: IpAddr) -> bool {
    let special = match dst {
        IpAddr::V4(a) => a.is_broadcast(),
        IpAddr::V6(a) => a.is_unicast_link_local(),
    };
    dst.is_multicast() || special || locals.contains(&dst)
}

/// Whether a decrypted packet is for the node itself (one of its unicast addresses).
pub(super) fn is_for_node(locals: &[IpAddr], packet: &[u8]) -> bool {
    if locals.is_empty() {
        return false;
    }
    IpHeader::parse(packet).is_ok_and(|h| locals.contains(&h.dst(packet)))
}

/// The IP packet of a frame the kernel sends, parsed, if an outbound policy may protect it.
/// Never: what is not IP, multicast and broadcast, ESP and AH, VRRP, IKE and NAT-T on UDP
/// 500/4500 (the SAs depend on them: RFC 4301 §5.2 lets IKE bypass), and IPv6 neighbour
/// discovery.
fn protectable_ip(frame: &[u8]) -> Option<(IpHeader, &[u8])> {
    let ip = frame.get(ether::HEADER_LEN..)?;
    if !matches!(
        ether::ethertype(frame),
        Some(ether::ETHERTYPE_IPV4 | ether::ETHERTYPE_IPV6)
    ) {
        return None;
    }
    let h = IpHeader::parse(ip).ok()?;
    let dst = h.dst(ip);
    if dst.is_multicast() || matches!(dst, IpAddr::V4(a) if a.is_broadcast()) {
        return None;
    }
    let (sport, dport) = h.ports(ip);
    let may = match h.protocol {
        proto::ESP | proto::AH | proto::VRRP => false,
        proto::UDP => ![sport, dport]
            .iter()
            .any(|p| *p == IKE_PORT || *p == NAT_T_PORT),
        // Router and neighbour solicitation and advertisement, redirect (RFC 4861).
        proto::ICMPV6 => !(133..=137).contains(&sport),
        _ => true,
    };
    may.then_some((h, ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn may_protect(frame: &[u8]) -> bool {
        protectable_ip(frame).is_some()
    }

    /// An Ethernet frame with an IPv4 header (`protocol`, to `dst`) and 8 bytes of payload
    /// starting with `l4` (ports, or ICMP type and code).
    fn v4_frame(protocol: u8, dst: [u8; 4], l4: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; ether::HEADER_LEN];
        ether::write_header(&mut f, [1; 6], [2; 6], 4);
        let mut ip = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, protocol, 0, 0, 10, 0, 2, 254,
        ];
        ip.extend_from_slice(&dst);
        let c = esp::wire::checksum::checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&l4);
        f.extend_from_slice(&[0; 4]);
        f
    }

    fn v6_frame(protocol: u8, dst: [u8; 16], l4: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; ether::HEADER_LEN];
        ether::write_header(&mut f, [1; 6], [2; 6], 6);
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, 8, protocol, 64]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8].repeat(4));
        f.extend_from_slice(&dst);
        f.extend_from_slice(&l4);
        f.extend_from_slice(&[0; 4]);
        f
    }

    #[test]
    fn the_nodes_addresses_multicast_and_link_local_go_to_the_kernel() {
        let own: IpAddr = "2001:db8::fe".parse().unwrap();
        let to = |a: &str| for_node(&[own], a.parse().unwrap());
        for a in [
            "2001:db8::fe",
            "fe80::1",
            "ff02::1:ff00:1",
            "255.255.255.255",
            "224.0.0.18",
        ] {
            assert!(to(a), "{a}");
        }
        for a in ["2001:db8::1", "fec0::1", "10.0.0.1", "169.254.0.1"] {
            assert!(!to(a), "{a}");
        }
    }

    #[test]
    fn the_kernels_control_traffic_is_never_protected() {
        let peer = [10, 0, 1, 1];
        let udp = |s: u16, d: u16| {
            let (s, d) = (s.to_be_bytes(), d.to_be_bytes());
            v4_frame(proto::UDP, peer, [s[0], s[1], d[0], d[1]])
        };
        // What a policy may protect: ICMP echo, TCP, UDP on other ports.
        assert!(may_protect(&v4_frame(proto::ICMP, peer, [8, 0, 0, 0])));
        assert!(may_protect(&v4_frame(proto::TCP, peer, [0, 22, 4, 0])));
        assert!(may_protect(&udp(5000, 53)));
        // IKE and NAT-T either way, ESP, AH, VRRP.
        for (s, d) in [(500, 500), (4500, 4500), (40000, 500), (4500, 1234)] {
            assert!(!may_protect(&udp(s, d)), "udp {s} -> {d}");
        }
        for p in [proto::ESP, proto::AH, proto::VRRP] {
            assert!(!may_protect(&v4_frame(p, peer, [0; 4])));
        }
        // Multicast and broadcast.
        assert!(!may_protect(&v4_frame(
            proto::ICMP,
            [224, 0, 0, 18],
            [8, 0, 0, 0]
        )));
        assert!(!may_protect(&v4_frame(
            proto::UDP,
            [255, 255, 255, 255],
            [0, 68, 0, 67]
        )));
        // IPv6: echo may be protected, neighbour discovery (NS 135, NA 136) may not.
        let v6_peer = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
        assert!(may_protect(&v6_frame(
            proto::ICMPV6,
            v6_peer,
            [128, 0, 0, 0]
        )));
        for ty in [133, 134, 135, 136, 137] {
            assert!(!may_protect(&v6_frame(
                proto::ICMPV6,
                v6_peer,
                [ty, 0, 0, 0]
            )));
        }
        // Not IP, or cut short.
        let mut arp = v4_frame(proto::ICMP, peer, [8, 0, 0, 0]);
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert!(!may_protect(&arp));
        let whole = v4_frame(proto::ICMP, peer, [8, 0, 0, 0]);
        for n in 0..ether::HEADER_LEN + 20 {
            assert!(!may_protect(&whole[..n]), "{n} bytes");
        }
    }

    #[test]
    fn only_the_nodes_own_unicast_addresses_are_for_it() {
        let frame = v4_frame(proto::ICMP, [10, 0, 2, 254], [8, 0, 0, 0]);
        let packet = &frame[ether::HEADER_LEN..];
        let own: IpAddr = "10.0.2.254".parse().unwrap();
        let other: IpAddr = "10.0.2.1".parse().unwrap();
        assert!(is_for_node(&[other, own], packet));
        assert!(!is_for_node(&[other], packet));
        assert!(!is_for_node(&[], packet));
        assert!(!is_for_node(&[own], &packet[..10]));
    }
}
