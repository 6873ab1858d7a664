//! Lookups over a payload list (a message's, or a decrypted chain): what an exchange state
//! machine asks of a message.

use super::auth::AuthMethod;
use super::cp::{CfgType, CpAttribute};
use super::id::IdType;
use super::notify_type::NotifyType;
use super::payload::Payload;
use super::payload_type::{PayloadType, Side};
use super::sa::{DhGroup, Proposal, ProtocolId};
use super::ts::TrafficSelector;

/// A Notify payload, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyRef<'a> {
    pub protocol: ProtocolId,
    pub spi: &'a [u8],
    pub notify_type: NotifyType,
    pub data: &'a [u8],
}

/// Finders over `[Payload]`. The singular ones return the first payload of the type; use
/// `count` to refuse duplicates where the exchange allows one.
pub trait Payloads {
    /// The payloads of one type, in order.
    fn of_type(&self, ptype: PayloadType) -> impl Iterator<Item = &Payload>;
    fn count(&self, ptype: PayloadType) -> usize {
        self.of_type(ptype).count()
    }
    fn notifies(&self) -> impl Iterator<Item = NotifyRef<'_>>;
    fn find_notify(&self, notify_type: NotifyType) -> Option<NotifyRef<'_>> {
        self.notifies().find(|n| n.notify_type == notify_type)
    }
    fn has_notify(&self, notify_type: NotifyType) -> bool {
        self.find_notify(notify_type).is_some()
    }
    /// The first error notification (type below 16384): in a response, why the request failed.
    fn error_notify(&self) -> Option<NotifyRef<'_>> {
        self.notifies().find(|n| n.notify_type.is_error())
    }
    fn sa(&self) -> Option<&[Proposal]>;
    fn ke(&self) -> Option<(DhGroup, &[u8])>;
    fn nonce(&self) -> Option<&[u8]>;
    fn id(&self, side: Side) -> Option<(IdType, &[u8])>;
    fn auth(&self) -> Option<(AuthMethod, &[u8])>;
    fn ts(&self, side: Side) -> Option<&[TrafficSelector]>;
    fn cp(&self) -> Option<(CfgType, &[CpAttribute])>;
    fn vendor_ids(&self) -> impl Iterator<Item = &[u8]>;
    /// The Delete payloads: protocol and SPIs.
    fn deletes(&self) -> impl Iterator<Item = (ProtocolId, &[Vec<u8>])>;
}

impl Payloads for [Payload] {
    fn of_type(&self, ptype: PayloadType) -> impl Iterator<Item = &Payload> {
        self.iter().filter(move |p| p.payload_type() == ptype)
    }

