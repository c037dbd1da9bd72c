//! The lock migrations run under, so that nodes started together on an empty database do not
//! create the same tables at once (PostgreSQL: duplicate `pg_type` rows; MariaDB: duplicate
//! index names).
//!
//! - PostgreSQL: a session-level `pg_advisory_lock` on a connection of its own;
//! - MySQL/MariaDB: `GET_LOCK` named after the database, on a connection of its own;
//! - SQLite: an exclusive lock on `<database file>.migrate-lock` beside the database.
//!
//! The lock is released when the migrations end, and by the server (or the operating system)
//! when the process holding it dies.

use crate::{Backend, StoreError};
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::{self, Connection};

/// Any 64-bit key works; this one reads "duban-mg".
const PG_KEY: i64 = 0x6475_6261_6e2d_6d67;
const MYSQL_LOCK: &str = "SELECT GET_LOCK(LEFT(CONCAT('duban-migrate:', DATABASE()), 64), ?)";
const MYSQL_UNLOCK: &str = "SELECT RELEASE_LOCK(LEFT(CONCAT('duban-migrate:', DATABASE()), 64))";
/// How long a node waits for another node's migrations.
const WAIT_SECS: i64 = 3600;

pub(crate) enum MigrationLock {
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
    File(std::fs::File),
    None,
}

fn lock_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("cannot take the migration lock: {e}"))
}

impl MigrationLock {
    pub(crate) async fn acquire(
        db: &DatabaseConnection,
        backend: Backend,
    ) -> Result<Self, StoreError> {
        match backend {
            Backend::Postgres => {
                // Detached: the pool may open another connection for the migrations themselves.
                let mut conn = db
                    .get_postgres_connection_pool()
                    .acquire()
                    .await
                    .map_err(lock_error)?
                    .detach();
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(PG_KEY)
                    .execute(&mut conn)
                    .await
                    .map_err(lock_error)?;
                Ok(MigrationLock::Postgres(conn))
            }
            Backend::MySql => {
                let mut conn = db
                    .get_mysql_connection_pool()
                    .acquire()
                    .await
                    .map_err(lock_error)?
                    .detach();
                let got: Option<i64> = sqlx::query_scalar(MYSQL_LOCK)
                    .bind(WAIT_SECS)
                    .fetch_one(&mut conn)
                    .await
                    .map_err(lock_error)?;
                if got != Some(1) {
                    return Err(lock_error(format!(
                        "another node held it for more than {WAIT_SECS} s"
                    )));
                }
                Ok(MigrationLock::MySql(conn))
            }
            Backend::Sqlite => {
                let options = db.get_sqlite_connection_pool().connect_options();
                let Some(file) = crate::backup::file_of(&options) else {
                    return Ok(MigrationLock::None);
                };
                let path = std::path::PathBuf::from(format!("{}.migrate-lock", file.display()));
                let f = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
                    let f = std::fs::OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(&path)?;
                    f.lock()?;
                    Ok(f)
                })
                .await
                .map_err(lock_error)?
                .map_err(lock_error)?;
                Ok(MigrationLock::File(f))
            }
        }
    }

    /// Releases the lock. A failure here is harmless: closing the connection (or the file)
    /// releases it too.
    pub(crate) async fn release(self) {
        match self {
            MigrationLock::Postgres(mut conn) => {
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(PG_KEY)
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
            MigrationLock::MySql(mut conn) => {
                let _ = sqlx::query(MYSQL_UNLOCK).execute(&mut conn).await;
                let _ = conn.close().await;
            }
            MigrationLock::File(f) => {
                let _ = f.unlock();
            }
            MigrationLock::None => {}
        }
    }
}
