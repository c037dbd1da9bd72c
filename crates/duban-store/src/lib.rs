//! duban's storage: the only crate that knows SQL and the differences between backends.
//!
//! One [`Store`] wraps a sea-orm connection to SQLite (the embedded default), PostgreSQL or
//! MySQL/MariaDB, chosen by the URL's scheme. Everything above this crate speaks in domain
//! types from `duban-core`; nothing above it builds a query or branches on the backend.
//!
//! Money at rest is always `BIGINT` fen (see [`money`]): sea-orm's `Decimal` column is a
//! float on SQLite and has no fraction on MySQL.

pub mod audit;
pub mod engine;
pub mod entities;
pub mod ledger;
pub mod lists;
mod migrate_lock;
pub mod money;
pub mod outbox;
pub mod register;
pub mod scratch;
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
}

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
        let db = Database::connect(opts)
            .await
            .map_err(|source| StoreError::Connect { backend, source })?;
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
}
