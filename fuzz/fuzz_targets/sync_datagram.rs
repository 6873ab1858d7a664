//! The HA sync's parsers and node on arbitrary bytes: the input as a raw datagram (header,
//! AEAD, rejection counters), as a payload and as a record stream, then as a script of
//! payloads sealed with the real peer's key after a real handshake, so that the frames, the
//! reliable windows, the stream decoder and the bulk-sync messages all see fuzzed input.
//! Never a panic; the timers never fall behind the clock; every datagram sent parses.
#![no_main]

use std::time::Duration;

use hasync::crypto::DirectionKey;
use hasync::record::{Record, StreamDecoder, StreamMessage};
use ike::v1::record::IsakmpSaRecord;
use hasync::wire::{parse_frames, Header, HEADER_LEN};
use hasync::{NodeId, SyncConfig, SyncNode};
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"fuzz sync key, at least 16 bytes";

fn config(node: u8) -> SyncConfig {
    let mut c = SyncConfig::new(NodeId::new(node).unwrap(), KEY.to_vec(), vec![1, 2]);
    c.max_record = 4096;
    c.send_window = 16;
    c.queue_limit = 64;
    c
}

/// Drains a node: every datagram it sends must parse; returns the last header it sent.
fn drain(n: &mut SyncNode) -> Option<Header> {
    let mut last = None;
    while let Some((_, d)) = n.poll_transmit() {
        last = Some(Header::parse(&d).expect("our own datagrams parse").0);
    }
    while n.poll_event().is_some() {}
    last
}

fuzz_target!(|data: &[u8]| {
    // 1. The parsers alone.
    if let Ok((_, rest)) = Header::parse(data) {
        let _ = rest.len();
    }
    let _ = parse_frames(data);
    let mut out = Vec::new();
    let mut dec = StreamDecoder::default();
    for piece in data.chunks(7) {
        if dec.push(piece, 4096, &mut out).is_err() {
            break;
        }
    }
    for m in &out {
        let mut again = Vec::new();
        m.encode(&mut again);
        let mut d2 = StreamDecoder::default();
        let mut back = Vec::new();
        d2.push(&again, 1 << 20, &mut back).expect("a decoded message re-encodes");
        assert_eq!(&back, std::slice::from_ref(m));
        // An ISAKMP SA's state is the IKE engine's record: refused or decoded, never a panic.
        if let StreamMessage::Record(Record::IsakmpSa { state, .. }) = m {
            let _ = IsakmpSaRecord::decode(state);
        }
    }
    if let Some((&kind, body)) = data.split_first() {
        let _ = StreamMessage::decode(kind, body);
    }

    // 2. A real handshake between two nodes, then the input from "node 2".
    let mut now = Duration::from_secs(1);
    let mut a = SyncNode::new(config(1), [1; 16], now).unwrap();
    let mut b = SyncNode::new(config(2), [2; 16], now).unwrap();
    let (mut a_hdr, mut b_hdr) = (None, None);
    for _ in 0..8 {
        while let Some((p, d)) = a.poll_transmit() {
            a_hdr = Some(Header::parse(&d).unwrap().0);
            b.handle_datagram(p, &d, now);
        }
        while let Some((p, d)) = b.poll_transmit() {
            b_hdr = Some(Header::parse(&d).unwrap().0);
            a.handle_datagram(p, &d, now);
        }
        now += Duration::from_millis(1);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    assert!(a.is_peer_up() && b.is_peer_up(), "the handshake completes");
    let (a_hdr, b_hdr) = (a_hdr.unwrap(), b_hdr.unwrap());
    while a.poll_event().is_some() {}

    // The raw input, as is.
    a.handle_datagram(1, data, now);
    drain(&mut a);

    // Then pieces `len u8, flags u8, plaintext`, sealed as node 2 would seal them.
    let key = DirectionKey::derive(KEY, NodeId::new(2).unwrap(), &[2; 16]);
    let mut seq = b_hdr.seq + 1;
    let mut rest = data;
    while let [len, flags, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (plain, next) = tail.split_at(n);
        rest = next;
        // Flags: bit 0 path, bit 1 a step back in seq (replays, reordering), bits 4-7 time.
        if flags & 2 != 0 {
            seq = seq.saturating_sub(u64::from(flags >> 2 & 3) + 1);
        }
        let header = Header {
            sender: NodeId::new(2).unwrap(),
            session: [2; 16],
            challenge: b_hdr.challenge,
            echo: a_hdr.challenge,
            seq,
        };
        seq += 1;
        let mut d = Vec::with_capacity(HEADER_LEN + n + 16);
        header.emit(&mut d);
        let mut payload = plain.to_vec();
        key.seal(header.seq, &d, &mut payload);
        d.extend_from_slice(&payload);
        a.handle_datagram(1 + (flags & 1), &d, now);
        now += Duration::from_millis(u64::from(flags >> 4) * 40);
        if a.poll_timeout() <= now {
            a.handle_timeout(now);
        }
        assert!(a.poll_timeout() > now || a.poll_transmit().is_some(), "a timer left due");
        drain(&mut a);
        let _ = a.bulk_offer(hasync::Record::IvGenerations { highest: [1, 2] });
        let _ = a.bulk_end();
        let _ = a.status();
    }
});
