//! Reassembly of RFC 7383 fragments, after each one's ICV checked out. Bounded: at most
//! `MAX_FRAGMENTS` pieces and `MAX_MESSAGE_LEN` octets per message, one message per direction,
//! dropped when not complete within `REASSEMBLY_TIMEOUT`.

use std::time::Duration;

use crate::message::{parse_payload_chain, Payload, PayloadType, MAX_MESSAGE_LEN};

pub const MAX_FRAGMENTS: u16 = 64;
pub const REASSEMBLY_TIMEOUT: Duration = Duration::from_secs(30);

/// A message being put back together.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reassembly {
    pub message_id: u32,
    pub response: bool,
    pub total: u16,
    pub first: Option<PayloadType>,
    pub pieces: Vec<Option<Vec<u8>>>,
    pub octets: usize,
    pub expire: Duration,
}

/// What one more fragment gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    Incomplete,
    Complete(Vec<Payload>),
    /// Inconsistent with the others, over the bounds, or an inner chain that does not parse.
    Refused,
}

impl Reassembly {
    pub fn new(message_id: u32, response: bool, total: u16, now: Duration) -> Option<Reassembly> {
        (total > 0 && total <= MAX_FRAGMENTS).then(|| Reassembly {
            message_id,
            response,
            total,
            first: None,
            pieces: vec![None; usize::from(total)],
            octets: 0,
            expire: now + REASSEMBLY_TIMEOUT,
        })
    }

    /// Adds fragment `number` (1-based). Duplicates are ignored.
    pub fn add(&mut self, number: u16, total: u16, first: PayloadType, plain: Vec<u8>) -> Added {
        if total != self.total || number == 0 || number > total {
            return Added::Refused;
        }
        let Some(slot) = self.pieces.get_mut(usize::from(number - 1)) else {
            return Added::Refused;
        };
        if slot.is_some() {
            return Added::Incomplete;
        }
        if self.octets + plain.len() > MAX_MESSAGE_LEN {
            return Added::Refused;
        }
        self.octets += plain.len();
        if number == 1 {
            self.first = Some(first);
        }
        *slot = Some(plain);
        if self.pieces.iter().any(Option::is_none) {
            return Added::Incomplete;
        }
        let whole: Vec<u8> = self.pieces.iter().flatten().flatten().copied().collect();
        match self.first.map(|f| parse_payload_chain(f, &whole)) {
            Some(Ok(p)) => Added::Complete(p),
            _ => Added::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::emit_payload_chain;

    #[test]
    fn in_any_order_with_duplicates() {
        let payloads = vec![Payload::Nonce(vec![7; 40]), Payload::VendorId(vec![1; 30])];
        let (first, bytes) = emit_payload_chain(&payloads).unwrap();
        let parts: Vec<Vec<u8>> = bytes.chunks(20).map(<[u8]>::to_vec).collect();
        let n = parts.len() as u16;
        let mut r = Reassembly::new(5, false, n, Duration::ZERO).unwrap();
        for i in (1..n).rev() {
            let f = PayloadType::NO_NEXT_PAYLOAD;
            assert_eq!(
                r.add(i + 1, n, f, parts[i as usize].clone()),
                Added::Incomplete
            );
            assert_eq!(
                r.add(i + 1, n, f, parts[i as usize].clone()),
                Added::Incomplete
            );
        }
        assert_eq!(
            r.add(1, n, first, parts[0].clone()),
            Added::Complete(payloads)
        );
    }

    #[test]
    fn bounds() {
        assert!(Reassembly::new(1, false, 0, Duration::ZERO).is_none());
        assert!(Reassembly::new(1, false, MAX_FRAGMENTS + 1, Duration::ZERO).is_none());
        let mut r = Reassembly::new(1, false, 2, Duration::ZERO).unwrap();
        assert_eq!(r.add(3, 2, PayloadType::SA, vec![]), Added::Refused);
        assert_eq!(r.add(1, 3, PayloadType::SA, vec![]), Added::Refused);
        assert_eq!(
            r.add(1, 2, PayloadType::SA, vec![0; MAX_MESSAGE_LEN + 1]),
            Added::Refused
        );
        // Garbage that does not parse once complete.
        assert_eq!(r.add(1, 2, PayloadType::SA, vec![0; 3]), Added::Incomplete);
        assert_eq!(r.add(2, 2, PayloadType::SA, vec![0; 3]), Added::Refused);
    }
}
