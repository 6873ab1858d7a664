//! Our outbound to our inbound, for every transform, mode, ESN, NAT-T, a spread of sizes and
//! every backend (and across backends): the bytes come back (inner TTL one less in tunnel
//! mode), and the ESP packet on the wire is well formed.

use crate::common::Rng;
use crate::util::*;
use esp::crypto::{Backend, EncAlg, IntegAlg};
use esp::verdict::Verdict;

/// UDP payload sizes: every residue around the block sizes, and up to a 1500-byte payload.
const SIZES: [usize; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15, 16, 17, 30, 31, 32, 33, 63, 64, 100, 127, 255, 256,
    511, 1000, 1023, 1400, 1452, 1472, 1500,
];

/// What the ESP packet built from `inner` must look like.
#[allow(clippy::too_many_arguments)]
pub fn check_wire(
    what: &str,
    out: &[u8],
    inner: &[u8],
    tf: &Tf,
    mode: ModeKind,
    natt: bool,
    spi: u32,
    seq: u64,
    generation: u16,
) {
    let (src, dst) = mode.outer_addrs();
    let h = ip_header_len(out);
    assert_eq!(is_v6(out), mode.outer_v6(), "{what}: outer family");
    let want_proto = if natt { 17 } else { 50 };
    assert_eq!(ip_proto(out), want_proto, "{what}: outer protocol");
    let want_ttl = if mode.tunnel() { 64 } else { ttl(inner) };
    assert_eq!(ttl(out), want_ttl, "{what}: outer TTL");
    if is_v6(out) {
        assert_eq!(
            u16::from_be_bytes([out[4], out[5]]) as usize,
            out.len() - 40,
            "{what}: payload length"
        );
        assert_eq!(&out[8..24], &octets(src)[..], "{what}: source");
        assert_eq!(&out[24..40], &octets(dst)[..], "{what}: destination");
    } else {
        assert!(ipv4_checksum_ok(out), "{what}: outer IPv4 checksum");
        assert_eq!(
            u16::from_be_bytes([out[2], out[3]]) as usize,
            out.len(),
            "{what}: total length"
        );
        assert_eq!(&out[12..16], &octets(src)[..], "{what}: source");
        assert_eq!(&out[16..20], &octets(dst)[..], "{what}: destination");
    }
    if !mode.tunnel() {
        // Transport: the inner header travels on, with only length, protocol and checksum new.
        if is_v6(out) {
            assert_eq!(&out[0..4], &inner[0..4], "{what}: v6 header");
            assert_eq!(&out[7..40], &inner[7..40], "{what}: v6 header");
        } else {
            assert_eq!(&out[0..2], &inner[0..2], "{what}: v4 header");
            assert_eq!(&out[4..9], &inner[4..9], "{what}: v4 header");
            assert_eq!(&out[12..20], &inner[12..20], "{what}: v4 header");
        }
    }
    let mut at = h;
    if natt {
        let udp = &out[h..h + 8];
        assert_eq!(&udp[0..4], &[0x11, 0x94, 0x11, 0x94], "{what}: UDP ports");
        assert_eq!(
            u16::from_be_bytes([udp[4], udp[5]]) as usize,
            out.len() - h,
            "{what}: UDP length"
        );
        if is_v6(out) {
            assert!(udp6_checksum_ok(out), "{what}: IPv6 UDP checksum");
        } else {
            assert_eq!(&udp[6..8], &[0, 0], "{what}: IPv4 UDP checksum");
        }
        at += 8;
    }
    assert_eq!(esp_spi(out), spi, "{what}: SPI");
    assert_eq!(esp_seq(out), seq as u32, "{what}: sequence number");
    let (iv, block) = match tf.enc {
        EncAlg::AesGcm16_128 | EncAlg::AesGcm16_256 => (8, 4),
        EncAlg::Null => (0, 4),
        _ => (16, 16),
    };
    let icv = match tf.integ {
        IntegAlg::HmacSha1_96 => 12,
        _ => 16,
    };
    if tf.is_gcm() {
        let want = ((generation as u64) << 48) | seq;
        assert_eq!(
            &out[at + 8..at + 16],
            &want.to_be_bytes(),
            "{what}: GCM IV = generation || sequence number"
        );
    }
    let payload = if mode.tunnel() {
        inner.len()
    } else {
        inner.len() - ip_header_len(inner)
    };
    let ct = (payload + 2).div_ceil(block) * block;
    assert_eq!(out.len(), at + 8 + iv + ct + icv, "{what}: ESP length");
}

