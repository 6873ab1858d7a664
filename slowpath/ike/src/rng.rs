//! Randomness as an input: SPIs, nonces, D-H private values, jitter and cookie secrets all
//! come from a `RngSource` the caller hands in, so that tests are deterministic and nothing
//! in the state machines reads a global generator.

/// A source of random octets.
pub trait RngSource {
    fn fill(&mut self, buf: &mut [u8]);
}

/// Helpers over any source.
pub(crate) fn random_vec(rng: &mut dyn RngSource, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill(&mut v);
    v
}

pub(crate) fn random_u64(rng: &mut dyn RngSource) -> u64 {
    let mut b = [0u8; 8];
    rng.fill(&mut b);
    u64::from_be_bytes(b)
}

pub(crate) fn random_u32(rng: &mut dyn RngSource) -> u32 {
    let mut b = [0u8; 4];
    rng.fill(&mut b);
    u32::from_be_bytes(b)
}

/// A deterministic generator (SplitMix64) for tests and simulations. Not for real keys.
#[derive(Debug, Clone)]
pub struct TestRng {
    state: u64,
}

impl TestRng {
    pub fn new(seed: u64) -> TestRng {
        TestRng { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl RngSource for TestRng {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_be_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_seeded() {
        let (mut a, mut b, mut c) = (TestRng::new(1), TestRng::new(1), TestRng::new(2));
        let (x, y, z) = (
            random_vec(&mut a, 13),
            random_vec(&mut b, 13),
            random_vec(&mut c, 13),
        );
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_ne!(random_u64(&mut a), random_u64(&mut a));
    }
}
