//! Completions: what people record when a chain's purpose is met. Each one writes its
//! domain row, records the event, re-plans the subject's chains (cancelling what is left and
//! starting what follows) and audits the change — all in one transaction.

use crate::subjects::{SubjectRef, load, midnight};
use crate::{Engine, EngineError};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use duban_core::register::{UnitLevel, term_end_for};
use duban_store::engine::PlanReport;
use duban_store::subjects::{NewEvent, NewItem};
use serde::Serialize;

/// What a completion changed.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Completion {
    pub subject: String,
    pub event: String,
    /// The instances re-planned, with how many timers each gained, moved or lost.
    pub plans: Vec<PlanReport>,
    /// False when the same completion had been recorded before (nothing changed).
    pub recorded: bool,
    /// Subjects the completion created (the new term, rectification items).
    pub created: Vec<String>,
}

impl Completion {
    /// A subject opened (an item, an interview) with its chains planned.
    pub fn opened(sref: SubjectRef, plans: Vec<PlanReport>) -> Completion {
        Completion {
            subject: sref.key(),
            event: "opened".into(),
            plans,
            recorded: true,
            created: vec![sref.key()],
        }
    }
}

const ZONE: Tz = chrono_tz::Asia::Shanghai;

/// A local date at midnight in Asia/Shanghai, as UTC.
fn day_start(d: NaiveDate) -> DateTime<Utc> {
    ZONE.from_local_datetime(&midnight(d))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight(d).and_utc())
}

impl Engine {
    fn refuse_future(&self, what: &str, d: NaiveDate) -> Result<(), EngineError> {
        let today = self.today();
        if d > today {
            return Err(EngineError::Refused(format!(
                "日期{d}晚于今天（{today}） (the {what} date {d} is in the future (today is {today}))"
            )));
        }
        Ok(())
    }

    async fn record(
        &self,
        sref: &SubjectRef,
        event: NewEvent,
        write: impl AsyncFnOnce(
            &duban_store::engine::WriteTx,
            DateTime<Utc>,
        ) -> Result<Vec<String>, EngineError>,
    ) -> Result<Completion, EngineError> {
        let now = self.now();
        let tx = self.store.begin_write().await?;
        // Before anything is read: a tick that decided on the subject as it was waits, then
        // finds its decision stale and decides again.
        tx.lock_subjects(&[sref.key()]).await?;
        let (name, actor) = (event.name.as_str(), event.actor.as_str());
        if !tx.record_event(&event, now).await? {
            tx.rollback().await?;
            return Ok(Completion {
                subject: sref.key(),
                event: name.into(),
                recorded: false,
                ..Default::default()
            });
        }
        let created = write(&tx, now).await?;
        // Read inside the transaction: the subject as the completion left it, with the
        // event just recorded.
        let loaded = load(tx.reader().get(), sref)
            .await?
            .ok_or_else(|| EngineError::Refused(format!("{sref}不存在 ({sref} does not exist)")))?;
        let mut plans = self.sync_loaded(&tx, &loaded, now, false).await?;
        // Subjects the completion created (a new term, rectification items) start their
        // chains in the same transaction.
        for key in &created {
            if let Some(new) = SubjectRef::parse(key)
                && let Some(l) = load(tx.reader().get(), &new).await?
            {
                plans.extend(self.sync_loaded(&tx, &l, now, false).await?);
            }
        }
        tx.audit(actor, now, name, &sref.key(), &event_json(&event))
            .await?;
        tx.commit().await?;
        Ok(Completion {
            subject: sref.key(),
            event: name.into(),
            plans,
            recorded: true,
            created,
        })
    }

