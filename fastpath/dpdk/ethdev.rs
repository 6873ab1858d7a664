//! Ethernet ports: information, configuration, queues, bursts, stats.

use std::cell::Cell;
use std::ffi::{c_char, CStr, CString};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::eal::{Eal, EalToken};
use crate::error::{check, Error, Result};
use crate::mbuf::MbufBurst;
use crate::mempool::Mempool;
use crate::sys;

/// RSS hash types (`RTE_ETH_RSS_*`), for [`PortConfig::rss_hf`].
pub mod rss {
    /// IPv4 addresses.
    pub const IPV4: u64 = 1 << 2;
    /// Fragmented IPv4.
    pub const FRAG_IPV4: u64 = 1 << 3;
    /// IPv4 + TCP ports.
    pub const NONFRAG_IPV4_TCP: u64 = 1 << 4;
    /// IPv4 + UDP ports.
    pub const NONFRAG_IPV4_UDP: u64 = 1 << 5;
    /// Other IPv4.
    pub const NONFRAG_IPV4_OTHER: u64 = 1 << 7;
    /// IPv6 addresses.
    pub const IPV6: u64 = 1 << 8;
    /// Fragmented IPv6.
    pub const FRAG_IPV6: u64 = 1 << 9;
    /// IPv6 + TCP ports.
    pub const NONFRAG_IPV6_TCP: u64 = 1 << 10;
    /// IPv6 + UDP ports.
    pub const NONFRAG_IPV6_UDP: u64 = 1 << 11;
    /// Other IPv6.
    pub const NONFRAG_IPV6_OTHER: u64 = 1 << 13;
    /// IPv6 with extension headers.
    pub const IPV6_EX: u64 = 1 << 15;
    /// IPv6 + TCP with extension headers.
    pub const IPV6_TCP_EX: u64 = 1 << 16;
    /// IPv6 + UDP with extension headers.
    pub const IPV6_UDP_EX: u64 = 1 << 17;
    /// ESP SPI.
    pub const ESP: u64 = 1 << 27;
    /// `RTE_ETH_RSS_IP`.
    pub const IP: u64 =
        IPV4 | FRAG_IPV4 | NONFRAG_IPV4_OTHER | IPV6 | FRAG_IPV6 | NONFRAG_IPV6_OTHER | IPV6_EX;
    /// `RTE_ETH_RSS_UDP`.
    pub const UDP: u64 = NONFRAG_IPV4_UDP | NONFRAG_IPV6_UDP | IPV6_UDP_EX;
    /// `RTE_ETH_RSS_TCP`.
    pub const TCP: u64 = NONFRAG_IPV4_TCP | NONFRAG_IPV6_TCP | IPV6_TCP_EX;
}

/// `RTE_ETH_RX_OFFLOAD_RSS_HASH`.
const RX_OFFLOAD_RSS_HASH: u64 = 1 << 19;

/// Number of available ports (`rte_eth_dev_count_avail`).
pub fn port_count(_eal: &Eal) -> u16 {
    // SAFETY: EAL is initialised.
    unsafe { sys::rte_eth_dev_count_avail() }
}

/// Ids of the available ports.
pub fn port_ids(_eal: &Eal) -> Vec<u16> {
    let mut v = Vec::new();
    // SAFETY: EAL is initialised; rte_eth_find_next returns RTE_MAX_ETHPORTS at the end.
    let mut p = unsafe { sys::rte_eth_find_next(0) };
    while u32::from(p) < sys::RTE_MAX_ETHPORTS {
        v.push(p);
        // SAFETY: as above.
        p = unsafe { sys::rte_eth_find_next(p + 1) };
    }
    v
}

/// Port id of the device called `name` (e.g. `net_ring0`).
pub fn port_by_name(_eal: &Eal, name: &str) -> Option<u16> {
    let c = CString::new(name).ok()?;
    let mut id = 0u16;
    // SAFETY: valid C string and out pointer.
    let ret = unsafe { sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut id) };
    (ret == 0).then_some(id)
}

