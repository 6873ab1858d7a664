//! Proposal selection: order, one choice per type, AEAD rules, key lengths, D-H.

use super::*;
use crate::crypto::transform::*;

fn t(ttype: u8, id: u16) -> OfferedTransform {
    (ttype, id, None).into()
}

fn aes(id: u16, bits: u16) -> OfferedTransform {
    (TRANSFORM_ENCR, id, Some(bits)).into()
}

fn ike(number: u8, transforms: Vec<OfferedTransform>) -> OfferedProposal {
    OfferedProposal {
        number,
        protocol: PROTO_IKE,
        spi: vec![],
        transforms,
    }
}

fn esp(number: u8, transforms: Vec<OfferedTransform>) -> OfferedProposal {
    OfferedProposal {
        number,
        protocol: PROTO_ESP,
        spi: vec![0xc0, 0, 0, number],
        transforms,
    }
}

fn ike_policy() -> Policy {
    Policy {
        protocol: PROTO_IKE,
        encr: vec![
            (ENCR_AES_GCM_16, 256),
            (ENCR_AES_GCM_16, 128),
            (ENCR_AES_CBC, 256),
            (ENCR_AES_CBC, 128),
        ],
        integ: vec![AUTH_HMAC_SHA2_256_128, AUTH_HMAC_SHA1_96],
        prf: vec![PRF_HMAC_SHA2_256, PRF_HMAC_SHA1],
        dh: vec![ECP_256, MODP_2048, CURVE25519],
        esn: vec![],
    }
}

fn esp_policy() -> Policy {
    Policy {
        protocol: PROTO_ESP,
        encr: vec![(ENCR_AES_GCM_16, 128), (ENCR_AES_CBC, 128)],
        integ: vec![AUTH_HMAC_SHA1_96],
        prf: vec![],
        dh: vec![DH_NONE, ECP_256],
        esn: vec![true, false],
    }
}

fn cbc_proposal(number: u8, dh: u16) -> OfferedProposal {
    ike(
        number,
        vec![
            aes(ENCR_AES_CBC, 128),
            t(TRANSFORM_PRF, PRF_HMAC_SHA2_256),
            t(TRANSFORM_INTEG, AUTH_HMAC_SHA2_256_128),
            t(TRANSFORM_DH, dh),
        ],
    )
}

fn gcm_proposal(number: u8, dh: u16) -> OfferedProposal {
    ike(
        number,
        vec![
            aes(ENCR_AES_GCM_16, 256),
            t(TRANSFORM_PRF, PRF_HMAC_SHA2_256),
            t(TRANSFORM_DH, dh),
        ],
    )
}

#[test]
fn takes_the_first_acceptable_peer_proposal() {
    let triple_des = ike(
        1,
        vec![
            t(TRANSFORM_ENCR, 3),
            t(TRANSFORM_PRF, PRF_HMAC_SHA1),
            t(TRANSFORM_INTEG, AUTH_HMAC_SHA1_96),
            t(TRANSFORM_DH, MODP_2048),
        ],
    );
    let offered = [
        triple_des,
        cbc_proposal(2, MODP_2048),
        gcm_proposal(3, MODP_2048),
    ];
    let s = select(&offered, &[ike_policy()], KeMode::Payload(MODP_2048)).unwrap();
    assert_eq!(s.number, 2);
    assert_eq!(s.protocol, PROTO_IKE);
    assert_eq!(
        s.suite,
        Suite {
            encr: ENCR_AES_CBC,
            encr_key_bits: 128,
            integ: Some(AUTH_HMAC_SHA2_256_128),
            prf: Some(PRF_HMAC_SHA2_256),
            dh: Some(MODP_2048),
            esn: None,
        }
    );
    // The suite is usable as is.
    assert!(s.suite.integ_info().unwrap().is_some());
}