    /// `duban term elect UNIT --date D`: the election was held; the term's chain stops, the
    /// result report is due, and the new term's chain starts.
    pub async fn record_election(
        &self,
        unit_code: &str,
        held_on: NaiveDate,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        self.refuse_future("election", held_on)?;
        let unit = self.store.unit_by_code(unit_code).await?.ok_or_else(|| {
            EngineError::Refused(format!(
                "没有编码为“{unit_code}”的党组织 (no party unit with code {unit_code})"
            ))
        })?;
        if let Some(start) = unit.unit.term_start
            && held_on < start
        {
            return Err(EngineError::Refused(format!(
                "换届日期{held_on}早于本届任期开始日期{start} (the election date {held_on} is before the current term began ({start}))"
            )));
        }
        let level = UnitLevel::parse(&unit.unit.level).unwrap_or(UnitLevel::Branch);
        let new_end = term_end_for(held_on, level);
        let sref = SubjectRef::term_of(&unit.unit);
        let idem = format!("election:{unit_code}:{held_on}");
        let u = unit.unit.clone();
        self.record(
            &sref,
            event(
                &sref,
                "election_recorded",
                day_start(held_on),
                Some(held_on),
                None,
                actor,
                idem,
            ),
            async move |tx, now| {
                let updated = tx.record_election(&u, held_on, new_end, now).await?;
                Ok(vec![SubjectRef::term_of(&updated).key()])
            },
        )
        .await
    }

    /// An approved extension (延期换届) re-plans the term's chain against the new end.
    pub async fn approve_extension(
        &self,
        unit_code: &str,
        new_end: NaiveDate,
        approved_on: NaiveDate,
        reason: Option<String>,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        self.refuse_future("approval", approved_on)?;
        let unit = self.store.unit_by_code(unit_code).await?.ok_or_else(|| {
            EngineError::Refused(format!(
                "没有编码为“{unit_code}”的党组织 (no party unit with code {unit_code})"
            ))
        })?;
        let current_end = unit.unit.term_end.ok_or_else(|| {
            EngineError::Refused(format!("党组织“{unit_code}”没有可延期的任期届满日期 (unit {unit_code} has no term end to extend)"))
        })?;
        if new_end <= current_end {
            return Err(EngineError::Refused(format!(
                "新的任期届满日期{new_end}不晚于现在的{current_end} (the new term end {new_end} is not after the current one ({current_end}))"
            )));
        }
        if new_end > current_end + chrono::Months::new(12)
            && reason.as_deref().is_none_or(str::is_empty)
        {
            return Err(EngineError::Refused(format!(
                "从{current_end}延期到{new_end}超过一年，须写明原因 (extending from {current_end} to {new_end} is more than one year: give --reason)"
            )));
        }
        let sref = SubjectRef::term_of(&unit.unit);
        let idem = format!("extension:{sref}:{new_end}");
        let u = unit.unit.clone();
        let r = reason.clone();
        let who = actor.to_string();
        self.record(
            &sref,
            event(
                &sref,
                "extension_approved",
                day_start(approved_on),
                Some(new_end),
                reason,
                actor,
                idem,
            ),
            async move |tx, now| {
                tx.record_extension(&u, approved_on, new_end, r, &who, now)
                    .await?;
                Ok(vec![])
            },
        )
        .await
    }

    /// A monthly progress report on a rectification item.
    pub async fn report_progress(
        &self,
        item_id: i64,
        on: NaiveDate,
        note: &str,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        self.refuse_future("report", on)?;
        let item = self.open_item(item_id).await?;
        let sref = SubjectRef::Rectification(item_id);
        let note = note.to_string();
        let who = actor.to_string();
        let idem = format!("progress:{item_id}:{on}:{}", short_hash(&note));
        self.record(
            &sref,
            event(
                &sref,
                "progress_reported",
                day_start(on),
                None,
                None,
                actor,
                idem,
            ),
            async move |tx, now| {
                tx.report_progress(&item, on, &note, &who, now).await?;
                Ok(vec![])
            },
        )
        .await
    }

    /// Close-out (销号): needs a verifier who is not the item's owner; starts the
    /// follow-up review (回头看).
    pub async fn close_item(
        &self,
        item_id: i64,
        verifier_key: &str,
        on: NaiveDate,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        self.refuse_future("close-out", on)?;
        let item = self.open_item(item_id).await?;
        let verifier = self
            .store
            .person_by_key(verifier_key)
            .await?
            .ok_or_else(|| {
                EngineError::Refused(format!(
                    "名册中没有核验人“{verifier_key}”，请填写手机号或邮箱 (no person {verifier_key} in the register (give a mobile number or email))"
                ))
            })?;
        if item.owner_id == Some(verifier.id) {
            return Err(EngineError::Refused(format!(
                "{0}是第{item_id}项整改的责任人，销号须由责任人以外的人核验 ({} owns item {item_id}; close-out needs a verifier other than the owner)",
                verifier.name
            )));
        }
        let sref = SubjectRef::Rectification(item_id);
        let idem = format!("close:{item_id}");
        self.record(
            &sref,
            event(
                &sref,
                "item_verified",
                day_start(on),
                None,
                None,
                actor,
                idem,
            ),
            async move |tx, now| {
                tx.close_item(&item, on, verifier.id, now).await?;
                Ok(vec![])
            },
        )
        .await
    }

