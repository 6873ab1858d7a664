//! Inbound ESP: the fuzz input becomes one burst of packets for `esp::inbound::decrypt_burst`,
//! against a SAD of inbound SAs that covers the transforms (GCM, CBC + HMAC, NULL + HMAC),
//! modes (tunnel over IPv4 and IPv6, transport), ESN on and off, NAT-T, selectors, a lifetime,
//! a standby SA and every crypto backend.
//!
//! Input: one header byte (the clock), then records `[len: u16 be][kind][body: len - 1 bytes]`
//! (a record that claims more than is left takes what is left). Each record makes one packet:
//!
//! - kind 0, `raw`: the body is the outer IP packet, as received.
//! - kind 1, `sealed`: `[sa][flags][next header][seq step][plaintext...]`. The target builds the
//!   outer headers for the SA, puts the plaintext (with a correct ESP trailer if flags bit 0,
//!   else as is) under the SA's keys and seals it, so the ICV checks out and everything after
//!   it (padding, next header, inner parsing, ECN, selectors, lifetimes, the window update) is
//!   reached with fuzzer-chosen plaintext.
//! - kind 2, `outbound`: `[sa][flags][inner packet...]`: the inner packet goes through
//!   `outbound::encrypt_burst` with the SA's outbound twin first. Unless the flags mutate the
//!   result, decrypting it must give back the inner packet (a round-trip oracle).
//! - kind 3, `nat-t`: the body is the UDP payload of a packet to port 4500 (IKE, keepalives,
//!   UDP-encapsulated ESP).
//!
//! Checked: no panic; a verdict for every packet; the counters agree with the verdicts; a
//! forwarded packet is one whole IP packet; the round trip of unmutated `outbound` packets.
#![no_main]

use esp::buf::{PacketBuf, VecBuf};
use esp::counters::LcoreCounters;
use esp::crypto::{Backend, CryptoOp, EncAlg, IntegAlg, TransformKeys};
use esp::inbound::decrypt_burst;
use esp::lcore::Lcore;
use esp::outbound::encrypt_burst;
use esp::sa::{Direction, Lifetime, Mode, Sa, SaConfig, SaId, SaState, UdpEncap};
use esp::sad::Sad;
use esp::snapshot::SyncPolicy;
use esp::spd::{PortRange, Selector};
use esp::verdict::{write_trailer, TrailerLayout, Verdict};
use esp::wire::ip::{decrement_ttl, IpHeader, IpVersion};
use esp::wire::{proto, NAT_T_PORT};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::net::IpAddr;

/// Headroom and tailroom of every buffer (an mbuf has 128 of headroom).
const ROOM: usize = 128;
/// The most packets one input makes: two chunks of `MAX_BURST`, and some.
const MAX_PACKETS: usize = 150;

/// Our tunnel endpoints (the inbound SAs' local addresses), and the peers'.
const LOCAL4: &str = "192.0.2.1";
const PEER4: &str = "192.0.2.2";
const LOCAL6: &str = "2001:db8::1";
const PEER6: &str = "2001:db8::2";

/// One SA of the test SAD, as a pair (inbound, and its outbound twin that the peer would use).
struct Spec {
    spi: u32,
    enc: EncAlg,
    integ: IntegAlg,
    backend: Backend,
    /// None: transport; Some(true): tunnel over IPv6.
    tunnel_v6: Option<bool>,
    esn: bool,
    window: u32,
    natt: bool,
    /// The inbound window's top at the start (ESN: just under a 2^32 boundary).
    top: u64,
    selectors: &'static [(&'static str, &'static str, Option<u8>, (u16, u16))],
    hard_packets: u64,
    standby: bool,
}

const fn spec(spi: u32, enc: EncAlg, integ: IntegAlg, backend: Backend) -> Spec {
    Spec {
        spi,
        enc,
        integ,
        backend,
        tunnel_v6: Some(false),
        esn: false,
        window: 1024,
        natt: false,
        top: 0,
        selectors: &[],
        hard_packets: 0,
        standby: false,
    }
}

const NEAR_WRAP: u64 = (1 << 32) - 3;

