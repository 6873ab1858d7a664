//! CHILD SAs that a checkpoint brought back (the slow path restarted, its IKE SAs imported):
//! the fast path still has them, installed by the slow path that died, under ids only that one
//! knew. Each is found by its SPIs and direction (never by a node-local id), and taken into
//! the table with its ids and policies as they are: no reinstall, no gap, nothing for the peer
//! to notice. What the fast path does not have (it restarted too) is installed anew by the
//! caller.

use ike::action::ChildSaInfo;
use ipc::fastpath::{SaInfo, SpInfo};
use ipc::{Direction, SpAction};

use super::{sa_spec, ChildEntry, InstalledSp, SaTable};

/// A restored CHILD SA waiting for its fast path SAs, with its replay window.
pub type Expected = (ChildSaInfo, Option<u32>);

fn spi_of(info: &SaInfo) -> Option<u32> {
    u32::from_str_radix(info.spi.trim_start_matches("0x"), 16).ok()
}

impl SaTable {
    /// CHILD SAs to find in the fast path at the next reconciliation.
    pub fn expect(&mut self, children: Vec<Expected>) {
        self.expected.extend(children);
    }

    /// The restored CHILD SAs the fast path did not have: to install anew.
    pub fn take_unadopted(&mut self) -> Vec<Expected> {
        std::mem::take(&mut self.expected)
    }

    /// Takes into the table each expected CHILD SA whose two SAs the fast path has; the
    /// number taken.
    pub(super) fn adopt(&mut self, sas: &[SaInfo], sps: &[SpInfo]) -> usize {
        let find = |spi: u32, dir: Direction| {
            sas.iter()
                .find(|i| i.direction == dir && spi_of(i) == Some(spi))
        };
        let policies = |sa: u32, dir: Direction| -> Vec<InstalledSp> {
            sps.iter()
                .filter(|p| {
                    p.sp.dir == dir && matches!(p.sp.action, SpAction::Protect(x) if x.get() == sa)
                })
                .map(|p| InstalledSp {
                    id: p.id.0,
                    spec: p.sp.clone(),
                })
                .collect()
        };
        let mut adopted = 0;
        for (info, window) in std::mem::take(&mut self.expected) {
            let c = &info.child;
            let pair = find(c.spi_in, Direction::In).zip(find(c.spi_out, Direction::Out));
            let Some((fin, fout)) = pair else {
                self.expected.push((info, window));
                continue;
            };
            let (sa_in, sa_out) = (fin.id.get(), fout.id.get());
            let specs = sa_spec(sa_in, Direction::In, &info, window)
                .and_then(|i| Ok((i, sa_spec(sa_out, Direction::Out, &info, window)?)));
            let Ok((spec_in, spec_out)) = specs else {
                self.expected.push((info, window));
                continue;
            };
            self.ids.take(sa_in);
            self.ids.take(sa_out);
            let e = ChildEntry {
                sa: c.sa,
                child: c.id,
                config: info.config.clone(),
                spi_in: c.spi_in,
                spi_out: c.spi_out,
                sa_in,
                sa_out,
                spec_in,
                spec_out,
                policies_in: policies(sa_in, Direction::In),
                policies_out: policies(sa_out, Direction::Out),
                generation: fin.iv_generation.max(fout.iv_generation),
            };
            self.insert_entry(e);
            adopted += 1;
        }
        adopted
    }
}
