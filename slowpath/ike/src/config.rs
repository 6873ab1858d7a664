//! What an operator configures for one IKE connection (an IKE SA and its CHILD SAs), in the
//! terms of RFC 7296 and, where it has one, strongSwan's swanctl.conf name in the comments.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use zeroize::Zeroizing;

use crate::crypto::transform::Suite;
use crate::message::{id_from_addr, rest_of_id_payload, IdType, TrafficSelector};
pub use crate::retransmit::RetransmitConfig;
use crate::v1::config::V1Config;

/// An identity (IDi/IDr, RFC 7296 3.5): type and data as in the ID payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    pub id_type: IdType,
    pub data: Vec<u8>,
}

impl Identity {
    pub fn fqdn(name: &str) -> Identity {
        Identity {
            id_type: IdType::FQDN,
            data: name.as_bytes().to_vec(),
        }
    }

    /// RFC822_ADDR, "user FQDN" in strongSwan.
    pub fn user_fqdn(mail: &str) -> Identity {
        Identity {
            id_type: IdType::RFC822_ADDR,
            data: mail.as_bytes().to_vec(),
        }
    }

    pub fn ip(addr: IpAddr) -> Identity {
        let (id_type, data) = id_from_addr(addr);
        Identity { id_type, data }
    }

    /// A DER_ASN1_DN identity from the DER of a Name (e.g. a certificate's subject).
    pub fn dn(der: Vec<u8>) -> Identity {
        Identity {
            id_type: IdType::DER_ASN1_DN,
            data: der,
        }
    }

    /// The ID payload body (IDi'/IDr' of RFC 7296 2.15).
    pub fn payload_body(&self) -> Vec<u8> {
        rest_of_id_payload(self.id_type, &self.data)
    }

    /// Whether a received identity is this one (names compare case-insensitively).
    pub fn matches(&self, id_type: IdType, data: &[u8]) -> bool {
        if self.id_type != id_type {
            return false;
        }
        match id_type {
            IdType::FQDN | IdType::RFC822_ADDR => self.data.eq_ignore_ascii_case(data),
            _ => self.data == data,
        }
    }
}

/// How we authenticate, and how we expect the peer to.
#[derive(Clone)]
pub enum AuthConfig {
    /// Shared key MIC (RFC 7296 2.15) both ways.
    Psk(Zeroizing<Vec<u8>>),
    /// Signatures (RFC 7427 Digital Signature) with certificates both ways.
    PubKey(PubKeyAuth),
}

impl AuthConfig {
    pub fn psk(secret: &[u8]) -> AuthConfig {
        AuthConfig::Psk(Zeroizing::new(secret.to_vec()))
    }

    /// Our private key when we sign; None with a pre-shared key.
    pub fn private_key(&self) -> Option<&PKey<Private>> {
        match self {
            AuthConfig::Psk(_) => None,
            AuthConfig::PubKey(p) => Some(&p.private_key),
        }
    }
}

/// Our key and certificates, and the CAs the peer's chain must lead to.
#[derive(Clone)]
pub struct PubKeyAuth {
    pub private_key: PKey<Private>,
    /// End-entity certificate first, then intermediates.
    pub cert_chain: Vec<X509>,
    pub trust_anchors: Vec<X509>,
}

// Never print secrets.
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthConfig::Psk(_) => f.write_str("Psk(..)"),
            AuthConfig::PubKey(p) => write!(
                f,
                "PubKey {{ certs: {}, anchors: {} }}",
                p.cert_chain.len(),
                p.trust_anchors.len()
            ),
        }
    }
}

/// IPsec mode of a CHILD SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Mode {
    Tunnel,
    /// Asked for with USE_TRANSPORT_MODE (RFC 7296 1.3.1).
    Transport,
}

/// What to do with a CHILD SA when the connection is loaded (swanctl `start_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAction {
    None,
    /// Initiate at once.
    Start,
    /// Wait for traffic (the caller's `on_traffic_needs_sa`).
    Trap,
}

/// CHILD SA lifetimes (swanctl `rekey_time`, `life_time`, `rekey_bytes`...); zero is
/// unlimited. Time limits run here; byte and packet limits run in the fast path, which reports
/// the soft one with `rekey_child` and the hard one with `expire_child`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lifetimes {
    pub rekey_time: Duration,
    pub life_time: Duration,
    pub rekey_bytes: u64,
    pub life_bytes: u64,
    pub rekey_packets: u64,
    pub life_packets: u64,
    /// Up to this much is taken off `rekey_time` at random.
    pub jitter: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            rekey_time: Duration::from_secs(3600),
            life_time: Duration::from_secs(3960),
            rekey_bytes: 0,
            life_bytes: 0,
            rekey_packets: 0,
            life_packets: 0,
            jitter: Duration::from_secs(360),
        }
    }
}

