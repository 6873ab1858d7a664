//! The engine's values in the forms operators and scripts read: identities, traffic
//! selectors and suites as strongSwan writes them, SPIs in hex, and the engine's SA states as
//! the typed replies of `northbound::ike_status`.

use ike::action::ChildSaInfo;
use ike::config::{Identity, Mode};
use ike::crypto::transform::*;
use ike::engine::PoolView;
use ike::message::{IdType, TrafficSelector};
use ike::sa::{ChildStatus, IkeSaStatus as EngineIkeSa};
use serde_json::{json, Value};

use crate::ike::config::{keyword_of, GROUP_KEYWORDS, INTEG_KEYWORDS, PRF_KEYWORDS};
use crate::ike::program::{range_to_prefixes, transform_of};
use crate::northbound::ike_status::{
    ChildMode, ChildSaStatus, IkeSaStatus, LeaseStatus, PoolStatus,
};

/// An IKE SPI as operators read it: `0x` and 16 hex digits.
pub(super) fn ike_spi(spi: u64) -> String {
    format!("{spi:#018x}")
}

/// An ESP SPI as operators read it: `0x` and 8 hex digits.
pub(super) fn esp_spi(spi: u32) -> String {
    format!("{spi:#010x}")
}

fn child_mode(mode: Mode) -> ChildMode {
    match mode {
        Mode::Tunnel => ChildMode::Tunnel,
        Mode::Transport => ChildMode::Transport,
    }
}

/// The fast path's name of a suite's transform, `?` when it has none.
fn transform_name(suite: &Suite) -> String {
    transform_of(suite).map_or("?", |t| t.name()).to_string()
}

fn ts_strings(ts: &[TrafficSelector]) -> Vec<String> {
    ts.iter().map(ts_string).collect()
}

/// One IKE SA of the engine as `ike_sas` shows it.
pub(super) fn ike_sa_status(s: &EngineIkeSa) -> IkeSaStatus {
    IkeSaStatus {
        ike_sa: s.id,
        version: 2,
        conn: s.config.clone(),
        state: format!("{:?}", s.state),
        initiator: s.initiator,
        spi_i: ike_spi(s.spi_i),
        spi_r: ike_spi(s.spi_r),
        local: s.local,
        remote: s.remote,
        remote_id: s.remote_id.as_ref().map(identity_string),
        proposal: s.suite.as_ref().map(suite_name),
        nat_local: s.nat_local,
        nat_remote: s.nat_remote,
        established_s: s.established_for.map(|d| d.as_secs()),
        rekey_in_s: s.rekey_in.map(|d| d.as_secs()),
        virtual_ip: s.virtual_ip,
        children: s.children.len(),
        retransmits: s.counters.retransmits,
    }
}

/// One CHILD SA of the engine as `child_sas` shows it, without its fast path side.
pub(super) fn child_sa_status(s: &EngineIkeSa, c: &ChildStatus) -> ChildSaStatus {
    ChildSaStatus {
        ike_sa: s.id,
        conn: s.config.clone(),
        child: c.id,
        name: c.config.clone(),
        state: format!("{:?}", c.state),
        spi_in: esp_spi(c.spi_in),
        spi_out: esp_spi(c.spi_out),
        mode: child_mode(c.mode),
        transform: transform_name(&c.suite),
        esn: c.suite.esn.unwrap_or(false),
        pfs: c.suite.dh.map(group_name),
        local_ts: ts_strings(&c.local_ts),
        remote_ts: ts_strings(&c.remote_ts),
        rekey_in_s: c.rekey_in.map(|d| d.as_secs()),
        expire_in_s: c.expire_in.map(|d| d.as_secs()),
        fastpath: None,
    }
}

