//! Helpers for the pipeline tests: transforms and SA pairs, a node (lcore + SAD) that runs
//! bursts, packet builders and checkers, and an ESP sealer that lets a test write its own
//! plaintext trailer (padding, next header) with a valid ICV.
#![allow(dead_code)]

use crate::common::{udp_packet, Rng};
use esp::buf::{PacketBuf, VecBuf};
use esp::counters::DropReason;
use esp::crypto::{Backend, CryptoOp, EncAlg, Engine, IntegAlg, Session, TransformKeys};
use esp::inbound::decrypt_burst;
use esp::lcore::Lcore;
use esp::outbound::encrypt_burst;
use esp::replay::WindowSnapshot;
use esp::sa::{Direction, Mode, SaConfig, SaEvent, SaId, UdpEncap};
use esp::sad::Sad;
use esp::snapshot::SyncPolicy;
use esp::verdict::Verdict;
use std::net::IpAddr;

pub const HEADROOM: usize = 128;
pub const TAILROOM: usize = 128;

/// A verdict the core never gives (it is the SPD's), to see that every packet got one.
pub const UNSET: Verdict = Verdict::Drop(DropReason::PolicyDiscard);

/// One ESP transform and its key sizes.
#[derive(Debug, Clone, Copy)]
pub struct Tf {
    pub enc: EncAlg,
    pub integ: IntegAlg,
    pub key_len: usize,
    pub auth_len: usize,
}

impl Tf {
    pub fn is_gcm(&self) -> bool {
        matches!(self.enc, EncAlg::AesGcm16_128 | EncAlg::AesGcm16_256)
    }
    pub fn keys(&self, rng: &mut Rng) -> TransformKeys {
        TransformKeys {
            enc: self.enc,
            integ: self.integ,
            enc_key: rng.bytes(self.key_len),
            auth_key: rng.bytes(self.auth_len),
        }
    }
}

pub const GCM128: Tf = Tf {
    enc: EncAlg::AesGcm16_128,
    integ: IntegAlg::None,
    key_len: 20,
    auth_len: 0,
};
pub const NULL_SHA1: Tf = Tf {
    enc: EncAlg::Null,
    integ: IntegAlg::HmacSha1_96,
    key_len: 0,
    auth_len: 20,
};
pub const CBC128_SHA1: Tf = Tf {
    enc: EncAlg::AesCbc128,
    integ: IntegAlg::HmacSha1_96,
    key_len: 16,
    auth_len: 20,
};

/// Every transform the core offers.
pub fn transforms() -> Vec<Tf> {
    let t = |enc, integ, key_len, auth_len| Tf {
        enc,
        integ,
        key_len,
        auth_len,
    };
    vec![
        GCM128,
        t(EncAlg::AesGcm16_256, IntegAlg::None, 36, 0),
        t(EncAlg::AesCbc128, IntegAlg::HmacSha1_96, 16, 20),
        t(EncAlg::AesCbc128, IntegAlg::HmacSha256_128, 16, 32),
        t(EncAlg::AesCbc256, IntegAlg::HmacSha1_96, 32, 20),
        t(EncAlg::AesCbc256, IntegAlg::HmacSha256_128, 32, 32),
        t(EncAlg::Null, IntegAlg::HmacSha1_96, 0, 20),
        t(EncAlg::Null, IntegAlg::HmacSha256_128, 0, 32),
    ]
}

/// Whether `backend` can do `keys` here: the session is created and a packet actually seals
/// (intel-ipsec-mb also needs its runtime manager).
pub fn backend_works(keys: &TransformKeys, backend: Backend) -> bool {
    let Ok(s) = Session::new(keys, backend) else {
        return false;
    };
    let mut esp = vec![0u8; 8 + s.iv_len() + 16 + s.icv_len()];
    let mut ops = [CryptoOp {
        session: &s,
        esp: &mut esp,
        esn_hi: None,
        result: Ok(()),
    }];
    Engine::new().seal_burst(&mut ops);
    ops[0].result.is_ok()
}

pub const ALL_BACKENDS: [Backend; 5] = [
    Backend::RustCrypto,
    Backend::Ring,
    Backend::AwsLc,
    Backend::IpsecMb,
    Backend::Auto,
];

