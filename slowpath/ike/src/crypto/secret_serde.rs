//! Serde for secret bytes (`SecretBytes`): written as one byte string, read straight into a
//! buffer of its exact size that is wiped on drop, so no unwiped copy of a key is left behind
//! by a growing vector.

use std::fmt;

use serde::de::{Error, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};
use zeroize::Zeroizing;

use super::keys::SecretBytes;

/// No key, nonce or private value of ours is longer (a MODP-8192 private value is 1 KiB).
const MAX_SECRET_LEN: usize = 4096;

pub fn serialize<S: Serializer>(secret: &SecretBytes, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(secret)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretBytes, D::Error> {
    d.deserialize_bytes(SecretVisitor)
}

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = SecretBytes;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "at most {MAX_SECRET_LEN} secret bytes")
    }

    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<SecretBytes, E> {
        if v.len() > MAX_SECRET_LEN {
            return Err(E::invalid_length(v.len(), &self));
        }
        Ok(Zeroizing::new(v.to_vec()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SecretBytes, A::Error> {
        let mut out = Zeroizing::new(Vec::with_capacity(MAX_SECRET_LEN));
        while let Some(b) = seq.next_element::<u8>()? {
            if out.len() == MAX_SECRET_LEN {
                return Err(A::Error::invalid_length(out.len() + 1, &self));
            }
            out.push(b);
        }
        Ok(out)
    }
}
