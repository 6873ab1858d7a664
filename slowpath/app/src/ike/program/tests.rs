//! The CHILD SA's descriptions, checked by the fast path's own conversion, and the table
//! against fast paths that record, refuse, or hold a real SPD.

use super::*;
use fastpath::control::convert;
use ike::action::UdpEncap;
use ike::config::Mode;
use ike::crypto::transform::{
    Suite, AUTH_HMAC_SHA1_96, AUTH_HMAC_SHA2_256_128, ENCR_AES_CBC, ENCR_AES_GCM_16,
};
use ike::message::TrafficSelector;
use ipc::sa::Natt;
use ipc::{SaMode, SaSpec, SpAction, Transform};
use serde_json::json;
use zeroize::Zeroizing;

fn ts(net: &str, len: u8) -> TrafficSelector {
    TrafficSelector::from_prefix(net.parse().unwrap(), len, 0, (0, 65535)).unwrap()
}

pub(crate) fn info(sa: IkeSaId, id: ChildId, spi: u32, gcm: bool) -> ChildSaInfo {
    let suite = if gcm {
        Suite {
            encr: ENCR_AES_GCM_16,
            encr_key_bits: 128,
            integ: None,
            prf: None,
            dh: None,
            esn: Some(true),
        }
    } else {
        Suite {
            encr: ENCR_AES_CBC,
            encr_key_bits: 256,
            integ: Some(AUTH_HMAC_SHA2_256_128),
            prf: None,
            dh: None,
            esn: Some(false),
        }
    };
    let klen = if gcm { 20 } else { 32 };
    ChildSaInfo {
        child: ChildRef {
            sa,
            id,
            spi_in: spi,
            spi_out: spi + 0x1000,
        },
        config: "net".into(),
        mode: Mode::Tunnel,
        local_addr: "192.0.2.1".parse().unwrap(),
        remote_addr: "192.0.2.2".parse().unwrap(),
        local_ts: vec![ts("10.1.0.0", 16)],
        remote_ts: vec![ts("10.2.0.0", 16)],
        suite,
        esn: gcm,
        encr_key_in: Zeroizing::new(vec![0x11; klen]),
        integ_key_in: Zeroizing::new(if gcm { vec![] } else { vec![0x22; 32] }),
        encr_key_out: Zeroizing::new(vec![0x33; klen]),
        integ_key_out: Zeroizing::new(if gcm { vec![] } else { vec![0x44; 32] }),
        soft_bytes: 0,
        hard_bytes: 0,
        soft_packets: 0,
        hard_packets: 0,
        rekey_at: None,
        expire_at: None,
        encap: None,
    }
}

/// What the fast path would install for a description: its own conversion.
fn installed(spec: &SaSpec) -> esp::sa::SaConfig {
    convert::sa_config(spec).1
}

