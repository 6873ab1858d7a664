//! The positions of the SAs in the outbound SPD's entries, through SA installs, removals
//! (which move another SA into the hole), rekeys and policy changes.

use super::tests::{policy, Rng};
use super::*;
use crate::buf::{PacketBuf, VecBuf};
use crate::counters::DropReason;
use crate::crypto::{Backend, EncAlg, IntegAlg, TransformKeys};
use crate::lcore::Lcore;
use crate::outbound::encrypt_burst;
use crate::outbound::tests::lcore;
use crate::sa::{Direction, SaConfig, SaId};
use crate::sad::{SaPos, Sad};
use crate::verdict::Verdict;
use crate::wire::fragment::tests::ipv4_packet;
use std::net::{IpAddr, Ipv4Addr};

fn config(spi: u32) -> SaConfig {
    let keys = TransformKeys {
        enc: EncAlg::AesGcm16_128,
        integ: IntegAlg::None,
        enc_key: (0..20).map(|b| b ^ spi as u8).collect(),
        auth_key: Vec::new(),
    };
    let (local, remote) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
    let mut c = SaConfig::tunnel(spi, Direction::Outbound, local, remote, keys);
    c.backend = Backend::RustCrypto;
    c
}

/// The flow of destination 10.0.i.0/24.
fn flow_to(i: u32) -> FlowKey {
    FlowKey {
        src: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)),
        dst: IpAddr::V4(Ipv4Addr::from(0x0a00_0001 | (i << 8))),
        proto: 6,
        sport: 1000,
        dport: 80,
    }
}

fn protect(priority: u32, i: u32, sa: u32) -> Policy {
    policy(
        priority,
        "192.168.0.0/16",
        &format!("10.0.{i}.0/24"),
        Action::Protect(SaBundle::single(sa)),
    )
}

/// The SA a lookup of `key` would send under: the one at the hit's position, checked to be
/// the policy's own first SA.
fn sends_under(spd: &Spd, sad: &Sad, key: &FlowKey) -> Option<SaId> {
    let h = spd.lookup_hit(key)?;
    let sa = sad.at(h.sa_at)?;
    let Action::Protect(b) = h.policy.action else {
        panic!("only PROTECT policies have positions");
    };
    assert_eq!(
        sa.id,
        SaId(b.first()),
        "{key:?}: the position is another SA's"
    );
    Some(sa.id)
}

/// Random SA installs and removals (each removal moves the last SA into its hole) and policy
/// inserts and removals, through the SPD's writer methods: after every step every PROTECT
/// policy points where the SAD holds its first SA, or nowhere if it holds none; the SPD
/// crosses the small list's size both ways, and policies share address pairs (overflow
/// entries) and SAs.
#[test]
fn positions_follow_installs_and_removals() {
    let mut rng = Rng::new(0x5350_4450_4f53);
    let mut sad = Sad::new();
    let mut spd = Spd::new();
    let mut live_sas = std::collections::BTreeSet::new();
    let mut policies: Vec<(PolicyId, u32, u32)> = Vec::new();
    let mut removed = 0;
    for step in 0..6000u32 {
        let sa = rng.below(40) as u32;
        match rng.below(8) {
            0..=2 if !live_sas.contains(&sa) => {
                spd.install_sa(&mut sad, SaId(sa), config(0x100 + sa), 0)
                    .unwrap();
                live_sas.insert(sa);
            }
            0..=2 => {
                let before = sad.len();
                assert!(spd.remove_sa(&mut sad, SaId(sa)).is_some());
                assert_eq!(sad.len(), before - 1);
                live_sas.remove(&sa);
                removed += 1;
            }
            // The policies grow toward 4 or 20 by turns: across the small list's size.
            3..=5 if policies.len() < [4, 20][(step / 300 % 2) as usize] => {
                // 10.0.i.0/24 with a port range, so that pairs repeat with other ports.
                let i = rng.below(12) as u32;
                let mut p = protect(rng.below(3) as u32, i, sa);
                p.selector.dport = PortRange::new(rng.below(4) as u16 * 40, 200);
                let id = spd.insert_placed(p, &sad);
                policies.push((id, i, sa));
            }
            3.. if !policies.is_empty() => {
                let (id, _, _) = policies.swap_remove(rng.below(policies.len() as u64) as usize);
                assert!(spd.remove(id).is_some());
            }
            _ => {}
        }
        assert!(spd.placed_against(&sad), "step {step}");
        assert_eq!(spd.misplaced(&sad), None, "step {step}");
        for i in 0..12 {
            let key = flow_to(i);
            let got = sends_under(&spd, &sad, &key);
            let want = spd.lookup(&key).and_then(|(_, p)| match p.action {
                Action::Protect(b) => live_sas.contains(&b.first()).then_some(SaId(b.first())),
                _ => None,
            });
            assert_eq!(got, want, "step {step} flow {i}");
        }
    }
    assert!(removed > 500, "{removed}");
}

