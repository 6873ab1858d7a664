//! `auth psk SECRET` or `auth pubkey cert FILE key FILE ca FILE [ca FILE...]`.

use std::path::Path;

use ike::config::{Identity, PubKeyAuth};
use openssl::pkey::PKey;
use toolkit::config::{self, Words};

use super::unquote;

pub(super) enum AuthSpec {
    /// The name of a `secret` above.
    Psk(String),
    PubKey(PubKeyAuth),
}

/// What follows `auth`; the PEM files are read (bounded) and checked against each other.
pub(super) fn parse_auth(w: &mut Words) -> Result<AuthSpec, String> {
    match w.next("auth")? {
        "psk" => Ok(AuthSpec::Psk(w.next("auth psk SECRET")?.to_string())),
        "pubkey" => {
            let (mut cert, mut key, mut cas) = (None, None, Vec::new());
            while let Some(kind @ ("cert" | "key" | "ca")) = w.peek() {
                w.next_opt();
                let path = unquote(w.next(kind)?);
                let pem = config::read_bounded_bytes(Path::new(path), config::MAX_FILE_BYTES)
                    .map_err(|e| format!("{kind} {path}: {}", e.reason))?;
                match kind {
                    "cert" => {
                        cert = Some(
                            ike::crypto::auth::cert::load_pem_chain(&pem)
                                .map_err(|e| format!("cert {path}: {e}"))?,
                        )
                    }
                    "key" => {
                        key = Some(
                            PKey::private_key_from_pem(&pem)
                                .map_err(|e| format!("key {path}: {e}"))?,
                        )
                    }
                    _ => cas.extend(
                        ike::crypto::auth::cert::load_pem_chain(&pem)
                            .map_err(|e| format!("ca {path}: {e}"))?,
                    ),
                }
            }
            let cert_chain = cert.ok_or("auth pubkey: missing `cert FILE`")?;
            let private_key = key.ok_or("auth pubkey: missing `key FILE`")?;
            if cas.is_empty() {
                return Err("auth pubkey: missing `ca FILE`".into());
            }
            let public = cert_chain[0]
                .public_key()
                .map_err(|e| format!("cert: {e}"))?;
            if !public.public_eq(&private_key) {
                return Err("auth pubkey: the key is not the certificate's".into());
            }
            Ok(AuthSpec::PubKey(PubKeyAuth {
                private_key,
                cert_chain,
                trust_anchors: cas,
            }))
        }
        a => Err(format!("auth {a}: psk or pubkey")),
    }
}

/// The certificate's subject as an identity (its exact DER).
pub(super) fn cert_subject(p: &PubKeyAuth) -> Result<Identity, String> {
    ike::crypto::auth::cert::subject_dn_der(&p.cert_chain[0])
        .map(Identity::dn)
        .map_err(|e| format!("cert subject: {e}"))
}
