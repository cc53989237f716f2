//! Where a run over a file stopped (`bento import`, `bento erase`), keyed
//! on the content that was sent: the byte offset up to which every row was
//! acknowledged by Bento, and a SHA-256 of the file up to there. A run
//! resumes only when the file still begins with exactly those bytes, so an
//! edited row that was already sent is never silently skipped, and rows
//! appended since are sent. A finished run keeps its checkpoint (covering
//! the whole file), so running the same command again sends nothing instead
//! of everything twice.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::failure::Failure;

/// `people.csv` -> `people.csv.bento-checkpoint`, next to the file.
pub(crate) fn default_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".bento-checkpoint");
    PathBuf::from(name)
}

/// Where the run of `kind` over `file` records its progress (`path`, else
/// next to the file), and the checkpoint to resume from, unless `restart`.
pub(crate) fn resume(
    file: &Path,
    path: Option<PathBuf>,
    restart: bool,
    kind: &str,
) -> Result<(PathBuf, Option<Checkpoint>), Failure> {
    let path = path.unwrap_or_else(|| default_path(file));
    let resumed = if restart {
        None
    } else {
        Checkpoint::load(&path, kind, file)?
    };
    Ok((path, resumed))
}

/// How far a run got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub(crate) kind: String,
    /// Every row that ends at or before this byte offset is done.
    pub(crate) offset: u64,
    /// SHA-256 of the file's first `offset` bytes, in hex.
    pub(crate) prefix_sha256: String,
    /// The line the first row not done starts on (for messages).
    pub(crate) next_line: u64,
    pub(crate) rows_done: u64,
    pub(crate) accepted: u64,
    pub(crate) failed: u64,
    /// The run reached the end of the file.
    #[serde(default)]
    pub(crate) finished: bool,
}

impl Checkpoint {
    /// Nothing done yet, for a run of `kind` (`subscribers`, `events`,
    /// `erasures`).
    pub(crate) fn start(kind: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            offset: 0,
            prefix_sha256: hex(&Sha256::new().finalize()),
            next_line: 1,
            rows_done: 0,
            accepted: 0,
            failed: 0,
            finished: false,
        }
    }

    /// The checkpoint at `path` if there is one and `file` still begins
    /// with what it covers; an error saying what to do when it does not.
    pub(crate) fn load(path: &Path, kind: &str, file: &Path) -> Result<Option<Self>, Failure> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err(Failure::Usage(format!(
                    "cannot read the checkpoint {}: {error}",
                    path.display()
                )));
            }
        };
        let refuse = |why: String| {
            Failure::Usage(format!(
                "{why}; pass --restart to start over from the first row (subscribers already \
                 imported are updated in place; events would be recorded twice; erasures are \
                 asked again), or delete {}",
                path.display()
            ))
        };
        let saved: Self = serde_json::from_slice(&bytes).map_err(|_| {
            refuse(format!(
                "{} is not a checkpoint this version of bento can read",
                path.display()
            ))
        })?;
        if saved.kind != kind {
            return Err(refuse(format!(
                "{} is the checkpoint of a run of {}, not of {kind}",
                path.display(),
                saved.kind,
            )));
        }
        if prefix_hash(file, saved.offset)?.as_deref() != Some(saved.prefix_sha256.as_str()) {
            return Err(refuse(format!(
                "{} changed before line {} since the checkpoint was written: its first {} rows, \
                 which were sent, are not what they were",
                file.display(),
                saved.next_line,
                saved.rows_done
            )));
        }
        Ok(Some(saved))
    }

    /// Records that every row up to `offset` is done. The hash continues
    /// from the previous offset, so each byte is read once per run.
    pub(crate) fn advance(
        &mut self,
        hasher: &mut PrefixHasher,
        offset: u64,
        next_line: u64,
    ) -> Result<(), Failure> {
        hasher.extend_to(offset)?;
        self.offset = offset;
        self.prefix_sha256 = hasher.current();
        self.next_line = next_line;
        Ok(())
    }

    /// Written to a temporary file and renamed, so a kill never leaves half a checkpoint.
    pub(crate) fn save(&self, path: &Path) -> Result<(), Failure> {
        let cannot = |e: std::io::Error| {
            Failure::Failed(format!(
                "cannot write the checkpoint {}: {e}",
                path.display()
            ))
        };
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let mut file = File::create(&temporary).map_err(cannot)?;
        file.write_all(&serde_json::to_vec(self).map_err(|e| Failure::Failed(e.to_string()))?)
            .map_err(cannot)?;
        file.sync_all().map_err(cannot)?;
        std::fs::rename(&temporary, path).map_err(cannot)
    }
}

