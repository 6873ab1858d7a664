//! The replies about IKE: its IKE SAs, CHILD SAs and counters, and what an operator's
//! initiate, terminate, flush and rekey did. Scripts read these fields by name, and compare
//! the states (`Established`), SPIs (`0x...`) and traffic selectors as strings.

use ipc::fastpath::SaState;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// One IKE SA (`ike_sas`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IkeSaStatus {
    pub ike_sa: u64,
    /// 2 (RFC 7296) or 1 (an ISAKMP SA, RFC 2409).
    pub version: u8,
    pub conn: String,
    /// The engine's state name: `Established`, `Rekeying`, ...
    pub state: String,
    pub initiator: bool,
    /// `0x` and 16 hex digits.
    pub spi_i: String,
    pub spi_r: String,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub remote_id: Option<String>,
    /// In strongSwan's proposal keywords (`aes128gcm16-prfsha256-ecp256`).
    pub proposal: Option<String>,
    pub nat_local: bool,
    pub nat_remote: bool,
    pub established_s: Option<u64>,
    pub rekey_in_s: Option<u64>,
    pub virtual_ip: Option<IpAddr>,
    /// How many CHILD SAs it has.
    pub children: usize,
    pub retransmits: u64,
}

/// A CHILD SA's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildMode {
    Tunnel,
    Transport,
}

/// One CHILD SA (`child_sas`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChildSaStatus {
    pub ike_sa: u64,
    pub conn: String,
    pub child: u32,
    pub name: String,
    pub state: String,
    /// `0x` and 8 hex digits.
    pub spi_in: String,
    pub spi_out: String,
    pub mode: ChildMode,
    /// The fast path's transform name, `?` when it has none for the suite.
    pub transform: String,
    pub esn: bool,
    /// The PFS group, if the CHILD SA has one.
    pub pfs: Option<String>,
    pub local_ts: Vec<String>,
    pub remote_ts: Vec<String>,
    pub rekey_in_s: Option<u64>,
    pub expire_in_s: Option<u64>,
    /// Where it is in the fast path; absent when it is not installed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fastpath: Option<ChildFastpath>,
}

/// A CHILD SA's fast path SAs and policies, and (with a real fast path) their counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChildFastpath {
    pub sa_in: u32,
    pub sa_out: u32,
    pub policies_in: usize,
    pub policies_out: usize,
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub inbound: Option<FastpathSaStatus>,
    #[serde(rename = "out", skip_serializing_if = "Option::is_none")]
    pub outbound: Option<FastpathSaStatus>,
}

/// One fast path SA as the fast path reported it, or why it could not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FastpathSaStatus {
    Counters(FastpathSaCounters),
    Error { error: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FastpathSaCounters {
    pub packets: u64,
    pub bytes: u64,
    pub oseq: u64,
    pub window_top: u64,
    pub idle_ms: u64,
    pub state: SaState,
    pub drops: BTreeMap<String, u64>,
}

/// IKE's counters (`ike_counters`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IkeCounters {
    pub ike_sas: usize,
    pub fastpath_child_sas: usize,
    pub received: u64,
    pub sent: u64,
    pub send_errors: u64,
    /// Datagrams dropped, by reason.
    pub drops: BTreeMap<String, u64>,
    pub retransmits: u64,
    pub answered_from_cache: u64,
    /// Cookies sent, valid and invalid, half-open SAs expired, and half-open now.
    pub half_open: BTreeMap<String, u64>,
    /// IKEv1's half-open responder SAs: expired, evicted at the cap, and now.
    pub half_open_v1: BTreeMap<String, u64>,
    pub fastpath_errors: u64,
    pub fastpath_events: u64,
    pub fastpath_subscribed: bool,
    pub child_install_failures: u64,
    pub quarantined_sa_ids: usize,
    /// SAs an earlier slow path left in the fast path, carrying traffic until replaced.
    pub fastpath_orphans: usize,
}

/// The IKE SA an `initiate` started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Initiated {
    pub ike_sa: u64,
}

/// The IKE SAs a `terminate` or `flush` deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Terminated {
    pub terminated: Vec<u64>,
}

/// What a `flush_half_open` removed on this node: the engine's own account.
pub use ike::engine::HalfOpenFlush as HalfOpenFlushed;

/// One address of a pool (`pools`): held by an IKE SA, or offline (kept for its identity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseStatus {
    pub address: Ipv4Addr,
    pub identity: String,
    pub ike_sa: Option<u64>,
    /// The holding IKE SA's SPIs, `0x` and 16 hex digits.
    pub spi_i: Option<String>,
    pub spi_r: Option<String>,
}

