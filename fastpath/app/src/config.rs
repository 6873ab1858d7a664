//! The static configuration file: ports, the node's own addresses, SAs and SPs, for labs and
//! tests without IKE. The grammar is the interface's (`ipc::fastpath::file`, whose module
//! documentation has it): the file says what the control socket is told, the same way. Here
//! it becomes what the workers install. A bad line is refused with `file:line: reason`
//! before anything starts.

use crate::control::convert;
use esp::sa::{Direction, SaConfig, SaId};
use esp::spd::{Action, Selector};
use ipc::fastpath::file::FileConfig;
pub use ipc::fastpath::file::MetricsSpec;
use ipc::fastpath::route::RouteSpec;
pub use ipc::fastpath::PortRole;
use std::net::IpAddr;
use std::path::Path;
pub use toolkit::config::ConfigError;

/// The highest SA id (the interface's bound, which the SAD holds too).
pub const MAX_SA_ID: u32 = ipc::MAX_SA_ID;

/// One port statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    pub port: u16,
    pub role: PortRole,
    /// The next hop's MAC address on this port (until neighbour resolution does it).
    pub peer_mac: [u8; 6],
    /// The port (a net_tap) that is this port's exception path to the kernel.
    pub exception: Option<u16>,
    /// The exception TAP's MAC (else derived from the port's own).
    pub exception_mac: Option<[u8; 6]>,
    /// Only send on this port, never poll it (a sink such as net_null, which would
    /// otherwise also be an endless source).
    pub tx_only: bool,
    /// The next hop on this port, whose MAC address is taken from the kernel's neighbour
    /// table (through the exception port) instead of `peer-mac`.
    pub next_hop: Option<IpAddr>,
    /// The port's MTU (the largest IP packet it sends); the driver's when not given.
    pub mtu: Option<u16>,
}

/// One SP statement.
#[derive(Debug, Clone)]
pub struct SpConfig {
    pub direction: Direction,
    pub priority: u32,
    pub selector: Selector,
    pub action: Action,
}

/// The whole file, as the workers install it.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub ports: Vec<PortConfig>,
    /// The node's own addresses: packets to them go to the kernel (exception path).
    pub locals: Vec<IpAddr>,
    pub sas: Vec<(SaId, SaConfig)>,
    pub sps: Vec<SpConfig>,
    /// `route` statements: with them (or `kernel-routes`), packets are sent by destination.
    pub routes: Vec<RouteSpec>,
    /// Mirror the kernel's routes and neighbours through the exception TAPs.
    pub kernel_routes: bool,
    /// The Prometheus endpoint (`metrics ADDRESS:PORT`), off when None.
    pub metrics: Option<MetricsSpec>,
}

impl Config {
    /// Reads (bounded) and parses a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        FileConfig::load(path).map(Config::from)
    }

    /// Parses the text of a file named `file` (for messages).
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        FileConfig::parse(text, file).map(Config::from)
    }
}

