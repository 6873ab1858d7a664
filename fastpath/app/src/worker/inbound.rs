//! ESP from the unprotected side: decryption (outer fragments reassembled first), the
//! inbound policy for what came in clear, framing toward the protected side.

use super::exception::{for_node, is_for_node};
use super::{is_ip, View, Worker, BURST};
use crate::ether;
use arrayvec::ArrayVec;
use dpdk::mbuf::{Mbuf, MbufBurst};
use esp::counters::DropReason;
use esp::inbound::decrypt_burst;
use esp::spd::{Action, FlowKey, Spd};
use esp::verdict::Verdict;
use esp::wire::ip::IpHeader;
use std::net::IpAddr;

impl Worker {
    /// ESP (and anything else) from the unprotected port: decrypt, frame, send.
    pub(super) fn inbound(&mut self, from: usize, rx: &mut MbufBurst<BURST>, now_ns: u64) {
        let mut ip = MbufBurst::<BURST>::default();
        // Received bytes counted here, in the pass that reads each mbuf anyway.
        let mut rx_bytes = 0u64;
        for mut m in rx.take_all() {
            rx_bytes += u64::from(m.pkt_len());
            if !is_ip(&m) {
                self.exception(from, m);
                continue;
            }
            if let Some(v) = self.spi_foreign_owner(&m) {
                self.hand_off(v, true, m);
                continue;
            }
            m.adj(ether::HEADER_LEN as u16);
            let _ = ip.push(m);
        }
        self.counters.rx_bytes += rx_bytes;
        self.flush_handoff();
        if ip.is_empty() {
            return;
        }
        let mut out = MbufBurst::<BURST>::default();
        // (made when the first outer fragment comes: rare, and 512 bytes to zero)
        let mut fragments = None;
        self.decrypt_and_dispatch(from, &mut ip, &mut out, &mut fragments, now_ns);
        // Outer fragments: whole packets once reassembled, then decrypted like the others.
        if let Some(fragments) = fragments.as_mut() {
            let mut whole = MbufBurst::<BURST>::default();
            for m in fragments.take_all() {
                if let Some(w) = self.mtu.reassemble(m, now_ns) {
                    let _ = whole.push(w);
                }
            }
            if !whole.is_empty() {
                let mut nested = None;
                self.decrypt_and_dispatch(from, &mut whole, &mut out, &mut nested, now_ns);
                self.mtu.counters.dropped += nested.map_or(0, |b| b.len()) as u64;
            }
        }
        self.frame_and_send(self.protected, &mut out);
    }

    /// Decrypts a burst of IP packets: what is forwarded goes into `out`, outer fragments into
    /// `fragments` (made by the first), the rest to the kernel or away.
    pub(super) fn decrypt_and_dispatch(
        &mut self,
        from: usize,
        ip: &mut MbufBurst<BURST>,
        out: &mut MbufBurst<BURST>,
        fragments: &mut Option<MbufBurst<BURST>>,
        now_ns: u64,
    ) {
        let n = ip.len();
        let mut verdicts = [Verdict::Forward; BURST];
        {
            let mut views: ArrayVec<View<'_>, BURST> =
                ip.as_mut_slice().iter_mut().map(View).collect();
            decrypt_burst(
                &mut self.esp,
                &mut self.tables.sad,
                &mut views,
                &mut verdicts[..n],
                now_ns,
            );
        }
        // (made when first needed: rare, and 512 bytes to zero)
        let mut for_node: Option<MbufBurst<BURST>> = None;
        // (the node's addresses, once per burst: without any, nothing decrypted is for it)
        let no_locals = self.locals.is_empty();
        for (m, v) in ip.take_all().zip(verdicts) {
            match v {
                Verdict::Forward if no_locals => {
                    let _ = out.push(m);
                }
                Verdict::Forward if !is_for_node(&self.locals, m.data()) => {
                    let _ = out.push(m);
                }
                Verdict::Forward => {
                    let _ = for_node.get_or_insert_with(MbufBurst::default).push(m);
                }
                Verdict::Exception => match plaintext_policy(&self.tables.spd_in, &self.locals, &m)
                {
                    Plaintext::ForNode => {
                        // Back to the frame it came in (a reassembled packet carries the
                        // Ethernet header of the fragment that completed it the same way).
                        let mut m = m;
                        let _ = m.prepend(ether::HEADER_LEN as u16);
                        self.exception(from, m);
                    }
                    Plaintext::Policy(Action::Bypass) => {
                        self.counters.bypassed += 1;
                        let _ = out.push(m);
                    }
                    Plaintext::Policy(Action::Discard) => {
                        self.esp.counters.drop(DropReason::PolicyDiscard)
                    }
                    // Unprotected traffic that a protect policy covers must not pass in clear.
                    Plaintext::Policy(Action::Protect(_)) => {
                        self.esp.counters.drop(DropReason::PolicyMismatch)
                    }
                    Plaintext::NoPolicy => self.esp.counters.drop(DropReason::NoPolicy),
                },
                Verdict::Fragment => {
                    let _ = fragments.get_or_insert_with(MbufBurst::default).push(m);
                }
                Verdict::Dummy | Verdict::Drop(_) => {}
            }
        }
        if let Some(for_node) = for_node.as_mut().filter(|b| !b.is_empty()) {
            self.counters.to_node += for_node.len() as u64;
            self.give_to_kernel(from, for_node);
        }
    }
}

/// What becomes of a plaintext (non-ESP) packet from the unprotected side.
enum Plaintext {
    ForNode,
    Policy(Action),
    NoPolicy,
}

fn plaintext_policy(spd: &Spd, locals: &[IpAddr], m: &Mbuf) -> Plaintext {
    let Ok(h) = IpHeader::parse(m.data()) else {
        return Plaintext::NoPolicy;
    };
    if for_node(locals, h.dst(m.data())) {
        return Plaintext::ForNode;
    }
    match spd.lookup(&FlowKey::of(&h, m.data())) {
        Some((_, p)) => Plaintext::Policy(p.action),
        None => Plaintext::NoPolicy,
    }
}
