use super::*;
use ike::crypto_group::{Bringup, Member, MemberStatus, Peer, Reason, Tunnel};
use serde_json::json;

#[test]
fn nested_counters_are_named_by_their_path() {
    let v = json!({"sent": 3, "rejected": {"replayed": 2, "forged": 0}, "peer": "up", "lag": -1});
    let mut out = BTreeMap::new();
    leaves("link_", &v, &mut out);
    let want: BTreeMap<String, u64> = [
        ("link_sent".to_string(), 3),
        ("link_rejected_replayed".to_string(), 2),
        ("link_rejected_forged".to_string(), 0),
    ]
    .into();
    assert_eq!(out, want);
}

#[test]
fn a_node_without_vrrp_or_ike_still_has_a_page() {
    let mut out = Vec::new();
    let inputs = PageInputs {
        uptime: Duration::from_millis(1500),
        instances: Vec::new(),
        ha_groups: Vec::new(),
        ike: None,
        crypto_groups: Vec::new(),
        traps: Vec::new(),
    };
    write(&mut out, &inputs).unwrap();
    let page = String::from_utf8(out).unwrap();
    assert!(page.contains("\nslowpath_uptime_seconds 1.5\n"), "{page}");
    assert!(page.contains("# TYPE slowpath_vrrp_state gauge\n"));
    assert!(!page.contains("slowpath_ike_"));
}

fn member(conn: &str, tunnel: Tunnel, peer: Peer) -> MemberStatus {
    MemberStatus {
        conn: conn.to_string(),
        tunnel,
        peer,
        since_ms: 0,
    }
}

#[test]
fn a_switched_crypto_group_shows_its_secondary_carrying() {
    let switched = GroupStatus {
        name: "g1".to_string(),
        active: Member::Secondary,
        active_conn: "to-s".to_string(),
        carrying: true,
        primary: member("to-p", Tunnel::Down, Peer::Dead),
        secondary: member("to-s", Tunnel::Up, Peer::Alive),
        bringup: Bringup::Always,
        revert_hold_ms: Some(5000),
        revert_in_ms: None,
        switchovers: 3,
        reverts: 2,
        peer_deaths: 3,
        rekey_failures: 1,
        last_switch_ago_ms: Some(2500),
        last_revert_ago_ms: Some(9000),
        last_reason: Some(Reason::PeerDead),
    };
    let fresh = GroupStatus {
        name: "g2".to_string(),
        active: Member::Primary,
        active_conn: "b-p".to_string(),
        carrying: false,
        primary: member("b-p", Tunnel::Connecting, Peer::Unknown),
        secondary: member("b-s", Tunnel::Down, Peer::Unknown),
        switchovers: 0,
        reverts: 0,
        peer_deaths: 0,
        rekey_failures: 0,
        last_switch_ago_ms: None,
        last_revert_ago_ms: None,
        last_reason: None,
        ..switched.clone()
    };
    let inputs = PageInputs {
        uptime: Duration::from_secs(60),
        instances: Vec::new(),
        ha_groups: Vec::new(),
        ike: None,
        crypto_groups: vec![switched, fresh],
        traps: Vec::new(),
    };
    let (page, s) = checked_page(&inputs);
    let at = |k: &str| *s.get(k).unwrap_or_else(|| panic!("no {k} in\n{page}"));
    let g1 = |m: &str, c: &str| format!("group=\"g1\",member=\"{m}\",conn=\"{c}\"");
    let active = |l: String| at(&format!("slowpath_crypto_group_active{{{l}}}"));
    assert_eq!(active(g1("primary", "to-p")), 0.0);
    assert_eq!(active(g1("secondary", "to-s")), 1.0);
    let up = |l: String| at(&format!("slowpath_crypto_group_tunnel_up{{{l}}}"));
    assert_eq!(up(g1("primary", "to-p")), 0.0);
    assert_eq!(up(g1("secondary", "to-s")), 1.0);
    for (m, c, dead) in [("primary", "to-p", 1.0), ("secondary", "to-s", 0.0)] {
        let l = g1(m, c);
        assert_eq!(
            at(&format!(
                "slowpath_crypto_group_peer_state{{{l},state=\"dead\"}}"
            )),
            dead
        );
    }
    assert_eq!(at("slowpath_crypto_group_carrying{group=\"g1\"}"), 1.0);
    assert_eq!(at("slowpath_crypto_group_carrying{group=\"g2\"}"), 0.0);
    assert_eq!(
        at("slowpath_crypto_group_switchovers_total{group=\"g1\"}"),
        3.0
    );
    assert_eq!(at("slowpath_crypto_group_reverts_total{group=\"g1\"}"), 2.0);
    assert_eq!(
        at("slowpath_crypto_group_rekey_failures_total{group=\"g1\"}"),
        1.0
    );
    assert_eq!(
        at("slowpath_crypto_group_switchovers_total{group=\"g2\"}"),
        0.0
    );
    // The most recent of the last switchover and the last revert.
    assert_eq!(
        at("slowpath_crypto_group_seconds_since_switch{group=\"g1\"}"),
        2.5
    );
    assert!(!page.contains("slowpath_crypto_group_seconds_since_switch{group=\"g2\"}"));
    assert_eq!(
        at("slowpath_crypto_group_active{group=\"g2\",member=\"primary\",conn=\"b-p\"}"),
        1.0
    );
}

