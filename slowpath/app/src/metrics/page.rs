//! The slow path's page, written from the statuses its control socket answers with
//! (`instances`, `ha-groups`, `ike-sas`, `ike-counters`, `pools`, `crypto-groups`), so that the two never
//! disagree.

use crate::northbound::ike_status::{IkeCounters, IkeSaStatus, PoolStatus};
use crate::northbound::vrrp_status::{HaGroupStatus, HaRole, InstanceState, InstanceStatus};
use crate::snmp::TrapReceiverStatus;
use ike::crypto_group::GroupStatus;
use promtext::{Encoder, Kind};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

/// What the page is written from, gathered by the daemon between two steps.
pub struct PageInputs {
    pub uptime: Duration,
    pub instances: Vec<InstanceStatus>,
    pub ha_groups: Vec<HaGroupStatus>,
    /// With IKE connections in the configuration.
    pub ike: Option<IkeInputs>,
    /// The crypto groups' status (none configured: the families are written empty).
    pub crypto_groups: Vec<GroupStatus>,
    /// The SNMP trap receivers (none configured: the families are written empty).
    pub traps: Vec<TrapReceiverStatus>,
}

pub struct IkeInputs {
    pub sas: Vec<IkeSaStatus>,
    pub counters: IkeCounters,
    pub pools: Vec<PoolStatus>,
}

pub fn write<W: Write>(out: W, p: &PageInputs) -> io::Result<()> {
    let mut e = Encoder::new(out);
    e.process("slowpath", env!("CARGO_PKG_VERSION"), p.uptime)?;
    vrrp(&mut e, &p.instances)?;
    ha(&mut e, &p.ha_groups)?;
    if let Some(ike) = &p.ike {
        self::ike(&mut e, ike)?;
        pools(&mut e, &ike.pools)?;
    }
    crypto_groups::write(&mut e, &p.crypto_groups)?;
    traps(&mut e, &p.traps)?;
    e.flush()
}

fn traps<W: Write>(e: &mut Encoder<W>, receivers: &[TrapReceiverStatus]) -> io::Result<()> {
    type Count = fn(&TrapReceiverStatus) -> u64;
    let counters: [(&str, &str, Count); 3] = [
        (
            "slowpath_snmp_traps_sent_total",
            "SNMP traps sent to the receiver.",
            |r| r.sent,
        ),
        (
            "slowpath_snmp_traps_failed_total",
            "SNMP traps the socket refused for the receiver.",
            |r| r.failed,
        ),
        (
            "slowpath_snmp_traps_suppressed_total",
            "SNMP traps the receiver's rate limit held back.",
            |r| r.suppressed,
        ),
    ];
    for (name, help, count) in counters {
        let mut f = e.family(name, Kind::Counter, help)?;
        for r in receivers {
            f.sample(&[("receiver", &r.to)], count(r))?;
        }
    }
    Ok(())
}

const INSTANCE_STATES: [InstanceState; 4] = [
    InstanceState::Initialize,
    InstanceState::Backup,
    InstanceState::Master,
    InstanceState::Fault,
];

fn vrrp<W: Write>(e: &mut Encoder<W>, instances: &[InstanceStatus]) -> io::Result<()> {
    let mut f = e.family(
        "slowpath_vrrp_state",
        Kind::Gauge,
        "1 for the VRRP instance's current state, 0 for the others.",
    )?;
    for i in instances {
        for s in INSTANCE_STATES {
            f.sample(
                &[
                    ("instance", &i.name),
                    ("vrid", &i.vrid),
                    ("interface", &i.interface),
                    ("state", &s.name()),
                ],
                i.state == s,
            )?;
        }
    }
    let mut f = e.family(
        "slowpath_vrrp_priority",
        Kind::Gauge,
        "The instance's priority now (tracks counted).",
    )?;
    for i in instances {
        f.sample(&[("instance", &i.name)], u64::from(i.effective_priority))?;
    }
    let mut f = e.family(
        "slowpath_vrrp_events_total",
        Kind::Counter,
        "VRRP adverts and transitions of the instance, by counter.",
    )?;
    for i in instances {
        for (name, v) in &i.counters {
            f.sample(&[("instance", &i.name), ("counter", name)], *v)?;
        }
    }
    Ok(())
}

