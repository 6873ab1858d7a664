//! HMAC-SHA1 of up to 16 messages at once in AVX-512 lanes, straight from a burst's jobs.
//!
//! The library's hash burst runs every HMAC-SHA1 job through its out-of-order lane manager
//! (find a free lane, copy the job's last block into it, run the lanes when all 16 are busy,
//! move finished inner digests into outer blocks, flush): on 64-byte packets, `perf` put about
//! 60 % of the library's time there and 30 % in the SHA-1 rounds. Here a group of 16 jobs is
//! hashed block by block in one pass: each lane reads its message in place, its padded tail
//! too (a masked load, the padding set in the register), and the outer hash takes the inner
//! digests straight from the registers, so there is nothing to manage and nothing to copy.

use crate::sys;
use std::arch::x86_64::*;

/// Lanes of one group: one 32-bit word of each in a 512-bit register.
const LANES: usize = 16;

/// Whether this CPU runs [`hmac_sha1_jobs`] (AVX-512 F, BW and VL: VL for the masked
/// 16-byte stores of the tags).
pub(crate) fn available() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
}

/// Messages of this many bytes or more go to the library's lanes, which were faster on long
/// messages: bursts alternated in the real process (`bench/ab_interleaved.sh`, both orders),
/// time per burst with these lanes over the library's at 1400-byte frames, AES-128-CBC +
/// HMAC-SHA1: 1.02 at first; with the tails built in registers and the rows kept there,
/// 0.995-0.998 in two builds and 1.010-1.018 in a third that differed only in the code around
/// the call: a tie, so the library keeps them.
pub(crate) const LIBRARY_FROM: u64 = 1024;

/// How many of `jobs`, from the first, go to the library's hash burst: all when all are of
/// [`LIBRARY_FROM`] bytes or more, else the leading long ones in whole groups of 16 (jobs
/// sorted longest first, as the ESP backend submits them). A few long jobs alone in the
/// library's lanes ran them mostly empty: on IMIX bursts (about 5 long jobs in 64) sending
/// every long job there took 1.09-1.12 of the time per burst of sending none.
pub(crate) fn library_share(jobs: &[sys::IMB_JOB]) -> usize {
    // SAFETY: reading a plain integer member of the union.
    let long =
        |j: &sys::IMB_JOB| unsafe { j.__bindgen_anon_5.msg_len_to_hash_in_bytes } >= LIBRARY_FROM;
    let k = jobs.iter().take_while(|j| long(j)).count();
    if k == jobs.len() {
        k
    } else {
        k - k % LANES
    }
}

/// Computes the HMAC-SHA1 tag of each job (`src + hash_start_src_offset_in_bytes`,
/// `msg_len_to_hash_in_bytes` bytes, keyed by its ipad/opad states) into its
/// `auth_tag_output` (`auth_tag_output_len_in_bytes`, at most 20), and marks it completed.
///
/// # Safety
/// [`available`] must be true. Each job's message, states and tag output must be valid for
/// those lengths (as for the library's hash burst), the tag not overlapping the message.
pub(crate) unsafe fn hmac_sha1_jobs(jobs: &mut [sys::IMB_JOB]) {
    for group in jobs.chunks_mut(LANES) {
        // SAFETY: forwarded from the caller.
        unsafe { hmac_sha1_group(group) };
    }
}

/// Where each lane's blocks are: `full` blocks of the message in place, then its padded
/// tail, `blocks` in all.
#[derive(Clone, Copy)]
struct Lane {
    msg: *const u8,
    full: usize,
    blocks: usize,
    /// Bytes of the message in its last, partial block (0 to 63).
    rem: usize,
    /// The inner hash's length in bits, big-endian as it ends the padding.
    bits: u64,
}

impl Lane {
    const IDLE: Lane = Lane {
        msg: std::ptr::null(),
        full: 0,
        blocks: 0,
        rem: 0,
        bits: 0,
    };

