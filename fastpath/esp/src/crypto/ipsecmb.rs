//! intel-ipsec-mb backend: a burst at a time, so that packets share the multi-buffer lanes
//! (AES-CBC encryption, HMAC), through the library's synchronous burst functions where a
//! burst's ops are of one kind and its job queue otherwise; AES-GCM, which has no lanes,
//! through the direct GCM functions. Both skip the job queue's cost. The unsafe part is all
//! in the `ipsec-mb` crate.

use super::{
    ct_eq, gcm_aad, gcm_aad_len, CryptoError, CryptoOp, EncAlg, Frame, Imp, IntegAlg, Staged,
    TransformKeys,
};
use arrayvec::ArrayVec;
use ipsec_mb::{
    AesKeys, AesSize, Auth, Burst, CbcIv, Cipher, Completed, Dir, GcmKey, HmacAlg, HmacKey, Job,
    JobStatus, Mgr, Reach, SyncBurst, SyncKind, MAX_BURST,
};
use sha1::Digest;

/// An SA's keys as the library takes them. Sessions never pair GCM with HMAC, nor CBC or
/// NULL without it (`check_keys`), and this says so in the type.
///
/// Held inline, not boxed: they live in the SA's own allocation (see `Sa`), so a packet
/// reaches them without a pointer to load first, and on the SA's pages (no TLB miss more).
#[allow(clippy::large_enum_variant)] // one per SA, in the SA's allocation on purpose
pub(super) enum Keys {
    /// AES-GCM: no lanes; each op runs at once through the direct functions.
    Gcm(GcmKey),
    /// AES-CBC with HMAC: multi-buffer lanes.
    Cbc { aes: AesKeys, hmac: HmacKey },
    /// NULL with HMAC: the job queue. (A variant of its own, not an `Option` of the AES
    /// keys: its tag would be a line more to read for every CBC packet.)
    Null { hmac: HmacKey },
}

// The kind of keys is in the GCM key's size (`GcmKey::SIZE_AT`, on a line of powers every
// GCM op reads): the enum's tag takes no room of its own, and the size is the only field of
// a `GcmKey` with spare values to hold it.
const _: () = assert!(std::mem::size_of::<Keys>() == std::mem::size_of::<GcmKey>());

impl Keys {
    pub(super) fn new(k: &TransformKeys) -> Result<Keys, CryptoError> {
        let e = &k.enc_key;
        let hmac = match k.integ {
            IntegAlg::None => None,
            IntegAlg::HmacSha1_96 => Some(hmac_key(HmacAlg::Sha1, &k.auth_key)?),
            IntegAlg::HmacSha256_128 => Some(hmac_key(HmacAlg::Sha256, &k.auth_key)?),
        };
        let gcm = |key: &[u8]| GcmKey::new(key).map(|k| Keys::Gcm(*k));
        let keys = match (k.enc, hmac) {
            (EncAlg::AesGcm16_128, None) => gcm(&e[..16]),
            (EncAlg::AesGcm16_256, None) => gcm(&e[..32]),
            (EncAlg::AesCbc128 | EncAlg::AesCbc256, Some(hmac)) => {
                AesKeys::new(e).map(|aes| Keys::Cbc {
                    aes: *aes,
                    hmac: *hmac,
                })
            }
            (EncAlg::Null, Some(hmac)) => Some(Keys::Null { hmac: *hmac }),
            _ => None,
        };
        keys.ok_or(CryptoError::Unsupported)
    }

    /// Asks for the lines the library will read for an op of `len` bytes, into the cache
    /// level `reach` says. `enc` and `integ` are the session's (on its first line): they give
    /// the AES key's size and the HMAC, so that no line of the keys is read to learn which
    /// lines to ask for.
    #[inline(always)]
    pub(super) fn prefetch(
        &self,
        (enc, integ): (EncAlg, IntegAlg),
        seal: bool,
        len: usize,
        reach: Reach,
    ) {
        let hmac = match self {
            Keys::Gcm(k) => return k.prefetch(len, reach),
            Keys::Cbc { aes, hmac } => {
                let size = match enc {
                    EncAlg::AesCbc256 => AesSize::Aes256,
                    _ => AesSize::Aes128,
                };
                aes.prefetch(if seal { Dir::Encrypt } else { Dir::Decrypt }, size, reach);
                hmac
            }
            Keys::Null { hmac } => hmac,
        };
        let alg = match integ {
            IntegAlg::HmacSha256_128 => HmacAlg::Sha256,
            _ => HmacAlg::Sha1,
        };
        hmac.prefetch(alg, reach);
    }

