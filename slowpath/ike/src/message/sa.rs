//! The SA payload (RFC 7296 3.3): proposals, transforms and transform attributes, with the
//! IANA numbers of the transforms.

use super::code::code_point;
use super::error::{EmitError, ParseError};
use super::header::ExchangeType;
use super::reader::{fill_length, fit_u16, fit_u8, placeholder_u16, Reader};

code_point! {
    /// Protocol ID (3.3.1; also in Notify and Delete, where 0 means "none").
    ProtocolId(u8) {
        IKE = 1,
        AH = 2,
        ESP = 3,
    }
}

code_point! {
    /// Transform Type (3.3.2).
    TransformType(u8) {
        /// Encryption Algorithm.
        ENCR = 1,
        /// Pseudorandom Function.
        PRF = 2,
        /// Integrity Algorithm.
        INTEG = 3,
        /// Key Exchange Method (Diffie-Hellman group; "D-H" in RFC 7296).
        KE = 4,
        /// Extended Sequence Numbers.
        ESN = 5,
    }
}

code_point! {
    /// A Diffie-Hellman group: the KE transform's ID and the KE payload's group (3.4).
    DhGroup(u16) {
        NONE = 0,
        MODP_768 = 1,
        MODP_1024 = 2,
        MODP_1536 = 5,
        MODP_2048 = 14,
        MODP_3072 = 15,
        MODP_4096 = 16,
        MODP_6144 = 17,
        MODP_8192 = 18,
        ECP_256 = 19,
        ECP_384 = 20,
        ECP_521 = 21,
        CURVE25519 = 31,
        CURVE448 = 32,
    }
}

/// A Transform ID. Its meaning depends on the transform type, so the consts carry the type in
/// their IANA names; `Transform::id_name` names an ID in its context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TransformId(pub u16);

/// Declares the TransformId consts and the per-type name table from one list.
macro_rules! transform_ids {
    ($( $ttype:ident { $( $konst:ident = $value:expr ),* $(,)? } )*) => {
        impl TransformId {
            $( $( pub const $konst: TransformId = TransformId($value); )* )*
        }

        fn id_name(ttype: TransformType, id: TransformId) -> Option<&'static str> {
            $(
                if ttype == TransformType::$ttype {
                    const NAMES: &[(u16, &str)] = &[$(($value, stringify!($konst))),*];
                    return NAMES.iter().find(|(v, _)| *v == id.0).map(|(_, n)| *n);
                }
            )*
            None
        }
    };
}

transform_ids! {
    ENCR {
        ENCR_3DES = 3,
        ENCR_NULL = 11,
        ENCR_AES_CBC = 12,
        ENCR_AES_CTR = 13,
        ENCR_AES_CCM_8 = 14,
        ENCR_AES_CCM_12 = 15,
        ENCR_AES_CCM_16 = 16,
        ENCR_AES_GCM_8 = 18,
        ENCR_AES_GCM_12 = 19,
        ENCR_AES_GCM_16 = 20,
        ENCR_NULL_AUTH_AES_GMAC = 21,
        ENCR_CHACHA20_POLY1305 = 28,
    }
    PRF {
        PRF_HMAC_MD5 = 1,
        PRF_HMAC_SHA1 = 2,
        PRF_AES128_XCBC = 4,
        PRF_HMAC_SHA2_256 = 5,
        PRF_HMAC_SHA2_384 = 6,
        PRF_HMAC_SHA2_512 = 7,
        PRF_AES128_CMAC = 8,
    }
    INTEG {
        AUTH_NONE = 0,
        AUTH_HMAC_MD5_96 = 1,
        AUTH_HMAC_SHA1_96 = 2,
        AUTH_AES_XCBC_96 = 5,
        AUTH_AES_CMAC_96 = 8,
        AUTH_HMAC_SHA2_256_128 = 12,
        AUTH_HMAC_SHA2_384_192 = 13,
        AUTH_HMAC_SHA2_512_256 = 14,
    }
    KE {
        DH_NONE = DhGroup::NONE.0,
        DH_MODP_768 = DhGroup::MODP_768.0,
        DH_MODP_1024 = DhGroup::MODP_1024.0,
        DH_MODP_1536 = DhGroup::MODP_1536.0,
        DH_MODP_2048 = DhGroup::MODP_2048.0,
        DH_MODP_3072 = DhGroup::MODP_3072.0,
        DH_MODP_4096 = DhGroup::MODP_4096.0,
        DH_MODP_6144 = DhGroup::MODP_6144.0,
        DH_MODP_8192 = DhGroup::MODP_8192.0,
        DH_ECP_256 = DhGroup::ECP_256.0,
        DH_ECP_384 = DhGroup::ECP_384.0,
        DH_ECP_521 = DhGroup::ECP_521.0,
        DH_CURVE25519 = DhGroup::CURVE25519.0,
        DH_CURVE448 = DhGroup::CURVE448.0,
    }
    ESN {
        ESN_NO = 0,
        ESN_YES = 1,
    }
}

