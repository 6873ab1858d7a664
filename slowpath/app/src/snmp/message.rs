//! Whole trap messages: the SNMPv2-Trap-PDU (RFC 3416) with sysUpTime.0 and snmpTrapOID.0
//! first, in an SNMPv2c message (RFC 1901) or an SNMPv3 message (RFC 3412) under the USM
//! with authentication and privacy (RFC 3414, RFC 3826).

use super::ber::{self, tag};
use super::usm::{self, AuthProtocol};
use zeroize::Zeroizing;

/// sysUpTime.0 (SNMPv2-MIB).
pub const SYS_UPTIME_0: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
/// snmpTrapOID.0 (SNMPv2-MIB).
pub const SNMP_TRAP_OID_0: &[u32] = &[1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0];
/// The largest message we say we take (msgMaxSize): a UDP datagram's payload over IPv4.
const MAX_MESSAGE_SIZE: i64 = 65507;
/// msgFlags: authenticated and encrypted, not reportable (a trap is never answered).
const FLAGS_AUTH_PRIV: u8 = 0x03;
/// msgSecurityModel: the USM.
const SECURITY_MODEL_USM: i64 = 3;

/// A varbind's value, in the types our MIB's objects have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Integer(i64),
    Octets(Vec<u8>),
    Oid(Vec<u32>),
    /// Gauge32, which is also Unsigned32.
    Unsigned(u32),
    TimeTicks(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarBind {
    pub oid: Vec<u32>,
    pub value: Value,
}

fn varbind(out: &mut Vec<u8>, oid: &[u32], value: &Value) {
    let mut vb = Vec::with_capacity(32);
    ber::oid(&mut vb, oid);
    match value {
        Value::Integer(v) => ber::integer(&mut vb, tag::INTEGER, *v),
        Value::Octets(v) => ber::octets(&mut vb, v),
        Value::Oid(v) => ber::oid(&mut vb, v),
        Value::Unsigned(v) => ber::unsigned(&mut vb, tag::GAUGE32, *v),
        Value::TimeTicks(v) => ber::unsigned(&mut vb, tag::TIME_TICKS, *v),
    }
    ber::tlv(out, tag::SEQUENCE, &vb);
}

/// The SNMPv2-Trap-PDU: request-id, error-status 0, error-index 0, then sysUpTime.0 (in
/// hundredths of a second), snmpTrapOID.0 and the notification's own varbinds.
pub fn trap_pdu(
    request_id: i32,
    uptime_cs: u32,
    trap_oid: &[u32],
    varbinds: &[VarBind],
) -> Vec<u8> {
    let mut list = Vec::with_capacity(64 + varbinds.len() * 32);
    varbind(&mut list, SYS_UPTIME_0, &Value::TimeTicks(uptime_cs));
    varbind(&mut list, SNMP_TRAP_OID_0, &Value::Oid(trap_oid.to_vec()));
    for vb in varbinds {
        varbind(&mut list, &vb.oid, &vb.value);
    }
    let mut pdu = Vec::with_capacity(list.len() + 16);
    ber::integer(&mut pdu, tag::INTEGER, i64::from(request_id));
    ber::integer(&mut pdu, tag::INTEGER, 0);
    ber::integer(&mut pdu, tag::INTEGER, 0);
    ber::tlv(&mut pdu, tag::SEQUENCE, &list);
    let mut out = Vec::with_capacity(pdu.len() + 4);
    ber::tlv(&mut out, tag::TRAP_V2, &pdu);
    out
}

/// An SNMPv2c message: version 1 (v2c's number), the community, the PDU.
pub fn v2c_message(community: &[u8], pdu: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(pdu.len() + community.len() + 8);
    ber::integer(&mut content, tag::INTEGER, 1);
    ber::octets(&mut content, community);
    content.extend_from_slice(pdu);
    let mut out = Vec::with_capacity(content.len() + 4);
    ber::tlv(&mut out, tag::SEQUENCE, &content);
    out
}

/// A USM user's keys, localised to the engine the traps are sent from (ours).
pub struct UsmUser {
    pub name: Vec<u8>,
    pub auth: AuthProtocol,
    pub auth_key: Zeroizing<Vec<u8>>,
    pub priv_key: Zeroizing<Vec<u8>>,
}

impl UsmUser {
    /// Localises both passphrases to `engine_id` (a megabyte of hashing each: done once).
    pub fn new(
        name: &str,
        auth: AuthProtocol,
        auth_pass: &[u8],
        priv_pass: &[u8],
        engine_id: &[u8],
    ) -> UsmUser {
        UsmUser {
            name: name.as_bytes().to_vec(),
            auth,
            auth_key: auth.localized_key(auth_pass, engine_id),
            // RFC 3826 3.1.2.1: the privacy key is localised with the auth protocol's hash.
            priv_key: auth.localized_key(priv_pass, engine_id),
        }
    }
}

/// What changes from one SNMPv3 message to the next.
#[derive(Debug, Clone, Copy)]
pub struct V3Stamp<'a> {
    pub msg_id: i32,
    /// Our engine: the authoritative one for the notifications it sends.
    pub engine_id: &'a [u8],
    pub boots: u32,
    pub time: u32,
    /// Never repeated under one key with the same boots (RFC 3826 3.1.2.1).
    pub salt: u64,
}

