//! AES-GCM of one short message in AVX-512 registers (VAES, VPCLMULQDQ), without the
//! library's per-call work.
//!
//! The library's direct GCM functions are built for long messages: for a 64-byte packet
//! the call's fixed part (its context, J0, the AAD pass, partial-block state, the length
//! block, the tag) costs more than the 4-5 AES blocks and 6 GHASH products the packet needs.
//! Here a message of up to [`UP_TO`] bytes is done straight through: its counter blocks
//! four to a 512-bit register (each round key broadcast to the four 128-bit lanes), its
//! ciphertext hashed four blocks at a time against four of the key's hash-key powers at once,
//! products summed unreduced and reduced once. The round keys and the powers are the ones
//! the library prepared (`gcm_key_data`): the VAES code path keeps `H^48 << 1 mod P` down to
//! `H^1 << 1 mod P` in its table, in the bit-reflected form its GHASH uses, so a message of
//! n blocks multiplies by the table's last n entries. Whether the table is in that form is
//! checked once, against the library, before this path is used ([`usable`]).

use crate::agreement::Agreement;
use crate::keys::GcmKey;
use std::arch::x86_64::*;

/// Texts of up to this many bytes take this path, longer ones `gcm_long`'s or the library's. In the real
/// process, bursts alternated between the two (`bench/ab_interleaved.sh`, both orders), time
/// per burst with this path over the library's, AES-128-GCM seal / open: 0.85-0.94 / 0.94-0.96
/// at 64-byte frames, 0.96 / 0.97 at 128, 0.99 / 1.00 at 256, 0.98 / 1.01 at 384, 0.99-1.04
/// / 1.03-1.07 at 512. Alone on one message (hot caches) it stays ahead to 512 bytes.
pub(crate) const UP_TO: usize = 256;

/// The longest AAD this path takes (ESP's is 8 or 12 bytes, RFC 4106 §5).
pub(crate) const AAD_MAX: usize = 16;

/// The hash-key powers the library's VAES table holds.
pub(crate) const POWERS: usize = 48;

/// The longest text [`seal_or_open`] can take: with a block of AAD and the length block,
/// its blocks use all the table's powers.
pub(crate) const LONGEST: usize = (POWERS - 2) * 16;
const _: () = assert!(UP_TO <= LONGEST);

/// Whether this CPU has what [`seal_or_open`] runs on.
pub(crate) fn cpu_has() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("vaes")
        && is_x86_feature_detected!("vpclmulqdq")
}

/// Whether this path and `gcm_long`'s agreed with the library, on the check that
/// `GcmKey::new` runs once (`library_checks`).
pub(crate) static AGREES: Agreement = Agreement::new();

/// Whether this path may be used: the CPU has it and it gave the library's ciphertext and tag
/// on the check [`AGREES`] holds (run at the first key's preparation, off the packet path).
#[inline(always)]
pub(crate) fn usable() -> bool {
    AGREES.holds()
}

/// Encrypts (`seal`) or decrypts `text` in place under `key`, the 12-byte `nonce` and
/// `aad`, and writes the tag computed (over the ciphertext) into `tag`, as the library's
/// direct functions do.
///
/// # Safety
/// [`cpu_has`] must be true, and `0 < text.len() <= LONGEST`, `aad.len() <= AAD_MAX`,
/// `tag.len() <= 16`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,aes,pclmulqdq")]
pub(crate) unsafe fn seal_or_open(key: &GcmKey, m: Msg<'_>) {
    assert!(!m.text.is_empty() && m.text.len() <= LONGEST);
    debug_assert!(m.aad.len() <= AAD_MAX && m.tag.len() <= 16);
    // SAFETY: forwarded from the caller.
    unsafe {
        match key.key_len() {
            16 => run::<10>(key, m),
            _ => run::<14>(key, m),
        }
    }
}

/// One message to seal or open.
pub(crate) struct Msg<'a> {
    pub seal: bool,
    pub nonce: &'a [u8; 12],
    pub aad: &'a [u8],
    pub text: &'a mut [u8],
    pub tag: &'a mut [u8],
}

/// Reverses the bytes of each 128-bit lane: GHASH works on bit-reflected blocks.
#[inline]
#[target_feature(enable = "sse2")]
pub(crate) fn reflect_mask() -> __m128i {
    _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
}

