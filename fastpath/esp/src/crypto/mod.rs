//! ESP transforms (RFC 4303): AES-GCM (RFC 4106), AES-CBC (RFC 3602) with HMAC-SHA1-96
//! (RFC 2404) or HMAC-SHA256-128 (RFC 4868), and NULL (RFC 2410) with HMAC.
//!
//! A [`Session`] holds one SA's prepared keys and is shared read-only by all lcores; an
//! [`Engine`] is one lcore's mutable state and takes whole bursts, so that the multi-buffer
//! backend (intel-ipsec-mb) can spread the packets of a burst over its SIMD lanes.
//! Backends: RustCrypto (every transform; the reference), ring and aws-lc-rs (AES-GCM;
//! aws-lc-rs also AES-CBC + HMAC), intel-ipsec-mb (every transform, multi-buffer).

mod awslc;
#[cfg(feature = "ipsec-mb")]
mod ipsecmb;
mod ring_backend;
mod rustcrypto;
#[cfg(test)]
mod tests;

use aes::cipher::{BlockEncrypt, KeyInit};

/// Encryption algorithm of an SA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EncAlg {
    AesGcm16_128,
    AesGcm16_256,
    AesCbc128,
    AesCbc256,
    Null,
}

/// Integrity algorithm of an SA. `None` only with GCM (which has its own ICV).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntegAlg {
    None,
    HmacSha1_96,
    HmacSha256_128,
}

/// Crypto implementation. Not all backends do all transforms; `Auto` picks the fastest one
/// measured (see [`auto_order`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Auto,
    RustCrypto,
    Ring,
    AwsLc,
    IpsecMb,
}

/// An SA's keying material. For GCM, `enc_key` is key || 4-byte salt (RFC 4106 §8.1) and
/// `auth_key` is ignored.
#[derive(Clone)]
pub struct TransformKeys {
    pub enc: EncAlg,
    pub integ: IntegAlg,
    pub enc_key: Vec<u8>,
    pub auth_key: Vec<u8>,
}

// Debug without key bytes, so SAs can be logged.
impl std::fmt::Debug for TransformKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransformKeys")
            .field("enc", &self.enc)
            .field("integ", &self.integ)
            .field("enc_key", &format_args!("<{} bytes>", self.enc_key.len()))
            .field("auth_key", &format_args!("<{} bytes>", self.auth_key.len()))
            .finish()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("enc", &self.enc)
            .field("integ", &self.integ)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// Why a transform or a packet was refused.
#[derive(thiserror::Error, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoError {
    #[error("key length does not match the algorithm")]
    BadKeyLength,
    #[error("transform not supported (by this backend)")]
    Unsupported,
    #[error("packet length does not fit the transform")]
    BadLength,
    #[error("integrity check failed")]
    IcvMismatch,
}

/// One backend's prepared keys; the multi-buffer backend's inline (see `ipsecmb::Keys`).
#[allow(clippy::large_enum_variant)] // one per SA, in the SA's allocation on purpose
enum Imp {
    RustCrypto(Box<rustcrypto::Keys>),
    Ring(Box<ring_backend::Keys>),
    AwsLc(Box<awslc::Keys>),
    #[cfg(feature = "ipsec-mb")]
    IpsecMb(ipsecmb::Keys),
}

/// One SA's prepared keys; immutable after creation, shared by all lcores.
///
/// `repr(C)`: what every packet reads (the lengths, the salt) in the first line, the backend's
/// keys after it, inline for the multi-buffer backend (see [`Session::prefetch_keys`]).
#[repr(C)]
pub struct Session {
    enc: EncAlg,
    integ: IntegAlg,
    backend: Backend,
    salt: [u8; 4],
    /// The IV, ICV and block lengths, read a few times per packet: kept rather than matched
    /// from the algorithms each time (23-35 instructions per packet less, `bench/icount.sh`).
    lens: Lens,
    /// CBC on a one-at-a-time backend: the SA's cipher, which turns the counter block that
    /// [`Session::write_iv`] leaves in the packet into its IV (see [`finish_ivs`]). The
    /// multi-buffer backend does it in its lanes instead.
    iv_cipher: Option<Box<IvCipher>>,
    imp: Imp,
}

