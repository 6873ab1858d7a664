//! `conn NAME local ADDRESS remote ADDRESS|any ...`: one IKE connection.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ike::config::{
    AuthConfig, DpdAction, DpdConfig, Identity, IkeConfig, IkeVersion, RetransmitConfig,
    StartAction, VirtualIpConfig,
};
use openssl::x509::X509Name;
use toolkit::config::{parse_ip, Words};

use super::auth::{cert_subject, parse_auth, AuthSpec};
use super::conn_v1::V1Words;
use super::identity::parse_identity;
use super::proposal::{parse_proposals, Kind};
use super::{check_name, ConnExtra, IkeSettings, IKE_PORT};

/// Retransmissions past this many tries are a typo: the exponential wait is days by then.
const MAX_TRIES: u32 = 32;
/// The longest first retransmission wait.
const MAX_RETRANSMIT: Duration = Duration::from_secs(3600);

fn is_any(v: &str) -> bool {
    v == "any" || v == "%any"
}

/// An address IKE can talk to: unicast, so not 0.0.0.0/::, broadcast or multicast.
fn endpoint(what: &str, v: &str) -> Result<IpAddr, String> {
    let a = parse_ip(v).map_err(|e| format!("{what}: {e}"))?;
    let broadcast = matches!(a, IpAddr::V4(v4) if v4.is_broadcast());
    if a.is_unspecified() || a.is_multicast() || broadcast {
        return Err(format!("{what} {a}: not a unicast address"));
    }
    Ok(a)
}

/// `jitter N%`, 0% to 100%.
fn parse_percent(s: &str) -> Result<u32, String> {
    s.strip_suffix('%')
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n <= 100)
        .ok_or(format!("`{s}` is not a percentage (0% to 100%)"))
}

/// `remote-id`: `None` inside for `any`.
type ParsedIdentity = Option<(Identity, Option<X509Name>)>;

