//! Interop with scapy's `SecurityAssociation`, an independent ESP implementation: for every
//! transform, tunnel (all four address-family combinations) and transport mode (IPv4, IPv6),
//! ESN on and off, NAT-T on and off, scapy decrypts what we encrypt and we decrypt what scapy
//! encrypts. Needs Debian's python3-scapy (`ci/setup.sh` installs it).

mod common;

use common::{udp_packet, Rng};
use esp::buf::{PacketBuf, VecBuf};
use esp::crypto::{EncAlg, IntegAlg, TransformKeys};
use esp::inbound::decrypt_burst;
use esp::lcore::Lcore;
use esp::outbound::encrypt_burst;
use esp::sa::{Direction, Mode, SaConfig, SaId, UdpEncap};
use esp::sad::Sad;
use esp::snapshot::SyncPolicy;
use esp::verdict::Verdict;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::process::Command;

struct Transform {
    enc: EncAlg,
    integ: IntegAlg,
    key_len: usize,
    auth_key_len: usize,
    scapy_crypt: &'static str,
    scapy_auth: Option<&'static str>,
}

fn transforms() -> Vec<Transform> {
    let t = |enc, integ, key_len, auth_key_len, scapy_crypt, scapy_auth| Transform {
        enc,
        integ,
        key_len,
        auth_key_len,
        scapy_crypt,
        scapy_auth,
    };
    vec![
        t(EncAlg::AesGcm16_128, IntegAlg::None, 20, 0, "AES-GCM", None),
        t(EncAlg::AesGcm16_256, IntegAlg::None, 36, 0, "AES-GCM", None),
        t(
            EncAlg::AesCbc128,
            IntegAlg::HmacSha1_96,
            16,
            20,
            "AES-CBC",
            Some("HMAC-SHA1-96"),
        ),
        t(
            EncAlg::AesCbc256,
            IntegAlg::HmacSha256_128,
            32,
            32,
            "AES-CBC",
            Some("SHA2-256-128"),
        ),
        t(
            EncAlg::AesCbc128,
            IntegAlg::HmacSha256_128,
            16,
            32,
            "AES-CBC",
            Some("SHA2-256-128"),
        ),
        t(
            EncAlg::Null,
            IntegAlg::HmacSha1_96,
            0,
            20,
            "NULL",
            Some("HMAC-SHA1-96"),
        ),
        t(
            EncAlg::Null,
            IntegAlg::HmacSha256_128,
            0,
            32,
            "NULL",
            Some("SHA2-256-128"),
        ),
    ]
}

