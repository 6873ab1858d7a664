//! Between the configuration's `Suite`s, the SA payload's `Proposal`s and the selection
//! module's `OfferedProposal`/`Policy`.

use crate::crypto::proposal::{
    select, KeMode, OfferedProposal, OfferedTransform, Policy, Selected,
};
use crate::crypto::transform::{Suite, AUTH_NONE};
use crate::message::{DhGroup, Proposal, ProtocolId, Transform, TransformId, TransformType};

/// The proposals we offer, numbered from 1. `with_dh` leaves the D-H transform out (the
/// CHILD SA of IKE_AUTH, where no key exchange happens).
pub fn offer(protocol: ProtocolId, spi: &[u8], suites: &[Suite], with_dh: bool) -> Vec<Proposal> {
    suites
        .iter()
        .enumerate()
        .map(|(i, s)| Proposal {
            number: u8::try_from(i + 1).unwrap_or(u8::MAX),
            protocol,
            spi: spi.to_vec(),
            transforms: transforms(s, with_dh),
        })
        .collect()
}

/// The transforms of one suite, in the order of RFC 7296 3.3.2's types.
fn transforms(s: &Suite, with_dh: bool) -> Vec<Transform> {
    let mut t = vec![Transform::encr(TransformId(s.encr), Some(s.encr_key_bits))];
    if let Some(prf) = s.prf {
        t.push(Transform::prf(TransformId(prf)));
    }
    if let Some(integ) = s.integ.filter(|i| *i != AUTH_NONE) {
        t.push(Transform::integ(TransformId(integ)));
    }
    if let Some(dh) = s.dh.filter(|_| with_dh) {
        t.push(Transform::dh(DhGroup(dh)));
    }
    if let Some(esn) = s.esn {
        t.push(Transform::esn(esn));
    }
    t
}

/// The answer's SA payload: the accepted proposal with our SPI and exactly one transform
/// per type.
pub fn accepted(sel: &Selected, protocol: ProtocolId, our_spi: &[u8]) -> Proposal {
    Proposal {
        number: sel.number,
        protocol,
        spi: our_spi.to_vec(),
        transforms: transforms(&sel.suite, true),
    }
}

/// The selection module's view of received proposals.
pub fn offered(proposals: &[Proposal]) -> Vec<OfferedProposal> {
    proposals
        .iter()
        .map(|p| OfferedProposal {
            number: p.number,
            protocol: p.protocol.0,
            spi: p.spi.clone(),
            transforms: p
                .transforms
                .iter()
                .map(|t| OfferedTransform {
                    ttype: t.ttype.0,
                    id: t.id.0,
                    key_len: t.key_length,
                })
                .collect(),
        })
        .collect()
}

/// One policy per configured suite, so that only whole configured combinations match.
pub fn policies(protocol: ProtocolId, suites: &[Suite]) -> Vec<Policy> {
    suites
        .iter()
        .map(|s| Policy {
            protocol: protocol.0,
            encr: vec![(s.encr, s.encr_key_bits)],
            integ: s.integ.into_iter().collect(),
            prf: s.prf.into_iter().collect(),
            dh: s.dh.into_iter().collect(),
            esn: s.esn.into_iter().collect(),
        })
        .collect()
}

/// Checks the peer's answer: a single proposal that is one of those we offered (RFC 7296
/// 2.7: the responder "MUST" accept one as offered), and gives its suite.
pub fn check_answer(
    answer: &[Proposal],
    protocol: ProtocolId,
    ours: &[Suite],
    ke: KeMode,
) -> Option<Selected> {
    let [one] = answer else {
        return None;
    };
    if one.protocol != protocol {
        return None;
    }
    // Exactly one transform of each type.
    for ttype in [
        TransformType::ENCR,
        TransformType::PRF,
        TransformType::INTEG,
        TransformType::KE,
        TransformType::ESN,
    ] {
        if one.transforms_of(ttype).count() > 1 {
            return None;
        }
    }
    select(&offered(answer), &policies(protocol, ours), ke).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::transform::*;

    fn ike_suite(dh: u16) -> Suite {
        Suite {
            encr: ENCR_AES_CBC,
            encr_key_bits: 128,
            integ: Some(AUTH_HMAC_SHA1_96),
            prf: Some(PRF_HMAC_SHA1),
            dh: Some(dh),
            esn: None,
        }
    }

    #[test]
    fn offer_select_answer_check() {
        let ours = [ike_suite(MODP_2048), ike_suite(ECP_256)];
        let props = offer(ProtocolId::IKE, &[], &ours, true);
        assert_eq!(props.len(), 2);
        assert_eq!(props[1].number, 2);
        let sel = select(
            &offered(&props),
            &policies(ProtocolId::IKE, &ours[1..]),
            KeMode::Payload(ECP_256),
        )
        .unwrap();
        assert_eq!(sel.number, 2);
        let answer = accepted(&sel, ProtocolId::IKE, &[]);
        let back = check_answer(
            std::slice::from_ref(&answer),
            ProtocolId::IKE,
            &ours,
            KeMode::Payload(ECP_256),
        );
        assert_eq!(back.unwrap().suite, ours[1]);
        // Two answers, or a transform we never offered, are refused.
        assert!(check_answer(
            &[answer.clone(), answer.clone()],
            ProtocolId::IKE,
            &ours,
            KeMode::Payload(ECP_256)
        )
        .is_none());
        let mut odd = answer;
        odd.transforms[0].key_length = Some(256);
        assert!(check_answer(&[odd], ProtocolId::IKE, &ours, KeMode::Payload(ECP_256)).is_none());
    }

    #[test]
    fn esp_without_dh_in_ike_auth() {
        let esp = Suite {
            encr: ENCR_AES_GCM_16,
            encr_key_bits: 256,
            integ: None,
            prf: None,
            dh: Some(ECP_256),
            esn: Some(true),
        };
        let p = offer(ProtocolId::ESP, &[1, 2, 3, 4], &[esp], false);
        assert!(p[0].transforms_of(TransformType::KE).next().is_none());
        let sel = select(
            &offered(&p),
            &policies(ProtocolId::ESP, &[esp]),
            KeMode::Ignore,
        )
        .unwrap();
        assert_eq!(sel.suite.esn, Some(true));
        assert_eq!(sel.spi, vec![1, 2, 3, 4]);
    }
}
