//! SQLite files for the outbox tests: a fresh file in a directory of its
//! own, and the pool settings every process opening it uses.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

/// A fresh directory for one test's database file, removed on drop.
#[derive(Debug)]
pub struct SqliteFile {
    dir: PathBuf,
}

impl SqliteFile {
    /// A new, empty directory under the system's temporary directory.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "bento-sqlite-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        Self { dir }
    }

    /// The database file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join("app.db")
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The connection settings the README gives: the file (created if
/// missing) in WAL mode, which lets several processes read while one writes,
/// with a busy timeout that makes writers wait for each other instead of
/// failing.
pub fn options(path: &Path) -> Result<SqliteConnectOptions, sqlx::Error> {
    Ok(
        SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10)),
    )
}

/// A pool on `path` as the README sets one up: [`options`], and
/// `bento_outbox::sqlite::pool_options()` (which closes a connection SQLite
/// rolled back under sqlx's feet).
pub async fn pool(path: &Path) -> Result<SqlitePool, sqlx::Error> {
    bento_outbox::sqlite::pool_options()
        .max_connections(4)
        .connect_with(options(path)?)
        .await
}

/// A small filesystem of its own (a tmpfs this process mounts), for tests
/// that fill a disk; unmounted on drop.
#[derive(Debug)]
pub struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// A tmpfs of `bytes` under the temporary directory; `Err` with the
    /// reason when this process may not mount one (not root, or a container
    /// without the capability).
    pub fn mount(bytes: u64) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!(
            "bento-small-disk-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir: {e}"))?;
        let output = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(&dir)
            .output()
            .map_err(|e| format!("mount could not run: {e}"))?;
        if !output.status.success() {
            let _ = std::fs::remove_dir(&dir);
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(Self { dir })
    }

    /// Its mount point.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Fills what is left of it with a file (`filler`), and returns the
    /// bytes written.
    pub fn fill(&self) -> u64 {
        use std::io::Write;
        let mut file = std::fs::File::create(self.dir.join("filler")).expect("the filler file");
        let chunk = vec![0u8; 4096];
        let mut written = 0;
        while file.write_all(&chunk).is_ok() {
            written += chunk.len() as u64;
        }
        let _ = file.sync_all();
        written
    }

    /// Removes the filler: the disk has room again.
    pub fn free(&self) {
        let _ = std::fs::remove_file(self.dir.join("filler"));
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
