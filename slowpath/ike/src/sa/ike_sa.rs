//! The IKE SA: its state, and the helpers every exchange uses (sending, closing, child
//! bookkeeping).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::action::{Action, ChildId, Counters, DownReason, DropReason, Event, IkeSaId, IkeSaInfo};
use crate::config::{DpdAction, Identity};
use crate::message::{with_non_esp_marker, ExchangeType, Payload};
use crate::sa::child_sa::{ChildSa, ChildState};
use crate::sa::core::{CachedResponse, SaCore};
use crate::sa::ctx::Ctx;
use crate::sa::exchange::init_data::InitExchange;
use crate::sa::exchange::mid_sync_state::MidSyncState;
use crate::sa::exchange::Task;
use crate::sa::fragment::Reassembly;
use crate::sa::nat::NatState;

/// The port of UDP-encapsulated IKE and ESP (RFC 3948).
pub const NATT_PORT: u16 = 4500;
/// How long a rekeyed IKE SA waits for the peer's delete.
pub const RETIRING_TIMEOUT: Duration = Duration::from_secs(60);
/// NAT-keepalive interval (strongSwan's default).
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);

/// Where the IKE SA is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum IkeState {
    /// Not negotiated: waiting for `on_traffic_needs_sa` (DPD action hold).
    Held,
    /// Initiator: IKE_SA_INIT request sent.
    SaInitSent,
    /// Initiator: IKE_AUTH request sent.
    AuthSent,
    /// Responder: IKE_SA_INIT answered, IKE_AUTH not yet received.
    HalfOpen,
    Established,
    /// We sent a delete for it.
    Deleting,
    /// Gone; the engine removes it.
    Closed,
}

/// An IKE SA replaced by a rekey, kept until its delete exchange is over.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Retiring {
    pub core: SaCore,
    pub expire: Duration,
    /// Whether we send the delete (else we wait for the peer's).
    pub we_delete: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IkeSa {
    pub id: IkeSaId,
    /// The connection (`IkeConfig::name`).
    pub config: String,
    pub state: IkeState,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub nat: NatState,
    /// IKE_SA_INIT data, until IKE_AUTH is over.
    pub init: Option<InitExchange>,
    pub core: Option<SaCore>,
    pub retiring: Vec<Retiring>,
    pub tasks: VecDeque<Task>,
    pub children: Vec<ChildSa>,
    pub next_child_id: ChildId,
    /// The child config IKE_AUTH creates (initiator).
    pub first_child: Option<String>,
    pub remote_identity: Option<Identity>,
    pub established_at: Option<Duration>,
    pub rekey_at: Option<Duration>,
    pub half_open_expire: Option<Duration>,
    /// The last sign of life from the peer (an authenticated message, or ESP traffic).
    pub last_heard: Duration,
    pub peer_fragmentation: bool,
    /// Behind a NAT: when to send the next NAT-keepalive (RFC 3948 2.3).
    pub keepalive_at: Option<Duration>,
    /// RFC 7427 hash algorithms the peer announced.
    pub peer_hash_algorithms: Vec<u16>,
    /// The peer announced IKEV2_MESSAGE_ID_SYNC_SUPPORTED (RFC 6311) in IKE_AUTH.
    pub peer_mid_sync: bool,
    /// Our RFC 6311 exchange, and our last answer to the peer's.
    pub mid_sync: MidSyncState,
    pub virtual_ip: Option<IpAddr>,
    /// The pool our `virtual_ip` came from (responder).
    pub vip_pool: Option<String>,
    pub reassembly: Vec<Reassembly>,
    /// After a DPD restart, the next `initiate` reuses this object.
    pub restarts: u32,
    /// The peer's IKE_AUTH carried INITIAL_CONTACT: the engine drops our other IKE SAs
    /// between the two identities once this call is over.
    #[serde(skip)]
    pub(crate) initial_contact: bool,
    /// This node's statistics: not part of the exported state.
    #[serde(skip)]
    pub counters: Counters,
    /// Output for the caller; not part of the exported state (drain it first).
    #[serde(skip)]
    pub(crate) actions: VecDeque<Action>,
}

