//! `workflows simulate`: the timeline a subject would get between two dates — when, which
//! step, to whom, by which channel, the rendered messages, the escalations — with completion
//! events injected at given times, so an administrator can preview a chain before it goes live.

use crate::check::WorkflowSet;
use crate::plan::{DueStep, Event, PlanContext, PlanError, Window, plan};
use crate::render::{MessageContext, render, sms_parts, variables};
use crate::subject::{Role, Subject, zh_date};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use duban_core::register::Channel;
use serde::Serialize;
use std::fmt::Write as _;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// First local date shown.
    pub from: NaiveDate,
    /// Last local date shown (inclusive).
    pub to: NaiveDate,
    pub events: Vec<Event>,
    pub org_department: String,
    /// Shown in place of the confirmation link.
    pub link: String,
    pub sms_signature: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A step that would run.
    Step,
    /// A step whose condition would not hold.
    Skipped,
    /// An injected completion event.
    Event,
    /// Another workflow starting.
    Start,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    pub role: Role,
    pub role_zh: &'static str,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub channel: Channel,
    /// Email subject.
    pub subject: Option<String>,
    /// The text as sent (SMS with its signature), when it renders.
    pub text: Option<String>,
    /// Why it failed to render.
    pub error: Option<String>,
    /// SMS: characters and billed parts.
    pub sms_length: Option<(usize, usize)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub local: NaiveDateTime,
    pub kind: EntryKind,
    pub workflow_id: String,
    pub step_id: Option<String>,
    pub title: String,
    pub action: Option<String>,
    pub escalation: bool,
    pub urgent: bool,
    pub recipients: Vec<Recipient>,
    pub channels: Vec<Channel>,
    pub messages: Vec<Message>,
    /// The time the offsets gave, when quiet hours moved the step.
    pub moved_from: Option<NaiveDateTime>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub workflow_id: String,
    pub workflow_name: String,
    pub version: u32,
    pub content_hash: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
    /// The same warnings in Chinese, in the same order.
    pub warnings_zh: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("no workflow `{0}` among the files loaded")]
    UnknownWorkflow(String),
    #[error("--to ({to}) is before --from ({from})")]
    BadRange { from: NaiveDate, to: NaiveDate },
    #[error(transparent)]
    Plan(#[from] PlanError),
}

fn weekday_zh(d: NaiveDate) -> &'static str {
    ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
        [d.weekday().num_days_from_monday() as usize]
}

/// Simulates `workflow_id` for `subject`, following `start`s into other workflows of the set.
pub fn simulate(
    set: &WorkflowSet,
    workflow_id: &str,
    subject: &Subject,
    opts: &SimOptions,
    ctx: &PlanContext,
) -> Result<Timeline, SimError> {
    if opts.to < opts.from {
        return Err(SimError::BadRange {
            from: opts.from,
            to: opts.to,
        });
    }
    let wf = set
        .get(workflow_id)
        .ok_or_else(|| SimError::UnknownWorkflow(workflow_id.to_string()))?;
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    let mut warnings_zh = Vec::new();
    run(
        set,
        workflow_id,
        subject,
        &opts.events,
        opts,
        ctx,
        &mut entries,
        &mut (&mut warnings, &mut warnings_zh),
        0,
    )?;
    entries.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then_with(|| kind_rank(a.kind).cmp(&kind_rank(b.kind)))
    });
    if let Some(w) = ctx.calendar.coverage_warning(opts.to) {
        warnings.push(w);
    }
    if let Some(w) = ctx.calendar.coverage_warning_zh(opts.to) {
        warnings_zh.push(w);
    }
    Ok(Timeline {
        workflow_id: wf.id.clone(),
        workflow_name: wf.name.clone(),
        version: wf.version,
        content_hash: wf.content_hash.clone(),
        from: opts.from,
        to: opts.to,
        entries,
        warnings,
        warnings_zh,
    })
}

