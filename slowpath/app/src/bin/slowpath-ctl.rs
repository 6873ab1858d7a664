//! `slowpath-ctl`: the operator's view of a running slow path, through its control socket.
//!
//! ```text
//! slowpath-ctl -s /run/slowpath.sock instances | groups | ha | tracks | interfaces | events
//! slowpath-ctl -s SOCK switchover GROUP [--hold-ms 60000]   # this node steps down
//! slowpath-ctl -s SOCK ha-set NAME active|standby           # the operator sets the role
//! slowpath-ctl -s SOCK follow                               # streams events until interrupted
//! slowpath-ctl -s SOCK ike-sas | child-sas | ike-counters
//! slowpath-ctl -s SOCK initiate CONN [CHILD] | terminate CONN|ID | rekey ID [CHILD] | flush
//! ```

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
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
    /// This node steps down from master in a VRRP group (or the one behind an HA group).
    Switchover {
        group: String,
        /// How long it stays backup before it may preempt again.
        #[arg(long, default_value_t = 60_000)]
        hold_ms: u64,
    },
    /// Set an HA group's role by hand.
    HaSet { name: String, role: String },
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
    /// Delete every IKE SA.
    Flush,
}

fn main() {
    let args = Args::parse();
    let request = match &args.cmd {
        Cmd::Instances => json!({"op": "instances"}),
        Cmd::Groups => json!({"op": "groups"}),
        Cmd::Ha => json!({"op": "ha_groups"}),
        Cmd::Tracks => json!({"op": "tracks"}),
        Cmd::Interfaces => json!({"op": "interfaces"}),
        Cmd::Events => json!({"op": "events"}),
        Cmd::Follow => json!({"op": "subscribe"}),
        Cmd::Switchover { group, hold_ms } => {
            json!({"op": "switchover", "group": group, "hold_ms": hold_ms})
        }
        Cmd::HaSet { name, role } => json!({"op": "ha_set", "ha_group": name, "role": role}),
        Cmd::IkeSas => json!({"op": "ike_sas"}),
        Cmd::ChildSas => json!({"op": "child_sas"}),
        Cmd::IkeCounters => json!({"op": "ike_counters"}),
        Cmd::Initiate { conn, child } => json!({"op": "initiate", "conn": conn, "child": child}),
        Cmd::Terminate { which } => match which.parse::<u64>() {
            Ok(id) => json!({"op": "terminate", "ike_sa": id}),
            Err(_) => json!({"op": "terminate", "conn": which}),
        },
        Cmd::Rekey { ike_sa, child } => json!({"op": "rekey", "ike_sa": ike_sa, "child": child}),
        Cmd::Flush => json!({"op": "flush"}),
    };
    if let Err(e) = run(&args, request) {
        eprintln!("slowpath-ctl: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args, mut request: Value) -> Result<(), String> {
    let mut stream =
        UnixStream::connect(&args.socket).map_err(|e| format!("{}: {e}", args.socket.display()))?;
    request["v"] = json!(1);
    request["id"] = json!(1);
    writeln!(stream, "{request}").map_err(|e| e.to_string())?;
    let follow = matches!(args.cmd, Cmd::Follow);
    if !follow {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
    }
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| format!("no reply: {e}"))?;
    let reply: Value = serde_json::from_str(&line).map_err(|e| format!("bad reply: {e}"))?;
    if reply["ok"] != json!(true) {
        return Err(reply["error"].as_str().unwrap_or("failed").to_string());
    }
    let result = &reply["result"];
    match (&args.cmd, args.json) {
        (_, true) => println!("{result}"),
        (Cmd::Instances, false) => print_instances(result),
        _ => println!(
            "{}",
            serde_json::to_string_pretty(result).unwrap_or_default()
        ),
    }
    if follow {
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => print!("{line}"),
            }
        }
    }
    Ok(())
}

fn print_instances(r: &Value) {
    println!(
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
    );
    for i in r.as_array().into_iter().flatten() {
        let s = |k: &str| i[k].as_str().unwrap_or("-").to_string();
        let c = &i["counters"];
        let changes = ["became_master", "became_backup", "became_fault"]
            .iter()
            .map(|k| c[k].as_u64().unwrap_or(0))
            .sum::<u64>();
        println!(
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
        );
    }
}
