//! The planner: workflow + subject + events so far + calendar + quiet hours + a time window
//! → every due step with its exact instant. Pure and deterministic: the same inputs give the
//! same plan, and nothing here reads a clock.
//!
//! How it reads a workflow:
//! - a step is due on `anchor + offset` (or `from + offset`) at the step's time of day, or the
//!   anchor's own time (cron fire, interview time), or the workflow's `time`;
//! - a step that sends something and is not urgent moves out of quiet hours to the next
//!   moment all its channels may deliver;
//! - `when` is tested against the events given (an event counts from the start of its
//!   occurrence's period for recurring workflows); a failing step is reported as skipped;
//! - events are applied in time order: each may set a subject field, `stop` the chain, `replan`
//!   what is still pending against the new date, and `start` another workflow.

use crate::calendar::Calendar;
use crate::model::{Action, Anchor, Condition, Step, Workflow};
use crate::quiet::QuietHours;
use crate::subject::{EventValue, FieldValue, Role, Subject, SubjectError, SubjectKind, zh_date};
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;
use duban_core::register::Channel;
use serde::Serialize;
use std::collections::BTreeMap;

/// The calendar and quiet hours a plan follows.
#[derive(Debug, Clone, Copy)]
pub struct PlanContext<'a> {
    pub calendar: &'a Calendar,
    pub quiet: &'a QuietHours,
}

/// Which due times to return: `from <= due_at < until`. Recurring workflows without `until`
/// are planned one year ahead of `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
}

impl Window {
    /// Everything, from the beginning (anchored workflows only need this).
    pub fn all() -> Self {
        Window {
            from: DateTime::<Utc>::MIN_UTC,
            until: None,
        }
    }

    pub fn from(from: DateTime<Utc>) -> Self {
        Window { from, until: None }
    }
}

/// A completion event: what happened, when, and the date it carries for events that carry
/// one (the approved new term end, the extended deadline, the new interview time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub name: String,
    pub at: DateTime<Utc>,
    pub value: Option<NaiveDateTime>,
    /// Needed for extensions beyond one year.
    pub reason: Option<String>,
}

/// Which repetition of a step this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Occurrence {
    /// The anchor date this was planned from: the term end, the deadline, or the date of the
    /// recurrence. Changes when an event re-plans the chain.
    pub anchor: NaiveDate,
    /// 0 for the first send, then 1, 2, … for repeats.
    pub repeat: u32,
}

/// One due step, ready for the engine to store as a timer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DueStep {
    pub workflow_id: String,
    pub content_hash: String,
    pub step_id: String,
    pub occurrence: Occurrence,
    /// The exact instant the step is due.
    pub due_at: DateTime<Utc>,
    /// `due_at` in the workflow's time zone.
    pub local: NaiveDateTime,
    /// The time the offsets gave before quiet hours moved it.
    pub nominal: NaiveDateTime,
    pub action: Action,
    pub recipients: Vec<Role>,
    pub channels: Vec<Channel>,
    pub urgent: bool,
    pub template: Option<String>,
    /// The title template (email subject, timeline label).
    pub title: String,
    /// To test again when the step fires.
    pub condition: Option<Condition>,
    /// Events from this instant on count for `condition`.
    pub scope_from: DateTime<Utc>,
    pub ends_chain: bool,
    /// Derived template values for this occurrence (`final_deadline`, `birthday`, …).
    pub vars: BTreeMap<&'static str, String>,
    /// Index into [`Plan::subjects`]: the subject as it stood when this step was planned.
    pub segment: usize,
}

impl DueStep {
    /// A stable key for the timer: the same step of the same occurrence always gets the same
    /// key, so re-planning never duplicates a timer.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.workflow_id, self.step_id, self.occurrence.anchor, self.occurrence.repeat
        )
    }

    pub fn is_escalation(&self) -> bool {
        matches!(self.action, Action::Escalate { .. } | Action::OpenInterview)
    }
}

/// Another workflow an event starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StartRequest {
    pub workflow: String,
    pub event: String,
    pub at: DateTime<Utc>,
    /// The subject after the event (for the same kind); `None` when the event produces a
    /// subject of another kind (an interview's record produces rectification items).
    pub subject: Option<Subject>,
}

/// A step left out because its condition did not hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub step: DueStep,
    pub because: String,
}