#[derive(Clone, Copy)]
struct Lens {
    iv: u8,
    icv: u8,
    block: u8,
}

impl Lens {
    fn of(enc: EncAlg, integ: IntegAlg) -> Lens {
        let (iv, block) = match enc {
            EncAlg::AesGcm16_128 | EncAlg::AesGcm16_256 => (8, 4),
            EncAlg::AesCbc128 | EncAlg::AesCbc256 => (16, 16),
            EncAlg::Null => (0, 4),
        };
        let icv = match (enc, integ) {
            (EncAlg::AesGcm16_128 | EncAlg::AesGcm16_256, _) => 16,
            (_, IntegAlg::HmacSha1_96) => 12,
            (_, IntegAlg::HmacSha256_128) => 16,
            (_, IntegAlg::None) => 0,
        };
        Lens { iv, icv, block }
    }
}

const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Session>();
};

/// Where the parts of an ESP packet are: `[SPI][Seq][IV][ciphertext][ICV]`.
#[derive(Clone, Copy)]
struct Frame {
    /// Start of the ciphertext (8 + IV length).
    ct: usize,
    /// Start of the ICV (end of the ciphertext).
    icv: usize,
}

fn is_gcm(e: EncAlg) -> bool {
    matches!(e, EncAlg::AesGcm16_128 | EncAlg::AesGcm16_256)
}

/// The order in which `Backend::Auto` tries backends for a transform (first that can wins).
///
/// Measured with `cargo run --release -p bench --bin crypto` (1 core, bursts of 32; see the
/// bench for the table): see the comments in the body for the numbers behind each choice.
pub fn auto_order(enc: EncAlg, _integ: IntegAlg) -> &'static [Backend] {
    if is_gcm(enc) {
        // AES-128-GCM seal Mpps at 64/512/1400 B (AVX-512+VAES host, ipsec-mb arch Avx512):
        // ipsec-mb 6.6/5.1/3.4, aws-lc-rs 4.9/3.5/2.5, ring 6.1/3.1/2.3, RustCrypto 4.3/1.0/0.5;
        // open ranks the same. AES-256-GCM: ipsec-mb ahead at 512 and 1400 B, a tie at 64 B.
        &[
            Backend::IpsecMb,
            Backend::AwsLc,
            Backend::Ring,
            Backend::RustCrypto,
        ]
    } else {
        // AES-128-CBC + HMAC-SHA1-96 seal Mpps at 64/512/1400 B: ipsec-mb 3.2/2.1/1.3 (its
        // multi-buffer lanes; CBC encryption and HMAC are serial within a packet), aws-lc-rs
        // 1.6/0.64/0.31, RustCrypto 1.3/0.79/0.32; open 1.6-2.7x in favour of ipsec-mb too.
        &[Backend::IpsecMb, Backend::AwsLc, Backend::RustCrypto]
    }
}

impl Session {
    /// Where the backend's keys start (which says which kind they are): with the session's
    /// first line, what a stage ahead of the keys asks for.
    pub(crate) const KEYS_AT: usize = std::mem::offset_of!(Session, imp);

    /// Prepares `keys` for `backend`.
    pub fn new(keys: &TransformKeys, backend: Backend) -> Result<Session, CryptoError> {
        check_keys(keys)?;
        if backend == Backend::Auto {
            let mut last = CryptoError::Unsupported;
            for &b in auto_order(keys.enc, keys.integ) {
                match Session::new(keys, b) {
                    Ok(s) => return Ok(s),
                    Err(e) => last = e,
                }
            }
            return Err(last);
        }
        let imp = match backend {
            Backend::RustCrypto => Imp::RustCrypto(Box::new(rustcrypto::Keys::new(keys)?)),
            Backend::Ring => Imp::Ring(Box::new(ring_backend::Keys::new(keys)?)),
            Backend::AwsLc => Imp::AwsLc(Box::new(awslc::Keys::new(keys)?)),
            #[cfg(feature = "ipsec-mb")]
            Backend::IpsecMb => Imp::IpsecMb(ipsecmb::Keys::new(keys)?),
            _ => return Err(CryptoError::Unsupported),
        };
        let mut salt = [0u8; 4];
        if is_gcm(keys.enc) {
            salt.copy_from_slice(&keys.enc_key[keys.enc_key.len() - 4..]);
        }
        let in_lanes = matches!(backend, Backend::IpsecMb);
        let iv_cipher = match keys.enc {
            EncAlg::AesCbc128 | EncAlg::AesCbc256 if !in_lanes => {
                Some(Box::new(IvCipher::new(&keys.enc_key)?))
            }
            _ => None,
        };
        Ok(Session {
            enc: keys.enc,
            integ: keys.integ,
            backend,
            salt,
            iv_cipher,
            lens: Lens::of(keys.enc, keys.integ),
            imp,
        })
    }

