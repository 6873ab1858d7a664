//! `secret NAME psk 0xHEX | psk "text" | psk TEXT | psk-file PATH`: a named pre-shared key.

use std::path::Path;

use toolkit::config::{self, Words};
use zeroize::Zeroizing;

use super::{check_name, unquote};

/// A key file larger than this is no pre-shared key (and `/dev/zero` is refused unread).
const MAX_PSK_FILE_BYTES: u64 = 64 << 10;

pub(super) fn parse_secret<'a>(mut w: Words<'a>) -> Result<(&'a str, Zeroizing<Vec<u8>>), String> {
    let name = w.next("a secret name")?;
    check_name(name)?;
    let key = match (w.next_opt(), w.next_opt(), w.next_opt()) {
        (Some("psk"), Some(v), None) => parse_psk(v)?,
        (Some("psk-file"), Some(path), None) => read_psk_file(Path::new(unquote(path)))?,
        _ => return Err("secret NAME psk 0xHEX|\"text\" | secret NAME psk-file PATH".into()),
    };
    if key.is_empty() {
        return Err("an empty secret".into());
    }
    Ok((name, key))
}

/// The file's bytes without trailing line ends.
fn read_psk_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut bytes = Zeroizing::new(
        config::read_bounded_bytes(path, MAX_PSK_FILE_BYTES)
            .map_err(|e| format!("psk-file {}: {}", path.display(), e.reason))?,
    );
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    Ok(bytes)
}

/// The error never quotes the value: it is a secret.
fn parse_psk(v: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    if v.starts_with("0x") {
        return config::parse_hex(v)
            .map(Zeroizing::new)
            .map_err(|_| "psk: 0x must be followed by pairs of hex digits".into());
    }
    if v.starts_with('"') {
        if v.len() < 2 || !v.ends_with('"') {
            return Err("psk: unterminated quote".into());
        }
        return Ok(Zeroizing::new(unquote(v).as_bytes().to_vec()));
    }
    Ok(Zeroizing::new(v.as_bytes().to_vec()))
}
