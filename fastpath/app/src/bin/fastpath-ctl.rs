//! `fastpath-ctl`: the operator's view of a running fast path, through its control socket.
//!
//! ```text
//! fastpath-ctl -s /run/fastpath.sock stats | ports | locals
//! fastpath-ctl -s SOCK sa list | sa show ID | sa del ID
//! fastpath-ctl -s SOCK sa add 9 out spi 0x1009 aes128gcm16 key ... tunnel 192.0.2.1 192.0.2.2
//! fastpath-ctl -s SOCK sa activate all --oseq-shift 65536 --generation 3 | sa deactivate all
//! fastpath-ctl -s SOCK sp list out | sp add out protect 9 pri 5 src ... dst ... | sp del out 3
//! fastpath-ctl -s SOCK events [--activity-ms 1000]   # streams SA events until interrupted
//! ```

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "fastpath-ctl", about = "Talk to a running fast path")]
struct Args {
    /// The fast path's control socket (`fastpath --control PATH`).
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
    /// Counters summed over the workers.
    Stats,
    /// The configured ports, with their links.
    Ports,
    /// The node's own addresses (traffic to them goes to the kernel).
    Locals,
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
        id: u32,
    },
    /// The words of an `sa` statement of the configuration file.
    Add {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 1..)]
        words: Vec<String>,
    },
    Del {
        id: u32,
    },
    /// HA takeover: continue outbound at synced + shift, under a new IV generation.
    Activate {
        /// An SA id, or `all`.
        which: String,
        #[arg(long, default_value_t = 65536)]
        oseq_shift: u64,
        #[arg(long)]
        generation: u16,
    },
    Deactivate {
        which: String,
    },
}

#[derive(Subcommand)]
enum SpCmd {
    List {
        dir: String,
    },
    /// The words of an `sp` statement of the configuration file.
    Add {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 1..)]
        words: Vec<String>,
    },
    Del {
        dir: String,
        id: u32,
    },
}

fn which(w: &str) -> Value {
    w.parse::<u32>().map_or(json!("all"), |id| json!(id))
}

fn main() {
    let args = Args::parse();
    let request = match &args.cmd {
        Cmd::Stats => json!({"op": "stats"}),
        Cmd::Ports => json!({"op": "ports"}),
        Cmd::Locals => json!({"op": "locals"}),
        Cmd::Events { activity_ms } => json!({"op": "subscribe", "activity_ms": activity_ms}),
        Cmd::Sa { cmd } => match cmd {
            SaCmd::List => json!({"op": "sa_list"}),
            SaCmd::Show { id } => json!({"op": "sa_get", "sa": id}),
            SaCmd::Add { words } => json!({"op": "sa_add", "line": words.join(" ")}),
            SaCmd::Del { id } => json!({"op": "sa_del", "sa": id}),
            SaCmd::Activate {
                which: w,
                oseq_shift,
                generation,
            } => {
                json!({"op": "sa_activate", "sa": which(w), "oseq_shift": oseq_shift, "generation": generation})
            }
            SaCmd::Deactivate { which: w } => json!({"op": "sa_deactivate", "sa": which(w)}),
        },
        Cmd::Sp { cmd } => match cmd {
            SpCmd::List { dir } => json!({"op": "sp_list", "dir": dir}),
            SpCmd::Add { words } => json!({"op": "sp_add", "line": words.join(" ")}),
            SpCmd::Del { dir, id } => json!({"op": "sp_del", "dir": dir, "policy": id}),
        },
    };
    if let Err(e) = run(&args, request) {
        eprintln!("fastpath-ctl: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args, mut request: Value) -> Result<(), String> {
    let mut stream =
        UnixStream::connect(&args.socket).map_err(|e| format!("{}: {e}", args.socket.display()))?;
    request["v"] = json!(1);
    request["id"] = json!(1);
    writeln!(stream, "{request}").map_err(|e| e.to_string())?;
    let events = matches!(args.cmd, Cmd::Events { .. });
    if !events {
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
    if args.json {
        println!("{result}");
    } else {
        print_human(&args.cmd, result);
    }
    if events {
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return Ok(()),
                Ok(_) => print!("{line}"),
            }
        }
    }
    Ok(())
}

fn print_human(cmd: &Cmd, r: &Value) {
    match cmd {
        Cmd::Sa { cmd: SaCmd::List } => {
            println!(
                "{:>6} {:>3} {:<10} {:<4} {:<8} {:<34} {:>12} {:>12} {:>12} {:>10} {:>8}",
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
            for sa in r.as_array().into_iter().flatten() {
                println!(
                    "{:>6} {:>3} {:<10} {:<4} {:<8} {:<34} {:>12} {:>12} {:>12} {:>10} {:>8}",
                    sa["id"],
                    sa["worker"],
                    s(&sa["spi"]),
                    s(&sa["direction"]),
                    s(&sa["state"]),
                    s(&sa["mode"]),
                    sa["oseq"],
                    sa["window_top"],
                    sa["packets"],
                    sa["bytes"],
                    sa["idle_ms"]
                );
            }
        }
        Cmd::Sp {
            cmd: SpCmd::List { .. },
        } => {
            for p in r.as_array().into_iter().flatten() {
                println!(
                    "{:>5} pri {:<6} {} -> {}",
                    p["id"],
                    p["priority"],
                    s(&p["selector"]),
                    s(&p["action"])
                );
            }
        }
        _ => match r.as_object() {
            Some(map) => {
                for (k, v) in map {
                    println!("{k}: {v}");
                }
            }
            None => println!("{r}"),
        },
    }
}

fn s(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}
