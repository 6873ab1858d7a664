//! A cursor over one statement's words, with typed takers.

use std::net::IpAddr;
use std::time::Duration;

use super::value;

/// The words of a statement not yet taken. Takers name what they take (`what`), so a missing
/// or bad word's reason says which value it is.
#[derive(Debug, Clone)]
pub struct Words<'a> {
    words: &'a [&'a str],
}

impl<'a> Words<'a> {
    pub fn new(words: &'a [&'a str]) -> Words<'a> {
        Words { words }
    }

    /// Takes the next word; "missing {what}" when there is none.
    pub fn next(&mut self, what: &str) -> Result<&'a str, String> {
        let (first, rest) = self
            .words
            .split_first()
            .ok_or_else(|| format!("missing {what}"))?;
        self.words = rest;
        Ok(first)
    }

    /// Takes the next word if there is one (for loops over options).
    pub fn next_opt(&mut self) -> Option<&'a str> {
        let (first, rest) = self.words.split_first()?;
        self.words = rest;
        Some(first)
    }

    pub fn peek(&self) -> Option<&'a str> {
        self.words.first().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words not yet taken (the cursor does not move).
    pub fn rest(&self) -> &'a [&'a str] {
        self.words
    }

    /// Refuses a statement with words left over: "unexpected `w`".
    pub fn end(&self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(w) => Err(format!("unexpected `{w}`")),
        }
    }

    /// Takes the next word and parses it; the reason is prefixed with `what`.
    pub fn next_with<T>(
        &mut self,
        what: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, String> {
        let w = self.next(what)?;
        parse(w).map_err(|reason| format!("{what}: {reason}"))
    }

    pub fn next_u64(&mut self, what: &str) -> Result<u64, String> {
        self.next_with(what, value::parse_u64)
    }

    pub fn next_u32(&mut self, what: &str) -> Result<u32, String> {
        self.next_with(what, value::parse_u32)
    }

    pub fn next_u16(&mut self, what: &str) -> Result<u16, String> {
        self.next_with(what, value::parse_u16)
    }

    pub fn next_u8(&mut self, what: &str) -> Result<u8, String> {
        self.next_with(what, value::parse_u8)
    }

    pub fn next_ip(&mut self, what: &str) -> Result<IpAddr, String> {
        self.next_with(what, value::parse_ip)
    }

    pub fn next_socket_addr(&mut self, what: &str) -> Result<std::net::SocketAddr, String> {
        self.next_with(what, value::parse_socket_addr)
    }

    pub fn next_prefix(&mut self, what: &str) -> Result<(IpAddr, u8), String> {
        self.next_with(what, value::parse_prefix)
    }

    pub fn next_hex(&mut self, what: &str) -> Result<Vec<u8>, String> {
        self.next_with(what, value::parse_hex)
    }

    pub fn next_duration(&mut self, what: &str) -> Result<Duration, String> {
        self.next_with(what, crate::duration::parse_duration)
    }
}
