//! Codec tests: hand-built messages, every error, a build -> parse property over random
//! payload lists, and random or mutated input that must never panic.

use super::*;
use crate::rng::{RngSource, TestRng};

fn sa_phase1() -> SaPayload {
    let t1 = Phase1Transform {
        encryption: encryption::AES_CBC,
        key_bits: Some(256),
        hash: hash::SHA2_256,
        auth_method: auth_method::PRE_SHARED_KEY,
        group: 14,
        life_seconds: Some(86_400),
        life_kbytes: None,
    };
    let t2 = Phase1Transform {
        encryption: encryption::TRIPLE_DES_CBC,
        key_bits: None,
        hash: hash::SHA1,
        life_seconds: Some(3600),
        ..t1.clone()
    };
    SaPayload {
        doi: doi::IPSEC,
        situation: doi::SIT_IDENTITY_ONLY,
        proposals: vec![Proposal {
            number: 1,
            protocol: protocol::ISAKMP,
            spi: vec![],
            transforms: vec![t1.to_transform(1), t2.to_transform(2)],
        }],
    }
}

fn main_mode_1() -> Vec<u8> {
    let (first, body) = encode_payloads(&[
        Payload::Sa(sa_phase1()),
        Payload::VendorId(vec![0xaf, 0xca, 0xd7, 0x13]),
    ])
    .unwrap();
    let h = Header {
        icookie: [0x11; 8],
        rcookie: [0; 8],
        next_payload: first,
        version: ISAKMP_VERSION,
        exchange: exchange::IDENTITY_PROTECTION,
        flags: 0,
        message_id: 0,
        length: 0,
    };
    encode_message(&h, &body)
}

/// The octets of the first message, laid out by hand from RFC 2408 3.1-3.6.
#[test]
fn main_mode_first_message_bytes() {
    let m = main_mode_1();
    let h = parse_header(&m).unwrap();
    assert_eq!(h.next_payload, payload_type::SA);
    assert_eq!(h.length as usize, m.len());
    let body = &m[HEADER_LEN..];
    // SA generic header: next = VID, length covers everything up to the VID payload.
    assert_eq!(body[0], payload_type::VID);
    let sa_len = usize::from(u16::from_be_bytes([body[2], body[3]]));
    assert_eq!(sa_len + 8, body.len());
    // DOI 1, situation 1, then the proposal: last, its length, #1, ISAKMP, no SPI, 2 transforms.
    assert_eq!(&body[4..12], &[0, 0, 0, 1, 0, 0, 0, 1]);
    assert_eq!(body[12], 0);
    assert_eq!(&body[16..20], &[1, 1, 0, 2]);
    // First transform: more follow (3), number 1, KEY_IKE, then AES (0x8001 0007),
    // key length 256 (0x800e 0100), SHA2-256 (0x8002 0004), PSK, group 14, seconds, 86400 as
    // a four-octet TLV.
    assert_eq!(body[20], payload_type::TRANSFORM);
    assert_eq!(&body[24..28], &[1, KEY_IKE, 0, 0]);
    assert_eq!(
        &body[28..60],
        &[
            0x80, 1, 0, 7, 0x80, 14, 1, 0, 0x80, 2, 0, 4, 0x80, 3, 0, 1, 0x80, 4, 0, 14, 0x80, 11,
            0, 1, 0, 12, 0, 4, 0, 1, 0x51, 0x80
        ]
    );
    let p = parse_payloads(h.next_payload, body).unwrap();
    assert_eq!(p[0], Payload::Sa(sa_phase1()));
    let raw = raw_payloads(h.next_payload, body).unwrap();
    assert_eq!(raw[0], (payload_type::SA, &body[4..sa_len]));
    assert_eq!(raw[1], (payload_type::VID, &[0xaf, 0xca, 0xd7, 0x13][..]));
    assert_eq!(
        after_first_payload(h.next_payload, body).unwrap(),
        &body[sa_len..]
    );
}

