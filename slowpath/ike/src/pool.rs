//! Virtual IP pools (RFC 7296 2.19, 3.15): the responder leases an address per peer identity
//! and answers CFG_REQUEST with it and the pool's attributes. Leases are plain data, exported
//! for the HA peer so that an address is never handed out twice.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::action::IkeSaId;
use crate::config::Identity;
use crate::message::{CpAttrType, CpAttribute};

/// A pool and the attributes sent with its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    pub name: String,
    /// Inclusive range of addresses to lease.
    pub first: Ipv4Addr,
    pub last: Ipv4Addr,
    pub netmask: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    pub nbns: Vec<Ipv4Addr>,
    pub dhcp: Vec<Ipv4Addr>,
    /// INTERNAL_IP4_SUBNET: networks reachable through the tunnel (address, netmask).
    pub subnets: Vec<(Ipv4Addr, Ipv4Addr)>,
}

/// One address given out. An offline lease is kept for the same identity to get it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub identity: Identity,
    /// The IKE SA holding it; `None` once released.
    pub sa: Option<IkeSaId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub config: PoolConfig,
    pub leases: BTreeMap<Ipv4Addr, Lease>,
}

impl Pool {
    pub fn new(config: PoolConfig) -> Pool {
        Pool {
            config,
            leases: BTreeMap::new(),
        }
    }

    /// An address for `identity`: its previous one if free, else the lowest unused one, else
    /// the oldest offline lease of another identity. `None` when everything is online.
    pub fn acquire(&mut self, identity: &Identity, sa: IkeSaId) -> Option<Ipv4Addr> {
        let mine = self
            .leases
            .iter()
            .find(|(_, l)| l.identity == *identity && l.sa.is_none())
            .map(|(a, _)| *a);
        let free = || {
            let (first, last) = (u32::from(self.config.first), u32::from(self.config.last));
            (first..=last)
                .map(Ipv4Addr::from)
                .find(|a| !self.leases.contains_key(a))
        };
        let reusable = || {
            self.leases
                .iter()
                .find(|(_, l)| l.sa.is_none())
                .map(|(a, _)| *a)
        };
        let addr = mine.or_else(free).or_else(reusable)?;
        self.hold(addr, identity, sa);
        Some(addr)
    }

    /// `addr` is `identity`'s, held by `sa` (an SA imported with its lease).
    pub fn hold(&mut self, addr: Ipv4Addr, identity: &Identity, sa: IkeSaId) {
        self.leases.insert(
            addr,
            Lease {
                identity: identity.clone(),
                sa: Some(sa),
            },
        );
    }

    /// The IKE SA is gone: its lease goes offline (kept for the same identity).
    pub fn release(&mut self, addr: Ipv4Addr) {
        if let Some(l) = self.leases.get_mut(&addr) {
            l.sa = None;
        }
    }

    /// The CFG_REPLY attributes for a leased address.
    pub fn reply_attributes(&self, addr: Ipv4Addr) -> Vec<CpAttribute> {
        let c = &self.config;
        let mut out = vec![CpAttribute::from_ipv4(
            CpAttrType::INTERNAL_IP4_ADDRESS,
            addr,
        )];
        if let Some(m) = c.netmask {
            out.push(CpAttribute::from_ipv4(CpAttrType::INTERNAL_IP4_NETMASK, m));
        }
        let lists = [
            (CpAttrType::INTERNAL_IP4_DNS, &c.dns),
            (CpAttrType::INTERNAL_IP4_NBNS, &c.nbns),
            (CpAttrType::INTERNAL_IP4_DHCP, &c.dhcp),
        ];
        for (t, addrs) in lists {
            out.extend(addrs.iter().map(|a| CpAttribute::from_ipv4(t, *a)));
        }
        for (net, mask) in &c.subnets {
            let mut value = net.octets().to_vec();
            value.extend_from_slice(&mask.octets());
            out.push(CpAttribute {
                attr_type: CpAttrType::INTERNAL_IP4_SUBNET,
                value,
            });
        }
        out
    }
}

/// The engine's pools by name.
pub type Pools = BTreeMap<String, Pool>;

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Pool {
        Pool::new(PoolConfig {
            name: "p".into(),
            first: Ipv4Addr::new(10, 9, 0, 1),
            last: Ipv4Addr::new(10, 9, 0, 2),
            netmask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            dns: vec![Ipv4Addr::new(10, 9, 0, 53)],
            nbns: vec![],
            dhcp: vec![],
            subnets: vec![(Ipv4Addr::new(10, 1, 0, 0), Ipv4Addr::new(255, 255, 0, 0))],
        })
    }

    #[test]
    fn leases() {
        let mut p = pool();
        let (a, b, c) = (
            Identity::fqdn("a"),
            Identity::fqdn("b"),
            Identity::fqdn("c"),
        );
        let la = p.acquire(&a, 1).unwrap();
        let lb = p.acquire(&b, 2).unwrap();
        assert_ne!(la, lb);
        assert_eq!(p.acquire(&c, 3), None);
        p.release(la);
        // The same identity gets its address back; another one takes an offline lease.
        assert_eq!(p.acquire(&a, 4), Some(la));
        p.release(la);
        assert_eq!(p.acquire(&c, 5), Some(la));
        let attrs = p.reply_attributes(la);
        assert_eq!(attrs[0].as_ipv4(), Some(la));
        assert_eq!(attrs.len(), 4);
        assert_eq!(
            attrs[3].as_ipv4_subnet(),
            Some((Ipv4Addr::new(10, 1, 0, 0), Ipv4Addr::new(255, 255, 0, 0)))
        );
    }
}
