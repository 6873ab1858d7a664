//! The peer told why its identity message was refused (RFC 2408 3.14.1), once, and the
//! half-made ISAKMP SA gone, as strongSwan does: a signature that does not verify
//! (INVALID-SIGNATURE), a certificate refused (INVALID-CERTIFICATE, INVALID-CERT-AUTHORITY,
//! CERT-UNAVAILABLE), an identity no connection takes (INVALID-ID-INFORMATION), a HASH that
//! does not prove the pre-shared key (INVALID-HASH-INFORMATION), anything else
//! AUTHENTICATION-FAILED.
//!
//! The notification goes in an Informational encrypted under the phase 1 keys, whose IV
//! the caller has moved past the refused message as the peer did. A peer whose last phase 1
//! message was the refused one (Main Mode's responder at MM6, Aggressive Mode's initiator at
//! AM3) holds its SA as up: a Delete of the ISAKMP SA goes in the same message, as
//! strongSwan's Aggressive Mode responder sends one. A wrong pre-shared key
//! is the exception: the peer derived other keys and could not read it, so it goes in
//! clear. A HASH that does not match in a message that decrypted under our keys is no
//! wrong key but a forgery: dropped, the SA left waiting for the real message.

use super::auth::AuthError;
use super::informational;
use super::isakmp_sa::{IsakmpSa, V1Ctx};
use super::wire::{self, doi, exchange, notify_type, protocol, Deletion, Notification, Payload};
use crate::action::{DownReason, DropReason};

/// The peer's proof or identity was refused with `error`; `in_clear`: the proof came in a
/// message sent in clear (Aggressive Mode). Counted; told and closed as the module says.
pub fn refuse(sa: &mut IsakmpSa, ctx: &mut V1Ctx, error: &AuthError, in_clear: bool) {
    let Some(kind) = error.notify_type() else {
        return sa.drop_message(error.drop_reason());
    };
    let wrong_key = matches!(error, AuthError::BadHash);
    if wrong_key && !in_clear {
        return sa.drop_message(error.drop_reason());
    }
    tell_and_close(sa, ctx, kind, error.drop_reason(), wrong_key);
}

/// Sends notification `kind` (in clear or under the phase 1 keys), counts the refused
/// message as `reason` and closes the SA.
pub fn tell_and_close(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    kind: u16,
    reason: DropReason,
    in_clear: bool,
) {
    let n = notification(sa.icookie, sa.rcookie, kind);
    if in_clear {
        if let Ok((first, body)) = wire::encode_payloads(&[n]) {
            let h = wire::Header {
                next_payload: first,
                ..sa.header(exchange::INFORMATIONAL, 0, 0)
            };
            sa.send(wire::encode_message(&h, &body));
        }
    } else {
        let mut payloads = vec![n];
        // Main Mode's initiator and Aggressive Mode's responder refuse the last message.
        if sa.initiator != sa.aggressive {
            payloads.push(Payload::Delete(Deletion {
                doi: doi::IPSEC,
                protocol: protocol::ISAKMP,
                spi_size: 16,
                spis: vec![[sa.icookie, sa.rcookie].concat()],
            }));
        }
        informational::send(sa, ctx, payloads);
    }
    sa.drop_message(reason);
    sa.close(DownReason::AuthenticationFailed, ctx.now);
}

/// A Notification about the ISAKMP SA of these cookies.
pub fn notification(icookie: [u8; 8], rcookie: [u8; 8], kind: u16) -> Payload {
    Payload::Notify(Notification {
        doi: doi::IPSEC,
        protocol: protocol::ISAKMP,
        spi: [icookie, rcookie].concat(),
        kind,
        data: Vec::new(),
    })
}

impl AuthError {
    /// The notify type a refused identity message gets, `None` for one that is only
    /// malformed.
    pub fn notify_type(&self) -> Option<u16> {
        match self {
            AuthError::Missing(_) => None,
            AuthError::BadHash => Some(notify_type::INVALID_HASH_INFORMATION),
            AuthError::NotTheRemoteId => Some(notify_type::INVALID_ID_INFORMATION),
            AuthError::Signature(s) => Some(s.notify_type()),
            AuthError::MethodDoesNotFit(_) | AuthError::Crypto(_) => {
                Some(notify_type::AUTHENTICATION_FAILED)
            }
        }
    }
}

#[cfg(test)]
#[path = "auth_refusal_tests.rs"]
mod tests;
