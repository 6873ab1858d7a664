use super::*;
use crate::config::{Lifetimes, Mode};
use crate::crypto::keys::ChildKeys;
use crate::crypto::transform::{Suite, ENCR_AES_GCM_16};
use crate::message::TrafficSelector;
use crate::retransmit::Retransmit;
use crate::rng::{RngSource, TestRng};
use crate::sa::child_sa::ChildState;
use crate::v1::wire::{auth_method, encapsulation, encryption, esp_transform, hash};
use zeroize::Zeroizing;

/// Random octets of a length in `lens`.
fn bytes(rng: &mut TestRng, lens: std::ops::RangeInclusive<usize>) -> Vec<u8> {
    let mut n = [0u8; 2];
    rng.fill(&mut n);
    let span = lens.end() - lens.start() + 1;
    let mut v = vec![0u8; lens.start() + usize::from(u16::from_be_bytes(n)) % span];
    rng.fill(&mut v);
    v
}

fn u32_of(rng: &mut TestRng) -> u32 {
    let mut b = [0u8; 4];
    rng.fill(&mut b);
    u32::from_be_bytes(b) | 1
}

fn cookie(rng: &mut TestRng) -> [u8; 8] {
    let mut c = [0u8; 8];
    rng.fill(&mut c);
    c[7] |= 1;
    c
}

fn secret(rng: &mut TestRng) -> SecretBytes {
    Zeroizing::new(bytes(rng, 16..=64))
}

fn quick_mode(rng: &mut TestRng, message_id: u32) -> QuickModeRecord {
    let pfs = message_id.is_multiple_of(2).then(|| PfsRecord {
        group: 14,
        private: secret(rng),
        peer_public: Some(bytes(rng, 256..=256)),
    });
    let proposal = Phase2Transform {
        transform_id: esp_transform::AES_CBC,
        key_bits: Some(128),
        auth: Some(5),
        encapsulation: encapsulation::UDP_TUNNEL,
        group: pfs.as_ref().map(|p| p.group),
        life_seconds: Some(3600),
        life_kbytes: None,
    };
    let any = |a: &str| {
        let ip: std::net::IpAddr = a.parse().unwrap();
        TrafficSelector::new(0, (0, 0xffff), ip, ip)
    };
    let answered = !message_id.is_multiple_of(5);
    QuickModeRecord {
        message_id,
        iv: bytes(rng, 16..=16),
        initiator: message_id.is_multiple_of(3),
        step: [
            QuickModeStep::SentFirst,
            QuickModeStep::SentSecond,
            QuickModeStep::AwaitingConnected,
        ][message_id as usize % 3],
        child: "net".into(),
        ni: bytes(rng, 16..=32),
        nr: answered.then(|| bytes(rng, 8..=256)),
        chosen: answered.then(|| proposal.clone()),
        proposal: vec![proposal],
        spi_in: u32_of(rng),
        spi_out: Some(u32_of(rng)),
        local_ts: any("10.1.0.1"),
        remote_ts: any("10.2.0.1"),
        pfs,
        commit: message_id.is_multiple_of(2),
        last_received: bytes(rng, 60..=400),
        last_sent: bytes(rng, 60..=400),
        retransmit: Some(Retransmit {
            datagrams: vec![bytes(rng, 60..=400)],
            sent: 1 + message_id % 3,
            deadline: Duration::from_millis(u64::from(message_id % 4000)),
        }),
        give_up_in: Duration::from_secs(30),
        replaces: answered.then_some(1),
        pending: answered.then(|| ipsec_sa(rng, 0, Duration::from_secs(400))),
    }
}

fn ipsec_sa(rng: &mut TestRng, id: u32, at: Duration) -> ChildSa {
    ChildSa {
        id,
        config: "net".into(),
        state: ChildState::Installed,
        installed: true,
        spi_in: u32_of(rng),
        spi_out: u32_of(rng),
        mode: Mode::Tunnel,
        suite: Suite {
            encr: ENCR_AES_GCM_16,
            encr_key_bits: 128,
            integ: None,
            prf: None,
            dh: None,
            esn: Some(false),
        },
        keys: ChildKeys {
            encr_i: secret(rng),
            integ_i: Zeroizing::new(vec![]),
            encr_r: secret(rng),
            integ_r: Zeroizing::new(vec![]),
        },
        initiator: true,
        local_ts: vec![],
        remote_ts: vec![],
        lifetimes: Lifetimes::default(),
        created_at: at,
        rekey_at: Some(at + Duration::from_secs(3000)),
        expire_at: Some(at + Duration::from_secs(3600)),
        replaces: None,
    }
}

