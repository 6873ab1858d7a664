//! AES-GCM of one long message in AVX-512 registers, reading only the first 17 hash-key
//! powers of the library's table.
//!
//! The library's VAES code multiplies a message of n blocks by the powers H^n..H^1 (all 48
//! of its table from 48 blocks on: 13 cache lines for a 1400-byte packet), which with
//! 100,000 SAs are misses to memory. Here the text goes in groups of 16 blocks: each group's
//! counter blocks through the rounds in four 512-bit registers, its ciphertext hashed
//! against H^16..H^1 (four registers, loaded once), the products summed unreduced, reduced
//! lane by lane once a group and folded, the running GHASH value added to the group's first
//! block (Horner's rule over groups); the last 0-15 blocks and the length block take
//! H^17..H^1. Those are the table's last 272 bytes, 5 lines. The round keys and powers are
//! the library's (`gcm_key_data`), as in `gcm_short`, whose helpers this uses; the one-time
//! check against the library (`library_checks`) covers both paths, and [`gcm_short::usable`]
//! holds for both.
//!
//! With the key in cache the library is faster at sealing (the chain of one reduction a
//! group is what this path pays for reading fewer powers), so `Mgr::gcm` takes this path
//! for keys that may be out of cache, and for opening long texts ([`OPEN_HOT_FROM`]).

use crate::gcm_short::{
    add_one, aes, counters, finish, first_bytes, power_at, reflect_mask, round_keys, step, Msg,
    Sums,
};
use crate::keys::GcmKey;
use std::arch::x86_64::*;

/// Blocks a group hashes against H^16..H^1 with one reduction.
pub(crate) const GROUP_BLOCKS: usize = 16;

/// The powers this path reads, H^17..H^1: a tail of 16 blocks and the length block take
/// H^17, which the library's table keeps on H^16's line (`keys.rs` counts the lines).
pub(crate) const POWERS_READ: usize = GROUP_BLOCKS + 1;
const GROUP: usize = GROUP_BLOCKS * 16;

/// Opening texts of this many bytes or more takes this path even with the key in cache. In
/// the real process with one SA, every op on this path, time per burst over the library's
/// (`bench/ab_interleaved.sh`, both orders): open 0.98 at 1400-byte frames (texts of about
/// 1350 bytes), 1.01-1.02 at 512 (about 450); seal 1.02 at 1400, 1.00 at 512.
pub(crate) const OPEN_HOT_FROM: usize = 1024;

/// The longest text: its counter blocks (from 2) stay in the counter's last byte.
pub(crate) const LONGEST: usize = 254 * 16;

/// Whether a text of `len` bytes takes this path (shorter ones take `gcm_short`'s).
#[inline(always)]
pub(crate) fn takes(len: usize) -> bool {
    len > crate::gcm_short::UP_TO && len <= LONGEST
}

/// Whether sealing or opening a text of about `len` bytes under a key that may be out of
/// cache reads only H^17..H^1 (this path runs, not the library's code), for the prefetch of
/// a key's lines.
#[inline(always)]
pub(crate) fn reads_few_powers(len: usize) -> bool {
    takes(len) && crate::gcm_short::usable()
}

/// Encrypts (`seal`) or decrypts `text` in place under `key`, the 12-byte `nonce` and
/// `aad`, and writes the tag computed (over the ciphertext) into `tag`, as the library's
/// direct functions do.
///
/// # Safety
/// `gcm_short::cpu_has` must be true, and `0 < text.len() <= LONGEST`,
/// `aad.len() <= gcm_short::AAD_MAX`, `tag.len() <= 16`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,aes,pclmulqdq")]
pub(crate) unsafe fn seal_or_open(key: &GcmKey, m: Msg<'_>) {
    assert!(!m.text.is_empty() && m.text.len() <= LONGEST);
    debug_assert!(m.aad.len() <= crate::gcm_short::AAD_MAX && m.tag.len() <= 16);
    // SAFETY: forwarded from the caller.
    unsafe {
        match key.key_len() {
            16 => run::<10>(key, m),
            _ => run::<14>(key, m),
        }
    }
}

