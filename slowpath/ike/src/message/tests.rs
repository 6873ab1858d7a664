//! Whole-message tests: real captures, byte for byte; every payload type through a message;
//! the SK layout as the crypto module will use it; and the error paths (truncation at every
//! offset, wrong lengths, critical unknowns, payload after SK, oversized).

use std::net::Ipv4Addr;

use super::*;

/// IKE_SA_INIT request from Wireshark's test capture `ikev2-decrypt-aes128ccm12.pcap`, as
/// quoted (Ethernet frame) in scapy's `test/contrib/ikev2.uts`; the UDP checksum of the frame
/// was verified when extracting it. AES-CCM-12/128, PRF-HMAC-SHA2-256, ECP-256; NAT detection
/// and SIGNATURE_HASH_ALGORITHMS notifies.
const SA_INIT_REQ: &str = "ea684d21597afd3600000000000000002120220800000000000000f82200002800000024010100030300000c0100000f800e008003000008020000050000000804000013280000480013000032c6dffe5c43b0d5811f7eaaa84c9f78bf99b9069c2b072e0b82f46bf6f66dd45f97ef89ee285fd5df527a44776b529fc9d8a909d842a6fb59b96a095395617229000024b655462d6f4b66f872ccd7f0f4b4857732921339cbaa5237edba244f262b68232900001c00004004949c9db5739d75a974a49c184618369b34b7f9422900001c000040053e721b46be07d53111425d7f80d2c6e220c6072e000000100000402f0001000200030004";
/// Its response (same capture).
const SA_INIT_RESP: &str = "ea684d21597afd36d9fe2ab22dac23ac2120222000000000000000f02200002800000024010100030300000c0100000f800e00800300000802000005000000080400001328000048001300002c66beadb6ce8535d6218cb401aa5a1eb4035b97caddaf36374a979c0446b8800506bf9d6f950952326bf3011913da93bb8e40f815376be1a06801c0a63e3b54290000249e5d267379e681e7d38d81c710d383401de7e3607b926d90a9958adcb52831aa2900001c000040047a0785273d59203829a697550f31cbb94eb72b432900001c00004005c3e58a8cc9933ce0b78f2a50e8de80134e12ce310000000800004014";
/// INFORMATIONAL request (same capture): SK carrying a Delete.
const INFO_REQ: &str = "ea684d21597afd36d9fe2ab22dac23ac2e202508000000020000003d2a000021cca0b35de5abc51c9987cbf1f5ecff210eb767cdb85179383b964d78e2";
/// Its response: an SK with an empty inner chain.
const INFO_RESP: &str = "ea684d21597afd36d9fe2ab22dac23ac2e202520000000020000003500000019a80c957bac15c3f8afdf315a81cc4b7c40e8660d44";
/// An IKE_SA_INIT request built by scapy's own test ("Build advanced IKEv2"): AES-CBC-128,
/// PRF-HMAC-SHA1, HMAC-SHA1-96, MODP-1024, a key length attribute.
const SCAPY_SA_INIT: &str = "4b5764784d686a410000000000000000212022080000000000000130220000300000002c010100040300000c0100000c800e00800300000802000002030000080300000200000008040000022800008800020000bb41bb41cfaf34e3b3209672aef1c51b9d52919f1781d0b4cd889d4aafe261688776000c3d9031505aefc0186967eaf5a7663725fb102c59c39b7a70d8d9161c3bd0eb445888b5028ea063ba0ae01f5b3f30808a6b6710dc9bab601e4116157d7f58cf835cb633c64abcb3a5c61c223e9332538bfc9f282cb62d1f00f4ee8802290000248dfcf8384c5c32f1b294c64eab69f98e9d8cf7e7f352971a91ff6777d47dffed2900001c00004004e64c81c4152ad83bd6e035009fbb900406be371f0000001c0000400528cd99b9fa1267654b53f60887c9c35bcf67a8ff";