    /// The AES keys (none for NULL) and HMAC key of a laned transform; `None` for GCM.
    #[inline(always)]
    fn laned(&self) -> Option<(Option<&AesKeys>, &HmacKey)> {
        match self {
            Keys::Gcm(_) => None,
            Keys::Cbc { aes, hmac } => Some((Some(aes), hmac)),
            Keys::Null { hmac } => Some((None, hmac)),
        }
    }

    /// [`Keys::prefetch`] a stage ahead of the cipher, for a whole burst before the first op
    /// runs. GCM keys go to L2 only: a burst of 1400-byte packets asks for 18 lines each
    /// (36 KiB), which in L1 would push out the packets about to be sealed, and each op's
    /// keys are asked for into L1 again two ops ahead ([`burst`]). A laned burst runs all
    /// its ops at once, with nothing asked for between: its keys (6 lines an op) go to L1.
    #[inline(always)]
    pub(super) fn prefetch_stage(&self, kind: (EncAlg, IntegAlg), seal: bool, len: usize) {
        let reach = match self {
            Keys::Gcm(_) => Reach::Far,
            Keys::Cbc { .. } | Keys::Null { .. } => Reach::Near,
        };
        self.prefetch(kind, seal, len, reach);
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

/// How many ops ahead of the one ciphered (AES-GCM, one at a time) its keys are asked for.
const KEYS_AHEAD: usize = 2;

/// Runs the ipsec-mb ops of `ops` (others are skipped) and sets their results; `staged[i]`,
/// if there, holds the nonce and AAD of `ops[i]`. Per chunk of up to MAX_BURST ops: a chunk
/// all of one AES-CBC + HMAC kind in one pass into one synchronous burst (`one_cbc_kind`);
/// in any other chunk, AES-GCM at once through the direct functions, AES-CBC + HMAC ops of the
/// chunk's first such kind in one synchronous burst, any other op (NULL, other kinds) through
/// the job queue.
pub(super) fn burst(mgr: &mut Mgr, ops: &mut [CryptoOp<'_>], staged: &[Staged], seal: bool) {
    for (c, chunk) in ops.chunks_mut(MAX_BURST).enumerate() {
        if one_cbc_kind(mgr, chunk, seal) {
            continue;
        }
        let staged = staged.get(c * MAX_BURST..).unwrap_or(&[]);
        let order = longest_first(chunk);
        let mut lane = [Lane::Done; MAX_BURST];
        let mut frames = [None; MAX_BURST];
        let mut sync_kind = None;
        for (at, &k) in order.iter().enumerate() {
            // The keys of the op a few ahead, spread over the burst's ciphering: asked for
            // into L1 while this one runs, they are there when it is their turn (the stage
            // before asked for them into L2). Not again for an op of the same SA as the one
            // before it (with one SA, only the asking costs).
            if let Some(&ahead) = order.get(at + KEYS_AHEAD) {
                let op = &chunk[ahead as usize];
                let before = &chunk[order[at + KEYS_AHEAD - 1] as usize];
                if !std::ptr::eq(op.session, before.session) {
                    let s = op.session;
                    if let Imp::IpsecMb(keys) = &s.imp {
                        keys.prefetch((s.enc, s.integ), seal, op.esp.len(), Reach::Near);
                    }
                }
            }
            // A key the op before used is in cache, where the library seals long GCM texts
            // faster than the code that reads fewer of its lines.
            let after_same = at > 0
                && std::ptr::eq(
                    chunk[order[at - 1] as usize].session,
                    chunk[k as usize].session,
                );
            let op = &mut chunk[k as usize];
            let Imp::IpsecMb(keys) = &op.session.imp else {
                continue;
            };
            let Some(f) = frame_or_fail(op) else {
                continue;
            };
            lane[k as usize] = match keys {
                Keys::Gcm(key) => {
                    mgr.set_gcm_cold_key(!after_same);
                    let st = staged.get(k as usize);
                    op.result = gcm_now(mgr, key, op.session, op.esp, op.esn_hi, f, st, seal);
                    continue;
                }
                Keys::Cbc { aes, hmac } => {
                    let kind =
                        SyncKind::new(if seal { Dir::Encrypt } else { Dir::Decrypt }, aes, hmac);
                    match sync_kind {
                        None => {
                            sync_kind = Some(kind);
                            Lane::Sync
                        }
                        Some(s) if s == kind => Lane::Sync,
                        Some(_) => Lane::Queue,
                    }
                }
                Keys::Null { .. } => Lane::Queue,
            };
            frames[k as usize] = Some(f);
        }
        let in_lane = |k: usize, l: Lane| if lane[k] == l { frames[k] } else { None };
        if sync_kind.is_some() {
            run(mgr, sync_kind, chunk, &order, seal, |k, _| {
                in_lane(k, Lane::Sync)
            });
        }
        if lane.contains(&Lane::Queue) {
            run(mgr, None, chunk, &order, seal, |k, _| {
                in_lane(k, Lane::Queue)
            });
        }
    }
}

/// The common case in one pass: every op of `chunk` is AES-CBC + HMAC of one kind (key
/// length and hash), so all go into one synchronous burst, without a first pass that sorts
/// them into lanes. `false` (nothing done) for any other chunk. In the real process, bursts
/// alternated with the two-pass path (`bench/ab_interleaved.sh`), it took 1.0-1.8 % off the
/// time per burst on AES-CBC + HMAC-SHA1 cells, both directions.
fn one_cbc_kind(mgr: &mut Mgr, chunk: &mut [CryptoOp<'_>], seal: bool) -> bool {
    let dir = if seal { Dir::Encrypt } else { Dir::Decrypt };
    let kind_of = |op: &CryptoOp<'_>| match &op.session.imp {
        Imp::IpsecMb(Keys::Cbc { aes, hmac }) => Some(SyncKind::new(dir, aes, hmac)),
        _ => None,
    };
    let Some(kind) = chunk.first().and_then(kind_of) else {
        return false;
    };
    if !chunk.iter().all(|op| kind_of(op) == Some(kind)) {
        return false;
    }
    let order = longest_first(chunk);
    run(mgr, Some(kind), chunk, &order, seal, |_, op| {
        frame_or_fail(op)
    });
    true
}

/// The op's frame, or `None` with the op's result set to why its length does not fit.
#[inline(always)]
fn frame_or_fail(op: &mut CryptoOp<'_>) -> Option<Frame> {
    match op.session.frame(op.esp.len()) {
        Ok(f) => Some(f),
        Err(e) => {
            op.result = Err(e);
            None
        }
    }
}

/// How an op of a chunk is run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// Already run (GCM), failed, or not an ipsec-mb op.
    Done,
    /// In the chunk's synchronous burst.
    Sync,
    /// Through the job queue.
    Queue,
}

/// A burst of jobs of either kind.
enum Lanes<'m, 'a> {
    Sync(SyncBurst<'m, 'a>),
    Queue(Burst<'m, 'a>),
}

impl<'m, 'a> Lanes<'m, 'a> {
    #[inline(always)]
    fn push(&mut self, job: &mut Job<'a>) -> Option<usize> {
        match self {
            Lanes::Sync(b) => b.push(job),
            Lanes::Queue(b) => b.push(job),
        }
    }

    fn finish(self) -> Completed<'m> {
        match self {
            Lanes::Sync(b) => b.finish(),
            Lanes::Queue(b) => b.finish(),
        }
    }
}

/// Runs the ops of `chunk` that `frame_of` gives a frame (it may set the result of those it
/// does not), in `order`, in a synchronous burst of `kind` or (`None`) through the job queue,
/// and sets their results.
#[inline(always)]
fn run(
    mgr: &mut Mgr,
    kind: Option<SyncKind>,
    chunk: &mut [CryptoOp<'_>],
    order: &[u8],
    seal: bool,
    mut frame_of: impl FnMut(usize, &mut CryptoOp<'_>) -> Option<Frame>,
) {
    let mut b = match kind {
        Some(k) => Lanes::Sync(mgr.sync_burst(k)),
        None => Lanes::Queue(mgr.burst()),
    };
    // Which op each job of the burst is, and (open with ESN and HMAC) the 4 bytes of the
    // received ICV that SeqHi covers while the MAC runs.
    let mut op_of = [0u8; MAX_BURST];
    let mut icv_head = [[0u8; 4]; MAX_BURST];
    let mut n = 0;
    {
        // One &mut per op, in submission order, without aliasing the chunk.
        let mut ops: [Option<&mut CryptoOp<'_>>; MAX_BURST] = [const { None }; MAX_BURST];
        for (slot, op) in ops.iter_mut().zip(chunk.iter_mut()) {
            *slot = Some(op);
        }
        for &k in order {
            let Some(op) = ops[k as usize].take() else {
                continue;
            };
            let Some(f) = frame_of(k as usize, op) else {
                continue;
            };
            let Some((cbc, hmac)) = (match &op.session.imp {
                Imp::IpsecMb(keys) => keys.laned(),
                _ => None,
            }) else {
                continue;
            };
            let CryptoOp {
                esp,
                esn_hi,
                result,
                ..
            } = op;
            let mut job = prepare(cbc, hmac, esp, *esn_hi, f, &mut icv_head[n], seal);
            match b.push(&mut job) {
                Some(j) => {
                    op_of[j] = k;
                    n += 1;
                }
                None => *result = Err(CryptoError::BadLength),
            }
        }
    }
    let done = b.finish();
    for j in 0..done.len() {
        let op = &mut chunk[op_of[j] as usize];
        op.result = finish(op, done.status(j), done.tag(j), &icv_head[j], seal);
    }
}

/// Seals or opens one AES-GCM op at once, outside the burst's jobs (`ipsec_mb::Mgr::gcm`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gcm_now(
    mgr: &mut Mgr,
    key: &GcmKey,
    s: &super::Session,
    esp: &mut [u8],
    esn_hi: Option<u32>,
    f: Frame,
    staged: Option<&Staged>,
    seal: bool,
) -> Result<(), CryptoError> {
    // The staged nonce and AAD are read where they are: a copy made now would stall the
    // library's masked loads of them (see `Staged`).
    let own: ([u8; 12], [u8; 12], usize);
    let (nonce, aad) = match staged.and_then(|st| Some((st.nonce.first_chunk::<12>()?, st))) {
        Some((nonce, st)) => (nonce, &st.aad[..gcm_aad_len(esn_hi)]),
        None => {
            let (a, n) = gcm_aad(esp, esn_hi);
            own = (s.gcm_nonce(esp), a, n);
            (&own.0, &own.1[..own.2])
        }
    };
    let (head, icv) = esp.split_at_mut(f.icv);
    let text = &mut head[f.ct..];
    if seal {
        return match mgr.gcm(Dir::Encrypt, key, nonce, aad, text, icv) {
            true => Ok(()),
            false => Err(CryptoError::BadLength),
        };
    }
    let mut computed = [0u8; 16];
    let Some(tag) = computed.get_mut(..icv.len()) else {
        return Err(CryptoError::BadLength);
    };
    if !mgr.gcm(Dir::Decrypt, key, nonce, aad, text, tag) {
        return Err(CryptoError::BadLength);
    }
    if ct_eq(tag, icv) {
        Ok(())
    } else {
        Err(CryptoError::IcvMismatch)
    }
}

/// The order in which to submit a chunk's ops: longest first. HMAC and AES-CBC encryption
/// run in multi-buffer lanes, and the end of a burst runs the lanes half empty for as long as
/// the longest job left in them; with the long jobs first, only short ones are left. On the
/// bench's IMIX order, 64 AES-CBC + HMAC-SHA1 jobs per burst, this takes 5-9 % off the
/// library's time to decrypt through the job queue (`cargo run --release -p bench --bin
/// lane_order`), and 9-14 % off a synchronous burst's (`bench/c/mb_paths.c`). Lengths of
/// one 64-byte class keep their order.
fn longest_first(chunk: &[CryptoOp<'_>]) -> ArrayVec<u8, MAX_BURST> {
    // Only with lanes (HMAC) is there anything to gain: a chunk without them is not sorted,
    // which only cost. AES-128-GCM on IMIX, `bench --bin esp`'s `ceiling open_burst`,
    // alternated runs: 7.55, 6.70, 7.97 Mpps sorted; 8.20, 8.25, 8.62 not.
    let laned = chunk.iter().any(|op| op.session.integ != IntegAlg::None);
    let mixed = laned && chunk.windows(2).any(|w| w[0].esp.len() != w[1].esp.len());
    let n = chunk.len().min(MAX_BURST);
    if !mixed {
        return (0..n as u8).collect();
    }
    // Lanes only need the long jobs ahead of the short ones, not an exact order: a counting
    // sort by length class. Against the sort of (length, index) keys it replaced (itself 1.6 %
    // of the process's time on CBC IMIX inbound), in bursts alternated in the real process
    // (`bench/ab_interleaved.sh`): 0.979 and 0.978 of the time per burst on CBC IMIX inbound,
    // 0.981 and 0.982 outbound.
    by_length_class(&chunk[..n])
}

/// The ops' indices by length class (64 bytes each; 4 KiB and longer together), longest
/// class first, in index order within a class: a counting sort, two passes over the ops.
fn by_length_class(ops: &[CryptoOp<'_>]) -> ArrayVec<u8, MAX_BURST> {
    const CLASSES: usize = 64;
    let class = |op: &CryptoOp<'_>| CLASSES - 1 - (op.esp.len() >> 6).min(CLASSES - 1);
    // start[c + 1] counts class c, then start[c] is where class c begins.
    let mut start = [0u8; CLASSES + 1];
    for op in ops {
        start[class(op) + 1] += 1;
    }
    for c in 1..=CLASSES {
        start[c] += start[c - 1];
    }
    let mut order = [0u8; MAX_BURST];
    for (k, op) in ops.iter().enumerate() {
        let c = class(op);
        order[start[c] as usize] = k as u8;
        start[c] += 1;
    }
    order[..ops.len()].iter().copied().collect()
}

/// The job for one laned op (AES-CBC or NULL, with HMAC). Seal writes the ICV straight into
/// the packet; open computes it into the burst's tag slot, to be compared with the packet's.
/// AES-CBC seal ciphers the IV field too, from a zero IV: the counter block that
/// `Session::write_iv` left there becomes E_K(counter block), the packet's IV, and the chain
/// goes on from it as from any IV. Open reads the IV where it is in the packet.
#[inline(always)]
fn prepare<'a>(
    cbc: Option<&'a AesKeys>,
    hmac: &'a HmacKey,
    esp: &'a mut [u8],
    esn_hi: Option<u32>,
    f: Frame,
    icv_head: &mut [u8; 4],
    seal: bool,
) -> Job<'a> {
    let icv_len = esp.len() - f.icv;
    let mut job = Job {
        dir: if seal { Dir::Encrypt } else { Dir::Decrypt },
        cipher_off: f.ct,
        cipher_len: f.icv - f.ct,
        tag_len: icv_len,
        tag_at: seal.then_some(f.icv),
        ..Default::default()
    };
    const IV_AT: usize = 8;
    if let Some(keys) = cbc {
        job.cipher = match seal {
            true => {
                job.cipher_off = IV_AT;
                job.cipher_len += f.ct - IV_AT;
                Cipher::AesCbc {
                    keys,
                    iv: CbcIv::Zero,
                }
            }
            false => Cipher::AesCbc {
                keys,
                iv: CbcIv::At(IV_AT),
            },
        };
    }
    job.auth = Auth::Hmac(hmac);
    job.hash_off = 0;
    job.hash_len = f.icv;
    // ESN: SeqHi follows the ciphertext in the MAC input (RFC 4303 §2.8); it goes where the ICV
    // will be (ICV >= 12 bytes), which is restored (open) or overwritten (seal) after.
    if let Some(hi) = esn_hi {
        icv_head.copy_from_slice(&esp[f.icv..f.icv + 4]);
        esp[f.icv..f.icv + 4].copy_from_slice(&hi.to_be_bytes());
        job.hash_len += 4;
    }
    job.buf = esp;
    job
}

#[inline(always)]
fn finish(
    op: &mut CryptoOp<'_>,
    st: JobStatus,
    tag: &[u8; 32],
    icv_head: &[u8; 4],
    seal: bool,
) -> Result<(), CryptoError> {
    let n = op.session.icv_len();
    let icv = op.esp.len() - n;
    let hmac_esn = op.esn_hi.is_some() && op.session.integ != IntegAlg::None;
    if !seal && hmac_esn {
        // Put the received ICV back (SeqHi was written over its first 4 bytes).
        op.esp[icv..icv + 4].copy_from_slice(icv_head);
    }
    if st != JobStatus::Done {
        return Err(CryptoError::BadLength);
    }
    if seal || ct_eq(&tag[..n], &op.esp[icv..]) {
        Ok(())
    } else {
        Err(CryptoError::IcvMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Backend, CryptoError, Session};

    fn order_of(s: &Session, lens: &[usize]) -> Vec<u8> {
        let mut bufs: Vec<Vec<u8>> = lens.iter().map(|&n| vec![0; n]).collect();
        let ops: Vec<CryptoOp> = bufs
            .iter_mut()
            .map(|b| CryptoOp {
                session: s,
                esp: b,
                esn_hi: None,
                result: Err(CryptoError::Unsupported),
            })
            .collect();
        let order: Vec<u8> = longest_first(&ops).to_vec();
        order
    }

    #[test]
    fn longest_first_sorts_only_where_hmac_runs_in_lanes() {
        let gcm = TransformKeys {
            enc: EncAlg::AesGcm16_128,
            integ: IntegAlg::None,
            enc_key: vec![1; 20],
            auth_key: vec![],
        };
        let s = Session::new(&gcm, Backend::IpsecMb).unwrap();
        assert_eq!(order_of(&s, &[60, 1400, 60, 600, 1400]), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn longest_first_orders_by_length_class_then_index() {
        let keys = TransformKeys {
            enc: EncAlg::AesCbc128,
            integ: IntegAlg::HmacSha1_96,
            enc_key: vec![1; 16],
            auth_key: vec![2; 20],
        };
        let s = Session::new(&keys, Backend::IpsecMb).unwrap();
        assert_eq!(order_of(&s, &[60, 1400, 60, 600, 1400]), [1, 4, 3, 0, 2]);
        assert_eq!(order_of(&s, &[60; 5]), [0, 1, 2, 3, 4]);
        // One 64-byte class: index order; 4 KiB and beyond: one class.
        assert_eq!(order_of(&s, &[100, 120, 64, 127, 63]), [0, 1, 2, 3, 4]);
        assert_eq!(order_of(&s, &[4096, 9000, 4031, 5000]), [0, 1, 3, 2]);
        // A whole burst of distinct classes comes out longest first.
        let lens: Vec<usize> = (0..64).map(|i| 64 * ((i * 37) % 64) + 10).collect();
        let order = order_of(&s, &lens);
        assert!(order
            .windows(2)
            .all(|w| lens[w[0] as usize] > lens[w[1] as usize]));
        assert_eq!(order_of(&s, &[]), Vec::<u8>::new());
    }
}
