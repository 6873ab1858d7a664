//! Outbound processing (RFC 4303 §3.3): for a burst of plaintext IP packets and the SA each is
//! to be protected with, assign sequence numbers, build the ESP (and outer IP / UDP) headers
//! and trailer around each packet in place, then encrypt the whole burst at once.

use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::crypto::{CryptoOp, Staged};
use crate::ecn;
use crate::lcore::Lcore;
use crate::sa::{DfMode, Direction, DscpMode, Mode, Sa, SaState};
use crate::sad::{SaRef, Sad};
use crate::verdict::{write_trailer, TrailerLayout, Verdict, MAX_BURST};
use crate::wire::checksum;
use crate::wire::ip::{decrement_ttl, fix_lengths, IpHeader, IpVersion};
use crate::wire::{proto, ESP_HEADER_LEN, IPV4_HEADER_LEN, IPV6_HEADER_LEN, UDP_HEADER_LEN};
use arrayvec::ArrayVec;

/// Where a prepared packet's ESP header starts, and what sealing it needs.
#[derive(Debug, Clone, Copy, Default)]
struct Prepared {
    esp_at: usize,
    esn_hi: Option<u32>,
    /// IPv6 UDP encapsulation: the checksum is computed after encryption (RFC 8200 §8.1).
    udp6: bool,
}

/// Encrypts `pkts` (each a whole IP packet, from its IP header on) with `sas[i]` (ids, or
/// positions taken since the SAD last changed); `verdicts[i]` says what became of each. On
/// `Forward` the buffer holds the ESP packet from its outer IP header on.
pub fn encrypt_burst<P: PacketBuf, R: SaRef>(
    lc: &mut Lcore,
    sad: &mut Sad,
    pkts: &mut [P],
    sas: &[R],
    verdicts: &mut [Verdict],
    now_ns: u64,
) {
    let n = pkts.len().min(sas.len()).min(verdicts.len());
    let mut start = 0;
    while start < n {
        let end = (start + MAX_BURST).min(n);
        encrypt_chunk(
            lc,
            sad,
            &mut pkts[start..end],
            &sas[start..end],
            &mut verdicts[start..end],
            now_ns,
        );
        start = end;
    }
}

