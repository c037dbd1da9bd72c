//! One tick: claim due timers, run their steps, commit each batch.

use crate::subjects::{Loaded, Staff, SubjectRef, load, load_with, midnight};
use crate::sync::occurrence_key;
use crate::{Engine, EngineError};
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use duban_core::register::Channel;
use duban_store::engine::{ClaimedTimer, NewOutbox, WriteTx};
use duban_store::subjects::{NewInterview, PersonRow};
use duban_workflow::model::{Action, Level, MisfirePolicy, Workflow};
use duban_workflow::plan::{DueStep, PlanContext, Window, plan};
use duban_workflow::render::{MessageContext, render, template_params, variables};
use duban_workflow::subject::Role;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    pub claimed: u64,
    pub fired: u64,
    pub late: u64,
    /// Steps whose condition no longer held, or that a misfire policy skipped.
    pub skipped: u64,
    pub retried: u64,
    pub failed: u64,
    /// Timers this node had claimed but another node finished or a completion cancelled.
    pub lost: u64,
    /// Timers handed back undecided: their chain changed (an answer was recorded, the chain
    /// re-planned) between the claim and the write; they are decided again.
    pub requeued: u64,
    pub messages: u64,
    pub batches: u64,
}

impl TickReport {
    pub fn add(&mut self, o: &TickReport) {
        self.claimed += o.claimed;
        self.fired += o.fired;
        self.late += o.late;
        self.skipped += o.skipped;
        self.retried += o.retried;
        self.failed += o.failed;
        self.lost += o.lost;
        self.requeued += o.requeued;
        self.messages += o.messages;
        self.batches += o.batches;
    }
}

/// The effects of one step, decided outside the transaction and written inside it.
#[derive(Debug)]
enum Outcome {
    Fire {
        step: Box<DueStep>,
        wf: Arc<Workflow>,
        loaded: Arc<Loaded>,
    },
    Skip(String),
    Error {
        message: String,
        permanent: bool,
    },
}

impl Engine {
    /// Lets a manual clock run to `to`: each pending timer fires at its own due time, in
    /// order, as it would have with the engine running all along. The engine must run on
    /// `clock`.
    pub async fn advance(
        &self,
        clock: &duban_core::clock::ManualClock,
        to: DateTime<Utc>,
    ) -> Result<TickReport, EngineError> {
        use duban_core::clock::Clock;
        let mut total = TickReport::default();
        let mut last: Option<DateTime<Utc>> = None;
        loop {
            let Some(due) = self.store.next_claimable_at().await? else {
                break;
            };
            if due > to {
                break;
            }
            let at = due.max(clock.now());
            if last == Some(at) {
                // Nothing that is due could be claimed (leased elsewhere): move on.
                break;
            }
            clock.set(at);
            total.add(&self.tick(at).await?);
            last = Some(at);
        }
        if clock.now() < to {
            clock.set(to);
            total.add(&self.tick(to).await?);
        }
        Ok(total)
    }

