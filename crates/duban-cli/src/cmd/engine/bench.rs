//! `duban engine bench`: the engine's figures for BENCHMARKS.md (a command, not a timed test).
//!
//! Every run gets a scratch database of its own: a SQLite file under `--dir`, or a database
//! created on the PostgreSQL or MariaDB server of an admin URL and dropped afterwards.
//!
//! - throughput: enough units five months past their term's end that their reminder and
//!   escalation chains hold N due timers (planned the way `engine sync` plans them); then
//!   1, 2, … `duban engine tick` processes start at once and fire them. Timers per second is
//!   what all of them fired over the wall time from spawn to the last exit.
//! - backlog: for each backlog size P, P pending timers due years ahead are added in bulk,
//!   then units with D due timers; the bench times the tick that fires the D timers and an
//!   idle tick (nothing due). At the largest backlog a `duban engine tick` process fires
//!   another D timers and its peak resident set (VmHWM) is read from /proc.

use super::OutputFormat;
use crate::cmd::Context;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use duban_app::system::bench::ScratchDb;
use duban_app::system::{Store, StoreOptions};
use duban_core::register::{Channel, Formation, Person, RegisterBatch, Unit, UnitLevel};
use duban_engine::{Engine, SubjectRef};
use serde::Serialize;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Where to measure: `sqlite`, or the admin URL of a PostgreSQL or MySQL/MariaDB server
    /// (a database the user may connect to and create databases from). Repeatable.
    #[arg(long = "on", default_value = "sqlite")]
    on: Vec<String>,
    /// Due timers fired in each throughput run.
    #[arg(long, default_value_t = 100_000)]
    due: u64,
    /// Engine processes per throughput run, one run per entry.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    nodes: Vec<usize>,
    /// Pending timers not yet due, one backlog run per entry.
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
    pending: Vec<u64>,
    /// Due timers fired by the measured tick beside each backlog.
    #[arg(long, default_value_t = 1_000)]
    tick_due: u64,
    /// Timers claimed per batch (default: `engine.batch_size`).
    #[arg(long)]
    batch_size: Option<u64>,
    /// Leave out the throughput runs.
    #[arg(long)]
    no_throughput: bool,
    /// Leave out the backlog runs.
    #[arg(long)]
    no_backlog: bool,
    /// Directory for SQLite scratch files (default: the system's temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the scratch databases and print their URLs.
    #[arg(long)]
    keep: bool,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

/// The instant every tick runs at: five months after the seeded terms ended.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap()
}

/// Where the not-yet-due backlog starts.
fn backlog_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
}

/// Planning looks this far back, so a term that ended five months ago has its whole chain.
const CATCH_UP_DAYS: i64 = 400;

#[derive(Debug, Default, Serialize)]
struct Report {
    throughput: Vec<ThroughputRun>,
    backlog: Vec<BacklogRun>,
    rss: Vec<RssRun>,
}

#[derive(Debug, Serialize)]
struct ThroughputRun {
    backend: String,
    nodes: usize,
    batch_size: u64,
    units: usize,
    due: u64,
    seed_seconds: f64,
    fired: u64,
    messages: u64,
    seconds: f64,
    timers_per_second: f64,
    fired_per_node: Vec<u64>,
    peak_rss_mib_per_node: Vec<f64>,
    /// Batches a node wrote again after the database rolled them back (deadlock).
    conflicts_retried: u64,
}

#[derive(Debug, Serialize)]
struct BacklogRun {
    backend: String,
    pending_not_due: u64,
    fired: u64,
    tick_ms: f64,
    micros_per_timer: f64,
    idle_tick_ms: f64,
}

#[derive(Debug, Serialize)]
struct RssRun {
    backend: String,
    pending_not_due: u64,
    fired: u64,
    seconds: f64,
    peak_rss_mib: f64,
}

pub async fn run(args: BenchArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.nodes.iter().all(|&n| n >= 1),
        "--nodes: every entry must be at least 1"
    );
    let dir = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("--dir {}: {e}", dir.display()))?;
    let mut report = Report::default();
    for (i, server) in args.on.iter().enumerate() {
        let admin = if server == "sqlite" {
            "sqlite://".to_string()
        } else {
            server.clone()
        };
        let tag = format!("duban_bench_{}_{i}", std::process::id());
        if !args.no_throughput {
            for &nodes in &args.nodes {
                let db = ScratchDb::create(&admin, &format!("{tag}_n{nodes}"), &dir).await?;
                let run = throughput(ctx, &args, &db, nodes).await;
                finish(&db, args.keep).await?;
                let run = run?;
                if args.format == OutputFormat::Table {
                    print_throughput(&run);
                }
                report.throughput.push(run);
            }
        }
        if !args.no_backlog && !args.pending.is_empty() {
            let db = ScratchDb::create(&admin, &format!("{tag}_backlog"), &dir).await?;
            let runs = backlog(ctx, &args, &db, &mut report).await;
            finish(&db, args.keep).await?;
            runs?;
        }
    }
    if args.format == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}

