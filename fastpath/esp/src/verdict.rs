//! What became of each packet of a burst.

use crate::counters::DropReason;

/// The most packets one call processes; longer bursts are taken in chunks of this size.
pub const MAX_BURST: usize = 64;

/// The outcome for one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Processed: send it on.
    Forward,
    /// Not ESP for us (IKE, NAT keepalive, other traffic): give it to the kernel.
    Exception,
    /// An outer fragment: reassemble it, then submit the whole packet again.
    Fragment,
    /// An RFC 4303 dummy packet (next header 59): accepted by the window, then discarded.
    Dummy,
    /// Dropped, and counted.
    Drop(DropReason),
}

/// The ESP trailer fields (RFC 4303 §2.4-2.6) of a plaintext of `payload_len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrailerLayout {
    pub pad_len: usize,
    /// Payload, padding, pad length and next header: the length that is encrypted.
    pub ciphertext_len: usize,
}

impl TrailerLayout {
    /// Pads so that payload || padding || pad length || next header fills whole blocks
    /// (`block`: 4 or 16, or the power of two above it, at least 4).
    #[inline]
    pub fn new(payload_len: usize, block: usize) -> TrailerLayout {
        // A mask, not a division: this, `Session::frame`'s and inbound's length checks were a
        // packet's only divisions, each a DIV's latency per packet.
        let block = block.max(4).next_power_of_two();
        let unpadded = payload_len + crate::wire::ESP_TRAILER_LEN;
        let ciphertext_len = (unpadded + block - 1) & !(block - 1);
        TrailerLayout {
            pad_len: ciphertext_len - unpadded,
            ciphertext_len,
        }
    }
}

/// The default padding (RFC 4303 §2.4): 1, 2, 3, ..., 255; copied or compared as one slice
/// rather than a byte at a time.
const PADDING: [u8; 255] = {
    let mut p = [0u8; 255];
    let mut i = 0;
    while i < 255 {
        p[i] = (i + 1) as u8;
        i += 1;
    }
    p
};

/// Byte `16 + i` is `i + 1`: bytes `pad_len..pad_len + 16` are the 16 bytes that end with
/// `pad_len` bytes of padding, 0 in front of them.
const PAD_RAMP: [u8; 32] = {
    let mut t = [0u8; 32];
    let mut i = 16;
    while i < 32 {
        t[i] = (i - 15) as u8;
        i += 1;
    }
    t
};

/// Bytes `pad_len..pad_len + 16`: 0xff over the last `pad_len` of 16 bytes, 0 in front.
const PAD_MASK: [u8; 32] = {
    let mut t = [0u8; 32];
    let mut i = 16;
    while i < 32 {
        t[i] = 0xff;
        i += 1;
    }
    t
};

/// Writes padding 1, 2, 3, ..., the pad length and the next header at the start of `tail`
/// (`pad_len + 2` bytes; `pad_len` at most 255). Bytes of `tail` after those may be
/// overwritten (up to 16 from its start): pass the room for the ICV with it, and padding up
/// to a block is one 16-byte store instead of a call to memcpy.
#[inline]
pub fn write_trailer(tail: &mut [u8], pad_len: usize, next_header: u8) {
    // The usual trailer (padding to a block) as one 16-byte store; the long one apart, so
    // that the two copies do not merge into one memcpy call of either length per packet.
    match tail.first_chunk_mut::<16>() {
        Some(t) if pad_len <= 14 => {
            *t = PADDING16;
            t[pad_len] = pad_len as u8;
            t[pad_len + 1] = next_header;
        }
        _ => write_long_trailer(tail, pad_len, next_header),
    }
}

/// The first block of the padding, for the one store of the usual trailer.
const PADDING16: [u8; 16] = match PADDING.first_chunk::<16>() {
    Some(p) => *p,
    None => panic!("PADDING has 255 bytes"),
};

/// A trailer whose padding does not fit one store with its two bytes (CBC's, 15 bytes), or
/// whose `tail` is shorter than 16 bytes.
#[cold]
#[inline(never)]
fn write_long_trailer(tail: &mut [u8], pad_len: usize, next_header: u8) {
    tail[..pad_len].copy_from_slice(&PADDING[..pad_len]);
    tail[pad_len] = pad_len as u8;
    tail[pad_len + 1] = next_header;
}

