//! Whether SHA-NI could hash a few more messages beside the 16 AVX-512 HMAC-SHA1 lanes
//! (`fastpath/ipsec-mb/src/hmac_sha1_x16.rs`), in the same loop, for free: the lanes' rounds
//! keep the two 512-bit vector ports busy, so extra messages are free only if SHA-NI's
//! instructions run elsewhere. Hot in L1, best of 15 runs each:
//!
//! - SHA-NI alone over the 22 whole blocks of k independent 1420-byte messages (k = 1..8),
//!   ns a message;
//! - each SHA-NI instruction, eight of it (seven independent), alone and beside 40 512-bit
//!   ops (about four rounds of the 16 lanes: `vpternlogd`, `vpaddd`, `vprold` on zmm16-23),
//!   and a SHA-NI step (four rounds) of each of two messages, their schedule computed or
//!   read from memory;
//! - the cost of mixing them: SHA-NI has no VEX encoding, and legacy SSE next to VEX or
//!   EVEX code on xmm0-15 while a 512-bit register is live.
//!
//!   cargo run --release -p bench --bin sha_ni

#![allow(unsafe_code)]

use std::arch::asm;
use std::arch::x86_64::*;
use std::hint::black_box;
use std::time::Instant;

/// Best time of one call of `f`, in ns, over 15 runs of `reps` calls.
fn best_ns(reps: u32, mut f: impl FnMut()) -> f64 {
    (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_nanos() as f64 / reps as f64
        })
        .fold(f64::MAX, f64::min)
}

/// One message's SHA-1 state in SHA-NI's layout, and the registers of its current block.
#[derive(Clone, Copy)]
struct Ni {
    abcd: __m128i,
    e: __m128i,
    h0: __m128i,
    h1: __m128i,
    w: [__m128i; 5],
}

/// Step `$s` (rounds 4s..4s + 3) of a block, as in Intel's SHA extensions paper: the schedule
/// ring of five words, `h0` and `h1` taking turns.
macro_rules! ni_step {
    ($m:expr, $s:literal) => {{
        let m = &mut $m;
        if $s == 0 {
            m.h1 = _mm_sha1rnds4_epu32(m.h0, _mm_add_epi32(m.e, m.w[0]), 0);
        } else {
            if $s >= 4 {
                let x = _mm_sha1msg1_epu32(m.w[($s + 1) % 5], m.w[($s + 2) % 5]);
                let x = _mm_xor_si128(x, m.w[($s + 3) % 5]);
                m.w[$s % 5] = _mm_sha1msg2_epu32(x, m.w[($s + 4) % 5]);
            }
            if $s % 2 == 1 {
                m.h0 = _mm_sha1rnds4_epu32(m.h1, _mm_sha1nexte_epu32(m.h0, m.w[$s % 5]), $s / 5);
            } else {
                m.h1 = _mm_sha1rnds4_epu32(m.h0, _mm_sha1nexte_epu32(m.h1, m.w[$s % 5]), $s / 5);
            }
        }
    }};
}

/// The SHA-1 states after `blocks` 64-byte blocks of each of K messages, their steps
/// interleaved. Legacy SSE only (no AVX enabled), so nothing mixes encodings.
#[target_feature(enable = "sha,sse4.1,ssse3")]
fn sha_ni<const K: usize>(msgs: [&[u8]; K], blocks: usize) -> [[u32; 5]; K] {
    let swap = _mm_set_epi64x(0x0001_0203_0405_0607, 0x0809_0a0b_0c0d_0e0f);
    let z = _mm_setzero_si128();
    let mut ni = [Ni {
        abcd: _mm_set_epi32(
            0x6745_2301,
            0xefcd_ab89_u32 as i32,
            0x98ba_dcfe_u32 as i32,
            0x1032_5476,
        ),
        e: _mm_set_epi32(0xc3d2_e1f0_u32 as i32, 0, 0, 0),
        h0: z,
        h1: z,
        w: [z; 5],
    }; K];
    for r in 0..blocks {
        for (m, msg) in ni.iter_mut().zip(msgs) {
            let block = &msg[64 * r..64 * r + 64];
            m.h0 = m.abcd;
            for (i, w) in m.w[..4].iter_mut().enumerate() {
                let words = &block[16 * i..16 * i + 16];
                // SAFETY: an unaligned load of the 16 bytes of `words`.
                let x = unsafe { _mm_loadu_si128(words.as_ptr().cast()) };
                *w = _mm_shuffle_epi8(x, swap);
            }
        }
        macro_rules! steps {
            ($($s:literal)*) => {$(
                for m in ni.iter_mut() {
                    ni_step!(*m, $s);
                }
            )*};
        }
        steps!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19);
        for m in ni.iter_mut() {
            m.abcd = _mm_add_epi32(m.abcd, m.h0);
            m.e = _mm_sha1nexte_epu32(m.h1, m.e);
        }
    }
    ni.map(|m| {
        [
            _mm_extract_epi32::<3>(m.abcd) as u32,
            _mm_extract_epi32::<2>(m.abcd) as u32,
            _mm_extract_epi32::<1>(m.abcd) as u32,
            _mm_extract_epi32::<0>(m.abcd) as u32,
            _mm_extract_epi32::<3>(m.e) as u32,
        ]
    })
}

