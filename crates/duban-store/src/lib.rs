//! duban's storage: the only crate that knows SQL and the differences between backends.
//!
//! One [`Store`] wraps a sea-orm connection to SQLite (the embedded default), PostgreSQL or
//! MySQL/MariaDB, chosen by the URL's scheme. Everything above this crate speaks in domain
//! types from `duban-core`; nothing above it builds a query or branches on the backend.
//!
//! Money at rest is always `BIGINT` fen (see [`money`]): sea-orm's `Decimal` column is a
//! float on SQLite and has no fraction on MySQL.

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod bank;
pub mod bank_profiles;
pub mod bases;
pub mod engine;
pub mod entities;
pub mod ledger;
pub mod lists;
pub mod members;
mod migrate_lock;
pub mod money;
pub mod outbox;
pub mod register;
pub mod scratch;
pub mod seals;
pub mod subjects;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use std::fmt;
use std::time::Duration;

pub use sea_orm::DbErr;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://, postgres:// or mysql://")]
    UnsupportedUrl(String),
    #[error("cannot create the database directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the {backend} database: {source}")]
    Connect { backend: Backend, source: DbErr },
    /// The server is up but at its connection limit (PostgreSQL 53300, MySQL 1040), still
    /// after the retries of [`Store::connect`].
    #[error("the database refuses new connections (too many): {source}")]
    TooManyConnections { backend: Backend, source: DbErr },
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("{0}")]
    Invalid(String),
    /// The ledger refused a command (budget control, a closed period, a reused key …).
    #[error(transparent)]
    Ledger(#[from] duban_ledger::LedgerError),
}

impl StoreError {
    /// A lock conflict (see [`is_lock_conflict`]): the database rolled the transaction back
    /// or gave up waiting so that a concurrent one could go on, and running it again is the
    /// remedy.
    pub fn is_write_conflict(&self) -> bool {
        matches!(self, StoreError::Db(e) if is_lock_conflict(e))
    }

    /// The database cannot be reached or takes no more connections: nothing was refused,
    /// trying later may work.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect { .. } | StoreError::TooManyConnections { .. } => true,
            StoreError::Db(e) => is_unavailable(e),
            _ => false,
        }
    }
}

/// A database error that says the database is out of reach (a connection that cannot be
/// made, acquired or kept), not that it refused a statement.
pub fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    match e {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(err))
        | DbErr::Exec(RuntimeErr::SqlxError(err))
        | DbErr::Query(RuntimeErr::SqlxError(err)) => match err.as_ref() {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(_) => matches!(
                server_code(e),
                Some(code) if connect_failure(&code) == Some(ConnectFailure::TooMany)
            ),
            _ => false,
        },
        DbErr::Conn(_) => true,
        _ => false,
    }
}

/// The error code a database server sent, in the form its protocol uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerCode {
    /// MySQL/MariaDB error number (`1040`).
    MySql(u16),
    /// SQLSTATE (PostgreSQL `53300`) or SQLite's result code as text.
    Sqlstate(String),
}

/// What a connect error means for the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectFailure {
    /// The server is at its connection limit: wait and try again.
    TooMany,
    /// The server is starting or shutting down, or dropped the connection: try again.
    Transient,
}

/// Classifies the code a server answered a connection attempt with; `None` is final
/// (wrong password, unknown database …).
pub(crate) fn connect_failure(code: &ServerCode) -> Option<ConnectFailure> {
    match code {
        // ER_CON_COUNT_ERROR, ER_TOO_MANY_USER_CONNECTIONS, ER_USER_LIMIT_REACHED
        ServerCode::MySql(1040 | 1203 | 1226) => Some(ConnectFailure::TooMany),
        // ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED
        ServerCode::MySql(1053 | 1927) => Some(ConnectFailure::Transient),
        ServerCode::MySql(_) => None,
        ServerCode::Sqlstate(s) => match s.as_str() {
            // too_many_connections
            "53300" => Some(ConnectFailure::TooMany),
            // cannot_connect_now, admin_shutdown
            "57P03" | "57P01" => Some(ConnectFailure::Transient),
            // SQLite's busy and locked (plain and extended): another process holds the file
            // while it opens it, e.g. switching a new database to WAL.
            "5" | "6" | "261" | "517" => Some(ConnectFailure::Transient),
            _ => None,
        },
    }
}

fn server_code(e: &DbErr) -> Option<ServerCode> {
    use sea_orm::{RuntimeErr, sqlx};
    let (DbErr::Conn(RuntimeErr::SqlxError(err))
    | DbErr::Exec(RuntimeErr::SqlxError(err))
    | DbErr::Query(RuntimeErr::SqlxError(err))) = e
    else {
        return None;
    };
    let sqlx::Error::Database(db) = err.as_ref() else {
        return None;
    };
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return Some(ServerCode::MySql(my.number()));
    }
    db.code().map(|c| ServerCode::Sqlstate(c.into_owned()))
}