/// A virtual IP pool as `pools` shows it.
pub(super) fn pool_status(p: &PoolView) -> PoolStatus {
    PoolStatus {
        name: p.name.clone(),
        range: format!("{}-{}", p.first, p.last),
        size: p.size,
        leased: p.leased,
        offline: p.offline,
        free: p.free,
        leases: p
            .leases
            .iter()
            .map(|l| LeaseStatus {
                address: l.address,
                identity: identity_string(&l.identity),
                ike_sa: l.ike_sa,
                spi_i: l.spis.map(|s| ike_spi(s.0)),
                spi_r: l.spis.map(|s| ike_spi(s.1)),
            })
            .collect(),
    }
}

/// A CHILD SA installed (`child_up`, and the new one of `child_rekeyed`).
pub(super) fn child_event(info: &ChildSaInfo, sa_in: u32, sa_out: u32) -> Value {
    json!({
        "ike_sa": info.child.sa, "child": info.child.id, "name": info.config,
        "spi_in": esp_spi(info.child.spi_in), "spi_out": esp_spi(info.child.spi_out),
        "fastpath_sa_in": sa_in, "fastpath_sa_out": sa_out,
        "mode": child_mode(info.mode),
        "transform": transform_name(&info.suite), "esn": info.esn,
        "local": info.local_addr.to_string(), "remote": info.remote_addr.to_string(),
        "local_ts": ts_strings(&info.local_ts),
        "remote_ts": ts_strings(&info.remote_ts),
        "natt": info.encap.map(|e| format!("{}:{}", e.local_port, e.remote_port)),
    })
}

/// An identity as an operator writes it (`fqdn:`, `email:`, an address, or a DN's text).
pub fn identity_string(id: &Identity) -> String {
    match id.id_type {
        IdType::FQDN => format!("fqdn:{}", String::from_utf8_lossy(&id.data)),
        IdType::RFC822_ADDR => format!("email:{}", String::from_utf8_lossy(&id.data)),
        IdType::IPV4_ADDR | IdType::IPV6_ADDR => ike::message::id_addr(id.id_type, &id.data)
            .map_or_else(|| hex::encode(&id.data), |a| a.to_string()),
        IdType::DER_ASN1_DN => match openssl::x509::X509Name::from_der(&id.data) {
            Ok(n) => {
                let parts: Vec<String> = n
                    .entries()
                    .map(|e| {
                        let k = e.object().nid().short_name().unwrap_or("?");
                        let v = e.data().to_string().unwrap_or_else(|_| "?".to_string());
                        format!("{k}={v}")
                    })
                    .collect();
                format!("dn:{}", parts.join(", "))
            }
            Err(_) => format!("dn:{}", hex::encode(&id.data)),
        },
        t => format!("{t}:{}", hex::encode(&id.data)),
    }
}

/// A traffic selector as a prefix (or range), with `[proto/ports]` when it has them.
pub fn ts_string(t: &TrafficSelector) -> String {
    let nets = range_to_prefixes(t.start_addr, t.end_addr);
    let mut s = match nets.as_slice() {
        [(a, l)] => format!("{a}/{l}"),
        _ => format!("{}-{}", t.start_addr, t.end_addr),
    };
    if t.ip_protocol != 0 {
        s.push_str(&format!("[{}", t.ip_protocol));
        if (t.start_port, t.end_port) != (0, 65535) {
            if t.start_port == t.end_port {
                s.push_str(&format!("/{}", t.start_port));
            } else {
                s.push_str(&format!("/{}-{}", t.start_port, t.end_port));
            }
        }
        s.push(']');
    }
    s
}

fn group_name(g: u16) -> String {
    match keyword_of(GROUP_KEYWORDS, g) {
        Some(k) => k.into(),
        None if g == ECP_521 => "ecp521".into(),
        None => format!("group{g}"),
    }
}

