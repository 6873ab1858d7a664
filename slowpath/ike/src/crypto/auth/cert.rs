//! X.509 helpers for certificate authentication: load, extract the public key and
//! identities, and validate a chain against configured trust anchors.
//!
//! The clock is an input: chain validation takes the time to check validity at.

use crate::crypto::error::{CryptoError, Result};
use openssl::pkey::{PKey, Public};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509Name, X509Ref, X509StoreContext, X509};
use std::net::IpAddr;

// ID Type (RFC 7296 3.5).
pub const ID_IPV4_ADDR: u8 = 1;
pub const ID_FQDN: u8 = 2;
pub const ID_RFC822_ADDR: u8 = 3;
pub const ID_IPV6_ADDR: u8 = 5;
pub const ID_DER_ASN1_DN: u8 = 9;
pub const ID_DER_ASN1_GN: u8 = 10;
pub const ID_KEY_ID: u8 = 11;

/// Certificate Encoding "X.509 Certificate - Signature" of the CERT payload (RFC 7296 3.6).
pub const CERT_X509_SIGNATURE: u8 = 4;

fn cert_err(what: &str, e: impl std::fmt::Display) -> CryptoError {
    CryptoError::Certificate(format!("{what}: {e}"))
}

/// One certificate from PEM.
pub fn load_pem(pem: &[u8]) -> Result<X509> {
    X509::from_pem(pem).map_err(|e| cert_err("bad PEM certificate", e))
}

/// Every certificate of a PEM bundle, in file order.
pub fn load_pem_chain(pem: &[u8]) -> Result<Vec<X509>> {
    let certs = X509::stack_from_pem(pem).map_err(|e| cert_err("bad PEM bundle", e))?;
    if certs.is_empty() {
        return Err(CryptoError::Certificate("no certificate in PEM".into()));
    }
    Ok(certs)
}

/// A certificate from CERT payload data (encoding 4: DER).
pub fn from_der(der: &[u8]) -> Result<X509> {
    X509::from_der(der).map_err(|e| cert_err("bad DER certificate", e))
}

/// The subject public key, to verify the peer's AUTH with.
pub fn public_key(cert: &X509Ref) -> Result<PKey<Public>> {
    cert.public_key()
        .map_err(|e| cert_err("no usable public key", e))
}

/// The subject DN in DER: our ID data for ID_DER_ASN1_DN.
pub fn subject_dn_der(cert: &X509Ref) -> Result<Vec<u8>> {
    Ok(cert.subject_name().to_der()?)
}

/// Whether the peer's ID payload (type and data) names this certificate's subject.
///
/// DNs compare as X.509 names do (OpenSSL's canonical form: a PrintableString equals the
/// same UTF8String, as strongSwan encodes an ID DN differently from OpenSSL's subjects);
/// FQDN and RFC822 compare case-insensitively with a subjectAltName of the same kind;
/// addresses compare with iPAddress entries.
pub fn matches_id(cert: &X509Ref, id_type: u8, id_data: &[u8]) -> bool {
    if id_type == ID_DER_ASN1_DN {
        return subject_dn_der(cert).is_ok_and(|dn| dn == id_data)
            || X509Name::from_der(id_data)
                .is_ok_and(|name| cert.subject_name().try_cmp(&name).is_ok_and(|o| o.is_eq()));
    }
    let Some(names) = cert.subject_alt_names() else {
        return false;
    };
    names.iter().any(|n| match id_type {
        ID_FQDN => n
            .dnsname()
            .is_some_and(|d| d.as_bytes().eq_ignore_ascii_case(id_data)),
        ID_RFC822_ADDR => n
            .email()
            .is_some_and(|e| e.as_bytes().eq_ignore_ascii_case(id_data)),
        ID_IPV4_ADDR | ID_IPV6_ADDR => {
            let want = if id_type == ID_IPV4_ADDR { 4 } else { 16 };
            id_data.len() == want && n.ipaddress() == Some(id_data)
        }
        _ => false,
    })
}

/// The ID payload data for an address identity.
pub fn ip_id(addr: IpAddr) -> (u8, Vec<u8>) {
    match addr {
        IpAddr::V4(a) => (ID_IPV4_ADDR, a.octets().to_vec()),
        IpAddr::V6(a) => (ID_IPV6_ADDR, a.octets().to_vec()),
    }
}

/// Validates `leaf` up to one of `trust_anchors`, with `intermediates` as untrusted
/// helpers, at `unix_time` (seconds since the epoch).
pub fn verify_chain(
    leaf: &X509Ref,
    intermediates: &[X509],
    trust_anchors: &[X509],
    unix_time: i64,
) -> Result<()> {
    let mut store = X509StoreBuilder::new()?;
    for ca in trust_anchors {
        store.add_cert(ca.clone())?;
    }
    let mut param = X509VerifyParam::new()?;
    param.set_time(unix_time);
    store.set_param(&param)?;
    let store = store.build();
    let mut chain = Stack::new()?;
    for c in intermediates {
        chain.push(c.clone())?;
    }
    let mut ctx = X509StoreContext::new()?;
    let (ok, reason) = ctx.init(&store, leaf, &chain, |c| {
        let ok = c.verify_cert()?;
        Ok((ok, c.error().error_string()))
    })?;
    if ok {
        Ok(())
    } else {
        Err(CryptoError::Certificate(format!(
            "chain not valid: {reason}"
        )))
    }
}

#[cfg(test)]
#[path = "cert_tests.rs"]
mod tests;
