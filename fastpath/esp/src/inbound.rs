//! Inbound processing (RFC 4303 §3.4): for a burst of received IP packets, find the ESP ones
//! (plain, or UDP-encapsulated per RFC 3948), look up their SA by SPI, check the replay
//! window, verify and decrypt the whole burst at once, then update the window (only now that
//! the ICV checked out), check the padding and the SA's selectors, and strip ESP off.

use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::crypto::{CryptoError, CryptoOp, Staged};
use crate::ecn;
use crate::lcore::Lcore;
use crate::replay::{esn_reconstruct, ReplayError};
use crate::sa::{Direction, Mode, Sa, SaState};
use crate::sad::{SaPos, Sad};
use crate::verdict::{read_trailer, Verdict, MAX_BURST};
use crate::wire::ip::{fix_lengths, set_tos, IpHeader, IpVersion};
use crate::wire::{be16, be32, proto, ESP_HEADER_LEN, NAT_T_PORT, UDP_HEADER_LEN};
use arrayvec::ArrayVec;
use std::net::IpAddr;

/// What the first pass learnt of an ESP packet: the outer header's fields the later passes
/// need, copied one by one (not the whole `IpHeader`, whose copy as a block right after it
/// was written a field at a time stalls store forwarding).
#[derive(Debug, Clone, Copy)]
struct Parsed {
    sa: SaPos,
    esp_at: usize,
    seq: u64,
    outer_total_len: usize,
    outer_header_len: usize,
    outer_protocol_at: usize,
    outer_version: IpVersion,
    outer_tos: u8,
}

/// Where an ESP packet starts inside an IP packet, if it is one for us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classified {
    /// ESP at this offset (after the IP header, and the UDP header when encapsulated).
    Esp { esp_at: usize, udp: bool },
    /// Not ESP: IKE (non-ESP marker), NAT keepalive, or other traffic.
    NotEsp,
    /// An outer fragment: reassemble first.
    Fragment,
}

/// Finds ESP in an outer IP packet (RFC 3948 §2.2: on port 4500, a payload that starts with
/// four zero bytes is IKE, and a single 0xFF byte is a NAT keepalive).
#[inline]
pub fn classify(packet: &[u8], outer: &IpHeader) -> Classified {
    if outer.fragment {
        return Classified::Fragment;
    }
    match outer.protocol {
        proto::ESP => Classified::Esp {
            esp_at: outer.header_len,
            udp: false,
        },
        proto::UDP => {
            let at = outer.header_len;
            let Some(udp) = packet.get(at..outer.total_len) else {
                return Classified::NotEsp;
            };
            if udp.len() < UDP_HEADER_LEN + ESP_HEADER_LEN || be16(udp, 2) != NAT_T_PORT {
                return Classified::NotEsp;
            }
            if be32(udp, UDP_HEADER_LEN) == 0 {
                return Classified::NotEsp;
            }
            Classified::Esp {
                esp_at: at + UDP_HEADER_LEN,
                udp: true,
            }
        }
        _ => Classified::NotEsp,
    }
}

/// Decrypts `pkts` (each an IP packet from its outer IP header on); `verdicts[i]` says what
/// became of each. On `Forward` the buffer holds the inner packet (tunnel mode) or the
/// rebuilt IP packet (transport mode).
pub fn decrypt_burst<P: PacketBuf>(
    lc: &mut Lcore,
    sad: &mut Sad,
    pkts: &mut [P],
    verdicts: &mut [Verdict],
    now_ns: u64,
) {
    let n = pkts.len().min(verdicts.len());
    let mut start = 0;
    while start < n {
        let end = (start + MAX_BURST).min(n);
        decrypt_chunk(
            lc,
            sad,
            &mut pkts[start..end],
            &mut verdicts[start..end],
            now_ns,
        );
        start = end;
    }
}