const SPECS: [Spec; 10] = [
    // AES-GCM-128, tunnel over IPv4, the default backend (intel-ipsec-mb).
    spec(0x1000, EncAlg::AesGcm16_128, IntegAlg::None, Backend::Auto),
    // AES-CBC-128 + HMAC-SHA1-96, tunnel over IPv6, ESN crossing 2^32, a small window.
    Spec {
        tunnel_v6: Some(true),
        esn: true,
        window: 64,
        top: NEAR_WRAP,
        ..spec(
            0x1001,
            EncAlg::AesCbc128,
            IntegAlg::HmacSha1_96,
            Backend::Auto,
        )
    },
    // NULL + HMAC-SHA256-128, transport (either family).
    Spec {
        tunnel_v6: None,
        window: 32,
        ..spec(
            0x1002,
            EncAlg::Null,
            IntegAlg::HmacSha256_128,
            Backend::Auto,
        )
    },
    // AES-GCM-256 over NAT-T, ESN, selectors, ring.
    Spec {
        esn: true,
        natt: true,
        top: NEAR_WRAP,
        selectors: &[
            (
                "203.0.113.0/24",
                "198.51.100.0/24",
                Some(proto::UDP),
                (0, 65535),
            ),
            (
                "203.0.113.0/24",
                "198.51.100.0/24",
                Some(proto::ICMP),
                (8, 8),
            ),
        ],
        ..spec(0x1003, EncAlg::AesGcm16_256, IntegAlg::None, Backend::Ring)
    },
    // AES-CBC-256 + HMAC-SHA256-128, transport over NAT-T, ESN, no anti-replay, aws-lc-rs.
    Spec {
        tunnel_v6: None,
        esn: true,
        window: 0,
        natt: true,
        top: 5,
        ..spec(
            0x1004,
            EncAlg::AesCbc256,
            IntegAlg::HmacSha256_128,
            Backend::AwsLc,
        )
    },
    // AES-GCM-128, tunnel over IPv6, RustCrypto, a hard lifetime of 3 packets.
    Spec {
        tunnel_v6: Some(true),
        hard_packets: 3,
        ..spec(
            0x1005,
            EncAlg::AesGcm16_128,
            IntegAlg::None,
            Backend::RustCrypto,
        )
    },
    // NULL + HMAC-SHA1-96, tunnel over IPv4, IPv6-only selectors, the largest window.
    Spec {
        window: 65536,
        selectors: &[("2001:db8:1::/48", "::/0", None, (0, 65535))],
        ..spec(
            0x1006,
            EncAlg::Null,
            IntegAlg::HmacSha1_96,
            Backend::RustCrypto,
        )
    },
    // AES-CBC-128 + HMAC-SHA256-128, an HA standby.
    Spec {
        standby: true,
        ..spec(
            0x1007,
            EncAlg::AesCbc128,
            IntegAlg::HmacSha256_128,
            Backend::Auto,
        )
    },
    // AES-GCM-128, transport, ESN, RustCrypto, port selectors in both families.
    Spec {
        tunnel_v6: None,
        esn: true,
        window: 128,
        top: (7 << 32) + 100,
        selectors: &[
            ("198.51.100.0/24", "0.0.0.0/0", Some(proto::TCP), (0, 65535)),
            ("::/0", "2001:db8:2::/48", Some(proto::UDP), (5000, 5001)),
        ],
        ..spec(
            0x1008,
            EncAlg::AesGcm16_128,
            IntegAlg::None,
            Backend::RustCrypto,
        )
    },
    // AES-CBC-256 + HMAC-SHA1-96 over NAT-T on IPv6, intel-ipsec-mb.
    Spec {
        tunnel_v6: Some(true),
        natt: true,
        ..spec(
            0x1009,
            EncAlg::AesCbc256,
            IntegAlg::HmacSha1_96,
            Backend::Auto,
        )
    },
];

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn keys(s: &Spec) -> TransformKeys {
    let enc_len = match s.enc {
        EncAlg::AesGcm16_128 => 20,
        EncAlg::AesGcm16_256 => 36,
        EncAlg::AesCbc128 => 16,
        EncAlg::AesCbc256 => 32,
        EncAlg::Null => 0,
    };
    let auth_len = match s.integ {
        IntegAlg::None => 0,
        IntegAlg::HmacSha1_96 => 20,
        IntegAlg::HmacSha256_128 => 32,
    };
    let k = s.spi as u8;
    TransformKeys {
        enc: s.enc,
        integ: s.integ,
        enc_key: (0..enc_len)
            .map(|i| k ^ (i as u8).wrapping_mul(7))
            .collect(),
        auth_key: (0..auth_len)
            .map(|i| k ^ (i as u8).wrapping_mul(13))
            .collect(),
    }
}