/// The four tunnel combinations and the two transport modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeKind {
    /// Tunnel, inner IPv4 in outer IPv4.
    T44,
    /// Tunnel, inner IPv6 in outer IPv4.
    T64,
    /// Tunnel, inner IPv4 in outer IPv6.
    T46,
    /// Tunnel, inner IPv6 in outer IPv6.
    T66,
    Tr4,
    Tr6,
}

pub const MODES: [ModeKind; 6] = [
    ModeKind::T44,
    ModeKind::T64,
    ModeKind::T46,
    ModeKind::T66,
    ModeKind::Tr4,
    ModeKind::Tr6,
];

pub const OUT4: (&str, &str) = ("192.0.2.1", "192.0.2.2");
pub const OUT6: (&str, &str) = ("2001:db8::1", "2001:db8::2");
pub const IN4: (&str, &str) = ("198.51.100.10", "203.0.113.20");
pub const IN6: (&str, &str) = ("2001:db8:1::10", "2001:db8:2::20");

impl ModeKind {
    pub fn tunnel(self) -> bool {
        !matches!(self, ModeKind::Tr4 | ModeKind::Tr6)
    }
    pub fn inner_v6(self) -> bool {
        matches!(self, ModeKind::T64 | ModeKind::T66 | ModeKind::Tr6)
    }
    pub fn outer_v6(self) -> bool {
        matches!(self, ModeKind::T46 | ModeKind::T66 | ModeKind::Tr6)
    }
    /// The inner (tunnel) or only (transport) addresses, sender first.
    pub fn inner_addrs(self) -> (&'static str, &'static str) {
        if self.inner_v6() {
            IN6
        } else {
            IN4
        }
    }
    /// The outer addresses, sender first.
    pub fn outer_addrs(self) -> (IpAddr, IpAddr) {
        let (a, b) = if !self.tunnel() {
            self.inner_addrs()
        } else if self.outer_v6() {
            OUT6
        } else {
            OUT4
        };
        (ip(a), ip(b))
    }
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The sender's outbound SA and the receiver's inbound SA of one direction of traffic.
pub fn sa_pair(
    spi: u32,
    keys: &TransformKeys,
    mode: ModeKind,
    esn: bool,
    natt: bool,
) -> (SaConfig, SaConfig) {
    let (a, b) = mode.outer_addrs();
    let mut out = SaConfig::tunnel(spi, Direction::Outbound, a, b, keys.clone());
    let mut inb = SaConfig::tunnel(spi, Direction::Inbound, b, a, keys.clone());
    for c in [&mut out, &mut inb] {
        if !mode.tunnel() {
            c.mode = Mode::Transport;
        }
        c.esn = esn;
        c.encap = natt.then_some(UdpEncap {
            local_port: 4500,
            remote_port: 4500,
        });
    }
    (out, inb)
}

/// An inner packet of the mode's family: UDP with `len` random payload bytes.
pub fn inner_packet(mode: ModeKind, len: usize, sport: u16, rng: &mut Rng) -> Vec<u8> {
    let (s, d) = mode.inner_addrs();
    udp_packet(s, d, sport, 5001, len, rng)
}

/// One worker: its lcore and its SAD, and a fake clock.
pub struct Node {
    pub lc: Lcore,
    pub sad: Sad,
    pub now: u64,
}

impl Node {
    pub fn new(sync: SyncPolicy) -> Node {
        Node {
            lc: Lcore::new(sync, 64, 1024),
            sad: Sad::new(),
            now: 1_000,
        }
    }

    /// A node that never takes snapshots by itself.
    pub fn quiet() -> Node {
        Node::new(SyncPolicy {
            period_packets_inbound: 0,
            period_packets_outbound: 0,
            period_ns: 0,
            oseq_shift: 0,
        })
    }

    pub fn add(&mut self, id: u32, cfg: SaConfig) -> SaId {
        self.sad.insert(SaId(id), cfg, self.now).unwrap();
        SaId(id)
    }

    /// Encrypts a burst (buffers with the default head- and tailroom).
    pub fn encrypt(&mut self, pkts: &[Vec<u8>], sas: &[SaId]) -> Vec<(Verdict, Vec<u8>)> {
        let bufs = pkts
            .iter()
            .map(|p| VecBuf::new(p, HEADROOM, TAILROOM))
            .collect();
        self.encrypt_bufs(bufs, sas)
    }

