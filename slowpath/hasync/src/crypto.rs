//! Keys and the AEAD (AES-256-GCM) of the sync channel.
//!
//! Why a (key, nonce) pair never repeats, across restarts too: each direction has its own key,
//! `HKDF-SHA256(sync key, info = label | sender node | sender session)`, where the session is
//! the sender's random per-boot nonce (128 bits, drawn by the caller at every start). The
//! nonce is the sender's datagram counter, which only goes up within one boot. A restarted
//! node draws a new session, so it has a new key and its counter may start at 0 again; the
//! same key comes back only if a session is drawn twice (2^-128 per pair of boots). The two
//! directions never share a key: the sender's node id is in the info. The receiver learns the
//! sender's session from the header (which is the AAD, so a changed session fails to open).

use hkdf::Hkdf;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::config::NodeId;

/// A node's per-boot session: random, drawn by the caller at every start.
pub type SessionId = [u8; 16];

/// The AEAD tag after the ciphertext.
pub const TAG_LEN: usize = 16;

const KEY_LABEL: &[u8] = b"ipsec-gw ha sync v1 key";
const CHALLENGE_LABEL: &[u8] = b"ipsec-gw ha sync v1 challenge";

/// One direction's key: the sender seals with it, the receiver opens.
pub struct DirectionKey {
    key: LessSafeKey,
}

impl DirectionKey {
    pub fn derive(sync_key: &[u8], sender: NodeId, session: &SessionId) -> Self {
        let mut okm = Zeroizing::new([0u8; 32]);
        expand(
            sync_key,
            &[KEY_LABEL, &[sender.get()], session],
            &mut okm[..],
        );
        let unbound = UnboundKey::new(&AES_256_GCM, &okm[..]).expect("32 bytes is an AES-256 key");
        DirectionKey {
            key: LessSafeKey::new(unbound),
        }
    }

    /// Encrypts `payload` in place and appends the tag; `header` is authenticated only.
    pub fn seal(&self, counter: u64, header: &[u8], payload: &mut Vec<u8>) {
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce(counter), Aad::from(header), payload)
            .expect("a sync payload is far below the AES-GCM length limit");
        payload.extend_from_slice(tag.as_ref());
    }

    /// Decrypts ciphertext-and-tag in place; the plaintext, or `None` if it does not
    /// authenticate.
    pub fn open<'a>(&self, counter: u64, header: &[u8], sealed: &'a mut [u8]) -> Option<&'a [u8]> {
        if sealed.len() < TAG_LEN {
            return None;
        }
        self.key
            .open_in_place(nonce(counter), Aad::from(header), sealed)
            .ok()
            .map(|p| &*p)
    }
}

/// The first challenge of a boot: unpredictable and distinct per session, so that an echo of
/// a previous boot's challenge does not match this one's.
pub fn first_challenge(sync_key: &[u8], node: NodeId, session: &SessionId) -> u64 {
    let mut out = [0u8; 8];
    expand(
        sync_key,
        &[CHALLENGE_LABEL, &[node.get()], session],
        &mut out,
    );
    // 0 means "no challenge heard" on the wire; keep well away from wrapping.
    u64::from_be_bytes(out) >> 1 | 1
}

fn expand(sync_key: &[u8], info: &[&[u8]], out: &mut [u8]) {
    Hkdf::<Sha256>::new(None, sync_key)
        .expand_multi_info(info, out)
        .expect("HKDF-SHA256 expands up to 8160 bytes");
}

fn nonce(counter: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn node(i: u8) -> NodeId {
        NodeId::new(i).unwrap()
    }

    fn sealed(k: &DirectionKey, counter: u64, msg: &[u8]) -> Vec<u8> {
        let mut v = msg.to_vec();
        k.seal(counter, b"hdr", &mut v);
        v
    }

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let k = DirectionKey::derive(KEY, node(1), &[7; 16]);
        let mut ct = sealed(&k, 5, b"hello");
        assert_eq!(ct.len(), 5 + TAG_LEN);
        assert_eq!(k.open(5, b"hdr", &mut ct.clone()), Some(&b"hello"[..]));
        assert_eq!(k.open(6, b"hdr", &mut ct.clone()), None, "other counter");
        assert_eq!(k.open(5, b"hdx", &mut ct.clone()), None, "other header");
        ct[0] ^= 1;
        assert_eq!(k.open(5, b"hdr", &mut ct), None, "flipped bit");
        assert_eq!(k.open(5, b"hdr", &mut [0u8; 3]), None, "shorter than a tag");
    }

    /// Restarts and directions: every (node, session) gets its own key, so a restarted node
    /// whose counter starts again at 0 never seals under a key it used before, and the two
    /// directions never share one.
    #[test]
    fn keys_differ_by_direction_and_boot() {
        let boot1 = [1u8; 16];
        let boot2 = [2u8; 16];
        let a = sealed(&DirectionKey::derive(KEY, node(1), &boot1), 0, &[0; 32]);
        let b = sealed(&DirectionKey::derive(KEY, node(1), &boot2), 0, &[0; 32]);
        let c = sealed(&DirectionKey::derive(KEY, node(2), &boot1), 0, &[0; 32]);
        let d = sealed(
            &DirectionKey::derive(b"another sync key........", node(1), &boot1),
            0,
            &[0; 32],
        );
        assert_ne!(a, b, "a new boot, the same counter: another keystream");
        assert_ne!(a, c, "the other direction: another keystream");
        assert_ne!(a, d, "another sync key");
        let again = sealed(&DirectionKey::derive(KEY, node(1), &boot1), 0, &[0; 32]);
        assert_eq!(
            a, again,
            "derivation is deterministic: the receiver finds the key"
        );
    }

    #[test]
    fn challenges_differ_per_boot_and_are_never_zero() {
        let c1 = first_challenge(KEY, node(1), &[1; 16]);
        let c2 = first_challenge(KEY, node(1), &[2; 16]);
        assert_ne!(c1, c2);
        assert_ne!(c1, 0);
        assert!(c1 < u64::MAX / 2 + 1);
    }
}