fn config(s: &Spec, direction: Direction) -> SaConfig {
    let (l, r) = match s.tunnel_v6 {
        Some(true) => (ip(LOCAL6), ip(PEER6)),
        _ => (ip(LOCAL4), ip(PEER4)),
    };
    let (local, remote) = match direction {
        Direction::Inbound => (l, r),
        Direction::Outbound => (r, l),
    };
    let mut c = SaConfig::tunnel(s.spi, direction, local, remote, keys(s));
    if s.tunnel_v6.is_none() {
        c.mode = Mode::Transport;
    }
    c.backend = s.backend;
    c.esn = s.esn;
    c.replay_window = s.window;
    c.encap = s.natt.then_some(UdpEncap {
        local_port: NAT_T_PORT,
        remote_port: NAT_T_PORT,
    });
    if direction == Direction::Inbound {
        c.lifetime = Lifetime {
            hard_packets: s.hard_packets,
            soft_packets: s.hard_packets / 2,
            ..Lifetime::default()
        };
        c.active = !s.standby;
        c.selectors = s
            .selectors
            .iter()
            .map(|&(src, dst, proto, (lo, hi))| Selector {
                src: src.parse().unwrap(),
                dst: dst.parse().unwrap(),
                proto,
                sport: PortRange::ANY,
                dport: PortRange::new(lo, hi),
            })
            .collect();
    }
    c
}

/// The inbound SAD (ids 0..) and the outbound one (the peer's, same ids).
fn sads() -> (Sad, Sad) {
    let mut inb = Sad::new();
    let mut out = Sad::new();
    for (i, s) in SPECS.iter().enumerate() {
        install(&mut inb, &mut out, SaId(i as u32), s);
    }
    (inb, out)
}

/// Installs the SA pair of `s` at `id`, moved forward to its starting sequence number.
fn install(inb: &mut Sad, out: &mut Sad, id: SaId, s: &Spec) {
    inb.insert(id, config(s, Direction::Inbound), 0).unwrap();
    out.insert(id, config(s, Direction::Outbound), 0).unwrap();
    if s.top != 0 {
        let sa = inb.get_mut(id).unwrap();
        let mut snap = sa.window_snapshot();
        snap.top = s.top;
        sa.raise_window(&snap);
        out.get_mut(id).unwrap().advance_oseq(s.top).unwrap();
    }
}

/// An outer IPv4 or IPv6 header (`len` bytes of payload follow), with a hop-by-hop header
/// (IPv6) or options (IPv4) when `ext`.
fn outer_header(src: IpAddr, dst: IpAddr, protocol: u8, tos: u8, ext: bool, len: usize) -> Vec<u8> {
    let mut h = Vec::new();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let hl = if ext { 24 } else { 20 };
            let total = (hl + len).min(u16::MAX as usize) as u16;
            h.extend_from_slice(&[0x40 | (hl / 4) as u8, tos]);
            h.extend_from_slice(&total.to_be_bytes());
            h.extend_from_slice(&[0, 1, 0x40, 0, 64, protocol, 0, 0]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            if ext {
                h.extend_from_slice(&[1, 1, 1, 0]); // NOP, NOP, NOP, EOL
            }
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let payload = (len + if ext { 8 } else { 0 }).min(u16::MAX as usize) as u16;
            let first = 0x6000_0000u32 | ((tos as u32) << 20);
            h.extend_from_slice(&first.to_be_bytes());
            h.extend_from_slice(&payload.to_be_bytes());
            h.extend_from_slice(&[if ext { proto::HOP_BY_HOP } else { protocol }, 64]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            if ext {
                h.extend_from_slice(&[protocol, 0, 1, 4, 0, 0, 0, 0]); // PadN
            }
        }
        _ => unreachable!("one family"),
    }
    h
}

fn udp_header(len: usize) -> [u8; 8] {
    let mut u = [0u8; 8];
    u[0..2].copy_from_slice(&NAT_T_PORT.to_be_bytes());
    u[2..4].copy_from_slice(&NAT_T_PORT.to_be_bytes());
    u[4..6].copy_from_slice(&((8 + len).min(u16::MAX as usize) as u16).to_be_bytes());
    u
}

