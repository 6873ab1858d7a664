//! A small PKI built in memory for the AUTH and certificate tests.

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use std::sync::OnceLock;

/// Validity of every certificate here: from NOT_BEFORE for one year.
pub const NOT_BEFORE: i64 = 1_700_000_000;
pub const NOT_AFTER: i64 = NOT_BEFORE + 365 * 86_400;
/// A time inside the validity.
pub const VALID_AT: i64 = NOT_BEFORE + 86_400;

pub fn rsa_key() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
}

pub fn ec_key(curve: Nid) -> PKey<Private> {
    let group = EcGroup::from_curve_name(curve).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

pub fn ed25519_key() -> PKey<Private> {
    PKey::generate_ed25519().unwrap()
}

/// A certificate for `key`, signed by `issuer` (self-signed when `None`).
pub fn cert(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    is_ca: bool,
    sans: &[&str],
) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("O", "ipsec-gw test").unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = Asn1Integer::from_bn(&BigNum::from_u32(cn.len() as u32 + 1).unwrap()).unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&*name, |(c, _)| c.subject_name()))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(NOT_BEFORE).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(NOT_AFTER).unwrap())
        .unwrap();
    if is_ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(KeyUsage::new().key_cert_sign().crl_sign().build().unwrap())
            .unwrap();
    } else {
        b.append_extension(KeyUsage::new().digital_signature().build().unwrap())
            .unwrap();
    }
    if !sans.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for s in sans {
            if let Some(ip) = s.strip_prefix("ip:") {
                san.ip(ip);
            } else if let Some(mail) = s.strip_prefix("email:") {
                san.email(mail);
            } else {
                san.dns(s);
            }
        }
        let ext = san
            .build(&b.x509v3_context(issuer.map(|(c, _)| &**c), None))
            .unwrap();
        b.append_extension(ext).unwrap();
    }
    let signer = issuer.map_or(key, |(_, k)| k);
    let md = if signer.id() == openssl::pkey::Id::ED25519 {
        MessageDigest::null()
    } else {
        MessageDigest::sha256()
    };
    b.sign(signer, md).unwrap();
    b.build()
}

/// A root CA (RSA), an intermediate CA (P-256) and end entities of every key type.
pub struct Pki {
    pub root_key: PKey<Private>,
    pub root: X509,
    pub inter: X509,
    pub rsa_key: PKey<Private>,
    pub rsa: X509,
    pub p256_key: PKey<Private>,
    pub p256: X509,
    pub p384_key: PKey<Private>,
    pub p521_key: PKey<Private>,
    pub ed_key: PKey<Private>,
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let root_key = rsa_key();
        let root = cert("Test Root CA", &root_key, None, true, &[]);
        let inter_key = ec_key(Nid::X9_62_PRIME256V1);
        let inter = cert(
            "Test Intermediate",
            &inter_key,
            Some((&root, &root_key)),
            true,
            &[],
        );
        let rsa_key = rsa_key();
        let rsa = cert(
            "gw-rsa",
            &rsa_key,
            Some((&root, &root_key)),
            false,
            &[
                "gw-rsa.example.net",
                "ip:192.0.2.1",
                "ip:2001:db8::1",
                "email:vpn@example.net",
            ],
        );
        let p256_key = ec_key(Nid::X9_62_PRIME256V1);
        let p256 = cert(
            "gw-ec",
            &p256_key,
            Some((&inter, &inter_key)),
            false,
            &["gw-ec.example.net"],
        );
        Pki {
            root_key,
            root,
            inter,
            rsa_key,
            rsa,
            p256_key,
            p256,
            p384_key: ec_key(Nid::SECP384R1),
            p521_key: ec_key(Nid::SECP521R1),
            ed_key: ed25519_key(),
        }
    })
}
