//! A CHILD SA as fast path descriptions: two SAs (in and out) and one policy per traffic
//! selector pair and direction. Pure functions of what the engine negotiated.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ike::action::ChildSaInfo;
use ike::config::Mode;
use ike::crypto::transform::{
    Suite, AUTH_HMAC_SHA1_96, AUTH_HMAC_SHA2_256_128, ENCR_AES_CBC, ENCR_AES_GCM_16,
};
use ike::message::TrafficSelector;
use ipc::sa::{Df, Dscp, Lifetimes, Natt, DEFAULT_TTL, DEFAULT_WINDOW};
use ipc::{Direction, KeyBytes, PortRange, SaId, SaMode, SaSpec, SpAction, SpSpec, Transform};

/// More policies than this for one CHILD SA (selector ranges that split into many prefixes,
/// times the pairs) is refused rather than flooding the SPD.
pub const MAX_POLICIES: usize = 256;
/// Where the CHILD SAs' policies start; the operator's own (IKE bypass and the like) are
/// expected below it. Lower is tried first.
pub const POLICY_BASE: u32 = 1000;

/// The fast path's transform for a negotiated suite.
pub fn transform_of(suite: &Suite) -> Result<Transform, String> {
    Ok(match (suite.encr, suite.encr_key_bits, suite.integ) {
        (ENCR_AES_GCM_16, 128, None) => Transform::Aes128Gcm16,
        (ENCR_AES_GCM_16, 256, None) => Transform::Aes256Gcm16,
        (ENCR_AES_CBC, 128, Some(AUTH_HMAC_SHA1_96)) => Transform::Aes128Sha1,
        (ENCR_AES_CBC, 256, Some(AUTH_HMAC_SHA1_96)) => Transform::Aes256Sha1,
        (ENCR_AES_CBC, 128, Some(AUTH_HMAC_SHA2_256_128)) => Transform::Aes128Sha256,
        (ENCR_AES_CBC, 256, Some(AUTH_HMAC_SHA2_256_128)) => Transform::Aes256Sha256,
        _ => return Err(format!("the fast path has no transform for {suite:?}")),
    })
}

/// One direction of a CHILD SA. The GCM key includes its 4-byte salt, as the engine gives
/// it; the window applies inbound only.
pub fn sa_spec(
    id: u32,
    dir: Direction,
    info: &ChildSaInfo,
    replay_window: Option<u32>,
) -> Result<SaSpec, String> {
    let transform = transform_of(&info.suite)?;
    let (spi, key, auth) = match dir {
        Direction::In => (info.child.spi_in, &info.encr_key_in, &info.integ_key_in),
        Direction::Out => (info.child.spi_out, &info.encr_key_out, &info.integ_key_out),
    };
    let mode = match info.mode {
        Mode::Tunnel => SaMode::Tunnel {
            local: info.local_addr,
            remote: info.remote_addr,
        },
        Mode::Transport => SaMode::Transport,
    };
    let spec = SaSpec {
        id: SaId::new(id.into()).map_err(|e| e.to_string())?,
        dir,
        spi,
        transform,
        key: KeyBytes::from_slice(key),
        auth_key: KeyBytes::from_slice(auth),
        mode,
        esn: info.esn,
        window: match dir {
            Direction::In => replay_window.unwrap_or(DEFAULT_WINDOW),
            Direction::Out => DEFAULT_WINDOW,
        },
        natt: info.encap.map(|e| Natt {
            local_port: e.local_port,
            remote_port: e.remote_port,
        }),
        lifetime: Lifetimes {
            soft_bytes: info.soft_bytes,
            hard_bytes: info.hard_bytes,
            soft_packets: info.soft_packets,
            hard_packets: info.hard_packets,
        },
        dscp: Dscp::Copy,
        df: Df::Copy,
        ttl: DEFAULT_TTL,
        standby: false,
    };
    spec.check().map_err(|e| e.to_string())?;
    Ok(spec)
}

