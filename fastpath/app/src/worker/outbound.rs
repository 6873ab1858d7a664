//! Plaintext toward the tunnel: the outbound SPD, the MTU check, encryption, framing.

use super::exception::for_node;
use super::{is_ip, View, Worker, BURST};
use crate::ether;
use crate::mtu::{fits_any_sa, fits_sa, Fit};
use arrayvec::ArrayVec;
use dpdk::mbuf::{Mbuf, MbufBurst};
use esp::counters::DropReason;
use esp::inbound::flow_key;
use esp::outbound::encrypt_burst;
use esp::sa::{Direction, SaId};
use esp::spd::{Action, FlowKey, Policy, PolicyId};
use esp::verdict::Verdict;
use esp::wire::ip::IpHeader;
use std::net::IpAddr;

/// Where the outbound classifier sends a packet.
#[derive(Clone, Copy)]
enum Outbound {
    Protect(SaId),
    Bypass,
    Exception,
    Drop(DropReason),
}

impl Worker {
    /// Plaintext from the protected port (or the node's own, from its kernel): SPD, encrypt,
    /// frame, send.
    pub(super) fn outbound(&mut self, from: usize, rx: &mut MbufBurst<BURST>, now_ns: u64) {
        let mut enc = MbufBurst::<BURST>::default();
        let mut enc_sa = [SaId(0); BURST];
        // Made when first needed: an empty burst is 512 bytes to zero, each burst, for
        // packets that are rare.
        let mut too_big: Option<MbufBurst<BURST>> = None;
        let mut too_big_for_node: Option<MbufBurst<BURST>> = None;
        let mut bypass: Option<MbufBurst<BURST>> = None;
        // The burst's flows go to the SPD together, so that its lookups' misses overlap.
        let mut pkts = MbufBurst::<BURST>::default();
        let mut fates = [Outbound::Exception; BURST];
        let mut keys = ArrayVec::<FlowKey, BURST>::new();
        let mut keyed = ArrayVec::<usize, BURST>::new();
        // Received bytes counted here, in the pass that reads each mbuf anyway.
        let mut rx_bytes = 0u64;
        // Each packet's length as classified, for the MTU check: that pass need not read the
        // mbuf again (its first read in a pass was among the worker's hottest loads).
        let mut lens = [0u16; BURST];
        let mtu = self.ports[self.unprotected].mtu;
        // Whether any packet is past `fits_any_sa`: a burst of short packets skips the
        // per-packet check of the SA prefetch below.
        let mut long = false;
        for mut m in rx.take_all() {
            rx_bytes += u64::from(m.pkt_len());
            match outbound_flow(&self.locals, &mut m, &mut keys) {
                Ok(()) => keyed.push(pkts.len()),
                Err(fate) => fates[pkts.len()] = fate,
            }
            let len = m.data_len();
            long |= !fits_any_sa(usize::from(len), mtu);
            lens[pkts.len()] = len;
            let _ = pkts.push(m);
        }
        self.counters.rx_bytes += rx_bytes;
        // Whether a packet to encrypt may come out over the MTU (only those that failed the
        // quick check can): else the pass over the encrypted burst is needed only for drops.
        let mut near_mtu = false;
        let mut found = [None; BURST];
        self.tables.spd_out.lookup_burst(&keys, &mut found);
        // A packet past `fits_any_sa` reads its SA in the MTU pass below, one dependent miss
        // after another with 100,000 SAs: its SA's lines are asked for here, a pass ahead
        // (once per run of packets on one SA).
        let mut asked: Option<SaId> = None;
        // (by reference: `zip(found)` moved the 1 KB array into the iterator, a memcpy call
        // whose stores the loop then read back at once)
        for (&i, hit) in keyed.iter().zip(found.iter()) {
            fates[i] = policy_fate(*hit);
            if long {
                if let Outbound::Protect(sa) = fates[i] {
                    if asked != Some(sa) && !fits_any_sa(usize::from(lens[i]), mtu) {
                        self.tables.sad.prefetch(sa, Direction::Outbound);
                        asked = Some(sa);
                    }
                }
            }
        }
        // The longest packet of the burst known to fit with its SA, and that SA: a packet of
        // 1400 bytes or so is past `fits_any_sa`, and the packets of a run on one SA are alike.
        let mut fitted: Option<(SaId, usize)> = None;
        for (k, (mut m, fate)) in pkts.take_all().zip(fates).enumerate() {
            match fate {
                Outbound::Protect(sa) => match self.foreign_owner(sa) {
                    Some(v) => {
                        // The owner classifies it again: give it the frame as received.
                        let _ = m.prepend(ether::HEADER_LEN as u16);
                        self.hand_off(v, false, m);
                    }
                    None => {
                        // The SA is read only near the MTU: the others' first touch of it
                        // is encrypt_burst's, which asks for the whole burst's SAs at once.
                        let len = usize::from(lens[k]);
                        let fit = if fits_any_sa(len, mtu)
                            || fitted.is_some_and(|(s, l)| s == sa && len <= l)
                        {
                            Fit::Fits
                        } else {
                            near_mtu = true;
                            match self.tables.sad.get(sa) {
                                Some(s) if fits_sa(s, len, mtu) => {
                                    fitted = Some((sa, len));
                                    Fit::Fits
                                }
                                Some(s) => self.mtu.check(s, m.data(), mtu, &self.locals),
                                None => Fit::Fits,
                            }
                        };
                        match fit {
                            Fit::Fits | Fit::FragmentAfter => {
                                enc_sa[enc.len()] = sa;
                                let _ = enc.push(m);
                            }
                            Fit::TooBigFromNode(Some(icmp)) => {
                                let _ = too_big_for_node
                                    .get_or_insert_with(MbufBurst::default)
                                    .push(icmp);
                            }
                            Fit::TooBig(Some(icmp)) => {
                                let _ = too_big.get_or_insert_with(MbufBurst::default).push(icmp);
                            }
                            Fit::TooBig(None) | Fit::TooBigFromNode(None) => {
                                self.mtu.counters.dropped += 1
                            }
                        }
                    }
                },
                Outbound::Bypass => {
                    let _ = bypass.get_or_insert_with(MbufBurst::default).push(m);
                }
                Outbound::Exception => self.exception(from, m),
                Outbound::Drop(reason) => self.esp.counters.drop(reason),
            }
        }
        self.flush_handoff();
        let n = enc.len();
        if n > 0 {
            let mut verdicts = [Verdict::Forward; BURST];
            {
                // Pushed in place: collected, the views were built aside and then moved,
                // another memcpy call read back at once.
                let mut views = ArrayVec::<View<'_>, BURST>::new();
                for m in enc.as_mut_slice() {
                    views.push(View(m));
                }
                encrypt_burst(
                    &mut self.esp,
                    &mut self.tables.sad,
                    &mut views,
                    &enc_sa[..n],
                    &mut verdicts[..n],
                    now_ns,
                );
            }
            let mtu = self.ports[self.unprotected].mtu;
            let mut oversized = false;
            if near_mtu || verdicts[..n].iter().any(|v| *v != Verdict::Forward) {
                let mut i = 0;
                enc.retain(|m| {
                    i += 1;
                    oversized |= m.pkt_len() as usize > mtu;
                    verdicts[i - 1] == Verdict::Forward
                });
            }
            if oversized {
                self.fragment_oversized(&mut enc);
            }
            self.frame_and_send(self.unprotected, &mut enc);
        }
        if let Some(bypass) = bypass.as_mut().filter(|b| !b.is_empty()) {
            self.counters.bypassed += bypass.len() as u64;
            self.frame_and_send(self.unprotected, bypass);
        }
        if let Some(too_big) = too_big.as_mut().filter(|b| !b.is_empty()) {
            self.frame_and_send(self.protected, too_big);
        }
        if let Some(t) = too_big_for_node.as_mut().filter(|b| !b.is_empty()) {
            self.give_to_kernel(self.unprotected, t);
        }
    }
}

