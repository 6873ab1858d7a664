use super::*;
use serde_json::json;

const MIB_TEXT: &str = include_str!("../../../../../mibs/IPSEC-GW-MIB.txt");

fn vb(o: Object, value: Value) -> VarBind {
    VarBind {
        oid: o.instance(),
        value,
    }
}

fn s(v: &str) -> Value {
    Value::Octets(v.as_bytes().to_vec())
}

/// Every kind that has a notification, with the fields its emitter gives it.
#[test]
fn every_kind_maps_to_its_notification_and_varbinds() {
    use Object::*;
    let v4 = Value::Octets(vec![192, 0, 2, 7]);
    let cases = [
        (
            json!({"event": "crypto_group_switchover", "group": "g1", "from": "pri", "to": "sec", "reason": "peer_dead", "from_member": "primary", "peer": "192.0.2.7:500", "switchovers": 1}),
            Notification::CryptoGroupSwitchover,
            vec![
                vb(CryptoGroupName, s("g1")),
                vb(TunnelFrom, s("pri")),
                vb(TunnelTo, s("sec")),
                vb(Reason, s("peer_dead")),
            ],
        ),
        (
            json!({"event": "crypto_group_revert", "group": "g1", "from": "sec", "to": "pri", "reason": "hold"}),
            Notification::CryptoGroupRevert,
            vec![
                vb(CryptoGroupName, s("g1")),
                vb(TunnelFrom, s("sec")),
                vb(TunnelTo, s("pri")),
                vb(Reason, s("hold")),
            ],
        ),
        (
            json!({"event": "peer_dead", "group": "g1", "conn": "pri", "peer": "192.0.2.7", "reason": "dpd"}),
            Notification::PeerDead,
            vec![
                vb(CryptoGroupName, s("g1")),
                vb(ConnName, s("pri")),
                vb(PeerAddressType, Value::Integer(1)),
                vb(PeerAddress, v4.clone()),
                vb(Reason, s("dpd")),
            ],
        ),
        (
            json!({"event": "peer_alive", "group": null, "conn": "pri", "peer": "[2001:db8::1]:500"}),
            Notification::PeerAlive,
            vec![
                vb(CryptoGroupName, s("")),
                vb(ConnName, s("pri")),
                vb(PeerAddressType, Value::Integer(2)),
                vb(
                    PeerAddress,
                    Value::Octets(
                        "2001:db8::1"
                            .parse::<std::net::Ipv6Addr>()
                            .unwrap()
                            .octets()
                            .to_vec(),
                    ),
                ),
                vb(Reason, s("")),
            ],
        ),
        (
            json!({"event": "ike_up", "ike_sa": 5, "conn": "hq", "spi_i": "0x0102030405060708",
                   "spi_r": "0x1112131415161718", "remote": "192.0.2.7:500", "local": "192.0.2.1:500"}),
            Notification::IkeSaUp,
            vec![
                vb(ConnName, s("hq")),
                vb(IkeSaIndex, Value::Unsigned(5)),
                vb(IkeSpiInitiator, Value::Octets(vec![1, 2, 3, 4, 5, 6, 7, 8])),
                vb(
                    IkeSpiResponder,
                    Value::Octets(vec![0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]),
                ),
                vb(PeerAddressType, Value::Integer(1)),
                vb(PeerAddress, v4.clone()),
            ],
        ),
        (
            json!({"event": "ike_down", "ike_sa": 5, "conn": null, "reason": "Deleted"}),
            Notification::IkeSaDown,
            vec![
                vb(ConnName, s("")),
                vb(IkeSaIndex, Value::Unsigned(5)),
                vb(Reason, s("Deleted")),
            ],
        ),
        (
            json!({"event": "child_up", "ike_sa": 5, "child": 1, "name": "net", "spi_in": "0xc1a2b3c4",
                   "spi_out": "0x01020304", "remote": "192.0.2.7"}),
            Notification::ChildSaUp,
            vec![
                vb(ConnName, s("net")),
                vb(IkeSaIndex, Value::Unsigned(5)),
                vb(ChildSpiIn, Value::Unsigned(0xc1a2_b3c4)),
                vb(ChildSpiOut, Value::Unsigned(0x0102_0304)),
                vb(PeerAddressType, Value::Integer(1)),
                vb(PeerAddress, v4),
            ],
        ),
        (
            json!({"event": "child_down", "ike_sa": 5, "child": 1, "name": "net", "spi_in": "0xc1a2b3c4",
                   "spi_out": "0x01020304", "reason": "IkeSaDown"}),
            Notification::ChildSaDown,
            vec![
                vb(ConnName, s("net")),
                vb(IkeSaIndex, Value::Unsigned(5)),
                vb(ChildSpiIn, Value::Unsigned(0xc1a2_b3c4)),
                vb(ChildSpiOut, Value::Unsigned(0x0102_0304)),
                vb(Reason, s("IkeSaDown")),
            ],
        ),
        (
            json!({"event": "ha_role", "ha_group": "lab", "from": "standby", "to": "active", "reason": "static Active"}),
            Notification::HaRoleChange,
            vec![
                vb(HaGroupName, s("lab")),
                vb(HaRoleFrom, Value::Integer(2)),
                vb(HaRoleTo, Value::Integer(1)),
                vb(Reason, s("static Active")),
            ],
        ),
        (
            json!({"event": "ha_sync_up"}),
            Notification::HaSyncUp,
            vec![vb(Reason, s(""))],
        ),
        (
            json!({"event": "ha_sync_down", "reason": "timeout", "was_up_ms": 10}),
            Notification::HaSyncDown,
            vec![vb(Reason, s("timeout"))],
        ),
    ];
    let mut seen = Vec::new();
    for (event, notification, varbinds) in cases {
        let got = notification_of(&event).unwrap_or_else(|| panic!("{event}"));
        assert_eq!(
            got,
            Notify {
                notification,
                varbinds
            },
            "{event}"
        );
        seen.push(notification);
    }
    assert_eq!(seen, Notification::ALL, "every notification is tested");
}

