//! The fast path's static configuration file: the same things the control socket is told
//! (ports, the node's own addresses, SAs and SPs), for labs and tests without IKE. One
//! statement per line; `#` starts a comment. A bad line is refused with `file:line: reason`
//! before anything starts.
//!
//! ```text
//! port 0 protected   peer-mac 02:00:00:00:00:01
//! port 1 unprotected peer-mac 02:00:00:00:00:02 exception 2   # port 2: a net_tap to the kernel
//! port 1 unprotected exception 2 next-hop 192.0.2.2            # MAC from the kernel's neighbours
//! port 1 unprotected exception 2 exception-mac 02:00:00:00:01:01 # the TAP's MAC (else derived)
//! local 192.0.2.1 10.0.1.254                                    # the node's addresses (to the kernel)
//! sa 1 out spi 0x1005 aes128gcm16 key 2b7e...cafebabe tunnel 192.0.2.1 192.0.2.2 esn window 1024
//! sp out protect 1 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24 proto udp dport 5001
//! route 10.2.0.0/16 via 10.0.1.1 port 0                         # a gateway on port 0
//! route 10.0.1.0/24 port 0                                      # connected: hosts on port 0
//! kernel-routes on                                              # mirror the kernel's routes
//! metrics 127.0.0.1:9464 per-sa off                             # Prometheus at GET /metrics
//! ```
//! `metrics ADDRESS:PORT [per-sa on|off]` serves the counters in Prometheus' text format
//! (off without it); `per-sa off` leaves the per-SA families out, whose page is long with
//! many SAs.
//! With `route` or `kernel-routes on`, each packet is sent by a longest-prefix match on its
//! destination (outbound ESP: the outer one); a port's `peer-mac` / `next-hop` is then that
//! port's default route (0.0.0.0/0 and ::/0) for the packets its role sends. With neither,
//! every packet a port sends goes to that port's next hop. `route` statements are described
//! in `super::route`.
//! `sa` and `sp` statements are described in `crate::statement`; transform names are
//! strongSwan's ESP proposal keywords.

use super::route::{parse_on_off, parse_route, RouteSpec};
use super::PortRole;
use crate::sa::SaSpec;
use crate::sp::{SpAction, SpSpec};
use crate::statement::{parse_sa, parse_sp};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use toolkit::config::{read_bounded, statements, ConfigError, Words};
use toolkit::mac::MacAddr;

/// The largest configuration file read (a file of 100,000 SAs is about 15 MB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// One `port` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub port: u16,
    pub role: PortRole,
    /// The next hop's MAC address on this port (broadcast until resolved).
    pub peer_mac: MacAddr,
    /// The port (a net_tap) that is this port's exception path to the kernel.
    pub exception: Option<u16>,
    /// The exception TAP's MAC, which the port speaks with; without it, one derived from the
    /// port's own. Stable either way, so that neighbours' caches outlive a restart.
    pub exception_mac: Option<MacAddr>,
    /// Only send on this port, never poll it (a sink such as net_null, which would
    /// otherwise also be an endless source).
    pub tx_only: bool,
    /// The next hop, whose MAC comes from the kernel's neighbour table.
    pub next_hop: Option<IpAddr>,
    /// The largest IP packet the port sends; the driver's when not given.
    pub mtu: Option<u16>,
}

/// The `metrics` statement: where Prometheus scrapes the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsSpec {
    pub addr: SocketAddr,
    /// Each SA's counters on the page too (on unless `per-sa off`).
    pub per_sa: bool,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileConfig {
    pub ports: Vec<PortSpec>,
    pub locals: Vec<IpAddr>,
    pub sas: Vec<SaSpec>,
    pub sps: Vec<SpSpec>,
    pub routes: Vec<RouteSpec>,
    /// Mirror the kernel's routes and neighbours (through the ports' exception TAPs).
    pub kernel_routes: bool,
    /// The Prometheus endpoint, if one is asked for.
    pub metrics: Option<MetricsSpec>,
}