impl IkeSa {
    pub(crate) fn blank(
        id: IkeSaId,
        config: &str,
        local: SocketAddr,
        remote: SocketAddr,
        now: Duration,
    ) -> IkeSa {
        IkeSa {
            id,
            config: config.to_string(),
            state: IkeState::Held,
            local,
            remote,
            nat: NatState::default(),
            init: None,
            core: None,
            retiring: Vec::new(),
            tasks: VecDeque::new(),
            children: Vec::new(),
            next_child_id: 1,
            first_child: None,
            remote_identity: None,
            established_at: None,
            rekey_at: None,
            half_open_expire: None,
            last_heard: now,
            peer_fragmentation: false,
            keepalive_at: None,
            peer_hash_algorithms: Vec::new(),
            peer_mid_sync: false,
            mid_sync: MidSyncState::default(),
            virtual_ip: None,
            vip_pool: None,
            reassembly: Vec::new(),
            restarts: 0,
            initial_contact: false,
            counters: Counters::default(),
            actions: VecDeque::new(),
        }
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn is_closed(&self) -> bool {
        self.state == IkeState::Closed
    }

    pub(crate) fn event(&mut self, event: Event) {
        self.actions.push_back(Action::Event {
            sa: Some(self.id),
            event,
        });
    }

    pub(crate) fn dropped(&mut self, reason: DropReason) {
        self.counters.drop(reason);
        self.event(Event::Dropped(reason));
    }

    /// Sends datagrams from our current address to the peer's (with the non-ESP marker on
    /// port 4500).
    pub(crate) fn send(&mut self, datagrams: &[Vec<u8>]) {
        for d in datagrams {
            let bytes = if self.local.port() == NATT_PORT {
                with_non_esp_marker(d)
            } else {
                d.clone()
            };
            self.actions.push_back(Action::Send {
                from: self.local,
                to: self.remote,
                bytes,
            });
        }
    }

    /// Moves to port 4500 on both sides (RFC 7296 2.23) when a NAT is in the way.
    pub(crate) fn float_if_nat(&mut self) {
        if self.nat.any() && self.local.port() != NATT_PORT {
            self.local.set_port(NATT_PORT);
            if self.remote.port() != NATT_PORT {
                self.remote.set_port(NATT_PORT);
            }
        }
    }

    pub(crate) fn fragment_size(&self, ctx: &Ctx) -> Option<usize> {
        if !self.peer_fragmentation {
            return None;
        }
        ctx.config(&self.config).and_then(|c| c.fragment_size)
    }

    /// Protects and sends a response on the current core (or a retiring one), and caches it.
    pub(crate) fn respond(
        &mut self,
        ctx: &Ctx,
        retiring: Option<usize>,
        exchange: ExchangeType,
        message_id: u32,
        payloads: &[Payload],
    ) {
        let frag = self.fragment_size(ctx);
        let core = match retiring {
            None => self.core.as_mut(),
            Some(i) => self.retiring.get_mut(i).map(|r| &mut r.core),
        };
        let Some(core) = core else { return };
        let header = core.header(exchange, true, message_id);
        let Some(datagrams) = core.protect(&header, payloads, frag) else {
            return;
        };
        core.last_response = Some(CachedResponse {
            message_id,
            datagrams: datagrams.clone(),
        });
        self.send(&datagrams);
    }

    pub(crate) fn alloc_child_id(&mut self) -> ChildId {
        let id = self.next_child_id;
        self.next_child_id = self.next_child_id.wrapping_add(1).max(1);
        id
    }

    pub fn child(&self, id: ChildId) -> Option<&ChildSa> {
        self.children.iter().find(|c| c.id == id)
    }

    pub(crate) fn child_mut(&mut self, id: ChildId) -> Option<&mut ChildSa> {
        self.children.iter_mut().find(|c| c.id == id)
    }

    /// Removes a CHILD SA, telling the fast path if it had it.
    pub(crate) fn remove_child(&mut self, id: ChildId, reason: DownReason) {
        let Some(pos) = self.children.iter().position(|c| c.id == id) else {
            return;
        };
        let c = self.children.remove(pos);
        self.tasks
            .retain(|t| !matches!(t, Task::RekeyChild(x) | Task::DeleteChild(x) if *x == id));
        if c.installed {
            self.actions.push_back(Action::ChildSaDown {
                child: c.child_ref(self.id),
                reason,
            });
        }
    }

    /// Installs a new CHILD SA in the fast path (or as the rekey of `replaces`, outbound
    /// traffic moving to it at once).
    pub(crate) fn install_child(&mut self, id: ChildId) {
        self.push_install(id, false);
    }

    /// A CHILD SA that replaces another at the peer's request, before the answer goes out:
    /// outbound traffic stays on the old SA until that one's delete (the peer has the new SA
    /// only once our answer arrives).
    pub(crate) fn install_child_for_peer_rekey(&mut self, id: ChildId) {
        self.push_install(id, true);
    }

    fn push_install(&mut self, id: ChildId, defer_outbound: bool) {
        let encap = self.nat.any();
        let (sa, local, remote) = (self.id, self.local, self.remote);
        let Some(c) = self.child_mut(id) else { return };
        c.installed = true;
        c.state = ChildState::Installed;
        let info = Box::new(c.info(sa, local, remote, encap));
        let replaces = c.replaces;
        let old = replaces
            .and_then(|o| self.child(o))
            .map(|o| o.child_ref(sa));
        self.actions.push_back(match old {
            Some(old) => Action::ChildSaRekeyed {
                old,
                new: info,
                defer_outbound,
            },
            None => Action::ChildSaUp(info),
        });
    }

    pub(crate) fn ike_sa_up(&mut self) {
        let Some(core) = &self.core else { return };
        let info = IkeSaInfo {
            sa: self.id,
            config: self.config.clone(),
            spi_i: core.spi_i,
            spi_r: core.spi_r,
            initiator: core.initiator,
            local: self.local,
            remote: self.remote,
            remote_id: self.remote_identity.clone().unwrap_or(Identity {
                id_type: crate::message::IdType::NULL,
                data: Vec::new(),
            }),
            virtual_ip: self.virtual_ip,
        };
        self.actions.push_back(Action::IkeSaUp(info));
    }

    /// Tears everything down: CHILD SAs, then the IKE SA.
    pub(crate) fn close(&mut self, ctx: &mut Ctx, reason: DownReason) {
        if self.state == IkeState::Closed {
            return;
        }
        let ids: Vec<ChildId> = self.children.iter().map(|c| c.id).collect();
        for id in ids {
            self.remove_child(id, DownReason::IkeSaDown);
        }
        self.release_vip(ctx);
        let was_up = self.established_at.is_some();
        self.state = IkeState::Closed;
        self.tasks.clear();
        if was_up || reason != DownReason::Timeout {
            self.actions.push_back(Action::IkeSaDown {
                sa: self.id,
                conn: self.config.clone(),
                reason,
            });
        }
    }

    fn release_vip(&mut self, ctx: &mut Ctx) {
        if let (Some(pool), Some(IpAddr::V4(a))) = (self.vip_pool.take(), self.virtual_ip) {
            if let Some(p) = ctx.pools.get_mut(&pool) {
                p.release(a);
            }
        }
    }

    /// The peer is gone (retransmissions ran out): close, then act as configured.
    pub(crate) fn peer_dead(&mut self, ctx: &mut Ctx) {
        let action = ctx
            .config(&self.config)
            .map_or(DpdAction::Clear, |c| c.dpd.action);
        self.close(ctx, DownReason::PeerDead);
        match action {
            DpdAction::Clear => {}
            DpdAction::Restart => self.restart(ctx),
            DpdAction::Hold => self.hold(ctx),
        }
    }

    /// Back to a blank initiator, keeping the handle (and the counters).
    pub(crate) fn reset(&mut self, ctx: &Ctx) {
        let (id, config, counters, restarts) = (
            self.id,
            self.config.clone(),
            self.counters.clone(),
            self.restarts,
        );
        let (local, remote) = match ctx.config(&config) {
            Some(c) if !c.remote_addr.ip().is_unspecified() => (c.local_addr, c.remote_addr),
            _ => (self.local, self.remote),
        };
        let actions = std::mem::take(&mut self.actions);
        *self = IkeSa::blank(id, &config, local, remote, ctx.now);
        self.counters = counters;
        self.restarts = restarts + 1;
        self.actions = actions;
    }

    pub(crate) fn restart(&mut self, ctx: &mut Ctx) {
        self.reset(ctx);
        self.start_initiator(ctx);
    }

    pub(crate) fn hold(&mut self, ctx: &mut Ctx) {
        self.reset(ctx);
        self.state = IkeState::Held;
    }
}
