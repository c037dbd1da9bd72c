//! Several engine processes on one PostgreSQL or MariaDB database: every timer fires exactly
//! once, and a node killed with SIGKILL mid-batch loses its leases to another node.

use crate::engine::{rules, utc};
use crate::support::{Kind, TestDb, duban};
use chrono::{DateTime, NaiveDate, Utc};
use duban_core::clock::ManualClock;
use duban_core::register::{Channel, Formation, Person, RegisterBatch, Unit, UnitLevel};
use duban_engine::{Engine, EngineConfig, SubjectRef};
use duban_store::Store;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The instant every node ticks at: five months after the seeded terms ended.
pub(crate) fn now() -> DateTime<Utc> {
    utc(2026, 11, 2, 2)
}

/// `units` branches whose terms ended on 2026-06-01 under one committee.
pub(crate) async fn seed(store: &Store, units: usize) {
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd);
    let person = |n: usize| Person {
        name: format!("书记{n}"),
        post: None,
        mobile: Some(format!("139{n:08}")),
        email: None,
        channels: vec![Channel::Sms],
    };
    let mut batch = RegisterBatch::default();
    batch.units.push(Unit {
        code: "SUP".into(),
        name: "两新组织党委".into(),
        level: UnitLevel::Committee,
        formation: Formation::Standalone,
        superior_code: None,
        secretary: Some(person(0)),
        term_start: d(2025, 1, 1),
        term_end: d(2030, 1, 1),
        last_election: None,
        theme_day: None,
        row: 2,
    });
    for n in 1..=units {
        batch.units.push(Unit {
            code: format!("U{n:05}"),
            name: format!("第{n}党支部"),
            level: UnitLevel::Branch,
            formation: Formation::Standalone,
            superior_code: Some("SUP".into()),
            secretary: Some(person(n)),
            term_start: d(2023, 6, 1),
            term_end: d(2026, 6, 1),
            last_election: None,
            theme_day: None,
            row: n + 2,
        });
    }
    store
        .apply_register(&batch, "test", utc(2025, 1, 1, 0), false)
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(now()));
    let config = EngineConfig {
        node_id: "seeder".into(),
        catch_up: chrono::Duration::days(400),
        ..Default::default()
    };
    let e = Engine::new(store.clone(), rules(), config, clock);
    e.rules.persist(store, now()).await.unwrap();
    // Only the terms: five months overdue, each has its whole chain due.
    for n in 1..=units {
        let term = SubjectRef::Term {
            unit: format!("U{n:05}"),
            start: d(2023, 6, 1),
        };
        e.sync_subject(&term, false).await.unwrap();
    }
}

pub(crate) fn tick_command(db_url: &str, node: &str, at: DateTime<Utc>) -> std::process::Command {
    let mut cmd = duban(db_url);
    cmd.args([
        "engine",
        "tick",
        "--format",
        "json",
        "--now",
        &at.to_rfc3339(),
    ])
    .env("DUBAN__ENGINE__NODE_ID", node)
    .env("DUBAN__ENGINE__CATCH_UP_DAYS", "400")
    .env("DUBAN__ENGINE__BATCH_SIZE", "250");
    cmd
}