/// AES of `regs` (0-4) registers of counter blocks from `ctr`, the rest left as they are.
#[inline]
#[target_feature(enable = "avx512f,vaes")]
fn aes_regs<const NR: usize>(rk: &[__m512i; 15], ctr: __m512i, regs: usize) -> [__m512i; 4] {
    let four = step(4);
    let c1 = _mm512_add_epi32(ctr, four);
    let c2 = _mm512_add_epi32(c1, four);
    let c3 = _mm512_add_epi32(c2, four);
    match regs {
        0 => [ctr; 4],
        1 => {
            let [a] = aes::<NR, 1>(rk, [ctr]);
            [a; 4]
        }
        2 => {
            let [a, b] = aes::<NR, 2>(rk, [ctr, c1]);
            [a, b, b, b]
        }
        3 => {
            let [a, b, c] = aes::<NR, 3>(rk, [ctr, c1, c2]);
            [a, b, c, c]
        }
        _ => aes::<NR, 4>(rk, [ctr, c1, c2, c3]),
    }
}

/// XORs the key stream `ks` into the bytes `mask` picks at `at`, in place, and returns the
/// ciphertext (the result when sealing, the input when opening), zero past the mask.
///
/// # Safety
/// The mask's bytes from `at` must be writable.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn xor_in_place(at: *mut u8, mask: u64, ks: __m512i, seal: bool) -> __m512i {
    // SAFETY: forwarded from the caller.
    unsafe {
        if mask == u64::MAX {
            // Plain loads and stores, which later reads of the packet forward from (a masked
            // store does not).
            let input = _mm512_loadu_si512(at.cast());
            let out = _mm512_xor_si512(input, ks);
            _mm512_storeu_si512(at.cast(), out);
            if seal {
                out
            } else {
                input
            }
        } else {
            let input = _mm512_maskz_loadu_epi8(mask, at.cast());
            let out = _mm512_maskz_mov_epi8(mask, _mm512_xor_si512(input, ks));
            _mm512_mask_storeu_epi8(at.cast(), mask, out);
            if seal {
                out
            } else {
                input
            }
        }
    }
}

/// `lanes` (1-4) consecutive powers of the table from `first` down, zeros in the other lanes.
///
/// # Safety
/// `lanes` entries from `first` must be in the table.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn powers(first: *const u8, lanes: usize) -> __m512i {
    // SAFETY: forwarded from the caller.
    unsafe { _mm512_maskz_loadu_epi64(((1u32 << (2 * lanes)) - 1) as u8, first.cast()) }
}

/// Blocks `x` (reflected) with the running GHASH value `acc` added to the first lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn lead(x: __m512i, acc: __m128i) -> __m512i {
    _mm512_xor_si512(x, _mm512_zextsi128_si512(acc))
}

