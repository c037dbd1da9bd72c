//! `duban ledger bench …`: figures for BENCHMARKS.md (a command, not a timed test).
//!
//! - `allocations`: N allocations against one budget line by C concurrent writers — the
//!   hot-row case budget control is built for. Prints how many were accepted and refused
//!   and the rate. Several of these processes at once is also how the tests drive
//!   concurrent writers from separate processes.
//! - `reports`: seeds a million postings (in bulk) and times `ledger budget`,
//!   `ledger balance` and `ledger verify` over them.

use super::{OutputFormat, amount, line, print_json};
use crate::cmd::Context;
use chrono::{NaiveDate, Utc};
use duban_app::system::bench::LedgerContext;
use duban_app::system::{Store, StoreError, StoreOptions};
use duban_core::money::Money;
use duban_core::register::{Formation, RegisterBatch, Unit, UnitLevel};
use duban_ledger::budget::{BudgetLineKind, LineId};
use duban_ledger::command::{Allocate, Appropriate, Command, Envelope};
use duban_ledger::idempotency::IdempotencyKey;
use duban_ledger::model::Approval;
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Subcommand)]
pub enum Bench {
    /// Allocations against one budget line by concurrent writers; prints allocations/second.
    Allocations {
        #[arg(long, value_parser = line, default_value = "other")]
        line: BudgetLineKind,
        /// The unit (register code) every allocation goes to.
        #[arg(long, default_value = "BENCH-UNIT")]
        unit: String,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, value_parser = amount, default_value = "1.00")]
        amount: Money,
        /// Idempotency keys are `<prefix>-<n>`; use a different prefix per process.
        #[arg(long, default_value = "bench")]
        key_prefix: String,
        #[arg(long, value_parser = super::date)]
        date: Option<NaiveDate>,
        /// First register the unit if needed and appropriate exactly count × amount.
        #[arg(long)]
        setup: bool,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Seed postings in bulk, then time the budget report, the balances and a verification.
    Reports {
        #[arg(long, default_value_t = 1_000_000)]
        postings: u64,
        #[arg(long, default_value_t = 2026)]
        year: i32,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

#[derive(Debug, Serialize)]
struct AllocationRun {
    backend: String,
    count: usize,
    concurrency: usize,
    accepted: usize,
    refused: usize,
    failed: usize,
    seconds: f64,
    accepted_per_second: f64,
    headroom_after: Money,
    errors: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ReportRun {
    backend: String,
    postings_seeded: u64,
    postings_total: i64,
    seed_seconds: f64,
    budget_ms: f64,
    balance_ms: f64,
    verify_ms: f64,
}

fn approval(date: NaiveDate) -> Approval {
    Approval {
        meeting: "benchmark".into(),
        date,
    }
}

async fn connect(ctx: &Context, pool: u32) -> anyhow::Result<Store> {
    let db = &ctx.settings.database;
    let opts = StoreOptions {
        max_connections: pool,
        busy_timeout: Duration::from_millis(db.busy_timeout_ms.max(30_000)),
    };
    let store = Store::connect(&db.url, &opts).await?;
    anyhow::ensure!(
        store.pending_migrations().await?.is_empty(),
        "run `duban migrate up` first"
    );
    Ok(store)
}

async fn ensure_unit(
    store: &Store,
    code: &str,
    formed: NaiveDate,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    if store
        .existing_unit_codes(&[code.to_string()])
        .await?
        .is_empty()
    {
        let unit = Unit {
            code: code.to_string(),
            name: format!("{code} (benchmark)"),
            level: UnitLevel::Branch,
            formation: Formation::Standalone,
            superior_code: None,
            secretary: None,
            term_start: Some(formed),
            term_end: None,
            last_election: None,
            theme_day: None,
            row: 0,
        };
        store
            .apply_register(
                &RegisterBatch {
                    organisations: vec![],
                    units: vec![unit],
                },
                "bench",
                now,
                false,
            )
            .await?;
    }
    Ok(())
}

pub async fn run(what: Bench, ctx: &Context) -> anyhow::Result<ExitCode> {
    match what {
        Bench::Allocations {
            line,
            unit,
            count,
            concurrency,
            amount,
            key_prefix,
            date,
            setup,
            format,
        } => {
            let concurrency = concurrency.max(1);
            let store = connect(ctx, concurrency as u32 + 1).await?;
            let date =
                date.unwrap_or_else(|| NaiveDate::from_ymd_opt(2026, 6, 1).expect("valid date"));
            let today = date;
            let config = ctx.settings.ledger.clone();
            if setup {
                ensure_unit(&store, &unit, date, ctx.now()).await?;
                let total = amount
                    .checked_mul(count as i64)
                    .ok_or_else(|| anyhow::anyhow!("amount × count overflows"))?;
                let env = Envelope {
                    key: IdempotencyKey::new(&format!("{key_prefix}-setup"))?,
                    actor: "bench".into(),
                    command: Command::Appropriate(Appropriate {
                        date,
                        line,
                        amount: total,
                        memo: Some("benchmark".into()),
                    }),
                };
                store
                    .ledger_execute(
                        &LedgerContext {
                            config: &config,
                            now: ctx.now(),
                            today,
                        },
                        &env,
                    )
                    .await?;
            }
            let next = Arc::new(AtomicUsize::new(0));
            let started = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let clock = ctx.clock.clone();
                let (store, next, config, unit, prefix) = (
                    store.clone(),
                    next.clone(),
                    config.clone(),
                    unit.clone(),
                    key_prefix.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let (mut ok, mut refused, mut failed, mut errors) = (0, 0, 0, Vec::new());
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= count {
                            break;
                        }
                        let env = Envelope {
                            key: IdempotencyKey::new(&format!("{prefix}-{i}")).expect("valid key"),
                            actor: "bench".into(),
                            command: Command::Allocate(Allocate {
                                date,
                                line,
                                unit: unit.clone(),
                                purpose: "benchmark".into(),
                                amount,
                                approval: approval(date),
                            }),
                        };
                        let lctx = LedgerContext {
                            config: &config,
                            now: clock.now(),
                            today,
                        };
                        match store.ledger_execute(&lctx, &env).await {
                            Ok(_) => ok += 1,
                            Err(StoreError::Ledger(_)) => refused += 1,
                            Err(e) => {
                                failed += 1;
                                if errors.len() < 5 {
                                    errors.push(e.to_string());
                                }
                            }
                        }
                    }
                    (ok, refused, failed, errors)
                }));
            }
            let mut run = AllocationRun {
                backend: store.backend().to_string(),
                count,
                concurrency,
                accepted: 0,
                refused: 0,
                failed: 0,
                seconds: 0.0,
                accepted_per_second: 0.0,
                headroom_after: Money::ZERO,
                errors: Vec::new(),
            };
            for t in tasks {
                let (ok, refused, failed, errors) = t.await?;
                run.accepted += ok;
                run.refused += refused;
                run.failed += failed;
                run.errors.extend(errors);
            }
            run.seconds = started.elapsed().as_secs_f64();
            run.accepted_per_second = run.accepted as f64 / run.seconds.max(1e-9);
            let year = duban_ledger::budget::fiscal_year(date);
            run.headroom_after = store
                .ledger_lines(Some(year))
                .await?
                .get(&LineId::new(year, line))
                .map(|b| b.available)
                .unwrap_or_default();
            match format {
                OutputFormat::Json => print_json(&run)?,
                OutputFormat::Table => println!(
                    "{}: {} allocations by {} writers on one line in {:.2}s: {} accepted ({:.0}/s), {} refused, {} failed; headroom after {}",
                    run.backend,
                    run.count,
                    run.concurrency,
                    run.seconds,
                    run.accepted,
                    run.accepted_per_second,
                    run.refused,
                    run.failed,
                    run.headroom_after.grouped()
                ),
            }
            for e in &run.errors {
                eprintln!("error: {e}");
            }
            Ok(if run.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Bench::Reports {
            postings,
            year,
            format,
        } => {
            let store = connect(ctx, 2).await?;
            let date =
                NaiveDate::from_ymd_opt(year, 1, 2).ok_or_else(|| anyhow::anyhow!("bad year"))?;
            let kind = BudgetLineKind::Training;
            let appropriation =
                Money::from_fen(i64::try_from(postings.div_ceil(6))?.saturating_mul(100));
            // A key of its own for each run (a clock set by DUBAN_NOW would repeat it).
            let stamp = {
                use std::hash::BuildHasher;
                std::collections::hash_map::RandomState::new().hash_one(std::process::id())
            };
            let env = Envelope {
                key: IdempotencyKey::new(&format!("bench-reports-{stamp}"))?,
                actor: "bench".into(),
                command: Command::Appropriate(Appropriate {
                    date,
                    line: kind,
                    amount: appropriation,
                    memo: Some("benchmark".into()),
                }),
            };
            let config = ctx.settings.ledger.clone();
            store
                .ledger_execute(
                    &LedgerContext {
                        config: &config,
                        now: ctx.now(),
                        today: date,
                    },
                    &env,
                )
                .await?;
            let started = Instant::now();
            let seeded = store
                .ledger_bench_seed(year, kind, postings, ctx.now())
                .await?;
            let seed_seconds = started.elapsed().as_secs_f64();
            let time = |d: Duration| d.as_secs_f64() * 1000.0;
            let t = Instant::now();
            let mut budget = None;
            for _ in 0..5 {
                budget = Some(store.ledger_budget(year).await?);
            }
            let budget_ms = time(t.elapsed()) / 5.0;
            let t = Instant::now();
            let balances = store.ledger_balances().await?;
            let balance_ms = time(t.elapsed());
            let t = Instant::now();
            let problems = store.ledger_verify().await?;
            let verify_ms = time(t.elapsed());
            anyhow::ensure!(
                problems.is_empty(),
                "verification found problems: {problems:?}"
            );
            anyhow::ensure!(balances.total.is_zero(), "the journal does not balance");
            let _ = budget;
            let run = ReportRun {
                backend: store.backend().to_string(),
                postings_seeded: seeded,
                postings_total: store.ledger_posting_count().await?,
                seed_seconds,
                budget_ms,
                balance_ms,
                verify_ms,
            };
            match format {
                OutputFormat::Json => print_json(&run)?,
                OutputFormat::Table => println!(
                    "{}: {} postings ({} seeded in {:.1}s): ledger budget {:.2} ms, ledger balance {:.0} ms, ledger verify {:.0} ms",
                    run.backend,
                    run.postings_total,
                    run.postings_seeded,
                    run.seed_seconds,
                    run.budget_ms,
                    run.balance_ms,
                    run.verify_ms
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
