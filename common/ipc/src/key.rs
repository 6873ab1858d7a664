//! Key material as it crosses the control socket: zeroized when dropped, hex on the wire,
//! and never shown by `Debug` (logs and panics print its length only).

use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

/// Secret bytes: an encryption key (with its salt, for GCM) or an integrity key.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeyBytes(Zeroizing<Vec<u8>>);

impl KeyBytes {
    pub fn new(bytes: Vec<u8>) -> KeyBytes {
        KeyBytes(Zeroizing::new(bytes))
    }

    pub fn from_slice(bytes: &[u8]) -> KeyBytes {
        KeyBytes::new(bytes.to_vec())
    }

    /// Hex digits, optionally after `0x`, optionally with `:` between bytes.
    pub fn from_hex(s: &str) -> Result<KeyBytes, String> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        let digits: Zeroizing<String> = Zeroizing::new(s.chars().filter(|c| *c != ':').collect());
        hex::decode(digits.as_bytes())
            .map(KeyBytes::new)
            .map_err(|_| "a key is not hex".to_string())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The hex form, in a string that is itself zeroized when dropped.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(&self.0[..]))
    }
}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} key bytes>", self.0.len())
    }
}

impl Serialize for KeyBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for KeyBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KeyBytes, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        KeyBytes::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_length_not_the_bytes() {
        let k = KeyBytes::from_hex("0x00112233445566778899aabbccddeeff").unwrap();
        let shown = format!("{k:?}");
        assert_eq!(shown, "<16 key bytes>");
        assert_eq!(
            serde_json::to_string(&k).unwrap(),
            "\"00112233445566778899aabbccddeeff\""
        );
        let back: KeyBytes = serde_json::from_str("\"00:11:22:33\"").unwrap();
        assert_eq!(back.as_bytes(), &[0, 0x11, 0x22, 0x33]);
        assert!(serde_json::from_str::<KeyBytes>("\"0g\"").is_err());
        assert!(serde_json::from_str::<KeyBytes>("\"abc\"").is_err());
    }
}
