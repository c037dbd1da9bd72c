//! `duban workflows check [PATH...]`, `duban workflows schema` and
//! `duban workflows simulate WORKFLOW --subject FILE|JSON --from DATE --to DATE`.

use super::{BadInput, Context, OutputFormat};
use anyhow::Context as _;
use duban_app::workflows;
use duban_core::register::parse_date;
use duban_workflow::simulate::render_timeline;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Validate workflow files and their templates; exit 1 on errors.
    Check {
        /// Files or directories (default: workflows.dir from the configuration).
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Print the JSON Schema of workflow files, for editors.
    Schema,
    /// Preview the timeline a subject would get, with rendered messages and escalations.
    Simulate(SimulateArgs),
    /// Re-plan running instances that were planned with an older version of their
    /// workflow file, so they follow the current one. `--dry-run` shows the difference per
    /// instance and changes nothing.
    Replan {
        /// Only this workflow's instances.
        #[arg(long)]
        workflow: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

#[derive(Debug, clap::Args)]
struct SimulateArgs {
    /// A workflow id from workflows.dir, or the path of a workflow file.
    workflow: String,
    /// The subject: a .json or .toml file, or inline JSON such as
    /// '{"kind":"term","unit_code":"DZ1","unit_name":"…","unit_level":"branch","term_end":"2026-10-09"}'.
    #[arg(long)]
    subject: String,
    /// First day shown (YYYY-MM-DD).
    #[arg(long)]
    from: String,
    /// Last day shown (YYYY-MM-DD).
    #[arg(long)]
    to: String,
    /// Inject a completion event: NAME@DATE, NAME@DATETIME (2026-09-20T10:00), with
    /// =DATE for events that carry a new date (extension_approved@2026-09-01=2027-04-09).
    #[arg(long = "event", value_name = "NAME@DATE[=VALUE]")]
    events: Vec<String>,
    /// The reason for an injected extension beyond one year.
    #[arg(long)]
    reason: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

/// Where `workflows check` and `simulate` read, from the configuration.
pub fn files(ctx: &Context) -> duban_app::workflows::WorkflowFiles {
    duban_app::workflows::WorkflowFiles {
        dir: ctx.settings.workflows.dir.clone(),
        calendar_dir: ctx.settings.calendar.dir.clone(),
        sms_signature: ctx.settings.workflows.sms_signature.clone(),
        notify: ctx.settings.notify.clone(),
    }
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Check { paths, format } => check(ctx, paths, format),
        What::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&duban_workflow::schema::json_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
        What::Simulate(a) => simulate_cmd(ctx, a),
        What::Replan {
            workflow,
            dry_run,
            format,
        } => {
            let app = ctx.app_for_cli().await?;
            let actor = duban_app::Actor::command_line(&crate::cmd::import::login_name());
            let diffs = app.replan(&actor, workflow.as_deref(), dry_run).await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&diffs)?),
                OutputFormat::Table => {
                    if diffs.is_empty() {
                        println!("every running instance follows the current workflow files");
                    }
                    for d in &diffs {
                        println!(
                            "instance {} {} {}: v{} ({}) → v{} ({}): {} timers added, {} moved, {} cancelled",
                            d.instance_id,
                            d.workflow_id,
                            d.subject,
                            d.from_version,
                            short(&d.from_hash),
                            d.to_version,
                            short(&d.to_hash),
                            d.inserted,
                            d.rescheduled,
                            d.cancelled
                        );
                    }
                    if dry_run && !diffs.is_empty() {
                        println!(
                            "dry run: nothing was changed; run again without --dry-run to apply"
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

fn check(ctx: &Context, paths: Vec<PathBuf>, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let files = files(ctx);
    let paths = if paths.is_empty() {
        vec![files.dir.clone()]
    } else {
        paths
    };
    let checked = workflows::check_files(&files, &paths, ctx.today());
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&checked)?),
        OutputFormat::Table => print!("{}", checked.render_text()),
    }
    Ok(if checked.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn simulate_cmd(ctx: &Context, a: SimulateArgs) -> anyhow::Result<ExitCode> {
    let (set, id) = workflows::load_workflow(&files(ctx), &a.workflow)?;
    let wf = set.get(&id).context("workflow loaded")?;
    let subject = if a.subject.trim_start().starts_with('{') {
        workflows::parse_subject("--subject", &a.subject)?
    } else {
        let text = std::fs::read_to_string(&a.subject)
            .with_context(|| format!("cannot read the subject file {}", a.subject))?;
        workflows::parse_subject(&a.subject, &text)?
    };
    let events = a
        .events
        .iter()
        .map(|e| workflows::parse_event(e, wf, a.reason.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let day = |s: &str, flag: &str| {
        parse_date(s)
            .ok_or_else(|| BadInput(format!("{flag} `{s}` is not a date; write YYYY-MM-DD")))
    };
    let window = (day(&a.from, "--from")?, day(&a.to, "--to")?);
    let calendar = ctx.calendar()?;
    let quiet = ctx.settings.quiet_hours()?;
    let timeline = workflows::simulate_in(
        &set,
        &id,
        &subject,
        events,
        window,
        workflows::SimulationRules {
            calendar: &calendar,
            quiet: &quiet,
            org_department: &ctx.settings.workflows.org_department,
            sms_signature: &ctx.settings.workflows.sms_signature,
        },
    )?;
    match a.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&timeline)?),
        OutputFormat::Table => print!("{}", render_timeline(&timeline)),
    }
    Ok(ExitCode::SUCCESS)
}