fn octets(a: std::net::IpAddr) -> Vec<u8> {
    match a {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The backend pairs (sender, receiver) to run for a transform: each that works with
/// itself, and each against the RustCrypto reference both ways.
fn backend_pairs(tf: &Tf, rng: &mut Rng) -> Vec<(Backend, Backend)> {
    let keys = tf.keys(rng);
    let ok: Vec<Backend> = ALL_BACKENDS
        .into_iter()
        .filter(|&b| backend_works(&keys, b))
        .collect();
    eprintln!("{:?}/{:?}: backends {ok:?}", tf.enc, tf.integ);
    assert!(ok.contains(&Backend::RustCrypto) && ok.contains(&Backend::Auto));
    let mut pairs = Vec::new();
    for &b in &ok {
        pairs.push((b, b));
        if b != Backend::RustCrypto {
            pairs.push((Backend::RustCrypto, b));
            pairs.push((b, Backend::RustCrypto));
        }
    }
    pairs
}

/// Runs one case: a burst of every size out, checked on the wire, then back in.
#[allow(clippy::too_many_arguments)]
fn round_trip(
    tf: &Tf,
    mode: ModeKind,
    esn: bool,
    natt: bool,
    backends: (Backend, Backend),
    spi: u32,
    rng: &mut Rng,
) {
    let what = format!("{}/{backends:?}", label(tf, mode, esn, natt));
    let keys = tf.keys(rng);
    let (mut out_cfg, mut in_cfg) = sa_pair(spi, &keys, mode, esn, natt);
    out_cfg.backend = backends.0;
    in_cfg.backend = backends.1;
    let mut tx = Node::quiet();
    let mut rx = Node::quiet();
    let out = tx.add(1, out_cfg);
    let inb = rx.add(7, in_cfg);
    if backends.0 != Backend::Auto {
        assert_eq!(tx.sad.get(out).unwrap().session.backend(), backends.0);
    }
    // With ESN, cross 2^32 in the middle of the burst.
    let first = if esn { (1u64 << 32) - 15 } else { 1 };
    tx.sad
        .get_mut(out)
        .unwrap()
        .advance_oseq(first - 1)
        .unwrap();
    if esn {
        rx.set_top(inb, first - 1);
    }
    let plain: Vec<Vec<u8>> = SIZES
        .iter()
        .enumerate()
        .map(|(k, &n)| {
            let mut p = inner_packet(mode, n, 1000 + k as u16, rng);
            // Vary DSCP/ECT so that copying is seen too (ECN ECT(0) on some).
            set_tos(
                &mut p,
                ((k as u8 % 8) << 2) | if k.is_multiple_of(3) { 2 } else { 0 },
            );
            p
        })
        .collect();
    let sas = vec![out; plain.len()];
    let sealed = tx.encrypt(&plain, &sas);
    for (k, ((v, e), p)) in sealed.iter().zip(&plain).enumerate() {
        let w = format!("{what}/len={}", p.len());
        assert_eq!(*v, Verdict::Forward, "{w}");
        check_wire(&w, e, p, tf, mode, natt, spi, first + k as u64, 0);
        if mode.tunnel() {
            assert_eq!(tos(e), tos(p), "{w}: outer TOS copies DSCP and ECN");
        }
    }
    assert_eq!(tx.lc.counters.encrypted, plain.len() as u64, "{what}");
    assert_eq!(
        tx.sad.get(out).unwrap().counters().packets,
        plain.len() as u64
    );
    let bytes: u64 = plain.iter().map(|p| p.len() as u64).sum();
    assert_eq!(
        tx.sad.get(out).unwrap().counters().bytes,
        bytes,
        "{what}: SA bytes"
    );

    let wire: Vec<Vec<u8>> = sealed.into_iter().map(|(_, e)| e).collect();
    let opened = rx.decrypt(&wire);
    for ((v, got), p) in opened.iter().zip(&plain) {
        let w = format!("{what}/len={}", p.len());
        assert_eq!(*v, Verdict::Forward, "{w}");
        let want = if mode.tunnel() {
            ttl_decremented(p)
        } else {
            p.clone()
        };
        assert_eq!(got, &want, "{w}: decrypted bytes");
        if !is_v6(got) {
            assert!(ipv4_checksum_ok(got), "{w}: inner IPv4 checksum");
        }
    }
    assert_eq!(rx.lc.counters.decrypted, plain.len() as u64, "{what}");
    assert_eq!(rx.total_drops(), 0, "{what}");
    let last = first + plain.len() as u64 - 1;
    assert_eq!(rx.top(inb), last, "{what}: window top");
    let in_bytes: u64 = plain.iter().map(|p| p.len() as u64).sum();
    assert_eq!(
        rx.sad.get(inb).unwrap().counters().bytes,
        in_bytes,
        "{what}"
    );
    // Sending the same burst again: every packet is a replay now.
    let again = rx.verdicts(&wire);
    assert!(
        again
            .iter()
            .all(|v| *v == Verdict::Drop(esp::counters::DropReason::Replay)),
        "{what}: {again:?}"
    );
}

#[test]
fn round_trip_every_transform_mode_esn_natt_size_and_backend() {
    let mut rng = Rng::new(0x0e5b_0001);
    let mut spi = 0x1000;
    let mut cases = 0;
    for tf in transforms() {
        for backends in backend_pairs(&tf, &mut rng) {
            for mode in MODES {
                for esn in [false, true] {
                    for natt in [false, true] {
                        spi += 1;
                        round_trip(&tf, mode, esn, natt, backends, spi, &mut rng);
                        cases += 1;
                    }
                }
            }
        }
    }
    eprintln!("{cases} round-trip cases of {} packets each", SIZES.len());
}

/// One burst carrying packets of many SAs, each with a different transform and mode, and
/// each SA with its own backend: they all come back.
#[test]
fn round_trip_many_sas_interleaved() {
    let mut rng = Rng::new(0x0e5b_0002);
    let mut tx = Node::quiet();
    let mut rx = Node::quiet();
    let mut sas = Vec::new();
    for (k, tf) in transforms().into_iter().enumerate() {
        for (j, &mode) in MODES.iter().enumerate() {
            let id = (k * MODES.len() + j) as u32;
            let keys = tf.keys(&mut rng);
            let (o, i) = sa_pair(
                0x2000 + id,
                &keys,
                mode,
                id.is_multiple_of(2),
                id.is_multiple_of(3),
            );
            sas.push((tx.add(id, o), rx.add(100 + id, i), mode));
        }
    }
    let mut plain = Vec::new();
    let mut ids = Vec::new();
    for n in 0..300 {
        let (o, _, mode) = sas[(n * 7) % sas.len()];
        plain.push(inner_packet(mode, (n * 37) % 1400, n as u16, &mut rng));
        ids.push(o);
    }
    let sealed = tx.encrypt(&plain, &ids);
    assert!(sealed.iter().all(|(v, _)| *v == Verdict::Forward));
    let wire: Vec<Vec<u8>> = sealed.into_iter().map(|(_, e)| e).collect();
    let opened = rx.decrypt(&wire);
    for (n, ((v, got), p)) in opened.iter().zip(&plain).enumerate() {
        let mode = sas[(n * 7) % sas.len()].2;
        assert_eq!(*v, Verdict::Forward, "packet {n}");
        let want = if mode.tunnel() {
            ttl_decremented(p)
        } else {
            p.clone()
        };
        assert_eq!(got, &want, "packet {n}");
    }
}
