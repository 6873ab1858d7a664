//! One table entry, a `u32` that a reader loads in one access: valid and extended flags, the
//! depth of the prefix that wrote it (so that an update touches only what that prefix owns),
//! and a 22-bit value: a next-hop id, or a group index when extended.

/// The entry holds a route (or, with `EXT`, points to a group).
pub const VALID: u32 = 1 << 31;
/// The entry points to a group of 256 entries one level down.
pub const EXT: u32 = 1 << 30;
const DEPTH_SHIFT: u32 = 22;
/// Largest value (next-hop id or group index) an entry can hold, plus one.
pub const VALUE_LIMIT: u32 = 1 << DEPTH_SHIFT;
const VALUE_MASK: u32 = VALUE_LIMIT - 1;

/// A route entry: next hop `nh` written by a prefix of length `depth`.
pub const fn route(nh: u32, depth: u8) -> u32 {
    VALID | ((depth as u32) << DEPTH_SHIFT) | (nh & VALUE_MASK)
}

/// An entry pointing to group `group`.
pub const fn group(group: u32) -> u32 {
    VALID | EXT | (group & VALUE_MASK)
}

pub const fn is_valid(e: u32) -> bool {
    e & VALID != 0
}

pub const fn is_ext(e: u32) -> bool {
    e & EXT != 0
}

pub const fn depth(e: u32) -> u8 {
    ((e >> DEPTH_SHIFT) & 0xff) as u8
}

pub const fn value(e: u32) -> u32 {
    e & VALUE_MASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_do_not_overlap() {
        let e = route(VALUE_LIMIT - 1, 128);
        assert!(is_valid(e) && !is_ext(e));
        assert_eq!((depth(e), value(e)), (128, VALUE_LIMIT - 1));
        let g = group(12345);
        assert!(is_valid(g) && is_ext(g));
        assert_eq!(value(g), 12345);
        assert!(!is_valid(0));
    }
}
