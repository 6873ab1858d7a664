//! Virtual IP pools (RFC 7296 2.19, 3.15): the responder leases an address per peer identity
//! and answers CFG_REQUEST with it and the pool's attributes. Leases are plain data, exported
//! for the HA peer so that an address is never handed out twice.

use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// Every lease by address. Read it freely; change it only through `acquire`, `hold` and
    /// `release`, which keep the indexes below in step with it.
    pub leases: BTreeMap<Ipv4Addr, Lease>,
    /// Offline leases by identity, so a returning peer finds its address without a scan.
    offline_by_identity: HashMap<Identity, BTreeSet<Ipv4Addr>>,
    /// Every offline lease, lowest first: what another identity takes once the range is used up.
    offline: BTreeSet<Ipv4Addr>,
    /// Every address of the range below this one is leased. Leases are never removed, so it
    /// only moves up and each address is stepped over once: O(1) amortised per acquire.
    next_unused: u64,
}

impl Pool {
    pub fn new(config: PoolConfig) -> Pool {
        let next_unused = u64::from(u32::from(config.first));
        Pool {
            config,
            leases: BTreeMap::new(),
            offline_by_identity: HashMap::new(),
            offline: BTreeSet::new(),
            next_unused,
        }
    }

    /// An address for `identity`: its previous one if offline (the lowest if it has several),
    /// else the lowest unused one, else the lowest offline lease of another identity. `None`
    /// when everything is online.
    pub fn acquire(&mut self, identity: &Identity, sa: IkeSaId) -> Option<Ipv4Addr> {
        let mine = self
            .offline_by_identity
            .get(identity)
            .and_then(|addrs| addrs.first().copied());
        let addr = match mine {
            Some(addr) => addr,
            None => match self.lowest_unused() {
                Some(addr) => addr,
                None => self.offline.first().copied()?,
            },
        };
        self.hold(addr, identity, sa);
        Some(addr)
    }

    /// The lowest address of the range without a lease, moving the cursor past leased ones.
    fn lowest_unused(&mut self) -> Option<Ipv4Addr> {
        let last = u64::from(u32::from(self.config.last));
        while self.next_unused <= last {
            let addr = Ipv4Addr::from(self.next_unused as u32);
            if !self.leases.contains_key(&addr) {
                return Some(addr);
            }
            self.next_unused += 1;
        }
        None
    }

    /// `addr` is `identity`'s, held by `sa` (an SA imported with its lease).
    pub fn hold(&mut self, addr: Ipv4Addr, identity: &Identity, sa: IkeSaId) {
        let previous = self.leases.insert(
            addr,
            Lease {
                identity: identity.clone(),
                sa: Some(sa),
            },
        );
        if let Some(previous) = previous.filter(|l| l.sa.is_none()) {
            self.forget_offline(addr, &previous.identity);
        }
    }

    /// The IKE SA is gone: its lease goes offline (kept for the same identity).
    pub fn release(&mut self, addr: Ipv4Addr) {
        let Some(lease) = self.leases.get_mut(&addr) else {
            return;
        };
        if lease.sa.take().is_some() {
            self.offline.insert(addr);
            self.offline_by_identity
                .entry(lease.identity.clone())
                .or_default()
                .insert(addr);
        }
    }