/// The fewest prefixes that cover `start..=end` exactly (both of one family).
pub fn range_to_prefixes(start: IpAddr, end: IpAddr) -> Vec<(IpAddr, u8)> {
    let (width, s, e) = match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => {
            (32u32, u128::from(u32::from(s)), u128::from(u32::from(e)))
        }
        (IpAddr::V6(s), IpAddr::V6(e)) => (128, u128::from(s), u128::from(e)),
        _ => return Vec::new(),
    };
    let mask = |bits: u32| -> u128 {
        if bits >= 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        }
    };
    let to_ip = |v: u128| -> IpAddr {
        if width == 32 {
            IpAddr::V4(Ipv4Addr::from(v as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(v))
        }
    };
    let mut out = Vec::new();
    if s > e {
        return out;
    }
    let mut cur = s;
    loop {
        let mut bits = if cur == 0 {
            width
        } else {
            cur.trailing_zeros().min(width)
        };
        while bits > 0 && cur | mask(bits) > e {
            bits -= 1;
        }
        out.push((to_ip(cur), (width - bits) as u8));
        let last = cur | mask(bits);
        if last >= e {
            return out;
        }
        cur = last + 1;
    }
}

fn net(addr: IpAddr, len: u8) -> Result<ipnet::IpNet, String> {
    ipnet::IpNet::new(addr, len).map_err(|e| e.to_string())
}

/// The policies of one direction (`protect SA`) for every selector pair, local x remote.
/// Pairs that cannot match anything (two protocols, two families, opaque ports) are left out.
pub fn sp_specs(dir: Direction, sa: u32, info: &ChildSaInfo) -> Result<Vec<SpSpec>, String> {
    let sa = SaId::new(sa.into()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for l in &info.local_ts {
        for r in &info.remote_ts {
            if l.start_addr.is_ipv4() != r.start_addr.is_ipv4() {
                continue;
            }
            let proto = match (l.ip_protocol, r.ip_protocol) {
                (0, p) | (p, 0) => p,
                (a, b) if a == b => a,
                _ => continue,
            };
            if l.start_port > l.end_port || r.start_port > r.end_port {
                continue;
            }
            // ICMP's "ports" are type and code (RFC 7296 3.13.1), which the fast path's
            // sport/dport do not express the same way: such a policy covers every type.
            let ports = |t: &TrafficSelector| {
                let any = (t.start_port, t.end_port) == (0, 65535) || matches!(proto, 1 | 58);
                if any {
                    PortRange::ANY
                } else {
                    PortRange::new(t.start_port, t.end_port).unwrap_or(PortRange::ANY)
                }
            };
            let (lp, rp) = (ports(l), ports(r));
            let (lnets, rnets) = (
                range_to_prefixes(l.start_addr, l.end_addr),
                range_to_prefixes(r.start_addr, r.end_addr),
            );
            let max = if l.start_addr.is_ipv4() { 32 } else { 128 };
            for (la, ll) in &lnets {
                for (ra, rl) in &rnets {
                    let pri = POLICY_BASE
                        + 4 * (u32::from(max - ll) + u32::from(max - rl))
                        + if proto == 0 { 2 } else { 0 }
                        + if lp.is_any() && rp.is_any() { 1 } else { 0 };
                    let (src, dst, sport, dport) = match dir {
                        Direction::Out => (net(*la, *ll)?, net(*ra, *rl)?, lp, rp),
                        Direction::In => (net(*ra, *rl)?, net(*la, *ll)?, rp, lp),
                    };
                    let proto = (proto != 0).then_some(proto);
                    out.push(SpSpec::new(
                        dir,
                        SpAction::Protect(sa),
                        pri,
                        src,
                        dst,
                        proto,
                        sport,
                        dport,
                    )?);
                    if out.len() > MAX_POLICIES {
                        return Err(format!(
                            "the traffic selectors make more than {MAX_POLICIES} policies"
                        ));
                    }
                }
            }
        }
    }
    Ok(out)
}
