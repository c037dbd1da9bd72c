//! `duban deliveries list|dead|resend`, `duban people unreachable` and `duban dispatch`:
//! the delivery log, dead letters, people no channel reaches, and one dispatch pass by hand.

use super::Context;
use chrono::{DateTime, Utc};
use duban_app::monitor::DeliveryQuery;
use duban_core::text::display_width;
use duban_engine::dispatch::{DispatchConfig, Dispatcher};
use std::process::ExitCode;

/// How a list is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ListFormat {
    #[default]
    Table,
    Json,
    /// UTF-8 with a BOM, so Excel opens it correctly.
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct DeliveriesArgs {
    #[command(subcommand)]
    action: DeliveriesAction,
}

#[derive(Debug, clap::Subcommand)]
enum DeliveriesAction {
    /// Every attempt to deliver a message, newest first.
    List {
        /// A unit's code: messages about it.
        #[arg(long)]
        unit: Option<String>,
        /// A person's mobile number, email or id.
        #[arg(long)]
        person: Option<String>,
        /// sent, transient, permanent, dead, dropped, deferred, merged or uncertain (the
        /// sending node stopped before recording a result; the message was sent again).
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// Messages that failed for good or used up their retries.
    Dead {
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// Queue a dead, failed, dropped or sent message again (never dropped as a duplicate).
    Resend { id: i64 },
}

#[derive(Debug, clap::Args)]
pub struct DispatchArgs {
    /// The instant to dispatch at (RFC 3339), instead of the clock.
    #[arg(long)]
    now: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value_t)]
    format: super::OutputFormat,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub(crate) fn print_rows(
    header: &[&str],
    rows: &[Vec<String>],
    format: ListFormat,
) -> anyhow::Result<()> {
    match format {
        ListFormat::Csv => {
            print!("\u{feff}");
            println!("{}", header.join(","));
            for r in rows {
                let line: Vec<String> = r.iter().map(|f| csv_field(f)).collect();
                println!("{}", line.join(","));
            }
        }
        ListFormat::Json => {
            let objs: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .iter()
                .map(|r| {
                    header
                        .iter()
                        .zip(r)
                        .map(|(h, v)| (h.to_string(), serde_json::Value::String(v.clone())))
                        .collect()
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&objs)?);
        }
        ListFormat::Table => {
            let mut widths: Vec<usize> = header.iter().map(|h| display_width(h)).collect();
            for r in rows {
                for (w, f) in widths.iter_mut().zip(r) {
                    *w = (*w).max(display_width(f));
                }
            }
            // Columns of figures (counts, amounts, percentages) align on the right.
            let numeric: Vec<bool> = (0..header.len())
                .map(|i| {
                    !rows.is_empty()
                        && rows.iter().all(|r| {
                            r.get(i).is_some_and(|c| {
                                !c.is_empty()
                                    && c.chars().all(|ch| {
                                        ch.is_ascii_digit()
                                            || matches!(ch, '.' | ',' | '%' | '-' | '—')
                                    })
                            })
                        })
                })
                .collect();
            let line = |fields: Vec<&str>| {
                let cells: Vec<String> = fields
                    .iter()
                    .zip(&widths)
                    .zip(&numeric)
                    .map(|((f, w), right)| {
                        let pad = " ".repeat(w - display_width(f));
                        if *right {
                            format!("{pad}{f}")
                        } else {
                            format!("{f}{pad}")
                        }
                    })
                    .collect();
                println!("{}", cells.join("  ").trim_end());
            };
            line(header.to_vec());
            for r in rows {
                line(r.iter().map(String::as_str).collect());
            }
        }
    }
    Ok(())
}

pub async fn run_deliveries(args: DeliveriesArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if let DeliveriesAction::Resend { id } = args.action {
        let app = ctx.app_for_cli().await?;
        let actor = duban_app::Actor::command_line(&crate::cmd::import::login_name());
        app.resend(&actor, id).await?;
        println!("message {id} queued again");
        return Ok(ExitCode::SUCCESS);
    }
    let (app, actor) = super::cli_reader(ctx).await?;
    match args.action {
        DeliveriesAction::List {
            unit,
            person,
            status,
            limit,
            format,
        } => {
            let rows = app
                .deliveries(
                    &actor,
                    &DeliveryQuery {
                        unit,
                        person,
                        status,
                        limit,
                        offset: 0,
                    },
                )
                .await?;
            let header = [
                "id",
                "outbox_id",
                "attempt",
                "at",
                "channel",
                "provider",
                "status",
                "address",
                "person",
                "unit",
                "subject",
                "provider_message_id",
                "error",
                "node",
            ];
            let rows: Vec<Vec<String>> = rows
                .into_iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.outbox_id.to_string(),
                        r.attempt.to_string(),
                        r.at.to_rfc3339(),
                        r.channel,
                        r.provider,
                        r.status,
                        r.address,
                        r.person.unwrap_or_default(),
                        r.unit.unwrap_or_default(),
                        r.subject,
                        r.provider_message_id.unwrap_or_default(),
                        r.error.unwrap_or_default(),
                        r.node,
                    ]
                })
                .collect();
            print_rows(&header, &rows, format)?;
        }
        DeliveriesAction::Dead { format } => {
            let rows: Vec<Vec<String>> = app
                .dead_letters(&actor)
                .await?
                .into_iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.state,
                        r.channel,
                        r.address,
                        r.attempts.to_string(),
                        r.subject,
                        r.error.unwrap_or_default(),
                    ]
                })
                .collect();
            print_rows(
                &[
                    "id", "state", "channel", "address", "attempts", "subject", "error",
                ],
                &rows,
                format,
            )?;
        }
        DeliveriesAction::Resend { .. } => unreachable!("handled before reading"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `duban people unreachable`.
pub async fn run_unreachable(format: ListFormat, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (app, actor) = super::cli_reader(ctx).await?;
    let rows: Vec<Vec<String>> = app
        .unreachable(&actor)
        .await?
        .into_iter()
        .map(|r| {
            vec![
                r.outbox_id.to_string(),
                r.person_id.map(|p| p.to_string()).unwrap_or_default(),
                r.person.unwrap_or_default(),
                r.role,
                r.unit.unwrap_or_default(),
                r.subject,
                r.at.to_rfc3339(),
            ]
        })
        .collect();
    print_rows(
        &[
            "outbox_id",
            "person_id",
            "person",
            "role",
            "unit",
            "subject",
            "at",
        ],
        &rows,
        format,
    )?;
    Ok(ExitCode::SUCCESS)
}

impl Context {
    /// A dispatcher on `store` with the channels and policy from `[notify]`.
    pub fn dispatcher(&self, store: duban_app::system::Store) -> anyhow::Result<Dispatcher> {
        duban_notify::install_crypto_provider();
        let notify = self.settings.notify.clone();
        let notifier = notify.build(&duban_notify::EnvSecrets)?;
        let rules = duban_engine::Rules::from_parts(
            self.workflow_set()?,
            self.calendar()?,
            self.settings.quiet_hours()?,
            &self.settings.workflows.sms_signature,
        );
        let e = self.engine_config();
        let config = DispatchConfig {
            node_id: e.node_id,
            lease: chrono::Duration::seconds(self.settings.engine.dispatch_lease_seconds.max(1)),
            concurrency: notify
                .email
                .smtp
                .as_ref()
                .map(|s| s.pool_max_size as usize)
                .unwrap_or(8)
                .max(1),
            ..DispatchConfig::default()
        };
        // The retry jitter's seed: random per process, so nodes do not retry in step.
        let seed = {
            use std::hash::BuildHasher;
            std::collections::hash_map::RandomState::new().hash_one(std::process::id())
        };
        Ok(Dispatcher::new(
            store,
            notifier,
            notify,
            std::sync::Arc::new(rules),
            config,
            seed,
        )?
        .with_clock(self.clock.clone()))
    }
}

/// `duban dispatch [--now T]`: one pass over the outbox.
pub async fn run_dispatch(args: DispatchArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let store = ctx.migrated_pool().await?;
    let mut d = ctx.dispatcher(store)?;
    // The pass's time, and the clock its leases count from: --now, else the command's clock.
    let now = args.now.unwrap_or_else(|| ctx.now());
    d = d.with_clock(match args.now {
        Some(t) => std::sync::Arc::new(duban_core::clock::ManualClock::new(t)),
        None => ctx.clock.clone(),
    });
    let report = d.dispatch(now).await?;
    match args.format {
        super::OutputFormat::Json => println!("{}", serde_json::to_string(&report)?),
        super::OutputFormat::Table => println!(
            "claimed {} sent {} retried {} failed {} dead {} dropped {} deferred {} merged {} into {} digests, lost {}",
            report.claimed,
            report.sent,
            report.retried,
            report.failed,
            report.dead,
            report.dropped,
            report.deferred,
            report.merged,
            report.digests,
            report.lost
        ),
    }
    Ok(ExitCode::SUCCESS)
}
