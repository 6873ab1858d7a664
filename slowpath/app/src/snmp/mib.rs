//! Our MIB (`mibs/IPSEC-GW-MIB.txt`) as the sender needs it: each notification's OID and
//! objects, and the one mapping from a recorded event (its `event` kind and fields) to a
//! notification and its varbinds.

use super::message::{Value, VarBind};
use serde_json::Value as Json;
use std::net::IpAddr;

/// ipsecGwMIB: under 32473, IANA's enterprise number for documentation (RFC 5612).
pub const MIB_ARC: &[u32] = &[1, 3, 6, 1, 4, 1, 32473, 1];

/// The notifications, numbered as under ipsecGwNotifications (ipsecGwMIB.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notification {
    CryptoGroupSwitchover = 1,
    CryptoGroupRevert = 2,
    PeerDead = 3,
    PeerAlive = 4,
    IkeSaUp = 5,
    IkeSaDown = 6,
    ChildSaUp = 7,
    ChildSaDown = 8,
    HaRoleChange = 9,
    HaSyncUp = 10,
    HaSyncDown = 11,
}

impl Notification {
    pub const ALL: [Notification; 11] = [
        Notification::CryptoGroupSwitchover,
        Notification::CryptoGroupRevert,
        Notification::PeerDead,
        Notification::PeerAlive,
        Notification::IkeSaUp,
        Notification::IkeSaDown,
        Notification::ChildSaUp,
        Notification::ChildSaDown,
        Notification::HaRoleChange,
        Notification::HaSyncUp,
        Notification::HaSyncDown,
    ];

    /// The MIB's descriptor.
    pub fn name(self) -> &'static str {
        match self {
            Notification::CryptoGroupSwitchover => "ipsecGwCryptoGroupSwitchover",
            Notification::CryptoGroupRevert => "ipsecGwCryptoGroupRevert",
            Notification::PeerDead => "ipsecGwPeerDead",
            Notification::PeerAlive => "ipsecGwPeerAlive",
            Notification::IkeSaUp => "ipsecGwIkeSaUp",
            Notification::IkeSaDown => "ipsecGwIkeSaDown",
            Notification::ChildSaUp => "ipsecGwChildSaUp",
            Notification::ChildSaDown => "ipsecGwChildSaDown",
            Notification::HaRoleChange => "ipsecGwHaRoleChange",
            Notification::HaSyncUp => "ipsecGwHaSyncUp",
            Notification::HaSyncDown => "ipsecGwHaSyncDown",
        }
    }

    pub fn oid(self) -> Vec<u32> {
        let mut oid = MIB_ARC.to_vec();
        oid.extend_from_slice(&[0, self as u32]);
        oid
    }

    /// The objects its varbinds carry, in the order of its OBJECTS clause.
    pub fn objects(self) -> &'static [Object] {
        use Object::*;
        match self {
            Notification::CryptoGroupSwitchover | Notification::CryptoGroupRevert => {
                &[CryptoGroupName, TunnelFrom, TunnelTo, Reason]
            }
            Notification::PeerDead | Notification::PeerAlive => &[
                CryptoGroupName,
                ConnName,
                PeerAddressType,
                PeerAddress,
                Reason,
            ],
            Notification::IkeSaUp => &[
                ConnName,
                IkeSaIndex,
                IkeSpiInitiator,
                IkeSpiResponder,
                PeerAddressType,
                PeerAddress,
            ],
            Notification::IkeSaDown => &[ConnName, IkeSaIndex, Reason],
            Notification::ChildSaUp => &[
                ConnName,
                IkeSaIndex,
                ChildSpiIn,
                ChildSpiOut,
                PeerAddressType,
                PeerAddress,
            ],
            Notification::ChildSaDown => &[ConnName, IkeSaIndex, ChildSpiIn, ChildSpiOut, Reason],
            Notification::HaRoleChange => &[HaGroupName, HaRoleFrom, HaRoleTo, Reason],
            Notification::HaSyncUp | Notification::HaSyncDown => &[Reason],
        }
    }

    /// The notification an event kind is sent as, if any.
    pub fn of_kind(kind: &str) -> Option<Notification> {
        Some(match kind {
            "crypto_group_switchover" => Notification::CryptoGroupSwitchover,
            "crypto_group_revert" => Notification::CryptoGroupRevert,
            "peer_dead" => Notification::PeerDead,
            "peer_alive" => Notification::PeerAlive,
            "ike_up" => Notification::IkeSaUp,
            "ike_down" => Notification::IkeSaDown,
            "child_up" => Notification::ChildSaUp,
            "child_down" => Notification::ChildSaDown,
            "ha_role" => Notification::HaRoleChange,
            "ha_sync_up" => Notification::HaSyncUp,
            "ha_sync_down" => Notification::HaSyncDown,
            _ => return None,
        })
    }
}

/// The objects notifications carry, numbered as under ipsecGwObjects (ipsecGwMIB.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    CryptoGroupName = 1,
    TunnelFrom = 2,
    TunnelTo = 3,
    Reason = 4,
    PeerAddressType = 5,
    PeerAddress = 6,
    ConnName = 7,
    IkeSaIndex = 8,
    IkeSpiInitiator = 9,
    IkeSpiResponder = 10,
    ChildSpiIn = 11,
    ChildSpiOut = 12,
    HaGroupName = 13,
    HaRoleFrom = 14,
    HaRoleTo = 15,
}

