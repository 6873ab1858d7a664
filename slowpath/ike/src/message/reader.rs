//! Checked reading and writing of wire fields. Every read checks the length first, so a short
//! input is a `ParseError::Truncated`, never a panic; every length field written is checked
//! against its width, so an oversized value is an `EmitError`, never a silent wrap.

use super::error::{EmitError, ParseError};

/// A cursor over a byte slice. `what` names the structure being read, for the error.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { buf, pos: 0, what }
    }

    /// Octets not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Offset of the next octet from the start of the slice.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The next `n` octets.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self.pos.checked_add(n).ok_or(self.truncated())?;
        let out = self.buf.get(self.pos..end).ok_or(self.truncated())?;
        self.pos = end;
        Ok(out)
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        out
    }

    /// A reader over the next `n` octets (a substructure with its own length), named `what`.
    pub(crate) fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, ParseError> {
        let buf = self.bytes(n)?;
        Ok(Reader::new(buf, what))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, ParseError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ParseError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, ParseError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], ParseError> {
        let b = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Skips `n` RESERVED octets: "MUST be sent as zero; MUST be ignored on receipt" (RFC 7296
    /// section 3), so their value is not checked.
    pub(crate) fn reserved(&mut self, n: usize) -> Result<(), ParseError> {
        self.bytes(n).map(|_| ())
    }

    fn truncated(&self) -> ParseError {
        ParseError::Truncated { what: self.what }
    }
}

/// Appends a 16-bit length placeholder and returns its offset, for `fill_length`.
pub(crate) fn placeholder_u16(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    at
}

/// Writes the length of what was appended since `start` into the slot at `at` (from
/// `placeholder_u16`), or fails if it does not fit in 16 bits.
pub(crate) fn fill_length(
    out: &mut [u8],
    at: usize,
    start: usize,
    what: &'static str,
) -> Result<(), EmitError> {
    let len = out
        .len()
        .checked_sub(start)
        .ok_or(EmitError::TooLong { what })?;
    let v = u16::try_from(len).map_err(|_| EmitError::TooLong { what })?;
    let end = at.checked_add(2).ok_or(EmitError::TooLong { what })?;
    let slot = out.get_mut(at..end).ok_or(EmitError::TooLong { what })?;
    slot.copy_from_slice(&v.to_be_bytes());
    Ok(())
}

/// A count or size that must fit in one octet.
pub(crate) fn fit_u8(value: usize, what: &'static str) -> Result<u8, EmitError> {
    u8::try_from(value).map_err(|_| EmitError::TooMany { what })
}

/// A count or size that must fit in two octets.
pub(crate) fn fit_u16(value: usize, what: &'static str) -> Result<u16, EmitError> {
    u16::try_from(value).map_err(|_| EmitError::TooMany { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_checked() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5], "thing");
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(0x0203));
        assert_eq!(r.remaining(), 2);
        assert_eq!(r.u32(), Err(ParseError::Truncated { what: "thing" }));
        // A failed read consumes nothing.
        assert_eq!(r.position(), 3);
        assert_eq!(
            r.bytes(usize::MAX),
            Err(ParseError::Truncated { what: "thing" })
        );
        let mut s = r.sub(2, "inner").unwrap();
        assert_eq!(s.u16(), Ok(0x0405));
        assert_eq!(s.u8(), Err(ParseError::Truncated { what: "inner" }));
        assert!(r.is_empty());
        assert_eq!(r.rest(), &[] as &[u8]);
        assert_eq!(
            Reader::new(&[0; 7], "x").u64(),
            Err(ParseError::Truncated { what: "x" })
        );
    }

    #[test]
    fn writes_are_checked() {
        let mut out = vec![9];
        let at = placeholder_u16(&mut out);
        out.push(7);
        fill_length(&mut out, at, 0, "x").unwrap();
        assert_eq!(out, [9, 0, 4, 7]);
        out.resize(65536, 0);
        assert_eq!(
            fill_length(&mut out, at, 0, "x"),
            Err(EmitError::TooLong { what: "x" })
        );
        assert_eq!(fill_length(&mut out, 1, 1, "x"), Ok(()));
        assert_eq!(
            fill_length(&mut out, 65535, 1, "x"),
            Err(EmitError::TooLong { what: "x" })
        );
        assert_eq!(fit_u8(256, "y"), Err(EmitError::TooMany { what: "y" }));
        assert_eq!(fit_u16(65535, "y"), Ok(65535));
    }
}
