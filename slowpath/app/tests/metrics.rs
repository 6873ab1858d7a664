//! The Prometheus endpoint of the real `slowpath` binary: two daemons bring an IKE SA up over
//! loopback, then each page read over HTTP is checked against what the control socket
//! answers, and by promtool.

use ipc::client::Client;
use ipc::slowpath::{HaRole, Request};
use promtext::scrape::{get, promtool_check, samples, sum};
use serde_json::Value;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running daemon; killed, and its directory removed, when dropped.
struct Daemon {
    child: Child,
    dir: PathBuf,
    metrics: SocketAddr,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Daemon {
    fn start(tag: &str, config: &str) -> Daemon {
        let dir = std::env::temp_dir().join(format!("sp-metrics-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let metrics = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let conf = dir.join("sp.conf");
        let text = format!(
            "control {}\nmetrics {metrics}\n{config}",
            dir.join("sp.sock").display()
        );
        std::fs::write(&conf, text).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_slowpath"))
            .arg("--config")
            .arg(&conf)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start slowpath");
        let d = Daemon {
            child,
            dir,
            metrics,
        };
        wait_until("the control socket", || d.sock().exists());
        d
    }

    fn sock(&self) -> PathBuf {
        self.dir.join("sp.sock")
    }

    fn ask(&self, r: &Request) -> Value {
        Client::new(&self.sock(), Duration::from_secs(5))
            .call(r)
            .unwrap()
    }

    fn page(&self) -> String {
        let (status, page) = get(self.metrics, "/metrics").unwrap();
        assert_eq!(status, 200, "{page}");
        page
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_ike_port(a: &str) -> bool {
    UdpSocket::bind((a.parse::<std::net::IpAddr>().unwrap(), 500)).is_ok()
}

const RESPONDER: &str = "\
ha-group lab static active
secret k psk \"metrics test secret\"
pool vpn 10.3.0.0/30
conn from-a local 127.0.0.42 remote any local-id fqdn:b.test remote-id fqdn:a.test auth psk k ike aes128gcm16-prfsha256-ecp256 pool vpn
child net conn from-a local-ts 10.2.0.0/16 remote-ts 10.1.0.0/16 esp aes128gcm16-esn
";
const INITIATOR: &str = "\
secret k psk \"metrics test secret\"
conn to-b local 127.0.0.41 remote 127.0.0.42 local-id fqdn:a.test remote-id fqdn:b.test auth psk k ike aes128gcm16-prfsha256-ecp256 retransmit 1s tries 3 start
child net conn to-b local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16-esn
";

#[test]
fn each_page_says_what_its_control_socket_says() {
    // Addresses of their own on loopback, so that no other test's IKE port is in the way.
    assert!(
        free_ike_port("127.0.0.41") && free_ike_port("127.0.0.42"),
        "UDP port 500 on 127.0.0.41/42 is needed (root, and not in use)"
    );
    let b = Daemon::start("b", RESPONDER);
    let a = Daemon::start("a", INITIATOR);
    let established = |d: &Daemon| {
        let sas = d.ask(&Request::IkeSas);
        sas.as_array()
            .is_some_and(|v| v.len() == 1 && v[0]["children"] == 1)
    };
    wait_until("the IKE and CHILD SA on both", || {
        established(&a) && established(&b)
    });

    for d in [&a, &b] {
        let page = d.page();
        let s = samples(&page);
        promtool_check(&page).unwrap();
        let sas = d.ask(&Request::IkeSas);
        let state = sas[0]["state"].as_str().unwrap();
        assert_eq!(
            s[&format!("slowpath_ike_sas{{state=\"{state}\"}}")],
            1.0,
            "{page}"
        );
        assert_eq!(s["slowpath_ike_child_sas"], 1.0);
        // No DPD and no traffic: the counters stand still between the two reads.
        let c = d.ask(&Request::IkeCounters);
        for (family, key) in [
            ("slowpath_ike_received_total", "received"),
            ("slowpath_ike_sent_total", "sent"),
            ("slowpath_ike_retransmits_total", "retransmits"),
        ] {
            assert_eq!(Some(s[family] as u64), c[key].as_u64(), "{family}");
        }
        assert!(s["slowpath_ike_sent_total"] >= 2.0);
        for (reason, n) in c["drops"].as_object().unwrap() {
            let label = format!("reason=\"{reason}\"");
            assert_eq!(
                Some(sum(&s, "slowpath_ike_drops_total", &[&label]) as u64),
                n.as_u64(),
                "{reason}"
            );
        }
        // IKEv1's half-open responder SAs, apart from IKEv2's.
        let v1 = c["half_open_v1"].as_object().unwrap();
        assert!(v1.contains_key("current"), "{c}");
        for (event, n) in v1 {
            let on_page = if event == "current" {
                s["slowpath_ike_v1_half_open"]
            } else {
                let label = format!("event=\"{event}\"");
                sum(&s, "slowpath_ike_v1_half_open_events_total", &[&label])
            };
            assert_eq!(Some(on_page as u64), n.as_u64(), "{event}");
        }
    }

    // The responder's pool, as `pools` has it (the initiator asked for no address).
    let page = b.page();
    let s = samples(&page);
    let pools = b.ask(&Request::Pools);
    for state in ["leased", "free", "offline"] {
        let series = format!("slowpath_pool_addresses{{pool=\"vpn\",state=\"{state}\"}}");
        assert_eq!(Some(s[&series] as u64), pools[0][state].as_u64(), "{state}");
    }
    assert_eq!(
        Some(s["slowpath_pool_size{pool=\"vpn\"}"] as u64),
        pools[0]["size"].as_u64()
    );
    assert!(pools[0]["free"].as_u64() > Some(0));

    // An HA group's role as a 0/1 gauge per role, and its change counted.
    let active = "slowpath_ha_group_role{ha_group=\"lab\",role=\"active\"}";
    let standby = "slowpath_ha_group_role{ha_group=\"lab\",role=\"standby\"}";
    assert_eq!((s[active], s[standby]), (1.0, 0.0));
    let before = s["slowpath_ha_group_transitions_total{ha_group=\"lab\"}"];
    b.ask(&Request::HaSet {
        ha_group: "lab".into(),
        role: HaRole::Standby,
    });
    let s = samples(&b.page());
    assert_eq!((s[active], s[standby]), (0.0, 1.0));
    assert_eq!(
        s["slowpath_ha_group_transitions_total{ha_group=\"lab\"}"],
        before + 1.0
    );
    let groups = b.ask(&Request::HaGroups);
    assert_eq!(
        Some(s["slowpath_ha_group_transitions_total{ha_group=\"lab\"}"] as u64),
        groups[0]["transitions"].as_u64()
    );

    // Only GET /metrics is a page.
    assert_eq!(get(b.metrics, "/").unwrap().0, 404);
    assert!(Path::new(&b.sock()).exists());
}
