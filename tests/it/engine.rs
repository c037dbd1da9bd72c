//! The engine end to end: register → instances → timers → ticks → outbox, against the
//! shipped workflows and calendar, with the clock driven by the test.

use crate::support::{TestDb, fixture, repo};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use duban_core::clock::{Clock, ManualClock};
use duban_core::register::parse_register;
use duban_engine::subjects::load;
use duban_engine::{Engine, EngineConfig, Rules, SubjectRef};
use duban_store::Store;
use duban_workflow::QuietHours;
use duban_workflow::plan::{Event, PlanContext};
use duban_workflow::simulate::{EntryKind, SimOptions, simulate};
use std::collections::HashSet;
use std::sync::Arc;

pub fn rules() -> Arc<Rules> {
    Arc::new(
        Rules::load(
            &repo().join("workflows"),
            &repo().join("config/calendar"),
            QuietHours::default(),
            "【组织部】",
        )
        .expect("shipped workflows load"),
    )
}

pub fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

/// Local midnight in Asia/Shanghai as UTC.
pub fn local_midnight(d: NaiveDate) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Imports the register fixture and makes one person organisation-department staff.
pub async fn seed_register(store: &Store) {
    let bytes = std::fs::read(fixture("register/good.csv")).unwrap();
    let table = duban_tabular::read_table("good.csv", &bytes, Default::default()).unwrap();
    let batch = parse_register(&table, &HashSet::new()).unwrap();
    store
        .apply_register(&batch, "test", utc(2025, 1, 1, 0), false)
        .await
        .unwrap();
    let staff = store.person_by_key("13900001111").await.unwrap().unwrap();
    let tx = store.begin_write().await.unwrap();
    tx.set_person_roles(&staff, "org_department", utc(2025, 1, 1, 0))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

pub fn engine(store: &Store, clock: Arc<ManualClock>, node: &str) -> Engine {
    let config = EngineConfig {
        node_id: node.into(),
        ..Default::default()
    };
    Engine::new(store.clone(), rules(), config, clock)
}

/// Fires every timer due up to `until`, jumping the clock from due time to due time, and
/// calls `before` with each next due time first (it may act and return true to re-read).
async fn drive(
    engine: &Engine,
    clock: &ManualClock,
    until: DateTime<Utc>,
    mut before: impl AsyncFnMut(DateTime<Utc>) -> bool,
) {
    loop {
        let next = engine
            .store
            .list_timers(None, None, &["pending"], 1)
            .await
            .unwrap();
        let Some((t, _)) = next.first() else { break };
        let due = t.due_at.and_utc();
        if due > until {
            break;
        }
        if before(due).await {
            continue;
        }
        clock.set(due.max(clock.now()));
        engine.tick(clock.now()).await.unwrap();
    }
}

/// The body with its confirmation link replaced by `LINK`, as simulations write it.
fn without_link(body: &str) -> String {
    let prefix = "http://127.0.0.1:8080/";
    match body.find(prefix) {
        Some(i) => {
            let end = body[i..]
                .find(char::is_whitespace)
                .map(|j| i + j)
                .unwrap_or(body.len());
            format!("{}LINK{}", &body[..i], &body[end..])
        }
        None => body.to_string(),
    }
}

backend_tests! {
    async fn a_term_chain_over_18_months_does_what_simulate_predicts_and_stops_at_the_election(db) {
        let store = db.store().await;
        seed_register(&store).await;
        let start = utc(2025, 4, 1, 0);
        let clock = Arc::new(ManualClock::new(start));
        let engine = engine(&store, clock.clone(), "node-1");
        engine.rules.persist(&store, start).await.unwrap();
        let summary = engine.sync_all(100, false, |_| {}).await.unwrap();
        assert!(summary.problems.is_empty(), "{:?}", summary.problems);

        let term = SubjectRef::Term { unit: "JN-001".into(), start: NaiveDate::from_ymd_opt(2023, 10, 9) };
        let held_on = NaiveDate::from_ymd_opt(2026, 11, 18).unwrap();
        let election_at = local_midnight(held_on);
        let end = utc(2027, 10, 1, 0);
        let mut elected = false;
        drive(&engine, &clock, end, async |due| {
            if !elected && due >= election_at {
                clock.set(election_at);
                let c = engine.record_election("JN-001", held_on, "tester").await.unwrap();
                assert!(c.recorded);
                elected = true;
                return true;
            }
            false
        })
        .await;
        assert!(elected, "the chain never reached the election date");

        // What the engine fired for this term, by workflow, step and due time.
        let instances = store.instances_of(&term.key()).await.unwrap();
        let mut fired = Vec::new();
        for i in &instances {
            let (_, timers) = store.instance_timeline(i.id).await.unwrap().unwrap();
            for t in timers.iter().filter(|t| t.state == "done") {
                assert!(!t.late, "{} fired late", t.step_id);
                fired.push((i.workflow_id.clone(), t.step_id.clone(), t.due_at.and_utc()));
            }
            assert!(timers.iter().all(|t| t.state != "pending" && t.state != "running"), "{} still has pending timers", i.workflow_id);
        }
        fired.sort();

        // What simulate predicts for the same subject and event.
        let loaded = load(store.reader().get(), &term).await.unwrap().unwrap();
        let ctx = PlanContext { calendar: &engine.rules.calendar, quiet: &engine.rules.quiet };
        let opts = SimOptions {
            from: NaiveDate::from_ymd_opt(2025, 3, 25).unwrap(),
            to: NaiveDate::from_ymd_opt(2027, 10, 1).unwrap(),
            events: vec![Event { name: "election_recorded".into(), at: election_at, value: Some(held_on.and_hms_opt(0, 0, 0).unwrap()), reason: None }],
            org_department: "组织部".into(),
            link: "LINK".into(),
            sms_signature: "【组织部】".into(),
        };
        let timeline = simulate(engine.rules.current(), "term_expiry", &loaded.subject, &opts, &ctx).unwrap();
        let mut predicted: Vec<_> = timeline
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Step && e.at >= start - Duration::days(7))
            .map(|e| (e.workflow_id.clone(), e.step_id.clone().unwrap(), e.at))
            .collect();
        predicted.sort();
        assert_eq!(fired, predicted);
        assert!(fired.iter().any(|(w, s, _)| w == "term_expiry" && s == "overdue_org_department"));
        assert!(fired.iter().any(|(w, _, _)| w == "post_election_report"));
        assert!(!fired.iter().any(|(_, s, _)| s == "open_interview"), "the election came before the interview");

        // Escalated to the organisation department, marked overdue, chain completed.
        let term_instance = instances.iter().find(|i| i.workflow_id == "term_expiry").unwrap();
        let term_instance = store.instance_timeline(term_instance.id).await.unwrap().unwrap().0;
        assert_eq!(term_instance.escalation_level, 2);
        assert_eq!(term_instance.subject_status.as_deref(), Some("overdue"));
        assert_eq!(term_instance.status, "completed");

        // Every message went to a real address, never inside quiet hours, and the secretary's
        // texts match the simulation's.
        let messages = store.outbox_messages().await.unwrap();
        assert!(!messages.is_empty());
        let expected_bodies: HashSet<String> = timeline
            .entries
            .iter()
            .flat_map(|e| e.messages.iter())
            .filter_map(|m| m.text.as_ref())
            .map(|t| t.trim_start_matches("【组织部】").to_string())
            .collect();
        for m in messages.iter().filter(|m| m.role == "secretary" && m.instance_id == Some(term_instance.id)) {
            assert!(expected_bodies.contains(&without_link(&m.body)), "unexpected body for {}: {}", m.idempotency_key, m.body);
            let local = m.not_before.and_utc().with_timezone(&chrono_tz::Asia::Shanghai);
            assert!(engine.rules.calendar.is_workday(local.date_naive()), "{} leaves on a day off", m.idempotency_key);
            assert!((8..21).contains(&chrono::Timelike::hour(&local)), "{} leaves at {local}", m.idempotency_key);
        }
        let keys: HashSet<_> = messages.iter().map(|m| &m.idempotency_key).collect();
        assert_eq!(keys.len(), messages.len());

        // Texts go out through each step's provider template (`term_expiry.<template>`, which
        // falls back to the generic `reminder` when not mapped), with the variables the
        // approved templates name.
        let texts: Vec<_> = messages.iter().filter(|m| m.channel == "sms" && m.instance_id == Some(term_instance.id)).collect();
        assert!(!texts.is_empty());
        for m in texts {
            assert!(m.template.as_deref().is_some_and(|t| t.starts_with("term_expiry.")), "{:?} {}", m.template, m.idempotency_key);
            let params: std::collections::BTreeMap<String, String> = serde_json::from_str(m.params.as_deref().unwrap()).unwrap();
            assert_eq!(params["subject"], m.subject);
            assert!(!params["unit_name"].is_empty() && m.body.contains(&params["unit_name"]), "{params:?}");
            assert!(params["due_date"].ends_with('日'), "{params:?}");
            params["days_left"].parse::<i64>().unwrap();
            match duban_engine::dispatch::to_message(m).unwrap() {
                duban_notify::Message::Sms(sms) => assert_eq!(sms.params, params),
                other => panic!("{other:?}"),
            }
        }

        // The new term has its own chain, three years on.
        let next = SubjectRef::Term { unit: "JN-001".into(), start: Some(held_on) };
        let next_instances = store.instances_of(&next.key()).await.unwrap();
        assert_eq!(next_instances.len(), 1);
        let (_, next_timers) = store.instance_timeline(next_instances[0].id).await.unwrap().unwrap();
        assert!(next_timers.iter().all(|t| t.due_at.and_utc() > utc(2029, 1, 1, 0)), "{next_timers:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_refuse_bad_input_and_write_nothing() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    seed_register(&store).await;
    let clock = Arc::new(ManualClock::new(utc(2026, 11, 22, 2)));
    let engine = engine(&store, clock.clone(), "n");
    engine.rules.persist(&store, clock.now()).await.unwrap();
    engine.sync_all(100, false, |_| {}).await.unwrap();
    let before = store.timer_stats(clock.now()).await.unwrap();

    let future = engine
        .record_election("JN-001", NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), "t")
        .await
        .unwrap_err();
    assert!(future.to_string().contains("in the future"), "{future}");
    let unknown = engine
        .record_election("NOPE", NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), "t")
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("NOPE"), "{unknown}");
    let long = engine
        .approve_extension(
            "JN-001",
            NaiveDate::from_ymd_opt(2028, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            None,
            "t",
        )
        .await
        .unwrap_err();
    assert!(long.to_string().contains("more than one year"), "{long}");
    assert_eq!(store.timer_stats(clock.now()).await.unwrap(), before);

    // Recording the same election twice changes nothing the second time.
    let d = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    assert!(
        engine
            .record_election("JN-001", d, "t")
            .await
            .unwrap()
            .recorded
    );
    let after = store.timer_stats(clock.now()).await.unwrap();
    let unit = store.unit_by_code("JN-001").await.unwrap().unwrap();
    assert_eq!(unit.unit.term_start, Some(d));
    assert_eq!(unit.unit.term_end, NaiveDate::from_ymd_opt(2029, 11, 20));
    // The same election recorded again is recognised by its idempotency key.
    let again = engine.record_election("JN-001", d, "t").await.unwrap();
    assert!(!again.recorded);
    assert_eq!(store.timer_stats(clock.now()).await.unwrap(), after);
    db.drop_db().await;
}