/// [`seal_or_open`] for AES with `NR` rounds (10: AES-128, 14: AES-256).
///
/// # Safety
/// As for [`seal_or_open`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,aes,pclmulqdq")]
unsafe fn run<const NR: usize>(key: &GcmKey, m: Msg<'_>) {
    let (seal, aad, text) = (m.seal, m.aad, m.text);
    let rk = round_keys::<NR>(key);
    let power = power_at(key);
    // H^16..H^13, H^12..H^9, H^8..H^5, H^4..H^1: a whole group's powers.
    // SAFETY: powers 16 down to 1 are the table's last 256 bytes.
    let h: [__m512i; 4] =
        std::array::from_fn(|j| unsafe { _mm512_loadu_si512(power(16 - 4 * j).cast()) });
    let h1 = _mm512_extracti32x4_epi32::<3>(h[3]);
    let (j0, mut ctr) = counters(m.nonce);
    let sixteen = step(16);
    let [ek_j0] = aes::<NR, 1>(&rk, [_mm512_broadcast_i32x4(j0)]);
    let reflect = reflect_mask();
    let reflect4 = _mm512_broadcast_i32x4(reflect);

    // The AAD's block first: acc = A * H.
    let mut acc = _mm_setzero_si128();
    if !aad.is_empty() {
        // SAFETY: the mask covers the AAD's bytes.
        let a = unsafe { _mm_maskz_loadu_epi8(first_bytes(aad.len()) as u16, aad.as_ptr().cast()) };
        let mut s = (
            _mm_setzero_si128(),
            _mm_setzero_si128(),
            _mm_setzero_si128(),
        );
        add_one(&mut s, _mm_shuffle_epi8(a, reflect), h1);
        acc = finish(s);
    }

    let len = text.len();
    let p = text.as_mut_ptr();
    let groups = len / GROUP;
    // The last 0..255 bytes, r blocks, hashed with the length block after them: powers
    // H^(r+1)..H^1, up to H^17, which is on H^16's line.
    let at = groups * GROUP;
    let rest = len - at;
    let r = rest.div_ceil(16);
    let regs = rest.div_ceil(64);

    for g in 0..groups {
        let ks = aes_regs::<NR>(&rk, ctr, 4);
        ctr = _mm512_add_epi32(ctr, sixteen);
        let mut sums = Sums::zero();
        for (j, ks) in ks.iter().enumerate() {
            // SAFETY: a group's bytes are in the text.
            let ct = unsafe { xor_in_place(p.add(g * GROUP + 64 * j), u64::MAX, *ks, seal) };
            let ct = _mm512_shuffle_epi8(ct, reflect4);
            sums.add(if j == 0 { lead(ct, acc) } else { ct }, h[j]);
        }
        acc = sums.reduced();
    }

    let tail_ks = aes_regs::<NR>(&rk, ctr, regs);
    let mut sums = Sums::zero();
    for (j, ks) in tail_ks.iter().enumerate().take(regs) {
        let at = at + 64 * j;
        // SAFETY: the mask covers only bytes at..len of the text.
        let ct = unsafe { xor_in_place(p.add(at), first_bytes(len - at), *ks, seal) };
        let ct = _mm512_shuffle_epi8(ct, reflect4);
        // Tail block 4j + i takes the power r + 1 - 4j - i: consecutive table entries
        // from the lane's first; lanes past the text are zeros and read no power.
        // SAFETY: the first lane's power, r + 1 - 4j <= 17, is in the table, and the
        // lanes' powers down from it too.
        let hj = unsafe { powers(power(r + 1 - 4 * j), (r - 4 * j).min(4)) };
        sums.add(if j == 0 { lead(ct, acc) } else { ct }, hj);
    }
    // The length block (bit lengths of AAD and text, big-endian), reflected, times H: in the
    // tail's sums, or with the running value when there is no tail.
    let mut lengths = _mm_set_epi64x((aad.len() * 8) as i64, (len * 8) as i64);
    if r == 0 {
        lengths = _mm_xor_si128(lengths, acc);
    }
    sums.add(_mm512_zextsi128_si512(lengths), _mm512_zextsi128_si512(h1));
    let ghash = sums.reduced();
    let ghash = _mm_shuffle_epi8(ghash, reflect);
    let full = _mm_xor_si128(ghash, _mm512_castsi512_si128(ek_j0));
    // SAFETY: the mask covers tag.len() <= 16 bytes.
    unsafe {
        _mm_mask_storeu_epi8(
            m.tag.as_mut_ptr().cast(),
            first_bytes(m.tag.len()) as u16,
            full,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcm_short::tests::{both_ways, keys, library, run_on_copy};
    use crate::{Dir, Mgr};

    #[test]
    fn every_length_to_2000_matches_the_library_both_key_sizes_directions_aads_and_tags() {
        let Some(keys) = keys() else { return };
        let mut mgr = Mgr::new().unwrap();
        for key in &keys[..2] {
            for len in 1..=2000 {
                for aad_len in [0, 8, 12, 16] {
                    let nonce: [u8; 12] = std::array::from_fn(|i| (i * 5 + len) as u8);
                    let aad: Vec<u8> = (0..aad_len).map(|i| (i * 3 + len + 2) as u8).collect();
                    let plain: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
                    let tag_len = [16, 12, 8][(len + aad_len) % 3];
                    both_ways(seal_or_open, &mut mgr, key, &nonce, &aad, &plain, tag_len);
                }
            }
        }
    }

    #[test]
    fn short_and_longest_texts_with_no_aad_match_the_library() {
        let Some(keys) = keys() else { return };
        let mut mgr = Mgr::new().unwrap();
        for key in &keys[..2] {
            for len in [1, 256, 257, LONGEST - 1, LONGEST] {
                let nonce = [0xffu8; 12];
                let plain: Vec<u8> = (0..len).map(|i| (i * 11) as u8).collect();
                let want = library(&mut mgr, key, Dir::Encrypt, &nonce, &[], &plain, 16);
                let got = run_on_copy(seal_or_open, key, true, &nonce, &[], &plain, 16);
                assert_eq!(got, want, "len {len}");
            }
        }
    }

    #[test]
    fn a_flipped_bit_in_any_group_changes_the_tag_computed_on_open() {
        let Some(keys) = keys() else { return };
        let key = &keys[0];
        let (nonce, aad) = ([3u8; 12], [8u8; 8]);
        let len = 1400;
        let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let (ct, tag) = run_on_copy(seal_or_open, key, true, &nonce, &aad, &plain, 16);
        for bit in (0..8 * len).step_by(8 * 97 + 3) {
            let mut bad = ct.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let opened = run_on_copy(seal_or_open, key, false, &nonce, &aad, &bad, 16);
            assert_ne!(opened.1, tag, "bit {bit}");
        }
    }
}