    /// Block `r` of the padded tail (`full <= r < blocks`), built in a register: the message's
    /// last bytes read in place by a masked load (which reads nothing past them), the 0x80
    /// byte after them, and the length in the last 8 bytes of the last block.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn tail_block(&self, r: usize) -> __m512i {
        let last = r + 1 == self.blocks;
        let x = if r == self.full {
            // SAFETY: the mask covers the `rem` bytes after the full blocks, inside the
            // message; the masked-off bytes are not read (AVX-512 masked loads do not fault).
            let x = unsafe {
                _mm512_maskz_loadu_epi8((1u64 << self.rem) - 1, self.msg.add(64 * r).cast())
            };
            _mm512_mask_set1_epi8(x, 1u64 << self.rem, 0x80u8 as i8)
        } else {
            _mm512_setzero_si512()
        };
        // The 64-bit word 7 holds bytes 56..64: the length, big-endian.
        _mm512_mask_set1_epi64(x, if last { 0x80 } else { 0 }, self.bits as i64)
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn hmac_sha1_group(group: &mut [sys::IMB_JOB]) {
    let n = group.len();
    let mut lanes = [Lane::IDLE; LANES];
    let mut ipad = [[0u32; LANES]; 5];
    let mut opad = [[0u32; LANES]; 5];
    // One SA's packets share their states: each word broadcast, rather than gathered lane by
    // lane into arrays and read back 64 bytes at a time (a load that waits for 16 stores).
    // Bursts alternated in the real process (`bench/ab_interleaved.sh`, both orders), time per
    // burst over the gather: 0.975 (in, 64-byte frames), 0.983 (in, 512), 0.979 (out, 64).
    // SAFETY: reading two pointers of a job the caller filled.
    let key = |j: &sys::IMB_JOB| unsafe {
        (
            j.u.HMAC._hashed_auth_key_xor_ipad,
            j.u.HMAC._hashed_auth_key_xor_opad,
        )
    };
    let first = key(&group[0]);
    let one_key = group.iter().all(|j| key(j) == first);
    for (l, job) in group.iter().enumerate() {
        // SAFETY: the caller vouches for the job's pointers and lengths.
        let (msg, len, ip, op) = unsafe {
            (
                job.__bindgen_anon_1
                    .src
                    .add(job.hash_start_src_offset_in_bytes as usize),
                job.__bindgen_anon_5.msg_len_to_hash_in_bytes as usize,
                job.u
                    .HMAC
                    ._hashed_auth_key_xor_ipad
                    .cast::<[u32; 5]>()
                    .read_unaligned(),
                job.u
                    .HMAC
                    ._hashed_auth_key_xor_opad
                    .cast::<[u32; 5]>()
                    .read_unaligned(),
            )
        };
        if !one_key {
            for w in 0..5 {
                ipad[w][l] = ip[w];
                opad[w][l] = op[w];
            }
        }
        let full = len / 64;
        let rem = len % 64;
        // The 0x80 byte and the 8-byte length fit after the message's last bytes, or spill
        // into one more block.
        let pad = if rem + 9 <= 64 { 1 } else { 2 };
        lanes[l] = Lane {
            msg,
            full,
            blocks: full + pad,
            rem,
            // The inner hash began with the ipad block.
            bits: ((64 + len as u64) * 8).swap_bytes(),
        };
    }
    let max = lanes[..n].iter().map(|l| l.blocks).max().unwrap_or(0);
    let pad = |p: &[[u32; LANES]; 5], shared: *const u8| -> [__m512i; 5] {
        if one_key {
            // SAFETY: the job's state holds 5 words.
            let p = shared.cast::<u32>();
            std::array::from_fn(|w| _mm512_set1_epi32(unsafe { p.add(w).read_unaligned() } as i32))
        } else {
            // SAFETY: the state arrays hold 16 words each.
            std::array::from_fn(|w| unsafe { _mm512_loadu_si512(p[w].as_ptr().cast()) })
        }
    };
    let mut st = pad(&ipad, first.0);
    // Rounds 0..max hash the inner blocks, round max the outer one: one call of `compress`,
    // which is then inlined.
    for r in 0..=max {
        let (base, w, active) = if r < max {
            let mut rows = [_mm512_setzero_si512(); LANES];
            let mut active: __mmask16 = 0;
            // Lane by lane with constant indices, so that the rows stay in registers.
            macro_rules! each_lane {
                ($($l:literal)*) => {$(
                    let lane = &lanes[$l];
                    if r < lane.full {
                        // SAFETY: block r of the message is inside it.
                        rows[$l] = unsafe { _mm512_loadu_si512(lane.msg.add(64 * r).cast()) };
                        active |= 1 << $l;
                    } else if r < lane.blocks {
                        rows[$l] = lane.tail_block(r);
                        active |= 1 << $l;
                    }
                )*};
            }
            each_lane!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
            (st, big_endian_words(transpose(rows)), active)
        } else {
            // The outer block: the inner digest, 0x80, zeros, and the length of ipad block
            // + digest.
            let mut w = [_mm512_setzero_si512(); 16];
            w[..5].copy_from_slice(&st);
            w[5] = _mm512_set1_epi32(0x8000_0000u32 as i32);
            w[15] = _mm512_set1_epi32((64 + 20) * 8);
            (pad(&opad, first.1), w, !0)
        };
        let next = compress(base, w);
        for i in 0..5 {
            st[i] = _mm512_mask_blend_epi32(active, st[i], next[i]);
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { write_tags(group, st) };
}

/// Writes each job's tag, the first `auth_tag_output_len_in_bytes` (at most 20) bytes of its
/// lane's `digest`, with masked stores (a copy of a run-time length was a libc call per job),
/// and marks the job completed.
///
/// # Safety
/// Each job's tag output must be valid for its length.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn write_tags(group: &mut [sys::IMB_JOB], digest: [__m512i; 5]) {
    let [d0, d1, d2, d3, d4] = big_endian_words(digest);
    // A 4x4 transpose within each 128-bit lane: head[l % 4], 128-bit lane l / 4, holds the
    // digest's words 0 to 3 of lane l.
    let t0 = _mm512_unpacklo_epi32(d0, d1);
    let t1 = _mm512_unpackhi_epi32(d0, d1);
    let t2 = _mm512_unpacklo_epi32(d2, d3);
    let t3 = _mm512_unpackhi_epi32(d2, d3);
    let mut head = [[0u32; LANES]; 4];
    let mut last = [0u32; LANES];
    // SAFETY: each array holds 16 words.
    unsafe {
        _mm512_storeu_si512(head[0].as_mut_ptr().cast(), _mm512_unpacklo_epi64(t0, t2));
        _mm512_storeu_si512(head[1].as_mut_ptr().cast(), _mm512_unpackhi_epi64(t0, t2));
        _mm512_storeu_si512(head[2].as_mut_ptr().cast(), _mm512_unpacklo_epi64(t1, t3));
        _mm512_storeu_si512(head[3].as_mut_ptr().cast(), _mm512_unpackhi_epi64(t1, t3));
        _mm512_storeu_si512(last.as_mut_ptr().cast(), d4);
    }
    for (l, job) in group.iter_mut().enumerate() {
        let len = (job.auth_tag_output_len_in_bytes as usize).min(20);
        let out = job.auth_tag_output;
        // SAFETY: head[l % 4][4 * (l / 4)..][..4] lies in the array; the masks cover `len`
        // bytes of the tag output, which the caller vouches for.
        unsafe {
            let h = _mm_loadu_si128(head[l % 4].as_ptr().add(4 * (l / 4)).cast());
            _mm_mask_storeu_epi8(out.cast(), ((1u32 << len.min(16)) - 1) as u16, h);
            if len > 16 {
                let x = _mm_cvtsi32_si128(last[l] as i32);
                _mm_mask_storeu_epi8(out.add(16).cast(), (1u16 << (len - 16)) - 1, x);
            }
        }
        job.status = sys::IMB_STATUS_COMPLETED;
    }
}

/// Rows (lane l's 16 words in register l) into columns (word w of every lane in register w):
/// a 16x16 transpose of 32-bit words.
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose(r: [__m512i; 16]) -> [__m512i; 16] {
    // Within 128-bit lanes: pairs, then quads of rows.
    let mut t = [_mm512_setzero_si512(); 16];
    for i in 0..8 {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    // u[4j + c], 128-bit lane q: word 4q + c of rows 4j..4j + 3.
    let mut u = [_mm512_setzero_si512(); 16];
    for j in 0..4 {
        u[4 * j] = _mm512_unpacklo_epi64(t[4 * j], t[4 * j + 2]);
        u[4 * j + 1] = _mm512_unpackhi_epi64(t[4 * j], t[4 * j + 2]);
        u[4 * j + 2] = _mm512_unpacklo_epi64(t[4 * j + 1], t[4 * j + 3]);
        u[4 * j + 3] = _mm512_unpackhi_epi64(t[4 * j + 1], t[4 * j + 3]);
    }
    // A 4x4 transpose of 128-bit lanes across u[c], u[4 + c], u[8 + c], u[12 + c].
    let mut out = [_mm512_setzero_si512(); 16];
    for c in 0..4 {
        let v0 = _mm512_shuffle_i32x4::<0x44>(u[c], u[4 + c]);
        let v1 = _mm512_shuffle_i32x4::<0xEE>(u[c], u[4 + c]);
        let v2 = _mm512_shuffle_i32x4::<0x44>(u[8 + c], u[12 + c]);
        let v3 = _mm512_shuffle_i32x4::<0xEE>(u[8 + c], u[12 + c]);
        out[c] = _mm512_shuffle_i32x4::<0x88>(v0, v2);
        out[4 + c] = _mm512_shuffle_i32x4::<0xDD>(v0, v2);
        out[8 + c] = _mm512_shuffle_i32x4::<0x88>(v1, v3);
        out[12 + c] = _mm512_shuffle_i32x4::<0xDD>(v1, v3);
    }
    out
}

/// SHA-1 reads its message as big-endian words.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn big_endian_words<const N: usize>(mut w: [__m512i; N]) -> [__m512i; N] {
    let swap = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
    for x in w.iter_mut() {
        *x = _mm512_shuffle_epi8(*x, swap);
    }
    w
}

/// One SHA-1 block on 16 lanes: the state after `w` (FIPS 180-4 §6.1.2).
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(unused_assignments)] // the last rounds' schedule words are not read again
fn compress(st: [__m512i; 5], mut w: [__m512i; 16]) -> [__m512i; 5] {
    let [mut a, mut b, mut c, mut d, mut e] = st;
    // Every round written out (each `t` a literal), so that the schedule's ring of 16 words
    // stays in registers: as a loop it went through the stack.
    macro_rules! rounds {
        ($k:expr, $f:literal; $($t:literal)*) => {
            let k = _mm512_set1_epi32($k as i32);
            $(
                let wt = if $t < 16 {
                    w[$t & 15]
                } else {
                    let x = _mm512_ternarylogic_epi32::<0x96>(
                        w[($t + 13) & 15],
                        w[($t + 8) & 15],
                        w[($t + 2) & 15],
                    );
                    let x = _mm512_rol_epi32::<1>(_mm512_xor_si512(x, w[$t & 15]));
                    w[$t & 15] = x;
                    x
                };
                let f = _mm512_ternarylogic_epi32::<$f>(b, c, d);
                let tmp = _mm512_add_epi32(
                    _mm512_add_epi32(_mm512_rol_epi32::<5>(a), f),
                    _mm512_add_epi32(_mm512_add_epi32(e, k), wt),
                );
                e = d;
                d = c;
                c = _mm512_rol_epi32::<30>(b);
                b = a;
                a = tmp;
            )*
        };
    }
    // Ch, parity, majority, parity, as three-input truth tables.
    rounds!(0x5a82_7999u32, 0xca; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19);
    rounds!(0x6ed9_eba1u32, 0x96; 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39);
    rounds!(0x8f1b_bcdcu32, 0xe8; 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59);
    rounds!(0xca62_c1d6u32, 0x96; 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79);
    [
        _mm512_add_epi32(st[0], a),
        _mm512_add_epi32(st[1], b),
        _mm512_add_epi32(st[2], c),
        _mm512_add_epi32(st[3], d),
        _mm512_add_epi32(st[4], e),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{Auth, Job, JobStatus};
    use crate::keys::{HmacAlg, HmacKey};
    use crate::mgr::Mgr;
    use crate::unhex::unhex;

    /// The library's tag of `msg` (job queue, no cipher).
    fn library_tag(mgr: &mut Mgr, key: &HmacKey, msg: &[u8], tag_len: usize) -> Vec<u8> {
        let mut buf = msg.to_vec();
        let job = Job {
            auth: Auth::Hmac(key),
            hash_off: 3.min(msg.len() - 1),
            hash_len: msg.len() - 3.min(msg.len() - 1),
            tag_len,
            buf: &mut buf,
            ..Default::default()
        };
        let (st, tag) = mgr.run_one(job).unwrap();
        assert_eq!(st, JobStatus::Done);
        tag[..tag_len].to_vec()
    }

    /// A job hashing `msg` with `key` into `tag` (`tag_len` bytes).
    fn job(msg: &[u8], key: &HmacKey, tag: &mut [u8], tag_len: usize) -> sys::IMB_JOB {
        let mut j = sys::IMB_JOB::default();
        j.__bindgen_anon_1.src = msg.as_ptr();
        j.__bindgen_anon_5.msg_len_to_hash_in_bytes = msg.len() as u64;
        j.u.HMAC._hashed_auth_key_xor_ipad = key.ipad.as_ptr();
        j.u.HMAC._hashed_auth_key_xor_opad = key.opad.as_ptr();
        j.auth_tag_output = tag.as_mut_ptr();
        j.auth_tag_output_len_in_bytes = tag_len as u64;
        j.status = sys::IMB_STATUS_BEING_PROCESSED;
        j
    }

    #[test]
    fn rfc_2202_test_cases_1_to_5_in_one_group() {
        if !available() {
            eprintln!("no AVX-512 here: nothing to check");
            return;
        }
        // RFC 2202 §3: key, data, digest (cases 6 and 7 have keys longer than a block,
        // hashed first, which `HmacKey::new` leaves to its caller).
        let cases: [(Vec<u8>, Vec<u8>, &str); 5] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
            ),
            (
                (1..=25).collect(),
                vec![0xcd; 50],
                "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
            ),
            (
                vec![0x0c; 20],
                b"Test With Truncation".to_vec(),
                "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
            ),
        ];
        let keys: Vec<Box<HmacKey>> = cases
            .iter()
            .map(|(k, _, _)| HmacKey::new(HmacAlg::Sha1, k).unwrap())
            .collect();
        let mut tags = [[0u8; 20]; 5];
        let mut jobs: Vec<sys::IMB_JOB> = tags
            .iter_mut()
            .zip(&cases)
            .zip(&keys)
            .map(|((t, (_, data, _)), k)| job(data, k, t, 20))
            .collect();
        // SAFETY: available() holds; every job points at live buffers of its lengths.
        unsafe { hmac_sha1_jobs(&mut jobs) };
        for (i, (_, _, digest)) in cases.iter().enumerate() {
            assert_eq!(tags[i][..], unhex(digest)[..], "test case {}", i + 1);
        }
    }