fn encrypt_chunk<P: PacketBuf, R: SaRef>(
    lc: &mut Lcore,
    sad: &mut Sad,
    pkts: &mut [P],
    sas: &[R],
    verdicts: &mut [Verdict],
    now_ns: u64,
) {
    // Stage one: every packet's SA is asked for before the first is used, so that their
    // misses overlap (asking a few packets ahead of the one prepared measured slower). Once
    // per run of packets on one SA: with one SA the lines are there, and the asking alone
    // cost a few per cent of the time per packet.
    for (i, &sa) in sas.iter().enumerate() {
        if new_run(sas, i) {
            sad.prefetch_at(sa.position(sad), Direction::Outbound);
        }
    }
    let mut prepared = [Prepared::default(); MAX_BURST];
    // GCM nonces and AADs, written by `prepare` a whole burst before the crypto reads them
    // (crypto::Staged).
    let mut staged = [Staged::default(); MAX_BURST];
    // Drops are counted where they are decided, and the encrypted packets from the ops: no
    // pass over the verdicts after the seal, but for the rare IPv6 UDP checksums.
    let mut any_udp6 = false;
    // The SA is looked up once per run of packets on it (by id: the slot, then the arena's
    // chunk; by position: the chunk alone), here and in the ops pass below.
    let mut run_sa: Option<&mut Sa> = None;
    for i in 0..pkts.len() {
        if new_run(sas, i) {
            let at = sas[i].position(sad);
            run_sa = sad.at_mut(at);
        }
        verdicts[i] = match run_sa.as_deref_mut() {
            None => {
                lc.counters.drop(DropReason::UnknownSpi);
                Verdict::Drop(DropReason::UnknownSpi)
            }
            Some(sa) => {
                let v = match prepare(lc, sa, &mut pkts[i], &mut staged[i], now_ns) {
                    Ok(p) => {
                        // Stage two: the keys, read by the seal after the whole burst is prepared.
                        if new_run(sas, i) {
                            sa.session
                                .prefetch_keys(true, pkts[i].len().saturating_sub(p.esp_at));
                        }
                        any_udp6 |= p.udp6;
                        prepared[i] = p;
                        Verdict::Forward
                    }
                    Err(reason) => {
                        sa.count_drop(reason);
                        lc.counters.drop(reason);
                        Verdict::Drop(reason)
                    }
                };
                // Once per run of packets on one SA, after its last: whether a record is
                // due only grows along the run, and the record is taken at the burst's end.
                if i + 1 == sas.len() || sas[i + 1] != sas[i] {
                    lc.note_snapshot(sa, now_ns);
                }
                v
            }
        };
    }

    let sad_ro: &Sad = sad;
    let mut ops: ArrayVec<CryptoOp<'_>, MAX_BURST> = ArrayVec::new();
    let mut index: ArrayVec<usize, MAX_BURST> = ArrayVec::new();
    let mut run_sa: Option<&Sa> = None;
    for (i, pkt) in pkts.iter_mut().enumerate() {
        if new_run(sas, i) {
            run_sa = sad_ro.at(sas[i].position(sad_ro));
        }
        if verdicts[i] != Verdict::Forward {
            continue;
        }
        let Some(sa) = run_sa else {
            continue;
        };
        let p = prepared[i];
        let esp = &mut pkt.data_mut()[p.esp_at..];
        // (staged by prepare at the packet's index: moved up only behind a dropped one)
        if ops.len() != i {
            staged[ops.len()] = staged[i];
        }
        ops.push(CryptoOp {
            session: &sa.session,
            esp,
            esn_hi: p.esn_hi,
            result: Ok(()),
        });
        index.push(i);
    }
    lc.engine.seal_burst_staged(&mut ops, &staged);
    let mut failed = 0;
    for (op, &i) in ops.iter().zip(index.iter()) {
        if op.result.is_err() {
            verdicts[i] = Verdict::Drop(DropReason::TooShort);
            failed += 1;
            lc.counters.drop(DropReason::TooShort);
        }
    }
    lc.counters.encrypted += (ops.len() - failed) as u64;
    drop(ops);
    if any_udp6 {
        for (i, v) in verdicts.iter().enumerate() {
            if *v == Verdict::Forward && prepared[i].udp6 {
                fill_udp6_checksum(pkts[i].data_mut());
            }
        }
    }
    lc.flush_snapshots(sad, now_ns);
}

/// Whether packet `i` of a burst is on another SA than the one before it: the SA's lines are
/// asked for once per such run.
#[inline(always)]
fn new_run<R: SaRef>(sas: &[R], i: usize) -> bool {
    i == 0 || sas[i - 1] != sas[i]
}