async fn finish(db: &ScratchDb, keep: bool) -> anyhow::Result<()> {
    if keep {
        eprintln!("kept {}", db.url);
    } else {
        db.drop_db().await?;
    }
    Ok(())
}

fn print_throughput(r: &ThroughputRun) {
    println!(
        "throughput  {:<8} {} node(s), batch {}: {} timers fired in {:.1} s = {:.0} timers/s \
         (per node {:?}; {} messages; {} batches rewritten after a deadlock; peak RSS per node \
         {} MiB; {} units seeded in {:.0} s)",
        r.backend,
        r.nodes,
        r.batch_size,
        r.fired,
        r.seconds,
        r.timers_per_second,
        r.fired_per_node,
        r.messages,
        r.conflicts_retried,
        r.peak_rss_mib_per_node
            .iter()
            .map(|m| format!("{m:.1}"))
            .collect::<Vec<_>>()
            .join(", "),
        r.units,
        r.seed_seconds
    );
}

async fn connect(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(
        url,
        &StoreOptions {
            max_connections: 4,
            busy_timeout: Duration::from_secs(60),
        },
    )
    .await?;
    store.migrate_up(None).await?;
    Ok(store)
}

fn batch_size(ctx: &Context, args: &BenchArgs) -> u64 {
    args.batch_size
        .unwrap_or(ctx.settings.engine.batch_size)
        .max(1)
}

/// Registers overdue branches and plans their terms, as an import followed by `engine sync`.
struct Seeder {
    engine: Engine,
    units: usize,
}

impl Seeder {
    async fn new(ctx: &Context, args: &BenchArgs, store: Store) -> anyhow::Result<Seeder> {
        let config = duban_engine::EngineConfig {
            node_id: "bench".into(),
            catch_up: chrono::Duration::days(CATCH_UP_DAYS),
            batch_size: batch_size(ctx, args),
            ..ctx.engine_config()
        };
        let engine = ctx.engine_with(store, Some(now()), config).await?;
        let mut batch = RegisterBatch::default();
        batch.units.push(Unit {
            code: "BENCH-SUP".into(),
            name: "两新组织党委".into(),
            level: UnitLevel::Committee,
            formation: Formation::Standalone,
            superior_code: None,
            secretary: Some(secretary(0)),
            term_start: NaiveDate::from_ymd_opt(2025, 1, 1),
            term_end: NaiveDate::from_ymd_opt(2030, 1, 1),
            last_election: None,
            theme_day: None,
            row: 2,
        });
        engine
            .store
            .apply_register(&batch, "bench", now(), false)
            .await?;
        Ok(Seeder { engine, units: 0 })
    }

    /// Adds `count` branches whose three-year terms ended on 2026-06-01.
    async fn add_units(&mut self, count: usize) -> anyhow::Result<()> {
        let start = NaiveDate::from_ymd_opt(2023, 6, 1);
        let mut left = count;
        while left > 0 {
            let chunk = left.min(500);
            let mut batch = RegisterBatch::default();
            let mut terms = Vec::with_capacity(chunk);
            for n in self.units + 1..=self.units + chunk {
                let code = format!("B{n:07}");
                batch.units.push(Unit {
                    code: code.clone(),
                    name: format!("第{n}党支部"),
                    level: UnitLevel::Branch,
                    formation: Formation::Standalone,
                    superior_code: Some("BENCH-SUP".into()),
                    secretary: Some(secretary(n)),
                    term_start: start,
                    term_end: NaiveDate::from_ymd_opt(2026, 6, 1),
                    last_election: None,
                    theme_day: None,
                    row: n + 2,
                });
                terms.push(SubjectRef::Term { unit: code, start });
            }
            self.engine
                .store
                .apply_register(&batch, "bench", now(), false)
                .await?;
            for refs in terms.chunks(200) {
                self.engine.sync_subjects(refs, false).await?;
            }
            self.units += chunk;
            left -= chunk;
        }
        Ok(())
    }

    async fn due(&self) -> anyhow::Result<u64> {
        Ok(self.engine.store.timer_stats(now()).await?.due)
    }

