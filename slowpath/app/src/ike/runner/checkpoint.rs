//! The local checkpoint of the IKE SAs (`ike-state-dir`): one file per IKE SA, named by its
//! SPIs, holding its record (`ike::sa::IkeSaRecord`: keys included, so mode 0600 in a
//! directory of mode 0700). A file is written to a temporary name, then renamed: a reader
//! sees the old record or the new one, never half of one. The runner writes an engine call's
//! records before it sends that call's datagrams, so the message IDs on disk are never behind
//! what the peer saw; a slow path started again (after a kill -9) reads them back.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ike::sa::{IkeSaRecord, MAX_RECORD_LEN};

const SUFFIX: &str = ".ike";
/// The IV generations an HA node knows of (`hasync::IvGenerations`), as text: "node1 node2".
const GENERATIONS: &str = "iv-generations";
const TEMP_SUFFIX: &str = ".ike.tmp";
/// More files than that in the directory are not read (a node holds far fewer IKE SAs).
const MAX_FILES: usize = 200_000;

/// What reading the checkpoint found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Each record with how long ago it was written.
    pub records: Vec<(IkeSaRecord, Duration)>,
    /// Files removed: unreadable, unparseable, or past their IKE SA's lifetime.
    pub stale: usize,
}

/// The directory and what was done to it.
#[derive(Debug)]
pub struct Checkpoint {
    dir: PathBuf,
    pub written: u64,
    pub removed: u64,
    pub errors: u64,
}

fn file_name((spi_i, spi_r): (u64, u64)) -> String {
    format!("{spi_i:016x}_{spi_r:016x}{SUFFIX}")
}

/// Reads at most `MAX_RECORD_LEN` + 1 octets: a longer file is not a record.
fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    File::open(path)?
        .take(MAX_RECORD_LEN as u64 + 1)
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
    pub fn write(&mut self, record: &IkeSaRecord) -> io::Result<()> {
        let name = file_name(record.spis());
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

    /// Removes the file of the SA with these SPIs (gone, or rekeyed to new SPIs).
    pub fn remove(&mut self, spis: (u64, u64)) -> io::Result<()> {
        match fs::remove_file(self.dir.join(file_name(spis))) {
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

    /// Every record in the directory. Files that are not records, or whose IKE SA's lifetime
    /// ran out since they were written, are removed and counted; so are leftover temporary
    /// files.
    pub fn load(&mut self) -> io::Result<Loaded> {
        let mut out = Loaded::default();
        let now = SystemTime::now();
        for entry in fs::read_dir(&self.dir)?.take(MAX_FILES) {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(TEMP_SUFFIX) {
                let _ = fs::remove_file(&path);
                continue;
            }
            if !name.ends_with(SUFFIX) {
                continue;
            }
            match Self::read_one(&path, now) {
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

    fn read_one(path: &Path, now: SystemTime) -> Result<(IkeSaRecord, Duration), String> {
        let bytes = zeroize::Zeroizing::new(read_bounded(path).map_err(|e| e.to_string())?);
        let record = IkeSaRecord::decode(&bytes).map_err(|e| e.to_string())?;
        if Some(path.file_name()) != Some(Some(file_name(record.spis()).as_ref())) {
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
