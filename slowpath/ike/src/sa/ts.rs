//! Traffic selector narrowing (RFC 7296 2.9): the responder answers with the intersection of
//! what was proposed and what its policy allows; the initiator accepts only a subset of what
//! it proposed.

use std::net::IpAddr;

use crate::message::TrafficSelector;

fn addr_key(a: IpAddr) -> (u8, u128) {
    match a {
        IpAddr::V4(v) => (4, u128::from(u32::from(v))),
        IpAddr::V6(v) => (6, u128::from(v)),
    }
}

/// The intersection of two selectors, if any (protocol 0 is "any").
pub fn intersect(a: &TrafficSelector, b: &TrafficSelector) -> Option<TrafficSelector> {
    if a.ts_type != b.ts_type {
        return None;
    }
    let ip_protocol = match (a.ip_protocol, b.ip_protocol) {
        (0, p) | (p, 0) => p,
        (p, q) if p == q => p,
        _ => return None,
    };
    let start_port = a.start_port.max(b.start_port);
    let end_port = a.end_port.min(b.end_port);
    // An "opaque" port range (start 65535, end 0) matches only itself or "any".
    if start_port > end_port {
        return None;
    }
    let start = addr_key(a.start_addr).max(addr_key(b.start_addr));
    let end = addr_key(a.end_addr).min(addr_key(b.end_addr));
    if start > end || start.0 != end.0 {
        return None;
    }
    let (start_addr, end_addr) = if addr_key(a.start_addr) >= addr_key(b.start_addr) {
        (a.start_addr, pick_end(a, b))
    } else {
        (b.start_addr, pick_end(a, b))
    };
    Some(TrafficSelector {
        ts_type: a.ts_type,
        ip_protocol,
        start_port,
        end_port,
        start_addr,
        end_addr,
    })
}

fn pick_end(a: &TrafficSelector, b: &TrafficSelector) -> IpAddr {
    if addr_key(a.end_addr) <= addr_key(b.end_addr) {
        a.end_addr
    } else {
        b.end_addr
    }
}

/// Every non-empty intersection of a proposed selector with a configured one, without
/// duplicates.
pub fn narrow(
    proposed: &[TrafficSelector],
    configured: &[TrafficSelector],
) -> Vec<TrafficSelector> {
    let mut out: Vec<TrafficSelector> = Vec::new();
    for p in proposed {
        for c in configured {
            if let Some(i) = intersect(p, c) {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
    }
    out
}

/// Whether `inner` lies within `outer`.
pub fn contains(outer: &TrafficSelector, inner: &TrafficSelector) -> bool {
    intersect(outer, inner).is_some_and(|i| i == *inner)
}

/// Whether every selector of `answer` lies within one of `proposed` (and there is one).
pub fn is_subset(answer: &[TrafficSelector], proposed: &[TrafficSelector]) -> bool {
    !answer.is_empty()
        && answer
            .iter()
            .all(|a| proposed.iter().any(|p| contains(p, a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str, len: u8) -> TrafficSelector {
        TrafficSelector::from_prefix(s.parse().unwrap(), len, 0, (0, 65535)).unwrap()
    }

    #[test]
    fn intersections() {
        let any = TrafficSelector::any(false);
        let a = net("10.1.0.0", 16);
        assert_eq!(intersect(&any, &a), Some(a));
        assert_eq!(intersect(&a, &any), Some(a));
        assert_eq!(intersect(&a, &net("10.2.0.0", 16)), None);
        assert_eq!(
            intersect(&a, &net("10.1.2.0", 24)),
            Some(net("10.1.2.0", 24))
        );
        assert_eq!(intersect(&a, &TrafficSelector::any(true)), None);
        let udp =
            TrafficSelector::from_prefix("10.1.0.0".parse().unwrap(), 16, 17, (500, 600)).unwrap();
        let tcp =
            TrafficSelector::from_prefix("10.1.0.0".parse().unwrap(), 16, 6, (0, 65535)).unwrap();
        assert_eq!(intersect(&udp, &tcp), None);
        let narrowed = intersect(&udp, &net("10.1.5.0", 24)).unwrap();
        assert_eq!((narrowed.ip_protocol, narrowed.start_port), (17, 500));
        // Overlapping, neither containing the other.
        let x = TrafficSelector::new(
            0,
            (0, 65535),
            "10.0.0.5".parse().unwrap(),
            "10.0.0.20".parse().unwrap(),
        );
        let y = TrafficSelector::new(
            0,
            (0, 65535),
            "10.0.0.10".parse().unwrap(),
            "10.0.0.30".parse().unwrap(),
        );
        let i = intersect(&x, &y).unwrap();
        assert_eq!(i.start_addr, "10.0.0.10".parse::<IpAddr>().unwrap());
        assert_eq!(i.end_addr, "10.0.0.20".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn narrowing_and_subsets() {
        let proposed = [TrafficSelector::any(false), TrafficSelector::any(true)];
        let configured = [net("10.1.0.0", 16), net("10.3.0.0", 16)];
        let n = narrow(&proposed, &configured);
        assert_eq!(n, configured.to_vec());
        assert!(is_subset(&n, &proposed));
        assert!(!is_subset(&proposed, &n));
        assert!(!is_subset(&[], &proposed));
        assert!(narrow(&[net("192.168.0.0", 16)], &configured).is_empty());
    }
}