fn decrypt_chunk<P: PacketBuf>(
    lc: &mut Lcore,
    sad: &mut Sad,
    pkts: &mut [P],
    verdicts: &mut [Verdict],
    now_ns: u64,
) {
    // With many SAs, stage one reads the headers of the whole burst, each SPI's line of the
    // SAD's index asked for; then the lookups, each giving its SA's position, whose lines are
    // asked for at once (once per run of packets on one SA, as outbound): the misses of each
    // stage overlap across the burst instead of stalling each packet in turn. A SAD that
    // stays in cache has no misses to overlap: each packet is then located, looked up and
    // checked in one visit, while its lines are hot.
    let staged = sad.prefers_stages();
    let mut located: [Option<Located>; MAX_BURST] = [None; MAX_BURST];
    if staged {
        for (i, pkt) in pkts.iter_mut().enumerate() {
            match locate(pkt) {
                Ok(l) => {
                    sad.prefetch_spi(l.spi);
                    located[i] = Some(l);
                }
                Err(v) => verdicts[i] = v,
            }
        }
        let mut last = None;
        for i in 0..pkts.len() {
            let Some(l) = &mut located[i] else { continue };
            let Some(pos) = sad.find_inbound(l.spi) else {
                verdicts[i] = Verdict::Drop(DropReason::UnknownSpi);
                located[i] = None;
                continue;
            };
            l.parsed.sa = pos;
            if last != Some(pos) {
                sad.prefetch_at(pos, Direction::Inbound);
                last = Some(pos);
            }
        }
    }
    // Then the SA checks; each passing packet's keys are asked for, for the cipher. What
    // fails leaves the burst: from here `located[i]` is there only for packets in play.
    let mut last = None;
    for (i, pkt) in pkts.iter_mut().enumerate() {
        if !staged {
            match locate(pkt) {
                Ok(mut l) => match sad.find_inbound(l.spi) {
                    Some(pos) => {
                        l.parsed.sa = pos;
                        located[i] = Some(l);
                    }
                    None => {
                        verdicts[i] = Verdict::Drop(DropReason::UnknownSpi);
                        continue;
                    }
                },
                Err(v) => {
                    verdicts[i] = v;
                    continue;
                }
            }
        }
        let Some(l) = &mut located[i] else { continue };
        let new_run = last != Some(l.parsed.sa);
        last = Some(l.parsed.sa);
        if let Err(v) = check(sad, l, new_run) {
            verdicts[i] = v;
            located[i] = None;
        }
    }

    let mut results: [Result<(), CryptoError>; MAX_BURST] = [Ok(()); MAX_BURST];
    {
        let sad_ro: &Sad = sad;
        let mut ops: ArrayVec<CryptoOp<'_>, MAX_BURST> = ArrayVec::new();
        let mut index: ArrayVec<usize, MAX_BURST> = ArrayVec::new();
        // GCM nonces and AADs, written a whole burst before the crypto reads them
        // (crypto::Staged).
        let mut staged = [Staged::default(); MAX_BURST];
        for (i, pkt) in pkts.iter_mut().enumerate() {
            let Some(Located { parsed: p, .. }) = &located[i] else {
                continue;
            };
            let Some(sa) = sad_ro.at(p.sa) else { continue };
            let esn_hi = sa.config.esn.then_some((p.seq >> 32) as u32);
            let esp = &mut pkt.data_mut()[p.esp_at..p.outer_total_len];
            sa.session.stage_into(&mut staged[ops.len()], esp, esn_hi);
            ops.push(CryptoOp {
                session: &sa.session,
                esp,
                esn_hi,
                result: Ok(()),
            });
            index.push(i);
        }
        lc.engine.open_burst_staged(&mut ops, &staged);
        for (op, &i) in ops.iter().zip(index.iter()) {
            results[i] = op.result;
        }
    }

    for (i, pkt) in pkts.iter_mut().enumerate() {
        let Some(Located { parsed: p, .. }) = &located[i] else {
            continue;
        };
        let Some(sa) = sad.at_mut(p.sa) else {
            continue;
        };
        verdicts[i] = match results[i] {
            Err(CryptoError::IcvMismatch) => Verdict::Drop(DropReason::IcvFailure),
            Err(_) => Verdict::Drop(DropReason::TooShort),
            Ok(()) => finish(lc, sa, pkt, p, now_ns),
        };
        if let Verdict::Drop(reason) = verdicts[i] {
            sa.count_drop(reason);
        }
    }
    for v in verdicts.iter() {
        match v {
            Verdict::Forward => lc.counters.decrypted += 1,
            Verdict::Dummy => lc.counters.dummy += 1,
            Verdict::Drop(reason) => lc.counters.drop(*reason),
            _ => {}
        }
    }
    lc.flush_snapshots(sad, now_ns);
}

