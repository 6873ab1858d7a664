//! Quick Mode's client identities (IDci, IDcr; RFC 2409 5.5, RFC 2407 4.6.2) as traffic
//! selectors and back: an address, a subnet or a range of one family, with an IP protocol
//! and one port or any.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::wire::{id_type, Identification};
use crate::message::TrafficSelector;

fn addr_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn addr_of(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(Ipv4Addr::from(<[u8; 4]>::try_from(b).ok()?).into()),
        16 => Some(Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?).into()),
        _ => None,
    }
}

fn as_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The prefix length of a range if it is exactly one prefix.
fn prefix_len(start: IpAddr, end: IpAddr) -> Option<u8> {
    let bits: u32 = if start.is_ipv4() { 32 } else { 128 };
    let (s, e) = (as_u128(start), as_u128(end));
    let host = s ^ e;
    // A prefix: the varying bits are a run of low ones and the start has them clear.
    if host & host.wrapping_add(1) != 0 || s & host != 0 || e < s {
        return None;
    }
    Some((bits - (128 - host.leading_zeros())) as u8)
}

fn mask(prefix: u8, v4: bool) -> Vec<u8> {
    if v4 {
        let m = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        };
        m.to_be_bytes().to_vec()
    } else {
        let m = if prefix == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(prefix))
        };
        m.to_be_bytes().to_vec()
    }
}

/// A selector as an identity: one address, else a subnet, else a range.
pub fn id_of(ts: &TrafficSelector) -> Identification {
    let v4 = ts.start_addr.is_ipv4();
    let port = if ts.start_port == ts.end_port {
        ts.start_port
    } else {
        0
    };
    let (id_type, data) = if ts.start_addr == ts.end_addr {
        let t = if v4 {
            id_type::IPV4_ADDR
        } else {
            id_type::IPV6_ADDR
        };
        (t, addr_bytes(ts.start_addr))
    } else if let Some(p) = prefix_len(ts.start_addr, ts.end_addr) {
        let t = if v4 {
            id_type::IPV4_ADDR_SUBNET
        } else {
            id_type::IPV6_ADDR_SUBNET
        };
        (t, [addr_bytes(ts.start_addr), mask(p, v4)].concat())
    } else {
        let t = if v4 {
            id_type::IPV4_ADDR_RANGE
        } else {
            id_type::IPV6_ADDR_RANGE
        };
        (
            t,
            [addr_bytes(ts.start_addr), addr_bytes(ts.end_addr)].concat(),
        )
    };
    Identification {
        id_type,
        protocol: ts.ip_protocol,
        port,
        data,
    }
}

/// An identity as a selector; `None` for a type that names no addresses or bad lengths.
pub fn ts_of(id: &Identification) -> Option<TrafficSelector> {
    let ports = if id.port == 0 {
        (0, 0xffff)
    } else {
        (id.port, id.port)
    };
    let half = id.data.len() / 2;
    let (start, end) = match id.id_type {
        id_type::IPV4_ADDR | id_type::IPV6_ADDR => {
            let a = addr_of(&id.data)?;
            (a, a)
        }
        id_type::IPV4_ADDR_SUBNET | id_type::IPV6_ADDR_SUBNET => {
            let a = as_u128(addr_of(&id.data[..half])?);
            let m = as_u128(addr_of(&id.data[half..])?);
            let v4 = half == 4;
            let all = if v4 { u128::from(u32::MAX) } else { u128::MAX };
            let (s, e) = (a & m, (a & m) | (!m & all));
            let back = |x: u128| -> IpAddr {
                if v4 {
                    Ipv4Addr::from(x as u32).into()
                } else {
                    Ipv6Addr::from(x).into()
                }
            };
            (back(s), back(e))
        }
        id_type::IPV4_ADDR_RANGE | id_type::IPV6_ADDR_RANGE => {
            (addr_of(&id.data[..half])?, addr_of(&id.data[half..])?)
        }
        _ => return None,
    };
    let family_ok = match id.id_type {
        id_type::IPV4_ADDR | id_type::IPV4_ADDR_SUBNET | id_type::IPV4_ADDR_RANGE => {
            start.is_ipv4()
        }
        _ => start.is_ipv6(),
    };
    (family_ok && as_u128(start) <= as_u128(end))
        .then(|| TrafficSelector::new(id.protocol, ports, start, end))
}

/// Whether `inner` lies within `outer` (addresses, ports and protocol).
pub fn within(inner: &TrafficSelector, outer: &TrafficSelector) -> bool {
    inner.start_addr.is_ipv4() == outer.start_addr.is_ipv4()
        && as_u128(inner.start_addr) >= as_u128(outer.start_addr)
        && as_u128(inner.end_addr) <= as_u128(outer.end_addr)
        && inner.start_port >= outer.start_port
        && inner.end_port <= outer.end_port
        && (outer.ip_protocol == 0 || outer.ip_protocol == inner.ip_protocol)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(a: &str, b: &str) -> TrafficSelector {
        TrafficSelector::new(0, (0, 0xffff), a.parse().unwrap(), b.parse().unwrap())
    }

    #[test]
    fn round_trips() {
        for t in [
            ts("10.1.0.0", "10.1.255.255"),
            ts("10.1.0.5", "10.1.0.5"),
            ts("10.1.0.5", "10.1.0.9"),
            ts("0.0.0.0", "255.255.255.255"),
            ts("2001:db8::", "2001:db8::ffff"),
            ts("2001:db8::1", "2001:db8::1"),
            ts("2001:db8::1", "2001:db8::7"),
        ] {
            assert_eq!(ts_of(&id_of(&t)), Some(t), "{t:?}");
        }
        let subnet = id_of(&ts("10.1.0.0", "10.1.255.255"));
        assert_eq!(subnet.id_type, id_type::IPV4_ADDR_SUBNET);
        assert_eq!(subnet.data, vec![10, 1, 0, 0, 255, 255, 0, 0]);
        let mut tcp = ts("10.1.0.5", "10.1.0.5");
        tcp.ip_protocol = 6;
        tcp.start_port = 22;
        tcp.end_port = 22;
        assert_eq!(ts_of(&id_of(&tcp)), Some(tcp));
    }

    #[test]
    fn refuses_what_names_no_addresses() {
        let bad = |id_type, data: Vec<u8>| Identification {
            id_type,
            protocol: 0,
            port: 0,
            data,
        };
        assert_eq!(ts_of(&bad(id_type::FQDN, b"gw".to_vec())), None);
        assert_eq!(ts_of(&bad(id_type::IPV4_ADDR, vec![1, 2, 3])), None);
        assert_eq!(ts_of(&bad(id_type::IPV4_ADDR_SUBNET, vec![1; 32])), None);
        assert_eq!(
            ts_of(&bad(
                id_type::IPV4_ADDR_RANGE,
                vec![10, 0, 0, 9, 10, 0, 0, 1]
            )),
            None
        );
        assert_eq!(ts_of(&bad(id_type::IPV6_ADDR_RANGE, vec![])), None);
    }

    #[test]
    fn containment() {
        let wide = ts("10.1.0.0", "10.1.255.255");
        assert!(within(&ts("10.1.2.0", "10.1.2.255"), &wide));
        assert!(within(&wide, &wide));
        assert!(!within(&ts("10.2.0.0", "10.2.0.255"), &wide));
        assert!(!within(&ts("2001:db8::", "2001:db8::1"), &wide));
    }
}
