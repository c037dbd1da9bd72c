//! The dispatcher end to end: outbox rows → policy → channels → delivery log, on every
//! backend, and 1,000 reminders through a real SMTP server (aiosmtpd) with a 30-second outage.

use crate::engine::utc;
use crate::support::{TestDb, repo};
use anyhow::{Context, Result};
use chrono::{DateTime, Duration, TimeZone, Utc};
use duban_engine::Rules;
use duban_engine::dispatch::{DispatchConfig, Dispatcher};
use duban_notify::settings::{SmtpSecurity, SmtpSettings};
use duban_notify::testing::{SinkOptions, SmtpSink, free_port};
use duban_notify::{MapSecrets, NotifySettings};
use duban_store::Store;
use duban_store::engine::NewOutbox;
use duban_store::outbox::outbox_state;
use duban_workflow::QuietHours;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "duban-dispatch-{tag}-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn rules(quiet: QuietHours) -> Arc<Rules> {
    Arc::new(
        Rules::load(
            &repo().join("workflows"),
            &repo().join("config/calendar"),
            quiet,
            "【组织部】",
        )
        .expect("shipped workflows load"),
    )
}

/// Beijing time as UTC.
fn bj(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Settings that write email to `.eml` files and SMS to a log under `dir`.
pub(crate) fn file_settings(dir: &TempDir) -> NotifySettings {
    let mut s = NotifySettings::default();
    s.email.from = "督办提醒 <duban@duban.test>".into();
    s.email.message_id_domain = Some("duban.test".into());
    s.email.eml_dir = dir.0.join("outbox");
    s.sms.log_file = dir.0.join("sms.log");
    s
}

pub(crate) fn dispatcher(
    store: &Store,
    s: NotifySettings,
    quiet: QuietHours,
    node: &str,
) -> Dispatcher {
    let notifier = s.build(&MapSecrets::default()).expect("notifier");
    let config = DispatchConfig {
        node_id: node.into(),
        batch_size: 100,
        lease: Duration::seconds(60),
        concurrency: 8,
    };
    Dispatcher::new(store.clone(), notifier, s, rules(quiet), config, 7).expect("dispatcher")
}

pub(crate) fn message(
    key: &str,
    channel: &str,
    address: &str,
    subject: &str,
    not_before: DateTime<Utc>,
) -> NewOutbox {
    NewOutbox {
        idempotency_key: key.into(),
        instance_id: None,
        timer_id: None,
        person_id: None,
        role: "secretary".into(),
        channel: channel.into(),
        address: address.into(),
        subject: subject.into(),
        body: format!("{subject}。请及时办理。"),
        html: None,
        not_before,
        urgent: false,
        template: None,
        params: None,
    }
}

pub(crate) async fn enqueue(store: &Store, msgs: &[NewOutbox], now: DateTime<Utc>) {
    let tx = store.begin_write().await.unwrap();
    for m in msgs {
        tx.enqueue(m, now).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// An SMS webhook that refuses a text starting 拒收 (400), throttles one starting 限流 (429)
/// and accepts the rest, keeping every text it was sent.
struct PickyGateway {
    addr: std::net::SocketAddr,
    texts: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl PickyGateway {
    async fn start() -> Self {
        use axum::http::StatusCode;
        let texts: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let seen = texts.clone();
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |body: axum::Json<serde_json::Value>| {
                let seen = seen.clone();
                async move {
                    let text = body["text"].as_str().unwrap_or_default().to_string();
                    seen.lock().unwrap().push(text.clone());
                    let id = body["id"].as_str().unwrap_or_default().to_string();
                    if text.contains("拒收") {
                        (
                            StatusCode::BAD_REQUEST,
                            axum::Json(serde_json::json!({"error": "template"})),
                        )
                    } else if text.contains("限流") {
                        (
                            StatusCode::TOO_MANY_REQUESTS,
                            axum::Json(serde_json::json!({"error": "busy"})),
                        )
                    } else {
                        (
                            StatusCode::OK,
                            axum::Json(serde_json::json!({"message_id": format!("gw-{id}")})),
                        )
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        PickyGateway { addr, texts, task }
    }

    fn url(&self) -> String {
        format!("http://{}/sms", self.addr)
    }

    fn received(&self) -> Vec<String> {
        self.texts.lock().unwrap().clone()
    }
}

impl Drop for PickyGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

backend_tests! {
    async fn a_reminder_due_at_23_leaves_at_8_on_the_next_working_day(db) {
        let store = db.store().await;
        let dir = TempDir::new("quiet");
        let d = dispatcher(&store, file_settings(&dir), QuietHours::default(), "node-1");
        // Friday 2025-03-07 23:00 in Beijing; the next working day is Monday 03-10.
        let due = bj(2025, 3, 7, 23, 0);
        enqueue(&store, &[message("q1", "email", "zhang@example.cn", "换届提醒：第一党支部", due)], due).await;

        let r = d.dispatch(due).await.unwrap();
        assert_eq!((r.claimed, r.deferred, r.sent), (1, 1, 0));
        for at in [bj(2025, 3, 8, 10, 0), bj(2025, 3, 10, 7, 59)] {
            let r = d.dispatch(at).await.unwrap();
            assert_eq!(r.claimed, 0, "nothing leaves at {at}");
        }
        let monday = bj(2025, 3, 10, 8, 0);
        let r = d.dispatch(monday).await.unwrap();
        assert_eq!((r.claimed, r.sent), (1, 1));
        let row = &store.outbox_messages().await.unwrap()[0];
        assert_eq!(row.state, outbox_state::SENT);
        assert_eq!(row.sent_at.unwrap().and_utc(), monday);
        assert_eq!(row.attempts, 1, "a deferral is not an attempt");
        let log = store.deliveries_of(row.id).await.unwrap();
        let statuses: Vec<&str> = log.iter().map(|l| l.status.as_str()).collect();
        assert_eq!(statuses, ["deferred", "sent"]);
        assert_eq!(files_in(&dir.0.join("outbox")), 1);
    }

    async fn ten_reminders_held_overnight_arrive_as_one_message(db) {
        let store = db.store().await;
        let dir = TempDir::new("digest");
        let d = dispatcher(&store, file_settings(&dir), QuietHours::default(), "node-1");
        // Written at 22:00 on Tuesday, held until 08:00 on Wednesday.
        let written = bj(2025, 3, 4, 22, 0);
        let morning = bj(2025, 3, 5, 8, 0);
        let mut msgs = Vec::new();
        for i in 0..10 {
            msgs.push(message(&format!("s{i}"), "sms", "13812348000", &format!("第{i}党支部换届提醒"), morning));
            msgs.push(message(&format!("e{i}"), "email", "li@example.cn", &format!("第{i}党支部换届提醒"), morning));
        }
        // Someone else's single reminder is not merged.
        msgs.push(message("other", "email", "wang@example.cn", "第一党支部换届提醒", morning));
        enqueue(&store, &msgs, written).await;

        assert_eq!(d.dispatch(written).await.unwrap().claimed, 0);
        let r = d.dispatch(morning).await.unwrap();
        assert_eq!((r.claimed, r.merged, r.digests, r.sent), (21, 20, 2, 3), "{r:?}");

        let rows = store.outbox_messages().await.unwrap();
        let digests: Vec<_> = rows.iter().filter(|r| r.idempotency_key.starts_with("digest:")).collect();
        assert_eq!(digests.len(), 2);
        for dg in &digests {
            assert_eq!(dg.state, outbox_state::SENT);
            let merged = rows.iter().filter(|r| r.digest_of == Some(dg.id)).count();
            assert_eq!(merged, 10);
            assert!(dg.body.contains("您有10项督办提醒"), "{}", dg.body);
        }
        assert!(rows.iter().filter(|r| r.digest_of.is_some()).all(|r| r.state == outbox_state::MERGED));
        // One email for li, one for wang; one SMS line.
        assert_eq!(files_in(&dir.0.join("outbox")), 2);
        let log = std::fs::read_to_string(dir.0.join("sms.log")).unwrap();
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(!log.contains("13812348000"), "numbers are masked in the SMS log");
    }

    async fn a_duplicate_inside_the_window_is_dropped(db) {
        let store = db.store().await;
        let dir = TempDir::new("dedupe");
        let d = dispatcher(&store, file_settings(&dir), QuietHours::none(), "node-1");
        let t = utc(2025, 3, 5, 2);
        enqueue(&store, &[message("a", "email", "zhang@example.cn", "换届提醒", t)], t).await;
        assert_eq!(d.dispatch(t).await.unwrap().sent, 1);
        let later = t + Duration::hours(1);
        enqueue(&store, &[message("b", "email", "Zhang@example.cn", "换届提醒", later)], later).await;
        let r = d.dispatch(later).await.unwrap();
        assert_eq!((r.sent, r.dropped), (0, 1));
        let after_window = t + Duration::hours(13);
        enqueue(&store, &[message("c", "email", "zhang@example.cn", "换届提醒", after_window)], after_window).await;
        assert_eq!(d.dispatch(after_window).await.unwrap().sent, 1);
    }

    async fn the_last_retry_parks_a_dead_letter_that_can_be_resent(db) {
        let store = db.store().await;
        let dir = TempDir::new("dead");
        let mut s = file_settings(&dir);
        // Nobody listens on this port: every attempt is a transient failure.
        s.email.smtp = Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port: Some(free_port().unwrap()),
            security: SmtpSecurity::None,
            timeout_secs: 2,
            ..Default::default()
        });
        s.retry.max_attempts = 3;
        s.retry.base_delay_secs = 60;
        let failing = dispatcher(&store, s, QuietHours::none(), "node-1");
        let t = utc(2025, 3, 5, 2);
        enqueue(&store, &[message("x", "email", "zhao@example.cn", "整改提醒", t)], t).await;
        let r = failing.dispatch(t).await.unwrap();
        assert_eq!(r.retried, 1);
        // The retry waits for its backoff.
        assert_eq!(failing.dispatch(t + Duration::seconds(20)).await.unwrap().claimed, 0);
        assert_eq!(failing.dispatch(t + Duration::hours(1)).await.unwrap().retried, 1);
        assert_eq!(failing.dispatch(t + Duration::hours(2)).await.unwrap().dead, 1);
        assert_eq!(failing.dispatch(t + Duration::hours(3)).await.unwrap().claimed, 0);

        let dead = store.dead_letters().await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].message.state, outbox_state::DEAD);
        assert!(dead[0].message.last_error.is_some());
        let id = dead[0].message.id;
        assert!(!resend(&store, id + 1000, t).await, "no such message");

        let working = dispatcher(&store, file_settings(&dir), QuietHours::none(), "node-1");
        let t2 = t + Duration::hours(4);
        assert!(resend(&store, id, t2).await);
        assert!(!resend(&store, id, t2).await, "already queued");
        assert_eq!(working.dispatch(t2).await.unwrap().sent, 1);
        let statuses: Vec<String> = store.deliveries_of(id).await.unwrap().into_iter().map(|l| l.status).collect();
        assert_eq!(statuses, ["transient", "transient", "dead", "sent"]);
        assert!(store.dead_letters().await.unwrap().is_empty());
        let listed = store
            .list_deliveries(&duban_store::outbox::DeliveryFilter { status: Some("dead".into()), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].address, "zhao@example.cn");
        assert!(store
            .list_deliveries(&duban_store::outbox::DeliveryFilter { status: Some("bogus".into()), ..Default::default() })
            .await
            .is_err());
    }

    async fn a_refused_send_gives_its_rate_limit_slot_back_and_a_throttled_one_keeps_it(db) {
        let store = db.store().await;
        let dir = TempDir::new("slot");
        let gw = PickyGateway::start().await;
        let mut s = file_settings(&dir);
        s.sms.provider = duban_notify::settings::SmsProvider::Webhook;
        s.sms.webhook = Some(duban_notify::settings::WebhookSettings { url: gw.url(), ..Default::default() });
        // Three a day for each recipient; a routine message leaves the last one to urgent ones.
        s.limits.insert(
            "webhook".into(),
            vec![duban_notify::policy::LimitRule {
                scope: duban_notify::policy::Scope::Recipient,
                max: 3,
                window: duban_notify::policy::Window::CalendarDay,
            }],
        );
        let notifier = s
            .build(&MapSecrets::new([("DUBAN_SMS_WEBHOOK_SECRET", "slot-secret")]))
            .expect("notifier");
        let config = DispatchConfig { node_id: "node-1".into(), batch_size: 100, lease: Duration::seconds(60), concurrency: 8 };
        let d = Dispatcher::new(store.clone(), notifier, s, rules(QuietHours::none()), config, 7).unwrap();

        // The gateway refuses the first (a permanent failure): the two others both go today.
        let t = bj(2025, 3, 5, 10, 0);
        let to = "13812348000";
        enqueue(&store, &[
            message("r1", "sms", to, "拒收：换届提醒", t),
            message("r2", "sms", to, "整改提醒", t),
            message("r3", "sms", to, "约谈通知", t),
        ], t).await;
        let r = d.dispatch(t).await.unwrap();
        assert_eq!((r.claimed, r.sent, r.failed, r.deferred), (3, 2, 1, 0), "{r:?}");
        assert_eq!(gw.received().len(), 3);

        // The next day the gateway throttles the first: whether it counted is unknown, so its
        // slot stays taken and the third waits for tomorrow.
        let t2 = bj(2025, 3, 6, 10, 0);
        enqueue(&store, &[
            message("t1", "sms", to, "限流：换届提醒", t2),
            message("t2", "sms", to, "整改进度提醒", t2),
            message("t3", "sms", to, "约谈记录提醒", t2),
        ], t2).await;
        let r = d.dispatch(t2).await.unwrap();
        assert_eq!((r.claimed, r.sent, r.retried, r.deferred), (3, 1, 1, 1), "{r:?}");
        assert_eq!(gw.received().len(), 5);
    }

    async fn a_message_in_flight_at_a_crash_is_sent_again_by_another_node_and_logged_twice(db) {
        let store = db.store().await;
        let dir = TempDir::new("crash");
        let t = utc(2025, 3, 5, 2);
        enqueue(&store, &[
            message("c1", "email", "qian@example.cn", "换届提醒", t),
            message("c2", "email", "sun@example.cn", "整改提醒", t),
        ], t).await;
        // node-1 claims both, begins sending c1 and dies before recording anything.
        let claimed = store.claim_outbox("node-1", t, Duration::seconds(60), 10).await.unwrap();
        assert_eq!(claimed.len(), 2);
        let (c1, c2) = (&claimed[0], &claimed[1]);
        assert!(store.begin_send(c1, "node-1", t, t).await.unwrap());
        assert!(!store.begin_send(c1, "node-2", t, t).await.unwrap(), "only the holder marks a send");
        let d2 = dispatcher(&store, file_settings(&dir), QuietHours::none(), "node-2");
        assert_eq!(d2.dispatch(t + Duration::seconds(30)).await.unwrap().claimed, 0, "the lease holds");
        let r = d2.dispatch(t + Duration::seconds(61)).await.unwrap();
        assert_eq!(r.sent, 2);
        // node-1 comes back: its late result is refused by the fence, and so is a late send.
        assert!(!store.begin_send(c2, "node-1", t, t).await.unwrap());
        let tx = store.begin_write().await.unwrap();
        let ok = tx
            .finish_message(
                c1,
                "node-1",
                &duban_store::outbox::MessageOutcome::Failed { provider: "smtp".into(), error: "late".into() },
                t + Duration::seconds(90),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(!ok);
        // c1 may have left: its first attempt is logged as uncertain, then the second one.
        let log = store.deliveries_of(c1.id).await.unwrap();
        let seen: Vec<(i32, &str, &str)> = log.iter().map(|l| (l.attempt, l.status.as_str(), l.node.as_str())).collect();
        assert_eq!(seen, [(1, "uncertain", "node-1"), (2, "sent", "node-2")]);
        assert!(log[0].error.as_deref().unwrap().contains("outcome unknown"), "{log:?}");
        // c2 never left node-1: it is simply sent, still as its first attempt.
        let log = store.deliveries_of(c2.id).await.unwrap();
        let seen: Vec<(i32, &str, &str)> = log.iter().map(|l| (l.attempt, l.status.as_str(), l.node.as_str())).collect();
        assert_eq!(seen, [(1, "sent", "node-2")]);
        let row = store.outbox_message(c1.id).await.unwrap().unwrap();
        assert_eq!((row.attempts, row.send_started_at), (2, None));
    }
}

fn smtp_subject(i: usize) -> String {
    format!("督办提醒：第{i}党支部换届选举将于2025年3月1日到期")
}

/// 1,000 reminders from the outbox through the dispatcher and lettre into aiosmtpd; the
/// server is stopped for 30 seconds in the middle. Every reminder arrives; a Message-ID
/// appears more than once only for a message whose attempt failed while it was in flight,
/// and never more often than it was attempted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_reminders_reach_a_real_smtp_server_through_a_thirty_second_outage() -> Result<()>
{
    const N: usize = 1000;
    duban_notify::install_crypto_provider();
    let db = TestDb::create(crate::support::Kind::Sqlite)
        .await
        .context("sqlite")?;
    let store = db.store().await;
    let dir = TempDir::new("smtp");
    let sink = Arc::new(tokio::sync::Mutex::new(
        SmtpSink::start(dir.0.join("maildir"), SinkOptions::default()).await?,
    ));
    let port = sink.lock().await.port();
    let mut s = file_settings(&dir);
    s.email.smtp = Some(SmtpSettings {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: SmtpSecurity::None,
        pool_max_size: 8,
        timeout_secs: 3,
        ..Default::default()
    });
    s.retry.max_attempts = 1000;
    s.retry.base_delay_secs = 1;
    s.retry.max_delay_secs = 2;
    let d = dispatcher(&store, s, QuietHours::none(), "node-1");

    let now = Utc::now();
    let msgs: Vec<NewOutbox> = (0..N)
        .map(|i| {
            message(
                &format!("m{i}"),
                "email",
                &format!("secretary{i}@example.cn"),
                &smtp_subject(i),
                now,
            )
        })
        .collect();
    enqueue(&store, &msgs, now).await;

    let outage = {
        let sink = sink.clone();
        tokio::spawn(async move {
            loop {
                let n = sink.lock().await.count().unwrap_or(0);
                if n >= N / 3 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            sink.lock().await.stop().await.expect("stop");
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            sink.lock().await.restart().await.expect("restart");
        })
    };
    let started = std::time::Instant::now();
    loop {
        d.dispatch(Utc::now()).await?;
        let rows = store.outbox_messages().await?;
        if rows.iter().all(|r| r.state == outbox_state::SENT) {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < std::time::Duration::from_secs(300),
            "not all sent in 5 minutes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    outage.await?;

    let received = sink.lock().await.received().await?;
    let mut copies: HashMap<String, usize> = HashMap::new();
    for m in &received {
        *copies.entry(m.message_id.clone()).or_default() += 1;
    }
    let rows = store.outbox_messages().await?;
    assert_eq!(rows.len(), N);
    let mut transient_total = 0;
    for (i, row) in rows.iter().enumerate() {
        let id = format!("<outbox-{}@duban.test>", row.id);
        let n = copies.get(&id).copied().unwrap_or(0);
        assert!(n >= 1, "{id} is missing");
        let log = store.deliveries_of(row.id).await?;
        let sent = log.iter().filter(|l| l.status == "sent").count();
        let failed = log.iter().filter(|l| l.status == "transient").count();
        transient_total += failed;
        assert_eq!(sent, 1, "{id}: {log:?}");
        assert!(
            n <= 1 + failed,
            "{id} arrived {n} times with {failed} failed attempts"
        );
        let m = received.iter().find(|m| m.message_id == id).unwrap();
        assert_eq!(m.subject, smtp_subject(i));
    }
    assert!(transient_total > 0, "the outage was seen");
    assert_eq!(copies.len(), N);
    db.drop_db().await;
    Ok(())
}

backend_tests! {
    async fn the_delivery_log_filters_and_exports_with_addresses_masked(db) {
        use crate::support::{duban, run};
        let dir = TempDir::new("cli");
        let cli = |args: &[&str]| {
            let (out, stdout, stderr) = run(duban(&db.url)
                .env("DUBAN__NOTIFY__EMAIL__EML_DIR", dir.0.join("outbox"))
                .env("DUBAN__NOTIFY__SMS__LOG_FILE", dir.0.join("sms.log"))
                .args(args));
            assert!(out.status.success(), "duban {args:?}:\n{stdout}{stderr}");
            stdout
        };
        let json = |args: &[&str]| -> Vec<serde_json::Value> {
            serde_json::from_str(&cli(&[&["deliveries", "list", "--format", "json"][..], args].concat())).unwrap()
        };
        cli(&["migrate", "up"]);
        cli(&["import", "register", repo().join("tests/fixtures/register/good.csv").to_str().unwrap()]);
        // Months later, every reminder of the overdue chains is due; they leave on a Wednesday morning.
        cli(&["engine", "tick", "--now", "2027-06-01T02:00:00Z"]);
        cli(&["dispatch", "--now", "2027-06-02T01:30:00Z"]);

        let csv = cli(&["deliveries", "list", "--format", "csv"]);
        assert!(csv.starts_with('\u{feff}'), "no BOM");
        assert!(csv.lines().count() > 2, "{csv}");
        assert!(csv.contains(",sent,"), "{csv}");
        for whole in ["13812348000", "13912345678", "wangfang@example.cn", "zhoujg@example.cn"] {
            assert!(!csv.contains(whole), "{whole} appears whole in the export:\n{csv}");
        }
        assert!(csv.contains("138****8000"), "{csv}");

        let all = json(&[]);
        let of_unit = json(&["--unit", "JN-001"]);
        assert!(!of_unit.is_empty(), "{all:?}");
        assert!(of_unit.iter().all(|r| r["unit"].as_str().unwrap().contains("JN-001")), "{of_unit:?}");
        assert!(json(&["--unit", "JN-J01"]).is_empty(), "nothing was sent about JN-J01");
        // The overdue branch's secretary and the committee's secretary were both told.
        let to_wang = json(&["--person", "13812348000"]);
        assert!(!to_wang.is_empty() && to_wang.len() < all.len(), "{all:?}");
        assert!(to_wang.iter().all(|r| ["138****8000", "w***@example.cn"].contains(&r["address"].as_str().unwrap())), "{to_wang:?}");
        let sent = json(&["--status", "sent"]);
        assert!(!sent.is_empty() && sent.iter().all(|r| r["status"] == "sent"), "{sent:?}");
        assert!(json(&["--unit", "NO-SUCH-UNIT"]).is_empty());
    }
}

/// Queues a message again in a transaction of its own.
async fn resend(store: &Store, id: i64, at: chrono::DateTime<chrono::Utc>) -> bool {
    let tx = store.begin_write().await.unwrap();
    let queued = tx.resend(id, at).await.unwrap();
    tx.commit().await.unwrap();
    queued
}
