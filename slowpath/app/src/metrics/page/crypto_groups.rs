//! Crypto groups on the page, from the same read-only status `slowpath-ctl crypto-groups`
//! prints: which member carries the traffic, each member's tunnel and peer, the counters.

use ike::crypto_group::{GroupStatus, Member, MemberStatus, Peer, Tunnel};
use promtext::encode::Label;
use promtext::{Encoder, Kind};
use std::io::{self, Write};

const PEER_STATES: [(Peer, &str); 3] = [
    (Peer::Unknown, "unknown"),
    (Peer::Alive, "alive"),
    (Peer::Dead, "dead"),
];

/// A group's two members, in the order their samples are written.
fn members(g: &GroupStatus) -> [(Member, &MemberStatus); 2] {
    [
        (Member::Primary, &g.primary),
        (Member::Secondary, &g.secondary),
    ]
}

pub(super) fn write<W: Write>(e: &mut Encoder<W>, groups: &[GroupStatus]) -> io::Result<()> {
    type MemberGauge = fn(&GroupStatus, Member, &MemberStatus) -> bool;
    let per_member: [(&str, &str, MemberGauge); 2] = [
        (
            "slowpath_crypto_group_active",
            "1 for the group's active member (the one its traffic is steered to), 0 for the other.",
            |g, m, _| g.active == m,
        ),
        (
            "slowpath_crypto_group_tunnel_up",
            "1 while the member's tunnel (its CHILD SAs) is up.",
            |_, _, s| s.tunnel == Tunnel::Up,
        ),
    ];
    for (name, help, value) in per_member {
        let mut f = e.family(name, Kind::Gauge, help)?;
        for g in groups {
            for (m, s) in members(g) {
                let labels: [Label; 3] =
                    [("group", &g.name), ("member", &m.word()), ("conn", &s.conn)];
                f.sample(&labels, value(g, m, s))?;
            }
        }
    }
    let mut f = e.family(
        "slowpath_crypto_group_peer_state",
        Kind::Gauge,
        "1 for the member's peer's DPD state, 0 for the others.",
    )?;
    for g in groups {
        for (m, s) in members(g) {
            for (p, state) in PEER_STATES {
                let labels: [Label; 4] = [
                    ("group", &g.name),
                    ("member", &m.word()),
                    ("conn", &s.conn),
                    ("state", &state),
                ];
                f.sample(&labels, s.peer == p)?;
            }
        }
    }
    type GroupValue = fn(&GroupStatus) -> u64;
    let per_group: [(&str, Kind, &str, GroupValue); 5] = [
        (
            "slowpath_crypto_group_carrying",
            Kind::Gauge,
            "1 while the active member's tunnel is up and carries the group's traffic.",
            |g| g.carrying.into(),
        ),
        (
            "slowpath_crypto_group_switchovers_total",
            Kind::Counter,
            "Times the group's traffic moved to the other member (reverts not counted).",
            |g| g.switchovers,
        ),
        (
            "slowpath_crypto_group_reverts_total",
            Kind::Counter,
            "Times the group's traffic went back to the primary after a hold.",
            |g| g.reverts,
        ),
        (
            "slowpath_crypto_group_peer_deaths_total",
            Kind::Counter,
            "Members' peers declared dead by DPD.",
            |g| g.peer_deaths,
        ),
        (
            "slowpath_crypto_group_rekey_failures_total",
            Kind::Counter,
            "Members' rekeys that failed.",
            |g| g.rekey_failures,
        ),
    ];
    for (name, kind, help, value) in per_group {
        let mut f = e.family(name, kind, help)?;
        for g in groups {
            f.sample(&[("group", &g.name)], value(g))?;
        }
    }
    let mut f = e.family(
        "slowpath_crypto_group_seconds_since_switch",
        Kind::Gauge,
        "Seconds since the group's last switchover or revert; absent before the first.",
    )?;
    for g in groups {
        let last = [g.last_switch_ago_ms, g.last_revert_ago_ms]
            .into_iter()
            .flatten()
            .min();
        if let Some(ms) = last {
            f.sample(&[("group", &g.name)], ms as f64 / 1000.0)?;
        }
    }
    Ok(())
}
