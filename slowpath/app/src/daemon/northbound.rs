//! The daemon's side of the operator's control socket: each request answered from the state
//! between two steps, as one of the typed replies of `northbound::vrrp_status`.

use super::error::RequestError;
use super::Daemon;
use crate::control::Incoming;
use crate::northbound::vrrp_events::VrrpEvent;
use crate::northbound::vrrp_status::{HaRole, SwitchoverStatus};
use crate::status;
use serde_json::{json, Value};
use std::time::Duration;

/// How long a switchover keeps this node backup when the operator does not say.
const SWITCHOVER_HOLD: Duration = Duration::from_secs(60);

/// The op a request names, in a schema version spoken here.
fn request_op(req: &Value) -> Result<&str, RequestError> {
    if let Some(v) = req.get("v").and_then(Value::as_u64) {
        if v != crate::control::VERSION {
            return Err(RequestError::Version(v));
        }
    }
    text(req, "op")
}

fn text<'a>(req: &'a Value, field: &'static str) -> Result<&'a str, RequestError> {
    req.get(field)
        .and_then(Value::as_str)
        .ok_or(RequestError::Missing(field))
}

impl Daemon {
    /// Answers what arrived on the control socket.
    pub(super) fn serve_control(&mut self) {
        let Some(c) = self.control.as_mut() else {
            return;
        };
        for Incoming { client, request } in c.poll() {
            let (id, result) = match request {
                Ok(req) => {
                    let id = req.get("id").cloned().unwrap_or(Value::Null);
                    if req.get("op").and_then(Value::as_str) == Some("subscribe") {
                        if let Some(c) = self.control.as_mut() {
                            c.reply(client, id, Ok(json!("subscribed")));
                            c.subscribe(client);
                        }
                        continue;
                    }
                    (id, self.handle(&req))
                }
                Err(e) => (Value::Null, Err(e)),
            };
            if let Some(c) = self.control.as_mut() {
                c.reply(client, id, result);
            }
        }
    }

    /// One operator request: IKE's own ops go to IKE, the rest are answered here.
    fn handle(&mut self, req: &Value) -> Result<Value, String> {
        let now = self.now();
        let op = request_op(req).map_err(|e| e.to_string())?;
        if let Some(r) = self.ike.as_mut().and_then(|i| i.handle(now, op, req)) {
            self.collect_ike_events(now);
            return r;
        }
        self.answer(now, op, req).map_err(|e| e.to_string())
    }

    fn answer(&mut self, now: Duration, op: &str, req: &Value) -> Result<Value, RequestError> {
        let value = match op {
            "instances" => serde_json::to_value(self.vrrp.instance_statuses(now))?,
            "groups" => serde_json::to_value(self.vrrp.group_statuses())?,
            "ha_groups" => serde_json::to_value(self.ha.statuses(now))?,
            "interfaces" => serde_json::to_value(self.vrrp.interface_statuses())?,
            "tracks" => serde_json::to_value(self.tracks.statuses())?,
            "events" => Value::Array(self.events.recent()),
            "switchover" => serde_json::to_value(self.switchover(now, req)?)?,
            "ha_set" => {
                let name = text(req, "ha_group")?;
                let role = req
                    .get("role")
                    .and_then(Value::as_str)
                    .and_then(HaRole::from_name)
                    .ok_or(RequestError::Role)?;
                let s = self
                    .ha
                    .set_role(now, name, status::vrrp_role(role), &mut self.events)
                    .ok_or_else(|| RequestError::NoHaGroup(name.to_string()))?;
                serde_json::to_value(s)?
            }
            other => return Err(RequestError::UnknownOp(other.to_string())),
        };
        Ok(value)
    }

    /// The named VRRP group (or the one behind an HA group) steps down on this node.
    fn switchover(&mut self, now: Duration, req: &Value) -> Result<SwitchoverStatus, RequestError> {
        let name = text(req, "group")?;
        let hold = req
            .get("hold_ms")
            .and_then(Value::as_u64)
            .map_or(SWITCHOVER_HOLD, Duration::from_millis);
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
    fn requests_are_checked_before_they_are_answered() {
        assert_eq!(
            request_op(&json!({"v": 1, "op": "groups"})).unwrap(),
            "groups"
        );
        assert_eq!(request_op(&json!({"op": "groups"})).unwrap(), "groups");
        let e = request_op(&json!({"v": 2, "op": "groups"})).unwrap_err();
        assert_eq!(e.to_string(), "schema v2 is not spoken here (v1)");
        let e = request_op(&json!({"v": 1})).unwrap_err();
        assert_eq!(e.to_string(), "wants \"op\"");
        let e = text(&json!({"group": 7}), "group").unwrap_err();
        assert_eq!(e.to_string(), "wants \"group\"");
        assert_eq!(
            RequestError::UnknownOp("nope".into()).to_string(),
            "unknown op \"nope\""
        );
    }
}