pub(super) fn parse_conn(
    settings: &IkeSettings,
    mut w: Words,
) -> Result<(IkeConfig, ConnExtra), String> {
    let name = w.next("a conn name")?;
    check_name(name)?;
    let (mut local, mut remote) = (None::<IpAddr>, None::<Option<IpAddr>>);
    let mut local_id = None::<(Identity, Option<X509Name>)>;
    let mut remote_id = None::<ParsedIdentity>;
    let mut auth = None::<AuthSpec>;
    let mut ike = None;
    let mut dpd = DpdConfig {
        interval: Duration::ZERO,
        action: DpdAction::Clear,
    };
    let mut rekey = Duration::from_secs(4 * 3600);
    let mut jitter_pct = 10u32;
    let mut encap = false;
    let mut vip = VirtualIpConfig::default();
    let mut fragment = None;
    let mut retransmit = RetransmitConfig::default();
    let mut start = StartAction::None;
    let mut fastpath_port = None;
    let mut v1 = V1Words::default();
    while let Some(opt) = w.next_opt() {
        if v1.parse(opt, &mut w)? {
            continue;
        }
        match opt {
            "local" => {
                let v = w.next(opt)?;
                if is_any(v) {
                    return Err("local any is not supported: give this node's address".into());
                }
                local = Some(endpoint(opt, v)?);
            }
            "remote" => {
                let v = w.next(opt)?;
                remote = Some(if is_any(v) {
                    None
                } else {
                    Some(endpoint(opt, v)?)
                });
            }
            "local-id" => local_id = Some(parse_identity(w.next(opt)?)?),
            "remote-id" => {
                let v = w.next(opt)?;
                remote_id = Some(if is_any(v) {
                    None
                } else {
                    Some(parse_identity(v)?)
                });
            }
            "auth" => auth = Some(parse_auth(&mut w)?),
            "ike" => ike = Some(parse_proposals(w.next(opt)?, Kind::Ike)?.0),
            "dpd" => dpd.interval = v1.parse_dpd(&mut w)?,
            "dpd-action" => {
                dpd.action = match w.next(opt)? {
                    "clear" => DpdAction::Clear,
                    "restart" => DpdAction::Restart,
                    "hold" | "trap" => DpdAction::Hold,
                    a => return Err(format!("dpd-action {a}: clear, restart or hold")),
                }
            }
            "rekey" => rekey = w.next_duration(opt)?,
            "jitter" => jitter_pct = parse_percent(w.next(opt)?)?,
            "encap" => encap = true,
            "pool" => {
                let p = w.next(opt)?;
                if !settings.index.pools.contains(p) {
                    return Err(format!("pool {p} is not defined above"));
                }
                vip.pool = Some(p.to_string());
            }
            "vip" => vip.request = true,
            "fragment" => {
                let n = w.next_u32(opt)?;
                if !(576..=65535).contains(&n) {
                    return Err("fragment: 576 to 65535 octets".into());
                }
                fragment = Some(n as usize);
            }
            "retransmit" => retransmit.timeout = w.next_duration(opt)?,
            "tries" => retransmit.tries = w.next_u32(opt)?,
            "start" => start = StartAction::Start,
            "add" => start = StartAction::None,
            "trap" => start = StartAction::Trap,
            "fastpath-port" => fastpath_port = Some(w.next_u16(opt)?),
            o => return Err(format!("unknown conn option `{o}`")),
        }
    }
    let local = local.ok_or("missing `local ADDRESS`")?;
    let remote = remote.ok_or("missing `remote ADDRESS|any`")?;
    let remote = match remote {
        Some(r) if r.is_ipv4() != local.is_ipv4() => {
            return Err("local and remote must be of one address family".into())
        }
        Some(r) => r,
        None if local.is_ipv4() => Ipv4Addr::UNSPECIFIED.into(),
        None => Ipv6Addr::UNSPECIFIED.into(),
    };
    if remote.is_unspecified() && start != StartAction::None {
        return Err("a conn with `remote any` can only wait (`add`)".into());
    }
    let ike_proposals = ike.ok_or("missing `ike PROPOSALS` (e.g. aes128gcm16-prfsha256-ecp256)")?;
    if retransmit.timeout.is_zero() || retransmit.timeout > MAX_RETRANSMIT {
        return Err("retransmit: above 0, at most 1h".into());
    }
    if !(1..=MAX_TRIES).contains(&retransmit.tries) {
        return Err(format!("tries: 1 to {MAX_TRIES}"));
    }
    let auth = match auth.ok_or("missing `auth psk SECRET` or `auth pubkey ...`")? {
        AuthSpec::Psk(secret) => AuthConfig::Psk(
            settings
                .secrets
                .get(&secret)
                .ok_or(format!("secret {secret} is not defined above"))?
                .clone(),
        ),
        AuthSpec::PubKey(p) => AuthConfig::PubKey(p),
    };
    let local_id = match (local_id, &auth) {
        (None, AuthConfig::Psk(_)) => Identity::ip(local),
        (None, AuthConfig::PubKey(p)) => cert_subject(p)?,
        (Some((id, None)), _) => id,
        // A DN that names our certificate's subject: its exact DER, so that the peer's
        // byte comparison with the certificate holds whatever string types were used.
        (Some((_, Some(dn))), AuthConfig::PubKey(p)) => {
            let subject = p.cert_chain[0].subject_name();
            if dn.try_cmp(subject).map_err(|e| e.to_string())? == std::cmp::Ordering::Equal {
                cert_subject(p)?
            } else {
                return Err("local-id: the DN is not the certificate's subject".into());
            }
        }
        (Some((id, Some(_))), AuthConfig::Psk(_)) => id,
    };
    let mut config = IkeConfig {
        name: name.to_string(),
        ike_version: IkeVersion::V2,
        local_addr: SocketAddr::new(local, IKE_PORT),
        remote_addr: SocketAddr::new(remote, IKE_PORT),
        local_id,
        remote_id: remote_id.flatten().map(|(id, _)| id),
        auth,
        ike_proposals,
        esp_proposals: Vec::new(),
        children: Vec::new(),
        rekey_time: rekey,
        // The grammar caps durations at ten years, so this product cannot overflow.
        rekey_jitter: rekey * jitter_pct / 100,
        reauth_time: Duration::ZERO,
        dpd,
        retransmit,
        force_encap: encap,
        fragment_size: fragment,
        virtual_ip: vip,
        initial_contact: true,
    };
    config.ike_version = v1.finish(&config)?;
    Ok((
        config,
        ConnExtra {
            fastpath_port,
            start,
        },
    ))
}