/// kind 1: an ESP packet for inbound SA `id` around a fuzzer-chosen plaintext, sealed.
fn sealed(lc: &mut Lcore, sad: &Sad, next_seq: &mut [u64], body: &[u8]) -> Option<Vec<u8>> {
    let [sa, flags, nh, step, plain @ ..] = body else {
        return None;
    };
    let index = *sa as usize % SPECS.len();
    let spec = &SPECS[index];
    let sa = sad.get(SaId(index as u32))?;
    let s = &sa.session;
    // Sequence numbers: the next one, or a jump (backwards or far forwards) when asked.
    let seq = &mut next_seq[index];
    *seq = match step {
        0..=0x7f => seq.wrapping_add(1 + (*step as u64 & 3)),
        0x80..=0xbf => seq.wrapping_sub((*step & 0x3f) as u64),
        _ => seq.wrapping_add(((*step & 0x3f) as u64) << 26),
    };
    let seq = *seq;

    let mut ct = plain.to_vec();
    if flags & 1 != 0 {
        let t = TrailerLayout::new(ct.len(), s.block_len());
        ct.resize(t.ciphertext_len, 0);
        let at = ct.len() - t.pad_len - 2;
        write_trailer(&mut ct[at..], t.pad_len, *nh);
    } else {
        let block = s.block_len().max(4);
        ct.resize(ct.len().max(1).div_ceil(block) * block, 0);
    }
    let mut esp = Vec::with_capacity(8 + s.iv_len() + ct.len() + s.icv_len());
    esp.extend_from_slice(&spec.spi.to_be_bytes());
    esp.extend_from_slice(&(seq as u32).to_be_bytes());
    let iv_at = esp.len();
    esp.resize(iv_at + s.iv_len(), 0);
    s.write_iv(seq ^ ((*nh as u64) << 40), &mut esp[iv_at..]);
    esp.extend_from_slice(&ct);
    esp.resize(esp.len() + s.icv_len(), 0);
    {
        let mut ops = [CryptoOp {
            session: s,
            esp: &mut esp,
            esn_hi: spec.esn.then_some((seq >> 32) as u32),
            result: Ok(()),
        }];
        lc.engine.seal_burst(&mut ops);
        ops[0].result.ok()?;
    }
    if flags & 0x20 != 0 {
        // Forged: one bit of the ciphertext or ICV flipped.
        let at = 8 + (*nh as usize) % (esp.len() - 8);
        esp[at] ^= 1 << (step & 7);
    }

    let v6 = match spec.tunnel_v6 {
        Some(v6) => v6,
        None => flags & 0x10 != 0,
    };
    let (mut src, mut dst) = if v6 {
        (ip(PEER6), ip(LOCAL6))
    } else {
        (ip(PEER4), ip(LOCAL4))
    };
    if spec.tunnel_v6.is_none() {
        // Transport: the addresses are the hosts'.
        (src, dst) = if v6 {
            (ip("2001:db8:2::20"), ip("2001:db8:1::10"))
        } else {
            (ip("203.0.113.20"), ip("198.51.100.10"))
        };
    }
    if flags & 0x40 != 0 {
        dst = src; // not our address: a tunnel SA refuses it
    }
    let tos = (flags >> 2) & 3 | (nh & 0xfc);
    let ext = flags & 2 != 0;
    let mut pkt = if spec.natt {
        let udp = udp_header(esp.len());
        let mut p = outer_header(src, dst, proto::UDP, tos, ext, 8 + esp.len());
        p.extend_from_slice(&udp);
        p
    } else {
        outer_header(src, dst, proto::ESP, tos, ext, esp.len())
    };
    pkt.extend_from_slice(&esp);
    if flags & 0x80 != 0 {
        pkt.extend_from_slice(&[0xee; 7]); // Ethernet padding
    }
    Some(pkt)
}

/// kind 3: a UDP packet to port 4500 from the NAT-T peer.
fn nat_t(body: &[u8]) -> Vec<u8> {
    let (v6, payload) = match body.split_first() {
        Some((f, rest)) => (f & 1 != 0, rest),
        None => (false, body),
    };
    let (src, dst) = if v6 {
        (ip(PEER6), ip(LOCAL6))
    } else {
        (ip(PEER4), ip(LOCAL4))
    };
    let mut p = outer_header(src, dst, proto::UDP, 0, false, 8 + payload.len());
    p.extend_from_slice(&udp_header(payload.len()));
    p.extend_from_slice(payload);
    p
}

