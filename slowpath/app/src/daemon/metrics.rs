//! The daemon's side of the Prometheus page: the statuses the control socket answers with,
//! gathered between two steps for each waiting scrape.

use super::Daemon;
use crate::metrics::page::{self, IkeInputs, PageInputs};

impl Daemon {
    pub(super) fn serve_metrics(&mut self) {
        let Some(mut endpoint) = self.metrics.take() else {
            return;
        };
        endpoint.serve(|out| {
            let now = self.now();
            let inputs = PageInputs {
                uptime: now,
                instances: self.vrrp.instance_statuses(now),
                ha_groups: self.ha_statuses(now),
                ike: self.ike.as_ref().map(|i| IkeInputs {
                    sas: i.ike_sas(now),
                    counters: i.counters(),
                    pools: i.pools(),
                }),
                crypto_groups: self
                    .ike
                    .as_ref()
                    .map_or_else(Vec::new, |i| i.crypto_groups(now)),
                traps: self.events.trap_statuses(),
            };
            page::write(out, &inputs)
        });
        self.metrics = Some(endpoint);
    }
}
