//! The local checkpoint of the IKE SAs (`ike-state-dir`): one file per IKE SA, named by its
//! SPIs, holding its record (`ike::sa::IkeSaRecord`: keys included, so mode 0600 in a
//! directory of mode 0700); one per IKEv1 ISAKMP SA beside them, named by its cookies with
//! its own suffix (`ike::v1::record::IsakmpSaRecord`), so that each version reads its own. A file is written to a temporary name, then renamed: a reader
//! sees the old record or the new one, never half of one. The runner writes an engine call's
//! records before it sends that call's datagrams, so the message IDs on disk are never behind
//! what the peer saw; a slow path started again (after a kill -9) reads them back.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ike::sa::{IkeSaRecord, MAX_RECORD_LEN};
use ike::v1::record::{IsakmpSaRecord, MAX_ISAKMP_RECORD_LEN};

/// The IV generations an HA node knows of (`hasync::IvGenerations`), as text: "node1 node2".
const GENERATIONS: &str = "iv-generations";
/// More files than that in the directory are not read (a node holds far fewer IKE SAs).
const MAX_FILES: usize = 200_000;

/// A record kind the checkpoint keeps: one file per SA, named by its two 64-bit keys (IKEv2's
/// SPIs, IKEv1's cookies) and the kind's suffix.
pub trait Stored: Sized {
    const SUFFIX: &'static str;
    const MAX_LEN: usize;
    fn key(&self) -> (u64, u64);
    fn encode(&self) -> Vec<u8>;
    fn decode(bytes: &[u8]) -> Result<Self, String>;
    /// How long after its writing the record is still of use (None: no end).
    fn lifetime(&self) -> Option<Duration>;
}

impl Stored for IkeSaRecord {
    const SUFFIX: &'static str = ".ike";
    const MAX_LEN: usize = MAX_RECORD_LEN;
    fn key(&self) -> (u64, u64) {
        self.spis()
    }
    fn encode(&self) -> Vec<u8> {
        IkeSaRecord::encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        IkeSaRecord::decode(bytes).map_err(|e| e.to_string())
    }
    fn lifetime(&self) -> Option<Duration> {
        IkeSaRecord::lifetime(self)
    }
}

impl Stored for IsakmpSaRecord {
    const SUFFIX: &'static str = ".ike1";
    const MAX_LEN: usize = MAX_ISAKMP_RECORD_LEN;
    fn key(&self) -> (u64, u64) {
        self.cookies()
    }
    fn encode(&self) -> Vec<u8> {
        IsakmpSaRecord::encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        IsakmpSaRecord::decode(bytes).map_err(|e| e.to_string())
    }
    /// An ISAKMP SA's IPsec SAs go with it when its lifetime ends.
    fn lifetime(&self) -> Option<Duration> {
        Some(self.expires_in)
    }
}

/// What reading the checkpoint found.
#[derive(Debug)]
pub struct Loaded<R = IkeSaRecord> {
    /// Each record with how long ago it was written.
    pub records: Vec<(R, Duration)>,
    /// Files removed: unreadable, unparseable, or past their IKE SA's lifetime.
    pub stale: usize,
}

impl<R> Default for Loaded<R> {
    fn default() -> Self {
        Loaded {
            records: Vec::new(),
            stale: 0,
        }
    }
}

/// The directory and what was done to it.
#[derive(Debug)]
pub struct Checkpoint {
    dir: PathBuf,
    pub written: u64,
    pub removed: u64,
    pub errors: u64,
}

fn file_name<R: Stored>((i, r): (u64, u64)) -> String {
    format!("{i:016x}_{r:016x}{}", R::SUFFIX)
}

