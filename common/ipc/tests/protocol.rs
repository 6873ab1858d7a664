//! The typed protocol on the wire: every request and result survives a round trip through
//! its JSON line, the hazards of the text protocol are refused, and keys never show.

use ipc::fastpath::{self, Event, Request, SeqRecord};
use ipc::sa::{Df, Dscp, Lifetimes, Natt};
use ipc::slowpath::{self, HaRole, TerminateTarget};
use ipc::wire::{decode_request, encode_event, encode_request, Reply, VERSION};
use ipc::{Direction, KeyBytes, PolicyId, SaId, SaMode, SaSpec, SaTarget, SpAction, SpSpec};
use ipc::{PortRange, Transform};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

fn id(n: u32) -> SaId {
    SaId::new(n.into()).unwrap()
}

fn gcm_spec() -> SaSpec {
    SaSpec {
        id: id(9),
        dir: Direction::Out,
        spi: 0x1009,
        transform: Transform::Aes128Gcm16,
        key: KeyBytes::from_slice(&[0xa5; 20]),
        auth_key: KeyBytes::default(),
        mode: SaMode::Tunnel {
            local: "192.0.2.1".parse().unwrap(),
            remote: "192.0.2.2".parse().unwrap(),
        },
        esn: true,
        window: 4096,
        natt: Some(Natt {
            local_port: 4500,
            remote_port: 4501,
        }),
        lifetime: Lifetimes {
            soft_bytes: 1000,
            hard_bytes: 2000,
            soft_packets: 10,
            hard_packets: 20,
        },
        dscp: Dscp::Set(46),
        df: Df::Clear,
        ttl: 32,
        standby: true,
    }
}

fn cbc_spec() -> SaSpec {
    SaSpec {
        id: id(10),
        dir: Direction::In,
        spi: 0xdead_beef,
        transform: Transform::Aes256Sha256,
        key: KeyBytes::from_slice(&[1; 32]),
        auth_key: KeyBytes::from_slice(&[2; 32]),
        mode: SaMode::Transport,
        esn: false,
        window: 0,
        natt: None,
        lifetime: Lifetimes::default(),
        dscp: Dscp::Copy,
        df: Df::Copy,
        ttl: 64,
        standby: false,
    }
}

fn sp_spec() -> SpSpec {
    SpSpec::new(
        Direction::Out,
        SpAction::Protect(id(9)),
        1004,
        "10.1.0.0/16".parse().unwrap(),
        "2001:db8::/32".parse().unwrap(),
        Some(17),
        PortRange::new(1000, 2000).unwrap(),
        PortRange::new(53, 53).unwrap(),
    )
    .unwrap_err();
    SpSpec::new(
        Direction::Out,
        SpAction::Protect(id(9)),
        1004,
        "10.1.0.0/16".parse().unwrap(),
        "10.2.3.0/24".parse().unwrap(),
        Some(17),
        PortRange::new(1000, 2000).unwrap(),
        PortRange::new(53, 53).unwrap(),
    )
    .unwrap()
}

/// Through a request line and back.
fn round_trip<R: Serialize + DeserializeOwned + PartialEq + Debug>(r: &R) {
    let line = encode_request(42, r);
    let (got_id, back) = decode_request::<R>(&line).unwrap_or_else(|e| panic!("{}: {e:?}", *line));
    assert_eq!(got_id, Some(42));
    assert_eq!(&back, r, "{}", *line);
}

/// Through a reply line and back.
fn result_round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(t: &T) {
    let line = Reply::ok(Some(3), t).line();
    let reply: Reply = serde_json::from_str(&line).unwrap();
    assert_eq!(reply.into_result::<T>().unwrap(), *t, "{line}");
}

