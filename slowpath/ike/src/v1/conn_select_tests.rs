//! The responder's choice of a connection: two connections for one peer address (any), two
//! identities, in Aggressive Mode (picked by the first message) and in Main Mode (moved at
//! MM5), and an identity no connection takes.

use std::sync::Arc;

use super::super::aggressive_mode::tests::aggressive;
use super::super::engine::V1Engine;
use super::super::engine_tests::{assert_mirrored, pair_configs, World};
use super::super::wire::{self, exchange, notify_type, Identification, Payload};
use super::*;
use crate::config::{AuthConfig, Identity, IkeConfig};
use crate::tests::harness::esp_cbc;

/// A (initiator, says `a_id`) and B's two connections for any address: `x` for
/// a1.example.net, answering as b.example.net, and `y` for a2.example.net, answering as
/// b2.example.net; `edit` makes them Aggressive or not.
fn two_conns(a_id: &str, edit: fn(IkeConfig) -> IkeConfig) -> World {
    let (mut a, b) = pair_configs(esp_cbc());
    a.local_id = Identity::fqdn(a_id);
    let conn = |name: &str, peer: &str, me: &str| {
        let mut c = b.clone();
        c.name = name.into();
        c.remote_id = Some(Identity::fqdn(peer));
        c.local_id = Identity::fqdn(me);
        edit(c)
    };
    let (x, y) = (
        conn("x", "a1.example.net", "b.example.net"),
        conn("y", "a2.example.net", "b2.example.net"),
    );
    // A expects whichever of B's identities its identity gets.
    a.remote_id = Some(Identity::fqdn(if a_id == "a2.example.net" {
        "b2.example.net"
    } else {
        "b.example.net"
    }));
    let mut w = World::new(edit(a), x.clone());
    w.b = V1Engine::new(&[x, y]);
    w
}

fn b_conn(w: &World) -> String {
    let st = w.b.status(w.now);
    assert_eq!(st.len(), 1);
    st[0].config.clone()
}

#[test]
fn aggressive_mode_picks_the_connection_by_identity() {
    for (who, conn) in [("a2.example.net", "y"), ("a1.example.net", "x")] {
        let mut w = two_conns(who, aggressive);
        w.initiate();
        w.run();
        assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1), "{who}");
        assert_eq!(b_conn(&w), conn);
        assert_mirrored(&w.seen_a.children[0], &w.seen_b.children[0]);
        assert_eq!(w.b.total_counters().total_dropped(), 0);
    }
}

#[test]
fn main_mode_moves_to_the_connection_of_the_identity() {
    for (who, conn) in [("a2.example.net", "y"), ("a1.example.net", "x")] {
        let mut w = two_conns(who, |c| c);
        w.initiate();
        w.run();
        assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1), "{who}");
        // MM1 found `x` by address; MM5's identity kept it or moved the SA to `y`, whose
        // identity A then got in MM6.
        assert_eq!(b_conn(&w), conn);
        assert_eq!(w.seen_a.children.len(), 1);
        assert_eq!(w.b.total_counters().total_dropped(), 0);
    }
}

/// Runs the exchange and gives the notifications B sent (clear or encrypted).
fn refused(mut w: World) -> (World, usize) {
    w.initiate();
    let mut told = 0;
    w.run_with(|p| {
        if exchange_of_informational(&p.bytes) && p.from != w_a() {
            told += 1;
        }
        Some(p)
    });
    (w, told)
}

fn exchange_of_informational(bytes: &[u8]) -> bool {
    wire::parse_header(bytes).is_ok_and(|h| h.exchange == exchange::INFORMATIONAL)
}

fn w_a() -> std::net::SocketAddr {
    crate::tests::harness::A_ADDR.parse().unwrap()
}