#[test]
fn typed_transforms_round_trip() {
    let sa = sa_phase1();
    for t in &sa.proposals[0].transforms {
        let p = Phase1Transform::from_transform(t).unwrap();
        assert_eq!(&p.to_transform(t.number), t);
    }
    let p2 = Phase2Transform {
        transform_id: esp_transform::AES_GCM_16,
        key_bits: Some(128),
        auth: None,
        encapsulation: encapsulation::UDP_TUNNEL_DRAFT,
        group: Some(19),
        life_seconds: Some(3600),
        life_kbytes: Some(4_608_000),
    };
    let t = p2.to_transform(1);
    assert_eq!(Phase2Transform::from_transform(&t).unwrap(), p2);
    assert!(p2.is_tunnel() && p2.is_udp_encapsulated());
    let transport = Phase2Transform {
        encapsulation: encapsulation::TRANSPORT,
        ..p2
    };
    assert!(!transport.is_tunnel() && !transport.is_udp_encapsulated());
}

#[test]
fn typed_transform_refusals() {
    let base = sa_phase1().proposals[0].transforms[0].clone();
    let with = |f: &dyn Fn(&mut Vec<Attribute>)| {
        let mut t = base.clone();
        f(&mut t.attributes);
        Phase1Transform::from_transform(&t)
    };
    // DES is refused.
    assert_eq!(
        with(&|a| a[0] = Attribute::basic(phase1_attr::ENCRYPTION, encryption::DES_CBC)),
        Err(WireError::Unsupported {
            what: "encryption",
            id: 1
        })
    );
    assert_eq!(
        with(&|a| a[1] = Attribute::basic(phase1_attr::KEY_LENGTH, 100)).map(|_| ()),
        Err(WireError::Unsupported {
            what: "key length",
            id: 100
        })
    );
    assert_eq!(
        with(&|a| a.push(Attribute::basic(99, 1))),
        Err(WireError::UnknownAttribute(99))
    );
    assert!(matches!(
        with(&|a| a.push(Attribute::basic(phase1_attr::HASH, 2))),
        Err(WireError::BadAttribute(_))
    ));
    assert!(matches!(
        with(&|a| a[0] = Attribute::variable(phase1_attr::ENCRYPTION, vec![0, 7])),
        Err(WireError::BadAttribute(_))
    ));
    // A duration with no type before it, and a missing group.
    assert!(matches!(
        with(&|a| {
            a.remove(5);
        }),
        Err(WireError::BadAttribute(_))
    ));
    assert!(matches!(
        with(&|a| {
            a.remove(4);
        }),
        Err(WireError::BadAttribute(_))
    ));
    // A duration of 8 octets beyond 32 bits saturates; a 2-octet TLV reads as a number.
    let long = with(&|a| a[6] = Attribute::variable(phase1_attr::LIFE_DURATION, vec![1; 8]));
    assert_eq!(long.unwrap().life_seconds, Some(u32::MAX));
    let short = with(&|a| a[6] = Attribute::variable(phase1_attr::LIFE_DURATION, vec![1, 0]));
    assert_eq!(short.unwrap().life_seconds, Some(256));
    let wrong_id = Transform { id: 2, ..base };
    assert!(Phase1Transform::from_transform(&wrong_id).is_err());
    let des = Transform {
        number: 1,
        id: esp_transform::DES,
        attributes: vec![],
    };
    assert!(Phase2Transform::from_transform(&des).is_err());
    let odd_mode = Transform {
        number: 1,
        id: esp_transform::AES_CBC,
        attributes: vec![Attribute::basic(phase2_attr::ENCAPSULATION_MODE, 5)],
    };
    assert!(Phase2Transform::from_transform(&odd_mode).is_err());
    let esn = Transform {
        attributes: vec![Attribute::basic(phase2_attr::EXTENDED_SEQUENCE_NUMBER, 1)],
        ..odd_mode
    };
    assert_eq!(
        Phase2Transform::from_transform(&esn),
        Err(WireError::UnknownAttribute(11))
    );
}

/// Sets a 16-bit big-endian field.
fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