#[test]
fn peer_order_wins_over_ours() {
    // We list GCM first, the peer CBC first: the peer's first acceptable proposal wins.
    let offered = [cbc_proposal(1, ECP_256), gcm_proposal(2, ECP_256)];
    let s = select(&offered, &[ike_policy()], KeMode::Payload(ECP_256)).unwrap();
    assert_eq!((s.number, s.suite.encr), (1, ENCR_AES_CBC));
    // Within a proposal, the peer's transform order too.
    let p = ike(
        1,
        vec![
            aes(ENCR_AES_CBC, 128),
            aes(ENCR_AES_CBC, 256),
            t(TRANSFORM_PRF, PRF_HMAC_SHA1),
            t(TRANSFORM_PRF, PRF_HMAC_SHA2_256),
            t(TRANSFORM_INTEG, AUTH_HMAC_SHA1_96),
            t(TRANSFORM_INTEG, AUTH_HMAC_SHA2_256_128),
            t(TRANSFORM_DH, ECP_256),
        ],
    );
    let s = select(&[p], &[ike_policy()], KeMode::Payload(ECP_256)).unwrap();
    assert_eq!(s.suite.encr_key_bits, 128);
    assert_eq!(s.suite.prf, Some(PRF_HMAC_SHA1));
    assert_eq!(s.suite.integ, Some(AUTH_HMAC_SHA1_96));
}

#[test]
fn our_proposals_are_tried_in_turn() {
    let strict = Policy {
        encr: vec![(ENCR_AES_GCM_16, 256)],
        ..ike_policy()
    };
    let cbc_only = Policy {
        encr: vec![(ENCR_AES_CBC, 128)],
        ..ike_policy()
    };
    let s = select(
        &[cbc_proposal(1, ECP_256)],
        &[strict.clone(), cbc_only],
        KeMode::Payload(ECP_256),
    );
    assert_eq!(s.unwrap().suite.encr, ENCR_AES_CBC);
    assert_eq!(
        select(
            &[cbc_proposal(1, ECP_256)],
            &[strict],
            KeMode::Payload(ECP_256)
        ),
        Err(ProposalError::NoProposalChosen)
    );
}

#[test]
fn aes_needs_a_key_length() {
    let mut p = cbc_proposal(1, ECP_256);
    p.transforms[0].key_len = None;
    assert_eq!(
        select(
            std::slice::from_ref(&p),
            &[ike_policy()],
            KeMode::Payload(ECP_256)
        ),
        Err(ProposalError::NoProposalChosen)
    );
    // A key length we do not accept, then one we do.
    p.transforms[0].key_len = Some(192);
    p.transforms.insert(1, aes(ENCR_AES_CBC, 256));
    let s = select(&[p], &[ike_policy()], KeMode::Payload(ECP_256)).unwrap();
    assert_eq!(s.suite.encr_key_bits, 256);
}

#[test]
fn aead_and_integrity_rules() {
    // GCM with a real integrity transform is not taken.
    let mut p = gcm_proposal(1, ECP_256);
    p.transforms
        .push(t(TRANSFORM_INTEG, AUTH_HMAC_SHA2_256_128));
    assert!(select(
        std::slice::from_ref(&p),
        &[ike_policy()],
        KeMode::Payload(ECP_256)
    )
    .is_err());
    // GCM with INTEG NONE is.
    let mut p = gcm_proposal(1, ECP_256);
    p.transforms.push(t(TRANSFORM_INTEG, AUTH_NONE));
    let s = select(&[p], &[ike_policy()], KeMode::Payload(ECP_256)).unwrap();
    assert_eq!((s.suite.encr, s.suite.integ), (ENCR_AES_GCM_16, None));
    // A mixed proposal: GCM comes first but integrity is offered, so CBC is taken.
    let mixed = ike(
        1,
        vec![
            aes(ENCR_AES_GCM_16, 256),
            aes(ENCR_AES_CBC, 256),
            t(TRANSFORM_PRF, PRF_HMAC_SHA2_256),
            t(TRANSFORM_INTEG, AUTH_HMAC_SHA2_256_128),
            t(TRANSFORM_DH, ECP_256),
        ],
    );
    let s = select(&[mixed], &[ike_policy()], KeMode::Payload(ECP_256)).unwrap();
    assert_eq!(
        (s.suite.encr, s.suite.integ),
        (ENCR_AES_CBC, Some(AUTH_HMAC_SHA2_256_128))
    );
    // CBC without integrity, or with only NONE, is not acceptable.
    let mut p = cbc_proposal(1, ECP_256);
    p.transforms.retain(|t| t.ttype != TRANSFORM_INTEG);
    assert!(select(
        std::slice::from_ref(&p),
        &[ike_policy()],
        KeMode::Payload(ECP_256)
    )
    .is_err());
    p.transforms.push(t(TRANSFORM_INTEG, AUTH_NONE));
    assert!(select(&[p], &[ike_policy()], KeMode::Payload(ECP_256)).is_err());
}

