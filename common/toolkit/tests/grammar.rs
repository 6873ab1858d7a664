//! Every case of the shared configuration grammar, valid and refused, in tables: what any
//! configuration file of the gateway accepts for a statement, a duration or a value.

use std::net::IpAddr;
use std::time::Duration;

use toolkit::config::{self, statements, ConfigError, Words};
use toolkit::duration::{self, parse_duration};
use toolkit::MacAddr;

/// A statement: its line and words.
type Statement = (usize, &'static [&'static str]);

/// (text, the statements it holds).
const TOKENIZER: &[(&str, &[Statement])] = &[
    ("", &[]),
    ("\n\n   \n\t\n", &[]),
    ("# only a comment\n  # indented", &[]),
    ("a b c", &[(1, &["a", "b", "c"])]),
    ("  a\tb  \t c  ", &[(1, &["a", "b", "c"])]),
    ("a b # c d", &[(1, &["a", "b"])]),
    ("a b#c", &[(1, &["a", "b"])]),
    ("\n\nx\n\ny z\n", &[(3, &["x"]), (5, &["y", "z"])]),
    ("a\r\nb\r\n", &[(1, &["a"]), (2, &["b"])]),
    (
        "id dn:\"C=CH, O=Lab #1\" x",
        &[(1, &["id", "dn:\"C=CH, O=Lab #1\"", "x"])],
    ),
    ("psk \"two words\" # c", &[(1, &["psk", "\"two words\""])]),
    // An unterminated quote runs to the end of the line; the statement's parser refuses it.
    ("id \"open # x", &[(1, &["id", "\"open # x"])]),
    ("é ü", &[(1, &["é", "ü"])]),
];

#[test]
fn tokenizer_table() {
    for (text, want) in TOKENIZER {
        let got: Vec<(usize, Vec<&str>)> = statements(text).collect();
        let want: Vec<(usize, Vec<&str>)> = want.iter().map(|(n, w)| (*n, w.to_vec())).collect();
        assert_eq!(got, want, "{text:?}");
    }
}

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

/// (text, Ok(nanoseconds) or Err(a word the reason holds)).
const DURATIONS: &[(&str, Result<u64, &str>)] = &[
    ("0", Ok(0)),
    ("0s", Ok(0)),
    ("100ms", Ok(100 * MS)),
    ("150cs", Ok(1_500 * MS)),
    ("15cs", Ok(150 * MS)),
    ("1s500ms", Ok(1_500 * MS)),
    ("30s", Ok(30 * S)),
    ("10m", Ok(600 * S)),
    ("1h10m", Ok(4_200 * S)),
    ("4h", Ok(14_400 * S)),
    ("2d", Ok(172_800 * S)),
    ("1d1h1m1s1cs1ms1us", Ok(90_061 * S + 10 * MS + MS + 1_000)),
    ("250us", Ok(250_000)),
    ("007s", Ok(7 * S)),
    ("3650d", Ok(3_650 * 86_400 * S)),
    // Refused.
    ("", Err("empty")),
    ("90", Err("wants a unit")),
    ("00", Err("wants a unit")),
    ("ms", Err("not a duration")),
    ("s1", Err("not a duration")),
    ("1x", Err("not a duration")),
    ("1S", Err("not a duration")),
    ("1 s", Err("not a duration")),
    ("-1s", Err("not a duration")),
    ("+1s", Err("not a duration")),
    ("1.5s", Err("not a duration")),
    ("1h10", Err("not a duration")),
    ("1sec", Err("not a duration")),
    ("3651d", Err("over ten years")),
    ("18446744073709551615s", Err("over ten years")),
    ("18446744073709551616s", Err("over ten years")),
    ("18446744073709551615d", Err("over ten years")),
    ("18446744073709551615cs", Err("over ten years")),
    ("3650d1s", Err("over ten years")),
];