const ALL: [&str; 5] = [
    SA_INIT_REQ,
    SA_INIT_RESP,
    INFO_REQ,
    INFO_RESP,
    SCAPY_SA_INIT,
];

fn raw(h: &str) -> Vec<u8> {
    hex::decode(h).unwrap()
}

/// Parse, emit, compare the octets.
fn exact(h: &str) -> Message {
    let bytes = raw(h);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(hex::encode(m.emit().unwrap()), h);
    m
}

/// Sets the header's Length to the buffer's.
fn fix_length(b: &mut [u8]) {
    let n = b.len() as u32;
    b[24..28].copy_from_slice(&n.to_be_bytes());
}

#[test]
fn real_sa_init_request() {
    let m = exact(SA_INIT_REQ);
    let h = m.header;
    assert_eq!(h.spi_i, 0xea68_4d21_597a_fd36);
    assert_eq!(h.spi_r, 0);
    assert_eq!((h.major, h.minor), (2, 0));
    assert_eq!(h.exchange, ExchangeType::IKE_SA_INIT);
    assert_eq!(
        h.flags,
        Flags {
            initiator: true,
            version: false,
            response: false
        }
    );
    assert_eq!(h.message_id, 0);
    assert_eq!(h.length, 248);
    assert_eq!(h.next_payload, PayloadType::SA);
    let p = m.payloads.as_slice();
    let types: Vec<_> = p.iter().map(Payload::payload_type).collect();
    assert_eq!(
        types,
        [
            PayloadType::SA,
            PayloadType::KE,
            PayloadType::NONCE,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY
        ]
    );
    let sa = p.sa().unwrap();
    assert_eq!(sa.len(), 1);
    assert_eq!(
        (sa[0].number, sa[0].protocol, sa[0].spi.len()),
        (1, ProtocolId::IKE, 0)
    );
    assert_eq!(
        sa[0].transforms,
        [
            Transform::encr(TransformId::ENCR_AES_CCM_12, Some(128)),
            Transform::prf(TransformId::PRF_HMAC_SHA2_256),
            Transform::dh(DhGroup::ECP_256),
        ]
    );
    let (group, ke) = p.ke().unwrap();
    assert_eq!((group, ke.len()), (DhGroup::ECP_256, 64));
    assert_eq!(
        hex::encode(p.nonce().unwrap()),
        "b655462d6f4b66f872ccd7f0f4b4857732921339cbaa5237edba244f262b6823"
    );
    let nat_src = p.find_notify(NotifyType::NAT_DETECTION_SOURCE_IP).unwrap();
    assert_eq!(
        hex::encode(nat_src.data),
        "949c9db5739d75a974a49c184618369b34b7f942"
    );
    assert_eq!((nat_src.protocol, nat_src.spi), (ProtocolId(0), &[][..]));
    assert_eq!(
        p.find_notify(NotifyType::NAT_DETECTION_DESTINATION_IP)
            .unwrap()
            .data
            .len(),
        20
    );
    let hashes = p
        .find_notify(NotifyType::SIGNATURE_HASH_ALGORITHMS)
        .unwrap()
        .data;
    assert_eq!(
        parse_signature_hash_algorithms(hashes),
        Ok(vec![
            HashAlgorithm::SHA1,
            HashAlgorithm::SHA2_256,
            HashAlgorithm::SHA2_384,
            HashAlgorithm::SHA2_512
        ])
    );
    assert!(!m.is_encrypted());
    assert_eq!(Message::sk_body_range(&raw(SA_INIT_REQ)), None);
}

#[test]
fn real_sa_init_response() {
    let m = exact(SA_INIT_RESP);
    assert_eq!(m.header.spi_r, 0xd9fe_2ab2_2dac_23ac);
    assert_eq!(
        m.header.flags,
        Flags {
            initiator: false,
            version: false,
            response: true
        }
    );
    assert!(m.header.is_response());
    let p = m.payloads.as_slice();
    assert_eq!(p.sa().unwrap()[0].transforms.len(), 3);
    assert!(p.has_notify(NotifyType::MULTIPLE_AUTH_SUPPORTED));
    assert_eq!(p.error_notify(), None);
}

