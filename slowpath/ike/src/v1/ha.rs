//! The IKEv1 engine in an HA pair. The active node exports every established ISAKMP SA
//! whose state moved (phase 1 done, a Quick Mode started or finished, an IPsec SA in or out,
//! the IV chain or the DPD numbering moved: any engine call through the SA) as an
//! `IsakmpSaRecord`, and names the ones gone; the standby imports them into passive SAs
//! (no datagram answered, no timer run). A takeover carries each SA on where the old node
//! left it: the synced phase 1 IV and keys answer the peer's next Informational or Quick
//! Mode, a Quick Mode in flight is sent again under its own message ID, and the rekeys and
//! DPD are scheduled as before (what fell due while standby, spread over a few seconds).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::V1Engine;
use crate::action::IkeSaId;
use crate::config::IkeConfig;
use crate::crypto::dh::KeyExchange;
use crate::engine::Changes;
use crate::ha::{takeover_slot, HaRole, HaSettings};
use crate::rng::RngSource;
use crate::sa::record::RecordError;
use crate::v1::dpd::Dpd;
use crate::v1::isakmp_sa::{IsakmpSa, Phase1State, Phase1Suite, QmState, QuickMode, V1Ctx};
use crate::v1::keymat::Phase1Keys;
use crate::v1::natt::{NatStatus, NattVersion};
use crate::v1::quick_mode;
use crate::v1::record::{
    IsakmpSaRecord, PfsRecord, Phase1KeysRecord, QuickModeRecord, QuickModeStep, MAX_QUICK_MODES,
};

/// The engine's role, and the records that changed since the caller last asked.
#[derive(Debug, Default)]
pub(super) struct HaState {
    role: HaRole,
    changed: BTreeSet<IkeSaId>,
    removed: Vec<(u64, u64)>,
    /// The cookies each SA's last record went out under: a reauthentication gives an SA id
    /// new cookies, and the record under the old ones must go.
    synced: HashMap<IkeSaId, (u64, u64)>,
}

impl HaState {
    pub(super) fn is_passive(&self) -> bool {
        self.role == HaRole::Standby
    }

    /// An SA an engine call went through: an established one has a new record (and the
    /// record under its former cookies, if a reauthentication changed them, is gone); a
    /// closed one, or an old phase 1 retired by a reauthentication, has none.
    pub(super) fn note(&mut self, sa: &IsakmpSa) {
        if sa.is_closed() || sa.reauth.retired {
            self.changed.remove(&sa.id);
            self.removed.extend(self.synced.remove(&sa.id));
        } else if sa.is_established() {
            let cookies = sa.cookies();
            if let Some(old) = self.synced.insert(sa.id, cookies) {
                if old != cookies {
                    self.removed.push(old);
                }
            }
            self.changed.insert(sa.id);
        }
    }
}

impl V1Engine {
    pub fn role(&self) -> HaRole {
        self.ha.role
    }

    /// Becomes active or standby. Standby to active is a takeover: every SA carries on
    /// (`take_over`), those with something due spread over IKEv2's `takeover_spread`.
    /// A demotion keeps every SA as it is; nothing runs until the next takeover.
    pub fn set_role(&mut self, role: HaRole, now: Duration, rng: &mut dyn RngSource) {
        let takeover = self.ha.role == HaRole::Standby && role == HaRole::Active;
        self.ha.role = role;
        if !takeover {
            return;
        }
        let ids = self.sa_ids();
        let spread = HaSettings::default().takeover_spread;
        for (i, id) in ids.iter().enumerate() {
            let at = takeover_slot(now, spread, i, ids.len());
            self.with_sa(*id, now, rng, |sa, ctx| take_over(sa, ctx, at));
        }
    }

    /// The SAs whose record changed, and the records gone (by cookies), since the last call.
    pub fn take_changed(&mut self) -> Changes {
        let changed = std::mem::take(&mut self.ha.changed)
            .into_iter()
            .filter(|id| self.sas.contains_key(id))
            .collect();
        Changes {
            changed,
            removed: std::mem::take(&mut self.ha.removed),
        }
    }

