//! The workflow files as administrators see them: the workflows the engine runs, and a
//! proposed file checked beside them before anyone copies it into `workflows/`.

use crate::{Actor, App, AppError, Permission};
use duban_store::lists::ListFilter;
use serde::Serialize;

/// A workflow the engine runs.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowLine {
    pub id: String,
    pub name: String,
    pub version: u32,
    /// What it follows: `term`, `rectification`, `interview`, `unit`, `member`.
    pub subject: String,
    pub description: Option<String>,
    pub steps: usize,
    /// Starts for every subject of its kind (not only when another workflow starts it).
    pub self_starting: bool,
    /// Its chains still running.
    pub active: u64,
}

/// One finding in a checked file; lines and columns 1-based.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowFinding {
    pub error: bool,
    pub code: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub help: Option<String>,
    /// The line of the file the finding points at.
    pub source_line: Option<String>,
}

/// What checking a proposed file found.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowCheck {
    pub file: String,
    /// The workflow the file defines, when it parses: id, name and steps.
    pub workflow: Option<WorkflowLine>,
    pub findings: Vec<WorkflowFinding>,
}

impl WorkflowCheck {
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.error).count()
    }
}

fn line_of(w: &duban_workflow::model::Workflow, self_starting: bool, active: u64) -> WorkflowLine {
    WorkflowLine {
        id: w.id.clone(),
        name: w.name.clone(),
        version: w.version,
        subject: w.subject.as_str().to_string(),
        description: w.description.clone(),
        steps: w.steps.len(),
        self_starting,
        active,
    }
}

impl App {
    /// The workflows new chains use, with how many of their chains run.
    pub async fn workflows(&self, actor: &Actor) -> Result<Vec<WorkflowLine>, AppError> {
        actor.require(Permission::ReadChains)?;
        let rules = &self.engine.rules;
        let starting: std::collections::HashSet<&str> =
            rules.self_starting().map(|w| w.id.as_str()).collect();
        let mut out = Vec::new();
        for w in rules.current().iter() {
            let f = ListFilter {
                workflow: Some(w.id.clone()),
                status: Some("active".into()),
                scope: actor.list_scope(),
                ..ListFilter::default()
            };
            let active = self.store().count_instances(&f).await?;
            out.push(line_of(w, starting.contains(w.id.as_str()), active));
        }
        Ok(out)
    }