/// A packet of the flow to 10.0.0.1, encrypted with the SA its lookup gives: the SPI of the
/// ESP packet, or the drop.
fn send(spd: &Spd, sad: &mut Sad, lc: &mut Lcore) -> Result<u32, Verdict> {
    let at = spd.lookup_hit(&flow_to(0)).map_or(SaPos::NONE, |h| h.sa_at);
    let mut bufs = [VecBuf::new(&ipv4_packet(&[], 80, false, 100), 128, 128)];
    let mut v = [Verdict::Exception];
    encrypt_burst(lc, sad, &mut bufs, &[at], &mut v, 0);
    match v[0] {
        Verdict::Forward => {
            let esp = &bufs[0].data()[20..];
            Ok(u32::from_be_bytes(esp[..4].try_into().unwrap()))
        }
        other => Err(other),
    }
}

/// A rekey (the new SA and its policy in, then the old policy and SA out) moves the flow to
/// the new SA; a deleted SA whose policy stays sends nothing, although its position now
/// holds the SA moved into it; a change made to the SAD past the SPD is seen.
#[test]
fn a_rekey_and_a_delete_move_the_position() {
    let mut lc = lcore();
    let mut sad = Sad::new();
    let mut spd = Spd::new();
    for sa in [1, 7, 8, 9] {
        spd.install_sa(&mut sad, SaId(sa), config(0x100 + sa), 0)
            .unwrap();
    }
    let old = spd.insert_placed(protect(5, 0, 1), &sad);
    for i in 1..10 {
        spd.insert_placed(protect(5, i, 7 + i % 3), &sad);
    }
    assert_eq!(send(&spd, &mut sad, &mut lc), Ok(0x101));

    // Rekey: SA 2 and its policy, which ranks after the old one until that one goes.
    spd.install_sa(&mut sad, SaId(2), config(0x102), 0).unwrap();
    spd.insert_placed(protect(5, 0, 2), &sad);
    assert_eq!(send(&spd, &mut sad, &mut lc), Ok(0x101));
    let at_old = sad.position(SaId(1)).unwrap();
    spd.remove(old).unwrap();
    assert!(spd.remove_sa(&mut sad, SaId(1)).is_some());
    assert!(
        sad.at(at_old).is_some(),
        "another SA moved into the old one's place"
    );
    assert_eq!(send(&spd, &mut sad, &mut lc), Ok(0x102));
    assert_eq!(spd.misplaced(&sad), None);

    // A delete while its policy stays: the policy's packets are dropped, not sent under the
    // SA moved into the deleted one's place.
    let at_new = sad.position(SaId(2)).unwrap();
    assert!(spd.remove_sa(&mut sad, SaId(2)).is_some());
    assert_ne!(sad.at(at_new).map(|sa| sa.id), None);
    assert_eq!(spd.lookup_hit(&flow_to(0)).unwrap().sa_at, SaPos::NONE);
    assert_eq!(
        send(&spd, &mut sad, &mut lc),
        Err(Verdict::Drop(DropReason::UnknownSpi))
    );
    // The same SA id back (say, an HA install): found again.
    spd.install_sa(&mut sad, SaId(2), config(0x202), 0).unwrap();
    assert_eq!(send(&spd, &mut sad, &mut lc), Ok(0x202));

    // Past the SPD: the positions are not to be used until placed again.
    sad.remove(SaId(7)).unwrap();
    assert!(!spd.placed_against(&sad));
    spd.place_all(&sad);
    assert!(spd.placed_against(&sad));
    assert_eq!(spd.misplaced(&sad), None);
    assert_eq!(sends_under(&spd, &sad, &flow_to(3)), None, "SA 7 is gone");
    assert_eq!(sends_under(&spd, &sad, &flow_to(1)), Some(SaId(8)));
    // A policy inserted without its position: not placed either.
    spd.insert(protect(5, 11, 9));
    assert!(!spd.placed_against(&sad));
}