    pub fn encrypt_bufs(&mut self, mut bufs: Vec<VecBuf>, sas: &[SaId]) -> Vec<(Verdict, Vec<u8>)> {
        let mut v = vec![UNSET; bufs.len()];
        encrypt_burst(
            &mut self.lc,
            &mut self.sad,
            &mut bufs,
            sas,
            &mut v,
            self.now,
        );
        v.into_iter()
            .zip(bufs)
            .map(|(v, b)| (v, b.data().to_vec()))
            .collect()
    }

    /// Encrypts one packet with one SA, expecting it to go through.
    pub fn seal(&mut self, pkt: &[u8], sa: SaId) -> Vec<u8> {
        let mut r = self.encrypt(&[pkt.to_vec()], &[sa]);
        assert_eq!(r[0].0, Verdict::Forward, "encrypting with {sa:?}");
        r.pop().unwrap().1
    }

    /// Encrypts `n` fresh inner packets one by one (sizes vary), returning (plain, esp).
    pub fn seal_many(
        &mut self,
        mode: ModeKind,
        sa: SaId,
        n: usize,
        rng: &mut Rng,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..n)
            .map(|k| {
                let p = inner_packet(mode, 10 + k % 50, 1000 + k as u16, rng);
                let e = self.seal(&p, sa);
                (p, e)
            })
            .collect()
    }

    /// Decrypts a burst.
    pub fn decrypt(&mut self, pkts: &[Vec<u8>]) -> Vec<(Verdict, Vec<u8>)> {
        let bufs = pkts.iter().map(|p| VecBuf::new(p, 16, 16)).collect();
        self.decrypt_bufs(bufs)
    }

    pub fn decrypt_bufs(&mut self, mut bufs: Vec<VecBuf>) -> Vec<(Verdict, Vec<u8>)> {
        let mut v = vec![UNSET; bufs.len()];
        decrypt_burst(&mut self.lc, &mut self.sad, &mut bufs, &mut v, self.now);
        v.into_iter()
            .zip(bufs)
            .map(|(v, b)| (v, b.data().to_vec()))
            .collect()
    }

    /// Decrypts one packet, returning its verdict and what the buffer holds then.
    pub fn open(&mut self, pkt: &[u8]) -> (Verdict, Vec<u8>) {
        self.decrypt(&[pkt.to_vec()]).pop().unwrap()
    }

    /// The verdicts of a burst.
    pub fn verdicts(&mut self, pkts: &[Vec<u8>]) -> Vec<Verdict> {
        self.decrypt(pkts).into_iter().map(|(v, _)| v).collect()
    }

    pub fn events(&mut self) -> Vec<SaEvent> {
        std::iter::from_fn(|| self.lc.events.pop()).collect()
    }

    pub fn drops(&self, reason: DropReason) -> u64 {
        self.lc.counters.drops_of(reason)
    }

    pub fn sa_drops(&self, sa: SaId, reason: DropReason) -> u64 {
        self.sad.get(sa).unwrap().counters().drops[reason as usize]
    }

    pub fn top(&self, sa: SaId) -> u64 {
        self.sad.get(sa).unwrap().window().top()
    }

    /// Raises an inbound SA's window so that sequence numbers after `top` are expected
    /// (RFC 4303 A2.1 needs the window near the packets with ESN).
    pub fn set_top(&mut self, sa: SaId, top: u64) {
        let snap = WindowSnapshot {
            top,
            ..WindowSnapshot::default()
        };
        self.sad.get_mut(sa).unwrap().raise_window(&snap);
    }

    /// Sum of every drop counter.
    pub fn total_drops(&self) -> u64 {
        self.lc.counters.drops.iter().sum()
    }
}

// ---- packet bytes -------------------------------------------------------------------------

