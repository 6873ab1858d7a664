//! RFC 6311 message ID synchronisation: after an HA takeover the new active node's message
//! IDs may be behind what the old one used. An INFORMATIONAL exchange with message ID 0,
//! outside the window, carries IKEV2_MESSAGE_ID_SYNC both ways: we send our next request ID
//! (M1) and the peer's we expect (P1) with a nonce; the peer answers the nonce with M2 >= M1
//! and P2 >= P1, and both sides adopt those. We do both roles: the node that took over, and
//! the peer of a node that did. A peer drops a request whose M1 is below what it already
//! got, so the node that took over adds a margin to its own next ID (`HaSettings`).
//!
//! strongSwan 5.9.8 announces IKEV2_MESSAGE_ID_SYNC_SUPPORTED without its ha plugin, in
//! every first IKE_AUTH request it sends as initiator (src/libcharon/sa/ikev2/tasks/
//! ike_auth.c:622, build_i), and answers a sync request (tasks/ike_mid_sync.c) on an IKE SA
//! whose peer announced support in the IKE_AUTH response (ike_auth.c:1318, process_i). As
//! IKE responder it neither announces nor notes support: then the synced IDs must be exact.

use std::time::Duration;

use crate::action::{DropReason, Event};
use crate::config::IkeConfig;
use crate::message::{ExchangeType, Message, MessageIdSync, NotifyType, Payload, Payloads};
use crate::retransmit::{Expiry, Retransmit};
use crate::rng::random_u32;
use crate::sa::core::{InfoRequest, OpenError, Opened, Pending};
use crate::sa::ctx::Ctx;
use crate::sa::exchange::mid_sync_state::MidSyncRequest;
use crate::sa::exchange::Task;
use crate::sa::ike_sa::{IkeSa, IkeState};

/// Our announcement for IKE_AUTH, when configured.
pub(crate) fn support_notify(ctx: &Ctx) -> Option<Payload> {
    ctx.ha
        .message_id_sync
        .then(|| Payload::notify(NotifyType::IKEV2_MESSAGE_ID_SYNC_SUPPORTED, vec![]))
}

/// Whether a message's payloads are a sync and nothing else (IPSEC_REPLAY_COUNTER_SYNC may
/// come with it; ESP counters are the fast path's, so it is accepted and not acted on, as
/// strongSwan does).
fn only_sync(p: &[Payload]) -> bool {
    let sync = |t: NotifyType| {
        t == NotifyType::IKEV2_MESSAGE_ID_SYNC || t == NotifyType::IPSEC_REPLAY_COUNTER_SYNC
    };
    !p.is_empty()
        && p.iter()
            .all(|x| matches!(x, Payload::Notify { notify_type, .. } if sync(*notify_type)))
}

impl IkeSa {
    /// Notes whether the peer's IKE_AUTH message announced RFC 6311 support.
    pub(crate) fn note_peer_mid_sync(&mut self, p: &[Payload]) {
        self.peer_mid_sync = p
            .find_notify(NotifyType::IKEV2_MESSAGE_ID_SYNC_SUPPORTED)
            .is_some();
    }

    /// Both sides announced support, and the SA is up.
    pub fn can_sync_message_ids(&self, ctx: &Ctx) -> bool {
        ctx.ha.message_id_sync
            && self.peer_mid_sync
            && self.state == IkeState::Established
            && self.core.is_some()
    }

    /// Starts our sync request at `due` (now, if it is past). Nothing else is sent on the
    /// SA until its answer. False when the SA cannot sync.
    pub(crate) fn start_message_id_sync(&mut self, ctx: &mut Ctx, due: Duration) -> bool {
        if !self.can_sync_message_ids(ctx) {
            return false;
        }
        if self.mid_sync.request.is_none() {
            self.mid_sync.request = Some(MidSyncRequest { due, sent: None });
        }
        if due <= ctx.now {
            if let Some(cfg) = ctx.config(&self.config) {
                self.tick_message_id_sync(ctx, &cfg);
            }
        }
        true
    }

    pub(crate) fn mid_sync_deadline(&self) -> Option<Duration> {
        let r = self.mid_sync.request.as_ref()?;
        Some(r.sent.as_ref().map_or(r.due, |(_, t)| t.deadline))
    }

