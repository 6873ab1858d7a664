//! Ephemeral key exchange for the KE payload: MODP (RFC 2409, RFC 3526), ECP
//! (RFC 5903) and Curve25519 (RFC 8031).
//!
//! Wire formats: MODP g^x is big-endian, left-padded to the prime's length; ECP is
//! x | y, each padded to the field size, without the 0x04 prefix; Curve25519 is the
//! 32-byte u-coordinate. The shared secret g^ir has the same padding rules (x alone for ECP).

use super::error::{CryptoError, Result};
use super::transform::{
    dh_info, CURVE25519, ECP_256, ECP_384, ECP_521, MODP_1024, MODP_2048, MODP_3072,
};
use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::derive::Deriver;
use openssl::dh::Dh;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use zeroize::Zeroizing;

/// Our half of one key exchange: the private value, and the public value to send.
pub struct KeyExchange {
    group: u16,
    public: Vec<u8>,
    secret: Secret,
}

enum Secret {
    /// The private key, and the prime to check peer values against.
    Modp(PKey<Private>, BigNum),
    Ecp(EcGroup, PKey<Private>),
    X25519(PKey<Private>),
}

// Never print the private value.
impl std::fmt::Debug for KeyExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyExchange")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

fn invalid(group: u16, reason: &'static str) -> CryptoError {
    CryptoError::InvalidPublicValue { group, reason }
}

fn modp_prime(group: u16) -> Result<BigNum> {
    Ok(match group {
        MODP_1024 => BigNum::get_rfc2409_prime_1024()?,
        MODP_2048 => BigNum::get_rfc3526_prime_2048()?,
        MODP_3072 => BigNum::get_rfc3526_prime_3072()?,
        _ => {
            return Err(CryptoError::Unsupported {
                kind: "D-H group",
                id: group,
            })
        }
    })
}

fn ec_curve(group: u16) -> Option<Nid> {
    match group {
        ECP_256 => Some(Nid::X9_62_PRIME256V1),
        ECP_384 => Some(Nid::SECP384R1),
        ECP_521 => Some(Nid::SECP521R1),
        _ => None,
    }
}

impl KeyExchange {
    /// A fresh private value for `group` (an IANA Transform Type 4 ID).
    pub fn generate(group: u16) -> Result<Self> {
        // Refuse unknown groups before any work.
        dh_info(group)?;
        if let Some(nid) = ec_curve(group) {
            let ec = EcGroup::from_curve_name(nid)?;
            let key = EcKey::generate(&ec)?;
            return Self::from_ec_key(group, ec, key);
        }
        if group == CURVE25519 {
            return Self::from_x25519(PKey::generate_x25519()?);
        }
        let dh = Dh::from_pqg(modp_prime(group)?, None, BigNum::from_u32(2)?)?.generate_key()?;
        Self::from_dh(group, dh)
    }

    fn from_dh(group: u16, dh: Dh<Private>) -> Result<Self> {
        let public = dh
            .public_key()
            .to_vec_padded(dh_info(group)?.public_len as i32)?;
        let p = dh.prime_p().to_owned()?;
        Ok(KeyExchange {
            group,
            public,
            secret: Secret::Modp(PKey::from_dh(dh)?, p),
        })
    }

    fn from_ec_key(group: u16, ec: EcGroup, key: EcKey<Private>) -> Result<Self> {
        let field = dh_info(group)?.shared_len as i32;
        let mut ctx = BigNumContext::new()?;
        let (mut x, mut y) = (BigNum::new()?, BigNum::new()?);
        key.public_key()
            .affine_coordinates(&ec, &mut x, &mut y, &mut ctx)?;
        let mut public = x.to_vec_padded(field)?;
        public.extend_from_slice(&y.to_vec_padded(field)?);
        Ok(KeyExchange {
            group,
            public,
            secret: Secret::Ecp(ec, PKey::from_ec_key(key)?),
        })
    }

    fn from_x25519(key: PKey<Private>) -> Result<Self> {
        Ok(KeyExchange {
            group: CURVE25519,
            public: key.raw_public_key()?,
            secret: Secret::X25519(key),
        })
    }

    /// The D-H group (IANA Transform Type 4 ID).
    pub fn group(&self) -> u16 {
        self.group
    }

    /// The Key Exchange Data of our KE payload.
    pub fn public_value(&self) -> &[u8] {
        &self.public
    }

