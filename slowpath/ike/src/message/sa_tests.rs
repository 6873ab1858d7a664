//! Tests of `sa.rs`.

use super::*;
use crate::message::msg::check_sa_spi_sizes;
use crate::message::payload::Payload;

fn ike_proposal(number: u8) -> Proposal {
    Proposal {
        number,
        protocol: ProtocolId::IKE,
        spi: vec![],
        transforms: vec![
            Transform::encr(TransformId::ENCR_AES_CBC, Some(256)),
            Transform::prf(TransformId::PRF_HMAC_SHA2_256),
            Transform::integ(TransformId::AUTH_HMAC_SHA2_256_128),
            Transform::dh(DhGroup::CURVE25519),
        ],
    }
}

fn esp_proposal(number: u8) -> Proposal {
    Proposal {
        number,
        protocol: ProtocolId::ESP,
        spi: vec![0xc0, 0x01, 0xca, 0xfe],
        transforms: vec![
            Transform::encr(TransformId::ENCR_AES_GCM_16, Some(128)),
            Transform::esn(true),
            Transform::esn(false),
        ],
    }
}

fn emit(proposals: &[Proposal]) -> Vec<u8> {
    let mut out = Vec::new();
    emit_sa(&mut out, proposals).unwrap();
    out
}

#[test]
fn round_trips() {
    for set in [
        vec![ike_proposal(1)],
        vec![ike_proposal(1), ike_proposal(2)],
        vec![esp_proposal(1), esp_proposal(2), esp_proposal(3)],
        vec![esp_proposal(7)],
    ] {
        assert_eq!(parse_sa(&emit(&set)), Ok(set));
    }
    let mut odd = esp_proposal(1);
    odd.transforms[0].attributes = vec![
        TransformAttribute {
            attr_type: 99,
            value: AttributeValue::Tlv(vec![1, 2, 3]),
        },
        TransformAttribute {
            attr_type: 100,
            value: AttributeValue::Tv(5),
        },
    ];
    odd.transforms
        .push(Transform::new(TransformType(77), TransformId(4242)));
    odd.protocol = ProtocolId(9);
    odd.spi = vec![1, 2, 3];
    assert_eq!(parse_sa(&emit(&[odd.clone()])), Ok(vec![odd]));
}

#[test]
fn wire_layout() {
    // One IKE proposal: AES-CBC-256, as RFC 7296 3.3 lays it out.
    let p = Proposal {
        transforms: vec![Transform::encr(TransformId::ENCR_AES_CBC, Some(256))],
        ..ike_proposal(1)
    };
    assert_eq!(
        hex::encode(emit(&[p])),
        "00000014010100010000000c0100000c800e0100"
    );
}

#[test]
fn last_flags_and_lengths() {
    let two = emit(&[ike_proposal(1), ike_proposal(2)]);
    let first_len = usize::from(u16::from_be_bytes([two[2], two[3]]));
    // First proposal marked last.
    let mut b = two.clone();
    b[0] = 0;
    assert_eq!(
        parse_sa(&b),
        Err(ParseError::InvalidSyntax("proposal after the last one"))
    );
    // Last proposal marked "more".
    let mut b = two.clone();
    b[first_len] = 2;
    assert_eq!(
        parse_sa(&b),
        Err(ParseError::InvalidSyntax("last proposal not marked last"))
    );
    let mut b = two.clone();
    b[0] = 3;
    assert_eq!(
        parse_sa(&b),
        Err(ParseError::InvalidSyntax("proposal Last Substruc"))
    );
    // A transform's flag: the first transform says last.
    let mut b = two.clone();
    b[8] = 0;
    assert_eq!(
        parse_sa(&b),
        Err(ParseError::InvalidSyntax("transform Last Substruc"))
    );
    // The last transform of the first proposal says more.
    let one = emit(&[ike_proposal(1)]);
    let mut b = one.clone();
    let last_t = one.len() - 8;
    assert_eq!(b[last_t], 0);
    b[last_t] = 3;
    assert_eq!(
        parse_sa(&b),
        Err(ParseError::InvalidSyntax("transform Last Substruc"))
    );
    // Proposal length too short, too long, below the minimum.
    let mut b = one.clone();
    b[3] -= 1;
    assert!(parse_sa(&b).is_err());
    let mut b = one.clone();
    b[3] += 1;
    assert_eq!(
        parse_sa(&b),
        Err(ParseError::Truncated { what: "SA payload" })
    );
    let mut b = one.clone();
    b[2..4].copy_from_slice(&7u16.to_be_bytes());
    assert_eq!(
        parse_sa(&b),
        Err(ParseError::BadLength { what: "proposal" })
    );
    // Transform count larger, smaller than the transforms.
    let mut b = one.clone();
    b[7] = 5;
    assert!(parse_sa(&b).is_err());
    let mut b = one.clone();
    b[7] = 3;
    assert!(parse_sa(&b).is_err());
    // Transform length below the minimum.
    let mut b = one.clone();
    b[10..12].copy_from_slice(&4u16.to_be_bytes());
    assert_eq!(
        parse_sa(&b),
        Err(ParseError::BadLength { what: "transform" })
    );
    // Empty SA.
    assert_eq!(
        parse_sa(&[]),
        Err(ParseError::InvalidSyntax("SA payload without proposals"))
    );
}