    /// Sends our request when due, retransmits it, or gives the peer up.
    pub(crate) fn tick_message_id_sync(&mut self, ctx: &mut Ctx, cfg: &IkeConfig) {
        let now = ctx.now;
        let Some(r) = self.mid_sync.request.as_mut() else {
            return;
        };
        match r.sent.as_mut() {
            None if r.due <= now => self.send_message_id_sync(ctx, cfg),
            None => {}
            Some((_, t)) => match t.on_timer(now, &cfg.retransmit) {
                Expiry::NotYet => {}
                Expiry::Resend => {
                    let (sent, d) = (t.sent, t.datagrams.clone());
                    self.retransmitted(0, sent, &d);
                }
                Expiry::GiveUp => self.peer_dead(ctx),
            },
        }
    }

    fn send_message_id_sync(&mut self, ctx: &mut Ctx, cfg: &IkeConfig) {
        let Some(core) = self.core.as_mut() else {
            self.mid_sync.request = None;
            return;
        };
        let values = MessageIdSync {
            nonce: random_u32(ctx.rng),
            send: core
                .next_request
                .wrapping_add(ctx.ha.message_id_sync_margin),
            recv: core.peer_next_request,
        };
        let header = core.header(ExchangeType::INFORMATIONAL, false, 0);
        let n = [Payload::notify(
            NotifyType::IKEV2_MESSAGE_ID_SYNC,
            values.to_bytes(),
        )];
        let Some(datagrams) = core.protect(&header, &n, None) else {
            self.mid_sync.request = None;
            return;
        };
        let t = Retransmit::new(datagrams.clone(), ctx.now, &cfg.retransmit);
        if let Some(r) = self.mid_sync.request.as_mut() {
            r.sent = Some((values, t));
        }
        self.send(&datagrams);
    }

    /// A message with ID 0 on the current SA that may be a sync: the peer's request or the
    /// answer to ours. False when it is not one (it then goes the usual way).
    pub(crate) fn on_possible_message_id_sync(
        &mut self,
        ctx: &mut Ctx,
        raw: &[u8],
        msg: &Message,
        range: std::ops::Range<usize>,
    ) -> bool {
        let h = msg.header;
        let response = h.is_response();
        let ours_sent = self
            .mid_sync
            .request
            .as_ref()
            .is_some_and(|r| r.sent.is_some());
        let candidate = h.exchange == ExchangeType::INFORMATIONAL
            && h.message_id == 0
            && if response {
                ours_sent
            } else {
                self.can_sync_message_ids(ctx)
            };
        let Some(core) = self.core.as_ref().filter(|_| candidate) else {
            return false;
        };
        if h.flags.initiator == core.initiator {
            return false;
        }
        let payloads = match core.open(raw, msg, range) {
            Ok(Opened::Whole(p)) if only_sync(&p) => p,
            Ok(_) => return false,
            Err(OpenError::Icv) => {
                self.dropped(DropReason::BadIcv);
                return true;
            }
            Err(OpenError::Malformed) => {
                self.dropped(DropReason::Malformed);
                return true;
            }
        };
        self.last_heard = self.last_heard.max(ctx.now);
        let values = payloads
            .find_notify(NotifyType::IKEV2_MESSAGE_ID_SYNC)
            .map(|n| MessageIdSync::parse(n.data));
        match values {
            Some(Ok(v)) if response => self.on_message_id_sync_answer(ctx, v),
            Some(Ok(v)) => self.answer_message_id_sync(ctx, v),
            _ => self.dropped(DropReason::MessageIdSync),
        }
        self.kick(ctx);
        true
    }

