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
        let today = self.now().with_timezone(&ZONE).date_naive();
        if d > today {
            return Err(EngineError::Refused(format!(
                "the {what} date {d} is in the future (today is {today})"
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
            .ok_or_else(|| EngineError::Refused(format!("{sref} does not exist")))?;
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
        let unit =
            self.store.unit_by_code(unit_code).await?.ok_or_else(|| {
                EngineError::Refused(format!("no party unit with code {unit_code}"))
            })?;
        if let Some(start) = unit.unit.term_start
            && held_on < start
        {
            return Err(EngineError::Refused(format!(
                "the election date {held_on} is before the current term began ({start})"
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
        let unit =
            self.store.unit_by_code(unit_code).await?.ok_or_else(|| {
                EngineError::Refused(format!("no party unit with code {unit_code}"))
            })?;
        let current_end = unit.unit.term_end.ok_or_else(|| {
            EngineError::Refused(format!("unit {unit_code} has no term end to extend"))
        })?;
        if new_end <= current_end {
            return Err(EngineError::Refused(format!(
                "the new term end {new_end} is not after the current one ({current_end})"
            )));
        }
        if new_end > current_end + chrono::Months::new(12)
            && reason.as_deref().is_none_or(str::is_empty)
        {
            return Err(EngineError::Refused(format!(
                "extending from {current_end} to {new_end} is more than one year: give --reason"
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
                    "no person {verifier_key} in the register (give a mobile number or email)"
                ))
            })?;
        if item.owner_id == Some(verifier.id) {
            return Err(EngineError::Refused(format!(
                "{} owns item {item_id}; close-out needs a verifier other than the owner",
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

    /// The interview took place: its chain stops, and each problem found becomes a
    /// rectification item owned by the interviewee with the default time-bound deadline.
    pub async fn record_interview(
        &self,
        interview_id: i64,
        held_on: NaiveDate,
        record: &str,
        problems: &[String],
        actor: &str,
    ) -> Result<Completion, EngineError> {
        self.refuse_future("interview", held_on)?;
        let iv = self
            .store
            .interview(interview_id)
            .await?
            .ok_or_else(|| EngineError::Refused(format!("no interview {interview_id}")))?;
        if iv.status != "scheduled" {
            return Err(EngineError::Refused(format!(
                "interview {interview_id} is {}, not scheduled",
                iv.status
            )));
        }
        let sref = SubjectRef::Interview(interview_id);
        let deadline = held_on + self.time_bound_deadline();
        let record = record.to_string();
        let problems = problems.to_vec();
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
                tx.mark_interview_held(&iv, held_on, &record, now).await?;
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
        tx.audit(
            actor,
            now,
            "open_rectification",
            &sref.key(),
            &serde_json::to_string(&row).unwrap_or_default(),
        )
        .await?;
        let loaded = load(tx.reader().get(), &sref)
            .await?
            .ok_or_else(|| EngineError::Data(format!("{sref} vanished")))?;
        let plans = self.sync_loaded(&tx, &loaded, now, false).await?;
        tx.commit().await?;
        Ok(Completion {
            subject: sref.key(),
            event: "opened".into(),
            plans,
            recorded: true,
            created: vec![sref.key()],
        })
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
            .ok_or_else(|| EngineError::Refused(format!("no rectification item {item_id}")))?;
        if item.status == "closed" {
            return Err(EngineError::Refused(format!(
                "rectification item {item_id} is already closed"
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
