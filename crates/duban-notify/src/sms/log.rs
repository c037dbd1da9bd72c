//! The SMS channel of a fresh install: one JSON line per message appended to a file under
//! `data/`, with the number masked. Nothing leaves the machine, and an administrator can still
//! read what would have been sent.

use crate::channel::{BoxFuture, Channel};
use crate::error::{Failure, FailureKind, SendError};
use crate::message::{Delivery, SmsMessage};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const PROVIDER: &str = "sms_log";

/// Appends messages to a JSON-lines file.
#[derive(Debug, Clone)]
pub struct SmsLog {
    path: PathBuf,
    // One writer at a time, so lines from concurrent sends never interleave.
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl SmsLog {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SmsLog {
            path: path.into(),
            lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The line written for `m` (without the newline).
    pub fn line(m: &SmsMessage, at: chrono::DateTime<chrono::Utc>) -> String {
        serde_json::json!({
            "at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "outbox_id": m.outbox_id.as_str(),
            "to": duban_core::privacy::mask_mobile(&m.to),
            "template": m.template,
            "params": m.params,
            "text": m.text,
        })
        .to_string()
    }

    pub async fn append(&self, m: &SmsMessage) -> Result<Delivery, SendError> {
        let mut line = Self::line(m, chrono::Utc::now());
        line.push('\n');
        let path = self.path.clone();
        let _guard = self.lock.lock().await;
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            f.write_all(line.as_bytes())?;
            f.sync_data()
        })
        .await;
        match written {
            Ok(Ok(())) => Ok(Delivery {
                provider: PROVIDER.to_string(),
                provider_message_id: m.outbox_id.to_string(),
                detail: Some(self.path.display().to_string()),
            }),
            Ok(Err(e)) => Err(SendError::Transient(Failure::new(
                FailureKind::ProviderError,
                PROVIDER,
                "io",
                format!("{}: {e}", self.path.display()),
            ))),
            Err(e) => Err(SendError::Transient(Failure::new(
                FailureKind::ProviderError,
                PROVIDER,
                "io",
                e.to_string(),
            ))),
        }
    }
}

impl Channel<SmsMessage> for SmsLog {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn send<'a>(&'a self, message: &'a SmsMessage) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(self.append(message))
    }
}