/// What decrypting an unmutated round-trip packet must give: tunnel mode, the inner packet
/// after the sender's TTL decrement; transport mode, the packet itself (bar the IPv4
/// checksum, recomputed). `None` when the packet may legitimately not come back.
fn expected(spec: &Spec, inner: &[u8]) -> Option<(Vec<u8>, bool)> {
    if !spec.selectors.is_empty() || spec.hard_packets != 0 || spec.standby {
        return None;
    }
    let h = IpHeader::parse(inner).ok()?;
    let mut want = inner[..h.total_len].to_vec();
    match spec.tunnel_v6 {
        Some(_) => {
            if !decrement_ttl(&mut want, h.version) {
                return None;
            }
            Some((want, false))
        }
        None => {
            // Outer fragments go to reassembly; next header 59 is a dummy packet.
            if h.fragment || h.protocol == proto::NO_NEXT {
                return None;
            }
            Some((want, h.version == IpVersion::V4))
        }
    }
}

/// Puts every SA back as `sads` made it: an SA's sequence numbers and window only move forward,
/// so one that an input changed is installed anew (building the SADs anew for every input costs
/// more than the rest of the run, and most inputs touch few SAs).
fn reset(inb: &mut Sad, out: &mut Sad, pristine: &(Sad, Sad)) {
    for (i, s) in SPECS.iter().enumerate() {
        let id = SaId(i as u32);
        let moved = |sad: &Sad, twin: &Sad| !unchanged(sad.get(id).unwrap(), twin.get(id).unwrap());
        if moved(inb, &pristine.0) || moved(out, &pristine.1) {
            inb.remove(id);
            out.remove(id);
            install(inb, out, id, s);
        }
    }
}

/// Whether `sa` is as its never-used twin, as far as verdicts and counters can tell.
fn unchanged(sa: &Sa, twin: &Sa) -> bool {
    sa.state() == twin.state()
        && sa.oseq() == twin.oseq()
        && sa.window() == twin.window()
        && sa.counters() == twin.counters()
        && sa.last_used_ns() == twin.last_used_ns()
}

struct State {
    lc: Lcore,
    inb: Sad,
    out: Sad,
    /// Never used: what `reset` compares the SAs with.
    pristine: (Sad, Sad),
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new({
        let (inb, out) = sads();
        State { lc: Lcore::new(SyncPolicy::default(), 64, 64), inb, out, pristine: sads() }
    });
}

/// FUZZ_DEBUG=1 prints every input's verdicts (to see what a seed or a crash reaches).
fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("FUZZ_DEBUG").is_some())
}

fn counted(c: &LcoreCounters) -> u64 {
    c.decrypted + c.dummy + c.drops.iter().sum::<u64>()
}