    /// Checks a proposed workflow file beside the running workflows; nothing changes.
    pub async fn check_workflow(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<WorkflowCheck, AppError> {
        actor.require(Permission::ManageWorkflows)?;
        let text = std::str::from_utf8(bytes).map_err(|e| {
            AppError::invalid_at(
                "file",
                format!("工作流文件须为UTF-8编码 (the workflow file is not UTF-8: {e})"),
            )
        })?;
        let name = if file_name.trim().is_empty() {
            "workflow.toml"
        } else {
            file_name.trim()
        };
        let report = self.engine.rules.check_candidate(name, text);
        let workflow = report
            .set
            .iter()
            .find(|w| w.path == name)
            .map(|w| line_of(w, false, 0));
        Ok(WorkflowCheck {
            file: name.to_string(),
            workflow,
            findings: report
                .diagnostics
                .into_iter()
                .map(|d| WorkflowFinding {
                    error: d.is_error(),
                    code: d.code.to_string(),
                    line: d.line,
                    column: d.column,
                    message: d.message,
                    help: d.help,
                    source_line: d.source_line,
                })
                .collect(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// `workflows check` and `workflows simulate`.
//
// Both read files, never the database, so the command line runs them before any database
// exists (and on files with errors, which no engine would load); the HTTP API runs them
// through `App::check_workflows` and `App::simulate_workflow`, which add the permission
// and, for a simulation, read the subject from the register.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use duban_workflow::check::{CheckOptions, check_paths};
use duban_workflow::diag::{Diagnostic, Source, render_text};
use duban_workflow::plan::{Event, PlanContext};
pub use duban_workflow::simulate::{Entry, EntryKind, Timeline};
use duban_workflow::simulate::{SimError, SimOptions, simulate};
use duban_workflow::{Calendar, QuietHours, Subject, Workflow, WorkflowSet};
use std::path::{Path, PathBuf};

/// Where `workflows check` reads the files and the calendar, and what the configured SMS
/// provider can send (`[workflows]`, `[calendar]`, `[notify]`).
#[derive(Debug, Clone)]
pub struct WorkflowFiles {
    pub dir: PathBuf,
    pub calendar_dir: PathBuf,
    pub sms_signature: String,
    pub notify: duban_notify::settings::NotifySettings,
}

impl WorkflowFiles {
    /// The configuration's defaults: `workflows/` and `config/calendar/`, SMS written to
    /// the log (which sends any text).
    pub fn new(sms_signature: &str) -> WorkflowFiles {
        WorkflowFiles {
            dir: PathBuf::from("workflows"),
            calendar_dir: PathBuf::from("config/calendar"),
            sms_signature: sms_signature.to_string(),
            notify: Default::default(),
        }
    }

    fn options(&self) -> CheckOptions {
        CheckOptions {
            sms_signature: self.sms_signature.clone(),
            recordable: Some(duban_engine::answer::recordable()),
        }
    }
}

/// A workflow a check found valid.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckedWorkflow {
    pub id: String,
    pub version: u32,
    pub content_hash: String,
    pub path: String,
}

/// What `workflows check` found in the files, the calendar and the SMS provider's
/// templates. `failed` when anything would stop the engine or make every send fail.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowsChecked {
    pub failed: bool,
    /// Files read.
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
    pub workflows: Vec<CheckedWorkflow>,
    /// Every finding, located file:line:column, with a hint.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub diagnostics: Vec<Diagnostic>,
    /// The calendar files do not cover the coming year.
    pub calendar_warning: Option<String>,
    /// The calendar files cannot be read.
    pub calendar_error: Option<String>,
    /// Steps whose SMS the provider cannot send at all.
    pub sms_template_errors: Vec<String>,
    /// Steps whose SMS goes out through the generic template instead of its own text.
    pub sms_template_warnings: Vec<String>,
}

impl WorkflowsChecked {
    /// The findings as `duban workflows check` prints them.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        if let Some(e) = &self.calendar_error {
            out.push_str(&format!("error: {e}\n"));
        }
        if let Some(w) = &self.calendar_warning {
            out.push_str(&format!("warning: {w}\n\n"));
        }
        for e in &self.sms_template_errors {
            out.push_str(&format!("error: {e}\n"));
        }
        for w in &self.sms_template_warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out.push_str(&render_text(&self.diagnostics));
        out.push_str(&format!(
            "{} file(s) checked, {} workflow(s) valid\n",
            self.files,
            self.workflows.len()
        ));
        out
    }
}

/// The SMS provider template each workflow step sends through (`workflow.template`).
pub fn sms_template_names(set: &WorkflowSet) -> Vec<String> {
    let mut names: Vec<String> = set
        .iter()
        .flat_map(|w| {
            w.steps
                .iter()
                .filter(|s| s.channels.contains(&duban_core::register::Channel::Sms))
                .filter_map(move |s| s.template.as_ref().map(|t| format!("{}.{t}", w.id)))
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Steps whose SMS the configured provider cannot send as written: `(errors, warnings)`.
/// An error is a step with no provider template at all (every send would fail), or a
/// template parameter mapped to a value its messages do not have or that can read wrong
/// (`days_left` on a step that can leave after its anchor is a negative count); a warning,
/// a step that falls back to the generic `reminder` template, so its own text
/// (`*.sms.txt`) never reaches recipients, or a parameter that is always 0 on it.
pub fn sms_template_findings(
    notify: &duban_notify::settings::NotifySettings,
    set: &WorkflowSet,
) -> (Vec<String>, Vec<String>) {
    use duban_notify::settings::TemplateCoverage;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for (name, c) in notify.sms_template_coverage(&sms_template_names(set)) {
        match c {
            TemplateCoverage::Own => {}
            TemplateCoverage::Generic => warnings.push(format!(
                "SMS of {name} goes out through the generic `reminder` provider template, not its own text; register the text with the provider and map it under [notify.sms.templates.\"{name}\"]"
            )),
            TemplateCoverage::Missing => errors.push(format!(
                "SMS of {name} has no provider template: map [notify.sms.templates.\"{name}\"] (or a generic `reminder`), or every send fails"
            )),
        }
    }
    for w in set.iter() {
        for step in w
            .steps
            .iter()
            .filter(|s| s.channels.contains(&duban_core::register::Channel::Sms))
        {
            let Some(t) = &step.template else { continue };
            let name = format!("{}.{t}", w.id);
            let Some(params) = notify.sms_template_params(&name) else {
                continue;
            };
            for (var, ours) in params {
                match sms_param_finding(w.subject, step, &ours) {
                    Some(ParamFinding::Unknown) => errors.push(format!(
                        "SMS of {name}: provider variable {var} is mapped to `{ours}`, which its messages do not have; use one of: {}",
                        sms_param_names(w.subject).join(", ")
                    )),
                    Some(ParamFinding::Negative) => errors.push(format!(
                        "SMS of {name}: provider variable {var} is mapped to `days_left`, a negative number once the step leaves after its anchor; map `time_left` (还有N天 / 今天到期 / 已逾期N天) or `days_overdue`"
                    )),
                    Some(ParamFinding::AlwaysZero) => warnings.push(format!(
                        "SMS of {name}: provider variable {var} is mapped to `days_overdue`, always 0 on a step due before its anchor; map `time_left` or `days_left`"
                    )),
                    None => {}
                }
            }
        }
    }
    (errors, warnings)
}

/// What is wrong with filling a provider variable of `step`'s SMS from `param`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamFinding {
    Unknown,
    Negative,
    AlwaysZero,
}

/// The message parameters an SMS of a `kind` subject carries: its variables, the common
/// ones, the title as `subject` and the recipient's name.
fn sms_param_names(kind: duban_workflow::subject::SubjectKind) -> Vec<&'static str> {
    kind.variables()
        .iter()
        .chain(duban_workflow::subject::COMMON_VARIABLES)
        .map(|v| v.name)
        .chain(["subject", "recipient_name"])
        .collect()
}

fn sms_param_finding(
    kind: duban_workflow::subject::SubjectKind,
    step: &duban_workflow::model::Step,
    param: &str,
) -> Option<ParamFinding> {
    if !sms_param_names(kind).contains(&param) {
        return Some(ParamFinding::Unknown);
    }
    // Counted from the anchor and strictly before it, never repeating past it. A catch-up
    // or a hold can still take such a message past the anchor only by more than its offset.
    let before_anchor = step.from.is_none()
        && step.repeat.is_none()
        && step.offset.terms.iter().all(|t| t.amount <= 0)
        && step.offset.terms.iter().any(|t| t.amount < 0);
    match param {
        "days_left" if !before_anchor => Some(ParamFinding::Negative),
        "days_overdue" if before_anchor => Some(ParamFinding::AlwaysZero),
        _ => None,
    }
}

/// Loads the working-day calendar; errors name file:line:column.
pub fn load_calendar(dir: &Path) -> Result<Calendar, AppError> {
    Calendar::load_dir(dir).map_err(|diags| {
        AppError::invalid(format!(
            "the holiday calendar in {} has errors:\n{}",
            dir.display(),
            render_text(&diags)
        ))
    })
}

/// Checks the workflow files under `paths` (files or directories), the calendar (which
/// must cover the year after `today`) and the SMS provider's templates. Reads files only.
pub fn check_files(files: &WorkflowFiles, paths: &[PathBuf], today: NaiveDate) -> WorkflowsChecked {
    let report = check_paths(paths, &files.options());
    let (calendar_error, calendar_warning) = match load_calendar(&files.calendar_dir) {
        Ok(cal) => (
            None,
            cal.coverage_warning(today + chrono::Duration::days(366)),
        ),
        Err(e) => (Some(e.to_string()), None),
    };
    let (sms_template_errors, sms_template_warnings) =
        sms_template_findings(&files.notify, &report.set);
    let errors = report.errors();
    WorkflowsChecked {
        failed: errors > 0 || calendar_error.is_some() || !sms_template_errors.is_empty(),
        files: report.files,
        errors,
        warnings: report.diagnostics.len() - errors,
        workflows: report
            .set
            .iter()
            .map(|w| CheckedWorkflow {
                id: w.id.clone(),
                version: w.version,
                content_hash: w.content_hash.clone(),
                path: w.path.clone(),
            })
            .collect(),
        diagnostics: report.diagnostics,
        calendar_warning,
        calendar_error,
        sms_template_errors,
        sms_template_warnings,
    }
}

/// The workflow `workflow` names — an id among the files of `dir`, or the path of a
/// `.toml` file — with the other files of its directory, so the workflows it starts can be
/// followed. A workflow with errors is refused with them.
pub fn load_workflow(
    files: &WorkflowFiles,
    workflow: &str,
) -> Result<(WorkflowSet, String), AppError> {
    let as_path = Path::new(workflow);
    let (dir, file) = if workflow.ends_with(".toml") {
        if !as_path.is_file() {
            return Err(AppError::NotFound(format!(
                "no workflow file at {workflow}"
            )));
        }
        (
            as_path.parent().map(Path::to_path_buf).unwrap_or_default(),
            Some(as_path.to_path_buf()),
        )
    } else {
        (files.dir.clone(), None)
    };
    let report = check_paths(std::slice::from_ref(&dir), &files.options());
    let id = match &file {
        Some(f) => report
            .set
            .iter()
            .find(|w: &&Workflow| Path::new(&w.path) == f.as_path())
            .map(|w| w.id.clone()),
        None => Some(workflow.to_string()),
    };
    // A file's own findings, and those of its templates' directory.
    let concerns = |d: &Diagnostic| match (&file, &id) {
        (Some(f), _) => {
            let stem = f.file_stem().unwrap_or_default().to_string_lossy();
            Path::new(&d.file) == f.as_path() || d.file.contains(&format!("/{stem}/"))
        }
        (None, Some(id)) => {
            Path::new(&d.file)
                .file_stem()
                .is_some_and(|s| s == id.as_str())
                || d.file.contains(&format!("/{id}/"))
        }
        (None, None) => false,
    };
    let errors_here: Vec<Diagnostic> = report
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && concerns(d))
        .cloned()
        .collect();
    match id {
        Some(id) if report.set.get(&id).is_some() => Ok((report.set, id)),
        _ if !errors_here.is_empty() => Err(AppError::invalid(format!(
            "{}the workflow has errors; fix them (duban workflows check) before simulating",
            render_text(&errors_here)
        ))),
        Some(id) => {
            let known: Vec<&str> = report.set.workflows.keys().map(String::as_str).collect();
            Err(AppError::NotFound(format!(
                "no workflow `{id}` in {} (known: {})",
                dir.display(),
                known.join(", ")
            )))
        }
        None => Err(AppError::invalid(format!(
            "{workflow} has errors; run `duban workflows check {workflow}`"
        ))),
    }
}

const SUBJECT_HELP: &str = "see the subject kinds and their fields in workflows/README.md";

/// A subject written as JSON, or as TOML when `name` ends in `.toml`; errors name
/// `name:line:column` and the field.
pub fn parse_subject(name: &str, text: &str) -> Result<Subject, AppError> {
    let subject: Subject = if name.ends_with(".toml") {
        subject_from_toml(name, text)?
    } else {
        serde_json::from_str(text).map_err(|e| {
            // Errors inside the tagged object come without a position; find the field named.
            let (line, column) = if e.line() > 0 {
                (e.line(), e.column())
            } else {
                let field = e.to_string().split('`').nth(1).map(|f| format!("\"{f}\""));
                let at = field.and_then(|f| text.find(&f)).unwrap_or(0);
                Source::new(name, text).position(at)
            };
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            AppError::invalid_at(
                "/subject",
                format!("{name}:{line}:{column}: {message}\n  = help: {SUBJECT_HELP}"),
            )
        })?
    };
    subject
        .validate()
        .map_err(|e| AppError::invalid_at("/subject", format!("{name}: {e}")))?;
    Ok(subject)
}

/// A subject written as TOML. Dates may be bare (`term_end = 2026-10-09`) or quoted.
fn subject_from_toml(name: &str, text: &str) -> Result<Subject, AppError> {
    let src = Source::new(name, text);
    let located = |at: std::ops::Range<usize>, message: String| {
        AppError::invalid_at(
            "/subject",
            src.error("subject", at, message, SUBJECT_HELP).to_string(),
        )
    };
    let table: toml::Table = toml::from_str(text)
        .map_err(|e| located(e.span().unwrap_or(0..0), e.message().trim().to_string()))?;
    fn plain(v: toml::Value) -> serde_json::Value {
        match v {
            toml::Value::Datetime(d) => serde_json::Value::String(d.to_string().replace(' ', "T")),
            toml::Value::Table(t) => t.into_iter().map(|(k, v)| (k, plain(v))).collect(),
            toml::Value::Array(a) => a.into_iter().map(plain).collect(),
            other => serde_json::to_value(other).unwrap_or(serde_json::Value::Null),
        }
    }
    serde_json::from_value(plain(toml::Value::Table(table))).map_err(|e| {
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
        located(at..at + field.len().max(1), message)
    })
}

fn parse_moment(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    duban_core::register::parse_date(s).map(|d| d.and_time(NaiveTime::MIN))
}

/// A completion event written `NAME@DATE`, `NAME@DATETIME` (2026-09-20T10:00) or, for
/// events that carry a new date, `NAME@DATE=DATE` (extension_approved@2026-09-01=2027-04-09),
/// in the workflow's time zone.
pub fn parse_event(s: &str, wf: &Workflow, reason: Option<&str>) -> Result<Event, AppError> {
    let help = "write NAME@DATE, e.g. election_recorded@2026-09-20, or NAME@DATE=NEWDATE for events that carry a date";
    let bad = |m: String| AppError::invalid(format!("event `{s}`: {m}"));
    let (name, rest) = s
        .split_once('@')
        .ok_or_else(|| bad(format!("no `@DATE`; {help}")))?;
    let (when, value) = match rest.split_once('=') {
        Some((w, v)) => (w, Some(v)),
        None => (rest, None),
    };
    let spec = wf.subject.event(name).ok_or_else(|| {
        let known: Vec<&str> = wf.subject.events().iter().map(|e| e.name).collect();
        bad(format!(
            "`{name}` is not an event of `{}` subjects (events: {})",
            wf.subject,
            known.join(", ")
        ))
    })?;
    let local = parse_moment(when).ok_or_else(|| bad(format!("`{when}` is not a date; {help}")))?;
    let at = wf
        .timezone
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| bad(format!("{local} does not exist in {}", wf.timezone)))?;
    let value = match value {
        None => None,
        Some(v) => {
            Some(parse_moment(v).ok_or_else(|| bad(format!("`{v}` is not a date; {help}")))?)
        }
    };
    if let (Some(v), None) = (value, spec.sets) {
        return Err(bad(format!("`{name}` carries no date; drop `={v}`")));
    }
    Ok(Event {
        name: name.to_string(),
        at,
        value,
        reason: reason.map(str::to_string),
    })
}

/// What a simulation runs on beside the workflow and the subject.
#[derive(Debug, Clone, Copy)]
pub struct SimulationRules<'a> {
    pub calendar: &'a Calendar,
    pub quiet: &'a QuietHours,
    pub org_department: &'a str,
    pub sms_signature: &'a str,
}