fn ha<W: Write>(e: &mut Encoder<W>, groups: &[HaGroupStatus]) -> io::Result<()> {
    let mut f = e.family(
        "slowpath_ha_group_role",
        Kind::Gauge,
        "1 for the HA group's current role on this node, 0 for the other.",
    )?;
    for g in groups {
        for r in [HaRole::Active, HaRole::Standby] {
            f.sample(&[("ha_group", &g.name), ("role", &r.name())], g.role == r)?;
        }
    }
    let mut f = e.family(
        "slowpath_ha_group_transitions_total",
        Kind::Counter,
        "Role changes of the HA group.",
    )?;
    for g in groups {
        f.sample(&[("ha_group", &g.name)], g.transitions)?;
    }
    let Some((group, sync)) = groups
        .iter()
        .find_map(|g| g.sync.as_ref().map(|s| (&g.name, s)))
    else {
        return Ok(());
    };
    let v = serde_json::to_value(sync).map_err(io::Error::other)?;
    let mut f = e.family(
        "slowpath_ha_sync_peer_state",
        Kind::Gauge,
        "1 for the HA sync peer's current state, 0 for the others.",
    )?;
    for s in ["down", "connecting", "up"] {
        f.sample(&[("ha_group", group), ("state", &s)], v["peer"] == s)?;
    }
    let gauges = [
        (
            "slowpath_ha_sync_in_sync",
            "1 once the peer's bulk sync has completed on this stream.",
            sync.sync.in_sync.into(),
        ),
        (
            "slowpath_ha_sync_queued_records",
            "Records queued for the peer.",
            sync.sync.queued_records as u64,
        ),
        (
            "slowpath_ha_sync_pending_records",
            "Records the queue refused, kept aside.",
            sync.sync.pending_records as u64,
        ),
        (
            "slowpath_ha_sync_chunks_in_flight",
            "Chunks sent and not yet acknowledged.",
            sync.sync.chunks_in_flight as u64,
        ),
        (
            "slowpath_ha_sync_snapshots",
            "Seqnum snapshots held.",
            sync.snapshots as u64,
        ),
    ];
    for (name, help, value) in gauges {
        e.family(name, Kind::Gauge, help)?
            .sample(&[("ha_group", group)], value)?;
    }
    let mut f = e.family(
        "slowpath_ha_sync_path_up",
        Kind::Gauge,
        "1 while the sync path hears the peer.",
    )?;
    for p in &sync.sync.paths {
        f.sample(&[("ha_group", group), ("path", &p.name)], p.up)?;
    }
    let mut counters = BTreeMap::new();
    leaves("", &v["counters"], &mut counters);
    leaves("link_", &v["link"], &mut counters);
    leaves("ike_", &v["ha"], &mut counters);
    let mut f = e.family(
        "slowpath_ha_sync_events_total",
        Kind::Counter,
        "The HA sync's counters (slowpath-ctl ha), by name.",
    )?;
    for (name, n) in &counters {
        f.sample(&[("ha_group", group), ("counter", name)], *n)?;
    }
    Ok(())
}

/// Every unsigned number under `v`, named by its path (`rejected_replayed`).
fn leaves(prefix: &str, v: &Value, out: &mut BTreeMap<String, u64>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                leaves(&format!("{prefix}{k}_"), v, out);
            }
        }
        Value::Number(n) => {
            if let Some(n) = n.as_u64() {
                out.insert(prefix.trim_end_matches('_').to_string(), n);
            }
        }
        _ => {}
    }
}