#[test]
fn gcm_sas_convert_in_the_fast_path() {
    let mut i = info(1, 1, 0xc000_0001, true);
    i.encap = Some(UdpEncap {
        local_port: 4500,
        remote_port: 4501,
    });
    i.soft_bytes = 900;
    i.hard_bytes = 1000;
    i.soft_packets = 9;
    i.hard_packets = 10;
    let spec = sa_spec(7, Direction::In, &i, Some(2048)).unwrap();
    assert_eq!(spec.id.get(), 7);
    let sa = installed(&spec);
    assert_eq!(sa.spi, 0xc000_0001);
    assert_eq!(sa.direction, esp::sa::Direction::Inbound);
    assert_eq!(
        sa.mode,
        esp::sa::Mode::Tunnel {
            local: "192.0.2.1".parse().unwrap(),
            remote: "192.0.2.2".parse().unwrap()
        }
    );
    assert!(sa.esn);
    assert_eq!(sa.replay_window, 2048);
    assert_eq!(
        spec.natt,
        Some(Natt {
            local_port: 4500,
            remote_port: 4501
        })
    );
    assert_eq!(
        sa.encap.map(|e| (e.local_port, e.remote_port)),
        Some((4500, 4501))
    );
    assert_eq!(
        (sa.lifetime.soft_bytes, sa.lifetime.hard_bytes),
        (900, 1000)
    );
    assert_eq!(
        (sa.lifetime.soft_packets, sa.lifetime.hard_packets),
        (9, 10)
    );
    // Key with its salt, 20 bytes.
    assert_eq!(sa.keys.enc_key, vec![0x11; 20]);
    let spec = sa_spec(8, Direction::Out, &i, Some(2048)).unwrap();
    let sa = installed(&spec);
    assert_eq!(sa.direction, esp::sa::Direction::Outbound);
    assert_eq!(sa.spi, 0xc000_1001);
    assert_eq!(sa.keys.enc_key, vec![0x33; 20]);
    assert_eq!(
        spec.window,
        ipc::sa::DEFAULT_WINDOW,
        "the window is inbound's"
    );
    assert_eq!(spec.transform, Transform::Aes128Gcm16);
    // The statement form parses back to the same description.
    let text = spec.to_string();
    assert!(
        text.starts_with("sa 8 out spi 0xc0001001 aes128gcm16 key 3333"),
        "{text}"
    );
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(ipc::statement::parse_sa(&words[1..]).unwrap(), spec);
}

#[test]
fn cbc_and_transport_sas() {
    let mut i = info(1, 1, 0x1234, false);
    i.mode = Mode::Transport;
    let spec = sa_spec(3, Direction::Out, &i, None).unwrap();
    assert_eq!(spec.mode, SaMode::Transport);
    let sa = installed(&spec);
    assert_eq!(sa.mode, esp::sa::Mode::Transport);
    assert_eq!(sa.keys.enc_key, vec![0x33; 32]);
    assert_eq!(sa.keys.auth_key, vec![0x44; 32]);
    assert!(!sa.esn);
    assert_eq!(spec.transform, Transform::Aes256Sha256);
    for (e, bits, integ, want) in [
        (
            ENCR_AES_CBC,
            128,
            Some(AUTH_HMAC_SHA1_96),
            Transform::Aes128Sha1,
        ),
        (
            ENCR_AES_CBC,
            256,
            Some(AUTH_HMAC_SHA1_96),
            Transform::Aes256Sha1,
        ),
        (
            ENCR_AES_CBC,
            128,
            Some(AUTH_HMAC_SHA2_256_128),
            Transform::Aes128Sha256,
        ),
        (ENCR_AES_GCM_16, 256, None, Transform::Aes256Gcm16),
    ] {
        let s = Suite {
            encr: e,
            encr_key_bits: bits,
            integ,
            prf: None,
            dh: None,
            esn: None,
        };
        assert_eq!(transform_of(&s), Ok(want));
    }
    i.suite.encr_key_bits = 192;
    assert!(sa_spec(3, Direction::Out, &i, None).is_err());
    // Keys never reach a log line.
    let r = Request::SaAdd {
        sa: sa_spec(3, Direction::In, &info(1, 1, 0x105, false), None).unwrap(),
    };
    let logged = format!("{r:?}");
    assert!(!logged.contains("17") && !logged.contains("34"), "{logged}");
    assert!(logged.contains("<32 key bytes>"), "{logged}");
}