/// The longest window a simulation covers: ten years.
const MAX_SIMULATED_DAYS: i64 = 3653;

/// The timeline `subject` would get from `workflow_id` of `set` between `from` and `to`,
/// with `events` (recorded, then injected) completing steps on the way. Nothing is stored.
pub fn simulate_in(
    set: &WorkflowSet,
    workflow_id: &str,
    subject: &Subject,
    events: Vec<Event>,
    (from, to): (NaiveDate, NaiveDate),
    rules: SimulationRules<'_>,
) -> Result<Timeline, AppError> {
    use chrono::Datelike;
    for (day, pointer) in [(from, "/from"), (to, "/to")] {
        if !(2000..=2100).contains(&day.year()) {
            return Err(AppError::invalid_at(
                pointer,
                format!("模拟日期 {day} 须在2000年至2100年之间 (simulate between 2000 and 2100)"),
            ));
        }
    }
    if (to - from).num_days() > MAX_SIMULATED_DAYS {
        return Err(AppError::invalid_at(
            "/to",
            format!("模拟时段不得超过十年 (simulate at most ten years: {from} to {to} is longer)"),
        ));
    }
    let opts = SimOptions {
        from,
        to,
        events,
        org_department: rules.org_department.to_string(),
        link: "[确认链接]".to_string(),
        sms_signature: rules.sms_signature.to_string(),
    };
    let ctx = PlanContext {
        calendar: rules.calendar,
        quiet: rules.quiet,
    };
    simulate(set, workflow_id, subject, &opts, &ctx).map_err(|e| match e {
        SimError::UnknownWorkflow(id) => AppError::NotFound(format!("no workflow `{id}`")),
        SimError::BadRange { from, to } => AppError::invalid_at(
            "/to",
            format!("结束日期 {to} 早于开始日期 {from} (the last day is before the first)"),
        ),
        SimError::Plan(e) => AppError::invalid(e.to_string()),
    })
}