/// A mode's name, (outer local, outer remote) for tunnel mode or None for transport, and
/// whether the inner packet is IPv6.
type ModeCase = (&'static str, Option<(IpAddr, IpAddr)>, bool);

fn modes() -> Vec<ModeCase> {
    let v4 = |a: &str| a.parse::<IpAddr>().unwrap();
    vec![
        ("tunnel44", Some((v4("192.0.2.1"), v4("192.0.2.2"))), false),
        ("tunnel64", Some((v4("192.0.2.1"), v4("192.0.2.2"))), true),
        (
            "tunnel46",
            Some((v4("2001:db8::1"), v4("2001:db8::2"))),
            false,
        ),
        (
            "tunnel66",
            Some((v4("2001:db8::1"), v4("2001:db8::2"))),
            true,
        ),
        ("transport4", None, false),
        ("transport6", None, true),
    ]
}

struct Case {
    name: String,
    spi: u32,
    keys: TransformKeys,
    tunnel: Option<(IpAddr, IpAddr)>,
    natt: Option<(u16, u16)>,
    esn: bool,
    json: Value,
}

/// Our SA for the case: scapy's tunnel header is (our address, the peer's), so an inbound SA
/// has them the other way round.
fn config(c: &Case, direction: Direction) -> SaConfig {
    let any: IpAddr = "0.0.0.0".parse().unwrap();
    let (local, remote) = match (c.tunnel, direction) {
        (None, _) => (any, any),
        (Some((l, r)), Direction::Outbound) => (l, r),
        (Some((l, r)), Direction::Inbound) => (r, l),
    };
    let mut cfg = SaConfig::tunnel(c.spi, direction, local, remote, c.keys.clone());
    if c.tunnel.is_none() {
        cfg.mode = Mode::Transport;
    }
    cfg.esn = c.esn;
    cfg.encap = c.natt.map(|(l, r)| UdpEncap {
        local_port: l,
        remote_port: r,
    });
    cfg
}

#[test]
fn scapy_decrypts_ours_and_we_decrypt_scapys() {
    let mut rng = Rng::new(0x5ca9);
    let mut cases = Vec::new();
    for t in transforms() {
        for (mode, tunnel, inner_v6) in modes() {
            for esn in [false, true] {
                for natt in [false, true] {
                    let spi = 0x1000 + cases.len() as u32;
                    let keys = TransformKeys {
                        enc: t.enc,
                        integ: t.integ,
                        enc_key: rng.bytes(t.key_len),
                        auth_key: rng.bytes(t.auth_key_len),
                    };
                    let name = format!("{:?}/{:?}/{mode}/esn={esn}/natt={natt}", t.enc, t.integ);
                    let tunnel_json = tunnel.map(|(l, r)| json!([l.to_string(), r.to_string()]));
                    let natt_ports = natt.then_some((4500u16, 4500u16));
                    let json = json!({
                        "name": name, "spi": spi, "crypt_algo": t.scapy_crypt,
                        "crypt_key": hex::encode(&keys.enc_key), "auth_algo": t.scapy_auth,
                        "auth_key": if t.auth_key_len > 0 { Value::from(hex::encode(&keys.auth_key)) } else { Value::Null },
                        "tunnel": tunnel_json, "natt": natt_ports.map(|(a, b)| json!([a, b])), "esn": esn,
                    });
                    let transport_addrs = if inner_v6 {
                        ("2001:db8:1::10", "2001:db8:2::20")
                    } else {
                        ("198.51.100.10", "203.0.113.20")
                    };
                    let mut c = Case {
                        name,
                        spi,
                        keys,
                        tunnel,
                        natt: natt_ports,
                        esn,
                        json,
                    };
                    // Ours: encrypt three packets, crossing the 2^32 boundary when ESN is on.
                    let mut sad = Sad::new();
                    let mut cfg = config(&c, Direction::Outbound);
                    if tunnel.is_none() {
                        cfg.mode = Mode::Transport;
                    }
                    sad.insert(SaId(1), cfg, 0).unwrap();
                    if esn {
                        sad.get_mut(SaId(1))
                            .unwrap()
                            .advance_oseq(u32::MAX as u64 - 1)
                            .unwrap();
                    }
                    let mut lc = Lcore::new(SyncPolicy::default(), 16, 16);
                    let mut ours = Vec::new();
                    for (k, len) in [0usize, 101, 1000].into_iter().enumerate() {
                        let plain = udp_packet(
                            transport_addrs.0,
                            transport_addrs.1,
                            1000 + k as u16,
                            5001,
                            len,
                            &mut rng,
                        );
                        let mut buf = [VecBuf::new(&plain, 128, 128)];
                        let mut v = [Verdict::Forward];
                        encrypt_burst(&mut lc, &mut sad, &mut buf, &[SaId(1)], &mut v, 0);
                        assert_eq!(v[0], Verdict::Forward, "{}", c.name);
                        let seq = sad.get(SaId(1)).unwrap().oseq();
                        ours.push(json!({"plain": hex::encode(&plain), "esp": hex::encode(buf[0].data()), "seq": seq}));
                    }
                    let base: u64 = if esn { (3u64 << 32) - 2 } else { 7 };
                    let theirs: Vec<Value> = (0..3u64)
                        .map(|k| {
                            let plain = udp_packet(
                                transport_addrs.1,
                                transport_addrs.0,
                                2000 + k as u16,
                                6001,
                                64 + 300 * k as usize,
                                &mut rng,
                            );
                            json!({"plain": hex::encode(plain), "seq": base + k})
                        })
                        .collect();
                    c.json["ours"] = Value::from(ours);
                    c.json["theirs"] = Value::from(theirs);
                    cases.push(c);
                }
            }
        }
    }

    let dir = std::env::temp_dir().join(format!("esp-scapy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases_path = dir.join("cases.json");
    let results_path = dir.join("results.json");
    let all: Vec<&Value> = cases.iter().map(|c| &c.json).collect();
    std::fs::write(&cases_path, serde_json::to_vec(&all).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scapy_esp.py");
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(&cases_path)
        .arg(&results_path)
        .output()
        .expect("run /usr/bin/python3 (python3-scapy)");
    assert!(
        out.status.success(),
        "scapy script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> =
        serde_json::from_slice(&std::fs::read(&results_path).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();

    let mut failures = Vec::new();
    for (c, r) in cases.iter().zip(results.iter()) {
        for e in r["errors"].as_array().unwrap() {
            failures.push(format!("{}: scapy: {}", c.name, e.as_str().unwrap()));
        }
        // Theirs: we decrypt what scapy encrypted.
        let mut sad = Sad::new();
        sad.insert(SaId(2), config(c, Direction::Inbound), 0)
            .unwrap();
        if c.esn {
            // The window must be near the packets for RFC 4303 A2.1 to place them.
            let seq0 = c.json["theirs"][0]["seq"].as_u64().unwrap();
            let mut snap = sad.get(SaId(2)).unwrap().window_snapshot();
            snap.top = seq0 - 1;
            sad.get_mut(SaId(2)).unwrap().raise_window(&snap);
        }
        let mut lc = Lcore::new(SyncPolicy::default(), 16, 16);
        let theirs = r["theirs"].as_array().unwrap();
        if theirs.len() != 3 {
            failures.push(format!(
                "{}: scapy encrypted {} packets",
                c.name,
                theirs.len()
            ));
            continue;
        }
        for (k, esp_hex) in theirs.iter().enumerate() {
            let esp = hex::decode(esp_hex.as_str().unwrap()).unwrap();
            let mut buf = [VecBuf::new(&esp, 64, 64)];
            let mut v = [Verdict::Forward];
            decrypt_burst(&mut lc, &mut sad, &mut buf, &mut v, 0);
            let want = hex::decode(c.json["theirs"][k]["plain"].as_str().unwrap()).unwrap();
            if v[0] != Verdict::Forward {
                failures.push(format!(
                    "{}: ours dropped scapy's packet {k}: {:?}",
                    c.name, v[0]
                ));
            } else if buf[0].data() != want.as_slice() {
                failures.push(format!(
                    "{}: packet {k} decrypted to something else",
                    c.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