/// Why a connection attempt failed, if another attempt may succeed: the server's code, or
/// a connection reset or aborted while the server was busy.
fn retry_connect(e: &DbErr) -> Option<ConnectFailure> {
    use sea_orm::{RuntimeErr, sqlx};
    if let Some(code) = server_code(e) {
        return connect_failure(&code);
    }
    match e {
        DbErr::Conn(RuntimeErr::SqlxError(err)) => match err.as_ref() {
            sqlx::Error::Io(io) => matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
            )
            .then_some(ConnectFailure::Transient),
            sqlx::Error::PoolTimedOut => Some(ConnectFailure::TooMany),
            _ => None,
        },
        _ => None,
    }
}

/// How long to wait before connection attempt `attempt + 1` (1-based `attempt`): doubling
/// from 100 ms, capped at 1.6 s, each wait between half and all of it (jitter), so that
/// processes turned away together do not come back together.
fn connect_backoff(attempt: u32) -> Duration {
    let full = 100u64 << attempt.saturating_sub(1).min(4);
    let seed = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(attempt);
        h.write_u32(std::process::id());
        h.finish()
    };
    Duration::from_millis(full / 2 + seed % (full / 2 + 1))
}

/// Connection attempts [`Store::connect`] makes before it gives up on a busy server.
pub const CONNECT_ATTEMPTS: u32 = 6;

/// How long [`Store::connect`] tries in all. The driver itself waits for a server that
/// refuses connections (starting up) or answers PostgreSQL's 53300; this bounds that too.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(8);

/// Deadlocks, serialization failures and lock waits that gave up. PostgreSQL:
/// serialization_failure, deadlock_detected, lock_not_available; MySQL: 1213 deadlock, 1205
/// lock wait timeout; SQLite: SQLITE_BUSY (5) and its extended codes, SQLITE_LOCKED (6).
pub(crate) fn is_lock_conflict(e: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    let (DbErr::Conn(RuntimeErr::SqlxError(err))
    | DbErr::Exec(RuntimeErr::SqlxError(err))
    | DbErr::Query(RuntimeErr::SqlxError(err))) = e
    else {
        return false;
    };
    let sqlx::Error::Database(db) = err.as_ref() else {
        return false;
    };
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return matches!(my.number(), 1213 | 1205);
    }
    matches!(
        db.code().as_deref(),
        Some("40001" | "40P01" | "55P03" | "5" | "6" | "261" | "517" | "773")
    )
}

/// Pool settings that do not belong in the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// A migration and whether it has been applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationState {
    pub name: String,
    pub applied: bool,
}