#[test]
fn an_identity_no_connection_takes_is_refused() {
    // Main Mode: found by address, refused at MM5 with INVALID_ID_INFORMATION (encrypted).
    let (w, told) = refused(two_conns("a3.example.net", |c| c));
    assert_eq!(told, 1);
    assert_eq!((w.seen_a.up, w.seen_b.up), (0, 0));
    assert!(w.b.sa_ids().is_empty());
    assert_eq!(w.b.total_counters().dropped(DropReason::IdMismatch), 1);
    // Aggressive Mode: refused at its first message, in clear.
    let (w, told) = refused(two_conns("a3.example.net", aggressive));
    assert_eq!(told, 1);
    assert_eq!((w.seen_a.up, w.seen_b.up), (0, 0));
    assert!(w.b.sa_ids().is_empty());
    assert_eq!(w.b.total_counters().dropped(DropReason::IdMismatch), 1);
}

#[test]
fn main_mode_moves_only_to_a_connection_with_the_same_key() {
    let mut w = two_conns("a2.example.net", |c| c);
    let (x, mut y) = {
        let (_, b) = pair_configs(esp_cbc());
        let mut x = b.clone();
        x.name = "x".into();
        x.remote_id = Some(Identity::fqdn("a1.example.net"));
        let mut y = b;
        y.name = "y".into();
        y.remote_id = Some(Identity::fqdn("a2.example.net"));
        (x, y)
    };
    y.auth = AuthConfig::psk(b"y's own secret");
    w.b = V1Engine::new(&[x, y]);
    w.initiate();
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (0, 0));
    assert_eq!(w.b.total_counters().dropped(DropReason::IdMismatch), 1);
}

fn id(name: &str) -> Identification {
    Identification {
        id_type: crate::message::IdType::FQDN.0,
        protocol: 0,
        port: 0,
        data: name.as_bytes().to_vec(),
    }
}

#[test]
fn a_named_identity_comes_before_any() {
    let (_, b) = pair_configs(esp_cbc());
    let conn = |name: &str, peer: Option<&str>| {
        let mut c = aggressive(b.clone());
        c.name = name.into();
        c.remote_id = peer.map(Identity::fqdn);
        Arc::new(c)
    };
    let configs = [conn("any", None), conn("named", Some("a.example.net"))];
    let (local, remote) = (b.local_addr, "203.0.113.9:500".parse().unwrap());
    let pick =
        |who: &str| for_aggressive(&configs, local, remote, &id(who)).map(|c| c[0].name.clone());
    assert_eq!(pick("a.example.net"), Ok("named".into()));
    assert_eq!(pick("other.example.net"), Ok("any".into()));
    // Main Mode connections only: an Aggressive Mode is refused as such.
    let main: Vec<_> = configs
        .iter()
        .map(|c| {
            let mut c = (**c).clone();
            if let crate::config::IkeVersion::V1(v) = &mut c.ike_version {
                v.aggressive = false;
            }
            Arc::new(c)
        })
        .collect();
    let refusal = for_aggressive(&main, local, remote, &id("a.example.net")).unwrap_err();
    assert_eq!(refusal, Refusal::AGGRESSIVE);
    let offer = phase1::offer(&main[0]);
    assert_eq!(
        for_main_mode(&main, local, remote, &offer).unwrap().name,
        "any"
    );
    assert!(for_main_mode(&configs, local, remote, &offer).is_none());
    // Another local address: no connection at all, and no word to the peer.
    let elsewhere = "192.0.2.99:500".parse().unwrap();
    let refusal = for_aggressive(&configs, elsewhere, remote, &id("a.example.net")).unwrap_err();
    assert_eq!(refusal, Refusal::NO_CONFIG);
    // The refusal in clear names the initiator's cookie.
    let h = wire::Header {
        icookie: [7; 8],
        rcookie: [0; 8],
        next_payload: 0,
        version: 0x10,
        exchange: exchange::AGGRESSIVE,
        flags: 0,
        message_id: 0,
        length: 0,
    };
    let msg = refusal_message(&h, notify_type::NO_PROPOSAL_CHOSEN).unwrap();
    let back = wire::parse_header(&msg).unwrap();
    assert_eq!(
        (back.icookie, back.exchange),
        ([7; 8], exchange::INFORMATIONAL)
    );
    let p = wire::parse_payloads(back.next_payload, &msg[wire::HEADER_LEN..]).unwrap();
    assert!(matches!(&p[0], Payload::Notify(n) if n.kind == notify_type::NO_PROPOSAL_CHOSEN));
}

