//! The email channel of a fresh install: each message becomes `outbox-{id}.eml` in a directory
//! (`data/outbox/` by default), which any mail client opens.
//!
//! A file is written to a temporary name in the same directory, flushed to disk and renamed, so
//! a reader never sees half a message; a resend of the same outbox row replaces its file. A
//! failed write removes its temporary file; one left by a process that died mid-write
//! (`.outbox-*.tmp`) is removed when the channel starts and, on a long-running node, every
//! few minutes, once it is older than [`STALE_AFTER`].

use super::Composer;
use crate::channel::{BoxFuture, Channel};
use crate::error::{Failure, FailureKind, SendError};
use crate::message::{Delivery, EmailMessage, OutboxKey};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const PROVIDER: &str = "eml";

/// A temporary file this old was left by a write that will never finish (a write takes
/// milliseconds; another process sharing the directory may be in the middle of a younger one).
pub const STALE_AFTER: Duration = Duration::from_secs(60);
/// How often a running channel looks for stale temporary files.
const SWEEP_EVERY_SECS: u64 = 300;

/// Writes messages as `.eml` files.
#[derive(Debug, Clone)]
pub struct EmlDirectory {
    dir: PathBuf,
    composer: Composer,
    /// Unix seconds of the last sweep for stale temporary files.
    swept_at: Arc<AtomicU64>,
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Removes `.outbox-*.tmp` files in `dir` not modified for `older_than`; returns how many.
pub fn remove_stale_temp_files(dir: &Path, older_than: Duration) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(".outbox-") && name.ends_with(".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default() >= older_than)
            .unwrap_or(false);
        if old && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

impl EmlDirectory {
    /// A channel writing to `dir`; temporary files a crashed writer left there are removed.
    pub fn new(dir: impl Into<PathBuf>, composer: Composer) -> Self {
        let d = EmlDirectory {
            dir: dir.into(),
            composer,
            swept_at: Arc::new(AtomicU64::new(unix_secs())),
        };
        d.sweep();
        d
    }

    fn sweep(&self) {
        match remove_stale_temp_files(&self.dir, STALE_AFTER) {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(dir = %self.dir.display(), removed = n, "removed temporary files of unfinished writes")
            }
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "looking for stale temporary files")
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a message with this outbox key is written to.
    pub fn path_for(&self, key: &OutboxKey) -> PathBuf {
        self.dir.join(format!("outbox-{key}.eml"))
    }

    pub async fn write(&self, m: &EmailMessage) -> Result<Delivery, SendError> {
        let now = unix_secs();
        let last = self.swept_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= SWEEP_EVERY_SECS
            && self
                .swept_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let me = self.clone();
            let _ = tokio::task::spawn_blocking(move || me.sweep()).await;
        }
        let message = self.composer.compose(m, PROVIDER)?;
        let bytes = message.formatted();
        let dir = self.dir.clone();
        let path = self.path_for(&m.outbox_id);
        let tmp = self.dir.join(format!(
            ".outbox-{}.{}.tmp",
            m.outbox_id,
            uuid::Uuid::now_v7().simple()
        ));
        let target = path.clone();
        let written =
            tokio::task::spawn_blocking(move || write_atomically(&dir, &tmp, &target, &bytes))
                .await;
        let io_error = |e: String| {
            SendError::Transient(Failure::new(FailureKind::ProviderError, PROVIDER, "io", e))
        };
        match written {
            Ok(Ok(())) => Ok(Delivery {
                provider: PROVIDER.to_string(),
                provider_message_id: self.composer.message_id(&m.outbox_id),
                detail: Some(path.display().to_string()),
            }),
            Ok(Err(e)) => Err(io_error(format!("{}: {e}", path.display()))),
            Err(e) => Err(io_error(e.to_string())),
        }
    }
}

fn write_atomically(dir: &Path, tmp: &Path, target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let result = (|| {
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(tmp, target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result?;
    // Persist the rename itself; not every platform lets a directory be opened for this.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl Channel<EmailMessage> for EmlDirectory {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn send<'a>(&'a self, message: &'a EmailMessage) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(self.write(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporary_files_are_removed_and_fresh_ones_kept() {
        let dir = std::env::temp_dir().join(format!("duban-eml-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let stale = dir.join(".outbox-7.0123.tmp");
        let fresh = dir.join(".outbox-8.4567.tmp");
        let eml = dir.join("outbox-7.eml");
        for p in [&stale, &fresh, &eml] {
            std::fs::write(p, b"x").unwrap();
        }
        let old = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        std::fs::File::options()
            .write(true)
            .open(&eml)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(remove_stale_temp_files(&dir, STALE_AFTER).unwrap(), 1);
        assert!(!stale.exists());
        assert!(
            fresh.exists(),
            "a write in progress elsewhere is left alone"
        );
        assert!(eml.exists(), "messages are never removed");
        assert_eq!(
            remove_stale_temp_files(&dir.join("missing"), STALE_AFTER).unwrap(),
            0
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