/// Builds headers and trailer around one packet, leaving it ready to seal.
fn prepare<P: PacketBuf>(
    lc: &mut Lcore,
    sa: &mut Sa,
    pkt: &mut P,
    staged: &mut Staged,
    now_ns: u64,
) -> Result<Prepared, DropReason> {
    match sa.state() {
        SaState::Active => {}
        SaState::Standby => return Err(DropReason::SaInactive),
        SaState::Expired => return Err(DropReason::HardLifetime),
    }
    let inner = IpHeader::parse(pkt.data()).map_err(|_| DropReason::Malformed)?;
    let extra = pkt.len() - inner.total_len;
    pkt.trim(extra);
    let inner_len = inner.total_len;
    if let Some(ev) = sa.hard_limit_reached(inner_len as u64) {
        lc.raise(sa, ev);
        return Err(DropReason::HardLifetime);
    }

    let iv_len = sa.session.iv_len();
    let icv_len = sa.session.icv_len();
    let udp_len = if sa.config.encap.is_some() {
        UDP_HEADER_LEN
    } else {
        0
    };
    let outer_v6 = match sa.config.mode {
        Mode::Tunnel { local, .. } => local.is_ipv6(),
        Mode::Transport => inner.version == IpVersion::V6,
    };
    let (outer_len, payload_len, next_header) = match sa.config.mode {
        Mode::Tunnel { .. } => {
            let nh = match inner.version {
                IpVersion::V4 => proto::IPV4,
                IpVersion::V6 => proto::IPV6,
            };
            let outer = if outer_v6 {
                IPV6_HEADER_LEN
            } else {
                IPV4_HEADER_LEN
            };
            (outer, inner_len, nh)
        }
        Mode::Transport => (
            inner.header_len,
            inner_len - inner.header_len,
            inner.protocol,
        ),
    };
    let trailer = TrailerLayout::new(payload_len, sa.session.block_len());
    let head = udp_len
        + ESP_HEADER_LEN
        + iv_len
        + if matches!(sa.config.mode, Mode::Tunnel { .. }) {
            outer_len
        } else {
            0
        };
    let tail = trailer.pad_len + 2 + icv_len;
    let total = outer_len + udp_len + ESP_HEADER_LEN + iv_len + trailer.ciphertext_len + icv_len;
    if total > u16::MAX as usize + if outer_v6 { IPV6_HEADER_LEN } else { 0 } {
        return Err(DropReason::NoRoom);
    }
    if matches!(sa.config.mode, Mode::Tunnel { .. })
        && !decrement_ttl(pkt.data_mut(), inner.version)
    {
        return Err(DropReason::TtlExceeded);
    }
    let Some(seq) = sa.next_seq() else {
        if let Some(ev) = sa.sequence_exhausted() {
            lc.raise(sa, ev);
        }
        return Err(DropReason::SequenceOverflow);
    };
    if !pkt.append(tail) {
        return Err(DropReason::NoRoom);
    }
    if !pkt.prepend(head) {
        pkt.trim(tail);
        return Err(DropReason::NoRoom);
    }

    let data = pkt.data_mut();
    let ct_end = data.len() - icv_len;
    // (with the ICV's room after it, which the seal overwrites)
    write_trailer(
        &mut data[ct_end - trailer.pad_len - 2..],
        trailer.pad_len,
        next_header,
    );
    let esp_at = outer_len + udp_len;
    match sa.config.mode {
        Mode::Tunnel { .. } => {
            let tos = outer_tos(sa.config.dscp, inner.tos);
            let df = match sa.config.df {
                DfMode::Copy => inner.dont_fragment,
                DfMode::Set => true,
                DfMode::Clear => false,
            };
            // Sa::new builds the template for every tunnel-mode SA.
            if let Some(t) = &sa.outer {
                t.write(&mut data[..outer_len], tos, df, total, seq as u16);
            }
        }
        Mode::Transport => {
            // Move the IP header to the front and point it at ESP (or UDP).
            data.copy_within(head..head + outer_len, 0);
            let protocol = if udp_len > 0 { proto::UDP } else { proto::ESP };
            data[inner.protocol_at] = protocol;
            fix_lengths(&mut data[..outer_len], inner.version, total);
        }
    }
    if let Some(encap) = sa.config.encap {
        let udp = &mut data[outer_len..esp_at];
        udp[0..2].copy_from_slice(&encap.local_port.to_be_bytes());
        udp[2..4].copy_from_slice(&encap.remote_port.to_be_bytes());
        udp[4..6].copy_from_slice(&((total - outer_len) as u16).to_be_bytes());
        udp[6..8].copy_from_slice(&[0, 0]);
    }
    let esp = &mut data[esp_at..];
    esp[0..4].copy_from_slice(&sa.config.spi.to_be_bytes());
    esp[4..8].copy_from_slice(&(seq as u32).to_be_bytes());
    let counter = sa.iv_counter(seq);
    // (CBC: the counter block, which sealing turns into the IV)
    sa.session
        .write_iv(counter, &mut esp[ESP_HEADER_LEN..ESP_HEADER_LEN + iv_len]);

    let esn_hi = sa.config.esn.then_some((seq >> 32) as u32);
    // From the values, not read back from the header and IV just written: a pass less over
    // the burst's ESP headers, and no load of bytes whose stores are still in flight.
    sa.session
        .stage_sealed(staged, sa.config.spi, seq, counter, esn_hi);
    if let Some(ev) = sa.account(inner_len as u64, now_ns) {
        lc.raise(sa, ev);
    }
    Ok(Prepared {
        esp_at,
        esn_hi,
        udp6: udp_len > 0 && outer_v6,
    })
}

