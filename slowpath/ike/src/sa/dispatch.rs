//! Received messages: which SA generation they belong to, the message-ID and I/R checks
//! (RFC 7296 2.2), the ICV, fragments, and then the exchange handlers. Nothing changes before
//! the ICV checked out.

use std::net::SocketAddr;
use std::ops::Range;

use crate::action::{DropReason, Event};
use crate::message::{ExchangeType, Message, NotifyType, Payload};
use crate::retransmit::Retransmit;
use crate::sa::core::{InfoRequest, OpenError, Opened, Outstanding, Pending, SaCore};
use crate::sa::ctx::Ctx;

use crate::sa::fragment::{Added, Reassembly};
use crate::sa::ike_sa::{IkeSa, IkeState};

/// Which generation a message is for: the current SA (`None`) or a retiring one.
type Which = Option<usize>;

impl IkeSa {
    fn core_of(&mut self, which: Which) -> Option<&mut SaCore> {
        match which {
            None => self.core.as_mut(),
            Some(i) => self.retiring.get_mut(i).map(|r| &mut r.core),
        }
    }

    /// Our local SPIs (current, retiring, and the half-done IKE_SA_INIT's).
    pub fn local_spis(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.core.iter().map(SaCore::local_spi).collect();
        v.extend(self.retiring.iter().map(|r| r.core.local_spi()));
        if let Some(i) = &self.init {
            if self.core.is_none() {
                v.push(i.spi_i);
            }
        }
        v
    }

    pub(crate) fn start_request(
        &mut self,
        ctx: &mut Ctx,
        exchange: ExchangeType,
        payloads: Vec<Payload>,
        pending: Pending,
    ) -> bool {
        self.start_request_on(ctx, None, exchange, payloads, pending)
    }

    /// Protects and sends a request, and keeps it for retransmission.
    pub(crate) fn start_request_on(
        &mut self,
        ctx: &mut Ctx,
        which: Which,
        exchange: ExchangeType,
        payloads: Vec<Payload>,
        pending: Pending,
    ) -> bool {
        let Some(cfg) = ctx.config(&self.config) else {
            return false;
        };
        let frag = self.fragment_size(ctx);
        let now = ctx.now;
        let Some(core) = self.core_of(which) else {
            return false;
        };
        if core.outstanding.is_some() {
            return false;
        }
        let message_id = core.next_request;
        let header = core.header(exchange, false, message_id);
        let Some(datagrams) = core.protect(&header, &payloads, frag) else {
            return false;
        };
        core.outstanding = Some(Outstanding {
            message_id,
            exchange,
            retransmit: Retransmit::new(datagrams.clone(), now, &cfg.retransmit),
            pending,
        });
        self.send(&datagrams);
        true
    }

    /// One received IKE message (marker already removed) for this SA.
    pub fn on_datagram(
        &mut self,
        ctx: &mut Ctx,
        local: SocketAddr,
        remote: SocketAddr,
        raw: &[u8],
        msg: &Message,
        range: Option<Range<usize>>,
    ) {
        let h = msg.header;
        if h.exchange == ExchangeType::IKE_SA_INIT {
            return self.on_ike_sa_init(ctx, local, remote, raw, msg);
        }
        let Some(range) = range else {
            return self.dropped(DropReason::Unprotected);
        };
        let which = if self
            .core
            .as_ref()
            .is_some_and(|c| c.spi_i == h.spi_i && c.spi_r == h.spi_r)
        {
            None
        } else if let Some(i) = self
            .retiring
            .iter()
            .position(|r| r.core.spi_i == h.spi_i && r.core.spi_r == h.spi_r)
        {
            Some(i)
        } else {
            return self.dropped(DropReason::UnknownSpi);
        };
        // RFC 6311: ID 0 outside the window.
        if which.is_none()
            && h.message_id == 0
            && self.on_possible_message_id_sync(ctx, raw, msg, range.clone())
        {
            return;
        }
        let Some(core) = self.core_of(which) else {
            return;
        };
        if h.flags.initiator == core.initiator {
            return self.dropped(DropReason::BadFlags);
        }
        let mut retransmitted = false;
        if h.is_response() {
            let expected = core
                .outstanding
                .as_ref()
                .is_some_and(|o| o.message_id == h.message_id && o.exchange == h.exchange);
            if !expected {
                return self.dropped(DropReason::UnexpectedResponse);
            }
        } else if h.message_id != core.peer_next_request {
            let last = core
                .last_response
                .as_ref()
                .is_some_and(|r| r.message_id == h.message_id);
            if !last {
                let r = if h.message_id < core.peer_next_request {
                    DropReason::OldRequest
                } else {
                    DropReason::FutureRequest
                };
                return self.dropped(r);
            }
            retransmitted = true;
        }
        let opened = match core.open(raw, msg, range) {
            Ok(o) => o,
            Err(OpenError::Icv) => return self.dropped(DropReason::BadIcv),
            Err(OpenError::Malformed) => return self.dropped(DropReason::Malformed),
        };
        // Authentic from here on.
        self.last_heard = self.last_heard.max(ctx.now);
        if retransmitted {
            // RFC 7383 2.6.1: of a fragmented request, only fragment 1 triggers the answer.
            if let Opened::Fragment { number, .. } = opened {
                if number != 1 {
                    return;
                }
            }
            let cached = self.core_of(which).and_then(|c| c.last_response.clone());
            if let Some(c) = cached {
                self.counters.requests_answered_from_cache += 1;
                self.send(&c.datagrams);
            }
            return;
        }
        let payloads = match opened {
            Opened::Whole(p) => p,
            Opened::BadChain(e) => {
                if h.is_request() {
                    self.bump_peer_id(which);
                    let t = e.notify().unwrap_or(NotifyType::INVALID_SYNTAX);
                    let n = [Payload::notify(t, e.notify_data())];
                    self.respond(ctx, which, h.exchange, h.message_id, &n);
                } else {
                    self.dropped(DropReason::Malformed);
                }
                return;
            }
            Opened::Fragment {
                number,
                total,
                first,
                plaintext,
            } => {
                match self.reassemble(
                    ctx,
                    h.message_id,
                    h.is_response(),
                    number,
                    total,
                    first,
                    plaintext,
                ) {
                    Some(p) => p,
                    None => return,
                }
            }
        };
        self.follow_peer_address(local, remote);
        if h.is_response() {
            let Some(core) = self.core_of(which) else {
                return;
            };
            let Some(o) = core.outstanding.take() else {
                return;
            };
            core.next_request = core.next_request.wrapping_add(1);
            self.on_response(ctx, which, o.pending, &payloads);
        } else {
            self.bump_peer_id(which);
            self.on_request(ctx, which, h.exchange, h.message_id, &payloads);
        }
        self.kick(ctx);
    }