/// Creates a virtual device at run time (`rte_eal_hotplug_add("vdev", name, args)`), e.g.
/// `("net_tap0", "iface=tap0")`; its port then shows up in [`port_ids`].
pub fn create_vdev(_eal: &Eal, name: &str, args: &str) -> Result<()> {
    let n = CString::new(name).map_err(|_| Error::InvalidArg("vdev name contains NUL"))?;
    let a = CString::new(args).map_err(|_| Error::InvalidArg("vdev args contain NUL"))?;
    // SAFETY: valid C strings; EAL is initialised.
    let ret = unsafe { sys::rte_eal_hotplug_add(c"vdev".as_ptr(), n.as_ptr(), a.as_ptr()) };
    check("rte_eal_hotplug_add", ret).map(|_| ())
}

/// Static information about a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// Port id.
    pub port_id: u16,
    /// Device name (e.g. `net_ring0`).
    pub name: String,
    /// Driver name (e.g. `net_ring`).
    pub driver_name: String,
    /// Maximum number of RX queues.
    pub max_rx_queues: u16,
    /// Maximum number of TX queues.
    pub max_tx_queues: u16,
    /// Supported RSS hash types (`flow_type_rss_offloads`, see [`rss`]); 0 = no RSS.
    pub rss_offloads: u64,
    /// RSS redirection table size.
    pub reta_size: u16,
    /// RX offload capabilities (`RTE_ETH_RX_OFFLOAD_*`).
    pub rx_offload_capa: u64,
    /// TX offload capabilities (`RTE_ETH_TX_OFFLOAD_*`).
    pub tx_offload_capa: u64,
    /// Minimum MTU.
    pub min_mtu: u16,
    /// Maximum MTU.
    pub max_mtu: u16,
    /// Current MTU.
    pub mtu: u16,
    /// MAC address.
    pub mac: [u8; 6],
    /// NUMA socket (-1 if unknown).
    pub socket_id: i32,
}

impl PortInfo {
    /// Whether the port can spread packets over RX queues by RSS.
    pub fn supports_rss(&self) -> bool {
        self.rss_offloads != 0
    }
}

fn dev_info(port: u16) -> Result<sys::rte_eth_dev_info> {
    let mut info = sys::rte_eth_dev_info::default();
    // SAFETY: valid out pointer; invalid port ids are reported as -ENODEV.
    check("rte_eth_dev_info_get", unsafe {
        sys::rte_eth_dev_info_get(port, &mut info)
    })?;
    Ok(info)
}

fn c_string(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: DPDK returns NUL-terminated strings that live as long as the device.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn mac_of(port: u16) -> Result<[u8; 6]> {
    let mut a = sys::rte_ether_addr::default();
    // SAFETY: valid out pointer.
    check("rte_eth_macaddr_get", unsafe {
        sys::rte_eth_macaddr_get(port, &mut a)
    })?;
    Ok(a.addr_bytes)
}

fn mtu_of(port: u16) -> Result<u16> {
    let mut mtu = 0u16;
    // SAFETY: valid out pointer.
    check("rte_eth_dev_get_mtu", unsafe {
        sys::rte_eth_dev_get_mtu(port, &mut mtu)
    })?;
    Ok(mtu)
}

/// Information about `port` (`rte_eth_dev_info_get` and friends).
pub fn port_info(_eal: &Eal, port: u16) -> Result<PortInfo> {
    let info = dev_info(port)?;
    let mut name = [0 as c_char; sys::RTE_ETH_NAME_MAX_LEN as usize];
    // SAFETY: the buffer has RTE_ETH_NAME_MAX_LEN bytes as the API requires.
    check("rte_eth_dev_get_name_by_port", unsafe {
        sys::rte_eth_dev_get_name_by_port(port, name.as_mut_ptr())
    })?;
    Ok(PortInfo {
        port_id: port,
        name: c_string(name.as_ptr()),
        driver_name: c_string(info.driver_name),
        max_rx_queues: info.max_rx_queues,
        max_tx_queues: info.max_tx_queues,
        rss_offloads: info.flow_type_rss_offloads,
        reta_size: info.reta_size,
        rx_offload_capa: info.rx_offload_capa,
        tx_offload_capa: info.tx_offload_capa,
        min_mtu: info.min_mtu,
        max_mtu: info.max_mtu,
        mtu: mtu_of(port)?,
        mac: mac_of(port)?,
        // SAFETY: plain query on a valid port.
        socket_id: unsafe { sys::rte_eth_dev_socket_id(port) },
    })
}

/// Port configuration for [`Port::configure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Number of RX queues.
    pub n_rxq: u16,
    /// Number of TX queues.
    pub n_txq: u16,
    /// Spread RX over the queues by RSS (ignored if the port has no RSS).
    pub rss: bool,
    /// RSS hash types wanted; masked with what the port supports.
    pub rss_hf: u64,
    /// MTU to configure (`None`: driver default).
    pub mtu: Option<u16>,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            n_rxq: 1,
            n_txq: 1,
            rss: false,
            rss_hf: rss::IP | rss::UDP | rss::TCP,
            mtu: None,
        }
    }
}

