//! The SAD and SPDs each worker holds, built from the configuration. Every worker has the
//! whole SPDs (read-only on the hot path); an SA lives in the SAD of exactly one worker, its
//! owner, so that it has one writer (as VPP binds an SA to one worker).

use crate::config::Config;
use esp::sa::{Direction, SaId};
use esp::sad::{Sad, SadError};
use esp::spd::{Policy, Spd};

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
        Ok(Tables {
            sad,
            spd_out,
            spd_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
