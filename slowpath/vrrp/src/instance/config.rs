//! What one virtual router is configured with, and the checks the daemon runs on it before
//! building an `Instance` (which trusts it).

use crate::track::TrackRule;
use crate::wire::{Version, MAX_ADDRESSES};
use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;
use thiserror::Error;

/// The largest IP packet an advert may make: one Ethernet MTU.
const MAX_PACKET: usize = 1500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    pub name: String,
    /// 1..=255.
    pub vrid: u8,
    pub version: Version,
    /// 1..=255; 255 = the address owner.
    pub priority: u8,
    /// Advertisement_Interval, 1..=4095 centiseconds (v2: a multiple of 100).
    pub advert_interval_cs: u16,
    /// Preempt_Mode: a higher-priority backup takes over from a live lower-priority master.
    pub preempt: bool,
    /// A backup that would preempt waits this long first, counted from the first lower-priority
    /// advert it hears (lets a recovered node sync its state before taking over).
    pub preempt_delay: Duration,
    /// Accept_Mode (RFC 5798 §6.1): the master accepts packets addressed to the virtual
    /// addresses it does not own. Applied by the I/O layer.
    pub accept_mode: bool,
    /// The virtual addresses, all of one family.
    pub virtual_addresses: Vec<IpAddr>,
    /// Gratuitous ARPs / unsolicited NAs per address in one announcement round, >= 1.
    pub garp_count: u32,
    /// Announcement rounds on becoming master, >= 1.
    pub garp_rounds: u32,
    /// Time between two announcement rounds.
    pub garp_interval: Duration,
    pub tracks: Vec<TrackRule>,
}

impl InstanceConfig {
    /// A configuration with the usual defaults: 1 s interval, preempt on without delay, accept
    /// mode off, keepalived's announcements (5 per address, a second round 5 s later), no
    /// tracking.
    pub fn new(
        name: &str,
        vrid: u8,
        version: Version,
        priority: u8,
        virtual_addresses: Vec<IpAddr>,
    ) -> Self {
        InstanceConfig {
            name: name.to_string(),
            vrid,
            version,
            priority,
            advert_interval_cs: 100,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept_mode: false,
            virtual_addresses,
            garp_count: 5,
            garp_rounds: 2,
            garp_interval: Duration::from_secs(5),
            tracks: Vec::new(),
        }
    }

    /// True when the virtual addresses are IPv6.
    pub fn ipv6(&self) -> bool {
        self.virtual_addresses.first().is_some_and(IpAddr::is_ipv6)
    }

