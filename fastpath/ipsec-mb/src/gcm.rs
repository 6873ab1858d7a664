//! AES-GCM on one buffer through the library's direct functions (`IMB_AES128_GCM_ENC` and
//! kin), not the job queue. GCM has no multi-buffer lanes to share, so a job buys nothing and
//! costs its queue: on this machine's AVX-512 code path, one core, the direct call takes 0.64
//! of the job's time to encrypt 64-byte payloads, 0.78 at 512 and 0.88 at 1400; to decrypt,
//! 0.59, 0.73 and 0.82 (`bench/c/mb_paths.c`, medians of 9 alternated rounds).
//!
//! Short texts, where even the direct call's fixed work is most of the time, go to this
//! crate's own AVX-512 code instead (`gcm_short`), where the CPU has it; longer ones to its
//! code that reads fewer of the key's lines (`gcm_long`). Which of a key's lines a text reads
//! follows that choice, so the key's prefetch (`GcmKey::prefetch`) is here too.

use crate::job::Dir;
use crate::keys::GcmKey;
use crate::mgr::Mgr;
use crate::prefetch::{prefetch_line_to, prefetch_to, Reach, LINE};
use crate::{gcm_long, gcm_short};

impl GcmKey {
    /// Asks for what sealing or opening `len` bytes (text and AAD) reads, a stage ahead: the
    /// round keys the key's size uses (3 lines for AES-128), and the hash-key powers its
    /// GHASH multiplies by. The AVX-512 code keeps the powers from the 48th down to the
    /// first, and a message of n blocks uses the last n (at most 48): a 64-byte packet reads
    /// one or two lines of the table, not all twelve; a text that `gcm_long` seals or opens
    /// reads the last 17 (5 lines) whatever its length. Reads `size`, on
    /// [`GcmKey::SIZE_AT`]'s line, which the stage before asked for.
    #[inline(always)]
    pub fn prefetch(&self, len: usize, reach: Reach) {
        prefetch_to(&self.expanded_keys, self.size.round_key_bytes(), reach);
        let table: &[u8] = &self.table;
        let used = powers_read(len) * 16;
        let mut at = table.len().saturating_sub(used);
        while at < table.len() {
            prefetch_line_to(table[at..].as_ptr(), reach);
            at += LINE;
        }
        // The table does not start on a line: the last power's line may be one more.
        prefetch_line_to(table[table.len() - 1..].as_ptr(), reach);
    }
}

/// How many of the table's last powers sealing or opening `len` bytes reads.
#[inline(always)]
fn powers_read(len: usize) -> usize {
    let most = if gcm_long::reads_few_powers(len) {
        gcm_long::POWERS_READ
    } else {
        48
    };
    len.div_ceil(16).clamp(1, most)
}

/// Whether the library takes these lengths: some text, and a tag length ESP uses (RFC 4106).
fn lengths_ok(text: usize, tag: usize) -> bool {
    text > 0 && matches!(tag, 8 | 12 | 16)
}

impl Mgr {
    /// Whether texts are sealed and opened by this crate's AVX-512 code (where the CPU has it
    /// and it agreed with the library; up to `gcm_long::LONGEST` bytes) rather than by the
    /// library's direct functions; on by default where it can.
    pub fn set_own_gcm(&mut self, on: bool) {
        self.gcm.own = on && gcm_short::cpu_has();
    }

    /// Whether the keys of the calls that follow may be out of cache (the default). Texts
    /// longer than 256 bytes then go to this crate's code that reads 5 lines of the key's
    /// hash-key table rather than 13; with the key in cache (the call before used the same
    /// key) to the library, which is faster there, but for opening texts of
    /// `gcm_long::OPEN_HOT_FROM` bytes or more, where this crate's code is faster either way.
    pub fn set_gcm_cold_key(&mut self, cold: bool) {
        self.gcm.cold_key = cold;
    }