#[test]
fn real_encrypted_informational() {
    let m = exact(INFO_REQ);
    assert_eq!(m.header.exchange, ExchangeType::INFORMATIONAL);
    assert_eq!(m.header.message_id, 2);
    assert_eq!(m.header.next_payload, PayloadType::SK);
    let (body, inner) = m.sk().unwrap();
    assert_eq!(inner, PayloadType::DELETE);
    assert_eq!(body.len(), 0x21 - 4);
    let bytes = raw(INFO_REQ);
    let range = Message::sk_body_range(&bytes).unwrap();
    assert_eq!(range, 32..61);
    assert_eq!(&bytes[range], body);

    let m = exact(INFO_RESP);
    let (body, inner) = m.sk().unwrap();
    assert_eq!((inner, body.len()), (PayloadType::NO_NEXT_PAYLOAD, 21));
    assert_eq!(
        Message::parse_with_sk_range(&raw(INFO_RESP)).unwrap().1,
        Some(32..53)
    );
}

#[test]
fn scapy_sa_init() {
    let m = exact(SCAPY_SA_INIT);
    let sa = m.payloads.sa().unwrap();
    assert_eq!(
        sa[0].transforms,
        [
            Transform::encr(TransformId::ENCR_AES_CBC, Some(128)),
            Transform::prf(TransformId::PRF_HMAC_SHA1),
            Transform::integ(TransformId::AUTH_HMAC_SHA1_96),
            Transform::dh(DhGroup::MODP_1024),
        ]
    );
    assert_eq!(m.payloads.ke().unwrap().1.len(), 128);
}

#[test]
fn truncated_at_every_offset() {
    for h in ALL {
        let bytes = raw(h);
        for n in 0..bytes.len() {
            // As received: shorter than the header says.
            let e = Message::parse(&bytes[..n]).unwrap_err();
            assert!(
                matches!(
                    e,
                    ParseError::TooShort(_) | ParseError::LengthMismatch { .. }
                ),
                "{n}: {e:?}"
            );
            // With a Length that agrees: the payload chain itself is cut.
            if n >= HEADER_LEN {
                let mut cut = bytes[..n].to_vec();
                fix_length(&mut cut);
                let e = Message::parse(&cut).unwrap_err();
                assert!(
                    matches!(
                        e,
                        ParseError::Truncated { .. }
                            | ParseError::BadLength { .. }
                            | ParseError::BadNonceLength(_)
                    ),
                    "{n}: {e:?}"
                );
                assert_eq!(e.notify(), Some(NotifyType::INVALID_SYNTAX));
            }
        }
        // One octet more: refused as received, and as a payload chain with trailing octets.
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Message::parse(&longer),
            Err(ParseError::LengthMismatch {
                header: bytes.len() as u32,
                datagram: bytes.len() + 1
            })
        );
        fix_length(&mut longer);
        let e = Message::parse(&longer).unwrap_err();
        assert!(
            matches!(e, ParseError::BadLength { .. } | ParseError::PayloadAfterSk),
            "{e:?}"
        );
    }
}

#[test]
fn inner_chain_truncated_at_every_offset() {
    let (first, chain) = emit_payload_chain(&every_inner_payload()).unwrap();
    for n in 0..chain.len() {
        assert!(parse_payload_chain(first, &chain[..n]).is_err(), "{n}");
    }
}

