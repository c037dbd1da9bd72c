//! Secretaries' signed links. A reminder that asks for an answer carries a link made for its
//! recipient (see `duban_core::link`). Opening it ([`App::open_link`]) changes nothing —
//! mail scanners open links — and shows what is asked; answering it ([`App::answer_link`])
//! records the answer through the same recorder as every other adapter, audited, once.

use crate::{Actor, App, AppError, Role};
use chrono::{DateTime, NaiveDate, Utc};
use duban_core::link::{LinkError, fingerprint, verify};
use duban_engine::answer::{Answer, Duty};
use duban_engine::complete::Completion;
use duban_store::accounts::LinkUse;
use duban_store::lists::Scope;
use serde::Serialize;

/// Why a link cannot be used; each says so plainly and who to contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum LinkProblem {
    /// Not a link duban made, or altered.
    Invalid,
    Expired {
        at: DateTime<Utc>,
    },
    Used {
        at: DateTime<Utc>,
    },
    /// The chain or person it was made for no longer exists.
    Gone,
    /// The database could not be read: the link still works later.
    Unavailable,
}

impl LinkProblem {
    /// The sentence a secretary reads.
    pub fn zh(&self) -> String {
        let local = |t: &DateTime<Utc>| {
            t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
                .format("%Y年%-m月%-d日 %H:%M")
                .to_string()
        };
        match self {
            LinkProblem::Invalid => {
                "链接无效：链接不完整或已被改动。请直接打开短信或邮件中的原始链接。".into()
            }
            LinkProblem::Expired { at } => format!("链接已于{}过期。", local(at)),
            LinkProblem::Used { at } => format!("此链接已于{}使用过，无需重复提交。", local(at)),
            LinkProblem::Gone => "该事项已不存在或已撤销。".into(),
            LinkProblem::Unavailable => {
                "系统暂时无法打开此链接，请稍后再试；此链接仍然有效。".into()
            }
        }
    }
}

/// One answer the link can give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asked {
    /// The event it records (the form's `answer` value).
    pub event: String,
    /// What the secretary confirms, in Chinese.
    pub label: String,
    /// The form asks for a note (情况说明).
    pub note: bool,
    /// The form asks for the interview record and the problems found.
    pub record: bool,
}

/// What the link page shows.
#[derive(Debug, Clone, Serialize)]
pub struct LinkView {
    pub person: String,
    pub unit_code: String,
    pub unit_name: String,
    /// The reminder's title, as sent.
    pub title: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub expires: DateTime<Utc>,
    pub asked: Vec<Asked>,
    /// Who to contact (the organisation department).
    pub contact: String,
    #[serde(skip)]
    subject_key: String,
    #[serde(skip)]
    person_id: i64,
    #[serde(skip)]
    instance_id: i64,
    #[serde(skip)]
    step_id: String,
}

/// What a secretary submits.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct LinkAnswer {
    pub answer: String,
    pub on: Option<String>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub record: String,
    /// One problem per line.
    #[serde(default)]
    pub problems: String,
}

/// The answer's outcome or why there was none.
#[derive(Debug)]
pub enum LinkOutcome {
    Unusable(LinkProblem, String),
    /// The form was wrong: show it again with the message.
    Invalid(Box<LinkView>, String),
    Failed(AppError),
}

const GIVABLE: [(&str, &str); 6] = [
    ("request_submitted", "已向上级党组织报送换届请示"),
    ("election_recorded", "已完成换届选举"),
    ("result_reported", "已报送选举结果"),
    ("progress_reported", "报送整改进展"),
    ("interview_held", "已参加约谈"),
    ("record_filed", "报送约谈记录"),
];

fn duty_label(d: Duty) -> &'static str {
    match d {
        Duty::ThemeDay => "已开展主题党日",
        Duty::CommitteeMeeting => "已召开支委会",
        Duty::MembersMeeting => "已召开党员大会",
        Duty::PartyLecture => "已讲授党课",
        Duty::AnnualReview => "已召开组织生活会和民主评议党员",
        Duty::DuesCollected => "已收缴党费",
        Duty::RebateApplied => "已申请党费返还",
    }
}

