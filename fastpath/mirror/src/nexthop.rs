//! The kernel's nexthop objects (`ip nexthop`, RTM_NEWNEXTHOP): routing daemons such as FRR
//! install routes that name a nexthop by id (RTA_NH_ID) rather than carry an interface and a
//! gateway. The rtnetlink crate does not model these messages, so they are read here from
//! their attributes (linux/nexthop.h).

use netlink_packet_core::NlasIterator;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const RTM_NEWNEXTHOP: u16 = 104;
pub const RTM_DELNEXTHOP: u16 = 105;
pub const RTM_GETNEXTHOP: u16 = 106;
/// The multicast group of nexthop events; past 31, so joined by membership, not bind mask.
pub const RTNLGRP_NEXTHOP: u32 = 32;

/// `struct nhmsg`: family, scope, protocol, reserved, then 32 bits of flags.
pub const NHMSG_LEN: usize = 8;

const NHA_ID: u16 = 1;
const NHA_GROUP: u16 = 2;
const NHA_BLACKHOLE: u16 = 4;
const NHA_OIF: u16 = 5;
const NHA_GATEWAY: u16 = 6;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// One nexthop object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelNextHop {
    pub id: u32,
    pub oif: Option<u32>,
    pub gateway: Option<IpAddr>,
    /// A group's members, by id (the FIB takes the first that leads through a TAP).
    pub group: Vec<u32>,
    pub blackhole: bool,
}

fn u32_of(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}

/// Reads one RTM_NEWNEXTHOP or RTM_DELNEXTHOP payload (after the netlink header).
pub fn parse(payload: &[u8]) -> Option<KernelNextHop> {
    let family = *payload.first()?;
    let attrs = payload.get(NHMSG_LEN..)?;
    let mut nh = KernelNextHop {
        id: 0,
        oif: None,
        gateway: None,
        group: Vec::new(),
        blackhole: false,
    };
    for nla in NlasIterator::new(attrs) {
        let nla = nla.ok()?;
        let v = nla.value();
        match nla.kind() {
            NHA_ID => nh.id = u32_of(v)?,
            NHA_OIF => nh.oif = Some(u32_of(v)?),
            NHA_BLACKHOLE => nh.blackhole = true,
            NHA_GATEWAY => {
                nh.gateway = Some(match family {
                    AF_INET => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(v).ok()?)),
                    AF_INET6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(v).ok()?)),
                    _ => return None,
                })
            }
            // `struct nexthop_grp`: the member's id, its weight, reserved bytes.
            NHA_GROUP => nh.group = v.chunks_exact(8).filter_map(u32_of).collect(),
            _ => {}
        }
    }
    (nh.id != 0).then_some(nh)
}

/// The payload of an RTM_GETNEXTHOP dump request: an empty `nhmsg`, every family.
pub fn dump_request() -> [u8; NHMSG_LEN] {
    [0; NHMSG_LEN]
}

#[cfg(test)]
impl KernelNextHop {
    pub fn single(id: u32, oif: u32, gateway: IpAddr) -> KernelNextHop {
        KernelNextHop {
            id,
            oif: Some(oif),
            gateway: Some(gateway),
            group: vec![],
            blackhole: false,
        }
    }

    pub fn group(id: u32, members: &[u32]) -> KernelNextHop {
        KernelNextHop {
            id,
            oif: None,
            gateway: None,
            group: members.to_vec(),
            blackhole: false,
        }
    }
}

#[cfg(test)]
pub mod wire {
    //! Nexthop payloads as the kernel writes them, for tests.
    use super::*;
    use netlink_packet_core::{DefaultNla, Emitable};

    pub fn payload(nh: &KernelNextHop) -> Vec<u8> {
        let family = match nh.gateway {
            Some(IpAddr::V4(_)) => AF_INET,
            Some(IpAddr::V6(_)) => AF_INET6,
            None => 0,
        };
        let mut nlas = vec![DefaultNla::new(NHA_ID, nh.id.to_ne_bytes().to_vec())];
        if let Some(oif) = nh.oif {
            nlas.push(DefaultNla::new(NHA_OIF, oif.to_ne_bytes().to_vec()));
        }
        match nh.gateway {
            Some(IpAddr::V4(a)) => nlas.push(DefaultNla::new(NHA_GATEWAY, a.octets().to_vec())),
            Some(IpAddr::V6(a)) => nlas.push(DefaultNla::new(NHA_GATEWAY, a.octets().to_vec())),
            None => {}
        }
        if !nh.group.is_empty() {
            let members = nh.group.iter().flat_map(|id| {
                let mut m = [0u8; 8];
                m[..4].copy_from_slice(&id.to_ne_bytes());
                m
            });
            nlas.push(DefaultNla::new(NHA_GROUP, members.collect()));
        }
        if nh.blackhole {
            nlas.push(DefaultNla::new(NHA_BLACKHOLE, Vec::new()));
        }
        let mut out = vec![0; NHMSG_LEN + nlas.as_slice().buffer_len()];
        out[0] = family;
        nlas.as_slice().emit(&mut out[NHMSG_LEN..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_group_and_blackhole_objects_read_back() {
        let hole = KernelNextHop {
            blackhole: true,
            ..KernelNextHop::group(10, &[])
        };
        for nh in [
            KernelNextHop::single(7, 3, "2001:db8::fe".parse().unwrap()),
            KernelNextHop::group(9, &[7, 8]),
            hole,
        ] {
            assert_eq!(parse(&wire::payload(&nh)), Some(nh));
        }
    }

    #[test]
    fn short_or_idless_payloads_are_refused() {
        let bytes = wire::payload(&KernelNextHop::single(7, 3, "10.0.0.1".parse().unwrap()));
        for cut in 0..bytes.len() {
            // Never a panic; a cut inside an attribute is refused.
            let parsed = parse(&bytes[..cut]);
            assert!(parsed.is_none() || parsed.as_ref().is_some_and(|p| p.id == 7));
        }
        assert_eq!(parse(&[2, 0, 0, 0, 0, 0, 0, 0]), None);
    }
}
