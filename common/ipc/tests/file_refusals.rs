//! The fast path's configuration file: every refusal, with its file, line and reason, before
//! anything starts (one table), and the size bound on what is read.

use ipc::fastpath::file::FileConfig;

const KEY20: &str = "0102030405060708090a0b0c0d0e0f1011121314";

fn sa(rest: &str) -> String {
    format!("sa {rest}")
}

#[test]
fn every_refusal_names_its_line_and_reason() {
    let ok_sa = |id: u32, dir: &str, spi: &str| {
        sa(&format!(
            "{id} {dir} spi {spi} aes128gcm16 key {KEY20} tunnel 192.0.2.1 192.0.2.2"
        ))
    };
    let cases: Vec<(String, &str)> = vec![
        (ok_sa(1, "out", "0"), "SPI 0"),
        (ok_sa(1, "out", "0x100000000"), "over 4294967295"),
        (ok_sa(1048576, "out", "0x1000"), "SA id 1048576 is over"),
        (
            ok_sa(1, "out", "0x1000") + " window 100000000",
            "window 100000000",
        ),
        (
            ok_sa(1, "out", "0x1000") + " lifetime-bytes 10:5",
            "soft limit is above",
        ),
        (
            ok_sa(1, "out", "0x1000") + " lifetime-packets 18446744073709551616:1",
            "over 18446744073709551615",
        ),
        (
            ok_sa(1, "out", "0x1000").replace("192.0.2.2", "0.0.0.0"),
            "not a unicast address",
        ),
        (
            ok_sa(1, "out", "0x1000").replace("192.0.2.2", "255.255.255.255"),
            "not a unicast address",
        ),
        (
            ok_sa(1, "out", "0x1000").replace("192.0.2.2", "239.1.1.1"),
            "not a unicast address",
        ),
        (
            ok_sa(1, "out", "0x1000").replace("192.0.2.1", "ff02::1"),
            "one address family",
        ),
        (ok_sa(1, "out", "0x1000") + " ttl 0", "ttl"),
        (ok_sa(1, "out", "0x1000") + " dscp 64", "dscp"),
        (ok_sa(1, "out", "0x1000") + " natt 0:4500", "natt port 0"),
        (
            format!(
                "{}\n{}",
                ok_sa(1, "out", "0x1000"),
                ok_sa(1, "in", "0x2000")
            ),
            "defined twice",
        ),
        (
            format!("{}\n{}", ok_sa(1, "in", "0x1000"), ok_sa(2, "in", "0x1000")),
            "used twice for in SAs",
        ),
        (
            format!(
                "{}\n{}",
                ok_sa(1, "out", "0x1000"),
                ok_sa(2, "out", "0x1000")
            ),
            "used twice for out SAs",
        ),
        (
            "sp out protect 9 pri 1 src 10.0.0.0/8 dst 10.0.0.0/8".into(),
            "not defined above",
        ),
        (
            "sp out bypass pri 1 src 10.0.0.0/8 dst 2001:db8::/32".into(),
            "one address family",
        ),
        ("port 0 protected mtu 100".into(), "mtu"),
        (
            "port 0 protected exception 0".into(),
            "its own exception port",
        ),
        (
            "port 0 protected peer-mac 02:00:00:00:00".into(),
            "not a MAC address",
        ),
        (
            "port 0 protected exception 2 exception-mac 01:00:5e:00:00:01".into(),
            "multicast",
        ),
        (
            "port 0 protected exception-mac 02:00:00:00:00:01".into(),
            "needs an exception port",
        ),
        ("local 192.0.2.300".into(), "not an IP address"),
        ("route 10.0.0.0/8".into(), "port N"),
        ("route 10.0.0.0/8 port 7".into(), "port 7 is not defined"),
        (
            "route 10.0.0.0/8 port 0\nroute 10.0.0.0/8 via 10.1.1.1 port 0".into(),
            "given twice",
        ),
        ("kernel-routes maybe".into(), "want on or off"),
        ("metrics 9464".into(), "ADDRESS:PORT"),
        (
            "metrics 127.0.0.1:9464 per-sa maybe".into(),
            "want on or off",
        ),
        (
            "metrics 127.0.0.1:9464 verbose".into(),
            "unknown metrics option",
        ),
        (
            "metrics 127.0.0.1:9464\nmetrics 127.0.0.1:9465".into(),
            "given twice",
        ),
        ("routes 10.0.0.0/8".into(), "unknown statement"),
    ];
    for (lines, want) in cases {
        let text = format!("# header\n{lines}\n");
        let e = FileConfig::parse(&text, "lab.conf").unwrap_err();
        let last = text.lines().count();
        assert_eq!(e.file, "lab.conf", "{lines}");
        assert!(e.line >= 2 && e.line <= last, "{lines}: line {}", e.line);
        assert!(
            e.reason.contains(want),
            "{lines}: `{}` lacks `{want}`",
            e.reason
        );
        assert!(e.to_string().starts_with(&format!("lab.conf:{}: ", e.line)));
    }
    // The same SPI may serve one SA each way (a loop in a lab).
    let both = format!(
        "{}\n{}\n",
        ok_sa(1, "out", "0x1000"),
        ok_sa(2, "in", "0x1000")
    );
    assert_eq!(FileConfig::parse(&both, "lab.conf").unwrap().sas.len(), 2);
}

