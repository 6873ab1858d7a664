//! Tests of `payload.rs`.

use super::*;

#[test]
fn understood_types() {
    for t in 0..=255u8 {
        let known = PayloadType(t).is_understood();
        assert_eq!(known, (33..=48).contains(&t) || t == 53, "{t}");
    }
    assert_eq!(PayloadType::IDI.name(), Some("IDI"));
    assert_eq!(format!("{:?}", PayloadType(200)), "PayloadType(200)");
}

#[test]
fn chain_of_simple_payloads() {
    let payloads = vec![
        Payload::Nonce(vec![7; 16]),
        Payload::VendorId(b"ipsec-gw".to_vec()),
        Payload::Eap(vec![1, 2, 0, 4]),
        Payload::Ke {
            group: DhGroup::ECP_256,
            data: vec![9; 64],
        },
        Payload::Unknown {
            ptype: PayloadType(200),
            critical: false,
            body: vec![1, 2, 3],
        },
    ];
    let (first, bytes) = emit_payload_chain(&payloads).unwrap();
    assert_eq!(first, PayloadType::NONCE);
    // Nonce header: next VENDOR_ID, not critical, length 20.
    assert_eq!(&bytes[..4], &[43, 0, 0, 20]);
    assert_eq!(parse_payload_chain(first, &bytes), Ok(payloads));
}

#[test]
fn empty_chain() {
    assert_eq!(
        emit_payload_chain(&[]),
        Ok((PayloadType::NO_NEXT_PAYLOAD, Vec::new()))
    );
    assert_eq!(
        parse_payload_chain(PayloadType::NO_NEXT_PAYLOAD, &[]),
        Ok(Vec::new())
    );
    assert_eq!(
        parse_payload_chain(PayloadType::NO_NEXT_PAYLOAD, &[0]),
        Err(ParseError::BadLength {
            what: "payload chain"
        })
    );
}

#[test]
fn critical_bit() {
    // Unknown and critical: refused, with the type for UNSUPPORTED_CRITICAL_PAYLOAD.
    let bytes = [0, 0x80, 0, 5, 0xaa];
    assert_eq!(
        parse_payload_chain(PayloadType(99), &bytes),
        Err(ParseError::UnsupportedCriticalPayload(99))
    );
    // Reserved bits beside it are ignored.
    let bytes = [0, 0x7f, 0, 5, 0xaa];
    assert_eq!(
        parse_payload_chain(PayloadType(99), &bytes),
        Ok(vec![Payload::Unknown {
            ptype: PayloadType(99),
            critical: false,
            body: vec![0xaa]
        }])
    );
    // A known type with the critical bit: the bit is ignored (3.2).
    let mut bytes = vec![0, 0x80, 0, 20];
    bytes.extend_from_slice(&[5; 16]);
    assert_eq!(
        parse_payload_chain(PayloadType::NONCE, &bytes),
        Ok(vec![Payload::Nonce(vec![5; 16])])
    );
    // Not understood types that IANA knows are still unknown here.
    let bytes = [0, 0x80, 0, 4];
    assert_eq!(
        parse_payload_chain(PayloadType::PS, &bytes),
        Err(ParseError::UnsupportedCriticalPayload(54))
    );
    // An unknown payload built with the critical bit keeps it.
    let p = Payload::Unknown {
        ptype: PayloadType(99),
        critical: true,
        body: vec![],
    };
    assert_eq!(emit_payload_chain(&[p]).unwrap().1, vec![0, 0x80, 0, 4]);
}

#[test]
fn generic_header_errors() {
    assert_eq!(
        parse_payload_chain(PayloadType::VENDOR_ID, &[0, 0, 0]),
        Err(ParseError::Truncated {
            what: "payload chain"
        })
    );
    assert_eq!(
        parse_payload_chain(PayloadType::VENDOR_ID, &[0, 0, 0, 3]),
        Err(ParseError::BadLength { what: "payload" })
    );
    assert_eq!(
        parse_payload_chain(PayloadType::VENDOR_ID, &[0, 0, 0, 6, 1]),
        Err(ParseError::Truncated {
            what: "payload chain"
        })
    );
    // The chain announces a next payload that is not there.
    assert_eq!(
        parse_payload_chain(PayloadType::VENDOR_ID, &[43, 0, 0, 4]),
        Err(ParseError::Truncated {
            what: "payload chain"
        })
    );
    // Octets after the last payload.
    assert_eq!(
        parse_payload_chain(PayloadType::VENDOR_ID, &[0, 0, 0, 4, 0]),
        Err(ParseError::BadLength {
            what: "payload chain"
        })
    );
}

#[test]
fn nonce_bounds() {
    for (len, ok) in [
        (15, false),
        (16, true),
        (256, true),
        (257, false),
        (0, false),
    ] {
        let mut bytes = vec![0, 0];
        bytes.extend_from_slice(&((len + 4) as u16).to_be_bytes());
        bytes.extend(std::iter::repeat_n(1u8, len));
        let r = parse_payload_chain(PayloadType::NONCE, &bytes);
        assert_eq!(r.is_ok(), ok, "{len}");
        if !ok {
            assert_eq!(r, Err(ParseError::BadNonceLength(len)));
        }
    }
}

#[test]
fn ke_payload() {
    let p = Payload::Ke {
        group: DhGroup::MODP_2048,
        data: vec![],
    };
    let (first, bytes) = emit_payload_chain(std::slice::from_ref(&p)).unwrap();
    assert_eq!(bytes, [0, 0, 0, 8, 0, 14, 0, 0]);
    assert_eq!(parse_payload_chain(first, &bytes), Ok(vec![p]));
    assert_eq!(
        parse_payload_chain(PayloadType::KE, &[0, 0, 0, 7, 0, 14, 0]),
        Err(ParseError::Truncated { what: "KE payload" })
    );
}

#[test]
fn sk_rules() {
    let sk = Payload::Sk {
        iv_ciphertext_icv: vec![1; 8],
        inner_first_payload: PayloadType::IDI,
    };
    // Not allowed in a chain to encrypt, nor anywhere but last.
    assert_eq!(
        emit_payload_chain(std::slice::from_ref(&sk)),
        Err(EmitError::NestedSk)
    );
    let mut out = Vec::new();
    let two = [sk.clone(), Payload::VendorId(vec![])];
    assert_eq!(
        emit_chain(&mut out, &two, Chain::Outer),
        Err(EmitError::SkNotLast)
    );
    // Outer chain: SK last, its Next Payload is the inner first type.
    let mut out = Vec::new();
    let both = [Payload::VendorId(vec![2]), sk.clone()];
    assert_eq!(
        emit_chain(&mut out, &both, Chain::Outer),
        Ok(PayloadType::VENDOR_ID)
    );
    assert_eq!(&out[..5], &[46, 0, 0, 5, 2]);
    assert_eq!(&out[5..9], &[35, 0, 0, 12]);
    let (p, range) = parse_chain(PayloadType::VENDOR_ID, &out, Chain::Outer).unwrap();
    assert_eq!(p, both);
    assert_eq!(range, Some(9..17));
    // Inner chains refuse SK.
    assert_eq!(
        parse_payload_chain(PayloadType::VENDOR_ID, &out),
        Err(ParseError::NestedSk)
    );
    // Anything after SK is refused, even what the chain does not announce.
    let mut after = out.clone();
    after.extend_from_slice(&[0, 0, 0, 4]);
    assert_eq!(
        parse_chain(PayloadType::VENDOR_ID, &after, Chain::Outer),
        Err(ParseError::PayloadAfterSk)
    );
}
