//! Backups of the SQLite database, taken while it serves, and their restore.
//!
//! A backup is `VACUUM INTO` a new file: one read transaction, so the copy is the database
//! as of one commit while other processes go on writing (WAL readers do not block writers).
//! It is written under a temporary name beside the destination, checked
//! (`PRAGMA integrity_check`, opened read-only) and only then renamed into place, so a file at
//! the destination is always a whole, checked backup.
//!
//! A restore checks the backup the same way and refuses one whose migrations this binary
//! does not know (made by a newer duban), refuses while another connection holds the target
//! database open, keeps the current file (with its `-wal` and `-shm`, if any) as
//! `<file>.before-restore-<stamp>`, and renames a checked copy of the backup into place.
//!
//! PostgreSQL and MariaDB are backed up with their own tools (`pg_dump`, `mariadb-dump`);
//! see README.md, "Backup and restore".

use crate::{Backend, Store, StoreError};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sea_orm::sqlx::{self, Connection};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The tables whose row counts a backup reports, in this order.
pub const COUNTED: &[&str] = &[
    "party_units",
    "people",
    "workflow_instances",
    "timers",
    "outbox",
    "deliveries",
    "ledger_transactions",
    "ledger_postings",
    "audit_log",
];

const OTHER_BACKENDS: &str = "back PostgreSQL up with pg_dump and MariaDB with mariadb-dump (README.md, \"Backup and restore\", gives the commands)";

/// What a backup file holds, read from the file itself.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Snapshot {
    pub path: PathBuf,
    pub bytes: u64,
    /// `PRAGMA integrity_check`: `ok`, or its first findings.
    pub integrity: String,
    /// The rows of each of [`COUNTED`] the file has.
    pub counts: Vec<TableRows>,
    /// The audit chain's last seq (`audit_head`), 0 for an empty log.
    pub audit_seq: i64,
    /// The last migration applied, the schema version.
    pub schema_version: Option<String>,
    /// Migrations the file has and this binary does not know: it was made by a newer duban.
    pub unknown_migrations: Vec<String>,
    /// Migrations this binary has and the file has not: `duban migrate up` after a restore.
    pub pending_migrations: Vec<String>,
}

/// How many rows a table holds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableRows {
    pub table: String,
    pub rows: i64,
}

/// What a restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restored {
    pub database: PathBuf,
    /// Where the database that was there before is kept; none when there was none.
    pub kept: Option<PathBuf>,
    pub snapshot: Snapshot,
}

fn invalid(what: impl Into<String>) -> StoreError {
    StoreError::Invalid(what.into())
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    invalid(format!("cannot {what} {}: {e}", path.display()))
}

fn sqlx_err(path: &Path, e: sqlx::Error) -> StoreError {
    invalid(format!("{}: {e}", path.display()))
}

/// The file of an `sqlite:` URL; a refusal naming the tools for the other backends.
pub fn sqlite_file(url: &str) -> Result<PathBuf, StoreError> {
    if crate::backend_of(url)? != Backend::Sqlite {
        return Err(invalid(format!(
            "duban backup and restore copy SQLite databases; {OTHER_BACKENDS}"
        )));
    }
    let options = SqliteConnectOptions::from_str(url).map_err(|e| invalid(e.to_string()))?;
    file_of(&options).ok_or_else(|| invalid(format!("{url} is not a database file")))
}

/// The file an SQLite connection opens; none for an in-memory database.
pub(crate) fn file_of(options: &SqliteConnectOptions) -> Option<PathBuf> {
    let file = options.get_filename();
    let name = file.to_string_lossy();
    (!(name.is_empty() || name == ":memory:" || name.starts_with("file:")))
        .then(|| file.to_path_buf())
}

/// A name beside `path` for a file being written, unique to this process.
fn partial(path: &Path, what: &str) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Flushes a file and its directory's entry to disk.
fn sync(path: &Path) -> Result<(), StoreError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("flush", path, e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Directories cannot be opened for syncing everywhere; the file itself is safe.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

impl Store {
    /// Copies the database, consistent as of one commit while others write, to `dest`
    /// (refused if it exists, unless `replace`), and reads the copy back.
    pub async fn backup_to(&self, dest: &Path, replace: bool) -> Result<Snapshot, StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(invalid(format!(
                "duban backup copies SQLite databases; {OTHER_BACKENDS}"
            )));
        }
        let live = self
            .db
            .get_sqlite_connection_pool()
            .connect_options()
            .get_filename()
            .to_path_buf();
        let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if ["", "-wal", "-shm"]
            .iter()
            .any(|suffix| same(dest, &with_suffix(&live, suffix)))
        {
            return Err(invalid(format!(
                "{} is the database itself; write the backup to another file",
                dest.display()
            )));
        }
        if dest.exists() && !replace {
            return Err(invalid(format!(
                "{} exists; choose another name or pass --force to replace it",
                dest.display()
            )));
        }
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(invalid(format!("{} is not a directory", dir.display())));
        }
        let tmp = partial(dest, "partial");
        let _ = std::fs::remove_file(&tmp);
        let into = sqlx::query("VACUUM INTO ?")
            .bind(tmp.to_string_lossy().into_owned())
            .execute(self.db.get_sqlite_connection_pool())
            .await;
        if let Err(e) = into {
            let _ = std::fs::remove_file(&tmp);
            return Err(invalid(format!("cannot write {}: {e}", tmp.display())));
        }
        let snapshot = checked_copy(&tmp).await?;
        std::fs::rename(&tmp, dest).map_err(|e| io("rename the copy to", dest, e))?;
        sync(dest)?;
        Ok(Snapshot {
            path: dest.to_path_buf(),
            ..snapshot
        })
    }
}

