//! The kernel routes the mirror holds, per prefix (the kernel may hold several with different
//! metrics), and the nexthop objects they may name, with which prefixes use each object so
//! that an object's change reaches exactly its routes.

use crate::nexthop::KernelNextHop;
use crate::translate::{Hop, KernelRoute};
use fib::{NextHop, Prefix};
use std::collections::{HashMap, HashSet};

pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type Set<T> = HashSet<T, foldhash::fast::RandomState>;

#[derive(Default)]
pub struct Held {
    routes: Map<Prefix, Vec<KernelRoute>>,
    objects: Map<u32, KernelNextHop>,
    /// The prefixes with a route naming each object.
    users: Map<u32, Set<Prefix>>,
}

impl Held {
    /// Adds `route`; the kernel keys a route by prefix and metric, so the same pair replaces
    /// the one held.
    pub fn hold(&mut self, route: KernelRoute) {
        self.drop_where(route.prefix, |r| r.priority == route.priority);
        if let Hop::Object(id) = route.hop {
            self.users.entry(id).or_default().insert(route.prefix);
        }
        self.routes.entry(route.prefix).or_default().push(route);
    }

    /// Removes the routes of `prefix` that `gone` selects.
    pub fn drop_where(&mut self, prefix: Prefix, gone: impl Fn(&KernelRoute) -> bool) {
        let Some(held) = self.routes.get_mut(&prefix) else {
            return;
        };
        let mut named = Vec::new();
        held.retain(|r| {
            let drop = gone(r);
            if let (true, Hop::Object(id)) = (drop, r.hop) {
                named.push(id);
            }
            !drop
        });
        // An object no route of this prefix names any more loses it as a user.
        for id in named {
            if held.iter().any(|r| r.hop == Hop::Object(id)) {
                continue;
            }
            if let Some(users) = self.users.get_mut(&id) {
                users.remove(&prefix);
                if users.is_empty() {
                    self.users.remove(&id);
                }
            }
        }
        if held.is_empty() {
            self.routes.remove(&prefix);
        }
    }

    /// Drops the direct routes out of interface `index`; returns the prefixes whose best
    /// route may have changed, including those through objects out of that interface.
    pub fn drop_interface(&mut self, index: u32) -> Vec<Prefix> {
        let direct: Vec<Prefix> = (self.routes.iter())
            .filter(|(_, held)| {
                held.iter()
                    .any(|r| matches!(r.hop, Hop::Direct { oif, .. } if oif == index))
            })
            .map(|(p, _)| *p)
            .collect();
        for p in &direct {
            self.drop_where(
                *p,
                |r| matches!(r.hop, Hop::Direct { oif, .. } if oif == index),
            );
        }
        let objects: Vec<u32> = (self.objects.values())
            .filter(|o| o.oif == Some(index))
            .map(|o| o.id)
            .collect();
        let mut affected = self.users_of(&objects);
        affected.extend(direct);
        affected
    }

    /// Learns or replaces an object; returns the prefixes that use it, directly or through a
    /// group.
    pub fn set_object(&mut self, nh: KernelNextHop) -> Vec<Prefix> {
        let id = nh.id;
        self.objects.insert(id, nh);
        self.users_of(&[id])
    }

    /// Forgets an object; the kernel removes the routes that name it, and so does this.
    pub fn remove_object(&mut self, id: u32) -> Vec<Prefix> {
        self.objects.remove(&id);
        let affected = self.users_of(&[id]);
        for p in &affected {
            self.drop_where(*p, |r| r.hop == Hop::Object(id));
        }
        affected
    }

    /// The prefixes naming any of `ids` or a group with one of them as a member.
    fn users_of(&self, ids: &[u32]) -> Vec<Prefix> {
        let groups = (self.objects.values())
            .filter(|o| o.group.iter().any(|m| ids.contains(m)))
            .map(|o| o.id);
        let mut out: Set<Prefix> = Set::default();
        for id in ids.iter().copied().chain(groups) {
            out.extend(self.users.get(&id).into_iter().flatten());
        }
        out.into_iter().collect()
    }

    /// Where `hop` leads through one of `ports`, if it does.
    fn resolve(&self, hop: Hop, ports: &Map<u32, u16>) -> Option<NextHop> {
        let (oif, gateway) = match hop {
            Hop::Direct { oif, gateway } => (oif, gateway),
            Hop::Object(id) => {
                let o = self.objects.get(&id)?;
                // A group's first member through a TAP: the FIB holds one next hop a prefix.
                if !o.group.is_empty() {
                    return o.group.iter().find_map(|m| {
                        let m = self.objects.get(m).filter(|m| m.group.is_empty())?;
                        self.resolve(Hop::Object(m.id), ports)
                    });
                }
                (o.oif.filter(|_| !o.blackhole)?, o.gateway)
            }
        };
        let port = *ports.get(&oif)?;
        Some(match gateway {
            Some(gw) => NextHop::gateway(port, gw),
            None => NextHop::connected(port),
        })
    }

    /// The next hop of `prefix`'s best (lowest-metric) route, if that leads through a TAP.
    pub fn best(&self, prefix: &Prefix, ports: &Map<u32, u16>) -> Option<NextHop> {
        let r = self.routes.get(prefix)?.iter().min_by_key(|r| r.priority)?;
        self.resolve(r.hop, ports)
    }

    pub fn prefixes(&self) -> impl Iterator<Item = &Prefix> {
        self.routes.keys()
    }
}
