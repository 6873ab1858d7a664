//! An advert arrives (RFC 5798 §7.1 checks, then §6.4.2 in Backup and §6.4.3 in Master).

use super::{Action, DownCause, Instance, OtherMaster, Reason, State};
use crate::instance::timers::{centiseconds, master_down_interval};
use crate::wire::{Advert, ReceivedAdvert, Version};
use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

/// IP addresses compared as unsigned integers in network order (RFC 5798 §6.4.3): the octets
/// compare lexicographically, and both are of our family by then.
fn addr_key(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

impl Instance {
    /// Does this advert belong to this virtual router (VRID and address family)?
    pub fn matches(&self, advert: &Advert, src: IpAddr) -> bool {
        advert.vrid == self.cfg.vrid && src.is_ipv6() == self.primary.is_ipv6()
    }

    /// Processes an advert `parse_advert_frame` accepted. Adverts for another virtual router,
    /// our own looping back, of the other version, with authentication (v2) or another interval
    /// (v2) are counted and dropped; a different address list is counted and processed.
    pub fn receive(&mut self, now: Duration, rx: &ReceivedAdvert) {
        if self.state == State::Initialize {
            return;
        }
        let adv = &rx.advert;
        if !self.matches(adv, rx.src_ip) {
            self.counters.vrid_mismatch += 1;
            return;
        }
        if rx.src_ip == self.primary {
            self.counters.own_advert += 1;
            return;
        }
        if adv.version != self.cfg.version {
            self.counters.version_mismatch += 1;
            return;
        }
        if adv.version == Version::V2 {
            if adv.auth_type != 0 {
                self.counters.auth_type += 1;
                return;
            }
            // RFC 3768 §7.1: MUST drop, else two masters with different timers coexist.
            if adv.max_advert_interval_cs != self.cfg.advert_interval_cs {
                self.counters.interval_mismatch += 1;
                return;
            }
        }
        self.counters.adverts_received += 1;
        if adv.priority == 0 {
            self.counters.priority_zero_received += 1;
        }
        // RFC 5798 §7.1: MAY check the address list; a mismatch is a misconfiguration to report,
        // not a reason to ignore the master.
        let ours: HashSet<&IpAddr> = self
            .cfg
            .virtual_addresses
            .iter()
            .filter(|a| a.is_ipv6() == rx.src_ip.is_ipv6())
            .collect();
        let theirs: HashSet<&IpAddr> = adv.addresses.iter().collect();
        if ours != theirs {
            self.counters.address_list_mismatch += 1;
        }
        match self.state {
            State::Backup => self.backup_receive(now, rx),
            State::Master => self.master_receive(now, rx),
            State::Initialize | State::Fault => {}
        }
    }

    /// The Master_Adver_Interval an accepted advert teaches: v3 learns the master's, v2 keeps
    /// ours (a different one was dropped above).
    fn learned_interval(&self, rx: &ReceivedAdvert) -> Duration {
        match self.cfg.version {
            Version::V3 => centiseconds(rx.advert.max_advert_interval_cs),
            Version::V2 => self.advert_interval(),
        }
    }

    /// RFC 5798 §6.4.2, with the preempt delay and the operator's hold.
    fn backup_receive(&mut self, now: Duration, rx: &ReceivedAdvert) {
        let p = rx.advert.priority;
        if p == 0 {
            // The master is leaving: take over after Skew_Time only, the lowest priority last.
            self.reset_master_down(now, DownCause::PriorityZero);
            self.master = None;
            return;
        }
        let ours = self.effective_priority();
        // The address owner always preempts; nobody does during a hold.
        let preempt = (self.cfg.preempt || ours == 255) && !self.held(now);
        if p < ours && preempt {
            let delayed = ours != 255 && !self.cfg.preempt_delay.is_zero();
            let delay_over =
                delayed && now >= *self.preempt_at.get_or_insert(now + self.cfg.preempt_delay);
            if !delayed || delay_over {
                // Discard: the Master_Down_Timer runs out and we take over.
                self.down_cause = DownCause::Preempting;
                self.master = Some((rx.src_ip, p));
                return;
            }
        } else if p >= ours {
            self.preempt_at = None;
        }
        self.master_adver_interval = self.learned_interval(rx);
        self.reset_master_down(now, DownCause::MasterDown);
        self.master = Some((rx.src_ip, p));
    }

    /// RFC 5798 §6.4.3, with split-brain reporting and the sync group's tie-break.
    fn master_receive(&mut self, now: Duration, rx: &ReceivedAdvert) {
        let p = rx.advert.priority;
        if p == 0 {
            // Another master gave up, or a backup asks for an advert: answer at once.
            self.forget_other(rx.src_ip);
            self.send_advert(now, self.effective_priority());
            return;
        }
        let ours = self.effective_priority();
        self.note_other(now, rx);
        if p == ours && self.group.defer_equal {
            // A sync group decides equal-priority contests on its leader, so that both nodes
            // pick the same winner for every member. Unless the leader fails to settle it.
            let since = *self.group.defer_since.get_or_insert(now);
            if now < since + self.master_down_interval() {
                return;
            }
        }
        if (p, addr_key(rx.src_ip)) > (ours, addr_key(self.primary)) {
            let mai = self.learned_interval(rx);
            self.become_backup(now, Reason::Preempted, mai);
            self.master = Some((rx.src_ip, p));
        } else {
            // We win: say so now rather than at the next interval (keepalived does the same).
            self.send_advert(now, ours);
        }
    }

    /// Records another master; reports it the first time.
    fn note_other(&mut self, now: Duration, rx: &ReceivedAdvert) {
        let interval = centiseconds(rx.advert.max_advert_interval_cs);
        let quiet_at =
            now + master_down_interval(self.cfg.version, self.effective_priority(), interval);
        if let Some(o) = self.others.iter_mut().find(|o| o.addr == rx.src_ip) {
            o.quiet_at = quiet_at;
            return;
        }
        self.others.push(OtherMaster {
            addr: rx.src_ip,
            quiet_at,
        });
        self.counters.split_brain += 1;
        self.actions.push_back(Action::SplitBrain {
            other_master: rx.src_ip,
        });
    }

    fn forget_other(&mut self, addr: IpAddr) {
        let before = self.others.len();
        self.others.retain(|o| o.addr != addr);
        if before > 0 && self.others.is_empty() {
            self.group.defer_since = None;
            self.actions.push_back(Action::SplitBrainResolved);
        }
    }
}
