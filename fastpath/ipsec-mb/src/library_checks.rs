//! Each own code path compared with the library once, where the first key is prepared (off
//! the packet path), before any packet takes it.
//!
//! Our own paths read what the library prepared (round keys, hash-key powers) in the layout
//! of its code path, which is the library's own business: `AesKeys::new` checks
//! `aes_cbc_x16`'s lanes, `GcmKey::new` the GCM paths, and each path is used only where its
//! [`Agreement`](crate::agreement::Agreement) holds.

use crate::keys::{AesKeys, GcmKey};
use crate::{aes_cbc_x16, gcm_long, gcm_short, sys};

impl AesKeys {
    /// Expands a 16- or 32-byte AES key; `None` for other lengths or if the library is unusable.
    /// The first call also checks, once, whether CBC encryption may take `aes_cbc_x16`'s lanes.
    pub fn new(key: &[u8]) -> Option<Box<AesKeys>> {
        let k = AesKeys::prepare(key)?;
        aes_cbc_x16::CHECKED.check_once(aes_cbc_x16::cpu_has, cbc_lanes_agree);
        Some(k)
    }
}

impl GcmKey {
    /// Prepares a 16- or 32-byte AES-GCM key (without the ESP salt). The first call also
    /// checks, once, whether texts may take `gcm_short`'s and `gcm_long`'s paths.
    pub fn new(key: &[u8]) -> Option<Box<GcmKey>> {
        let k = GcmKey::prepare(key)?;
        gcm_short::AGREES.check_once(gcm_short::cpu_has, gcm_paths_agree);
        Some(k)
    }
}

/// Whether `aes_cbc_x16`'s lanes give the library's ciphertext, for both key sizes, in one
/// group of mixed keys and lengths: a library whose key schedule is laid out otherwise must
/// not be read as the lanes read it.
fn cbc_lanes_agree() -> bool {
    let Some(mut mgr) = crate::Mgr::new() else {
        return false;
    };
    for key_len in [16, 32] {
        let keys: Option<Vec<Box<AesKeys>>> = (0..3u8)
            .map(|k| AesKeys::prepare(&vec![k * 41 + 7; key_len]))
            .collect();
        let Some(keys) = keys else {
            return false;
        };
        let lens = [
            16, 32, 48, 64, 80, 96, 112, 1408, 16, 640, 32, 48, 1024, 208, 16, 96, 256,
        ];
        let plain: Vec<Vec<u8>> = lens
            .iter()
            .map(|&n| (0..n).map(|b| (b * 5 + n) as u8).collect())
            .collect();
        let ivs: Vec<[u8; 16]> = (0..lens.len()).map(|i| [i as u8 ^ 0x5c; 16]).collect();
        let mut mine = plain.clone();
        let mut jobs: Vec<sys::IMB_JOB> = mine
            .iter_mut()
            .enumerate()
            .map(|(i, m)| aes_cbc_x16::raw_job(&keys[i % keys.len()], &ivs[i], m))
            .collect();
        // SAFETY: cpu_has() held (the caller checks it first); each job points at live
        // buffers of its lengths, whole blocks.
        unsafe { aes_cbc_x16::encrypt_jobs(&mut jobs, key_len) };
        for (i, mut want) in plain.into_iter().enumerate() {
            let n = want.len();
            let job = crate::Job {
                cipher: crate::Cipher::AesCbc {
                    keys: &keys[i % keys.len()],
                    iv: crate::CbcIv::Value(ivs[i]),
                },
                cipher_len: n,
                buf: &mut want,
                ..Default::default()
            };
            match mgr.run_one(job) {
                Some((crate::JobStatus::Done, _)) if want == mine[i] => {}
                _ => return false,
            }
        }
    }
    true
}

/// Whether `gcm_short`'s and `gcm_long`'s paths give the
/// library's ciphertext and tag, for both key sizes, both directions and lengths across
/// block and group edges: the library's key table layout is its own business, and a build
/// of it whose VAES code path keeps the powers elsewhere must not be read as this one.
fn gcm_paths_agree() -> bool {
    let Some(mut mgr) = crate::Mgr::new() else {
        return false;
    };
    mgr.set_own_gcm(false);
    for key_len in [16, 32] {
        let bytes: Vec<u8> = (0..key_len).map(|i| (i * 29 + 5) as u8).collect();
        let Some(key) = GcmKey::prepare(&bytes) else {
            return false;
        };
        let long = gcm_long::LONGEST;
        for len in [
            1,
            15,
            16,
            17,
            52,
            63,
            64,
            65,
            200,
            gcm_short::UP_TO,
            257,
            511,
            512,
            1400,
            1417,
            long,
        ] {
            let own = if len <= gcm_short::UP_TO {
                gcm_short::seal_or_open
            } else {
                gcm_long::seal_or_open
            };
            let nonce = [len as u8; 12];
            let aad = [0xa5u8; 12];
            let plain: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let (mut want, mut mine) = (plain.clone(), plain.clone());
            let (mut want_tag, mut my_tag) = ([0u8; 16], [0u8; 16]);
            for seal in [true, false] {
                let dir = if seal {
                    crate::Dir::Encrypt
                } else {
                    crate::Dir::Decrypt
                };
                mgr.gcm(dir, &key, &nonce, &aad, &mut want, &mut want_tag);
                // SAFETY: cpu_has() held (the caller checks it first); the lengths are in range.
                unsafe {
                    own(
                        &key,
                        gcm_short::Msg {
                            seal,
                            nonce: &nonce,
                            aad: &aad,
                            text: &mut mine,
                            tag: &mut my_tag,
                        },
                    )
                };
                if (&want, want_tag) != (&mine, my_tag) {
                    return false;
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cbc_check_against_the_library_passes_where_the_cpu_has_the_lanes() {
        aes_cbc_x16::CHECKED.check_once(aes_cbc_x16::cpu_has, cbc_lanes_agree);
        assert_eq!(aes_cbc_x16::CHECKED.holds(), aes_cbc_x16::cpu_has());
    }

    #[test]
    fn the_gcm_check_against_the_library_passes_where_the_cpu_has_the_paths() {
        gcm_short::AGREES.check_once(gcm_short::cpu_has, gcm_paths_agree);
        assert_eq!(gcm_short::usable(), gcm_short::cpu_has());
    }
}