    /// Runs every due timer, batch by batch, until none is due at `now`.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, EngineError> {
        let unaddressed_before = UNADDRESSED.load(std::sync::atomic::Ordering::Relaxed);
        let mut total = TickReport::default();
        loop {
            // Each batch's lease runs from its own claim, and is renewed while it runs.
            let batch = self
                .store
                .claim_due_timers_until(
                    &self.config.node_id,
                    now,
                    self.lease_until(now),
                    self.config.batch_size,
                )
                .await?;
            if batch.is_empty() {
                break;
            }
            let held = batch.iter().map(|t| (t.id, t.fence)).collect();
            let heartbeat = crate::lease::Heartbeat::start(
                crate::lease::Held::Timers,
                self.store.clone(),
                self.config.node_id.clone(),
                Arc::new(std::sync::Mutex::new(held)),
                now,
                self.clock.clone(),
                self.config.lease,
            );
            let report = self.run_batch(&batch, now).await;
            drop(heartbeat);
            let report = report?;
            total.add(&report);
            if (batch.len() as u64) < self.config.batch_size && report.requeued == 0 {
                break;
            }
        }
        let unaddressed =
            UNADDRESSED.load(std::sync::atomic::Ordering::Relaxed) - unaddressed_before;
        if unaddressed > 0 {
            tracing::warn!(
                messages = unaddressed,
                "messages were meant for roles no one holds; see `duban people unreachable` and add staff with `duban people add-staff`"
            );
        }
        if total.claimed > 0 {
            metrics::counter!("duban_timers_fired_total").increment(total.fired);
            metrics::counter!("duban_timers_late_total").increment(total.late);
            metrics::counter!("duban_timers_failed_total").increment(total.failed);
            metrics::counter!("duban_timers_retried_total").increment(total.retried);
            tracing::info!(
                node = %self.config.node_id,
                claimed = total.claimed, fired = total.fired, late = total.late,
                skipped = total.skipped, failed = total.failed, messages = total.messages,
                "tick"
            );
        }
        Ok(total)
    }

    /// Decides every timer of a batch. Timers of one subject and workflow version share one
    /// load of the subject and one plan, so a batch costs a query per subject, not per timer.
    async fn decide_all(&self, batch: &[ClaimedTimer], now: DateTime<Utc>) -> Vec<Outcome> {
        let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        for (i, t) in batch.iter().enumerate() {
            groups
                .entry((t.subject_key.as_str(), t.content_hash.as_str()))
                .or_default()
                .push(i);
        }
        let mut out: Vec<Option<Outcome>> =
            std::iter::repeat_with(|| None).take(batch.len()).collect();
        let staff = Staff::read(self.store.reader().get()).await;
        // Groups come ordered by subject: a subject with timers of several workflows (the
        // quarterly duties fall due together) is loaded once.
        let mut cached: Option<(&str, Option<Loaded>)> = None;
        for ((key, hash), idx) in groups {
            let timers: Vec<&ClaimedTimer> = idx.iter().map(|&i| &batch[i]).collect();
            let decided = match self.subject_of(key, &staff, &mut cached).await {
                Ok(loaded) => self.decide_group(key, hash, &timers, loaded, now).await,
                Err(e) => Err(e),
            };
            match decided {
                Ok(outcomes) => {
                    for (i, o) in idx.into_iter().zip(outcomes) {
                        out[i] = Some(o);
                    }
                }
                Err(e) => {
                    let permanent = matches!(e, EngineError::Plan(_) | EngineError::Data(_));
                    for i in idx {
                        out[i] = Some(Outcome::Error {
                            message: e.to_string(),
                            permanent,
                        });
                    }
                }
            }
        }
        out.into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Outcome::Error {
                    message: "not decided".into(),
                    permanent: false,
                })
            })
            .collect()
    }

    /// The subject behind `key`, from `cached` when the previous group had the same one.
    async fn subject_of<'k, 'c>(
        &self,
        key: &'k str,
        staff: &Result<Staff, EngineError>,
        cached: &'c mut Option<(&'k str, Option<Loaded>)>,
    ) -> Result<Option<&'c Loaded>, EngineError> {
        if cached.as_ref().is_none_or(|(k, _)| *k != key) {
            *cached = None;
            let staff = staff
                .as_ref()
                .map_err(|e| EngineError::Data(format!("staff roles cannot be read: {e}")))?;
            let sref = SubjectRef::parse(key)
                .ok_or_else(|| EngineError::Data(format!("unknown subject key {key}")))?;
            *cached = Some((
                key,
                load_with(self.store.reader().get(), &sref, staff).await?,
            ));
        }
        Ok(cached.as_ref().and_then(|(_, l)| l.as_ref()))
    }

    async fn decide_group(
        &self,
        subject_key: &str,
        content_hash: &str,
        timers: &[&ClaimedTimer],
        loaded: Option<&Loaded>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, EngineError> {
        let wf = self.rules.by_hash(&self.store, content_hash).await?;
        let Some(loaded) = loaded else {
            return Ok(timers
                .iter()
                .map(|_| Outcome::Skip(format!("{subject_key} no longer exists")))
                .collect());
        };
        let ctx = PlanContext {
            calendar: &self.rules.calendar,
            quiet: &self.rules.quiet,
        };
        let first = timers.iter().map(|t| t.due_at).min().unwrap_or(now);
        let last = timers.iter().map(|t| t.due_at).max().unwrap_or(now);
        let around = Window {
            from: first - Duration::days(1),
            until: Some(last + Duration::days(1)),
        };
        // A chain another event started runs for the subject as that event left it.
        let (subject, events) = if wf.subject == loaded.sref.kind()
            && self.rules.self_starting().any(|w| w.id == wf.id)
        {
            (loaded.subject.clone(), loaded.events.clone())
        } else {
            started_subject(self, loaded, &wf.id)?
        };
        let p = plan(&wf, &subject, &events, &ctx, &around)?;
        let loaded = Arc::new(Loaded {
            subject,
            events,
            ..loaded.clone()
        });
        let mut outcomes = Vec::with_capacity(timers.len());
        for t in timers {
            let key = (t.step_id.as_str(), t.occurrence.as_str());
            let outcome = if let Some(step) = p
                .steps
                .iter()
                .find(|d| (d.step_id.as_str(), occurrence_key(d).as_str()) == key)
            {
                if let Some(reason) = self.misfire_skips(&wf, t, now).await? {
                    Outcome::Skip(reason)
                } else {
                    Outcome::Fire {
                        step: Box::new(step.clone()),
                        wf: wf.clone(),
                        loaded: loaded.clone(),
                    }
                }
            } else if let Some(s) = p
                .skipped
                .iter()
                .find(|s| (s.step.step_id.as_str(), occurrence_key(&s.step).as_str()) == key)
            {
                Outcome::Skip(s.because.clone())
            } else {
                Outcome::Skip("the chain no longer plans this step".into())
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// A recurring occurrence that fell due while no engine ran follows its workflow's
    /// misfire policy: `skip` never fires it; `fire_once` fires only the latest missed
    /// occurrence of each step; past the catch-up window nothing fires. On-time timers and
    /// date-anchored chains always fire (late if need be).
    async fn misfire_skips(
        &self,
        wf: &Workflow,
        t: &ClaimedTimer,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, EngineError> {
        if !wf.anchor.is_recurring() || now - t.due_at <= self.config.late_after {
            return Ok(None);
        }
        let tz = wf.timezone;
        let due_local = t.due_at.with_timezone(&tz).date_naive();
        let window_end = wf.misfire.catch_up.apply(due_local, &self.rules.calendar);
        if now.with_timezone(&tz).date_naive() > window_end {
            return Ok(Some(format!(
                "missed by more than the catch-up window ({} after {due_local})",
                window_end - due_local
            )));
        }
        match wf.misfire.policy {
            MisfirePolicy::Skip => Ok(Some(
                "missed while no engine ran; the workflow's misfire policy is skip".into(),
            )),
            MisfirePolicy::FireOnce => {
                let later = self
                    .store
                    .later_due_timer_exists(t.instance_id, &t.step_id, t.due_at, now)
                    .await?;
                Ok(later
                    .then(|| "a later occurrence was missed too; the recurrence fires once".into()))
            }
        }
    }

    async fn run_batch(
        &self,
        batch: &[ClaimedTimer],
        now: DateTime<Utc>,
    ) -> Result<TickReport, EngineError> {
        let mut decided = self.decide_all(batch, now).await;
        // Nodes write in one order (instance, then due order inside it), so two batches that
        // share instances take their row locks in the same order.
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by_key(|&i| (batch[i].instance_id, batch[i].due_at, batch[i].id));
        let mut attempt = 0;
        loop {
            match self.write_batch(batch, &decided, &order, now).await {
                // One step failed while writing its effects (a message that does not render,
                // an interview that cannot be planned): the batch is written again with that
                // step retried later, alone; its batch-mates commit now.
                Err(EngineError::StepFailed { timer, message }) => {
                    let Some(i) = batch.iter().position(|t| t.id == timer) else {
                        return Err(EngineError::Data(format!(
                            "timer {timer} is not in the batch"
                        )));
                    };
                    tracing::warn!(timer, step = %batch[i].step_id, error = %message, "step failed while writing its effects");
                    decided[i] = Outcome::Error {
                        message,
                        permanent: false,
                    };
                }
                Err(EngineError::Store(e)) if e.is_write_conflict() && attempt < 5 => {
                    attempt += 1;
                    tracing::warn!(node = %self.config.node_id, attempt, error = %e, "batch rolled back by a write conflict; writing it again");
                    tokio::time::sleep(std::time::Duration::from_millis(
                        20 * attempt + u64::from(rand_jitter_ms()),
                    ))
                    .await;
                }
                other => return other,
            }
        }
    }

    /// The write half of a batch: every decided timer and its effects in one transaction.
    async fn write_batch(
        &self,
        batch: &[ClaimedTimer],
        decided: &[Outcome],
        order: &[usize],
        now: DateTime<Utc>,
    ) -> Result<TickReport, EngineError> {
        let tx = self.store.begin_write().await?;
        match self.write_batch_in(&tx, batch, decided, order, now).await {
            Ok(r) => {
                tx.commit().await?;
                Ok(r)
            }
            Err(e) => {
                // Roll back now: a transaction merely dropped is rolled back only when its
                // connection is next used, and meanwhile keeps its row locks (after a lock
                // wait timeout MariaDB keeps them too), so writing the batch again would
                // wait on this node's own abandoned attempt.
                if let Err(rb) = tx.rollback().await {
                    tracing::warn!(error = %rb, "rolling back a failed batch");
                }
                Err(e)
            }
        }
    }

    async fn write_batch_in(
        &self,
        tx: &WriteTx,
        batch: &[ClaimedTimer],
        decided: &[Outcome],
        order: &[usize],
        now: DateTime<Utc>,
    ) -> Result<TickReport, EngineError> {
        let node = self.config.node_id.as_str();
        let mut r = TickReport {
            claimed: batch.len() as u64,
            batches: 1,
            ..Default::default()
        };
        // Held until the batch commits: an answer recorded meanwhile waits, and one recorded
        // since the claim shows in the version — what was decided before it is not written.
        let ids: Vec<i64> = batch.iter().map(|t| t.instance_id).collect();
        let versions = tx.lock_instances(&ids).await?;
        for &i in order {
            let (t, outcome) = (&batch[i], &decided[i]);
            if versions.get(&t.instance_id) != Some(&t.instance_version) {
                if tx.release_timer(t, node).await? {
                    r.requeued += 1;
                } else {
                    r.lost += 1;
                }
                continue;
            }
            let late = now - t.due_at > self.config.late_after;
            match outcome {
                Outcome::Fire { step, wf, loaded } => {
                    if !tx.complete_timer(t, node, now, late).await? {
                        r.lost += 1;
                        continue;
                    }
                    r.fired += 1;
                    r.late += u64::from(late);
                    r.messages += match self.apply(tx, t, step, wf, loaded, now).await {
                        Ok(n) => n,
                        // The database's own errors concern the whole batch (it is retried);
                        // any other is this step's alone.
                        Err(EngineError::Store(e)) => return Err(EngineError::Store(e)),
                        Err(e) => {
                            return Err(EngineError::StepFailed {
                                timer: t.id,
                                message: e.to_string(),
                            });
                        }
                    };
                    if step.ends_chain {
                        tx.close_instance(
                            t.instance_id,
                            duban_store::engine::instance_status::COMPLETED,
                            now,
                        )
                        .await?;
                    }
                }
                Outcome::Skip(reason) => {
                    if tx.skip_timer(t, node, now, reason).await? {
                        r.skipped += 1;
                    } else {
                        r.lost += 1;
                    }
                }
                Outcome::Error { message, permanent } => {
                    if *permanent || t.attempts >= self.config.max_attempts {
                        tracing::error!(timer = t.id, step = %t.step_id, error = %message, "step failed");
                        if tx.fail_timer(t, node, now, message).await? {
                            r.failed += 1;
                        }
                    } else {
                        let backoff =
                            self.config.retry_base * 2i32.pow((t.attempts - 1).clamp(0, 16) as u32);
                        tracing::warn!(timer = t.id, step = %t.step_id, error = %message, attempt = t.attempts, "step will be retried");
                        if tx.retry_timer(t, node, now, message, now + backoff).await? {
                            r.retried += 1;
                        }
                    }
                }
            }
        }
        Ok(r)
    }

    /// Writes a fired step's effects; returns the number of messages queued.
    async fn apply(
        &self,
        tx: &WriteTx,
        t: &ClaimedTimer,
        step: &DueStep,
        wf: &Workflow,
        loaded: &Loaded,
        now: DateTime<Utc>,
    ) -> Result<u64, EngineError> {
        match &step.action {
            Action::Escalate { level } => {
                let n = match level {
                    Level::Superior => 1,
                    Level::OrgDepartment => 2,
                };
                tx.escalate(t.instance_id, n, now).await?;
            }
            Action::SetStatus { status } => {
                tx.set_subject_status(t.instance_id, status, now).await?
            }
            Action::OpenInterview => {
                let tz = wf.timezone;
                let local_now = now.with_timezone(&tz).naive_local();
                let day = self.rules.calendar.add_workdays(local_now.date(), 5);
                let scheduled_at = day.and_hms_opt(9, 0, 0).unwrap_or(midnight(day));
                let interviewee = loaded
                    .people
                    .get(&Role::Owner)
                    .and_then(|v| v.first())
                    .or(loaded.unit.secretary.as_ref())
                    .map(|p| p.id);
                let (interview, created) = tx
                    .open_interview(
                        &NewInterview {
                            unit_id: loaded.unit.unit.id,
                            interviewee_id: interviewee,
                            // The step's title labels the timeline ("发起约谈：…"); the
                            // interview's reason is what follows the label.
                            reason: {
                                let t = render_title(step, wf, &loaded.subject, &self.config);
                                t.strip_prefix("发起约谈：")
                                    .map(str::to_string)
                                    .unwrap_or(t)
                            },
                            source: wf.id.clone(),
                            scheduled_at,
                            location: None,
                            origin_key: Some(format!(
                                "{}:{}:{}",
                                t.instance_id, t.step_id, t.occurrence
                            )),
                        },
                        now,
                    )
                    .await?;
                if created
                    && let Some(iv) =
                        load(tx.reader().get(), &SubjectRef::Interview(interview.id)).await?
                {
                    self.sync_loaded(tx, &iv, now, false).await?;
                }
            }
            Action::Notify | Action::RequestReport { .. } | Action::OpenRectification => {}
        }
        if wf.anchor.is_recurring() {
            // Keep the recurrence planned one horizon ahead: the cost of extending it is
            // paid by the occurrences that fire, not by every tick.
            let mut reports = Vec::new();
            self.plan_chain(
                tx,
                wf,
                loaded,
                &loaded.subject,
                &loaded.events,
                now,
                false,
                &mut reports,
            )
            .await?;
        }
        self.enqueue_messages(tx, t, step, wf, loaded, now).await
    }

    async fn enqueue_messages(
        &self,
        tx: &WriteTx,
        t: &ClaimedTimer,
        step: &DueStep,
        wf: &Workflow,
        loaded: &Loaded,
        now: DateTime<Utc>,
    ) -> Result<u64, EngineError> {
        let Some(set) = step
            .template
            .as_ref()
            .and_then(|name| wf.templates.get(name))
        else {
            return Ok(0);
        };
        let mut context = message_context(step, wf, &self.config, t.instance_id);
        if step.occurrence.repeat > 0 {
            // "这是第N次通报" counts the notices that went out, not the repeats planned: a
            // chain that started late skipped the earlier ones.
            let earlier = tx
                .fired_repeats(
                    t.instance_id,
                    &t.step_id,
                    &format!("{}#", step.occurrence.anchor),
                    t.id,
                )
                .await?;
            context.times = earlier as u32 + 1;
        }
        let vars = variables(&loaded.subject, &context);
        let title = render(&step.title, &vars)
            .map_err(|e| EngineError::Data(format!("title of {}: {e}", step.step_id)))?;
        let provider_template =
            format!("{}.{}", wf.id, step.template.as_deref().unwrap_or_default());
        let mut queued = 0;
        for role in &step.recipients {
            if loaded.people.get(role).is_none_or(Vec::is_empty) {
                queued += self
                    .nobody_holds(tx, t, step, *role, set, &vars, &title, now)
                    .await?;
                continue;
            }
            for person in loaded.people.get(role).into_iter().flatten() {
                let vars = &self.with_link(&vars, person.id, t.id, now);
                let channels = reachable_channels(person, &step.channels);
                if channels.is_empty() {
                    // Nobody can be told: list the person as unreachable and tell the
                    // superior unit's secretary instead.
                    let body = render_for(set, Channel::Sms, vars)
                        .or_else(|| render_for(set, Channel::Email, vars))
                        .transpose()?
                        .unwrap_or_default();
                    tx.enqueue_unreachable(
                        &outbox(
                            t,
                            person,
                            role.as_str(),
                            "none",
                            "",
                            &title,
                            &body,
                            now,
                            step.urgent,
                        ),
                        now,
                    )
                    .await?;
                    if *role != Role::SuperiorSecretary {
                        for sup in loaded
                            .people
                            .get(&Role::SuperiorSecretary)
                            .into_iter()
                            .flatten()
                        {
                            let sup_vars = self.with_link(vars, sup.id, t.id, now);
                            for c in reachable_channels(sup, &step.channels) {
                                let not_before = self.not_before(wf, step, c, now);
                                let (vars, params) =
                                    self.as_sent(wf, step, &sup_vars, &title, not_before)?;
                                let Some(body) = render_for(set, c, &vars) else {
                                    continue;
                                };
                                let note = format!(
                                    "（{}{}无法联系，转告上级党组织）",
                                    role.zh(),
                                    person.name
                                );
                                let msg = outbox(
                                    t,
                                    sup,
                                    &format!("superior_for_{}", role.as_str()),
                                    c.as_str(),
                                    address(sup, c),
                                    &title,
                                    &format!("{}{note}", body?),
                                    not_before,
                                    step.urgent,
                                );
                                tx.enqueue(
                                    &with_params(msg, params, &sup.name, &provider_template)?,
                                    now,
                                )
                                .await?;
                                queued += 1;
                            }
                        }
                    }
                    continue;
                }
                for c in channels {
                    let not_before = self.not_before(wf, step, c, now);
                    let (vars, params) = self.as_sent(wf, step, vars, &title, not_before)?;
                    let Some(body) = render_for(set, c, &vars) else {
                        continue;
                    };
                    let msg = outbox(
                        t,
                        person,
                        role.as_str(),
                        c.as_str(),
                        address(person, c),
                        &title,
                        &body?,
                        not_before,
                        step.urgent,
                    );
                    tx.enqueue(
                        &with_params(msg, params, &person.name, &provider_template)?,
                        now,
                    )
                    .await?;
                    queued += 1;
                }
            }
        }
        Ok(queued)
    }

    /// The variables with the recipient's own signed link: it names them and the timer
    /// (so the chain and the answer asked) and expires after `link_ttl`.
    fn with_link(&self, vars: &Vars, person: i64, timer: i64, now: DateTime<Utc>) -> Vars {
        let base = self.config.link_base.trim_end_matches('/');
        let link = match &self.config.link_key {
            Some(key) => {
                let claim = duban_core::link::LinkClaim {
                    person,
                    timer,
                    expires: now + self.config.link_ttl,
                };
                format!("{base}/l/{}", duban_core::link::sign(key, &claim))
            }
            None => format!("{base}/"),
        };
        let mut vars = vars.clone();
        vars.insert("link".into(), minijinja::Value::from(link));
        vars
    }

    /// The variables and SMS parameters as of the day the message will leave.
    fn as_sent(
        &self,
        wf: &Workflow,
        step: &DueStep,
        vars: &std::collections::BTreeMap<String, minijinja::Value>,
        title: &str,
        not_before: DateTime<Utc>,
    ) -> Result<(Vars, Params), EngineError> {
        let mut vars = vars.clone();
        let sent_on = not_before.with_timezone(&wf.timezone).date_naive();
        duban_workflow::render::count_days_from(&mut vars, step.occurrence.anchor, sent_on);
        let params = template_params(&vars, title);
        Ok((vars, params))
    }

    /// No one holds a role a step addresses (no organisation-department officer, no
    /// superior secretary): an alert, never silence. The message is listed as unreachable,
    /// counted, logged, and sent to the configured fallback address if there is one.
    #[allow(clippy::too_many_arguments)]
    async fn nobody_holds(
        &self,
        tx: &WriteTx,
        t: &ClaimedTimer,
        step: &DueStep,
        role: Role,
        set: &duban_workflow::model::TemplateSet,
        vars: &std::collections::BTreeMap<String, minijinja::Value>,
        title: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, EngineError> {
        metrics::counter!("duban_recipients_missing_total", "role" => role.as_str()).increment(1);
        // One line per message would flood the log; the tick says how many, once.
        UNADDRESSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(step = %t.step_id, instance = t.instance_id, role = role.as_str(), "no one holds the role");
        // The text was written for the missing person: if it needs their name it cannot be
        // rendered, and the alert still goes out with the title.
        let body = render_for(set, Channel::Email, vars)
            .and_then(Result::ok)
            .unwrap_or_else(|| title.to_string());
        let note = format!(
            "\n\n（本{}应发给{}，但系统中无人担任该角色，已转至备用地址。请尽快在系统中指定。）",
            if step.is_escalation() {
                "督办升级通知"
            } else {
                "提醒"
            },
            role.zh()
        );
        let key = |channel: &str| {
            format!(
                "{}:{}:{}:{}:nobody:{channel}",
                t.instance_id,
                t.step_id,
                t.occurrence,
                role.as_str()
            )
        };
        let base = NewOutbox {
            idempotency_key: key("none"),
            instance_id: Some(t.instance_id),
            timer_id: Some(t.id),
            person_id: None,
            role: role.as_str().to_string(),
            channel: "none".into(),
            address: String::new(),
            subject: title.to_string(),
            body: body.clone(),
            html: None,
            not_before: now,
            urgent: step.urgent,
            template: None,
            params: None,
        };
        tx.enqueue_unreachable(&base, now).await?;
        let Some(fallback) = self.config.fallback_email.as_deref() else {
            return Ok(0);
        };
        let msg = NewOutbox {
            idempotency_key: key("fallback"),
            channel: Channel::Email.as_str().to_string(),
            address: fallback.to_string(),
            role: format!("fallback_for_{}", role.as_str()),
            body: format!("{body}{note}"),
            not_before: step.due_at.max(now),
            ..base
        };
        tx.enqueue(&msg, now).await?;
        Ok(1)
    }

    /// When the message may leave: the step's time, or now if later, moved out of quiet
    /// hours unless the step is urgent.
    fn not_before(
        &self,
        wf: &Workflow,
        step: &DueStep,
        c: Channel,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let at = step.due_at.max(now);
        if step.urgent {
            return at;
        }
        let tz: Tz = wf.timezone;
        let local = at.with_timezone(&tz).naive_local();
        let allowed = self
            .rules
            .quiet
            .next_allowed(c, local, &self.rules.calendar);
        local_to_utc(tz, allowed).unwrap_or(at)
    }
}

/// Messages this process addressed to roles no one holds, for one warning per tick.
static UNADDRESSED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A message's template variables.
type Vars = std::collections::BTreeMap<String, minijinja::Value>;
/// The same variables as text, for SMS provider templates.
type Params = std::collections::BTreeMap<String, String>;

/// 0–49 ms, so that nodes rolled back by the same conflict do not retry in step.
fn rand_jitter_ms() -> u8 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    ((nanos ^ std::process::id()) % 50) as u8
}

fn local_to_utc(tz: Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&t)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
}

fn started_subject(
    engine: &Engine,
    loaded: &Loaded,
    workflow_id: &str,
) -> Result<
    (
        duban_workflow::subject::Subject,
        Vec<duban_workflow::plan::Event>,
    ),
    EngineError,
> {
    // Find the self-starting chain whose events start `workflow_id`, and take the subject
    // as its start request left it.
    let ctx = PlanContext {
        calendar: &engine.rules.calendar,
        quiet: &engine.rules.quiet,
    };
    for wf in engine
        .rules
        .self_starting()
        .filter(|w| w.subject == loaded.sref.kind())
    {
        if !wf
            .reactions
            .iter()
            .any(|r| r.start.as_deref() == Some(workflow_id))
        {
            continue;
        }
        let p = plan(wf, &loaded.subject, &loaded.events, &ctx, &Window::all())?;
        if let Some(start) = p.starts.into_iter().find(|s| s.workflow == workflow_id)
            && let Some(subject) = start.subject
        {
            let later = loaded
                .events
                .iter()
                .filter(|e| e.at >= start.at)
                .cloned()
                .collect();
            return Ok((subject, later));
        }
    }
    Err(EngineError::Data(format!(
        "nothing started {workflow_id} for {}",
        loaded.key()
    )))
}

fn message_context(
    step: &DueStep,
    wf: &Workflow,
    config: &crate::EngineConfig,
    _instance: i64,
) -> MessageContext {
    MessageContext {
        org_department: config.org_department.clone(),
        due_date: step.local.date(),
        anchor_date: step.occurrence.anchor,
        times: step.occurrence.repeat + 1,
        // Each recipient's message gets their own signed link (`with_link`); what is
        // rendered for no one in particular points at the sign-in page.
        link: format!("{}/", config.link_base.trim_end_matches('/')),
        workflow_name: wf.name.clone(),
        extra: step.vars.clone(),
    }
}

/// A step's title with the subject's values in it, as timelines and lists show it.
pub(crate) fn render_title(
    step: &DueStep,
    wf: &Workflow,
    subject: &duban_workflow::subject::Subject,
    config: &crate::EngineConfig,
) -> String {
    let vars = variables(subject, &message_context(step, wf, config, 0));
    render(&step.title, &vars).unwrap_or_else(|_| step.title.clone())
}

fn render_for(
    set: &duban_workflow::model::TemplateSet,
    c: Channel,
    vars: &std::collections::BTreeMap<String, minijinja::Value>,
) -> Option<Result<String, EngineError>> {
    let t = set.for_channel_or_other(c)?;
    Some(render(&t.text, vars).map_err(|e| EngineError::Data(format!("template {}: {e}", t.path))))
}

/// The step's channels this person can be reached on; when none (an SMS-only step for a
/// secretary who gave only an email address), the channels the person does have, so a
/// reminder changes channel rather than being lost.
pub fn reachable_channels(p: &PersonRow, step: &[Channel]) -> Vec<Channel> {
    let usable = usable_channels(p, step);
    if !usable.is_empty() {
        return usable;
    }
    let preferred = usable_channels(p, &[Channel::Sms, Channel::Email]);
    if !preferred.is_empty() {
        return preferred;
    }
    [Channel::Sms, Channel::Email]
        .into_iter()
        .filter(|c| !address(p, *c).is_empty())
        .collect()
}

/// The channels a step may use for this person: the step's, that the person prefers and
/// has an address for. No email address means SMS only.
pub fn usable_channels(p: &PersonRow, step: &[Channel]) -> Vec<Channel> {
    let preferred: Vec<&str> = p.channels.split(',').map(str::trim).collect();
    step.iter()
        .copied()
        .filter(|c| preferred.contains(&c.as_str()) || preferred == [""])
        .filter(|c| match c {
            Channel::Sms => p.mobile.is_some(),
            Channel::Email => p.email.is_some(),
        })
        .collect()
}

pub fn address(p: &PersonRow, c: Channel) -> &str {
    match c {
        Channel::Sms => p.mobile.as_deref().unwrap_or(""),
        Channel::Email => p.email.as_deref().unwrap_or(""),
    }
}

#[allow(clippy::too_many_arguments)]
fn outbox(
    t: &ClaimedTimer,
    person: &PersonRow,
    role: &str,
    channel: &str,
    address: &str,
    title: &str,
    body: &str,
    not_before: DateTime<Utc>,
    urgent: bool,
) -> NewOutbox {
    NewOutbox {
        idempotency_key: format!(
            "{}:{}:{}:{}:{}:{}",
            t.instance_id, t.step_id, t.occurrence, role, person.id, channel
        ),
        instance_id: Some(t.instance_id),
        timer_id: Some(t.id),
        person_id: Some(person.id),
        role: role.to_string(),
        channel: channel.to_string(),
        address: address.to_string(),
        subject: title.to_string(),
        body: body.to_string(),
        html: None,
        not_before,
        urgent,
        template: None,
        params: None,
    }
}

/// Every message keeps the variables it was rendered with, and the recipient's name (for the
/// email's `To:` and a digest's greeting). SMS leaves through the providers' approved
/// templates: the step's own (`workflow.template`, mapped under `notify.sms.templates`), else
/// the generic `reminder`, with these variables as parameters.
fn with_params(
    mut m: NewOutbox,
    mut params: std::collections::BTreeMap<String, String>,
    recipient_name: &str,
    provider_template: &str,
) -> Result<NewOutbox, EngineError> {
    params.insert("recipient_name".into(), recipient_name.to_string());
    m.params = Some(
        serde_json::to_string(&params)
            .map_err(|e| EngineError::Data(format!("parameters of {}: {e}", m.idempotency_key)))?,
    );
    if m.channel == Channel::Sms.as_str() {
        m.template = Some(provider_template.to_string());
    }
    Ok(m)
}