    pub fn validate(&self) -> Result<(), InvalidInstance> {
        if self.vrid == 0 {
            return Err(InvalidInstance::Vrid);
        }
        if self.priority == 0 {
            return Err(InvalidInstance::Priority);
        }
        let cs = self.advert_interval_cs;
        if cs == 0 || cs > 4095 || (self.version == Version::V2 && !cs.is_multiple_of(100)) {
            return Err(InvalidInstance::Interval(cs));
        }
        let first = self
            .virtual_addresses
            .first()
            .ok_or(InvalidInstance::NoAddresses)?;
        if self
            .virtual_addresses
            .iter()
            .any(|a| a.is_ipv6() != first.is_ipv6())
        {
            return Err(InvalidInstance::MixedFamilies);
        }
        if self.version == Version::V2 && first.is_ipv6() {
            return Err(InvalidInstance::V2Ipv6);
        }
        let n = self.virtual_addresses.len();
        let packet = match (self.version, first.is_ipv6()) {
            (_, true) => 40 + 8 + 16 * n,
            (Version::V3, false) => 20 + 8 + 4 * n,
            (Version::V2, false) => 20 + 8 + 4 * n + 8,
        };
        if n > MAX_ADDRESSES || packet > MAX_PACKET {
            return Err(InvalidInstance::TooManyAddresses(n));
        }
        let mut seen = HashSet::new();
        for a in &self.virtual_addresses {
            let bad = match a {
                IpAddr::V4(v) => {
                    v.is_unspecified() || v.is_multicast() || v.is_broadcast() || v.is_loopback()
                }
                IpAddr::V6(v) => v.is_unspecified() || v.is_multicast() || v.is_loopback(),
            };
            if bad {
                return Err(InvalidInstance::BadAddress(*a));
            }
            if !seen.insert(a) {
                return Err(InvalidInstance::DuplicateAddress(*a));
            }
        }
        if self.garp_count == 0 {
            return Err(InvalidInstance::GarpCount);
        }
        if self.garp_rounds == 0 {
            return Err(InvalidInstance::GarpRounds);
        }
        let mut names = HashSet::new();
        for t in &self.tracks {
            if t.name.is_empty() {
                return Err(InvalidInstance::TrackName);
            }
            if !names.insert(t.name.as_str()) {
                return Err(InvalidInstance::DuplicateTrack(t.name.clone()));
            }
            if let Some(w) = t.weight {
                if !(1..=254).contains(&w) {
                    return Err(InvalidInstance::TrackWeight {
                        name: t.name.clone(),
                        weight: w,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Why [`InstanceConfig::validate`] refused an instance (the config file adds file:line).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidInstance {
    #[error("VRID must be 1..=255")]
    Vrid,
    #[error("priority must be 1..=255")]
    Priority,
    #[error("advertisement interval {0} cs: must be 1..=4095 centiseconds, and whole seconds for VRRPv2")]
    Interval(u16),
    #[error("no virtual address")]
    NoAddresses,
    #[error("virtual addresses of both families (use one instance per family)")]
    MixedFamilies,
    #[error("VRRPv2 is IPv4 only")]
    V2Ipv6,
    #[error(
        "{0} virtual addresses do not fit in one advert (at most 255, and one 1500-byte packet)"
    )]
    TooManyAddresses(usize),
    #[error("{0} cannot be a virtual address")]
    BadAddress(IpAddr),
    #[error("virtual address {0} listed twice")]
    DuplicateAddress(IpAddr),
    #[error("garp_count must be at least 1")]
    GarpCount,
    #[error("garp_rounds must be at least 1")]
    GarpRounds,
    #[error("track with an empty name")]
    TrackName,
    #[error("track {0} listed twice")]
    DuplicateTrack(String),
    #[error("track {name}: weight {weight} must be 1..=254 (the priority drops by it while down)")]
    TrackWeight { name: String, weight: i16 },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }

    fn good() -> InstanceConfig {
        InstanceConfig::new("vi", 1, Version::V3, 100, vec![v4("192.0.2.1")])
    }

    #[test]
    fn accepts_the_defaults() {
        assert_eq!(good().validate(), Ok(()));
        let mut c = good();
        c.virtual_addresses = vec![IpAddr::V6("fe80::1".parse().unwrap())];
        assert!(c.ipv6());
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn refuses_each_mistake() {
        let check = |f: &dyn Fn(&mut InstanceConfig), e: InvalidInstance| {
            let mut c = good();
            f(&mut c);
            assert_eq!(c.validate(), Err(e));
        };
        check(&|c| c.vrid = 0, InvalidInstance::Vrid);
        check(&|c| c.priority = 0, InvalidInstance::Priority);
        check(&|c| c.advert_interval_cs = 0, InvalidInstance::Interval(0));
        check(
            &|c| c.advert_interval_cs = 4096,
            InvalidInstance::Interval(4096),
        );
        check(
            &|c| {
                c.version = Version::V2;
                c.advert_interval_cs = 150;
            },
            InvalidInstance::Interval(150),
        );
        check(
            &|c| c.virtual_addresses.clear(),
            InvalidInstance::NoAddresses,
        );
        check(
            &|c| {
                c.virtual_addresses
                    .push(IpAddr::V6("2001:db8::1".parse().unwrap()))
            },
            InvalidInstance::MixedFamilies,
        );
        check(
            &|c| {
                c.version = Version::V2;
                c.virtual_addresses = vec![IpAddr::V6("fe80::1".parse().unwrap())];
            },
            InvalidInstance::V2Ipv6,
        );
        check(
            &|c| {
                c.virtual_addresses = (0..256u32)
                    .map(|i| IpAddr::V4((0x0a00_0001 + i).into()))
                    .collect()
            },
            InvalidInstance::TooManyAddresses(256),
        );
        check(
            &|c| {
                c.virtual_addresses = (1..=91u16)
                    .map(|i| IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i)))
                    .collect()
            },
            InvalidInstance::TooManyAddresses(91),
        );
        check(
            &|c| c.virtual_addresses = vec![v4("224.0.0.18")],
            InvalidInstance::BadAddress(v4("224.0.0.18")),
        );
        check(
            &|c| c.virtual_addresses.push(v4("192.0.2.1")),
            InvalidInstance::DuplicateAddress(v4("192.0.2.1")),
        );
        check(&|c| c.garp_count = 0, InvalidInstance::GarpCount);
        check(&|c| c.garp_rounds = 0, InvalidInstance::GarpRounds);
        check(
            &|c| c.tracks = vec![TrackRule::fault("")],
            InvalidInstance::TrackName,
        );
        check(
            &|c| c.tracks = vec![TrackRule::fault("a"), TrackRule::weighted("a", 3)],
            InvalidInstance::DuplicateTrack("a".into()),
        );
        check(
            &|c| c.tracks = vec![TrackRule::weighted("a", -20)],
            InvalidInstance::TrackWeight {
                name: "a".into(),
                weight: -20,
            },
        );
    }
}
