//! Test vectors are written in hex, as the RFCs print them.

/// The bytes of a string of hex digit pairs.
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
