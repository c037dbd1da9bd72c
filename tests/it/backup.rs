//! Backup and restore through the binary.
//!
//! - SQLite: `duban backup` taken while an engine node fires timers in small batches and a
//!   ledger writer books allocations; the copy restored elsewhere with `duban restore` passes
//!   `audit verify` and `ledger verify`, and an engine node resuming on it fires every timer
//!   that was due exactly once: the same messages as the original, none lost, none twice.
//! - `duban restore` refuses a database in use, a damaged file, a backup of a newer schema,
//!   and keeps the database it replaces; `duban backup` refuses to overwrite a file and
//!   points PostgreSQL and MariaDB at their own tools.
//! - PostgreSQL and MariaDB: the commands README.md gives (`pg_dump`/`pg_restore`,
//!   `mariadb-dump`/`mariadb`) run against a test database, restored into a fresh one that
//!   passes `audit verify` and `ledger verify` and goes on working.

use crate::nodes::{now, seed, tick_command};
use crate::support::{Kind, TestDb, duban, run};
use sea_orm::{ConnectionTrait, Database, Statement};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every process of these tests waits this long for SQLite's write lock.
const BUSY_MS: &str = "60000";

async fn rows(url: &str, sql: &str) -> Vec<sea_orm::QueryResult> {
    let conn = Database::connect(url).await.unwrap();
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_string(),
        ))
        .await
        .unwrap();
    conn.close().await.unwrap();
    rows
}

async fn count(url: &str, sql: &str) -> i64 {
    rows(url, sql).await[0].try_get_by_index::<i64>(0).unwrap()
}

