//! One IKE SA as bytes, for the HA peer and for a local checkpoint that a restarted slow path
//! reads: everything needed to carry it on (SPIs, keys, nonces, suite, both message IDs, the
//! request in flight with its pending key exchange, the cached last response, NAT state,
//! identities, virtual IP and pool, timers, CHILD SAs).
//!
//! Monotonic clocks differ between processes and nodes, so every instant is stored relative
//! to the export (`now` of `export`) and rebased on the importer's `now`. Layout: a version
//! octet, then the postcard encoding of the state (compact, no schema, stable across postcard
//! 1.x, maintained; bincode's upstream is discontinued).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::sa::fragment::MAX_FRAGMENTS;
use crate::sa::ike_sa::IkeSa;

/// The layout of `encode`; a record of another version is refused.
pub const RECORD_VERSION: u8 = 1;
/// No honest record is that large (a few CHILD SAs, keys, one cached response and one request
/// in flight, each at most a fragmented IKE message).
pub const MAX_RECORD_LEN: usize = 4 << 20;

/// Why bytes are not a record, or a record cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("empty record")]
    Empty,
    #[error("record version {0}, this build reads {RECORD_VERSION}")]
    Version(u8),
    #[error("record of {0} octets is over the limit")]
    TooLong(usize),
    #[error("malformed record: {0}")]
    Malformed(String),
    #[error("inconsistent record: {0}")]
    Inconsistent(&'static str),
    #[error("record of connection {0:?}, which this node does not have")]
    UnknownConfig(String),
}

/// One IKE SA, its instants relative to its export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IkeSaRecord {
    /// The state, every instant zeroed (they are in `times`).
    sa: IkeSa,
    /// Nanoseconds from the export to each instant of `sa`, in `for_each_instant` order.
    times: Vec<i64>,
}

impl IkeSaRecord {
    /// The SA's state at `now`; `None` when it has no SPIs yet (a held SA: nothing negotiated,
    /// its configuration makes it again).
    pub fn export(sa: &IkeSa, now: Duration) -> Option<IkeSaRecord> {
        sa.spis()?;
        let mut sa = sa.clone();
        sa.actions.clear();
        let mut times = Vec::new();
        for_each_instant(&mut sa, &mut |t| {
            let rel = t.as_nanos() as i128 - now.as_nanos() as i128;
            times.push(rel.clamp(i64::MIN.into(), i64::MAX.into()) as i64);
            *t = Duration::ZERO;
        });
        Some(IkeSaRecord { sa, times })
    }

    /// The SA again, its instants on the importer's clock (`now`; an instant that would fall
    /// before its zero is its zero), every AEAD explicit IV counter moved up by
    /// `seal_counter_shift` (past anything the old owner may have sealed since the export).
    pub fn into_sa(self, now: Duration, seal_counter_shift: u64) -> IkeSa {
        let IkeSaRecord { mut sa, times } = self;
        let mut rel = times.into_iter();
        for_each_instant(&mut sa, &mut |t| {
            let r = rel.next().unwrap_or(0);
            *t = if r >= 0 {
                now.saturating_add(Duration::from_nanos(r as u64))
            } else {
                now.saturating_sub(Duration::from_nanos(r.unsigned_abs()))
            };
        });
        shift_seal_counters(&mut sa, seal_counter_shift);
        sa
    }

    /// The IKE SA's SPIs (initiator's, responder's; 0 for a responder SPI not known yet).
    pub fn spis(&self) -> (u64, u64) {
        self.sa.spis().unwrap_or_default()
    }

    /// The connection (`IkeConfig::name`) it belongs to.
    pub fn config(&self) -> &str {
        &self.sa.config
    }

    /// The inbound ESP SPIs of its CHILD SAs (what the fast path knows them by).
    pub fn child_spis(&self) -> Vec<(u32, u32)> {
        self.sa
            .children
            .iter()
            .map(|c| (c.spi_in, c.spi_out))
            .collect()
    }

    /// How long after the export it stays of use: until its IKE SA's rekey deadline or its
    /// last CHILD SA's hard expiry, whichever is later; `None` when it has neither.
    pub fn lifetime(&self) -> Option<Duration> {
        // Rebased on a clock far from zero, no instant is clamped.
        let base = Duration::from_secs(1 << 40);
        let sa = self.clone().into_sa(base, 0);
        let ends = sa.children.iter().filter_map(|c| c.expire_at);
        ends.chain(sa.rekey_at)
            .max()
            .map(|t| t.saturating_sub(base))
    }

    pub fn encode(&self) -> Vec<u8> {
        encode_versioned(RECORD_VERSION, self)
    }

    /// Reads `encode`'s output; anything else is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<IkeSaRecord, RecordError> {
        let record: IkeSaRecord = decode_versioned(bytes, RECORD_VERSION, MAX_RECORD_LEN)?;
        record.check()?;
        Ok(record)
    }

    /// What the state machines take for granted of an SA they made themselves.
    fn check(&self) -> Result<(), RecordError> {
        let mut sa = self.sa.clone();
        let mut n = 0;
        for_each_instant(&mut sa, &mut |_| n += 1);
        if n != self.times.len() {
            return Err(RecordError::Inconsistent("instants"));
        }
        if sa.spis().is_none() {
            return Err(RecordError::Inconsistent("no SPIs"));
        }
        let fragments_ok = sa.reassembly.iter().all(|r| {
            r.total > 0 && r.total <= MAX_FRAGMENTS && r.pieces.len() == usize::from(r.total)
        });
        if !fragments_ok {
            return Err(RecordError::Inconsistent("reassembly"));
        }
        if sa.children.iter().any(|c| c.id == 0) || sa.next_child_id == 0 {
            return Err(RecordError::Inconsistent("CHILD SA ids"));
        }
        Ok(())
    }
}