#[test]
fn every_required_type_must_be_there() {
    let mut no_prf = cbc_proposal(1, ECP_256);
    no_prf.transforms.retain(|t| t.ttype != TRANSFORM_PRF);
    let mut no_dh = cbc_proposal(1, ECP_256);
    no_dh.transforms.retain(|t| t.ttype != TRANSFORM_DH);
    let mut unknown_type = cbc_proposal(1, ECP_256);
    unknown_type.transforms.push(t(6, 1));
    let mut ike_esn = cbc_proposal(1, ECP_256);
    ike_esn.transforms.push(t(TRANSFORM_ESN, ESN_NO));
    let mut dh_none = cbc_proposal(1, ECP_256);
    dh_none.transforms.push(t(TRANSFORM_DH, DH_NONE));
    for p in [no_prf, no_dh, unknown_type, ike_esn] {
        assert_eq!(
            select(&[p], &[ike_policy()], KeMode::Payload(ECP_256)),
            Err(ProposalError::NoProposalChosen)
        );
    }
    // NONE among the groups is simply not chosen for an IKE SA.
    assert_eq!(
        select(
            std::slice::from_ref(&dh_none),
            &[ike_policy()],
            KeMode::Payload(ECP_256)
        )
        .unwrap()
        .suite
        .dh,
        Some(ECP_256)
    );
    // And an IKE SA without key exchange is never acceptable.
    assert!(select(
        std::slice::from_ref(&dh_none),
        &[ike_policy()],
        KeMode::NoPayload
    )
    .is_err());
    assert!(select(&[dh_none], &[ike_policy()], KeMode::Ignore).is_err());
}

#[test]
fn spi_sizes() {
    let mut p = cbc_proposal(1, ECP_256);
    p.spi = vec![1; 8]; // IKE SA rekey
    assert!(select(
        std::slice::from_ref(&p),
        &[ike_policy()],
        KeMode::Payload(ECP_256)
    )
    .is_ok());
    p.spi = vec![1; 4];
    assert!(select(&[p], &[ike_policy()], KeMode::Payload(ECP_256)).is_err());
    let mut e = esp(1, vec![aes(ENCR_AES_GCM_16, 128), t(TRANSFORM_ESN, ESN_NO)]);
    e.spi = vec![];
    assert!(select(&[e], &[esp_policy()], KeMode::Ignore).is_err());
}

#[test]
fn invalid_ke_payload_names_our_group() {
    // The peer offers MODP-2048 and ECP-256 but sent a KE for Curve25519, which it did
    // not even propose: we ask for our preferred group among those it offered.
    let p = ike(
        1,
        vec![
            aes(ENCR_AES_CBC, 128),
            t(TRANSFORM_PRF, PRF_HMAC_SHA2_256),
            t(TRANSFORM_INTEG, AUTH_HMAC_SHA2_256_128),
            t(TRANSFORM_DH, MODP_2048),
            t(TRANSFORM_DH, ECP_256),
        ],
    );
    assert_eq!(
        select(
            std::slice::from_ref(&p),
            &[ike_policy()],
            KeMode::Payload(CURVE25519)
        ),
        Err(ProposalError::InvalidKePayload { group: ECP_256 })
    );
    // A KE group we do not accept, although offered.
    let only_modp = Policy {
        dh: vec![ECP_256],
        ..ike_policy()
    };
    assert_eq!(
        select(
            std::slice::from_ref(&p),
            &[only_modp],
            KeMode::Payload(MODP_2048)
        ),
        Err(ProposalError::InvalidKePayload { group: ECP_256 })
    );
    // The KE group is taken when it is both offered and accepted, whatever the order.
    let s = select(&[p], &[ike_policy()], KeMode::Payload(MODP_2048)).unwrap();
    assert_eq!(s.suite.dh, Some(MODP_2048));
    // No common group at all: no proposal chosen.
    assert_eq!(
        select(
            &[cbc_proposal(1, MODP_3072)],
            &[ike_policy()],
            KeMode::Payload(MODP_3072)
        ),
        Err(ProposalError::NoProposalChosen)
    );
}