    /// g^ir from the peer's Key Exchange Data, validated first.
    pub fn compute_shared(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let info = dh_info(self.group)?;
        if peer.len() != info.public_len {
            return Err(invalid(self.group, "wrong length"));
        }
        let shared = match &self.secret {
            Secret::Modp(key, p) => self.modp_shared(key, p, peer, info.shared_len)?,
            Secret::Ecp(ec, key) => self.ecp_shared(ec, key, peer)?,
            Secret::X25519(key) => {
                let theirs = PKey::public_key_from_raw_bytes(peer, Id::X25519)
                    .map_err(|_| invalid(self.group, "not a Curve25519 value"))?;
                derive(key, &theirs).map_err(|_| invalid(self.group, "all-zero result"))?
            }
        };
        // RFC 8031 2.3: an all-zero X25519 result means a low-order point; never use it.
        if shared.iter().fold(0u8, |acc, b| acc | b) == 0 {
            return Err(invalid(self.group, "all-zero result"));
        }
        if shared.len() != info.shared_len {
            return Err(invalid(self.group, "unexpected shared secret length"));
        }
        Ok(shared)
    }

    fn modp_shared(
        &self,
        key: &PKey<Private>,
        p: &BigNum,
        peer: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let y = BigNum::from_slice(peer)?;
        let mut p_minus_1 = BigNumRef::to_owned(p)?;
        p_minus_1.sub_word(1)?;
        // 0, 1 and p-1 force the result into {0, 1, p-1}; >= p is not a residue.
        if y <= BigNum::from_u32(1)? || y >= p_minus_1 {
            return Err(invalid(self.group, "out of range"));
        }
        let theirs =
            Dh::from_pqg(BigNumRef::to_owned(p)?, None, BigNum::from_u32(2)?)?.set_public_key(y)?;
        // Through EVP, not DhRef::compute_key: that one returns a short result with
        // trailing zeros instead of leading ones (openssl crate 0.10.82). The range check
        // above is all a safe-prime group needs (RFC 6989 2.2).
        let raw = derive_checked(key, &PKey::from_dh(theirs)?)?;
        // RFC 7296 2.14: g^ir is left-padded with zeros to the modulus length.
        let pad = len
            .checked_sub(raw.len())
            .ok_or(invalid(self.group, "shared secret too long"))?;
        let mut out = Zeroizing::new(vec![0u8; pad]);
        out.extend_from_slice(&raw);
        Ok(out)
    }

    fn ecp_shared(
        &self,
        ec: &EcGroup,
        key: &PKey<Private>,
        peer: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (xs, ys) = peer.split_at(peer.len() / 2);
        let mut ctx = BigNumContext::new()?;
        let (x, y) = (BigNum::from_slice(xs)?, BigNum::from_slice(ys)?);
        let (mut p, mut a, mut b) = (BigNum::new()?, BigNum::new()?, BigNum::new()?);
        ec.components_gfp(&mut p, &mut a, &mut b, &mut ctx)?;
        if x >= p || y >= p {
            return Err(invalid(self.group, "coordinate not below the prime"));
        }
        let mut point = EcPoint::new(ec)?;
        point
            .set_affine_coordinates_gfp(ec, &x, &y, &mut ctx)
            .map_err(|_| invalid(self.group, "point not on the curve"))?;
        if !point.is_on_curve(ec, &mut ctx)? {
            return Err(invalid(self.group, "point not on the curve"));
        }
        // On the curve is all a curve of prime order needs (RFC 6989 2.3): no multiplication
        // by the order (EC_KEY_check_key), which costs more than the D-H itself.
        let theirs = EcKey::from_public_key(ec, &point)?;
        derive_checked(key, &PKey::from_ec_key(theirs)?)
    }
}

/// Exportable private values (additive, for the exchange state machine): a half-done exchange
/// is kept as plain bytes in the IKE SA state, so that HA sync can copy it and the caller's
/// randomness source (not OpenSSL's) can make it.
impl KeyExchange {
    /// How many random octets `from_private` wants for a fresh private value of `group`.
    /// MODP exponents are short (twice the group's security strength, as RFC 3526 allows),
    /// ECP scalars get 8 extra octets so that the reduction modulo the order is unbiased.
    pub fn private_len(group: u16) -> Result<usize> {
        Ok(match group {
            MODP_1024 | MODP_2048 => 32,
            MODP_3072 => 48,
            ECP_256 => 40,
            ECP_384 => 56,
            ECP_521 => 74,
            CURVE25519 => 32,
            _ => {
                return Err(CryptoError::Unsupported {
                    kind: "D-H group",
                    id: group,
                })
            }
        })
    }