fn asked_for(event: &str) -> Option<Asked> {
    let label = GIVABLE
        .iter()
        .find(|(e, _)| *e == event)
        .map(|(_, l)| l.to_string())
        .or_else(|| Duty::parse(event).map(|d| duty_label(d).to_string()))?;
    Some(Asked {
        event: event.to_string(),
        label,
        note: !matches!(
            event,
            "election_recorded" | "interview_held" | "record_filed"
        ),
        record: event == "record_filed",
    })
}

/// The answers a step asks for: the events its condition waits on (and those that end its
/// repeats) that a secretary can give; a rectification reminder always takes a progress
/// report.
pub(crate) fn asked_by(
    step: Option<&duban_workflow::model::Step>,
    subject_key: &str,
) -> Vec<Asked> {
    let mut events: Vec<String> = Vec::new();
    if let Some(step) = step {
        if let Some(when) = &step.when {
            events.extend(
                when.terms
                    .iter()
                    .filter(|(negated, _)| *negated)
                    .map(|(_, e)| e.clone()),
            );
        }
        if let Some(until) = step.repeat.as_ref().and_then(|r| r.until.as_ref()) {
            events.extend(
                until
                    .terms
                    .iter()
                    .filter(|(negated, _)| !*negated)
                    .map(|(_, e)| e.clone()),
            );
        }
    }
    if subject_key.starts_with("rectification:") {
        events.push("progress_reported".into());
    }
    let mut out: Vec<Asked> = Vec::new();
    for e in events {
        if let Some(a) = asked_for(&e)
            && !out.iter().any(|o| o.event == a.event)
        {
            out.push(a);
        }
    }
    out
}

/// The answer a form gives to what was asked (`event`) about `subject_key` of `unit`, or
/// the sentence that says what is wrong with the form. Shared by the signed links and the
/// secretary's page.
pub(crate) fn answer_of(
    event: &str,
    subject_key: &str,
    unit: &str,
    form: &LinkAnswer,
    today: NaiveDate,
) -> Result<Answer, String> {
    let on = match form.on.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => today,
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| format!("日期“{s}”无法识别，请按2026-12-26的格式填写"))?,
    };
    if on > today {
        return Err("日期不能晚于今天 (the date cannot be in the future)".into());
    }
    let note = Some(form.note.trim().to_string()).filter(|n| !n.is_empty());
    let key = subject_key;
    let unit = unit.to_string();
    Ok(match event {
        "request_submitted" => Answer::RequestSubmitted { unit, on, note },
        "election_recorded" => Answer::ElectionHeld { unit, on },
        "result_reported" => Answer::ResultReported { unit, on, note },
        "progress_reported" => Answer::ProgressReported {
            item: id_of(key, "rectification:").unwrap_or_default(),
            on,
            note: note.ok_or("请填写整改进展情况 (describe the progress)")?,
        },
        "interview_held" => Answer::InterviewHeld {
            interview: id_of(key, "interview:").unwrap_or_default(),
            on,
        },
        "record_filed" => {
            if form.record.trim().is_empty() {
                return Err("请填写约谈记录 (the interview record is required)".into());
            }
            Answer::RecordFiled {
                interview: id_of(key, "interview:").unwrap_or_default(),
                on,
                record: form.record.trim().to_string(),
                problems: form
                    .problems
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
            }
        }
        e => Answer::DutyDone {
            unit,
            duty: Duty::parse(e).ok_or("该事项不能通过链接确认")?,
            on,
            note,
        },
    })
}

fn id_of(subject_key: &str, prefix: &str) -> Option<i64> {
    subject_key.strip_prefix(prefix)?.parse().ok()
}

impl App {
    fn contact(&self) -> String {
        self.engine.config.org_department.clone()
    }