backend_tests! {
    async fn a_three_day_outage_fires_each_missed_timer_once_late_and_skips_skip_policy_recurrences(db) {
        let store = db.store().await;
        seed_register(&store).await;
        let start = utc(2026, 8, 20, 0);
        let clock = Arc::new(ManualClock::new(start));
        let engine = engine(&store, clock.clone(), "node-1");
        engine.rules.persist(&store, start).await.unwrap();
        engine.sync_all(100, false, |_| {}).await.unwrap();

        // Run normally until the outage begins.
        let down = local_midnight(NaiveDate::from_ymd_opt(2026, 9, 8).unwrap());
        let up = down + Duration::days(3);
        drive(&engine, &clock, down - Duration::seconds(1), async |_| false).await;

        // Nothing ticks for three days; then the engine comes back and ticks once.
        let missed: Vec<_> = engine
            .store
            .list_timers(Some(up), None, &["pending"], 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|(t, _)| t.due_at.and_utc() >= down)
            .collect();
        let workflows: HashSet<&str> = missed.iter().map(|(_, i)| i.workflow_id.as_str()).collect();
        assert!(workflows.contains("term_expiry"), "{workflows:?}");
        assert!(workflows.contains("theme_day"), "{workflows:?}");
        clock.set(up);
        let report = engine.tick(up).await.unwrap();
        assert_eq!(report.claimed as usize, missed.len());
        assert_eq!(engine.tick(up).await.unwrap().claimed, 0, "nothing fires twice");

        let outbox = store.outbox_messages().await.unwrap();
        for (t, i) in &missed {
            let (_, timers) = store.instance_timeline(i.id).await.unwrap().unwrap();
            let after = timers.iter().find(|x| x.id == t.id).unwrap();
            let messages = outbox.iter().filter(|m| m.timer_id == Some(t.id)).count();
            if i.workflow_id == "theme_day" {
                assert_eq!(after.state, "skipped", "{} {}", i.workflow_id, t.step_id);
                assert!(after.last_error.as_deref().unwrap_or("").contains("skip"), "{:?}", after.last_error);
                assert_eq!(messages, 0);
            } else {
                assert_eq!(after.state, "done", "{} {}: {:?}", i.workflow_id, t.step_id, after.last_error);
                assert!(after.late, "{} {} should be marked late", i.workflow_id, t.step_id);
                assert_eq!(after.fence, 1, "claimed once");
            }
        }
        // Late messages still respect quiet hours: none leaves before 08:00 on a working day.
        for m in outbox.iter().filter(|m| missed.iter().any(|(t, _)| m.timer_id == Some(t.id))) {
            let local = m.not_before.and_utc().with_timezone(&chrono_tz::Asia::Shanghai);
            assert!(engine.rules.calendar.is_workday(local.date_naive()));
            assert!((8..21).contains(&chrono::Timelike::hour(&local)), "{local}");
        }
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_workflow_changes_running_instances_only_when_replanned() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    seed_register(&store).await;
    let start = utc(2026, 1, 5, 0);
    let clock = Arc::new(ManualClock::new(start));
    let old = engine(&store, clock.clone(), "n");
    old.rules.persist(&store, start).await.unwrap();
    old.sync_all(100, false, |_| {}).await.unwrap();
    let term = SubjectRef::Term {
        unit: "JN-001".into(),
        start: NaiveDate::from_ymd_opt(2023, 10, 9),
    };
    let instance = store
        .instances_of(&term.key())
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.workflow_id == "term_expiry")
        .unwrap();
    let due_of = async |step: &str| {
        let (_, timers) = store.instance_timeline(instance.id).await.unwrap().unwrap();
        timers
            .into_iter()
            .find(|t| t.step_id == step)
            .unwrap()
            .due_at
    };
    let before = due_of("remind_3mo").await;

    // An administrator moves the three-month reminder to four months and bumps the version.
    let dir = std::env::temp_dir().join(format!("duban-wf-{}", uuid::Uuid::now_v7()));
    copy_dir(&repo().join("workflows"), &dir);
    let path = dir.join("term_expiry.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let version: i32 = text
        .lines()
        .find_map(|l| l.strip_prefix("version = "))
        .unwrap()
        .parse()
        .unwrap();
    let edited = text
        .replacen(
            &format!("version = {version}"),
            &format!("version = {}", version + 1),
            1,
        )
        .replacen("offset = \"-3mo\"", "offset = \"-4mo\"", 1);
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
    let rules = Rules::load(
        &dir,
        &repo().join("config/calendar"),
        QuietHours::default(),
        "【组织部】",
    )
    .unwrap();
    let new = Engine::new(
        store.clone(),
        Arc::new(rules),
        EngineConfig::default(),
        clock.clone(),
    );
    new.rules.persist(&store, start).await.unwrap();

    // Syncing the subject again keeps the running instance on the version it started with.
    new.sync_subject(&term, false).await.unwrap();
    assert_eq!(due_of("remind_3mo").await, before);

    // A dry run shows the difference and changes nothing.
    let diffs = new
        .replan_outdated(Some("term_expiry"), true, "test")
        .await
        .unwrap();
    let diff = diffs
        .iter()
        .find(|d| d.instance_id == instance.id)
        .expect("the instance is outdated");
    assert_eq!(
        (
            diff.from_version,
            diff.to_version,
            diff.rescheduled,
            diff.inserted,
            diff.cancelled
        ),
        (version, version + 1, 1, 0, 0)
    );
    assert_eq!(due_of("remind_3mo").await, before);

    // Applied, the reminder moves a month earlier and the instance records the new version.
    new.replan_outdated(Some("term_expiry"), false, "test")
        .await
        .unwrap();
    let after = due_of("remind_3mo").await;
    assert!(after < before - Duration::days(27), "{before} → {after}");
    let (i, _) = store.instance_timeline(instance.id).await.unwrap().unwrap();
    assert_eq!(i.workflow_version, version + 1);
    assert!(
        new.replan_outdated(Some("term_expiry"), true, "test")
            .await
            .unwrap()
            .is_empty()
    );
    std::fs::remove_dir_all(&dir).ok();
    db.drop_db().await;
}

backend_tests! {
    // A step whose message cannot be written (a template that needs a name one unit does not
    // record) fails alone: it is retried with backoff and ends `failed` after its last
    // attempt, while every other timer of its batch fires.
    async fn a_step_that_cannot_be_written_fails_alone_and_its_batch_mates_fire(db) {
        let store = db.store().await;
        seed_register(&store).await;
        let dir = std::env::temp_dir().join(format!("duban-wf-{}", uuid::Uuid::now_v7()));
        copy_dir(&repo().join("workflows"), &dir);
        // JN-LX, at the top of the register, has no superior: its notice cannot be written.
        let notice = dir.join("theme_day/notice.sms.txt");
        let text = std::fs::read_to_string(&notice).unwrap();
        std::fs::write(&notice, format!("{{{{ superior_unit }}}}：{text}")).unwrap();
        let rules = Rules::load(&dir, &repo().join("config/calendar"), QuietHours::default(), "【组织部】").unwrap();
        let start = utc(2026, 3, 1, 2);
        let clock = Arc::new(ManualClock::new(start));
        let config = EngineConfig {
            node_id: "n".into(),
            max_attempts: 3,
            retry_base: Duration::seconds(60),
            ..Default::default()
        };
        let engine = Engine::new(store.clone(), Arc::new(rules), config, clock.clone());
        engine.rules.persist(&store, start).await.unwrap();
        engine.sync_all(100, false, |_| {}).await.unwrap();

        // Let the clock run through March's notices and the poisoned step's retries.
        let failed = engine.advance(&clock, utc(2026, 3, 25, 0)).await.unwrap().failed;
        let timers = store.list_timers(None, None, &["done", "failed", "pending", "skipped", "cancelled", "running"], 100_000).await.unwrap();
        let notices: Vec<_> = timers
            .iter()
            .filter(|(t, i)| i.workflow_id == "theme_day" && t.step_id == "notice" && t.due_at.and_utc() < utc(2026, 3, 31, 0))
            .collect();
        let poisoned: Vec<_> = notices.iter().filter(|(_, i)| i.subject_key == "unit:JN-LX").collect();
        assert_eq!(poisoned.len(), 1, "{notices:?}");
        let (bad, _) = poisoned[0];
        assert_eq!(bad.state, "failed", "{bad:?}");
        assert_eq!(bad.attempts, 3, "{bad:?}");
        assert!(bad.last_error.as_deref().unwrap_or("").contains("superior_unit"), "{bad:?}");
        assert_eq!(failed, 1);
        for (t, i) in notices.iter().filter(|(_, i)| i.subject_key != "unit:JN-LX") {
            assert_eq!(t.state, "done", "{} {}: {t:?}", i.subject_key, t.step_id);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