impl FileConfig {
    /// Reads (bounded) and parses a file.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = read_bounded(path, MAX_FILE_BYTES)?;
        FileConfig::parse(&text, &path.display().to_string())
    }

    /// Parses the text of a file named `file` (for messages). Linear in the file's size.
    pub fn parse(text: &str, file: &str) -> Result<FileConfig, ConfigError> {
        let mut cfg = FileConfig::default();
        let mut sa_ids = HashSet::new();
        let mut spis = HashSet::new();
        // A million routes load from a file: their prefixes are checked against a set.
        let mut prefixes = HashSet::new();
        let mut last_line = 0;
        let mut routes_at = Vec::new();
        for (line, words) in statements(text) {
            last_line = line;
            let err = |reason: String| ConfigError::at(file, line, reason);
            let rest = &words[1..];
            match words[0] {
                "port" => cfg.ports.push(parse_port(rest).map_err(err)?),
                "local" => {
                    for w in rest {
                        let a = w
                            .parse()
                            .map_err(|_| err(format!("`{w}` is not an IP address")))?;
                        cfg.locals.push(a);
                    }
                }
                "sa" => {
                    let sa = parse_sa(rest).map_err(err)?;
                    if !sa_ids.insert(sa.id) {
                        return Err(err(format!("SA {} is defined twice", sa.id)));
                    }
                    // Inbound, the SPI is what finds the SA; outbound, two SAs with one SPI
                    // would be one SA to the peer.
                    if !spis.insert((sa.dir, sa.spi)) {
                        return Err(err(format!(
                            "SPI {:#x} is used twice for {} SAs",
                            sa.spi, sa.dir
                        )));
                    }
                    cfg.sas.push(sa);
                }
                "sp" => {
                    let sp = parse_sp(rest).map_err(err)?;
                    if let SpAction::Protect(id) = sp.action {
                        if !sa_ids.contains(&id) {
                            return Err(err(format!(
                                "sp protects SA {id}, which is not defined above"
                            )));
                        }
                    }
                    cfg.sps.push(sp);
                }
                "route" => {
                    let r = parse_route(rest).map_err(err)?;
                    if !prefixes.insert((r.addr, r.len)) {
                        return Err(err(format!("route {}/{} is given twice", r.addr, r.len)));
                    }
                    routes_at.push(line);
                    cfg.routes.push(r);
                }
                "kernel-routes" => cfg.kernel_routes = parse_on_off(rest).map_err(err)?,
                "metrics" => {
                    if cfg.metrics.is_some() {
                        return Err(err("metrics is given twice".into()));
                    }
                    cfg.metrics = Some(parse_metrics(rest).map_err(err)?);
                }
                w => {
                    return Err(err(format!(
                        "unknown statement `{w}` (want port, local, sa, sp, route, kernel-routes or metrics)"
                    )))
                }
            }
        }
        let roles = |r| cfg.ports.iter().filter(|p| p.role == r).count();
        if !cfg.ports.is_empty()
            && (roles(PortRole::Protected) != 1 || roles(PortRole::Unprotected) != 1)
        {
            return Err(ConfigError::at(
                file,
                last_line,
                "want exactly one protected and one unprotected port",
            ));
        }
        // A route leaves by a port the file sends on (not a TAP, which the kernel drives).
        for (r, &line) in cfg.routes.iter().zip(&routes_at) {
            if !cfg.ports.iter().any(|p| p.port == r.port) {
                return Err(ConfigError::at(
                    file,
                    line,
                    format!("route {}/{}: port {} is not defined", r.addr, r.len, r.port),
                ));
            }
        }
        Ok(cfg)
    }
}

fn parse_metrics(words: &[&str]) -> Result<MetricsSpec, String> {
    let mut w = Words::new(words);
    let addr = w.next_socket_addr("metrics")?;
    let per_sa = match w.next_opt() {
        None => true,
        Some("per-sa") => match w.next("per-sa on|off")? {
            "on" => true,
            "off" => false,
            v => return Err(format!("per-sa {v}: want on or off")),
        },
        Some(o) => return Err(format!("unknown metrics option `{o}`")),
    };
    w.end()?;
    Ok(MetricsSpec { addr, per_sa })
}

fn parse_port(words: &[&str]) -> Result<PortSpec, String> {
    let mut w = Words::new(words);
    let port = w.next_u16("port id")?;
    let role = match w.next("port role")? {
        "protected" => PortRole::Protected,
        "unprotected" => PortRole::Unprotected,
        r => return Err(format!("port role `{r}`: want protected or unprotected")),
    };
    let mut spec = PortSpec {
        port,
        role,
        peer_mac: MacAddr::BROADCAST,
        exception: None,
        exception_mac: None,
        tx_only: false,
        next_hop: None,
        mtu: None,
    };
    while let Some(option) = w.peek() {
        w.next("port option")?;
        match option {
            "peer-mac" => {
                let m = w.next("MAC address")?;
                spec.peer_mac = m
                    .parse()
                    .map_err(|_| format!("`{m}` is not a MAC address"))?;
            }
            "tx-only" => spec.tx_only = true,
            "next-hop" => spec.next_hop = Some(w.next_ip("next-hop address")?),
            "mtu" => {
                let m = w.next_u64("MTU")?;
                spec.mtu = Some(
                    u16::try_from(m)
                        .ok()
                        .filter(|m| *m >= 576)
                        .ok_or("mtu: want 576..65535")?,
                );
            }
            "exception" => spec.exception = Some(w.next_u16("exception port id")?),
            "exception-mac" => {
                let m = w.next("MAC address")?;
                let mac: MacAddr = m
                    .parse()
                    .map_err(|_| format!("`{m}` is not a MAC address"))?;
                if mac.is_multicast() {
                    return Err(format!("exception-mac {m}: a multicast address"));
                }
                spec.exception_mac = Some(mac);
            }
            k => return Err(format!("unknown port option `{k}`")),
        }
    }
    if spec.exception == Some(port) {
        return Err("a port cannot be its own exception port".into());
    }
    if spec.exception_mac.is_some() && spec.exception.is_none() {
        return Err("exception-mac needs an exception port".into());
    }
    Ok(spec)
}