    pub fn enc(&self) -> EncAlg {
        self.enc
    }

    pub fn integ(&self) -> IntegAlg {
        self.integ
    }

    /// 8 for GCM, 16 for CBC, 0 for NULL.
    #[inline]
    pub fn iv_len(&self) -> usize {
        self.lens.iv as usize
    }

    /// 16 for GCM and HMAC-SHA256-128, 12 for HMAC-SHA1-96.
    #[inline]
    pub fn icv_len(&self) -> usize {
        self.lens.icv as usize
    }

    /// Alignment of payload || padding || pad length || next header: 16 for CBC, else 4.
    #[inline]
    pub fn block_len(&self) -> usize {
        self.lens.block as usize
    }

    /// Asks for the key material that sealing (`seal`) or opening `len` bytes of ESP will
    /// read, a stage ahead of the cipher: the multi-buffer backend's round keys, hash-key
    /// powers and HMAC states (GCM's into L2, the cipher asks for them into L1 two ops
    /// ahead). Other backends' keys are left to the cipher.
    #[inline(always)]
    pub fn prefetch_keys(&self, seal: bool, len: usize) {
        #[cfg(feature = "ipsec-mb")]
        if let Imp::IpsecMb(k) = &self.imp {
            k.prefetch_stage((self.enc, self.integ), seal, len);
        }
        #[cfg(not(feature = "ipsec-mb"))]
        let _ = (seal, len);
    }

    /// The backend actually in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Writes what goes in this packet's IV field before it is sealed (`iv_len` bytes;
    /// nothing if `iv` is shorter). GCM: the IV itself, the counter big-endian (RFC 4106 only
    /// needs uniqueness). CBC: the counter block (counter || 0s), which sealing encrypts under
    /// the SA's key into the IV: the first method of NIST SP 800-38A, appendix C, which makes
    /// the IV unpredictable (RFC 3602 §2) from a nonce, here unique per SA and activation.
    #[inline]
    pub fn write_iv(&self, counter: u64, iv: &mut [u8]) {
        let Some(iv) = iv.get_mut(..self.iv_len()) else {
            return;
        };
        // The IV lengths there are (GCM's 8, CBC's 16) as constant-size stores: a fill of a
        // slice whose length the compiler does not know is a call to memset per packet, and
        // two copies of 8 and 16 bytes from the stack merged into one memcpy call of either
        // size (`perf` put 5 % of an outbound CBC worker in it at 64 bytes). Split at 8
        // instead, GCM's IV left an empty rest whose fill was a memset call of 0 bytes.
        let mut block = [0u8; 16];
        block[..8].copy_from_slice(&counter.to_be_bytes());
        if let Ok(b) = <&mut [u8; 16]>::try_from(&mut *iv) {
            *b = block;
        } else if let Ok(b) = <&mut [u8; 8]>::try_from(&mut *iv) {
            *b = counter.to_be_bytes();
        } else if !iv.is_empty() {
            write_odd_iv(counter, iv);
        }
    }

