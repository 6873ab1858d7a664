//! The Prometheus endpoint of the real binary: traffic through two SAs, then the page read
//! over HTTP checked against `stats` and `sa_get` of the control socket, and by promtool.

mod common;

use common::{plain_pcap, start_node, wait_until, Client, KEY};
use promtext::scrape::{get, promtool_check, samples, sum};
use serde_json::json;
use std::net::{SocketAddr, TcpListener};

/// A loopback port free a moment ago.
fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Two ports and an outbound SA, then `rest`.
fn config(rest: &str) -> String {
    format!(
        "port 0 protected peer-mac 02:00:00:00:00:02\n\
         port 1 unprotected peer-mac 02:00:00:00:00:03\n\
         sa 1 out spi 0x1005 aes128gcm16 key {KEY} tunnel 192.0.2.1 192.0.2.2 esn\n\
         {rest}"
    )
}

#[test]
fn the_page_says_what_the_control_socket_says() {
    let addr = free_port();
    // Port 0 reads 300 frames once; port 1 is a net_ring: the ESP comes back and is decrypted.
    let conf = config(&format!(
        "sa 2 in spi 0x1005 aes128gcm16 key {KEY} tunnel 192.0.2.2 192.0.2.1 esn\n\
         sp out protect 1 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24\n\
         sp in protect 2 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24\n\
         metrics {addr}\n"
    ));
    let vdevs = [
        "net_pcap0,rx_pcap={dir}/plain.pcap,tx_pcap=/dev/null".to_string(),
        "net_ring0".to_string(),
    ];
    let node = start_node("metrics", &conf, &[], &vdevs, |dir| {
        plain_pcap(&dir.join("plain.pcap"), 300, 64)
    });
    let mut c = Client::connect(&node.sock);
    // The file is read once: the counters come to rest.
    let mut last = json!(null);
    wait_until("the traffic through both SAs, then quiet", || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let now = c.ok(json!({"op": "stats"}));
        let rest = now == last && now["decrypted"].as_u64() > Some(0);
        last = now;
        rest
    });
    let stats = c.ok(json!({"op": "stats"}));
    assert_eq!(stats["decrypted"], 300, "{stats}");
    let (status, page) = get(addr, "/metrics").unwrap();
    assert_eq!(status, 200, "{page}");
    let s = samples(&page);
    let worker_sum = |family: &str, with: &[&str]| sum(&s, family, with) as u64;

    for (family, key) in [
        ("fastpath_worker_rx_packets_total", "rx_packets"),
        ("fastpath_worker_tx_packets_total", "tx_packets"),
        ("fastpath_worker_rx_bytes_total", "rx_bytes"),
        ("fastpath_worker_bypassed_total", "bypassed"),
        ("fastpath_worker_exception_total", "exception"),
    ] {
        assert_eq!(worker_sum(family, &[]), stats[key], "{family}");
    }
    assert_eq!(
        worker_sum("fastpath_worker_esp_packets_total", &["direction=\"out\""]),
        stats["encrypted"]
    );
    assert_eq!(
        worker_sum("fastpath_worker_esp_packets_total", &["direction=\"in\""]),
        300
    );
    for (reason, n) in stats["drops"].as_object().unwrap() {
        let label = format!("reason=\"{reason}\"");
        assert_eq!(
            worker_sum("fastpath_worker_drops_total", &[&label]),
            n.as_u64().unwrap(),
            "{reason}"
        );
    }
    // Each SA as `sa_get` has it.
    for (id, dir) in [(1, "out"), (2, "in")] {
        let sa = c.ok(json!({"op": "sa_get", "sa": id}));
        let labels = format!("{{sa=\"{id}\",spi=\"0x00001005\",direction=\"{dir}\"}}");
        assert_eq!(s[&format!("fastpath_sa_packets_total{labels}")], 300.0);
        assert_eq!(
            s[&format!("fastpath_sa_packets_total{labels}")] as u64,
            sa["packets"]
        );
        assert_eq!(
            s[&format!("fastpath_sa_bytes_total{labels}")] as u64,
            sa["bytes"]
        );
    }
    // The ports' own counters: the pcap's frames in on port 0, the ESP in on the ring.
    assert_eq!(
        s["fastpath_port_rx_packets_total{port=\"0\",role=\"protected\"}"],
        300.0
    );
    assert_eq!(
        s["fastpath_port_rx_packets_total{port=\"1\",role=\"unprotected\"}"],
        300.0
    );
    assert_eq!(s["fastpath_workers"], 1.0);
    assert!(s["fastpath_uptime_seconds"] > 0.0);
    assert!(page.contains("fastpath_build_info{version=\""));
    promtool_check(&page).unwrap();

    // Only GET /metrics is a page.
    assert_eq!(get(addr, "/").unwrap().0, 404);
    assert_eq!(get(addr, "/metrics?x=1").unwrap().0, 200);
}

#[test]
fn per_sa_off_leaves_the_sa_families_out() {
    let addr = free_port();
    let conf = config(&format!("metrics {addr} per-sa off\n"));
    let vdevs = ["net_null0".to_string(), "net_null1".to_string()];
    let _node = start_node("metrics-lean", &conf, &[], &vdevs, |_| {});
    let (status, page) = get(addr, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("fastpath_worker_drops_total"));
    assert!(!page.contains("fastpath_sa_"), "{page}");
    promtool_check(&page).unwrap();
}
