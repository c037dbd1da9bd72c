use crate::support::{Kind, TestDb, duban, run};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Starts `duban serve --demo` on a free port and returns the child and its address.
fn start_serve(db_url: &str) -> (Child, String, std::thread::JoinHandle<Vec<String>>) {
    start_serve_with(db_url, &[])
}

/// [`start_serve`] with more settings in the environment.
fn start_serve_with(
    db_url: &str,
    env: &[(&str, String)],
) -> (Child, String, std::thread::JoinHandle<Vec<String>>) {
    let mut child = duban(db_url)
        .args(["serve", "--demo"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("DUBAN__HTTP__BIND", "127.0.0.1:0")
        .env("DUBAN__LOG__FORMAT", "json")
        .env("DUBAN__LOG__FILTER", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn duban serve");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["message"] == "duban is serving"
            {
                let _ = tx.send(v["address"].as_str().unwrap_or_default().to_string());
            }
            lines.push(line);
        }
        lines
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("duban serve did not start");
    (child, addr, reader)
}

fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let status = buf.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "duban serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_answers_healthz_and_stops_on_sigterm() {
    let db = TestDb::create(Kind::Sqlite).await.unwrap();
    let (mut child, addr, reader) = start_serve(&db.url);
    let (status, body) = http_get(&addr, "/healthz");
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "sqlite");
    assert!(
        health["schema_version"]
            .as_str()
            .unwrap()
            .starts_with("m2026")
    );
    // The demo register's chains are planned before the server listens.
    let (status, metrics) = http_get(&addr, "/metrics");
    assert_eq!(status, 200, "{metrics}");
    let gauge = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{metrics}"))
    };
    assert!(gauge("duban_timers_pending") > 1000.0, "{metrics}");
    assert_eq!(gauge("duban_timers_failed"), 0.0, "{metrics}");
    let exit = terminate(&mut child);
    assert!(exit.success(), "{exit:?}");
    let log = reader.join().unwrap();
    assert!(
        log.iter().any(|l| l.contains("demo register loaded")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("demo members loaded")),
        "{log:?}"
    );
    assert!(log.iter().any(|l| l.contains("shutting down")), "{log:?}");

    let store = db.store().await;
    let (orgs, units, people) = store.register_counts().await.unwrap();
    assert!(
        // Each unit's secretary, and the three members of the demo roster who gave a contact.
        orgs >= 200 && units >= 100 && people == units + 3,
        "{orgs} {units} {people}"
    );

    // A second start finds the register filled and leaves it alone.
    let (mut child, addr, reader) = start_serve(&db.url);
    assert_eq!(http_get(&addr, "/healthz").0, 200);
    assert!(terminate(&mut child).success());
    let log = reader.join().unwrap();
    assert!(
        log.iter()
            .any(|l| l.contains("the demo data is not loaded")),
        "{log:?}"
    );
    assert_eq!(
        store.register_counts().await.unwrap(),
        (orgs, units, people)
    );
    db.drop_db().await;
}

#[test]
fn config_prints_the_effective_settings_with_the_password_redacted() {
    let (out, stdout, stderr) =
        run(duban("postgres://duban:s3cret@db.internal:5432/duban").args(["config"]));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("postgres://duban:****@db.internal:5432/duban"),
        "{stdout}"
    );
    assert!(!stdout.contains("s3cret"));
    assert!(stdout.contains("[http]"));
}

#[test]
fn a_bad_config_value_names_the_key_and_its_source() {
    let (out, _, stderr) = run(duban("sqlite::memory:")
        .env("DUBAN__HTTP__BIND", "not-an-address")
        .args(["config"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("http.bind"), "{stderr}");
    assert!(stderr.contains("environment"), "{stderr}");
}

/// The counters of `/metrics` move as the engine fires timers and the dispatcher sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_engine_fired_and_sent() {
    let db = TestDb::create(Kind::Sqlite).await.unwrap();
    let dir = std::env::temp_dir().join(format!("duban-metrics-{}", uuid::Uuid::now_v7()));
    let (mut child, addr, reader) = start_serve_with(
        &db.url,
        &[
            ("DUBAN__ENGINE__TICK_SECONDS", "1".into()),
            // Whatever the hour and the day the test runs at, messages may leave now.
            ("DUBAN__QUIET_HOURS__SMS__FROM", "00:00".into()),
            ("DUBAN__QUIET_HOURS__SMS__UNTIL", "24:00".into()),
            ("DUBAN__QUIET_HOURS__SMS__WORKING_DAYS_ONLY", "false".into()),
            ("DUBAN__QUIET_HOURS__EMAIL__FROM", "00:00".into()),
            ("DUBAN__QUIET_HOURS__EMAIL__UNTIL", "24:00".into()),
            (
                "DUBAN__QUIET_HOURS__EMAIL__WORKING_DAYS_ONLY",
                "false".into(),
            ),
            (
                "DUBAN__NOTIFY__EMAIL__EML_DIR",
                dir.join("outbox").display().to_string(),
            ),
            (
                "DUBAN__NOTIFY__SMS__LOG_FILE",
                dir.join("sms.log").display().to_string(),
            ),
        ],
    );
    let counter = |metrics: &str, name: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.strip_prefix(name))
            .filter_map(|rest| rest.rsplit(' ').next()?.trim().parse::<f64>().ok())
            .sum()
    };
    // The demo register has terms long past their end: their reminders are due now.
    let deadline = Instant::now() + Duration::from_secs(90);
    let metrics = loop {
        let (status, metrics) = http_get(&addr, "/metrics");
        assert_eq!(status, 200);
        if counter(&metrics, "duban_timers_fired_total") > 0.0
            && counter(&metrics, "duban_messages_sent_total") > 0.0
        {
            break metrics;
        }
        assert!(
            Instant::now() < deadline,
            "nothing fired or sent:\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(
        counter(&metrics, "duban_messages_dead_total"),
        0.0,
        "{metrics}"
    );
    assert!(terminate(&mut child).success());
    reader.join().unwrap();
    let sent = std::fs::read_to_string(dir.join("sms.log")).unwrap_or_default();
    let emails = std::fs::read_dir(dir.join("outbox"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        !sent.is_empty() || emails > 0,
        "the messages counted were written"
    );
    std::fs::remove_dir_all(&dir).ok();
    db.drop_db().await;
}

/// An SMS provider that sends only approved templates: `serve` refuses to start while a
/// step has none, naming each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_to_start_when_sms_steps_have_no_provider_template() {
    let db = TestDb::create(Kind::Sqlite).await.unwrap();
    let (out, stdout, stderr) = run(duban(&db.url)
        .args(["serve"])
        .env("DUBAN__HTTP__BIND", "127.0.0.1:0")
        .env("DUBAN__NOTIFY__SMS__PROVIDER", "aliyun"));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("the SMS provider has no template for some steps"),
        "{stderr}"
    );
    assert!(
        stderr.contains("SMS of term_expiry.remind_6mo has no provider template: map [notify.sms.templates.\"term_expiry.remind_6mo\"]"),
        "{stderr}"
    );
    db.drop_db().await;
}