/// The plan for one subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub workflow_id: String,
    pub version: u32,
    pub content_hash: String,
    /// Due steps in time order.
    pub steps: Vec<DueStep>,
    pub skipped: Vec<Skipped>,
    /// When an event or an `ends_chain` step ended the chain.
    pub stopped_at: Option<DateTime<Utc>>,
    pub starts: Vec<StartRequest>,
    /// The subject before the first event, then after each re-planning event.
    pub subjects: Vec<Subject>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("workflow `{workflow}` runs for `{expected}` subjects, not `{got}`")]
    WrongKind {
        workflow: String,
        expected: SubjectKind,
        got: SubjectKind,
    },
    #[error("the subject has no `{field}`, which workflow `{workflow}` counts from")]
    MissingAnchor { workflow: String, field: String },
    #[error("event `{event}` is not an event of `{kind}` subjects")]
    UnknownEvent { event: String, kind: SubjectKind },
    #[error("workflow `{workflow}` recurs: plan it over a window with a start or an end")]
    UnboundedWindow { workflow: String },
    #[error(transparent)]
    Subject(#[from] SubjectError),
}

/// Applies an event to a subject: sets the field it carries, enforcing the kind's rules
/// (an extension beyond one year needs a reason; close-out needs a verifier other than the
/// owner).
pub fn apply_event(subject: &mut Subject, tz: Tz, event: &Event) -> Result<(), PlanError> {
    let kind = subject.kind();
    let spec = kind
        .event(&event.name)
        .ok_or_else(|| PlanError::UnknownEvent {
            event: event.name.clone(),
            kind,
        })?;
    let local = event.at.with_timezone(&tz).naive_local();
    if event.name == "item_verified"
        && let Subject::Rectification(r) = subject
    {
        match &r.verifier {
            None => {
                return Err(PlanError::Subject(SubjectError::EventNeedsValue {
                    event: event.name.clone(),
                    what: "verifier on the item (close-out needs a verifier who is not the owner)",
                }));
            }
            Some(v) if v.trim() == r.owner.trim() => {
                return Err(PlanError::Subject(SubjectError::VerifierIsOwner {
                    owner: r.owner.clone(),
                }));
            }
            Some(_) => {}
        }
    }
    let Some(field) = spec.sets else {
        return Ok(());
    };
    let value = match spec.value {
        EventValue::None => FieldValue::Date(local.date()),
        EventValue::Date => {
            let v = event.value.ok_or_else(|| SubjectError::EventNeedsValue {
                event: event.name.clone(),
                what: "new date (e.g. extension_approved@2026-09-01=2027-04-09)",
            })?;
            if field == "interview_at" {
                FieldValue::DateTime(v)
            } else {
                FieldValue::Date(v.date())
            }
        }
    };
    if event.name == "extension_approved"
        && let Some(old) = subject.field("term_end")
    {
        let from = old.date();
        let to = value.date();
        let limit = from
            .checked_add_months(chrono::Months::new(12))
            .unwrap_or(from);
        if to > limit && event.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(SubjectError::ExtensionNeedsReason { from, to }.into());
        }
    }
    subject.set_field(field, value);
    Ok(())
}

/// Converts a local time to UTC; a time in a DST gap moves forward to the first valid minute.
fn to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut t = local;
    for _ in 0..180 {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(x) => return x.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
            LocalResult::None => t += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&local)
}

/// The value a step counts from: a subject field, with a rectification item's missing deadline
/// filled in from the workflow's defaults.
fn field_value(
    wf: &Workflow,
    subject: &Subject,
    field: &str,
    cal: &Calendar,
) -> Result<FieldValue, PlanError> {
    if let Some(v) = subject.field(field) {
        return Ok(v);
    }
    if field == "final_deadline" && wf.deadlines.is_some() {
        let deadline = field_value(wf, subject, "deadline", cal)?;
        if let Some(d) = &wf.deadlines {
            return Ok(FieldValue::Date(d.final_grace.apply(deadline.date(), cal)));
        }
    }
    if field == "deadline"
        && let (Subject::Rectification(r), Some(d)) = (subject, &wf.deadlines)
    {
        let off = match r.kind {
            crate::subject::RectificationKind::Immediate => &d.immediate,
            crate::subject::RectificationKind::TimeBound => &d.time_bound,
            crate::subject::RectificationKind::LongTerm => &d.long_term,
        };
        return Ok(FieldValue::Date(off.apply(r.opened_on, cal)));
    }
    Err(PlanError::MissingAnchor {
        workflow: wf.id.clone(),
        field: field.to_string(),
    })
}

