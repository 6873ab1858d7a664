//! The IKEv1 words of `conn` and `child` lines.

use super::parse_text;
use ike::config::IkeConfig;
use ike::config::IkeVersion;
use ike::v1::config::DEFAULT_PHASE1_LIFE;
use ike::v1::offers::phase2_offers;
use std::time::Duration;

const CONN: &str = "conn c local 192.0.2.1 remote 192.0.2.2 auth psk k";
const CHILD: &str = "child n conn c local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16";

/// A file of one secret, the conn line `CONN` + `conn`, and the child `CHILD` + `child`.
fn text(conn: &str, child: &str) -> String {
    format!("secret k psk 0x01\n{CONN} {conn}\n{CHILD} {child}\n")
}

fn refusal(conn: &str, child: &str) -> (usize, String) {
    parse_text(&text(conn, child)).map_or_else(|e| (e.line, e.reason), |_| (0, String::new()))
}

/// The ISAKMP SA lifetime a version 1 conn proposes, in seconds.
fn phase1_life(c: &IkeConfig) -> u32 {
    let v1 = c.v1().expect("version 1");
    v1.phase1[0].life_seconds.expect("a lifetime")
}

#[test]
fn version_defaults_to_2() {
    let s = parse_text(&text(
        "ike aes128gcm16-prfsha256-ecp256 dpd 30s",
        "esp aes128gcm16",
    ))
    .unwrap();
    assert_eq!(s.conns[0].ike_version, IkeVersion::V2);
    assert!(s.conns[0].v1().is_none());
    let s = parse_text(&text(
        "version 2 ike aes128gcm16-prfsha256-ecp256",
        "esp aes128gcm16",
    ))
    .unwrap();
    assert_eq!(s.conns[0].ike_version, IkeVersion::V2);
}

#[test]
fn version_1_maps_the_proposals() {
    let s = parse_text(&text(
        "version 1 ike aes256-sha256-modp2048,aes128-sha1-ecp256 rekey 3h",
        "esp aes128gcm16,aes128-sha256-modp2048",
    ))
    .unwrap();
    let c = &s.conns[0];
    let v1 = c.v1().expect("version 1");
    assert!(!v1.aggressive);
    let got: Vec<_> = v1
        .phase1
        .iter()
        .map(|t| (t.encryption, t.key_bits, t.hash, t.group, t.auth_method))
        .collect();
    // AES-CBC (7), SHA2-256 (4) / SHA-1 (2), pre-shared key (1).
    assert_eq!(got, [(7, Some(256), 4, 14, 1), (7, Some(128), 2, 19, 1)]);
    // The ISAKMP SA is reauthenticated at `rekey`, before the lifetime it proposes.
    assert_eq!(phase1_life(&s.conns[0]), 3 * 3600 * 11 / 10);
    let child = &c.children[0];
    let offers = phase2_offers(c, child).unwrap();
    let offers: Vec<_> = offers
        .iter()
        .map(|o| (o.transform_id, o.key_bits, o.auth, o.group))
        .collect();
    // AES-GCM-16 (20) without PFS; AES-CBC (12) with HMAC-SHA2-256 (5) and PFS group 14.
    assert_eq!(
        offers,
        [
            (20, Some(128), None, None),
            (12, Some(128), Some(5), Some(14))
        ]
    );
    let s = parse_text(&text(
        "version 1 ike aes128-sha1-modp2048 rekey 0 life 2h",
        "esp aes128gcm16",
    ))
    .unwrap();
    assert_eq!(phase1_life(&s.conns[0]), 7200);
    let s = parse_text(&text(
        "version 1 ike aes128-sha1-modp2048 rekey 0",
        "esp aes128gcm16",
    ))
    .unwrap();
    assert_eq!(
        u64::from(phase1_life(&s.conns[0])),
        DEFAULT_PHASE1_LIFE.as_secs()
    );
}

#[test]
fn aggressive_is_accepted() {
    let s = parse_text(&text(
        "version ikev1 aggressive ike aes128-sha1-modp2048,aes256-sha256-modp2048",
        "esp aes128gcm16",
    ))
    .unwrap();
    let v1 = s.conns[0].v1().unwrap();
    assert!(v1.aggressive);
    assert_eq!(v1.phase1.len(), 2);
    assert!(v1.phase1.iter().all(|p| p.group == v1.phase1[0].group));
}