impl From<FileConfig> for Config {
    fn from(f: FileConfig) -> Config {
        let mut sas: Vec<(SaId, SaConfig)> = f.sas.iter().map(convert::sa_config).collect();
        let sps: Vec<SpConfig> = f
            .sps
            .iter()
            .map(|sp| SpConfig {
                direction: convert::direction(sp.dir),
                priority: sp.priority,
                selector: convert::selector(sp),
                action: convert::action(sp.action),
            })
            .collect();
        // Inbound SPs also say what a decrypted packet may be: they become the SA's
        // selectors.
        let index: std::collections::HashMap<SaId, usize> = sas
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (*id, i))
            .collect();
        for sp in &sps {
            if let (Direction::Inbound, Action::Protect(b)) = (sp.direction, &sp.action) {
                for &id in b.as_slice() {
                    if let Some(&i) = index.get(&SaId(id)) {
                        sas[i].1.selectors.push(sp.selector);
                    }
                }
            }
        }
        Config {
            ports: f
                .ports
                .into_iter()
                .map(|p| PortConfig {
                    port: p.port,
                    role: p.role,
                    peer_mac: p.peer_mac.octets(),
                    exception: p.exception,
                    exception_mac: p.exception_mac.map(|m| m.octets()),
                    tx_only: p.tx_only,
                    next_hop: p.next_hop,
                    mtu: p.mtu,
                })
                .collect(),
            locals: f.locals,
            sas,
            sps,
            routes: f.routes,
            kernel_routes: f.kernel_routes,
            metrics: f.metrics,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use esp::sa::UdpEncap;
    use esp::spd::PortRange;

    const GOOD: &str = "\
# a lab
port 0 protected peer-mac 02:00:00:00:00:01
port 1 unprotected peer-mac 02:00:00:00:00:02
sa 1 out spi 0x1005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.1 192.0.2.2 esn window 2048
sa 2 in spi 0x2005 aes128-sha1 key 2b7e151628aed2a6abf7158809cf4f3c auth-key 0102030405060708090a0b0c0d0e0f1011121314 tunnel 192.0.2.1 192.0.2.2 natt 4500:4500 lifetime-packets 100:200 standby
sp out protect 1 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24 proto udp dport 5001
sp in protect 2 pri 10 src 203.0.113.0/24 dst 198.51.100.0/24
sp out bypass pri 1 src 0.0.0.0/0 dst 192.0.2.0/24 proto udp dport 500:500
";

    #[test]
    fn parses_a_whole_lab() {
        let c = Config::parse(GOOD, "lab.conf").unwrap();
        assert_eq!(c.ports.len(), 2);
        assert_eq!(c.ports[1].peer_mac, [2, 0, 0, 0, 0, 2]);
        let (id, sa) = &c.sas[0];
        assert_eq!(*id, SaId(1));
        assert_eq!(sa.spi, 0x1005);
        assert!(sa.esn && sa.active);
        assert_eq!(sa.replay_window, 2048);
        let (_, sa2) = &c.sas[1];
        assert_eq!(
            sa2.encap,
            Some(UdpEncap {
                local_port: 4500,
                remote_port: 4500
            })
        );
        assert_eq!(sa2.lifetime.hard_packets, 200);
        assert!(!sa2.active);
        assert_eq!(
            sa2.selectors.len(),
            1,
            "the inbound SP became the SA's selector"
        );
        assert_eq!(c.sps.len(), 3);
        assert_eq!(c.sps[0].selector.proto, Some(17));
        assert_eq!(c.sps[0].selector.dport, PortRange { lo: 5001, hi: 5001 });
    }

    #[test]
    fn refuses_bad_lines_with_file_line_and_reason() {
        let cases = [
            ("sa 1 out spi 0x1005 aes128gcm16 key 00 tunnel 192.0.2.1 192.0.2.2", "key is 1 bytes"),
            ("sa 1 out spi 0x1005 aes999 key 00", "unknown transform"),
            ("sa 1 out spi 0x1005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe", "missing `tunnel"),
            ("sa 1 out spi 0x1005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.1 2001:db8::1", "one address family"),
            ("sp out protect 9 pri 1 src 10.0.0.0/8 dst 10.0.0.0/8", "not defined above"),
            ("sp out bypass src 10.0.0.0/8 dst 10.0.0.0/8", "missing `pri"),
            ("sp out bypass pri 1 src 10.0.0.0/8 dst 10.0.0.0/8 dport 9:1", "port range"),
            ("sp sideways bypass pri 1", "direction"),
            ("frobnicate", "unknown statement"),
            ("sp out protect 1,2 pri 1 src 10.0.0.0/8 dst 10.0.0.0/8", "bundles"),
            ("port 65536 protected", "over 65535"),
            ("sa 1 out spi 0x1005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.1 192.0.2.2 window 4294967328", "over 4294967295"),
            ("sa 1 out spi 0x1005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.1 192.0.2.2 natt 70000:4500", "over 65535"),
            ("sa 4000000000 out spi 0x1005 aes999", "SA id 4000000000 is over"),
            ("port 0 inside", "port role"),
        ];
        for (line, want) in cases {
            let text = format!("# header\n{line}\n");
            let e = Config::parse(&text, "bad.conf").unwrap_err();
            assert_eq!((e.file.as_str(), e.line), ("bad.conf", 2), "{line}");
            assert!(e.reason.contains(want), "{line}: {} lacks {want}", e.reason);
            assert!(e.to_string().starts_with("bad.conf:2: "));
        }
    }
}
