//! The production randomness source: OpenSSL's CSPRNG.

use crate::rng::RngSource;

/// Random octets from OpenSSL's `RAND_bytes`.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenSslRng;

impl RngSource for OpenSslRng {
    fn fill(&mut self, buf: &mut [u8]) {
        // A CSPRNG that cannot produce output leaves no safe way to make keys, nonces or
        // SPIs: stopping is the only correct answer.
        #[allow(clippy::expect_used)]
        openssl::rand::rand_bytes(buf).expect("OpenSSL RAND_bytes failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills() {
        let mut a = [0u8; 32];
        OpenSslRng.fill(&mut a);
        assert_ne!(a, [0u8; 32]);
    }
}