    /// [`Session::write_iv`] into `st` from the values the IV and the ESP header are made
    /// of, not read back from the packet: GCM's nonce (salt || IV) and AAD (SPI || [SeqHi ||]
    /// SeqLo); nothing for other transforms.
    #[inline]
    pub fn stage_sealed(
        &self,
        st: &mut Staged,
        spi: u32,
        seq: u64,
        counter: u64,
        esn_hi: Option<u32>,
    ) {
        if !is_gcm(self.enc) {
            return;
        }
        let mut nonce = [0u8; 16];
        nonce[..4].copy_from_slice(&self.salt);
        nonce[4..12].copy_from_slice(&counter.to_be_bytes());
        let mut aad = [0u8; 16];
        aad[..4].copy_from_slice(&spi.to_be_bytes());
        match esn_hi {
            Some(hi) => {
                aad[4..8].copy_from_slice(&hi.to_be_bytes());
                aad[8..12].copy_from_slice(&(seq as u32).to_be_bytes());
            }
            None => aad[4..8].copy_from_slice(&(seq as u32).to_be_bytes()),
        }
        st.nonce = nonce;
        st.aad = aad;
    }

    /// Checks the packet length against the transform: a non-empty ciphertext of whole blocks.
    fn frame(&self, len: usize) -> Result<Frame, CryptoError> {
        let ct = 8 + self.iv_len();
        let icv = len
            .checked_sub(self.icv_len())
            .filter(|&i| i > ct)
            .ok_or(CryptoError::BadLength)?;
        // At least one block: the trailer (pad length, next header) is never absent.
        // (block_len is a power of two: a mask, not a division)
        if (icv - ct) & (self.block_len() - 1) != 0 {
            return Err(CryptoError::BadLength);
        }
        Ok(Frame { ct, icv })
    }

    /// This packet's [`Staged`] nonce and AAD (GCM; for other transforms, or an `esp` too
    /// short to hold the IV, zeros that nothing reads).
    #[inline]
    pub fn stage(&self, esp: &[u8], esn_hi: Option<u32>) -> Staged {
        let mut st = Staged::default();
        self.stage_into(&mut st, esp, esn_hi);
        st
    }

    /// [`Session::stage`] into `st`, which is left as it is where nothing reads it (not GCM,
    /// or `esp` too short): the CBC path then writes nothing.
    #[inline]
    pub fn stage_into(&self, st: &mut Staged, esp: &[u8], esn_hi: Option<u32>) {
        if is_gcm(self.enc) && esp.len() >= 16 {
            st.nonce[..12].copy_from_slice(&self.gcm_nonce(esp));
            st.aad[..12].copy_from_slice(&gcm_aad(esp, esn_hi).0);
        }
    }

    /// GCM nonce: salt || IV (RFC 4106 §4).
    fn gcm_nonce(&self, esp: &[u8]) -> [u8; 12] {
        let mut n = [0u8; 12];
        n[..4].copy_from_slice(&self.salt);
        n[4..].copy_from_slice(&esp[8..16]);
        n
    }
}

/// An IV of neither 8 nor 16 bytes (no transform has one): the counter if there is room for
/// it, then 0s.
#[cold]
#[inline(never)]
fn write_odd_iv(counter: u64, iv: &mut [u8]) {
    let (head, rest) = iv.split_at_mut(iv.len().min(8));
    match <&mut [u8; 8]>::try_from(&mut *head) {
        Ok(h) => *h = counter.to_be_bytes(),
        Err(_) => head.fill(0),
    }
    rest.fill(0);
}

/// GCM AAD (RFC 4106 §5): SPI || SeqLo, or SPI || SeqHi || SeqLo with ESN. Returns it and its length.
fn gcm_aad(esp: &[u8], esn_hi: Option<u32>) -> ([u8; 12], usize) {
    let mut a = [0u8; 12];
    a[..4].copy_from_slice(&esp[..4]);
    match esn_hi {
        Some(hi) => {
            a[4..8].copy_from_slice(&hi.to_be_bytes());
            a[8..].copy_from_slice(&esp[4..8]);
        }
        None => a[4..8].copy_from_slice(&esp[4..8]),
    }
    (a, gcm_aad_len(esn_hi))
}

/// The length of the GCM AAD: 12 bytes with ESN (SeqHi included), else 8.
fn gcm_aad_len(esn_hi: Option<u32>) -> usize {
    if esn_hi.is_some() {
        12
    } else {
        8
    }
}