/// The link state of port `id`, without waiting (`rte_eth_link_get_nowait`); for the control
/// thread, which does not own the ports. An unknown id is an error, not undefined behaviour.
pub fn link_of(id: u16) -> Result<Link> {
    let mut l = sys::rte_eth_link::default();
    // SAFETY: valid out pointer; DPDK checks the port id and returns -ENODEV for a bad one.
    check("rte_eth_link_get_nowait", unsafe {
        sys::rte_eth_link_get_nowait(id, &mut l)
    })?;
    Ok(Link {
        up: u32::from(l.link_status()) == sys::RTE_ETH_LINK_UP,
        speed_mbps: l.link_speed,
        full_duplex: u32::from(l.link_duplex()) == sys::RTE_ETH_LINK_FULL_DUPLEX,
    })
}

/// Link state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Link up.
    pub up: bool,
    /// Speed in Mbit/s (0 if unknown).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
}

/// Basic port counters (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Received packets.
    pub ipackets: u64,
    /// Sent packets.
    pub opackets: u64,
    /// Received bytes.
    pub ibytes: u64,
    /// Sent bytes.
    pub obytes: u64,
    /// RX packets dropped by the hardware (queue full).
    pub imissed: u64,
    /// Erroneous received packets.
    pub ierrors: u64,
    /// Failed transmissions.
    pub oerrors: u64,
    /// RX mbuf allocation failures.
    pub rx_nombuf: u64,
}

#[derive(Debug)]
struct PortInner {
    id: u16,
    rss: bool,
    /// Bitmaps of RX/TX queues whose handle is out (queue ids < 64).
    rxq_out: AtomicU64,
    txq_out: AtomicU64,
    /// Pools used by RX queues: they must outlive the device.
    pools: Mutex<Vec<Mempool>>,
    _eal: Arc<EalToken>,
}

impl Drop for PortInner {
    fn drop(&mut self) {
        // SAFETY: no queue handle is left (they hold this Arc); stopping and closing the
        // device releases the mbufs it holds, before the pools in `pools` are dropped.
        unsafe {
            sys::rte_eth_dev_stop(self.id);
            sys::rte_eth_dev_close(self.id);
        }
    }
}

/// A configured port. Cheap to clone; stopped and closed when the last clone and the last
/// queue handle are gone. Packet I/O goes through [`RxQueue`] and [`TxQueue`].
#[derive(Debug, Clone)]
pub struct Port {
    inner: Arc<PortInner>,
}

fn take_bit(map: &AtomicU64, q: u16, what: &'static str) -> Result<()> {
    if q >= 64 {
        return Err(Error::InvalidArg("queue id >= 64"));
    }
    let bit = 1u64 << q;
    if map.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
        return Err(Error::Busy(what));
    }
    Ok(())
}

impl Port {
    /// Configures `port` (`rte_eth_dev_configure`, plus the MTU if given).
    pub fn configure(eal: &Eal, port: u16, cfg: &PortConfig) -> Result<Port> {
        let info = dev_info(port)?;
        let mut conf = sys::rte_eth_conf::default();
        let hf = cfg.rss_hf & info.flow_type_rss_offloads;
        let rss = cfg.rss && hf != 0;
        if rss {
            conf.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = hf;
            conf.rxmode.offloads |= info.rx_offload_capa & RX_OFFLOAD_RSS_HASH;
        }
        if let Some(mtu) = cfg.mtu {
            conf.rxmode.mtu = u32::from(mtu);
        }
        // SAFETY: conf is a fully initialised rte_eth_conf; invalid ids give -ENODEV.
        let ret = unsafe { sys::rte_eth_dev_configure(port, cfg.n_rxq, cfg.n_txq, &conf) };
        check("rte_eth_dev_configure", ret)?;
        Ok(Port {
            inner: Arc::new(PortInner {
                id: port,
                rss,
                rxq_out: AtomicU64::new(0),
                txq_out: AtomicU64::new(0),
                pools: Mutex::new(Vec::new()),
                _eal: eal.token.clone(),
            }),
        })
    }