/// Bytes mask of the first `n` (at most 64) bytes.
#[inline(always)]
pub(crate) fn first_bytes(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Unreduced GHASH sums of four 128-bit lanes: products' high, low and middle halves.
pub(crate) struct Sums {
    hi: __m512i,
    lo: __m512i,
    mid: __m512i,
}

impl Sums {
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn zero() -> Sums {
        Sums {
            hi: _mm512_setzero_si512(),
            lo: _mm512_setzero_si512(),
            mid: _mm512_setzero_si512(),
        }
    }

    /// The four lanes' sums folded into one unreduced `(hi, lo, mid)`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl")]
    pub(crate) fn folded(&self) -> (__m128i, __m128i, __m128i) {
        (fold(self.hi), fold(self.lo), fold(self.mid))
    }

    /// The four lanes' sums reduced, each in its lane, then folded: one reduction's
    /// instructions for the four, and the fold on 128 bits, not on three sums of 512.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,vpclmulqdq")]
    pub(crate) fn reduced(&self) -> __m128i {
        let hi = _mm512_xor_si512(self.hi, _mm512_bsrli_epi128::<8>(self.mid));
        let lo = _mm512_xor_si512(self.lo, _mm512_bslli_epi128::<8>(self.mid));
        let poly = _mm512_broadcast_i32x4(poly());
        let t = _mm512_bslli_epi128::<8>(_mm512_clmulepi64_epi128::<0x01>(poly, lo));
        let lo = _mm512_xor_si512(lo, t);
        let t = _mm512_bsrli_epi128::<4>(_mm512_clmulepi64_epi128::<0x00>(poly, lo));
        let g = _mm512_bslli_epi128::<4>(_mm512_clmulepi64_epi128::<0x10>(poly, lo));
        fold(_mm512_ternarylogic_epi64::<0x96>(g, t, hi))
    }

    /// Adds the products of the (reflected) blocks `x` with the powers `h`, lane by lane.
    #[inline]
    #[target_feature(enable = "avx512f,vpclmulqdq")]
    pub(crate) fn add(&mut self, x: __m512i, h: __m512i) {
        self.hi = _mm512_xor_si512(self.hi, _mm512_clmulepi64_epi128::<0x11>(x, h));
        self.lo = _mm512_xor_si512(self.lo, _mm512_clmulepi64_epi128::<0x00>(x, h));
        self.mid = _mm512_ternarylogic_epi64::<0x96>(
            self.mid,
            _mm512_clmulepi64_epi128::<0x01>(x, h),
            _mm512_clmulepi64_epi128::<0x10>(x, h),
        );
    }
}

/// The four 128-bit lanes of `z` summed (XOR).
#[inline]
#[target_feature(enable = "avx512f")]
fn fold(z: __m512i) -> __m128i {
    let y = _mm256_xor_si256(_mm512_castsi512_si256(z), _mm512_extracti64x4_epi64::<1>(z));
    _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256::<1>(y))
}

/// Adds the unreduced product of one (reflected) block `x` with the power `h` to `(hi, lo,
/// mid)`.
#[inline]
#[target_feature(enable = "pclmulqdq,avx512f,avx512vl")]
pub(crate) fn add_one(s: &mut (__m128i, __m128i, __m128i), x: __m128i, h: __m128i) {
    s.0 = _mm_xor_si128(s.0, _mm_clmulepi64_si128::<0x11>(x, h));
    s.1 = _mm_xor_si128(s.1, _mm_clmulepi64_si128::<0x00>(x, h));
    s.2 = _mm_ternarylogic_epi64::<0x96>(
        s.2,
        _mm_clmulepi64_si128::<0x01>(x, h),
        _mm_clmulepi64_si128::<0x10>(x, h),
    );
}

/// The library's `POLY2`, which its reduction multiplies by.
#[inline]
#[target_feature(enable = "sse2")]
fn poly() -> __m128i {
    _mm_set_epi64x(0xC200_0000_0000_0000u64 as i64, 0x0000_0001_C200_0000)
}