/// A record of random content (seeded), of every shape the exchanges make.
fn record(seed: u64) -> IsakmpSaRecord {
    let rng = &mut TestRng::new(seed);
    let v6 = seed % 2 == 1;
    let (local, remote): (SocketAddr, SocketAddr) = if v6 {
        (
            "[2001:db8::1]:500".parse().unwrap(),
            "[2001:db8::2]:4500".parse().unwrap(),
        )
    } else {
        (
            "192.0.2.1:4500".parse().unwrap(),
            "203.0.113.9:31000".parse().unwrap(),
        )
    };
    let n_qm = (seed % 4) as u32;
    IsakmpSaRecord {
        cookie_i: cookie(rng),
        cookie_r: cookie(rng),
        config: format!("gw{seed}"),
        initiator: seed.is_multiple_of(3),
        aggressive: seed.is_multiple_of(5),
        local,
        remote,
        natt: [None, Some(NattVersion::Rfc3947), Some(NattVersion::Draft02)][seed as usize % 3],
        nat: NatStatus {
            we_are_behind: seed.is_multiple_of(2),
            peer_is_behind: true,
        },
        phase1: Phase1Transform {
            encryption: encryption::AES_CBC,
            key_bits: Some(256),
            hash: [hash::SHA1, hash::SHA2_256, hash::SHA2_512][seed as usize % 3],
            auth_method: auth_method::PRE_SHARED_KEY,
            group: 14,
            life_seconds: Some(28800),
            life_kbytes: None,
        },
        keys: Phase1KeysRecord {
            skeyid_d: secret(rng),
            skeyid_a: secret(rng),
            skeyid_e: secret(rng),
            enc_key: secret(rng),
        },
        phase1_iv: bytes(rng, 16..=16),
        peer_id: seed
            .is_multiple_of(2)
            .then(|| Identity::fqdn("peer.example")),
        expires_in: Duration::from_secs(28000 + seed),
        reauth_in: Some(Duration::from_secs(20000)),
        peer_dpd: seed.is_multiple_of(2),
        dpd: DpdSnapshot {
            next_seq: u32_of(rng),
            peer_last: (!seed.is_multiple_of(3)).then(|| u32_of(rng)),
        },
        quick_modes: (0..n_qm).map(|i| quick_mode(rng, 0x1000 + i * 7)).collect(),
        ipsec_sas: (1..=(seed % 3) as u32)
            .map(|id| ipsec_sa(rng, id, Duration::from_secs(100)))
            .collect(),
        next_child: 4,
        established_for: Duration::from_secs(seed),
        exported_at: Duration::from_secs(500),
    }
}

#[test]
fn random_records_round_trip() {
    for seed in 0..200 {
        let r = record(seed);
        let bytes = r.encode();
        assert_eq!(bytes[0], ISAKMP_RECORD_VERSION);
        let back = IsakmpSaRecord::decode(&bytes).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(back.encode(), bytes, "seed {seed}");
        assert_eq!(back.cookies(), r.cookies());
        assert_eq!(back.keys, r.keys);
        assert_eq!(back.quick_modes.len(), r.quick_modes.len());
        for (b, q) in back.quick_modes.iter().zip(&r.quick_modes) {
            assert_eq!(
                (b.message_id, &b.iv, &b.last_sent),
                (q.message_id, &q.iv, &q.last_sent)
            );
            assert_eq!(
                (&b.chosen, b.local_ts, &b.retransmit),
                (&q.chosen, q.local_ts, &q.retransmit)
            );
        }
        assert_eq!(back.dpd, r.dpd);
    }
}