#[test]
fn every_fast_path_request_round_trips() {
    let record = SeqRecord {
        sa: id(7),
        spi: 0x2005,
        dir: Direction::In,
        oseq: 1 << 40,
        top: 99,
        bits: [1, 2, 3, u64::MAX],
        generation: 5,
        at_ns: 123,
    };
    let all = vec![
        Request::SaAdd { sa: gcm_spec() },
        Request::SaAdd { sa: cbc_spec() },
        Request::SaDel { sa: id(9) },
        Request::SaGet { sa: id(0) },
        Request::SaList,
        Request::SpAdd { sp: sp_spec() },
        Request::SpDel {
            dir: Direction::In,
            policy: PolicyId(3),
        },
        Request::SpList {
            dir: Direction::Out,
        },
        Request::SaActivate {
            sa: SaTarget::All,
            oseq_shift: Some(65536),
            generation: 3,
        },
        Request::SaActivate {
            sa: SaTarget::One(id(18)),
            oseq_shift: None,
            generation: 65535,
        },
        Request::SaDeactivate { sa: SaTarget::All },
        Request::SaDeactivate {
            sa: SaTarget::One(id(1)),
        },
        Request::SaSync {
            sync: vec![record, record],
        },
        Request::SyncStats,
        Request::SyncSettings(fastpath::SyncSettings {
            period_packets_inbound: 1000,
            period_packets_outbound: 0,
            period_time_ms: 10_000,
            oseq_shift: 1 << 32,
        }),
        Request::Stats,
        Request::Ports,
        Request::Locals,
        Request::LocalAdd {
            addr: "192.0.2.100".parse().unwrap(),
        },
        Request::LocalDel {
            addr: "2001:db8::1".parse().unwrap(),
        },
        Request::PortMac {
            port: 1,
            mac: Some("00:00:5e:00:01:33".parse().unwrap()),
        },
        Request::PortMac { port: 0, mac: None },
        Request::Subscribe { activity_ms: None },
        Request::Subscribe {
            activity_ms: Some(1000),
        },
        Request::SyncSubscribe,
    ];
    let mut ops: Vec<&str> = all.iter().map(Request::op).collect();
    ops.dedup();
    assert_eq!(ops.len(), 20, "every op is covered: {ops:?}");
    for r in &all {
        round_trip(r);
        let line = encode_request(1, r);
        assert!(
            line.contains(&format!("\"op\":\"{}\"", r.op())),
            "{}",
            *line
        );
    }
}