/// The outer header (tunnel: the SA's; transport: the inner one) and UDP lengths, and the
/// payload that is encrypted, for an inner packet of `inner_packet_len` bytes.
fn encap_parts(sa: &Sa, inner_packet_len: usize, inner_header_len: usize) -> (usize, usize) {
    let udp = if sa.config.encap.is_some() {
        UDP_HEADER_LEN
    } else {
        0
    };
    let fixed = udp + ESP_HEADER_LEN + sa.session.iv_len() + sa.session.icv_len();
    match sa.config.mode {
        Mode::Tunnel { local, .. } => {
            let outer = if local.is_ipv6() {
                IPV6_HEADER_LEN
            } else {
                IPV4_HEADER_LEN
            };
            (outer + fixed, inner_packet_len)
        }
        Mode::Transport => (
            inner_header_len + fixed,
            inner_packet_len.saturating_sub(inner_header_len),
        ),
    }
}

/// The length of the ESP packet (from its outer IP header on) that [`encrypt_burst`] makes of
/// an inner packet of `inner_packet_len` bytes with this SA: outer header (tunnel) or the
/// inner header (transport; `inner_header_len` is its [`IpHeader::header_len`], ignored in
/// tunnel mode), UDP if NAT-T, ESP header, IV, padded ciphertext, ICV.
pub fn encapsulated_len(sa: &Sa, inner_packet_len: usize, inner_header_len: usize) -> usize {
    let (fixed, payload) = encap_parts(sa, inner_packet_len, inner_header_len);
    fixed + TrailerLayout::new(payload, sa.session.block_len()).ciphertext_len
}

/// An upper bound of [`encapsulated_len`] for a packet of `packet_len` bytes, whatever its
/// header length: the check that an outbound packet fits the MTU, without parsing it. Exact
/// in tunnel mode but for the one block of slack that transport mode needs (its header is
/// not padded: at most `block - 1` bytes more padding than on the whole packet).
pub fn encapsulated_len_bound(sa: &Sa, packet_len: usize) -> usize {
    encapsulated_len(sa, packet_len, 0) + sa.session.block_len()
}

/// The largest inner packet whose ESP packet with this SA fits in `mtu` bytes (the MTU to
/// report in ICMP fragmentation needed / packet too big); 0 if none does. In transport mode
/// the result counts the `inner_header_len` bytes of the header.
pub fn max_inner_len(sa: &Sa, mtu: usize, inner_header_len: usize) -> usize {
    let (fixed, _) = encap_parts(sa, 0, inner_header_len);
    let transport_header = match sa.config.mode {
        Mode::Tunnel { .. } => 0,
        Mode::Transport => inner_header_len,
    };
    let block = sa.session.block_len().max(4);
    let Some(room) = mtu.checked_sub(fixed) else {
        return 0;
    };
    match (room / block * block).checked_sub(crate::wire::ESP_TRAILER_LEN) {
        Some(payload) => payload + transport_header,
        None => 0,
    }
}

/// RFC 4301 §5.1.2.1: DSCP copied or set; ECN per RFC 6040 normal mode.
fn outer_tos(dscp: DscpMode, inner_tos: u8) -> u8 {
    let dscp_bits = match dscp {
        DscpMode::Copy => inner_tos & 0xfc,
        DscpMode::Set(d) => d << 2,
    };
    dscp_bits | ecn::encapsulate(inner_tos)
}

