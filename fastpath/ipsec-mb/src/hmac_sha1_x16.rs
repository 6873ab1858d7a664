//! HMAC-SHA1 of up to 16 messages at once in AVX-512 lanes, straight from a burst's jobs.
//!
//! The library's hash burst runs every HMAC-SHA1 job through its out-of-order lane manager
//! (find a free lane, copy the job's last block into it, run the lanes when all 16 are busy,
//! move finished inner digests into outer blocks, flush): on 64-byte packets, `perf` put about
//! 60 % of the library's time there and 30 % in the SHA-1 rounds. Here a group of 16 jobs is
//! hashed block by block in one pass: each lane reads its message in place, its padded tail
//! from a scratch block, and the outer hash takes the inner digests straight from the
//! registers, so there is nothing to manage.

use crate::sys;
use std::arch::x86_64::*;

/// Lanes of one group: one 32-bit word of each in a 512-bit register.
const LANES: usize = 16;

/// Whether this CPU runs [`hmac_sha1_jobs`] (AVX-512 F and BW).
pub(crate) fn available() -> bool {
    is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")
}

/// Messages of this many bytes or more are hashed faster by the library's lanes: bursts
/// alternated in the real process (`bench/ab_interleaved.sh`, both orders), time per burst
/// with these lanes over the library's, AES-128-CBC + HMAC-SHA1: 0.88 (64-byte frames), 0.96
/// (512), 1.02 (1400).
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

/// A lane's padded tail: up to two blocks.
#[repr(C, align(64))]
struct Tail([u8; 128]);

/// Where each lane's blocks are: `full` blocks of the message in place, then its padded
/// tail, up to `blocks` in all.
struct Lanes {
    msg: [*const u8; LANES],
    full: [usize; LANES],
    blocks: [usize; LANES],
    tails: [Tail; LANES],
}

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn hmac_sha1_group(group: &mut [sys::IMB_JOB]) {
    let n = group.len();
    let mut lanes = Lanes {
        msg: [std::ptr::null(); LANES],
        full: [0; LANES],
        blocks: [0; LANES],
        tails: [const { Tail([0; 128]) }; LANES],
    };
    let mut ipad = [[0u32; LANES]; 5];
    let mut opad = [[0u32; LANES]; 5];
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
        for w in 0..5 {
            ipad[w][l] = ip[w];
            opad[w][l] = op[w];
        }
        let full = len / 64;
        let rem = len % 64;
        let pad = if rem + 9 <= 64 { 1 } else { 2 };
        let tail = &mut lanes.tails[l].0;
        // SAFETY: msg + 64 * full .. + rem lies inside the message.
        unsafe { std::ptr::copy_nonoverlapping(msg.add(64 * full), tail.as_mut_ptr(), rem) };
        tail[rem] = 0x80;
        let end = 64 * pad;
        // The inner hash began with the ipad block.
        let bits = (64 + len as u64) * 8;
        tail[end - 8..end].copy_from_slice(&bits.to_be_bytes());
        lanes.msg[l] = msg;
        lanes.full[l] = full;
        lanes.blocks[l] = full + pad;
    }
    let max = lanes.blocks[..n].iter().copied().max().unwrap_or(0);
    // SAFETY: the state arrays hold 16 words each.
    let mut st: [__m512i; 5] =
        std::array::from_fn(|w| unsafe { _mm512_loadu_si512(ipad[w].as_ptr().cast()) });
    for r in 0..max {
        let mut rows = [_mm512_setzero_si512(); LANES];
        let mut active: __mmask16 = 0;
        for (l, row) in rows.iter_mut().enumerate().take(n) {
            let p = if r < lanes.full[l] {
                // SAFETY: block r of the message is inside it.
                unsafe { lanes.msg[l].add(64 * r) }
            } else if r < lanes.blocks[l] {
                lanes.tails[l].0[64 * (r - lanes.full[l])..].as_ptr()
            } else {
                continue;
            };
            active |= 1 << l;
            // SAFETY: p points at 64 readable bytes.
            *row = unsafe { _mm512_loadu_si512(p.cast()) };
        }
        let w = big_endian_words(transpose(rows));
        let next = compress(st, w);
        for i in 0..5 {
            st[i] = _mm512_mask_blend_epi32(active, st[i], next[i]);
        }
    }
    // The outer block: the inner digest, 0x80, zeros, and the length of ipad block + digest.
    let mut w = [_mm512_setzero_si512(); 16];
    w[..5].copy_from_slice(&st);
    w[5] = _mm512_set1_epi32(0x8000_0000u32 as i32);
    w[15] = _mm512_set1_epi32((64 + 20) * 8);
    // SAFETY: as above.
    let outer: [__m512i; 5] =
        std::array::from_fn(|i| unsafe { _mm512_loadu_si512(opad[i].as_ptr().cast()) });
    let digest = compress(outer, w);
    let mut words = [[0u32; LANES]; 5];
    for (i, d) in digest.iter().enumerate() {
        // SAFETY: words[i] holds 16 words.
        unsafe { _mm512_storeu_si512(words[i].as_mut_ptr().cast(), *d) };
    }
    for (l, job) in group.iter_mut().enumerate() {
        let mut tag = [0u8; 20];
        for (i, out) in tag.chunks_exact_mut(4).enumerate() {
            out.copy_from_slice(&words[i][l].to_be_bytes());
        }
        let len = (job.auth_tag_output_len_in_bytes as usize).min(20);
        // SAFETY: the caller vouches for the tag output's length.
        unsafe { std::ptr::copy_nonoverlapping(tag.as_ptr(), job.auth_tag_output, len) };
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
fn big_endian_words(mut w: [__m512i; 16]) -> [__m512i; 16] {
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
        for count in [1, 5, 16, 17, 37] {
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
                let mut jobs: Vec<sys::IMB_JOB> = (0..count)
                    .map(|i| {
                        let k = &keys[i % keys.len()];
                        let mut j = sys::IMB_JOB::default();
                        let off = 3.min(msgs[i].len() - 1);
                        j.__bindgen_anon_1.src = msgs[i].as_ptr();
                        j.hash_start_src_offset_in_bytes = off as u64;
                        j.__bindgen_anon_5.msg_len_to_hash_in_bytes = (msgs[i].len() - off) as u64;
                        j.u.HMAC._hashed_auth_key_xor_ipad = k.ipad.as_ptr();
                        j.u.HMAC._hashed_auth_key_xor_opad = k.opad.as_ptr();
                        j.auth_tag_output = tags[i].as_mut_ptr();
                        j.auth_tag_output_len_in_bytes = tag_len as u64;
                        j.status = sys::IMB_STATUS_BEING_PROCESSED;
                        j
                    })
                    .collect();
                // SAFETY: available() holds; every job points at live buffers of its lengths.
                unsafe { hmac_sha1_jobs(&mut jobs) };
                for i in 0..count {
                    let want = library_tag(&mut mgr, &keys[i % keys.len()], &msgs[i], tag_len);
                    assert_eq!(
                        tags[i][..tag_len],
                        want[..],
                        "job {i} of {count}, {} bytes",
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