impl From<DhGroup> for TransformId {
    fn from(g: DhGroup) -> TransformId {
        TransformId(g.0)
    }
}

/// The Key Length attribute type (3.3.5), the only one RFC 7296 defines; always TV.
pub const ATTR_KEY_LENGTH: u16 = 14;
/// The Attribute Format bit: set for TV (a 2-octet value), clear for TLV.
const ATTR_TV: u16 = 0x8000;

/// A transform attribute other than Key Length, kept as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransformAttribute {
    /// The 15-bit Attribute Type.
    pub attr_type: u16,
    pub value: AttributeValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributeValue {
    /// Type/Value: AF = 1, two octets.
    Tv(u16),
    /// Type/Length/Value: AF = 0.
    Tlv(Vec<u8>),
}

/// One transform of a proposal (3.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Transform {
    pub ttype: TransformType,
    pub id: TransformId,
    /// The Key Length attribute, in bits (3.3.5), for ciphers with variable key sizes.
    pub key_length: Option<u16>,
    /// Any other attributes (none is defined by RFC 7296; kept for round trips).
    pub attributes: Vec<TransformAttribute>,
}

impl Transform {
    pub fn new(ttype: TransformType, id: TransformId) -> Transform {
        Transform {
            ttype,
            id,
            key_length: None,
            attributes: Vec::new(),
        }
    }

    pub fn encr(id: TransformId, key_length: Option<u16>) -> Transform {
        Transform {
            key_length,
            ..Transform::new(TransformType::ENCR, id)
        }
    }

    pub fn prf(id: TransformId) -> Transform {
        Transform::new(TransformType::PRF, id)
    }

    pub fn integ(id: TransformId) -> Transform {
        Transform::new(TransformType::INTEG, id)
    }

    pub fn dh(group: DhGroup) -> Transform {
        Transform::new(TransformType::KE, group.into())
    }

    pub fn esn(on: bool) -> Transform {
        Transform::new(
            TransformType::ESN,
            if on {
                TransformId::ESN_YES
            } else {
                TransformId::ESN_NO
            },
        )
    }

    /// The group, for a KE transform.
    pub fn dh_group(&self) -> Option<DhGroup> {
        (self.ttype == TransformType::KE).then_some(DhGroup(self.id.0))
    }

    /// The IANA name of the ID in the context of the transform type.
    pub fn id_name(&self) -> Option<&'static str> {
        id_name(self.ttype, self.id)
    }
}

/// One proposal (3.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Proposal {
    /// 1, 2, 3... in an offer; the accepted one's number in an answer.
    pub number: u8,
    pub protocol: ProtocolId,
    /// Empty for the IKE SA in IKE_SA_INIT, 8 octets for an IKE SA rekey, 4 for ESP and AH.
    pub spi: Vec<u8>,
    pub transforms: Vec<Transform>,
}

impl Proposal {
    /// The transforms of one type, in order of preference.
    pub fn transforms_of(&self, ttype: TransformType) -> impl Iterator<Item = &Transform> + '_ {
        self.transforms.iter().filter(move |t| t.ttype == ttype)
    }

    /// The SPI of an ESP or AH proposal.
    pub fn spi_u32(&self) -> Option<u32> {
        <[u8; 4]>::try_from(self.spi.as_slice())
            .ok()
            .map(u32::from_be_bytes)
    }

    /// The SPI of an IKE SA rekey proposal.
    pub fn spi_u64(&self) -> Option<u64> {
        <[u8; 8]>::try_from(self.spi.as_slice())
            .ok()
            .map(u64::from_be_bytes)
    }

    /// Checks the SPI size against what the exchange allows (3.3.1): none for the IKE SA in
    /// IKE_SA_INIT, 8 octets for a new IKE SA in CREATE_CHILD_SA. The parser checks what does
    /// not depend on the exchange (`check_spi_size`); this is for the rest, which the caller
    /// knows only once the exchange (and the decrypted chain) is at hand.
    pub fn check_spi_for_exchange(&self, exchange: ExchangeType) -> Result<(), ParseError> {
        let want = match (self.protocol, exchange) {
            (ProtocolId::IKE, ExchangeType::IKE_SA_INIT) => 0,
            (ProtocolId::IKE, ExchangeType::CREATE_CHILD_SA) => 8,
            _ => return Ok(()),
        };
        if self.spi.len() != want {
            let size = u8::try_from(self.spi.len()).unwrap_or(u8::MAX);
            return Err(ParseError::BadSpiSize {
                protocol: self.protocol.0,
                size,
            });
        }
        Ok(())
    }
}