/// The UDP checksum of an IPv6 UDP-encapsulated ESP packet (mandatory over IPv6).
fn fill_udp6_checksum(data: &mut [u8]) {
    let Ok(h) = IpHeader::parse(data) else { return };
    let at = h.header_len;
    if data.len() < at + UDP_HEADER_LEN {
        return;
    }
    let udp_len = (h.total_len - at) as u32;
    let acc = checksum::pseudo_header(&data[8..24], &data[24..40], proto::UDP, udp_len);
    let acc = checksum::sum(acc, &data[at..h.total_len]);
    let c = match checksum::finish(acc) {
        0 => 0xffff,
        c => c,
    };
    data[at + 6..at + 8].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use crate::crypto::{Backend, EncAlg, IntegAlg, TransformKeys};
    use crate::sa::{Direction, SaConfig, SaId, UdpEncap};
    use crate::snapshot::SyncPolicy;
    use crate::wire::fragment::tests::{ipv4_packet, ipv6_packet};
    use std::net::IpAddr;

    fn transforms() -> Vec<TransformKeys> {
        let k = |enc, integ, e: usize, a: usize| TransformKeys {
            enc,
            integ,
            enc_key: (0..e as u8).collect(),
            auth_key: (0..a as u8).map(|b| b ^ 0x5a).collect(),
        };
        vec![
            k(EncAlg::AesGcm16_128, IntegAlg::None, 20, 0),
            k(EncAlg::AesGcm16_256, IntegAlg::None, 36, 0),
            k(EncAlg::AesCbc128, IntegAlg::HmacSha1_96, 16, 20),
            k(EncAlg::AesCbc128, IntegAlg::HmacSha256_128, 16, 32),
            k(EncAlg::AesCbc256, IntegAlg::HmacSha1_96, 32, 20),
            k(EncAlg::AesCbc256, IntegAlg::HmacSha256_128, 32, 32),
            k(EncAlg::Null, IntegAlg::HmacSha1_96, 0, 20),
            k(EncAlg::Null, IntegAlg::HmacSha256_128, 0, 32),
        ]
    }

    /// (tunnel outer addresses or None for transport, inner IPv6, inner extension header).
    type Tunnel = Option<(IpAddr, IpAddr)>;

    fn modes() -> Vec<(Tunnel, bool, bool)> {
        let v4: (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let v6: (IpAddr, IpAddr) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        vec![
            (Some(v4), false, false),
            (Some(v4), true, false),
            (Some(v6), false, false),
            (Some(v6), true, true),
            (None, false, false),
            (None, true, false),
            (None, true, true),
        ]
    }

    fn inner(v6: bool, ext: bool, len: usize) -> Option<Vec<u8>> {
        let hdr = if v6 { 40 + if ext { 8 } else { 0 } } else { 20 };
        let payload = len.checked_sub(hdr)?;
        Some(if v6 {
            ipv6_packet(if ext { &[(0, 8)] } else { &[] }, payload)
        } else {
            ipv4_packet(&[], payload, false, len as u16)
        })
    }

    /// An lcore that takes no HA snapshots.
    pub(crate) fn lcore() -> Lcore {
        let sync = SyncPolicy {
            period_packets_inbound: 0,
            period_packets_outbound: 0,
            period_ns: 0,
            oseq_shift: 0,
        };
        Lcore::new(sync, 64, 64)
    }

    #[test]
    fn encapsulated_len_matches_encrypt_burst_its_bound_holds_and_max_inner_len_is_tight() {
        let mut lc = lcore();
        let mut sad = Sad::new();
        let mut id = 0;
        let mut checked = 0;
        for keys in transforms() {
            for (tunnel, v6, ext) in modes() {
                for natt in [false, true] {
                    let (local, remote) = tunnel.unwrap_or_else(|| {
                        let a = if v6 { "2001:db8::1" } else { "192.0.2.1" };
                        let b = if v6 { "2001:db8::2" } else { "192.0.2.2" };
                        (a.parse().unwrap(), b.parse().unwrap())
                    });
                    let mut cfg = SaConfig::tunnel(
                        0x100 + id,
                        Direction::Outbound,
                        local,
                        remote,
                        keys.clone(),
                    );
                    cfg.backend = Backend::RustCrypto;
                    if tunnel.is_none() {
                        cfg.mode = Mode::Transport;
                    }
                    cfg.encap = natt.then_some(UdpEncap {
                        local_port: 4500,
                        remote_port: 4500,
                    });
                    let sa_id = SaId(id);
                    sad.insert(sa_id, cfg, 0).unwrap();
                    id += 1;
                    let pkts: Vec<Vec<u8>> = (0..=1500).filter_map(|n| inner(v6, ext, n)).collect();
                    let hdr = IpHeader::parse(&pkts[0]).unwrap().header_len;
                    for chunk in pkts.chunks(64) {
                        let mut bufs: Vec<VecBuf> =
                            chunk.iter().map(|p| VecBuf::new(p, 128, 128)).collect();
                        let sas = vec![sa_id; bufs.len()];
                        let mut v = vec![Verdict::Exception; bufs.len()];
                        encrypt_burst(&mut lc, &mut sad, &mut bufs, &sas, &mut v, 0);
                        let sa = sad.get(sa_id).unwrap();
                        for ((p, b), v) in chunk.iter().zip(&bufs).zip(&v) {
                            assert_eq!(*v, Verdict::Forward);
                            assert_eq!(
                                encapsulated_len(sa, p.len(), hdr),
                                b.len(),
                                "{:?} len {}",
                                sa.config,
                                p.len()
                            );
                            checked += 1;
                        }
                    }
                    let sa = sad.get(sa_id).unwrap();
                    for l in 0..1600 {
                        let bound = encapsulated_len_bound(sa, l);
                        // Never shrinks as the packet grows: the outbound worker takes a length
                        // that fits for a sign that every shorter one on the SA does.
                        assert!(l == 0 || encapsulated_len_bound(sa, l - 1) <= bound);
                        for h in (0..=l.min(120)).step_by(4) {
                            assert!(encapsulated_len(sa, l, h) <= bound, "len {l} header {h}");
                        }
                        assert!(bound <= encapsulated_len(sa, l, hdr) + 2 * 16);
                    }
                    let min = if tunnel.is_some() { 0 } else { hdr };
                    for mtu in 0..1600 {
                        let m = max_inner_len(sa, mtu, hdr);
                        let fits = |l: usize| encapsulated_len(sa, l, hdr) <= mtu;
                        if m == 0 {
                            assert!(!fits(min), "mtu {mtu}: something fits");
                        } else {
                            assert!(m >= min);
                            assert!(fits(m), "mtu {mtu} max {m}");
                            // Lengths grow with the packet: nothing larger fits.
                            assert!(!fits(m + 1), "mtu {mtu} max {m}");
                            assert!((m + 1..m + 20).all(|l| !fits(l)));
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 8 * 2 * (3 * 1481 + 2 * 1461 + 2 * 1453));
    }

    #[test]
    fn counters_add_up_and_ipv6_udp_checksums_are_filled_in_a_mixed_burst() {
        let mut lc = lcore();
        let mut sad = Sad::new();
        let keys = transforms().remove(0);
        let v4: (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let v6: (IpAddr, IpAddr) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        for (id, (local, remote)) in [(0, v4), (1, v6)] {
            let mut cfg =
                SaConfig::tunnel(0x200 + id, Direction::Outbound, local, remote, keys.clone());
            cfg.backend = Backend::RustCrypto;
            // The IPv6 SA with UDP encapsulation: its checksum is filled after sealing.
            cfg.encap = (id == 1).then_some(UdpEncap {
                local_port: 4500,
                remote_port: 4500,
            });
            sad.insert(SaId(id), cfg, 0).unwrap();
        }
        let good = inner(false, false, 100).unwrap();
        // Not an IP packet: dropped by prepare as malformed.
        let bad = vec![0u8; 40];
        let pkts = [&good, &bad, &good, &good, &good, &good, &good];
        let sas = [0, 0, 9, 1, 1, 9, 0].map(SaId);
        let mut bufs: Vec<VecBuf> = pkts.iter().map(|p| VecBuf::new(p, 128, 128)).collect();
        let mut v = vec![Verdict::Exception; bufs.len()];
        encrypt_burst(&mut lc, &mut sad, &mut bufs, &sas, &mut v, 0);
        let forwarded = v.iter().filter(|v| **v == Verdict::Forward).count();
        assert_eq!(forwarded, 4);
        assert_eq!(lc.counters.encrypted, 4);
        assert_eq!(lc.counters.drops_of(DropReason::Malformed), 1);
        assert_eq!(lc.counters.drops_of(DropReason::UnknownSpi), 2);
        for k in [3, 4] {
            let data = bufs[k].data();
            let at = IPV6_HEADER_LEN;
            let udp_len = data.len() - at;
            assert_ne!(data[at + 6..at + 8], [0, 0]);
            let acc =
                checksum::pseudo_header(&data[8..24], &data[24..40], proto::UDP, udp_len as u32);
            assert_eq!(
                checksum::finish(checksum::sum(acc, &data[at..])),
                0,
                "packet {k}"
            );
        }
    }
}