    /// A report a term's chain waits for: the request to hold the election
    /// (`request_submitted`, on the current term) or the election result
    /// (`result_reported`, on the term the unit last elected in).
    pub async fn record_term_report(
        &self,
        unit_code: &str,
        event_name: &str,
        on: NaiveDate,
        note: Option<String>,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        self.refuse_future("report", on)?;
        let unit = self.store.unit_by_code(unit_code).await?.ok_or_else(|| {
            EngineError::Refused(format!(
                "没有编码为“{unit_code}”的党组织 (no party unit with code {unit_code})"
            ))
        })?;
        let sref = if event_name == "result_reported" {
            let key = self
                .store
                .reader()
                .get()
                .last_subject_with_event(&format!("term:{unit_code}:"), "election_recorded")
                .await?
                .ok_or_else(|| {
                    EngineError::Refused(format!(
                        "党组织“{unit_code}”尚未登记换届选举，请先登记 (unit {unit_code} has no election recorded: record it first (duban term elect))"
                    ))
                })?;
            SubjectRef::parse(&key)
                .ok_or_else(|| EngineError::Data(format!("bad subject key {key}")))?
        } else {
            SubjectRef::term_of(&unit.unit)
        };
        let idem = format!("{event_name}:{sref}");
        self.record(
            &sref,
            event(&sref, event_name, day_start(on), None, note, actor, idem),
            async move |_, _| Ok(vec![]),
        )
        .await
    }

    /// An approved extension of a rectification item's deadline: its reminders re-plan
    /// against the new date.
    pub async fn extend_deadline(
        &self,
        item_id: i64,
        to: NaiveDate,
        approved_on: NaiveDate,
        reason: Option<String>,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        self.refuse_future("approval", approved_on)?;
        let item = self.open_item(item_id).await?;
        if to <= item.deadline {
            return Err(EngineError::Refused(format!(
                "新的期限{to}不晚于现在的期限{0} (the new deadline {to} is not after the current one ({}))",
                item.deadline
            )));
        }
        let sref = SubjectRef::Rectification(item_id);
        let idem = format!("deadline:{item_id}:{to}");
        self.record(
            &sref,
            event(
                &sref,
                "deadline_extended",
                day_start(approved_on),
                Some(to),
                reason,
                actor,
                idem,
            ),
            async move |tx, now| {
                tx.extend_deadline(&item, to, now).await?;
                Ok(vec![])
            },
        )
        .await
    }

    /// The follow-up review (回头看) of a closed item: passed, or the problem came back, in
    /// which case a new item is opened for it (with its own chain).
    pub async fn record_review(
        &self,
        item_id: i64,
        on: NaiveDate,
        passed: bool,
        note: Option<String>,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        self.refuse_future("review", on)?;
        let item = self
            .store
            .rectification_item(item_id)
            .await?
            .ok_or_else(|| {
                EngineError::Refused(format!(
                    "没有第{item_id}项整改 (no rectification item {item_id})"
                ))
            })?;
        if item.status != "closed" {
            return Err(EngineError::Refused(format!(
                "第{item_id}项整改尚未销号，销号后才能回访 (rectification item {item_id} is not closed out yet: the follow-up review comes after close-out)"
            )));
        }
        let sref = SubjectRef::Rectification(item_id);
        let name = if passed {
            "review_passed"
        } else {
            "review_failed"
        };
        let idem = format!("review:{item_id}");
        let deadline = on + self.time_bound_deadline();
        self.record(
            &sref,
            event(&sref, name, day_start(on), None, note.clone(), actor, idem),
            async move |tx, now| {
                if passed {
                    return Ok(vec![]);
                }
                let reopened = tx
                    .open_item(
                        &NewItem {
                            unit_id: item.unit_id,
                            title: format!("（回头看反弹）{}", item.title),
                            kind: item.kind.clone(),
                            measures: note,
                            owner_id: item.owner_id,
                            leader_id: item.leader_id,
                            verifier_id: item.verifier_id,
                            opened_on: on,
                            deadline,
                            interview_id: item.interview_id,
                        },
                        now,
                    )
                    .await?;
                Ok(vec![SubjectRef::Rectification(reopened.id).key()])
            },
        )
        .await
    }