/// One occurrence of the workflow: the anchor and the period its conditions look at.
#[derive(Debug, Clone, Copy)]
struct Occ {
    anchor: FieldValue,
    scope_from: DateTime<Utc>,
}

fn occurrences(
    wf: &Workflow,
    subject: &Subject,
    window: &Window,
    cal: &Calendar,
) -> Result<Vec<Occ>, PlanError> {
    let tz = wf.timezone;
    let field_of = |f: &str| field_value(wf, subject, f, cal);
    let recurring_range = || -> (NaiveDate, NaiveDate) {
        let reach = wf.steps.iter().map(step_reach).max().unwrap_or(0) + 40;
        let until = window.until.unwrap_or(window.from + Duration::days(366));
        let from = if window.from == DateTime::<Utc>::MIN_UTC {
            until - Duration::days(366)
        } else {
            window.from
        };
        let from_local = from.with_timezone(&tz).date_naive();
        let until_local = until.with_timezone(&tz).date_naive();
        (
            from_local
                .checked_sub_signed(Duration::days(reach))
                .unwrap_or(from_local),
            until_local
                .checked_add_signed(Duration::days(reach))
                .unwrap_or(until_local),
        )
    };
    if wf.anchor.is_recurring() && window.from == DateTime::<Utc>::MIN_UTC && window.until.is_none()
    {
        return Err(PlanError::UnboundedWindow {
            workflow: wf.id.clone(),
        });
    }
    let mut anchors: Vec<FieldValue> = Vec::new();
    match &wf.anchor {
        Anchor::Date { field } => {
            return Ok(vec![Occ {
                anchor: field_of(field)?,
                scope_from: DateTime::<Utc>::MIN_UTC,
            }]);
        }
        Anchor::Cron { cron, .. } => {
            let (start, end) = recurring_range();
            let Some(start_local) = start.and_hms_opt(0, 0, 0) else {
                return Ok(vec![]);
            };
            let mut t = to_utc(tz, start_local).with_timezone(&tz);
            let mut inclusive = true;
            for _ in 0..5000 {
                match cron.find_next_occurrence(&t, inclusive) {
                    Ok(next) if next.date_naive() <= end => {
                        anchors.push(FieldValue::DateTime(next.naive_local()));
                        t = next;
                        inclusive = false;
                    }
                    _ => break,
                }
            }
        }
        Anchor::MonthlyOn { field } => {
            let day = subject
                .day_field(field)
                .ok_or_else(|| PlanError::MissingAnchor {
                    workflow: wf.id.clone(),
                    field: field.clone(),
                })?;
            let (start, end) = recurring_range();
            let mut y = start.year();
            let mut m = start.month();
            while let Some(first) = NaiveDate::from_ymd_opt(y, m, 1) {
                if first > end {
                    break;
                }
                let last = last_day(y, m);
                if let Some(d) = NaiveDate::from_ymd_opt(y, m, day.min(last)) {
                    anchors.push(FieldValue::Date(d));
                }
                (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            }
        }
        Anchor::YearlyOn { field } => {
            let base = field_of(field)?.date();
            let (start, end) = recurring_range();
            for y in start.year().max(base.year() + 1)..=end.year() {
                let d = NaiveDate::from_ymd_opt(y, base.month(), base.day()).or_else(|| {
                    NaiveDate::from_ymd_opt(y, base.month(), last_day(y, base.month()))
                });
                if let Some(d) = d {
                    anchors.push(FieldValue::Date(d));
                }
            }
        }
    }
    Ok(anchors
        .into_iter()
        .map(|a| Occ {
            anchor: a,
            scope_from: to_utc(tz, a.date().and_time(NaiveTime::MIN)),
        })
        .collect())
}

fn last_day(y: i32, m: u32) -> u32 {
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    next.and_then(|n| n.pred_opt())
        .map(|d| d.day())
        .unwrap_or(28)
}

/// How far (in days, either way) a step can land from its occurrence's anchor.
fn step_reach(s: &Step) -> i64 {
    let repeat = s.repeat.as_ref().map_or(0, |r| {
        let n = i64::from(r.max.unwrap_or(1000).min(1000));
        let by_max = r.every.max_days().saturating_mul(n);
        match &r.end {
            Some(e) => by_max.min(e.max_days()),
            None => by_max,
        }
    });
    s.offset.max_days() + repeat + 20
}

/// Plans `wf` for `subject`, given the events so far, for due times in `window`.
pub fn plan(
    wf: &Workflow,
    subject: &Subject,
    events: &[Event],
    ctx: &PlanContext,
    window: &Window,
) -> Result<Plan, PlanError> {
    if subject.kind() != wf.subject {
        return Err(PlanError::WrongKind {
            workflow: wf.id.clone(),
            expected: wf.subject,
            got: subject.kind(),
        });
    }
    subject.validate()?;
    let mut events: Vec<&Event> = events.iter().collect();
    events.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.name.cmp(&b.name)));

    // Apply events: segments start at each re-planning event.
    let mut working = subject.clone();
    let mut segments: Vec<(DateTime<Utc>, Subject)> =
        vec![(DateTime::<Utc>::MIN_UTC, subject.clone())];
    let mut stopped_at = None;
    let mut starts = Vec::new();
    let mut counted: Vec<&Event> = Vec::new();
    for ev in &events {
        apply_event(&mut working, wf.timezone, ev)?;
        counted.push(ev);
        let Some(reaction) = wf.reactions.iter().find(|r| r.event == ev.name) else {
            continue;
        };
        if let Some(target) = &reaction.start {
            let produces = wf
                .subject
                .event(&ev.name)
                .map(|e| e.produces)
                .unwrap_or(wf.subject);
            starts.push(StartRequest {
                workflow: target.clone(),
                event: ev.name.clone(),
                at: ev.at,
                subject: (produces == wf.subject).then(|| working.clone()),
            });
        }
        if reaction.stop {
            stopped_at = Some(ev.at);
            break;
        }
        if reaction.replan {
            segments.push((ev.at, working.clone()));
        }
    }

    let mut steps = Vec::new();
    let mut skipped = Vec::new();
    for (i, (seg_start, seg_subject)) in segments.iter().enumerate() {
        let seg_end = segments.get(i + 1).map(|s| s.0);
        let (mut s, mut k) = plan_subject(wf, seg_subject, &counted, ctx, window, i)?;
        let keep = |d: &DueStep| d.due_at >= *seg_start && seg_end.is_none_or(|e| d.due_at < e);
        s.retain(keep);
        k.retain(|x| keep(&x.step));
        steps.append(&mut s);
        skipped.append(&mut k);
    }
    let order = |a: &DueStep, b: &DueStep| {
        a.due_at
            .cmp(&b.due_at)
            .then_with(|| step_index(wf, &a.step_id).cmp(&step_index(wf, &b.step_id)))
            .then_with(|| a.occurrence.cmp(&b.occurrence))
    };
    steps.sort_by(order);
    skipped.sort_by(|a, b| order(&a.step, &b.step));

    if let Some(stop) = stopped_at {
        steps.retain(|s| s.due_at < stop);
        skipped.retain(|s| s.step.due_at < stop);
    }
    // A step that ends the chain stops everything after it.
    if let Some(end) = steps.iter().position(|s| s.ends_chain) {
        let at = steps[end].due_at;
        steps.truncate(end + 1);
        skipped.retain(|s| s.step.due_at <= at);
        stopped_at = Some(at);
    }
    steps.retain(|s| s.due_at >= window.from && window.until.is_none_or(|u| s.due_at < u));
    skipped
        .retain(|s| s.step.due_at >= window.from && window.until.is_none_or(|u| s.step.due_at < u));

    Ok(Plan {
        workflow_id: wf.id.clone(),
        version: wf.version,
        content_hash: wf.content_hash.clone(),
        steps,
        skipped,
        stopped_at,
        starts,
        subjects: segments.into_iter().map(|(_, s)| s).collect(),
    })
}

