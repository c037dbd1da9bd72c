//! `duban timers list` and `duban instances show`: what is planned, done, late or failed.

use super::{Context, OutputFormat};
use chrono_tz::Asia::Shanghai;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct TimersArgs {
    #[command(subcommand)]
    action: TimersAction,
}

#[derive(Debug, clap::Subcommand)]
enum TimersAction {
    /// Timers soonest first.
    List {
        /// Only timers due before this instant (RFC 3339) or date (YYYY-MM-DD, Beijing time).
        #[arg(long)]
        due_before: Option<String>,
        /// Only timers of this unit's chains (its code).
        #[arg(long)]
        unit: Option<String>,
        /// Only timers in these states (pending, running, done, failed, cancelled, skipped).
        #[arg(long, value_delimiter = ',')]
        state: Vec<String>,
        #[arg(long, default_value_t = 100)]
        limit: u64,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

#[derive(Debug, clap::Args)]
pub struct InstancesArgs {
    #[command(subcommand)]
    action: InstancesAction,
}

#[derive(Debug, clap::Subcommand)]
enum InstancesAction {
    /// Chains with the unit they concern; filter by district, unit, workflow, status,
    /// overdue, escalated.
    List(crate::cmd::lists::InstanceFilter),
    /// One instance's timeline: done, pending, cancelled, failed, late.
    Show {
        id: i64,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

fn local(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&Shanghai)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub async fn run_timers(args: TimersArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let TimersAction::List {
        due_before,
        unit,
        state,
        limit,
        format,
    } = args.action;
    let (app, actor) = super::cli_reader(ctx).await?;
    let before = due_before
        .as_deref()
        .map(|d| super::parse_instant(d, "--due-before"))
        .transpose()?;
    let rows = app
        .timers(
            &actor,
            &duban_app::monitor::TimerQuery {
                due_before: before,
                unit,
                states: state,
                limit,
            },
        )
        .await?;
    match format {
        OutputFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        OutputFormat::Table => {
            println!(
                "{:<17} {:<9} {:<22} {:<26} {:<24} instance  lease",
                "due (Beijing)", "state", "workflow", "step", "subject"
            );
            for t in &rows {
                let state = if t.late {
                    format!("{} late", t.state)
                } else {
                    t.state.clone()
                };
                // A running timer is leased: by whom, and until when (Beijing time).
                let lease = match (&t.lease_owner, t.lease_until) {
                    (Some(owner), Some(until)) if t.state == "running" => format!(
                        "  {owner} until {}",
                        until.with_timezone(&Shanghai).format("%m-%d %H:%M:%S")
                    ),
                    _ => String::new(),
                };
                println!(
                    "{:<17} {:<9} {:<22} {:<26} {:<24} {:<8}{}",
                    local(t.due_at),
                    state,
                    t.workflow,
                    t.step,
                    t.subject,
                    t.instance,
                    lease
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run_instances(args: InstancesArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (id, format) = match args.action {
        InstancesAction::List(filter) => return crate::cmd::lists::instances(filter, ctx).await,
        InstancesAction::Show { id, format } => (id, format),
    };
    let (app, actor) = super::cli_reader(ctx).await?;
    let timeline = app.timeline(&actor, id).await?;
    let (instance, timers) = (&timeline.instance, &timeline.timers);
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&timeline)?),
        OutputFormat::Table => {
            println!(
                "instance {} · {} v{} ({}) · {} · {}{}{}",
                instance.id,
                instance.workflow_id,
                instance.workflow_version,
                &instance.content_hash[..12.min(instance.content_hash.len())],
                instance.subject_key,
                instance.status,
                if instance.escalation_level > 0 {
                    format!(" · escalation level {}", instance.escalation_level)
                } else {
                    String::new()
                },
                instance
                    .subject_status
                    .as_deref()
                    .map(|s| format!(" · {s}"))
                    .unwrap_or_default(),
            );
            for t in timers {
                let state = if t.late {
                    format!("{} (late)", t.state)
                } else {
                    t.state.clone()
                };
                let extra = t
                    .last_error
                    .as_deref()
                    .map(|e| format!(" — {e}"))
                    .unwrap_or_default();
                println!(
                    "  {}  {:<16} {:<26} {}{}",
                    local(t.due_at),
                    state,
                    t.step_id,
                    t.title,
                    extra
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