#[test]
fn cut_or_damaged_records_are_refused_never_a_panic() {
    let rng = &mut TestRng::new(99);
    for seed in 0..20 {
        let bytes = record(seed).encode();
        for cut in (0..bytes.len()).step_by(7) {
            assert!(
                IsakmpSaRecord::decode(&bytes[..cut]).is_err(),
                "seed {seed} cut {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            IsakmpSaRecord::decode(&longer),
            Err(RecordError::Malformed(_))
        ));
        // Any damage either fails or decodes to a record that re-encodes stably.
        for _ in 0..200 {
            let mut d = bytes.clone();
            let mut at = [0u8; 4];
            rng.fill(&mut at);
            let i = 1 + u32::from_be_bytes(at) as usize % (d.len() - 1);
            d[i] ^= at[0] | 1;
            if let Ok(r) = IsakmpSaRecord::decode(&d) {
                let again = r.encode();
                assert_eq!(IsakmpSaRecord::decode(&again).unwrap().encode(), again);
            }
        }
    }
    assert_eq!(IsakmpSaRecord::decode(&[]).unwrap_err(), RecordError::Empty);
    let mut v2 = record(1).encode();
    v2[0] = 2;
    assert_eq!(
        IsakmpSaRecord::decode(&v2).unwrap_err(),
        RecordError::Version(2)
    );
    let huge = vec![ISAKMP_RECORD_VERSION; MAX_ISAKMP_RECORD_LEN + 1];
    assert!(matches!(
        IsakmpSaRecord::decode(&huge),
        Err(RecordError::TooLong(_))
    ));
}

#[test]
fn inconsistent_records_are_refused() {
    type Spoil = fn(&mut IsakmpSaRecord);
    let cases: [(Spoil, &str); 10] = [
        (|r| r.cookie_r = [0; 8], "a zero cookie"),
        (|r| r.phase1.hash = hash::MD5, "phase 1 hash"),
        (
            |r| r.keys.skeyid_a = Zeroizing::new(vec![]),
            "an empty phase 1 key",
        ),
        (|r| r.phase1_iv.truncate(15), "phase 1 IV"),
        (
            |r| r.remote = "192.0.2.9:500".parse().unwrap(),
            "address families",
        ),
        (
            |r| r.quick_modes[1].message_id = r.quick_modes[0].message_id,
            "Quick Mode message IDs",
        ),
        (|r| r.quick_modes[0].ni = vec![1; 7], "a Quick Mode"),
        (|r| r.quick_modes[0].spi_in = 0, "a Quick Mode"),
        (|r| r.ipsec_sas[0].id = 0, "IPsec SA ids"),
        (|r| r.next_child = r.ipsec_sas[0].id, "IPsec SA ids"),
    ];
    // Seed 7: IPv6, three Quick Modes, an IPsec SA.
    let good = record(7);
    assert!(good.quick_modes.len() >= 2 && !good.ipsec_sas.is_empty());
    for (spoil, want) in cases {
        let mut r = good.clone();
        spoil(&mut r);
        assert_eq!(
            IsakmpSaRecord::decode(&r.encode()).unwrap_err(),
            RecordError::Inconsistent(want)
        );
    }
    let mut r = good.clone();
    r.quick_modes = (0..=MAX_QUICK_MODES as u32)
        .map(|i| quick_mode(&mut TestRng::new(1), i + 1))
        .collect();
    assert_eq!(
        IsakmpSaRecord::decode(&r.encode()).unwrap_err(),
        RecordError::Inconsistent("too many Quick Modes")
    );
}

#[test]
fn ipsec_sa_instants_move_to_the_importers_clock() {
    let mut r = record(2);
    assert_eq!(r.exported_at, Duration::from_secs(500));
    let c = &r.ipsec_sas[0];
    assert_eq!(
        (c.created_at, c.rekey_at, c.expire_at),
        (
            Duration::from_secs(100),
            Some(Duration::from_secs(3100)),
            Some(Duration::from_secs(3700))
        )
    );
    r.rebase_ipsec_sas(Duration::from_secs(10_000));
    let c = &r.ipsec_sas[0];
    assert_eq!(
        (c.created_at, c.rekey_at, c.expire_at),
        (
            Duration::from_secs(9_600),
            Some(Duration::from_secs(12_600)),
            Some(Duration::from_secs(13_200))
        )
    );
    // A Quick Mode's keyed SA waiting for HASH(3) moves with them.
    let pending = r.quick_modes[0].pending.as_ref().unwrap();
    assert_eq!(pending.created_at, Duration::from_secs(9_900));
    // A clock younger than the SA's past: those instants stop at zero.
    r.rebase_ipsec_sas(Duration::from_secs(100));
    assert_eq!(r.ipsec_sas[0].created_at, Duration::ZERO);
    assert_eq!(r.exported_at, Duration::from_secs(100));
}

#[test]
fn keys_never_print() {
    let r = record(4);
    let text = format!("{r:?}");
    let key_hex = hex::encode(&r.keys.skeyid_d[..8]);
    assert!(!text.contains(&key_hex) && text.contains("Phase1Keys"));
    assert!(!format!("{:?}", r.keys.skeyid_d).is_empty());
}
