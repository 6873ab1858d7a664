//! `fastpath-ctl`: the operator's view of a running fast path, through its control socket.
//!
//! ```text
//! fastpath-ctl -s /run/fastpath.sock stats | ports | locals | sync-stats | sync-settings
//! fastpath-ctl -s SOCK routes | neighbours          # the FIB and the neighbour table
//! fastpath-ctl -s SOCK sa list | sa show ID | sa del ID
//! fastpath-ctl -s SOCK sa add 9 out spi 0x1009 aes128gcm16 key ... tunnel 192.0.2.1 192.0.2.2
//! fastpath-ctl -s SOCK sa activate all [--oseq-shift 65536] --generation 3 | sa deactivate 0x12
//! fastpath-ctl -s SOCK sp list out | sp add out protect 9 pri 5 src ... dst ... | sp del out 3
//! fastpath-ctl -s SOCK events [--activity-ms 1000]   # streams SA events until interrupted
//! ```
//! SA ids are decimal or `0x` hex; `activate` and `deactivate` act on every SA only when
//! told `all`. `sa add` and `sp add` take the configuration file's statements, parsed here
//! and sent as typed descriptions.

use clap::{Parser, Subcommand};
use ipc::client::{Client, Output};
use ipc::fastpath::{NeighbourList, Request, RouteQuery, Routes, SaInfo, SpInfo, SyncStats};
use ipc::statement::{parse_sa, parse_sp, without_keyword};
use ipc::{CallError, Direction, PolicyId, SaId, SaTarget};
use serde_json::Value;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "fastpath-ctl", about = "Talk to a running fast path")]
struct Args {
    /// The fast path's control socket (`fastpath --control PATH`).
    #[arg(short, long)]
    socket: PathBuf,
    /// Print the raw JSON results.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Counters summed over the workers.
    Stats,
    /// The configured ports, with their links.
    Ports,
    /// The node's own addresses (traffic to them goes to the kernel).
    Locals,
    /// The FIB: counts, then up to `--limit` routes (prefix, next hop, origin), counters.
    Routes {
        /// List at most this many routes (the counts always cover the whole FIB).
        #[arg(long, default_value_t = 100, conflicts_with = "all")]
        limit: usize,
        /// List every route selected (a million lines with a full table).
        #[arg(long)]
        all: bool,
        /// Only the routes inside this prefix (`ADDR/LEN`).
        #[arg(long, value_parser = parse_prefix)]
        within: Option<(IpAddr, u8)>,
        /// Look these addresses up as a worker would; prints `lookup ADDR port N via GW`.
        #[arg(long, num_args = 1..)]
        lookup: Vec<IpAddr>,
    },
    /// The neighbours workers send to, with the resolution counters.
    Neighbours,
    /// The HA seqnum stream's counters, with the knobs in force.
    SyncStats,
    /// The HA seqnum knobs in force (the slow path's `ha` block, or the command line's).
    SyncSettings,
    /// Security associations.
    Sa {
        #[command(subcommand)]
        cmd: SaCmd,
    },
    /// Security policies.
    Sp {
        #[command(subcommand)]
        cmd: SpCmd,
    },
    /// Stream SA events (soft/hard lifetime, sequence overflow).
    Events {
        /// Also report the inbound SAs' last-received times every N ms (dead peer detection).
        #[arg(long)]
        activity_ms: Option<u64>,
    },
}

#[derive(Subcommand)]
enum SaCmd {
    List,
    Show {
        id: SaId,
    },
    /// The words of an `sa` statement of the configuration file.
    Add {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 1..)]
        words: Vec<String>,
    },
    Del {
        id: SaId,
    },
    /// HA takeover: continue outbound at synced + shift, under a new IV generation.
    Activate {
        /// An SA id (decimal or 0x hex), or `all`.
        which: SaTarget,
        /// Without it, the shift in force (`sync-settings`).
        #[arg(long)]
        oseq_shift: Option<u64>,
        #[arg(long)]
        generation: u16,
    },
    /// HA demotion of one SA (decimal or 0x hex), or of `all`.
    Deactivate {
        which: SaTarget,
    },
}

#[derive(Subcommand)]
enum SpCmd {
    List {
        dir: Dir,
    },
    /// The words of an `sp` statement of the configuration file.
    Add {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 1..)]
        words: Vec<String>,
    },
    Del {
        dir: Dir,
        id: PolicyId,
    },
}

