//! Planning subjects into instances and timers.

use crate::subjects::{Loaded, Staff, SubjectRef, load, load_with};
use crate::{Engine, EngineError};
use chrono::{DateTime, Utc};
use duban_store::engine::{InstanceSpec, PlanReport, PlannedTimer, WriteTx, instance_status};
use duban_workflow::model::Workflow;
use duban_workflow::plan::{DueStep, Event, PlanContext, Window, plan};
use duban_workflow::subject::Subject;
use serde::Serialize;
use std::sync::Arc;

/// The occurrence column of a timer: the anchor date and the repeat.
pub fn occurrence_key(d: &DueStep) -> String {
    format!("{}#{}", d.occurrence.anchor, d.occurrence.repeat)
}

/// What a timer row carries for people reading timelines; the step itself is re-derived
/// from the workflow version when the timer fires.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    title: &'a str,
    action: &'a str,
    to: Vec<&'static str>,
    urgent: bool,
}

fn payload(d: &DueStep, title: &str) -> String {
    serde_json::to_string(&Payload {
        title,
        action: d.action.name(),
        to: d.recipients.iter().map(|r| r.as_str()).collect(),
        urgent: d.urgent,
    })
    .unwrap_or_else(|_| "{}".into())
}

/// What re-planning one instance against the current workflow changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplanDiff {
    pub instance_id: i64,
    pub workflow_id: String,
    pub subject: String,
    pub from_version: i32,
    pub from_hash: String,
    pub to_version: i32,
    pub to_hash: String,
    pub inserted: u64,
    pub rescheduled: u64,
    pub cancelled: u64,
    pub dry_run: bool,
}

/// Summary of a sweep over the register.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    pub subjects: u64,
    pub instances_created: u64,
    pub timers_inserted: u64,
    pub timers_rescheduled: u64,
    pub timers_cancelled: u64,
    /// Subjects that could not be planned, with the reason.
    pub problems: Vec<(String, String)>,
}

impl SyncSummary {
    fn add(&mut self, r: &PlanReport) {
        self.instances_created += u64::from(r.created);
        self.timers_inserted += r.inserted;
        self.timers_rescheduled += r.rescheduled;
        self.timers_cancelled += r.cancelled;
    }
}

impl Engine {
    fn window(&self, wf: &Workflow, now: DateTime<Utc>) -> Window {
        Window {
            from: now - self.config.catch_up,
            until: wf.anchor.is_recurring().then(|| now + self.config.horizon),
        }
    }

