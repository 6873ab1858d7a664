//! Informational exchanges (RFC 2408 4.8, RFC 2409 5.7): one protected message each way,
//! `HDR*, HASH(1), N/D`, with HASH(1) = prf(SKEYID_a, M-ID | N/D) and an IV of its own
//! from the last phase 1 block and its message ID. Here: ours, sent (deletes of the ISAKMP
//! SA and of IPsec SAs, and what DPD and a refused identity send); the peer's are
//! `informational_received`.

use super::crypt;
use super::isakmp_sa::{IsakmpSa, V1Ctx};
use super::keymat;
use super::wire::{self, doi, exchange, protocol, Deletion, Payload};
use crate::action::{Action, ChildId, DownReason};
use crate::rng::random_u32;

/// Sends `payloads` in a new Informational exchange under the SA's keys.
pub fn send(sa: &mut IsakmpSa, ctx: &mut V1Ctx, payloads: Vec<Payload>) -> bool {
    let (Some(suite), Some(keys)) = (sa.suite.as_ref(), sa.keys.as_ref()) else {
        return false;
    };
    let (prf, block) = (suite.prf, suite.cipher.block_len());
    let mid = loop {
        let m = random_u32(ctx.rng);
        if m != 0 && !sa.quick_modes.contains_key(&m) {
            break m;
        }
    };
    let Ok((_, rest)) = wire::encode_payloads(&payloads) else {
        return false;
    };
    let Ok(hash) = keymat::informational_hash(prf, &keys.skeyid_a, mid, &rest) else {
        return false;
    };
    let Ok(iv) = crypt::exchange_iv(prf, &sa.iv, mid, block) else {
        return false;
    };
    let mut all = vec![Payload::Hash(hash.to_vec())];
    all.extend(payloads);
    let h = sa.header(exchange::INFORMATIONAL, 0, mid);
    match sa.seal_with(&iv, &h, &all) {
        Some((msg, _)) => {
            sa.send(msg);
            true
        }
        None => false,
    }
}

/// Deletes one of our IPsec SAs: the peer is told (by our inbound SPI, RFC 2408 3.15) and
/// the fast path lets it go.
pub fn delete_child(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    child: ChildId,
    reason: DownReason,
) -> bool {
    let Some(i) = sa.children.iter().position(|c| c.id == child) else {
        return false;
    };
    let c = sa.children.remove(i);
    ctx.esp_spis.remove(&c.spi_in);
    let d = Payload::Delete(Deletion {
        doi: doi::IPSEC,
        protocol: protocol::IPSEC_ESP,
        spi_size: 4,
        spis: vec![c.spi_in.to_be_bytes().to_vec()],
    });
    if sa.is_established() {
        send(sa, ctx, vec![d]);
    }
    if c.installed {
        sa.push(Action::ChildSaDown {
            child: c.child_ref(sa.id),
            reason,
        });
    }
    true
}

/// Deletes the ISAKMP SA: the peer is told (by its cookies), and the SA with its IPsec SAs
/// goes down.
pub fn delete_sa(sa: &mut IsakmpSa, ctx: &mut V1Ctx) {
    if sa.is_established() {
        let mut payloads = Vec::new();
        for c in &sa.children {
            payloads.push(Payload::Delete(Deletion {
                doi: doi::IPSEC,
                protocol: protocol::IPSEC_ESP,
                spi_size: 4,
                spis: vec![c.spi_in.to_be_bytes().to_vec()],
            }));
        }
        for p in payloads {
            send(sa, ctx, vec![p]);
        }
        let d = Payload::Delete(Deletion {
            doi: doi::IPSEC,
            protocol: protocol::ISAKMP,
            spi_size: 16,
            spis: vec![[sa.icookie, sa.rcookie].concat()],
        });
        send(sa, ctx, vec![d]);
    }
    for c in &sa.children {
        ctx.esp_spis.remove(&c.spi_in);
    }
    sa.close(DownReason::Deleted, ctx.now);
}
