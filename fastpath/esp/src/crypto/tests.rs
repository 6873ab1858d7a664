//! Known-answer tests (draft-mcgrew-gcm-test-01, RFC 3602, RFC 2202, RFC 4231, Wycheproof)
//! and cross-checks between backends.

use super::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

/// A small deterministic PRNG (xorshift64*) so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn backends_for(enc: EncAlg) -> Vec<Backend> {
    let mut v = vec![Backend::RustCrypto];
    if is_gcm(enc) {
        v.push(Backend::Ring);
    }
    if enc != EncAlg::Null {
        v.push(Backend::AwsLc);
    }
    #[cfg(feature = "ipsec-mb")]
    v.push(Backend::IpsecMb);
    v
}

const TRANSFORMS: [(EncAlg, IntegAlg); 8] = [
    (EncAlg::AesGcm16_128, IntegAlg::None),
    (EncAlg::AesGcm16_256, IntegAlg::None),
    (EncAlg::AesCbc128, IntegAlg::HmacSha1_96),
    (EncAlg::AesCbc128, IntegAlg::HmacSha256_128),
    (EncAlg::AesCbc256, IntegAlg::HmacSha1_96),
    (EncAlg::AesCbc256, IntegAlg::HmacSha256_128),
    (EncAlg::Null, IntegAlg::HmacSha1_96),
    (EncAlg::Null, IntegAlg::HmacSha256_128),
];

fn random_keys(rng: &mut Rng, enc: EncAlg, integ: IntegAlg) -> TransformKeys {
    let el = match enc {
        EncAlg::AesGcm16_128 => 20,
        EncAlg::AesGcm16_256 => 36,
        EncAlg::AesCbc128 => 16,
        EncAlg::AesCbc256 => 32,
        EncAlg::Null => 0,
    };
    let al = match integ {
        IntegAlg::None => 0,
        IntegAlg::HmacSha1_96 => 20,
        IntegAlg::HmacSha256_128 => 32,
    };
    TransformKeys {
        enc,
        integ,
        enc_key: rng.bytes(el),
        auth_key: rng.bytes(al),
    }
}

fn seal(s: &Session, esp: &mut [u8], esn_hi: Option<u32>) -> Result<(), CryptoError> {
    let mut ops = [CryptoOp {
        session: s,
        esp,
        esn_hi,
        result: Ok(()),
    }];
    Engine::new().seal_burst(&mut ops);
    ops[0].result
}

fn open(s: &Session, esp: &mut [u8], esn_hi: Option<u32>) -> Result<(), CryptoError> {
    let mut ops = [CryptoOp {
        session: s,
        esp,
        esn_hi,
        result: Ok(()),
    }];
    Engine::new().open_burst(&mut ops);
    ops[0].result
}

/// An unsealed packet: SPI, Seq, the IV from `s`, `pt`, and room for the ICV.
fn packet(s: &Session, spi: u32, seq: u32, counter: u64, pt: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&spi.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    let mut iv = vec![0u8; s.iv_len()];
    s.write_iv(counter, &mut iv);
    p.extend_from_slice(&iv);
    p.extend_from_slice(pt);
    p.resize(p.len() + s.icv_len(), 0);
    p
}

// draft-mcgrew-gcm-test-01 ESP packets: key||salt, SPI, SeqHi (ESN cases), SeqLo, IV, pt, ct, tag.
#[allow(clippy::type_complexity)]
const MCGREW: [(&str, &str, Option<&str>, &str, &str, &str, &str, &str); 5] = [
    // Test case 1: 128-bit key, 64-bit extended sequence number (12-byte AAD).
    ("4c80cdefbb5d10da906ac73c3613a634 2e443b68", "00004321", Some("87654321"), "00000000",
     "4956ed7e3b244cfe",
     "45000048699a000080114db7c0a80102c0a801010a9bf15638d301000001000000000000045f736970045f756470037369700963796265726369747902646b000021000101020201",
     "fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce61bc17d768fd9732",
     "459018148f6cbe722fd04796562dfdb4"),
    // Test case 2: 128-bit key, 32-bit sequence number.
    ("feffe9928665731c6d6a8f9467308308 cafebabe", "0000a5f8", None, "0000000a",
     "facedbaddecaf888",
     "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d001000001000000000000037369700963796265726369747902646b00000100010001",
     "deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1",
     "83b70d3aa8bc6ee4c309e9d85a41ad4a"),
    // Test case 3: 256-bit key.
    ("abbccddef00112233445566778899aababbccddef00112233445566778899aab 11223344", "4a2cbfe3", None, "00000002",
     "0102030405060708",
     "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee0000000007002400020bf0000020405b40101040201020201",
     "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763748a637985771d347f0545659f14e99def842d8e",
     "b335f4eecfdbf831824b4c4915956c96"),
    // Test case 8: 128-bit key, ESN.
    ("abbccddef00112233445566778899aab decaf888", "00000100", Some("00000000"), "00000001",
     "cafedebaceface74",
     "4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d500004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec959b6266c04722b14923010101",
     "18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c226f2127b27db35724e7845d68",
     "651f57e65f354f75ff17015769623436"),
    // Test case 9: 256-bit key, ESN.
    ("abbccddef00112233445566778899aababbccddef00112233445566778899aab 73616c74", "17405e67", Some("156f3126"), "dd0db99b",
     "616e640169766563",
     "45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb71260250101f646d540001",
     "f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57ff4d3a31ce673119e",
     "451626c2415771e3b7eebca614c89b35"),
];

