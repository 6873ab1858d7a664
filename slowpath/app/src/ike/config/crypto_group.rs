//! `crypto-group NAME primary CONN secondary CONN [always|on-demand] [match-pool POOL]
//! [switchover auto [hold DURATION] | switchover auto do-not-revert] [retry DURATION]`:
//! two conns for the same traffic, the primary carrying it (see `ike::crypto_group`).
//!
//! Both conns and their children must be above the line, and protect the same traffic: the
//! same selectors (every child's, as sets), or, with `match-pool` (StarOS's `match ip pool`),
//! each member hands out that pool or has remote selectors inside it. A conn is in at most
//! one group.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use ike::config::IkeConfig;
use ike::crypto_group::{Bringup, GroupConfig, Revert, DEFAULT_RETRY};
use ike::message::TrafficSelector;
use toolkit::config::Words;

use super::{check_name, IkeSettings};

/// The revert hold without `hold`.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(30);

pub(super) fn parse_group(settings: &IkeSettings, mut w: Words) -> Result<GroupConfig, String> {
    let name = w.next("a crypto-group name")?;
    check_name(name)?;
    let (mut primary, mut secondary) = (None, None);
    let mut bringup = Bringup::Always;
    let mut revert = Revert::After(DEFAULT_HOLD);
    let mut pool = None;
    let mut retry = DEFAULT_RETRY;
    while let Some(opt) = w.next_opt() {
        match opt {
            "primary" => primary = Some(member(settings, w.next(opt)?)?),
            "secondary" => secondary = Some(member(settings, w.next(opt)?)?),
            "always" => bringup = Bringup::Always,
            "on-demand" => bringup = Bringup::OnDemand,
            "match-pool" => {
                let p = w.next(opt)?;
                if !settings.index.pools.contains(p) {
                    return Err(format!("pool {p} is not defined above"));
                }
                pool = Some(p.to_string());
            }
            "switchover" => {
                if w.next(opt)? != "auto" {
                    return Err("switchover auto [hold DURATION] | auto do-not-revert".into());
                }
                revert = Revert::After(DEFAULT_HOLD);
            }
            "hold" => revert = Revert::After(w.next_duration(opt)?),
            "do-not-revert" => revert = Revert::Never,
            "retry" => {
                retry = w.next_duration(opt)?;
                if retry.is_zero() {
                    return Err("retry: above 0".into());
                }
            }
            o => return Err(format!("unknown crypto-group option `{o}`")),
        }
    }
    let primary = primary.ok_or("missing `primary CONN`")?;
    let secondary = secondary.ok_or("missing `secondary CONN`")?;
    if primary.name == secondary.name {
        return Err(format!("conn {} cannot be both members", primary.name));
    }
    match &pool {
        Some(p) => {
            for c in [primary, secondary] {
                in_pool(settings, c, p)?;
            }
        }
        None if traffic(primary) != traffic(secondary) => {
            return Err(format!(
                "conns {} and {} do not protect the same traffic (selectors differ; or `match-pool POOL`)",
                primary.name, secondary.name
            ))
        }
        None => {}
    }
    Ok(GroupConfig {
        name: name.to_string(),
        primary: primary.name.clone(),
        secondary: secondary.name.clone(),
        bringup,
        revert,
        retry,
    })
}

/// A conn above, with children, in no group yet.
fn member<'a>(settings: &'a IkeSettings, conn: &str) -> Result<&'a IkeConfig, String> {
    let i = *settings
        .index
        .conns
        .get(conn)
        .ok_or(format!("conn {conn} is not defined above"))?;
    let c = &settings.conns[i];
    if c.children.is_empty() {
        return Err(format!("conn {conn} has no child above this line"));
    }
    if let Some(g) = settings.groups.iter().find(|g| g.member_of(conn).is_some()) {
        return Err(format!("conn {conn} is in crypto-group {} already", g.name));
    }
    Ok(c)
}

type Ts = (u8, u16, u16, IpAddr, IpAddr);

fn key(ts: &TrafficSelector) -> Ts {
    (
        ts.ip_protocol,
        ts.start_port,
        ts.end_port,
        ts.start_addr,
        ts.end_addr,
    )
}

/// Every child's local and remote selectors, as sets.
fn traffic(c: &IkeConfig) -> (BTreeSet<Ts>, BTreeSet<Ts>) {
    let mut local = BTreeSet::new();
    let mut remote = BTreeSet::new();
    for ch in &c.children {
        local.extend(ch.local_ts.iter().map(key));
        remote.extend(ch.remote_ts.iter().map(key));
    }
    (local, remote)
}

/// The conn hands out `pool`, or each of its children's remote selectors lies in it.
fn in_pool(settings: &IkeSettings, c: &IkeConfig, pool: &str) -> Result<(), String> {
    if c.virtual_ip.pool.as_deref() == Some(pool) {
        return Ok(());
    }
    let Some(p) = settings.pools.iter().find(|p| p.name == pool) else {
        return Err(format!("pool {pool} is not defined above"));
    };
    let (first, last) = (IpAddr::V4(p.first), IpAddr::V4(p.last));
    let inside = c
        .children
        .iter()
        .flat_map(|ch| &ch.remote_ts)
        .all(|ts| ts.start_addr >= first && ts.end_addr <= last);
    if inside {
        Ok(())
    } else {
        Err(format!(
            "conn {}: neither `pool {pool}` nor remote selectors inside it",
            c.name
        ))
    }
}
