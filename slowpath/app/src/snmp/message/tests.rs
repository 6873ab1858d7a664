use super::*;

const ARC: [u32; 8] = [1, 3, 6, 1, 4, 1, 32473, 1];

fn oid(tail: &[u32]) -> Vec<u32> {
    ARC.iter().chain(tail).copied().collect()
}

/// A trap net-snmp's `snmptrap` sent (captured off a UDP socket):
/// `snmptrap -v 2c -c public 127.0.0.1:16299 4242 1.3.6.1.4.1.32473.1.0.8
///  ...1.1.7.0 s net ...1.1.8.0 u 7 ...1.1.11.0 u 3248665540 ...1.1.12.0 u 16909060
///  ...1.1.4.0 s Deleted` (request-id 0x1f08e906, its choice).
const NET_SNMP_V2C: &str = "3081b602010104067075626c6963a781a802041f08e906020100020100308199\
300e06082b06010201010300430210923019060a2b060106030101040100060b2b0601040181fd590100083013\
060c2b0601040181fd590101070004036e65743011060c2b0601040181fd59010108004201073015060c2b0601\
040181fd5901010b00420500c1a2b3c43014060c2b0601040181fd5901010c004204010203043017060c2b0601\
040181fd5901010400040744656c65746564";

#[test]
fn a_v2c_trap_is_byte_for_byte_what_net_snmp_sends() {
    let varbinds = [
        (oid(&[1, 7, 0]), Value::Octets(b"net".to_vec())),
        (oid(&[1, 8, 0]), Value::Unsigned(7)),
        (oid(&[1, 11, 0]), Value::Unsigned(0xc1a2_b3c4)),
        (oid(&[1, 12, 0]), Value::Unsigned(0x0102_0304)),
        (oid(&[1, 4, 0]), Value::Octets(b"Deleted".to_vec())),
    ]
    .map(|(oid, value)| VarBind { oid, value });
    let pdu = trap_pdu(0x1f08_e906, 4242, &oid(&[0, 8]), &varbinds);
    let msg = v2c_message(b"public", &pdu);
    assert_eq!(hex::encode(msg), NET_SNMP_V2C);
}

fn user(auth: AuthProtocol, engine: &[u8]) -> UsmUser {
    UsmUser::new("ops", auth, b"authpassphrase", b"privpassphrase", engine)
}

/// Reads one TLV at `at`: (tag, content range). Only what the test below needs.
fn tlv_at(b: &[u8], at: usize) -> (u8, std::ops::Range<usize>) {
    let (tag, first) = (b[at], b[at + 1] as usize);
    let (len, start) = if first < 0x80 {
        (first, at + 2)
    } else {
        let n = first & 0x7f;
        let len = b[at + 2..at + 2 + n]
            .iter()
            .fold(0, |a, x| a << 8 | *x as usize);
        (len, at + 2 + n)
    };
    (tag, start..start + len)
}

/// The fields of a v3 message, walked as a receiver would, and its MAC checked the way
/// RFC 3414 3.2 step 8 does: the field zeroed, the HMAC recomputed over the whole message.
#[test]
fn a_v3_message_carries_the_usm_fields_and_a_valid_mac() {
    for auth in [AuthProtocol::Sha1, AuthProtocol::Sha256] {
        let engine = hex::decode("80007ed9046c6162").unwrap();
        let u = user(auth, &engine);
        let stamp = V3Stamp {
            msg_id: 77,
            engine_id: &engine,
            boots: 3,
            time: 99,
            salt: 5,
        };
        let pdu = trap_pdu(1, 100, &oid(&[0, 10]), &[]);
        let msg = v3_message(&u, &stamp, &pdu);
        let (t, outer) = tlv_at(&msg, 0);
        assert_eq!((t, outer.end), (0x30, msg.len()));
        let (_, version) = tlv_at(&msg, outer.start);
        assert_eq!(&msg[version.clone()], &[3]);
        let (_, global) = tlv_at(&msg, version.end);
        let (_, msg_id) = tlv_at(&msg, global.start);
        assert_eq!(&msg[msg_id.clone()], &[77]);
        let (_, max) = tlv_at(&msg, msg_id.end);
        let (_, flags) = tlv_at(&msg, max.end);
        assert_eq!(&msg[flags], &[3], "auth and priv, not reportable");
        let (t, usm) = tlv_at(&msg, global.end);
        assert_eq!(t, 0x04);
        let (_, usm_seq) = tlv_at(&msg, usm.start);
        let mut at = usm_seq.start;
        let mut fields = Vec::new();
        for _ in 0..6 {
            let (_, r) = tlv_at(&msg, at);
            at = r.end;
            fields.push(r);
        }
        assert_eq!(&msg[fields[0].clone()], &engine[..]);
        assert_eq!(&msg[fields[1].clone()], &[3]);
        assert_eq!(&msg[fields[2].clone()], &[99]);
        assert_eq!(&msg[fields[3].clone()], b"ops");
        assert_eq!(fields[4].len(), auth.mac_len());
        assert_eq!(&msg[fields[5].clone()], &5u64.to_be_bytes());
        let mut zeroed = msg.clone();
        zeroed[fields[4].clone()].fill(0);
        assert_eq!(
            auth.mac(&u.auth_key, &zeroed),
            msg[fields[4].clone()].to_vec()
        );
        // The scoped PDU decrypts (RFC 3826 IV) to contextEngineID, "" and our PDU.
        let (t, data) = tlv_at(&msg, usm.end);
        assert_eq!((t, data.end), (0x04, msg.len()));
        let mut plain = msg[data].to_vec();
        let mut iv = [0u8; 16];
        iv[3] = 3;
        iv[7] = 99;
        iv[15] = 5;
        use aes::cipher::{AsyncStreamCipher, KeyIvInit};
        cfb_mode::Decryptor::<aes::Aes128>::new_from_slices(&u.priv_key[..16], &iv)
            .unwrap()
            .decrypt(&mut plain);
        let mut want = Vec::new();
        ber::octets(&mut want, &engine);
        ber::octets(&mut want, b"");
        want.extend_from_slice(&pdu);
        let mut seq = Vec::new();
        ber::tlv(&mut seq, 0x30, &want);
        assert_eq!(plain, seq);
    }
}
