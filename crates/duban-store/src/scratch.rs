//! Scratch databases and bulk data for `duban bench`: a throwaway database per run on a
//! PostgreSQL or MariaDB server (or a file for SQLite), and far-future pending timers in
//! bulk, so that a tick can be measured against a large backlog that is not yet due.

use crate::engine::{naive, state};
use crate::entities::{timers, workflow_instances};
use crate::{Backend, Store, StoreError, backend_of};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, Database, EntityTrait};
use sea_orm::{PaginatorTrait, QueryFilter};

/// Workflow id of the instances that hold bulk timers; no workflow file has it.
pub const BULK_WORKFLOW: &str = "bench-backlog";

/// Timers per bulk instance, as many as a long recurring chain holds.
const TIMERS_PER_INSTANCE: u64 = 1_000;

/// A database created for one benchmark run, dropped by [`ScratchDb::drop_db`].
#[derive(Debug, Clone)]
pub struct ScratchDb {
    pub url: String,
    name: String,
    backend: Backend,
    admin_url: Option<String>,
}

impl ScratchDb {
    /// Creates database `name`: on the server of `admin_url` (a PostgreSQL or MySQL URL of a
    /// database the user may connect to), or, for a `sqlite:` URL, a file `name.db` in `dir`.
    pub async fn create(
        admin_url: &str,
        name: &str,
        dir: &std::path::Path,
    ) -> Result<ScratchDb, StoreError> {
        let backend = backend_of(admin_url)?;
        if backend == Backend::Sqlite {
            let path = dir.join(format!("{name}.db"));
            remove_sqlite_files(&path);
            return Ok(ScratchDb {
                url: format!("sqlite://{}?mode=rwc", path.display()),
                name: path.display().to_string(),
                backend,
                admin_url: None,
            });
        }
        let admin = Database::connect(admin_url)
            .await
            .map_err(|source| StoreError::Connect { backend, source })?;
        let create = match backend {
            Backend::Postgres => format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8'"),
            _ => {
                format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            }
        };
        admin.execute_unprepared(&drop_sql(backend, name)).await?;
        admin.execute_unprepared(&create).await?;
        admin.close().await?;
        Ok(ScratchDb {
            url: with_database(admin_url, name),
            name: name.to_string(),
            backend,
            admin_url: Some(admin_url.to_string()),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Drops the database (or removes the SQLite file and its WAL).
    pub async fn drop_db(&self) -> Result<(), StoreError> {
        match &self.admin_url {
            None => {
                remove_sqlite_files(std::path::Path::new(&self.name));
                Ok(())
            }
            Some(admin_url) => {
                let admin =
                    Database::connect(admin_url)
                        .await
                        .map_err(|source| StoreError::Connect {
                            backend: self.backend,
                            source,
                        })?;
                admin
                    .execute_unprepared(&drop_sql(self.backend, &self.name))
                    .await?;
                admin.close().await?;
                Ok(())
            }
        }
    }
}

fn drop_sql(backend: Backend, name: &str) -> String {
    match backend {
        Backend::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        _ => format!("DROP DATABASE IF EXISTS `{name}`"),
    }
}

fn remove_sqlite_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// The URL of database `name` on the server of `admin_url`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let root = match base.rfind('/') {
        Some(i) if i > base.find("://").map(|j| j + 2).unwrap_or(0) => &base[..i],
        _ => base,
    };
    format!("{root}/{name}{query}")
}

impl Store {
    /// Brings the database to the state a running system is in after bulk loading: SQLite's
    /// write-ahead log checkpointed, PostgreSQL's and MySQL's statistics of the timers table
    /// up to date (as autovacuum and InnoDB's auto-recalculation would leave them).
    pub async fn settle_after_bulk_load(&self) -> Result<(), StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
            Backend::Postgres => "VACUUM ANALYZE timers",
            Backend::MySql => "ANALYZE TABLE timers",
        };
        self.conn().execute_unprepared(sql).await?;
        Ok(())
    }

    /// Adds `count` pending timers due one hour apart from `first_due` on, held by
    /// instances of [`BULK_WORKFLOW`] (1,000 timers each), in transactions of 50,000 rows.
    /// Calls `progress` with the running total after each transaction.
    pub async fn add_backlog_timers(
        &self,
        count: u64,
        first_due: DateTime<Utc>,
        now: DateTime<Utc>,
        mut progress: impl FnMut(u64),
    ) -> Result<(), StoreError> {
        let start: u64 = workflow_instances::Entity::find()
            .filter(workflow_instances::Column::WorkflowId.eq(BULK_WORKFLOW))
            .count(self.conn())
            .await?
            * TIMERS_PER_INSTANCE;
        // Rows per INSERT: SQLite allows 32,766 bound values, timers have 15 columns.
        let rows_per_insert = 1_000usize;
        let mut instance_id = 0i64;
        let mut done = 0u64;
        while done < count {
            let tx = self.begin_write().await?;
            let in_tx = (count - done).min(50_000);
            let mut rows = Vec::with_capacity(rows_per_insert);
            for k in 0..in_tx {
                let n = start + done + k;
                if n.is_multiple_of(TIMERS_PER_INSTANCE) {
                    if !rows.is_empty() {
                        timers::Entity::insert_many(std::mem::take(&mut rows))
                            .exec_without_returning(tx.conn())
                            .await?;
                    }
                    instance_id =
                        workflow_instances::Entity::insert(workflow_instances::ActiveModel {
                            workflow_id: Set(BULK_WORKFLOW.into()),
                            workflow_version: Set(1),
                            content_hash: Set("-".into()),
                            subject_kind: Set("backlog".into()),
                            subject_key: Set(format!("backlog-{}", n / TIMERS_PER_INSTANCE)),
                            status: Set("active".into()),
                            subject_status: Set(None),
                            escalation_level: Set(0),
                            created_at: Set(naive(now)),
                            updated_at: Set(naive(now)),
                            ..Default::default()
                        })
                        .exec(tx.conn())
                        .await?
                        .last_insert_id;
                }
                rows.push(timers::ActiveModel {
                    instance_id: Set(instance_id),
                    step_id: Set("backlog".into()),
                    occurrence: Set(format!("{n:09}")),
                    due_at: Set(naive(first_due + Duration::hours(n as i64))),
                    state: Set(state::PENDING.into()),
                    payload: Set("{}".into()),
                    lease_owner: Set(None),
                    lease_until: Set(None),
                    fence: Set(0),
                    attempts: Set(0),
                    next_attempt_at: Set(None),
                    last_error: Set(None),
                    late: Set(false),
                    fired_at: Set(None),
                    created_at: Set(naive(now)),
                    ..Default::default()
                });
                if rows.len() == rows_per_insert {
                    timers::Entity::insert_many(std::mem::take(&mut rows))
                        .exec_without_returning(tx.conn())
                        .await?;
                }
            }
            if !rows.is_empty() {
                timers::Entity::insert_many(rows)
                    .exec_without_returning(tx.conn())
                    .await?;
            }
            tx.commit().await?;
            done += in_tx;
            progress(done);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_replaces_the_path_and_keeps_the_query() {
        assert_eq!(
            with_database("postgres://root@127.0.0.1:5432/test", "b1"),
            "postgres://root@127.0.0.1:5432/b1"
        );
        assert_eq!(
            with_database("mysql://root@127.0.0.1:3306/test?ssl-mode=disabled", "b1"),
            "mysql://root@127.0.0.1:3306/b1?ssl-mode=disabled"
        );
        assert_eq!(with_database("postgres://h", "b1"), "postgres://h/b1");
    }
}
