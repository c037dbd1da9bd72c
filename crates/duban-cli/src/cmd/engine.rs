//! `duban engine tick | sync`: run the engine by hand — one tick (optionally at a given
//! instant), or (re)plan every subject of the register.

pub(crate) mod bench;

use super::{Context, OutputFormat};
use chrono::{DateTime, Utc};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Fire every timer due now (or at --now), batch by batch, then exit.
    Tick {
        /// The instant to tick at (RFC 3339), instead of the clock.
        #[arg(long)]
        now: Option<DateTime<Utc>>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Let the clock run to --to: every timer due until then fires at its own due time, in
    /// order, as if the engine had been running (for rehearsals on a copy of the database).
    Advance {
        /// Where the clock stops (RFC 3339, or YYYY-MM-DDTHH:MM in Beijing time).
        #[arg(long)]
        to: String,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Measure the engine on scratch databases: timers per second with several nodes, tick
    /// time beside a large backlog, peak memory. Prints figures for BENCHMARKS.md.
    Bench(bench::BenchArgs),
    /// Plan every unit's term and duties, open rectification items and scheduled
    /// interviews that have no instance yet, and bring existing ones up to date.
    Sync {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    match args.action {
        Action::Tick { now, format } => {
            let engine = ctx.engine(now).await?;
            let report = engine.tick(engine.now()).await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string(&report)?),
                OutputFormat::Table => println!(
                    "claimed {} fired {} (late {}) skipped {} retried {} failed {} lost {} messages {}",
                    report.claimed,
                    report.fired,
                    report.late,
                    report.skipped,
                    report.retried,
                    report.failed,
                    report.lost,
                    report.messages
                ),
            }
        }
        Action::Advance { to, format } => {
            let to = crate::cmd::parse_instant(&to, "--to")?;
            let clock = std::sync::Arc::new(duban_core::clock::ManualClock::new(ctx.now()));
            let engine = ctx
                .engine_with_clock(
                    ctx.migrated_pool().await?,
                    clock.clone(),
                    ctx.engine_config(),
                )
                .await?;
            let report = engine.advance(&clock, to).await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string(&report)?),
                OutputFormat::Table => println!(
                    "up to {}: fired {} skipped {} failed {} messages {}",
                    to.with_timezone(&chrono_tz::Asia::Shanghai)
                        .format("%Y-%m-%d %H:%M"),
                    report.fired,
                    report.skipped,
                    report.failed,
                    report.messages
                ),
            }
        }
        Action::Bench(args) => return bench::run(args, ctx).await,
        Action::Sync { format } => {
            let engine = ctx.engine(None).await?;
            let summary = engine
                .sync_all(200, false, |n| {
                    if n % 1000 == 0 {
                        eprintln!("planned {n} subjects");
                    }
                })
                .await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
                OutputFormat::Table => {
                    println!(
                        "{} subjects: {} instances created, {} timers added, {} moved, {} cancelled",
                        summary.subjects,
                        summary.instances_created,
                        summary.timers_inserted,
                        summary.timers_rescheduled,
                        summary.timers_cancelled
                    );
                    for (subject, problem) in &summary.problems {
                        println!("not planned: {subject}: {problem}");
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