    fn forget_offline(&mut self, addr: Ipv4Addr, identity: &Identity) {
        self.offline.remove(&addr);
        if let Some(addrs) = self.offline_by_identity.get_mut(identity) {
            addrs.remove(&addr);
            if addrs.is_empty() {
                self.offline_by_identity.remove(identity);
            }
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

    /// The scan every acquire used to do, kept as the reference the indexed pool must match.
    fn scanned_acquire(
        config: &PoolConfig,
        leases: &mut BTreeMap<Ipv4Addr, Lease>,
        identity: &Identity,
        sa: IkeSaId,
    ) -> Option<Ipv4Addr> {
        let mine = leases
            .iter()
            .find(|(_, l)| l.identity == *identity && l.sa.is_none())
            .map(|(a, _)| *a);
        let free = (u32::from(config.first)..=u32::from(config.last))
            .map(Ipv4Addr::from)
            .find(|a| !leases.contains_key(a));
        let reusable = leases.iter().find(|(_, l)| l.sa.is_none()).map(|(a, _)| *a);
        let addr = mine.or(free).or(reusable)?;
        leases.insert(
            addr,
            Lease {
                identity: identity.clone(),
                sa: Some(sa),
            },
        );
        Some(addr)
    }

    fn sized(first: Ipv4Addr, count: u32) -> Pool {
        let mut config = pool().config;
        config.first = first;
        config.last = Ipv4Addr::from(u32::from(first) + count - 1);
        Pool::new(config)
    }

    #[test]
    fn random_acquires_releases_and_holds_match_the_scan() {
        use crate::rng::{random_u32, TestRng};
        let mut rng = TestRng::new(19);
        let mut p = sized(Ipv4Addr::new(10, 9, 0, 1), 24);
        let mut reference = BTreeMap::new();
        let ids: Vec<Identity> = (0..40).map(|i| Identity::fqdn(&format!("p{i}"))).collect();
        for sa in 0..20_000u64 {
            let identity = &ids[random_u32(&mut rng) as usize % ids.len()];
            // Some addresses fall outside the range: an imported lease from an older config.
            let addr = Ipv4Addr::from(u32::from(p.config.first) + random_u32(&mut rng) % 28);
            match random_u32(&mut rng) % 8 {
                0..=3 => {
                    let expected = scanned_acquire(&p.config, &mut reference, identity, sa);
                    assert_eq!(p.acquire(identity, sa), expected, "acquire {sa}");
                }
                4..=6 => {
                    p.release(addr);
                    if let Some(l) = reference.get_mut(&addr) {
                        l.sa = None;
                    }
                }
                _ => {
                    p.hold(addr, identity, sa);
                    let lease = Lease {
                        identity: identity.clone(),
                        sa: Some(sa),
                    };
                    reference.insert(addr, lease);
                }
            }
            assert_eq!(p.leases, reference);
        }
    }

    #[test]
    fn sixty_five_thousand_leases_without_a_scan() {
        const N: u32 = 65_000;
        let mut p = sized(Ipv4Addr::new(10, 64, 0, 0), N);
        let ids: Vec<Identity> = (0..N).map(|i| Identity::fqdn(&format!("u{i}"))).collect();
        let first = u32::from(p.config.first);
        for (i, id) in ids.iter().enumerate() {
            let addr = p.acquire(id, i as IkeSaId).unwrap();
            assert_eq!(u32::from(addr), first + i as u32);
        }
        assert_eq!(p.acquire(&Identity::fqdn("late"), 0), None);
        // Every other peer goes away; each one coming back gets its own address again.
        for i in (0..N).step_by(2) {
            p.release(Ipv4Addr::from(first + i));
        }
        for i in (0..N).step_by(2).rev() {
            let back = p.acquire(&ids[i as usize], u64::from(N + i));
            assert_eq!(back, Some(Ipv4Addr::from(first + i)));
        }
        // A newcomer takes the lowest offline lease of someone else.
        p.release(Ipv4Addr::from(first + 40_001));
        p.release(Ipv4Addr::from(first + 7));
        let newcomer = Identity::fqdn("newcomer");
        assert_eq!(p.acquire(&newcomer, 1), Some(Ipv4Addr::from(first + 7)));
        assert_eq!(p.leases[&Ipv4Addr::from(first + 7)].identity, newcomer);
        // The identity that lost it starts over on the next offline lease.
        assert_eq!(p.acquire(&ids[7], 2), Some(Ipv4Addr::from(first + 40_001)));
    }
}