#[test]
fn gcm_mcgrew_esp_vectors_all_backends() {
    for (key, spi, hi, lo, iv, pt, ct, tag) in MCGREW {
        let key = h(key);
        let enc = if key.len() == 20 {
            EncAlg::AesGcm16_128
        } else {
            EncAlg::AesGcm16_256
        };
        let keys = TransformKeys {
            enc,
            integ: IntegAlg::None,
            enc_key: key,
            auth_key: vec![],
        };
        let esn = hi.map(|x| u32::from_be_bytes(h(x).try_into().unwrap()));
        let plain = [h(spi), h(lo), h(iv), h(pt), vec![0; 16]].concat();
        let sealed = [h(spi), h(lo), h(iv), h(ct), h(tag)].concat();
        for b in backends_for(enc) {
            let s = Session::new(&keys, b).unwrap();
            let mut p = plain.clone();
            assert_eq!(seal(&s, &mut p, esn), Ok(()), "{b:?}");
            assert_eq!(p, sealed, "seal {b:?}");
            assert_eq!(open(&s, &mut p, esn), Ok(()), "{b:?}");
            assert_eq!(p[..p.len() - 16], plain[..plain.len() - 16], "open {b:?}");
        }
    }
}

// RFC 3602 §4 cases 1-4: AES-128-CBC known answers (key, IV, plaintext, ciphertext).
const RFC3602: [(&str, &str, &str, &str); 4] = [
    ("06a9214036b8a15b512e03d534120006", "3dafba429d9eb430b422da802c9fac41",
     "53696e676c6520626c6f636b206d7367", "e353779c1079aeb82708942dbe77181a"),
    ("c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1"),
    ("6c3ea0477630ce21a2ce334aa746c2cd", "c782dc4c098c66cbd9cd27d825682c81",
     "5468697320697320612034382d62797465206d657373616765202865786163746c7929",
     ""),
    ("56e47a38c5598974bc46903dba290349", "8ce82eefbea0da3c44699ed7db51b7d9",
     "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
     "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55"),
];

#[test]
fn cbc_rfc3602_all_backends() {
    for (key, iv, pt, ct) in RFC3602 {
        let (key, iv, pt, ct) = (h(key), h(iv), h(pt), h(ct));
        if ct.is_empty() || pt.len() % 16 != 0 {
            continue;
        }
        let mut a = pt.clone();
        rustcrypto::cbc_encrypt_raw(&key, &iv, &mut a);
        assert_eq!(a, ct, "rustcrypto");
        let mut b = pt.clone();
        awslc::cbc_encrypt_raw(&key, &iv, &mut b);
        assert_eq!(b, ct, "aws-lc");
        #[cfg(feature = "ipsec-mb")]
        {
            let keys = ipsec_mb::AesKeys::new(&key).unwrap();
            let mut c = pt.clone();
            let job = ipsec_mb::Job {
                cipher: ipsec_mb::Cipher::AesCbc {
                    keys: &keys,
                    iv: ipsec_mb::CbcIv::Value(iv.clone().try_into().unwrap()),
                },
                cipher_len: c.len(),
                buf: &mut c,
                ..Default::default()
            };
            let (st, _) = ipsec_mb::Mgr::new().unwrap().run_one(job).unwrap();
            assert_eq!(st, ipsec_mb::JobStatus::Done);
            assert_eq!(c, ct, "ipsec-mb");
        }
    }
}

/// An HMAC vector: algorithm, key, message, full MAC.
type HmacVector = (IntegAlg, Vec<u8>, Vec<u8>, Vec<u8>);