/// One CHILD SA policy.
#[derive(Debug, Clone)]
pub struct ChildConfig {
    pub name: String,
    pub local_ts: Vec<TrafficSelector>,
    pub remote_ts: Vec<TrafficSelector>,
    pub mode: Mode,
    /// ESP suites, preferred first; empty: the connection's `esp_proposals`. A suite with a
    /// `dh` group asks for PFS in CREATE_CHILD_SA (it is left out in IKE_AUTH).
    pub esp_proposals: Vec<Suite>,
    /// Extended sequence numbers; overrides the suites' `esn`.
    pub esn: bool,
    pub lifetimes: Lifetimes,
    pub start_action: StartAction,
}

impl ChildConfig {
    /// A tunnel between two sets of selectors with default lifetimes.
    pub fn new(
        name: &str,
        local_ts: Vec<TrafficSelector>,
        remote_ts: Vec<TrafficSelector>,
    ) -> Self {
        ChildConfig {
            name: name.to_string(),
            local_ts,
            remote_ts,
            mode: Mode::Tunnel,
            esp_proposals: Vec::new(),
            esn: false,
            lifetimes: Lifetimes::default(),
            start_action: StartAction::Start,
        }
    }
}

/// What to do when the peer stops answering (swanctl `dpd_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpdAction {
    /// Tear everything down.
    Clear,
    /// Tear down, then initiate again at once.
    Restart,
    /// Tear down, and initiate again when traffic needs the SA.
    Hold,
}

/// Liveness checks (RFC 7296 2.4): an empty INFORMATIONAL after `interval` without any
/// sign of the peer (zero: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpdConfig {
    pub interval: Duration,
    pub action: DpdAction,
}

impl Default for DpdConfig {
    fn default() -> Self {
        DpdConfig {
            interval: Duration::from_secs(30),
            action: DpdAction::Clear,
        }
    }
}

/// Virtual IP (RFC 7296 2.19): the initiator asks for one, the responder gives one from a pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VirtualIpConfig {
    /// Initiator: send CFG_REQUEST for INTERNAL_IP4_ADDRESS.
    pub request: bool,
    /// Responder: the pool (by name, in the engine) to answer from.
    pub pool: Option<String>,
}

/// Which IKE a connection speaks (`version 1` in the configuration; IKEv2 by default).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IkeVersion {
    #[default]
    V2,
    /// RFC 2409, with what only IKEv1 has.
    V1(V1Config),
}

/// One IKE connection.
#[derive(Debug, Clone)]
pub struct IkeConfig {
    pub name: String,
    pub ike_version: IkeVersion,
    /// Our address and port (500, or 4500 to start encapsulated).
    pub local_addr: SocketAddr,
    /// The peer's; an unspecified IP accepts any peer (responder only).
    pub remote_addr: SocketAddr,
    pub local_id: Identity,
    /// The identity the peer must prove; `None` accepts any that authenticates.
    pub remote_id: Option<Identity>,
    pub auth: AuthConfig,
    /// IKE suites, preferred first; each needs a `prf` and a `dh`.
    pub ike_proposals: Vec<Suite>,
    /// Default ESP suites for children that list none.
    pub esp_proposals: Vec<Suite>,
    pub children: Vec<ChildConfig>,
    /// IKE SA rekey (zero: never), less up to `rekey_jitter`.
    pub rekey_time: Duration,
    pub rekey_jitter: Duration,
    /// Reauthentication interval (zero: never). Not implemented yet: see the report.
    pub reauth_time: Duration,
    pub dpd: DpdConfig,
    pub retransmit: RetransmitConfig,
    /// strongSwan's `encap = yes`: claim a NAT (fake NAT_DETECTION_SOURCE_IP) so that ESP is
    /// always UDP-encapsulated.
    pub force_encap: bool,
    /// RFC 7383 fragmentation: announce support, and fragment protected messages larger than
    /// this many octets (IKE header included) when the peer supports it. `None`: off.
    pub fragment_size: Option<usize>,
    pub virtual_ip: VirtualIpConfig,
    /// Send INITIAL_CONTACT in IKE_AUTH (RFC 7296 2.4).
    pub initial_contact: bool,
}