pub fn internet_sum(mut acc: u32, data: &[u8]) -> u32 {
    for c in data.chunks(2) {
        acc += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

pub fn ipv4_checksum_ok(p: &[u8]) -> bool {
    let ihl = (p[0] & 0xf) as usize * 4;
    fold(internet_sum(0, &p[..ihl])) == 0
}

pub fn fix_ipv4_checksum(p: &mut [u8]) {
    let ihl = (p[0] & 0xf) as usize * 4;
    p[10] = 0;
    p[11] = 0;
    let c = fold(internet_sum(0, &p[..ihl]));
    p[10..12].copy_from_slice(&c.to_be_bytes());
}

pub fn is_v6(p: &[u8]) -> bool {
    p[0] >> 4 == 6
}

/// The packet with its TTL / hop limit one less (IPv4 checksum recomputed).
pub fn ttl_decremented(p: &[u8]) -> Vec<u8> {
    let mut q = p.to_vec();
    if is_v6(&q) {
        q[7] -= 1;
    } else {
        q[8] -= 1;
        fix_ipv4_checksum(&mut q);
    }
    q
}

pub fn tos(p: &[u8]) -> u8 {
    if is_v6(p) {
        ((u16::from_be_bytes([p[0], p[1]]) >> 4) & 0xff) as u8
    } else {
        p[1]
    }
}

pub fn ttl(p: &[u8]) -> u8 {
    if is_v6(p) {
        p[7]
    } else {
        p[8]
    }
}

pub fn set_tos(p: &mut [u8], t: u8) {
    if is_v6(p) {
        p[0] = (p[0] & 0xf0) | (t >> 4);
        p[1] = (p[1] & 0x0f) | (t << 4);
    } else {
        p[1] = t;
        fix_ipv4_checksum(p);
    }
}

pub fn set_ttl(p: &mut [u8], t: u8) {
    if is_v6(p) {
        p[7] = t;
    } else {
        p[8] = t;
        fix_ipv4_checksum(p);
    }
}

/// Sets or clears the IPv4 DF bit.
pub fn set_df(p: &mut [u8], df: bool) {
    if df {
        p[6] |= 0x40;
    } else {
        p[6] &= !0x40;
    }
    fix_ipv4_checksum(p);
}

pub fn df(p: &[u8]) -> bool {
    p[6] & 0x40 != 0
}

/// The length of the outer IP header (no extension headers in what we build).
pub fn ip_header_len(p: &[u8]) -> usize {
    if is_v6(p) {
        40
    } else {
        (p[0] & 0xf) as usize * 4
    }
}

/// The protocol / next header of the IP header.
pub fn ip_proto(p: &[u8]) -> u8 {
    if is_v6(p) {
        p[6]
    } else {
        p[9]
    }
}

/// Offset of the ESP header in an ESP packet we built (plain or in UDP).
pub fn esp_offset(p: &[u8]) -> usize {
    let h = ip_header_len(p);
    if ip_proto(p) == 17 {
        h + 8
    } else {
        h
    }
}

pub fn esp_seq(p: &[u8]) -> u32 {
    let at = esp_offset(p) + 4;
    u32::from_be_bytes(p[at..at + 4].try_into().unwrap())
}

pub fn esp_spi(p: &[u8]) -> u32 {
    let at = esp_offset(p);
    u32::from_be_bytes(p[at..at + 4].try_into().unwrap())
}

/// Rewrites the IP length field for the packet's current length.
pub fn fix_ip_length(p: &mut [u8]) {
    let n = p.len();
    if is_v6(p) {
        p[4..6].copy_from_slice(&((n - 40) as u16).to_be_bytes());
    } else {
        p[2..4].copy_from_slice(&(n as u16).to_be_bytes());
        fix_ipv4_checksum(p);
    }
}

/// Rewrites the IP and UDP length fields of an ESP (maybe in UDP) packet for its current
/// length (the UDP checksum is recomputed over IPv6, zero over IPv4).
pub fn fix_lengths(p: &mut [u8]) {
    let n = p.len();
    let h = ip_header_len(p);
    fix_ip_length(p);
    if ip_proto(p) == 17 && n >= h + 8 {
        p[h + 4..h + 6].copy_from_slice(&((n - h) as u16).to_be_bytes());
        p[h + 6..h + 8].copy_from_slice(&[0, 0]);
        if is_v6(p) {
            fill_udp6_checksum(p);
        }
    }
}

/// The packet shortened to `len` bytes, with its length fields fixed (so that the IP layer
/// is sound and only ESP is short).
pub fn truncated(p: &[u8], len: usize) -> Vec<u8> {
    let mut q = p[..len].to_vec();
    fix_lengths(&mut q);
    q
}

fn udp6_sum(p: &[u8]) -> u32 {
    let udp = &p[40..];
    let mut acc = internet_sum(0, &p[8..40]);
    acc = internet_sum(acc, &(udp.len() as u32).to_be_bytes());
    acc = internet_sum(acc, &[0, 0, 0, 17]);
    internet_sum(acc, udp)
}

/// Whether an IPv6 UDP packet's checksum checks out (and is not the forbidden zero).
pub fn udp6_checksum_ok(p: &[u8]) -> bool {
    u16::from_be_bytes([p[46], p[47]]) != 0 && fold(udp6_sum(p)) == 0
}

pub fn fill_udp6_checksum(p: &mut [u8]) {
    p[46] = 0;
    p[47] = 0;
    let c = match fold(udp6_sum(p)) {
        0 => 0xffff,
        c => c,
    };
    p[46..48].copy_from_slice(&c.to_be_bytes());
}

/// Wraps `payload` in an IP header from `src` to `dst` (and a UDP header to 4500 when
/// `udp_ports` is set).
pub fn wrap_ip(
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    udp_ports: Option<(u16, u16)>,
    payload: &[u8],
) -> Vec<u8> {
    let mut body = Vec::new();
    let proto = if let Some((s, d)) = udp_ports {
        body.extend_from_slice(&s.to_be_bytes());
        body.extend_from_slice(&d.to_be_bytes());
        body.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        body.extend_from_slice(&[0, 0]);
        17
    } else {
        protocol
    };
    body.extend_from_slice(payload);
    let mut p = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut h = vec![0x45, 0, 0, 0, 0, 7, 0, 0, 64, proto, 0, 0];
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            h
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut h = vec![0x60, 0, 0, 0, 0, 0, proto, 64];
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            h
        }
        _ => panic!("mixed families"),
    };
    p.extend_from_slice(&body);
    if udp_ports.is_some() {
        fix_lengths(&mut p);
    } else {
        fix_ip_length(&mut p);
    }
    p
}