/// An SNMPv3 message, authPriv: the scoped PDU encrypted, then the whole message
/// authenticated with its msgAuthenticationParameters zeroed (RFC 3414 6.3.1).
pub fn v3_message(user: &UsmUser, stamp: &V3Stamp, pdu: &[u8]) -> Vec<u8> {
    // The scoped PDU: contextEngineID (ours), the default context, the PDU.
    let mut scoped_content = Vec::with_capacity(pdu.len() + 40);
    ber::octets(&mut scoped_content, stamp.engine_id);
    ber::octets(&mut scoped_content, b"");
    scoped_content.extend_from_slice(pdu);
    let mut scoped = Vec::with_capacity(scoped_content.len() + 4);
    ber::tlv(&mut scoped, tag::SEQUENCE, &scoped_content);
    usm::aes_cfb_encrypt(
        &user.priv_key,
        stamp.boots,
        stamp.time,
        stamp.salt,
        &mut scoped,
    );

    let mut global = Vec::with_capacity(24);
    ber::integer(&mut global, tag::INTEGER, i64::from(stamp.msg_id));
    ber::integer(&mut global, tag::INTEGER, MAX_MESSAGE_SIZE);
    ber::octets(&mut global, &[FLAGS_AUTH_PRIV]);
    ber::integer(&mut global, tag::INTEGER, SECURITY_MODEL_USM);

    let mac_len = user.auth.mac_len();
    let mut usm_content = Vec::with_capacity(96);
    ber::octets(&mut usm_content, stamp.engine_id);
    ber::integer(&mut usm_content, tag::INTEGER, i64::from(stamp.boots));
    ber::integer(&mut usm_content, tag::INTEGER, i64::from(stamp.time));
    ber::octets(&mut usm_content, &user.name);
    let mac_at_in_usm = usm_content.len() + ber::header_len(mac_len);
    ber::octets(&mut usm_content, &vec![0; mac_len]);
    ber::octets(&mut usm_content, &stamp.salt.to_be_bytes());
    let mut usm_params = Vec::with_capacity(usm_content.len() + 4);
    ber::tlv(&mut usm_params, tag::SEQUENCE, &usm_content);
    let mac_at_in_usm = mac_at_in_usm + ber::header_len(usm_content.len());

    let mut content = Vec::with_capacity(scoped.len() + usm_params.len() + 48);
    ber::integer(&mut content, tag::INTEGER, 3);
    ber::tlv(&mut content, tag::SEQUENCE, &global);
    let mac_at_in_content = content.len() + ber::header_len(usm_params.len()) + mac_at_in_usm;
    ber::octets(&mut content, &usm_params);
    ber::octets(&mut content, &scoped);
    let mut msg = Vec::with_capacity(content.len() + 4);
    ber::tlv(&mut msg, tag::SEQUENCE, &content);
    let mac_at = ber::header_len(content.len()) + mac_at_in_content;

    let mac = user.auth.mac(&user.auth_key, &msg);
    msg[mac_at..mac_at + mac_len].copy_from_slice(&mac);
    msg
}

#[cfg(test)]
mod tests;
