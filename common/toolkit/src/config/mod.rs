//! What every configuration file shares: statements of whitespace-separated words, `#`
//! comments, `file:line: reason` errors, a size bound on reading, and the value parsers.
//!
//! A statement is one line. `#` starts a comment to the end of the line, outside double
//! quotes; a double-quoted run (`dn:"C=CH, O=Lab"`) stays inside one word, quotes kept, so
//! values with spaces need no second tokenizer. Blank and comment-only lines are skipped.

mod value;
mod words;

pub use value::{
    parse_hex, parse_ip, parse_prefix, parse_socket_addr, parse_u16, parse_u32, parse_u64, parse_u8,
};
pub use words::Words;

pub use crate::duration::parse_duration;

use std::io::Read;
use std::path::Path;

/// The bound [`read_bounded`] is usually given: far above any real configuration, far below
/// what would hurt to hold in memory.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// A refused configuration: where (`line` 0 is the file as a whole) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl ConfigError {
    pub fn at(file: &str, line: usize, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            file: file.to_string(),
            line,
            reason: reason.into(),
        }
    }
}

/// Reads a text file of at most `max_bytes`. A larger one (or an endless one such as
/// `/dev/zero`) is refused after reading `max_bytes + 1` bytes, never held whole.
pub fn read_bounded(path: &Path, max_bytes: u64) -> Result<String, ConfigError> {
    read_bounded_bytes(path, max_bytes).and_then(|bytes| {
        String::from_utf8(bytes)
            .map_err(|_| ConfigError::at(&path.display().to_string(), 0, "is not UTF-8 text"))
    })
}

/// [`read_bounded`] for files that need not be text (keys).
pub fn read_bounded_bytes(path: &Path, max_bytes: u64) -> Result<Vec<u8>, ConfigError> {
    let file = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| ConfigError::at(&file, 0, e.to_string()))?;
    let mut bytes = Vec::new();
    f.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ConfigError::at(&file, 0, e.to_string()))?;
    if bytes.len() as u64 > max_bytes {
        return Err(ConfigError::at(
            &file,
            0,
            format!("is over {max_bytes} bytes"),
        ));
    }
    Ok(bytes)
}

/// The statements of `text`: each non-blank line's 1-based number and its words.
pub fn statements(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines().enumerate().filter_map(|(n, line)| {
        let words = split_words(line);
        (!words.is_empty()).then_some((n + 1, words))
    })
}

/// One line's words, up to a `#` outside quotes.
fn split_words(line: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    let mut quoted = false;
    let mut end = line.len();
    for (i, c) in line.char_indices() {
        if c == '#' && !quoted {
            end = i;
            break;
        }
        if c.is_whitespace() && !quoted {
            if let Some(s) = start.take() {
                words.push(&line[s..i]);
            }
            continue;
        }
        if c == '"' {
            quoted = !quoted;
        }
        start.get_or_insert(i);
    }
    if let Some(s) = start {
        words.push(&line[s..end]);
    }
    words
}