    /// AES-GCM on one buffer, at once and outside the lanes: `Encrypt` encrypts `text` in place
    /// and writes the tag into `tag`; `Decrypt` decrypts it and writes the tag it computes into
    /// `tag`, for the caller to compare with the received one. `false`, with nothing touched,
    /// for an empty text or a tag not of 8, 12 or 16 bytes.
    pub fn gcm(
        &mut self,
        dir: Dir,
        key: &GcmKey,
        nonce: &[u8; 12],
        aad: &[u8],
        text: &mut [u8],
        tag: &mut [u8],
    ) -> bool {
        if !lengths_ok(text.len(), tag.len()) {
            return false;
        }
        let g = &mut self.gcm;
        let len = text.len();
        let own = g.own && aad.len() <= gcm_short::AAD_MAX && gcm_short::usable();
        let short = own && len <= gcm_short::UP_TO;
        let long = own
            && gcm_long::takes(len)
            && (g.cold_key || (dir == Dir::Decrypt && len >= gcm_long::OPEN_HOT_FROM));
        if short || long {
            let m = gcm_short::Msg {
                seal: dir == Dir::Encrypt,
                nonce,
                aad,
                text,
                tag,
            };
            // SAFETY: usable() implies cpu_has(); the lengths were checked above and just here.
            unsafe {
                if short {
                    gcm_short::seal_or_open(key, m)
                } else {
                    gcm_long::seal_or_open(key, m)
                }
            };
            return true;
        }
        let f = match (dir, key.key_len()) {
            (Dir::Encrypt, 16) => g.enc128,
            (Dir::Decrypt, 16) => g.dec128,
            (Dir::Encrypt, _) => g.enc256,
            (Dir::Decrypt, _) => g.dec256,
        };
        let p = text.as_mut_ptr();
        // SAFETY: the key was prepared for its length (GcmKey::new takes 16 or 32 bytes); the
        // library reads 12 nonce bytes, aad.len() AAD bytes, text.len() bytes at p and writes as
        // many there (in place is allowed), and writes tag.len() (8, 12 or 16) tag bytes; ctx is
        // scratch it initialises itself. All are borrowed for the call, which completes the work.
        unsafe {
            f(
                key.lib(),
                &mut g.ctx,
                p,
                p,
                text.len() as u64,
                nonce.as_ptr(),
                aad.as_ptr(),
                aad.len() as u64,
                tag.as_mut_ptr(),
                tag.len() as u64,
            )
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::powers_read;
    use crate::keys::tests::lines;
    use crate::keys::AesSize;
    use crate::prefetch::LINE;
    use crate::unhex::unhex;
    use crate::{Cipher, Dir, GcmKey, Job, JobStatus, Mgr};

    #[test]
    fn the_gcm_spec_test_case_4() {
        // McGrew and Viega, "The Galois/Counter Mode of Operation", test case 4.
        let key = GcmKey::new(&unhex("feffe9928665731c6d6a8f9467308308")).unwrap();
        let nonce: [u8; 12] = unhex("cafebabefacedbaddecaf888").try_into().unwrap();
        let aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let plain = unhex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let mut m = Mgr::new().unwrap();
        let mut text = plain.clone();
        let mut tag = [0u8; 16];
        assert!(m.gcm(Dir::Encrypt, &key, &nonce, &aad, &mut text, &mut tag));
        assert_eq!(
            text,
            unhex(
                "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
                 21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
            )
        );
        assert_eq!(tag.to_vec(), unhex("5bc94fbc3221a5db94fae95ae7121a47"));
        let mut computed = [0u8; 16];
        assert!(m.gcm(Dir::Decrypt, &key, &nonce, &aad, &mut text, &mut computed));
        assert_eq!(text, plain);
        assert_eq!(computed, tag);
    }

    #[test]
    fn direct_calls_match_jobs_for_every_length_and_both_key_sizes() {
        let mut m = Mgr::new().unwrap();
        for key_len in [16, 32] {
            let key = GcmKey::new(&vec![7u8; key_len]).unwrap();
            for len in 1..=200 {
                let aad_len = [8, 12][len % 2];
                let nonce = [len as u8; 12];
                let mut aad = [0u8; 16];
                aad[..aad_len].fill(3);
                let plain: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
                // The job: buffer = text || tag.
                let mut buf = plain.clone();
                buf.extend_from_slice(&[0; 16]);
                let (st, _) = m
                    .run_one(Job {
                        buf: &mut buf,
                        cipher: Cipher::AesGcm {
                            key: &key,
                            iv: nonce,
                            aad,
                            aad_len,
                        },
                        cipher_len: len,
                        tag_len: 16,
                        tag_at: Some(len),
                        ..Default::default()
                    })
                    .unwrap();
                assert_eq!(st, JobStatus::Done);
                let mut text = plain.clone();
                let mut tag = [0u8; 16];
                assert!(m.gcm(
                    Dir::Encrypt,
                    &key,
                    &nonce,
                    &aad[..aad_len],
                    &mut text,
                    &mut tag
                ));
                assert_eq!((&text[..], &tag[..]), buf.split_at(len), "len {len}");
                let mut computed = [0u8; 12];
                assert!(m.gcm(
                    Dir::Decrypt,
                    &key,
                    &nonce,
                    &aad[..aad_len],
                    &mut text,
                    &mut computed
                ));
                assert_eq!(text, plain);
                assert_eq!(computed[..], tag[..12]);
            }
        }
    }

    #[test]
    fn refuses_an_empty_text_and_odd_tag_lengths_touching_nothing() {
        let key = GcmKey::new(&[1; 16]).unwrap();
        let mut m = Mgr::new().unwrap();
        let mut text = [5u8; 32];
        for tag_len in [0, 4, 15, 17] {
            let mut tag = vec![9u8; tag_len];
            assert!(!m.gcm(Dir::Encrypt, &key, &[0; 12], &[], &mut text, &mut tag));
            assert!(tag.iter().all(|&b| b == 9));
        }
        let mut tag = [9u8; 16];
        assert!(!m.gcm(Dir::Encrypt, &key, &[0; 12], &[], &mut [], &mut tag));
        assert_eq!((text, tag), ([5; 32], [9; 16]));
    }

    #[test]
    fn a_1400_byte_gcm_packet_asks_for_5_lines_of_powers_or_fewer_where_gcm_long_runs() {
        let k = GcmKey::new(&[3; 16]).unwrap();
        let table = &k.table;
        let lines_of = |len: usize| {
            let used = powers_read(len) * 16;
            let end = table.as_ptr() as usize + table.len();
            (end - 1) / LINE - (end - used) / LINE + 1
        };
        let want = if crate::gcm_short::usable() { 5 } else { 13 };
        assert!(lines_of(1400) <= want, "{} lines", lines_of(1400));
        assert_eq!(powers_read(64), 4);
        assert_eq!(lines_of(crate::gcm_long::LONGEST + 1), 13);
    }

    #[test]
    fn a_gcm_op_reads_its_key_size_on_a_line_of_powers_it_reads_anyway() {
        // (key bytes, text length, lines: round keys + powers, the size among them)
        let few = crate::gcm_short::usable();
        for (key, len, want) in [
            (&[3u8; 16][..], 64, 3 + 2),
            (&[3u8; 32][..], 64, 4 + 2),
            (&[3u8; 16][..], 1400, if few { 3 + 5 } else { 3 + 13 }),
            (&[3u8; 32][..], 1400, if few { 4 + 5 } else { 4 + 13 }),
        ] {
            let k = GcmKey::new(key).unwrap();
            let powers = powers_read(len) * 16;
            let read = [
                (k.expanded_keys.as_ptr(), k.size.round_key_bytes()),
                (k.table[k.table.len() - powers..].as_ptr(), powers),
                ((&k.size as *const AesSize).cast(), 1),
            ];
            assert_eq!(
                lines(&*k, &read).len(),
                want,
                "{} bytes, len {len}",
                key.len()
            );
            assert_eq!(k.key_len(), key.len());
        }
        // The library's data and ours are one: its functions take ours.
        let k = GcmKey::new(&[5; 16]).unwrap();
        assert_eq!(k.lib().cast::<u8>(), k.expanded_keys.as_ptr());
    }
}
