//! Identifiers that cross between the processes: a fast path SA id, a policy id, and the
//! target of an HA activation. Ids are written in decimal or `0x` hex; anything else is
//! refused, never read as "all".

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The highest fast path SA id. A SAD has a slot for every id up to its highest, so this
/// bound is what keeps an id of 4e9 from asking for 32 GB (the fast path's `Sad` holds the
/// same bound and a test ties the two together).
pub const MAX_SA_ID: u32 = (1 << 20) - 1;

/// An id that did not parse or is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{0} (want decimal or 0x hex)")]
    NotANumber(String),
    #[error("SA id {0} is over {MAX_SA_ID}")]
    SaIdTooLarge(u64),
    #[error("`{0}` is over 4294967295")]
    TooLarge(String),
}

/// Decimal, or hex after `0x`; nothing else (no sign, no spaces, no other base).
pub fn parse_number(s: &str) -> Result<u64, IdError> {
    toolkit::config::parse_u64(s).map_err(IdError::NotANumber)
}

/// A fast path SA id, `0..=MAX_SA_ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u32")]
pub struct SaId(u32);

impl SaId {
    pub fn new(id: u64) -> Result<SaId, IdError> {
        u32::try_from(id)
            .ok()
            .filter(|i| *i <= MAX_SA_ID)
            .map(SaId)
            .ok_or(IdError::SaIdTooLarge(id))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u64> for SaId {
    type Error = IdError;
    fn try_from(v: u64) -> Result<SaId, IdError> {
        SaId::new(v)
    }
}

impl From<SaId> for u32 {
    fn from(id: SaId) -> u32 {
        id.0
    }
}

impl FromStr for SaId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<SaId, IdError> {
        SaId::new(parse_number(s)?)
    }
}

impl fmt::Display for SaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A security policy's id in the fast path's SPD (its answer to `sp_add`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PolicyId(pub u32);

impl FromStr for PolicyId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<PolicyId, IdError> {
        let n = parse_number(s)?;
        u32::try_from(n)
            .map(PolicyId)
            .map_err(|_| IdError::TooLarge(s.to_string()))
    }
}

impl fmt::Display for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which SAs an HA activation or deactivation acts on. "All" must be said: a request
/// that names no SA is refused by the decoder (the field is required).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaTarget {
    All,
    One(SaId),
}

impl FromStr for SaTarget {
    type Err = IdError;
    fn from_str(s: &str) -> Result<SaTarget, IdError> {
        if s == "all" {
            Ok(SaTarget::All)
        } else {
            s.parse().map(SaTarget::One)
        }
    }
}

impl fmt::Display for SaTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaTarget::All => f.write_str("all"),
            SaTarget::One(id) => id.fmt(f),
        }
    }
}

impl Serialize for SaTarget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SaTarget::All => s.serialize_str("all"),
            SaTarget::One(id) => s.serialize_u32(id.get()),
        }
    }
}

impl<'de> Deserialize<'de> for SaTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SaTarget, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => SaId::new(n)
                .map(SaTarget::One)
                .map_err(serde::de::Error::custom),
            Raw::Word(w) => w.parse().map_err(|_| {
                serde::de::Error::custom(format!(
                    "`{w}`: want an SA id (decimal or 0x hex) or \"all\""
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_in_decimal_and_hex_and_nothing_else() {
        let cases: &[(&str, Option<u32>)] = &[
            ("0", Some(0)),
            ("18", Some(18)),
            ("0x12", Some(0x12)),
            ("0X12", Some(0x12)),
            ("0xfffff", Some(MAX_SA_ID)),
            ("0x100000", None),
            ("1048576", None),
            ("", None),
            ("0x", None),
            ("-1", None),
            ("+1", None),
            ("1e3", None),
            (" 1", None),
            ("0o17", None),
            ("0x1g", None),
            ("all", None),
            ("12abc", None),
            ("99999999999999999999999", None),
        ];
        for (text, want) in cases {
            let got = text.parse::<SaId>().ok().map(SaId::get);
            assert_eq!(got, *want, "{text:?}");
        }
    }

    #[test]
    fn a_target_is_all_only_when_said() {
        assert_eq!("all".parse::<SaTarget>(), Ok(SaTarget::All));
        assert_eq!(
            "0x12".parse::<SaTarget>(),
            Ok(SaTarget::One(SaId::new(18).unwrap()))
        );
        assert!("ALL".parse::<SaTarget>().is_err());
        assert!("x".parse::<SaTarget>().is_err());
        let json = |s: &str| serde_json::from_str::<SaTarget>(s);
        assert_eq!(json("\"all\"").unwrap(), SaTarget::All);
        assert_eq!(json("7").unwrap(), SaTarget::One(SaId::new(7).unwrap()));
        assert_eq!(
            json("\"0x12\"").unwrap(),
            SaTarget::One(SaId::new(18).unwrap())
        );
        assert!(json("\"everything\"").is_err());
        assert!(json("null").is_err());
        assert!(json("-3").is_err());
        assert!(json("4294967296").is_err());
    }
}
