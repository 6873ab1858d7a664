//! Typed transforms: the phase 1 attributes of RFC 2409 appendix A and the IPsec DOI
//! attributes of RFC 2407 4.5, decoded from and encoded to [`Transform`]s.
//!
//! Decoding refuses a transform (an error, so the caller moves on to the next) that carries
//! an attribute class it does not know, a repeated one, a value in the wrong form, or an
//! algorithm this implementation will not use (DES).

use super::codes::KEY_IKE;
use super::error::WireError;
use super::sa::{Attribute, AttributeValue, Transform};

/// Phase 1 attribute classes (RFC 2409 appendix A).
pub mod phase1_attr {
    pub const ENCRYPTION: u16 = 1;
    pub const HASH: u16 = 2;
    pub const AUTH_METHOD: u16 = 3;
    pub const GROUP_DESCRIPTION: u16 = 4;
    pub const GROUP_TYPE: u16 = 5;
    pub const LIFE_TYPE: u16 = 11;
    pub const LIFE_DURATION: u16 = 12;
    pub const PRF: u16 = 13;
    pub const KEY_LENGTH: u16 = 14;
}

/// Phase 1 encryption algorithms.
pub mod encryption {
    pub const DES_CBC: u16 = 1;
    pub const TRIPLE_DES_CBC: u16 = 5;
    pub const AES_CBC: u16 = 7;
}

/// Phase 1 hash algorithms.
pub mod hash {
    pub const MD5: u16 = 1;
    pub const SHA1: u16 = 2;
    pub const SHA2_256: u16 = 4;
    pub const SHA2_384: u16 = 5;
    pub const SHA2_512: u16 = 6;
}

/// Phase 1 authentication methods (RFC 2409 appendix A, RFC 4754 for ECDSA).
pub mod auth_method {
    pub const PRE_SHARED_KEY: u16 = 1;
    pub const DSS_SIG: u16 = 2;
    pub const RSA_SIG: u16 = 3;
    pub const ECDSA_SHA256_P256: u16 = 9;
    pub const ECDSA_SHA384_P384: u16 = 10;
    pub const ECDSA_SHA512_P521: u16 = 11;
}

/// Life types, phase 1 and phase 2 alike.
pub mod life_type {
    pub const SECONDS: u16 = 1;
    pub const KILOBYTES: u16 = 2;
}

/// IPsec DOI SA attribute classes (RFC 2407 4.5).
pub mod phase2_attr {
    pub const SA_LIFE_TYPE: u16 = 1;
    pub const SA_LIFE_DURATION: u16 = 2;
    pub const GROUP_DESCRIPTION: u16 = 3;
    pub const ENCAPSULATION_MODE: u16 = 4;
    pub const AUTH_ALGORITHM: u16 = 5;
    pub const KEY_LENGTH: u16 = 6;
    pub const KEY_ROUNDS: u16 = 7;
    pub const EXTENDED_SEQUENCE_NUMBER: u16 = 11;
}

/// Encapsulation modes (RFC 2407 4.5, RFC 3947 5.3, and the values of the NAT-T drafts that
/// strongSwan and older peers send).
pub mod encapsulation {
    pub const TUNNEL: u16 = 1;
    pub const TRANSPORT: u16 = 2;
    pub const UDP_TUNNEL: u16 = 3;
    pub const UDP_TRANSPORT: u16 = 4;
    pub const UDP_TUNNEL_DRAFT: u16 = 61443;
    pub const UDP_TRANSPORT_DRAFT: u16 = 61444;
}

/// IPsec DOI authentication algorithms (RFC 2407 4.5, RFC 4868 for SHA-2).
pub mod auth_algorithm {
    pub const HMAC_MD5: u16 = 1;
    pub const HMAC_SHA: u16 = 2;
    pub const HMAC_SHA2_256: u16 = 5;
    pub const HMAC_SHA2_384: u16 = 6;
    pub const HMAC_SHA2_512: u16 = 7;
    pub const AES_XCBC_MAC: u16 = 9;
}

