//! The crypto group record: which member of a group carries its traffic on the active node,
//! so that the standby holds the other member's outbound policies aside exactly as the
//! active does, and a takeover leaves the traffic where it was.
//!
//! Body: `name_len u16, name, active u8 (0 primary, 1 secondary), revertible u8,
//! switchovers u64, reverts u64`.

use crate::wire::be64;

/// The longest group name carried (a config word; far below any record bound).
pub const MAX_GROUP_NAME: usize = 255;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupActive {
    pub group: String,
    /// True when the secondary member is the active one.
    pub secondary: bool,
    /// The move to the secondary came from a failure, so `auto` reverts it.
    pub revertible: bool,
    pub switchovers: u64,
    pub reverts: u64,
}

/// Why a body is not a crypto group record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

impl GroupActive {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let name = &self.group.as_bytes()[..self.group.len().min(MAX_GROUP_NAME)];
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name);
        out.push(u8::from(self.secondary));
        out.push(u8::from(self.revertible));
        out.extend_from_slice(&self.switchovers.to_be_bytes());
        out.extend_from_slice(&self.reverts.to_be_bytes());
    }

    /// The whole body, or `Malformed` (never a panic).
    pub fn decode(body: &[u8]) -> Result<GroupActive, Malformed> {
        let (len, rest) = body.split_at_checked(2).ok_or(Malformed)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len > MAX_GROUP_NAME {
            return Err(Malformed);
        }
        let (name, rest) = rest.split_at_checked(len).ok_or(Malformed)?;
        let group = std::str::from_utf8(name).map_err(|_| Malformed)?.to_owned();
        let [secondary, revertible, counters @ ..] = rest else {
            return Err(Malformed);
        };
        if counters.len() != 16 {
            return Err(Malformed);
        }
        Ok(GroupActive {
            group,
            secondary: flag(*secondary)?,
            revertible: flag(*revertible)?,
            switchovers: be64(&counters[..8]),
            reverts: be64(&counters[8..]),
        })
    }
}

fn flag(b: u8) -> Result<bool, Malformed> {
    match b {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> GroupActive {
        GroupActive {
            group: "site-a".into(),
            secondary: true,
            revertible: true,
            switchovers: 3,
            reverts: u64::MAX,
        }
    }

    #[test]
    fn round_trips_and_refuses_every_cut() {
        let mut b = Vec::new();
        sample().encode(&mut b);
        assert_eq!(GroupActive::decode(&b), Ok(sample()));
        for n in 0..b.len() {
            assert_eq!(GroupActive::decode(&b[..n]), Err(Malformed), "cut at {n}");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert_eq!(GroupActive::decode(&longer), Err(Malformed));
    }

    #[test]
    fn bad_flags_names_and_lengths_are_refused() {
        let mut b = Vec::new();
        sample().encode(&mut b);
        let flag_at = 2 + "site-a".len();
        let mut bad = b.clone();
        bad[flag_at] = 2;
        assert_eq!(GroupActive::decode(&bad), Err(Malformed));
        let mut bad = b.clone();
        bad[2] = 0xff;
        assert_eq!(GroupActive::decode(&bad), Err(Malformed), "not UTF-8");
        let mut bad = b.clone();
        bad[..2].copy_from_slice(&300u16.to_be_bytes());
        assert_eq!(GroupActive::decode(&bad), Err(Malformed), "name too long");
    }
}
