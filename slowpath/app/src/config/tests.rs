//! The slow path's file: whole nodes, every refusal, the one duration grammar, scale.

use super::*;

const GOOD: &str = "\
control /run/sp.sock
fastpath /run/fp.sock
track uplink link fp1
track gw probe 192.0.2.254 interval 200ms timeout 150ms fail 2 rise 1
track wan port 1
vrrp up4 interface fp1 vrid 51 priority 200 advert-int 100ms address 192.0.2.100 preempt-delay 5s vmac track gw weight 60 track uplink fastpath-port 1 garp 3 garp-rounds 2
vrrp down4 interface fp0 vrid 52 priority 200 advert-int 10cs address 10.0.0.1 accept
vrrp lone interface fp0 vrid 9 version 2 address 10.0.0.9 no-preempt
group gw-pair up4 down4
ha-group gw vrrp-group gw-pair notify /bin/true
ha-group lab static standby
";

#[test]
fn parses_a_whole_node() {
    let c = Config::parse(GOOD, "n.conf").unwrap();
    assert_eq!(c.control.as_deref(), Some(Path::new("/run/sp.sock")));
    assert_eq!(c.tracks.len(), 3);
    assert_eq!(c.tracks[2].kind, TrackKind::FastpathPort { port: 1 });
    assert!(matches!(
        c.tracks[1].kind,
        TrackKind::Probe {
            fail: 2,
            rise: 1,
            ..
        }
    ));
    let up = &c.vrrp[0];
    assert_eq!((up.instance.vrid, up.instance.priority), (51, 200));
    assert_eq!(up.instance.advert_interval_cs, 10);
    assert_eq!(up.instance.preempt_delay, Duration::from_secs(5));
    assert!(up.vmac && up.instance.preempt && !up.instance.accept_mode);
    assert_eq!(up.fastpath_port, Some(1));
    assert_eq!(up.instance.tracks[0].weight, Some(60));
    assert_eq!(up.instance.tracks[1].weight, None);
    assert_eq!((up.instance.garp_count, up.instance.garp_rounds), (3, 2));
    assert_eq!(c.vrrp[1].instance.advert_interval_cs, 10);
    assert!(c.vrrp[1].instance.accept_mode);
    assert_eq!(c.vrrp[2].instance.version, Version::V2);
    assert!(!c.vrrp[2].instance.preempt);
    // The lone instance got a group of its own.
    assert_eq!(c.groups.len(), 2);
    assert_eq!(c.groups[1].instances, vec!["lone".to_string()]);
    assert_eq!(
        c.ha_groups[0].source,
        HaSourceConfig::VrrpGroup("gw-pair".into())
    );
    assert_eq!(
        c.ha_groups[1].source,
        HaSourceConfig::Static(HaRoleConfig::Standby)
    );
}

#[test]
fn refuses_bad_lines_with_file_line_and_reason() {
    let cases = [
        (
            "vrrp a interface x vrid 1 address 10.0.0.1 track nope",
            "not defined above",
        ),
        ("vrrp a vrid 1 address 10.0.0.1", "missing `interface"),
        ("vrrp a interface x address 10.0.0.1", "missing `vrid"),
        ("vrrp a interface x vrid 300 address 10.0.0.1", "vrid"),
        (
            "vrrp a interface x vrid 1 address 10.0.0.1 advert-int 5ms",
            "advert-int",
        ),
        (
            "vrrp a interface x vrid 1 address 10.0.0.1 version 4",
            "version 4",
        ),
        (
            "vrrp a interface x vrid 1 address 10.0.0.1 frob",
            "unknown vrrp option",
        ),
        (
            "vrrp a interface x vrid 1 address 10.0.0.one",
            "not an IP address",
        ),
        ("group g nothere", "no vrrp nothere"),
        ("track t probe 10.0.0.1 interval 0s", "above 0"),
        ("track t sniff", "track NAME"),
        ("track t port 1", "needs `fastpath"),
        ("ha-group h static maybe", "active or standby"),
        ("ha-group h vrrp-group ghost", "no group"),
        ("vrrp a interface x vrid 1 advert-int 1s", ""),
        ("frobnicate", "unknown statement"),
        ("metrics 9465", "ADDRESS:PORT"),
        ("metrics 127.0.0.1:9465 extra", "extra"),
        (
            "vrrp a interface x vrid 256 address 10.0.0.1",
            "vrid: `256` is over 255",
        ),
        (
            "vrrp a interface x vrid 1 priority 256 address 10.0.0.1",
            "`256` is over 255",
        ),
        (
            "vrrp a interface x vrid 1 address 10.0.0.1 garp 0",
            "garp: 1 to 255",
        ),
        (
            "vrrp a interface x vrid 1 address 10.0.0.1 garp-rounds 4294967295",
            "1 to 255",
        ),
        (
            "vrrp a interface x vrid 1 address 10.0.0.1 fastpath-port 65536",
            "over 65535",
        ),
        (
            "vrrp a interface x vrid 1 address 10.0.0.1 track t weight 9",
            "not defined",
        ),
        (
            "vrrp a interface x vrid 1 address 10.0.0.1 preempt-delay 9",
            "wants a unit",
        ),
        ("track t probe 0.0.0.0", "answers no echo"),
        ("track t probe 10.0.0.1 fail 256", "fail: 1 to 255"),
        ("track t probe 10.0.0.1 rise 0", "rise: 1 to 255"),
        ("track t link eth0 extra", "unexpected `extra`"),
        ("control", "missing a path"),
        ("control a b", "unexpected `b`"),
    ];
    for (line, want) in cases {
        let text = format!("# header\n{line}\n");
        let e = Config::parse(&text, "bad.conf").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("bad.conf", 2), "{line}");
        assert!(e.reason.contains(want), "{line}: {} lacks {want}", e.reason);
    }
}