    /// Port id.
    pub fn id(&self) -> u16 {
        self.inner.id
    }

    /// Whether RSS was enabled by [`Port::configure`].
    pub fn rss_enabled(&self) -> bool {
        self.inner.rss
    }

    /// Sets up RX queue `q` with `nb_desc` descriptors filled from `pool`
    /// (`rte_eth_rx_queue_setup`, on the port's socket) and returns its handle.
    pub fn rx_queue_setup(&self, q: u16, nb_desc: u16, pool: &Mempool) -> Result<RxQueue> {
        take_bit(&self.inner.rxq_out, q, "RX queue")?;
        // SAFETY: the pool is live and kept alive by `pools` for the lifetime of the device;
        // a null rxconf selects the driver defaults.
        let ret = unsafe {
            let socket = sys::rte_eth_dev_socket_id(self.id());
            sys::rte_eth_rx_queue_setup(
                self.id(),
                q,
                nb_desc,
                socket as u32,
                std::ptr::null(),
                pool.as_ptr(),
            )
        };
        if let Err(e) = check("rte_eth_rx_queue_setup", ret) {
            self.inner.rxq_out.fetch_and(!(1u64 << q), Ordering::AcqRel);
            return Err(e);
        }
        self.inner
            .pools
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(pool.clone());
        Ok(RxQueue {
            port: self.inner.clone(),
            queue: q,
            _not_sync: PhantomData,
        })
    }

    /// Sets up TX queue `q` with `nb_desc` descriptors (`rte_eth_tx_queue_setup`).
    pub fn tx_queue_setup(&self, q: u16, nb_desc: u16) -> Result<TxQueue> {
        take_bit(&self.inner.txq_out, q, "TX queue")?;
        // SAFETY: a null txconf selects the driver defaults.
        let ret = unsafe {
            let socket = sys::rte_eth_dev_socket_id(self.id());
            sys::rte_eth_tx_queue_setup(self.id(), q, nb_desc, socket as u32, std::ptr::null())
        };
        if let Err(e) = check("rte_eth_tx_queue_setup", ret) {
            self.inner.txq_out.fetch_and(!(1u64 << q), Ordering::AcqRel);
            return Err(e);
        }
        Ok(TxQueue {
            port: self.inner.clone(),
            queue: q,
            _not_sync: PhantomData,
        })
    }

    /// Starts the port (`rte_eth_dev_start`).
    pub fn start(&self) -> Result<()> {
        // SAFETY: plain control call on a configured port.
        check("rte_eth_dev_start", unsafe {
            sys::rte_eth_dev_start(self.id())
        })
        .map(|_| ())
    }

    /// Stops the port (`rte_eth_dev_stop`).
    pub fn stop(&self) -> Result<()> {
        // SAFETY: plain control call.
        check("rte_eth_dev_stop", unsafe {
            sys::rte_eth_dev_stop(self.id())
        })
        .map(|_| ())
    }

    /// Enables or disables promiscuous mode.
    pub fn set_promiscuous(&self, on: bool) -> Result<()> {
        // SAFETY: plain control calls.
        let ret = unsafe {
            if on {
                sys::rte_eth_promiscuous_enable(self.id())
            } else {
                sys::rte_eth_promiscuous_disable(self.id())
            }
        };
        check("rte_eth_promiscuous_enable/disable", ret).map(|_| ())
    }

    /// Current link state, without waiting (`rte_eth_link_get_nowait`).
    pub fn link(&self) -> Result<Link> {
        link_of(self.id())
    }