    /// Builds our half from a private value: random octets (`private_len` of them) or what
    /// `private_bytes` gave. The same bytes always give the same public value.
    pub fn from_private(group: u16, private: &[u8]) -> Result<Self> {
        dh_info(group)?;
        if group == CURVE25519 {
            return Self::from_x25519(PKey::private_key_from_raw_bytes(private, Id::X25519)?);
        }
        if let Some(nid) = ec_curve(group) {
            let ec = EcGroup::from_curve_name(nid)?;
            let mut ctx = BigNumContext::new()?;
            let mut order = BigNum::new()?;
            ec.order(&mut order, &mut ctx)?;
            let mut d = BigNum::new()?;
            let raw = BigNum::from_slice(private)?;
            d.nnmod(&raw, &order, &mut ctx)?;
            if d.num_bits() == 0 {
                return Err(invalid(group, "zero private scalar"));
            }
            let mut q = EcPoint::new(&ec)?;
            q.mul_generator2(&ec, &d, &mut ctx)?;
            let key = EcKey::from_private_components(&ec, &d, &q)?;
            return Self::from_ec_key(group, ec, key);
        }
        let x = BigNum::from_slice(private)?;
        if x <= BigNum::from_u32(1)? {
            return Err(invalid(group, "private exponent too small"));
        }
        let params = Dh::from_pqg(modp_prime(group)?, None, BigNum::from_u32(2)?)?;
        Self::from_dh(group, params.set_private_key(x)?)
    }

    /// The private value, for `from_private` (e.g. on the standby node).
    pub fn private_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        Ok(Zeroizing::new(match &self.secret {
            Secret::Modp(key, _) => key.dh()?.private_key().to_vec(),
            Secret::Ecp(_, key) => key.ec_key()?.private_key().to_vec(),
            Secret::X25519(key) => key.raw_private_key()?,
        }))
    }
}

fn derive<T: openssl::pkey::HasPublic>(
    mine: &PKey<Private>,
    theirs: &PKey<T>,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut deriver = Deriver::new(mine)?;
    deriver.set_peer(theirs)?;
    Ok(Zeroizing::new(deriver.derive_to_vec()?))
}

/// `derive` for a peer value the caller has checked as RFC 6989 asks (MODP: in range, ECP: on
/// the curve), without OpenSSL's own full check on top: for the RFC 3526 primes, which
/// OpenSSL 3 knows as named groups with their q, that is y^q mod p with a 2047- or 3071-bit
/// exponent (about 7 times the D-H itself); for ECP a multiplication by the order.
fn derive_checked<T: openssl::pkey::HasPublic>(
    mine: &PKey<Private>,
    theirs: &PKey<T>,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut deriver = Deriver::new(mine)?;
    deriver.set_peer_ex(theirs, false)?;
    Ok(Zeroizing::new(deriver.derive_to_vec()?))
}

#[cfg(test)]
impl KeyExchange {
    /// A MODP exchange from a known private exponent.
    fn modp_from_private(group: u16, x: u32) -> Result<Self> {
        let params = Dh::from_pqg(modp_prime(group)?, None, BigNum::from_u32(2)?)?;
        Self::from_dh(group, params.set_private_key(BigNum::from_u32(x)?)?)
    }

    /// An ECP exchange from a known private scalar (for the RFC 5903 vectors).
    fn ecp_from_scalar(group: u16, scalar: &[u8]) -> Result<Self> {
        let ec = EcGroup::from_curve_name(ec_curve(group).unwrap())?;
        let d = BigNum::from_slice(scalar)?;
        let mut ctx = BigNumContext::new()?;
        let mut q = EcPoint::new(&ec)?;
        q.mul_generator2(&ec, &d, &mut ctx)?;
        let key = EcKey::from_private_components(&ec, &d, &q)?;
        Self::from_ec_key(group, ec, key)
    }

    /// A Curve25519 exchange from a known private key (for the RFC 7748 vectors).
    fn x25519_from_private(raw: &[u8]) -> Result<Self> {
        Self::from_x25519(PKey::private_key_from_raw_bytes(raw, Id::X25519)?)
    }
}

#[cfg(test)]
#[path = "dh_tests.rs"]
mod tests;