/// ESP transform IDs (RFC 2407 4.4.4 and the IANA registry); the same numbers as IKEv2's
/// encryption transform IDs.
pub mod esp_transform {
    pub const DES_IV64: u8 = 1;
    pub const DES: u8 = 2;
    pub const TRIPLE_DES: u8 = 3;
    pub const DES_IV32: u8 = 9;
    pub const NULL: u8 = 11;
    pub const AES_CBC: u8 = 12;
    pub const AES_CTR: u8 = 13;
    pub const AES_GCM_8: u8 = 18;
    pub const AES_GCM_12: u8 = 19;
    pub const AES_GCM_16: u8 = 20;
    pub const NULL_AUTH_AES_GMAC: u8 = 23;
}

/// A phase 1 (ISAKMP SA) transform.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Phase1Transform {
    /// `encryption::*`: 3DES-CBC or AES-CBC.
    pub encryption: u16,
    /// AES key length; `None` means the default (128 bits for AES).
    pub key_bits: Option<u16>,
    /// `hash::*`.
    pub hash: u16,
    /// `auth_method::*`.
    pub auth_method: u16,
    /// Group description (the IKEv2 D-H group numbers are the same).
    pub group: u16,
    pub life_seconds: Option<u32>,
    pub life_kbytes: Option<u32>,
}

/// A phase 2 (IPsec SA) transform of the IPsec DOI.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Phase2Transform {
    /// `esp_transform::*`.
    pub transform_id: u8,
    pub key_bits: Option<u16>,
    /// `auth_algorithm::*`; `None` for AEAD transforms.
    pub auth: Option<u16>,
    /// `encapsulation::*`; tunnel when the peer did not say.
    pub encapsulation: u16,
    /// PFS group.
    pub group: Option<u16>,
    pub life_seconds: Option<u32>,
    pub life_kbytes: Option<u32>,
}

/// Fills an attribute slot once.
fn set<T>(slot: &mut Option<T>, value: T, what: &'static str) -> Result<(), WireError> {
    if slot.is_some() {
        return Err(WireError::BadAttribute(what));
    }
    *slot = Some(value);
    Ok(())
}

fn basic(a: &Attribute, what: &'static str) -> Result<u16, WireError> {
    match a.value {
        AttributeValue::Basic(v) => Ok(v),
        AttributeValue::Variable(_) => Err(WireError::BadAttribute(what)),
    }
}

/// Life type / life duration pairs: a duration applies to the type announced just before it.
#[derive(Default)]
struct Lifetimes {
    pending: Option<u16>,
    seconds: Option<u32>,
    kbytes: Option<u32>,
}

impl Lifetimes {
    fn life_type(&mut self, a: &Attribute) -> Result<(), WireError> {
        match basic(a, "life type not basic")? {
            t @ (life_type::SECONDS | life_type::KILOBYTES) => {
                self.pending = Some(t);
                Ok(())
            }
            _ => Err(WireError::BadAttribute("unknown life type")),
        }
    }

    fn duration(&mut self, a: &Attribute) -> Result<(), WireError> {
        // Basic, or a TLV of any length (4 octets is usual); a value past 32 bits is forever.
        let value = match &a.value {
            AttributeValue::Basic(v) => u32::from(*v),
            AttributeValue::Variable(b) if b.is_empty() => {
                return Err(WireError::BadAttribute("empty life duration"))
            }
            AttributeValue::Variable(b) => {
                let wide = b.iter().fold(0u64, |v, &x| {
                    v.saturating_mul(256).saturating_add(u64::from(x))
                });
                u32::try_from(wide).unwrap_or(u32::MAX)
            }
        };
        match self.pending.take() {
            Some(life_type::SECONDS) => set(&mut self.seconds, value, "repeated life seconds"),
            Some(_) => set(&mut self.kbytes, value, "repeated life kilobytes"),
            None => Err(WireError::BadAttribute("life duration without a life type")),
        }
    }