/// Constant-time equality of two ICVs (no early exit on the first differing byte). The
/// usual lengths (12 and 16 bytes) are compared as two words.
#[inline]
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize, n: usize| -> u64 {
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(&s[at..at + n]);
        u64::from_ne_bytes(w)
    };
    let d = match a.len() {
        16 => (word(a, 0, 8) ^ word(b, 0, 8)) | (word(a, 8, 8) ^ word(b, 8, 8)),
        12 => (word(a, 0, 8) ^ word(b, 0, 8)) | (word(a, 8, 4) ^ word(b, 8, 4)),
        _ => a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) as u64,
    };
    std::hint::black_box(d) == 0
}

fn check_keys(k: &TransformKeys) -> Result<(), CryptoError> {
    let enc_len = match k.enc {
        EncAlg::AesGcm16_128 => 20,
        EncAlg::AesGcm16_256 => 36,
        EncAlg::AesCbc128 => 16,
        EncAlg::AesCbc256 => 32,
        EncAlg::Null => 0,
    };
    if k.enc_key.len() != enc_len {
        return Err(CryptoError::BadKeyLength);
    }
    match (is_gcm(k.enc), k.integ) {
        (true, IntegAlg::None) => Ok(()),
        // GCM already authenticates; CBC or NULL without integrity is not offered.
        (true, _) | (false, IntegAlg::None) => Err(CryptoError::Unsupported),
        (false, _) if k.auth_key.is_empty() => Err(CryptoError::BadKeyLength),
        (false, _) => Ok(()),
    }
}

/// One packet of a burst. `esp` is the packet from the ESP header on, `result` is set by the engine.
pub struct CryptoOp<'a> {
    pub session: &'a Session,
    pub esp: &'a mut [u8],
    pub esn_hi: Option<u32>,
    pub result: Result<(), CryptoError>,
}

/// An op's GCM nonce (salt || IV) and AAD, built by [`Session::stage`] in the ESP core's pass
/// over the burst, before the crypto runs: the multi-buffer backend's GCM calls read them
/// where they are. Copied just before the library reads them, they stalled every packet (it
/// reads them with masked vector loads, which cannot take their bytes from stores still in
/// flight): about a tenth of the library's time on 64-byte GCM packets. Other transforms and
/// backends ignore it.
#[derive(Clone, Copy, Default)]
pub struct Staged {
    nonce: [u8; 16],
    aad: [u8; 16],
}

/// The AES of a CBC SA's key, for its IVs on the one-at-a-time backends.
#[allow(clippy::large_enum_variant)] // boxed whole in the session
enum IvCipher {
    Aes128(aes::Aes128),
    Aes256(aes::Aes256),
}

impl IvCipher {
    fn new(key: &[u8]) -> Result<IvCipher, CryptoError> {
        match key.len() {
            16 => aes::Aes128::new_from_slice(key).map(IvCipher::Aes128),
            _ => aes::Aes256::new_from_slice(key).map(IvCipher::Aes256),
        }
        .map_err(|_| CryptoError::Unsupported)
    }

    fn encrypt_blocks(&self, blocks: &mut [aes::Block]) {
        match self {
            IvCipher::Aes128(k) => k.encrypt_blocks(blocks),
            IvCipher::Aes256(k) => k.encrypt_blocks(blocks),
        }
    }
}

