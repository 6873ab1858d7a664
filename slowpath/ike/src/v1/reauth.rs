//! ISAKMP SA reauthentication (RFC 2409 has no rekeying of phase 1: a new Main Mode replaces
//! it). IKEv1's IPsec SAs do not depend on the ISAKMP SA that made them, so the tunnel keeps
//! them: the new ISAKMP SA takes them over (and the old one's place, its SA id, so the fast
//! path's SAs and the caller's tables are untouched), new Quick Modes run under it, and the
//! old phase 1 is deleted (ours) or kept until the peer deletes it (theirs: strongSwan
//! reauthenticates with a new Main Mode, moves its IPsec SAs over and then deletes the old
//! ISAKMP SA). This file decides when and merges two SAs; the engine finds the pairs.

use std::time::Duration;

use super::isakmp_sa::{IsakmpSa, Reauth, V1Ctx};
use crate::sa::child_sa::ChildState;
use crate::timers::jittered;

/// The SA is up: when this side reauthenticates it, `rekey` of the conn less up to
/// `rekey-jitter` (as IKEv2 rekeys), and always before its lifetime ends. Only a side that can
/// reach the peer's port 500 does: an initiator, or a responder that knows the peer's
/// address and is not behind the peer's NAT.
pub fn on_established(sa: &mut IsakmpSa, ctx: &mut V1Ctx) {
    sa.reauth.fresh = true;
    let cfg = &sa.config;
    let reachable = !cfg.remote_addr.ip().is_unspecified() && (sa.initiator || !sa.nat_remote);
    sa.reauth.at = None;
    if cfg.rekey_time.is_zero() || !reachable {
        return;
    }
    let after = jittered(cfg.rekey_time, cfg.rekey_jitter, ctx.rng);
    // A peer that proposed a shorter life than our `rekey`: nine tenths of it.
    let life = sa.expire_at.map(|t| t.saturating_sub(ctx.now) * 9 / 10);
    sa.reauth.at = Some(ctx.now + life.map_or(after, |l| after.min(l)));
}

/// `new` (just up) takes over `old`: its SA id, IPsec SAs and counters; `old`'s phase 1 is
/// returned retired under `new`'s former id, to be deleted (ours) or to wait for the peer's
/// delete. It closes without a word to the caller (`established_at` cleared): the tunnel is
/// still up. IPsec SAs whose rekey was in flight under the old keys rekey again at once.
pub fn merge(mut old: IsakmpSa, mut new: IsakmpSa, now: Duration) -> (IsakmpSa, IsakmpSa) {
    std::mem::swap(&mut new.id, &mut old.id);
    std::mem::swap(&mut new.children, &mut old.children);
    std::mem::swap(&mut new.next_child, &mut old.next_child);
    new.counters.absorb(&std::mem::take(&mut old.counters));
    for c in &mut new.children {
        if c.state == ChildState::Rekeying {
            c.state = ChildState::Installed;
            c.rekey_at = Some(now);
        }
    }
    new.reauth.of = None;
    new.reauth.fresh = false;
    old.reauth = Reauth {
        retired: true,
        ..Reauth::default()
    };
    old.established_at = None;
    (new, old)
}
