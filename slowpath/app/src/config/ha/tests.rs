//! The `ha` block: a pair's two files, the defaults, and every refusal with its line.

use super::super::Config;
use super::*;
use std::path::PathBuf;

const GROUPS: &str = "\
vrrp up interface fp1 vrid 51 address 192.0.2.100
ha-group gw vrrp-group up
";

/// The pair's file with `NODE` for the node id; `KEY` for the key line.
const PAIR: &str = "\
ha node-id NODE
ha listen-ha-group gw
ha path dedicated 10.77.0.1 10.77.0.2
ha path lan 2001:db8:10::1 2001:db8:10::2 port 1800
KEY
ha sync-period-time 5s
ha sync-period-packets 4
ha oseq-shift 4294967296
";

/// A file of its own in the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        let path = std::env::temp_dir().join(format!("ha-conf-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn parse(ha: &str) -> Result<Config, toolkit::ConfigError> {
    Config::parse(&format!("{GROUPS}{ha}"), "ha.conf")
}

#[test]
fn two_files_that_differ_in_node_id_give_mirrored_paths() {
    let key = TempFile::new("pair.key", &[0xa5; 32]);
    let key_line = format!("ha sync-key-file {}", key.path());
    let file = |node: &str| PAIR.replace("NODE", node).replace("KEY", &key_line);
    let one = parse(&file("1")).unwrap().ha.unwrap();
    let two = parse(&file("2")).unwrap().ha.unwrap();
    assert_eq!((one.node_id, two.node_id), (NodeId::One, NodeId::Two));
    assert_eq!(one.listen_ha_group, "gw");
    assert_eq!(one.paths.len(), 2);
    for (a, b) in one.paths.iter().zip(&two.paths) {
        assert_eq!(a.name, b.name);
        assert_eq!((a.local, a.peer), (b.peer, b.local), "{}", a.name);
        assert_eq!((a.local, a.peer), (a.addresses[0], a.addresses[1]));
    }
    assert_eq!(one.paths[0].local, "10.77.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(
        two.paths[1].local,
        "2001:db8:10::2".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        (one.paths[0].port, one.paths[1].port),
        (DEFAULT_SYNC_PORT, 1800)
    );
    assert_eq!(one.sync_key.as_bytes(), &[0xa5; 32]);
    assert_eq!(one.sync_key, two.sync_key);
    assert_eq!(
        one.seqnum,
        SyncSettings {
            period_packets_inbound: 4,
            period_packets_outbound: 4,
            period_time_ms: 5000,
            oseq_shift: 1 << 32,
        }
    );
    assert_eq!(one.seqnum, two.seqnum);
    // The key never shows in logs.
    let shown = format!("{one:?}");
    assert!(shown.contains("<32 sync key bytes>"), "{shown}");
    assert!(!shown.contains("165"), "{shown}");
}

#[test]
fn defaults_the_cisco_split_and_sync_off() {
    let head = "ha node-id 2\nha listen-ha-group gw\nha path p 10.0.0.1 10.0.0.2\n\
                ha path q 10.0.1.1 10.0.1.2\nha sync-key \"a passphrase of some length\"\n";
    let ha = parse(head).unwrap().ha.unwrap();
    assert_eq!(ha.seqnum, SyncSettings::default());
    assert_eq!(ha.sync_key.as_bytes(), b"a passphrase of some length");
    // `replay-interval` overrides `sync-period-packets`, in either order.
    for tail in [
        "ha sync-period-packets 9\nha replay-interval inbound 1000 outbound 10000\n",
        "ha replay-interval outbound 10000 inbound 1000\nha sync-period-packets 9\n",
    ] {
        let s = parse(&format!("{head}{tail}")).unwrap().ha.unwrap().seqnum;
        assert_eq!(
            (s.period_packets_inbound, s.period_packets_outbound),
            (1000, 10_000),
            "{tail}"
        );
    }
    // Both triggers 0: no record is taken (allowed).
    let off = parse(&format!(
        "{head}ha sync-period-time 0s\nha sync-period-packets 0\n"
    ))
    .unwrap()
    .ha
    .unwrap()
    .seqnum;
    assert_eq!(
        (
            off.period_packets_inbound,
            off.period_packets_outbound,
            off.period_time_ms
        ),
        (0, 0, 0)
    );
    // No `ha` line: no HA.
    assert!(parse("").unwrap().ha.is_none());
}