/// Turns the CBC counter blocks that [`Session::write_iv`] left in the ops' packets
/// (`esp[8..24]`) into their IVs, for sessions of the one-at-a-time backends; one AES call per
/// run of ops under the same session, so that AES-NI pipelines the blocks instead of paying a
/// block's latency each. Other ops are left as they are.
fn finish_ivs(ops: &mut [CryptoOp<'_>]) {
    const RUN: usize = 64;
    let mut i = 0;
    while i < ops.len() {
        let session = ops[i].session;
        let Some(k) = &session.iv_cipher else {
            i += 1;
            continue;
        };
        let mut blocks = [aes::Block::default(); RUN];
        let mut n = 0;
        let mut end = i;
        while end < ops.len() && n < RUN && std::ptr::eq(ops[end].session, session) {
            if let Some(iv) = ops[end].esp.get(8..24) {
                blocks[n].copy_from_slice(iv);
                n += 1;
            }
            end += 1;
        }
        k.encrypt_blocks(&mut blocks[..n]);
        let mut b = blocks.iter();
        for op in &mut ops[i..end] {
            if let Some(iv) = op.esp.get_mut(8..24) {
                if let Some(block) = b.next() {
                    iv.copy_from_slice(block);
                }
            }
        }
        i = end;
    }
}

/// Per-lcore crypto state (an intel-ipsec-mb manager). Send, not Sync.
pub struct Engine {
    #[cfg(feature = "ipsec-mb")]
    mb: Option<ipsec_mb::Mgr>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    pub fn new() -> Engine {
        Engine {
            #[cfg(feature = "ipsec-mb")]
            mb: ipsec_mb::Mgr::new(),
        }
    }

    /// Encrypts and computes the ICV of every op, whose IV field holds what
    /// [`Session::write_iv`] wrote (for CBC, the counter block it turns into the IV) and whose
    /// plaintext trailer is in place.
    pub fn seal_burst(&mut self, ops: &mut [CryptoOp<'_>]) {
        self.burst(ops, &[], true)
    }

    /// Verifies the ICV of every op (constant time), then decrypts. On `Err(IcvMismatch)` the
    /// ciphertext is either left as it was or overwritten (backends differ): drop the packet.
    pub fn open_burst(&mut self, ops: &mut [CryptoOp<'_>]) {
        self.burst(ops, &[], false)
    }

    /// [`Engine::seal_burst`], with `staged[i]` built for `ops[i]` by [`Session::stage`].
    pub fn seal_burst_staged(&mut self, ops: &mut [CryptoOp<'_>], staged: &[Staged]) {
        self.burst(ops, staged, true)
    }

    /// [`Engine::open_burst`], with `staged[i]` built for `ops[i]` by [`Session::stage`].
    pub fn open_burst_staged(&mut self, ops: &mut [CryptoOp<'_>], staged: &[Staged]) {
        self.burst(ops, staged, false)
    }

    fn burst(&mut self, ops: &mut [CryptoOp<'_>], staged: &[Staged], seal: bool) {
        // (only the multi-buffer backend reads staged nonces)
        #[cfg(not(feature = "ipsec-mb"))]
        let _ = staged;
        if seal {
            finish_ivs(ops);
        }
        for op in ops.iter_mut() {
            op.result = match &op.session.imp {
                #[cfg(feature = "ipsec-mb")]
                Imp::IpsecMb(_) => continue,
                imp => one(op.session, imp, op.esp, op.esn_hi, seal),
            };
        }
        #[cfg(feature = "ipsec-mb")]
        match &mut self.mb {
            Some(m) => ipsecmb::burst(m, ops, staged, seal),
            None => ops
                .iter_mut()
                .filter(|op| matches!(op.session.imp, Imp::IpsecMb(_)))
                .for_each(|op| op.result = Err(CryptoError::Unsupported)),
        }
    }
}

/// One packet through a one-at-a-time backend.
fn one(
    s: &Session,
    imp: &Imp,
    esp: &mut [u8],
    esn_hi: Option<u32>,
    seal: bool,
) -> Result<(), CryptoError> {
    let f = s.frame(esp.len())?;
    match (imp, seal) {
        (Imp::RustCrypto(k), true) => k.seal(s, f, esp, esn_hi),
        (Imp::RustCrypto(k), false) => k.open(s, f, esp, esn_hi),
        (Imp::Ring(k), true) => k.seal(s, f, esp, esn_hi),
        (Imp::Ring(k), false) => k.open(s, f, esp, esn_hi),
        (Imp::AwsLc(k), true) => k.seal(s, f, esp, esn_hi),
        (Imp::AwsLc(k), false) => k.open(s, f, esp, esn_hi),
        #[cfg(feature = "ipsec-mb")]
        (Imp::IpsecMb(_), _) => Err(CryptoError::Unsupported),
    }
}
