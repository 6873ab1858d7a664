//! `IpHeader::parse`, `ports()` and `inbound::classify` on arbitrary bytes: never a panic, and
//! the offsets they return stay inside the packet (the inbound path slices with them).
#![no_main]

use esp::inbound::{classify, Classified};
use esp::spd::FlowKey;
use esp::wire::ip::{decrement_ttl, set_tos, IpHeader, IpVersion};
use esp::wire::{ESP_HEADER_LEN, IPV4_HEADER_LEN, IPV6_HEADER_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(h) = IpHeader::parse(data) else { return };
    let min = match h.version {
        IpVersion::V4 => IPV4_HEADER_LEN,
        IpVersion::V6 => IPV6_HEADER_LEN,
    };
    assert!(min <= h.header_len, "{h:?}");
    assert!(h.header_len <= h.total_len, "{h:?}");
    assert!(h.total_len <= data.len(), "{h:?}");
    assert!(h.protocol_at < h.header_len, "{h:?}");
    assert_eq!(data[h.protocol_at], h.protocol, "{h:?}");
    assert!(!h.later_fragment || h.fragment, "{h:?}");
    // Parsing is idempotent on the packet without its trailing bytes (Ethernet padding).
    assert_eq!(IpHeader::parse(&data[..h.total_len]), Ok(h));

    let _ = h.ports(data);
    let _ = h.ports(&data[..h.total_len]);
    let key = FlowKey::of(&h, data);
    assert_eq!(
        (key.src, key.dst, key.proto),
        (h.src(data), h.dst(data), h.protocol)
    );
    // The addresses sit inside the header.
    assert_eq!(key.src.is_ipv4(), h.version == IpVersion::V4);
    assert_eq!(key.dst.is_ipv4(), h.version == IpVersion::V4);

    match classify(data, &h) {
        Classified::Esp { esp_at, udp } => {
            assert!(esp_at >= h.header_len);
            assert!(esp_at <= h.total_len);
            if udp {
                assert!(esp_at + ESP_HEADER_LEN <= h.total_len, "{h:?} {esp_at}");
            }
        }
        Classified::Fragment => assert!(h.fragment),
        Classified::NotEsp => {}
    }

    // The in-place writers the data path applies to parsed headers.
    let mut p = data[..h.total_len].to_vec();
    set_tos(&mut p, h.version, data[0] ^ data[h.total_len - 1]);
    let _ = decrement_ttl(&mut p, h.version);
    let again = IpHeader::parse(&p).expect("TOS and TTL changes keep a header parseable");
    assert_eq!(
        (again.total_len, again.header_len, again.protocol),
        (h.total_len, h.header_len, h.protocol)
    );
});
