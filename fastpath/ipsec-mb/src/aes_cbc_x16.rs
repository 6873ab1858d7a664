//! AES-CBC encryption of up to 16 messages at once in AVX-512 VAES lanes, straight from a
//! burst's jobs.
//!
//! CBC encryption is serial within a message, so the lanes run across messages: four
//! messages' blocks in each 512-bit register, four registers whose chains are independent, so
//! that one register's rounds run while another's wait on theirs. The library's cipher burst
//! feeds the same rounds through its lane manager (find a free lane, run the lanes when all
//! are busy, flush the last ones one by one); `perf` put 38 ns a 1400-byte packet in its lane
//! submit and 9 ns in its flush, against 81 ns in the rounds. Here a group runs until its
//! longest message ends, each lane's message read and written a line (four blocks) at a time,
//! masked past its end: nothing to manage, nothing to flush. Round keys are the library's
//! expanded `enc_keys`, as the jobs carry them. Eight registers (32 messages) instead of four
//! took 1.19 of the time on 1408-byte messages: the rounds are bound by the AES unit's
//! throughput, not by the chains' latency.

use crate::agreement::Agreement;
use crate::keys::AesKeys;
use crate::sys;
use std::arch::x86_64::*;

/// Registers of one group, each holding four messages' blocks.
const REGS: usize = 4;
/// Messages of one group.
pub(crate) const LANES: usize = 4 * REGS;

/// Whether this CPU has what [`encrypt_jobs`] runs on (AVX-512 F and VAES).
pub(crate) fn cpu_has() -> bool {
    is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("vaes")
}

/// Whether these lanes may be used: the CPU has them and they gave the library's ciphertext
/// on the check that `AesKeys::new` runs once (`library_checks`), for both key sizes, in one group of mixed keys
/// and lengths (at the first key's preparation, off the packet path): a library whose key
/// schedule is laid out otherwise must not be read as this one.
pub(crate) static CHECKED: Agreement = Agreement::new();

/// A raw job that encrypts `text` in place from `iv` under `keys`, as `Job::fill` writes one.
pub(crate) fn raw_job(keys: &AesKeys, iv: &[u8; 16], text: &mut [u8]) -> sys::IMB_JOB {
    let mut j = sys::IMB_JOB::default();
    j.__bindgen_anon_1.src = text.as_ptr();
    j.__bindgen_anon_2.dst = text.as_mut_ptr();
    j.__bindgen_anon_3.cipher_start_src_offset_in_bytes = 0;
    j.__bindgen_anon_4.msg_len_to_cipher_in_bytes = text.len() as u64;
    j.enc_keys = keys.enc.as_ptr().cast();
    j.iv = iv.as_ptr();
    j.iv_len_in_bytes = 16;
    j.status = sys::IMB_STATUS_BEING_PROCESSED;
    j
}

/// Encrypts each job's cipher range (`src + cipher_start_src_offset_in_bytes`,
/// `msg_len_to_cipher_in_bytes` bytes, whole blocks) into its `dst` in AES-CBC from its `iv`
/// under its `enc_keys`, and marks it completed, as the library's cipher burst does.
///
/// # Safety
/// [`cpu_has`] must be true; `key_len` (16 or 32) must be every job's; each job's range, `dst`
/// for as long, its 16-byte IV and its expanded keys must be valid (as for the library's
/// cipher burst).
pub(crate) unsafe fn encrypt_jobs(jobs: &mut [sys::IMB_JOB], key_len: usize) {
    for group in jobs.chunks_mut(LANES) {
        // SAFETY: forwarded from the caller.
        unsafe {
            match (key_len, whole_lines(group)) {
                (16, true) => encrypt_group::<10, true>(group),
                (16, false) => encrypt_group::<10, false>(group),
                (_, true) => encrypt_group::<14, true>(group),
                (_, false) => encrypt_group::<14, false>(group),
            }
        }
    }
}

