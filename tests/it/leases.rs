//! Several nodes on one database, counted where it matters: at a slow local SMS gateway that
//! records every request it receives per outbox id.
//!
//! - two dispatchers whose passes (and batches) last longer than the lease send every message
//!   exactly once: leases run from each claim and are renewed while the batch is worked on;
//! - a `duban dispatch` process killed with SIGKILL mid-batch: another node takes its messages
//!   over after the lease, repeats at most the ones in flight (the send concurrency), and the
//!   delivery log marks those attempts `uncertain`;
//! - three `duban migrate up` started together on an empty database all succeed and the schema
//!   is migrated once.

use crate::dispatch::{TempDir, enqueue, message, rules};
use crate::support::duban;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use chrono::{Duration, Utc};
use duban_engine::dispatch::{DispatchConfig, DispatchReport, Dispatcher};
use duban_notify::settings::{SmsProvider, WebhookSettings};
use duban_notify::{MapSecrets, NotifySettings};
use duban_store::Store;
use duban_store::engine::NewOutbox;
use duban_store::outbox::{delivery_status, outbox_state};
use duban_workflow::QuietHours;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Instant;

const SECRET: &str = "webhook-test-secret";

/// A local SMS webhook that answers after `delay` and counts the requests per outbox id.
struct SlowGateway {
    addr: SocketAddr,
    seen: Arc<Mutex<HashMap<String, usize>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct GatewayState {
    seen: Arc<Mutex<HashMap<String, usize>>>,
    delay: std::time::Duration,
}

async fn receive(
    State(s): State<GatewayState>,
    headers: HeaderMap,
) -> axum::Json<serde_json::Value> {
    let id = headers
        .get("x-duban-outbox-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Counted on arrival: a request whose sender dies while waiting has still been received.
    *s.seen.lock().unwrap().entry(id.clone()).or_default() += 1;
    tokio::time::sleep(s.delay).await;
    axum::Json(serde_json::json!({"message_id": format!("gw-{id}")}))
}

impl SlowGateway {
    async fn start(delay: std::time::Duration) -> Self {
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let app = axum::Router::new()
            .route("/sms", post(receive))
            .with_state(GatewayState {
                seen: seen.clone(),
                delay,
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        SlowGateway { addr, seen, task }
    }

    fn url(&self) -> String {
        format!("http://{}/sms", self.addr)
    }

    fn counts(&self) -> HashMap<String, usize> {
        self.seen.lock().unwrap().clone()
    }

    fn total(&self) -> usize {
        self.seen.lock().unwrap().values().sum()
    }
}

impl Drop for SlowGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn webhook_settings(gw: &SlowGateway, dir: &TempDir) -> NotifySettings {
    let mut s = NotifySettings::default();
    s.email.eml_dir = dir.0.join("outbox");
    s.sms.log_file = dir.0.join("sms.log");
    s.sms.provider = SmsProvider::Webhook;
    s.sms.timeout_secs = 30;
    s.sms.webhook = Some(WebhookSettings {
        url: gw.url(),
        ..Default::default()
    });
    s
}

fn node(store: &Store, s: NotifySettings, name: &str, lease: Duration, batch: u64) -> Dispatcher {
    let notifier = s
        .build(&MapSecrets::new([("DUBAN_SMS_WEBHOOK_SECRET", SECRET)]))
        .expect("notifier");
    let config = DispatchConfig {
        node_id: name.into(),
        batch_size: batch,
        lease,
        concurrency: 4,
    };
    Dispatcher::new(
        store.clone(),
        notifier,
        s,
        rules(QuietHours::none()),
        config,
        11,
    )
    .expect("dispatcher")
}

/// `n` urgent text messages to `n` different numbers, due now.
fn texts(n: usize) -> Vec<NewOutbox> {
    let now = Utc::now();
    (0..n)
        .map(|i| {
            let mut m = message(
                &format!("lease-{i}"),
                "sms",
                &format!("1390000{i:04}"),
                &format!("第{i}党支部换届提醒"),
                now,
            );
            m.urgent = true;
            m
        })
        .collect()
}

async fn deliveries_by_status(store: &Store) -> HashMap<String, usize> {
    let mut by = HashMap::new();
    for m in store.outbox_messages().await.unwrap() {
        for d in store.deliveries_of(m.id).await.unwrap() {
            *by.entry(d.status).or_default() += 1;
        }
    }
    by
}

backend_tests! {
    async fn two_nodes_whose_passes_outlast_the_lease_send_every_message_once(db) {
        duban_notify::install_crypto_provider();
        const N: usize = 240;
        let store = db.store().await;
        let dir = TempDir::new("leases-two");
        // 100 ms a request, 4 at a time: a batch of 100 takes 2.5 s, a pass longer still;
        // the lease is 2 s.
        let gw = SlowGateway::start(std::time::Duration::from_millis(100)).await;
        let lease = Duration::seconds(2);
        enqueue(&store, &texts(N), Utc::now()).await;
        let a = node(&store, webhook_settings(&gw, &dir), "node-a", lease, 100);
        let b = node(&store, webhook_settings(&gw, &dir), "node-b", lease, 100);

        let started = Instant::now();
        let pass = |d: Dispatcher| tokio::spawn(async move {
            let t = Instant::now();
            let r = d.dispatch(Utc::now()).await.expect("dispatch");
            (r, t.elapsed())
        });
        let ta = pass(a);
        // node-b starts once node-a's first claim would have run out had it not been renewed
        // (node-a is still sending that batch).
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let tb = pass(b);
        let (ra, da): (DispatchReport, _) = ta.await.unwrap();
        let (rb, dbb): (DispatchReport, _) = tb.await.unwrap();
        eprintln!(
            "{:?}: node-a sent {} in {:?}, node-b sent {} in {:?}, {} requests at the gateway in {:?}",
            db.kind, ra.sent, da, rb.sent, dbb, gw.total(), started.elapsed()
        );
        assert!(da > std::time::Duration::from_secs(3), "node-a's pass outlasted its lease: {da:?}");

        let counts = gw.counts();
        let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "sent more than once: {twice:?}");
        assert_eq!(counts.len(), N, "every message reached the gateway");
        assert_eq!(ra.sent + rb.sent, N as u64, "{ra:?} {rb:?}");
        assert_eq!(ra.lost + rb.lost, 0, "{ra:?} {rb:?}");
        assert!(ra.sent > 0 && rb.sent > 0, "both nodes worked: {ra:?} {rb:?}");
        let rows = store.outbox_messages().await.unwrap();
        assert!(rows.iter().all(|r| r.state == outbox_state::SENT && r.attempts == 1));
        assert_eq!(deliveries_by_status(&store).await, HashMap::from([("sent".to_string(), N)]));
    }

    async fn a_dispatcher_killed_mid_batch_repeats_at_most_the_messages_in_flight(db) {
        duban_notify::install_crypto_provider();
        const N: usize = 64;
        // `duban dispatch` sends 8 at a time (no SMTP pool configured).
        const CONCURRENCY: usize = 8;
        let store = db.store().await;
        let dir = TempDir::new("leases-kill");
        let gw = SlowGateway::start(std::time::Duration::from_millis(250)).await;
        enqueue(&store, &texts(N), Utc::now()).await;

        let mut doomed = duban(&db.url)
            .args(["dispatch"])
            .env("DUBAN__ENGINE__NODE_ID", "doomed")
            .env("DUBAN__ENGINE__DISPATCH_LEASE_SECONDS", "3")
            .env("DUBAN__NOTIFY__SMS__PROVIDER", "webhook")
            .env("DUBAN__NOTIFY__SMS__WEBHOOK__URL", gw.url())
            .env("DUBAN__NOTIFY__SMS__TIMEOUT_SECS", "30")
            .env("DUBAN_SMS_WEBHOOK_SECRET", SECRET)
            .env("DUBAN__NOTIFY__EMAIL__EML_DIR", dir.0.join("outbox"))
            .env("DUBAN__NOTIFY__SMS__LOG_FILE", dir.0.join("sms.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        while gw.total() < 20 {
            assert!(doomed.try_wait().unwrap().is_none(), "the node finished before it could be killed");
            assert!(Instant::now() < deadline, "the node never sent");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let pid = doomed.id().to_string();
        assert!(std::process::Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
        doomed.wait().unwrap();
        let at_kill = gw.total();
        let recorded = deliveries_by_status(&store).await.get("sent").copied().unwrap_or(0);
        assert!(recorded > 0 && recorded < N, "results were recorded as they came: {recorded}");
        let rows = store.outbox_messages().await.unwrap();
        let begun = rows.iter().filter(|r| r.send_started_at.is_some()).count();
        assert!(begun <= CONCURRENCY, "{begun} messages marked in flight");

        // Within the lease nobody touches the dead node's messages; after it, another node does.
        let survivor = node(&store, webhook_settings(&gw, &dir), "survivor", Duration::seconds(3), 100);
        assert_eq!(survivor.dispatch(Utc::now()).await.unwrap().claimed, 0, "the lease holds");
        tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
        let r = survivor.dispatch(Utc::now()).await.unwrap();
        assert_eq!(r.sent as usize, N - recorded, "{r:?}");

        let counts = gw.counts();
        let repeated: Vec<(&String, &usize)> = counts.iter().filter(|(_, n)| **n > 1).collect();
        let statuses = deliveries_by_status(&store).await;
        let uncertain = statuses.get(delivery_status::UNCERTAIN).copied().unwrap_or(0);
        eprintln!(
            "{:?}: killed after {at_kill} requests ({recorded} recorded, {begun} in flight); \
             {} repeated at the gateway, {uncertain} logged uncertain",
            db.kind,
            repeated.len()
        );
        assert_eq!(counts.len(), N, "every message arrived");
        assert!(counts.values().all(|n| *n <= 2), "{counts:?}");
        assert!(repeated.len() <= CONCURRENCY, "{} repeated: {repeated:?}", repeated.len());
        assert!(uncertain <= CONCURRENCY && uncertain >= repeated.len(), "{statuses:?}");
        let rows = store.outbox_messages().await.unwrap();
        assert!(rows.iter().all(|r| r.state == outbox_state::SENT), "all sent in the end");
        for (id, _) in &repeated {
            let id: i64 = id.parse().unwrap();
            let log = store.deliveries_of(id).await.unwrap();
            let seen: Vec<(i32, &str, &str)> =
                log.iter().map(|l| (l.attempt, l.status.as_str(), l.node.as_str())).collect();
            assert_eq!(seen, [(1, "uncertain", "doomed"), (2, "sent", "survivor")], "outbox {id}");
            assert!(log[0].error.as_deref().unwrap_or("").contains("sent again"), "{log:?}");
        }
        // Messages the dead node had claimed but not begun keep their first attempt.
        let firsts = rows.iter().filter(|r| r.attempts == 1).count();
        assert_eq!(firsts, N - uncertain);

        // The delivery list shows the uncertain attempts in words.
        let (out, stdout, stderr) = crate::support::run(
            duban(&db.url).args(["deliveries", "list", "--status", "uncertain", "--format", "json"]),
        );
        assert!(out.status.success(), "{stderr}");
        let listed: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
        assert_eq!(listed.len(), uncertain);
        assert!(listed.iter().all(|r| r["error"].as_str().unwrap().contains("outcome unknown")), "{listed:?}");
    }

    async fn three_migrators_started_together_all_succeed_and_migrate_once(db) {
        let children: Vec<_> = (0..3)
            .map(|_| {
                duban(&db.url)
                    .args(["migrate", "up"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let store = Store::connect(&db.url, &Default::default()).await.unwrap();
        let all = store.migrations().await.unwrap();
        assert!(all.iter().all(|m| m.applied), "{all:?}");
        use sea_orm::{ConnectionTrait, Statement};
        let conn = db.connect().await;
        let row = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT COUNT(*) FROM seaql_migrations".to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<i64>(0).unwrap() as usize, all.len(), "each migration recorded once");
        store.close().await.unwrap();
    }
}