/// `hi:lo` reduced modulo GHASH's polynomial, in the library's reflected, shifted-key form
/// (its `GHASH_MUL` reduction, with its `POLY2` constant).
#[inline]
#[target_feature(enable = "pclmulqdq,sse2")]
pub(crate) fn reduce(hi: __m128i, lo: __m128i) -> __m128i {
    let poly = poly();
    let t = _mm_slli_si128::<8>(_mm_clmulepi64_si128::<0x01>(poly, lo));
    let lo = _mm_xor_si128(lo, t);
    let t = _mm_srli_si128::<4>(_mm_clmulepi64_si128::<0x00>(poly, lo));
    let g = _mm_slli_si128::<4>(_mm_clmulepi64_si128::<0x10>(poly, lo));
    _mm_xor_si128(_mm_xor_si128(g, t), hi)
}

/// The unreduced sums `(hi, lo, mid)` as one reduced (reflected) GHASH value.
#[inline]
#[target_feature(enable = "pclmulqdq,sse2")]
pub(crate) fn finish((hi, lo, mid): (__m128i, __m128i, __m128i)) -> __m128i {
    let hi = _mm_xor_si128(hi, _mm_srli_si128::<8>(mid));
    let lo = _mm_xor_si128(lo, _mm_slli_si128::<8>(mid));
    reduce(hi, lo)
}

/// AES with `NR` rounds of the blocks `b` under the broadcast round keys `rk`.
#[inline]
#[target_feature(enable = "avx512f,vaes")]
pub(crate) fn aes<const NR: usize, const N: usize>(
    rk: &[__m512i; 15],
    mut b: [__m512i; N],
) -> [__m512i; N] {
    for x in b.iter_mut() {
        *x = _mm512_xor_si512(*x, rk[0]);
    }
    for k in &rk[1..NR] {
        for x in b.iter_mut() {
            *x = _mm512_aesenc_epi128(*x, *k);
        }
    }
    for x in b.iter_mut() {
        *x = _mm512_aesenclast_epi128(*x, rk[NR]);
    }
    b
}

/// The key's `NR + 1` round keys, each broadcast to the four lanes of a register.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn round_keys<const NR: usize>(key: &GcmKey) -> [__m512i; 15] {
    let mut rk = [_mm512_setzero_si512(); 15];
    for (r, k) in rk.iter_mut().enumerate().take(NR + 1) {
        // SAFETY: expanded_keys holds 15 round keys of 16 bytes.
        *k = _mm512_broadcast_i32x4(unsafe {
            _mm_loadu_si128(key.expanded_keys.as_ptr().add(16 * r).cast())
        });
    }
    rk
}

/// Where the key's table keeps H^p (1 <= p <= 48): the VAES layout holds H^48 first, H^1
/// last.
#[inline(always)]
pub(crate) fn power_at(key: &GcmKey) -> impl Fn(usize) -> *const u8 + '_ {
    // The check in `library_checks` found the powers where this reads them.
    let table: &[u8] = &key.table;
    move |p| table[(POWERS - p) * 16..].as_ptr()
}

/// J0 = nonce || 1 (RFC 4106's salt and IV make the 12-byte nonce), and the text's first four
/// counter blocks, which count from 2. The callers keep under 256 blocks: only the last byte
/// of the counter changes, and a step adds to it alone.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(crate) fn counters(nonce: &[u8; 12]) -> (__m128i, __m512i) {
    // SAFETY: 12 bytes are read, the mask covers no more.
    let base = unsafe { _mm_maskz_loadu_epi8(0x0fff, nonce.as_ptr().cast()) };
    let j0 = _mm_or_si128(base, _mm_set_epi32(1 << 24, 0, 0, 0));
    let first = _mm512_set_epi32(
        5 << 24,
        0,
        0,
        0,
        4 << 24,
        0,
        0,
        0,
        3 << 24,
        0,
        0,
        0,
        2 << 24,
        0,
        0,
        0,
    );
    (j0, _mm512_or_si512(_mm512_broadcast_i32x4(base), first))
}

/// What adds `n` to each lane's counter block (its last byte).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn step(n: i32) -> __m512i {
    _mm512_set_epi32(
        n << 24,
        0,
        0,
        0,
        n << 24,
        0,
        0,
        0,
        n << 24,
        0,
        0,
        0,
        n << 24,
        0,
        0,
        0,
    )
}