    #[test]
    fn a_message_that_ends_at_an_unmapped_page_is_read_up_to_its_last_byte_only() {
        if !available() {
            eprintln!("no AVX-512 here: nothing to compare");
            return;
        }
        const PAGE: usize = 4096;
        // SAFETY: a fresh anonymous mapping of two pages, the second made inaccessible: a
        // read past the first page's end faults.
        let base = unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                2 * PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            assert_eq!(
                libc::mprotect(p.cast::<u8>().add(PAGE).cast(), PAGE, libc::PROT_NONE),
                0
            );
            p.cast::<u8>()
        };
        // SAFETY: the first page is mapped read-write and only read through this slice.
        let page = unsafe { std::slice::from_raw_parts_mut(base, PAGE) };
        for (i, b) in page.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        let mut mgr = Mgr::new().unwrap();
        let key = HmacKey::new(HmacAlg::Sha1, b"guard page").unwrap();
        // Every length of a partial last block, in groups of 16, each message's last byte
        // the page's last.
        let lens: Vec<usize> = (1..=160).collect();
        for group in lens.chunks(LANES) {
            let mut tags = [[0u8; 20]; LANES];
            let mut jobs: Vec<sys::IMB_JOB> = group
                .iter()
                .zip(tags.iter_mut())
                .map(|(&n, t)| job(&page[PAGE - n..], &key, t, 20))
                .collect();
            // SAFETY: available() holds; every job points at live buffers of its lengths.
            unsafe { hmac_sha1_jobs(&mut jobs) };
            for (&n, tag) in group.iter().zip(&tags) {
                // library_tag hashes from the message's fourth byte.
                let msg = [&[0u8; 3][..], &page[PAGE - n..]].concat();
                assert_eq!(
                    tag[..],
                    library_tag(&mut mgr, &key, &msg, 20)[..],
                    "{n} bytes"
                );
            }
        }
        // SAFETY: the mapping made above, no longer borrowed.
        assert_eq!(unsafe { libc::munmap(base.cast(), 2 * PAGE) }, 0);
    }

    #[test]
    fn the_library_takes_all_long_jobs_or_whole_groups_of_the_leading_ones() {
        let share = |lens: &[u64]| {
            let jobs: Vec<sys::IMB_JOB> = lens
                .iter()
                .map(|&n| {
                    let mut j = sys::IMB_JOB::default();
                    j.__bindgen_anon_5.msg_len_to_hash_in_bytes = n;
                    j
                })
                .collect();
            library_share(&jobs)
        };
        let l = LIBRARY_FROM;
        assert_eq!(share(&[l + 400, l, l - 1, 60]), 0);
        assert_eq!(share(&[60, 60]), 0);
        assert_eq!(share(&[l, l]), 2);
        let mut lens = vec![l; 35];
        lens.extend([l - 1, 60]);
        assert_eq!(share(&lens), 32);
        lens.truncate(16);
        lens.push(60);
        assert_eq!(share(&lens), 16);
        assert_eq!(share(&[]), 0);
    }

    #[test]
    fn every_lane_matches_the_library_for_lengths_across_block_and_padding_edges() {
        if !available() {
            eprintln!("no AVX-512 here: nothing to compare");
            return;
        }
        let mut mgr = Mgr::new().unwrap();
        let keys: Vec<Box<HmacKey>> = (0..7u8)
            .map(|i| HmacKey::new(HmacAlg::Sha1, &vec![i * 31 + 1; 1 + 9 * i as usize]).unwrap())
            .collect();
        // Lengths around one and two blocks with and without room for the padding, and
        // groups of 1 to 37 jobs (a part group of 16 after whole ones).
        let lens: Vec<usize> = (4..=300).collect();
        // A key per job, or one for all (whose states the lanes broadcast).
        for (count, one_key) in [1, 5, 16, 17, 37]
            .into_iter()
            .flat_map(|c| [(c, false), (c, true)])
        {
            let key_of = |i: usize| &keys[if one_key { 0 } else { i % keys.len() }];
            for start in (0..lens.len()).step_by(count * 3 + 1) {
                let mine: Vec<usize> = (0..count)
                    .map(|i| lens[(start + 7 * i) % lens.len()])
                    .collect();
                let msgs: Vec<Vec<u8>> = mine
                    .iter()
                    .map(|&n| (0..n).map(|b| (b * 11 + n + count) as u8).collect())
                    .collect();
                let tag_len = if count % 2 == 0 { 20 } else { 12 };
                let mut tags = vec![[0xeeu8; 24]; count];
                let mut jobs: Vec<sys::IMB_JOB> = tags
                    .iter_mut()
                    .enumerate()
                    .map(|(i, t)| {
                        let off = 3.min(msgs[i].len() - 1);
                        job(&msgs[i][off..], key_of(i), t, tag_len)
                    })
                    .collect();
                // SAFETY: available() holds; every job points at live buffers of its lengths.
                unsafe { hmac_sha1_jobs(&mut jobs) };
                for i in 0..count {
                    let want = library_tag(&mut mgr, key_of(i), &msgs[i], tag_len);
                    assert_eq!(
                        tags[i][..tag_len],
                        want[..],
                        "job {i} of {count}, {} bytes, one key {one_key}",
                        mine[i]
                    );
                    assert!(
                        tags[i][tag_len..].iter().all(|&b| b == 0xee),
                        "wrote past the tag"
                    );
                    assert_eq!(jobs[i].status, sys::IMB_STATUS_COMPLETED);
                }
            }
        }
    }
}
