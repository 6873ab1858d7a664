//! Responder-side choice of one proposal among the peer's SA payload (RFC 7296 2.7,
//! 3.3), on a small local representation so that it does not depend on the codec.
//!
//! Rules: the peer's proposals are tried in the peer's order, each against our
//! configured proposals in our order; within a proposal, the first of the peer's
//! transforms of each type that we accept is taken, so the result has exactly one
//! transform per type. AES needs its Key Length attribute. An AEAD cipher is taken
//! only if the proposal has no integrity transform other than NONE; any other cipher
//! needs one. A proposal with a transform type we do not know is refused whole.
//!
//! D-H: with a KE payload, a proposal that can use the KE payload's group is taken
//! before one that cannot (RFC 7296 1.2 lets the responder pick any acceptable
//! proposal, and this saves a round trip); if none can, the error names the group we
//! want for INVALID_KE_PAYLOAD.

use super::transform::{
    Suite, AUTH_NONE, DH_NONE, ENCR_AES_CBC, ENCR_AES_GCM_16, ESN_NO, ESN_YES, PROTO_AH, PROTO_ESP,
    PROTO_IKE, TRANSFORM_DH, TRANSFORM_ENCR, TRANSFORM_ESN, TRANSFORM_INTEG, TRANSFORM_PRF,
};
use thiserror::Error;

/// One transform of a received proposal; `key_len` is the Key Length attribute in bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfferedTransform {
    pub ttype: u8,
    pub id: u16,
    pub key_len: Option<u16>,
}

impl From<(u8, u16, Option<u16>)> for OfferedTransform {
    fn from((ttype, id, key_len): (u8, u16, Option<u16>)) -> Self {
        OfferedTransform { ttype, id, key_len }
    }
}

/// One Proposal substructure of a received SA payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedProposal {
    pub number: u8,
    pub protocol: u8,
    pub spi: Vec<u8>,
    pub transforms: Vec<OfferedTransform>,
}

/// One configured proposal: what we accept per transform type, in our preference order.
///
/// `dh` may list DH_NONE to accept a Child SA without PFS; an empty `esn` for ESP/AH
/// accepts only no-ESN.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub protocol: u8,
    /// (transform ID, key length in bits).
    pub encr: Vec<(u16, u16)>,
    pub integ: Vec<u16>,
    pub prf: Vec<u16>,
    pub dh: Vec<u16>,
    pub esn: Vec<bool>,
}

/// What the exchange says about key exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeMode {
    /// A KE payload of this group came with the SA (IKE_SA_INIT, rekeys with PFS).
    Payload(u16),
    /// No KE payload (CREATE_CHILD_SA without PFS): the proposal must allow NONE.
    NoPayload,
    /// D-H transforms are not negotiated here (the Child SA of IKE_AUTH): skip them.
    Ignore,
}

/// The chosen proposal: what goes back in our SA payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    pub number: u8,
    pub protocol: u8,
    /// The peer's SPI from the proposal.
    pub spi: Vec<u8>,
    pub suite: Suite,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ProposalError {
    /// NO_PROPOSAL_CHOSEN.
    #[error("no acceptable proposal")]
    NoProposalChosen,
    /// INVALID_KE_PAYLOAD: a proposal is acceptable, but with this D-H group.
    #[error("acceptable proposal needs D-H group {group}")]
    InvalidKePayload { group: u16 },
}

/// Picks the proposal to accept.
pub fn select(
    offered: &[OfferedProposal],
    ours: &[Policy],
    ke: KeMode,
) -> Result<Selected, ProposalError> {
    let mut wanted_group = None;
    for p in offered {
        for policy in ours {
            match match_one(p, policy, ke) {
                Some(Ok(s)) => return Ok(s),
                Some(Err(group)) => {
                    wanted_group.get_or_insert(group);
                }
                None => {}
            }
        }
    }
    match wanted_group {
        Some(group) => Err(ProposalError::InvalidKePayload { group }),
        None => Err(ProposalError::NoProposalChosen),
    }
}

fn of_type(p: &OfferedProposal, ttype: u8) -> impl Iterator<Item = &OfferedTransform> {
    p.transforms.iter().filter(move |t| t.ttype == ttype)
}

