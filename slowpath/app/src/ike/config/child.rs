//! `child NAME conn CONN local-ts TS remote-ts TS esp PROPOSALS ...`: a CHILD SA of a conn
//! above, with its lifetimes.

use std::time::Duration;

use ike::config::{ChildConfig, Lifetimes, Mode};
use ike::v1::offers::phase2_offers;
use ipc::sa::{MAX_REPLAY_WINDOW, MIN_REPLAY_WINDOW};
use toolkit::config::Words;

use super::proposal::{parse_proposals, EsnWords, Kind};
use super::selector::parse_ts_list;
use super::{check_name, ChildExtra, IkeSettings};

pub(super) fn parse_child(settings: &mut IkeSettings, mut w: Words) -> Result<(), String> {
    let name = w.next("a child name")?;
    check_name(name)?;
    let mut conn = None;
    let (mut local_ts, mut remote_ts) = (None, None);
    let mut esp = None;
    let mut mode = Mode::Tunnel;
    let mut esn_flag = false;
    let (mut rekey, mut life) = (None, None);
    let (mut bytes, mut packets) = (0u64, 0u64);
    let mut replay_window = None;
    while let Some(opt) = w.next_opt() {
        match opt {
            "conn" => {
                let c = w.next(opt)?;
                let i = settings
                    .index
                    .conns
                    .get(c)
                    .ok_or(format!("conn {c} is not defined above"))?;
                conn = Some(*i);
            }
            "local-ts" => local_ts = Some(w.next(opt)?),
            "remote-ts" => remote_ts = Some(w.next(opt)?),
            "esp" => esp = Some(parse_proposals(w.next(opt)?, Kind::Esp)?),
            "mode" => {
                mode = match w.next(opt)? {
                    "tunnel" => Mode::Tunnel,
                    "transport" => Mode::Transport,
                    m => return Err(format!("mode {m}: tunnel or transport")),
                }
            }
            "esn" => esn_flag = true,
            "rekey" => rekey = Some(w.next_duration(opt)?),
            "life" => life = Some(w.next_duration(opt)?),
            "bytes" => bytes = w.next_u64(opt)?,
            "packets" => packets = w.next_u64(opt)?,
            "replay-window" => {
                let n = w.next_u32(opt)?;
                // What the fast path keeps: 0 (none) or MIN..=MAX.
                if n != 0 && !(MIN_REPLAY_WINDOW..=MAX_REPLAY_WINDOW).contains(&n) {
                    return Err(format!(
                        "replay-window: want 0 (none) or {MIN_REPLAY_WINDOW}..{MAX_REPLAY_WINDOW}"
                    ));
                }
                replay_window = Some(n);
            }
            o => return Err(format!("unknown child option `{o}`")),
        }
    }
    let ci = conn.ok_or("missing `conn NAME`")?;
    let (esp, esn_words) = esp.ok_or("missing `esp PROPOSALS` (e.g. aes128gcm16)")?;
    let key = (ci, name.to_string());
    if settings.index.children.contains_key(&key) {
        return Err(format!(
            "conn {} already has a child {name}",
            settings.conns[ci].name
        ));
    }
    let c = &settings.conns[ci];
    let local_ts = parse_ts_list(local_ts.ok_or("missing `local-ts`")?, c)?;
    let remote_ts = parse_ts_list(remote_ts.ok_or("missing `remote-ts`")?, c)?;
    let esn = match esn_words {
        EsnWords::Both => {
            return Err(
                "esn and noesn together (either is fine) cannot be offered here: pick one".into(),
            )
        }
        EsnWords::Esn => true,
        EsnWords::NoEsn if esn_flag => return Err("`esn` with proposals that say noesn".into()),
        EsnWords::NoEsn | EsnWords::None => esn_flag,
    };
    let lifetimes = lifetimes(rekey, life, bytes, packets)?;
    let child = ChildConfig {
        name: name.to_string(),
        local_ts,
        remote_ts,
        mode,
        esp_proposals: esp,
        esn,
        lifetimes,
        start_action: settings.conn_extras[ci].start,
    };
    // IKEv1's Quick Mode must be able to offer each suite.
    let conn = &settings.conns[ci];
    if conn.v1().is_some() {
        phase2_offers(conn, &child).map_err(|e| format!("esp: {e}"))?;
    }
    settings
        .index
        .children
        .insert(key, settings.child_extras.len());
    settings.child_extras.push(ChildExtra {
        conn: settings.conns[ci].name.clone(),
        child: name.to_string(),
        replay_window,
    });
    settings.conns[ci].children.push(child);
    Ok(())
}

/// Soft (rekey) and hard (life) limits: the soft one comes first, and the jitter never
/// pushes a rekey past the hard limit. Zero turns a limit off. Durations are at most ten
/// years (the grammar's bound), so the scaling below cannot overflow.
fn lifetimes(
    rekey: Option<Duration>,
    life: Option<Duration>,
    bytes: u64,
    packets: u64,
) -> Result<Lifetimes, String> {
    let rekey_time = rekey.unwrap_or(match life {
        Some(l) => l * 9 / 10,
        None => Duration::from_secs(3600),
    });
    let life_time = life.unwrap_or(rekey_time * 11 / 10);
    if !life_time.is_zero() && rekey_time >= life_time {
        return Err("rekey must come before life".into());
    }
    let jitter = if life_time.is_zero() {
        rekey_time / 10
    } else {
        (life_time - rekey_time).min(rekey_time / 2)
    };
    Ok(Lifetimes {
        rekey_time,
        life_time,
        rekey_bytes: bytes - bytes / 10,
        life_bytes: bytes,
        rekey_packets: packets - packets / 10,
        life_packets: packets,
        jitter,
    })
}