    /// What a link is for, without changing anything.
    pub async fn open_link(&self, token: &str) -> Result<LinkView, (LinkProblem, String)> {
        let now = self.now();
        let fail = |p: LinkProblem| (p, self.contact());
        let claim = verify(&self.link_key, token, now).map_err(|e| match e {
            LinkError::Expired(at) => fail(LinkProblem::Expired { at }),
            LinkError::Malformed | LinkError::Tampered => fail(LinkProblem::Invalid),
        })?;
        let internal = |e: duban_store::StoreError| {
            tracing::warn!(error = %e, "opening a signed link");
            fail(LinkProblem::Unavailable)
        };
        if let Some(used) = self
            .store()
            .link_use(&fingerprint(token))
            .await
            .map_err(internal)?
        {
            return Err(fail(LinkProblem::Used { at: used.used_at }));
        }
        let store = self.store();
        let timer = store.timer_by_id(claim.timer).await.map_err(internal)?;
        let Some(timer) = timer else {
            return Err(fail(LinkProblem::Gone));
        };
        let instance = store
            .instance_by_id(timer.instance_id)
            .await
            .map_err(internal)?;
        let person = store.person_by_id(claim.person).await.map_err(internal)?;
        let (Some(instance), Some(person)) = (instance, person) else {
            return Err(fail(LinkProblem::Gone));
        };
        let unit = store
            .unit_of_subject(&instance.subject_key)
            .await
            .map_err(internal)?
            .ok_or_else(|| fail(LinkProblem::Gone))?;
        let message = store
            .message_for(timer.id, person.id)
            .await
            .map_err(internal)?;
        let workflow = self
            .engine
            .rules
            .by_hash(store, &instance.content_hash)
            .await
            .ok();
        let step = workflow
            .as_ref()
            .and_then(|w| w.steps.iter().find(|s| s.id == timer.step_id));
        Ok(LinkView {
            person: person.name,
            unit_code: unit.code,
            unit_name: unit.name,
            title: message
                .as_ref()
                .map(|m| m.subject.clone())
                .unwrap_or_default(),
            sent_at: message
                .as_ref()
                .and_then(|m| m.sent_at)
                .map(|t| t.and_utc()),
            expires: claim.expires,
            asked: asked_by(step, &instance.subject_key),
            contact: self.contact(),
            subject_key: instance.subject_key,
            person_id: claim.person,
            instance_id: instance.id,
            step_id: timer.step_id,
        })
    }

    /// Records the answer a link's form gives, once. The answer goes through the same
    /// recorder as the command line and the API, audited as the link's recipient.
    pub async fn answer_link(
        &self,
        token: &str,
        form: LinkAnswer,
        origin: &str,
    ) -> Result<(LinkView, Completion), LinkOutcome> {
        let view = self
            .open_link(token)
            .await
            .map_err(|(p, c)| LinkOutcome::Unusable(p, c))?;
        let Some(asked) = view.asked.iter().find(|a| a.event == form.answer) else {
            return Err(LinkOutcome::Invalid(
                Box::new(view.clone()),
                "请选择要确认的事项 (choose what to confirm)".into(),
            ));
        };
        let answer = answer_of(
            &asked.event,
            &view.subject_key,
            &view.unit_code,
            &form,
            self.today(),
        )
        .map_err(|m| LinkOutcome::Invalid(Box::new(view.clone()), m))?;
        let actor = Actor {
            user_id: None,
            name: format!("link:{}:{}", view.person_id, view.person),
            role: Role::Secretary,
            scope: Scope {
                districts: vec![],
                units: vec![view.unit_code.clone()],
            },
            origin: format!("link {origin}"),
            password_expired: false,
        };
        let done = self.answer(&actor, answer).await.map_err(|e| match e {
            AppError::Refused(m) | AppError::Invalid { message: m, .. } => {
                LinkOutcome::Invalid(Box::new(view.clone()), m)
            }
            e => LinkOutcome::Failed(e),
        })?;
        let used = LinkUse {
            person_id: view.person_id,
            instance_id: view.instance_id,
            step_id: view.step_id.clone(),
            answer: asked.event.clone(),
            used_at: self.now(),
        };
        // The answer is recorded first: were this to fail, the link could answer again and
        // the recorder would find the same answer already there.
        let tx = self
            .store()
            .begin_write()
            .await
            .map_err(|e| LinkOutcome::Failed(e.into()))?;
        let fresh = tx
            .use_link(&fingerprint(token), &used, origin)
            .await
            .map_err(|e| LinkOutcome::Failed(e.into()))?;
        tx.commit()
            .await
            .map_err(|e| LinkOutcome::Failed(e.into()))?;
        if !fresh {
            return Err(LinkOutcome::Unusable(
                LinkProblem::Used { at: used.used_at },
                self.contact(),
            ));
        }
        Ok((view, done))
    }
}