#[test]
fn numbering() {
    let cases = [
        (vec![1, 2, 3], Ok(())),
        (vec![5], Ok(())),
        (
            vec![0],
            Err(ParseError::BadProposalNumber {
                expected: 1,
                found: 0,
            }),
        ),
        (
            vec![2, 3],
            Err(ParseError::BadProposalNumber {
                expected: 1,
                found: 2,
            }),
        ),
        (
            vec![1, 3],
            Err(ParseError::BadProposalNumber {
                expected: 2,
                found: 3,
            }),
        ),
        (
            vec![1, 1],
            Err(ParseError::BadProposalNumber {
                expected: 2,
                found: 1,
            }),
        ),
    ];
    for (numbers, want) in cases {
        let set: Vec<_> = numbers.iter().map(|n| esp_proposal(*n)).collect();
        assert_eq!(parse_sa(&emit(&set)).map(|_| ()), want, "{numbers:?}");
    }
}

#[test]
fn spi_sizes() {
    let mut p = esp_proposal(1);
    p.spi = vec![1, 2, 3, 4, 5, 6, 7, 8];
    assert_eq!(
        parse_sa(&emit(&[p])),
        Err(ParseError::BadSpiSize {
            protocol: 3,
            size: 8
        })
    );
    let mut p = ike_proposal(1);
    p.spi = vec![1, 2, 3, 4];
    assert_eq!(
        parse_sa(&emit(&[p])),
        Err(ParseError::BadSpiSize {
            protocol: 1,
            size: 4
        })
    );
    let mut p = ike_proposal(1);
    p.spi = vec![9; 8];
    assert_eq!(p.spi_u64(), Some(0x0909_0909_0909_0909));
    assert_eq!(
        p.check_spi_for_exchange(ExchangeType::CREATE_CHILD_SA),
        Ok(())
    );
    assert_eq!(
        p.check_spi_for_exchange(ExchangeType::IKE_SA_INIT),
        Err(ParseError::BadSpiSize {
            protocol: 1,
            size: 8
        })
    );
    let p0 = ike_proposal(1);
    assert_eq!(p0.check_spi_for_exchange(ExchangeType::IKE_SA_INIT), Ok(()));
    assert_eq!(
        check_sa_spi_sizes(ExchangeType::CREATE_CHILD_SA, &[Payload::Sa(vec![p0])]),
        Err(ParseError::BadSpiSize {
            protocol: 1,
            size: 0
        })
    );
    assert_eq!(esp_proposal(1).spi_u32(), Some(0xc001_cafe));
    assert_eq!(
        esp_proposal(1).check_spi_for_exchange(ExchangeType::IKE_AUTH),
        Ok(())
    );
}