/// What the first pass found of an ESP packet before reading its SA.
#[derive(Debug, Clone, Copy)]
struct Located {
    /// Complete but for `seq`, which holds the low 32 bits as received until [`check`]
    /// widens it, and `sa`, which the SPI lookup fills in (a placeholder until then).
    parsed: Parsed,
    spi: u32,
    /// The outer destination, which a tunnel-mode SA checks.
    dst: IpAddr,
}

/// The first pass: the headers, without looking the SPI up. (Inlined: called from two
/// places, it was left out of line, its `Located` returned through memory per packet.)
#[inline(always)]
fn locate<P: PacketBuf>(pkt: &mut P) -> Result<Located, Verdict> {
    let outer = IpHeader::parse(pkt.data()).map_err(|_| Verdict::Drop(DropReason::Malformed))?;
    let esp_at = match classify(pkt.data(), &outer) {
        Classified::Esp { esp_at, .. } => esp_at,
        Classified::NotEsp => return Err(Verdict::Exception),
        Classified::Fragment => return Err(Verdict::Fragment),
    };
    let extra = pkt.len() - outer.total_len;
    pkt.trim(extra);
    let data = pkt.data();
    if data.len() < esp_at + ESP_HEADER_LEN {
        return Err(Verdict::Drop(DropReason::TooShort));
    }
    Ok(Located {
        parsed: Parsed {
            sa: SaPos::NONE,
            esp_at,
            seq: be32(data, esp_at + 4) as u64,
            outer_total_len: outer.total_len,
            outer_header_len: outer.header_len,
            outer_protocol_at: outer.protocol_at,
            outer_version: outer.version,
            outer_tos: outer.tos,
        },
        spi: be32(data, esp_at),
        dst: outer.dst(data),
    })
}

/// The second pass: the SA's state, lengths, and the replay pre-check; the keys asked for
/// when the packet starts a run of packets on its SA. `l.parsed` is completed where it lies,
/// in the burst's slot (the sequence number widened), and the later passes read it there:
/// no second array of `Parsed` to clear each burst, no copy of each. (Returned and then
/// stored, a `Parsed` went through the stack, written a field at a time and read back
/// whole, a store-forwarding stall per packet.)
#[inline(always)]
fn check(sad: &mut Sad, l: &mut Located, new_run: bool) -> Result<(), Verdict> {
    let p = &mut l.parsed;
    let sa = sad
        .at_mut(p.sa)
        .ok_or(Verdict::Drop(DropReason::UnknownSpi))?;
    let fail = |sa: &mut Sa, reason: DropReason| {
        sa.count_drop(reason);
        Verdict::Drop(reason)
    };
    if let Mode::Tunnel { local, .. } = sa.config.mode {
        if l.dst != local {
            return Err(Verdict::Drop(DropReason::UnknownSpi));
        }
    }
    match sa.state() {
        SaState::Active => {}
        SaState::Standby => return Err(fail(sa, DropReason::SaInactive)),
        SaState::Expired => return Err(fail(sa, DropReason::HardLifetime)),
    }
    let esp_len = p.outer_total_len - p.esp_at;
    let fixed = ESP_HEADER_LEN + sa.session.iv_len() + sa.session.icv_len();
    let block = sa.session.block_len().max(4);
    // (block is a power of two: a mask, not a division)
    if esp_len < fixed + block || (esp_len - fixed) & (block - 1) != 0 {
        return Err(fail(sa, DropReason::TooShort));
    }
    if sa.config.esn {
        p.seq = esn_reconstruct(p.seq as u32, sa.window().top(), sa.window().size());
    }
    if let Err(e) = sa.window().check(p.seq) {
        return Err(fail(sa, replay_reason(e)));
    }
    sa.prefetch_replay(p.seq);
    if new_run {
        sa.session.prefetch_keys(false, esp_len);
    }
    Ok(())
}

