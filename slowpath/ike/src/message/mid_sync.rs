//! The data of IKEV2_MESSAGE_ID_SYNC (RFC 6311 4.1): a nonce that pairs the answer with the
//! request, then the sender's next request ID and the request ID it expects from the other
//! side. Twelve octets, nothing else.

use super::error::ParseError;

/// Nonce, EXPECTED_SEND_REQ_MESSAGE_ID, EXPECTED_RECV_REQ_MESSAGE_ID.
pub const MESSAGE_ID_SYNC_LEN: usize = 12;

/// One IKEV2_MESSAGE_ID_SYNC notify's values, from its sender's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessageIdSync {
    pub nonce: u32,
    /// The ID of the sender's next request.
    pub send: u32,
    /// The ID the sender expects of the other side's next request.
    pub recv: u32,
}

impl MessageIdSync {
    pub fn parse(data: &[u8]) -> Result<MessageIdSync, ParseError> {
        let b: [u8; MESSAGE_ID_SYNC_LEN] = data.try_into().map_err(|_| ParseError::BadLength {
            what: "IKEV2_MESSAGE_ID_SYNC data",
        })?;
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Ok(MessageIdSync {
            nonce: word(0),
            send: word(4),
            recv: word(8),
        })
    }

    pub fn to_bytes(self) -> Vec<u8> {
        [self.nonce, self.send, self.recv]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_lengths() {
        let m = MessageIdSync {
            nonce: 0xdead_beef,
            send: 7,
            recv: 0x0102_0304,
        };
        let b = m.to_bytes();
        assert_eq!(hex::encode(&b), "deadbeef0000000701020304");
        assert_eq!(MessageIdSync::parse(&b), Ok(m));
        for n in [0, 4, 11, 13] {
            assert_eq!(
                MessageIdSync::parse(&vec![0; n]),
                Err(ParseError::BadLength {
                    what: "IKEV2_MESSAGE_ID_SYNC data"
                })
            );
        }
    }
}