#[test]
fn wrong_lengths() {
    let bytes = raw(SA_INIT_REQ);
    assert_eq!(&bytes[30..32], &[0, 0x28]);
    // The SA payload's length (offset 28 + 2) one short: its proposal runs past it; one long:
    // an octet after the last proposal; below the generic header's size.
    for (len, want) in [
        (0x27u16, ParseError::Truncated { what: "SA payload" }),
        (
            0x29,
            ParseError::InvalidSyntax("proposal after the last one"),
        ),
        (3, ParseError::BadLength { what: "payload" }),
        (
            0xffff,
            ParseError::Truncated {
                what: "payload chain",
            },
        ),
    ] {
        let mut b = bytes.clone();
        b[30..32].copy_from_slice(&len.to_be_bytes());
        assert_eq!(Message::parse(&b), Err(want), "{len}");
    }
    // The nonce payload's length one short: the nonce is shorter, and the next payload
    // header is read one octet early.
    let at = 28 + 0x28 + 0x48 + 2;
    assert_eq!(&bytes[at..at + 2], &[0, 0x24]);
    let mut b = bytes.clone();
    b[at + 1] = 0x23;
    assert!(Message::parse(&b).is_err());
    // The header's next payload names a payload that is not there.
    let mut b = bytes[..HEADER_LEN].to_vec();
    fix_length(&mut b);
    assert_eq!(
        Message::parse(&b),
        Err(ParseError::Truncated {
            what: "payload chain"
        })
    );
    // A header-only message with no payloads is fine (an empty INFORMATIONAL is an SK, but the
    // codec does not judge exchanges).
    b[16] = 0;
    assert_eq!(Message::parse(&b).unwrap().payloads, vec![]);
}

#[test]
fn proposal_numbering_in_a_message() {
    let mut m = Message::parse(&raw(SA_INIT_REQ)).unwrap();
    let mut second = m.payloads.sa().unwrap()[0].clone();
    second.number = 3;
    if let Payload::Sa(p) = &mut m.payloads[0] {
        p.push(second);
    }
    let b = m.emit().unwrap();
    assert_eq!(
        Message::parse(&b),
        Err(ParseError::BadProposalNumber {
            expected: 2,
            found: 3
        })
    );
}

#[test]
fn ike_sa_init_spi_size() {
    let mut m = Message::parse(&raw(SA_INIT_REQ)).unwrap();
    if let Payload::Sa(p) = &mut m.payloads[0] {
        p[0].spi = vec![1; 8];
    }
    let b = m.emit().unwrap();
    assert_eq!(
        Message::parse(&b),
        Err(ParseError::BadSpiSize {
            protocol: 1,
            size: 8
        })
    );
    // The same SA in CREATE_CHILD_SA (rekeying the IKE SA) is right.
    m.header.exchange = ExchangeType::CREATE_CHILD_SA;
    assert!(Message::parse(&m.emit().unwrap()).is_ok());
    assert_eq!(
        check_sa_spi_sizes(ExchangeType::CREATE_CHILD_SA, &m.payloads),
        Ok(())
    );
}

#[test]
fn unknown_payloads() {
    let mut m = Message::parse(&raw(SA_INIT_REQ)).unwrap();
    m.payloads.insert(
        3,
        Payload::Unknown {
            ptype: PayloadType(130),
            critical: false,
            body: vec![1, 2, 3],
        },
    );
    // Not critical: kept in place (the chain goes around it), and re-emitted.
    let b = m.emit().unwrap();
    let back = Message::parse(&b).unwrap();
    assert_eq!(back.payloads, m.payloads);
    assert_eq!(back.header.length as usize, 248 + 7);
    assert_eq!(back.emit().unwrap(), b);
    m.payloads[3] = Payload::Unknown {
        ptype: PayloadType(130),
        critical: true,
        body: vec![1, 2, 3],
    };
    let e = Message::parse(&m.emit().unwrap()).unwrap_err();
    assert_eq!(e, ParseError::UnsupportedCriticalPayload(130));
    assert_eq!(
        (e.notify(), e.notify_data()),
        (Some(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD), vec![130])
    );
    assert_eq!(e.counter_name(), "unsupported_critical_payload");
}

#[test]
fn payload_after_sk() {
    let mut b = raw(INFO_REQ);
    b.extend_from_slice(&[0, 0, 0, 4]);
    fix_length(&mut b);
    assert_eq!(Message::parse(&b), Err(ParseError::PayloadAfterSk));
    assert_eq!(Message::sk_body_range(&b), None);
    // Building one is refused too.
    let mut m = Message::parse(&raw(INFO_REQ)).unwrap();
    m.payloads.push(Payload::VendorId(vec![]));
    assert_eq!(m.emit(), Err(EmitError::SkNotLast));
}