#[test]
fn malformed_chains_and_sa() {
    let m = main_mode_1();
    let body = &m[HEADER_LEN..];
    let first = payload_type::SA;
    let err = |b: &[u8]| parse_payloads(first, b).unwrap_err();
    // Payload length below the generic header, and past the end.
    let mut b = body.to_vec();
    put16(&mut b, 2, 3);
    assert_eq!(err(&b), WireError::BadLength { what: "payload" });
    put16(&mut b, 2, 4000);
    assert_eq!(err(&b), WireError::Truncated { what: "payload" });
    // Truncated anywhere: an error, never a panic.
    for n in 0..body.len() {
        assert!(parse_payloads(first, &body[..n]).is_err(), "cut at {n}");
    }
    // Trailing octets: refused as a chain, stripped by `unpadded`.
    let mut padded = body.to_vec();
    padded.extend_from_slice(&[0; 7]);
    assert_eq!(
        err(&padded),
        WireError::BadLength {
            what: "payload chain"
        }
    );
    assert_eq!(unpadded(first, &padded).unwrap(), body);
    // A proposal as a message payload, a transform after a proposal, a VID after a transform.
    assert_eq!(
        parse_payloads(payload_type::PROPOSAL, body).unwrap_err(),
        WireError::BadChain {
            context: "message",
            kind: 2
        }
    );
    let mut b = body.to_vec();
    b[12] = payload_type::TRANSFORM;
    assert_eq!(
        err(&b),
        WireError::BadChain {
            context: "SA",
            kind: 3
        }
    );
    let mut b = body.to_vec();
    b[20] = payload_type::VID;
    assert_eq!(
        err(&b),
        WireError::BadChain {
            context: "proposal",
            kind: 13
        }
    );
    // Transform count inconsistent with the transforms present.
    let mut b = body.to_vec();
    b[19] = 3;
    assert_eq!(
        err(&b),
        WireError::TransformCount {
            declared: 3,
            found: 2
        }
    );
    // An attribute length running past its transform.
    let mut b = body.to_vec();
    put16(&mut b, 54, 0x0100);
    assert_eq!(err(&b), WireError::AttributeOverrun(12));
    // A labeled situation.
    let mut b = body.to_vec();
    b[11] = 3;
    assert_eq!(err(&b), WireError::UnsupportedSituation(3));
}

#[test]
fn payload_specific_refusals() {
    let enc = |p: Payload| encode_payloads(&[p]).unwrap();
    let (t, b) = enc(Payload::Delete(Deletion {
        doi: 1,
        protocol: protocol::IPSEC_ESP,
        spi_size: 4,
        spis: vec![vec![1, 2, 3, 4], vec![5, 6, 7, 8]],
    }));
    let mut short = b.clone();
    short[10] = 3; // three SPIs announced, two present
    assert_eq!(
        parse_payloads(t, &short[..]),
        Err(WireError::BadLength {
            what: "delete payload"
        })
    );
    let mut zero = b.clone();
    zero[9] = 0;
    assert!(parse_payloads(t, &zero).is_err());
    assert_eq!(
        encode_payloads(&[Payload::Nonce(vec![0; 7])]),
        Err(WireError::BadLength { what: "nonce" })
    );
    let mut n = enc(Payload::Nonce(vec![0; 8])).1;
    n.pop();
    put16(&mut n, 2, 11);
    assert_eq!(
        parse_payloads(payload_type::NONCE, &n),
        Err(WireError::BadLength { what: "nonce" })
    );
    assert!(encode_payloads(&[Payload::Unknown {
        kind: payload_type::KE,
        body: vec![]
    }])
    .is_err());
    assert!(parse_payloads(payload_type::ID, &[0, 0, 0, 6, 1, 0]).is_err());
    assert!(parse_payloads(payload_type::CERT, &[0, 0, 0, 4]).is_err());
    assert!(parse_payloads(payload_type::N, &[0, 0, 0, 12, 0, 0, 0, 1, 3, 4, 0, 1]).is_err());
}

fn bytes(rng: &mut TestRng, max: usize) -> Vec<u8> {
    let mut n = [0u8; 2];
    rng.fill(&mut n);
    let mut v = vec![0u8; usize::from(u16::from_be_bytes(n)) % (max + 1)];
    rng.fill(&mut v);
    v
}

fn byte(rng: &mut TestRng) -> u8 {
    let mut b = [0u8];
    rng.fill(&mut b);
    b[0]
}

fn identification(rng: &mut TestRng) -> Identification {
    Identification {
        id_type: byte(rng),
        protocol: byte(rng),
        port: u16::from_be_bytes([byte(rng), byte(rng)]),
        data: bytes(rng, 40),
    }
}