#[test]
fn files_are_read_with_a_bound() {
    let e = Config::load(Path::new("/dev/zero")).unwrap_err();
    assert_eq!(e.to_string(), "/dev/zero:0: is over 16777216 bytes");
    let e = Config::load(Path::new("/nonexistent/slowpath.conf")).unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("/nonexistent/slowpath.conf", 0));
}

/// Many instances, groups and tracks: names are looked up in maps, not rescanned.
#[test]
fn a_big_vrrp_file_parses() {
    let mut text = String::new();
    for i in 0..20_000u32 {
        let (a, b) = (i / 250, i % 250 + 1);
        text.push_str(&format!(
            "track t{i} link if{i}\n\
             vrrp v{i} interface if{i} vrid 1 address 10.{a}.{b}.1 track t{i}\n\
             group g{i} v{i}\n"
        ));
    }
    let c = Config::parse(&text, "big").unwrap();
    assert_eq!(
        (c.tracks.len(), c.vrrp.len(), c.groups.len()),
        (20_000, 20_000, 20_000)
    );
    let clash = format!("{text}vrrp x interface if7 vrid 1 address 10.9.9.9\n");
    let e = Config::parse(&clash, "big").unwrap_err();
    assert_eq!(e.line, 60_001);
    assert!(e.reason.contains("clashes with vrrp v7"), "{e}");
}

#[test]
fn refuses_a_second_instance_on_the_same_vrid() {
    let text =
        "vrrp a interface x vrid 1 address 10.0.0.1\nvrrp b interface x vrid 1 address 10.0.0.2\n";
    let e = Config::parse(text, "f").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.reason.contains("clashes"));
    // The same VRID in the other family is another virtual router (RFC 5798 7.3).
    let ok =
        "vrrp a interface x vrid 1 address 10.0.0.1\nvrrp b interface x vrid 1 address fe80::1\n";
    assert!(Config::parse(ok, "f").is_ok());
}

/// Every duration option of the file, with the one grammar's cases: the same words are
/// accepted or refused whichever statement holds them.
#[test]
fn one_duration_grammar_in_every_statement() {
    let conn =
        "conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256";
    let child = "child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16";
    // (a statement with `{}` where the duration goes, what the line must be preceded by)
    let places = [
        ("track t probe 10.0.0.1 interval {}", ""),
        ("track t probe 10.0.0.1 timeout {}", ""),
        (
            "vrrp a interface x vrid 1 address 10.0.0.1 preempt-delay {}",
            "",
        ),
        (
            "vrrp a interface x vrid 1 address 10.0.0.1 garp-interval {}",
            "",
        ),
        (&*format!("{conn} dpd {{}}"), "secret k psk 0x01\n"),
        (&*format!("{conn} rekey {{}}"), "secret k psk 0x01\n"),
        (&*format!("{conn} retransmit {{}}"), "secret k psk 0x01\n"),
        (&*format!("{child} life {{}}"), ""),
        ("ha sync-period-time {}", ""),
    ];
    let good = ["1h10m", "150cs", "1s500ms", "2d", "250us"];
    let bad = [
        ("90", "wants a unit"),
        ("3x", "not a duration"),
        ("18446744073709551615s", "over ten years"),
        ("3651d", "over ten years"),
    ];
    for (place, head) in places {
        let is_child = place.starts_with("child");
        let head = if is_child {
            format!("secret k psk 0x01\n{conn}\n")
        } else {
            head.to_string()
        };
        let line = head.lines().count() + 1;
        let tail = if place.starts_with("conn") {
            format!("\n{child}")
        } else {
            String::new()
        };
        for d in good {
            let text = format!("{head}{}{tail}\n", place.replace("{}", d));
            if let Err(e) = Config::parse(&text, "f") {
                // Only a range check of that option may refuse a valid duration.
                assert!(
                    !e.reason.contains("duration") && !e.reason.contains("unit"),
                    "{text}: {e}"
                );
            }
        }
        for (d, why) in bad {
            let text = format!("{head}{}{tail}\n", place.replace("{}", d));
            let e = Config::parse(&text, "f").unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.reason.contains(why), "{text}: {e}");
            assert_eq!(e.to_string(), format!("f:{line}: {}", e.reason));
        }
    }
    let c = Config::parse(
        "vrrp a interface x vrid 1 address 10.0.0.1 advert-int 150cs preempt-delay 1m30s\n",
        "f",
    )
    .unwrap();
    assert_eq!(c.vrrp[0].instance.advert_interval_cs, 150);
    assert_eq!(c.vrrp[0].instance.preempt_delay, Duration::from_secs(90));
}

#[test]
fn metrics_are_off_unless_asked_for() {
    assert_eq!(Config::parse("", "n.conf").unwrap().metrics, None);
    let on = Config::parse("metrics [::1]:9465\n", "n.conf").unwrap();
    assert_eq!(on.metrics, Some("[::1]:9465".parse().unwrap()));
    let twice = Config::parse("metrics 127.0.0.1:1\nmetrics 127.0.0.1:2\n", "n.conf");
    assert!(twice.unwrap_err().reason.contains("given twice"));
}
