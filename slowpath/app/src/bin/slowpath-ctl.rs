//! `slowpath-ctl`: the operator's view of a running slow path, through its control socket.
//!
//! ```text
//! slowpath-ctl -s /run/slowpath.sock instances | groups | ha | tracks | interfaces | events
//! slowpath-ctl -s SOCK switchover GROUP [--hold-ms 60000]   # this node steps down
//! slowpath-ctl -s SOCK ha-set NAME active|standby           # the operator sets the role
//! slowpath-ctl -s SOCK follow                               # streams events until interrupted
//! slowpath-ctl -s SOCK snmp-traps                           # receivers: sent, suppressed
//! slowpath-ctl -s SOCK ike-sas | child-sas | ike-counters | pools
//! slowpath-ctl -s SOCK initiate CONN [CHILD] | terminate CONN|ID | rekey ID [CHILD]
//! slowpath-ctl -s SOCK flush [half-open]                  # everything, or what never completed
//! slowpath-ctl -s SOCK crypto-groups | crypto-group NAME   # redundant tunnels
//! slowpath-ctl -s SOCK crypto-group-switchover NAME        # traffic to the other member
//! ```

use clap::{Parser, Subcommand};
use ipc::client::{Client, Output};
use ipc::slowpath::{HaRole, Request, TerminateTarget};
use ipc::CallError;
use serde_json::Value;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "slowpath-ctl", about = "Talk to a running slow path")]
struct Args {
    /// The slow path's control socket (`control PATH` in its config).
    #[arg(short, long)]
    socket: PathBuf,
    /// Print the raw JSON replies.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// VRRP instances: state, priority, master, timers, counters.
    Instances,
    /// VRRP sync groups.
    Groups,
    /// HA groups: the node's active/standby role.
    Ha,
    /// Tracked objects.
    Tracks,
    /// Interfaces and the frames refused on them.
    Interfaces,
    /// The recent events.
    Events,
    /// Stream events until interrupted.
    Follow,
    /// SNMP trap receivers: rate limit, traps sent, failed and suppressed by the limit.
    SnmpTraps,
    /// This node steps down from master in a VRRP group (or the one behind an HA group).
    Switchover {
        group: String,
        /// How long it stays backup before it may preempt again.
        #[arg(long, default_value_t = 60_000)]
        hold_ms: u64,
    },
    /// Set an HA group's role by hand.
    HaSet { name: String, role: Role },
    /// IKE SAs: state, SPIs, peer, algorithms, established time, rekey in.
    IkeSas,
    /// CHILD SAs: SPIs, selectors, and the fast path's packets, bytes and sequence numbers.
    ChildSas,
    /// IKE drop counters.
    IkeCounters,
    /// Start a connection (and one of its children).
    Initiate { conn: String, child: Option<String> },
    /// Delete the IKE SAs of a connection (or one IKE SA by its id).
    Terminate { which: String },
    /// Rekey an IKE SA (by id), or one of its CHILD SAs.
    Rekey { ike_sa: u64, child: Option<u64> },
    /// Virtual IP pools: range, size, leased, free, and who holds which address.
    Pools,
    /// Delete every IKE SA; `half-open`: only what never completed.
    Flush { what: Option<FlushWhat> },
    /// Crypto groups: active member, members' tunnels and peers, switchovers, last switch.
    CryptoGroups,
    /// One crypto group in full.
    CryptoGroup { name: String },
    /// Move a crypto group's traffic to its other member (which must be up).
    CryptoGroupSwitchover { name: String },
}

/// What `flush` deletes besides everything.
#[derive(Clone, Copy, clap::ValueEnum)]
enum FlushWhat {
    /// IKE SAs whose IKE_AUTH never completed, and new CHILD SA requests not yet sent.
    HalfOpen,
}

fn request(cmd: &Cmd) -> Request {
    match cmd {
        Cmd::Instances => Request::Instances,
        Cmd::Groups => Request::Groups,
        Cmd::Ha => Request::HaGroups,
        Cmd::Tracks => Request::Tracks,
        Cmd::Interfaces => Request::Interfaces,
        Cmd::Events => Request::Events,
        Cmd::Follow => Request::Subscribe,
        Cmd::SnmpTraps => Request::SnmpTraps,
        Cmd::Switchover { group, hold_ms } => Request::Switchover {
            group: group.clone(),
            hold_ms: *hold_ms,
        },
        Cmd::HaSet { name, role } => Request::HaSet {
            ha_group: name.clone(),
            role: match role {
                Role::Active => HaRole::Active,
                Role::Standby => HaRole::Standby,
            },
        },
        Cmd::IkeSas => Request::IkeSas,
        Cmd::ChildSas => Request::ChildSas { ike_sa: None },
        Cmd::IkeCounters => Request::IkeCounters,
        Cmd::Initiate { conn, child } => Request::Initiate {
            conn: conn.clone(),
            child: child.clone(),
        },
        // An IKE SA id is a number; anything else names a connection.
        Cmd::Terminate { which } => Request::Terminate(match ipc::id::parse_number(which) {
            Ok(ike_sa) => TerminateTarget::IkeSa { ike_sa },
            Err(_) => TerminateTarget::Conn {
                conn: which.clone(),
            },
        }),
        Cmd::Rekey { ike_sa, child } => Request::Rekey {
            ike_sa: *ike_sa,
            child: *child,
        },
        Cmd::Pools => Request::Pools,
        Cmd::Flush { what: None } => Request::Flush,
        Cmd::Flush {
            what: Some(FlushWhat::HalfOpen),
        } => Request::FlushHalfOpen,
        Cmd::CryptoGroups => Request::CryptoGroups,
        Cmd::CryptoGroup { name } => Request::CryptoGroup { name: name.clone() },
        Cmd::CryptoGroupSwitchover { name } => {
            Request::CryptoGroupSwitchover { name: name.clone() }
        }
    }
}

