use crate::support::{Kind, TestDb, duban, run};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Starts `duban serve --demo` on a free port and returns the child and its address.
fn start_serve(db_url: &str) -> (Child, String, std::thread::JoinHandle<Vec<String>>) {
    let mut child = duban(db_url)
        .args(["serve", "--demo"])
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
    assert!(log.iter().any(|l| l.contains("shutting down")), "{log:?}");

    let store = db.store().await;
    let (orgs, units, people) = store.register_counts().await.unwrap();
    assert!(
        orgs >= 200 && units >= 100 && people == units,
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
