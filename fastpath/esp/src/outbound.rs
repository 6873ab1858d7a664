//! Outbound processing (RFC 4303 §3.3): for a burst of plaintext IP packets and the SA each is
//! to be protected with, assign sequence numbers, build the ESP (and outer IP / UDP) headers
//! and trailer around each packet in place, then encrypt the whole burst at once.

use crate::buf::PacketBuf;
use crate::counters::DropReason;
use crate::crypto::CryptoOp;
use crate::ecn;
use crate::lcore::Lcore;
use crate::sa::{DfMode, DscpMode, Mode, Sa, SaId, SaState};
use crate::sad::Sad;
use crate::verdict::{write_trailer, TrailerLayout, Verdict, MAX_BURST};
use crate::wire::checksum;
use crate::wire::ip::{decrement_ttl, IpHeader, IpVersion};
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

/// Encrypts `pkts` (each a whole IP packet, from its IP header on) with `sas[i]`;
/// `verdicts[i]` says what became of each. On `Forward` the buffer holds the ESP packet from
/// its outer IP header on.
pub fn encrypt_burst<P: PacketBuf>(
    lc: &mut Lcore,
    sad: &mut Sad,
    pkts: &mut [P],
    sas: &[SaId],
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

fn encrypt_chunk<P: PacketBuf>(
    lc: &mut Lcore,
    sad: &mut Sad,
    pkts: &mut [P],
    sas: &[SaId],
    verdicts: &mut [Verdict],
    now_ns: u64,
) {
    let mut prepared = [Prepared::default(); MAX_BURST];
    for i in 0..pkts.len() {
        verdicts[i] = match sad.get_mut(sas[i]) {
            None => Verdict::Drop(DropReason::UnknownSpi),
            Some(sa) => match prepare(lc, sa, &mut pkts[i], now_ns) {
                Ok(p) => {
                    prepared[i] = p;
                    Verdict::Forward
                }
                Err(reason) => {
                    sa.count_drop(reason);
                    Verdict::Drop(reason)
                }
            },
        };
    }

    let sad_ro: &Sad = sad;
    let mut ops: ArrayVec<CryptoOp<'_>, MAX_BURST> = ArrayVec::new();
    let mut index: ArrayVec<usize, MAX_BURST> = ArrayVec::new();
    for (i, pkt) in pkts.iter_mut().enumerate() {
        if verdicts[i] != Verdict::Forward {
            continue;
        }
        let Some(sa) = sad_ro.get(sas[i]) else {
            continue;
        };
        let p = prepared[i];
        ops.push(CryptoOp {
            session: &sa.session,
            esp: &mut pkt.data_mut()[p.esp_at..],
            esn_hi: p.esn_hi,
            result: Ok(()),
        });
        index.push(i);
    }
    lc.engine.seal_burst(&mut ops);
    for (op, &i) in ops.iter().zip(index.iter()) {
        if op.result.is_err() {
            verdicts[i] = Verdict::Drop(DropReason::TooShort);
        }
    }
    drop(ops);
    for (i, v) in verdicts.iter().enumerate() {
        match v {
            Verdict::Forward => {
                lc.counters.encrypted += 1;
                if prepared[i].udp6 {
                    fill_udp6_checksum(pkts[i].data_mut());
                }
            }
            Verdict::Drop(reason) => lc.counters.drop(*reason),
            _ => {}
        }
    }
}

/// Builds headers and trailer around one packet, leaving it ready to seal.
fn prepare<P: PacketBuf>(
    lc: &mut Lcore,
    sa: &mut Sa,
    pkt: &mut P,
    now_ns: u64,
) -> Result<Prepared, DropReason> {
    match sa.state {
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
    write_trailer(
        &mut data[ct_end - trailer.pad_len - 2..ct_end],
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
    sa.session
        .write_iv(counter, &mut esp[ESP_HEADER_LEN..ESP_HEADER_LEN + iv_len]);

    if let Some(ev) = sa.account(inner_len as u64, now_ns) {
        lc.raise(sa, ev);
    }
    lc.maybe_snapshot(sa, now_ns);
    Ok(Prepared {
        esp_at,
        esn_hi: sa.config.esn.then_some((seq >> 32) as u32),
        udp6: udp_len > 0 && outer_v6,
    })
}

/// RFC 4301 §5.1.2.1: DSCP copied or set; ECN per RFC 6040 normal mode.
fn outer_tos(dscp: DscpMode, inner_tos: u8) -> u8 {
    let dscp_bits = match dscp {
        DscpMode::Copy => inner_tos & 0xfc,
        DscpMode::Set(d) => d << 2,
    };
    dscp_bits | ecn::encapsulate(inner_tos)
}

/// Sets the length fields of a transport-mode IP header for a packet of `total` bytes.
pub(crate) fn fix_lengths(h: &mut [u8], version: IpVersion, total: usize) {
    match version {
        IpVersion::V4 => {
            h[2..4].copy_from_slice(&(total as u16).to_be_bytes());
            h[10..12].copy_from_slice(&[0, 0]);
            let c = checksum::checksum(h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
        }
        IpVersion::V6 => {
            h[4..6].copy_from_slice(&((total - IPV6_HEADER_LEN) as u16).to_be_bytes());
        }
    }
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
