//! `crypto-group` lines: what they give, and each refusal at its line.

use std::time::Duration;

use ike::crypto_group::{Bringup, Revert};

use super::parse_text;

const MEMBERS: &str = "secret lab psk 0x0102030405060708090a0b0c0d0e0f10
pool vpn 10.3.0.0/24
conn a local 192.0.2.1 remote 192.0.2.2 auth psk lab ike aes128gcm16-prfsha256-ecp256 dpd 2s
child net conn a local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16
conn b local 192.0.2.1 remote 192.0.2.3 auth psk lab ike aes128gcm16-prfsha256-ecp256 dpd 2s
child net conn b local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16
conn c local 192.0.2.1 remote 192.0.2.4 auth psk lab ike aes128gcm16-prfsha256-ecp256
child other conn c local-ts 10.1.0.0/16 remote-ts 10.9.0.0/16 esp aes128gcm16
conn p1 local 192.0.2.1 remote 192.0.2.5 auth psk lab ike aes128gcm16-prfsha256-ecp256
child in conn p1 local-ts 10.1.0.0/16 remote-ts 10.3.0.1-10.3.0.100 esp aes128gcm16
conn p2 local 192.0.2.1 remote any auth psk lab ike aes128gcm16-prfsha256-ecp256 pool vpn
child in conn p2 local-ts 10.1.0.0/16 remote-ts 10.3.0.128/25 esp aes128gcm16
";

/// Line 13, the first after `MEMBERS`.
const LINE: usize = 13;

fn with(line: &str) -> String {
    format!("{MEMBERS}{line}\n")
}

#[test]
fn a_group_of_two_conns_with_the_same_selectors() {
    let s = parse_text(&with("crypto-group site primary a secondary b")).unwrap();
    let g = &s.groups[0];
    assert_eq!(
        (g.name.as_str(), g.primary.as_str(), g.secondary.as_str()),
        ("site", "a", "b")
    );
    assert_eq!(g.bringup, Bringup::Always);
    assert_eq!(
        g.revert,
        Revert::After(Duration::from_secs(30)),
        "auto by default"
    );
    let s = parse_text(&with(
        "crypto-group site primary a secondary b on-demand switchover auto hold 2m retry 1s",
    ))
    .unwrap();
    let g = &s.groups[0];
    assert_eq!(g.bringup, Bringup::OnDemand);
    assert_eq!(g.revert, Revert::After(Duration::from_secs(120)));
    assert_eq!(g.retry, Duration::from_secs(1));
    let s = parse_text(&with(
        "crypto-group site primary b secondary a switchover auto do-not-revert",
    ))
    .unwrap();
    assert_eq!(s.groups[0].revert, Revert::Never);
    assert_eq!(s.groups[0].primary, "b");
}

#[test]
fn a_pool_matches_members_with_different_selectors() {
    let s = parse_text(&with(
        "crypto-group pooled primary p1 secondary p2 match-pool vpn",
    ))
    .unwrap();
    assert_eq!(s.groups[0].secondary, "p2");
}

#[test]
fn refuses_bad_groups_at_their_line() {
    let cases = [
        ("crypto-group", "a crypto-group name"),
        ("crypto-group g secondary b", "missing `primary CONN`"),
        ("crypto-group g primary a", "missing `secondary CONN`"),
        (
            "crypto-group g primary a secondary a",
            "cannot be both members",
        ),
        (
            "crypto-group g primary a secondary nope",
            "conn nope is not defined above",
        ),
        (
            "crypto-group g primary a secondary c",
            "do not protect the same traffic",
        ),
        (
            "crypto-group g primary p1 secondary p2",
            "do not protect the same traffic",
        ),
        (
            "crypto-group g primary a secondary c match-pool vpn",
            "conn a: neither",
        ),
        (
            "crypto-group g primary a secondary b match-pool nope",
            "pool nope is not defined",
        ),
        (
            "crypto-group g primary a secondary b switchover manual",
            "switchover auto",
        ),
        (
            "crypto-group g primary a secondary b retry 0",
            "retry: above 0",
        ),
        (
            "crypto-group g primary a secondary b sideways",
            "unknown crypto-group option",
        ),
    ];
    for (line, want) in cases {
        let e = parse_text(&with(line)).unwrap_err();
        assert_eq!(e.line, LINE, "{line}: {}", e.reason);
        assert!(
            e.reason.contains(want),
            "{line}: `{}` lacks `{want}`",
            e.reason
        );
    }
    let twice = format!(
        "{MEMBERS}crypto-group g primary a secondary b\ncrypto-group g primary p1 secondary p2 match-pool vpn\n"
    );
    let e = parse_text(&twice).unwrap_err();
    assert_eq!(
        (e.line, e.reason.as_str()),
        (LINE + 1, "crypto-group g is defined twice")
    );
    let shared = format!(
        "{MEMBERS}crypto-group g primary a secondary b\ncrypto-group h primary b secondary a\n"
    );
    let e = parse_text(&shared).unwrap_err();
    assert_eq!(e.line, LINE + 1);
    assert!(
        e.reason.contains("conn b is in crypto-group g already"),
        "{}",
        e.reason
    );
    // A member's children must be above the group.
    let early = "secret lab psk 0x0102030405060708090a0b0c0d0e0f10
conn a local 192.0.2.1 remote 192.0.2.2 auth psk lab ike aes128gcm16-prfsha256-ecp256
conn b local 192.0.2.1 remote 192.0.2.3 auth psk lab ike aes128gcm16-prfsha256-ecp256
crypto-group g primary a secondary b
";
    let e = parse_text(early).unwrap_err();
    assert_eq!(e.line, 4);
    assert!(
        e.reason.contains("conn a has no child above"),
        "{}",
        e.reason
    );
}