    /// Adds units until at least `target` more timers are due; returns how many were added.
    async fn add_due_timers(&mut self, target: u64) -> anyhow::Result<u64> {
        let before = self.due().await?;
        let probe = 10usize;
        self.add_units(probe).await?;
        let have = self.due().await? - before;
        let per_unit = (have / probe as u64).max(1);
        if have < target {
            let more = (target - have).div_ceil(per_unit) as usize;
            let step = (more / 10).max(500);
            let mut added = 0;
            while added < more {
                let n = step.min(more - added);
                self.add_units(n).await?;
                added += n;
                eprintln!("  {} units planned", self.units);
            }
        }
        Ok(self.due().await? - before)
    }
}

fn secretary(n: usize) -> Person {
    Person {
        name: format!("书记{n}"),
        post: None,
        mobile: Some(format!("139{n:08}")),
        email: None,
        channels: vec![Channel::Sms],
    }
}

async fn throughput(
    ctx: &Context,
    args: &BenchArgs,
    db: &ScratchDb,
    nodes: usize,
) -> anyhow::Result<ThroughputRun> {
    eprintln!(
        "throughput on {}: planning {} due timers …",
        db.backend(),
        args.due
    );
    let store = connect(&db.url).await?;
    let started = Instant::now();
    let mut seeder = Seeder::new(ctx, args, store.clone()).await?;
    let due = seeder.add_due_timers(args.due).await?;
    let seed_seconds = started.elapsed().as_secs_f64();
    store.settle_after_bulk_load().await?;
    eprintln!(
        "  {due} timers due for {} units; starting {nodes} engine process(es)",
        seeder.units
    );
    let started = Instant::now();
    let children: Vec<_> = (0..nodes)
        .map(|n| {
            let cmd = tick_command(ctx, args, db, &format!("bench-node-{n}"));
            std::thread::spawn(move || run_measured(cmd))
        })
        .collect();
    let mut fired_per_node = Vec::new();
    let mut rss = Vec::new();
    let mut messages = 0;
    let mut conflicts_retried = 0;
    for child in children {
        let out = child
            .join()
            .map_err(|_| anyhow::anyhow!("a node's watcher panicked"))??;
        fired_per_node.push(out.report.fired);
        messages += out.report.messages;
        rss.push(mib(out.peak_rss_kib));
        conflicts_retried += out.conflicts_retried;
    }
    let seconds = started.elapsed().as_secs_f64();
    let fired: u64 = fired_per_node.iter().sum();
    // What the fired steps planned anew (the interviews they opened) is the next tick's work.
    let stats = store.timer_stats(now()).await?;
    anyhow::ensure!(
        fired >= due && stats.failed == 0 && stats.running == 0,
        "the nodes fired {fired} of {due} due timers: {stats:?}"
    );
    store.close().await?;
    Ok(ThroughputRun {
        backend: db.backend().to_string(),
        nodes,
        batch_size: batch_size(ctx, args),
        units: seeder.units,
        due,
        seed_seconds,
        fired,
        messages,
        seconds,
        timers_per_second: fired as f64 / seconds,
        fired_per_node,
        peak_rss_mib_per_node: rss,
        conflicts_retried,
    })
}