/// Reads at most `max` + 1 octets: a longer file is not a record.
fn read_bounded(path: &Path, max: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    File::open(path)?
        .take(max as u64 + 1)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

impl Checkpoint {
    /// Creates the directory if needed (mode 0700).
    pub fn open(dir: &Path) -> io::Result<Checkpoint> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        Ok(Checkpoint {
            dir: dir.to_path_buf(),
            written: 0,
            removed: 0,
            errors: 0,
        })
    }

    /// Replaces the SA's file with `record` (temporary file of mode 0600, then rename).
    pub fn write<R: Stored>(&mut self, record: &R) -> io::Result<()> {
        let name = file_name::<R>(record.key());
        let path = self.dir.join(&name);
        let temp = self.dir.join(format!("{name}.tmp"));
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temp)?;
            f.write_all(&zeroize::Zeroizing::new(record.encode()))?;
            fs::rename(&temp, &path)
        })();
        match &result {
            Ok(()) => self.written += 1,
            Err(_) => {
                self.errors += 1;
                let _ = fs::remove_file(&temp);
            }
        }
        result
    }

    /// The IV generations this HA node saved (none: never saved, or unreadable).
    pub fn load_generations(&self) -> Option<[u16; 2]> {
        let text = fs::read_to_string(self.dir.join(GENERATIONS)).ok()?;
        let mut words = text.split_whitespace().map(str::parse::<u16>);
        match (words.next(), words.next(), words.next()) {
            (Some(Ok(a)), Some(Ok(b)), None) => Some([a, b]),
            _ => None,
        }
    }

    /// Saves the IV generations before any SA sends under the newest (temporary file, then
    /// rename): a node restarted with its disk never takes one again, even with no peer to
    /// tell it.
    pub fn save_generations(&mut self, highest: [u16; 2]) -> io::Result<()> {
        let path = self.dir.join(GENERATIONS);
        let temp = self.dir.join(format!("{GENERATIONS}.tmp"));
        let result = (|| {
            let mut f = File::create(&temp)?;
            writeln!(f, "{} {}", highest[0], highest[1])?;
            f.sync_all()?;
            fs::rename(&temp, &path)
        })();
        if result.is_err() {
            self.errors += 1;
            let _ = fs::remove_file(&temp);
        }
        result
    }

    /// Removes the file of the IKE SA with these SPIs (gone, or rekeyed to new SPIs).
    pub fn remove(&mut self, spis: (u64, u64)) -> io::Result<()> {
        self.remove_kind::<IkeSaRecord>(spis)
    }

    /// Removes the file of the SA of kind `R` under `key` (gone, or under new keys).
    pub fn remove_kind<R: Stored>(&mut self, key: (u64, u64)) -> io::Result<()> {
        match fs::remove_file(self.dir.join(file_name::<R>(key))) {
            Ok(()) => {
                self.removed += 1;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => {
                self.errors += 1;
                Err(e)
            }
        }
    }

    /// Every IKE SA record in the directory (`load_kind`).
    pub fn load(&mut self) -> io::Result<Loaded> {
        self.load_kind::<IkeSaRecord>()
    }

    /// Every record of kind `R` in the directory. Files of its suffix that are not records,
    /// or whose SA's lifetime ran out since they were written, are removed and counted; so
    /// are its leftover temporary files.
    pub fn load_kind<R: Stored>(&mut self) -> io::Result<Loaded<R>> {
        let mut out = Loaded::default();
        let temp_suffix = format!("{}.tmp", R::SUFFIX);
        let now = SystemTime::now();
        for entry in fs::read_dir(&self.dir)?.take(MAX_FILES) {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(&temp_suffix) {
                let _ = fs::remove_file(&path);
                continue;
            }
            if !name.ends_with(R::SUFFIX) {
                continue;
            }
            match Self::read_one::<R>(&path, now) {
                Ok(r) => out.records.push(r),
                Err(why) => {
                    tracing::warn!(target: "ike", "checkpoint {}: {why}; removed", path.display());
                    let _ = fs::remove_file(&path);
                    out.stale += 1;
                }
            }
        }
        Ok(out)
    }

    fn read_one<R: Stored>(path: &Path, now: SystemTime) -> Result<(R, Duration), String> {
        let bytes =
            zeroize::Zeroizing::new(read_bounded(path, R::MAX_LEN).map_err(|e| e.to_string())?);
        let record = R::decode(&bytes)?;
        if Some(path.file_name()) != Some(Some(file_name::<R>(record.key()).as_ref())) {
            return Err("named after other SPIs".into());
        }
        let written = fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(|e| e.to_string())?;
        let age = now.duration_since(written).unwrap_or_default();
        if record.lifetime().is_some_and(|l| age > l) {
            return Err(format!("{}s old, past its lifetime", age.as_secs()));
        }
        Ok((record, age))
    }
}