fn random_sa(rng: &mut TestRng) -> SaPayload {
    let proposals = (0..1 + byte(rng) % 3)
        .map(|i| Proposal {
            number: i + 1,
            protocol: byte(rng),
            spi: bytes(rng, 16),
            transforms: (0..1 + byte(rng) % 4)
                .map(|j| Transform {
                    number: j,
                    id: byte(rng),
                    attributes: (0..byte(rng) % 5)
                        .map(|_| {
                            let kind = u16::from(byte(rng)) << 4;
                            if byte(rng).is_multiple_of(2) {
                                Attribute::basic(kind, u16::from(byte(rng)))
                            } else {
                                Attribute::variable(kind, bytes(rng, 9))
                            }
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    SaPayload {
        doi: doi::IPSEC,
        situation: doi::SIT_IDENTITY_ONLY,
        proposals,
    }
}

fn random_payload(rng: &mut TestRng) -> Payload {
    match byte(rng) % 15 {
        0 => Payload::Sa(random_sa(rng)),
        1 => Payload::Ke(bytes(rng, 300)),
        2 => Payload::Id(identification(rng)),
        3 => Payload::Cert {
            encoding: byte(rng),
            data: bytes(rng, 50),
        },
        4 => Payload::CertReq {
            encoding: byte(rng),
            data: bytes(rng, 50),
        },
        5 => Payload::Hash(bytes(rng, 64)),
        6 => Payload::Sig(bytes(rng, 64)),
        7 => Payload::Nonce(vec![byte(rng); 8 + usize::from(byte(rng) % 249)]),
        8 => Payload::Notify(Notification {
            doi: 1,
            protocol: byte(rng),
            spi: bytes(rng, 16),
            kind: u16::from_be_bytes([byte(rng), byte(rng)]),
            data: bytes(rng, 20),
        }),
        9 => {
            let size = 1 + byte(rng) % 16;
            Payload::Delete(Deletion {
                doi: 1,
                protocol: byte(rng),
                spi_size: size,
                spis: (0..byte(rng) % 4)
                    .map(|_| vec![byte(rng); usize::from(size)])
                    .collect(),
            })
        }
        10 => Payload::VendorId(bytes(rng, 20)),
        11 => Payload::NatD(bytes(rng, 32)),
        12 => Payload::NatOa(identification(rng)),
        13 => Payload::Unknown {
            kind: 128 + byte(rng) % 128,
            body: bytes(rng, 20),
        },
        _ => Payload::Hash(vec![]),
    }
}

/// build -> parse -> equal, over random payload lists, inside whole messages.
#[test]
fn build_parse_round_trip_property() {
    let mut rng = TestRng::new(21);
    for i in 0..2000 {
        let payloads: Vec<Payload> = (0..byte(&mut rng) % 6)
            .map(|_| random_payload(&mut rng))
            .collect();
        let (first, body) = encode_payloads(&payloads).unwrap();
        let h = Header {
            icookie: [byte(&mut rng); 8],
            rcookie: [byte(&mut rng); 8],
            next_payload: first,
            version: ISAKMP_VERSION,
            exchange: exchange::QUICK_MODE,
            flags: flags::COMMIT,
            message_id: i,
            length: 0,
        };
        let m = encode_message(&h, &body);
        let parsed = parse_header(&m).unwrap();
        assert_eq!(parsed.message_id, i);
        let back = parse_payloads(parsed.next_payload, &m[HEADER_LEN..]).unwrap();
        assert_eq!(back, payloads, "case {i}");
        assert_eq!(raw_payloads(first, &body).unwrap().len(), payloads.len());
    }
}

/// Random octets and single-octet mutations of a real layout: errors, never panics, and
/// whatever parses re-encodes to something that parses to the same.
#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = TestRng::new(2408);
    let check = |first: u8, b: &[u8]| {
        if let Ok(p) = parse_payloads(first, b) {
            let (t, out) = encode_payloads(&p).unwrap();
            assert_eq!(parse_payloads(t, &out).unwrap(), p);
            for payload in &p {
                if let Payload::Sa(sa) = payload {
                    for t in sa.proposals.iter().flat_map(|p| &p.transforms) {
                        let _ = Phase1Transform::from_transform(t);
                        let _ = Phase2Transform::from_transform(t);
                    }
                }
            }
        }
        let _ = unpadded(first, b);
        let _ = after_first_payload(first, b);
    };
    for _ in 0..5000 {
        let b = bytes(&mut rng, 200);
        let _ = parse_header(&b).map_err(|e| e.counter_name());
        check(byte(&mut rng) % 24, &b);
    }
    let m = main_mode_1();
    for i in 0..m.len() {
        for v in [0u8, 1, 2, 3, 0x7f, 0x80, 0xff, m[i] ^ 1] {
            let mut b = m.clone();
            b[i] = v;
            if parse_header(&b).is_ok() {
                check(b[16], &b[HEADER_LEN..]);
            }
        }
    }
}
