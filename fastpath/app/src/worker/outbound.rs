//! Plaintext toward the tunnel: the outbound SPD, the MTU check, encryption, framing.

use super::exception::for_node;
use super::{is_ip, View, Worker, BURST};
use crate::ether;
use crate::mtu::{fits_any_sa, fits_sa, Fit};
use arrayvec::ArrayVec;
use dpdk::mbuf::{Mbuf, MbufBurst};
use esp::counters::DropReason;
use esp::outbound::encrypt_burst;
use esp::sa::{Direction, SaId};
use esp::sad::SaPos;
use esp::spd::{Action, Asked, FlowKey, Hit};
use esp::verdict::Verdict;
use esp::wire::ip::IpHeader;
use std::net::IpAddr;

/// Where the outbound classifier sends a packet: one to protect with its SA's id (which
/// worker owns it) and position in this worker's SAD (its lines, without its slot).
#[derive(Clone, Copy)]
enum Outbound {
    Protect(SaId, SaPos),
    Bypass,
    Exception,
    Drop(DropReason),
}

/// The packets a burst sends on, sorted by the classify pass: those to encrypt with their
/// SAs, the rare ones (bypass, too big), and what the MTU check learnt.
#[derive(Default)]
struct Sorted {
    enc: MbufBurst<BURST>,
    enc_sa: ArrayVec<SaPos, BURST>,
    // Made when first needed: an empty burst is 512 bytes to zero, each burst, for
    // packets that are rare.
    too_big: Option<MbufBurst<BURST>>,
    too_big_for_node: Option<MbufBurst<BURST>>,
    bypass: Option<MbufBurst<BURST>>,
    /// The longest packet of the burst known to fit with its SA, and that SA: a packet of
    /// 1400 bytes or so is past `fits_any_sa`, and the packets of a run on one SA are alike.
    fitted: Option<(SaPos, usize)>,
    /// Whether a packet to encrypt may come out over the MTU (only those that failed the
    /// quick check can): else the pass over the encrypted burst is needed only for drops.
    near_mtu: bool,
}

impl Worker {
    /// Plaintext from the protected port (or the node's own, from its kernel): SPD, encrypt,
    /// frame, send.
    pub(super) fn outbound(&mut self, from: usize, rx: &mut MbufBurst<BURST>, now_ns: u64) {
        let mut s = Sorted::default();
        let mtu = self.ports[self.unprotected].mtu;
        if !self.tables.spd_out.placed_against(&self.tables.sad) {
            // The SAD changed past the SPD (never through the control path): no position
            // of it is used before all are right again.
            self.tables.spd_out.place_all(&self.tables.sad);
        }
        if self.tables.spd_out.prefers_bursts() {
            self.sort_burst(from, rx, mtu, &mut s);
        } else {
            // An SPD in cache: each packet classified, looked up and sorted in one visit,
            // while its lines are hot (the burst's lookups gain only from overlapped misses).
            let mut rx_bytes = 0u64;
            for mut m in rx.take_all() {
                rx_bytes += u64::from(m.pkt_len());
                let fate = match classify(&self.locals, &mut m) {
                    Ok(h) => {
                        policy_fate(self.tables.spd_out.lookup_hit(&FlowKey::of(&h, m.data())))
                    }
                    Err(fate) => fate,
                };
                let len = usize::from(m.data_len());
                self.sort(from, fate, m, len, mtu, &mut s);
            }
            self.counters.rx_bytes += rx_bytes;
        }
        self.flush_handoff();
        self.encrypt_and_send(&mut s, now_ns);
    }

    /// The classify pass of an SPD too large for the cache: each flow's probes are asked for
    /// as its packet is classified ([`esp::spd::Spd::ask`]), and the burst's flows looked up
    /// together after the pass, so that its lookups' misses overlap the classifying and each
    /// other.
    fn sort_burst(&mut self, from: usize, rx: &mut MbufBurst<BURST>, mtu: usize, s: &mut Sorted) {
        let mut pkts = MbufBurst::<BURST>::default();
        let mut keys = ArrayVec::<FlowKey, BURST>::new();
        // Each packet's fate; those with a flow key get theirs from the SPD answers, in the
        // keys' order (`keyed`: their indices).
        let mut fates = [Outbound::Exception; BURST];
        let mut keyed = ArrayVec::<usize, BURST>::new();
        let mut rx_bytes = 0u64;
        // Each packet's length as classified, for the MTU check: that pass need not read the
        // mbuf again (its first read in a pass was among the worker's hottest loads).
        let mut lens = [0u16; BURST];
        // Whether any packet is past `fits_any_sa`: a burst of short packets skips the
        // per-packet check of the SA prefetch below.
        let mut long = false;
        // Each flow's SPD probes, asked for as it is classified.
        let mut asked = ArrayVec::<Asked, BURST>::new();
        for mut m in rx.take_all() {
            rx_bytes += u64::from(m.pkt_len());
            match outbound_flow(&self.locals, &mut m, &mut keys) {
                Ok(()) => {
                    keyed.push(pkts.len());
                    if let Some(k) = keys.last() {
                        asked.push(self.tables.spd_out.ask(k));
                    }
                }
                Err(fate) => fates[pkts.len()] = fate,
            }
            let len = m.data_len();
            long |= !fits_any_sa(usize::from(len), mtu);
            lens[pkts.len()] = len;
            let _ = pkts.push(m);
        }
        self.counters.rx_bytes += rx_bytes;
        let mut found = [None; BURST];
        self.tables.spd_out.lookup_asked(&keys, &asked, &mut found);
        // A packet past `fits_any_sa` reads its SA in the MTU check, one dependent miss after
        // another with 100,000 SAs: its SA's lines are asked for here, a pass ahead (once per
        // run of packets on one SA), from the position the SPD gave.
        let mut asked = SaPos::NONE;
        for (&i, hit) in keyed.iter().zip(found.iter()) {
            let fate = policy_fate(*hit);
            fates[i] = fate;
            if long {
                if let Outbound::Protect(_, at) = fate {
                    if asked != at && !fits_any_sa(usize::from(lens[i]), mtu) {
                        self.tables.sad.prefetch_at(at, Direction::Outbound);
                        asked = at;
                    }
                }
            }
        }
        for (k, m) in pkts.take_all().enumerate() {
            self.sort(from, fates[k], m, usize::from(lens[k]), mtu, s);
        }
    }