/// [`seal_or_open`] for AES with `NR` rounds (10: AES-128, 14: AES-256).
///
/// # Safety
/// As for [`seal_or_open`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,aes,pclmulqdq")]
unsafe fn run<const NR: usize>(key: &GcmKey, m: Msg<'_>) {
    let Msg {
        seal,
        nonce,
        aad,
        text,
        tag,
    } = m;
    let rk = round_keys::<NR>(key);
    let power = power_at(key);
    let (j0, mut ctr) = counters(nonce);
    let four = step(4);
    let [ek_j0] = aes::<NR, 1>(&rk, [_mm512_broadcast_i32x4(j0)]);

    let reflect = reflect_mask();
    let reflect4 = _mm512_broadcast_i32x4(reflect);
    let len = text.len();
    let blocks = len.div_ceil(16);
    let mut sums = Sums::zero();
    let p = text.as_mut_ptr();
    let chunks = len.div_ceil(64);
    let mut c = 0;
    while c < chunks {
        // Up to four registers of counter blocks through the rounds together.
        let ks: [__m512i; 4] = match chunks - c {
            1 => {
                let [a] = aes::<NR, 1>(&rk, [ctr]);
                [a, a, a, a]
            }
            2 => {
                let [a, b] = aes::<NR, 2>(&rk, [ctr, _mm512_add_epi32(ctr, four)]);
                [a, b, b, b]
            }
            n => {
                let c1 = _mm512_add_epi32(ctr, four);
                let c2 = _mm512_add_epi32(c1, four);
                let c3 = _mm512_add_epi32(c2, four);
                if n == 3 {
                    let [a, b, c] = aes::<NR, 3>(&rk, [ctr, c1, c2]);
                    [a, b, c, c]
                } else {
                    aes::<NR, 4>(&rk, [ctr, c1, c2, c3])
                }
            }
        };
        for ks in ks.iter().take((chunks - c).min(4)) {
            let at = 64 * c;
            let (input, out) = if len - at >= 64 {
                // A whole chunk: plain loads and stores, which later reads of the packet
                // forward from (a masked store does not).
                // SAFETY: bytes at..at + 64 are in the text.
                unsafe {
                    let input = _mm512_loadu_si512(p.add(at).cast());
                    let out = _mm512_xor_si512(input, *ks);
                    _mm512_storeu_si512(p.add(at).cast(), out);
                    (input, out)
                }
            } else {
                let mask = first_bytes(len - at);
                // SAFETY: the mask covers only bytes at..len of the text.
                unsafe {
                    let input = _mm512_maskz_loadu_epi8(mask, p.add(at).cast());
                    let out = _mm512_maskz_mov_epi8(mask, _mm512_xor_si512(input, *ks));
                    _mm512_mask_storeu_epi8(p.add(at).cast(), mask, out);
                    (input, out)
                }
            };
            let ct = if seal { out } else { input };
            // Text block t is hashed with the power blocks + 1 - t: four descending powers
            // are four consecutive table entries; lanes past the text are zeros and read no
            // power (which would lie past the table).
            let t = 4 * c;
            let lanes = (blocks - t).min(4);
            // SAFETY: the first lane's power, blocks + 1 - t >= 2, is in the table, and the
            // mask reads only the lanes' powers down to the first.
            let h = unsafe {
                _mm512_maskz_loadu_epi64(
                    ((1u32 << (2 * lanes)) - 1) as u8,
                    power(blocks + 1 - t).cast(),
                )
            };
            sums.add(_mm512_shuffle_epi8(ct, reflect4), h);
            ctr = _mm512_add_epi32(ctr, four);
            c += 1;
        }
    }
    let mut s = sums.folded();
    if !aad.is_empty() {
        // SAFETY: the mask covers the AAD's bytes; its power, blocks + 2 <= 48, is in the table.
        let (a, h) = unsafe {
            (
                _mm_maskz_loadu_epi8(first_bytes(aad.len()) as u16, aad.as_ptr().cast()),
                _mm_loadu_si128(power(blocks + 2).cast()),
            )
        };
        add_one(&mut s, _mm_shuffle_epi8(a, reflect), h);
    }
    // The length block (bit lengths of AAD and text, big-endian), reflected, times H.
    let lengths = _mm_set_epi64x((aad.len() * 8) as i64, (len * 8) as i64);
    // SAFETY: the first power is the table's last entry.
    add_one(&mut s, lengths, unsafe { _mm_loadu_si128(power(1).cast()) });
    let ghash = _mm_shuffle_epi8(finish(s), reflect);
    let full = _mm_xor_si128(ghash, _mm512_castsi512_si128(ek_j0));
    // SAFETY: the mask covers tag.len() <= 16 bytes.
    unsafe { _mm_mask_storeu_epi8(tag.as_mut_ptr().cast(), first_bytes(tag.len()) as u16, full) };
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Dir, Mgr};

    /// The library's direct function on a copy: (text, tag).
    pub(crate) fn library(
        mgr: &mut Mgr,
        key: &GcmKey,
        dir: Dir,
        nonce: &[u8; 12],
        aad: &[u8],
        text: &[u8],
        tag_len: usize,
    ) -> (Vec<u8>, Vec<u8>) {
        mgr.set_own_gcm(false);
        let (mut t, mut tag) = (text.to_vec(), vec![0u8; tag_len]);
        assert!(mgr.gcm(dir, key, nonce, aad, &mut t, &mut tag));
        (t, tag)
    }

    /// `own` (this path's or `gcm_long`'s `seal_or_open`) on a copy: (text, tag), checking
    /// nothing is written past the tag.
    pub(crate) fn run_on_copy(
        own: unsafe fn(&GcmKey, Msg<'_>),
        key: &GcmKey,
        seal: bool,
        nonce: &[u8; 12],
        aad: &[u8],
        text: &[u8],
        tag_len: usize,
    ) -> (Vec<u8>, Vec<u8>) {
        let mut t = text.to_vec();
        let mut tag = [0xeeu8; 17];
        // SAFETY: cpu_has() was checked by the caller; the lengths are in range.
        unsafe {
            own(
                key,
                Msg {
                    seal,
                    nonce,
                    aad,
                    text: &mut t,
                    tag: &mut tag[..tag_len],
                },
            )
        };
        assert!(
            tag[tag_len..].iter().all(|&b| b == 0xee),
            "wrote past the tag"
        );
        (t, tag[..tag_len].to_vec())
    }

    /// Five keys of both sizes; `None` (and a note) where the CPU cannot run this path.
    pub(crate) fn keys() -> Option<Vec<GcmKey>> {
        if !cpu_has() {
            eprintln!("no AVX-512 VAES here: nothing to compare");
            return None;
        }
        let key = |i: usize, n: usize| {
            let bytes: Vec<u8> = (0..n).map(|b| (b * 13 + i * 71 + 1) as u8).collect();
            *GcmKey::new(&bytes).unwrap()
        };
        Some(
            [16, 32, 16, 32, 16]
                .iter()
                .enumerate()
                .map(|(i, &n)| key(i, n))
                .collect(),
        )
    }

    #[test]
    fn the_check_against_the_library_passed_where_the_cpu_has_the_instructions() {
        let _ = GcmKey::new(&[1; 16]).unwrap();
        assert_eq!(usable(), cpu_has());
    }

    #[test]
    fn every_length_to_600_matches_the_library_both_key_sizes_directions_and_aads() {
        let Some(keys) = keys() else { return };
        let mut mgr = Mgr::new().unwrap();
        for key in &keys[..2] {
            for len in 1..=600 {
                for aad_len in [8, 12] {
                    let nonce: [u8; 12] = std::array::from_fn(|i| (i * 3 + len) as u8);
                    let aad: Vec<u8> = (0..aad_len).map(|i| (i * 5 + len + 1) as u8).collect();
                    let plain: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
                    let tag_len = [16, 12, 8][len % 3];
                    both_ways(seal_or_open, &mut mgr, key, &nonce, &aad, &plain, tag_len);
                }
            }
        }
    }

    /// `own` against the library on `plain`: sealed, then the sealed text opened.
    pub(crate) fn both_ways(
        own: unsafe fn(&GcmKey, Msg<'_>),
        mgr: &mut Mgr,
        key: &GcmKey,
        nonce: &[u8; 12],
        aad: &[u8],
        plain: &[u8],
        tag_len: usize,
    ) {
        let what = format!(
            "key {} len {} aad {}",
            key.key_len(),
            plain.len(),
            aad.len()
        );
        let sealed = library(mgr, key, Dir::Encrypt, nonce, aad, plain, tag_len);
        let mine = |seal, text: &[u8]| run_on_copy(own, key, seal, nonce, aad, text, tag_len);
        assert_eq!(mine(true, plain), sealed, "seal, {what}");
        let opened = library(mgr, key, Dir::Decrypt, nonce, aad, &sealed.0, tag_len);
        assert_eq!((&opened.0[..], &opened.1), (plain, &sealed.1));
        assert_eq!(mine(false, &sealed.0), opened, "open, {what}");
    }

    #[test]
    fn mixed_keys_and_lengths_in_groups_of_1_to_37_through_the_manager() {
        let Some(keys) = keys() else { return };
        let mut lib = Mgr::new().unwrap();
        let mut own = Mgr::new().unwrap();
        assert!(
            usable(),
            "the manager would run the library's path: nothing compared"
        );
        for count in 1..=37usize {
            let msgs: Vec<(usize, usize, Vec<u8>)> = (0..count)
                .map(|i| {
                    let len = 1 + (i * 97 + count * 31) % 2000;
                    (
                        i % keys.len(),
                        [8, 12][(i + count) % 2],
                        (0..len).map(|b| (b + i * 7) as u8).collect(),
                    )
                })
                .collect();
            let mut texts: Vec<Vec<u8>> = msgs.iter().map(|m| m.2.clone()).collect();
            let mut tags = vec![[0u8; 16]; count];
            // The whole group sealed one after the other, then each compared with the library.
            for (i, (k, aad_len, _)) in msgs.iter().enumerate() {
                let nonce = [i as u8; 12];
                let aad = vec![count as u8; *aad_len];
                assert!(own.gcm(
                    Dir::Encrypt,
                    &keys[*k],
                    &nonce,
                    &aad,
                    &mut texts[i],
                    &mut tags[i]
                ));
            }
            for (i, (k, aad_len, plain)) in msgs.iter().enumerate() {
                let nonce = [i as u8; 12];
                let aad = vec![count as u8; *aad_len];
                let want = library(&mut lib, &keys[*k], Dir::Encrypt, &nonce, &aad, plain, 16);
                assert_eq!(
                    (&texts[i], &tags[i][..]),
                    (&want.0, &want.1[..]),
                    "message {i} of {count}"
                );
                let mut back = texts[i].clone();
                let mut computed = [0u8; 16];
                assert!(own.gcm(
                    Dir::Decrypt,
                    &keys[*k],
                    &nonce,
                    &aad,
                    &mut back,
                    &mut computed
                ));
                assert_eq!((&back, computed), (plain, tags[i]));
            }
        }
    }

    #[test]
    fn a_flipped_bit_of_text_aad_or_nonce_changes_the_tag_computed_on_open() {
        let Some(keys) = keys() else { return };
        for key in &keys[..2] {
            for len in [1, 16, 52, 64, 65, 300, UP_TO] {
                let nonce = [9u8; 12];
                let aad = [4u8; 12];
                let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let (ct, tag) = run_on_copy(seal_or_open, key, true, &nonce, &aad, &plain, 16);
                for bit in [0, 7, 8 * len - 1] {
                    let mut bad = ct.clone();
                    bad[bit / 8] ^= 1 << (bit % 8);
                    assert_ne!(
                        run_on_copy(seal_or_open, key, false, &nonce, &aad, &bad, 16).1,
                        tag,
                        "text bit {bit}, len {len}"
                    );
                }
                let mut bad_aad = aad;
                bad_aad[11] ^= 0x80;
                assert_ne!(
                    run_on_copy(seal_or_open, key, false, &nonce, &bad_aad, &ct, 16).1,
                    tag
                );
                let mut bad_nonce = nonce;
                bad_nonce[0] ^= 1;
                assert_ne!(
                    run_on_copy(seal_or_open, key, false, &bad_nonce, &aad, &ct, 16).1,
                    tag
                );
                assert_eq!(
                    run_on_copy(seal_or_open, key, false, &nonce, &aad, &ct, 16),
                    (plain, tag)
                );
            }
        }
    }
}
