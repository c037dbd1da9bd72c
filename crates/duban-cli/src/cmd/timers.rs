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

fn local(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .with_timezone(&Shanghai)
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
    let store = ctx.migrated_store().await?;
    let before = due_before
        .as_deref()
        .map(|d| super::parse_instant(d, "--due-before"))
        .transpose()?;
    let states: Vec<&str> = state.iter().map(String::as_str).collect();
    let prefixes: Vec<String> = match &unit {
        Some(u) => {
            let snapshot = store
                .unit_by_code(u)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no party unit with code {u}"))?;
            let mut keys = vec![format!("unit:{u}")];
            keys.push(duban_engine::SubjectRef::term_of(&snapshot.unit).key());
            keys
        }
        None => vec![],
    };
    let mut rows = Vec::new();
    if prefixes.is_empty() {
        rows = store.list_timers(before, None, &states, limit).await?;
    } else {
        for key in &prefixes {
            rows.extend(store.list_timers(before, Some(key), &states, limit).await?);
        }
        rows.sort_by_key(|(t, _)| (t.due_at, t.id));
        rows.truncate(limit as usize);
    }
    match format {
        OutputFormat::Json => {
            let v: Vec<_> = rows
                .iter()
                .map(|(t, i)| serde_json::json!({
                    "id": t.id, "instance": i.id, "workflow": i.workflow_id, "subject": i.subject_key,
                    "step": t.step_id, "occurrence": t.occurrence, "due_at": t.due_at.and_utc(),
                    "state": t.state, "late": t.late, "attempts": t.attempts, "error": t.last_error,
                    "lease_owner": t.lease_owner, "lease_until": t.lease_until.map(|l| l.and_utc()),
                }))
                .collect();
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        OutputFormat::Table => {
            println!(
                "{:<17} {:<9} {:<22} {:<26} {:<24} instance  lease",
                "due (Beijing)", "state", "workflow", "step", "subject"
            );
            for (t, i) in &rows {
                let state = if t.late {
                    format!("{} late", t.state)
                } else {
                    t.state.clone()
                };
                // A running timer is leased: by whom, and until when (Beijing time).
                let lease = match (&t.lease_owner, t.lease_until) {
                    (Some(owner), Some(until)) if t.state == "running" => format!(
                        "  {owner} until {}",
                        until
                            .and_utc()
                            .with_timezone(&Shanghai)
                            .format("%m-%d %H:%M:%S")
                    ),
                    _ => String::new(),
                };
                println!(
                    "{:<17} {:<9} {:<22} {:<26} {:<24} {:<8}{}",
                    local(t.due_at),
                    state,
                    i.workflow_id,
                    t.step_id,
                    i.subject_key,
                    i.id,
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
    let store = ctx.migrated_store().await?;
    let Some((instance, timers)) = store.instance_timeline(id).await? else {
        eprintln!("error: no instance {id}");
        return Ok(ExitCode::FAILURE);
    };
    match format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "instance": instance, "timers": timers,
            }))?
        ),
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
            for t in &timers {
                let title = serde_json::from_str::<serde_json::Value>(&t.payload)
                    .ok()
                    .and_then(|v| v["title"].as_str().map(str::to_string))
                    .unwrap_or_default();
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
                    title,
                    extra
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