/// Whether a group fills every lane with at least [`WHOLE_FROM`] blocks: its lines up to the
/// shortest message's end then run without masks, in a copy of the group's code of its own.
/// Other groups keep the masked code alone, as it was: with the unmasked loop in front of it
/// in every group, a group of 1504-, 576- and 48-byte lanes (where that loop never ran) took
/// 1.13 times as long, in one function or with the masked loop in a function of its own; the
/// cause was not found.
fn whole_lines(group: &[sys::IMB_JOB]) -> bool {
    // SAFETY: reading a plain integer member of the union.
    let blocks = |j: &sys::IMB_JOB| unsafe { j.__bindgen_anon_4.msg_len_to_cipher_in_bytes } / 16;
    group.len() == LANES && group.iter().all(|j| blocks(j) >= WHOLE_FROM as u64)
}

/// Blocks every lane must have for [`whole_lines`]: 16 lines, between IMIX's 576-byte frames
/// (36 blocks, not measured with the unmasked loop) and 1400-byte ones (86).
const WHOLE_FROM: usize = 64;

/// Where each lane reads and writes, and how many blocks it has.
struct Lanes {
    src: [*const u8; LANES],
    dst: [*mut u8; LANES],
    blocks: [usize; LANES],
}

/// Four blocks, one from each pointer, into one register.
#[inline(always)]
unsafe fn load4(a: *const u8, b: *const u8, c: *const u8, d: *const u8) -> __m512i {
    // SAFETY: the caller's pointers are each at 16 readable bytes.
    unsafe {
        let v = _mm512_castsi128_si512(_mm_loadu_si128(a.cast()));
        let v = _mm512_inserti32x4::<1>(v, _mm_loadu_si128(b.cast()));
        let v = _mm512_inserti32x4::<2>(v, _mm_loadu_si128(c.cast()));
        _mm512_inserti32x4::<3>(v, _mm_loadu_si128(d.cast()))
    }
}

/// Lane l's round key r is in 128-bit lane l % 4 of `[r][l / 4]`.
type KeyTable = [[__m512i; REGS]; 15];

/// Encrypts one group of at most [`LANES`] jobs; with `WHOLE` (see [`whole_lines`]), the
/// lines that every lane has run without masks first.
#[target_feature(enable = "avx512f,vaes")]
unsafe fn encrypt_group<const NR: usize, const WHOLE: bool>(group: &mut [sys::IMB_JOB]) {
    let n = group.len();
    let mut lanes = Lanes {
        src: [std::ptr::null(); LANES],
        dst: [std::ptr::null_mut(); LANES],
        blocks: [0; LANES],
    };
    // Lanes past the group's jobs read the first job's IV: any 16 readable bytes do.
    let mut iv_at = [group[0].iv; LANES];
    let first_keys = group[0].enc_keys.cast::<u8>();
    let mut one_key = true;
    for (l, job) in group.iter().enumerate() {
        // SAFETY: the caller vouches for the job's pointers and lengths.
        unsafe {
            lanes.src[l] = job
                .__bindgen_anon_1
                .src
                .add(job.__bindgen_anon_3.cipher_start_src_offset_in_bytes as usize);
            lanes.dst[l] = job.__bindgen_anon_2.dst;
            lanes.blocks[l] = job.__bindgen_anon_4.msg_len_to_cipher_in_bytes as usize / 16;
            iv_at[l] = job.iv;
        }
        one_key &= std::ptr::eq(job.enc_keys.cast(), first_keys);
    }
    // The IVs straight into the registers: copied into an array first and read back 64 bytes
    // at a time, each read waited for four 16-byte stores to retire (no store forwarding).
    // Bursts alternated in the real process (`bench/ab_interleaved.sh`, both orders), time
    // per burst over the copy: 0.996 (64-byte frames), 0.997 (512).
    // SAFETY: each IV pointer is at 16 readable bytes.
    let mut state: [__m512i; REGS] = std::array::from_fn(|g| unsafe {
        load4(
            iv_at[4 * g],
            iv_at[4 * g + 1],
            iv_at[4 * g + 2],
            iv_at[4 * g + 3],
        )
    });
    if one_key {
        // One SA's packets: each round key broadcast to all lanes, held in registers.
        // SAFETY: the job's keys hold NR + 1 round keys.
        let rk: [__m512i; 15] = std::array::from_fn(|r| {
            if r <= NR {
                _mm512_broadcast_i32x4(unsafe { _mm_loadu_si128(first_keys.add(16 * r).cast()) })
            } else {
                _mm512_setzero_si512()
            }
        });
        // SAFETY: forwarded; the lanes are the jobs' ranges (lanes past n have no blocks).
        unsafe { run::<NR, WHOLE>(&lanes, &mut state, |r, _| rk[r]) };
    } else {
        let mut table: KeyTable = [[_mm512_setzero_si512(); REGS]; 15];
        let rows = table.as_mut_ptr().cast::<[[u8; 16]; LANES]>();
        for l in 0..LANES {
            let keys = group[l.min(n - 1)].enc_keys.cast::<[u8; 16]>();
            for r in 0..=NR {
                // SAFETY: the job's keys hold NR + 1 round keys; row r of the table holds
                // LANES blocks.
                unsafe { (*rows.add(r))[l] = keys.add(r).read_unaligned() };
            }
        }
        // SAFETY: as above.
        unsafe { run::<NR, WHOLE>(&lanes, &mut state, |r, g| table[r][g]) };
    }
    for job in group.iter_mut() {
        job.status = sys::IMB_STATUS_COMPLETED;
    }
}