/// The SPI sizes a protocol allows whatever the exchange: IKE 0 (IKE_SA_INIT) or 8, AH and ESP 4
/// (3.3.1). Unknown protocols are not judged.
pub fn check_spi_size(protocol: ProtocolId, size: u8) -> Result<(), ParseError> {
    let ok = match protocol {
        ProtocolId::IKE => size == 0 || size == 8,
        ProtocolId::AH | ProtocolId::ESP => size == 4,
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(ParseError::BadSpiSize {
            protocol: protocol.0,
            size,
        })
    }
}

/// Last Substruc values (3.3.1, 3.3.2): 0 for the last one, else the type of the next.
const LAST: u8 = 0;
const MORE_PROPOSALS: u8 = 2;
const MORE_TRANSFORMS: u8 = 3;

pub(crate) fn parse_sa(body: &[u8]) -> Result<Vec<Proposal>, ParseError> {
    let mut r = Reader::new(body, "SA payload");
    if r.is_empty() {
        return Err(ParseError::InvalidSyntax("SA payload without proposals"));
    }
    let mut proposals = Vec::new();
    loop {
        let last = r.u8()?;
        r.reserved(1)?;
        let len = usize::from(r.u16()?);
        let inner = len
            .checked_sub(4)
            .filter(|n| *n >= 4)
            .ok_or(ParseError::BadLength { what: "proposal" })?;
        let mut p = r.sub(inner, "proposal")?;
        proposals.push(parse_proposal(&mut p)?);
        if !p.is_empty() {
            return Err(ParseError::BadLength { what: "proposal" });
        }
        // The flag must agree with what follows: it is how the RFC says "the last one".
        match (last, r.is_empty()) {
            (LAST, true) => break,
            (MORE_PROPOSALS, false) => continue,
            (LAST, false) => return Err(ParseError::InvalidSyntax("proposal after the last one")),
            (MORE_PROPOSALS, true) => {
                return Err(ParseError::InvalidSyntax("last proposal not marked last"))
            }
            _ => return Err(ParseError::InvalidSyntax("proposal Last Substruc")),
        }
    }
    check_numbering(&proposals)?;
    Ok(proposals)
}

/// "The first Proposal MUST have a Proposal Num of one (1). Each subsequent Proposal MUST have
/// a Proposal Num that is one greater than the previous" (3.3.1). An answer carries one
/// proposal under the number it accepted, so a lone proposal may have any non-zero number.
fn check_numbering(proposals: &[Proposal]) -> Result<(), ParseError> {
    if let [only] = proposals {
        if only.number == 0 {
            return Err(ParseError::BadProposalNumber {
                expected: 1,
                found: 0,
            });
        }
        return Ok(());
    }
    for (i, p) in proposals.iter().enumerate() {
        let expected = u8::try_from(i + 1)
            .map_err(|_| ParseError::InvalidSyntax("more than 255 proposals"))?;
        if p.number != expected {
            return Err(ParseError::BadProposalNumber {
                expected,
                found: p.number,
            });
        }
    }
    Ok(())
}