    fn scheduled_interview(
        iv: Option<duban_store::subjects::InterviewRow>,
        id: i64,
    ) -> Result<duban_store::subjects::InterviewRow, EngineError> {
        let iv = iv
            .ok_or_else(|| EngineError::Refused(format!("没有第{id}号约谈 (no interview {id})")))?;
        if iv.status == "cancelled" {
            return Err(EngineError::Refused(format!(
                "第{id}号约谈已取消 (interview {id} was cancelled)"
            )));
        }
        Ok(iv)
    }

    /// The interview moves to a new time (and place): its notice and reminder re-plan.
    pub async fn reschedule_interview(
        &self,
        interview_id: i64,
        at: chrono::NaiveDateTime,
        location: Option<String>,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        let iv =
            Self::scheduled_interview(self.store.interview(interview_id).await?, interview_id)?;
        if iv.held_on.is_some() {
            return Err(EngineError::Refused(format!(
                "第{interview_id}号约谈已于{0}进行 (interview {interview_id} was already held on {})",
                iv.held_on.map(|d| d.to_string()).unwrap_or_default()
            )));
        }
        let today = self.today();
        if at.date() < today {
            return Err(EngineError::Refused(format!(
                "新的约谈时间{at}已过（今天是{today}） (the new interview time {at} is in the past (today is {today}))"
            )));
        }
        let sref = SubjectRef::Interview(interview_id);
        let idem = format!("reschedule:{interview_id}:{at}");
        let mut ev = event(
            &sref,
            "interview_rescheduled",
            self.now(),
            None,
            location.clone(),
            actor,
            idem,
        );
        ev.value = Some(at);
        self.record(&sref, ev, async move |tx, now| {
            tx.reschedule_interview(&iv, at, location, now).await?;
            Ok(vec![])
        })
        .await
    }

    /// The interview took place (the record may follow within three working days).
    pub async fn record_interview_held(
        &self,
        interview_id: i64,
        held_on: NaiveDate,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        self.refuse_future("interview", held_on)?;
        let iv =
            Self::scheduled_interview(self.store.interview(interview_id).await?, interview_id)?;
        let sref = SubjectRef::Interview(interview_id);
        let idem = format!("interview:{interview_id}");
        self.record(
            &sref,
            event(
                &sref,
                "interview_held",
                day_start(held_on),
                None,
                None,
                actor,
                idem,
            ),
            async move |tx, now| {
                tx.mark_interview_held(&iv, held_on, iv.record.as_deref().unwrap_or(""), now)
                    .await?;
                Ok(vec![])
            },
        )
        .await
    }

    /// The interview's record (约谈记录) is filed: the chain stops, and each problem in it
    /// becomes a rectification item owned by the interviewee, with the default time-bound
    /// deadline and its own chain. Records the interview as held too, if it was not yet.
    pub async fn file_interview_record(
        &self,
        interview_id: i64,
        on: NaiveDate,
        record: &str,
        problems: &[String],
        actor: &str,
    ) -> Result<Completion, EngineError> {
        self.refuse_future("record", on)?;
        if record.trim().is_empty() {
            return Err(EngineError::Refused(
                "the record is empty: give what was said and the requirements set".into(),
            ));
        }
        let iv =
            Self::scheduled_interview(self.store.interview(interview_id).await?, interview_id)?;
        let sref = SubjectRef::Interview(interview_id);
        let held_on = iv.held_on.unwrap_or(on);
        let deadline = held_on + self.time_bound_deadline();
        let record = record.to_string();
        let problems: Vec<String> = problems
            .iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        let idem = format!("record:{interview_id}");
        let held = event(
            &sref,
            "interview_held",
            day_start(held_on),
            None,
            None,
            actor,
            format!("interview:{interview_id}"),
        );
        self.record(
            &sref,
            event(
                &sref,
                "record_filed",
                day_start(on),
                None,
                None,
                actor,
                idem,
            ),
            async move |tx, now| {
                if iv.held_on.is_none() {
                    tx.record_event(&held, now).await?;
                }
                tx.file_interview_record(&iv, held_on, &record, now).await?;
                let mut created = Vec::new();
                for p in &problems {
                    let item = tx
                        .open_item(
                            &NewItem {
                                unit_id: iv.unit_id,
                                title: p.clone(),
                                kind: "time_bound".into(),
                                measures: None,
                                owner_id: iv.interviewee_id,
                                leader_id: None,
                                verifier_id: None,
                                opened_on: held_on,
                                deadline,
                                interview_id: Some(iv.id),
                            },
                            now,
                        )
                        .await?;
                    created.push(SubjectRef::Rectification(item.id).key());
                }
                Ok(created)
            },
        )
        .await
    }