/// One virtual IP pool (`pools`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolStatus {
    pub name: String,
    /// `first-last`.
    pub range: String,
    pub size: u64,
    pub leased: u64,
    /// Leases no IKE SA holds, kept for their identity (given to another only when no
    /// address was never leased).
    pub offline: u64,
    /// What a new peer can be given: never leased, or offline.
    pub free: u64,
    pub leases: Vec<LeaseStatus>,
}

/// A `rekey` started (of the IKE SA, or of one of its CHILD SAs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rekeying {
    pub ike_sa: u64,
    pub rekeying: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// The field names of a reply, in the order serde_json prints them.
    fn fields(reply: &impl Serialize) -> Vec<String> {
        match serde_json::to_value(reply).unwrap() {
            Value::Object(m) => m.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        }
    }

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    fn ike_sa() -> IkeSaStatus {
        IkeSaStatus {
            version: 2,
            ike_sa: 3,
            conn: "gw".into(),
            state: "Established".into(),
            initiator: true,
            spi_i: format!("{:#018x}", 0x1234u64),
            spi_r: format!("{:#018x}", 0xabcdu64),
            local: "192.0.2.1:4500".parse().unwrap(),
            remote: "[2001:db8::2]:500".parse().unwrap(),
            remote_id: Some("fqdn:b.test".into()),
            proposal: Some("aes128gcm16-prfsha256-ecp256".into()),
            nat_local: false,
            nat_remote: true,
            established_s: Some(12),
            rekey_in_s: None,
            virtual_ip: Some("10.3.0.1".parse().unwrap()),
            children: 1,
            retransmits: 0,
        }
    }

    #[test]
    fn ike_sas_fields_and_forms() {
        let s = ike_sa();
        assert_eq!(
            fields(&s),
            sorted(&[
                "ike_sa",
                "version",
                "conn",
                "state",
                "initiator",
                "spi_i",
                "spi_r",
                "local",
                "remote",
                "remote_id",
                "proposal",
                "nat_local",
                "nat_remote",
                "established_s",
                "rekey_in_s",
                "virtual_ip",
                "children",
                "retransmits",
            ])
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["spi_i"], "0x0000000000001234");
        assert_eq!(v["version"], 2);
        assert_eq!(v["local"], "192.0.2.1:4500");
        assert_eq!(v["remote"], "[2001:db8::2]:500");
        assert_eq!(v["virtual_ip"], "10.3.0.1");
        assert_eq!(v["rekey_in_s"], Value::Null, "absent values are null");
    }

    fn child(fastpath: Option<ChildFastpath>) -> ChildSaStatus {
        ChildSaStatus {
            ike_sa: 3,
            conn: "gw".into(),
            child: 1,
            name: "net".into(),
            state: "Installed".into(),
            spi_in: format!("{:#010x}", 0xc1u32),
            spi_out: format!("{:#010x}", 0xc2u32),
            mode: ChildMode::Tunnel,
            transform: "aes128gcm16".into(),
            esn: true,
            pfs: None,
            local_ts: vec!["10.1.0.0/16".into()],
            remote_ts: vec!["10.2.0.0/16".into()],
            rekey_in_s: Some(100),
            expire_in_s: Some(200),
            fastpath,
        }
    }

    const CHILD_FIELDS: [&str; 15] = [
        "ike_sa",
        "conn",
        "child",
        "name",
        "state",
        "spi_in",
        "spi_out",
        "mode",
        "transform",
        "esn",
        "pfs",
        "local_ts",
        "remote_ts",
        "rekey_in_s",
        "expire_in_s",
    ];

    #[test]
    fn child_sas_fields_and_forms() {
        let bare = child(None);
        assert_eq!(fields(&bare), sorted(&CHILD_FIELDS));
        let v = serde_json::to_value(&bare).unwrap();
        assert_eq!(v["spi_in"], "0x000000c1");
        assert_eq!(v["mode"], "tunnel");
        assert_eq!(v["pfs"], Value::Null);
        assert_eq!(v["local_ts"], json!(["10.1.0.0/16"]));

        // Installed, without a real fast path behind: ids and policy counts only.
        let installed = child(Some(ChildFastpath {
            sa_in: 1,
            sa_out: 2,
            policies_in: 1,
            policies_out: 1,
            inbound: None,
            outbound: None,
        }));
        let mut with_fp = CHILD_FIELDS.to_vec();
        with_fp.push("fastpath");
        assert_eq!(fields(&installed), sorted(&with_fp));
        let v = serde_json::to_value(&installed).unwrap();
        assert_eq!(
            fields(&v["fastpath"]),
            sorted(&["sa_in", "sa_out", "policies_in", "policies_out"])
        );

        // With a real one: each direction's counters, or why they could not be read.
        let counters = FastpathSaCounters {
            packets: 5,
            bytes: 500,
            oseq: 5,
            window_top: 0,
            idle_ms: 7,
            state: SaState::Active,
            drops: BTreeMap::from([("replay".to_string(), 1)]),
        };
        let live = child(Some(ChildFastpath {
            sa_in: 1,
            sa_out: 2,
            policies_in: 1,
            policies_out: 1,
            inbound: Some(FastpathSaStatus::Counters(counters)),
            outbound: Some(FastpathSaStatus::Error {
                error: "no SA 2".into(),
            }),
        }));
        let v = serde_json::to_value(&live).unwrap();
        assert_eq!(
            fields(&v["fastpath"]),
            sorted(&[
                "sa_in",
                "sa_out",
                "policies_in",
                "policies_out",
                "in",
                "out"
            ])
        );
        assert_eq!(
            fields(&v["fastpath"]["in"]),
            sorted(&[
                "packets",
                "bytes",
                "oseq",
                "window_top",
                "idle_ms",
                "state",
                "drops"
            ])
        );
        assert_eq!(v["fastpath"]["in"]["drops"], json!({"replay": 1}));
        assert_eq!(v["fastpath"]["out"], json!({"error": "no SA 2"}));
    }

    #[test]
    fn ike_counters_fields() {
        let c = IkeCounters {
            ike_sas: 1,
            fastpath_child_sas: 1,
            received: 4,
            sent: 4,
            send_errors: 0,
            drops: BTreeMap::from([("bad_spi".to_string(), 2)]),
            retransmits: 0,
            answered_from_cache: 0,
            half_open: BTreeMap::from([("current".to_string(), 3)]),
            half_open_v1: BTreeMap::from([("evicted".to_string(), 1)]),
            fastpath_errors: 0,
            fastpath_events: 0,
            fastpath_subscribed: true,
            child_install_failures: 0,
            quarantined_sa_ids: 0,
            fastpath_orphans: 0,
        };
        assert_eq!(
            fields(&c),
            sorted(&[
                "ike_sas",
                "fastpath_child_sas",
                "received",
                "sent",
                "send_errors",
                "drops",
                "retransmits",
                "answered_from_cache",
                "half_open",
                "half_open_v1",
                "fastpath_errors",
                "fastpath_events",
                "fastpath_subscribed",
                "child_install_failures",
                "quarantined_sa_ids",
                "fastpath_orphans",
            ])
        );
        assert_eq!(serde_json::to_value(&c).unwrap()["drops"]["bad_spi"], 2);
    }

    #[test]
    fn operator_action_results() {
        assert_eq!(
            serde_json::to_value(Initiated { ike_sa: 4 }).unwrap(),
            json!({"ike_sa": 4})
        );
        assert_eq!(
            serde_json::to_value(Terminated {
                terminated: vec![4, 5]
            })
            .unwrap(),
            json!({"terminated": [4, 5]})
        );
        assert_eq!(
            serde_json::to_value(Rekeying {
                ike_sa: 4,
                rekeying: true
            })
            .unwrap(),
            json!({"ike_sa": 4, "rekeying": true})
        );
        let flushed = HalfOpenFlushed {
            responder_ike_sas: vec![3],
            initiator_ike_sas: vec![],
            child_requests: 1,
            child_requests_in_flight: 0,
        };
        assert_eq!(
            serde_json::to_value(flushed).unwrap(),
            json!({"responder_ike_sas": [3], "initiator_ike_sas": [],
                   "child_requests": 1, "child_requests_in_flight": 0})
        );
    }

    #[test]
    fn pools_fields() {
        let pool = PoolStatus {
            name: "vpn".into(),
            range: "10.9.0.1-10.9.0.4".into(),
            size: 4,
            leased: 1,
            offline: 0,
            free: 3,
            leases: vec![LeaseStatus {
                address: "10.9.0.1".parse().unwrap(),
                identity: "fqdn:a".into(),
                ike_sa: Some(2),
                spi_i: Some("0x00000000000000ab".into()),
                spi_r: Some("0x00000000000000cd".into()),
            }],
        };
        let v = serde_json::to_value(&pool).unwrap();
        assert_eq!(
            fields(&pool),
            sorted(&["name", "range", "size", "leased", "offline", "free", "leases"])
        );
        assert_eq!(
            v["leases"][0],
            json!({"address": "10.9.0.1", "identity": "fqdn:a", "ike_sa": 2,
                   "spi_i": "0x00000000000000ab", "spi_r": "0x00000000000000cd"})
        );
    }
}
