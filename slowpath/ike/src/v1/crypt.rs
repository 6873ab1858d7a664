//! Encryption of ISAKMP message bodies (RFC 2409 appendix B): CBC with the IV chain, no
//! integrity of its own (the HASH payloads authenticate).
//!
//! The first IV of phase 1 is hash(g^xi | g^xr); each later message of phase 1 uses the last
//! ciphertext block of the one before it, in either direction. Every other exchange (Quick
//! Mode, Informational) starts from hash(last phase 1 block | M-ID) and chains the same way.
//! Bodies are padded with zeros to the block; the receiver ignores the padding
//! (`wire::unpadded` cuts it).

use crate::crypto::error::{CryptoError, Result};
use crate::crypto::prf::Prf;
use crate::v1::wire::encryption;
use openssl::hash::hash;
use openssl::symm::{Cipher, Crypter, Mode};
use zeroize::Zeroizing;

/// The phase 1 payload cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadCipher {
    Aes128Cbc,
    Aes192Cbc,
    Aes256Cbc,
    TripleDesCbc,
}

impl PayloadCipher {
    /// From the phase 1 encryption and key length attributes (AES defaults to 128 bits).
    pub fn from_phase1(encryption_id: u16, key_bits: Option<u16>) -> Result<PayloadCipher> {
        match (encryption_id, key_bits) {
            (encryption::AES_CBC, None | Some(128)) => Ok(PayloadCipher::Aes128Cbc),
            (encryption::AES_CBC, Some(192)) => Ok(PayloadCipher::Aes192Cbc),
            (encryption::AES_CBC, Some(256)) => Ok(PayloadCipher::Aes256Cbc),
            (encryption::TRIPLE_DES_CBC, None | Some(192)) => Ok(PayloadCipher::TripleDesCbc),
            (id @ (encryption::AES_CBC | encryption::TRIPLE_DES_CBC), Some(bits)) => {
                Err(CryptoError::KeyLength {
                    kind: "IKEv1 encryption",
                    id,
                    bits,
                })
            }
            (id, _) => Err(CryptoError::Unsupported {
                kind: "IKEv1 encryption",
                id,
            }),
        }
    }

    pub fn key_len(self) -> usize {
        match self {
            PayloadCipher::Aes128Cbc => 16,
            PayloadCipher::Aes192Cbc | PayloadCipher::TripleDesCbc => 24,
            PayloadCipher::Aes256Cbc => 32,
        }
    }

    pub fn block_len(self) -> usize {
        match self {
            PayloadCipher::TripleDesCbc => 8,
            _ => 16,
        }
    }

    fn openssl(self) -> Cipher {
        match self {
            PayloadCipher::Aes128Cbc => Cipher::aes_128_cbc(),
            PayloadCipher::Aes192Cbc => Cipher::aes_192_cbc(),
            PayloadCipher::Aes256Cbc => Cipher::aes_256_cbc(),
            PayloadCipher::TripleDesCbc => Cipher::des_ede3_cbc(),
        }
    }
}

/// hash(parts) cut to `block_len`.
fn truncated_hash(prf: Prf, parts: &[&[u8]], block_len: usize) -> Result<Vec<u8>> {
    let digest = hash(prf.digest(), &parts.concat())?;
    digest
        .get(..block_len)
        .map(<[u8]>::to_vec)
        .ok_or(CryptoError::BadLength {
            what: "IV",
            expected: block_len,
            got: digest.len(),
        })
}

/// The first IV of phase 1: hash(g^xi | g^xr) cut to the block.
pub fn initial_iv(prf: Prf, g_xi: &[u8], g_xr: &[u8], block_len: usize) -> Result<Vec<u8>> {
    truncated_hash(prf, &[g_xi, g_xr], block_len)
}

/// The first IV of an exchange after phase 1: hash(last phase 1 CBC block | M-ID).
pub fn exchange_iv(
    prf: Prf,
    last_phase1_block: &[u8],
    message_id: u32,
    block_len: usize,
) -> Result<Vec<u8>> {
    truncated_hash(
        prf,
        &[last_phase1_block, &message_id.to_be_bytes()],
        block_len,
    )
}

/// The phase 1 IV chain of an ISAKMP SA; once phase 1 is over, its last block seeds the IV
/// of every other exchange. What an HA peer must hold to go on where this node stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase1Iv {
    prf: Prf,
    iv: Vec<u8>,
}

