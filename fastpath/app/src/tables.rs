//! The SAD and SPDs each worker holds, built from the configuration. Every worker has the
//! whole SPDs (read-only on the hot path); an SA lives in the SAD of exactly one worker, its
//! owner, so that it has one writer (as VPP binds an SA to one worker). The outbound SPD's
//! PROTECT policies hold where this worker's SAD keeps their SA: SAs and policies change
//! through the methods here, which keep those positions right (`esp::spd` placement).

use crate::config::Config;
use esp::sa::{Direction, Sa, SaConfig, SaId};
use esp::sad::{Sad, SadError};
use esp::spd::{Policy, PolicyId, Spd};

/// The worker that owns an SA when `workers` share the SAs out.
pub fn owner(sa: SaId, workers: usize) -> usize {
    sa.0 as usize % workers.max(1)
}

/// One worker's tables.
pub struct Tables {
    pub sad: Sad,
    pub spd_out: Spd,
    pub spd_in: Spd,
}

impl Tables {
    /// The tables of worker `worker` of `workers`.
    pub fn build(
        cfg: &Config,
        worker: usize,
        workers: usize,
        now_ns: u64,
    ) -> Result<Tables, SadError> {
        let mut sad = Sad::new();
        for (id, sa) in &cfg.sas {
            if owner(*id, workers) == worker {
                sad.insert(*id, sa.clone(), now_ns)?;
            }
        }
        let mut spd_out = Spd::new();
        let mut spd_in = Spd::new();
        for sp in &cfg.sps {
            let policy = Policy {
                priority: sp.priority,
                selector: sp.selector,
                action: sp.action,
            };
            match sp.direction {
                Direction::Outbound => spd_out.insert(policy),
                Direction::Inbound => spd_in.insert(policy),
            };
        }
        spd_out.place_all(&sad);
        Ok(Tables {
            sad,
            spd_out,
            spd_in,
        })
    }

    /// Installs an SA (this worker owns it); the outbound policies it protects for find it.
    pub fn install_sa(&mut self, id: SaId, config: SaConfig, now_ns: u64) -> Result<(), SadError> {
        self.spd_out.install_sa(&mut self.sad, id, config, now_ns)
    }

    /// Removes an SA: no policy finds it any more, nor the place of the SA moved into it.
    pub fn remove_sa(&mut self, id: SaId) -> Option<Sa> {
        self.spd_out.remove_sa(&mut self.sad, id)
    }