/// A copy just written, read back and flushed to disk; removed if it is not intact.
async fn checked_copy(tmp: &Path) -> Result<Snapshot, StoreError> {
    let checked = match inspect(tmp).await {
        Ok(s) if s.integrity != "ok" => Err(invalid(format!(
            "the copy failed its integrity check: {}",
            s.integrity
        ))),
        other => other,
    };
    match checked.and_then(|s| sync(tmp).map(|()| s)) {
        Ok(s) => Ok(s),
        Err(e) => {
            let _ = std::fs::remove_file(tmp);
            Err(e)
        }
    }
}

/// Opens a database file read-only and reads what it holds: integrity, row counts, the
/// audit head and its migrations against this binary's.
pub async fn inspect(path: &Path) -> Result<Snapshot, StoreError> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| io("read", path, e))?
        .len();
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| sqlx_err(path, e))?;
    let result = read_snapshot(&mut conn, path, bytes).await;
    let _ = conn.close().await;
    result
}

async fn read_snapshot(
    conn: &mut SqliteConnection,
    path: &Path,
    bytes: u64,
) -> Result<Snapshot, StoreError> {
    let err = |e| sqlx_err(path, e);
    let findings: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check(20)")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| invalid(format!("cannot check {}: {e}", path.display())))?;
    let integrity = findings.join("; ");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut *conn)
            .await
            .map_err(err)?;
    if !tables.iter().any(|t| t == "seaql_migrations") {
        return Err(invalid(format!(
            "{} is not a duban database (it has no migrations table)",
            path.display()
        )));
    }
    let mut counts = Vec::new();
    for table in COUNTED.iter().filter(|t| tables.iter().any(|x| x == *t)) {
        // The table names are this module's constants.
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&mut *conn)
            .await
            .map_err(err)?;
        counts.push(TableRows {
            table: table.to_string(),
            rows: n,
        });
    }
    let audit_seq = if tables.iter().any(|t| t == "audit_head") {
        sqlx::query_scalar::<_, i64>("SELECT seq FROM audit_head WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(err)?
            .unwrap_or(0)
    } else {
        0
    };
    let applied: Vec<String> =
        sqlx::query_scalar("SELECT version FROM seaql_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(err)?;
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    Ok(Snapshot {
        path: path.to_path_buf(),
        bytes,
        integrity,
        counts,
        audit_seq,
        schema_version: applied.last().cloned(),
        unknown_migrations: applied
            .iter()
            .filter(|m| !known.contains(m))
            .cloned()
            .collect(),
        pending_migrations: known
            .iter()
            .filter(|m| !applied.contains(m))
            .cloned()
            .collect(),
    })
}

/// Takes the target database for this process alone, or says who holds it: an exclusive
/// lock fails at once while any other connection has the file open. Its write-ahead log is
/// folded into the file, and closing the connection removes it.
async fn take_alone(path: &Path) -> Result<(), StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .locking_mode(sqlx::sqlite::SqliteLockingMode::Exclusive)
        .busy_timeout(std::time::Duration::ZERO);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| sqlx_err(path, e))?;
    let taken = async {
        sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await?;
        sqlx::query("COMMIT").execute(&mut conn).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
    }
    .await;
    let _ = conn.close().await;
    match taken {
        Ok(_) => Ok(()),
        Err(e) if e.to_string().contains("locked") || e.to_string().contains("busy") => {
            Err(invalid(format!(
                "{} is in use (is `duban serve`, the engine or the dispatcher running?); stop every duban process on it, then restore",
                path.display()
            )))
        }
        Err(e) => Err(sqlx_err(path, e)),
    }
}

/// Puts the backup `from` in place of the SQLite database of `url`, keeping the current file
/// as `<file>.before-restore-<stamp>`.
pub async fn restore(url: &str, from: &Path, stamp: &str) -> Result<Restored, StoreError> {
    let target = sqlite_file(url)?;
    let backup = inspect(from).await?;
    if backup.integrity != "ok" {
        return Err(invalid(format!(
            "{} fails its integrity check: {}",
            from.display(),
            backup.integrity
        )));
    }
    if !backup.unknown_migrations.is_empty() {
        return Err(invalid(format!(
            "{} was made by a newer duban: this binary does not know its migration(s) {}",
            from.display(),
            backup.unknown_migrations.join(", ")
        )));
    }
    let present = target.exists();
    if present {
        take_alone(&target).await?;
    }
    let tmp = partial(&target, "restoring");
    std::fs::copy(from, &tmp).map_err(|e| io("copy the backup to", &tmp, e))?;
    checked_copy(&tmp).await?;
    let kept = if present {
        let kept = with_suffix(&target, &format!(".before-restore-{stamp}"));
        for suffix in ["", "-wal", "-shm"] {
            let file = with_suffix(&target, suffix);
            if file.exists() {
                std::fs::rename(&file, with_suffix(&kept, suffix))
                    .map_err(|e| io("keep", &file, e))?;
            }
        }
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&tmp, &target).map_err(|e| io("put the backup in place as", &target, e))?;
    sync(&target)?;
    Ok(Restored {
        snapshot: Snapshot {
            path: target.clone(),
            ..backup
        },
        database: target,
        kept,
    })
}
