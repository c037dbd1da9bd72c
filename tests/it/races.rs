//! Answers recorded while the engine works on the same chains: nothing decided on a subject
//! before an answer is written after it, and no re-plan that read the subject before an
//! answer brings back what the answer ended.

use crate::engine::rules;
use crate::nodes::{count, count_on, now, seed, tick_command, tick_report};
use chrono::NaiveDate;
use duban_core::clock::ManualClock;
use duban_engine::{Engine, EngineConfig, SubjectRef};
use duban_store::Store;
use sea_orm::DatabaseConnection;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

const UNITS: usize = 300;

fn engine(store: &Store, node: &str) -> Engine {
    let config = EngineConfig {
        node_id: node.into(),
        catch_up: chrono::Duration::days(400),
        ..Default::default()
    };
    Engine::new(
        store.clone(),
        rules(),
        config,
        Arc::new(ManualClock::new(now())),
    )
}

fn term(n: usize) -> SubjectRef {
    SubjectRef::Term {
        unit: format!("U{n:05}"),
        start: NaiveDate::from_ymd_opt(2023, 6, 1),
    }
}

/// The elections are recorded as held on 2026-06-20, nineteen days after the terms ended:
/// the chains' steps due since then (the escalation to the department on 07-01, the
/// interview on 09-01) must not happen; those due before it still do, late.
fn held_on() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 20).unwrap()
}

/// Midnight of the election day in Asia/Shanghai, as stored (UTC).
const ELECTED_AT: &str = "2026-06-19 16:00:00";

/// The steps an election ends: the term expiry chain's timers due after it.
fn ended_steps(key_filter: &str) -> String {
    format!(
        "FROM timers t JOIN workflow_instances i ON i.id = t.instance_id \
         WHERE i.workflow_id = 'term_expiry' AND {key_filter} AND t.due_at > '{ELECTED_AT}'"
    )
}

/// What the engine has written for the steps a term's election ends: their messages, and
/// the steps fired.
async fn written_for(conn: &DatabaseConnection, key: &str) -> (i64, i64) {
    let steps = ended_steps(&format!("i.subject_key = '{key}'"));
    let messages = count_on(
        conn,
        &format!("SELECT COUNT(*) FROM outbox o WHERE o.timer_id IN (SELECT t.id {steps})"),
    )
    .await;
    let fired = count_on(
        conn,
        &format!("SELECT COUNT(*) {steps} AND t.state = 'done'"),
    )
    .await;
    (messages, fired)
}

backend_tests! {
    async fn a_tick_never_writes_after_an_election_what_it_decided_before_it(db) {
        let store = db.store().await;
        seed(&store, UNITS).await;
        let ticks: Vec<_> = (0..2)
            .map(|n| {
                tick_command(&db.url, &format!("node-{n}"), now())
                    .env("DUBAN__ENGINE__BATCH_SIZE", "60")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Elect while the ticks are at work on the same chains.
        let conn = db.connect().await;
        while count_on(&conn, "SELECT COUNT(*) FROM timers WHERE state <> 'pending'").await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let e = engine(&store, "clerk");
        let mut after_election = Vec::with_capacity(UNITS);
        for n in 1..=UNITS {
            let c = e
                .record_election(&format!("U{n:05}"), held_on(), "tester")
                .await
                .unwrap();
            assert!(c.recorded);
            let key = term(n).key();
            after_election.push((key.clone(), written_for(&conn, &key).await));
        }
        let mut requeued = 0;
        for child in ticks {
            requeued += tick_report(child)["requeued"].as_u64().unwrap();
        }
        let mut overtaken = Vec::new();
        for (key, before) in &after_election {
            let now_written = written_for(&conn, key).await;
            if now_written != *before {
                overtaken.push(format!("{key}: {before:?} when elected, {now_written:?} after"));
            }
        }
        assert!(
            overtaken.is_empty(),
            "{} of {UNITS} chains were written to after their election returned \
             ({requeued} timers handed back):\n{}",
            overtaken.len(),
            overtaken.join("\n")
        );
        // Whatever was handed back was decided again: nothing of the ended chains is left open.
        let open = count_on(
            &conn,
            "SELECT COUNT(*) FROM timers t JOIN workflow_instances i ON i.id = t.instance_id \
             WHERE i.workflow_id = 'term_expiry' AND i.subject_key LIKE 'term:%:2023-06-01' \
             AND t.state IN ('pending', 'running')",
        )
        .await;
        assert_eq!(open, 0, "timers of elected terms still open");
    }

    async fn a_stale_replan_never_revives_what_an_election_cancelled(db) {
        let store = db.store().await;
        seed(&store, UNITS).await;
        let planner = engine(&store, "planner");
        let refs: Vec<SubjectRef> = (1..=UNITS).map(term).collect();
        let replans = tokio::spawn(async move {
            for _ in 0..3 {
                for chunk in refs.chunks(25) {
                    planner.sync_subjects(chunk, false).await.unwrap();
                }
            }
        });
        let e = engine(&store, "clerk");
        for n in 1..=UNITS {
            e.record_election(&format!("U{n:05}"), held_on(), "tester")
                .await
                .unwrap();
        }
        replans.await.unwrap();
        let revived_timers = count(
            &db,
            &format!(
                "SELECT COUNT(*) {} AND t.state = 'pending'",
                ended_steps("i.subject_key LIKE 'term:%:2023-06-01'")
            ),
        )
        .await;
        let revived_chains = count(
            &db,
            "SELECT COUNT(*) FROM workflow_instances \
             WHERE workflow_id = 'term_expiry' AND subject_key LIKE 'term:%:2023-06-01' \
             AND status = 'active'",
        )
        .await;
        assert_eq!(
            (revived_timers, revived_chains),
            (0, 0),
            "timers pending and chains active again on terms already elected"
        );
        // The new terms' chains all started.
        let new_terms = count(
            &db,
            "SELECT COUNT(DISTINCT subject_key) FROM workflow_instances \
             WHERE subject_key LIKE 'term:%:2026-06-20'",
        )
        .await;
        assert_eq!(new_terms as usize, UNITS);
    }
}