    /// The peer's sync request (RFC 6311 5.1): refused when M1 is below what we already
    /// had from the cluster; else we adopt M2 = max(M1, expected) and P2 = max(P1, one past
    /// our last request), and answer with them. The answer is not a response in the window:
    /// it moves no message ID and is not the cached response.
    fn answer_message_id_sync(&mut self, ctx: &mut Ctx, req: MessageIdSync) {
        if let Some((nonce, datagrams)) = self.mid_sync.answered.clone() {
            if nonce == req.nonce {
                self.counters.requests_answered_from_cache += 1;
                return self.send(&datagrams);
            }
        }
        let Some(core) = self.core.as_mut() else {
            return;
        };
        if req.send < core.peer_next_request {
            return self.dropped(DropReason::MessageIdSync);
        }
        let m2 = req.send;
        let used = core
            .next_request
            .wrapping_add(u32::from(core.outstanding.is_some()));
        let p2 = req.recv.max(used);
        core.peer_next_request = m2;
        core.next_request = p2;
        // The cluster will answer nothing below P2: our request in flight is done again.
        let abandoned = core.outstanding.take();
        let answer = MessageIdSync {
            nonce: req.nonce,
            send: p2,
            recv: m2,
        };
        let header = core.header(ExchangeType::INFORMATIONAL, true, 0);
        let n = [Payload::notify(
            NotifyType::IKEV2_MESSAGE_ID_SYNC,
            answer.to_bytes(),
        )];
        if let Some(datagrams) = core.protect(&header, &n, None) {
            self.send(&datagrams);
            self.mid_sync.answered = Some((req.nonce, datagrams));
        }
        if let Some(o) = abandoned {
            self.redo(ctx, o.pending);
        }
        self.event(Event::MessageIdsSynced { send: p2, recv: m2 });
    }

    /// The answer to our sync request: its nonce, and M2 >= M1, P2 >= P1, or it is not one.
    /// Our request in flight goes again unchanged if the peer never had it (M2 is its ID);
    /// else the peer took that ID and its answer is lost, so its work is done again.
    fn on_message_id_sync_answer(&mut self, ctx: &mut Ctx, answer: MessageIdSync) {
        let Some((sent, _)) = self.mid_sync.request.as_ref().and_then(|r| r.sent.clone()) else {
            return;
        };
        let valid =
            answer.nonce == sent.nonce && answer.recv >= sent.send && answer.send >= sent.recv;
        if !valid {
            return self.dropped(DropReason::MessageIdSync);
        }
        let (Some(cfg), Some(core)) = (ctx.config(&self.config), self.core.as_mut()) else {
            return;
        };
        self.mid_sync.request = None;
        core.peer_next_request = answer.send;
        core.next_request = answer.recv;
        let abandoned = match &core.outstanding {
            Some(o) if o.message_id != answer.recv => core.outstanding.take(),
            _ => None,
        };
        let mut resend = None;
        if let Some(o) = core.outstanding.as_mut() {
            o.retransmit.deadline = ctx.now;
            if o.retransmit.on_timer(ctx.now, &cfg.retransmit) == Expiry::Resend {
                resend = Some((
                    o.message_id,
                    o.retransmit.sent,
                    o.retransmit.datagrams.clone(),
                ));
            }
        }
        if let Some((id, sent, d)) = resend {
            self.retransmitted(id, sent, &d);
        }
        if let Some(o) = abandoned {
            self.redo(ctx, o.pending);
        }
        self.event(Event::MessageIdsSynced {
            send: answer.recv,
            recv: answer.send,
        });
    }

    /// Queues again the work of a request whose answer will never come.
    fn redo(&mut self, ctx: &mut Ctx, pending: Pending) {
        let tasks = match pending {
            Pending::CreateChild(req) if req.collision.is_some() => {
                // The peer's own rekey of that CHILD SA went through: it replaces it.
                self.child_request_failed(ctx, req, NotifyType::TEMPORARY_FAILURE);
                vec![]
            }
            Pending::CreateChild(req) => match req.rekey {
                Some(old) => {
                    if let Some(c) = self.child_mut(old) {
                        c.state = crate::sa::ChildState::Installed;
                    }
                    vec![Task::RekeyChild(old)]
                }
                None => vec![Task::CreateChild { config: req.config }],
            },
            Pending::RekeyIke(_) => vec![Task::RekeyIke],
            Pending::Informational(InfoRequest::DeleteChildren(ids)) => {
                ids.into_iter().map(Task::DeleteChild).collect()
            }
            Pending::Informational(InfoRequest::DeleteIke) => {
                self.state = IkeState::Established;
                vec![Task::DeleteIke]
            }
            // A liveness check: the sync itself was one.
            Pending::Informational(InfoRequest::Dpd) | Pending::IkeAuth { .. } => vec![],
        };
        for t in tasks.into_iter().rev() {
            if !self.tasks.contains(&t) {
                self.tasks.push_front(t);
            }
        }
    }
}
