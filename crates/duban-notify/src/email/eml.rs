//! The email channel of a fresh install: each message becomes `outbox-{id}.eml` in a directory
//! (`data/outbox/` by default), which any mail client opens.
//!
//! A file is written to a temporary name in the same directory, flushed to disk and renamed, so
//! a reader never sees half a message; a resend of the same outbox row replaces its file.

use super::Composer;
use crate::channel::{BoxFuture, Channel};
use crate::error::{Failure, FailureKind, SendError};
use crate::message::{Delivery, EmailMessage, OutboxKey};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const PROVIDER: &str = "eml";

/// Writes messages as `.eml` files.
#[derive(Debug, Clone)]
pub struct EmlDirectory {
    dir: PathBuf,
    composer: Composer,
}

impl EmlDirectory {
    pub fn new(dir: impl Into<PathBuf>, composer: Composer) -> Self {
        EmlDirectory {
            dir: dir.into(),
            composer,
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