#[test]
fn oversized() {
    let mut b = raw(INFO_REQ);
    b[24..28].copy_from_slice(&(MAX_MESSAGE_LEN as u32 + 1).to_be_bytes());
    assert_eq!(
        Message::parse(&b),
        Err(ParseError::TooLarge(MAX_MESSAGE_LEN + 1))
    );
    // A message that would not fit is refused when built.
    let header = Message::parse(&raw(INFO_REQ)).unwrap().header;
    let big = vec![
        Payload::VendorId(vec![0; 40000]),
        Payload::VendorId(vec![0; 40000]),
    ];
    assert_eq!(
        Message::new(header, big).emit(),
        Err(EmitError::TooLong { what: "message" })
    );
    let one = vec![Payload::VendorId(vec![0; 65532])];
    assert_eq!(
        Message::new(header, one).emit(),
        Err(EmitError::TooLong { what: "payload" })
    );
    assert_eq!(
        Message::emit_with_sk(&header, &[], PayloadType::IDI, 65532).unwrap_err(),
        EmitError::TooLong { what: "payload" }
    );
    assert_eq!(
        Message::emit_with_sk(&header, &[], PayloadType::IDI, usize::MAX).unwrap_err(),
        EmitError::TooLong { what: "SK payload" }
    );
}

#[test]
fn versions_in_a_message() {
    let mut b = raw(SA_INIT_REQ);
    b[17] = 0x30;
    let e = Message::parse(&b).unwrap_err();
    assert_eq!(e, ParseError::UnsupportedMajorVersion(3));
    assert_eq!(e.notify(), Some(NotifyType::INVALID_MAJOR_VERSION));
    // What the answer needs is still there.
    assert_eq!(Header::peek(&b).unwrap().spi_i, 0xea68_4d21_597a_fd36);
    b[17] = 0x10;
    assert_eq!(Message::parse(&b).unwrap_err().notify(), None);
}

/// One of every payload that may be inside SK.
fn every_inner_payload() -> Vec<Payload> {
    let (id_type, id) = id_from_addr("192.0.2.1".parse().unwrap());
    vec![
        Payload::Id {
            kind: Side::Initiator,
            id_type,
            data: id,
        },
        Payload::Id {
            kind: Side::Responder,
            id_type: IdType::FQDN,
            data: b"gw.example.net".to_vec(),
        },
        Payload::Cert {
            encoding: CertEncoding::X509_SIGNATURE,
            data: vec![0x30; 300],
        },
        Payload::CertReq {
            encoding: CertEncoding::X509_SIGNATURE,
            data: vec![0x11; 20],
        },
        Payload::Auth {
            method: AuthMethod::DIGITAL_SIGNATURE,
            data: digital_signature_data(&[0x30, 0x0b], &[7; 64]).unwrap(),
        },
        Payload::notify(NotifyType::INITIAL_CONTACT, vec![]),
        Payload::notify_with_spi(
            ProtocolId::ESP,
            vec![0, 0, 0x10, 0x05],
            NotifyType::REKEY_SA,
            vec![],
        ),
        Payload::Cp {
            cfg_type: CfgType::CFG_REQUEST,
            attributes: vec![
                CpAttribute::request(CpAttrType::INTERNAL_IP4_ADDRESS),
                CpAttribute::from_ipv4(CpAttrType::INTERNAL_IP4_DNS, Ipv4Addr::new(192, 0, 2, 53)),
            ],
        },
        Payload::Sa(vec![
            Proposal {
                number: 1,
                protocol: ProtocolId::ESP,
                spi: vec![0xc0, 0, 0, 1],
                transforms: vec![
                    Transform::encr(TransformId::ENCR_AES_GCM_16, Some(256)),
                    Transform::esn(true),
                    Transform::esn(false),
                ],
            },
            Proposal {
                number: 2,
                protocol: ProtocolId::ESP,
                spi: vec![0xc0, 0, 0, 1],
                transforms: vec![
                    Transform::encr(TransformId::ENCR_AES_CBC, Some(128)),
                    Transform::integ(TransformId::AUTH_HMAC_SHA2_256_128),
                    Transform::esn(false),
                ],
            },
        ]),
        Payload::Ke {
            group: DhGroup::CURVE25519,
            data: vec![5; 32],
        },
        Payload::Nonce(vec![6; 32]),
        Payload::Ts {
            kind: Side::Initiator,
            selectors: vec![TrafficSelector::from_prefix(
                "10.1.0.0".parse().unwrap(),
                16,
                0,
                (0, 65535),
            )
            .unwrap()],
            unknown: vec![],
        },
        Payload::Ts {
            kind: Side::Responder,
            selectors: vec![TrafficSelector::any(true)],
            unknown: vec![],
        },
        Payload::Delete {
            protocol: ProtocolId::ESP,
            spi_size: 4,
            spis: vec![vec![1, 2, 3, 4]],
        },
        Payload::Delete {
            protocol: ProtocolId::IKE,
            spi_size: 0,
            spis: vec![],
        },
        Payload::VendorId(b"ipsec-gw".to_vec()),
        Payload::Eap(vec![2, 7, 0, 5, 1]),
        Payload::Unknown {
            ptype: PayloadType(201),
            critical: false,
            body: vec![0xab],
        },
    ]
}

