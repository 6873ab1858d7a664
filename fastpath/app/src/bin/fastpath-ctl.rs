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
use ipc::client::Client;
use ipc::fastpath::{NeighbourList, Request, Routes, SaInfo, SpInfo, SyncStats};
use ipc::statement::{parse_sa, parse_sp, without_keyword};
use ipc::{CallError, Direction, PolicyId, SaId, SaTarget};
use serde_json::Value;
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
    /// The FIB: prefixes, next hops, origin (static or kernel), counters.
    Routes,
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

fn words(w: &[String]) -> Vec<&str> {
    w.iter().map(String::as_str).collect()
}

fn request(cmd: &Cmd) -> Result<Request, String> {
    Ok(match cmd {
        Cmd::Stats => Request::Stats,
        Cmd::Ports => Request::Ports,
        Cmd::Locals => Request::Locals,
        Cmd::Routes => Request::Routes,
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
    let result = request(&args.cmd).and_then(|r| run(&args, &r).map_err(|e| e.to_string()));
    if let Err(e) = result {
        eprintln!("fastpath-ctl: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args, request: &Request) -> Result<(), CallError> {
    if let Request::Subscribe { .. } = request {
        return ipc::client::follow(&args.socket, request, &mut std::io::stdout().lock());
    }
    let mut client = Client::new(&args.socket, Duration::from_secs(5));
    let result: Value = client.call(request)?;
    if args.json {
        println!("{result}");
        return Ok(());
    }
    let typed = |e: serde_json::Error| CallError::BadReply(e.to_string());
    match &args.cmd {
        Cmd::Sa { cmd: SaCmd::List } => {
            print_sas(&serde_json::from_value::<Vec<SaInfo>>(result).map_err(typed)?)
        }
        Cmd::Sp {
            cmd: SpCmd::List { .. },
        } => print_sps(&serde_json::from_value::<Vec<SpInfo>>(result).map_err(typed)?),
        Cmd::Routes => print_routes(&serde_json::from_value::<Routes>(result).map_err(typed)?),
        Cmd::Neighbours => {
            print_neighbours(&serde_json::from_value::<NeighbourList>(result).map_err(typed)?)
        }
        Cmd::SyncSettings => {
            let stats = serde_json::from_value::<SyncStats>(result).map_err(typed)?;
            let s = stats.settings;
            println!("period_packets_inbound: {}", s.period_packets_inbound);
            println!("period_packets_outbound: {}", s.period_packets_outbound);
            println!("period_time_ms: {}", s.period_time_ms);
            println!("oseq_shift: {}", s.oseq_shift);
            println!("snapshots: {}", stats.snapshots);
        }
        _ => match result.as_object() {
            Some(map) => {
                for (k, v) in map {
                    println!("{k}: {v}");
                }
            }
            None => println!("{result}"),
        },
    }
    Ok(())
}

fn print_sas(sas: &[SaInfo]) {
    println!(
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
    );
    for sa in sas {
        let state = serde_json::to_value(sa.state).unwrap_or_default();
        println!(
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
        );
    }
}

fn print_sps(sps: &[SpInfo]) {
    for p in sps {
        println!("{:>5} {}", p.id, p.sp);
    }
}

fn print_routes(r: &Routes) {
    if !r.enabled {
        println!("routing off: each port sends to its own next hop (see `ports`)");
        println!("no_route: {}", r.no_route);
        return;
    }
    println!("{:<44} {:>4} {:<40} origin", "prefix", "port", "via");
    for route in &r.routes {
        let via = route.via.map_or("connected".to_string(), |g| g.to_string());
        println!(
            "{:<44} {:>4} {:<40} {}",
            route.prefix, route.port, via, route.origin
        );
    }
    println!(
        "ipv4 {} ipv6 {} next-hops {} kernel-routes {} no-route {} neighbour-unresolved {}",
        r.ipv4,
        r.ipv6,
        r.next_hops,
        if r.kernel_routes { "on" } else { "off" },
        r.no_route,
        r.neighbour_unresolved
    );
    if !r.mirror.is_empty() {
        let counters: Vec<String> = r.mirror.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("mirror: {}", counters.join(" "));
    }
}

fn print_neighbours(n: &NeighbourList) {
    println!("{:>4} {:<40} {:<17} state", "port", "address", "mac");
    for e in &n.neighbours {
        println!(
            "{:>4} {:<40} {:<17} {}",
            e.port,
            e.addr.to_string(),
            e.mac.to_string(),
            e.state
        );
    }
    println!(
        "{} neighbours from {}; neighbour-unresolved {}",
        n.neighbours.len(),
        n.source,
        n.neighbour_unresolved
    );
}