    fn bump_peer_id(&mut self, which: Which) {
        if let Some(c) = self.core_of(which) {
            c.peer_next_request = c.peer_next_request.wrapping_add(1);
        }
    }

    /// RFC 7296 2.23: behind a NAT, answer (and send) to wherever the peer's authentic
    /// messages now come from; the initiator moving to port 4500 shows here too.
    fn follow_peer_address(&mut self, local: SocketAddr, remote: SocketAddr) {
        if (self.nat.any() || local.port() == super::ike_sa::NATT_PORT)
            && (local, remote) != (self.local, self.remote)
        {
            self.local = local;
            self.remote = remote;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn reassemble(
        &mut self,
        ctx: &Ctx,
        message_id: u32,
        response: bool,
        number: u16,
        total: u16,
        first: crate::message::PayloadType,
        plain: Vec<u8>,
    ) -> Option<Vec<Payload>> {
        let pos = self.reassembly.iter().position(|r| r.response == response);
        let pos = match pos {
            Some(i) if self.reassembly[i].message_id == message_id => i,
            other => {
                if let Some(i) = other {
                    self.reassembly.remove(i);
                }
                let Some(r) = Reassembly::new(message_id, response, total, ctx.now) else {
                    self.dropped(DropReason::Fragment);
                    return None;
                };
                self.reassembly.push(r);
                self.reassembly.len() - 1
            }
        };
        match self.reassembly[pos].add(number, total, first, plain) {
            Added::Incomplete => None,
            Added::Complete(p) => {
                self.reassembly.remove(pos);
                Some(p)
            }
            Added::Refused => {
                self.reassembly.remove(pos);
                self.dropped(DropReason::Fragment);
                None
            }
        }
    }

    fn on_request(
        &mut self,
        ctx: &mut Ctx,
        which: Which,
        exchange: ExchangeType,
        message_id: u32,
        p: &[Payload],
    ) {
        if which.is_some() {
            return self.on_retiring_request(ctx, which, exchange, message_id, p);
        }
        match (exchange, self.state) {
            (ExchangeType::IKE_AUTH, IkeState::HalfOpen) => {
                self.on_auth_request(ctx, message_id, p)
            }
            (ExchangeType::CREATE_CHILD_SA, IkeState::Established) => {
                self.on_create_child_request(ctx, message_id, p)
            }
            (
                ExchangeType::INFORMATIONAL,
                IkeState::Established | IkeState::Deleting | IkeState::AuthSent,
            ) => self.on_informational_request(ctx, message_id, p),
            (ExchangeType::CREATE_CHILD_SA, IkeState::Deleting) => {
                let n = [Payload::notify(NotifyType::TEMPORARY_FAILURE, vec![])];
                self.respond(ctx, None, exchange, message_id, &n);
            }
            _ => {
                // An exchange we do not do: answer, so that the peer's window moves on.
                self.event(Event::Dropped(DropReason::WrongState));
                self.respond(ctx, None, exchange, message_id, &[]);
            }
        }
    }

    /// A request on an SA that a rekey replaced: only its delete (or a liveness check) is
    /// served; anything else waits for the new SA.
    fn on_retiring_request(
        &mut self,
        ctx: &mut Ctx,
        which: Which,
        exchange: ExchangeType,
        message_id: u32,
        p: &[Payload],
    ) {
        use crate::message::Payloads;
        let delete = p
            .deletes()
            .any(|(proto, _)| proto == crate::message::ProtocolId::IKE);
        if exchange == ExchangeType::INFORMATIONAL {
            self.respond(ctx, which, exchange, message_id, &[]);
            if let (true, Some(i)) = (delete, which) {
                self.retiring.remove(i);
            }
        } else {
            let n = [Payload::notify(NotifyType::TEMPORARY_FAILURE, vec![])];
            self.respond(ctx, which, exchange, message_id, &n);
        }
    }

    fn on_response(&mut self, ctx: &mut Ctx, which: Which, pending: Pending, p: &[Payload]) {
        if let Some(i) = which {
            // Our delete of a retired SA is done (or anything else it had in flight is moot).
            if matches!(pending, Pending::Informational(InfoRequest::DeleteIke))
                && i < self.retiring.len()
            {
                self.retiring.remove(i);
            }
            return;
        }
        match pending {
            p_auth @ Pending::IkeAuth { .. } => self.on_auth_response(ctx, p_auth, p),
            Pending::CreateChild(req) => self.on_create_child_response(ctx, req, p),
            Pending::RekeyIke(req) => self.on_rekey_ike_response(ctx, req, p),
            Pending::Informational(req) => self.on_informational_response(ctx, req),
        }
    }
}