#[test]
fn every_payload_type_round_trips_in_a_message() {
    let mut payloads = every_inner_payload();
    payloads.push(Payload::Skf {
        fragment_number: 1,
        total_fragments: 2,
        data: vec![3; 40],
        inner_first_payload: PayloadType::IDI,
    });
    let header = Header::new(
        1,
        2,
        ExchangeType::IKE_AUTH,
        Flags {
            initiator: true,
            ..Flags::default()
        },
        1,
    );
    let m = Message::new(header, payloads);
    let b = m.emit().unwrap();
    let back = Message::parse(&b).unwrap();
    assert_eq!(back.payloads, m.payloads);
    assert_eq!(back.header.length as usize, b.len());
    assert_eq!(back.header.next_payload, PayloadType::IDI);
    assert_eq!(back.emit().unwrap(), b);
    assert!(back.is_encrypted());
    assert_eq!(back.sk(), None);
    // The inner chain alone, as it goes into an SK payload.
    let inner = every_inner_payload();
    let (first, plain) = emit_payload_chain(&inner).unwrap();
    assert_eq!(first, PayloadType::IDI);
    assert_eq!(parse_payload_chain(first, &plain), Ok(inner));
}

/// The crypto module's path: plaintext chain, layout, fill in, send; then receive, find the
/// body, "decrypt", parse the inner chain.
#[test]
fn sk_layout_for_the_crypto_module() {
    let inner = every_inner_payload();
    let (first, plain) = emit_payload_chain(&inner).unwrap();
    let (iv_len, icv_len) = (16, 12);
    let body_len = iv_len + plain.len() + icv_len;
    let header = Header::new(
        0x1111,
        0x2222,
        ExchangeType::IKE_AUTH,
        Flags {
            initiator: true,
            ..Flags::default()
        },
        1,
    );
    let mut layout = Message::emit_with_sk(&header, &[], first, body_len).unwrap();
    let total = layout.bytes().len();
    assert_eq!(layout.body_range(), total - body_len..total);
    // The associated data is the header and the SK payload header, with the final lengths.
    let aad = layout.aad().to_vec();
    assert_eq!(aad.len(), HEADER_LEN + PAYLOAD_HEADER_LEN);
    assert_eq!(Header::peek(&aad).unwrap().length as usize, total);
    assert_eq!(aad[16], PayloadType::SK.0);
    assert_eq!(aad[HEADER_LEN], first.0);
    // "Encrypt" (identity), then the ICV over everything before it.
    layout.body_mut()[..iv_len].fill(0xaa);
    layout.body_mut()[iv_len..iv_len + plain.len()].copy_from_slice(&plain);
    let (covered, icv) = layout.split_icv(icv_len).unwrap();
    assert_eq!(covered.len(), total - icv_len);
    icv.fill(0xcc);
    let wire = layout.into_bytes();

    let (m, range) = Message::parse_with_sk_range(&wire).unwrap();
    let range = range.unwrap();
    assert_eq!(range, total - body_len..total);
    assert_eq!(Message::sk_body_range(&wire), Some(range.clone()));
    let (body, inner_first) = m.sk().unwrap();
    assert_eq!(body, &wire[range.clone()]);
    assert_eq!(&wire[range.end - icv_len..], &[0xcc; 12]);
    let decrypted = &body[iv_len..body.len() - icv_len];
    assert_eq!(parse_payload_chain(inner_first, decrypted), Ok(inner));

    // With a cleartext payload before SK.
    let outer = [Payload::VendorId(vec![1])];
    let l = Message::emit_with_sk(&header, &outer, first, 30).unwrap();
    assert_eq!(l.aad().len(), HEADER_LEN + 5 + PAYLOAD_HEADER_LEN);
    let (m, r) = Message::parse_with_sk_range(l.bytes()).unwrap();
    assert_eq!(r, Some(l.body_range()));
    assert_eq!(m.payloads[0], outer[0]);
}