/// A DN the way strongSwan puts it in its ID payload (PrintableStrings) or the way our `dn:`
/// config builds it (UTF8Strings).
fn dn_der(printable: bool) -> Vec<u8> {
    use openssl::asn1::Asn1Type;
    use openssl::nid::Nid;
    let kind = if printable {
        Asn1Type::PRINTABLESTRING
    } else {
        Asn1Type::UTF8STRING
    };
    let mut b = openssl::x509::X509NameBuilder::new().unwrap();
    for (nid, value) in [(Nid::COUNTRYNAME, "CH"), (Nid::COMMONNAME, "swan.test")] {
        let kind = if nid == Nid::COUNTRYNAME {
            Asn1Type::PRINTABLESTRING
        } else {
            kind
        };
        b.append_entry_by_nid_with_type(nid, value, kind).unwrap();
    }
    b.build().to_der().unwrap()
}

#[test]
fn a_dn_identity_is_matched_as_an_x509_name() {
    let (_, b) = pair_configs(esp_cbc());
    let mut c = b.clone();
    c.remote_id = Some(Identity {
        id_type: crate::message::IdType::DER_ASN1_DN,
        data: dn_der(false),
    });
    let peer = |data: Vec<u8>| Identification {
        id_type: crate::message::IdType::DER_ASN1_DN.0,
        protocol: 0,
        port: 0,
        data,
    };
    assert_ne!(dn_der(true), dn_der(false));
    assert_eq!(identity_rank(&c, &peer(dn_der(true))), Some(0));
    assert_eq!(identity_rank(&c, &peer(dn_der(false))), Some(0));
    let mut other = dn_der(true);
    let last = other.len() - 1;
    other[last] ^= 1;
    assert_eq!(identity_rank(&c, &peer(other)), None);
}

/// B's PSK connection `psk` and its RSA connection `rsa`, for the same peer address, in
/// the order given; A initiates with `a`.
fn psk_and_rsa(a: IkeConfig, rsa_first: bool) -> World {
    use super::super::engine_tests::signatures::{cert_configs, world_at};
    use crate::crypto::auth::test_pki::VALID_AT;
    let (_, mut psk) = pair_configs(esp_cbc());
    let (_, mut rsa) = cert_configs(false);
    (psk.name, rsa.name) = ("psk".into(), "rsa".into());
    let mut w = world_at(a, psk.clone(), VALID_AT);
    let offset = VALID_AT - w.now.as_secs() as i64;
    w.b = V1Engine::new(&if rsa_first { [rsa, psk] } else { [psk, rsa] });
    w.b.set_unix_epoch_offset(offset);
    w
}

#[test]
fn main_mode_picks_the_connection_of_the_peer_s_method() {
    use super::super::engine_tests::signatures::cert_configs;
    for rsa_first in [false, true] {
        let (psk_a, _) = pair_configs(esp_cbc());
        let (rsa_a, _) = cert_configs(false);
        for (a, conn) in [(psk_a, "psk"), (rsa_a, "rsa")] {
            let mut w = psk_and_rsa(a, rsa_first);
            w.initiate();
            w.run();
            assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1), "{conn} {rsa_first}");
            assert_eq!(b_conn(&w), conn);
            assert_mirrored(&w.seen_a.children[0], &w.seen_b.children[0]);
            assert_eq!(w.b.total_counters().total_dropped(), 0);
        }
    }
}

#[test]
fn main_mode_with_no_conn_of_the_method_is_not_answered() {
    let (_, b) = pair_configs(esp_cbc());
    let (local, remote) = (b.local_addr, "203.0.113.9:500".parse().unwrap());
    let (rsa_a, _) = super::super::engine_tests::signatures::cert_configs(false);
    let psk_only = [Arc::new(b)];
    assert!(for_main_mode(&psk_only, local, remote, &phase1::offer(&rsa_a)).is_none());
}