#[test]
fn attributes() {
    let base = emit(&[esp_proposal(1)]);
    // The key length attribute follows the first transform's 8 octets, at 8 + 4 + 8.
    assert_eq!(&base[20..24], &[0x80, 0x0e, 0x00, 0x80]);
    // TLV key length.
    let mut b = base.clone();
    b[20] = 0x00;
    b[22..24].copy_from_slice(&[0, 0]);
    assert_eq!(
        parse_sa(&b),
        Err(ParseError::InvalidSyntax("Key Length in TLV format"))
    );
    // TLV attribute running past its transform.
    let mut b = base.clone();
    b[20..22].copy_from_slice(&[0x00, 0x63]);
    assert_eq!(
        parse_sa(&b),
        Err(ParseError::Truncated { what: "transform" })
    );
    // Two key lengths.
    let mut t = Transform::encr(TransformId::ENCR_AES_CBC, Some(128));
    t.attributes.push(TransformAttribute {
        attr_type: ATTR_KEY_LENGTH,
        value: AttributeValue::Tv(256),
    });
    let p = Proposal {
        transforms: vec![t],
        ..esp_proposal(1)
    };
    let mut out = Vec::new();
    assert_eq!(
        emit_sa(&mut out, std::slice::from_ref(&p)),
        Err(EmitError::Inconsistent("Key Length belongs in key_length"))
    );
    // Forge it on the wire instead.
    let mut b = emit(&[Proposal {
        transforms: vec![Transform::encr(TransformId::ENCR_AES_CBC, Some(128))],
        ..esp_proposal(1)
    }]);
    b.extend_from_slice(&[0x80, 0x0e, 0x01, 0x00]);
    let n = b.len() as u16;
    b[2..4].copy_from_slice(&n.to_be_bytes());
    let t_len = u16::from_be_bytes([b[14], b[15]]) + 4;
    b[14..16].copy_from_slice(&t_len.to_be_bytes());
    assert_eq!(
        parse_sa(&b),
        Err(ParseError::InvalidSyntax("two Key Length attributes"))
    );
}

#[test]
fn emit_limits() {
    let mut p = esp_proposal(1);
    p.spi = vec![0; 256];
    assert_eq!(
        emit_sa(&mut Vec::new(), &[p]),
        Err(EmitError::TooMany { what: "SPI octets" })
    );
    let mut p = esp_proposal(1);
    p.transforms = vec![Transform::esn(true); 256];
    assert_eq!(
        emit_sa(&mut Vec::new(), &[p]),
        Err(EmitError::TooMany { what: "transforms" })
    );
    let mut p = esp_proposal(1);
    p.transforms[0].attributes.push(TransformAttribute {
        attr_type: 0x8001,
        value: AttributeValue::Tv(1),
    });
    assert_eq!(
        emit_sa(&mut Vec::new(), &[p]),
        Err(EmitError::Inconsistent("attribute type over 15 bits"))
    );
    let mut p = esp_proposal(1);
    p.transforms[0].attributes.push(TransformAttribute {
        attr_type: 1,
        value: AttributeValue::Tlv(vec![0; 70000]),
    });
    assert_eq!(
        emit_sa(&mut Vec::new(), &[p]),
        Err(EmitError::TooMany {
            what: "attribute octets"
        })
    );
    assert_eq!(
        emit_sa(&mut Vec::new(), &[]),
        Err(EmitError::Inconsistent("SA payload without proposals"))
    );
}

#[test]
fn names() {
    assert_eq!(
        Transform::prf(TransformId(2)).id_name(),
        Some("PRF_HMAC_SHA1")
    );
    assert_eq!(
        Transform::integ(TransformId(2)).id_name(),
        Some("AUTH_HMAC_SHA1_96")
    );
    assert_eq!(
        Transform::dh(DhGroup::MODP_2048).id_name(),
        Some("DH_MODP_2048")
    );
    assert_eq!(
        Transform::dh(DhGroup::ECP_384).dh_group(),
        Some(DhGroup::ECP_384)
    );
    assert_eq!(Transform::esn(true).dh_group(), None);
    assert_eq!(
        Transform::new(TransformType(99), TransformId(1)).id_name(),
        None
    );
    assert_eq!(format!("{:?}", DhGroup(31)), "CURVE25519");
    let p = ike_proposal(1);
    assert_eq!(p.transforms_of(TransformType::PRF).count(), 1);
}