fn ike<W: Write>(e: &mut Encoder<W>, ike: &IkeInputs) -> io::Result<()> {
    let mut by_state: BTreeMap<&str, u64> = BTreeMap::new();
    for sa in &ike.sas {
        *by_state.entry(&sa.state).or_default() += 1;
    }
    let mut f = e.family("slowpath_ike_sas", Kind::Gauge, "IKE SAs, by state.")?;
    for (state, n) in &by_state {
        f.sample(&[("state", state)], *n)?;
    }
    let children: usize = ike.sas.iter().map(|s| s.children).sum();
    e.single(
        "slowpath_ike_child_sas",
        Kind::Gauge,
        "CHILD SAs of the IKE SAs.",
        children,
    )?;
    let c = &ike.counters;
    e.single(
        "slowpath_ike_fastpath_child_sas",
        Kind::Gauge,
        "CHILD SAs installed in the fast path.",
        c.fastpath_child_sas,
    )?;
    let counters = [
        (
            "slowpath_ike_received_total",
            "IKE datagrams received.",
            c.received,
        ),
        ("slowpath_ike_sent_total", "IKE datagrams sent.", c.sent),
        (
            "slowpath_ike_send_errors_total",
            "IKE datagrams the socket refused.",
            c.send_errors,
        ),
        (
            "slowpath_ike_retransmits_total",
            "IKE requests sent again.",
            c.retransmits,
        ),
        (
            "slowpath_ike_answered_from_cache_total",
            "Retransmitted requests answered from the response cache.",
            c.answered_from_cache,
        ),
        (
            "slowpath_ike_fastpath_errors_total",
            "Fast path requests that failed.",
            c.fastpath_errors,
        ),
        (
            "slowpath_ike_fastpath_events_total",
            "Events received from the fast path.",
            c.fastpath_events,
        ),
        (
            "slowpath_ike_child_install_failures_total",
            "CHILD SAs the fast path refused.",
            c.child_install_failures,
        ),
    ];
    for (name, help, v) in counters {
        e.single(name, Kind::Counter, help, v)?;
    }
    let mut f = e.family(
        "slowpath_ike_drops_total",
        Kind::Counter,
        "IKE datagrams dropped, by reason.",
    )?;
    for (reason, n) in &c.drops {
        f.sample(&[("reason", reason)], *n)?;
    }
    half_open(
        e,
        (
            "slowpath_ike_half_open_events_total",
            "Cookies sent, valid and invalid, and half-open IKE SAs expired.",
        ),
        ("slowpath_ike_half_open", "Half-open IKE SAs now."),
        &c.half_open,
    )?;
    half_open(
        e,
        (
            "slowpath_ike_v1_half_open_events_total",
            "IKEv1 responder SAs whose phase 1 was not done: expired, and evicted at the cap.",
        ),
        (
            "slowpath_ike_v1_half_open",
            "IKEv1 responder SAs whose phase 1 is not done, now.",
        ),
        &c.half_open_v1,
    )?;
    e.single(
        "slowpath_ike_fastpath_subscribed",
        Kind::Gauge,
        "1 while the fast path's event stream is open.",
        c.fastpath_subscribed,
    )
}

/// A half-open table of `ike-counters` (IKEv2's `half_open`, IKEv1's `half_open_v1`): its
/// events as a counter family `events` (name, help), its `current` as the gauge `now`.
fn half_open<W: Write>(
    e: &mut Encoder<W>,
    (events, events_help): (&str, &str),
    (now, now_help): (&str, &str),
    table: &BTreeMap<String, u64>,
) -> io::Result<()> {
    let mut f = e.family(events, Kind::Counter, events_help)?;
    for (event, n) in table.iter().filter(|(k, _)| *k != "current") {
        f.sample(&[("event", event)], *n)?;
    }
    e.single(
        now,
        Kind::Gauge,
        now_help,
        table.get("current").copied().unwrap_or(0),
    )
}

fn pools<W: Write>(e: &mut Encoder<W>, pools: &[PoolStatus]) -> io::Result<()> {
    let mut f = e.family(
        "slowpath_pool_addresses",
        Kind::Gauge,
        "Virtual IP pool addresses: leased (held by an IKE SA), offline (kept for an identity), free (can be given).",
    )?;
    for p in pools {
        for (state, n) in [
            ("leased", p.leased),
            ("offline", p.offline),
            ("free", p.free),
        ] {
            f.sample(&[("pool", &p.name), ("state", &state)], n)?;
        }
    }
    let mut f = e.family("slowpath_pool_size", Kind::Gauge, "Addresses in the pool.")?;
    for p in pools {
        f.sample(&[("pool", &p.name)], p.size)?;
    }
    Ok(())
}

mod crypto_groups;

#[cfg(test)]
mod tests;