/// A suite in strongSwan's proposal keywords.
pub fn suite_name(s: &Suite) -> String {
    let mut parts = vec![match (s.encr, s.encr_key_bits) {
        (ENCR_AES_GCM_16, b) => format!("aes{b}gcm16"),
        (ENCR_AES_CBC, b) => format!("aes{b}"),
        (e, b) => format!("encr{e}/{b}"),
    }];
    if let Some(i) = s.integ {
        parts.push(keyword_of(INTEG_KEYWORDS, i).map_or(format!("integ{i}"), String::from));
    }
    if let Some(p) = s.prf {
        parts.push(keyword_of(PRF_KEYWORDS, p).map_or(format!("prf{p}"), String::from));
    }
    if let Some(g) = s.dh {
        parts.push(group_name(g));
    }
    if s.esn == Some(true) {
        parts.push("esn".into());
    }
    parts.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_for_operators() {
        let s = Suite {
            encr: ENCR_AES_CBC,
            encr_key_bits: 128,
            integ: Some(AUTH_HMAC_SHA1_96),
            prf: Some(PRF_HMAC_SHA1),
            dh: Some(MODP_1024),
            esn: None,
        };
        assert_eq!(suite_name(&s), "aes128-sha1-prfsha1-modp1024");
        let gcm = Suite {
            encr: ENCR_AES_GCM_16,
            encr_key_bits: 256,
            integ: None,
            prf: Some(PRF_HMAC_SHA2_384),
            dh: Some(CURVE25519),
            esn: Some(true),
        };
        assert_eq!(suite_name(&gcm), "aes256gcm16-prfsha384-curve25519-esn");
        assert_eq!(group_name(ECP_521), "ecp521");
        assert_eq!(group_name(99), "group99");
        assert_eq!(identity_string(&Identity::fqdn("gw")), "fqdn:gw");
        assert_eq!(
            identity_string(&Identity::ip("192.0.2.1".parse().unwrap())),
            "192.0.2.1"
        );
        let mut b = openssl::x509::X509NameBuilder::new().unwrap();
        b.append_entry_by_text("C", "CH").unwrap();
        b.append_entry_by_text("CN", "gw1").unwrap();
        let dn = Identity::dn(b.build().to_der().unwrap());
        assert_eq!(identity_string(&dn), "dn:C=CH, CN=gw1");
        let t = TrafficSelector::new(
            6,
            (443, 443),
            "10.0.0.1".parse().unwrap(),
            "10.0.0.6".parse().unwrap(),
        );
        assert_eq!(ts_string(&t), "10.0.0.1-10.0.0.6[6/443]");
        let t =
            TrafficSelector::from_prefix("10.1.0.0".parse().unwrap(), 16, 0, (0, 65535)).unwrap();
        assert_eq!(ts_string(&t), "10.1.0.0/16");
        assert_eq!(ike_spi(0xab), "0x00000000000000ab");
        assert_eq!(esp_spi(0xab), "0x000000ab");
    }

    #[test]
    fn a_pool_as_operators_read_it() {
        let lease = |a: &str, sa: Option<u64>| ike::engine::LeaseView {
            address: a.parse().unwrap(),
            identity: Identity::fqdn("c1"),
            ike_sa: sa,
            spis: sa.map(|_| (0xab, 0xcd)),
        };
        let view = PoolView {
            name: "vpn".into(),
            first: "10.9.0.1".parse().unwrap(),
            last: "10.9.0.8".parse().unwrap(),
            size: 8,
            leased: 1,
            offline: 1,
            free: 7,
            leases: vec![lease("10.9.0.1", Some(3)), lease("10.9.0.2", None)],
        };
        let p = pool_status(&view);
        assert_eq!(
            (p.range.as_str(), p.size, p.leased, p.offline, p.free),
            ("10.9.0.1-10.9.0.8", 8, 1, 1, 7)
        );
        assert_eq!(p.leases[0].identity, "fqdn:c1");
        assert_eq!(
            (p.leases[0].spi_i.as_deref(), p.leases[0].spi_r.as_deref()),
            (Some("0x00000000000000ab"), Some("0x00000000000000cd"))
        );
        assert_eq!(
            (p.leases[1].ike_sa, p.leases[1].spi_i.as_deref()),
            (None, None)
        );
    }
}