#[test]
fn a_proposal_matching_the_ke_group_is_preferred() {
    let offered = [cbc_proposal(1, ECP_256), gcm_proposal(2, MODP_2048)];
    let s = select(&offered, &[ike_policy()], KeMode::Payload(MODP_2048)).unwrap();
    assert_eq!((s.number, s.suite.dh), (2, Some(MODP_2048)));
}

#[test]
fn esp_in_ike_auth_ignores_dh_and_picks_esn() {
    let p = esp(
        1,
        vec![
            aes(ENCR_AES_GCM_16, 128),
            t(TRANSFORM_DH, ECP_256),
            t(TRANSFORM_ESN, ESN_YES),
            t(TRANSFORM_ESN, ESN_NO),
        ],
    );
    let s = select(&[p], &[esp_policy()], KeMode::Ignore).unwrap();
    assert_eq!(s.spi, vec![0xc0, 0, 0, 1]);
    assert_eq!(
        s.suite,
        Suite {
            encr: ENCR_AES_GCM_16,
            encr_key_bits: 128,
            integ: None,
            prf: None,
            dh: None,
            esn: Some(true),
        }
    );
}

#[test]
fn esp_esn_rules() {
    let no_esn_only = Policy {
        esn: vec![false],
        ..esp_policy()
    };
    let yes = esp(
        1,
        vec![aes(ENCR_AES_GCM_16, 128), t(TRANSFORM_ESN, ESN_YES)],
    );
    assert!(select(&[yes], std::slice::from_ref(&no_esn_only), KeMode::Ignore).is_err());
    // No ESN transform at all reads as ESN off.
    let absent = esp(
        1,
        vec![
            aes(ENCR_AES_CBC, 128),
            t(TRANSFORM_INTEG, AUTH_HMAC_SHA1_96),
        ],
    );
    let s = select(
        std::slice::from_ref(&absent),
        &[no_esn_only],
        KeMode::Ignore,
    )
    .unwrap();
    assert_eq!(
        (s.suite.esn, s.suite.integ),
        (Some(false), Some(AUTH_HMAC_SHA1_96))
    );
    let yes_only = Policy {
        esn: vec![true],
        ..esp_policy()
    };
    assert!(select(&[absent], &[yes_only], KeMode::Ignore).is_err());
    // A PRF has no place in an ESP proposal.
    let with_prf = esp(
        1,
        vec![aes(ENCR_AES_GCM_16, 128), t(TRANSFORM_PRF, PRF_HMAC_SHA1)],
    );
    assert!(select(&[with_prf], &[esp_policy()], KeMode::Ignore).is_err());
}

#[test]
fn create_child_sa_with_and_without_pfs() {
    let pfs = esp(
        1,
        vec![
            aes(ENCR_AES_GCM_16, 128),
            t(TRANSFORM_DH, ECP_256),
            t(TRANSFORM_ESN, ESN_NO),
        ],
    );
    let s = select(
        std::slice::from_ref(&pfs),
        &[esp_policy()],
        KeMode::Payload(ECP_256),
    )
    .unwrap();
    assert_eq!(s.suite.dh, Some(ECP_256));
    // The peer asks for PFS but sends no KE payload.
    assert!(select(&[pfs], &[esp_policy()], KeMode::NoPayload).is_err());
    let none = esp(
        1,
        vec![
            aes(ENCR_AES_GCM_16, 128),
            t(TRANSFORM_DH, DH_NONE),
            t(TRANSFORM_ESN, ESN_NO),
        ],
    );
    let s = select(
        std::slice::from_ref(&none),
        &[esp_policy()],
        KeMode::NoPayload,
    )
    .unwrap();
    assert_eq!(s.suite.dh, None);
    // We insist on PFS.
    let pfs_only = Policy {
        dh: vec![ECP_256],
        ..esp_policy()
    };
    assert!(select(&[none], &[pfs_only], KeMode::NoPayload).is_err());
}

#[test]
fn protocol_must_match() {
    let p = esp(1, vec![aes(ENCR_AES_GCM_16, 128), t(TRANSFORM_ESN, ESN_NO)]);
    assert!(select(&[p], &[ike_policy()], KeMode::Ignore).is_err());
    assert_eq!(
        select(&[], &[ike_policy()], KeMode::Payload(ECP_256)),
        Err(ProposalError::NoProposalChosen)
    );
}