async fn strings(url: &str, sql: &str) -> Vec<String> {
    rows(url, sql)
        .await
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

/// Runs a command that must succeed; its standard output.
fn ok(cmd: &mut Command) -> String {
    let (out, stdout, stderr) = run(cmd);
    assert!(out.status.success(), "{cmd:?}: {stdout}{stderr}");
    stdout
}

fn scratch_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("duban-{what}-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// The rows the tables a backup reports hold, with the audit head: what a copy must match.
async fn contents(url: &str) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for table in [
        "party_units",
        "timers",
        "outbox",
        "ledger_transactions",
        "ledger_postings",
        "audit_log",
    ] {
        out.push((
            table.to_string(),
            count(url, &format!("SELECT COUNT(*) FROM {table}")).await,
        ));
    }
    out.push((
        "audit_head.seq".into(),
        count(url, "SELECT seq FROM audit_head WHERE id = 1").await,
    ));
    out
}

fn verify(url: &str) {
    let audit = ok(duban(url).args(["audit", "verify"]));
    assert!(audit.contains("audit log intact"), "{audit}");
    let ledger = ok(duban(url).args(["ledger", "verify"]));
    assert!(ledger.contains("every transaction balances"), "{ledger}");
}

fn allocations(url: &str, prefix: &str, count: usize) -> Command {
    let mut cmd = duban(url);
    cmd.args([
        "ledger",
        "bench",
        "allocations",
        "--unit",
        "U00001",
        "--amount",
        "100",
    ])
    .args([
        "--concurrency",
        "2",
        "--setup",
        "--date",
        "2026-06-01",
        "--format",
        "json",
    ])
    .args(["--count", &count.to_string(), "--key-prefix", prefix])
    .env("DUBAN__DATABASE__BUSY_TIMEOUT_MS", BUSY_MS);
    cmd
}

const SEEDED_UNITS: i64 = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_verified_and_resumes_with_every_timer_fired_once() {
    let db = TestDb::create(Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    seed(&store, SEEDED_UNITS as usize).await;
    let due = store.timer_stats(now()).await.unwrap().due;
    store.close().await.unwrap();
    let seeded = count(&db.url, "SELECT MAX(id) FROM timers").await;
    let dir = scratch_dir("backup-load");

    // The load: one engine node firing in batches of 25, one ledger writer with two tasks.
    let mut ticker = tick_command(&db.url, "node-a", now())
        .env("DUBAN__ENGINE__BATCH_SIZE", "25")
        .env("DUBAN__DATABASE__BUSY_TIMEOUT_MS", BUSY_MS)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let writer = allocations(&db.url, "load", 1200)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while count(&db.url, "SELECT COUNT(*) FROM timers WHERE state = 'done'").await == 0
        || count(&db.url, "SELECT COUNT(*) FROM ledger_transactions").await < 2
    {
        assert!(Instant::now() < deadline, "the load never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Backups one after the other while the node works, each checked by `backup` itself.
    let mut taken = Vec::new();
    while taken.len() < 6 {
        let file = dir.join(format!("backup-{}.db", taken.len()));
        let started = Instant::now();
        let stdout = ok(duban(&db.url)
            .args(["backup", file.to_str().unwrap(), "--format", "json"])
            .env("DUBAN__DATABASE__BUSY_TIMEOUT_MS", BUSY_MS));
        let took = started.elapsed();
        let snapshot: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(snapshot["integrity"], "ok", "{snapshot}");
        let working = ticker.try_wait().unwrap().is_none();
        taken.push((file, snapshot, took, working));
        if !working {
            break;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let under_load = taken.iter().filter(|t| t.3).count();
    assert!(
        under_load >= 2,
        "{under_load} backups taken while the node worked"
    );
    // The last one taken while the node was still firing is the one resumed below.
    let (file, snapshot, took, _) = taken[under_load - 1].clone();
    for child in [ticker, writer] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The original finishes as the copy will: a tick once the leases of any batch cut short
    // would have run out.
    ok(&mut tick_command(
        &db.url,
        "node-a",
        now() + chrono::Duration::seconds(31),
    ));
    verify(&db.url);
    let original_messages = strings(
        &db.url,
        "SELECT idempotency_key FROM outbox ORDER BY idempotency_key",
    )
    .await;
    assert_eq!(
        count(
            &db.url,
            &format!("SELECT COUNT(*) FROM timers WHERE id <= {seeded} AND state <> 'done'")
        )
        .await,
        0
    );

    // Every backup restores to a database that passes both verifications (`restore` runs
    // them and exits 1 otherwise).
    for (n, (other, ..)) in taken
        .iter()
        .enumerate()
        .filter(|(n, _)| *n != under_load - 1)
    {
        let url = sqlite_url(&dir.join(format!("restored-{n}.db")));
        let report = ok(duban(&url).args(["restore", other.to_str().unwrap()]));
        assert!(report.contains("audit log intact"), "{report}");
    }
    // Restored in a new place: `restore` verifies it, and so do the commands themselves.
    let restored = sqlite_url(&dir.join("restored.db"));
    let report = ok(duban(&restored).args(["restore", file.to_str().unwrap()]));
    assert!(report.contains("audit log intact"), "{report}");
    assert!(
        report.contains("ledger: every transaction balances"),
        "{report}"
    );
    assert!(
        !report.contains("kept as"),
        "nothing was there to keep: {report}"
    );
    verify(&restored);
    let copy = contents(&restored).await;
    let reported = |table: &str| {
        snapshot["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["table"] == table)
            .map(|c| c["rows"].as_i64().unwrap())
    };
    for (table, rows) in &copy {
        if let Some(n) = reported(table) {
            assert_eq!(
                n, *rows,
                "{table}: the backup's report and the restored file agree"
            );
        }
    }
    assert_eq!(snapshot["audit_seq"].as_i64(), Some(copy[copy.len() - 1].1));
    let done_in_copy = count(
        &restored,
        &format!("SELECT COUNT(*) FROM timers WHERE id <= {seeded} AND state = 'done'"),
    )
    .await;
    let open_in_copy = count(
        &restored,
        &format!(
            "SELECT COUNT(*) FROM timers WHERE id <= {seeded} AND state IN ('pending', 'running')"
        ),
    )
    .await;
    let messages_in_copy = count(&restored, "SELECT COUNT(*) FROM outbox").await;
    assert!(
        done_in_copy > 0 && open_in_copy > 0,
        "the copy was taken mid-run: {done_in_copy} done, {open_in_copy} open"
    );
    let txns_in_copy = count(&restored, "SELECT COUNT(*) FROM ledger_transactions").await;
    let txns = count(&db.url, "SELECT COUNT(*) FROM ledger_transactions").await;
    assert!(
        txns_in_copy >= 2 && txns_in_copy <= txns,
        "{txns_in_copy} of {txns}"
    );

    // The engine resumes on the copy: now, and after the leases the copy caught ran out.
    ok(&mut tick_command(&restored, "node-r", now()));
    ok(&mut tick_command(
        &restored,
        "node-r",
        now() + chrono::Duration::seconds(31),
    ));
    assert_eq!(
        count(
            &restored,
            &format!("SELECT COUNT(*) FROM timers WHERE id <= {seeded} AND state <> 'done'")
        )
        .await,
        0,
        "no timer lost"
    );
    assert_eq!(
        count(&restored, "SELECT COUNT(*) FROM (SELECT idempotency_key FROM outbox GROUP BY idempotency_key HAVING COUNT(*) > 1) d").await,
        0,
        "no effect written twice"
    );
    assert_eq!(
        count(&restored, "SELECT COUNT(*) FROM (SELECT origin_key FROM interviews GROUP BY origin_key HAVING COUNT(*) > 1) d").await,
        0
    );
    assert_eq!(
        count(&restored, "SELECT COUNT(*) FROM interviews").await,
        SEEDED_UNITS
    );
    let resumed_messages = strings(
        &restored,
        "SELECT idempotency_key FROM outbox ORDER BY idempotency_key",
    )
    .await;
    assert_eq!(
        resumed_messages, original_messages,
        "the resumed copy wrote exactly the messages the original did"
    );
    // The ledger goes on where the copy left it.
    ok(&mut allocations(&restored, "after", 5));
    verify(&restored);
    eprintln!(
        "backup under load: {due} timers due; {} backups, {under_load} while the node worked ({:?}); \
         the one resumed: {} bytes copied in {took:?}, holding {done_in_copy} done and {open_in_copy} open seeded timers, \
         {messages_in_copy} of {} messages, {txns_in_copy} of {txns} ledger transactions; resumed, it wrote the same {} messages",
        taken.len(),
        taken.iter().map(|t| t.2).collect::<Vec<_>>(),
        snapshot["bytes"],
        original_messages.len(),
        resumed_messages.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_database_in_use_a_damaged_file_and_a_newer_schema() {
    let db = TestDb::create(Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    ok(&mut allocations(&db.url, "before", 3));
    let dir = scratch_dir("restore-refusals");
    let backup = dir.join("b.db");
    let b = backup.to_str().unwrap();
    let report = ok(duban(&db.url).args(["backup", b]));
    assert!(
        report.contains("integrity ok") && report.contains("audit log head seq"),
        "{report}"
    );
    assert!(report.contains("ledger_transactions"), "{report}");

    // An existing file is replaced only with --force.
    let (out, _, stderr) = run(duban(&db.url).args(["backup", b]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("exists") && stderr.contains("--force"),
        "{stderr}"
    );
    ok(duban(&db.url).args(["backup", b, "--force"]));
    // Never over the database itself.
    let live = db
        .url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap();
    let (out, _, stderr) = run(duban(&db.url).args(["backup", live, "--force"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("the database itself"), "{stderr}");
    // The other backends have their own tools.
    let (out, _, stderr) = run(duban("postgres://root@127.0.0.1:1/none").args(["backup", "x.db"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("pg_dump") && stderr.contains("mariadb-dump"),
        "{stderr}"
    );

    // Written after the backup: what a restore takes back.
    ok(&mut allocations(&db.url, "later", 2));
    let before = contents(&db.url).await;

    // While a connection holds the database open, nothing moves.
    store.ping().await.unwrap();
    let (out, _, stderr) = run(duban(&db.url).args(["restore", b]));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("in use"), "{stderr}");
    store.close().await.unwrap();

    // Not a database; a damaged one; one from a newer duban.
    let garbage = dir.join("garbage.db");
    std::fs::write(&garbage, "not a database at all, just text".repeat(200)).unwrap();
    let damaged = dir.join("damaged.db");
    let mut bytes = std::fs::read(&backup).unwrap();
    let len = bytes.len();
    for b in &mut bytes[len / 2..len / 2 + 8192] {
        *b = 0x5a;
    }
    std::fs::write(&damaged, bytes).unwrap();
    let newer = dir.join("newer.db");
    std::fs::copy(&backup, &newer).unwrap();
    rows(
        &sqlite_url(&newer),
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29991231_000099_future', 0)",
    )
    .await;
    for (file, says) in [
        (&garbage, "garbage.db"),
        (&damaged, "damaged.db"),
        (&newer, "m29991231_000099_future"),
    ] {
        let (out, _, stderr) = run(duban(&db.url).args(["restore", file.to_str().unwrap()]));
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
    let (_, _, stderr) = run(duban(&db.url).args(["restore", newer.to_str().unwrap()]));
    assert!(stderr.contains("newer duban"), "{stderr}");
    assert_eq!(
        contents(&db.url).await,
        before,
        "no refusal touched the database"
    );

    // Restored: the backup's contents, the database it replaced kept beside it.
    let report = ok(duban(&db.url).args(["restore", b]));
    assert!(report.contains("audit log intact"), "{report}");
    let kept = report
        .lines()
        .find_map(|l| l.strip_prefix("the database it replaces is kept as "))
        .unwrap_or_else(|| panic!("{report}"))
        .to_string();
    assert!(kept.contains(".before-restore-"), "{kept}");
    assert_eq!(contents(&sqlite_url(Path::new(&kept))).await, before);
    let after = contents(&db.url).await;
    assert!(after[3].1 < before[3].1, "{after:?} {before:?}");
    verify(&db.url);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{kept}{suffix}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    db.drop_db().await;
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether a command-line tool is installed; in CI it must be.
fn installed(tool: &str) -> bool {
    match Command::new(tool).arg("--version").output() {
        Ok(o) if o.status.success() => true,
        other => {
            assert!(!in_ci(), "{tool} is required in CI: {other:?}");
            eprintln!(
                "skipping: {tool} is not installed (apt-get install postgresql-client mariadb-client)"
            );
            false
        }
    }
}

/// `tool` with the options of `mysql://user[:password]@host[:port]/database` (the password
/// in `MYSQL_PWD`), `options`, then the database.
fn mariadb(tool: &str, url: &str, options: &[&str]) -> Command {
    let rest = url.split_once("://").unwrap().1;
    let rest = rest.split('?').next().unwrap();
    let (auth, rest) = rest.rsplit_once('@').unwrap_or(("root", rest));
    let (host, database) = rest.split_once('/').unwrap();
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (host, port) = host.split_once(':').unwrap_or((host, "3306"));
    let mut cmd = Command::new(tool);
    cmd.args(["--host", host, "--port", port, "--user", user])
        .args(options)
        .arg(database)
        .env("MYSQL_PWD", password);
    cmd
}

async fn dump_restore_and_verify(kind: Kind) {
    let tools = match kind {
        Kind::Postgres => ["pg_dump", "pg_restore"],
        _ => ["mariadb-dump", "mariadb"],
    };
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    if !tools.iter().all(|t| installed(t)) {
        db.drop_db().await;
        return;
    }
    let store = db.store().await;
    seed(&store, 20).await;
    store.close().await.unwrap();
    ok(&mut tick_command(&db.url, "node-a", now()));
    ok(&mut allocations(&db.url, "dump", 20));
    verify(&db.url);
    let original = contents(&db.url).await;
    let messages = strings(
        &db.url,
        "SELECT idempotency_key FROM outbox ORDER BY idempotency_key",
    )
    .await;

    // The commands of README.md, "Backup and restore", into an empty database.
    let fresh = TestDb::create(kind).await.unwrap();
    let dir = scratch_dir("dump");
    match kind {
        Kind::Postgres => {
            let file = dir.join("duban.dump");
            ok(Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(&file)
                .arg(&db.url));
            ok(Command::new("pg_restore")
                .args(["--no-owner", "--exit-on-error", "--dbname", &fresh.url])
                .arg(&file));
        }
        _ => {
            let file = dir.join("duban.sql");
            let options = ["--single-transaction", "--routines", "--triggers"];
            ok(mariadb("mariadb-dump", &db.url, &options)
                .stdout(std::fs::File::create(&file).unwrap()));
            ok(mariadb("mariadb", &fresh.url, &[]).stdin(std::fs::File::open(&file).unwrap()));
        }
    }
    assert_eq!(contents(&fresh.url).await, original);
    assert_eq!(
        strings(
            &fresh.url,
            "SELECT idempotency_key FROM outbox ORDER BY idempotency_key"
        )
        .await,
        messages
    );
    verify(&fresh.url);
    // The restored database goes on: new ledger commands and ticks, ids past the old ones,
    // the ledger's triggers still refusing edits.
    ok(&mut allocations(&fresh.url, "after", 5));
    ok(&mut tick_command(
        &fresh.url,
        "node-b",
        now() + chrono::Duration::seconds(31),
    ));
    verify(&fresh.url);
    let conn = Database::connect(&fresh.url).await.unwrap();
    let edit = conn
        .execute_raw(Statement::from_string(
            conn.get_database_backend(),
            "UPDATE ledger_postings SET amount = amount + 1".to_string(),
        ))
        .await;
    assert!(edit.is_err(), "the append-only triggers came across");
    conn.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    fresh.drop_db().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_dump_and_pg_restore_carry_a_database_that_verifies() {
    dump_restore_and_verify(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_dump_and_mariadb_carry_a_database_that_verifies() {
    dump_restore_and_verify(Kind::MySql).await;
}