#[test]
fn policies_convert_in_the_fast_path() {
    let mut i = info(1, 1, 0x1234, true);
    i.remote_ts.push(TrafficSelector::new(
        6,
        (443, 443),
        "10.5.0.1".parse().unwrap(),
        "10.5.0.6".parse().unwrap(),
    ));
    // An IPv6 selector pairs with nothing of IPv4.
    i.remote_ts.push(ts("2001:db8::", 32));
    let out = sp_specs(Direction::Out, 9, &i).unwrap();
    // 10.2/16, then 10.5.0.1/32, .2/31, .4/31, .6/32.
    assert_eq!(out.len(), 5, "{out:?}");
    let sp = &out[0];
    assert_eq!(sp.dir, Direction::Out);
    let sel = convert::selector(sp);
    assert_eq!(sel.src.to_string(), "10.1.0.0/16");
    assert_eq!(sel.dst.to_string(), "10.2.0.0/16");
    assert_eq!(sel.proto, None);
    assert_eq!(sp.action, SpAction::Protect(SaId::new(9).unwrap()));
    let esp::spd::Action::Protect(b) = convert::action(sp.action) else {
        panic!("protect")
    };
    assert_eq!(b.as_slice(), &[9]);
    let sel = convert::selector(&out[2]);
    assert_eq!(sel.dst.to_string(), "10.5.0.2/31");
    assert_eq!(sel.proto, Some(6));
    assert_eq!((sel.dport.lo, sel.dport.hi), (443, 443));
    assert_eq!((sel.sport.lo, sel.sport.hi), (0, 65535));
    // The more specific policy is tried first.
    assert!(out[2].priority < out[0].priority);
    let inb = sp_specs(Direction::In, 8, &i).unwrap();
    assert_eq!(inb[2].dir, Direction::In);
    let sel = convert::selector(&inb[2]);
    assert_eq!(sel.src.to_string(), "10.5.0.2/31");
    assert_eq!(sel.dst.to_string(), "10.1.0.0/16");
    assert_eq!((sel.sport.lo, sel.sport.hi), (443, 443));
    // Two protocols cannot meet.
    i.local_ts =
        vec![
            TrafficSelector::from_prefix("10.1.0.0".parse().unwrap(), 16, 17, (0, 65535)).unwrap(),
        ];
    assert_eq!(sp_specs(Direction::Out, 9, &i).unwrap().len(), 1);
}

