//! The IKE statements: whole files, every refusal, files and scale.

use super::identity::parse_identity;
use super::*;
use ike::config::{AuthConfig, DpdAction, DpdConfig, Identity, Mode};
use ike::crypto::transform::{
    AUTH_HMAC_SHA1_96, CURVE25519, ECP_256, ENCR_AES_CBC, ENCR_AES_GCM_16, MODP_1024, MODP_2048,
    MODP_3072, PRF_HMAC_SHA1, PRF_HMAC_SHA2_256,
};
use ike::message::{IdType, TrafficSelector};
use openssl::pkey::PKey;
use openssl::x509::X509NameBuilder;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

/// A refused text's line and reason.
fn refusal(text: &str) -> (usize, String) {
    parse_text(text).map_or_else(|e| (e.line, e.reason), |_| (0, String::new()))
}

/// Each case's text, made by `text(case)`, is refused at `line` with a reason holding `want`.
fn assert_refused(cases: &[(&str, &str)], line: usize, text: impl Fn(&str) -> String) {
    for (case, want) in cases {
        let (n, e) = refusal(&text(case));
        assert_eq!(n, line, "{case}: {e}");
        assert!(e.contains(want), "{case}: `{e}` lacks `{want}`");
    }
}

const GOOD: &str = r#"
secret lab psk 0x0102030405060708090a0b0c0d0e0f10
secret words psk "a shared secret with spaces"
pool vpn 10.3.0.0/24 dns 10.1.0.53 nbns 10.1.0.54 dhcp 10.1.0.55 subnet 10.1.0.0/16
pool small 10.4.0.10-10.4.0.20
conn gw2 local 192.0.2.1 remote 192.0.2.2 local-id fqdn:gw1.example remote-id fqdn:gw2.example auth psk lab ike aes128-sha1-modp1024,aes128gcm16-prfsha256-ecp256 dpd 30s dpd-action restart rekey 4h jitter 5% encap fragment 1280 retransmit 2s tries 3 start fastpath-port 1
child net conn gw2 local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16,10.5.0.1-10.5.0.9[tcp/443] esp aes128gcm16-esn,aes128-sha1-modp2048-esn mode tunnel rekey 1h life 1h10m bytes 1000000000 packets 1000000 replay-window 1024
child mgmt conn gw2 local-ts dynamic remote-ts 192.0.2.2[udp/1000-2000] esp aes256-sha256 mode transport
conn rw local 192.0.2.1 remote any local-id dn:"C=CH, O=Lab, CN=gw1" remote-id any auth psk words ike aes256gcm16-prfsha384-curve25519,aes256-sha256-x25519 pool vpn add
child rw conn rw local-ts 10.1.0.0/16 remote-ts 10.3.0.0/24 esp aes256gcm16
conn client local 192.0.2.9 remote 192.0.2.1 local-id email:me@example.net auth psk words ike aes128gcm16-prfsha256-ecp384-modp3072 vip trap
child c conn client local-ts dynamic remote-ts 0.0.0.0/0 esp aes128gcm16 esn
"#;

