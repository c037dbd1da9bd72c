//! `duban bank bench`: statement import and matching through the database, timed, for
//! BENCHMARKS.md (a command, not a timed test).
//!
//! A scratch SQLite database gets a bank account and N payments from it in its book (in
//! bulk: one transaction per payment, voucher and payee set); a statement of the account is
//! generated with a line for each payment but every 100th, dates shifted by −3…+3 days, the
//! voucher in every other line, and one unrelated line per 100, in a CSV with a balance
//! column. Then `duban bank import` and `duban bank match` run as their own processes, each
//! timed from start to exit with its peak resident set (VmHWM) sampled from /proc.

use crate::cmd::Context;
use crate::cmd::engine::bench::run_sampled;
use chrono::{Duration, NaiveDate};
use duban_app::system::bench::{BenchPayment, ScratchDb};
use duban_app::system::{Store, StoreOptions};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Payments in the book; the statement has about as many lines.
    #[arg(long, default_value_t = 100_000)]
    lines: usize,
    /// Where the scratch database and the statement go (the temporary directory by default).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the scratch database and the statement.
    #[arg(long)]
    keep: bool,
}

#[derive(Debug, Serialize)]
struct Step {
    seconds: f64,
    peak_rss_mib: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    book_entries: usize,
    statement_lines: usize,
    statement_bytes: usize,
    seed_seconds: f64,
    import: Step,
    matching: Step,
    matched: usize,
    exceptions: usize,
}

const CODE: &str = "bench";
const NUMBER: &str = "37050161680100009999";

/// The book's payments and the statement's CSV, deterministic.
fn generate(n: usize) -> (Vec<BenchPayment>, String, usize) {
    let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default();
    let per_day = n.div_ceil(330).max(1);
    let mut seed = 0x2026_u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    let mut book = Vec::with_capacity(n);
    let mut lines: Vec<(NaiveDate, i64, String, String, String)> = Vec::with_capacity(n + n / 100);
    for i in 0..n {
        let date = start + Duration::days((i / per_day) as i64);
        let fen = 10_000 + (next() % 5_000_000) as i64;
        let payee = format!("中共济南市第{}党支部", i % 7_000);
        let account = format!("6217{:015}", 211_000_000_000_000u64 + (i % 7_000) as u64);
        let voucher = format!("记-{i:06}");
        if i % 100 != 99 {
            let shift = (next() % 7) as i64 - 3;
            let summary = if i % 2 == 0 {
                format!("拨付经费 {voucher}")
            } else {
                "拨付经费".to_string()
            };
            lines.push((
                date + Duration::days(shift),
                -fen,
                payee.clone(),
                account.clone(),
                summary,
            ));
        }
        if i % 100 == 50 {
            let fen = 10_000 + (next() % 5_000_000) as i64;
            lines.push((
                date,
                -fen,
                "济南泉城印务有限公司".into(),
                "3701012345678000051".into(),
                "印刷费".into(),
            ));
        }
        book.push(BenchPayment {
            date,
            fen,
            voucher: Some(voucher),
            payee_name: payee,
            payee_account: account,
        });
    }
    lines.sort_by_key(|l| l.0);
    let mut csv = String::from("交易日期,支出,收入,余额,对方户名,对方账号,摘要,交易流水号\n");
    let mut balance: i64 = 100_000_000_000_000;
    let yuan = |fen: i64| duban_core::money::Money::from_fen(fen).to_string();
    let _ = writeln!(
        csv,
        "{},,{},{},济南市财政局,370101000000088,财政拨款,S0000000",
        start.format("%Y%m%d"),
        yuan(balance),
        yuan(balance)
    );
    for (k, (date, fen, payee, account, summary)) in lines.iter().enumerate() {
        balance += fen;
        let _ = writeln!(
            csv,
            "{},{},,{},{payee},{account},{summary},S{:07}",
            date.format("%Y%m%d"),
            yuan(-fen),
            yuan(balance),
            k + 1
        );
    }
    (book, csv, lines.len() + 1)
}

pub async fn run(args: BenchArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let dir = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("--dir {}: {e}", dir.display()))?;
    let db = ScratchDb::create(
        "sqlite://",
        &format!("duban_bank_bench_{}", std::process::id()),
        &dir,
    )
    .await?;
    let result = measure(&args, ctx, &db, &dir).await;
    if args.keep {
        eprintln!("kept {}", db.url);
    } else {
        db.drop_db().await?;
    }
    let report = result?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}

async fn measure(
    args: &BenchArgs,
    ctx: &Context,
    db: &ScratchDb,
    dir: &std::path::Path,
) -> anyhow::Result<Report> {
    let store = Store::connect(
        &db.url,
        &StoreOptions {
            max_connections: 4,
            busy_timeout: std::time::Duration::from_secs(60),
        },
    )
    .await?;
    store.migrate_up(None).await?;
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("duban"));
    let duban = |args: &[&str]| {
        let mut cmd = Command::new(&exe);
        cmd.args(args).env("DUBAN__DATABASE__URL", &db.url);
        cmd
    };
    let (status, out, err, _) = run_sampled(duban(&[
        "bank",
        "accounts",
        "add",
        "--code",
        CODE,
        "--name",
        "基准测试户",
        "--number",
        NUMBER,
        "--bank",
        "某银行",
    ]))?;
    anyhow::ensure!(status.success(), "bank accounts add failed: {out}{err}");
    let (book, csv, statement_lines) = generate(args.lines);
    let started = Instant::now();
    store
        .bank_bench_seed(
            CODE,
            &ctx.settings.bank.matching.fee_account,
            &book,
            ctx.now(),
        )
        .await?;
    let seed_seconds = started.elapsed().as_secs_f64();
    eprintln!("{} payments booked in {seed_seconds:.1} s", book.len());
    store.close().await?;
    let file = dir.join(format!("duban_bank_bench_{}.csv", std::process::id()));
    std::fs::write(&file, &csv)?;
    let timed = |args: &[&str]| -> anyhow::Result<(Step, String)> {
        let started = Instant::now();
        let (status, out, err, peak) = run_sampled(duban(args))?;
        let seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(status.success(), "{args:?} failed: {out}{err}");
        Ok((
            Step {
                seconds,
                peak_rss_mib: peak as f64 / 1024.0,
            },
            out,
        ))
    };
    let path = file.to_string_lossy().into_owned();
    let imported = timed(&[
        "bank",
        "import",
        "--account",
        CODE,
        &path,
        "--format",
        "json",
    ]);
    if !args.keep {
        std::fs::remove_file(&file).ok();
    }
    let (import, _) = imported?;
    eprintln!(
        "import: {:.1} s, {:.0} MiB",
        import.seconds, import.peak_rss_mib
    );
    let (matching, out) = timed(&["bank", "match", "--account", CODE, "--format", "json"])?;
    eprintln!(
        "match: {:.1} s, {:.0} MiB",
        matching.seconds, matching.peak_rss_mib
    );
    let run: serde_json::Value = serde_json::from_str(&out)?;
    Ok(Report {
        book_entries: book.len(),
        statement_lines,
        statement_bytes: csv.len(),
        seed_seconds,
        import,
        matching,
        matched: run["matched"].as_array().map(Vec::len).unwrap_or_default(),
        exceptions: run["exceptions"].as_u64().unwrap_or_default() as usize,
    })
}
