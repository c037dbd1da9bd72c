//! The funds ledger on every backend: the seeds' figures, concurrent writers against one
//! budget line, idempotent replays, append-only postings, agreement with the in-memory
//! reference book, and hledger agreeing with `duban ledger balance`.

use crate::support::{duban, run};
use chrono::{NaiveDate, Utc};
use duban_core::money::Money;
use duban_core::register::{Formation, RegisterBatch, Unit, UnitLevel};
use duban_ledger::LedgerError;
use duban_ledger::book::Book;
use duban_ledger::budget::{BudgetLineKind, LineId};
use duban_ledger::command::*;
use duban_ledger::config::LedgerConfig;
use duban_ledger::idempotency::IdempotencyKey;
use duban_ledger::model::Approval;
use duban_ledger::period::YearMonth;
use duban_store::ledger::{Executed, LedgerContext};
use duban_store::{Store, StoreError};
use sea_orm::ConnectionTrait;

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn approval() -> Approval {
    Approval::new("部务会 2026-01", d(2025, 12, 30)).unwrap()
}

/// Puts units into the register, each with the date its first term started.
pub async fn register_units(store: &Store, units: &[(String, NaiveDate)]) {
    let batch = RegisterBatch {
        organisations: vec![],
        units: units
            .iter()
            .enumerate()
            .map(|(i, (code, start))| Unit {
                code: code.clone(),
                name: format!("{code} 党支部"),
                level: UnitLevel::Branch,
                formation: Formation::Standalone,
                superior_code: None,
                secretary: None,
                term_start: Some(*start),
                term_end: None,
                last_election: None,
                theme_day: None,
                row: i + 2,
            })
            .collect(),
    };
    store
        .apply_register(&batch, "test", Utc::now(), false)
        .await
        .unwrap();
}

/// A store with a key counter, running commands as the finance officer.
pub struct L {
    pub store: Store,
    pub config: LedgerConfig,
    pub today: NaiveDate,
    n: u64,
    prefix: String,
}

impl L {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            config: LedgerConfig::default(),
            today: d(2026, 12, 31),
            n: 0,
            prefix: "k".into(),
        }
    }

    pub fn envelope(&mut self, command: Command) -> Envelope {
        self.n += 1;
        Envelope {
            key: IdempotencyKey::new(&format!("{}{}", self.prefix, self.n)).unwrap(),
            actor: "finance-li".into(),
            command,
        }
    }

    pub async fn send(&self, env: &Envelope) -> Result<Executed, StoreError> {
        let ctx = LedgerContext {
            config: &self.config,
            now: Utc::now(),
            today: self.today,
        };
        self.store.ledger_execute(&ctx, env).await
    }

    pub async fn run(&mut self, command: Command) -> Result<Outcome, StoreError> {
        let env = self.envelope(command);
        self.send(&env).await.map(|e| e.outcome)
    }

    pub async fn ok(&mut self, command: Command) -> Outcome {
        let name = command.name();
        match self.run(command).await {
            Ok(o) => o,
            Err(e) => panic!("{name}: {e}"),
        }
    }

    pub async fn appropriate(
        &mut self,
        date: NaiveDate,
        line: BudgetLineKind,
        amount: Money,
    ) -> Outcome {
        self.ok(Command::Appropriate(Appropriate {
            date,
            line,
            amount,
            memo: None,
        }))
        .await
    }

    pub async fn allocate(
        &mut self,
        date: NaiveDate,
        line: BudgetLineKind,
        unit: &str,
        amount: Money,
    ) -> Result<Outcome, StoreError> {
        self.run(Command::Allocate(Allocate {
            date,
            line,
            unit: unit.into(),
            purpose: "subsidy".into(),
            amount,
            approval: approval(),
        }))
        .await
    }

    pub async fn headroom(&self, year: i32, kind: BudgetLineKind) -> Money {
        self.store
            .ledger_lines(Some(year))
            .await
            .unwrap()
            .get(&LineId::new(year, kind))
            .copied()
            .unwrap_or_default()
            .available
    }
}

fn refusal(e: StoreError) -> LedgerError {
    match e {
        StoreError::Ledger(l) => l,
        other => panic!("expected a ledger refusal, got {other}"),
    }
}

async fn l_headroom(store: &Store, kind: BudgetLineKind) -> Money {
    store.ledger_lines(Some(2026)).await.unwrap()[&LineId::new(2026, kind)].available
}

