//! The workflow file format and its validated model.
//!
//! A file is read in two passes. Serde reads the TOML into raw structs that keep every
//! value's span (unknown keys, wrong types and missing keys stop here, located). The second
//! pass turns raw values into the model and collects *every* semantic problem it finds, each
//! located at the value it is about.

use crate::diag::{Diagnostic, Source, did_you_mean};
use crate::offset::Offset;
use crate::quiet::parse_hhmm;
use crate::subject::{Role, SubjectKind};
use chrono::NaiveTime;
use chrono_tz::Tz;
use duban_core::register::Channel;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use toml::Spanned;

/// A validated workflow, ready to plan.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub id: String,
    pub name: String,
    pub version: u32,
    pub subject: SubjectKind,
    pub description: Option<String>,
    pub timezone: Tz,
    /// Default time of day for steps on date anchors.
    pub time: NaiveTime,
    pub anchor: Anchor,
    /// For recurring anchors: what to do with occurrences missed during an outage.
    pub misfire: Misfire,
    pub deadlines: Option<Deadlines>,
    pub steps: Vec<Step>,
    pub reactions: Vec<Reaction>,
    /// Templates by name, as loaded beside the file.
    pub templates: BTreeMap<String, TemplateSet>,
    /// SHA-256 of the file and every template it uses: what an instance was planned with.
    pub content_hash: String,
    /// The file it came from.
    pub path: String,
}

/// What the steps' offsets count from.
#[derive(Debug, Clone)]
pub enum Anchor {
    /// A date (or date-time) field of the subject, e.g. `term_end`.
    Date { field: String },
    /// Every fire of a 5-field cron expression in the workflow's time zone.
    Cron {
        expr: String,
        cron: Box<croner::Cron>,
    },
    /// Every month on the day held in a subject field (clamped to month end).
    MonthlyOn { field: String },
    /// Every year on the anniversary of a date field (29 Feb → 28 Feb).
    YearlyOn { field: String },
}

impl Anchor {
    pub fn is_recurring(&self) -> bool {
        !matches!(self, Anchor::Date { .. })
    }
}

/// What a recurring workflow does with occurrences that fell due while no engine ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Misfire {
    pub policy: MisfirePolicy,
    /// How late an occurrence may still be handled by the policy; older ones are skipped.
    pub catch_up: Offset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MisfirePolicy {
    /// Of the occurrences missed, the latest fires once (late); the others are skipped.
    FireOnce,
    /// Missed occurrences are skipped; the next one fires on time.
    Skip,
}

impl Default for Misfire {
    fn default() -> Self {
        Misfire {
            policy: MisfirePolicy::FireOnce,
            catch_up: Offset::days(7),
        }
    }
}

/// Default deadlines of rectification items by kind, and the grace after a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadlines {
    pub immediate: Offset,
    pub time_bound: Offset,
    pub long_term: Offset,
    /// The final deadline set by the warning (告诫), counted from the deadline.
    pub final_grace: Offset,
}

/// What a step does when it is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Notify,
    Escalate { level: Level },
    OpenInterview,
    OpenRectification,
    RequestReport { report: String },
    SetStatus { status: String },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Notify => "notify",
            Action::Escalate { .. } => "escalate",
            Action::OpenInterview => "open_interview",
            Action::OpenRectification => "open_rectification",
            Action::RequestReport { .. } => "request_report",
            Action::SetStatus { .. } => "set_status",
        }
    }

    pub fn zh(&self) -> String {
        match self {
            Action::Notify => "提醒".into(),
            Action::Escalate { level } => format!("升级至{}", level.zh()),
            Action::OpenInterview => "发起约谈".into(),
            Action::OpenRectification => "建立整改事项".into(),
            Action::RequestReport { report } => format!("要求报送{report}"),
            Action::SetStatus { status } => format!("状态改为 {status}"),
        }
    }
}

pub const ACTIONS: &[&str] = &[
    "notify",
    "escalate",
    "open_interview",
    "open_rectification",
    "request_report",
    "set_status",
];

/// Where an escalation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Superior,
    OrgDepartment,
}

impl Level {
    pub fn zh(self) -> &'static str {
        match self {
            Level::Superior => "上级党组织",
            Level::OrgDepartment => "组织部门",
        }
    }
}

/// A conjunction of event tests: `not election_recorded and not extension_approved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// `(negated, event)` pairs, all of which must hold.
    pub terms: Vec<(bool, String)>,
    pub source: String,
}

impl Condition {
    /// Evaluates the condition given which events have happened.
    pub fn holds(&self, happened: impl Fn(&str) -> bool) -> bool {
        self.terms.iter().all(|(neg, e)| happened(e) != *neg)
    }
}

/// Sending the step again: every `every` after its first due date, until `until` holds,
/// at most `max` times in all, and never past `end` (counted from the anchor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    pub every: Offset,
    pub max: Option<u32>,
    pub until: Option<Condition>,
    pub end: Option<Offset>,
}

/// One step of a workflow.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    /// A template string: the email subject and the timeline label.
    pub title: String,
    pub offset: Offset,
    /// Another date field of the subject to count from instead of the anchor.
    pub from: Option<String>,
    pub time: Option<NaiveTime>,
    pub when: Option<Condition>,
    pub action: Action,
    pub to: Vec<Role>,
    pub channels: Vec<Channel>,
    pub template: Option<String>,
    pub urgent: bool,
    pub ends_chain: bool,
    pub repeat: Option<Repeat>,
}

/// What a completion event does to the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reaction {
    pub event: String,
    /// Cancel everything still pending.
    pub stop: bool,
    /// Re-plan what is pending against the date the event carries.
    pub replan: bool,
    /// Start another workflow for the subject the event produces.
    pub start: Option<String>,
}

/// A template's texts: one for every channel, or one per channel.
#[derive(Debug, Clone, Default)]
pub struct TemplateSet {
    pub any: Option<TemplateText>,
    pub sms: Option<TemplateText>,
    pub email: Option<TemplateText>,
}

impl TemplateSet {
    /// The text used for `channel`: the channel's own file, else the shared one.
    /// The text for `channel`, else the other channel's: a step written for one channel still
    /// reaches someone who has only the other.
    pub fn for_channel_or_other(&self, channel: Channel) -> Option<&TemplateText> {
        let other = match channel {
            Channel::Sms => Channel::Email,
            Channel::Email => Channel::Sms,
        };
        self.for_channel(channel)
            .or_else(|| self.for_channel(other))
    }