impl Object {
    pub fn name(self) -> &'static str {
        match self {
            Object::CryptoGroupName => "ipsecGwCryptoGroupName",
            Object::TunnelFrom => "ipsecGwTunnelFrom",
            Object::TunnelTo => "ipsecGwTunnelTo",
            Object::Reason => "ipsecGwReason",
            Object::PeerAddressType => "ipsecGwPeerAddressType",
            Object::PeerAddress => "ipsecGwPeerAddress",
            Object::ConnName => "ipsecGwConnName",
            Object::IkeSaIndex => "ipsecGwIkeSaIndex",
            Object::IkeSpiInitiator => "ipsecGwIkeSpiInitiator",
            Object::IkeSpiResponder => "ipsecGwIkeSpiResponder",
            Object::ChildSpiIn => "ipsecGwChildSpiIn",
            Object::ChildSpiOut => "ipsecGwChildSpiOut",
            Object::HaGroupName => "ipsecGwHaGroupName",
            Object::HaRoleFrom => "ipsecGwHaRoleFrom",
            Object::HaRoleTo => "ipsecGwHaRoleTo",
        }
    }

    /// The instance a varbind names: the object's OID and `.0`, as for a scalar.
    pub fn instance(self) -> Vec<u32> {
        let mut oid = MIB_ARC.to_vec();
        oid.extend_from_slice(&[1, self as u32, 0]);
        oid
    }

    /// The object's value, from the event's fields (each kind names them its own way).
    fn value(self, kind: &str, f: &Json) -> Value {
        match self {
            Object::CryptoGroupName => text(f, "group"),
            Object::HaRoleFrom => role(f, "from"),
            Object::HaRoleTo => role(f, "to"),
            Object::TunnelFrom => text(f, "from"),
            Object::TunnelTo => text(f, "to"),
            Object::Reason => text(f, "reason"),
            Object::PeerAddressType => Value::Integer(match address(f, kind) {
                Some(IpAddr::V4(_)) => 1,
                Some(IpAddr::V6(_)) => 2,
                None => 0,
            }),
            Object::PeerAddress => Value::Octets(match address(f, kind) {
                Some(IpAddr::V4(a)) => a.octets().to_vec(),
                Some(IpAddr::V6(a)) => a.octets().to_vec(),
                None => Vec::new(),
            }),
            // A CHILD SA's event names its config `name`; the others say `conn`.
            Object::ConnName => text(
                f,
                if kind.starts_with("child_") {
                    "name"
                } else {
                    "conn"
                },
            ),
            Object::IkeSaIndex => Value::Unsigned(number(&f["ike_sa"]) as u32),
            Object::IkeSpiInitiator => Value::Octets(number(&f["spi_i"]).to_be_bytes().to_vec()),
            Object::IkeSpiResponder => Value::Octets(number(&f["spi_r"]).to_be_bytes().to_vec()),
            Object::ChildSpiIn => Value::Unsigned(number(&f["spi_in"]) as u32),
            Object::ChildSpiOut => Value::Unsigned(number(&f["spi_out"]) as u32),
            Object::HaGroupName => text(f, "ha_group"),
        }
    }
}

/// A notification to send, with its varbinds (after sysUpTime.0 and snmpTrapOID.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub notification: Notification,
    pub varbinds: Vec<VarBind>,
}

/// The notification of a recorded event (fields with its `event` kind), or None for a kind
/// our MIB has none for. A missing or odd field becomes an empty or zero value: an event is
/// never lost for a field the receiver can do without.
pub fn notification_of(event: &Json) -> Option<Notify> {
    let kind = event["event"].as_str()?;
    let notification = Notification::of_kind(kind)?;
    let varbinds = notification
        .objects()
        .iter()
        .map(|o| VarBind {
            oid: o.instance(),
            value: o.value(kind, event),
        })
        .collect();
    Some(Notify {
        notification,
        varbinds,
    })
}

/// A field as text: strings as they are, null or absent as empty, anything else in JSON.
fn text(f: &Json, key: &str) -> Value {
    Value::Octets(match &f[key] {
        Json::String(s) => s.as_bytes().to_vec(),
        Json::Null => Vec::new(),
        other => other.to_string().into_bytes(),
    })
}

/// A number, or a `0x` hex string as SPIs are rendered; 0 when it is neither.
fn number(v: &Json) -> u64 {
    match v {
        Json::Number(n) => n.as_u64().unwrap_or(0),
        Json::String(s) => s
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .unwrap_or(0),
        _ => 0,
    }
}

/// IpsecGwHaRole: active(1), standby(2), other(3).
fn role(f: &Json, key: &str) -> Value {
    Value::Integer(match f[key].as_str() {
        Some("active") => 1,
        Some("standby") => 2,
        _ => 3,
    })
}

/// The peer's address: `remote` in IKE events, `peer` in crypto group ones.
fn address(f: &Json, kind: &str) -> Option<IpAddr> {
    let key = if kind.starts_with("peer_") {
        "peer"
    } else {
        "remote"
    };
    let s = f[key].as_str()?;
    // An IKE SA's `remote` is a socket address; a CHILD SA's a plain address.
    s.parse()
        .ok()
        .or_else(|| s.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests;
