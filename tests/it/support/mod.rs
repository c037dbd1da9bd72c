//! Throwaway databases on every backend, and a way to run the `duban` binary against them.
//!
//! PostgreSQL and MariaDB are found at `DUBAN_TEST_PG_URL` / `DUBAN_TEST_MYSQL_URL`
//! (defaults: the local servers, `test` database). Each test gets its own database, created
//! here and dropped when the test passes. With `CI=true` a server that cannot be reached
//! fails the test; elsewhere the test says it is skipping that backend.

#![allow(dead_code)]

use duban_store::StoreError;
use duban_store::scratch::ScratchDb;
use sea_orm::{Database, DatabaseConnection};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use duban_store::Backend as Kind;

/// One throwaway database.
#[derive(Debug, Clone)]
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    scratch: ScratchDb,
}

fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

fn unique_name() -> String {
    format!("duban_t_{}", uuid::Uuid::now_v7().simple())
}

impl TestDb {
    pub async fn create(kind: Kind) -> Option<TestDb> {
        let (var, default, label) = match kind {
            Kind::Sqlite => ("", "sqlite://", "SQLite"),
            Kind::Postgres => (
                "DUBAN_TEST_PG_URL",
                "postgres://root@127.0.0.1:5432/test",
                "PostgreSQL",
            ),
            Kind::MySql => (
                "DUBAN_TEST_MYSQL_URL",
                "mysql://root@127.0.0.1:3306/test",
                "MariaDB",
            ),
        };
        let admin_url = match kind {
            Kind::Sqlite => default.to_string(),
            _ => std::env::var(var).unwrap_or_else(|_| default.to_string()),
        };
        match ScratchDb::create(&admin_url, &unique_name(), &std::env::temp_dir()).await {
            Ok(scratch) => Some(TestDb {
                kind,
                url: scratch.url.clone(),
                scratch,
            }),
            Err(StoreError::Connect { source, .. }) => {
                if in_ci() {
                    panic!("{label} is required in CI but {admin_url} cannot be reached: {source}");
                }
                eprintln!("skipping {label}: {admin_url} cannot be reached ({source}); set {var}");
                None
            }
            Err(e) => panic!("cannot create a {label} test database: {e}"),
        }
    }

    /// A sea-orm connection to this database.
    pub async fn connect(&self) -> DatabaseConnection {
        Database::connect(&self.url)
            .await
            .expect("connect to test database")
    }

    /// A store on this database, migrated.
    pub async fn store(&self) -> duban_store::Store {
        let store = duban_store::Store::connect(&self.url, &Default::default())
            .await
            .expect("connect store");
        store.migrate_up(None).await.expect("migrate");
        store
    }

    pub async fn drop_db(self) {
        let _ = self.scratch.drop_db().await;
    }
}

/// Generates one `#[tokio::test]` per backend for each body:
///
/// ```ignore
/// backend_tests! {
///     async fn migrations_round_trip(db) { ... }
/// }
/// ```
macro_rules! backend_tests {
    ($(async fn $name:ident($db:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use crate::support::{Kind, TestDb};

            async fn body($db: TestDb) $body

            async fn run_on(kind: Kind) {
                if let Some(db) = TestDb::create(kind).await {
                    body(db.clone()).await;
                    db.drop_db().await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { run_on(Kind::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { run_on(Kind::Postgres).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() { run_on(Kind::MySql).await }
        }
    )*};
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures").join(rel)
}

/// A `duban` command with the repository's config and the given database.
pub fn duban(db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_duban"));
    cmd.current_dir(repo())
        .env("DUBAN_CONFIG_DIR", repo().join("config"))
        .env("DUBAN__DATABASE__URL", db_url)
        .env("DUBAN__LOG__FILTER", "warn")
        .env_remove("DUBAN_ENV")
        .env_remove("RUST_LOG");
    cmd
}

/// Runs a command and returns its output, with stdout and stderr as text.
pub fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("run duban");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}