async fn count(store: &Store, table: &str) -> i64 {
    let row = store
        .conn()
        .query_one_raw(sea_orm::Statement::from_string(
            store.conn().get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

backend_tests! {
    async fn two_hundred_concurrent_allocations_on_a_line_with_room_for_one_hundred(db) {
        let store = db.store().await;
        register_units(&store, &[("U1".into(), d(2020, 1, 1))]).await;
        let mut l = L::new(store);
        let each = Money::yuan(1_000);
        l.appropriate(d(2026, 1, 5), BudgetLineKind::Other, each.checked_mul(100).unwrap()).await;

        // Watch the line while the writers run: its headroom must never be seen negative.
        let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let watcher = {
            let (store, watching) = (l.store.clone(), watching.clone());
            tokio::spawn(async move {
                let (mut min, mut looks) = (i64::MAX, 0u32);
                while watching.load(std::sync::atomic::Ordering::SeqCst) {
                    let lines = store.ledger_lines(Some(2026)).await.unwrap();
                    min = min.min(lines[&LineId::new(2026, BudgetLineKind::Other)].available.fen());
                    looks += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                (min, looks)
            })
        };

        let (accepted, refused) = match db.kind {
            // SQLite: 200 concurrent tasks in this process, through one pool.
            Kind::Sqlite => {
                let mut tasks = Vec::new();
                for i in 0..200 {
                    let store = l.store.clone();
                    tasks.push(tokio::spawn(async move {
                        let config = LedgerConfig::default();
                        let env = Envelope {
                            key: IdempotencyKey::new(&format!("c{i}")).unwrap(),
                            actor: "t".into(),
                            command: Command::Allocate(Allocate {
                                date: d(2026, 6, 1), line: BudgetLineKind::Other, unit: "U1".into(),
                                purpose: "p".into(), amount: Money::yuan(1_000), approval: approval(),
                            }),
                        };
                        let ctx = LedgerContext { config: &config, now: Utc::now(), today: d(2026, 6, 1) };
                        match store.ledger_execute(&ctx, &env).await {
                            Ok(_) => (1, 0),
                            Err(StoreError::Ledger(LedgerError::OverBudget { .. })) => (0, 1),
                            Err(e) => panic!("allocation {i}: {e}"),
                        }
                    }));
                }
                let mut sums = (0, 0);
                for t in tasks {
                    let (a, r) = t.await.unwrap();
                    sums = (sums.0 + a, sums.1 + r);
                }
                sums
            }
            // PostgreSQL and MariaDB: four `duban` processes, each with four writers.
            _ => {
                let children: Vec<_> = (0..4)
                    .map(|p| {
                        duban(&db.url)
                            .args(["ledger", "bench", "allocations", "--line", "other", "--unit", "U1", "--count", "50",
                                   "--concurrency", "4", "--amount", "1000", "--date", "2026-06-01", "--format", "json"])
                            .args(["--key-prefix", &format!("p{p}")])
                            .stdout(std::process::Stdio::piped())
                            .stderr(std::process::Stdio::piped())
                            .spawn()
                            .unwrap()
                    })
                    .collect();
                let mut sums = (0, 0);
                for child in children {
                    let out = child.wait_with_output().unwrap();
                    let stdout = String::from_utf8_lossy(&out.stdout);
                    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
                    let run: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                    assert_eq!(run["failed"], 0, "{run}");
                    sums = (sums.0 + run["accepted"].as_u64().unwrap(), sums.1 + run["refused"].as_u64().unwrap());
                }
                sums
            }
        };
        watching.store(false, std::sync::atomic::Ordering::SeqCst);
        let (min_seen, looks) = watcher.await.unwrap();
        assert_eq!((accepted, refused), (100, 100));
        assert_eq!(l.headroom(2026, BudgetLineKind::Other).await, Money::ZERO);
        assert!(min_seen >= 0 && looks > 0, "headroom seen at {min_seen} over {looks} looks");
        // Replaying the line's history in commit order: its headroom never went below zero.
        let mut available = 0i64;
        for t in l.store.ledger_journal().await.unwrap() {
            for p in t.txn.postings() {
                if p.account.name() == "budget:2026:other:available" {
                    available += p.amount.fen();
                    assert!(available >= 0, "negative headroom after transaction #{}", t.id);
                }
            }
        }
        assert_eq!(l.store.ledger_allocations(Some(2026), Some("U1")).await.unwrap().len(), 100);
        assert!(l.store.ledger_verify().await.unwrap().is_empty());
    }

    async fn hledger_balance_equals_duban_ledger_balance(db) {
        let store = db.store().await;
        register_units(&store, &[("U1".into(), d(2026, 2, 1)), ("U2".into(), d(2020, 1, 1))]).await;
        let cli = |args: &[&str]| {
            let (out, stdout, stderr) = run(duban(&db.url).args(["ledger"]).args(args).env("DUBAN_TODAY", "2026-12-31"));
            assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
            stdout
        };
        let meeting = ["--meeting", "部务会 2026-01", "--approved-on", "2026-01-04"];
        cli(&["appropriate", "--line", "startup", "--amount", "35.4万", "--date", "2026-01-05", "--key", "h1"]);
        cli(&["appropriate", "--line", "demo-site", "--amount", "¥5,300,000.00", "--date", "2026-01-05", "--key", "h2"]);
        cli(&["appropriate", "--line", "dues-rebate", "--amount", "1000", "--date", "2026-01-05", "--key", "h3"]);
        cli(&[&["allocate-startup", "--formed-in", "2026", "--date", "2026-03-01", "--key", "h4"][..], &meeting].concat());
        cli(&[&["allocate", "--line", "demo-site", "--unit", "U2", "--amount", "10万", "--purpose", "示范点", "--date", "2026-03-02", "--key", "h5"][..], &meeting].concat());
        cli(&["disburse", "--allocation", "2", "--amount", "33,333.33", "--date", "2026-04-01", "--key", "h6"]);
        cli(&["disburse", "--allocation", "1", "--amount", "2000", "--date", "2026-04-01", "--key", "h7"]);
        cli(&["pay", "--line", "startup", "--amount", "0.01", "--payee", "印刷厂", "--purpose", "forms", "--date", "2026-04-02", "--key", "h8"]);
        cli(&["dues", "record", "--unit", "U2", "--month", "2025-12", "--amount", "15.05", "--date", "2025-12-20", "--key", "h9"]);
        cli(&["reverse", "--transaction", "6", "--reason", "wrong amount", "--date", "2026-04-03", "--key", "h10"]);
        for commodity in ["cny", "yuan"] {
            let file = std::env::temp_dir().join(format!("{}-{commodity}.journal", uuid::Uuid::now_v7()));
            cli(&["export", "--format", "hledger", "--commodity", commodity, "--output", file.to_str().unwrap()]);
            let ours: serde_json::Value = serde_json::from_str(&cli(&["balance", "--format", "json"])).unwrap();
            let ours: Vec<(String, String)> = ours["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["account"].as_str().unwrap().to_string(), r["balance"].as_str().unwrap().to_string()))
                .collect();
            let Some(theirs) = hledger_balances(&file) else {
                std::fs::remove_file(&file).ok();
                return;
            };
            assert_eq!(theirs, ours, "{commodity}");
            let text = cli(&["balance", "--commodity", commodity]);
            let hledger_text = std::process::Command::new("hledger")
                .args(["-f", file.to_str().unwrap(), "balance", "--flat"])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&hledger_text.stdout), text, "{commodity}");
            let strict = std::process::Command::new("hledger").args(["-f", file.to_str().unwrap(), "check", "--strict"]).output().unwrap();
            assert!(strict.status.success(), "{}", String::from_utf8_lossy(&strict.stderr));
            std::fs::remove_file(&file).ok();
        }
        assert!(ours_has_every_kind(&store).await);
    }

    async fn the_cli_refuses_with_status_one_and_the_reason(db) {
        let store = db.store().await;
        register_units(&store, &[("U1".into(), d(2020, 1, 1))]).await;
        let ledger = |args: &[&str]| run(duban(&db.url).args(["ledger"]).args(args).env("DUBAN_TODAY", "2026-12-31"));
        let (out, _, err) = ledger(&["appropriate", "--line", "training", "--amount", "1,000.00", "--date", "2026-01-05", "--key", "r1"]);
        assert_eq!(out.status.code(), Some(0), "{err}");
        let alloc = ["allocate", "--line", "training", "--unit", "U1", "--purpose", "课程", "--meeting", "部务会", "--approved-on", "2026-01-04", "--date", "2026-02-01"];
        let (out, stdout, err) = ledger(&[&alloc[..], &["--amount", "1,000.01", "--key", "r2"]].concat());
        assert_eq!(out.status.code(), Some(1), "{stdout}{err}");
        assert!(err.contains("refused: over budget") && err.contains("headroom 1,000.00"), "{err}");
        let (out, _, err) = ledger(&[&alloc[..], &["--amount", "1.234", "--key", "r3"]].concat());
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("--amount") && err.contains("two decimal places"), "{err}");
        let (out, stdout, err) = ledger(&[&alloc[..], &["--amount", "600", "--key", "r4", "--format", "json"]].concat());
        assert_eq!(out.status.code(), Some(0), "{err}");
        let first: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(first["replayed"], false);
        let (out, stdout, _) = ledger(&[&alloc[..], &["--amount", "600", "--key", "r4", "--format", "json"]].concat());
        assert_eq!(out.status.code(), Some(0));
        let again: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!((again["replayed"].clone(), again["transactions"].clone()), (serde_json::json!(true), first["transactions"].clone()));
        let (out, _, err) = ledger(&[&alloc[..], &["--amount", "600.01", "--key", "r4"]].concat());
        assert_eq!(out.status.code(), Some(1));
        assert!(err.contains("already used for a different command"), "{err}");
        // A file of commands with one bad field runs none of them and names the field.
        let file = std::env::temp_dir().join(format!("{}-commands.json", uuid::Uuid::now_v7()));
        let good = serde_json::json!({"key": "f1", "actor": "li", "command": {"command": "appropriate", "date": "2026-02-01", "line": "other", "amount": "5"}});
        let bad = serde_json::json!({"key": "f2", "actor": "li", "command": {"command": "appropriate", "date": "2026-02-01", "line": "other", "amount": "5.001"}});
        std::fs::write(&file, serde_json::to_string(&[good, bad]).unwrap()).unwrap();
        let (out, _, err) = ledger(&["submit", file.to_str().unwrap()]);
        std::fs::remove_file(&file).ok();
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("$[1].command.amount") && err.contains("nothing was run"), "{err}");
        assert!(!store.ledger_lines(Some(2026)).await.unwrap().contains_key(&LineId::new(2026, BudgetLineKind::Other)));
        let (out, _, err) = ledger(&["dues", "calc", "--income", "5001"]);
        assert!(out.status.success(), "{err}");
        let (_, stdout, _) = ledger(&["budget", "--year", "2026"]);
        assert!(stdout.contains("training 教育培训") && stdout.contains("400.00") && stdout.contains("0.00%"), "{stdout}");
    }

    async fn two_hundred_allocate_processes_on_a_line_with_room_for_one_hundred(db) {
        // Real `duban ledger allocate` processes with the default pool settings, fifty at a
        // time: each takes one connection, and none fails for want of one.
        let store = db.store().await;
        register_units(&store, &[("U1".into(), d(2020, 1, 1))]).await;
        let mut l = L::new(store);
        l.appropriate(d(2026, 1, 5), BudgetLineKind::Other, Money::yuan(100_000)).await;
        let (mut accepted, mut refused, mut failed) = (0, 0, Vec::new());
        for wave in 0..4 {
            let children: Vec<_> = (0..50)
                .map(|i| {
                    let key = format!("w{wave}-{i}");
                    duban(&db.url)
                        .args(["ledger", "allocate", "--line", "other", "--unit", "U1", "--purpose", "p", "--amount", "1000",
                               "--meeting", "部务会", "--approved-on", "2026-01-04", "--date", "2026-06-01", "--format", "json", "--key", &key])
                        .env("DUBAN_TODAY", "2026-12-31")
                        .env_remove("DUBAN__DATABASE__MAX_CONNECTIONS")
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            for child in children {
                let out = child.wait_with_output().unwrap();
                let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
                match out.status.code() {
                    Some(0) => accepted += 1,
                    Some(1) => {
                        let body: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
                        if body["code"] == "budget_exceeded" {
                            refused += 1;
                        } else {
                            failed.push(format!("{stdout}{stderr}"));
                        }
                    }
                    _ => failed.push(format!("{:?}: {stdout}{stderr}", out.status.code())),
                }
            }
        }
        assert!(failed.is_empty(), "{} failed, e.g. {}", failed.len(), failed[0]);
        assert_eq!((accepted, refused), (100, 100));
        assert_eq!(l.headroom(2026, BudgetLineKind::Other).await, Money::ZERO);
        let mut available = 0i64;
        for t in l.store.ledger_journal().await.unwrap() {
            for p in t.txn.postings() {
                if p.account.name() == "budget:2026:other:available" {
                    available += p.amount.fen();
                    assert!(available >= 0, "negative headroom after transaction #{}", t.id);
                }
            }
        }
        let (out, stdout, _) = run(duban(&db.url).args(["ledger", "budget", "--year", "2026", "--format", "json"]));
        assert!(out.status.success());
        let budget: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(budget["total"]["headroom"], "0.00", "{budget}");
        assert!(l.store.ledger_verify().await.unwrap().is_empty());
    }

    async fn exit_statuses_refusals_and_all_or_nothing_submit(db) {
        let store = db.store().await;
        register_units(&store, &[("U1".into(), d(2020, 1, 1)), ("U2".into(), d(2020, 1, 1))]).await;
        let ledger = |args: &[&str]| run(duban(&db.url).args(["ledger"]).args(args).env("DUBAN_TODAY", "2026-12-31"));
        let meeting = ["--meeting", "部务会", "--approved-on", "2026-01-04", "--date", "2026-02-01"];
        // 0: done.
        let (out, _, err) = ledger(&["appropriate", "--line", "training", "--amount", "1,000.00", "--date", "2026-01-05", "--key", "e1"]);
        assert_eq!(out.status.code(), Some(0), "{err}");
        // 1: refused by budget control, with the figures as JSON on stdout.
        let alloc = [&["allocate", "--line", "training", "--unit", "U1", "--purpose", "课程"][..], &meeting].concat();
        let (out, stdout, err) = ledger(&[&alloc[..], &["--amount", "1,000.01", "--key", "e2", "--format", "json"]].concat());
        assert_eq!(out.status.code(), Some(1), "{stdout}{err}");
        let body: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(
            (&body["code"], &body["line"], &body["requested"], &body["headroom"], &body["refused"]),
            (&serde_json::json!("budget_exceeded"), &serde_json::json!("2026 training"), &serde_json::json!("1000.01"),
             &serde_json::json!("1000.00"), &serde_json::json!(true)),
            "{body}"
        );
        assert!(err.starts_with("refused: over budget: line 2026 training"), "{err}");
        assert!(!err.contains("refused: refused"), "{err}");
        // 2: bad usage and bad input.
        let (out, _, err) = ledger(&[&alloc[..], &["--amount", "1,000", "--key", "e3", "--no-such-option"]].concat());
        assert_eq!(out.status.code(), Some(2), "{err}");
        let (out, _, err) = ledger(&[&alloc[..], &["--amount", "ten", "--key", "e3"]].concat());
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("--amount"), "{err}");
        let (out, _, err) = ledger(&[&alloc[..], &["--amount", "1", "--key", "a key"]].concat());
        assert_eq!(out.status.code(), Some(2), "{err}");
        // A line whose rate card has only a maximum needs the amount.
        let demo = [&["allocate", "--line", "demo-site", "--unit", "U1", "--purpose", "示范点", "--key", "e4"][..], &meeting].concat();
        let (out, stdout, err) = ledger(&[&demo[..], &["--format", "json"]].concat());
        assert_eq!(out.status.code(), Some(1), "{stdout}{err}");
        assert!(err.contains("up to 100,000.00") && err.contains("--amount"), "{err}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["code"], "rate_card");
        assert_eq!(count(&store, "ledger_allocations").await, 0);
        // A reused key with a different command names what differs.
        let (out, _, err) = ledger(&[&alloc[..], &["--amount", "600", "--key", "e5"]].concat());
        assert_eq!(out.status.code(), Some(0), "{err}");
        let (out, stdout, err) = ledger(&[&alloc[..], &["--amount", "600.01", "--key", "e5", "--format", "json"]].concat());
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(r#"amount: "600.00" then, "600.01" now"#), "{err}");
        let body: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(body["code"], "idempotency_conflict");
        assert_eq!(body["differs"].as_array().map(Vec::len), Some(1), "{body}");
        // A warning is given once; the replay changes nothing and repeats no warning.
        let (out, _, err) = ledger(&[&alloc[..], &["--amount", "350", "--key", "e6"]].concat());
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("warning:"), "{err}");
        let (out, stdout, err) = ledger(&[&alloc[..], &["--amount", "350", "--key", "e6"]].concat());
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(stdout.contains("already done") && !err.contains("warning"), "{stdout}{err}");

        // submit: all or nothing; the third command is refused, so nothing is written.
        let file = std::env::temp_dir().join(format!("{}-commands.json", uuid::Uuid::now_v7()));
        let approve = |key: &str, amount: &str, unit: &str| serde_json::json!({"key": key, "actor": "li", "command": {
            "command": "allocate", "date": "2026-03-01", "line": "other", "unit": unit, "purpose": "p", "amount": amount,
            "approval": {"meeting": "部务会", "date": "2026-01-04"}}});
        let commands = serde_json::json!([
            {"key": "s1", "actor": "li", "command": {"command": "appropriate", "date": "2026-02-01", "line": "other", "amount": "100"}},
            approve("s2", "60", "U1"),
            approve("s3", "60", "U2"),
            approve("s4", "40", "U2"),
        ]);
        std::fs::write(&file, commands.to_string()).unwrap();
        let before = count(&store, "ledger_commands").await;
        let (out, stdout, err) = ledger(&["submit", file.to_str().unwrap(), "--format", "json"]);
        assert_eq!(out.status.code(), Some(1), "{stdout}{err}");
        assert!(err.contains("$[2]") && err.contains("nothing was applied"), "{err}");
        let body: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!((&body["code"], &body["at"]), (&serde_json::json!("budget_exceeded"), &serde_json::json!("$[2]")), "{body}");
        assert_eq!(count(&store, "ledger_commands").await, before);
        assert!(!store.ledger_lines(Some(2026)).await.unwrap().contains_key(&LineId::new(2026, BudgetLineKind::Other)));
        // --continue applies the others and reports the refusal.
        let (out, stdout, err) = ledger(&["submit", file.to_str().unwrap(), "--continue", "--format", "json"]);
        assert_eq!(out.status.code(), Some(1), "{stdout}{err}");
        let results: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let codes: Vec<_> = results.as_array().unwrap().iter().map(|r| r["code"].clone()).collect();
        assert_eq!(codes, vec![serde_json::Value::Null, serde_json::Value::Null, serde_json::json!("budget_exceeded"), serde_json::Value::Null], "{results}");
        assert_eq!(count(&store, "ledger_commands").await, before + 3);
        assert_eq!(l_headroom(&store, BudgetLineKind::Other).await, Money::ZERO);
        // A file that is not JSON: status 2, the line and column.
        std::fs::write(&file, "[{\"key\": ").unwrap();
        let (out, _, err) = ledger(&["submit", file.to_str().unwrap()]);
        std::fs::remove_file(&file).ok();
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(":1:"), "{err}");

        // 3: the database cannot be reached.
        let closed = match db.kind {
            Kind::Postgres => "postgres://root@127.0.0.1:1/test",
            Kind::MySql => "mysql://root@127.0.0.1:1/test",
            Kind::Sqlite => return,
        };
        let started = std::time::Instant::now();
        let (out, _, err) = run(duban(closed).args(["ledger", "budget", "--year", "2026"]));
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains("cannot connect"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    }

    async fn the_seeds_figures_reproduce(db) {
        let mut l = L::new(db.store().await);
        // 济南: 177 units formed in 2026 (and three older ones), 53 demonstration sites, awards.
        let mut units: Vec<(String, NaiveDate)> = (0..180)
            .map(|i| (format!("JN{i:03}"), if i < 177 { d(2026, 1 + (i % 11) as u32, 10) } else { d(2024, 5, 1) }))
            .collect();
        units.extend((0..145).map(|i| (format!("SS{i:03}"), d(2020, 1, 1))));
        units.extend((0..26).map(|i| (format!("LZ{i:02}"), d(2020, 1, 1))));
        register_units(&l.store, &units).await;

        let jan = d(2026, 1, 5);
        l.appropriate(jan, BudgetLineKind::StartUp, Money::yuan(400_000)).await;
        l.appropriate(jan, BudgetLineKind::DemonstrationSite, Money::yuan(5_300_000)).await;
        l.appropriate(jan, BudgetLineKind::StandardisedSite, Money::yuan(4_300_000)).await;

        let plan = l.store.ledger_plan_startup(&l.config, 2026).await.unwrap();
        assert_eq!((plan.count, plan.total), (177, Money::yuan(354_000)));
        let batch = Command::AllocateStartupBatch(AllocateStartupBatch { date: d(2026, 3, 1), formed_in: 2026, approval: approval() });
        let out = l.ok(batch.clone()).await;
        assert_eq!(out.allocations.len(), 177);
        let again = l.ok(batch).await;
        assert!(again.allocations.is_empty(), "a re-run allocates nothing new: {again:?}");

        for i in 0..53 {
            l.allocate(d(2026, 3, 2), BudgetLineKind::DemonstrationSite, &format!("JN{i:03}"), Money::yuan(100_000)).await.unwrap();
        }
        let budget = l.store.ledger_budget(2026).await.unwrap();
        assert_eq!(budget.total.appropriated, Money::yuan(10_000_000));
        assert_eq!(budget.total.committed, Money::yuan(5_654_000));
        assert_eq!(budget.total.headroom, Money::yuan(4_346_000));

        l.ok(Command::Virement(Virement {
            date: d(2026, 5, 1),
            from: BudgetLineKind::StartUp,
            to: BudgetLineKind::StandardisedSite,
            amount: Money::yuan(46_000),
            approval: approval(),
        }))
        .await;
        let mut accepted = 0;
        let refused = loop {
            match l.allocate(d(2026, 6, 1), BudgetLineKind::StandardisedSite, &format!("SS{accepted:03}"), Money::yuan(30_000)).await {
                Ok(_) => accepted += 1,
                Err(e) => break refusal(e),
            }
        };
        assert_eq!(accepted, 144);
        assert!(matches!(refused, LedgerError::OverBudget { headroom, .. } if headroom == Money::yuan(26_000)), "{refused}");
        assert!(refused.to_string().contains("headroom 26,000.00"), "{refused}");
        assert_eq!(l.store.ledger_budget(2026).await.unwrap().total.headroom, Money::yuan(26_000));

        // 泸州 (2025): 6 × 100,000 + 20 × 30,000 = 1,200,000.
        let jan25 = d(2025, 1, 5);
        let ap25 = Approval::new("市委组织部部务会 2025-02", d(2025, 2, 20)).unwrap();
        let luzhou = |line, unit: String, amount| Command::Allocate(Allocate {
            date: d(2025, 3, 1), line, unit, purpose: "阵地建设".into(), amount, approval: ap25.clone(),
        });
        l.appropriate(jan25, BudgetLineKind::DemonstrationSite, Money::yuan(600_000)).await;
        l.appropriate(jan25, BudgetLineKind::StandardisedSite, Money::yuan(600_000)).await;
        for i in 0..6 {
            l.ok(luzhou(BudgetLineKind::DemonstrationSite, format!("LZ{i:02}"), Money::yuan(100_000))).await;
        }
        for i in 6..26 {
            l.ok(luzhou(BudgetLineKind::StandardisedSite, format!("LZ{i:02}"), Money::yuan(30_000))).await;
        }
        let luzhou = l.store.ledger_budget(2025).await.unwrap();
        assert_eq!((luzhou.total.committed, luzhou.total.headroom), (Money::yuan(1_200_000), Money::ZERO));
        assert!(l.store.ledger_verify().await.unwrap().is_empty());
        assert_eq!(l.store.ledger_balances().await.unwrap().total, Money::ZERO);
    }

    async fn postings_and_transactions_cannot_be_changed_or_deleted(db) {
        let mut l = L::new(db.store().await);
        l.appropriate(d(2026, 1, 5), BudgetLineKind::Training, Money::yuan(1_000)).await;
        let conn = l.store.conn();
        for sql in [
            "UPDATE ledger_postings SET amount = amount + 1",
            "DELETE FROM ledger_postings",
            "UPDATE ledger_transactions SET description = 'edited'",
            "DELETE FROM ledger_transactions",
        ] {
            let err = conn.execute_unprepared(sql).await.expect_err(sql).to_string();
            assert!(err.contains("append-only"), "{sql}: {err}");
        }
        // The budget line itself refuses a negative balance or a broken identity.
        for sql in [
            "UPDATE ledger_lines SET available = -1, appropriated = appropriated - available - 1",
            "UPDATE ledger_lines SET available = available + 1",
        ] {
            assert!(conn.execute_unprepared(sql).await.is_err(), "{sql}");
        }
        assert_eq!(l.headroom(2026, BudgetLineKind::Training).await, Money::yuan(1_000));
        assert!(l.store.ledger_verify().await.unwrap().is_empty());
    }

    async fn replaying_every_command_changes_nothing_and_a_changed_amount_is_refused(db) {
        let mut l = L::new(db.store().await);
        register_units(&l.store, &[("U1".into(), d(2020, 1, 1)), ("U2".into(), d(2020, 1, 1))]).await;
        let envelopes = scenario(&mut l);
        let mut first = Vec::new();
        for env in &envelopes {
            let done = l.send(env).await.unwrap_or_else(|e| panic!("{}: {e}", env.command.name()));
            assert!(!done.replayed);
            first.push(done.outcome);
        }
        let before = snapshot(&l.store).await;
        for (env, outcome) in envelopes.iter().zip(&first) {
            let again = l.send(env).await.unwrap();
            assert!(again.replayed, "{}", env.command.name());
            assert_eq!(&again.outcome, outcome);
        }
        assert_eq!(snapshot(&l.store).await, before);
        for env in &envelopes {
            let mut changed = env.clone();
            change(&mut changed.command);
            let e = refusal(l.send(&changed).await.unwrap_err());
            assert!(matches!(e, LedgerError::IdempotencyConflict { .. }), "{}: {e}", env.command.name());
        }
        assert_eq!(snapshot(&l.store).await, before);
    }

    async fn the_store_agrees_with_the_reference_book(db) {
        let store = db.store().await;
        let codes: Vec<(String, NaiveDate)> = (0..6).map(|i| (format!("U{i}"), d(2020, 1, 1))).collect();
        register_units(&store, &codes).await;
        let mut l = L::new(store);
        let mut book = Book::new(LedgerConfig::default()).unwrap();
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let (mut book_allocs, mut store_allocs, mut book_txns, mut store_txns) = (vec![], vec![], vec![], vec![]);
        for step in 0..160 {
            let pick = next(&mut rng);
            let (bc, sc) = random_command(pick, next(&mut rng), &book_allocs, &store_allocs, &book_txns, &store_txns);
            let benv = Envelope { key: IdempotencyKey::new(&format!("b{step}")).unwrap(), actor: "t".into(), command: bc };
            let b = book.execute(&benv, l.today);
            let s = l.run(sc).await;
            match (&b, &s) {
                (Ok(bo), Ok(so)) => {
                    assert_eq!(bo.allocations.len(), so.allocations.len(), "step {step}");
                    assert_eq!(bo.transactions.len(), so.transactions.len(), "step {step}");
                    assert_eq!(bo.headroom, so.headroom, "step {step}");
                    assert_eq!(bo.warnings, so.warnings, "step {step}");
                    book_allocs.extend(&bo.allocations);
                    store_allocs.extend(&so.allocations);
                    book_txns.extend(&bo.transactions);
                    store_txns.extend(&so.transactions);
                }
                (Err(be), Err(StoreError::Ledger(se))) => assert_eq!(be.code(), se.code(), "step {step}: {be} / {se}"),
                _ => panic!("step {step}: book {b:?}, store {s:?}"),
            }
        }
        assert!(store_txns.len() > 40, "too few commands were accepted to mean much: {}", store_txns.len());
        assert_eq!(&l.store.ledger_lines(None).await.unwrap(), book.lines());
        let book_balances = duban_ledger::report::BalanceReport::new(
            duban_ledger::journal::balances(book.journal().iter().map(|p| &p.txn)).unwrap().into_iter().map(|(a, m)| (a.name(), m)),
        );
        assert_eq!(l.store.ledger_balances().await.unwrap(), book_balances.unwrap());
        let stored: Vec<_> = l.store.ledger_allocations(None, None).await.unwrap();
        let reference: Vec<_> = book.allocations().cloned().collect();
        assert_eq!(stored.len(), reference.len());
        for (s, b) in stored.iter().zip(&reference) {
            assert_eq!((s.status, s.outstanding, s.disbursed, s.released, &s.unit), (b.status, b.outstanding, b.disbursed, b.released, &b.unit));
        }
        assert!(l.store.ledger_verify().await.unwrap().is_empty());
    }

    async fn closed_periods_refuse_postings_and_every_change_is_audited(db) {
        let mut l = L::new(db.store().await);
        register_units(&l.store, &[("U1".into(), d(2020, 1, 1))]).await;
        let audited_before = count(&l.store, "audit_log").await;
        l.appropriate(d(2026, 1, 5), BudgetLineKind::Training, Money::yuan(1_000)).await;
        let a = l.allocate(d(2026, 3, 2), BudgetLineKind::Training, "U1", Money::yuan(300)).await.unwrap();
        l.today = d(2026, 4, 2);
        l.ok(Command::ClosePeriod(ClosePeriod { month: YearMonth::parse("2026-03").unwrap() })).await;
        let e = refusal(l.allocate(d(2026, 3, 30), BudgetLineKind::Training, "U1", Money::yuan(1)).await.unwrap_err());
        assert!(matches!(e, LedgerError::PeriodClosed { .. }), "{e}");
        let e = refusal(l.run(Command::Reverse(Reverse { date: d(2026, 3, 31), transaction: a.transactions[0], reason: "x".into() })).await.unwrap_err());
        assert!(matches!(e, LedgerError::PeriodClosed { .. }), "{e}");
        let r = l.ok(Command::Reverse(Reverse { date: d(2026, 4, 2), transaction: a.transactions[0], reason: "wrong unit".into() })).await;
        let journal = l.store.ledger_journal().await.unwrap();
        let reversal = journal.iter().find(|t| t.id == r.transactions[0]).unwrap();
        assert_eq!(reversal.txn.reverses(), Some(a.transactions[0]));
        assert_eq!(l.headroom(2026, BudgetLineKind::Training).await, Money::yuan(1_000));
        let e = refusal(l.run(Command::Reverse(Reverse { date: d(2026, 4, 2), transaction: a.transactions[0], reason: "again".into() })).await.unwrap_err());
        assert!(matches!(e, LedgerError::AlreadyReversed { .. }), "{e}");
        // One entry per accepted command (4), plus the allocation's creation and its
        // reversal, and the period's close with before and after; refusals write nothing.
        let audited = count(&l.store, "audit_log").await - audited_before;
        assert_eq!(audited, 4 + 3, "audit rows");
        let status = l.store.ledger_status().await.unwrap();
        assert_eq!(status.periods.closed_through.unwrap().to_string(), "2026-03");
    }
}

/// A little of everything, in an order that succeeds.
fn scenario(l: &mut L) -> Vec<Envelope> {
    let ap = Approval::new("部务会 2026-01", d(2026, 1, 4)).unwrap();
    let mut cmds = vec![];
    for m in 1..=3 {
        cmds.push(Command::RecordDues(RecordDues {
            date: d(2025, m, 20),
            unit: "U1".into(),
            month: YearMonth::new(2025, m).unwrap(),
            amount: Money::from_fen(4_525),
        }));
    }
    cmds.extend([
        Command::CloseYear(CloseYear { year: 2025 }),
        Command::Appropriate(Appropriate {
            date: d(2026, 1, 5),
            line: BudgetLineKind::Training,
            amount: Money::yuan(100_000),
            memo: Some("年初预算".into()),
        }),
        Command::Appropriate(Appropriate {
            date: d(2026, 1, 5),
            line: BudgetLineKind::DuesRebate,
            amount: Money::yuan(50_000),
            memo: None,
        }),
        Command::ApplyRebate(ApplyRebate {
            date: d(2026, 1, 10),
            unit: "U1".into(),
            dues_year: 2025,
        }),
        Command::ApproveRebate(ApproveRebate {
            date: d(2026, 2, 1),
            application: 1,
            approval: ap.clone(),
        }),
        Command::Virement(Virement {
            date: d(2026, 2, 1),
            from: BudgetLineKind::Training,
            to: BudgetLineKind::Other,
            amount: Money::yuan(10_000),
            approval: ap.clone(),
        }),
        Command::Allocate(Allocate {
            date: d(2026, 3, 2),
            line: BudgetLineKind::Training,
            unit: "U2".into(),
            purpose: "书记培训".into(),
            amount: Money::yuan(30_000),
            approval: ap,
        }),
        Command::Disburse(Disburse {
            date: d(2026, 4, 1),
            allocation: 2,
            amount: Money::yuan(10_000),
            memo: Some("first tranche".into()),
            payment: Default::default(),
        }),
        Command::Release(Release {
            date: d(2026, 5, 1),
            allocation: 2,
            reason: "course shortened".into(),
        }),
        Command::PayDirect(PayDirect {
            date: d(2026, 5, 2),
            line: BudgetLineKind::Other,
            amount: Money::yuan(5_000),
            payee: "党校".into(),
            purpose: "venue".into(),
            payment: Default::default(),
        }),
        Command::Disburse(Disburse {
            date: d(2026, 2, 10),
            allocation: 1,
            amount: Money::from_fen(13_575),
            memo: None,
            payment: Default::default(),
        }),
        Command::ClosePeriod(ClosePeriod {
            month: YearMonth::parse("2026-01").unwrap(),
        }),
    ]);
    let mut envs: Vec<Envelope> = cmds.into_iter().map(|c| l.envelope(c)).collect();
    // Reverse the direct payment (transaction numbers are known from the order above).
    envs.push(l.envelope(Command::Reverse(Reverse {
        date: d(2026, 6, 1),
        transaction: 12,
        reason: "paid twice".into(),
    })));
    envs
}

fn change(c: &mut Command) {
    let cent = |m: &mut Money| *m = m.checked_add(Money::from_fen(1)).unwrap();
    match c {
        Command::Appropriate(x) => cent(&mut x.amount),
        Command::Virement(x) => cent(&mut x.amount),
        Command::Allocate(x) => cent(&mut x.amount),
        Command::Disburse(x) => cent(&mut x.amount),
        Command::PayDirect(x) => cent(&mut x.amount),
        Command::RecordDues(x) => cent(&mut x.amount),
        Command::Release(x) => x.reason.push('!'),
        Command::Reverse(x) => x.reason.push('!'),
        Command::ApplyRebate(x) => x.date = x.date.succ_opt().unwrap(),
        Command::ApproveRebate(x) => x.date = x.date.succ_opt().unwrap(),
        Command::ClosePeriod(x) => x.month = x.month.next(),
        Command::CloseYear(x) => x.year -= 1,
        Command::AllocateStartupBatch(x) => x.formed_in += 1,
        Command::BankCharge(x) => cent(&mut x.amount),
        Command::Receive(x) => cent(&mut x.amount),
        Command::Apportion(x) => cent(&mut x.amount),
    }
}

/// Everything a replay must leave as it was.
async fn snapshot(store: &Store) -> String {
    let mut s = serde_json::to_string(&store.ledger_balances().await.unwrap()).unwrap();
    s.push_str(
        &serde_json::to_string(&store.ledger_allocations(None, None).await.unwrap()).unwrap(),
    );
    s.push_str(&serde_json::to_string(&store.ledger_rebates().await.unwrap()).unwrap());
    s.push_str(&serde_json::to_string(&store.ledger_status().await.unwrap()).unwrap());
    for table in [
        "ledger_transactions",
        "ledger_postings",
        "ledger_allocations",
        "ledger_dues",
        "audit_log",
        "ledger_commands",
    ] {
        s.push_str(&format!(" {table}={}", count(store, table).await));
    }
    s
}

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

const KINDS: [BudgetLineKind; 3] = [
    BudgetLineKind::Training,
    BudgetLineKind::Other,
    BudgetLineKind::DemonstrationSite,
];

/// The same random command for the book and the store (ids mapped through what each returned).
fn random_command(
    pick: u64,
    r: u64,
    ba: &[i64],
    sa: &[i64],
    bt: &[i64],
    st: &[i64],
) -> (Command, Command) {
    let date = d(2026, 6, 1);
    let kind = KINDS[(r % 3) as usize];
    let amount = Money::from_fen((r % 4_000_000) as i64 + 1);
    let unit = format!("U{}", r % 6);
    let same = |c: Command| (c.clone(), c);
    match pick % 8 {
        0 | 1 => same(Command::Appropriate(Appropriate {
            date,
            line: kind,
            amount: Money::from_fen((r % 9_000_000) as i64 + 1),
            memo: None,
        })),
        2 | 3 => same(Command::Allocate(Allocate {
            date,
            line: kind,
            unit,
            purpose: "p".into(),
            amount,
            approval: approval(),
        })),
        4 if !ba.is_empty() => {
            let i = (r as usize / 7) % ba.len();
            let c = |id| {
                Command::Disburse(Disburse {
                    date,
                    allocation: id,
                    amount,
                    memo: None,
                    payment: Default::default(),
                })
            };
            (c(ba[i]), c(sa[i]))
        }
        5 if !ba.is_empty() => {
            let i = (r as usize / 7) % ba.len();
            let c = |id| {
                Command::Release(Release {
                    date,
                    allocation: id,
                    reason: "r".into(),
                })
            };
            (c(ba[i]), c(sa[i]))
        }
        6 if !bt.is_empty() => {
            let i = (r as usize / 7) % bt.len();
            let c = |id| {
                Command::Reverse(Reverse {
                    date,
                    transaction: id,
                    reason: "r".into(),
                })
            };
            (c(bt[i]), c(st[i]))
        }
        7 => same(Command::Virement(Virement {
            date,
            from: kind,
            to: KINDS[((r / 3) % 3) as usize],
            amount,
            approval: approval(),
        })),
        _ => same(Command::PayDirect(PayDirect {
            date,
            line: kind,
            amount,
            payee: "p".into(),
            purpose: "p".into(),
            payment: Default::default(),
        })),
    }
}

/// `hledger balance --flat -O csv` as (account, amount) pairs, amounts as `-10.00`; `None`
/// (the test is skipped) when hledger is not installed, except in CI where it must be.
fn hledger_balances(file: &std::path::Path) -> Option<Vec<(String, String)>> {
    let out = match std::process::Command::new("hledger")
        .args(["-f"])
        .arg(file)
        .args(["balance", "--flat", "-O", "csv"])
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            assert!(
                std::env::var("CI")
                    .map(|v| v != "true" && v != "1")
                    .unwrap_or(true),
                "hledger is required in CI: {e}"
            );
            eprintln!(
                "skipping the hledger comparison: hledger is not installed ({e}); apt-get install hledger"
            );
            return None;
        }
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let cells: Vec<String> = line
            .split("\",\"")
            .map(|c| c.trim_matches('"').to_string())
            .collect();
        if cells[0] == "total" {
            assert_eq!(cells[1], "0", "the journal balances");
            continue;
        }
        let amount = cells[1].replace(" CNY", "").replace('¥', "");
        rows.push((cells[0].clone(), amount));
    }
    Some(rows)
}

/// The scenario touched budget, expense, income and asset accounts.
async fn ours_has_every_kind(store: &Store) -> bool {
    let names: Vec<String> = store
        .ledger_balances()
        .await
        .unwrap()
        .rows
        .into_iter()
        .map(|r| r.account)
        .collect();
    ["budget:", "expenses:", "income:", "assets:"]
        .iter()
        .all(|p| names.iter().any(|n| n.starts_with(p)))
}