fn parse_proposal(p: &mut Reader<'_>) -> Result<Proposal, ParseError> {
    let number = p.u8()?;
    let protocol = ProtocolId(p.u8()?);
    let spi_size = p.u8()?;
    let count = p.u8()?;
    check_spi_size(protocol, spi_size)?;
    let spi = p.bytes(usize::from(spi_size))?.to_vec();
    let mut transforms = Vec::with_capacity(usize::from(count));
    for i in 0..count {
        let last = p.u8()?;
        let want = if i + 1 == count {
            LAST
        } else {
            MORE_TRANSFORMS
        };
        if last != want {
            return Err(ParseError::InvalidSyntax("transform Last Substruc"));
        }
        p.reserved(1)?;
        let len = usize::from(p.u16()?);
        let inner = len
            .checked_sub(4)
            .filter(|n| *n >= 4)
            .ok_or(ParseError::BadLength { what: "transform" })?;
        let mut t = p.sub(inner, "transform")?;
        transforms.push(parse_transform(&mut t)?);
    }
    Ok(Proposal {
        number,
        protocol,
        spi,
        transforms,
    })
}

fn parse_transform(t: &mut Reader<'_>) -> Result<Transform, ParseError> {
    let ttype = TransformType(t.u8()?);
    t.reserved(1)?;
    let id = TransformId(t.u16()?);
    let mut key_length = None;
    let mut attributes = Vec::new();
    while !t.is_empty() {
        let raw = t.u16()?;
        let attr_type = raw & !ATTR_TV;
        let value = if raw & ATTR_TV != 0 {
            AttributeValue::Tv(t.u16()?)
        } else {
            let len = usize::from(t.u16()?);
            AttributeValue::Tlv(t.bytes(len)?.to_vec())
        };
        if attr_type == ATTR_KEY_LENGTH {
            match value {
                AttributeValue::Tv(bits) if key_length.is_none() => key_length = Some(bits),
                AttributeValue::Tv(_) => {
                    return Err(ParseError::InvalidSyntax("two Key Length attributes"))
                }
                AttributeValue::Tlv(_) => {
                    return Err(ParseError::InvalidSyntax("Key Length in TLV format"))
                }
            }
        } else {
            attributes.push(TransformAttribute { attr_type, value });
        }
    }
    Ok(Transform {
        ttype,
        id,
        key_length,
        attributes,
    })
}

pub(crate) fn emit_sa(out: &mut Vec<u8>, proposals: &[Proposal]) -> Result<(), EmitError> {
    if proposals.is_empty() {
        return Err(EmitError::Inconsistent("SA payload without proposals"));
    }
    for (i, p) in proposals.iter().enumerate() {
        let start = out.len();
        out.push(if i + 1 == proposals.len() {
            LAST
        } else {
            MORE_PROPOSALS
        });
        out.push(0);
        let at = placeholder_u16(out);
        out.push(p.number);
        out.push(p.protocol.0);
        out.push(fit_u8(p.spi.len(), "SPI octets")?);
        out.push(fit_u8(p.transforms.len(), "transforms")?);
        out.extend_from_slice(&p.spi);
        for (j, t) in p.transforms.iter().enumerate() {
            emit_transform(out, t, j + 1 == p.transforms.len())?;
        }
        fill_length(out, at, start, "proposal")?;
    }
    Ok(())
}

fn emit_transform(out: &mut Vec<u8>, t: &Transform, last: bool) -> Result<(), EmitError> {
    let start = out.len();
    out.push(if last { LAST } else { MORE_TRANSFORMS });
    out.push(0);
    let at = placeholder_u16(out);
    out.push(t.ttype.0);
    out.push(0);
    out.extend_from_slice(&t.id.0.to_be_bytes());
    if let Some(bits) = t.key_length {
        out.extend_from_slice(&(ATTR_TV | ATTR_KEY_LENGTH).to_be_bytes());
        out.extend_from_slice(&bits.to_be_bytes());
    }
    for a in &t.attributes {
        if a.attr_type & ATTR_TV != 0 {
            return Err(EmitError::Inconsistent("attribute type over 15 bits"));
        }
        if a.attr_type == ATTR_KEY_LENGTH {
            return Err(EmitError::Inconsistent("Key Length belongs in key_length"));
        }
        match &a.value {
            AttributeValue::Tv(v) => {
                out.extend_from_slice(&(ATTR_TV | a.attr_type).to_be_bytes());
                out.extend_from_slice(&v.to_be_bytes());
            }
            AttributeValue::Tlv(v) => {
                out.extend_from_slice(&a.attr_type.to_be_bytes());
                out.extend_from_slice(&fit_u16(v.len(), "attribute octets")?.to_be_bytes());
                out.extend_from_slice(v);
            }
        }
    }
    fill_length(out, at, start, "transform")
}

#[cfg(test)]
#[path = "sa_tests.rs"]
mod tests;
