//! How an engine target's input becomes datagrams: split at every `IKE!` (an input without
//! one, such as a message target's seed, is one datagram).

pub const DELIM: &[u8] = b"IKE!";

pub fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(DELIM.len()).position(|w| w == DELIM) {
        out.push(&rest[..i]);
        rest = &rest[i + DELIM.len()..];
    }
    out.push(rest);
    out
}