/// Which subject to simulate: one of the register (by unit code for term and unit
/// workflows, or by the engine's subject key such as `rectification:3`), or one written
/// out in full as JSON.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// A workflow id among the workflows the engine runs.
    pub workflow: String,
    /// A unit's code (term and unit workflows).
    #[serde(default)]
    pub unit: Option<String>,
    /// A subject key of the register (`term:370102-0001:-`, `rectification:3`, `interview:2`,
    /// `member:7`).
    #[serde(default)]
    pub subject_key: Option<String>,
    /// A subject written out (`{"kind": "term", "unit_code": …}`), as for `duban workflows simulate`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub subject: Option<serde_json::Value>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Completion events to inject: `NAME@DATE[=VALUE]`.
    #[serde(default)]
    pub events: Vec<String>,
    /// The reason for an injected extension beyond one year.
    #[serde(default)]
    pub reason: Option<String>,
}

impl App {
    /// `workflows check` of the directory the configuration names, as the files stand now
    /// (before a restart or a re-plan takes them up). Reads files only.
    pub async fn check_workflows(&self, actor: &Actor) -> Result<WorkflowsChecked, AppError> {
        actor.require(Permission::ManageWorkflows)?;
        let files = &self.workflow_files;
        Ok(check_files(
            files,
            std::slice::from_ref(&files.dir),
            self.today(),
        ))
    }