/// The JSON report of an `engine tick` process, once it has exited successfully.
pub(crate) fn tick_report(child: std::process::Child) -> serde_json::Value {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

pub(crate) async fn count(db: &TestDb, sql: &str) -> i64 {
    count_on(&db.connect().await, sql).await
}

/// A count on a connection held by the caller (a new connection per query is slow).
pub(crate) async fn count_on(conn: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_string(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn three_processes_fire_ten_thousand_timers_exactly_once(kind: Kind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let store = db.store().await;
    seed(&store, 800).await;
    let due = store.timer_stats(now()).await.unwrap().due;
    assert!(due >= 10_000, "only {due} timers are due");
    let seeded = count(&db, "SELECT MAX(id) FROM timers").await;

    let children: Vec<_> = (0..3)
        .map(|n| {
            tick_command(&db.url, &format!("node-{n}"), now())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut fired = 0u64;
    let mut ended = 0u64;
    let mut messages = 0u64;
    for child in children {
        let r = tick_report(child);
        fired += r["fired"].as_u64().unwrap();
        ended += r["fired"].as_u64().unwrap()
            + r["skipped"].as_u64().unwrap()
            + r["failed"].as_u64().unwrap();
        messages += r["messages"].as_u64().unwrap();
        assert!(r["fired"].as_u64().unwrap() > 0, "a node did no work: {r}");
    }
    let stats = store.timer_stats(now()).await.unwrap();
    // Every seeded timer ran (the interviews they opened planned new ones of their own).
    let left = count(
        &db,
        &format!("SELECT COUNT(*) FROM timers WHERE id <= {seeded} AND state <> 'done'"),
    )
    .await;
    assert_eq!(left, 0, "{stats:?}");
    assert_eq!(stats.failed, 0, "{stats:?}");
    let done = count(
        &db,
        "SELECT COUNT(*) FROM timers WHERE state IN ('done', 'skipped', 'failed')",
    )
    .await;
    assert_eq!(done as u64, ended);
    assert_eq!(stats.done, fired);
    assert!(fired >= 10_000);
    // No timer was claimed twice, and no effect was written twice.
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM timers WHERE fence > 1").await,
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM outbox WHERE state <> 'unreachable'"
        )
        .await as u64,
        messages
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM (SELECT idempotency_key FROM outbox GROUP BY idempotency_key HAVING COUNT(*) > 1) d").await,
        0
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM (SELECT origin_key FROM interviews GROUP BY origin_key HAVING COUNT(*) > 1) d").await,
        0
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM interviews").await,
        800,
        "one interview per overdue unit"
    );
    db.drop_db().await;
}

async fn a_killed_node_loses_its_leases_and_another_finishes(kind: Kind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let store = db.store().await;
    seed(&store, 150).await;
    let due = store.timer_stats(now()).await.unwrap().due;
    assert!(due > 1000);
    let seeded = count(&db, "SELECT MAX(id) FROM timers").await;

    // One node claims everything in one batch with a short lease and is killed mid-batch.
    let mut doomed = tick_command(&db.url, "doomed", now())
        .env("DUBAN__ENGINE__BATCH_SIZE", "100000")
        .env("DUBAN__ENGINE__LEASE_SECONDS", "30")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if count(&db, "SELECT COUNT(*) FROM timers WHERE state = 'running'").await > 0 {
            break;
        }
        assert!(
            doomed.try_wait().unwrap().is_none(),
            "the node finished before it could be killed"
        );
        assert!(Instant::now() < deadline, "the node never claimed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = doomed.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
    doomed.wait().unwrap();
    let leased = count(
        &db,
        "SELECT COUNT(*) FROM timers WHERE state = 'running' AND lease_owner = 'doomed'",
    )
    .await;
    assert!(leased > 0);
    // `timers list` shows who holds a running timer and until when.
    let out = duban(&db.url)
        .args([
            "timers", "list", "--state", "running", "--limit", "3", "--format", "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        listed
            .iter()
            .all(|t| t["lease_owner"] == "doomed" && t["lease_until"].is_string()),
        "{listed:?}"
    );
    let out = duban(&db.url)
        .args(["timers", "list", "--state", "running", "--limit", "1"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("doomed until "), "{table}");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM outbox").await,
        0,
        "nothing of the killed batch committed"
    );

    // Within the lease another node leaves them alone; after it, it finishes them.
    let out = tick_command(&db.url, "survivor", now()).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM timers WHERE state = 'running'").await,
        leased
    );
    let later = now() + chrono::Duration::seconds(31);
    let out = tick_command(&db.url, "survivor", later).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats = store.timer_stats(now()).await.unwrap();
    assert_eq!((stats.running, stats.failed), (0, 0), "{stats:?}");
    let left = count(
        &db,
        &format!("SELECT COUNT(*) FROM timers WHERE id <= {seeded} AND state <> 'done'"),
    )
    .await;
    assert_eq!(left, 0, "{stats:?}");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM timers WHERE fence > 1").await,
        leased
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM (SELECT idempotency_key FROM outbox GROUP BY idempotency_key HAVING COUNT(*) > 1) d").await,
        0
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM interviews").await, 150);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_ten_thousand_timers_on_postgres() {
    three_processes_fire_ten_thousand_timers_exactly_once(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_ten_thousand_timers_on_mariadb() {
    three_processes_fire_ten_thousand_timers_exactly_once(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_batch_loses_its_leases_on_postgres() {
    a_killed_node_loses_its_leases_and_another_finishes(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_batch_loses_its_leases_on_mariadb() {
    a_killed_node_loses_its_leases_and_another_finishes(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_batch_loses_its_leases_on_sqlite() {
    a_killed_node_loses_its_leases_and_another_finishes(Kind::Sqlite).await;
}