#[test]
fn parses_a_whole_node() {
    let s = parse_text(GOOD).unwrap();
    assert_eq!(s.conns.len(), 3);
    let gw = &s.conns[0];
    assert_eq!(gw.local_addr, "192.0.2.1:500".parse().unwrap());
    assert_eq!(gw.local_id, Identity::fqdn("gw1.example"));
    assert_eq!(gw.remote_id, Some(Identity::fqdn("gw2.example")));
    assert!(
        matches!(&gw.auth, AuthConfig::Psk(k) if k[..] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])
    );
    // CBC: the PRF follows the integrity's hash.
    assert_eq!(gw.ike_proposals.len(), 2);
    let cbc = gw.ike_proposals[0];
    assert_eq!(
        (cbc.encr, cbc.encr_key_bits, cbc.integ, cbc.prf, cbc.dh),
        (
            ENCR_AES_CBC,
            128,
            Some(AUTH_HMAC_SHA1_96),
            Some(PRF_HMAC_SHA1),
            Some(MODP_1024)
        )
    );
    let gcm = gw.ike_proposals[1];
    assert_eq!(
        (gcm.encr, gcm.integ, gcm.prf, gcm.dh),
        (
            ENCR_AES_GCM_16,
            None,
            Some(PRF_HMAC_SHA2_256),
            Some(ECP_256)
        )
    );
    assert_eq!(
        gw.dpd,
        DpdConfig {
            interval: Duration::from_secs(30),
            action: DpdAction::Restart
        }
    );
    assert_eq!(gw.rekey_time, Duration::from_secs(4 * 3600));
    assert_eq!(gw.rekey_jitter, Duration::from_secs(720));
    assert!(gw.force_encap);
    assert_eq!(gw.fragment_size, Some(1280));
    assert_eq!(
        (gw.retransmit.timeout, gw.retransmit.tries),
        (Duration::from_secs(2), 3)
    );
    assert_eq!(s.conn_extras[0].fastpath_port, Some(1));
    let net = &gw.children[0];
    assert_eq!(net.start_action, StartAction::Start);
    assert!(net.esn);
    assert_eq!(net.remote_ts.len(), 2);
    assert_eq!(net.remote_ts[1].ip_protocol, 6);
    assert_eq!(
        (net.remote_ts[1].start_port, net.remote_ts[1].end_port),
        (443, 443)
    );
    assert_eq!(net.esp_proposals.len(), 2);
    assert_eq!(net.esp_proposals[1].dh, Some(MODP_2048));
    assert_eq!(net.esp_proposals[1].prf, None);
    assert_eq!(net.lifetimes.rekey_time, Duration::from_secs(3600));
    assert_eq!(net.lifetimes.life_time, Duration::from_secs(4200));
    assert_eq!(net.lifetimes.jitter, Duration::from_secs(600));
    assert_eq!(
        (net.lifetimes.rekey_bytes, net.lifetimes.life_bytes),
        (900_000_000, 1_000_000_000)
    );
    assert_eq!(
        (net.lifetimes.rekey_packets, net.lifetimes.life_packets),
        (900_000, 1_000_000)
    );
    assert_eq!(
        s.child_extra("gw2", "net").unwrap().replay_window,
        Some(1024)
    );
    let mgmt = &gw.children[1];
    assert_eq!(mgmt.mode, Mode::Transport);
    assert_eq!(
        mgmt.local_ts[0].start_addr,
        "192.0.2.1".parse::<IpAddr>().unwrap()
    );
    assert_eq!(mgmt.local_ts[0].end_addr, mgmt.local_ts[0].start_addr);
    assert_eq!(
        (mgmt.remote_ts[0].start_port, mgmt.remote_ts[0].end_port),
        (1000, 2000)
    );
    assert_eq!(mgmt.lifetimes.life_time, Duration::from_secs(3960));
    assert_eq!(s.child_extra("gw2", "mgmt").unwrap().replay_window, None);

    let rw = &s.conns[1];
    assert!(rw.remote_addr.ip().is_unspecified());
    assert_eq!(rw.remote_id, None);
    assert_eq!(rw.local_id.id_type, IdType::DER_ASN1_DN);
    assert_eq!(rw.virtual_ip.pool.as_deref(), Some("vpn"));
    assert_eq!(rw.children[0].start_action, StartAction::None);
    assert_eq!(rw.ike_proposals[1].prf, Some(PRF_HMAC_SHA2_256));
    assert_eq!(rw.ike_proposals[1].dh, Some(CURVE25519));
    assert!(matches!(&rw.auth, AuthConfig::Psk(k) if k[..] == *b"a shared secret with spaces"));

    let client = &s.conns[2];
    assert_eq!(client.local_id, Identity::user_fqdn("me@example.net"));
    assert!(client.virtual_ip.request);
    // Two groups in one proposal: one suite each.
    assert_eq!(client.ike_proposals.len(), 2);
    assert_eq!(client.ike_proposals[1].dh, Some(MODP_3072));
    assert_eq!(client.children[0].start_action, StartAction::Trap);
    assert_eq!(client.children[0].local_ts[0], TrafficSelector::any(false));

    let vpn = &s.pools[0];
    assert_eq!(
        (vpn.first, vpn.last),
        (Ipv4Addr::new(10, 3, 0, 1), Ipv4Addr::new(10, 3, 0, 254))
    );
    assert_eq!(vpn.dns, vec![Ipv4Addr::new(10, 1, 0, 53)]);
    assert_eq!(
        vpn.subnets,
        vec![(Ipv4Addr::new(10, 1, 0, 0), Ipv4Addr::new(255, 255, 0, 0))]
    );
    assert_eq!(
        (s.pools[1].first, s.pools[1].last),
        (Ipv4Addr::new(10, 4, 0, 10), Ipv4Addr::new(10, 4, 0, 20))
    );
    // Secrets never print.
    assert!(!format!("{s:?}").contains("shared secret"));
}