/// Strips the Ethernet header of an IP frame and adds its flow to `keys`, for the outbound
/// SPD; frames that are not IP or are for the node go to the kernel as they came. The key is
/// built where it goes: returned inside a `Result` and then copied, it was written a field at
/// a time and read back whole, which stalls store forwarding once per packet.
#[inline(always)]
fn outbound_flow(
    locals: &[IpAddr],
    m: &mut Mbuf,
    keys: &mut ArrayVec<FlowKey, BURST>,
) -> Result<(), Outbound> {
    if !is_ip(m) {
        return Err(Outbound::Exception);
    }
    m.adj(ether::HEADER_LEN as u16);
    let Ok(h) = IpHeader::parse(m.data()) else {
        return Err(Outbound::Drop(DropReason::Malformed));
    };
    if for_node(locals, h.dst(m.data())) {
        let _ = m.prepend(ether::HEADER_LEN as u16);
        return Err(Outbound::Exception);
    }
    keys.push(flow_key(&h, m.data()));
    Ok(())
}

/// What the outbound SPD's answer for a flow does with its packet.
fn policy_fate(hit: Option<(PolicyId, &Policy)>) -> Outbound {
    match hit {
        Some((_, p)) => match p.action {
            Action::Protect(bundle) => Outbound::Protect(SaId(bundle.first())),
            Action::Bypass => Outbound::Bypass,
            Action::Discard => Outbound::Drop(DropReason::PolicyDiscard),
        },
        None => Outbound::Drop(DropReason::NoPolicy),
    }
}