    /// Sends a classified packet where its fate says; one to protect joins the burst to
    /// encrypt if it fits the MTU (`len`: its length as classified).
    #[inline(always)]
    fn sort(
        &mut self,
        from: usize,
        fate: Outbound,
        mut m: Mbuf,
        len: usize,
        mtu: usize,
        s: &mut Sorted,
    ) {
        match fate {
            Outbound::Protect(sa, at) => match self.foreign_owner(sa) {
                Some(v) => {
                    // The owner classifies it again: give it the frame as received.
                    let _ = m.prepend(ether::HEADER_LEN as u16);
                    self.hand_off(v, false, m);
                }
                None => {
                    // The SA is read only near the MTU: the others' first touch of it is
                    // encrypt_burst's, which asks for the whole burst's SAs at once.
                    let fit = if fits_any_sa(len, mtu)
                        || s.fitted.is_some_and(|(f, l)| f == at && len <= l)
                    {
                        Fit::Fits
                    } else {
                        s.near_mtu = true;
                        match self.tables.sad.at(at) {
                            Some(x) if fits_sa(x, len, mtu) => {
                                s.fitted = Some((at, len));
                                Fit::Fits
                            }
                            Some(x) => self.mtu.check(x, m.data(), mtu, &self.locals),
                            None => Fit::Fits,
                        }
                    };
                    match fit {
                        Fit::Fits | Fit::FragmentAfter => {
                            s.enc_sa.push(at);
                            let _ = s.enc.push(m);
                        }
                        Fit::TooBigFromNode(Some(icmp)) => {
                            let _ = s
                                .too_big_for_node
                                .get_or_insert_with(MbufBurst::default)
                                .push(icmp);
                        }
                        Fit::TooBig(Some(icmp)) => {
                            let _ = s.too_big.get_or_insert_with(MbufBurst::default).push(icmp);
                        }
                        Fit::TooBig(None) | Fit::TooBigFromNode(None) => {
                            self.mtu.counters.dropped += 1
                        }
                    }
                }
            },
            Outbound::Bypass => {
                let _ = s.bypass.get_or_insert_with(MbufBurst::default).push(m);
            }
            Outbound::Exception => self.exception(from, m),
            Outbound::Drop(reason) => self.esp.counters.drop(reason),
        }
    }

    /// Encrypts the sorted burst, frames and sends it, and the rare bursts after it.
    fn encrypt_and_send(&mut self, s: &mut Sorted, now_ns: u64) {
        let enc = &mut s.enc;
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
                    &s.enc_sa,
                    &mut verdicts[..n],
                    now_ns,
                );
            }
            let mtu = self.ports[self.unprotected].mtu;
            let mut oversized = false;
            if s.near_mtu || verdicts[..n].iter().any(|v| *v != Verdict::Forward) {
                let mut i = 0;
                enc.retain(|m| {
                    i += 1;
                    oversized |= m.pkt_len() as usize > mtu;
                    verdicts[i - 1] == Verdict::Forward
                });
            }
            if oversized {
                self.fragment_oversized(enc);
            }
            self.frame_and_send(self.unprotected, enc);
        }
        if let Some(bypass) = s.bypass.as_mut().filter(|b| !b.is_empty()) {
            self.counters.bypassed += bypass.len() as u64;
            self.frame_and_send(self.unprotected, bypass);
        }
        if let Some(too_big) = s.too_big.as_mut().filter(|b| !b.is_empty()) {
            self.frame_and_send(self.protected, too_big);
        }
        if let Some(t) = s.too_big_for_node.as_mut().filter(|b| !b.is_empty()) {
            self.give_to_kernel(self.unprotected, t);
        }
    }
}

/// Strips the Ethernet header of an IP frame and parses its IP header, for the outbound SPD;
/// frames that are not IP or are for the node go to the kernel as they came.
#[inline(always)]
fn classify(locals: &[IpAddr], m: &mut Mbuf) -> Result<IpHeader, Outbound> {
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
    Ok(h)
}

/// [`classify`], the flow's key built in `keys`, where the SPD reads it: returned inside a
/// `Result` and then copied, it was written a field at a time and read back whole, which
/// stalls store forwarding once per packet.
#[inline(always)]
fn outbound_flow(
    locals: &[IpAddr],
    m: &mut Mbuf,
    keys: &mut ArrayVec<FlowKey, BURST>,
) -> Result<(), Outbound> {
    let h = classify(locals, m)?;
    keys.push(FlowKey::of(&h, m.data()));
    Ok(())
}

/// What the outbound SPD's answer for a flow does with its packet.
fn policy_fate(hit: Option<Hit<'_>>) -> Outbound {
    match hit {
        Some(h) => match h.policy.action {
            Action::Protect(bundle) => Outbound::Protect(SaId(bundle.first()), h.sa_at),
            Action::Bypass => Outbound::Bypass,
            Action::Discard => Outbound::Drop(DropReason::PolicyDiscard),
        },
        None => Outbound::Drop(DropReason::NoPolicy),
    }
}