#[test]
fn a_file_is_read_with_a_bound() {
    // /dev/zero never ends: it is refused at the bound, not read until memory runs out.
    let e = FileConfig::load(std::path::Path::new("/dev/zero")).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(e.to_string().starts_with("/dev/zero:0: "), "{e}");
}

#[test]
fn parsing_is_linear_in_the_file() {
    // 100,000 SAs with their policies: duplicate checks are by hash, not by scanning.
    let mut text = String::new();
    for i in 1..=100_000u32 {
        text.push_str(&format!(
            "sa {i} out spi {} aes128gcm16 key {KEY20} tunnel 192.0.2.1 192.0.2.2\n",
            0x1000 + i
        ));
    }
    let cfg = FileConfig::parse(&text, "big.conf").unwrap();
    assert_eq!(cfg.sas.len(), 100_000);
}

#[test]
fn a_port_names_its_exception_taps_mac() {
    let text =
        "port 1 unprotected exception 3 exception-mac 02:00:00:00:01:01 next-hop 192.0.2.2\n\
                port 0 protected exception 2\n";
    let cfg = FileConfig::parse(text, "lab.conf").unwrap();
    assert_eq!(
        cfg.ports[0].exception_mac.map(|m| m.octets()),
        Some([2, 0, 0, 0, 1, 1])
    );
    assert_eq!(cfg.ports[1].exception_mac, None, "derived at start");
}

#[test]
fn routes_and_the_kernel_mirror_are_read() {
    let text = "port 0 protected exception 2 next-hop 10.0.1.1\n\
                port 1 unprotected peer-mac 02:00:00:00:00:02\n\
                route 10.2.0.0/16 via 10.0.1.1 port 0\n\
                route 2001:db8:5::/48 port 0\n\
                kernel-routes on\n";
    let cfg = FileConfig::parse(text, "lab.conf").unwrap();
    assert!(cfg.kernel_routes);
    assert_eq!(cfg.routes.len(), 2);
    assert_eq!(cfg.routes[0].via, Some("10.0.1.1".parse().unwrap()));
    assert_eq!((cfg.routes[1].len, cfg.routes[1].port), (48, 0));
    let off = FileConfig::parse("kernel-routes off\n", "lab.conf").unwrap();
    assert!(!off.kernel_routes && off.routes.is_empty());
}

#[test]
fn the_metrics_endpoint_is_off_unless_asked_for() {
    use ipc::fastpath::file::MetricsSpec;
    let none = FileConfig::parse("kernel-routes off\n", "lab.conf").unwrap();
    assert_eq!(none.metrics, None);
    let on = FileConfig::parse("metrics [::1]:9464\n", "lab.conf").unwrap();
    assert_eq!(
        on.metrics,
        Some(MetricsSpec {
            addr: "[::1]:9464".parse().unwrap(),
            per_sa: true
        })
    );
    let lean = FileConfig::parse("metrics 127.0.0.1:9464 per-sa off\n", "lab.conf").unwrap();
    assert!(!lean.metrics.unwrap().per_sa);
}