#[test]
fn trap_receivers_have_their_counters_on_the_page() {
    let receiver = |to: &str, sent, suppressed| crate::snmp::TrapReceiverStatus {
        to: to.parse().unwrap(),
        security: "v2c".into(),
        rate_per_second: 50,
        burst: 100,
        sent,
        failed: 1,
        suppressed,
        suppressing: suppressed > 0,
    };
    let inputs = PageInputs {
        uptime: Duration::from_secs(1),
        instances: Vec::new(),
        ha_groups: Vec::new(),
        ike: None,
        crypto_groups: Vec::new(),
        traps: vec![
            receiver("192.0.2.9:162", 100, 9900),
            receiver("[2001:db8::9]:1162", 7, 0),
        ],
    };
    let (page, s) = checked_page(&inputs);
    let at = |k: &str| *s.get(k).unwrap_or_else(|| panic!("no {k} in\n{page}"));
    let v4 = "{receiver=\"192.0.2.9:162\"}";
    let v6 = "{receiver=\"[2001:db8::9]:1162\"}";
    assert_eq!(at(&format!("slowpath_snmp_traps_sent_total{v4}")), 100.0);
    assert_eq!(
        at(&format!("slowpath_snmp_traps_suppressed_total{v4}")),
        9900.0
    );
    assert_eq!(
        at(&format!("slowpath_snmp_traps_suppressed_total{v6}")),
        0.0
    );
    assert_eq!(at(&format!("slowpath_snmp_traps_failed_total{v6}")), 1.0);
}

#[test]
fn ikev1_half_open_sas_are_on_the_page_beside_ikev2s() {
    let counters = IkeCounters {
        half_open: BTreeMap::from([("current".to_string(), 3), ("expired".to_string(), 4)]),
        half_open_v1: BTreeMap::from([
            ("expired".to_string(), 7),
            ("evicted".to_string(), 378),
            ("current".to_string(), 50),
        ]),
        ..IkeCounters::default()
    };
    let inputs = PageInputs {
        uptime: Duration::from_secs(1),
        instances: Vec::new(),
        ha_groups: Vec::new(),
        ike: Some(IkeInputs {
            sas: Vec::new(),
            counters,
            pools: Vec::new(),
        }),
        crypto_groups: Vec::new(),
        traps: Vec::new(),
    };
    let (page, s) = checked_page(&inputs);
    let at = |k: &str| *s.get(k).unwrap_or_else(|| panic!("no {k} in\n{page}"));
    assert_eq!(at("slowpath_ike_v1_half_open"), 50.0);
    assert_eq!(
        at("slowpath_ike_v1_half_open_events_total{event=\"evicted\"}"),
        378.0
    );
    assert_eq!(
        at("slowpath_ike_v1_half_open_events_total{event=\"expired\"}"),
        7.0
    );
    assert!(!page.contains("slowpath_ike_v1_half_open_events_total{event=\"current\"}"));
    // IKEv2's stay apart.
    assert_eq!(at("slowpath_ike_half_open"), 3.0);
    assert_eq!(
        at("slowpath_ike_half_open_events_total{event=\"expired\"}"),
        4.0
    );
}

/// The page written from `inputs`, checked as promtool would, and its samples.
fn checked_page(inputs: &PageInputs) -> (String, BTreeMap<String, f64>) {
    let mut out = Vec::new();
    write(&mut out, inputs).unwrap();
    let page = String::from_utf8(out).unwrap();
    promtext::scrape::promtool_check(&page).unwrap();
    let s = promtext::scrape::samples(&page);
    (page, s)
}