    /// SA `id` as a record, its instants relative to `now` (None: no such SA, or one not up:
    /// a peer whose phase 1 finds no SA starts again).
    pub fn export_sa(&self, id: IkeSaId, now: Duration) -> Option<IsakmpSaRecord> {
        export(self.sas.get(&id)?, now)
    }

    /// Carries a recorded SA on here, in place of the one with the same cookies if there is
    /// one; its SPIs are held as if negotiated here.
    pub fn import_sa(
        &mut self,
        mut record: IsakmpSaRecord,
        now: Duration,
    ) -> Result<IkeSaId, RecordError> {
        let Some(config) = self.configs.iter().find(|c| c.name == record.config) else {
            return Err(RecordError::UnknownConfig(record.config));
        };
        let config = config.clone();
        record.rebase_ipsec_sas(now);
        let id = match self.by_cookies(record.cookie_i, record.cookie_r) {
            Some(id) => {
                if let Some(old) = self.sas.remove(&id) {
                    self.release_spis(&old);
                }
                id
            }
            None => self.next_id,
        };
        let sa = import(record, config, id, now)?;
        if id == self.next_id {
            self.next_id += 1;
        }
        let spis = sa.children.iter().map(|c| c.spi_in);
        for spi in spis.chain(sa.quick_modes.values().map(|q| q.spi_in)) {
            self.esp_spis.insert(spi);
        }
        self.keep(sa);
        Ok(id)
    }

    /// Forgets the SA with these cookies (deleted on the node that owns it) without a word to
    /// the peer or the fast path. The SA's id, if there was one.
    pub fn remove_sa_by_cookies(&mut self, cookie_i: u64, cookie_r: u64) -> Option<IkeSaId> {
        let id = self.by_cookies(cookie_i.to_be_bytes(), cookie_r.to_be_bytes())?;
        let mut sa = self.sas.remove(&id)?;
        self.release_spis(&sa);
        sa.children.clear();
        sa.quick_modes.clear();
        // Closed without `close`: no action, the caller takes its IPsec SAs out.
        sa.state = Phase1State::Closed;
        self.keep(sa);
        Some(id)
    }

    fn by_cookies(&self, cookie_i: [u8; 8], cookie_r: [u8; 8]) -> Option<IkeSaId> {
        let ids = self.by_icookie.get(&cookie_i)?;
        ids.iter()
            .copied()
            .find(|id| self.sas.get(id).is_some_and(|s| s.rcookie == cookie_r))
    }

    fn release_spis(&mut self, sa: &IsakmpSa) {
        for spi in sa.children.iter().map(|c| c.spi_in) {
            self.esp_spis.remove(&spi);
        }
        for spi in sa.quick_modes.values().map(|q| q.spi_in) {
            self.esp_spis.remove(&spi);
        }
    }
}

fn step_of(state: QmState) -> QuickModeStep {
    match state {
        QmState::Sent => QuickModeStep::SentFirst,
        QmState::Answered => QuickModeStep::SentSecond,
        QmState::AwaitConnected => QuickModeStep::AwaitingConnected,
    }
}

fn state_of(step: QuickModeStep) -> QmState {
    match step {
        QuickModeStep::SentFirst => QmState::Sent,
        QuickModeStep::SentSecond => QmState::Answered,
        QuickModeStep::AwaitingConnected => QmState::AwaitConnected,
    }
}

/// An established SA as a record; None before phase 1 is done.
fn export(sa: &IsakmpSa, now: Duration) -> Option<IsakmpSaRecord> {
    if !sa.is_established() {
        return None;
    }
    let (suite, keys) = (sa.suite.as_ref()?, sa.keys.as_ref()?);
    let quick_modes = sa
        .quick_modes
        .values()
        .filter_map(|q| export_quick_mode(q, now))
        .take(MAX_QUICK_MODES)
        .collect();
    Some(IsakmpSaRecord {
        cookie_i: sa.icookie,
        cookie_r: sa.rcookie,
        config: sa.config.name.clone(),
        initiator: sa.initiator,
        aggressive: sa.aggressive,
        local: sa.local,
        remote: sa.remote,
        natt: sa.peer_natt.then_some(NattVersion::Rfc3947),
        nat: NatStatus {
            we_are_behind: sa.nat_local,
            peer_is_behind: sa.nat_remote,
        },
        phase1: suite.transform.clone(),
        keys: Phase1KeysRecord {
            skeyid_d: keys.skeyid_d.clone(),
            skeyid_a: keys.skeyid_a.clone(),
            skeyid_e: keys.skeyid_e.clone(),
            enc_key: keys.enc_key.clone(),
        },
        phase1_iv: sa.iv.clone(),
        peer_id: sa.peer_id.clone(),
        expires_in: sa.expire_at?.saturating_sub(now),
        reauth_in: sa.reauth.deadline(true).map(|t| t.saturating_sub(now)),
        peer_dpd: sa.dpd.peer_supports(),
        dpd: sa.dpd.snapshot(),
        quick_modes,
        ipsec_sas: sa.children.clone(),
        next_child: sa.next_child,
        established_for: sa
            .established_at
            .map_or(Duration::ZERO, |t| now - t.min(now)),
        exported_at: now,
    })
}