/// `None`: not acceptable; `Some(Err(group))`: acceptable only with another D-H group.
fn match_one(p: &OfferedProposal, q: &Policy, ke: KeMode) -> Option<Result<Selected, u16>> {
    if p.protocol != q.protocol {
        return None;
    }
    let spi_ok = match p.protocol {
        PROTO_IKE => p.spi.is_empty() || p.spi.len() == 8,
        PROTO_ESP | PROTO_AH => p.spi.len() == 4,
        _ => false,
    };
    let known = p
        .transforms
        .iter()
        .all(|t| (TRANSFORM_ENCR..=TRANSFORM_ESN).contains(&t.ttype));
    if !spi_ok || !known {
        return None;
    }
    let ike = p.protocol == PROTO_IKE;

    let (encr, encr_key_bits, integ) = choose_cipher(p, q)?;
    let prf = if ike {
        Some(
            of_type(p, TRANSFORM_PRF)
                .find(|t| q.prf.contains(&t.id))?
                .id,
        )
    } else {
        if of_type(p, TRANSFORM_PRF).next().is_some() {
            return None;
        }
        None
    };
    let esn = if ike {
        if of_type(p, TRANSFORM_ESN).next().is_some() {
            return None;
        }
        None
    } else {
        Some(choose_esn(p, q)?)
    };
    let mut suite = Suite {
        encr,
        encr_key_bits,
        integ,
        prf,
        dh: None,
        esn,
    };
    let sel = |suite| Selected {
        number: p.number,
        protocol: p.protocol,
        spi: p.spi.clone(),
        suite,
    };
    let groups: Vec<u16> = of_type(p, TRANSFORM_DH).map(|t| t.id).collect();
    match ke {
        // Only a Child SA can leave the key exchange out of the negotiation.
        KeMode::Ignore => (!ike).then(|| Ok(sel(suite))),
        KeMode::NoPayload => {
            let none_ok = groups.iter().all(|&g| g == DH_NONE)
                && (q.dh.is_empty() || q.dh.contains(&DH_NONE));
            (!ike && none_ok).then(|| Ok(sel(suite)))
        }
        KeMode::Payload(group) => {
            let acceptable = |g: u16| g != DH_NONE && q.dh.contains(&g);
            if groups.contains(&group) && acceptable(group) {
                suite.dh = Some(group);
                return Some(Ok(sel(suite)));
            }
            // Our most preferred group among those the peer offered.
            q.dh.iter()
                .copied()
                .find(|&g| acceptable(g) && groups.contains(&g))
                .map(Err)
        }
    }
}

/// The first of the peer's ciphers we accept, with the integrity transform it needs.
fn choose_cipher(p: &OfferedProposal, q: &Policy) -> Option<(u16, u16, Option<u16>)> {
    let integs: Vec<u16> = of_type(p, TRANSFORM_INTEG).map(|t| t.id).collect();
    of_type(p, TRANSFORM_ENCR).find_map(|t| {
        // Every cipher we implement is AES, which needs the Key Length attribute.
        let bits = t.key_len?;
        if !q.encr.contains(&(t.id, bits)) {
            return None;
        }
        match t.id {
            ENCR_AES_GCM_16 => integs
                .iter()
                .all(|&i| i == AUTH_NONE)
                .then_some((t.id, bits, None)),
            ENCR_AES_CBC => integs
                .iter()
                .find(|&&i| i != AUTH_NONE && q.integ.contains(&i))
                .map(|&i| (t.id, bits, Some(i))),
            _ => None,
        }
    })
}

fn choose_esn(p: &OfferedProposal, q: &Policy) -> Option<bool> {
    let accept = |on: bool| q.esn.contains(&on) || (!on && q.esn.is_empty());
    let mut offered = of_type(p, TRANSFORM_ESN).peekable();
    if offered.peek().is_none() {
        // No ESN transform at all: read as ESN off.
        return accept(false).then_some(false);
    }
    offered.find_map(|t| match t.id {
        ESN_NO if accept(false) => Some(false),
        ESN_YES if accept(true) => Some(true),
        _ => None,
    })
}

#[cfg(test)]
#[path = "proposal_tests.rs"]
mod tests;