// ---- ESP built by hand --------------------------------------------------------------------

/// Payload || padding 1, 2, 3, ... || pad length || next header, padded to `block` (4 or 16).
pub fn plaintext(payload: &[u8], block: usize, next_header: u8) -> Vec<u8> {
    let block = block.max(4);
    let pad = (block - (payload.len() + 2) % block) % block;
    let mut p = payload.to_vec();
    p.extend((1..=pad).map(|i| i as u8));
    p.push(pad as u8);
    p.push(next_header);
    p
}

/// The ESP block size of a transform (what the payload, padding and trailer fill).
pub fn block_of(keys: &TransformKeys) -> usize {
    match keys.enc {
        EncAlg::AesCbc128 | EncAlg::AesCbc256 => 16,
        _ => 4,
    }
}

/// Seals an ESP packet (from the SPI on) around `pt`, which already holds the trailer as
/// the test wants it: the crypto is done with [`Session`] directly, so the ICV is valid
/// whatever the padding says. The IV counter uses generation 0xffff, which no SA here
/// sends under, so hand-made GCM packets never reuse a nonce of the pipeline's.
pub fn seal_esp(keys: &TransformKeys, spi: u32, seq: u64, esn: bool, pt: &[u8]) -> Vec<u8> {
    let s = Session::new(keys, Backend::RustCrypto).unwrap();
    let (iv, icv) = (s.iv_len(), s.icv_len());
    let mut esp = vec![0u8; 8 + iv + pt.len() + icv];
    esp[0..4].copy_from_slice(&spi.to_be_bytes());
    esp[4..8].copy_from_slice(&(seq as u32).to_be_bytes());
    s.write_iv(
        (0xffffu64 << 48) | (seq & 0xffff_ffff_ffff),
        &mut esp[8..8 + iv],
    );
    esp[8 + iv..8 + iv + pt.len()].copy_from_slice(pt);
    let mut ops = [CryptoOp {
        session: &s,
        esp: &mut esp,
        esn_hi: esn.then_some((seq >> 32) as u32),
        result: Ok(()),
    }];
    Engine::new().seal_burst(&mut ops);
    ops[0].result.unwrap();
    esp
}

/// A whole hand-made ESP packet for the receiving side of `mode`, with `pt` as its plaintext.
pub fn crafted(
    keys: &TransformKeys,
    spi: u32,
    seq: u64,
    mode: ModeKind,
    natt: bool,
    pt: &[u8],
) -> Vec<u8> {
    let esp = seal_esp(keys, spi, seq, false, pt);
    let (a, b) = mode.outer_addrs();
    wrap_ip(a, b, 50, natt.then_some((4500, 4500)), &esp)
}

/// A label for assertion messages.
pub fn label(tf: &Tf, mode: ModeKind, esn: bool, natt: bool) -> String {
    format!("{:?}/{:?}/{mode:?}/esn={esn}/natt={natt}", tf.enc, tf.integ)
}