/// Reads and checks the trailer at the end of a decrypted `plaintext`: returns the payload
/// length and next header, or `None` for bad padding.
#[inline]
pub fn read_trailer(plaintext: &[u8]) -> Option<(usize, u8)> {
    let n = plaintext.len();
    if n < 2 {
        return None;
    }
    let pad_len = plaintext[n - 2] as usize;
    let next_header = plaintext[n - 1];
    if pad_len == 0 {
        return Some((n - 2, next_header));
    }
    if let (Some(&last), true) = (plaintext[..n - 2].last_chunk::<16>(), pad_len <= 16) {
        // Up to 16 bytes of padding in one compare: the 16 bytes before the pad length
        // against the ramp 1..=pad_len, the bytes in front of the padding masked off.
        let window = |t: &[u8; 32]| {
            let mut w = [0u8; 16];
            w.copy_from_slice(&t[pad_len..pad_len + 16]);
            u128::from_le_bytes(w)
        };
        let d = (u128::from_le_bytes(last) ^ window(&PAD_RAMP)) & window(&PAD_MASK);
        return (d == 0).then_some((n - 2 - pad_len, next_header));
    }
    let payload_len = n.checked_sub(2 + pad_len)?;
    // No early exit and no memcmp call: the padding is a few bytes.
    let pad = &plaintext[payload_len..n - 2];
    if pad.iter().zip(&PADDING).fold(0u8, |d, (a, b)| d | (a ^ b)) != 0 {
        return None;
    }
    Some((payload_len, next_header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_round_trips_for_every_length_and_block() {
        for block in [4, 16] {
            for len in 0..100 {
                let t = TrailerLayout::new(len, block);
                assert_eq!(t.ciphertext_len % block, 0);
                assert!(t.pad_len < block);
                let mut pt = vec![0xaa; t.ciphertext_len];
                write_trailer(&mut pt[len..], t.pad_len, 4);
                assert_eq!(read_trailer(&pt), Some((len, 4)));
            }
        }
    }

    /// With the ICV's room after the trailer (as outbound passes it), the padding is written
    /// in one store that runs into that room: the bytes before the trailer stay as they were.
    #[test]
    fn trailer_with_room_after_it_round_trips_and_leaves_the_payload() {
        for block in [4, 16] {
            for len in 0..100 {
                let t = TrailerLayout::new(len, block);
                let mut pt = vec![0xaa; t.ciphertext_len + 16];
                write_trailer(&mut pt[len..], t.pad_len, 41);
                assert_eq!(read_trailer(&pt[..t.ciphertext_len]), Some((len, 41)));
                assert!(pt[..len].iter().all(|&b| b == 0xaa), "len {len}");
            }
        }
    }

    /// Every pad length the field can hold (up to 16 in one compare, longer in the loop),
    /// after payloads of several lengths, some ending in bytes that look like padding: the
    /// trailer is read, a padding byte changed anywhere is refused, and so is a pad length
    /// longer than the text.
    #[test]
    fn every_pad_length_is_checked_to_the_byte() {
        for pad_len in 0..=255usize {
            for payload in [0usize, 1, 13, 14, 15, 16, 17, 40] {
                let mut pt: Vec<u8> = (0..payload).map(|i| (payload - i) as u8).collect();
                pt.extend_from_slice(&PADDING[..pad_len]);
                pt.extend_from_slice(&[pad_len as u8, 41]);
                assert_eq!(read_trailer(&pt), Some((payload, 41)), "pad {pad_len}");
                for i in payload..payload + pad_len {
                    let mut bad = pt.clone();
                    bad[i] ^= 0x80;
                    assert_eq!(read_trailer(&bad), None, "pad {pad_len} byte {i}");
                }
                let short = &pt[payload + 1..];
                if pad_len > 0 {
                    assert_eq!(read_trailer(short), None, "pad {pad_len} one short");
                }
            }
        }
    }

    #[test]
    fn bad_padding_is_refused() {
        let mut pt = vec![0u8; 16];
        write_trailer(&mut pt[10..], 4, 4);
        let mut bad = pt.clone();
        bad[11] = 9;
        assert_eq!(read_trailer(&bad), None);
        let mut overrun = pt.clone();
        overrun[14] = 15;
        assert_eq!(read_trailer(&overrun), None);
        assert_eq!(read_trailer(&[1]), None);
        assert_eq!(read_trailer(&pt), Some((10, 4)));
    }
}