    /// The attributes of `seconds` and `kbytes`, in that order.
    fn encode(seconds: Option<u32>, kbytes: Option<u32>, ty: u16, dur: u16) -> Vec<Attribute> {
        let mut out = Vec::new();
        for (t, v) in [
            (life_type::SECONDS, seconds),
            (life_type::KILOBYTES, kbytes),
        ] {
            if let Some(v) = v {
                out.push(Attribute::basic(ty, t));
                out.push(match u16::try_from(v) {
                    Ok(short) => Attribute::basic(dur, short),
                    Err(_) => Attribute::variable(dur, v.to_be_bytes().to_vec()),
                });
            }
        }
        out
    }
}

impl Phase1Transform {
    /// Decodes a phase 1 transform (ID KEY_IKE).
    pub fn from_transform(t: &Transform) -> Result<Phase1Transform, WireError> {
        use phase1_attr as a;
        if t.id != KEY_IKE {
            return Err(WireError::Unsupported {
                what: "phase 1 transform",
                id: u16::from(t.id),
            });
        }
        let (mut enc, mut key_bits, mut hash, mut auth, mut group) = (None, None, None, None, None);
        let mut life = Lifetimes::default();
        for attr in &t.attributes {
            match attr.kind {
                a::ENCRYPTION => set(&mut enc, basic(attr, "encryption")?, "encryption")?,
                a::KEY_LENGTH => set(&mut key_bits, basic(attr, "key length")?, "key length")?,
                a::HASH => set(&mut hash, basic(attr, "hash")?, "hash")?,
                a::AUTH_METHOD => set(&mut auth, basic(attr, "auth method")?, "auth method")?,
                a::GROUP_DESCRIPTION => set(&mut group, basic(attr, "group")?, "group")?,
                a::LIFE_TYPE => life.life_type(attr)?,
                a::LIFE_DURATION => life.duration(attr)?,
                kind => return Err(WireError::UnknownAttribute(kind)),
            }
        }
        let p = Phase1Transform {
            encryption: enc.ok_or(WireError::BadAttribute("no encryption algorithm"))?,
            key_bits,
            hash: hash.ok_or(WireError::BadAttribute("no hash algorithm"))?,
            auth_method: auth.ok_or(WireError::BadAttribute("no authentication method"))?,
            group: group.ok_or(WireError::BadAttribute("no group description"))?,
            life_seconds: life.seconds,
            life_kbytes: life.kbytes,
        };
        p.check_supported()?;
        Ok(p)
    }

    fn check_supported(&self) -> Result<(), WireError> {
        let refuse = |what, id| Err(WireError::Unsupported { what, id });
        match (self.encryption, self.key_bits) {
            (encryption::AES_CBC, None | Some(128 | 192 | 256)) => {}
            (encryption::TRIPLE_DES_CBC, None | Some(192)) => {}
            (encryption::AES_CBC | encryption::TRIPLE_DES_CBC, Some(bits)) => {
                return refuse("key length", bits)
            }
            (id, _) => return refuse("encryption", id),
        }
        use hash::*;
        if !matches!(self.hash, MD5 | SHA1 | SHA2_256 | SHA2_384 | SHA2_512) {
            return refuse("hash", self.hash);
        }
        use auth_method::*;
        if !matches!(
            self.auth_method,
            PRE_SHARED_KEY | RSA_SIG | ECDSA_SHA256_P256 | ECDSA_SHA384_P384 | ECDSA_SHA512_P521
        ) {
            return refuse("authentication method", self.auth_method);
        }
        Ok(())
    }

    /// The transform numbered `number`, attributes in the usual order.
    pub fn to_transform(&self, number: u8) -> Transform {
        use phase1_attr as a;
        let mut attributes = vec![Attribute::basic(a::ENCRYPTION, self.encryption)];
        if let Some(bits) = self.key_bits {
            attributes.push(Attribute::basic(a::KEY_LENGTH, bits));
        }
        attributes.push(Attribute::basic(a::HASH, self.hash));
        attributes.push(Attribute::basic(a::AUTH_METHOD, self.auth_method));
        attributes.push(Attribute::basic(a::GROUP_DESCRIPTION, self.group));
        attributes.extend(Lifetimes::encode(
            self.life_seconds,
            self.life_kbytes,
            a::LIFE_TYPE,
            a::LIFE_DURATION,
        ));
        Transform {
            number,
            id: KEY_IKE,
            attributes,
        }
    }
}