/// `in` or `out`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Dir {
    In,
    Out,
}

impl From<Dir> for Direction {
    fn from(d: Dir) -> Direction {
        match d {
            Dir::In => Direction::In,
            Dir::Out => Direction::Out,
        }
    }
}

/// `ADDR/LEN`, or a bare address as a host prefix.
fn parse_prefix(s: &str) -> Result<(IpAddr, u8), String> {
    let (addr, len) = s.split_once('/').unwrap_or((s, ""));
    let addr: IpAddr = addr.parse().map_err(|e| format!("{s}: {e}"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        "" => max,
        l => l.parse().map_err(|e| format!("{s}: {e}"))?,
    };
    if len > max {
        return Err(format!("{s}: prefix length above {max}"));
    }
    Ok((addr, len))
}

fn words(w: &[String]) -> Vec<&str> {
    w.iter().map(String::as_str).collect()
}

fn request(cmd: &Cmd) -> Result<Request, String> {
    Ok(match cmd {
        Cmd::Stats => Request::Stats,
        Cmd::Ports => Request::Ports,
        Cmd::Locals => Request::Locals,
        Cmd::Routes {
            limit,
            all,
            within,
            lookup,
        } => Request::Routes(RouteQuery {
            limit: (!all).then_some(*limit),
            within: *within,
            lookup: lookup.clone(),
        }),
        Cmd::Neighbours => Request::Neighbours,
        Cmd::SyncStats | Cmd::SyncSettings => Request::SyncStats,
        Cmd::Events { activity_ms } => Request::Subscribe {
            activity_ms: *activity_ms,
        },
        Cmd::Sa { cmd } => match cmd {
            SaCmd::List => Request::SaList,
            SaCmd::Show { id } => Request::SaGet { sa: *id },
            SaCmd::Add { words: w } => Request::SaAdd {
                sa: parse_sa(without_keyword(&words(w), "sa"))?,
            },
            SaCmd::Del { id } => Request::SaDel { sa: *id },
            SaCmd::Activate {
                which,
                oseq_shift,
                generation,
            } => Request::SaActivate {
                sa: *which,
                oseq_shift: *oseq_shift,
                generation: *generation,
            },
            SaCmd::Deactivate { which } => Request::SaDeactivate { sa: *which },
        },
        Cmd::Sp { cmd } => match cmd {
            SpCmd::List { dir } => Request::SpList { dir: (*dir).into() },
            SpCmd::Add { words: w } => Request::SpAdd {
                sp: parse_sp(without_keyword(&words(w), "sp"))?,
            },
            SpCmd::Del { dir, id } => Request::SpDel {
                dir: (*dir).into(),
                policy: *id,
            },
        },
    })
}

fn main() {
    let args = Args::parse();
    let mut out = Output::stdout();
    let result =
        request(&args.cmd).and_then(|r| run(&args, &r, &mut out).map_err(|e| e.to_string()));
    out.exit("fastpath-ctl", result)
}

fn run(args: &Args, request: &Request, out: &mut Output) -> Result<(), CallError> {
    if let Request::Subscribe { .. } = request {
        return ipc::client::follow(&args.socket, request, out);
    }
    let mut client = Client::new(&args.socket, Duration::from_secs(5));
    let result: Value = client.call(request)?;
    if args.json {
        writeln!(out, "{result}")?;
        return Ok(());
    }
    let typed = |e: serde_json::Error| CallError::BadReply(e.to_string());
    match &args.cmd {
        Cmd::Sa { cmd: SaCmd::List } => print_sas(
            out,
            &serde_json::from_value::<Vec<SaInfo>>(result).map_err(typed)?,
        )?,
        Cmd::Sp {
            cmd: SpCmd::List { .. },
        } => print_sps(
            out,
            &serde_json::from_value::<Vec<SpInfo>>(result).map_err(typed)?,
        )?,
        Cmd::Routes { .. } => print_routes(
            out,
            &serde_json::from_value::<Routes>(result).map_err(typed)?,
        )?,
        Cmd::Neighbours => print_neighbours(
            out,
            &serde_json::from_value::<NeighbourList>(result).map_err(typed)?,
        )?,
        Cmd::SyncSettings => {
            let stats = serde_json::from_value::<SyncStats>(result).map_err(typed)?;
            let s = stats.settings;
            writeln!(out, "period_packets_inbound: {}", s.period_packets_inbound)?;
            writeln!(
                out,
                "period_packets_outbound: {}",
                s.period_packets_outbound
            )?;
            writeln!(out, "period_time_ms: {}", s.period_time_ms)?;
            writeln!(out, "oseq_shift: {}", s.oseq_shift)?;
            writeln!(out, "snapshots: {}", stats.snapshots)?;
        }
        _ => match result.as_object() {
            Some(map) => {
                for (k, v) in map {
                    writeln!(out, "{k}: {v}")?;
                }
            }
            None => writeln!(out, "{result}")?,
        },
    }
    Ok(())
}

fn print_sas(out: &mut impl Write, sas: &[SaInfo]) -> io::Result<()> {
    writeln!(
        out,
        "{:>7} {:>3} {:<10} {:<4} {:<8} {:<34} {:>12} {:>12} {:>12} {:>10} {:>8}",
        "id",
        "wk",
        "spi",
        "dir",
        "state",
        "mode",
        "oseq",
        "window-top",
        "packets",
        "bytes",
        "idle-ms"
    )?;
    for sa in sas {
        let state = serde_json::to_value(sa.state).unwrap_or_default();
        writeln!(
            out,
            "{:>7} {:>3} {:<10} {:<4} {:<8} {:<34} {:>12} {:>12} {:>12} {:>10} {:>8}",
            sa.id,
            sa.worker,
            sa.spi,
            sa.direction,
            state.as_str().unwrap_or("?"),
            sa.mode.to_string(),
            sa.oseq,
            sa.window_top,
            sa.packets,
            sa.bytes,
            sa.idle_ms
        )?;
    }
    Ok(())
}

fn print_sps(out: &mut impl Write, sps: &[SpInfo]) -> io::Result<()> {
    for p in sps {
        writeln!(out, "{:>5} {}", p.id, p.sp)?;
    }
    Ok(())
}

fn print_routes(out: &mut impl Write, r: &Routes) -> io::Result<()> {
    if !r.enabled {
        writeln!(
            out,
            "routing off: each port sends to its own next hop (see `ports`)"
        )?;
        writeln!(out, "no_route: {}", r.no_route)?;
        return Ok(());
    }
    for l in &r.lookups {
        match (l.port, l.via) {
            (None, _) => writeln!(out, "lookup {} no route", l.addr)?,
            (Some(port), None) => writeln!(out, "lookup {} port {port} connected", l.addr)?,
            (Some(port), Some(via)) => writeln!(out, "lookup {} port {port} via {via}", l.addr)?,
        }
    }
    if r.lookups.is_empty() || !r.routes.is_empty() {
        writeln!(out, "{:<44} {:>4} {:<40} origin", "prefix", "port", "via")?;
    }
    for route in &r.routes {
        let via = route.via.map_or("connected".to_string(), |g| g.to_string());
        writeln!(
            out,
            "{:<44} {:>4} {:<40} {}",
            route.prefix, route.port, via, route.origin
        )?;
    }
    if r.selected > r.routes.len() {
        let more = r.selected - r.routes.len();
        writeln!(out, "... {more} more (--limit N, --all, --within PREFIX)")?;
    }
    writeln!(
        out,
        "ipv4 {} ipv6 {} next-hops {} kernel-routes {} no-route {} neighbour-unresolved {}",
        r.ipv4,
        r.ipv6,
        r.next_hops,
        if r.kernel_routes { "on" } else { "off" },
        r.no_route,
        r.neighbour_unresolved
    )?;
    if !r.mirror.is_empty() {
        let counters: Vec<String> = r.mirror.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(out, "mirror: {}", counters.join(" "))?;
    }
    Ok(())
}

fn print_neighbours(out: &mut impl Write, n: &NeighbourList) -> io::Result<()> {
    writeln!(out, "{:>4} {:<40} {:<17} state", "port", "address", "mac")?;
    for e in &n.neighbours {
        writeln!(
            out,
            "{:>4} {:<40} {:<17} {}",
            e.port,
            e.addr.to_string(),
            e.mac.to_string(),
            e.state
        )?;
    }
    writeln!(
        out,
        "{} neighbours from {}; neighbour-unresolved {}",
        n.neighbours.len(),
        n.source,
        n.neighbour_unresolved
    )?;
    Ok(())
}