/// Runs the lanes to the end of their longest message, `key(r, g)` giving round key r of
/// register g's four lanes. Each lane's message is read and written a line (four blocks) at a
/// time, with masks past its end: packets in mbufs 4 KiB apart put every lane's current
/// line in one L1 set, and read and written a block at a time they took 2.1 times as long as
/// the library (which also moves whole lines), 16 1408-byte messages each. With `WHOLE`, the
/// lines that every lane has whole go first, without masks or their computation: 16 messages
/// of 1392 bytes in L1, 59 ns a message against 71-75 (the library's cipher burst: 88).
#[inline(always)]
unsafe fn run<const NR: usize, const WHOLE: bool>(
    lanes: &Lanes,
    state: &mut [__m512i; REGS],
    key: impl Fn(usize, usize) -> __m512i,
) {
    let longest = lanes.blocks.iter().copied().max().unwrap_or(0);
    let mut done = 0;
    if WHOLE {
        let whole = lanes.blocks.iter().copied().min().unwrap_or(0) / 4 * 4;
        while done < whole {
            // SAFETY: every lane has the line's four blocks.
            unsafe { whole_line::<NR>(lanes, state, &key, done) };
            done += 4;
        }
    }
    while done < longest {
        let steps = (longest - done).min(4);
        // Two 64-bit elements a block, none past the lane's end.
        let mask: [__mmask8; LANES] = std::array::from_fn(|l| {
            let k = lanes.blocks[l].saturating_sub(done).min(4);
            ((1u32 << (2 * k)) - 1) as __mmask8
        });
        // blocks[g][k]: block done + k of register g's four lanes.
        let mut blocks: [[__m512i; 4]; REGS] = std::array::from_fn(|g| {
            transpose(std::array::from_fn(|j| {
                let l = 4 * g + j;
                // SAFETY: the mask covers only blocks inside the lane's range.
                unsafe {
                    _mm512_maskz_loadu_epi64(mask[l], lanes.src[l].wrapping_add(16 * done).cast())
                }
            }))
        });
        for k in 0..4 {
            if k < steps {
                // SAFETY: reached only from encrypt_group, compiled with AVX-512 F and VAES.
                unsafe { step::<NR>(state, &mut blocks, &key, k) };
            }
        }
        for (g, b) in blocks.iter().enumerate() {
            for (j, c) in transpose(*b).into_iter().enumerate() {
                let l = 4 * g + j;
                // SAFETY: as for the loads.
                unsafe {
                    _mm512_mask_storeu_epi64(
                        lanes.dst[l].wrapping_add(16 * done).cast(),
                        mask[l],
                        c,
                    )
                };
            }
        }
        done += 4;
    }
}

