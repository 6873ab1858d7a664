//! What the control socket shows of the VRRP and HA cores, as JSON.

use serde_json::{json, Value};
use std::time::Duration;
use vrrp::{HaGroup, HaSource, Instance};

fn ms(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| json!(d.as_millis() as u64))
}

/// An instance: state, priorities, the master, timers (remaining, in ms), counters.
pub fn instance(inst: &Instance, now: Duration) -> Value {
    let s = inst.status();
    let c = &s.counters;
    json!({
        "name": s.name,
        "vrid": s.vrid,
        "version": format!("{:?}", s.version),
        "state": crate::daemon::state_name(s.state),
        "priority": s.configured_priority,
        "effective_priority": s.effective_priority,
        "master": s.master_address.map(|a| a.to_string()),
        "master_priority": s.master_priority,
        "advert_interval_cs": s.advert_interval.as_millis() / 10,
        "master_adver_interval_cs": s.master_adver_interval.as_millis() / 10,
        "skew_time_ms": s.skew_time.as_millis() as u64,
        "master_down_interval_ms": s.master_down_interval.as_millis() as u64,
        "next_advert_in_ms": ms(s.next_advert_in(now)),
        "master_down_in_ms": ms(s.master_down_in(now)),
        "preempt_in_ms": ms(s.preempt_in(now)),
        "hold_in_ms": ms(s.hold_until.map(|t| t.saturating_sub(now))),
        "tracks_down": s.tracks_down,
        "other_masters": s.other_masters.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "last_transition": s.last_transition.as_ref().map(|t| json!({
            "from": crate::daemon::state_name(t.from),
            "to": crate::daemon::state_name(t.to),
            "reason": format!("{:?}", t.reason),
            "ago_ms": now.saturating_sub(t.at).as_millis() as u64,
        })),
        "counters": counters(c),
    })
}

fn counters(c: &vrrp::Counters) -> Value {
    Value::Object(c.iter().map(|(k, v)| (k.to_string(), json!(v))).collect())
}

pub fn ha_group(h: &HaGroup, now: Duration) -> Value {
    let s = h.status();
    json!({
        "name": s.name,
        "role": crate::daemon::role_name(s.role),
        "source": match &s.source {
            HaSource::VrrpGroup(g) => format!("vrrp-group {g}"),
            HaSource::Static(r) => format!("static {}", crate::daemon::role_name(*r)),
        },
        "since_ms": now.saturating_sub(s.since).as_millis() as u64,
        "transitions": s.transitions,
    })
}