fuzz_target!(|data: &[u8]| {
    let Some((&clock, mut rest)) = data.split_first() else {
        return;
    };
    let now_ns = (clock as u64) << 30;
    STATE.with(|st| {
        let st = &mut *st.borrow_mut();
        let State {
            lc,
            inb: sad,
            out: out_sad,
            pristine,
        } = st;
        while lc.events.pop().is_some() {}
        while lc.snapshots.pop().is_some() {}
        reset(sad, out_sad, pristine);
        let mut next_seq: Vec<u64> = SPECS.iter().map(|s| s.top).collect();

        enum Slot {
            Ready(Vec<u8>),
            /// Index into the outbound burst, and the flags.
            Outbound(usize, u8),
        }
        let mut slots = Vec::new();
        let mut out_bufs: Vec<VecBuf> = Vec::new();
        let mut out_sas: Vec<SaId> = Vec::new();
        let mut out_inner: Vec<Vec<u8>> = Vec::new();
        let mut sealed_sas = [false; SPECS.len()];
        while rest.len() >= 3 && slots.len() < MAX_PACKETS {
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            let len = len.clamp(1, rest.len() - 2);
            let (record, tail) = rest[2..].split_at(len);
            rest = tail;
            let (kind, body) = (record[0], &record[1..]);
            match kind % 4 {
                0 => slots.push(Slot::Ready(body.to_vec())),
                1 => {
                    if let Some(&sa) = body.first() {
                        sealed_sas[sa as usize % SPECS.len()] = true;
                    }
                    if let Some(p) = sealed(lc, sad, &mut next_seq, body) {
                        slots.push(Slot::Ready(p));
                    }
                }
                2 => {
                    let [sa, flags, inner @ ..] = body else {
                        continue;
                    };
                    slots.push(Slot::Outbound(out_bufs.len(), *flags));
                    out_bufs.push(VecBuf::new(inner, ROOM, ROOM));
                    out_sas.push(SaId(*sa as u32 % SPECS.len() as u32));
                    out_inner.push(inner.to_vec());
                }
                _ => slots.push(Slot::Ready(nat_t(body))),
            }
        }

        let mut out_verdicts = vec![Verdict::Exception; out_bufs.len()];
        encrypt_burst(
            lc,
            out_sad,
            &mut out_bufs,
            &out_sas,
            &mut out_verdicts,
            now_ns,
        );

        // The inbound burst, and for each packet the round trip it must make, if any.
        let mut bufs = Vec::new();
        let mut oracle: Vec<Option<(Vec<u8>, bool)>> = Vec::new();
        for slot in &slots {
            match *slot {
                Slot::Ready(ref p) => {
                    bufs.push(VecBuf::new(p, ROOM / 2, ROOM / 2));
                    oracle.push(None);
                }
                Slot::Outbound(i, flags) => {
                    if out_verdicts[i] != Verdict::Forward {
                        continue;
                    }
                    let mut p = out_bufs[i].data().to_vec();
                    let mut mutated = false;
                    if flags & 1 != 0 {
                        // Outer ECN (not covered by the ICV): CE on a Not-ECT inner drops.
                        let h = IpHeader::parse(&p).expect("our own outer header");
                        let tos = (h.tos & 0xfc) | ((flags >> 1) & 3);
                        esp::wire::ip::set_tos(&mut p, h.version, tos);
                        mutated = true;
                    }
                    if flags & 8 != 0 {
                        // Cut the tail (the outer length then overruns the packet).
                        let cut = (flags >> 4) as usize;
                        p.truncate(p.len().saturating_sub(cut));
                        mutated |= cut != 0;
                    }
                    let spec = &SPECS[out_sas[i].0 as usize];
                    let check = if mutated || sealed_sas[out_sas[i].0 as usize] {
                        None
                    } else {
                        expected(spec, &out_inner[i])
                    };
                    bufs.push(VecBuf::new(&p, ROOM / 2, ROOM / 2));
                    oracle.push(check);
                    if flags & 0x80 != 0 && bufs.len() < MAX_PACKETS {
                        // A replayed copy, later in the same burst.
                        bufs.push(VecBuf::new(&p, ROOM / 2, ROOM / 2));
                        oracle.push(None);
                    }
                }
            }
        }

        let before = counted(&lc.counters);
        // A value decrypt_burst never returns, so a packet left without a verdict shows.
        let unset = Verdict::Drop(esp::counters::DropReason::NoPolicy);
        let mut verdicts = vec![unset; bufs.len()];
        decrypt_burst(lc, sad, &mut bufs, &mut verdicts, now_ns);

        if debug() {
            eprintln!("verdicts: {verdicts:?}");
            eprintln!("round trips checked: {}", oracle.iter().flatten().count());
        }
        let mut expect_counted = 0;
        for (i, v) in verdicts.iter().enumerate() {
            assert_ne!(*v, unset, "packet {i} got no verdict");
            match v {
                Verdict::Forward => {
                    expect_counted += 1;
                    let d = bufs[i].data();
                    let h = IpHeader::parse(d).expect("a forwarded packet parses");
                    assert_eq!(
                        h.total_len,
                        d.len(),
                        "a forwarded packet is one whole packet"
                    );
                }
                Verdict::Dummy | Verdict::Drop(_) => expect_counted += 1,
                Verdict::Exception | Verdict::Fragment => {}
            }
            if let Some((want, v4_transport)) = &oracle[i] {
                assert_eq!(*v, Verdict::Forward, "round trip of packet {i}");
                let mut got = bufs[i].data().to_vec();
                let mut want = want.clone();
                if *v4_transport {
                    // The checksum is recomputed over the rebuilt header.
                    got[10..12].fill(0);
                    want[10..12].fill(0);
                }
                assert_eq!(got, want, "round trip of packet {i}");
            }
        }
        assert_eq!(
            counted(&lc.counters) - before,
            expect_counted,
            "counters vs verdicts"
        );
        for sa in sad.iter() {
            if sa.state() == SaState::Expired {
                assert!(sa.config.lifetime.hard_packets != 0);
            }
        }
    });
});