    pub fn for_channel(&self, channel: Channel) -> Option<&TemplateText> {
        match channel {
            Channel::Sms => self.sms.as_ref().or(self.any.as_ref()),
            Channel::Email => self.email.as_ref().or(self.any.as_ref()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TemplateText {
    pub path: String,
    pub text: String,
}

/// Where template files come from. [`FsTemplates`] reads them beside the workflow file.
pub trait TemplateLoader {
    /// The template `name` of workflow `workflow_id` for `channel` (`None` = any channel):
    /// `(path for messages, text)`, or `None` if there is no such file.
    fn load(
        &self,
        workflow_id: &str,
        name: &str,
        channel: Option<Channel>,
    ) -> Option<(String, String)>;
    /// Where `load` looks, for the hint when nothing is found.
    fn expected_path(&self, workflow_id: &str, name: &str) -> String;
}

/// Templates in `<dir>/<workflow id>/<name>.txt`, `<name>.sms.txt`, `<name>.email.txt`.
pub struct FsTemplates {
    pub dir: std::path::PathBuf,
}

impl TemplateLoader for FsTemplates {
    fn load(
        &self,
        workflow_id: &str,
        name: &str,
        channel: Option<Channel>,
    ) -> Option<(String, String)> {
        let file = match channel {
            None => format!("{name}.txt"),
            Some(c) => format!("{name}.{}.txt", c.as_str()),
        };
        let path = self.dir.join(workflow_id).join(file);
        std::fs::read_to_string(&path)
            .ok()
            .map(|t| (path.display().to_string(), t))
    }

    fn expected_path(&self, workflow_id: &str, name: &str) -> String {
        self.dir
            .join(workflow_id)
            .join(format!("{name}.txt"))
            .display()
            .to_string()
    }
}

/// In-memory templates keyed by `"<workflow>/<name>.txt"` (and `.sms.txt`, `.email.txt`).
#[derive(Debug, Default, Clone)]
pub struct MemTemplates(pub BTreeMap<String, String>);

impl TemplateLoader for MemTemplates {
    fn load(
        &self,
        workflow_id: &str,
        name: &str,
        channel: Option<Channel>,
    ) -> Option<(String, String)> {
        let key = match channel {
            None => format!("{workflow_id}/{name}.txt"),
            Some(c) => format!("{workflow_id}/{name}.{}.txt", c.as_str()),
        };
        self.0.get(&key).map(|t| (key, t.clone()))
    }

    fn expected_path(&self, workflow_id: &str, name: &str) -> String {
        format!("{workflow_id}/{name}.txt")
    }
}

// ----- raw form -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkflow {
    id: Spanned<String>,
    name: Spanned<String>,
    version: Spanned<i64>,
    subject: Spanned<String>,
    description: Option<String>,
    timezone: Option<Spanned<String>>,
    time: Option<Spanned<String>>,
    channels: Option<Vec<Spanned<String>>>,
    anchor: Spanned<RawAnchor>,
    deadlines: Option<Spanned<RawDeadlines>>,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
    #[serde(default)]
    on: Vec<Spanned<RawOn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnchor {
    date: Option<Spanned<String>>,
    cron: Option<Spanned<String>>,
    monthly_on: Option<Spanned<String>>,
    yearly_on: Option<Spanned<String>>,
    misfire: Option<Spanned<String>>,
    catch_up: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeadlines {
    immediate: Spanned<String>,
    time_bound: Spanned<String>,
    long_term: Spanned<String>,
    #[serde(rename = "final")]
    final_grace: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: Spanned<String>,
    title: Spanned<String>,
    offset: Spanned<String>,
    from: Option<Spanned<String>>,
    time: Option<Spanned<String>>,
    when: Option<Spanned<String>>,
    action: Spanned<String>,
    level: Option<Spanned<String>>,
    report: Option<Spanned<String>>,
    status: Option<Spanned<String>>,
    to: Option<Spanned<Vec<Spanned<String>>>>,
    channels: Option<Vec<Spanned<String>>>,
    template: Option<Spanned<String>>,
    #[serde(default)]
    urgent: bool,
    #[serde(default)]
    ends_chain: bool,
    repeat: Option<Spanned<RawRepeat>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepeat {
    every: Spanned<String>,
    max: Option<Spanned<i64>>,
    until: Option<Spanned<String>>,
    end: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOn {
    event: Spanned<String>,
    #[serde(default)]
    stop: bool,
    #[serde(default)]
    replan: bool,
    start: Option<Spanned<String>>,
}

/// Keys accepted in each table, for suggestions (kept in step with the raw structs; a test
/// checks the JSON Schema against them).
pub const TOP_KEYS: &[&str] = &[
    "id",
    "name",
    "version",
    "subject",
    "description",
    "timezone",
    "time",
    "channels",
    "anchor",
    "deadlines",
    "step",
    "on",
];
pub const ANCHOR_KEYS: &[&str] = &[
    "date",
    "cron",
    "monthly_on",
    "yearly_on",
    "misfire",
    "catch_up",
];
pub const DEADLINE_KEYS: &[&str] = &["immediate", "time_bound", "long_term", "final"];
pub const STEP_KEYS: &[&str] = &[
    "id",
    "title",
    "offset",
    "from",
    "time",
    "when",
    "action",
    "level",
    "report",
    "status",
    "to",
    "channels",
    "template",
    "urgent",
    "ends_chain",
    "repeat",
];
pub const REPEAT_KEYS: &[&str] = &["every", "max", "until", "end"];
pub const ON_KEYS: &[&str] = &["event", "stop", "replan", "start"];

fn help_for_missing(key: &str) -> String {
    match key {
        "id" => "add `id = \"...\"` (lowercase letters, digits and `_`)".into(),
        "name" => "add `name = \"...\"`, the workflow's name shown to administrators".into(),
        "version" => "add `version = 1` and raise it whenever the file changes".into(),
        "subject" => format!("add `subject = \"...\"`, one of: {}", kinds_list()),
        "anchor" => {
            "add an [anchor] table with one of `date`, `cron`, `monthly_on` or `yearly_on`".into()
        }
        "title" => "add `title = \"...\"`: the email subject and the label in the timeline".into(),
        "offset" => {
            "add `offset = \"-30d\"` (d, w, mo, y or wd; `0d` for the anchor itself)".into()
        }
        "action" => format!("add `action = \"notify\"` (one of: {})", ACTIONS.join(", ")),
        "event" => "add `event = \"...\"`, the completion event this reacts to".into(),
        "every" => "add `every = \"7d\"`: how often the step repeats".into(),
        "immediate" | "time_bound" | "long_term" | "final" => {
            format!(
                "add `{key} = \"+30d\"`: [deadlines] needs immediate, time_bound, long_term and final"
            )
        }
        _ => format!("add `{key} = ...`"),
    }
}

fn kinds_list() -> String {
    SubjectKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Turns a serde/TOML error into a located diagnostic with a hint.
fn serde_diag(src: &Source, err: &toml::de::Error) -> Diagnostic {
    let span = err.span().unwrap_or(0..0);
    let msg = err.message().trim();
    let backticked = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let words = backticked(rest);
        let key = words.first().cloned().unwrap_or_default();
        let allowed: Vec<&str> = words.iter().skip(1).map(String::as_str).collect();
        let help = match did_you_mean(&key, allowed.iter().copied()) {
            Some(s) => format!(
                "did you mean `{s}`? Allowed keys here: {}",
                allowed.join(", ")
            ),
            None => format!("remove it; allowed keys here: {}", allowed.join(", ")),
        };
        return src.error("unknown-key", span, format!("unknown key `{key}`"), help);
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let key = backticked(rest).into_iter().next().unwrap_or_default();
        let span = span.start..span.start + 1;
        return src.error(
            "missing-key",
            span,
            format!("missing key `{key}` in this table"),
            help_for_missing(&key),
        );
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let help = if rest.ends_with("expected a string") {
            "put the value in double quotes, e.g. \"9:00\" → \"09:00\", 5 → \"+5wd\"".to_string()
        } else if rest.ends_with("expected i64") || rest.contains("expected an integer") {
            "write a whole number without quotes, e.g. version = 2".to_string()
        } else if rest.ends_with("expected a boolean") {
            "write true or false without quotes".to_string()
        } else if rest.ends_with("expected a sequence") {
            "write a list in square brackets, e.g. [\"sms\", \"email\"]".to_string()
        } else if rest.contains("expected struct") {
            "write a table: a [section] header, or { key = value } inline".to_string()
        } else {
            "check the value's type against workflows/README.md".to_string()
        };
        let (found, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another type"));
        let expected = match expected {
            "i64" | "u32" | "an integer" => "a whole number",
            "a sequence" => "a list",
            "a string" => "a string in double quotes",
            e if e.starts_with("struct") => "a table",
            e => e,
        };
        return src.error(
            "wrong-type",
            span,
            format!("wrong type: found {found}, expected {expected}"),
            help,
        );
    }
    if msg.starts_with("duplicate key") {
        return src.error(
            "duplicate-key",
            span,
            msg.to_string(),
            "each key may appear once per table; remove one",
        );
    }
    src.error(
        "toml-syntax",
        span,
        format!("TOML syntax: {}", msg.replace('\n', "; ")),
        "strings need double quotes on both ends, tables look like [anchor] or [[step]], and each line is `key = value`",
    )
}

fn valid_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Parses a condition: `event`, `not event`, joined by `and`.
pub fn parse_condition(s: &str, kind: SubjectKind) -> Result<Condition, (String, String)> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let known: Vec<&str> = kind.events().iter().map(|e| e.name).collect();
    let events_help = if known.is_empty() {
        format!("subject `{kind}` has no events, so it cannot have conditions")
    } else {
        format!("events of `{kind}`: {}", known.join(", "))
    };
    if words.is_empty() {
        return Err((
            "the condition is empty".into(),
            format!("write e.g. \"not {}\"", known.first().unwrap_or(&"event")),
        ));
    }
    let mut terms = Vec::new();
    let mut i = 0;
    loop {
        let mut neg = false;
        if words.get(i) == Some(&"not") {
            neg = true;
            i += 1;
        }
        let Some(name) = words.get(i) else {
            return Err((
                format!("`{s}` ends early: an event name is missing"),
                events_help,
            ));
        };
        if ["and", "or", "not"].contains(name) {
            return Err((
                format!("`{s}`: expected an event name, found `{name}`"),
                events_help,
            ));
        }
        if kind.event(name).is_none() {
            let help = match did_you_mean(name, known.iter().copied()) {
                Some(h) => format!("did you mean `{h}`? {events_help}"),
                None => events_help,
            };
            return Err((format!("unknown event `{name}` for subject `{kind}`"), help));
        }
        terms.push((neg, name.to_string()));
        i += 1;
        match words.get(i) {
            None => break,
            Some(&"and") => i += 1,
            Some(&"or") => {
                return Err((
                    format!("`{s}`: `or` is not supported"),
                    "conditions are one or more tests joined by `and`; split the step in two for an `or`".into(),
                ));
            }
            Some(w) => {
                return Err((
                    format!("`{s}`: expected `and` after `{name}`, found `{w}`"),
                    events_help,
                ));
            }
        }
    }
    Ok(Condition {
        terms,
        source: s.trim().to_string(),
    })
}

/// Where a template string sits in a TOML string value, to point errors inside it.
fn inner_span(outer: Range<usize>, inner: Range<usize>) -> Range<usize> {
    // Basic strings start with one quote; good enough without escapes.
    let base = outer.start + 1;
    (base + inner.start).min(outer.end)..(base + inner.end).min(outer.end)
}

struct Ctx<'a> {
    src: Source<'a>,
    diags: Vec<Diagnostic>,
    /// The events the application can record, when the caller knows them.
    recordable: Option<&'a crate::check::Recordable>,
}

impl Ctx<'_> {
    /// A condition waiting on an event nobody can record would never come true: its
    /// reminders and escalations would go out whatever people do.
    fn check_recordable(&mut self, c: &Condition, kind: SubjectKind, span: Range<usize>) {
        let Some(rec) = self.recordable else { return };
        for (_, event) in &c.terms {
            if !rec.contains(kind, event) {
                let known = rec.events_of(kind);
                self.err(
                    "unrecordable-event",
                    span.clone(),
                    format!("no one can record `{event}` for a `{kind}`, so this condition would never change"),
                    if known.is_empty() {
                        format!("nothing can be recorded for a `{kind}`; remove the condition")
                    } else {
                        format!("events people can record for a `{kind}`: {}", known.join(", "))
                    },
                );
            }
        }
    }

    fn err(
        &mut self,
        code: &'static str,
        span: Range<usize>,
        msg: impl Into<String>,
        help: impl Into<String>,
    ) {
        let d = self.src.error(code, span, msg, help);
        self.diags.push(d);
    }
}

/// A `start = "…"` of an `[[on]]` reaction, as written.
#[derive(Debug, Clone)]
pub struct StartRef {
    pub target: String,
    pub span: Range<usize>,
    /// The kind of subject the event produces.
    pub produces: SubjectKind,
    pub event: String,
}

/// The result of reading one workflow file: the workflow when it has no errors, and every
/// diagnostic (errors and warnings) found.
pub struct Parsed {
    pub workflow: Option<Workflow>,
    pub diagnostics: Vec<Diagnostic>,
    /// Spans of `start = "…"` references, checked against the whole set later.
    pub starts: Vec<StartRef>,
    /// The `id` span, for duplicate-id errors across files.
    pub id_span: Range<usize>,
    /// The id and subject kind as written, even when the file has errors, so references to
    /// it from other files are not reported twice.
    pub declared: Option<(String, Option<SubjectKind>)>,
}

/// Reads and validates one workflow file and its templates.
pub fn parse_workflow(
    path: &str,
    text: &str,
    templates: &dyn TemplateLoader,
    opts: &crate::check::CheckOptions,
) -> Parsed {
    let mut cx = Ctx {
        src: Source::new(path, text),
        diags: Vec::new(),
        recordable: opts.recordable.as_ref(),
    };
    let raw: RawWorkflow = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            return Parsed {
                workflow: None,
                diagnostics: vec![serde_diag(&cx.src, &e)],
                starts: Vec::new(),
                id_span: 0..0,
                declared: None,
            };
        }
    };

    // id, name, version
    let id = raw.id.get_ref().clone();
    if !valid_ident(&id) {
        cx.err(
            "bad-id",
            raw.id.span(),
            format!("`{id}` is not a valid workflow id"),
            "use lowercase letters, digits and `_`, starting with a letter, e.g. \"term_expiry\"",
        );
    }
    if raw.name.get_ref().trim().is_empty() {
        cx.err(
            "empty-name",
            raw.name.span(),
            "the workflow's name is empty",
            "give it a name administrators recognise, e.g. \"按期换届提醒\"",
        );
    }
    let version = *raw.version.get_ref();
    if !(1..=i64::from(u32::MAX)).contains(&version) {
        cx.err(
            "bad-version",
            raw.version.span(),
            format!("version {version} is not a positive number"),
            "versions start at 1 and go up by one with every change",
        );
    }

    // subject
    let kind = match SubjectKind::parse(raw.subject.get_ref()) {
        Some(k) => Some(k),
        None => {
            let s = raw.subject.get_ref();
            let hint = did_you_mean(s, SubjectKind::ALL.iter().map(|k| k.as_str()));
            cx.err(
                "unknown-subject",
                raw.subject.span(),
                format!("unknown subject kind `{s}`"),
                match hint {
                    Some(h) => format!("did you mean `{h}`? Subject kinds: {}", kinds_list()),
                    None => format!("subject kinds: {}", kinds_list()),
                },
            );
            None
        }
    };

    // timezone, time, default channels
    let timezone = match &raw.timezone {
        None => chrono_tz::Asia::Shanghai,
        Some(tz) => match tz.get_ref().parse::<Tz>() {
            Ok(t) => t,
            Err(_) => {
                cx.err(
                    "unknown-timezone",
                    tz.span(),
                    format!("unknown time zone `{}`", tz.get_ref()),
                    "use an IANA zone name such as \"Asia/Shanghai\" (mainland China has one zone; there is no \"Asia/Beijing\")",
                );
                chrono_tz::Asia::Shanghai
            }
        },
    };
    let time = raw
        .time
        .as_ref()
        .map(|t| parse_time(&mut cx, t))
        .unwrap_or(NaiveTime::from_hms_opt(9, 0, 0));
    let default_channels = raw.channels.as_ref().map(|c| parse_channels(&mut cx, c));

    // anchor
    let anchor = kind.and_then(|k| parse_anchor(&mut cx, &raw.anchor, k));
    let misfire = parse_misfire(&mut cx, raw.anchor.get_ref(), anchor.as_ref());

    // deadlines
    let deadlines = raw.deadlines.as_ref().and_then(|d| {
        if kind.is_some_and(|k| k != SubjectKind::Rectification) {
            cx.err(
                "deadlines-not-allowed",
                d.span().start..d.span().start + 1,
                "[deadlines] only applies to rectification workflows",
                "remove [deadlines], or set subject = \"rectification\"",
            );
            return None;
        }
        let d = d.get_ref();
        let mut off = |s: &Spanned<String>| parse_offset(&mut cx, s);
        Some(Deadlines {
            immediate: off(&d.immediate)?,
            time_bound: off(&d.time_bound)?,
            long_term: off(&d.long_term)?,
            final_grace: off(&d.final_grace)?,
        })
    });
    if let (Some(SubjectKind::Rectification), Some(Anchor::Date { field })) = (kind, &anchor)
        && field == "deadline"
        && raw.deadlines.is_none()
    {
        cx.err(
            "deadlines-missing",
            raw.anchor.span().start..raw.anchor.span().start + 1,
            "this workflow counts from the item's deadline but has no [deadlines] for items without one",
            "add [deadlines] with immediate, time_bound, long_term (e.g. \"+30d\", \"+3mo\", \"+1y\") and final (e.g. \"+30d\")",
        );
    }

    // steps
    if raw.step.is_empty() {
        cx.err(
            "no-steps",
            raw.id.span(),
            "the workflow has no steps",
            "add at least one [[step]] table",
        );
    }
    let mut steps = Vec::new();
    let mut step_spans = Vec::new();
    let mut seen = HashSet::new();
    let mut used_templates: BTreeMap<String, (Range<usize>, Vec<Channel>)> = BTreeMap::new();
    for raw_step in &raw.step {
        let span = raw_step.span();
        let rs = raw_step.get_ref();
        let sid = rs.id.get_ref().clone();
        if !valid_ident(&sid) {
            cx.err(
                "bad-id",
                rs.id.span(),
                format!("`{sid}` is not a valid step id"),
                "use lowercase letters, digits and `_`, e.g. \"remind_6mo\"",
            );
        } else if !seen.insert(sid.clone()) {
            cx.err(
                "duplicate-step",
                rs.id.span(),
                format!("step id `{sid}` is used twice"),
                "give every step its own id: the engine keys timers by it",
            );
        }
        if let Some(step) = parse_step(
            &mut cx,
            rs,
            kind,
            anchor.as_ref(),
            default_channels.as_deref(),
        ) {
            if let Some(t) = &step.template
                && let Some(tspan) = rs.template.as_ref().map(|t| t.span())
            {
                let entry = used_templates
                    .entry(t.clone())
                    .or_insert((tspan, Vec::new()));
                for c in &step.channels {
                    if !entry.1.contains(c) {
                        entry.1.push(*c);
                    }
                }
            }
            steps.push(step);
            step_spans.push((span, rs.id.span()));
        }
    }
    check_chain_end(&mut cx, &steps, &step_spans);

    // reactions
    let mut reactions = Vec::new();
    let mut starts = Vec::new();
    for raw_on in &raw.on {
        let on = raw_on.get_ref();
        let Some(kind) = kind else { continue };
        let name = on.event.get_ref();
        let Some(spec) = kind.event(name) else {
            let known: Vec<&str> = kind.events().iter().map(|e| e.name).collect();
            cx.err(
                "unknown-event",
                on.event.span(),
                format!("unknown event `{name}` for subject `{kind}`"),
                match did_you_mean(name, known.iter().copied()) {
                    Some(h) => format!(
                        "did you mean `{h}`? Events of `{kind}`: {}",
                        known.join(", ")
                    ),
                    None if known.is_empty() => {
                        format!("subject `{kind}` has no events; remove this [[on]]")
                    }
                    None => format!("events of `{kind}`: {}", known.join(", ")),
                },
            );
            continue;
        };
        if !on.stop && !on.replan && on.start.is_none() {
            cx.err(
                "empty-reaction",
                on.event.span(),
                format!("[[on]] for `{name}` does nothing"),
                "set `stop = true`, `replan = true` or `start = \"<workflow id>\"`",
            );
        }
        let counts_from: Vec<&str> = match &anchor {
            Some(Anchor::Date { field })
            | Some(Anchor::YearlyOn { field })
            | Some(Anchor::MonthlyOn { field }) => {
                vec![field.as_str()]
            }
            _ => Vec::new(),
        }
        .into_iter()
        .chain(
            raw.step
                .iter()
                .filter_map(|s| s.get_ref().from.as_ref().map(|f| f.get_ref().as_str())),
        )
        .collect();
        if on.replan {
            match spec.sets {
                None => cx.err(
                    "nothing-to-replan",
                    on.event.span(),
                    format!("`{name}` carries no new date, so there is nothing to re-plan against"),
                    "use `stop = true`; re-planning fits events such as extension_approved or deadline_extended",
                ),
                Some(field) if !counts_from.contains(&field) => cx.err(
                    "nothing-to-replan",
                    on.event.span(),
                    format!("`{name}` changes `{field}`, which no step of this workflow counts from, so re-planning changes nothing"),
                    format!("use `stop = true` or `start = \"…\"`, or count from `{field}` (anchor or a step's `from`)"),
                ),
                Some(_) => {}
            }
        }
        if on.replan && on.stop {
            cx.err(
                "stop-and-replan",
                on.event.span(),
                format!("[[on]] for `{name}` both stops and re-plans the chain"),
                "choose one: `stop = true` or `replan = true`",
            );
        }
        if let Some(s) = &on.start {
            starts.push(StartRef {
                target: s.get_ref().clone(),
                span: s.span(),
                produces: spec.produces,
                event: name.clone(),
            });
        }
        reactions.push(Reaction {
            event: name.clone(),
            stop: on.stop,
            replan: on.replan,
            start: on.start.as_ref().map(|s| s.get_ref().clone()),
        });
    }

    // templates
    let mut set_map = BTreeMap::new();
    if let Some(kind) = kind {
        for step in &steps {
            let rs = raw
                .step
                .iter()
                .find(|r| r.get_ref().id.get_ref() == &step.id)
                .map(|r| r.get_ref());
            if let Some(rs) = rs {
                crate::render::check_inline(
                    &mut cx.diags,
                    &cx.src,
                    &rs.title.get_ref().clone(),
                    rs.title.span(),
                    kind,
                    inner_span,
                );
            }
        }
        for (name, (span, channels)) in &used_templates {
            let set = load_template_set(&mut cx, templates, &id, name, span.clone(), channels);
            for (channel, text) in [
                (None, &set.any),
                (Some(Channel::Sms), &set.sms),
                (Some(Channel::Email), &set.email),
            ] {
                if let Some(t) = text {
                    let sms = channel == Some(Channel::Sms)
                        || (channel.is_none()
                            && channels.contains(&Channel::Sms)
                            && set.sms.is_none());
                    crate::render::check_file(&mut cx.diags, t, kind, sms, opts);
                }
            }
            set_map.insert(name.clone(), set);
        }
    }

    let hash = content_hash(text, &set_map);
    let has_errors = cx.diags.iter().any(Diagnostic::is_error);
    let workflow = match (has_errors, kind, anchor) {
        (false, Some(subject), Some(anchor)) => Some(Workflow {
            id,
            name: raw.name.get_ref().clone(),
            version: u32::try_from(version).unwrap_or(1),
            subject,
            description: raw.description.clone(),
            timezone,
            time: time.unwrap_or(NaiveTime::MIN),
            anchor,
            misfire,
            deadlines,
            steps,
            reactions,
            templates: set_map,
            content_hash: hash,
            path: path.to_string(),
        }),
        _ => None,
    };
    Parsed {
        workflow,
        diagnostics: cx.diags,
        starts,
        id_span: raw.id.span(),
        declared: Some((raw.id.get_ref().clone(), kind)),
    }
}

fn content_hash(text: &str, templates: &BTreeMap<String, TemplateSet>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"duban-workflow/1\0");
    h.update(text.as_bytes());
    for (name, set) in templates {
        for (variant, t) in [("any", &set.any), ("sms", &set.sms), ("email", &set.email)] {
            if let Some(t) = t {
                h.update(format!("\0{name}.{variant}\0").as_bytes());
                h.update(t.text.as_bytes());
            }
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn load_template_set(
    cx: &mut Ctx,
    loader: &dyn TemplateLoader,
    workflow_id: &str,
    name: &str,
    span: Range<usize>,
    channels: &[Channel],
) -> TemplateSet {
    let load = |c| {
        loader
            .load(workflow_id, name, c)
            .map(|(path, text)| TemplateText { path, text })
    };
    let set = TemplateSet {
        any: load(None),
        sms: load(Some(Channel::Sms)),
        email: load(Some(Channel::Email)),
    };
    for c in channels {
        if set.for_channel(*c).is_none() {
            let expected = loader.expected_path(workflow_id, name);
            let specific =
                expected.trim_end_matches(".txt").to_string() + &format!(".{}.txt", c.as_str());
            cx.err(
                "missing-template",
                span.clone(),
                format!("template `{name}` has no text for {}", c.as_str()),
                format!("create {expected} (used for every channel) or {specific}"),
            );
        }
    }
    set
}

fn parse_time(cx: &mut Ctx, t: &Spanned<String>) -> Option<NaiveTime> {
    let parsed = parse_hhmm(t.get_ref());
    if parsed.is_none() {
        cx.err(
            "bad-time",
            t.span(),
            format!("`{}` is not a time of day", t.get_ref()),
            "write \"HH:MM\" on the 24-hour clock, e.g. \"09:00\" or \"14:30\"",
        );
    }
    parsed
}

fn parse_offset(cx: &mut Ctx, s: &Spanned<String>) -> Option<Offset> {
    match Offset::parse(s.get_ref()) {
        Ok(o) => Some(o),
        Err(e) => {
            cx.err("bad-offset", s.span(), e.message, e.help);
            None
        }
    }
}

fn parse_channels(cx: &mut Ctx, list: &[Spanned<String>]) -> Vec<Channel> {
    let mut out = Vec::new();
    for c in list {
        match c.get_ref().as_str() {
            "sms" => out.push(Channel::Sms),
            "email" => out.push(Channel::Email),
            other => cx.err(
                "unknown-channel",
                c.span(),
                format!("unknown channel `{other}`"),
                match did_you_mean(other, ["sms", "email"]) {
                    Some(h) => format!("did you mean `{h}`? Channels: sms, email"),
                    None => "channels: sms, email".to_string(),
                },
            ),
        }
    }
    out
}

fn field_help(kind: SubjectKind, fields: &[&str], what: &str) -> String {
    if fields.is_empty() {
        format!("subject `{kind}` has no {what}")
    } else {
        format!("{what} of `{kind}`: {}", fields.join(", "))
    }
}

fn check_field(
    cx: &mut Ctx,
    s: &Spanned<String>,
    kind: SubjectKind,
    fields: &[&str],
    what: &str,
) -> bool {
    let name = s.get_ref();
    if fields.contains(&name.as_str()) {
        return true;
    }
    let help = match did_you_mean(name, fields.iter().copied()) {
        Some(h) => format!("did you mean `{h}`? {}", field_help(kind, fields, what)),
        None => field_help(kind, fields, what),
    };
    cx.err(
        "unknown-field",
        s.span(),
        format!("subject `{kind}` has no {what} `{name}`"),
        help,
    );
    false
}

fn parse_misfire(cx: &mut Ctx, a: &RawAnchor, anchor: Option<&Anchor>) -> Misfire {
    let mut m = Misfire::default();
    let recurring = anchor.is_none_or(Anchor::is_recurring);
    for v in [&a.misfire, &a.catch_up].into_iter().flatten() {
        if !recurring {
            cx.err(
                "misfire-on-date",
                v.span(),
                "`misfire` and `catch_up` apply to recurring anchors only",
                "a date anchor fires each step once; remove this key, or anchor on cron, monthly_on or yearly_on",
            );
            return m;
        }
    }
    if let Some(v) = &a.misfire {
        match v.get_ref().as_str() {
            "fire_once" => m.policy = MisfirePolicy::FireOnce,
            "skip" => m.policy = MisfirePolicy::Skip,
            other => cx.err(
                "bad-misfire",
                v.span(),
                format!("unknown misfire policy `{other}`"),
                "use \"fire_once\" (the latest missed occurrence fires once, late) or \"skip\" (missed occurrences do not fire)",
            ),
        }
    }
    if let Some(v) = &a.catch_up {
        match Offset::parse_interval(v.get_ref()) {
            Ok(o) if o.approx_days() > 0.0 => m.catch_up = o,
            Ok(_) => cx.err(
                "bad-catch-up",
                v.span(),
                format!("catch_up `{}` is not a positive duration", v.get_ref()),
                "write how long after it fell due an occurrence may still fire, e.g. \"3d\" or \"2wd\"",
            ),
            Err(e) => cx.err(
                "bad-catch-up",
                v.span(),
                format!("catch_up `{}` is not a duration: {}", v.get_ref(), e.message),
                e.help,
            ),
        }
    }
    m
}

fn parse_anchor(cx: &mut Ctx, raw: &Spanned<RawAnchor>, kind: SubjectKind) -> Option<Anchor> {
    let a = raw.get_ref();
    let given: Vec<(&str, &Spanned<String>)> = [
        ("date", &a.date),
        ("cron", &a.cron),
        ("monthly_on", &a.monthly_on),
        ("yearly_on", &a.yearly_on),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    .collect();
    match given.as_slice() {
        [] => {
            cx.err(
                "anchor-empty",
                raw.span().start..raw.span().start + 1,
                "[anchor] names nothing to count from",
                "set one of: date = \"term_end\" (a date of the subject), cron = \"0 9 10 * *\", monthly_on = \"theme_day\" or yearly_on = \"joined_on\"",
            );
            None
        }
        [(key, v)] => match *key {
            "date" => {
                check_field(cx, v, kind, kind.date_fields(), "date field").then(|| Anchor::Date {
                    field: v.get_ref().clone(),
                })
            }
            "yearly_on" => check_field(cx, v, kind, kind.date_fields(), "date field").then(|| {
                Anchor::YearlyOn {
                    field: v.get_ref().clone(),
                }
            }),
            "monthly_on" => {
                check_field(cx, v, kind, kind.day_fields(), "day-of-month field").then(|| {
                    Anchor::MonthlyOn {
                        field: v.get_ref().clone(),
                    }
                })
            }
            _ => parse_cron(cx, v),
        },
        [_, (second, v), ..] => {
            cx.err(
                "anchor-ambiguous",
                v.span(),
                format!("[anchor] sets `{}` and `{second}`", given[0].0),
                "an anchor is one thing: keep exactly one of date, cron, monthly_on, yearly_on",
            );
            None
        }
    }
}

fn parse_cron(cx: &mut Ctx, v: &Spanned<String>) -> Option<Anchor> {
    let expr = v.get_ref().trim();
    let fields = expr.split_whitespace().count();
    const HELP: &str = "write 5 fields: minute hour day-of-month month day-of-week, e.g. \"0 9 10 * *\" (09:00 on the 10th of every month)";
    if fields != 5 {
        cx.err(
            "bad-cron",
            v.span(),
            format!("cron `{expr}` has {fields} fields"),
            HELP,
        );
        return None;
    }
    match croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .build()
        .parse(expr)
    {
        Ok(cron) => {
            // Chains are planned per occurrence; more than one a day is a mistake (a minute
            // field of `*`, say), not a reminder schedule.
            let mut t = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc());
            let mut previous: Option<chrono::DateTime<chrono::Utc>> = None;
            for _ in 0..16 {
                let Some(next) = t.and_then(|t| cron.find_next_occurrence(&t, false).ok()) else {
                    break;
                };
                if let Some(p) = previous
                    && next - p < chrono::Duration::hours(23)
                {
                    cx.err(
                        "cron-too-often",
                        v.span(),
                        format!("cron `{expr}` fires more than once a day ({} and {})", p.format("%m-%d %H:%M"), next.format("%m-%d %H:%M")),
                        "give the minute and hour as single numbers, e.g. \"0 9 * * 1\" (Mondays at 09:00)",
                    );
                    return None;
                }
                previous = Some(next);
                t = Some(next);
            }
            Some(Anchor::Cron {
                expr: expr.to_string(),
                cron: Box::new(cron),
            })
        }
        Err(e) => {
            cx.err(
                "bad-cron",
                v.span(),
                format!("cron `{expr}` is invalid: {e}"),
                HELP,
            );
            None
        }
    }
}

fn parse_step(
    cx: &mut Ctx,
    rs: &RawStep,
    kind: Option<SubjectKind>,
    anchor: Option<&Anchor>,
    default_channels: Option<&[Channel]>,
) -> Option<Step> {
    let before = cx.diags.len();
    let offset = parse_offset(cx, &rs.offset);
    let time = rs.time.as_ref().and_then(|t| parse_time(cx, t));
    if let (Some(from), Some(kind)) = (&rs.from, kind) {
        if anchor.is_some_and(Anchor::is_recurring) {
            cx.err(
                "from-on-recurrence",
                from.span(),
                "`from` only applies to workflows anchored on a date",
                "remove `from`: steps of a recurring workflow count from each occurrence",
            );
        } else {
            check_field(cx, from, kind, kind.date_fields(), "date field");
        }
    }
    let when = match (&rs.when, kind) {
        (Some(w), Some(kind)) => match parse_condition(w.get_ref(), kind) {
            Ok(c) => {
                cx.check_recordable(&c, kind, w.span());
                Some(c)
            }
            Err((m, h)) => {
                cx.err("bad-condition", w.span(), m, h);
                None
            }
        },
        _ => None,
    };

    // action and its parameters
    let a = rs.action.get_ref().as_str();
    let need =
        |cx: &mut Ctx, v: &Option<Spanned<String>>, key: &str, example: &str| -> Option<String> {
            match v {
                Some(v) if !v.get_ref().trim().is_empty() => Some(v.get_ref().trim().to_string()),
                _ => {
                    cx.err(
                        "missing-parameter",
                        rs.action.span(),
                        format!("action `{a}` needs `{key}`"),
                        format!("add `{key} = {example}`"),
                    );
                    None
                }
            }
        };
    let action = match a {
        "notify" => Some(Action::Notify),
        "escalate" => match &rs.level {
            None => {
                cx.err(
                    "missing-parameter",
                    rs.action.span(),
                    "action `escalate` needs `level`",
                    "add `level = \"superior\"` or `level = \"org_department\"`",
                );
                None
            }
            Some(l) => match l.get_ref().as_str() {
                "superior" => Some(Action::Escalate {
                    level: Level::Superior,
                }),
                "org_department" => Some(Action::Escalate {
                    level: Level::OrgDepartment,
                }),
                other => {
                    cx.err(
                        "unknown-level",
                        l.span(),
                        format!("unknown escalation level `{other}`"),
                        "levels: superior, org_department",
                    );
                    None
                }
            },
        },
        "open_interview" => Some(Action::OpenInterview),
        "open_rectification" => Some(Action::OpenRectification),
        "request_report" => need(cx, &rs.report, "report", "\"换届请示\"")
            .map(|report| Action::RequestReport { report }),
        "set_status" => need(cx, &rs.status, "status", "\"overdue\"").and_then(|status| {
            if valid_ident(&status) {
                Some(Action::SetStatus { status })
            } else {
                cx.err(
                    "bad-status",
                    rs.status
                        .as_ref()
                        .map(|s| s.span())
                        .unwrap_or(rs.action.span()),
                    format!("`{status}` is not a status name"),
                    "use lowercase letters, digits and `_`, e.g. \"overdue\"",
                );
                None
            }
        }),
        other => {
            cx.err(
                "unknown-action",
                rs.action.span(),
                format!("unknown action `{other}`"),
                match did_you_mean(other, ACTIONS.iter().copied()) {
                    Some(h) => format!("did you mean `{h}`? Actions: {}", ACTIONS.join(", ")),
                    None => format!("actions: {}", ACTIONS.join(", ")),
                },
            );
            None
        }
    };
    for (key, v, owner) in [
        ("level", &rs.level, "escalate"),
        ("report", &rs.report, "request_report"),
        ("status", &rs.status, "set_status"),
    ] {
        if let Some(v) = v
            && a != owner
            && action.is_some()
        {
            cx.err(
                "parameter-not-allowed",
                v.span(),
                format!("`{key}` only applies to action `{owner}`"),
                format!("remove `{key}`, or set action = \"{owner}\""),
            );
        }
    }

    // recipients, channels, template
    let mut to = Vec::new();
    if let (Some(list), Some(kind)) = (&rs.to, kind) {
        for r in list.get_ref() {
            match Role::parse(r.get_ref()) {
                Some(role) if kind.roles().contains(&role) => to.push(role),
                Some(role) => cx.err(
                    "role-not-available",
                    r.span(),
                    format!("role `{role}` does not exist for subject `{kind}`"),
                    format!(
                        "roles of `{kind}`: {}",
                        kind.roles()
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
                None => {
                    let all: Vec<&str> = kind.roles().iter().map(|r| r.as_str()).collect();
                    cx.err(
                        "unknown-role",
                        r.span(),
                        format!("unknown role `{}`", r.get_ref()),
                        match did_you_mean(r.get_ref(), Role::ALL.iter().map(|r| r.as_str())) {
                            Some(h) => {
                                format!("did you mean `{h}`? Roles of `{kind}`: {}", all.join(", "))
                            }
                            None => format!("roles of `{kind}`: {}", all.join(", ")),
                        },
                    );
                }
            }
        }
        if list.get_ref().is_empty() {
            cx.err(
                "no-recipients",
                list.span(),
                "`to` is empty",
                "name at least one role, e.g. to = [\"secretary\"]",
            );
        }
    }
    let messages = matches!(a, "notify" | "escalate") || rs.to.is_some() || rs.template.is_some();
    let channels = match &rs.channels {
        Some(c) if !messages => {
            if let Some(first) = c.first() {
                cx.err(
                    "channels-without-message",
                    first.span(),
                    format!(
                        "step `{}` sends no message, so it has no use for channels",
                        rs.id.get_ref()
                    ),
                    "remove `channels`, or add `to` and `template` so the step tells someone",
                );
            }
            Vec::new()
        }
        Some(c) => parse_channels(cx, c),
        None if messages => default_channels
            .map(<[Channel]>::to_vec)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    // With an unknown action, what else the step needs is unknown too: one error is enough.
    if messages && ACTIONS.contains(&a) {
        if rs.to.is_none() {
            cx.err(
                "no-recipients",
                rs.action.span(),
                format!("step `{}` sends a message but has no `to`", rs.id.get_ref()),
                "add `to = [\"secretary\"]` (the roles to tell)",
            );
        }
        if rs.template.is_none() {
            cx.err(
                "no-template",
                rs.action.span(),
                format!(
                    "step `{}` sends a message but has no `template`",
                    rs.id.get_ref()
                ),
                format!(
                    "add `template = \"{}\"` and write the text beside the workflow",
                    rs.id.get_ref()
                ),
            );
        }
        if channels.is_empty() && rs.channels.as_ref().is_none_or(|c| c.is_empty()) {
            cx.err(
                "no-channels",
                rs.action.span(),
                format!(
                    "step `{}` sends a message but has no channels",
                    rs.id.get_ref()
                ),
                "add `channels = [\"sms\", \"email\"]` to the step or to the top of the file",
            );
        }
    }
    let template = rs.template.as_ref().and_then(|t| {
        if valid_ident(t.get_ref()) {
            Some(t.get_ref().clone())
        } else {
            cx.err("bad-template-name", t.span(), format!("`{}` is not a template name", t.get_ref()), "use lowercase letters, digits and `_`; the file is <workflow id>/<name>.txt beside the workflow");
            None
        }
    });

    // repeat
    let repeat = rs.repeat.as_ref().and_then(|r| {
        let raw = r.get_ref();
        let every = match Offset::parse_interval(raw.every.get_ref()) {
            Ok(o) => o,
            Err(e) => {
                cx.err("bad-offset", raw.every.span(), e.message, e.help);
                return None;
            }
        };
        if every.terms.is_empty() || every.terms.iter().any(|t| t.amount <= 0) {
            cx.err("bad-repeat", raw.every.span(), format!("`every = \"{}\"` does not move forward", raw.every.get_ref()), "repeat forward in time, e.g. every = \"7d\" or \"1mo\"");
            return None;
        }
        let max = match &raw.max {
            Some(m) if *m.get_ref() < 1 || *m.get_ref() > 1000 => {
                cx.err("bad-repeat", m.span(), format!("max = {} is out of range", m.get_ref()), "max counts the sends including the first: 1 to 1000");
                return None;
            }
            Some(m) => u32::try_from(*m.get_ref()).ok(),
            None => None,
        };
        let end = match &raw.end {
            Some(e) => Some(parse_offset(cx, e)?),
            None => None,
        };
        if max.is_none() && end.is_none() {
            cx.err(
                "repeat-no-end",
                r.span().start..r.span().start + 1,
                "this repeat has no end",
                "add `max = N` (sends in all, the first included) or `end = \"+90d\"` (no repeat after that, counted from the anchor); `until` alone may never come true",
            );
            return None;
        }
        let until = match (&raw.until, kind) {
            (Some(u), Some(kind)) => match parse_condition(u.get_ref(), kind) {
                Ok(c) => {
                    cx.check_recordable(&c, kind, u.span());
                    Some(c)
                }
                Err((m, h)) => {
                    cx.err("bad-condition", u.span(), m, h);
                    return None;
                }
            },
            _ => None,
        };
        Some(Repeat { every, max, until, end })
    });

    if cx.diags.len() > before {
        return None;
    }
    Some(Step {
        id: rs.id.get_ref().clone(),
        title: rs.title.get_ref().clone(),
        offset: offset?,
        from: rs.from.as_ref().map(|f| f.get_ref().clone()),
        time,
        when,
        action: action?,
        to,
        channels,
        template,
        urgent: rs.urgent,
        ends_chain: rs.ends_chain,
        repeat,
    })
}

/// A step that would run after a step that ends the chain can never run.
fn check_chain_end(cx: &mut Ctx, steps: &[Step], spans: &[(Range<usize>, Range<usize>)]) {
    for (i, end) in steps.iter().enumerate().filter(|(_, s)| s.ends_chain) {
        for (j, s) in steps.iter().enumerate() {
            if i == j || s.from != end.from {
                continue;
            }
            let (a, b) = (end.offset.approx_days(), s.offset.approx_days());
            if b > a || (b == a && j > i) {
                cx.err(
                    "step-after-end",
                    spans[j].1.clone(),
                    format!("step `{}` ({}) comes after `{}` ({}), which ends the chain, so it never runs", s.id, s.offset, end.id, end.offset),
                    format!("move it before `{}`, or remove `ends_chain = true` from `{}`", end.id, end.id),
                );
            }
        }
    }
}