impl Phase2Transform {
    /// Decodes an ESP transform of the IPsec DOI.
    pub fn from_transform(t: &Transform) -> Result<Phase2Transform, WireError> {
        use phase2_attr as a;
        if matches!(
            t.id,
            esp_transform::DES_IV64 | esp_transform::DES | esp_transform::DES_IV32
        ) {
            return Err(WireError::Unsupported {
                what: "ESP transform",
                id: u16::from(t.id),
            });
        }
        let (mut key_bits, mut auth, mut encap, mut group) = (None, None, None, None);
        let mut life = Lifetimes::default();
        for attr in &t.attributes {
            match attr.kind {
                a::SA_LIFE_TYPE => life.life_type(attr)?,
                a::SA_LIFE_DURATION => life.duration(attr)?,
                a::GROUP_DESCRIPTION => set(&mut group, basic(attr, "group")?, "group")?,
                a::ENCAPSULATION_MODE => set(&mut encap, basic(attr, "encap")?, "encap")?,
                a::AUTH_ALGORITHM => set(&mut auth, basic(attr, "auth")?, "auth")?,
                a::KEY_LENGTH => set(&mut key_bits, basic(attr, "key length")?, "key length")?,
                kind => return Err(WireError::UnknownAttribute(kind)),
            }
        }
        let encapsulation = encap.unwrap_or(encapsulation::TUNNEL);
        {
            use encapsulation::*;
            if !matches!(
                encapsulation,
                TUNNEL
                    | TRANSPORT
                    | UDP_TUNNEL
                    | UDP_TRANSPORT
                    | UDP_TUNNEL_DRAFT
                    | UDP_TRANSPORT_DRAFT
            ) {
                return Err(WireError::Unsupported {
                    what: "encapsulation mode",
                    id: encapsulation,
                });
            }
        }
        Ok(Phase2Transform {
            transform_id: t.id,
            key_bits,
            auth,
            encapsulation,
            group,
            life_seconds: life.seconds,
            life_kbytes: life.kbytes,
        })
    }

    /// Tunnel mode, plain or UDP-encapsulated (RFC 3947 or its drafts).
    pub fn is_tunnel(&self) -> bool {
        use encapsulation::*;
        matches!(self.encapsulation, TUNNEL | UDP_TUNNEL | UDP_TUNNEL_DRAFT)
    }

    /// ESP in UDP (RFC 3948).
    pub fn is_udp_encapsulated(&self) -> bool {
        use encapsulation::*;
        matches!(
            self.encapsulation,
            UDP_TUNNEL | UDP_TRANSPORT | UDP_TUNNEL_DRAFT | UDP_TRANSPORT_DRAFT
        )
    }

    /// The transform numbered `number`.
    pub fn to_transform(&self, number: u8) -> Transform {
        use phase2_attr as a;
        let mut attributes = Lifetimes::encode(
            self.life_seconds,
            self.life_kbytes,
            a::SA_LIFE_TYPE,
            a::SA_LIFE_DURATION,
        );
        if let Some(g) = self.group {
            attributes.push(Attribute::basic(a::GROUP_DESCRIPTION, g));
        }
        attributes.push(Attribute::basic(a::ENCAPSULATION_MODE, self.encapsulation));
        if let Some(auth) = self.auth {
            attributes.push(Attribute::basic(a::AUTH_ALGORITHM, auth));
        }
        if let Some(bits) = self.key_bits {
            attributes.push(Attribute::basic(a::KEY_LENGTH, bits));
        }
        Transform {
            number,
            id: self.transform_id,
            attributes,
        }
    }
}
