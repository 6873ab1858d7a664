//! The daemon's side of the operator's control socket: each request answered from the state
//! between two steps, as one of the typed replies of `northbound::vrrp_status`.

use super::error::RequestError;
use super::Daemon;
use crate::control::Incoming;
use crate::northbound::vrrp_events::VrrpEvent;
use crate::northbound::vrrp_status::{HaGroupStatus, HaRole, SwitchoverStatus};
use crate::status;
use ipc::slowpath::Request;
use serde_json::{json, Value};
use std::time::Duration;

impl Daemon {
    /// Answers what arrived on the control socket.
    pub(super) fn serve_control(&mut self) {
        let Some(c) = self.control.as_mut() else {
            return;
        };
        for Incoming {
            client,
            id,
            request,
        } in c.poll()
        {
            let result = match request {
                Ok(Request::Subscribe) => {
                    if let Some(c) = self.control.as_mut() {
                        c.reply(client, id, Ok(json!("subscribed")));
                        c.subscribe(client);
                    }
                    continue;
                }
                Ok(request) => self.handle(request),
                Err(e) => Err(e),
            };
            if let Some(c) = self.control.as_mut() {
                c.reply(client, id, result);
            }
        }
    }

    /// One operator request: IKE's own ops go to IKE, the rest are answered here.
    fn handle(&mut self, request: Request) -> Result<Value, String> {
        let now = self.now();
        if let Some(r) = self.ike.as_mut().and_then(|i| i.handle(now, &request)) {
            self.collect_ike_events(now);
            return r.map_err(|e| e.to_string());
        }
        self.answer(now, request).map_err(|e| e.to_string())
    }

    fn answer(&mut self, now: Duration, request: Request) -> Result<Value, RequestError> {
        let value = match request {
            Request::Instances => serde_json::to_value(self.vrrp.instance_statuses(now))?,
            Request::Groups => serde_json::to_value(self.vrrp.group_statuses())?,
            Request::HaGroups => serde_json::to_value(self.ha_statuses(now))?,
            Request::Interfaces => serde_json::to_value(self.vrrp.interface_statuses())?,
            Request::Tracks => serde_json::to_value(self.tracks.statuses())?,
            Request::Events => Value::Array(self.events.recent()),
            Request::SnmpTraps => serde_json::to_value(self.events.trap_statuses())?,
            Request::Switchover { group, hold_ms } => serde_json::to_value(self.switchover(
                now,
                &group,
                Duration::from_millis(hold_ms),
            )?)?,
            Request::HaSet { ha_group, role } => {
                let role = match role {
                    ipc::slowpath::HaRole::Active => HaRole::Active,
                    ipc::slowpath::HaRole::Standby => HaRole::Standby,
                };
                let s = self
                    .ha
                    .set_role(now, &ha_group, status::vrrp_role(role), &mut self.events)
                    .ok_or(RequestError::NoHaGroup(ha_group))?;
                serde_json::to_value(s)?
            }
            other => return Err(RequestError::NotHere(other.op())),
        };
        Ok(value)
    }

    /// Every HA group; the one IKE listens to with the HA sync's state.
    pub(super) fn ha_statuses(&self, now: Duration) -> Vec<HaGroupStatus> {
        let mut all = self.ha.statuses(now);
        if let (Some(h), Some(i)) = (&self.ha_sync, &self.ike) {
            if let Some(g) = all.iter_mut().find(|g| g.name == h.listened()) {
                g.sync = i.ha_status(now);
            }
        }
        all
    }

    /// The named VRRP group (or the one behind an HA group) steps down on this node.
    fn switchover(
        &mut self,
        now: Duration,
        name: &str,
        hold: Duration,
    ) -> Result<SwitchoverStatus, RequestError> {
        let group_name = if self.vrrp.groups().iter().any(|g| g.name() == name) {
            name.to_string()
        } else {
            self.ha
                .followed_group(name)
                .ok_or_else(|| RequestError::NoGroup(name.to_string()))?
        };
        let g = self
            .vrrp
            .group_mut(&group_name)
            .ok_or_else(|| RequestError::NoGroup(name.to_string()))?;
        let was = status::group_state(g.state());
        g.force_backup(now, hold);
        let event = VrrpEvent::Switchover {
            group: name.to_string(),
            hold_ms: hold.as_millis() as u64,
        };
        self.events.record(now.as_millis(), &event);
        Ok(SwitchoverStatus {
            group: name.to_string(),
            was,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_why() {
        assert_eq!(
            RequestError::NotHere("ike_sas").to_string(),
            "ike_sas: this node runs no IKE"
        );
        assert_eq!(
            RequestError::NoHaGroup("x".into()).to_string(),
            "no ha-group x"
        );
    }
}