/// A connection pool to one database.
#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    backend: Backend,
    /// SQLite has one writer at a time; writers of this process queue here instead of
    /// spinning on the file's busy timeout (other processes still use the timeout).
    sqlite_writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Connects by URL. SQLite files get WAL, foreign keys and a busy timeout, and their
    /// directory is created if missing.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let backend = backend_of(url)?;
        if backend == Backend::Sqlite {
            ensure_sqlite_dir(url)?;
        }
        let mut opts = ConnectOptions::new(url.to_string());
        opts.max_connections(options.max_connections)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(30))
            .sqlx_logging(false);
        if backend == Backend::Sqlite {
            let busy = options.busy_timeout;
            opts.map_sqlx_sqlite_opts(move |o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(busy)
            });
        }
        let deadline = tokio::time::Instant::now() + CONNECT_WITHIN;
        let mut attempt = 0;
        let db = loop {
            attempt += 1;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Ok(connected) = tokio::time::timeout(left, Database::connect(opts.clone())).await
            else {
                return Err(StoreError::Connect {
                    backend,
                    source: DbErr::Conn(sea_orm::RuntimeErr::Internal(format!(
                        "no connection within {} s; is the server running, and is the URL right?",
                        CONNECT_WITHIN.as_secs()
                    ))),
                });
            };
            match connected {
                Ok(db) => break db,
                Err(source) => {
                    let why = retry_connect(&source);
                    let wait = connect_backoff(attempt);
                    let again = why.is_some()
                        && attempt < CONNECT_ATTEMPTS
                        && tokio::time::Instant::now() + wait < deadline;
                    if again {
                        tracing::debug!(attempt, ?wait, error = %source, "connecting again");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(match why {
                        Some(ConnectFailure::TooMany) => {
                            StoreError::TooManyConnections { backend, source }
                        }
                        _ => StoreError::Connect { backend, source },
                    });
                }
            }
        };
        Ok(Self {
            db,
            backend,
            sqlite_writer: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The sea-orm connection. Repositories in this crate use it; outside, only tests
    /// and tooling should.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Applies pending migrations (all, or the next `steps`), holding the database's
    /// migration lock: nodes started together migrate once, one after the other, and the
    /// others find nothing left to do.
    pub async fn migrate_up(&self, steps: Option<u32>) -> Result<(), StoreError> {
        let lock = migrate_lock::MigrationLock::acquire(&self.db, self.backend).await?;
        let result = Migrator::up(&self.db, steps).await;
        lock.release().await;
        result?;
        Ok(())
    }

    /// Reverts the last `steps` applied migrations, holding the migration lock.
    pub async fn migrate_down(&self, steps: u32) -> Result<(), StoreError> {
        let lock = migrate_lock::MigrationLock::acquire(&self.db, self.backend).await?;
        let result = Migrator::down(&self.db, Some(steps)).await;
        lock.release().await;
        result?;
        Ok(())
    }

    /// Every known migration in order, with whether it is applied. Reading them creates the
    /// migrations table on an empty database, so this too holds the migration lock.
    pub async fn migrations(&self) -> Result<Vec<MigrationState>, StoreError> {
        let lock = migrate_lock::MigrationLock::acquire(&self.db, self.backend).await?;
        let list = Migrator::get_migration_with_status(&self.db).await;
        lock.release().await;
        let list = list?;
        Ok(list
            .iter()
            .map(|m| MigrationState {
                name: m.name().to_string(),
                applied: matches!(m.status(), sea_orm_migration::MigrationStatus::Applied),
            })
            .collect())
    }

    /// Names of the migrations not yet applied.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .migrations()
            .await?
            .into_iter()
            .filter(|m| !m.applied)
            .map(|m| m.name)
            .collect())
    }

    /// The last applied migration: the schema version.
    pub async fn schema_version(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .migrations()
            .await?
            .into_iter()
            .filter(|m| m.applied)
            .map(|m| m.name)
            .next_back())
    }

    /// A round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await?;
        Ok(())
    }

    pub async fn close(self) -> Result<(), StoreError> {
        self.db.close().await?;
        Ok(())
    }
}

fn backend_of(url: &str) -> Result<Backend, StoreError> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
    match scheme {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" | "postgresql" => Ok(Backend::Postgres),
        "mysql" | "mariadb" => Ok(Backend::MySql),
        _ => Err(StoreError::UnsupportedUrl(url.to_string())),
    }
}

/// `sqlite://data/duban.db?mode=rwc` → creates `data/`.
fn ensure_sqlite_dir(url: &str) -> Result<(), StoreError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_url_scheme() {
        assert_eq!(backend_of("sqlite://data/x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            backend_of("postgres://root@127.0.0.1/test").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            backend_of("mysql://root@127.0.0.1/test").unwrap(),
            Backend::MySql
        );
        assert!(backend_of("oracle://x").is_err());
    }

    #[test]
    fn a_full_server_is_retried_on_every_backend() {
        use ConnectFailure::*;
        assert_eq!(connect_failure(&ServerCode::MySql(1040)), Some(TooMany));
        assert_eq!(
            connect_failure(&ServerCode::Sqlstate("53300".into())),
            Some(TooMany)
        );
        assert_eq!(
            connect_failure(&ServerCode::Sqlstate("57P03".into())),
            Some(Transient)
        );
        // An SQLite file another process is opening (busy, locked).
        assert_eq!(
            connect_failure(&ServerCode::Sqlstate("5".into())),
            Some(Transient)
        );
        // Wrong password, unknown database: final.
        assert_eq!(connect_failure(&ServerCode::MySql(1045)), None);
        assert_eq!(connect_failure(&ServerCode::MySql(1049)), None);
        assert_eq!(connect_failure(&ServerCode::Sqlstate("28P01".into())), None);
        assert_eq!(connect_failure(&ServerCode::Sqlstate("3D000".into())), None);
    }

    #[test]
    fn connect_backoff_grows_with_jitter_and_stays_within_seconds() {
        let mut total = Duration::ZERO;
        for attempt in 1..CONNECT_ATTEMPTS {
            let full = Duration::from_millis(100 << (attempt - 1).min(4));
            let wait = connect_backoff(attempt);
            assert!(wait >= full / 2 && wait <= full, "{attempt}: {wait:?}");
            total += wait;
        }
        assert!(total <= Duration::from_secs(4), "{total:?}");
    }
}