async fn backlog(
    ctx: &Context,
    args: &BenchArgs,
    db: &ScratchDb,
    report: &mut Report,
) -> anyhow::Result<()> {
    let store = connect(&db.url).await?;
    let mut seeder = Seeder::new(ctx, args, store.clone()).await?;
    let mut sizes = args.pending.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let mut backlog = 0u64;
    for &size in &sizes {
        if size > backlog {
            eprintln!(
                "backlog on {}: adding {} timers due from {} on …",
                db.backend(),
                size - backlog,
                backlog_start().date_naive()
            );
            let base = backlog;
            store
                .add_backlog_timers(size - backlog, backlog_start(), now(), |n| {
                    if n % 200_000 == 0 || n == size - base {
                        eprintln!("  {} pending", base + n);
                    }
                })
                .await?;
            backlog = size;
        }
        seeder.add_due_timers(args.tick_due).await?;
        store.settle_after_bulk_load().await?;
        let started = Instant::now();
        let fired = seeder.engine.tick(now()).await?;
        let tick = started.elapsed();
        // Steps that opened interviews planned new timers, due now: the next tick's work.
        while seeder.engine.tick(now()).await?.claimed > 0 {}
        let mut idle = Vec::new();
        for _ in 0..21 {
            let started = Instant::now();
            let r = seeder.engine.tick(now()).await?;
            idle.push(started.elapsed());
            anyhow::ensure!(r.claimed == 0, "an idle tick claimed {} timers", r.claimed);
        }
        idle.sort_unstable();
        let run = BacklogRun {
            backend: db.backend().to_string(),
            pending_not_due: backlog,
            fired: fired.fired,
            tick_ms: ms(tick),
            micros_per_timer: tick.as_secs_f64() * 1e6 / fired.fired.max(1) as f64,
            idle_tick_ms: ms(idle[idle.len() / 2]),
        };
        if args.format == OutputFormat::Table {
            println!(
                "backlog     {:<8} {} pending not due: a tick firing {} timers took {:.1} ms \
                 ({:.0} µs/timer); an idle tick {:.2} ms (median of 21)",
                run.backend,
                run.pending_not_due,
                run.fired,
                run.tick_ms,
                run.micros_per_timer,
                run.idle_tick_ms
            );
        }
        report.backlog.push(run);
    }
    seeder.add_due_timers(args.tick_due).await?;
    store.settle_after_bulk_load().await?;
    let started = Instant::now();
    let out = run_measured(tick_command(ctx, args, db, "bench-rss"))?;
    let run = RssRun {
        backend: db.backend().to_string(),
        pending_not_due: backlog,
        fired: out.report.fired,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_mib: mib(out.peak_rss_kib),
    };
    if args.format == OutputFormat::Table {
        println!(
            "rss         {:<8} {} pending not due: `duban engine tick` fired {} timers in {:.2} s, \
             peak RSS {:.1} MiB",
            run.backend, run.pending_not_due, run.fired, run.seconds, run.peak_rss_mib
        );
    }
    report.rss.push(run);
    store.close().await?;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `duban engine tick` process on the scratch database, at the bench's instant.
fn tick_command(ctx: &Context, args: &BenchArgs, db: &ScratchDb, node: &str) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("duban"));
    let mut cmd = Command::new(exe);
    cmd.arg("--config-dir")
        .arg(&ctx.config_dir)
        .args(["engine", "tick", "--format", "json", "--now"])
        .arg(now().to_rfc3339())
        .env("DUBAN__DATABASE__URL", &db.url)
        .env("DUBAN__ENGINE__NODE_ID", node)
        .env("DUBAN__ENGINE__CATCH_UP_DAYS", CATCH_UP_DAYS.to_string())
        .env(
            "DUBAN__ENGINE__BATCH_SIZE",
            batch_size(ctx, args).to_string(),
        )
        .env("DUBAN__LOG__FILTER", "warn")
        .stdin(Stdio::null());
    cmd
}

#[derive(Debug, serde::Deserialize)]
struct ChildReport {
    fired: u64,
    messages: u64,
}

struct Measured {
    report: ChildReport,
    peak_rss_kib: u64,
    conflicts_retried: u64,
}

/// Runs the process to its end, sampling its peak resident set (VmHWM) every 2 ms: its
/// exit status, standard output and error, and the peak in KiB.
pub(crate) fn run_sampled(
    mut cmd: Command,
) -> anyhow::Result<(std::process::ExitStatus, String, String, u64)> {
    let out = (
        tempfile::NamedTempFile::new()?,
        tempfile::NamedTempFile::new()?,
    );
    cmd.stdout(out.0.reopen()?).stderr(out.1.reopen()?);
    let mut child = cmd
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {:?}: {e}", cmd.get_program()))?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some(kib) = std::fs::read_to_string(&status_path)
            .ok()
            .as_deref()
            .and_then(vm_hwm_kib)
        {
            peak = peak.max(kib);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = std::fs::read_to_string(out.0.path())?;
    let stderr = std::fs::read_to_string(out.1.path())?;
    Ok((status, stdout, stderr, peak))
}

/// An engine process run to its end with its peak resident set.
fn run_measured(cmd: Command) -> anyhow::Result<Measured> {
    let (status, stdout, stderr, peak) = run_sampled(cmd)?;
    anyhow::ensure!(
        status.success(),
        "an engine process failed ({status}):\n{stdout}{stderr}"
    );
    let line = stdout.lines().last().unwrap_or_default();
    let report: ChildReport = serde_json::from_str(line)
        .map_err(|e| anyhow::anyhow!("unexpected output of an engine process ({e}): {stdout}"))?;
    Ok(Measured {
        report,
        peak_rss_kib: peak,
        conflicts_retried: stderr.matches("rolled back by a write conflict").count() as u64,
    })
}

/// `VmHWM:     12345 kB` in a /proc status file.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::vm_hwm_kib;

    #[test]
    fn reads_the_peak_resident_set_from_proc_status() {
        let status =
            "Name:\tduban\nVmPeak:\t  200000 kB\nVmHWM:\t   23456 kB\nVmRSS:\t   20000 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(23456));
        assert_eq!(vm_hwm_kib("Name:\tzombie\n"), None);
    }
}