#[test]
fn refuses_a_bad_block_at_its_line() {
    let short = TempFile::new("short.key", &[1; 15]);
    let big = TempFile::new("big.key", &[1; MAX_SYNC_KEY_FILE_BYTES as usize + 1]);
    let edge = TempFile::new("edge.key", &[1; MAX_SYNC_KEY_FILE_BYTES as usize]);
    let good = [
        "ha node-id 1",
        "ha listen-ha-group gw",
        "ha path a 10.0.0.1 10.0.0.2",
        "ha sync-key 0123456789abcdef",
        "ha path b 10.0.9.1 10.0.9.2",
    ];
    // (the line of `good` replaced, 5 to append; the new line; what the reason says)
    let mut cases: Vec<(usize, String, &str)> = [
        (0, "ha node-id 3", "node-id 3: 1 or 2"),
        (0, "ha node-id 0", "1 or 2"),
        (0, "ha node-id", "missing node-id"),
        (0, "ha node-id 1 extra", "unexpected `extra`"),
        (5, "ha node-id 2", "`ha node-id` is given twice"),
        (1, "ha listen-ha-group nope", "no ha-group nope"),
        (1, "ha listen-ha-group up", "no ha-group up"),
        (5, "ha path a 10.0.0.3 10.0.0.4", "path a is defined twice"),
        (5, "ha path c 10.0.0.1 10.0.0.2", "addresses of path a"),
        (2, "ha path a 10.0.0.1 2001:db8::2", "two families"),
        (2, "ha path a 10.0.0.1 10.0.0.1", "both nodes have 10.0.0.1"),
        (2, "ha path a 0.0.0.0 10.0.0.1", "no node's address"),
        (2, "ha path a 10.0.0.1 224.0.0.18", "no node's address"),
        (2, "ha path a 10.0.0.1", "missing node 2's address"),
        (2, "ha path a 10.0.0.1 10.0.0.2 port 0", "port: 1 to 65535"),
        (2, "ha path a 10.0.0.1 10.0.0.2 mtu 9", "unknown path"),
        (2, "ha path a 10.0.0.1 x", "not an IP address"),
        (5, "ha sync-key-file /etc/hostname", "one sync key"),
        (3, "ha sync-key short", "at least 16 bytes"),
        (3, "ha sync-key \"0123456789abcdef", "unterminated quote"),
        (3, "ha sync-key-file /dev/zero", "is over 4096 bytes"),
        (3, "ha sync-key-file /nonexistent/sync.key", "No such file"),
        (5, "ha oseq-shift 0", "oseq-shift: 1 to 4294967296"),
        (5, "ha oseq-shift 4294967297", "oseq-shift: 1 to"),
        (5, "ha sync-period-time 2d", "1ms to 1d"),
        (5, "ha sync-period-time 999us", "1ms to 1d"),
        (5, "ha sync-period-time 10", "wants a unit"),
        (5, "ha sync-period-packets -1", "not a number"),
        (5, "ha replay-interval inbound 10", "inbound N outbound M"),
        (5, "ha replay-interval outbound 1 outbound 2", "given twice"),
        (5, "ha replay-interval sideways 1", "unexpected `sideways`"),
        (5, "ha frob 1", "unknown ha setting `frob`"),
        (5, "ha", "missing an ha setting"),
    ]
    .into_iter()
    .map(|(i, line, want)| (i, line.to_string(), want))
    .collect();
    for (file, want) in [(&short, "at least 16 bytes"), (&big, "is over 4096 bytes")] {
        cases.push((3, format!("ha sync-key-file {}", file.path()), want));
    }
    // A setting missing from the block is reported at its first line.
    let first = "ha oseq-shift 1".to_string();
    for (i, want) in [
        (0, "lacks `ha node-id"),
        (1, "lacks `ha listen-ha-group"),
        (3, "lacks `ha sync-key"),
    ] {
        cases.push((i, first.clone(), want));
    }
    for (i, line, want) in cases {
        let at = if line == first { Some(1) } else { None };
        let mut lines: Vec<String> = good.iter().map(|s| s.to_string()).collect();
        if i == good.len() {
            lines.push(line.clone());
        } else {
            lines[i] = line.clone();
        }
        let e = parse(&format!("{}\n", lines.join("\n"))).unwrap_err();
        let header = GROUPS.lines().count();
        let want_line = header + at.unwrap_or(i + 1);
        assert_eq!(
            (e.file.as_str(), e.line),
            ("ha.conf", want_line),
            "{line}: {e}"
        );
        assert!(
            e.reason.contains(want),
            "{line}: `{}` lacks `{want}`",
            e.reason
        );
    }
    // One sync path is refused at its line; none at the block's first.
    let one_path = good[..4].join("\n");
    let e = parse(&format!("{one_path}\n")).unwrap_err();
    assert_eq!(e.line, GROUPS.lines().count() + 3, "{e}");
    assert!(e.reason.contains("path a is the only sync path"), "{e}");
    let no_path = [good[0], good[1], good[3]].join("\n");
    let e = parse(&format!("{no_path}\n")).unwrap_err();
    assert_eq!(e.line, GROUPS.lines().count() + 1, "{e}");
    assert!(e.reason.contains("lacks `ha path"), "{e}");
    // The bounds themselves are taken.
    let mut lines: Vec<String> = good.iter().map(|s| s.to_string()).collect();
    lines[3] = format!("ha sync-key-file {}", edge.path());
    lines.push("ha oseq-shift 4294967296\nha sync-period-time 1d".into());
    let ha = parse(&format!("{}\n", lines.join("\n")))
        .unwrap()
        .ha
        .unwrap();
    assert_eq!(
        ha.sync_key.as_bytes().len(),
        MAX_SYNC_KEY_FILE_BYTES as usize
    );
    assert_eq!(ha.seqnum.period_time_ms, 86_400_000);
    // The passphrase never appears in a refusal.
    let e = parse("ha sync-key secret-word\n").unwrap_err();
    assert!(!e.reason.contains("secret-word"), "{e}");
}
