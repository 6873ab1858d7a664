//! The IKEv2 message codec (`ike::message`) on arbitrary datagrams.
//!
//! The whole input is one datagram for `Message::parse`; the same input, first octet as the
//! first payload type and the rest as the chain, goes to `parse_payload_chain` (what a
//! decrypted SK payload becomes).
//!
//! Checked: no panic; every error has a counter name and an answer that is one of the three
//! RFC 7296 wants; a message that parses re-emits to as many octets and re-parses to itself,
//! with its SK body at the same place; a chain that parses re-emits and re-parses to itself.
#![no_main]

use ike::message::{
    emit_payload_chain, parse_payload_chain, Message, NotifyType, ParseError, PayloadType,
};
use libfuzzer_sys::fuzz_target;

fn check_error(e: &ParseError) {
    assert!(!e.counter_name().is_empty());
    assert!(matches!(
        e.notify(),
        None | Some(
            NotifyType::INVALID_SYNTAX
                | NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD
                | NotifyType::INVALID_MAJOR_VERSION
        )
    ));
    let _ = e.to_string();
}

fuzz_target!(|data: &[u8]| {
    match Message::parse_with_sk_range(data) {
        Ok((m, range)) => {
            let out = m.emit().expect("a parsed message re-emits");
            assert_eq!(out.len(), data.len());
            assert_eq!(Message::parse(&out).as_ref(), Ok(&m));
            if let Some(r) = &range {
                assert!(r.start <= r.end && r.end == data.len());
            }
            assert_eq!(Message::sk_body_range(&out), range);
        }
        Err(e) => check_error(&e),
    }

    if let Some((&first, chain)) = data.split_first() {
        match parse_payload_chain(PayloadType(first), chain) {
            Ok(payloads) => {
                let (t, out) = emit_payload_chain(&payloads).expect("a parsed chain re-emits");
                assert_eq!(out.len(), chain.len());
                if !payloads.is_empty() {
                    assert_eq!(t, PayloadType(first));
                }
                assert_eq!(parse_payload_chain(t, &out), Ok(payloads));
            }
            Err(e) => check_error(&e),
        }
    }
});