// RFC 2202 (HMAC-SHA1) and RFC 4231 (HMAC-SHA256).
fn hmac_vectors() -> Vec<HmacVector> {
    let s1 = IntegAlg::HmacSha1_96;
    let s2 = IntegAlg::HmacSha256_128;
    let big = b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec();
    vec![
        (
            s1,
            vec![0x0b; 20],
            b"Hi There".to_vec(),
            h("b617318655057264e28bc0b6fb378c8ef146be00"),
        ),
        (
            s1,
            b"Jefe".to_vec(),
            b"what do ya want for nothing?".to_vec(),
            h("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
        ),
        (
            s1,
            vec![0xaa; 20],
            vec![0xdd; 50],
            h("125d7342b9ac11cd91a39af48aa17b4f63f175d3"),
        ),
        (
            s1,
            (1..=25).collect(),
            vec![0xcd; 50],
            h("4c9007f4026250c6bc8414f9bf50c86c2d7235da"),
        ),
        (
            s1,
            vec![0x0c; 20],
            b"Test With Truncation".to_vec(),
            h("4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"),
        ),
        (
            s1,
            vec![0xaa; 80],
            big.clone(),
            h("aa4ae5e15272d00e95705637ce8a3b55ed402112"),
        ),
        (
            s2,
            vec![0x0b; 20],
            b"Hi There".to_vec(),
            h("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        ),
        (
            s2,
            b"Jefe".to_vec(),
            b"what do ya want for nothing?".to_vec(),
            h("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ),
        (
            s2,
            vec![0xaa; 20],
            vec![0xdd; 50],
            h("773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        ),
        (
            s2,
            (1..=25).collect(),
            vec![0xcd; 50],
            h("82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        ),
        (
            s2,
            vec![0xaa; 131],
            big,
            h("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ),
    ]
}

#[test]
fn hmac_rfc2202_rfc4231_helpers() {
    for (alg, key, msg, mac) in hmac_vectors() {
        let r = rustcrypto::Hmacs::new(alg, &key).unwrap().unwrap();
        let mut out = [0u8; 32];
        let n = r.mac(&[&msg], &mut out);
        assert_eq!(out[..n], mac[..], "rustcrypto {alg:?}");
        #[cfg(feature = "ipsec-mb")]
        {
            let a = if alg == IntegAlg::HmacSha1_96 {
                ipsec_mb::HmacAlg::Sha1
            } else {
                ipsec_mb::HmacAlg::Sha256
            };
            let k = ipsecmb_hmac_key(a, &key);
            let mut buf = msg.clone();
            let job = ipsec_mb::Job {
                auth: ipsec_mb::Auth::Hmac(&k),
                hash_len: buf.len(),
                tag_len: mac.len(),
                buf: &mut buf,
                ..Default::default()
            };
            let (st, tag) = ipsec_mb::Mgr::new().unwrap().run_one(job).unwrap();
            assert_eq!(st, ipsec_mb::JobStatus::Done);
            assert_eq!(tag[..mac.len()], mac[..], "ipsec-mb {alg:?}");
        }
    }
}

#[cfg(feature = "ipsec-mb")]
fn ipsecmb_hmac_key(a: ipsec_mb::HmacAlg, key: &[u8]) -> Box<ipsec_mb::HmacKey> {
    use sha1::Digest;
    match (a, key.len() > 64) {
        (_, false) => ipsec_mb::HmacKey::new(a, key).unwrap(),
        (ipsec_mb::HmacAlg::Sha1, true) => {
            ipsec_mb::HmacKey::new(a, &sha1::Sha1::digest(key)).unwrap()
        }
        (_, true) => ipsec_mb::HmacKey::new(a, &sha2::Sha256::digest(key)).unwrap(),
    }
}

/// Through the ESP path: NULL + HMAC, where the MAC input is the whole packet before the ICV,
/// equals a vector's message when that message is SPI||Seq plus a multiple of 4 bytes.
#[test]
fn hmac_vectors_through_esp_null() {
    let mut n = 0;
    for (alg, key, msg, mac) in hmac_vectors() {
        if msg.len() <= 8 || (msg.len() - 8) % 4 != 0 {
            continue;
        }
        n += 1;
        let keys = TransformKeys {
            enc: EncAlg::Null,
            integ: alg,
            enc_key: vec![],
            auth_key: key,
        };
        for b in backends_for(EncAlg::Null) {
            let s = Session::new(&keys, b).unwrap();
            let mut p = [msg.clone(), vec![0; s.icv_len()]].concat();
            assert_eq!(seal(&s, &mut p, None), Ok(()));
            assert_eq!(p[msg.len()..], mac[..s.icv_len()], "{b:?} {alg:?}");
            assert_eq!(open(&s, &mut p, None), Ok(()));
        }
    }
    assert_eq!(n, 3);
}

/// Wycheproof AES-GCM (12-byte nonce, 16-byte tag) vectors whose AAD is an ESP AAD
/// (8 or 12 bytes) and whose plaintext is a multiple of 4 bytes, mapped onto ESP packets.
#[test]
fn gcm_wycheproof_all_backends() {
    use wycheproof::aead::{TestName, TestSet};
    use wycheproof::TestResult;
    let set = TestSet::load(TestName::AesGcm).unwrap();
    let mut used = 0;
    for g in set.test_groups {
        if g.nonce_size != 96 || g.tag_size != 128 || !matches!(g.key_size, 128 | 256) {
            continue;
        }
        for t in g.tests {
            if !matches!(t.aad.len(), 8 | 12) || t.pt.len() % 4 != 0 {
                continue;
            }
            used += 1;
            let enc = if g.key_size == 128 {
                EncAlg::AesGcm16_128
            } else {
                EncAlg::AesGcm16_256
            };
            let keys = TransformKeys {
                enc,
                integ: IntegAlg::None,
                enc_key: [&t.key[..], &t.nonce[..4]].concat(),
                auth_key: vec![],
            };
            let (hdr, esn): (Vec<u8>, Option<u32>) = if t.aad.len() == 8 {
                (t.aad.to_vec(), None)
            } else {
                let hi = u32::from_be_bytes(t.aad[4..8].try_into().unwrap());
                ([&t.aad[..4], &t.aad[8..12]].concat(), Some(hi))
            };
            let sealed = [&hdr[..], &t.nonce[4..], &t.ct[..], &t.tag[..]].concat();
            let plain = [&hdr[..], &t.nonce[4..], &t.pt[..], &[0u8; 16][..]].concat();
            for b in backends_for(enc) {
                let s = Session::new(&keys, b).unwrap();
                let mut p = sealed.clone();
                let r = open(&s, &mut p, esn);
                match t.result {
                    TestResult::Invalid => {
                        assert_eq!(r, Err(CryptoError::IcvMismatch), "tc {} {b:?}", t.tc_id)
                    }
                    _ => {
                        assert_eq!(r, Ok(()), "tc {} {b:?}", t.tc_id);
                        assert_eq!(p[..p.len() - 16], plain[..plain.len() - 16]);
                        let mut q = plain.clone();
                        seal(&s, &mut q, esn).unwrap();
                        assert_eq!(q, sealed, "tc {} {b:?}", t.tc_id);
                    }
                }
            }
        }
    }
    assert!(used > 0, "no Wycheproof vector maps onto ESP");
}

#[test]
fn backends_agree_and_open_each_other() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for (enc, integ) in TRANSFORMS {
        let keys = random_keys(&mut rng, enc, integ);
        let sessions: Vec<Session> = backends_for(enc)
            .into_iter()
            .map(|b| Session::new(&keys, b).unwrap())
            .collect();
        let r = &sessions[0];
        let mut len = 0usize;
        while len <= 1500 {
            let ct_len = len.div_ceil(r.block_len()).max(1) * r.block_len();
            let pt = rng.bytes(ct_len);
            let esn = (len % 2 == 1).then(|| rng.next() as u32);
            let plain = packet(r, rng.next() as u32, rng.next() as u32, len as u64, &pt);
            let mut reference = plain.clone();
            seal(r, &mut reference, esn).unwrap();
            for s in &sessions {
                let mut p = plain.clone();
                assert_eq!(seal(s, &mut p, esn), Ok(()));
                assert_eq!(
                    p,
                    reference,
                    "{enc:?}/{integ:?} {:?} len {len}",
                    s.backend()
                );
                assert_eq!(open(s, &mut p, esn), Ok(()), "{:?}", s.backend());
                // The header and IV as sealed, the plaintext as it was.
                let (iv_end, body) = (8 + s.iv_len(), p.len() - s.icv_len());
                assert_eq!(p[..iv_end], reference[..iv_end]);
                assert_eq!(p[iv_end..body], plain[iv_end..body]);
            }
            len += 1 + rng.below(97);
        }
    }
}

#[test]
fn any_flipped_bit_fails() {
    let mut rng = Rng(42);
    for (enc, integ) in TRANSFORMS {
        let keys = random_keys(&mut rng, enc, integ);
        for b in backends_for(enc) {
            let s = Session::new(&keys, b).unwrap();
            let pt = rng.bytes(3 * s.block_len() * 4);
            let mut p = packet(&s, 7, 9, 11, &pt);
            seal(&s, &mut p, Some(5)).unwrap();
            for i in 0..p.len() {
                let mut q = p.clone();
                q[i] ^= 1 << (i % 8);
                assert_eq!(
                    open(&s, &mut q, Some(5)),
                    Err(CryptoError::IcvMismatch),
                    "{b:?} byte {i}"
                );
            }
            let mut q = p.clone();
            assert_eq!(
                open(&s, &mut q, Some(5 ^ 0x100)),
                Err(CryptoError::IcvMismatch),
                "{b:?} esn"
            );
            let mut q = p.clone();
            assert_eq!(
                open(&s, &mut q, None),
                Err(CryptoError::IcvMismatch),
                "{b:?} no esn"
            );
            let mut q = p.clone();
            assert_eq!(open(&s, &mut q, Some(5)), Ok(()), "{b:?}");
        }
    }
}

/// One op per packet of `burst`, with the session and ESN high bits of `picks`.
fn ops_of<'a>(
    burst: &'a mut [Vec<u8>],
    picks: &[(&'a Session, Option<u32>)],
    result: Result<(), CryptoError>,
) -> Vec<CryptoOp<'a>> {
    burst
        .iter_mut()
        .zip(picks)
        .map(|(p, &(session, esn_hi))| CryptoOp {
            session,
            esp: p,
            esn_hi,
            result,
        })
        .collect()
}

/// Flips bits (`mask`) of one random byte in every third packet (1, 4, 7, ...).
fn tamper_every_third(rng: &mut Rng, burst: &mut [Vec<u8>], mask: u8) {
    for (i, p) in burst.iter_mut().enumerate() {
        if i % 3 == 1 {
            let j = rng.below(p.len());
            p[j] ^= mask;
        }
    }
}

#[test]
fn mixed_bursts_match_one_at_a_time() {
    let mut rng = Rng(7);
    let mut sessions = Vec::new();
    for (enc, integ) in TRANSFORMS {
        let keys = random_keys(&mut rng, enc, integ);
        for b in backends_for(enc) {
            sessions.push(Session::new(&keys, b).unwrap());
        }
    }
    let mut engine = Engine::new();
    for round in 0..4 {
        let n = [32, 1, 45, 70][round];
        let mut plains = Vec::new();
        let mut picks = Vec::new();
        for i in 0..n {
            let s = &sessions[rng.below(sessions.len())];
            let len = (rng.below(1400) / s.block_len() + 1) * s.block_len();
            let esn = (i % 3 == 0).then_some(i as u32);
            plains.push(packet(s, 1, i as u32, i as u64, &rng.bytes(len)));
            picks.push((s, esn));
        }
        let mut singles = plains.clone();
        for (p, (s, esn)) in singles.iter_mut().zip(&picks) {
            seal(s, p, *esn).unwrap();
        }
        let mut burst = plains.clone();
        let mut ops = ops_of(&mut burst, &picks, Err(CryptoError::Unsupported));
        // Odd rounds with their nonces and AADs staged, as the ESP core does.
        let staged: Vec<Staged> = ops
            .iter()
            .map(|o| o.session.stage(o.esp, o.esn_hi))
            .collect();
        if round % 2 == 1 {
            engine.seal_burst_staged(&mut ops, &staged);
        } else {
            engine.seal_burst(&mut ops);
        }
        assert!(ops.iter().all(|o| o.result.is_ok()));
        drop(ops);
        assert_eq!(burst, singles);
        // Tamper every third packet, then open the whole burst.
        tamper_every_third(&mut rng, &mut burst, 0x80);
        let mut ops = ops_of(&mut burst, &picks, Ok(()));
        let staged: Vec<Staged> = ops
            .iter()
            .map(|o| o.session.stage(o.esp, o.esn_hi))
            .collect();
        if round % 2 == 1 {
            engine.open_burst_staged(&mut ops, &staged);
        } else {
            engine.open_burst(&mut ops);
        }
        for (i, o) in ops.iter().enumerate() {
            let want = if i % 3 == 1 {
                Err(CryptoError::IcvMismatch)
            } else {
                Ok(())
            };
            assert_eq!(o.result, want, "op {i} {:?}", o.session.backend());
        }
        drop(ops);
        for (i, (p, q)) in burst.iter().zip(&plains).enumerate() {
            if i % 3 != 1 {
                let s = picks[i].0;
                let (iv_end, body) = (8 + s.iv_len(), p.len() - s.icv_len());
                assert_eq!(p[..iv_end], singles[i][..iv_end]);
                assert_eq!(p[iv_end..body], q[iv_end..body]);
            }
        }
    }
}

/// Bursts whose every op is AES-CBC + HMAC of one kind on the multi-buffer backend take the
/// one-pass path: several SAs (keys), mixed lengths, ESN on some ops, a packet of a bad
/// length, and chunks of 64 and beyond; each op as one at a time would have it.
#[test]
#[cfg(feature = "ipsec-mb")]
fn one_cbc_kind_bursts_match_one_at_a_time() {
    let mut rng = Rng(11);
    for (enc, integ) in [
        (EncAlg::AesCbc128, IntegAlg::HmacSha1_96),
        (EncAlg::AesCbc256, IntegAlg::HmacSha256_128),
    ] {
        let keys: Vec<TransformKeys> = (0..3).map(|_| random_keys(&mut rng, enc, integ)).collect();
        let sessions: Vec<Session> = keys
            .iter()
            .map(|k| Session::new(k, Backend::IpsecMb).unwrap())
            .collect();
        // The reference: the same keys on a one-at-a-time backend.
        let reference: Vec<Session> = keys
            .iter()
            .map(|k| Session::new(k, Backend::RustCrypto).unwrap())
            .collect();
        let mut engine = Engine::new();
        for n in [1, 64, 100] {
            let which: Vec<usize> = (0..n).map(|_| rng.below(3)).collect();
            let picks: Vec<(&Session, Option<u32>)> = (0..n)
                .map(|i| (&sessions[which[i]], (i % 4 == 0).then_some(i as u32 + 7)))
                .collect();
            let bad = n / 2;
            let plains: Vec<Vec<u8>> = picks
                .iter()
                .enumerate()
                .map(|(i, (s, _))| {
                    let len = (rng.below(1400) / 16 + 1) * 16;
                    let mut p = packet(s, 1, i as u32, i as u64, &rng.bytes(len));
                    if i == bad {
                        p.truncate(p.len() - 1); // not whole blocks
                    }
                    p
                })
                .collect();
            let mut singles = plains.clone();
            for (i, (p, (_, esn))) in singles.iter_mut().zip(&picks).enumerate() {
                assert_eq!(seal(&reference[which[i]], p, *esn).is_ok(), i != bad);
            }
            let mut burst = plains.clone();
            let mut ops = ops_of(&mut burst, &picks, Ok(()));
            engine.seal_burst(&mut ops);
            for (i, o) in ops.iter().enumerate() {
                assert_eq!(o.result.is_ok(), i != bad, "seal op {i} of {n}");
            }
            drop(ops);
            for i in (0..n).filter(|&i| i != bad) {
                assert_eq!(burst[i], singles[i], "sealed op {i} of {n}");
            }
            // Tamper every third, then open: the others give back the plaintext.
            tamper_every_third(&mut rng, &mut burst, 0x04);
            let mut ops = ops_of(&mut burst, &picks, Ok(()));
            engine.open_burst(&mut ops);
            for (i, o) in ops.iter().enumerate() {
                let want = match (i == bad, i % 3 == 1) {
                    (true, _) => Err(CryptoError::BadLength),
                    (false, true) => Err(CryptoError::IcvMismatch),
                    (false, false) => Ok(()),
                };
                assert_eq!(o.result, want, "open op {i} of {n}");
            }
            drop(ops);
            for i in (0..n).filter(|&i| i != bad && i % 3 != 1) {
                let s = picks[i].0;
                let (iv_end, body) = (8 + s.iv_len(), burst[i].len() - s.icv_len());
                assert_eq!(
                    burst[i][iv_end..body],
                    plains[i][iv_end..body],
                    "op {i} of {n}"
                );
                // The received ICV is left as it came (SeqHi was written over it meanwhile).
                assert_eq!(burst[i][body..], singles[i][body..], "op {i} of {n}");
            }
        }
    }
}

#[test]
fn the_engine_takes_staged_nonces_and_aads() {
    let mut rng = Rng(8);
    let keys = random_keys(&mut rng, EncAlg::AesGcm16_128, IntegAlg::None);
    let Ok(s) = Session::new(&keys, Backend::IpsecMb) else {
        return; // no intel-ipsec-mb here
    };
    let mut engine = Engine::new();
    for esn in [None, Some(7)] {
        let plain = packet(&s, 1, 2, 2, &rng.bytes(64));
        let mut want = plain.clone();
        seal(&s, &mut want, esn).unwrap();
        // The staged nonce and AAD are what the GCM call reads: right ones give the right packet,
        // a wrong nonce a different ciphertext, a wrong AAD (SeqHi) a failed ICV.
        let mut p = plain.clone();
        let st = [s.stage(&p, esn)];
        let mut ops = [CryptoOp {
            session: &s,
            esp: &mut p,
            esn_hi: esn,
            result: Err(CryptoError::Unsupported),
        }];
        engine.seal_burst_staged(&mut ops, &st);
        assert_eq!(ops[0].result, Ok(()));
        assert_eq!(p, want);
        let mut q = plain.clone();
        let mut bad = plain.clone();
        bad[8] ^= 1;
        let st = [s.stage(&bad, esn)];
        let mut ops = [CryptoOp {
            session: &s,
            esp: &mut q,
            esn_hi: esn,
            result: Err(CryptoError::Unsupported),
        }];
        engine.seal_burst_staged(&mut ops, &st);
        assert_ne!(q[16..], want[16..]);
        let mut r = want.clone();
        let st = [s.stage(&r, Some(esn.unwrap_or(0) + 1))];
        let mut ops = [CryptoOp {
            session: &s,
            esp: &mut r,
            esn_hi: esn,
            result: Ok(()),
        }];
        engine.open_burst_staged(&mut ops, &st);
        assert_eq!(ops[0].result, Err(CryptoError::IcvMismatch));
    }
}

#[test]
fn bad_lengths_are_errors_not_panics() {
    let mut rng = Rng(99);
    for (enc, integ) in TRANSFORMS {
        let keys = random_keys(&mut rng, enc, integ);
        for b in backends_for(enc) {
            let s = Session::new(&keys, b).unwrap();
            let min = 8 + s.iv_len() + s.icv_len();
            for len in 0..min + 3 * s.block_len() {
                let ok = len > min && (len - min).is_multiple_of(s.block_len());
                for esn in [None, Some(1)] {
                    let mut p = rng.bytes(len);
                    let r = seal(&s, &mut p, esn);
                    assert_eq!(r.is_ok(), ok, "{b:?} {enc:?} len {len}");
                    if !ok {
                        assert_eq!(r, Err(CryptoError::BadLength));
                        let mut p = rng.bytes(len);
                        assert_eq!(open(&s, &mut p, esn), Err(CryptoError::BadLength));
                    }
                }
            }
        }
    }
}

#[test]
fn keys_and_ivs() {
    let mut rng = Rng(3);
    let mut k = random_keys(&mut rng, EncAlg::AesGcm16_128, IntegAlg::None);
    k.enc_key.pop();
    assert_eq!(
        Session::new(&k, Backend::Auto).err(),
        Some(CryptoError::BadKeyLength)
    );
    let k = TransformKeys {
        integ: IntegAlg::HmacSha1_96,
        ..random_keys(&mut rng, EncAlg::AesGcm16_128, IntegAlg::None)
    };
    assert_eq!(
        Session::new(&k, Backend::Auto).err(),
        Some(CryptoError::Unsupported)
    );
    let cbc = random_keys(&mut rng, EncAlg::AesCbc128, IntegAlg::HmacSha1_96);
    assert_eq!(
        Session::new(&cbc, Backend::Ring).err(),
        Some(CryptoError::Unsupported)
    );
    let null = random_keys(&mut rng, EncAlg::Null, IntegAlg::None);
    assert_eq!(
        Session::new(&null, Backend::Auto).err(),
        Some(CryptoError::Unsupported)
    );

    let g = Session::new(
        &random_keys(&mut rng, EncAlg::AesGcm16_256, IntegAlg::None),
        Backend::Auto,
    )
    .unwrap();
    let mut iv = [0u8; 8];
    g.write_iv(0x0102_0304_0506_0708, &mut iv);
    assert_eq!(iv, [1, 2, 3, 4, 5, 6, 7, 8]);
    g.write_iv(1, &mut [0u8; 3]); // too short: nothing written, no panic
    let c1 = Session::new(&cbc, Backend::Auto).unwrap();
    assert_eq!((c1.iv_len(), c1.icv_len(), c1.block_len()), (16, 12, 16));
    assert_eq!((g.iv_len(), g.icv_len(), g.block_len()), (8, 16, 4));
}

/// The nonce and AAD staged from the values an outbound packet's ESP header and IV are made
/// of are the ones staged from that packet's bytes, with and without ESN; CBC stages nothing.
#[test]
fn stage_sealed_stages_what_stage_into_reads_from_the_packet() {
    let mut rng = Rng(23);
    for enc in [
        EncAlg::AesGcm16_128,
        EncAlg::AesGcm16_256,
        EncAlg::AesCbc128,
    ] {
        let integ = if is_gcm(enc) {
            IntegAlg::None
        } else {
            IntegAlg::HmacSha1_96
        };
        let s = Session::new(&random_keys(&mut rng, enc, integ), Backend::Auto).unwrap();
        for _ in 0..64 {
            let (spi, seq, counter) = (rng.next() as u32, rng.next(), rng.next());
            let esn_hi = (rng.next() & 1 == 1).then_some((seq >> 32) as u32);
            let mut esp = rng.bytes(64);
            esp[..4].copy_from_slice(&spi.to_be_bytes());
            esp[4..8].copy_from_slice(&(seq as u32).to_be_bytes());
            s.write_iv(counter, &mut esp[8..8 + s.iv_len()]);
            let mut want = Staged::default();
            s.stage_into(&mut want, &esp, esn_hi);
            let mut got = Staged::default();
            s.stage_sealed(&mut got, spi, seq, counter, esn_hi);
            assert_eq!((got.nonce, got.aad), (want.nonce, want.aad), "{enc:?}");
            if !is_gcm(enc) {
                assert_eq!((got.nonce, got.aad), ([0; 16], [0; 16]));
            }
        }
    }
}

/// A CBC packet's IV is its counter block encrypted under the SA's key (NIST SP 800-38A,
/// appendix C), whichever backend seals it (ipsec-mb: in its lanes, as the chain's first
/// block); and the rest of the packet is plain CBC from that IV.
#[test]
fn cbc_ivs_are_the_counter_block_under_the_sa_key() {
    let mut rng = Rng(11);
    for enc in [EncAlg::AesCbc128, EncAlg::AesCbc256] {
        let keys = random_keys(&mut rng, enc, IntegAlg::HmacSha1_96);
        let other = Session::new(
            &random_keys(&mut rng, enc, IntegAlg::HmacSha1_96),
            Backend::RustCrypto,
        )
        .unwrap();
        let pt = rng.bytes(64);
        for b in backends_for(enc) {
            let s = Session::new(&keys, b).unwrap();
            let mut ivs = Vec::new();
            for counter in [0u64, 1, 2, 0x0001_0000_0000_0007] {
                let mut block = [0u8; 16];
                block[..8].copy_from_slice(&counter.to_be_bytes());
                let mut seed = [0xaa; 16];
                s.write_iv(counter, &mut seed);
                assert_eq!(seed, block, "{b:?}: write_iv leaves the counter block");
                let mut want_iv = aes::Block::from(block);
                IvCipher::new(&keys.enc_key)
                    .unwrap()
                    .encrypt_blocks(std::slice::from_mut(&mut want_iv));
                let mut p = packet(&s, 1, 2, counter, &pt);
                seal(&s, &mut p, None).unwrap();
                assert_eq!(p[8..24], want_iv[..], "{enc:?} {b:?} counter {counter}");
                let mut ct = pt.clone();
                rustcrypto::cbc_encrypt_raw(&keys.enc_key, &want_iv, &mut ct);
                assert_eq!(p[24..24 + ct.len()], ct[..], "{enc:?} {b:?}");
                let mut q = packet(&other, 1, 2, counter, &pt);
                seal(&other, &mut q, None).unwrap();
                assert_ne!(p[8..24], q[8..24], "other keys, other IVs");
                ivs.push(p[8..24].to_vec());
            }
            assert!(ivs
                .iter()
                .enumerate()
                .all(|(i, a)| ivs[i + 1..].iter().all(|b| a != b)));
        }
    }
}

/// A burst seals its CBC IVs as packets sealed one at a time do, whatever the mix of sessions
/// and backends in it (runs of one session longer than 64, GCM and ipsec-mb ones in between).
#[test]
fn burst_ivs_match_one_at_a_time() {
    let mut rng = Rng(7);
    let mut sessions: Vec<Session> = [
        (
            EncAlg::AesCbc128,
            IntegAlg::HmacSha1_96,
            Backend::RustCrypto,
        ),
        (EncAlg::AesCbc256, IntegAlg::HmacSha256_128, Backend::AwsLc),
        (EncAlg::AesGcm16_128, IntegAlg::None, Backend::Auto),
    ]
    .iter()
    .map(|&(e, i, b)| Session::new(&random_keys(&mut rng, e, i), b).unwrap())
    .collect();
    let keys = random_keys(&mut rng, EncAlg::AesCbc128, IntegAlg::HmacSha1_96);
    if let Ok(s) = Session::new(&keys, Backend::IpsecMb) {
        sessions.push(s);
    }
    let pick: Vec<usize> = (0..150)
        .map(|i| if i < 70 { 0 } else { rng.below(sessions.len()) })
        .collect();
    let plains: Vec<Vec<u8>> = pick
        .iter()
        .enumerate()
        .map(|(n, &k)| packet(&sessions[k], 1, n as u32, n as u64, &[n as u8; 32]))
        .collect();
    let mut singles = plains.clone();
    for (p, &k) in singles.iter_mut().zip(&pick) {
        seal(&sessions[k], p, None).unwrap();
    }
    let mut burst = plains.clone();
    let mut ops: Vec<CryptoOp<'_>> = burst
        .iter_mut()
        .zip(&pick)
        .map(|(p, &k)| CryptoOp {
            session: &sessions[k],
            esp: p,
            esn_hi: None,
            result: Err(CryptoError::Unsupported),
        })
        .collect();
    Engine::new().seal_burst(&mut ops);
    assert!(ops.iter().all(|o| o.result.is_ok()));
    drop(ops);
    assert_eq!(burst, singles);
    let cbc = |k: usize| sessions[k].iv_len() == 16;
    assert!(burst
        .iter()
        .zip(&plains)
        .zip(&pick)
        .all(|((a, b), &k)| (a[8..16] != b[8..16]) == cbc(k)));
}

#[test]
fn ct_eq_finds_any_differing_byte() {
    for n in [0usize, 1, 8, 12, 16, 20, 32] {
        let a: Vec<u8> = (0..n as u8).map(|b| b.wrapping_mul(37)).collect();
        assert!(ct_eq(&a, &a.clone()));
        for i in 0..n {
            for bit in 0..8 {
                let mut b = a.clone();
                b[i] ^= 1 << bit;
                assert!(!ct_eq(&a, &b), "len {n} byte {i} bit {bit}");
            }
        }
        assert!(!ct_eq(&a, &[a.as_slice(), &[0]].concat()));
    }
}
