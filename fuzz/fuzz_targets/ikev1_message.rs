//! The IKEv1 (ISAKMP) codec (`ike::v1::wire`) on arbitrary datagrams.
//!
//! The whole input is one datagram for `parse_header` and, when the header holds, its payload
//! chain; the same input, first octet as the first payload type and the rest as the chain,
//! goes through `parse_payloads` and `unpadded` (what a decrypted body becomes). Every SA
//! transform goes through the typed phase 1 and phase 2 decoding.
//!
//! Checked: no panic; every error has a counter name; a chain that parses re-encodes to as
//! many octets and re-parses to itself; a typed transform re-encodes and decodes to itself.
#![no_main]

use ike::v1::wire::{
    after_first_payload, encode_message, encode_payloads, parse_header, parse_payloads,
    raw_payloads, unpadded, Payload, Phase1Transform, Phase2Transform, WireError, HEADER_LEN,
};
use libfuzzer_sys::fuzz_target;

fn check_error(e: &WireError) {
    assert!(!e.counter_name().is_empty());
    let _ = e.notify_type();
    let _ = e.to_string();
}

fn check_transforms(payloads: &[Payload]) {
    for p in payloads {
        let Payload::Sa(sa) = p else { continue };
        for t in sa.proposals.iter().flat_map(|p| &p.transforms) {
            match Phase1Transform::from_transform(t) {
                Ok(p1) => assert_eq!(
                    Phase1Transform::from_transform(&p1.to_transform(t.number)),
                    Ok(p1)
                ),
                Err(e) => check_error(&e),
            }
            match Phase2Transform::from_transform(t) {
                Ok(p2) => assert_eq!(
                    Phase2Transform::from_transform(&p2.to_transform(t.number)),
                    Ok(p2)
                ),
                Err(e) => check_error(&e),
            }
        }
    }
}

fn check_chain(first: u8, chain: &[u8]) {
    match parse_payloads(first, chain) {
        Ok(payloads) => {
            let (t, out) = encode_payloads(&payloads).expect("a parsed chain re-encodes");
            assert_eq!(out.len(), chain.len());
            if !payloads.is_empty() {
                assert_eq!(t, first);
            }
            assert_eq!(parse_payloads(t, &out), Ok(payloads.clone()));
            assert_eq!(
                raw_payloads(first, chain).map(|r| r.len()),
                Ok(payloads.len())
            );
            if !payloads.is_empty() {
                let rest = after_first_payload(first, chain).expect("the first payload is whole");
                assert!(rest.len() < chain.len());
            }
            check_transforms(&payloads);
        }
        Err(e) => check_error(&e),
    }
}

fuzz_target!(|data: &[u8]| {
    match parse_header(data) {
        Ok(h) => {
            assert_eq!(h.length as usize, data.len());
            let body = &data[HEADER_LEN..];
            assert_eq!(encode_message(&h, body), data);
            if !h.is_encrypted() {
                check_chain(h.next_payload, body);
            }
        }
        Err(e) => check_error(&e),
    }

    if let Some((&first, chain)) = data.split_first() {
        check_chain(first, chain);
        match unpadded(first, chain) {
            Ok(cut) => {
                assert!(cut.len() <= chain.len());
                check_chain(first, cut);
            }
            Err(e) => check_error(&e),
        }
    }
});