fn replay_reason(e: ReplayError) -> DropReason {
    match e {
        ReplayError::Duplicate => DropReason::Replay,
        ReplayError::TooOld => DropReason::OutsideWindow,
    }
}

/// The last pass, once the ICV checked out: window, trailer, decapsulation, selectors.
fn finish<P: PacketBuf>(
    lc: &mut Lcore,
    sa: &mut Sa,
    pkt: &mut P,
    p: &Parsed,
    now_ns: u64,
) -> Verdict {
    if let Err(e) = sa.replay_update(p.seq) {
        return Verdict::Drop(replay_reason(e));
    }
    let verdict = decapsulate(sa, pkt, p);
    if verdict == Verdict::Forward {
        if let Some(ev) = sa.hard_limit_reached(pkt.len() as u64) {
            lc.raise(sa, ev);
            return Verdict::Drop(DropReason::HardLifetime);
        }
        if let Some(ev) = sa.account(pkt.len() as u64, now_ns) {
            lc.raise(sa, ev);
        }
    } else {
        sa.touch(now_ns);
    }
    lc.note_snapshot(sa, now_ns);
    verdict
}

/// Strips the outer headers and the ESP header, IV, trailer and ICV.
fn decapsulate<P: PacketBuf>(sa: &Sa, pkt: &mut P, p: &Parsed) -> Verdict {
    let iv_len = sa.session.iv_len();
    let icv_len = sa.session.icv_len();
    let pt_at = p.esp_at + ESP_HEADER_LEN + iv_len;
    let pt_end = p.outer_total_len - icv_len;
    let Some((payload_len, next_header)) = read_trailer(&pkt.data()[pt_at..pt_end]) else {
        return Verdict::Drop(DropReason::BadPadding);
    };
    if next_header == proto::NO_NEXT {
        return Verdict::Dummy;
    }
    match sa.config.mode {
        Mode::Tunnel { .. } => {
            let want = match next_header {
                proto::IPV4 => IpVersion::V4,
                proto::IPV6 => IpVersion::V6,
                _ => return Verdict::Drop(DropReason::BadNextHeader),
            };
            let data = pkt.data_mut();
            let payload = &mut data[pt_at..pt_at + payload_len];
            let parsed = IpHeader::parse(payload);
            let inner = match &parsed {
                Ok(h) if h.version == want => h,
                Ok(_) => return Verdict::Drop(DropReason::BadNextHeader),
                Err(_) => return Verdict::Drop(DropReason::Malformed),
            };
            if !sa.config.selectors.allow_packet(inner, payload) {
                return Verdict::Drop(DropReason::PolicyMismatch);
            }
            match ecn::decapsulate(inner.tos, p.outer_tos) {
                None => return Verdict::Drop(DropReason::EcnDrop),
                Some(e) if e != inner.tos & 3 => {
                    set_tos(payload, inner.version, (inner.tos & 0xfc) | e)
                }
                Some(_) => {}
            }
            // TFC padding (RFC 4303 §2.7) may follow the inner packet: drop it too.
            pkt.keep(pt_at, inner.total_len);
            Verdict::Forward
        }
        Mode::Transport => {
            let hl = p.outer_header_len;
            let shift = pt_at - hl;
            let data = pkt.data_mut();
            data.copy_within(0..hl, shift);
            data[shift + p.outer_protocol_at] = next_header;
            pkt.keep(shift, hl + payload_len);
            let total = pkt.len();
            let data = pkt.data_mut();
            fix_lengths(&mut data[..hl], p.outer_version, total);
            let Ok(rebuilt) = IpHeader::parse(data) else {
                return Verdict::Drop(DropReason::Malformed);
            };
            if !sa.config.selectors.allow_packet(&rebuilt, data) {
                return Verdict::Drop(DropReason::PolicyMismatch);
            }
            Verdict::Forward
        }
    }
}