    /// The timeline a subject would get from one of the workflows the engine runs, on the
    /// engine's calendar and quiet hours: a subject of the register with the events
    /// recorded for it, or one written out; nothing is stored.
    pub async fn simulate_workflow(
        &self,
        actor: &Actor,
        req: SimulateRequest,
    ) -> Result<Timeline, AppError> {
        actor.require(Permission::ManageWorkflows)?;
        let rules = &self.engine.rules;
        let set = rules.current();
        let wf = set.get(&req.workflow).ok_or_else(|| {
            AppError::NotFound(format!(
                "没有工作流 {} (no workflow `{}`)",
                req.workflow, req.workflow
            ))
        })?;
        let (subject, mut events) = self.simulated_subject(actor, wf, &req).await?;
        for (i, e) in req.events.iter().enumerate() {
            events.push(
                parse_event(e, wf, req.reason.as_deref()).map_err(|e| match e {
                    AppError::Invalid { message, .. } => {
                        AppError::invalid_at(&format!("/events/{i}"), message)
                    }
                    e => e,
                })?,
            );
        }
        simulate_in(
            set,
            &wf.id,
            &subject,
            events,
            (req.from, req.to),
            SimulationRules {
                calendar: &rules.calendar,
                quiet: &rules.quiet,
                org_department: &self.engine.config.org_department,
                sms_signature: &rules.sms_signature,
            },
        )
    }

