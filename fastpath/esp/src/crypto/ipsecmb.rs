//! intel-ipsec-mb backend: every transform, a burst at a time through the job API, so that
//! packets share the multi-buffer lanes. The unsafe part is all in the `ipsec-mb` crate.

use super::{ct_eq, gcm_aad, CryptoError, CryptoOp, EncAlg, Frame, Imp, IntegAlg, TransformKeys};
use ipsec_mb::{AesKeys, Auth, Cipher, Dir, GcmKey, HmacAlg, HmacKey, Job, JobStatus, Mgr};
use sha1::Digest;

enum CipherKey {
    Gcm(Box<GcmKey>),
    Cbc(Box<AesKeys>),
    Null,
}

pub(super) struct Keys {
    cipher: CipherKey,
    hmac: Option<Box<HmacKey>>,
}

impl Keys {
    pub(super) fn new(k: &TransformKeys) -> Result<Keys, CryptoError> {
        let e = &k.enc_key;
        let cipher = match k.enc {
            EncAlg::AesGcm16_128 => GcmKey::new(&e[..16]).map(CipherKey::Gcm),
            EncAlg::AesGcm16_256 => GcmKey::new(&e[..32]).map(CipherKey::Gcm),
            EncAlg::AesCbc128 | EncAlg::AesCbc256 => AesKeys::new(e).map(CipherKey::Cbc),
            EncAlg::Null => Some(CipherKey::Null),
        }
        .ok_or(CryptoError::Unsupported)?;
        let hmac = match k.integ {
            IntegAlg::None => None,
            IntegAlg::HmacSha1_96 => Some(hmac_key(HmacAlg::Sha1, &k.auth_key)?),
            IntegAlg::HmacSha256_128 => Some(hmac_key(HmacAlg::Sha256, &k.auth_key)?),
        };
        Ok(Keys { cipher, hmac })
    }
}

/// HMAC keys longer than the 64-byte block are hashed first (RFC 2104 §2).
fn hmac_key(alg: HmacAlg, key: &[u8]) -> Result<Box<HmacKey>, CryptoError> {
    let k = match (alg, key.len() > 64) {
        (_, false) => HmacKey::new(alg, key),
        (HmacAlg::Sha1, true) => HmacKey::new(alg, &sha1::Sha1::digest(key)),
        (HmacAlg::Sha256, true) => HmacKey::new(alg, &sha2::Sha256::digest(key)),
    };
    k.ok_or(CryptoError::Unsupported)
}

/// Jobs per submission round; the library queue holds 256, a DPDK burst is 32.
const CHUNK: usize = 32;

/// Runs the ipsec-mb ops of `ops` (others are skipped) and sets their results.
pub(super) fn burst(mgr: &mut Mgr, ops: &mut [CryptoOp<'_>], seal: bool) {
    for chunk in ops.chunks_mut(CHUNK) {
        // The received ICV (open) to compare against, kept out of the buffer while it runs.
        let mut saved = [[0u8; 16]; CHUNK];
        let mut tags = [[0u8; 16]; CHUNK];
        let mut status = [JobStatus::New; CHUNK];
        // which op of the chunk each job belongs to (jobs are packed at the front)
        let mut idx = [0usize; CHUNK];
        let mut n = 0;
        {
            let mut jobs: [Job<'_>; CHUNK] = Default::default();
            for (k, op) in chunk.iter_mut().enumerate() {
                let CryptoOp {
                    session,
                    esp,
                    esn_hi,
                    result,
                } = op;
                let Imp::IpsecMb(keys) = &session.imp else {
                    continue;
                };
                match session.frame(esp.len()) {
                    Ok(f) => {
                        prepare(
                            &mut jobs[n],
                            &mut saved[n],
                            keys,
                            session,
                            f,
                            esp,
                            *esn_hi,
                            seal,
                        );
                        idx[n] = k;
                        n += 1;
                    }
                    Err(e) => *result = Err(e),
                }
            }
            mgr.run(&mut jobs[..n]);
            for (j, job) in jobs[..n].iter().enumerate() {
                status[j] = job.status;
                let len = job.tag_len.min(16);
                tags[j][..len].copy_from_slice(&job.tag[..len]);
            }
        }
        for j in 0..n {
            let op = &mut chunk[idx[j]];
            op.result = finish(op, status[j], &tags[j], &saved[j], seal);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn prepare<'a>(
    job: &mut Job<'a>,
    saved: &mut [u8; 16],
    keys: &'a Keys,
    s: &super::Session,
    f: Frame,
    esp: &'a mut [u8],
    esn_hi: Option<u32>,
    seal: bool,
) {
    let icv_len = esp.len() - f.icv;
    if !seal {
        saved[..icv_len].copy_from_slice(&esp[f.icv..]);
    }
    job.dir = if seal { Dir::Encrypt } else { Dir::Decrypt };
    job.cipher_off = f.ct;
    job.cipher_len = f.icv - f.ct;
    job.tag_len = icv_len;
    job.cipher = match &keys.cipher {
        CipherKey::Gcm(key) => {
            let (a, n) = gcm_aad(esp, esn_hi);
            let mut aad = [0u8; 16];
            aad[..12].copy_from_slice(&a);
            Cipher::AesGcm {
                key,
                iv: s.gcm_nonce(esp),
                aad,
                aad_len: n,
            }
        }
        CipherKey::Cbc(k) => {
            let mut iv = [0u8; 16];
            iv.copy_from_slice(&esp[8..24]);
            Cipher::AesCbc { keys: k, iv }
        }
        CipherKey::Null => Cipher::Null,
    };
    if let Some(h) = &keys.hmac {
        job.auth = Auth::Hmac(h);
        job.hash_off = 0;
        job.hash_len = f.icv;
        // ESN: SeqHi follows the ciphertext in the MAC input (RFC 4303 §2.8); it goes where the
        // ICV will be (ICV >= 12 bytes), which is restored (open) or overwritten (seal) after.
        if let Some(hi) = esn_hi {
            esp[f.icv..f.icv + 4].copy_from_slice(&hi.to_be_bytes());
            job.hash_len += 4;
        }
    }
    job.buf = esp;
}

fn finish(
    op: &mut CryptoOp<'_>,
    st: JobStatus,
    tag: &[u8; 16],
    saved: &[u8; 16],
    seal: bool,
) -> Result<(), CryptoError> {
    let icv = op.esp.len() - op.session.icv_len();
    let n = op.session.icv_len();
    if !seal {
        // Put the received ICV back (ESN wrote SeqHi over it).
        op.esp[icv..].copy_from_slice(&saved[..n]);
    }
    if st != JobStatus::Done {
        return Err(CryptoError::BadLength);
    }
    if seal {
        op.esp[icv..].copy_from_slice(&tag[..n]);
        Ok(())
    } else if ct_eq(&tag[..n], &saved[..n]) {
        Ok(())
    } else {
        Err(CryptoError::IcvMismatch)
    }
}
