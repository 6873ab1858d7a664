//! The control socket against the real binary: SAs and SPs installed, read, changed and removed
//! while traffic flows; SA events streamed; bad requests answered with errors; `fastpath-ctl`.

mod common;

use common::{plain_pcap, sa_add, sp_add, start_node, wait_until, Client, KEY};
use serde_json::{json, Value};
use std::io::BufRead;
use std::process::Command;

#[test]
fn control_socket_drives_a_running_fast_path() {
    // No SA or SP at start: everything arrives through the socket. Port 1 is a net_ring: what
    // it sends comes back in.
    let conf = "port 0 protected peer-mac 02:00:00:00:00:02\nport 1 unprotected peer-mac 02:00:00:00:00:03\n";
    let vdevs = [
        "net_pcap0,rx_pcap={dir}/plain.pcap,infinite_rx=1,tx_pcap=/dev/null".to_string(),
        "net_ring0".to_string(),
    ];
    let node = start_node("ctl", conf, &[], &vdevs, |dir| {
        plain_pcap(&dir.join("plain.pcap"), 64, 200)
    });
    let sock = node.sock.clone();
    // Only its owner may talk to it.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the control socket's mode");
    let mut c = Client::connect(&sock);

    // Bad input gets an error reply, and the connection stays usable.
    assert!(c.raw("this is not json")["error"]
        .as_str()
        .unwrap()
        .contains("not JSON"));
    assert!(c.err(json!({"op": "frobnicate"})).contains("unknown op"));
    assert!(c
        .err(json!({"op": "sa_add", "sa": {"id": 1, "dir": "out", "spi": 4096, "transform": "aes999", "key": "00", "mode": "transport"}}))
        .contains("aes999"));
    // A key of the wrong length is refused before any worker sees it.
    assert!(c
        .err(json!({"op": "sa_add", "sa": {"id": 1, "dir": "out", "spi": 4096, "transform": "aes128gcm16", "key": "00", "mode": "transport"}}))
        .contains("key is 1 bytes"));
    // The two hazards of the text protocol: no SA named is refused (never "all"), and an id
    // in hex is that id (never "all").
    assert!(c.err(json!({"op": "sa_deactivate"})).contains("sa"));
    assert!(c
        .err(json!({"op": "sa_activate", "oseq_shift": 1, "generation": 1}))
        .contains("sa"));
    assert!(c
        .err(json!({"op": "sa_deactivate", "sa": "junk"}))
        .contains("junk"));
    assert_eq!(
        c.ok(json!({"op": "sa_deactivate", "sa": "0x12"}))["sas"],
        0,
        "SA 18 does not exist: nothing else is touched"
    );
    assert!(c
        .err(json!({"op": "sa_get", "sa": 42}))
        .contains("no SA 42"));
    let reply = c.raw(&json!({"v": 9, "id": 1, "op": "stats"}).to_string());
    assert_eq!(reply["id"], 1, "a refusal carries the request's id");
    assert!(
        reply["error"].as_str().unwrap().contains("version 9"),
        "{reply}"
    );

    // The reassembler's counters are part of the operator's stats.
    let stats = c.ok(json!({"op": "stats"}));
    for k in [
        "reassembled",
        "reassembly_evicted",
        "reassembly_refused",
        "reassembly_timed_out",
    ] {
        assert!(stats["mtu"][k].is_u64(), "{k}: {stats}");
    }

    // Nothing is protected yet: traffic is dropped for want of a policy.
    wait_until("no_policy drops", || {
        c.ok(json!({"op": "stats"}))["drops"]["no_policy"]
            .as_u64()
            .unwrap()
            > 0
    });

    // Install both directions of a loop (port 1 is a net_ring: what it sends comes back).
    c.ok(sa_add(&format!("sa 1 out spi 0x1005 aes128gcm16 key {KEY} tunnel 192.0.2.1 192.0.2.2 esn lifetime-packets 2000:0")));
    c.ok(sa_add(&format!(
        "sa 2 in spi 0x1005 aes128gcm16 key {KEY} tunnel 192.0.2.2 192.0.2.1 esn"
    )));
    assert!(c
        .err(sa_add(&format!(
            "sa 2 in spi 0x1006 aes128gcm16 key {KEY} tunnel 192.0.2.2 192.0.2.1"
        )))
        .contains("in use"));
    let mut events = Client::connect(&sock);
    assert_eq!(events.ok(json!({"op": "subscribe"})), json!("subscribed"));
    // A dead peer detector's stream: inbound SAs' last-received times every 100 ms.
    let mut activity = Client::connect(&sock);
    assert_eq!(
        activity.ok(json!({"op": "subscribe", "activity_ms": 100})),
        json!("subscribed")
    );
    let sp = c.ok(sp_add(
        "sp out protect 1 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24",
    ));
    c.ok(sp_add(
        "sp in protect 2 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24",
    ));
    assert_eq!(
        c.ok(json!({"op": "sp_list", "dir": "out"}))
            .as_array()
            .unwrap()
            .len(),
        1
    );

    wait_until("traffic both ways", || {
        let s = c.ok(json!({"op": "stats"}));
        s["encrypted"].as_u64().unwrap() > 5000 && s["decrypted"].as_u64().unwrap() > 5000
    });
    // Reports come every 100 ms; the first ones may predate the traffic (empty lists).
    let mut saw_inbound = false;
    for _ in 0..50 {
        let ev = activity.read();
        if ev["event"] != "sa_activity" {
            continue; // the SA events of the stream (soft lifetime...)
        }
        let sas = ev["sas"].as_array().unwrap();
        assert!(
            sas.iter().all(|a| a["sa"] == 2),
            "only the inbound SA: {ev}"
        );
        if let Some(a) = sas.first() {
            assert!(a["idle_ms"].as_u64().unwrap() <= 100, "{ev}");
            assert!(a["last_used_ns"].as_u64().unwrap() > 0, "{ev}");
            saw_inbound = true;
            break;
        }
    }
    assert!(saw_inbound, "no sa_activity report named the inbound SA");
    let out = c.ok(json!({"op": "sa_get", "sa": 1}));
    assert_eq!(out["direction"], "out");
    assert!(out["oseq"].as_u64().unwrap() > 5000, "{out}");
    let inb = c.ok(json!({"op": "sa_get", "sa": 2}));
    assert!(inb["window_top"].as_u64().unwrap() > 5000, "{inb}");
    assert_eq!(c.ok(json!({"op": "sa_list"})).as_array().unwrap().len(), 2);

    // The soft packet lifetime (2000) was crossed: one event on the subscription.
    let mut line = String::new();
    events.reader.read_line(&mut line).unwrap();
    let ev: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        (ev["event"].as_str(), ev["sa"].as_u64()),
        (Some("soft_lifetime"), Some(1)),
        "{ev}"
    );

    // HA: standby stops the outbound SA; activation jumps its sequence numbers by the shift.
    assert_eq!(c.ok(json!({"op": "sa_deactivate", "sa": 1}))["sas"], 1);
    wait_until("sa_inactive drops", || {
        c.ok(json!({"op": "stats"}))["drops"]["sa_inactive"]
            .as_u64()
            .unwrap()
            > 0
    });
    let before = c.ok(json!({"op": "sa_get", "sa": 1}))["oseq"]
        .as_u64()
        .unwrap();
    assert_eq!(
        c.ok(json!({"op": "sa_activate", "sa": 1, "oseq_shift": 1_000_000, "generation": 3}))
            ["sas"],
        1
    );
    let after = c.ok(json!({"op": "sa_get", "sa": 1}));
    assert!(
        after["oseq"].as_u64().unwrap() >= before + 1_000_000,
        "{after}"
    );
    assert_eq!(after["iv_generation"], 3);
    assert_eq!(after["state"], "active");

    // The operator's CLI sees the same.
    let ctl = Command::new(env!("CARGO_BIN_EXE_fastpath-ctl"))
        .arg("-s")
        .arg(&sock)
        .args(["sa", "list"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ctl.stdout);
    assert!(
        ctl.status.success() && text.contains("0x00001005") && text.contains("active"),
        "{text}"
    );

    // Read by someone who stops early (`| head -1`): a quiet end with status 0, no panic.
    for args in [&["sa", "list"][..], &["routes"], &["--json", "stats"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_fastpath-ctl"))
            .arg("-s")
            .arg(&sock)
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{args:?}: {out:?}"
        );
    }

    // The CLI takes ids in decimal or hex and refuses anything else, never reading it as
    // "all"; "all" must be said.
    let ctl = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_fastpath-ctl"))
            .arg("-s")
            .arg(&sock)
            .args(args)
            .output()
            .unwrap()
    };
    let out = ctl(&["--json", "sa", "show", "0x1"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"spi\":\"0x00001005\""));
    for refused in [
        &["sa", "deactivate", "junk"][..],
        &["sa", "deactivate", "0x"],
        &["sa", "deactivate", "-1"],
        &["sa", "deactivate"],
        &["sa", "show", "twelve"],
    ] {
        let out = ctl(refused);
        assert!(!out.status.success(), "{refused:?} was taken: {out:?}");
    }
    assert_eq!(
        c.ok(json!({"op": "sa_get", "sa": 1}))["state"],
        "active",
        "no refused command deactivated anything"
    );

    // Removal: the SP, then the SA.
    c.ok(json!({"op": "sp_del", "dir": "out", "policy": sp["policy"]}));
    c.ok(json!({"op": "sa_del", "sa": 1}));
    assert!(c.err(json!({"op": "sa_get", "sa": 1})).contains("no SA 1"));
    assert!(c
        .err(json!({"op": "sp_del", "dir": "out", "policy": sp["policy"]}))
        .contains("no Outbound policy"));
}