    fn notifies(&self) -> impl Iterator<Item = NotifyRef<'_>> {
        self.iter().filter_map(|p| match p {
            Payload::Notify {
                protocol,
                spi,
                notify_type,
                data,
            } => Some(NotifyRef {
                protocol: *protocol,
                spi,
                notify_type: *notify_type,
                data,
            }),
            _ => None,
        })
    }

    fn sa(&self) -> Option<&[Proposal]> {
        self.iter().find_map(|p| match p {
            Payload::Sa(proposals) => Some(proposals.as_slice()),
            _ => None,
        })
    }

    fn ke(&self) -> Option<(DhGroup, &[u8])> {
        self.iter().find_map(|p| match p {
            Payload::Ke { group, data } => Some((*group, data.as_slice())),
            _ => None,
        })
    }

    fn nonce(&self) -> Option<&[u8]> {
        self.iter().find_map(|p| match p {
            Payload::Nonce(n) => Some(n.as_slice()),
            _ => None,
        })
    }

    fn id(&self, side: Side) -> Option<(IdType, &[u8])> {
        self.iter().find_map(|p| match p {
            Payload::Id {
                kind,
                id_type,
                data,
            } if *kind == side => Some((*id_type, data.as_slice())),
            _ => None,
        })
    }

    fn auth(&self) -> Option<(AuthMethod, &[u8])> {
        self.iter().find_map(|p| match p {
            Payload::Auth { method, data } => Some((*method, data.as_slice())),
            _ => None,
        })
    }

    fn ts(&self, side: Side) -> Option<&[TrafficSelector]> {
        self.iter().find_map(|p| match p {
            Payload::Ts {
                kind, selectors, ..
            } if *kind == side => Some(selectors.as_slice()),
            _ => None,
        })
    }

    fn cp(&self) -> Option<(CfgType, &[CpAttribute])> {
        self.iter().find_map(|p| match p {
            Payload::Cp {
                cfg_type,
                attributes,
            } => Some((*cfg_type, attributes.as_slice())),
            _ => None,
        })
    }

    fn vendor_ids(&self) -> impl Iterator<Item = &[u8]> {
        self.iter().filter_map(|p| match p {
            Payload::VendorId(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    fn deletes(&self) -> impl Iterator<Item = (ProtocolId, &[Vec<u8>])> {
        self.iter().filter_map(|p| match p {
            Payload::Delete { protocol, spis, .. } => Some((*protocol, spis.as_slice())),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::sa::{Transform, TransformId};

    #[test]
    fn finders() {
        let proposals = vec![Proposal {
            number: 1,
            protocol: ProtocolId::IKE,
            spi: vec![],
            transforms: vec![Transform::dh(DhGroup::ECP_256)],
        }];
        let payloads = vec![
            Payload::notify(NotifyType::COOKIE, vec![1, 2]),
            Payload::Sa(proposals.clone()),
            Payload::Ke {
                group: DhGroup::ECP_256,
                data: vec![3; 64],
            },
            Payload::Nonce(vec![4; 32]),
            Payload::Id {
                kind: Side::Responder,
                id_type: IdType::FQDN,
                data: b"r".to_vec(),
            },
            Payload::Auth {
                method: AuthMethod::SHARED_KEY_MIC,
                data: vec![5],
            },
            Payload::Ts {
                kind: Side::Initiator,
                selectors: vec![TrafficSelector::any(false)],
                unknown: vec![],
            },
            Payload::Cp {
                cfg_type: CfgType::CFG_REPLY,
                attributes: vec![],
            },
            Payload::VendorId(b"v1".to_vec()),
            Payload::VendorId(b"v2".to_vec()),
            Payload::Delete {
                protocol: ProtocolId::ESP,
                spi_size: 4,
                spis: vec![vec![0, 0, 0, 1]],
            },
            Payload::notify(NotifyType::TS_UNACCEPTABLE, vec![]),
            Payload::notify(NotifyType::NO_PROPOSAL_CHOSEN, vec![]),
        ];
        let p = payloads.as_slice();
        assert_eq!(p.count(PayloadType::NOTIFY), 3);
        assert_eq!(p.of_type(PayloadType::VENDOR_ID).count(), 2);
        assert_eq!(
            p.find_notify(NotifyType::COOKIE).map(|n| n.data),
            Some(&[1u8, 2][..])
        );
        assert!(!p.has_notify(NotifyType::INITIAL_CONTACT));
        assert_eq!(
            p.error_notify().map(|n| n.notify_type),
            Some(NotifyType::TS_UNACCEPTABLE)
        );
        assert_eq!(p.sa(), Some(proposals.as_slice()));
        assert_eq!(p.sa().unwrap()[0].transforms[0].id, TransformId::DH_ECP_256);
        assert_eq!(p.ke().map(|k| k.0), Some(DhGroup::ECP_256));
        assert_eq!(p.nonce().map(<[u8]>::len), Some(32));
        assert_eq!(p.id(Side::Responder), Some((IdType::FQDN, &b"r"[..])));
        assert_eq!(p.id(Side::Initiator), None);
        assert_eq!(p.auth(), Some((AuthMethod::SHARED_KEY_MIC, &[5u8][..])));
        assert_eq!(p.ts(Side::Initiator).map(<[_]>::len), Some(1));
        assert_eq!(p.ts(Side::Responder), None);
        assert_eq!(p.cp().map(|c| c.0), Some(CfgType::CFG_REPLY));
        assert_eq!(
            p.vendor_ids().collect::<Vec<_>>(),
            vec![&b"v1"[..], &b"v2"[..]]
        );
        assert_eq!(
            p.deletes().map(|d| d.0).collect::<Vec<_>>(),
            vec![ProtocolId::ESP]
        );
    }
}
