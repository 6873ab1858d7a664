//! `slowpath`: runs the VRRP instances, groups, HA groups and IKEv2 connections of a config file
//! until SIGINT or SIGTERM, then steps down gracefully (priority 0 adverts, addresses removed).

use clap::Parser;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "The IPsec gateway's slow path: VRRP, HA groups and IKEv2"
)]
struct Args {
    /// The configuration file (see the README: vrrp, group, ha-group, track, control).
    #[arg(long)]
    config: PathBuf,
    /// Only check the configuration and exit.
    #[arg(long)]
    check: bool,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a redirected log file.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    let cfg = match slowpath::config::Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("slowpath: {e}");
            std::process::exit(2);
        }
    };
    if args.check {
        println!("{}: ok", args.config.display());
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            eprintln!("slowpath: signal: {e}");
            std::process::exit(1);
        }
    }
    let result = slowpath::daemon::Daemon::new(cfg, stop).and_then(|mut d| d.run());
    if let Err(e) = result {
        eprintln!("slowpath: {e}");
        std::process::exit(1);
    }
}