/// Blocks `done..done + 4` of every lane, each lane's line read and written whole.
#[inline(always)]
unsafe fn whole_line<const NR: usize>(
    lanes: &Lanes,
    state: &mut [__m512i; REGS],
    key: &impl Fn(usize, usize) -> __m512i,
    done: usize,
) {
    // Plain loops, not `array::from_fn` as in `run`: that was left as a call here, out of the
    // target features, and took 1.4 times as long.
    let mut blocks = [[_mm512_setzero_si512(); 4]; REGS];
    for (g, b) in blocks.iter_mut().enumerate() {
        let mut rows = [_mm512_setzero_si512(); 4];
        for (j, row) in rows.iter_mut().enumerate() {
            // SAFETY: the caller vouches for the lane's line.
            *row = unsafe { _mm512_loadu_si512(lanes.src[4 * g + j].add(16 * done).cast()) };
        }
        *b = transpose(rows);
    }
    for k in 0..4 {
        // SAFETY: reached only from encrypt_group, compiled with AVX-512 F and VAES.
        unsafe { step::<NR>(state, &mut blocks, key, k) };
    }
    for (g, b) in blocks.iter().enumerate() {
        for (j, c) in transpose(*b).into_iter().enumerate() {
            // SAFETY: as for the loads.
            unsafe { _mm512_storeu_si512(lanes.dst[4 * g + j].add(16 * done).cast(), c) };
        }
    }
}

/// Block `k` of every register's four lanes through the rounds, the registers' chains side
/// by side, each replaced by its ciphertext. Only from code compiled with AVX-512 F and VAES.
#[inline(always)]
unsafe fn step<const NR: usize>(
    state: &mut [__m512i; REGS],
    blocks: &mut [[__m512i; 4]; REGS],
    key: &impl Fn(usize, usize) -> __m512i,
    k: usize,
) {
    for (g, x) in state.iter_mut().enumerate() {
        // SAFETY: the caller runs with AVX-512 F and VAES.
        unsafe {
            // C_i = E_K(P_i xor C_{i-1}), with round key 0 in the same xor.
            let mut y = _mm512_ternarylogic_epi64::<0x96>(*x, blocks[g][k], key(0, g));
            for r in 1..NR {
                y = _mm512_aesenc_epi128(y, key(r, g));
            }
            *x = _mm512_aesenclast_epi128(y, key(NR, g));
        }
        blocks[g][k] = *x;
    }
}