    /// A unit's recurring duty was done (主题党日 held, dues collected …): the reminders and
    /// the "not reported" notice of the current occurrence are skipped.
    pub async fn record_duty(
        &self,
        unit_code: &str,
        duty: crate::answer::Duty,
        on: NaiveDate,
        note: Option<String>,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        self.refuse_future("duty", on)?;
        if self.store.unit_by_code(unit_code).await?.is_none() {
            return Err(EngineError::Refused(format!(
                "没有编码为“{unit_code}”的党组织 (no party unit with code {unit_code})"
            )));
        }
        let sref = SubjectRef::Unit(unit_code.to_string());
        let name = duty.event();
        let idem = format!("{name}:{unit_code}:{on}");
        self.record(
            &sref,
            event(&sref, name, day_start(on), None, note, actor, idem),
            async move |_, _| Ok(vec![]),
        )
        .await
    }

    /// Opens a rectification item by hand and plans its chain, in one transaction.
    pub async fn open_rectification(
        &self,
        item: NewItem,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        let now = self.now();
        let tx = self.store.begin_write().await?;
        let row = tx.open_item(&item, now).await?;
        let sref = SubjectRef::Rectification(row.id);
        let plans = self
            .start_subject(&tx, actor, "open_rectification", &sref, &row, now)
            .await?;
        tx.commit().await?;
        Ok(Completion::opened(sref, plans))
    }

    /// A subject just created inside `tx`: audited, and its chains started.
    pub(crate) async fn start_subject(
        &self,
        tx: &duban_store::engine::WriteTx,
        actor: &str,
        action: &str,
        sref: &SubjectRef,
        row: &impl Serialize,
        now: DateTime<Utc>,
    ) -> Result<Vec<PlanReport>, EngineError> {
        tx.audit(
            actor,
            now,
            action,
            &sref.key(),
            &serde_json::to_string(row).unwrap_or_default(),
        )
        .await?;
        let loaded = load(tx.reader().get(), sref)
            .await?
            .ok_or_else(|| EngineError::Data(format!("{sref} vanished")))?;
        self.sync_loaded(tx, &loaded, now, false).await
    }

    /// The rectification workflow's default deadline for time-bound items (90 days when the
    /// workflow does not say).
    fn time_bound_deadline(&self) -> chrono::Duration {
        self.rules
            .current()
            .iter()
            .find_map(|w| w.deadlines.as_ref())
            .map(|d| chrono::Duration::days(d.time_bound.max_days().max(1)))
            .unwrap_or_else(|| chrono::Duration::days(90))
    }

    async fn open_item(&self, item_id: i64) -> Result<duban_store::subjects::ItemRow, EngineError> {
        let item = self
            .store
            .rectification_item(item_id)
            .await?
            .ok_or_else(|| {
                EngineError::Refused(format!(
                    "没有第{item_id}项整改 (no rectification item {item_id})"
                ))
            })?;
        if item.status == "closed" {
            return Err(EngineError::Refused(format!(
                "第{item_id}项整改已经销号 (rectification item {item_id} is already closed)"
            )));
        }
        Ok(item)
    }
}

fn event(
    sref: &SubjectRef,
    name: &str,
    at: DateTime<Utc>,
    value: Option<NaiveDate>,
    reason: Option<String>,
    actor: &str,
    idempotency_key: String,
) -> NewEvent {
    NewEvent {
        subject_key: sref.key(),
        name: name.to_string(),
        at,
        value: value.map(midnight),
        reason,
        actor: actor.to_string(),
        idempotency_key,
    }
}

fn event_json(e: &NewEvent) -> String {
    serde_json::json!({
        "subject": e.subject_key, "event": e.name, "at": e.at, "value": e.value, "reason": e.reason,
    })
    .to_string()
}

fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(s.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