/// A Quick Mode in flight as a record; None when its D-H value cannot be written out (it
/// is then restarted by whoever needs it).
fn export_quick_mode(q: &QuickMode, now: Duration) -> Option<QuickModeRecord> {
    let pfs = match &q.dh {
        Some(d) => Some(PfsRecord {
            group: d.group(),
            private: d.private_bytes().ok()?,
            peer_public: None,
        }),
        None => None,
    };
    let proposal = if q.initiator {
        q.offers.clone()
    } else {
        q.chosen.iter().cloned().collect()
    };
    let retransmit = q.retransmit.clone().map(|mut r| {
        r.deadline = r.deadline.saturating_sub(now);
        r
    });
    Some(QuickModeRecord {
        message_id: q.message_id,
        iv: q.iv.clone(),
        initiator: q.initiator,
        step: step_of(q.state),
        child: q.child.clone(),
        ni: q.ni.clone(),
        nr: (!q.nr.is_empty()).then(|| q.nr.clone()),
        proposal,
        chosen: q.chosen.clone(),
        spi_in: q.spi_in,
        spi_out: (q.spi_out != 0).then_some(q.spi_out),
        local_ts: q.local_ts,
        remote_ts: q.remote_ts,
        pfs,
        commit: q.commit,
        last_received: q.last_received.clone(),
        last_sent: q.last_sent.clone(),
        retransmit,
        give_up_in: q.give_up_at.saturating_sub(now),
        replaces: q.replaces,
        pending: q.pending.clone(),
    })
}

/// A record as an established SA on this node's clock (IPsec SAs already rebased).
fn import(
    record: IsakmpSaRecord,
    config: Arc<IkeConfig>,
    id: IkeSaId,
    now: Duration,
) -> Result<IsakmpSa, RecordError> {
    use RecordError::Inconsistent;
    let suite = Phase1Suite::of(&record.phase1).ok_or(Inconsistent("phase 1 transform"))?;
    if record.keys.enc_key.len() != suite.cipher.key_len()
        || record.phase1_iv.len() != suite.cipher.block_len()
    {
        return Err(Inconsistent("phase 1 key or IV length"));
    }
    let timing = config.v1().and_then(|v| v.dpd_timing(config.dpd.interval));
    let (local, remote) = (record.local, record.remote);
    let mut sa = IsakmpSa::new(
        id,
        config,
        record.initiator,
        record.cookie_i,
        local,
        remote,
        now,
    );
    sa.rcookie = record.cookie_r;
    sa.state = Phase1State::Established;
    sa.aggressive = record.aggressive;
    sa.suite = Some(suite);
    let k = record.keys;
    sa.keys = Some(Phase1Keys {
        // SKEYID itself only authenticates phase 1, which is over.
        skeyid: Zeroizing::new(Vec::new()),
        skeyid_d: k.skeyid_d,
        skeyid_a: k.skeyid_a,
        skeyid_e: k.skeyid_e,
        enc_key: k.enc_key,
    });
    sa.iv = record.phase1_iv;
    sa.peer_id = record.peer_id;
    sa.established_at = Some(now.saturating_sub(record.established_for));
    sa.expire_at = Some(now.saturating_add(record.expires_in));
    sa.reauth.at = record.reauth_in.map(|d| now.saturating_add(d));
    sa.nat_local = record.nat.we_are_behind;
    sa.nat_remote = record.nat.peer_is_behind;
    sa.peer_natt = record.natt.is_some();
    sa.dpd = Dpd::resume(timing, record.dpd, now);
    sa.dpd.set_peer_supports(record.peer_dpd);
    for q in record.quick_modes {
        let qm = import_quick_mode(q, now)?;
        sa.quick_modes.insert(qm.message_id, qm);
    }
    sa.children = record.ipsec_sas;
    sa.next_child = record.next_child;
    Ok(sa)
}