impl IkeConfig {
    /// The IKEv1 settings of a `version 1` connection.
    pub fn v1(&self) -> Option<&V1Config> {
        match &self.ike_version {
            IkeVersion::V1(v) => Some(v),
            IkeVersion::V2 => None,
        }
    }

    /// The child policy of that name.
    pub fn child(&self, name: &str) -> Option<&ChildConfig> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The ESP suites a child offers or accepts, with its ESN setting applied.
    pub fn child_suites(&self, child: &ChildConfig) -> Vec<Suite> {
        let base = if child.esp_proposals.is_empty() {
            &self.esp_proposals
        } else {
            &child.esp_proposals
        };
        base.iter()
            .map(|s| Suite {
                esn: Some(child.esn),
                prf: None,
                ..*s
            })
            .collect()
    }

    /// Whether a daemon initiates it when it loads its configuration: it has a peer address
    /// and a CHILD SA with start action `Start`.
    pub fn starts_at_load(&self) -> bool {
        !self.remote_addr.ip().is_unspecified()
            && self
                .children
                .iter()
                .any(|ch| ch.start_action == StartAction::Start)
    }

    /// Whether a peer at `remote` (and us at `local`) may use this connection.
    pub fn matches_addresses(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        let ip_ok = |want: IpAddr, got: IpAddr| want.is_unspecified() || want == got;
        ip_ok(self.remote_addr.ip(), remote.ip()) && ip_ok(self.local_addr.ip(), local.ip())
    }
}

/// The connections an engine knows, shared with its IKE SAs.
pub type ConfigSet = Vec<Arc<IkeConfig>>;

/// Finds a connection by name.
pub fn find_config<'a>(configs: &'a [Arc<IkeConfig>], name: &str) -> Option<&'a Arc<IkeConfig>> {
    configs.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::transform::*;

    #[test]
    fn identities() {
        let id = Identity::fqdn("GW.example.net");
        assert!(id.matches(IdType::FQDN, b"gw.EXAMPLE.net"));
        assert!(!id.matches(IdType::RFC822_ADDR, b"gw.example.net"));
        let ip = Identity::ip("192.0.2.1".parse().unwrap());
        assert_eq!(ip.payload_body(), vec![1, 0, 0, 0, 192, 0, 2, 1]);
        assert!(ip.matches(IdType::IPV4_ADDR, &[192, 0, 2, 1]));
        assert!(!ip.matches(IdType::IPV4_ADDR, &[192, 0, 2, 2]));
        assert_eq!(Identity::user_fqdn("a@b").id_type, IdType::RFC822_ADDR);
        assert_eq!(Identity::dn(vec![0x30, 0]).id_type, IdType::DER_ASN1_DN);
        assert_eq!(format!("{:?}", AuthConfig::psk(b"x")), "Psk(..)");
    }

    #[test]
    fn child_suites_apply_esn() {
        let gcm = Suite {
            encr: ENCR_AES_GCM_16,
            encr_key_bits: 128,
            integ: None,
            prf: Some(PRF_HMAC_SHA2_256),
            dh: None,
            esn: None,
        };
        let mut child = ChildConfig::new("c", vec![], vec![]);
        child.esn = true;
        let cfg = IkeConfig {
            name: "n".into(),
            ike_version: IkeVersion::V2,
            local_addr: "192.0.2.1:500".parse().unwrap(),
            remote_addr: "0.0.0.0:500".parse().unwrap(),
            local_id: Identity::fqdn("a"),
            remote_id: None,
            auth: AuthConfig::psk(b"k"),
            ike_proposals: vec![],
            esp_proposals: vec![gcm],
            children: vec![child.clone()],
            rekey_time: Duration::ZERO,
            rekey_jitter: Duration::ZERO,
            reauth_time: Duration::ZERO,
            dpd: DpdConfig::default(),
            retransmit: RetransmitConfig::default(),
            force_encap: false,
            fragment_size: None,
            virtual_ip: VirtualIpConfig::default(),
            initial_contact: false,
        };
        let s = cfg.child_suites(&child);
        assert_eq!((s[0].esn, s[0].prf), (Some(true), None));
        assert!(cfg.child("c").is_some() && cfg.child("d").is_none());
        assert!(cfg.matches_addresses(
            "192.0.2.1:500".parse().unwrap(),
            "198.51.100.9:4500".parse().unwrap()
        ));
        assert!(!cfg.matches_addresses(
            "192.0.2.2:500".parse().unwrap(),
            "198.51.100.9:4500".parse().unwrap()
        ));
    }
}