impl Phase1Iv {
    /// The chain at its start: hash(g^xi | g^xr).
    pub fn new(prf: Prf, g_xi: &[u8], g_xr: &[u8], cipher: PayloadCipher) -> Result<Phase1Iv> {
        Ok(Phase1Iv {
            prf,
            iv: initial_iv(prf, g_xi, g_xr, cipher.block_len())?,
        })
    }

    /// A chain restored from its current block (HA sync).
    pub fn from_parts(prf: Prf, iv: Vec<u8>) -> Phase1Iv {
        Phase1Iv { prf, iv }
    }

    /// The IV of the next phase 1 message; after phase 1, its last block.
    pub fn current(&self) -> &[u8] {
        &self.iv
    }

    /// Moves the chain on after a phase 1 message (sent, or received and authenticated).
    pub fn advance(&mut self, next_iv: Vec<u8>) {
        self.iv = next_iv;
    }

    /// The first IV of the exchange with `message_id`.
    pub fn for_exchange(&self, message_id: u32) -> Result<Vec<u8>> {
        exchange_iv(self.prf, &self.iv, message_id, self.iv.len())
    }
}

/// A body encrypted or decrypted, and the IV of the next message of its exchange (the last
/// ciphertext block).
#[derive(Debug)]
pub struct Crypted {
    pub data: Zeroizing<Vec<u8>>,
    pub next_iv: Vec<u8>,
}

fn check_key_iv(cipher: PayloadCipher, key: &[u8], iv: &[u8]) -> Result<()> {
    for (what, expected, got) in [
        ("IKEv1 encryption key", cipher.key_len(), key.len()),
        ("IKEv1 IV", cipher.block_len(), iv.len()),
    ] {
        if expected != got {
            return Err(CryptoError::BadLength {
                what,
                expected,
                got,
            });
        }
    }
    Ok(())
}

fn cbc(cipher: PayloadCipher, mode: Mode, key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    let mut c = Crypter::new(cipher.openssl(), mode, key, Some(iv))?;
    c.pad(false);
    let mut out = vec![0u8; data.len() + cipher.block_len()];
    let n = c.update(data, &mut out)?;
    let m = c.finalize(&mut out[n..])?;
    out.truncate(n + m);
    Ok(out)
}

/// The last block of `ciphertext` (whole blocks, not empty).
fn last_block(ciphertext: &[u8], block_len: usize) -> Vec<u8> {
    ciphertext[ciphertext.len() - block_len..].to_vec()
}

/// Encrypts a payload chain, zero-padded to the block. `data` is the ciphertext that follows
/// the ISAKMP header; `next_iv` is the IV of the exchange's next message.
pub fn encrypt(cipher: PayloadCipher, key: &[u8], iv: &[u8], plaintext: &[u8]) -> Result<Crypted> {
    check_key_iv(cipher, key, iv)?;
    let b = cipher.block_len();
    let padded_len = plaintext.len().div_ceil(b).max(1) * b;
    let mut padded = Zeroizing::new(Vec::with_capacity(padded_len));
    padded.extend_from_slice(plaintext);
    padded.resize(padded_len, 0);
    let ct = cbc(cipher, Mode::Encrypt, key, iv, &padded)?;
    let next_iv = last_block(&ct, b);
    Ok(Crypted {
        data: Zeroizing::new(ct),
        next_iv,
    })
}

/// Decrypts a message body (everything after the ISAKMP header). `data` is the plaintext with
/// its padding; the caller moves the chain on to `next_iv` only once the message's HASH
/// checked out, so a forged message cannot derail the chain.
pub fn decrypt(cipher: PayloadCipher, key: &[u8], iv: &[u8], ciphertext: &[u8]) -> Result<Crypted> {
    check_key_iv(cipher, key, iv)?;
    let b = cipher.block_len();
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(b) {
        return Err(CryptoError::Malformed(
            "IKEv1 body not a whole number of blocks",
        ));
    }
    let plain = cbc(cipher, Mode::Decrypt, key, iv, ciphertext)?;
    Ok(Crypted {
        data: Zeroizing::new(plain),
        next_iv: last_block(ciphertext, b),
    })
}

#[cfg(test)]
#[path = "crypt_tests.rs"]
mod tests;