fn import_quick_mode(q: QuickModeRecord, now: Duration) -> Result<QuickMode, RecordError> {
    let dh = match &q.pfs {
        Some(p) => Some(
            KeyExchange::from_private(p.group, &p.private)
                .map_err(|_| RecordError::Inconsistent("a Quick Mode's D-H value"))?,
        ),
        None => None,
    };
    let retransmit = q.retransmit.map(|mut r| {
        r.deadline = now.saturating_add(r.deadline);
        r
    });
    Ok(QuickMode {
        message_id: q.message_id,
        initiator: q.initiator,
        state: state_of(q.step),
        child: q.child,
        iv: q.iv,
        ni: q.ni,
        nr: q.nr.unwrap_or_default(),
        dh,
        spi_in: q.spi_in,
        spi_out: q.spi_out.unwrap_or(0),
        offers: if q.initiator { q.proposal } else { Vec::new() },
        chosen: q.chosen,
        local_ts: q.local_ts,
        remote_ts: q.remote_ts,
        commit: q.commit,
        last_received: q.last_received,
        last_sent: q.last_sent,
        retransmit,
        give_up_at: now.saturating_add(q.give_up_in),
        replaces: q.replaces,
        pending: q.pending,
    })
}

/// A deadline that passed while standby moves to `at`.
fn resume(deadline: &mut Option<Duration>, now: Duration, at: Duration) {
    if deadline.is_some_and(|d| d <= now) {
        *deadline = Some(at);
    }
}

/// This node now speaks for the SA; `at` is its slot.
fn take_over(sa: &mut IsakmpSa, ctx: &mut V1Ctx, at: Duration) {
    let now = ctx.now;
    let cfg = sa.config.retransmit;
    resume(&mut sa.expire_at, now, at);
    resume(&mut sa.reauth.at, now, at);
    for c in &mut sa.children {
        resume(&mut c.rekey_at, now, at);
        resume(&mut c.expire_at, now, at);
    }
    let mut answered = Vec::new();
    for q in sa.quick_modes.values_mut() {
        // Our message in flight goes again by the slot, with a try left: the old node may
        // have spent them on a peer that answered it instead.
        if let Some(r) = q.retransmit.as_mut() {
            r.deadline = r.deadline.min(at);
            r.sent = r.sent.min(cfg.tries);
        }
        q.give_up_at = q.give_up_at.max(at.saturating_add(cfg.wait(0)));
        if !q.initiator && q.state == QmState::Answered && !q.commit && q.pending.is_some() {
            answered.push(q.message_id);
        }
    }
    // A Quick Mode we answered: the peer installs its SAs as it sends HASH(3), which the old
    // node may have had and not synced. Ours go in too; a HASH(3) still to come is then a
    // message of a finished exchange, and a repeat of the peer's first message gets our
    // answer again.
    for mid in answered {
        let Some(mut qm) = sa.quick_modes.remove(&mid) else {
            continue;
        };
        let (raw, sent) = (
            std::mem::take(&mut qm.last_received),
            std::mem::take(&mut qm.last_sent),
        );
        quick_mode::remember(sa, mid, &raw, sent);
        if let Some(child) = qm.pending.take() {
            quick_mode::install(sa, ctx, child);
        }
    }
    // Nothing was heard while standby: the peer gets a whole interval before a probe.
    let snapshot = sa.dpd.snapshot();
    let supports = sa.dpd.peer_supports();
    let timing = sa
        .config
        .v1()
        .and_then(|v| v.dpd_timing(sa.config.dpd.interval));
    sa.dpd = Dpd::resume(timing, snapshot, at);
    sa.dpd.set_peer_supports(supports);
}

#[cfg(test)]
#[path = "ha_tests.rs"]
mod tests;