#[test]
fn dpd_knobs() {
    let s = parse_text(&text(
        "version 1 ike aes128-sha1-modp2048 dpd interval 10s timeout 3s retries 5 dpd-action restart",
        "esp aes128gcm16",
    ))
    .unwrap();
    let c = &s.conns[0];
    assert_eq!(c.dpd.interval, Duration::from_secs(10));
    let t = c.v1().unwrap().dpd_timing(c.dpd.interval).unwrap();
    assert_eq!(
        (t.interval, t.retransmit, t.retries),
        (Duration::from_secs(10), Duration::from_secs(3), 5)
    );
    // StarOS's word, and the defaults: retransmit every interval, four retries.
    let s = parse_text(&text(
        "version 1 ike aes128-sha1-modp2048 dpd 30s num-retry 2",
        "esp aes128gcm16",
    ))
    .unwrap();
    let c = &s.conns[0];
    let t = c.v1().unwrap().dpd_timing(c.dpd.interval).unwrap();
    assert_eq!((t.retransmit, t.retries), (Duration::from_secs(30), 2));
    let s = parse_text(&text(
        "version 1 ike aes128-sha1-modp2048 dpd interval 20s",
        "esp aes128gcm16",
    ))
    .unwrap();
    let c = &s.conns[0];
    assert_eq!(
        c.v1().unwrap().dpd_timing(c.dpd.interval).unwrap().retries,
        4
    );
    assert_eq!(c.v1().unwrap().dpd_timing(Duration::ZERO), None);
    // `dpd interval D` is IKEv2's `dpd D` too.
    let s = parse_text(&text(
        "ike aes128gcm16-prfsha256-ecp256 dpd interval 20s",
        "esp aes128gcm16",
    ))
    .unwrap();
    assert_eq!(s.conns[0].dpd.interval, Duration::from_secs(20));
}

#[test]
fn refusals_name_the_line_and_the_word() {
    let v1 = "version 1 ike aes128-sha1-modp2048";
    let conn_cases: &[(&str, &str)] = &[
        ("version 3 ike aes128-sha1-modp2048", "version 3: 1 or 2"),
        (
            "aggressive ike aes128-sha1-modp2048",
            "aggressive: IKEv1 only",
        ),
        ("version 2 life 1h ike aes128-sha1-modp2048", "life (IKEv2"),
        ("ike aes128-sha1-modp2048 dpd 30s retries 3", "IKEv1 only"),
        (
            "version 1 ike aes128gcm16-prfsha256-ecp256",
            "ike: IKEv1 phase 1 has no AEAD",
        ),
        ("version 1 ike aes128-sha1-curve25519", "no IKEv1 number"),
        (
            "version 1 aggressive ike aes128-sha1-modp2048,aes128-sha1-ecp256",
            "one D-H group",
        ),
        (
            "version 1 ike aes128-sha1-modp2048 dpd 0 timeout 5s",
            "need a dpd interval",
        ),
        (
            "version 1 ike aes128-sha1-modp2048 dpd 10s timeout 0",
            "dpd timeout: above 0",
        ),
        (
            "version 1 ike aes128-sha1-modp2048 dpd 10s timeout 2h",
            "at most 1h",
        ),
        (
            "version 1 ike aes128-sha1-modp2048 dpd 10s retries 0",
            "dpd retries: 1 to 100",
        ),
        (
            "version 1 ike aes128-sha1-modp2048 dpd 10s num-retry 101",
            "dpd num-retry: 1 to 100",
        ),
        (
            "version 1 ike aes128-sha1-modp2048 dpd interval",
            "missing dpd",
        ),
        (
            "version 1 ike aes128-sha1-modp2048 rekey 4h life 1h",
            "before life",
        ),
        ("version 1 ike aes128-sha1-modp2048 life 0", "life: above 0"),
        ("version 1 ike aes128-sha1-modp2048 vip", "Mode Config"),
        (
            "version 1 ike aes128-sha1-modp2048 fragment 1280",
            "fragmentation",
        ),
    ];
    for (conn, want) in conn_cases {
        let (line, e) = refusal(conn, "esp aes128gcm16");
        assert_eq!(line, 2, "{conn}: {e}");
        assert!(e.contains(want), "{conn}: `{e}` lacks `{want}`");
    }
    let (line, e) = refusal(v1, "esp aes128-sha1-curve25519");
    assert_eq!(line, 3, "{e}");
    assert!(e.contains("esp:") && e.contains("no IKEv1 number"), "{e}");
}
