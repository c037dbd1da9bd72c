//! What a use case answers when it does not do what was asked. Each kind maps to one HTTP
//! status and one exit status of the command line.

use duban_engine::EngineError;
use duban_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not signed in, or the session or token is no longer valid.
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in, but the role or scope does not allow it.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// Bad input: `pointer` names the place (a JSON pointer such as `/allocations/0/amount`).
    #[error("{message}")]
    Invalid {
        message: String,
        pointer: Option<String>,
    },
    /// Bad rows of an uploaded file, each located by row and column; nothing was written.
    #[error("{} error(s) in the file; nothing was written", .0.len())]
    Rows(Vec<duban_core::register::RowError>),
    /// A rule of the domain refused it (a closed item, a future date, a reused key …).
    #[error("{0}")]
    Refused(String),
    /// The ledger refused a command (budget control, a closed period, a reused key …);
    /// `index` is its place in a batch.
    #[error("{}{error}", .index.map(|i| format!("command {i}: ")).unwrap_or_default())]
    Ledger {
        error: duban_ledger::LedgerError,
        index: Option<usize>,
    },
    /// The same idempotency key came with another request.
    #[error("{0}")]
    Conflict(String),
    /// The database (or another server) is out of reach; trying later may work.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(message: impl Into<String>) -> AppError {
        AppError::Invalid {
            message: message.into(),
            pointer: None,
        }
    }

    pub fn invalid_at(pointer: &str, message: impl Into<String>) -> AppError {
        AppError::Invalid {
            message: message.into(),
            pointer: Some(pointer.to_string()),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            return AppError::Unavailable(e.to_string());
        }
        match e {
            StoreError::Invalid(m) => AppError::Refused(m),
            StoreError::Ledger(error) => AppError::Ledger { error, index: None },
            e => AppError::Internal(e.to_string()),
        }
    }
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(s) => s.into(),
            EngineError::Refused(m) => AppError::Refused(m),
            e => AppError::Internal(e.to_string()),
        }
    }
}