#[test]
fn skf_layout() {
    let header = Header::new(7, 8, ExchangeType::IKE_AUTH, Flags::default(), 1);
    let l = Message::emit_with_skf(&header, PayloadType::IDI, 1, 3, 100).unwrap();
    // AAD: header, SKF header and the two fragment fields (RFC 7383 2.5.3).
    assert_eq!(
        l.aad().len(),
        HEADER_LEN + PAYLOAD_HEADER_LEN + SKF_FIELDS_LEN
    );
    let (m, r) = Message::parse_with_sk_range(l.bytes()).unwrap();
    assert_eq!(r, Some(l.body_range()));
    assert_eq!(
        m.payloads,
        [Payload::Skf {
            fragment_number: 1,
            total_fragments: 3,
            data: vec![0; 100],
            inner_first_payload: PayloadType::IDI
        }]
    );
    assert_eq!(m.header.next_payload, PayloadType::SKF);
    assert!(Message::emit_with_skf(&header, PayloadType::IDI, 4, 3, 10).is_err());
    assert!(Message::emit_with_skf(&header, PayloadType::IDI, 0, 3, 10).is_err());
}

#[test]
fn no_sk_range_for_garbage() {
    assert_eq!(Message::sk_body_range(&[]), None);
    assert_eq!(Message::sk_body_range(&[0; 100]), None);
}

/// A deterministic stand-in for the fuzz target: every single-octet change of the real
/// messages either fails to parse or parses into something that re-emits and re-parses
/// to itself.
#[test]
fn mutations_never_panic_and_round_trip() {
    for h in ALL {
        let bytes = raw(h);
        for i in 0..bytes.len() {
            for v in [
                0u8,
                1,
                0x7f,
                0x80,
                0xff,
                bytes[i] ^ 1,
                bytes[i].wrapping_add(4),
            ] {
                let mut b = bytes.clone();
                b[i] = v;
                if let Ok(m) = Message::parse(&b) {
                    let out = m.emit().unwrap();
                    assert_eq!(out.len(), b.len());
                    assert_eq!(Message::parse(&out), Ok(m), "offset {i} value {v}");
                }
                // And as an inner chain, after the header.
                if let Ok(p) = parse_payload_chain(PayloadType(b[16]), &b[HEADER_LEN..]) {
                    let (first, out) = emit_payload_chain(&p).unwrap();
                    assert_eq!(parse_payload_chain(first, &out), Ok(p));
                }
            }
        }
    }
}
