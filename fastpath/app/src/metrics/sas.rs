//! Each SA's counters, asked of the worker that owns it a slice at a time and written as
//! they come: with 100,000 SAs the page is long, and it is never held whole, nor does a
//! worker stop longer than one slice.

use crate::control::command::{Command, Inbox, Reply, SaCounterRow};
use crate::control::context::ask;
use esp::counters::DropReason;
use esp::sa::Direction;
use promtext::encode::Family;
use promtext::{Encoder, Kind};
use std::io::{self, Write};

/// SAs per visit to a worker.
const SLICE: usize = 4096;

type Field = fn(&SaCounterRow) -> u64;

const COUNTERS: [(&str, &str, Field); 2] = [
    (
        "fastpath_sa_packets_total",
        "Packets through the SA.",
        |r| r.counters.packets,
    ),
    (
        "fastpath_sa_bytes_total",
        "Inner bytes through the SA (as lifetimes count them).",
        |r| r.counters.bytes,
    ),
];

pub fn write<W: Write>(e: &mut Encoder<W>, inboxes: &[Inbox]) -> io::Result<()> {
    for (name, help, field) in COUNTERS {
        let mut f = e.family(name, Kind::Counter, help)?;
        each_sa(inboxes, |r| sample(&mut f, r, None, field(r)))?;
    }
    let mut f = e.family(
        "fastpath_sa_drops_total",
        Kind::Counter,
        "Packets of the SA dropped, by reason (reasons that never happened are left out).",
    )?;
    each_sa(inboxes, |r| {
        for reason in DropReason::ALL {
            let n = r.counters.drops[reason as usize];
            if n > 0 {
                sample(&mut f, r, Some(reason.name()), n)?;
            }
        }
        Ok(())
    })
}

fn sample<W: Write>(
    f: &mut Family<'_, W>,
    r: &SaCounterRow,
    reason: Option<&str>,
    value: u64,
) -> io::Result<()> {
    let direction = match r.direction {
        Direction::Inbound => "in",
        Direction::Outbound => "out",
    };
    let spi = format_args!("{:#010x}", r.spi);
    match reason {
        None => f.sample(
            &[("sa", &r.id), ("spi", &spi), ("direction", &direction)],
            value,
        ),
        Some(reason) => f.sample(
            &[
                ("sa", &r.id),
                ("spi", &spi),
                ("direction", &direction),
                ("reason", &reason),
            ],
            value,
        ),
    }
}

/// Calls `each` with every SA of every worker, by worker then id.
fn each_sa(
    inboxes: &[Inbox],
    mut each: impl FnMut(&SaCounterRow) -> io::Result<()>,
) -> io::Result<()> {
    for inbox in inboxes {
        let mut from = 0;
        loop {
            let reply =
                ask(inbox, Command::SaCounters { from, max: SLICE }).map_err(io::Error::other)?;
            let Reply::SaCounters { rows, next } = reply else {
                return Err(io::Error::other(format!("unexpected reply {reply:?}")));
            };
            for r in &rows {
                each(r)?;
            }
            match next {
                Some(n) => from = n,
                None => break,
            }
        }
    }
    Ok(())
}