#[test]
fn refuses_bad_lines_with_a_reason() {
    let head = "secret k psk 0x01\npool p 10.3.0.0/24\n";
    let conn =
        "conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256";
    let cases: &[(&str, &str)] = &[
        ("secret k2 psk 0xZZ", "hex"),
        ("secret k2", "secret NAME"),
        ("secret k psk 0x02", "defined twice"),
        ("secret k2 psk \"unterminated", "unterminated"),
        ("pool q 2001:db8::/64", "IPv4"),
        ("pool q 10.0.0.9-10.0.0.1", "backwards"),
        ("pool q 10.0.0.0/24 wins 10.0.0.1", "unknown pool option"),
        ("conn c remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256", "missing `local"),
        ("conn c local any remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256", "local any"),
        ("conn c local 192.0.2.1 remote 2001:db8::1 auth psk k ike aes128gcm16-prfsha256-ecp256", "one address family"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 ike aes128gcm16-prfsha256-ecp256", "missing `auth"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk nope ike aes128gcm16-prfsha256-ecp256", "secret nope is not defined"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k", "missing `ike"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-ecp256", "needs a PRF"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128-sha1", "D-H group"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128-modp2048", "integrity"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-sha1-prfsha1-modp2048", "AEAD cipher takes no"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128-aes128gcm16-sha1-modp2048", "separate proposals"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike 3des-sha1-modp2048", "unknown proposal keyword `3des`"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128-sha1-modp2048-esn", "unknown proposal keyword `esn`"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128--sha1-modp2048", "empty keyword"),
        ("conn c local 192.0.2.1 remote any auth psk k ike aes128gcm16-prfsha256-ecp256 start", "remote any"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256 dpd 3x", "not a duration"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256 dpd-action panic", "dpd-action"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256 jitter 150%", "percentage"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256 pool nope", "pool nope"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256 fragment 100", "fragment"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256 frob", "unknown conn option"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth magic k ike aes128gcm16-prfsha256-ecp256", "auth magic"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 auth pubkey key /nonexistent ike aes128gcm16-prfsha256-ecp256", "/nonexistent"),
        ("conn c local 192.0.2.1 remote 192.0.2.2 local-id dn:\"C=CH, XX=y\" auth psk k ike aes128gcm16-prfsha256-ecp256", "DN attribute"),
        ("child n conn nope local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16", "conn nope"),
    ];
    assert_refused(cases, 3, |line| format!("{head}{line}\n"));
    let child_cases: &[(&str, &str)] = &[
        ("child n conn c remote-ts 10.0.0.0/8 esp aes128gcm16", "local-ts"),
        ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8", "missing `esp"),
        ("child n conn c local-ts 10.0.0.0/33 remote-ts 10.0.0.0/8 esp aes128gcm16", "prefix length"),
        ("child n conn c local-ts 10.0.0.0/8[tcp/9-1] remote-ts 10.0.0.0/8 esp aes128gcm16", "backwards"),
        ("child n conn c local-ts 10.0.0.0/8[/80] remote-ts 10.0.0.0/8 esp aes128gcm16", "need a protocol"),
        ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16-prfsha256", "no PRF in ESP"),
        ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128-sha384", "fast path"),
        ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16-esn,aes128gcm16-noesn", "pick one"),
        ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16-noesn esn", "noesn"),
        ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16 rekey 2h life 1h", "before life"),
        ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16 mode beet", "mode beet"),
        ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16 replay-window 99999999", "replay-window"),
        ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16 spice", "unknown child option"),
    ];
    assert_refused(child_cases, 4, |line| format!("{head}{conn}\n{line}\n"));
    // A conn without a child is refused once the file is read.
    let (_, e) = refusal(&format!("{head}{conn}\n"));
    assert!(e.contains("has no child"), "{e}");
    // The same child twice in one conn.
    let twice = format!("{head}{conn}\nchild n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16\nchild n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16\n");
    assert!(refusal(&twice).1.contains("already has"));
}

#[test]
fn durations_and_quotes() {
    // The toolkit's one grammar, in every duration option; a bare number wants a unit.
    let conn =
        "conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256";
    let text = format!(
        "secret k psk 0x01\n{conn} dpd 1m30s rekey 1h10m retransmit 150cs\n\
         child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16 rekey 0 life 0\n"
    );
    let s = parse_text(&text).unwrap();
    assert_eq!(s.conns[0].dpd.interval, Duration::from_secs(90));
    assert_eq!(s.conns[0].rekey_time, Duration::from_secs(4200));
    assert_eq!(s.conns[0].retransmit.timeout, Duration::from_millis(1500));
    let l = &s.conns[0].children[0].lifetimes;
    assert_eq!(
        (l.rekey_time, l.life_time),
        (Duration::ZERO, Duration::ZERO)
    );
    let (n, e) = refusal(&format!("secret k psk 0x01\n{conn} rekey 90\n"));
    assert_eq!(
        (n, e.as_str()),
        (
            2,
            "rekey: `90` wants a unit (100ms, 150cs, 30s, 10m, 1h10m, 2d)"
        )
    );
    // A quoted value arrives as one word, spaces and `#` kept.
    let s = parse_text(&format!(
        "secret k psk \"a  b # c\"  # a comment\n{conn} local-id dn:\"C=CH, O=Lab #1, CN=gw\"\n\
         child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16\n"
    ))
    .unwrap();
    assert!(matches!(&s.conns[0].auth, AuthConfig::Psk(k) if k[..] == *b"a  b # c"));
    assert_eq!(s.conns[0].local_id.id_type, IdType::DER_ASN1_DN);
    assert!(refusal("secret k psk \"open\n").1.contains("unterminated"));
    let (id, _) = parse_identity("192.0.2.1").unwrap();
    assert_eq!(id, Identity::ip("192.0.2.1".parse().unwrap()));
    assert_eq!(parse_identity("a@b").unwrap().0, Identity::user_fqdn("a@b"));
    assert_eq!(
        parse_identity("gw.example").unwrap().0,
        Identity::fqdn("gw.example")
    );
    assert_eq!(
        parse_identity("CN=x").unwrap().0.id_type,
        IdType::DER_ASN1_DN
    );
    // The same DN, either separator.
    assert_eq!(
        parse_identity("dn:C=CH, CN=x").unwrap().0,
        parse_identity("dn:/C=CH/CN=x").unwrap().0
    );
}

#[test]
fn proposal_combinations() {
    let (s, _) = parse_proposals("aes128-aes256-sha1-sha256-modp2048", Kind::Ike).unwrap();
    // 2 ciphers x 2 integrity x 2 derived PRFs.
    assert_eq!(s.len(), 8);
    assert_eq!(
        (s[0].encr_key_bits, s[0].integ, s[0].prf),
        (128, Some(AUTH_HMAC_SHA1_96), Some(PRF_HMAC_SHA1))
    );
    let (s, esn) = parse_proposals("aes128gcm16-aes256gcm16-ecp256-noesn", Kind::Esp).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(esn, EsnWords::NoEsn);
    assert_eq!(s[1].dh, Some(ECP_256));
    assert!(parse_proposals(
        "aes128-aes256-sha1-sha256-modp1024-modp2048-modp3072-ecp256-ecp384-curve25519-prfsha1-prfsha256-prfsha384",
        Kind::Ike
    )
    .is_err());
}

/// A self-signed P-256 certificate and its key, in PEM files.
fn write_pki(dir: &Path) -> (String, String) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::x509::X509;
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("C", "CH").unwrap();
    name.append_entry_by_text("O", "Lab").unwrap();
    name.append_entry_by_text("CN", "gw1").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = b.build();
    let (c, k) = (dir.join("gw1.pem"), dir.join("gw1.key"));
    std::fs::write(&c, cert.to_pem().unwrap()).unwrap();
    std::fs::write(&k, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (c.display().to_string(), k.display().to_string())
}

#[test]
fn pubkey_auth_from_files() {
    let dir = std::env::temp_dir().join(format!("slowpath-ike-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = write_pki(&dir);
    let text = format!(
        "conn c local 192.0.2.1 remote 192.0.2.2 local-id dn:\"C=CH, O=Lab, CN=gw1\" auth pubkey cert {cert} key {key} ca {cert} ike aes128gcm16-prfsha256-ecp256\n\
         conn d local 192.0.2.1 remote 192.0.2.3 auth pubkey cert {cert} key {key} ca {cert} ca {cert} ike aes128gcm16-prfsha256-ecp256\n\
         child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16\n\
         child n conn d local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16\n"
    );
    let s = parse_text(&text).unwrap();
    let subject = {
        let pem = std::fs::read(&cert).unwrap();
        let c = openssl::x509::X509::from_pem(&pem).unwrap();
        c.subject_name().to_der().unwrap()
    };
    // Given as text or left out: the certificate's own subject DER.
    assert_eq!(s.conns[0].local_id, Identity::dn(subject.clone()));
    assert_eq!(s.conns[1].local_id, Identity::dn(subject));
    let AuthConfig::PubKey(p) = &s.conns[1].auth else {
        panic!("pubkey")
    };
    assert_eq!(p.trust_anchors.len(), 2);
    // Another subject, or a key that is not the certificate's.
    let other = format!(
        "conn c local 192.0.2.1 remote 192.0.2.2 local-id dn:\"CN=gw9\" auth pubkey cert {cert} key {key} ca {cert} ike aes128gcm16-prfsha256-ecp256\n"
    );
    assert!(refusal(&other).1.contains("not the certificate's subject"));
    let (_, key2) = {
        let d2 = dir.join("other");
        std::fs::create_dir_all(&d2).unwrap();
        write_pki(&d2)
    };
    let wrong = format!(
        "conn c local 192.0.2.1 remote 192.0.2.2 auth pubkey cert {cert} key {key2} ca {cert} ike aes128gcm16-prfsha256-ecp256\n"
    );
    assert!(refusal(&wrong).1.contains("not the certificate's"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn psk_file() {
    let path = std::env::temp_dir().join(format!("slowpath-ike-psk-{}", std::process::id()));
    std::fs::write(&path, b"from a file\n").unwrap();
    let mut s = IkeSettings::default();
    let p = path.display().to_string();
    s.parse_statement(&["secret", "f", "psk-file", &p]).unwrap();
    assert_eq!(&s.secrets["f"][..], b"from a file");
    let _ = std::fs::remove_file(&path);
    assert!(s
        .parse_statement(&["secret", "g", "psk-file", "/nonexistent/psk"])
        .unwrap_err()
        .contains("/nonexistent/psk"));
}

#[test]
fn values_out_of_range_are_refused_at_their_line() {
    let head = "secret k psk 0x01\n";
    let conn =
        "conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256";
    let child = "child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16";
    let conn_cases: &[(&str, &str)] = &[
        (
            "local 0.0.0.0 remote 192.0.2.2",
            "local 0.0.0.0: not a unicast address",
        ),
        (
            "local 192.0.2.1 remote 255.255.255.255",
            "remote 255.255.255.255: not a unicast",
        ),
        (
            "local 192.0.2.1 remote 224.0.0.5",
            "remote 224.0.0.5: not a unicast",
        ),
        (
            "local 192.0.2.1 remote 0.0.0.0",
            "remote 0.0.0.0: not a unicast",
        ),
        (
            "local 2001:db8::1 remote ff02::1",
            "remote ff02::1: not a unicast",
        ),
        ("local :: remote 2001:db8::2", "local ::: not a unicast"),
        ("local 192.0.2.1 remote 192.0.2.2 tries 0", "tries: 1 to 32"),
        (
            "local 192.0.2.1 remote 192.0.2.2 tries 33",
            "tries: 1 to 32",
        ),
        (
            "local 192.0.2.1 remote 192.0.2.2 tries 4294967296",
            "is over 4294967295",
        ),
        (
            "local 192.0.2.1 remote 192.0.2.2 retransmit 2h",
            "retransmit: above 0, at most 1h",
        ),
        (
            "local 192.0.2.1 remote 192.0.2.2 retransmit 0",
            "retransmit: above 0",
        ),
        (
            "local 192.0.2.1 remote 192.0.2.2 fragment 65536",
            "fragment: 576 to 65535",
        ),
        (
            "local 192.0.2.1 remote 192.0.2.2 fastpath-port 65536",
            "`65536` is over 65535",
        ),
        ("local 192.0.2.1 remote 192.0.2.2 jitter 101%", "percentage"),
        ("local 192.0.2.1 remote 192.0.2.2 jitter +5%", "percentage"),
        (
            "local 192.0.2.1 remote 192.0.2.2 rekey 18446744073709551615s",
            "over ten years",
        ),
        (
            "local 192.0.2.1 remote 192.0.2.2 dpd 99999999999999999999d",
            "over ten years",
        ),
        (
            "local 192.0.2.1 remote 192.0.2.2 dpd",
            "dpd: `auth` is not a duration",
        ),
    ];
    assert_refused(conn_cases, 2, |opts| {
        format!("{head}conn c {opts} auth psk k ike aes128gcm16-prfsha256-ecp256\n")
    });
    let child_cases: &[(&str, &str)] = &[
        ("rekey 1h life 1h", "rekey must come before life"),
        ("rekey 2s life 1s500ms", "rekey must come before life"),
        ("life 18446744073709551615s", "over ten years"),
        (
            "replay-window 65537",
            "replay-window: want 0 (none) or 32..65536",
        ),
        (
            "replay-window 16",
            "replay-window: want 0 (none) or 32..65536",
        ),
        ("bytes 18446744073709551616", "is over 18446744073709551615"),
        ("packets -1", "not a number"),
    ];
    assert_refused(child_cases, 3, |opts| {
        format!("{head}{conn}\n{child} {opts}\n")
    });
    let ts_cases: &[(&str, &str)] = &[
        ("10.0.0.0/8[tcp/65536]", "port: `65536` is over 65535"),
        ("10.0.0.0/8[256]", "protocol: `256` is over 255"),
    ];
    assert_refused(ts_cases, 3, |ts| {
        format!("{head}{conn}\nchild n conn c local-ts {ts} remote-ts 10.0.0.0/8 esp aes128gcm16\n")
    });
    // The top of every range is still taken.
    let edge = format!(
        "{head}{conn} tries 32 retransmit 1h fragment 65535 fastpath-port 65535 jitter 100%\n\
         {child} rekey 3649d life 3650d bytes 18446744073709551615 replay-window 65536\n"
    );
    let s = parse_text(&edge).unwrap();
    let l = &s.conns[0].children[0].lifetimes;
    assert_eq!(l.life_bytes, u64::MAX);
    assert_eq!(l.rekey_bytes, u64::MAX - u64::MAX / 10);
    assert_eq!(s.conns[0].rekey_jitter, s.conns[0].rekey_time);
}

#[test]
fn an_endless_psk_file_is_refused_unread() {
    let mut s = IkeSettings::default();
    let e = s
        .parse_statement(&["secret", "z", "psk-file", "/dev/zero"])
        .unwrap_err();
    assert_eq!(e, "psk-file /dev/zero: is over 65536 bytes");
}

/// 100,000 conns, each with a child: names are found through index maps, so this is
/// linear (a scan of the conns above per line made it quadratic: not done in 60 s).
#[test]
fn a_hundred_thousand_conns_parse() {
    const N: u32 = 100_000;
    let mut text = String::from("secret k psk 0x01\n");
    for i in 0..N {
        let [_, a, b, c] = i.to_be_bytes();
        text.push_str(&format!(
            "conn c{i} local 192.0.2.1 remote 10.{a}.{b}.{c} auth psk k ike aes128gcm16-prfsha256-ecp256\n\
             child n conn c{i} local-ts 10.0.0.0/8 remote-ts 172.16.0.0/12 esp aes128gcm16\n"
        ));
    }
    let s = parse_text(&text).unwrap();
    assert_eq!(s.conns.len(), N as usize);
    assert_eq!(s.child_extras.len(), N as usize);
    let last = format!("c{}", N - 1);
    assert_eq!(s.conns[N as usize - 1].name, last);
    assert!(s.child_extra(&last, "n").is_some());
    assert!(s.child_extra(&last, "m").is_none());
}

#[test]
fn ike_state_dir_is_off_unless_given() {
    let base = "secret k psk \"some secret\"\n";
    assert_eq!(parse_text(base).unwrap().state_dir, None);
    let s = parse_text(&format!("{base}ike-state-dir /run/slowpath/ike\n")).unwrap();
    assert_eq!(s.state_dir.as_deref(), Some(Path::new("/run/slowpath/ike")));
    let s = parse_text(&format!("{base}ike-state-dir \"/run/a b\"\n")).unwrap();
    assert_eq!(s.state_dir.as_deref(), Some(Path::new("/run/a b")));
    assert_refused(
        &[
            ("ike-state-dir run/ike", "absolute"),
            ("ike-state-dir", "a directory"),
            ("ike-state-dir /a /b", ""),
        ],
        2,
        |case| format!("{base}{case}\n"),
    );
    let (line, why) = refusal(&format!("{base}ike-state-dir /a\nike-state-dir /b\n"));
    assert_eq!(line, 3);
    assert!(why.contains("twice"), "{why}");
}