/// Four registers of four blocks each, as a 4x4 matrix of blocks, transposed: block k of
/// register j goes to block j of register k (its own inverse).
#[inline(always)]
fn transpose(a: [__m512i; 4]) -> [__m512i; 4] {
    // SAFETY: only reached from code compiled with avx512f (encrypt_group).
    unsafe { transpose_avx512(a) }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn transpose_avx512([a0, a1, a2, a3]: [__m512i; 4]) -> [__m512i; 4] {
    let x0 = _mm512_shuffle_i64x2::<0x44>(a0, a1);
    let x1 = _mm512_shuffle_i64x2::<0xee>(a0, a1);
    let x2 = _mm512_shuffle_i64x2::<0x44>(a2, a3);
    let x3 = _mm512_shuffle_i64x2::<0xee>(a2, a3);
    [
        _mm512_shuffle_i64x2::<0x88>(x0, x2),
        _mm512_shuffle_i64x2::<0xdd>(x0, x2),
        _mm512_shuffle_i64x2::<0x88>(x1, x3),
        _mm512_shuffle_i64x2::<0xdd>(x1, x3),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{CbcIv, Cipher, Job, JobStatus};
    use crate::mgr::Mgr;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The library's ciphertext of `plain` (job queue, one job).
    fn library(mgr: &mut Mgr, keys: &AesKeys, iv: [u8; 16], plain: &[u8]) -> Vec<u8> {
        let mut buf = plain.to_vec();
        let job = Job {
            cipher: Cipher::AesCbc {
                keys,
                iv: CbcIv::Value(iv),
            },
            cipher_len: plain.len(),
            buf: &mut buf,
            ..Default::default()
        };
        let (st, _) = mgr.run_one(job).unwrap();
        assert_eq!(st, JobStatus::Done);
        buf
    }

    #[test]
    fn nist_sp_800_38a_cbc_encrypt_vectors() {
        if !cpu_has() {
            eprintln!("no VAES here: nothing to run");
            return;
        }
        let iv: [u8; 16] = std::array::from_fn(|i| i as u8);
        let plain = unhex(
            "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
             30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710",
        );
        // F.2.1 (AES-128) and F.2.5 (AES-256).
        for (key, want) in [
            (
                "2b7e151628aed2a6abf7158809cf4f3c",
                "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2
                 73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7",
            ),
            (
                "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
                "f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d
                 39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b",
            ),
        ] {
            let key = unhex(key);
            let keys = AesKeys::prepare(&key).unwrap();
            // The four blocks whole, and each prefix, one message a lane, in one group.
            let mut bufs: Vec<Vec<u8>> = (1..=4).map(|b| plain[..16 * b].to_vec()).collect();
            let mut jobs: Vec<sys::IMB_JOB> =
                bufs.iter_mut().map(|b| raw_job(&keys, &iv, b)).collect();
            // SAFETY: cpu_has() holds; every job points at live buffers of its lengths.
            unsafe { encrypt_jobs(&mut jobs, key.len()) };
            let want = unhex(want);
            for b in &bufs {
                assert_eq!(b[..], want[..b.len()], "{} bytes", b.len());
            }
            assert!(jobs.iter().all(|j| j.status == sys::IMB_STATUS_COMPLETED));
        }
    }

    #[test]
    fn whole_lines_of_every_lane_run_unmasked_and_match_the_library() {
        if !cpu_has() {
            eprintln!("no VAES here: nothing to compare");
            return;
        }
        let mut mgr = Mgr::new().unwrap();
        // Full groups of long messages, whose lines up to the shortest one's last whole line
        // run without masks and the rest masked (1 to 8 blocks past it); and full groups of
        // short ones, below WHOLE_FROM, all masked.
        for key_len in [16, 32] {
            let keys: Vec<Box<AesKeys>> = (0..3u8)
                .map(|k| AesKeys::prepare(&vec![k * 29 + 3; key_len]).unwrap())
                .collect();
            for (count, base) in [(16, 86), (32, 86), (16, 4), (16, 5), (16, 8)] {
                for one_key in [true, false] {
                    let lens: Vec<usize> = (0..count).map(|i| 16 * (base + i % 7)).collect();
                    let key_of = |i: usize| &keys[if one_key { 0 } else { i % keys.len() }];
                    let plain: Vec<Vec<u8>> = lens
                        .iter()
                        .map(|&n| (0..n).map(|b| (b * 7 + n) as u8).collect())
                        .collect();
                    let ivs: Vec<[u8; 16]> = (0..count).map(|i| [i as u8 ^ 0xa5; 16]).collect();
                    let mut bufs: Vec<Vec<u8>> = plain
                        .iter()
                        .map(|p| [&p[..], &[0xee; 64]].concat())
                        .collect();
                    let mut jobs: Vec<sys::IMB_JOB> = bufs
                        .iter_mut()
                        .enumerate()
                        .map(|(i, b)| raw_job(key_of(i), &ivs[i], &mut b[..lens[i]]))
                        .collect();
                    // SAFETY: cpu_has() holds; every job points at a live buffer of its length.
                    unsafe { encrypt_jobs(&mut jobs, key_len) };
                    for (i, b) in bufs.iter().enumerate() {
                        let n = lens[i];
                        let want = library(&mut mgr, key_of(i), ivs[i], &plain[i]);
                        let ctx = format!("job {i} of {count}, {n} bytes, AES-{key_len}");
                        assert_eq!(b[..n], want[..], "{ctx}");
                        assert!(b[n..].iter().all(|&x| x == 0xee), "past the end: {ctx}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_lane_matches_the_library_for_mixed_keys_lengths_and_group_sizes() {
        if !cpu_has() {
            eprintln!("no VAES here: nothing to compare");
            return;
        }
        let mut mgr = Mgr::new().unwrap();
        // Every whole-block length up to 1504 bytes, spread over groups of 1 to 37 jobs (a part
        // group after whole ones), with one key for all or a key per lane, out of place
        // every third job.
        let lens: Vec<usize> = (1..=94).map(|b| 16 * b).collect();
        for key_len in [16, 32] {
            let keys: Vec<Box<AesKeys>> = (0..5u8)
                .map(|k| AesKeys::prepare(&vec![k * 53 + 1; key_len]).unwrap())
                .collect();
            for count in [1, 2, 4, 5, 15, 16, 17, 31, 32, 33, 37] {
                for one_key in [true, false] {
                    for start in (0..lens.len()).step_by(count * 2 + 1) {
                        let mine: Vec<usize> = (0..count)
                            .map(|i| lens[(start + 11 * i) % lens.len()])
                            .collect();
                        let key_of = |i: usize| &keys[if one_key { 0 } else { i % keys.len() }];
                        let plain: Vec<Vec<u8>> = mine
                            .iter()
                            .map(|&n| (0..n).map(|b| (b * 3 + n + count) as u8).collect())
                            .collect();
                        let ivs: Vec<[u8; 16]> =
                            (0..count).map(|i| [(i * 7 + start) as u8; 16]).collect();
                        // Each buffer with a guard block after it.
                        let mut bufs: Vec<Vec<u8>> = plain
                            .iter()
                            .map(|p| [&p[..], &[0xee; 16]].concat())
                            .collect();
                        let mut outs: Vec<Vec<u8>> =
                            mine.iter().map(|&n| vec![0xee; n + 16]).collect();
                        let mut jobs: Vec<sys::IMB_JOB> = bufs
                            .iter_mut()
                            .zip(outs.iter_mut())
                            .enumerate()
                            .map(|(i, (b, o))| {
                                let mut j = raw_job(key_of(i), &ivs[i], &mut b[..mine[i]]);
                                if i % 3 == 2 {
                                    j.__bindgen_anon_2.dst = o.as_mut_ptr();
                                }
                                j
                            })
                            .collect();
                        // SAFETY: cpu_has() holds; every job points at live buffers of its
                        // lengths.
                        unsafe { encrypt_jobs(&mut jobs, key_len) };
                        for i in 0..count {
                            let want = library(&mut mgr, key_of(i), ivs[i], &plain[i]);
                            let (got, untouched) = match i % 3 {
                                2 => (&outs[i], &bufs[i]),
                                _ => (&bufs[i], &outs[i]),
                            };
                            let n = mine[i];
                            let ctx = format!("job {i} of {count}, {n} bytes, AES-{key_len}");
                            assert_eq!(got[..n], want[..], "{ctx}");
                            assert!(got[n..].iter().all(|&b| b == 0xee), "past the end: {ctx}");
                            if i % 3 == 2 {
                                assert_eq!(untouched[..n], plain[i][..], "source: {ctx}");
                            } else {
                                assert!(untouched.iter().all(|&b| b == 0xee), "{ctx}");
                            }
                            assert_eq!(jobs[i].status, sys::IMB_STATUS_COMPLETED);
                        }
                    }
                }
            }
        }
    }
}