/// SHA-256 of a file's first `len` bytes, read as the import goes.
pub(crate) struct PrefixHasher {
    file: File,
    path: PathBuf,
    hasher: Sha256,
    hashed: u64,
}

impl PrefixHasher {
    /// Starts at `from` bytes, which the checkpoint already covers.
    pub(crate) fn new(path: &Path, from: u64) -> Result<Self, Failure> {
        let mut hasher = Self {
            file: open(path)?,
            path: path.to_owned(),
            hasher: Sha256::new(),
            hashed: 0,
        };
        hasher.extend_to(from)?;
        Ok(hasher)
    }

    fn extend_to(&mut self, offset: u64) -> Result<(), Failure> {
        let mut buffer = vec![0u8; 1 << 16];
        while self.hashed < offset {
            let want = (offset - self.hashed).min(buffer.len() as u64) as usize;
            let read = self.file.read(&mut buffer[..want]).map_err(|e| {
                Failure::Failed(format!("cannot read {}: {e}", self.path.display()))
            })?;
            if read == 0 {
                return Err(Failure::Failed(format!(
                    "{} became shorter while it was imported",
                    self.path.display()
                )));
            }
            self.hasher.update(&buffer[..read]);
            self.hashed += read as u64;
        }
        Ok(())
    }

    fn current(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }
}

fn open(path: &Path) -> Result<File, Failure> {
    File::open(path).map_err(|e| Failure::Usage(format!("cannot open {}: {e}", path.display())))
}

/// The hash of `file`'s first `len` bytes; `None` when it is shorter.
fn prefix_hash(file: &Path, len: u64) -> Result<Option<String>, Failure> {
    let mut reader = open(file)?.take(len);
    let mut hasher = Sha256::new();
    let copied = std::io::copy(&mut reader, &mut HashWriter(&mut hasher))
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))?;
    Ok((copied == len).then(|| hex(&hasher.finalize())))
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str, content: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("bento-checkpoint-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let file = dir.join("people.csv");
        std::fs::write(&file, content).unwrap_or_default();
        file
    }

    fn saved_after(file: &Path, offset: u64) -> PathBuf {
        let mut checkpoint = Checkpoint::start("subscribers");
        let mut hasher = PrefixHasher::new(file, 0).unwrap_or_else(|e| panic!("{e}"));
        checkpoint
            .advance(&mut hasher, offset, 3)
            .unwrap_or_else(|e| panic!("{e}"));
        checkpoint.rows_done = 2;
        let path = default_path(file);
        checkpoint.save(&path).unwrap_or_else(|e| panic!("{e}"));
        path
    }

    #[test]
    fn resumes_only_when_the_sent_part_is_unchanged() {
        let text = "email\na@x.io\nb@x.io\nc@x.io\n";
        let file = scratch("resume", text);
        let done = "email\na@x.io\nb@x.io\n".len() as u64;
        let path = saved_after(&file, done);
        let load = || Checkpoint::load(&path, "subscribers", &file);
        assert_eq!(load().ok().flatten().map(|c| c.offset), Some(done));

        // Appended rows: still resumes (they are after the offset).
        std::fs::write(&file, format!("{text}d@x.io\n")).unwrap_or_default();
        assert_eq!(load().ok().flatten().map(|c| c.offset), Some(done));
        // An edit of the same length in a row not yet sent: resumes.
        std::fs::write(&file, "email\na@x.io\nb@x.io\nC@x.io\n").unwrap_or_default();
        assert!(load().is_ok_and(|c| c.is_some()));
        // An edit of the same length in a sent row: refused, saying why.
        std::fs::write(&file, "email\nA@x.io\nb@x.io\nc@x.io\n").unwrap_or_default();
        let error = load().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("changed before line 3"), "{error}");
        assert!(error.contains("--restart"), "{error}");
        // Shorter than the checkpoint: refused.
        std::fs::write(&file, "email\n").unwrap_or_default();
        assert!(load().is_err());
        // Another kind: refused.
        std::fs::write(&file, text).unwrap_or_default();
        assert!(Checkpoint::load(&path, "events", &file).is_err());
    }

    #[test]
    fn a_missing_checkpoint_is_a_fresh_start() {
        let file = scratch("none", "email\n");
        let path = file.with_extension("nothing-here");
        assert!(matches!(
            Checkpoint::load(&path, "subscribers", &file),
            Ok(None)
        ));
    }
}