#[test]
fn other_kinds_and_non_events_send_nothing() {
    for e in [
        json!({"event": "track", "track": "t", "up": true}),
        json!({"event": "vrrp_state"}),
        json!({"no": "kind"}),
    ] {
        assert_eq!(notification_of(&e), None, "{e}");
    }
}

/// The numbers and OBJECTS clauses here are the MIB file's: each descriptor is defined
/// under the number we send, and each notification lists our varbinds in our order.
#[test]
fn the_mib_file_defines_what_is_sent() {
    let squashed: String = MIB_TEXT.split_whitespace().collect::<Vec<_>>().join(" ");
    for n in Notification::ALL {
        let objects: Vec<&str> = n.objects().iter().map(|o| o.name()).collect();
        let want = format!(
            "{} NOTIFICATION-TYPE OBJECTS {{ {} }}",
            n.name(),
            objects.join(", ")
        );
        assert!(squashed.contains(&want), "{want}");
        let number = format!("::= {{ ipsecGwNotifications {} }} ", n as u32);
        let def = squashed
            .split(&format!("{} NOTIFICATION-TYPE", n.name()))
            .nth(1)
            .unwrap();
        assert!(
            def.split("NOTIFICATION-TYPE")
                .next()
                .unwrap()
                .contains(&number),
            "{}",
            n.name()
        );
    }
    for o in Notification::ALL.iter().flat_map(|n| n.objects()) {
        let def = squashed
            .split(&format!("{} OBJECT-TYPE", o.name()))
            .nth(1)
            .unwrap();
        let number = format!("::= {{ ipsecGwObjects {} }}", *o as u32);
        assert!(
            def.split("OBJECT-TYPE").next().unwrap().contains(&number),
            "{}",
            o.name()
        );
        assert!(def.starts_with(" SYNTAX"), "{}", o.name());
    }
    assert!(squashed.contains("::= { enterprises 32473 1 }"));
    assert_eq!(MIB_ARC, [1, 3, 6, 1, 4, 1, 32473, 1]);
}