/// SHA-1 of `msg` through [`sha_ni`], padded here (FIPS 180-4 §5.1.1).
fn sha1(msg: &[u8]) -> [u8; 20] {
    let mut m = msg.to_vec();
    m.push(0x80);
    while m.len() % 64 != 56 {
        m.push(0);
    }
    m.extend_from_slice(&(msg.len() as u64 * 8).to_be_bytes());
    // SAFETY: the callers checked that the CPU has SHA-NI and SSE4.1.
    let [st] = unsafe { sha_ni::<1>([&m], m.len() / 64) };
    let mut out = [0u8; 20];
    for (o, w) in out.chunks_mut(4).zip(st) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// FIPS 180-2 appendix A, the one-block and the two-block messages, through [`sha1`].
fn fips_180_vectors() {
    let hex = |d: [u8; 20]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(
        hex(sha1(b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        hex(sha1(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
    );
}

/// 40 512-bit ops on zmm16-23 in eight chains: about four rounds of the 16 lanes.
macro_rules! evex40_high {
    () => {
        concat!(
            ".rept 5\n",
            "vpternlogd zmm16, zmm17, zmm18, 0x96\n vpaddd zmm17, zmm17, zmm18\n",
            "vprold zmm18, zmm18, 5\n vpaddd zmm19, zmm19, zmm20\n",
            "vpternlogd zmm20, zmm21, zmm22, 0xca\n vpaddd zmm21, zmm21, zmm22\n",
            "vprold zmm22, zmm22, 30\n vpaddd zmm23, zmm23, zmm16\n",
            ".endr\n"
        )
    };
}

/// The same on zmm8-15, whose upper halves legacy SSE code can see as dirty.
macro_rules! evex40_low {
    () => {
        concat!(
            ".rept 5\n",
            "vpternlogd zmm8, zmm9, zmm10, 0x96\n vpaddd zmm9, zmm9, zmm10\n",
            "vprold zmm10, zmm10, 5\n vpaddd zmm11, zmm11, zmm12\n",
            "vpternlogd zmm12, zmm13, zmm14, 0xca\n vpaddd zmm13, zmm13, zmm14\n",
            "vprold zmm14, zmm14, 30\n vpaddd zmm15, zmm15, zmm8\n",
            ".endr\n"
        )
    };
}

/// Eight instructions `$op xmm_i, xmm7$imm` (legacy encoding), seven of them independent.
macro_rules! eight {
    ($op:literal, $imm:literal) => {
        concat!(
            ".irp r,0,1,2,3,4,5,6,0\n",
            $op,
            " xmm\\r, xmm7",
            $imm,
            "\n.endr\n"
        )
    };
}

/// Two SHA-NI steps, one of each of two messages, the schedule computed.
macro_rules! two_steps {
    () => {
        concat!(
            "sha1msg1 xmm2, xmm3\n pxor xmm2, xmm4\n sha1msg2 xmm2, xmm4\n",
            "sha1nexte xmm1, xmm2\n sha1rnds4 xmm0, xmm1, 1\n",
            "sha1msg1 xmm6, xmm7\n pxor xmm6, xmm4\n sha1msg2 xmm6, xmm7\n",
            "sha1nexte xmm5, xmm6\n sha1rnds4 xmm3, xmm5, 1\n"
        )
    };
}

/// Two SHA-NI steps whose schedule words come from memory (`{w}`): the best case, as if the
/// schedule cost nothing.
macro_rules! two_steps_w_read {
    () => {
        concat!(
            "movdqu xmm2, [{w}]\n sha1nexte xmm1, xmm2\n sha1rnds4 xmm0, xmm1, 1\n",
            "movdqu xmm6, [{w} + 16]\n sha1nexte xmm5, xmm6\n sha1rnds4 xmm3, xmm5, 1\n"
        )
    };
}

/// Defines `fn $name(w: &[u8; 64])`: the body 1000 times (20 copies of it, 50 times), zmm8-23
/// set first, then the upper halves of zmm0-15 cleared. `run` divides by 1000: ns a body.
macro_rules! probe {
    ($name:ident, $($body:expr),*) => {
        #[target_feature(enable = "avx512f")]
        fn $name(w: &[u8; 64]) {
            // SAFETY: the template reads 32 bytes of `w` at most and writes only registers
            // it declares.
            unsafe {
                asm!(
                    "prefetcht0 [{w}]",
                    "vpternlogd zmm8, zmm8, zmm8, 0xff", "vmovdqa64 zmm9, zmm8",
                    "vmovdqa64 zmm10, zmm8", "vmovdqa64 zmm11, zmm8",
                    "vmovdqa64 zmm12, zmm8", "vmovdqa64 zmm13, zmm8",
                    "vmovdqa64 zmm14, zmm8", "vmovdqa64 zmm15, zmm8",
                    "vmovdqa64 zmm16, zmm8", "vmovdqa64 zmm17, zmm8",
                    "vmovdqa64 zmm18, zmm8", "vmovdqa64 zmm19, zmm8",
                    "vmovdqa64 zmm20, zmm8", "vmovdqa64 zmm21, zmm8",
                    "vmovdqa64 zmm22, zmm8", "vmovdqa64 zmm23, zmm8",
                    // Upper halves of zmm0-15 cleared, zmm16-23 kept: legacy SSE runs
                    // clean until a body writes zmm0-15 again.
                    "vzeroupper",
                    "2:", ".rept 20", $($body,)* ".endr", "dec {n}", "jnz 2b",
                    "vzeroupper",
                    n = inout(reg) 50u64 => _,
                    w = in(reg) w.as_ptr(),
                    out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
                    out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
                    out("zmm8") _, out("zmm9") _, out("zmm10") _, out("zmm11") _,
                    out("zmm12") _, out("zmm13") _, out("zmm14") _, out("zmm15") _,
                    out("zmm16") _, out("zmm17") _, out("zmm18") _, out("zmm19") _,
                    out("zmm20") _, out("zmm21") _, out("zmm22") _, out("zmm23") _,
                    options(nostack),
                );
            }
        }
    };
}

probe!(p_evex, evex40_high!());
probe!(p_rnds4, eight!("sha1rnds4", ", 1"));
probe!(p_rnds4_evex, evex40_high!(), eight!("sha1rnds4", ", 1"));
probe!(p_nexte, eight!("sha1nexte", ""));
probe!(p_nexte_evex, evex40_high!(), eight!("sha1nexte", ""));
probe!(p_msg1, eight!("sha1msg1", ""));
probe!(p_msg1_evex, evex40_high!(), eight!("sha1msg1", ""));
probe!(p_msg2, eight!("sha1msg2", ""));
probe!(p_msg2_evex, evex40_high!(), eight!("sha1msg2", ""));
probe!(p_paddd, eight!("paddd", ""));
probe!(p_paddd_evex, evex40_high!(), eight!("paddd", ""));
probe!(p_steps, two_steps!());
probe!(p_steps_evex, evex40_high!(), two_steps!());
probe!(p_steps_w, two_steps_w_read!());
probe!(p_steps_w_evex, evex40_high!(), two_steps_w_read!());
probe!(p_steps_evex_low, evex40_low!(), two_steps!());
macro_rules! vex_legacy {
    () => {
        "vmovdqa xmm2, xmm1\n sha1nexte xmm1, xmm2\n"
    };
}
// A 512-bit write of zmm8 before each pair, or the upper halves cleared.
probe!(
    p_vex_legacy,
    "vpternlogd zmm8, zmm9, zmm10, 0x96\n",
    vex_legacy!()
);
probe!(p_vex_legacy_clean, "vzeroupper\n", vex_legacy!());

/// One of the `probe!` functions.
type Probe = unsafe fn(&[u8; 64]);

fn main() {
    if !(is_x86_feature_detected!("sha")
        && is_x86_feature_detected!("sse4.1")
        && is_x86_feature_detected!("avx512f"))
    {
        println!("this CPU lacks SHA-NI or AVX-512 F: nothing to measure");
        return;
    }
    fips_180_vectors();

    // A 1400-byte frame's HMAC input is 1420 bytes: its 22 whole blocks.
    let blocks = 22;
    let msgs: Vec<Vec<u8>> = (0..8)
        .map(|m| {
            (0..64 * blocks)
                .map(|b| (b * 13 + m * 7 + 1) as u8)
                .collect()
        })
        .collect();
    println!(
        "SHA-NI alone, {} blocks a message, interleaved messages:",
        blocks
    );
    macro_rules! alone {
        ($k:literal) => {{
            let m: [&[u8]; $k] = std::array::from_fn(|i| &msgs[i][..]);
            // SAFETY: main checked that the CPU has SHA-NI and SSE4.1.
            let ns = best_ns(200, || {
                black_box(unsafe { sha_ni::<$k>(black_box(m), blocks) });
            });
            println!("  k={}: {:6.0} ns a message", $k, ns / $k as f64);
        }};
    }
    alone!(1);
    alone!(2);
    alone!(4);
    alone!(8);

    let w = [0x5au8; 64];
    let run = |f: Probe| {
        // SAFETY: main checked that the CPU has AVX-512 F and SHA-NI.
        best_ns(20, || unsafe { f(black_box(&w)) }) / 1000.0
    };
    println!("ns a body, alone and beside 40 512-bit ops (zmm16-23):");
    let evex = run(p_evex);
    println!("  40 512-bit ops alone: {evex:.2}");
    let rows: [(&str, Probe, Probe); 7] = [
        ("8 sha1rnds4", p_rnds4, p_rnds4_evex),
        ("8 sha1nexte", p_nexte, p_nexte_evex),
        ("8 sha1msg1", p_msg1, p_msg1_evex),
        ("8 sha1msg2", p_msg2, p_msg2_evex),
        ("8 paddd (legacy)", p_paddd, p_paddd_evex),
        ("2 SHA-NI steps", p_steps, p_steps_evex),
        ("2 steps, w read", p_steps_w, p_steps_w_evex),
    ];
    for (name, alone, beside) in rows {
        let (a, b) = (run(alone), run(beside));
        println!(
            "  {name:18} alone {a:6.2}, beside {b:6.2}: {:.0} % of the shorter hidden",
            100.0 * (evex + a - b) / a.min(evex)
        );
    }
    // Four rounds of one more message: a 17th lane would cost a sixteenth of the 40 ops.
    let steps = run(p_steps_evex) - evex;
    let read = run(p_steps_w_evex) - evex;
    println!(
        "  four rounds of one message: a lane's share {:.2}; SHA-NI beside {:.2} ({:.2} with w read)",
        evex / 16.0,
        steps / 2.0,
        read / 2.0
    );
    println!("mixing legacy SSE with live 512-bit registers:");
    println!(
        "  2 SHA-NI steps beside 40 ops on zmm8-15: {:.2} (on zmm16-23: {:.2})",
        run(p_steps_evex_low),
        run(p_steps_evex)
    );
    println!(
        "  vmovdqa then sha1nexte: after a write of zmm8 {:.2}, after vzeroupper {:.2}",
        run(p_vex_legacy),
        run(p_vex_legacy_clean)
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha_ni_blocks_give_the_fips_180_digests() {
        if !(is_x86_feature_detected!("sha") && is_x86_feature_detected!("sse4.1")) {
            eprintln!("no SHA-NI here: nothing to check");
            return;
        }
        super::fips_180_vectors();
    }
}