fn step_index(wf: &Workflow, id: &str) -> usize {
    wf.steps
        .iter()
        .position(|s| s.id == id)
        .unwrap_or(usize::MAX)
}

/// Plans every occurrence for one version of the subject.
fn plan_subject(
    wf: &Workflow,
    subject: &Subject,
    events: &[&Event],
    ctx: &PlanContext,
    window: &Window,
    segment: usize,
) -> Result<(Vec<DueStep>, Vec<Skipped>), PlanError> {
    let occs = occurrences(wf, subject, window, ctx.calendar)?;
    let mut due = Vec::new();
    let mut skipped = Vec::new();
    for (oi, occ) in occs.iter().enumerate() {
        // For recurring workflows, events count from this occurrence to the next.
        let scope_end = occs.get(oi + 1).map(|n| n.scope_from);
        for step in &wf.steps {
            let base = match &step.from {
                Some(f) => field_value(wf, subject, f, ctx.calendar)?,
                None => occ.anchor,
            };
            let vars = derived_vars(wf, subject, occ.anchor.date(), ctx);
            let first = step.offset.apply(base.date(), ctx.calendar);
            let time = step.time.or(base.time()).unwrap_or(wf.time);
            let max = step
                .repeat
                .as_ref()
                .map_or(1, |r| r.max.unwrap_or(1000).min(1000));
            let end = step
                .repeat
                .as_ref()
                .and_then(|r| r.end.as_ref())
                .map(|e| e.apply(occ.anchor.date(), ctx.calendar));
            for k in 0..max {
                let date = match &step.repeat {
                    Some(r) if k > 0 => r
                        .every
                        .times(i32::try_from(k).unwrap_or(i32::MAX))
                        .apply(first, ctx.calendar),
                    _ => first,
                };
                if k > 0 && end.is_some_and(|e| date > e) {
                    break;
                }
                let nominal = date.and_time(time);
                let local = if step.urgent || step.channels.is_empty() {
                    nominal
                } else {
                    ctx.quiet
                        .next_allowed_all(&step.channels, nominal, ctx.calendar)
                };
                let due_at = to_utc(wf.timezone, local);
                if window.until.is_some_and(|u| due_at >= u) && k > 0 {
                    break;
                }
                let happened = |name: &str| {
                    events.iter().any(|e| {
                        e.name == name
                            && e.at <= due_at
                            && e.at >= occ.scope_from
                            && scope_end.is_none_or(|s| e.at < s)
                    })
                };
                if k > 0
                    && let Some(until) = step.repeat.as_ref().and_then(|r| r.until.as_ref())
                    && until.holds(happened)
                {
                    break;
                }
                let d = DueStep {
                    workflow_id: wf.id.clone(),
                    content_hash: wf.content_hash.clone(),
                    step_id: step.id.clone(),
                    occurrence: Occurrence {
                        anchor: occ.anchor.date(),
                        repeat: k,
                    },
                    due_at,
                    local,
                    nominal,
                    action: step.action.clone(),
                    recipients: step.to.clone(),
                    channels: step.channels.clone(),
                    urgent: step.urgent,
                    template: step.template.clone(),
                    title: step.title.clone(),
                    condition: step.when.clone(),
                    scope_from: occ.scope_from,
                    ends_chain: step.ends_chain,
                    vars: vars.clone(),
                    segment,
                };
                match &step.when {
                    Some(c) if !c.holds(happened) => {
                        let because = c
                            .terms
                            .iter()
                            .filter(|(neg, e)| happened(e) == *neg)
                            .map(|(neg, e)| {
                                if *neg {
                                    format!("{e} happened")
                                } else {
                                    format!("{e} has not happened")
                                }
                            })
                            .collect::<Vec<_>>()
                            .join(", ");
                        skipped.push(Skipped { step: d, because });
                    }
                    _ => due.push(d),
                }
            }
        }
    }
    Ok((due, skipped))
}

fn derived_vars(
    wf: &Workflow,
    subject: &Subject,
    anchor: NaiveDate,
    ctx: &PlanContext,
) -> BTreeMap<&'static str, String> {
    let mut v = BTreeMap::new();
    match subject {
        Subject::Rectification(_) => {
            if let (Ok(deadline), Ok(fin)) = (
                field_value(wf, subject, "deadline", ctx.calendar),
                field_value(wf, subject, "final_deadline", ctx.calendar),
            ) {
                v.insert("final_deadline", zh_date(fin.date()));
                v.insert("deadline", zh_date(deadline.date()));
            }
        }
        Subject::Member(m) => {
            v.insert("birthday", zh_date(anchor));
            v.insert(
                "party_years",
                (anchor.year() - m.joined_on.year()).to_string(),
            );
        }
        _ => {}
    }
    v
}