fn main() {
    let args = Args::parse();
    let mut out = Output::stdout();
    let result = run(&args, &request(&args.cmd), &mut out);
    out.exit("slowpath-ctl", result)
}

fn run(args: &Args, request: &Request, out: &mut Output) -> Result<(), CallError> {
    if let Request::Subscribe = request {
        return ipc::client::follow(&args.socket, request, out);
    }
    let mut client = Client::new(&args.socket, Duration::from_secs(5));
    let result: Value = client.call(request)?;
    match (&args.cmd, args.json) {
        (_, true) => writeln!(out, "{result}")?,
        (Cmd::Instances, false) => print_instances(out, &result)?,
        (Cmd::Pools, false) => print_pools(out, &result)?,
        (Cmd::CryptoGroups, false) => print_crypto_groups(out, &result)?,
        _ => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        )?,
    }
    Ok(())
}

/// An HA group's role, as the operator sets it.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Role {
    Active,
    Standby,
}

/// StarOS's `show crypto group summary`: a line per group.
fn print_crypto_groups(out: &mut impl Write, r: &Value) -> io::Result<()> {
    writeln!(
        out,
        "{:<14} {:<10} {:<8} {:<22} {:<22} {:>6} {:>7} {:>12}",
        "group", "active", "traffic", "primary", "secondary", "switch", "reverts", "last-switch"
    )?;
    for g in r.as_array().into_iter().flatten() {
        let member = |m: &Value| {
            let s = |k: &str| m[k].as_str().unwrap_or("-").to_string();
            format!("{} {}/{}", s("conn"), s("tunnel"), s("peer"))
        };
        let last = g["last_switch_ago_ms"]
            .as_u64()
            .map_or("never".to_string(), |ms| format!("{}s ago", ms / 1000));
        writeln!(
            out,
            "{:<14} {:<10} {:<8} {:<22} {:<22} {:>6} {:>7} {:>12}",
            g["name"].as_str().unwrap_or("-"),
            g["active"].as_str().unwrap_or("-"),
            if g["carrying"].as_bool() == Some(true) {
                "yes"
            } else {
                "none"
            },
            member(&g["primary"]),
            member(&g["secondary"]),
            g["switchovers"],
            g["reverts"],
            last
        )?;
    }
    Ok(())
}

fn print_pools(out: &mut impl Write, r: &Value) -> io::Result<()> {
    for p in r.as_array().into_iter().flatten() {
        let s = |k: &str| p[k].as_str().unwrap_or("-").to_string();
        writeln!(
            out,
            "{} {}: size {}, leased {}, offline {}, free {}",
            s("name"),
            s("range"),
            p["size"],
            p["leased"],
            p["offline"],
            p["free"]
        )?;
        for l in p["leases"].as_array().into_iter().flatten() {
            let s = |k: &str| l[k].as_str().unwrap_or("-").to_string();
            let holder = match l["ike_sa"].as_u64() {
                Some(id) => format!("IKE SA {id} {}_{}", s("spi_i"), s("spi_r")),
                None => "offline".to_string(),
            };
            writeln!(out, "  {:<16} {:<32} {holder}", s("address"), s("identity"))?;
        }
    }
    Ok(())
}

fn print_instances(out: &mut impl Write, r: &Value) -> io::Result<()> {
    writeln!(
        out,
        "{:<12} {:<10} {:>4} {:<7} {:>4}/{:<4} {:<26} {:>6} {:>9} {:>9} {:>7}",
        "instance",
        "interface",
        "vrid",
        "state",
        "prio",
        "eff",
        "master",
        "adv-cs",
        "sent",
        "received",
        "changes"
    )?;
    for i in r.as_array().into_iter().flatten() {
        let s = |k: &str| i[k].as_str().unwrap_or("-").to_string();
        let c = &i["counters"];
        let changes = ["became_master", "became_backup", "became_fault"]
            .iter()
            .map(|k| c[k].as_u64().unwrap_or(0))
            .sum::<u64>();
        writeln!(
            out,
            "{:<12} {:<10} {:>4} {:<7} {:>4}/{:<4} {:<26} {:>6} {:>9} {:>9} {:>7}",
            s("name"),
            s("interface"),
            i["vrid"],
            s("state"),
            i["priority"],
            i["effective_priority"],
            s("master"),
            i["master_adver_interval_cs"],
            c["adverts_sent"],
            c["adverts_received"],
            changes
        )?;
    }
    Ok(())
}