    /// Adds a policy; an outbound one finds its SA.
    pub fn insert_policy(&mut self, direction: Direction, policy: Policy) -> PolicyId {
        match direction {
            Direction::Outbound => self.spd_out.insert_placed(policy, &self.sad),
            Direction::Inbound => self.spd_in.insert(policy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::command::{apply, Command};

    #[test]
    fn each_sa_has_exactly_one_owner() {
        let text = "\
sa 1 out spi 0x1001 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.1 192.0.2.2
sa 2 out spi 0x1002 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.1 192.0.2.2
sa 3 in spi 0x1003 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.2 192.0.2.1
sp out protect 1 pri 1 src 10.0.0.0/8 dst 10.0.0.0/8
sp in protect 3 pri 1 src 10.0.0.0/8 dst 10.0.0.0/8
";
        let cfg = Config::parse(text, "t").unwrap();
        let a = Tables::build(&cfg, 0, 2, 0).unwrap();
        let b = Tables::build(&cfg, 1, 2, 0).unwrap();
        assert_eq!(a.sad.len() + b.sad.len(), 3);
        assert!(a.sad.get(SaId(2)).is_some() && b.sad.get(SaId(1)).is_some());
        assert_eq!((a.spd_out.len(), a.spd_in.len()), (1, 1));
        assert_eq!(b.sad.lookup_inbound(0x1003), Some(SaId(3)));
    }

    /// The SPI of the SA an outbound packet to `dst` would be sent under by this worker.
    fn sent_under(t: &Tables, dst: &str) -> Option<u32> {
        let key = esp::spd::FlowKey {
            src: "10.1.0.1".parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto: 6,
            sport: 1,
            dport: 2,
        };
        let hit = t.spd_out.lookup_hit(&key)?;
        t.sad.at(hit.sa_at).map(|sa| sa.config.spi)
    }

    /// Built from the file, then changed by the control path's commands as a rekey does
    /// (new SA, its policy, the old policy and SA out; an HA standby's install alike), on two
    /// workers: each one's outbound policies point at its own SAD's SAs, never at an SA
    /// removed or moved, and at none for an SA the other worker owns.
    #[test]
    fn commands_keep_the_outbound_policies_pointed_at_their_sas() {
        // SAs 2, 4, 6 (worker 0's) and 3 (worker 1's), each protecting toward 10.N.0.0/16.
        let mut text = String::new();
        for n in [2, 4, 6, 3] {
            text += &format!(
                "sa {n} out spi 0x100{n} aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe \
                 tunnel 192.0.2.1 192.0.2.2\n\
                 sp out protect {n} pri 1 src 10.1.0.0/16 dst 10.{n}.0.0/16\n"
            );
        }
        let cfg = Config::parse(&text, "t").unwrap();
        let mut w = [
            Tables::build(&cfg, 0, 2, 0).unwrap(),
            Tables::build(&cfg, 1, 2, 0).unwrap(),
        ];
        // The SPIs worker 0 sends under toward 10.2, 10.4 and 10.6.0.1, and worker 1 (the
        // owner of SA 3 alone) toward 10.3.0.1.
        let check = |w: &[Tables; 2], [a, b, c]: [Option<u32>; 3], d: Option<u32>| {
            for (t, on) in w.iter().zip([[a, b, c, None], [None, None, None, d]]) {
                assert!(t.spd_out.placed_against(&t.sad));
                assert_eq!(t.spd_out.misplaced(&t.sad), None);
                let dsts = ["10.2.0.1", "10.4.0.1", "10.6.0.1", "10.3.0.1"];
                assert_eq!(dsts.map(|d| sent_under(t, d)), on);
            }
        };
        check(&w, [Some(0x1002), Some(0x1004), Some(0x1006)], Some(0x1003));
        let sa = |spi: u32, standby: bool| {
            let (_, mut c) = cfg.sas[0].clone();
            c.spi = spi;
            c.active = !standby;
            Box::new(c)
        };
        let policy = |sa: u32, dst: &str| Policy {
            priority: 1,
            selector: esp::spd::Selector::between(
                "10.1.0.0/16".parse().unwrap(),
                dst.parse().unwrap(),
            ),
            action: esp::spd::Action::Protect(esp::spd::SaBundle::single(sa)),
        };
        fn run(w: &mut [Tables; 2], cmd: &dyn Fn() -> Command) {
            for (i, t) in w.iter_mut().enumerate() {
                apply(cmd(), t, None, i, 0);
            }
        }
        // Rekey of SA 2 to SA 8 (an HA standby installs its SAs the same way).
        run(&mut w, &|| Command::AddSa {
            id: SaId(8),
            config: sa(0x1008, true),
            owner: 0,
        });
        run(&mut w, &|| Command::AddSp {
            direction: Direction::Outbound,
            policy: policy(8, "10.2.0.0/16"),
        });
        let old = w[0]
            .spd_out
            .iter()
            .find(|(_, p)| p.action == esp::spd::Action::Protect(esp::spd::SaBundle::single(2)))
            .map(|(id, _)| id)
            .unwrap();
        run(&mut w, &|| Command::DelSp {
            direction: Direction::Outbound,
            id: old,
        });
        // SA 2 sits first: its removal moves SA 8, the last, into its place.
        run(&mut w, &|| Command::DelSa { id: SaId(2) });
        check(&w, [Some(0x1008), Some(0x1004), Some(0x1006)], Some(0x1003));
        // A delete with its policy left in: nothing is sent under any SA for it.
        run(&mut w, &|| Command::DelSa { id: SaId(4) });
        check(&w, [Some(0x1008), None, Some(0x1006)], Some(0x1003));
        run(&mut w, &|| {
            Command::Many(vec![Command::DelSa { id: SaId(3) }])
        });
        run(&mut w, &|| Command::AddSa {
            id: SaId(4),
            config: sa(0x2004, false),
            owner: 0,
        });
        check(&w, [Some(0x1008), Some(0x2004), Some(0x1006)], None);
    }
}