#[test]
fn ranges_to_prefixes() {
    let p = |a: &str, b: &str| -> Vec<String> {
        range_to_prefixes(a.parse().unwrap(), b.parse().unwrap())
            .iter()
            .map(|(a, l)| format!("{a}/{l}"))
            .collect()
    };
    assert_eq!(p("0.0.0.0", "255.255.255.255"), vec!["0.0.0.0/0"]);
    assert_eq!(p("10.0.0.0", "10.0.0.0"), vec!["10.0.0.0/32"]);
    assert_eq!(
        p("10.0.0.1", "10.0.0.6"),
        vec!["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
    );
    assert_eq!(
        p("255.255.255.254", "255.255.255.255"),
        vec!["255.255.255.254/31"]
    );
    assert_eq!(
        p("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        vec!["::/0"]
    );
    assert_eq!(p("2001:db8::", "2001:db8::ffff"), vec!["2001:db8::/112"]);
    assert!(p("10.0.0.2", "10.0.0.1").is_empty());
    assert_eq!(p("0.0.0.1", "255.255.255.254").len(), 62);
    // A wide range of odd edges is refused as too many policies.
    let mut i = info(1, 1, 0x101, true);
    i.local_ts = vec![TrafficSelector::new(
        0,
        (0, 65535),
        "0.0.0.1".parse().unwrap(),
        "255.255.255.254".parse().unwrap(),
    )];
    i.remote_ts = i.local_ts.clone();
    assert!(sp_specs(Direction::Out, 1, &i)
        .unwrap_err()
        .contains("more than"));
}

/// A fast path that records requests and converts every description with its own code.
#[derive(Default)]
pub(crate) struct Recorder {
    pub log: Vec<String>,
    next_policy: u32,
    pub fail_on: Option<usize>,
}

impl FastpathOps for Recorder {
    fn call(&mut self, request: &Request) -> Result<Value, String> {
        let n = self.log.len();
        let entry = match request {
            Request::SaAdd { sa } => {
                let (id, c) = convert::sa_config(sa);
                format!("sa_add {} {:?} {:#x}", id.0, c.direction, c.spi)
            }
            Request::SpAdd { sp } => {
                let esp::spd::Action::Protect(b) = convert::action(sp.action) else {
                    panic!()
                };
                format!(
                    "sp_add {:?} {}",
                    convert::direction(sp.dir),
                    b.as_slice()[0]
                )
            }
            Request::SaDel { sa } => format!("sa_del {sa}"),
            Request::SpDel { dir, policy } => format!("sp_del {dir} {policy}"),
            o => o.op().to_string(),
        };
        self.log.push(entry);
        if self.fail_on == Some(n) {
            return Err("refused".into());
        }
        match request {
            Request::SaAdd { sa } => Ok(json!({"sa": sa.id, "worker": 0})),
            Request::SpAdd { .. } => {
                self.next_policy += 1;
                Ok(json!({"policy": self.next_policy}))
            }
            Request::SaDel { sa } => Ok(json!({"sa": sa})),
            Request::SpDel { policy, .. } => Ok(json!({"policy": policy})),
            _ => Ok(json!({})),
        }
    }
}

#[test]
fn install_rekey_remove() {
    let mut fp = Recorder::default();
    let mut t = SaTable::default();
    let a = info(1, 1, 0x100, true);
    let e = t.install(&mut fp, &a, None).unwrap().clone();
    assert_eq!((e.sa_in, e.sa_out), (1, 2));
    let ids = |ps: &[InstalledSp]| ps.iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(
        (ids(&e.policies_in), ids(&e.policies_out)),
        (vec![1], vec![2])
    );
    assert_eq!(
        e.policies_out[0].spec.action,
        SpAction::Protect(e.spec_out.id)
    );
    assert_eq!((e.spec_in.spi, e.spec_out.spi), (0x100, 0x1100));
    assert_eq!(
        fp.log,
        vec![
            "sa_add 1 Inbound 0x100",
            "sa_add 2 Outbound 0x1100",
            "sp_add Inbound 1",
            "sp_add Outbound 2"
        ]
    );
    assert_eq!(
        t.lookup_fp(2, Some(0x1100)).map(|(e, d)| (e.child, d)),
        Some((1, Direction::Out))
    );
    assert!(t.lookup_fp(2, Some(0x999)).is_none(), "another SA's event");
    fp.log.clear();
    // Rekey: the new pair and its policies, then the old outbound policy goes.
    let b = info(1, 2, 0x200, true);
    t.rekey(&mut fp, &a.child, &b, None, false).unwrap();
    assert_eq!(
        fp.log,
        vec![
            "sa_add 3 Inbound 0x200",
            "sa_add 4 Outbound 0x1200",
            "sp_add Inbound 3",
            "sp_add Outbound 4",
            "sp_del out 2"
        ]
    );
    assert!(t.get(1, 1).unwrap().policies_out.is_empty());
    fp.log.clear();
    // The old one goes when the engine says so: its inbound policy and both SAs.
    t.remove(&mut fp, &a.child).unwrap();
    assert_eq!(fp.log, vec!["sp_del in 1", "sa_del 2", "sa_del 1"]);
    assert!(t.lookup_fp(1, None).is_none());
    fp.log.clear();
    // Freed ids are used again, oldest first.
    let c = info(2, 1, 0x300, false);
    let e = t.install(&mut fp, &c, Some(64)).unwrap();
    assert_eq!((e.sa_in, e.sa_out), (2, 1));
    assert_eq!(t.len(), 2);
    fp.log.clear();
    assert!(t.remove_all(&mut fp).is_empty());
    assert!(t.is_empty());
    assert_eq!(fp.log.len(), 8);
}

/// A fast path whose outbound SPD is the real one: which SA protects 10.1/16 -> 10.2/16.
#[derive(Default)]
pub(super) struct OutboundSpd {
    pub spd: esp::spd::Spd,
}

impl OutboundSpd {
    pub fn protecting(&self) -> Option<u32> {
        let key = esp::spd::FlowKey {
            src: "10.1.0.10".parse().unwrap(),
            dst: "10.2.0.1".parse().unwrap(),
            proto: 1,
            sport: 8,
            dport: 0,
        };
        match self.spd.lookup(&key)?.1.action {
            esp::spd::Action::Protect(b) => Some(b.as_slice()[0]),
            _ => None,
        }
    }
}

impl FastpathOps for OutboundSpd {
    fn call(&mut self, request: &Request) -> Result<Value, String> {
        match request {
            Request::SpAdd { sp } => {
                if sp.dir == Direction::In {
                    return Ok(json!({"policy": 0}));
                }
                let id = self.spd.insert(esp::spd::Policy {
                    priority: sp.priority,
                    selector: convert::selector(sp),
                    action: convert::action(sp.action),
                });
                Ok(json!({"policy": id.0}))
            }
            Request::SpDel {
                dir: Direction::Out,
                policy,
            } => self
                .spd
                .remove(esp::spd::PolicyId(policy.0))
                .map(|_| json!({"policy": policy}))
                .ok_or("no policy".into()),
            Request::SaAdd { sa } => Ok(json!({"sa": sa.id, "worker": 0})),
            Request::SaDel { sa } => Ok(json!({"sa": sa})),
            Request::SpDel { policy, .. } => Ok(json!({"policy": policy})),
            _ => Ok(json!({})),
        }
    }
}

#[test]
fn outbound_moves_at_rekey_or_with_the_old_sa_when_deferred() {
    for defer in [false, true] {
        let mut fp = OutboundSpd::default();
        let mut t = SaTable::default();
        let a = info(1, 1, 0x100, true);
        t.install(&mut fp, &a, None).unwrap();
        let old_out = t.get(1, 1).unwrap().sa_out;
        assert_eq!(fp.protecting(), Some(old_out));
        let b = info(1, 2, 0x200, true);
        t.rekey(&mut fp, &a.child, &b, None, defer).unwrap();
        let new_out = t.get(1, 2).unwrap().sa_out;
        if defer {
            // We answered the peer's rekey: the old SA sends until it goes.
            assert_eq!(fp.protecting(), Some(old_out));
            assert_eq!(t.get(1, 1).unwrap().policies_out.len(), 1);
        } else {
            assert_eq!(fp.protecting(), Some(new_out));
        }
        t.remove(&mut fp, &a.child).unwrap();
        assert_eq!(fp.protecting(), Some(new_out), "defer {defer}");
        assert_eq!(fp.spd.len(), 1);
    }
}

#[test]
fn a_refusal_takes_everything_back() {
    for fail_on in 0..4 {
        let mut fp = Recorder {
            fail_on: Some(fail_on),
            ..Recorder::default()
        };
        let mut t = SaTable::default();
        assert!(t.install(&mut fp, &info(1, 1, 0x100, true), None).is_err());
        assert!(t.is_empty());
        let adds = fp.log.iter().filter(|l| l.contains("_add")).count();
        let dels = fp.log.iter().filter(|l| l.contains("_del")).count();
        // Everything added (the refused one excepted) was deleted again.
        assert_eq!(adds - 1, dels, "fail on {fail_on}: {:?}", fp.log);
        // And the ids are free again.
        let mut ok = Recorder::default();
        let e = t.install(&mut ok, &info(1, 1, 0x100, true), None).unwrap();
        assert!(e.sa_in <= 2 && e.sa_out <= 2);
    }
}

#[test]
fn ids_run_out_and_come_back() {
    let mut p = IdPool {
        next: MAX_SA_ID,
        ..IdPool::default()
    };
    assert_eq!(p.alloc(), Some(MAX_SA_ID));
    assert_eq!(p.alloc(), None);
    p.release(5);
    assert_eq!(p.alloc(), Some(5));
}
