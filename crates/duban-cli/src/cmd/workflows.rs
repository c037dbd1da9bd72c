//! `duban workflows check [PATH...]`, `duban workflows schema` and
//! `duban workflows simulate WORKFLOW --subject FILE|JSON --from DATE --to DATE`.

use super::{Context, OutputFormat};
use anyhow::Context as _;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use duban_core::register::parse_date;
use duban_workflow::check::{CheckOptions, check_paths};
use duban_workflow::diag::{Source, render_text};
use duban_workflow::plan::{Event, PlanContext};
use duban_workflow::simulate::{SimOptions, render_timeline, simulate};
use duban_workflow::{Subject, Workflow};
use std::path::{Path, PathBuf};
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

fn options(ctx: &Context) -> CheckOptions {
    CheckOptions {
        sms_signature: ctx.settings.workflows.sms_signature.clone(),
        recordable: Some(duban_engine::answer::recordable()),
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
    let paths = if paths.is_empty() {
        vec![ctx.settings.workflows.dir.clone()]
    } else {
        paths
    };
    let report = check_paths(&paths, &options(ctx));
    // The calendar is part of what the workflows run on: its gaps are reported here too.
    let (calendar_errors, calendar_warning) = match ctx.calendar() {
        Ok(cal) => (
            None,
            cal.coverage_warning(ctx.now().date_naive() + chrono::Duration::days(366)),
        ),
        Err(e) => (Some(format!("{e:#}")), None),
    };
    let (sms_errors, sms_warnings) = ctx.sms_template_findings(&report.set);
    let failed = report.has_errors() || calendar_errors.is_some() || !sms_errors.is_empty();
    match format {
        OutputFormat::Json => {
            let mut json = report.to_json();
            json["calendar_warning"] = serde_json::json!(calendar_warning);
            json["calendar_error"] = serde_json::json!(calendar_errors);
            json["sms_template_errors"] = serde_json::json!(sms_errors);
            json["sms_template_warnings"] = serde_json::json!(sms_warnings);
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        OutputFormat::Table => {
            if let Some(e) = &calendar_errors {
                println!("error: {e}");
            }
            if let Some(w) = &calendar_warning {
                println!("warning: {w}\n");
            }
            for e in &sms_errors {
                println!("error: {e}");
            }
            for w in &sms_warnings {
                println!("warning: {w}");
            }
            print!("{}", render_text(&report.diagnostics));
            println!(
                "{} file(s) checked, {} workflow(s) valid",
                report.files,
                report.set.workflows.len()
            );
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Loads the workflow to simulate together with the other files of its directory, so the
/// workflows it starts can be followed.
fn load_set(
    ctx: &Context,
    workflow: &str,
) -> anyhow::Result<(duban_workflow::WorkflowSet, String)> {
    let as_path = Path::new(workflow);
    let (dir, file) = if workflow.ends_with(".toml") {
        anyhow::ensure!(as_path.is_file(), "no workflow file at {workflow}");
        (
            as_path.parent().map(Path::to_path_buf).unwrap_or_default(),
            Some(as_path.to_path_buf()),
        )
    } else {
        (ctx.settings.workflows.dir.clone(), None)
    };
    let report = check_paths(std::slice::from_ref(&dir), &options(ctx));
    let id = match &file {
        Some(f) => report
            .set
            .iter()
            .find(|w: &&Workflow| Path::new(&w.path) == f.as_path())
            .map(|w| w.id.clone()),
        None => Some(workflow.to_string()),
    };
    let stem_is = |file: &str, id: &str| Path::new(file).file_stem().is_some_and(|s| s == id);
    let errors_here: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .filter(|d| match (&file, &id) {
            (Some(f), _) => {
                Path::new(&d.file) == f.as_path()
                    || d.file.contains(&format!(
                        "/{}/",
                        f.file_stem().unwrap_or_default().to_string_lossy()
                    ))
            }
            (None, Some(id)) => stem_is(&d.file, id) || d.file.contains(&format!("/{id}/")),
            (None, None) => false,
        })
        .cloned()
        .collect();
    match id {
        Some(id) if report.set.get(&id).is_some() => Ok((report.set, id)),
        _ if !errors_here.is_empty() => {
            eprint!("{}", render_text(&errors_here));
            anyhow::bail!(
                "the workflow has errors; fix them (duban workflows check) before simulating"
            )
        }
        Some(id) => {
            let known: Vec<&str> = report.set.workflows.keys().map(String::as_str).collect();
            anyhow::bail!(
                "no workflow `{id}` in {} (known: {})",
                dir.display(),
                known.join(", ")
            )
        }
        None => anyhow::bail!("{workflow} has errors; run `duban workflows check {workflow}`"),
    }
}

fn read_subject(arg: &str) -> anyhow::Result<Subject> {
    let (name, text) = if arg.trim_start().starts_with('{') {
        ("--subject".to_string(), arg.to_string())
    } else {
        let text = std::fs::read_to_string(arg)
            .with_context(|| format!("cannot read the subject file {arg}"))?;
        (arg.to_string(), text)
    };
    let subject: Subject = if name.ends_with(".toml") {
        subject_from_toml(&name, &text)?
    } else {
        serde_json::from_str(&text).map_err(|e| {
            // Errors inside the tagged object come without a position; find the field named.
            let (line, column) = if e.line() > 0 {
                (e.line(), e.column())
            } else {
                let field = e.to_string().split('`').nth(1).map(|f| format!("\"{f}\""));
                let at = field.and_then(|f| text.find(&f)).unwrap_or(0);
                let src = Source::new(&name, &text);
                src.position(at)
            };
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            anyhow::anyhow!(
                "{name}:{line}:{column}: {message}\n  = help: see the subject kinds and their fields in workflows/README.md"
            )
        })?
    };
    subject
        .validate()
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    Ok(subject)
}

/// A subject written as TOML. Dates may be bare (`term_end = 2026-10-09`) or quoted.
fn subject_from_toml(name: &str, text: &str) -> anyhow::Result<Subject> {
    let src = Source::new(name, text);
    let help = "see the subject kinds and their fields in workflows/README.md";
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let d = src.error(
            "subject",
            e.span().unwrap_or(0..0),
            e.message().trim().to_string(),
            help,
        );
        anyhow::anyhow!("{d}")
    })?;
    fn plain(v: toml::Value) -> serde_json::Value {
        match v {
            toml::Value::Datetime(d) => serde_json::Value::String(d.to_string().replace(' ', "T")),
            toml::Value::Table(t) => t.into_iter().map(|(k, v)| (k, plain(v))).collect(),
            toml::Value::Array(a) => a.into_iter().map(plain).collect(),
            other => serde_json::to_value(other).unwrap_or(serde_json::Value::Null),
        }
    }
    let json = plain(toml::Value::Table(table));
    serde_json::from_value(json).map_err(|e| {
        // serde names the field in backticks; point at the line that sets it.
        let message = e.to_string();
        let field = message.split('`').nth(1).unwrap_or_default();
        let at = text
            .lines()
            .scan(0, |offset, line| {
                let start = *offset;
                *offset += line.len() + 1;
                Some((start, line))
            })
            .find(|(_, line)| !field.is_empty() && line.trim_start().starts_with(field))
            .map(|(start, line)| start + line.len() - line.trim_start().len())
            .unwrap_or(0);
        let d = src.error("subject", at..at + field.len().max(1), message, help);
        anyhow::anyhow!("{d}")
    })
}

fn parse_moment(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    parse_date(s).map(|d| d.and_time(NaiveTime::MIN))
}

fn parse_event(s: &str, wf: &Workflow, reason: Option<&String>) -> anyhow::Result<Event> {
    let help = "write NAME@DATE, e.g. election_recorded@2026-09-20, or NAME@DATE=NEWDATE for events that carry a date";
    let (name, rest) = s
        .split_once('@')
        .ok_or_else(|| anyhow::anyhow!("--event `{s}`: no `@DATE`; {help}"))?;
    let (when, value) = match rest.split_once('=') {
        Some((w, v)) => (w, Some(v)),
        None => (rest, None),
    };
    let spec = wf.subject.event(name).ok_or_else(|| {
        let known: Vec<&str> = wf.subject.events().iter().map(|e| e.name).collect();
        anyhow::anyhow!(
            "--event `{s}`: `{name}` is not an event of `{}` subjects (events: {})",
            wf.subject,
            known.join(", ")
        )
    })?;
    let local = parse_moment(when)
        .ok_or_else(|| anyhow::anyhow!("--event `{s}`: `{when}` is not a date; {help}"))?;
    let at = wf
        .timezone
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            anyhow::anyhow!("--event `{s}`: {local} does not exist in {}", wf.timezone)
        })?;
    let value = match value {
        None => None,
        Some(v) => Some(
            parse_moment(v)
                .ok_or_else(|| anyhow::anyhow!("--event `{s}`: `{v}` is not a date; {help}"))?,
        ),
    };
    if value.is_some() && spec.sets.is_none() {
        anyhow::bail!(
            "--event `{s}`: `{name}` carries no date; drop `={}`",
            value.map(|v| v.to_string()).unwrap_or_default()
        );
    }
    Ok(Event {
        name: name.to_string(),
        at,
        value,
        reason: reason.cloned(),
    })
}

fn day(s: &str, flag: &str) -> anyhow::Result<NaiveDate> {
    parse_date(s).ok_or_else(|| anyhow::anyhow!("{flag} `{s}` is not a date; write YYYY-MM-DD"))
}

fn simulate_cmd(ctx: &Context, a: SimulateArgs) -> anyhow::Result<ExitCode> {
    let (set, id) = load_set(ctx, &a.workflow)?;
    let wf = set.get(&id).context("workflow loaded")?;
    let subject = read_subject(&a.subject)?;
    let events = a
        .events
        .iter()
        .map(|e| parse_event(e, wf, a.reason.as_ref()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cal = ctx.calendar()?;
    let quiet = ctx.settings.quiet_hours()?;
    let opts = SimOptions {
        from: day(&a.from, "--from")?,
        to: day(&a.to, "--to")?,
        events,
        org_department: ctx.settings.workflows.org_department.clone(),
        link: "[确认链接]".to_string(),
        sms_signature: ctx.settings.workflows.sms_signature.clone(),
    };
    let pctx = PlanContext {
        calendar: &cal,
        quiet: &quiet,
    };
    let timeline = simulate(&set, &id, &subject, &opts, &pctx)?;
    match a.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&timeline)?),
        OutputFormat::Table => print!("{}", render_timeline(&timeline)),
    }
    Ok(ExitCode::SUCCESS)
}