#[test]
fn duration_table() {
    for (text, want) in DURATIONS {
        match (parse_duration(text), want) {
            (Ok(d), Ok(ns)) => assert_eq!(d, Duration::from_nanos(*ns), "{text}"),
            (Err(reason), Err(word)) => assert!(reason.contains(word), "{text}: {reason}"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }
    assert_eq!(duration::MAX, Duration::from_secs(3_650 * 86_400));
}

/// (parser, text, Ok(the value's Debug form) or Err(a word the reason holds)).
type ValueParser = fn(&str) -> Result<String, String>;
fn dbg<T: std::fmt::Debug>(r: Result<T, String>) -> Result<String, String> {
    r.map(|v| format!("{v:?}"))
}
const U64: ValueParser = |s| dbg(config::parse_u64(s));
const U32: ValueParser = |s| dbg(config::parse_u32(s));
const U16: ValueParser = |s| dbg(config::parse_u16(s));
const U8: ValueParser = |s| dbg(config::parse_u8(s));
const HEX: ValueParser = |s| dbg(config::parse_hex(s));
const IP: ValueParser = |s| dbg(config::parse_ip(s));
const PREFIX: ValueParser = |s| dbg(config::parse_prefix(s));
const SOCKET: ValueParser = |s| dbg(config::parse_socket_addr(s));
const MAC: ValueParser = |s| dbg(s.parse::<MacAddr>());

const VALUES: &[(&str, ValueParser, &str, Result<&str, &str>)] = &[
    ("socket", SOCKET, "127.0.0.1:9464", Ok("127.0.0.1:9464")),
    ("socket", SOCKET, "[::1]:9464", Ok("[::1]:9464")),
    ("socket", SOCKET, "127.0.0.1", Err("is not ADDRESS:PORT")),
    ("socket", SOCKET, "::1:9464", Err("[ADDRESS]:PORT")),
    (
        "socket",
        SOCKET,
        "127.0.0.1:65536",
        Err("is not ADDRESS:PORT"),
    ),
    ("u64", U64, "0", Ok("0")),
    (
        "u64",
        U64,
        "18446744073709551615",
        Ok("18446744073709551615"),
    ),
    ("u64", U64, "0xffffffffffffffff", Ok("18446744073709551615")),
    (
        "u64",
        U64,
        "18446744073709551616",
        Err("is over 18446744073709551615"),
    ),
    ("u64", U64, "0x10000000000000000", Err("is over")),
    ("u64", U64, "", Err("not a number")),
    ("u64", U64, "0x", Err("not a number")),
    ("u64", U64, "-1", Err("not a number")),
    ("u64", U64, "+1", Err("not a number")),
    ("u64", U64, "1k", Err("not a number")),
    ("u32", U32, "0x1005", Ok("4101")),
    ("u32", U32, "0XAbC", Ok("2748")),
    ("u32", U32, "4294967295", Ok("4294967295")),
    (
        "u32",
        U32,
        "4294967296",
        Err("`4294967296` is over 4294967295"),
    ),
    ("u16", U16, "65535", Ok("65535")),
    ("u16", U16, "65536", Err("`65536` is over 65535")),
    ("u16", U16, "0x10000", Err("`0x10000` is over 65535")),
    ("u8", U8, "255", Ok("255")),
    ("u8", U8, "256", Err("is over 255")),
    ("hex", HEX, "0102ff", Ok("[1, 2, 255]")),
    ("hex", HEX, "0x0102FF", Ok("[1, 2, 255]")),
    ("hex", HEX, "01:02:ff", Ok("[1, 2, 255]")),
    ("hex", HEX, "0x0102:ff", Ok("[1, 2, 255]")),
    ("hex", HEX, "", Err("not hex")),
    ("hex", HEX, "0x", Err("not hex")),
    ("hex", HEX, "012", Err("not hex")),
    ("hex", HEX, "1:2", Err("not hex")),
    ("hex", HEX, "01::02", Err("not hex")),
    ("hex", HEX, "0g", Err("not hex")),
    ("hex", HEX, "éé", Err("not hex")),
    ("ip", IP, "192.0.2.1", Ok("192.0.2.1")),
    ("ip", IP, "2001:db8::1", Ok("2001:db8::1")),
    ("ip", IP, "192.0.2", Err("not an IP address")),
    ("prefix", PREFIX, "10.0.0.0/8", Ok("(10.0.0.0, 8)")),
    ("prefix", PREFIX, "10.1.2.3", Ok("(10.1.2.3, 32)")),
    ("prefix", PREFIX, "2001:db8::/32", Ok("(2001:db8::, 32)")),
    ("prefix", PREFIX, "::/0", Ok("(::, 0)")),
    ("prefix", PREFIX, "2001:db8::1", Ok("(2001:db8::1, 128)")),
    (
        "prefix",
        PREFIX,
        "10.0.0.0/33",
        Err("prefix length is 0 to 32"),
    ),
    ("prefix", PREFIX, "::/129", Err("prefix length is 0 to 128")),
    ("prefix", PREFIX, "10.0.0.0/", Err("prefix length")),
    ("prefix", PREFIX, "10.0.0.0/+8", Err("prefix length")),
    ("prefix", PREFIX, "10.0.0.0/0x8", Err("prefix length")),
    ("prefix", PREFIX, "10.0.0/8", Err("not an IP address")),
    ("mac", MAC, "aa:BB:cc:00:01:2", Ok("aa:bb:cc:00:01:02")),
    ("mac", MAC, "aa-bb-cc-00-01-02", Ok("aa:bb:cc:00:01:02")),
    ("mac", MAC, "aa:bb:cc:00:01", Err("not a MAC address")),
    ("mac", MAC, "aabbcc000102", Err("not a MAC address")),
];

#[test]
fn value_table() {
    for (kind, parse, text, want) in VALUES {
        match (parse(text), want) {
            (Ok(v), Ok(w)) => assert_eq!(v, *w, "{kind} {text}"),
            (Err(reason), Err(word)) => assert!(reason.contains(word), "{kind} {text}: {reason}"),
            (got, want) => panic!("{kind} {text}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn words_cursor_names_what_is_missing_or_bad() {
    let line: Vec<&str> = "port 4500 spi 0x10 rekey 1h extra".split(' ').collect();
    let mut w = Words::new(&line);
    assert_eq!(w.peek(), Some("port"));
    assert_eq!(w.next("keyword"), Ok("port"));
    assert_eq!(w.next_u16("port"), Ok(4500));
    assert_eq!(w.next("keyword"), Ok("spi"));
    assert_eq!(w.next_u32("spi"), Ok(16));
    assert_eq!(w.rest(), &["rekey", "1h", "extra"]);
    assert_eq!(w.next("keyword"), Ok("rekey"));
    assert_eq!(w.next_duration("rekey"), Ok(Duration::from_secs(3600)));
    assert_eq!(w.end(), Err("unexpected `extra`".to_string()));
    assert_eq!(w.next_opt(), Some("extra"));
    assert!(w.is_empty());
    assert_eq!(w.end(), Ok(()));
    assert_eq!(w.next("a window"), Err("missing a window".to_string()));
    assert_eq!(w.next_opt(), None);

    let bad: Vec<&str> = vec!["70000", "1h10", "10.0.0.0/40", "zz", "x"];
    let mut w = Words::new(&bad);
    assert_eq!(
        w.next_u16("port"),
        Err("port: `70000` is over 65535".into())
    );
    assert!(w
        .next_duration("rekey")
        .unwrap_err()
        .starts_with("rekey: `1h10`"));
    assert!(w
        .next_prefix("ts")
        .unwrap_err()
        .starts_with("ts: `10.0.0.0/40`"));
    assert!(w.next_hex("key").unwrap_err().starts_with("key: `zz`"));
    let ip: Result<IpAddr, _> = w.next_ip("peer");
    assert_eq!(ip, Err("peer: `x` is not an IP address".into()));
}

#[test]
fn errors_say_file_line_reason() {
    let e = ConfigError::at("gw.conf", 7, "missing a port");
    assert_eq!(e.to_string(), "gw.conf:7: missing a port");
    assert_eq!(
        e,
        ConfigError {
            file: "gw.conf".into(),
            line: 7,
            reason: "missing a port".into()
        }
    );
}

#[test]
fn reading_is_bounded() {
    let dir = std::env::temp_dir().join(format!("toolkit-read-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let small = dir.join("small.conf");
    std::fs::write(&small, "a b\n").unwrap();
    assert_eq!(config::read_bounded(&small, 4).unwrap(), "a b\n");
    let e = config::read_bounded(&small, 3).unwrap_err();
    assert_eq!((e.line, e.reason.as_str()), (0, "is over 3 bytes"));
    let binary = dir.join("key.bin");
    std::fs::write(&binary, [0xff, 0xfe]).unwrap();
    assert!(config::read_bounded(&binary, 16)
        .unwrap_err()
        .reason
        .contains("UTF-8"));
    assert_eq!(
        config::read_bounded_bytes(&binary, 16).unwrap(),
        [0xff, 0xfe]
    );
    let missing = config::read_bounded(&dir.join("none"), 16).unwrap_err();
    assert!(missing
        .to_string()
        .starts_with(&format!("{}:0: ", dir.join("none").display())));
    std::fs::remove_dir_all(&dir).unwrap();
    // An endless file is refused after the bound, not read until memory runs out.
    let zero = config::read_bounded(std::path::Path::new("/dev/zero"), config::MAX_FILE_BYTES);
    assert_eq!(
        zero.unwrap_err().to_string(),
        "/dev/zero:0: is over 16777216 bytes"
    );
}

#[test]
fn mac_serde_is_its_text() {
    let m = MacAddr([0x02, 0, 0x5e, 0, 1, 0x0a]);
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(json, "\"02:00:5e:00:01:0a\"");
    assert_eq!(serde_json::from_str::<MacAddr>(&json).unwrap(), m);
    assert!(serde_json::from_str::<MacAddr>("\"02:00\"").is_err());
    assert!(serde_json::from_str::<MacAddr>("[2,0,94,0,1,10]").is_err());
}