#[test]
fn every_slow_path_request_round_trips() {
    let all = vec![
        slowpath::Request::Instances,
        slowpath::Request::Groups,
        slowpath::Request::HaGroups,
        slowpath::Request::Interfaces,
        slowpath::Request::Tracks,
        slowpath::Request::Events,
        slowpath::Request::Subscribe,
        slowpath::Request::SnmpTraps,
        slowpath::Request::Switchover {
            group: "gw".into(),
            hold_ms: 5,
        },
        slowpath::Request::HaSet {
            ha_group: "node".into(),
            role: HaRole::Standby,
        },
        slowpath::Request::IkeSas,
        slowpath::Request::ChildSas { ike_sa: None },
        slowpath::Request::ChildSas { ike_sa: Some(4) },
        slowpath::Request::IkeCounters,
        slowpath::Request::Initiate {
            conn: "gw2".into(),
            child: Some("net".into()),
        },
        slowpath::Request::Terminate(TerminateTarget::IkeSa { ike_sa: 7 }),
        slowpath::Request::Terminate(TerminateTarget::Conn { conn: "gw2".into() }),
        slowpath::Request::Rekey {
            ike_sa: 7,
            child: Some(2),
        },
        slowpath::Request::Flush,
        slowpath::Request::FlushHalfOpen,
        slowpath::Request::Pools,
        slowpath::Request::CryptoGroups,
        slowpath::Request::CryptoGroup {
            name: "site".into(),
        },
        slowpath::Request::CryptoGroupSwitchover {
            name: "site".into(),
        },
    ];
    for r in &all {
        round_trip(r);
    }
    // The wire names operators type with socat.
    let (_, r) =
        decode_request::<slowpath::Request>(r#"{"v":2,"id":1,"op":"switchover","group":"gw"}"#)
            .unwrap();
    assert_eq!(
        r,
        slowpath::Request::Switchover {
            group: "gw".into(),
            hold_ms: 60_000
        }
    );
    let (_, r) =
        decode_request::<slowpath::Request>(r#"{"v":2,"op":"terminate","conn":"gw2"}"#).unwrap();
    assert_eq!(
        r,
        slowpath::Request::Terminate(TerminateTarget::Conn { conn: "gw2".into() })
    );
    assert!(decode_request::<slowpath::Request>(r#"{"v":2,"op":"terminate"}"#).is_err());
    let (_, r) = decode_request::<slowpath::Request>(r#"{"v":2,"op":"flush_half_open"}"#).unwrap();
    assert_eq!(
        (r.op(), r),
        ("flush_half_open", slowpath::Request::FlushHalfOpen)
    );
}

#[test]
fn every_result_round_trips() {
    result_round_trip(&fastpath::SaAdded {
        sa: id(9),
        worker: 1,
    });
    result_round_trip(&fastpath::SaRef { sa: id(9) });
    result_round_trip(&fastpath::PolicyAdded {
        policy: PolicyId(1001),
    });
    result_round_trip(&fastpath::PolicyRef {
        policy: PolicyId(1001),
    });
    result_round_trip(&fastpath::SaCount { sas: 4 });
    let info = fastpath::SaInfo {
        id: id(2),
        worker: 0,
        spi: "0x00002005".into(),
        direction: Direction::In,
        mode: SaMode::Tunnel {
            local: "192.0.2.1".parse().unwrap(),
            remote: "192.0.2.2".parse().unwrap(),
        },
        transform: "aes128gcm16".into(),
        backend: "IpsecMb".into(),
        state: fastpath::SaState::Standby,
        esn: true,
        natt: Some((4500, 4500)),
        oseq: 0,
        window_top: 77,
        window_size: 1024,
        packets: 5,
        bytes: 500,
        drops: [("replay".to_string(), 2)].into(),
        soft_bytes: 0,
        hard_bytes: 0,
        soft_packets: 0,
        hard_packets: 0,
        last_used_ns: 9,
        idle_ms: 1,
        iv_generation: 2,
    };
    result_round_trip(&info);
    result_round_trip(&vec![info.clone(), info]);
    result_round_trip(&vec![
        fastpath::SpInfo {
            id: PolicyId(1),
            sp: sp_spec(),
        },
        fastpath::SpInfo {
            id: PolicyId(2),
            sp: SpSpec::new(
                Direction::In,
                SpAction::Bypass,
                5,
                "2001:db8::/32".parse().unwrap(),
                "::/0".parse().unwrap(),
                Some(17),
                PortRange::ANY,
                PortRange::new(500, 500).unwrap(),
            )
            .unwrap(),
        },
    ]);
    result_round_trip(&fastpath::Stats {
        workers: 2,
        rx_packets: 1,
        drops: [("bad_icv".to_string(), 0)].into(),
        ..Default::default()
    });
    result_round_trip(&vec![fastpath::PortInfo {
        port: 1,
        role: fastpath::PortRole::Unprotected,
        exception: Some(2),
        next_hop: Some("192.0.2.254".parse().unwrap()),
        link_up: Some(true),
        speed_mbps: Some(10000),
    }]);
    result_round_trip(&fastpath::LocalsChanged {
        changed: true,
        locals: vec!["192.0.2.1".parse().unwrap()],
    });
    result_round_trip(&fastpath::PortMacSet {
        port: 1,
        mac: Some("02:00:00:00:00:01".parse().unwrap()),
    });
    result_round_trip(&fastpath::SyncApplied {
        applied: 1,
        records: 2,
    });
    result_round_trip(&fastpath::SyncStats {
        drained: 1,
        coalesced: 2,
        sent: 3,
        batches: 4,
        settings: fastpath::SyncSettings {
            period_packets_inbound: 1000,
            period_packets_outbound: 10_000,
            period_time_ms: 0,
            oseq_shift: 7,
        },
        snapshots: true,
    });
    result_round_trip(&fastpath::SyncSettingsApplied {
        settings: fastpath::SyncSettings::default(),
        workers: 2,
    });
}

/// The knobs cross as one flat object, with 6WIND's defaults, and what no fast path may take
/// is refused by the one check both sides run.
#[test]
fn sync_settings_on_the_wire() {
    let decode = |s: &str| decode_request::<Request>(s).map(|(_, r)| r);
    let line = r#"{"v":2,"id":4,"op":"sync_settings","period_packets_inbound":1000,"period_packets_outbound":10000,"period_time_ms":0,"oseq_shift":65536}"#;
    let Request::SyncSettings(s) = decode(line).unwrap() else {
        panic!("{line}");
    };
    assert_eq!(
        (
            s.period_packets_inbound,
            s.period_packets_outbound,
            s.period_time_ms
        ),
        (1000, 10_000, 0)
    );
    assert_eq!(s.check(), Ok(()));
    let missing = r#"{"v":2,"id":4,"op":"sync_settings","period_packets_inbound":1}"#;
    assert_eq!(decode(missing).unwrap_err().id, Some(4));
    let d = fastpath::SyncSettings::default();
    assert_eq!(
        (
            d.period_packets_inbound,
            d.period_packets_outbound,
            d.period_time_ms,
            d.oseq_shift
        ),
        (2, 2, 10_000, 65536)
    );
    for (shift, time, ok) in [
        (0, 0, false),
        (1, 0, true),
        (1 << 32, 86_400_000, true),
        ((1 << 32) + 1, 0, false),
        (1, 86_400_001, false),
    ] {
        let s = fastpath::SyncSettings {
            oseq_shift: shift,
            period_time_ms: time,
            ..d
        };
        assert_eq!(s.check().is_ok(), ok, "{s:?}");
    }
    // A stats reply of a fast path from before the knobs still reads, with the defaults.
    let old: fastpath::SyncStats =
        serde_json::from_str(r#"{"drained":1,"coalesced":0,"sent":1,"batches":1}"#).unwrap();
    assert_eq!((old.settings, old.snapshots), (d, false));
}

#[test]
fn events_carry_the_version_and_their_name() {
    let e = Event::SoftLifetime {
        sa: id(3),
        spi: "0x00001003".into(),
    };
    let line = encode_event(&e);
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["v"], VERSION);
    assert_eq!(v["event"], "soft_lifetime");
    assert_eq!(serde_json::from_value::<Event>(v).unwrap(), e);
    let a = Event::SaActivity {
        sas: vec![fastpath::SaActivity {
            sa: id(2),
            spi: "0x2".into(),
            last_used_ns: 1,
            idle_ms: 0,
            packets: 3,
        }],
    };
    let v: serde_json::Value = serde_json::from_str(&encode_event(&a)).unwrap();
    assert_eq!(serde_json::from_value::<Event>(v).unwrap(), a);
}

/// The two hazards of the text protocol: an activation that names no SA acted on every SA,
/// and an id that was not decimal became "all".
#[test]
fn an_activation_must_name_its_sas() {
    let decode = |s: &str| decode_request::<Request>(s).map(|(_, r)| r);
    for bare in [
        r#"{"v":2,"id":1,"op":"sa_deactivate"}"#,
        r#"{"v":2,"id":1,"op":"sa_activate","oseq_shift":65536,"generation":3}"#,
        r#"{"v":2,"id":1,"op":"sa_deactivate","sa":null}"#,
        r#"{"v":2,"id":1,"op":"sa_deactivate","sa":"ALL"}"#,
        r#"{"v":2,"id":1,"op":"sa_deactivate","sa":"junk"}"#,
        r#"{"v":2,"id":1,"op":"sa_deactivate","sa":-1}"#,
        r#"{"v":2,"id":1,"op":"sa_deactivate","sa":1048576}"#,
        r#"{"v":2,"id":1,"op":"sa_activate","sa":"all","oseq_shift":1,"generation":65536}"#,
    ] {
        let err = decode(bare).expect_err(bare);
        assert_eq!(
            err.id,
            Some(1),
            "the refusal is answered under the request's id"
        );
    }
    assert_eq!(
        decode(r#"{"v":2,"op":"sa_deactivate","sa":"0x12"}"#).unwrap(),
        Request::SaDeactivate {
            sa: SaTarget::One(id(18))
        }
    );
    assert_eq!(
        decode(r#"{"v":2,"op":"sa_deactivate","sa":"all"}"#).unwrap(),
        Request::SaDeactivate { sa: SaTarget::All }
    );
    // Without a shift, the activation takes the one in force (`sync_settings`).
    assert_eq!(
        decode(r#"{"v":2,"op":"sa_activate","sa":"all","generation":3}"#).unwrap(),
        Request::SaActivate {
            sa: SaTarget::All,
            oseq_shift: None,
            generation: 3
        }
    );
}

#[test]
fn versions_and_junk_are_refused() {
    let decode = |s: &str| decode_request::<Request>(s).map(|(_, r)| r);
    assert!(decode("not json").is_err());
    assert!(decode(r#"{"id":1,"op":"stats"}"#).is_err());
    let e = decode(r#"{"v":1,"id":5,"op":"stats"}"#).unwrap_err();
    assert!(e.error.contains("version 1"), "{}", e.error);
    assert_eq!(e.id, Some(5));
    let e = decode(r#"{"v":2,"op":"no_such_op"}"#).unwrap_err();
    assert_eq!(e.error, "unknown op `no_such_op`");
    // An unknown name inside a known op is that field's error, not an unknown op.
    let e = decode(
        r#"{"v":2,"op":"sa_add","sa":{"id":1,"dir":"out","spi":4096,"transform":"aes999","key":"00","mode":"transport"}}"#,
    )
    .unwrap_err();
    assert!(
        e.error.starts_with("sa_add: ") && e.error.contains("aes999"),
        "{}",
        e.error
    );
    assert!(decode(r#"{"v":2,"op":"sa_del"}"#).is_err());
    assert!(decode(r#"{"v":2,"op":"sa_del","sa":"0x"}"#).is_err());
    assert_eq!(
        decode(r#"{"v":2,"op":"stats"}"#).unwrap(),
        Request::Stats,
        "the id is optional"
    );
}

#[test]
fn a_spec_on_the_wire_is_checked() {
    let good = serde_json::to_value(gcm_spec()).unwrap();
    let bad = |field: &str, value: serde_json::Value| {
        let mut v = good.clone();
        v[field] = value;
        serde_json::from_value::<SaSpec>(v)
    };
    assert!(bad("key", "00".into()).is_err(), "short key");
    assert!(bad("spi", 0.into()).is_err(), "SPI 0");
    assert!(bad("spi", 5.into()).is_ok(), "a lab peer's small SPI");
    assert!(bad("window", 100_000_000.into()).is_err(), "window");
    assert!(bad("ttl", 0.into()).is_err(), "ttl");
    assert!(bad("transform", "aes999".into()).is_err(), "transform");
    assert!(
        bad("auth_key", "0102".into()).is_err(),
        "an auth key for GCM"
    );
    assert!(bad(
        "mode",
        serde_json::json!({"tunnel": {"local": "0.0.0.0", "remote": "192.0.2.2"}})
    )
    .is_err());
    assert!(bad(
        "mode",
        serde_json::json!({"tunnel": {"local": "192.0.2.1", "remote": "224.0.0.1"}})
    )
    .is_err());
    assert!(bad(
        "mode",
        serde_json::json!({"tunnel": {"local": "192.0.2.1", "remote": "2001:db8::1"}})
    )
    .is_err());
    assert!(bad(
        "lifetime",
        serde_json::json!({"soft_bytes": 10, "hard_bytes": 5})
    )
    .is_err());
    // Defaults for what may be left out.
    let minimal: SaSpec = serde_json::from_value(serde_json::json!({
        "id": 1, "dir": "in", "spi": 4096, "transform": "aes128gcm16",
        "key": "0102030405060708090a0b0c0d0e0f1011121314", "mode": "transport"
    }))
    .unwrap();
    assert_eq!((minimal.window, minimal.ttl), (1024, 64));
}

#[test]
fn debug_of_an_sa_shows_no_key_bytes() {
    let mut spec = cbc_spec();
    spec.key = KeyBytes::from_slice(&[0x5a; 32]);
    spec.auth_key = KeyBytes::from_slice(&[0xc3; 32]);
    for shown in [
        format!("{spec:?}"),
        format!("{spec:#?}"),
        format!("{:?}", Request::SaAdd { sa: spec.clone() }),
    ] {
        assert!(!shown.contains("5a5a"), "{shown}");
        assert!(!shown.contains("c3c3"), "{shown}");
        assert!(!shown.contains("90"), "no byte as decimal either: {shown}");
        assert!(shown.contains("<32 key bytes>"), "{shown}");
    }
}

#[test]
fn statements_parse_to_specs_and_back() {
    // A null cipher has no key (found by the config_parse fuzz target: `key ` with nothing
    // after it took `auth-key` as the key).
    let mut null = cbc_spec();
    null.transform = Transform::NullSha256;
    null.key = KeyBytes::default();
    for spec in [gcm_spec(), cbc_spec(), null] {
        let text = spec.to_string();
        let words: Vec<&str> = text.split_whitespace().collect();
        let back = ipc::statement::parse_sa(ipc::statement::without_keyword(&words, "sa"))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(back, spec, "{text}");
    }
    let sp = sp_spec();
    let text = sp.to_string();
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(
        ipc::statement::parse_sp(ipc::statement::without_keyword(&words, "sp")).unwrap(),
        sp,
        "{text}"
    );
}

#[test]
fn statements_refuse_what_the_wire_refuses() {
    let sa = |s: &str| {
        let w: Vec<&str> = s.split_whitespace().collect();
        ipc::statement::parse_sa(&w)
    };
    let key20 = "0102030405060708090a0b0c0d0e0f1011121314";
    let ok = format!("1 out spi 0x1005 aes128gcm16 key {key20} tunnel 192.0.2.1 192.0.2.2");
    sa(&ok).unwrap();
    for (text, why) in [
        (format!("{ok} window 100000000"), "window"),
        (ok.replace("0x1005", "0"), "SPI 0"),
        (ok.replace("0x1005", "0x1g"), "SPI not hex"),
        (ok.replace("1 out", "0x100000 out"), "SA id over the bound"),
        (ok.replace("1 out", "-1 out"), "negative id"),
        (ok.replace("192.0.2.2", "255.255.255.255"), "broadcast"),
        (ok.replace("192.0.2.1", "0.0.0.0"), "unspecified"),
        (format!("{ok} lifetime-bytes 10:5"), "soft above hard"),
        (
            format!("{ok} lifetime-bytes 18446744073709551616:1"),
            "overflow",
        ),
        (format!("{ok} ttl 0"), "ttl 0"),
        (format!("{ok} dscp 64"), "dscp"),
        (format!("{ok} natt 70000:4500"), "natt port"),
        (format!("{ok} frobnicate"), "unknown option"),
        (format!("{ok} window"), "missing value"),
        (ok.replace(key20, "0102"), "short key"),
        (ok.replace(" tunnel 192.0.2.1 192.0.2.2", ""), "no mode"),
    ] {
        assert!(sa(&text).is_err(), "{why}: {text}");
    }
}

#[test]
fn a_batch_carries_requests_and_gives_each_its_own_outcome() {
    use ipc::fastpath::BatchResult;
    let batch = Request::Batch {
        requests: vec![Request::SaList, Request::Stats],
    };
    let line = serde_json::to_string(&batch).unwrap();
    assert_eq!(
        line,
        r#"{"op":"batch","requests":[{"op":"sa_list"},{"op":"stats"}]}"#
    );
    assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), batch);
    assert_eq!(batch.op(), "batch");
    // Neither a batch nor a subscription may ride inside one.
    assert!(batch.unbatchable().is_some());
    assert!(Request::SyncSubscribe.unbatchable().is_some());
    assert!(Request::Subscribe { activity_ms: None }
        .unbatchable()
        .is_some());
    assert!(Request::SaList.unbatchable().is_none());
    let results = vec![
        BatchResult::from(Ok(serde_json::json!({"sa": 1, "worker": 0}))),
        BatchResult::from(Err("no SA 2".to_string())),
    ];
    let text = serde_json::to_string(&results).unwrap();
    assert_eq!(
        text,
        r#"[{"ok":{"sa":1,"worker":0}},{"refused":"no SA 2"}]"#
    );
    let back: Vec<BatchResult> = serde_json::from_str(&text).unwrap();
    let back: Vec<_> = back.into_iter().map(BatchResult::into_result).collect();
    assert_eq!(back[1], Err("no SA 2".to_string()));
}