    /// (Re)plans every chain of a subject inside `tx`: its self-starting workflows, and the
    /// workflows its events started. An instance keeps the workflow version it was planned
    /// with unless `to_current` asks for the version loaded now.
    pub async fn sync_loaded(
        &self,
        tx: &WriteTx,
        loaded: &Loaded,
        now: DateTime<Utc>,
        to_current: bool,
    ) -> Result<Vec<PlanReport>, EngineError> {
        let kind = loaded.sref.kind();
        let workflows: Vec<Workflow> = self
            .rules
            .self_starting()
            .filter(|w| w.subject == kind)
            .cloned()
            .collect();
        let mut reports = Vec::new();
        for wf in workflows {
            self.plan_chain(
                tx,
                &wf,
                loaded,
                &loaded.subject,
                &loaded.events,
                now,
                to_current,
                &mut reports,
            )
            .await?;
        }
        Ok(reports)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn plan_chain<'a>(
        &'a self,
        tx: &'a WriteTx,
        current: &'a Workflow,
        loaded: &'a Loaded,
        subject: &'a Subject,
        events: &'a [Event],
        now: DateTime<Utc>,
        to_current: bool,
        reports: &'a mut Vec<PlanReport>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), EngineError>> + Send + 'a>>
    {
        Box::pin(async move {
            let key = loaded.key();
            let existing = tx.find_instance(&current.id, &key).await?;
            let wf: Arc<Workflow> = match &existing {
                Some(i) if !to_current && i.content_hash != current.content_hash => {
                    self.rules.by_hash(&self.store, &i.content_hash).await?
                }
                _ => Arc::new(current.clone()),
            };
            let ctx = PlanContext {
                calendar: &self.rules.calendar,
                quiet: &self.rules.quiet,
            };
            let mut window = self.window(&wf, now);
            let mut p = plan(&wf, subject, events, &ctx, &window)?;
            // A recurring chain always keeps its next step planned: when the horizon holds
            // none (a quarterly duty just answered, a yearly one far off), look further ahead,
            // or the chain would have no timer left to fire and extend it.
            let mut span = self.config.horizon;
            while wf.anchor.is_recurring()
                && p.stopped_at.is_none()
                && !p.steps.iter().any(|d| d.due_at > now)
                && span < chrono::Duration::days(800)
            {
                span = span * 2;
                window.until = Some(now + span);
                p = plan(&wf, subject, events, &ctx, &window)?;
            }
            let timers: Vec<PlannedTimer> = p
                .steps
                .iter()
                .map(|d| PlannedTimer {
                    step_id: d.step_id.clone(),
                    occurrence: occurrence_key(d),
                    due_at: d.due_at,
                    payload: payload(d, &crate::fire::render_title(d, &wf, subject, &self.config)),
                })
                .collect();
            let spec = InstanceSpec {
                workflow_id: wf.id.clone(),
                version: wf.version as i32,
                content_hash: wf.content_hash.clone(),
                subject_kind: wf.subject.as_str().to_string(),
                subject_key: key.clone(),
            };
            let report = tx.plan_instance(&spec, &timers, now).await?;
            // An event that stopped the chain has already removed what followed it from
            // the plan (and so cancelled those timers); the instance is then complete. A
            // step that ends the chain completes it when it fires.
            let stopped_by_event =
                p.stopped_at.is_some_and(|at| at <= now) && !p.steps.iter().any(|d| d.ends_chain);
            if stopped_by_event {
                tx.set_instance_status(report.instance_id, instance_status::COMPLETED, now)
                    .await?;
            }
            reports.push(report);
            for start in &p.starts {
                let (Some(next_subject), Some(target)) = (
                    start.subject.as_ref(),
                    self.rules.current().get(&start.workflow),
                ) else {
                    continue;
                };
                let later: Vec<Event> = events
                    .iter()
                    .filter(|e| e.at >= start.at)
                    .cloned()
                    .collect();
                self.plan_chain(
                    tx,
                    target,
                    loaded,
                    next_subject,
                    &later,
                    now,
                    to_current,
                    reports,
                )
                .await?;
            }
            Ok(())
        })
    }

    /// Plans the current term and the recurring duties of each unit, inside `tx` (which
    /// sees the caller's uncommitted changes to the register). Units whose chains cannot
    /// be planned (no term date, no theme day) are listed, not fatal.
    pub async fn sync_units(
        &self,
        tx: &WriteTx,
        codes: &[String],
        now: DateTime<Utc>,
    ) -> Result<SyncSummary, EngineError> {
        let mut summary = SyncSummary::default();
        let mut refs = Vec::with_capacity(codes.len() * 2);
        for code in codes {
            let Some(u) = tx.reader().get().unit_by_code(code).await? else {
                continue;
            };
            refs.push(SubjectRef::Unit(code.clone()));
            if u.unit.term_end.is_some() || u.unit.term_start.is_some() {
                refs.push(SubjectRef::term_of(&u.unit));
            }
        }
        self.sync_in(tx, &refs, now, false, &mut summary).await?;
        Ok(summary)
    }

    /// Plans the chains of the members `ids` (created or changed by a roster import) inside
    /// `tx`, as [`Engine::sync_units`] does for units: locked first, read after.
    pub async fn sync_members(
        &self,
        tx: &WriteTx,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<SyncSummary, EngineError> {
        let mut summary = SyncSummary::default();
        let refs: Vec<SubjectRef> = ids.iter().copied().map(SubjectRef::Member).collect();
        self.sync_in(tx, &refs, now, false, &mut summary).await?;
        Ok(summary)
    }

    /// Locks the subjects `refs`, then loads and (re)plans each inside `tx`: what is planned
    /// follows the subjects as they are when the locks are held, never an earlier read.
    /// Subjects that cannot be planned are listed in `summary`, not fatal.
    async fn sync_in(
        &self,
        tx: &WriteTx,
        refs: &[SubjectRef],
        now: DateTime<Utc>,
        to_current: bool,
        summary: &mut SyncSummary,
    ) -> Result<(), EngineError> {
        let keys: Vec<String> = refs.iter().map(SubjectRef::key).collect();
        tx.lock_subjects(&keys).await?;
        let staff = Staff::read(tx.reader().get()).await?;
        for r in refs {
            let Some(l) = load_with(tx.reader().get(), r, &staff).await? else {
                continue;
            };
            summary.subjects += 1;
            match self.sync_loaded(tx, &l, now, to_current).await {
                Ok(reports) => reports.iter().for_each(|r| summary.add(r)),
                Err(EngineError::Plan(e)) => summary.problems.push((l.key(), e.to_string())),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Re-plans every active instance planned with another version of its workflow than the
    /// one loaded now, one subject per transaction; with `dry_run` each transaction is rolled
    /// back and the differences are only reported.
    pub async fn replan_outdated(
        &self,
        workflow: Option<&str>,
        dry_run: bool,
        actor: &str,
    ) -> Result<Vec<ReplanDiff>, EngineError> {
        let mut diffs = Vec::new();
        let now = self.now();
        for wf in self
            .rules
            .current()
            .iter()
            .filter(|w| workflow.is_none_or(|id| id == w.id))
        {
            let outdated = self
                .store
                .outdated_instances(&wf.id, &wf.content_hash)
                .await?;
            for instance in outdated {
                let Some(sref) = SubjectRef::parse(&instance.subject_key) else {
                    continue;
                };
                let tx = self.store.begin_write().await?;
                tx.lock_subjects(std::slice::from_ref(&instance.subject_key))
                    .await?;
                let Some(loaded) = load(tx.reader().get(), &sref).await? else {
                    tx.rollback().await?;
                    continue;
                };
                let reports = self.sync_loaded(&tx, &loaded, now, true).await?;
                tx.audit(
                    actor,
                    now,
                    "replan",
                    &instance.subject_key,
                    &serde_json::json!({
                        "instance": instance.id,
                        "workflow": wf.id,
                        "from_version": instance.workflow_version,
                        "from_hash": instance.content_hash,
                        "to_version": wf.version,
                        "to_hash": wf.content_hash,
                    })
                    .to_string(),
                )
                .await?;
                if dry_run {
                    tx.rollback().await?;
                } else {
                    tx.commit().await?;
                }
                for r in reports.into_iter().filter(|r| r.instance_id == instance.id) {
                    diffs.push(ReplanDiff {
                        instance_id: instance.id,
                        workflow_id: wf.id.clone(),
                        subject: instance.subject_key.clone(),
                        from_version: instance.workflow_version,
                        from_hash: instance.content_hash.clone(),
                        to_version: wf.version as i32,
                        to_hash: wf.content_hash.clone(),
                        inserted: r.inserted,
                        rescheduled: r.rescheduled,
                        cancelled: r.cancelled,
                        dry_run,
                    });
                }
            }
        }
        Ok(diffs)
    }

    /// Loads and (re)plans one subject in its own transaction.
    pub async fn sync_subject(
        &self,
        sref: &SubjectRef,
        to_current: bool,
    ) -> Result<Vec<PlanReport>, EngineError> {
        let now = self.now();
        let tx = self.store.begin_write().await?;
        tx.lock_subjects(&[sref.key()]).await?;
        let Some(loaded) = load(tx.reader().get(), sref).await? else {
            tx.rollback().await?;
            return Err(EngineError::Refused(format!("{sref} does not exist")));
        };
        let reports = self.sync_loaded(&tx, &loaded, now, to_current).await?;
        tx.commit().await?;
        Ok(reports)
    }

    /// Plans the given subjects in one transaction (see [`Engine::sync_subject`]).
    pub async fn sync_subjects(
        &self,
        refs: &[SubjectRef],
        to_current: bool,
    ) -> Result<SyncSummary, EngineError> {
        let mut summary = SyncSummary::default();
        self.sync_batch(refs, to_current, &mut summary).await?;
        Ok(summary)
    }

    /// Plans every unit's current term and recurring duties, every open rectification item,
    /// every scheduled interview and every active member, `batch` subjects per transaction. Subjects that cannot
    /// be planned (a unit without a term date) are listed, not fatal. `progress` is called
    /// after each batch with the number of subjects done.
    pub async fn sync_all(
        &self,
        batch: usize,
        to_current: bool,
        mut progress: impl FnMut(u64),
    ) -> Result<SyncSummary, EngineError> {
        let mut summary = SyncSummary::default();
        let mut after: Option<String> = None;
        loop {
            let codes = self
                .store
                .unit_codes_after(after.as_deref(), batch as u64)
                .await?;
            let Some(last) = codes.last().cloned() else {
                break;
            };
            let mut refs = Vec::new();
            for code in &codes {
                if let Some(u) = self.store.unit_by_code(code).await? {
                    if u.unit.term_end.is_some() || u.unit.term_start.is_some() {
                        refs.push(SubjectRef::term_of(&u.unit));
                    }
                    refs.push(SubjectRef::Unit(code.clone()));
                }
            }
            self.sync_batch(&refs, to_current, &mut summary).await?;
            progress(summary.subjects);
            after = Some(last);
        }
        let mut refs: Vec<SubjectRef> = self
            .store
            .open_item_ids()
            .await?
            .into_iter()
            .map(SubjectRef::Rectification)
            .collect();
        refs.extend(
            self.store
                .scheduled_interview_ids()
                .await?
                .into_iter()
                .map(SubjectRef::Interview),
        );
        refs.extend(
            self.store
                .active_member_ids()
                .await?
                .into_iter()
                .map(SubjectRef::Member),
        );
        for chunk in refs.chunks(batch.max(1)) {
            self.sync_batch(chunk, to_current, &mut summary).await?;
            progress(summary.subjects);
        }
        Ok(summary)
    }

    async fn sync_batch(
        &self,
        refs: &[SubjectRef],
        to_current: bool,
        summary: &mut SyncSummary,
    ) -> Result<(), EngineError> {
        let now = self.now();
        let tx = self.store.begin_write().await?;
        if let Err(e) = self.sync_in(&tx, refs, now, to_current, summary).await {
            // Now, not when the connection is next used: the locks go with it.
            if let Err(rb) = tx.rollback().await {
                tracing::warn!(error = %rb, "rolling back a failed re-plan");
            }
            return Err(e);
        }
        tx.commit().await?;
        Ok(())
    }
}