    /// Basic counters (`rte_eth_stats_get`).
    pub fn stats(&self) -> Result<PortStats> {
        let mut s = sys::rte_eth_stats::default();
        // SAFETY: valid out pointer.
        check("rte_eth_stats_get", unsafe {
            sys::rte_eth_stats_get(self.id(), &mut s)
        })?;
        Ok(PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// Resets the counters (`rte_eth_stats_reset`).
    pub fn reset_stats(&self) -> Result<()> {
        // SAFETY: plain control call.
        check("rte_eth_stats_reset", unsafe {
            sys::rte_eth_stats_reset(self.id())
        })
        .map(|_| ())
    }

    /// Current MTU.
    pub fn mtu(&self) -> Result<u16> {
        mtu_of(self.id())
    }

    /// Sets the MTU (`rte_eth_dev_set_mtu`).
    pub fn set_mtu(&self, mtu: u16) -> Result<()> {
        // SAFETY: plain control call.
        check("rte_eth_dev_set_mtu", unsafe {
            sys::rte_eth_dev_set_mtu(self.id(), mtu)
        })
        .map(|_| ())
    }

    /// MAC address.
    pub fn mac(&self) -> Result<[u8; 6]> {
        mac_of(self.id())
    }

    /// Sets the port's own MAC address (`rte_eth_dev_default_mac_addr_set`); a net_tap
    /// gives it to its kernel interface.
    pub fn set_mac(&self, mac: [u8; 6]) -> Result<()> {
        let mut a = sys::rte_ether_addr { addr_bytes: mac };
        // SAFETY: plain control call; DPDK copies the address out of the valid pointer.
        check("rte_eth_dev_default_mac_addr_set", unsafe {
            sys::rte_eth_dev_default_mac_addr_set(self.id(), &mut a)
        })
        .map(|_| ())
    }
}

/// Exclusive handle of one RX queue: `Send` (move it to its worker) but not `Sync`, since
/// DPDK queues must not be polled by two threads at once.
#[derive(Debug)]
pub struct RxQueue {
    port: Arc<PortInner>,
    queue: u16,
    _not_sync: PhantomData<Cell<()>>,
}

impl RxQueue {
    /// Port id.
    pub fn port_id(&self) -> u16 {
        self.port.id
    }

    /// Queue id.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Receives up to `burst.spare()` packets (`rte_eth_rx_burst`), appending them to
    /// `burst`; returns how many arrived.
    #[inline]
    pub fn rx_burst<const N: usize>(&mut self, burst: &mut MbufBurst<N>) -> usize {
        let room = burst.spare() as u16;
        // SAFETY: we have exclusive use of this queue; `room` slots are writable at
        // spare_ptr and the n returned mbufs become owned by the burst.
        unsafe {
            let n = sys::shim_rte_eth_rx_burst(self.port.id, self.queue, burst.spare_ptr(), room)
                as usize;
            burst.set_len(burst.len() + n);
            n
        }
    }
}

impl Drop for RxQueue {
    fn drop(&mut self) {
        self.port
            .rxq_out
            .fetch_and(!(1u64 << self.queue), Ordering::AcqRel);
    }
}

/// Exclusive handle of one TX queue (see [`RxQueue`]).
#[derive(Debug)]
pub struct TxQueue {
    port: Arc<PortInner>,
    queue: u16,
    _not_sync: PhantomData<Cell<()>>,
}

impl TxQueue {
    /// Port id.
    pub fn port_id(&self) -> u16 {
        self.port.id
    }

    /// Queue id.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Sends the packets of `burst` (`rte_eth_tx_burst`); the sent ones leave the burst,
    /// the unsent ones stay in it (in order) for a retry or [`MbufBurst::clear`].
    /// Returns how many were sent.
    #[inline]
    pub fn tx_burst<const N: usize>(&mut self, burst: &mut MbufBurst<N>) -> usize {
        if burst.is_empty() {
            return 0;
        }
        // SAFETY: exclusive use of the queue; the first len slots are owned mbufs; the n
        // sent ones are now owned by the driver and removed from the burst.
        let n = unsafe {
            sys::shim_rte_eth_tx_burst(
                self.port.id,
                self.queue,
                burst.raw_ptr(),
                burst.len() as u16,
            )
        };
        burst.consume_front(n as usize);
        n as usize
    }

    /// Sends the burst and frees whatever the queue did not take; returns how many were sent.
    #[inline]
    pub fn tx_burst_or_free<const N: usize>(&mut self, burst: &mut MbufBurst<N>) -> usize {
        let n = self.tx_burst(burst);
        burst.clear();
        n
    }
}

impl Drop for TxQueue {
    fn drop(&mut self) {
        self.port
            .txq_out
            .fetch_and(!(1u64 << self.queue), Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_sets_match_dpdk() {
        assert_eq!(rss::IP, 0xa38c);
        assert_eq!(rss::UDP, 0x20820);
        assert_eq!(rss::TCP, 0x10410);
    }

    #[test]
    fn queue_bits() {
        let m = AtomicU64::new(0);
        assert!(take_bit(&m, 3, "q").is_ok());
        assert_eq!(take_bit(&m, 3, "q"), Err(Error::Busy("q")));
        assert!(take_bit(&m, 64, "q").is_err());
    }
}