    async fn simulated_subject(
        &self,
        actor: &Actor,
        wf: &Workflow,
        req: &SimulateRequest,
    ) -> Result<(Subject, Vec<Event>), AppError> {
        use duban_engine::SubjectRef;
        use duban_workflow::SubjectKind;
        let wrong_kind = |pointer: &str| {
            AppError::invalid_at(
                pointer,
                format!(
                    "工作流 {} 针对 {} 类对象 (the workflow follows `{}` subjects)",
                    wf.id, wf.subject, wf.subject
                ),
            )
        };
        let sref = match (&req.unit, &req.subject_key, &req.subject) {
            (None, None, Some(json)) => {
                let subject = parse_subject("subject", &json.to_string())?;
                if subject.kind() != wf.subject {
                    return Err(wrong_kind("/subject/kind"));
                }
                return Ok((subject, Vec::new()));
            }
            (Some(code), None, None) => {
                let reader = self.store().reader();
                let Some(u) = reader.get().unit_by_code(code.trim()).await? else {
                    return Err(AppError::NotFound(format!(
                        "登记册中没有单位 {code} (no unit {code} in the register)"
                    )));
                };
                match wf.subject {
                    SubjectKind::Term => SubjectRef::term_of(&u.unit),
                    SubjectKind::Unit => SubjectRef::Unit(u.unit.code.clone()),
                    other => {
                        return Err(AppError::invalid_at(
                            "/unit",
                            format!(
                                "工作流 {} 针对 {other} 类对象，请填写对象键 (the workflow follows `{other}` subjects: give a subject_key)",
                                wf.id
                            ),
                        ));
                    }
                }
            }
            (None, Some(key), None) => SubjectRef::parse(key.trim()).ok_or_else(|| {
                AppError::invalid_at(
                    "/subject_key",
                    format!("对象键 {key} 无法识别 (not a subject key such as rectification:3)"),
                )
            })?,
            _ => {
                return Err(AppError::invalid(
                    "请只给出 unit、subject_key、subject 之一 (give exactly one of unit, subject_key, subject)",
                ));
            }
        };
        if sref.kind() != wf.subject {
            return Err(wrong_kind("/subject_key"));
        }
        self.check_subject_scope(actor, &sref.key()).await?;
        let reader = self.store().reader();
        let loaded = duban_engine::subjects::load(reader.get(), &sref)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "登记册中没有 {sref} ({sref} is not in the register)"
                ))
            })?;
        Ok((loaded.subject, loaded.events))
    }
}