fn kind_rank(k: EntryKind) -> u8 {
    match k {
        EntryKind::Event => 0,
        EntryKind::Start => 1,
        EntryKind::Step | EntryKind::Skipped => 2,
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    set: &WorkflowSet,
    workflow_id: &str,
    subject: &Subject,
    events: &[Event],
    opts: &SimOptions,
    ctx: &PlanContext,
    entries: &mut Vec<Entry>,
    warnings: &mut (&mut Vec<String>, &mut Vec<String>),
    depth: usize,
) -> Result<(), SimError> {
    let Some(wf) = set.get(workflow_id) else {
        warnings.0.push(format!(
            "workflow `{workflow_id}` is started but was not loaded"
        ));
        warnings.1.push(format!(
            "启动的流程“{workflow_id}”未载入，其后续步骤未模拟。"
        ));
        return Ok(());
    };
    let tz = wf.timezone;
    let at = |d: NaiveDate| {
        let local = d.and_time(NaiveTime::MIN);
        tz.from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&local))
    };
    let window = Window {
        from: at(opts.from),
        until: Some(at(opts.to.succ_opt().unwrap_or(opts.to))),
    };
    // Only the events this workflow's subject kind knows.
    let mine: Vec<Event> = events
        .iter()
        .filter(|e| wf.subject.event(&e.name).is_some())
        .cloned()
        .collect();
    let p = plan(wf, subject, &mine, ctx, &window)?;
    for d in &p.steps {
        let s = &p.subjects[d.segment];
        entries.push(step_entry(wf, s, d, EntryKind::Step, None, opts));
    }
    for k in &p.skipped {
        let s = &p.subjects[k.step.segment];
        entries.push(step_entry(
            wf,
            s,
            &k.step,
            EntryKind::Skipped,
            Some(format!("跳过：{}", k.because)),
            opts,
        ));
    }
    if depth == 0 {
        for e in &mine {
            if e.at < window.from || window.until.is_some_and(|u| e.at >= u) {
                continue;
            }
            let spec = wf.subject.event(&e.name);
            let reaction = wf.reactions.iter().find(|r| r.event == e.name);
            let mut note = Vec::new();
            if let Some(v) = e.value {
                note.push(format!("新日期 {}", zh_date(v.date())));
            }
            if let Some(r) = reaction {
                if r.stop {
                    note.push("流程结束".to_string());
                }
                if r.replan {
                    note.push("按新日期重新安排".to_string());
                }
            }
            entries.push(Entry {
                at: e.at,
                local: e.at.with_timezone(&tz).naive_local(),
                kind: EntryKind::Event,
                workflow_id: wf.id.clone(),
                step_id: None,
                title: format!("{} ({})", spec.map(|s| s.zh).unwrap_or(""), e.name),
                action: None,
                escalation: false,
                urgent: false,
                recipients: Vec::new(),
                channels: Vec::new(),
                messages: Vec::new(),
                moved_from: None,
                note: (!note.is_empty()).then(|| note.join("；")),
            });
        }
    }
    for s in &p.starts {
        entries.push(Entry {
            at: s.at,
            local: s.at.with_timezone(&tz).naive_local(),
            kind: EntryKind::Start,
            workflow_id: wf.id.clone(),
            step_id: None,
            title: format!("启动流程 {}", s.workflow),
            action: None,
            escalation: false,
            urgent: false,
            recipients: Vec::new(),
            channels: Vec::new(),
            messages: Vec::new(),
            moved_from: None,
            note: s
                .subject
                .is_none()
                .then(|| format!("{} 为记录中的每个问题各建一个整改事项", s.event)),
        });
        match &s.subject {
            Some(sub) if depth < 3 => {
                let later: Vec<Event> = events.iter().filter(|e| e.at > s.at).cloned().collect();
                run(
                    set,
                    &s.workflow,
                    sub,
                    &later,
                    opts,
                    ctx,
                    entries,
                    warnings,
                    depth + 1,
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn step_entry(
    wf: &crate::model::Workflow,
    subject: &Subject,
    d: &DueStep,
    kind: EntryKind,
    note: Option<String>,
    opts: &SimOptions,
) -> Entry {
    let m = MessageContext {
        org_department: opts.org_department.clone(),
        due_date: d.local.date(),
        anchor_date: d.occurrence.anchor,
        times: d.occurrence.repeat + 1,
        link: opts.link.clone(),
        workflow_name: wf.name.clone(),
        extra: d.vars.clone(),
    };
    let vars = variables(subject, &m);
    let title =
        render(&d.title, &vars).unwrap_or_else(|e| format!("{}（标题无法生成：{e}）", d.title));
    let mut messages = Vec::new();
    if let Some(set) = d.template.as_ref().and_then(|t| wf.templates.get(t)) {
        for &channel in &d.channels {
            let Some(t) = set.for_channel(channel) else {
                continue;
            };
            let text = render(&t.text, &vars);
            let (text, sms_length) = match (channel, text) {
                (Channel::Sms, Ok(t)) => {
                    let len = sms_parts(&opts.sms_signature, &t);
                    (Ok(format!("{}{t}", opts.sms_signature)), Some(len))
                }
                (_, t) => (t, None),
            };
            let (text, error) = match text {
                Ok(t) => (Some(t), None),
                Err(e) => (None, Some(e)),
            };
            messages.push(Message {
                channel,
                subject: (channel == Channel::Email).then(|| title.clone()),
                text,
                error,
                sms_length,
            });
        }
    }
    Entry {
        at: d.due_at,
        local: d.local,
        kind,
        workflow_id: d.workflow_id.clone(),
        step_id: Some(d.step_id.clone()),
        title,
        action: Some(d.action.zh()),
        escalation: d.is_escalation(),
        urgent: d.urgent,
        recipients: d
            .recipients
            .iter()
            .map(|r| Recipient {
                role: *r,
                role_zh: r.zh(),
                name: subject.person(*r),
            })
            .collect(),
        channels: d.channels.clone(),
        messages,
        moved_from: (d.nominal != d.local).then_some(d.nominal),
        note,
    }
}

/// The timeline as text for a terminal.
pub fn render_timeline(t: &Timeline) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({} v{}, {})  {} – {}",
        t.workflow_name,
        t.workflow_id,
        t.version,
        &t.content_hash[..12.min(t.content_hash.len())],
        t.from,
        t.to
    );
    for w in &t.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if t.entries.is_empty() {
        let _ = writeln!(out, "(nothing is due in this period)");
    }
    for e in &t.entries {
        let d = e.local.date();
        let mark = match e.kind {
            EntryKind::Step if e.escalation => "▲ 升级",
            EntryKind::Step => "● 步骤",
            EntryKind::Skipped => "○ 跳过",
            EntryKind::Event => "◆ 事件",
            EntryKind::Start => "▶ 启动",
        };
        let _ = write!(
            out,
            "\n{} {} {}  {mark}  ",
            d,
            weekday_zh(d),
            e.local.format("%H:%M")
        );
        match &e.step_id {
            Some(id) => {
                let _ = write!(out, "[{}/{id}] {}", e.workflow_id, e.title);
            }
            None => {
                let _ = write!(out, "{}", e.title);
            }
        }
        out.push('\n');
        if let Some(a) = &e.action {
            let who: Vec<String> = e
                .recipients
                .iter()
                .map(|r| match &r.name {
                    Some(n) => format!("{}（{n}）", r.role_zh),
                    None => r.role_zh.to_string(),
                })
                .collect();
            let ch: Vec<&str> = e.channels.iter().map(|c| c.as_str()).collect();
            let _ = write!(out, "    动作：{a}");
            if !who.is_empty() {
                let _ = write!(out, "  对象：{}  渠道：{}", who.join("、"), ch.join(", "));
            }
            if e.urgent {
                let _ = write!(out, "  紧急（不受免打扰时段限制）");
            }
            out.push('\n');
        }
        if let Some(m) = e.moved_from {
            let _ = writeln!(
                out,
                "    原定 {} {}，因免打扰时段顺延",
                m.date(),
                m.format("%H:%M")
            );
        }
        if let Some(n) = &e.note {
            let _ = writeln!(out, "    {n}");
        }
        for m in &e.messages {
            match (&m.text, m.channel) {
                (Some(text), Channel::Sms) => {
                    let (n, parts) = m.sms_length.unwrap_or((0, 1));
                    let _ = writeln!(out, "    短信（{n}字，{parts}条）：{text}");
                }
                (Some(text), Channel::Email) => {
                    let _ = writeln!(out, "    邮件标题：{}", m.subject.as_deref().unwrap_or(""));
                    for line in text.lines() {
                        let _ = writeln!(out, "{}", format!("    │ {line}").trim_end());
                    }
                }
                (None, c) => {
                    let err = m.error.as_deref().unwrap_or("");
                    let _ = writeln!(out, "    {}：无法生成消息：{err}", c.as_str());
                }
            }
        }
    }
    out
}