/// A version octet, then the postcard encoding of `value`.
pub(crate) fn encode_versioned<T: Serialize>(version: u8, value: &T) -> Vec<u8> {
    let mut out = vec![version];
    // Writing to a vector only fails for types serde cannot express; ours all can.
    if let Ok(body) = postcard::to_stdvec(value) {
        out.extend_from_slice(&body);
    }
    out
}

/// Reads `encode_versioned`'s output of that version, at most `max_len` octets; anything else
/// is an error, never a panic.
pub(crate) fn decode_versioned<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    version: u8,
    max_len: usize,
) -> Result<T, RecordError> {
    if bytes.len() > max_len {
        return Err(RecordError::TooLong(bytes.len()));
    }
    let (&got, body) = bytes.split_first().ok_or(RecordError::Empty)?;
    if got != version {
        return Err(RecordError::Version(got));
    }
    let (value, rest) =
        postcard::take_from_bytes::<T>(body).map_err(|e| RecordError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(RecordError::Malformed(format!(
            "{} octets after the record",
            rest.len()
        )));
    }
    Ok(value)
}

impl IkeSa {
    /// The IKE SA's SPIs (initiator's, responder's): the current keys', else the
    /// IKE_SA_INIT's; `None` before IKE_SA_INIT.
    pub fn spis(&self) -> Option<(u64, u64)> {
        match (&self.core, &self.init) {
            (Some(c), _) => Some((c.spi_i, c.spi_r)),
            (None, Some(i)) => Some((i.spi_i, i.spi_r)),
            (None, None) => None,
        }
    }
}

thread_local! {
    /// How many colliding IKE rekeys the decoder is inside.
    static COLLISION_DEPTH: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
}

/// A colliding IKE rekey's keys never have a rekey of their own in flight: one inside another
/// is refused, so that a forged record cannot nest them until the stack overflows.
pub(crate) fn one_collision_deep<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Box<crate::sa::core::IkeCollision>>, D::Error> {
    let depth = COLLISION_DEPTH.get();
    if depth > 0 {
        return Err(serde::de::Error::custom("IKE rekey collisions nested"));
    }
    COLLISION_DEPTH.set(depth + 1);
    let result = Option::deserialize(d);
    COLLISION_DEPTH.set(depth);
    result
}

/// Every instant of the caller's clock an SA holds (deadlines, and when things happened),
/// always in the same order.
fn for_each_instant(sa: &mut IkeSa, f: &mut dyn FnMut(&mut Duration)) {
    use crate::sa::core::Pending;
    fn core(c: &mut crate::sa::core::SaCore, f: &mut dyn FnMut(&mut Duration)) {
        if let Some(o) = c.outstanding.as_mut() {
            f(&mut o.retransmit.deadline);
            if let Pending::RekeyIke(r) = &mut o.pending {
                if let Some(col) = r.collision.as_mut() {
                    core(&mut col.core, f);
                }
            }
        }
    }
    for t in [
        &mut sa.established_at,
        &mut sa.rekey_at,
        &mut sa.half_open_expire,
        &mut sa.keepalive_at,
    ]
    .into_iter()
    .flatten()
    {
        f(t);
    }
    f(&mut sa.last_heard);
    if let Some(r) = sa.init.as_mut().and_then(|i| i.retransmit.as_mut()) {
        f(&mut r.deadline);
    }
    if let Some(c) = sa.core.as_mut() {
        core(c, f);
    }
    for r in &mut sa.retiring {
        f(&mut r.expire);
        core(&mut r.core, f);
    }
    for c in &mut sa.children {
        f(&mut c.created_at);
        for t in [&mut c.rekey_at, &mut c.expire_at].into_iter().flatten() {
            f(t);
        }
    }
    for r in &mut sa.reassembly {
        f(&mut r.expire);
    }
    if let Some(req) = sa.mid_sync.request.as_mut() {
        f(&mut req.due);
        if let Some((_, r)) = req.sent.as_mut() {
            f(&mut r.deadline);
        }
    }
}

/// Moves every AEAD explicit IV counter of the SA's keys (current, retiring, and a colliding
/// rekey's) up.
pub(crate) fn shift_seal_counters(sa: &mut IkeSa, shift: u64) {
    use crate::sa::core::Pending;
    fn core(c: &mut crate::sa::core::SaCore, shift: u64) {
        c.seal_counter = c.seal_counter.saturating_add(shift);
        if let Some(Pending::RekeyIke(r)) = c.outstanding.as_mut().map(|o| &mut o.pending) {
            if let Some(col) = r.collision.as_mut() {
                core(&mut col.core, shift);
            }
        }
    }
    if let Some(c) = sa.core.as_mut() {
        core(c, shift);
    }
    for r in &mut sa.retiring {
        core(&mut r.core, shift);
    }
}
