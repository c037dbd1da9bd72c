//! What the engine planned and did, for the people who watch it: timers, an instance's
//! timeline, the delivery log, dead letters, people no channel reaches, and the register's
//! coverage. Read-only; always within the actor's scope, addresses masked.

use crate::{Actor, App, AppError, Permission};
use chrono::{DateTime, Utc};
use duban_core::privacy::{mask_email, mask_mobile};
use serde::Serialize;
use std::collections::HashMap;

pub use duban_core::register::coverage::{CoverageReport, CoverageRow};
/// Which deliveries to list: a unit, a person (mobile number, email or id), a status.
pub use duban_store::outbox::DeliveryFilter as DeliveryQuery;

/// What a delivery attempt's status can be.
pub const DELIVERY_STATUSES: [&str; 8] = duban_store::outbox::delivery_status::ALL;

/// A phone number or email address, masked for lists and exports (138****8000).
pub fn mask_address(a: &str) -> String {
    if a.contains('@') {
        mask_email(a)
    } else {
        mask_mobile(a)
    }
}

/// The states a timer can be in.
pub const TIMER_STATES: [&str; 6] = [
    "pending",
    "running",
    "done",
    "failed",
    "cancelled",
    "skipped",
];

/// Which timers to list.
#[derive(Debug, Clone, Default)]
pub struct TimerQuery {
    pub due_before: Option<DateTime<Utc>>,
    /// A unit's code: timers of its chains (the unit's and its terms').
    pub unit: Option<String>,
    pub states: Vec<String>,
    pub limit: u64,
}

/// One timer with the chain it belongs to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimerLine {
    pub id: i64,
    pub instance: i64,
    pub workflow: String,
    pub subject: String,
    pub step: String,
    pub occurrence: String,
    pub due_at: DateTime<Utc>,
    pub state: String,
    pub late: bool,
    pub attempts: i32,
    pub error: Option<String>,
    /// The node holding a running timer, and until when.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
}

/// A chain: a workflow applied to one subject.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceView {
    pub id: i64,
    pub workflow_id: String,
    pub workflow_version: i32,
    /// The workflow file's content hash the chain was planned with.
    pub content_hash: String,
    pub subject_kind: String,
    pub subject_key: String,
    /// `active`, `completed` or `cancelled`.
    pub status: String,
    /// A status a step set on the subject, e.g. `overdue`.
    pub subject_status: Option<String>,
    pub escalation_level: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One step of a chain, past or planned.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineStep {
    pub id: i64,
    pub step_id: String,
    pub occurrence: String,
    pub due_at: DateTime<Utc>,
    /// `pending`, `running`, `done`, `failed`, `cancelled` or `skipped`.
    pub state: String,
    pub late: bool,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub fired_at: Option<DateTime<Utc>>,
    /// The step's title as planned (rendered for the subject).
    pub title: String,
}

/// The title a timer's step was planned with (rendered for its subject).
pub(crate) fn step_title(payload: &str) -> String {
    serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| v["title"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// An instance and every step of it in due order.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timeline {
    pub instance: InstanceView,
    pub timers: Vec<TimelineStep>,
}

/// One attempt to deliver a message.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryLine {
    pub id: i64,
    pub outbox_id: i64,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub channel: String,
    pub provider: String,
    /// sent, transient, permanent, dead, dropped, deferred, merged or uncertain.
    pub status: String,
    /// Masked.
    pub address: String,
    pub person: Option<String>,
    pub unit: Option<String>,
    pub subject: String,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
    pub node: String,
}

/// A message that failed for good or used up its retries.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadLetter {
    pub id: i64,
    /// `dead` or `failed`.
    pub state: String,
    pub channel: String,
    /// Masked.
    pub address: String,
    /// Who it was for, and the unit it was about.
    pub person: Option<String>,
    pub role: String,
    pub unit: Option<String>,
    pub attempts: i32,
    pub subject: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A message no channel could take to its recipient.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unreachable {
    pub outbox_id: i64,
    pub person_id: Option<i64>,
    pub person: Option<String>,
    pub role: String,
    pub unit: Option<String>,
    pub subject: String,
    pub at: DateTime<Utc>,
}

/// Whether subjects lie within an actor's scope, asked once per subject.
struct ScopeCheck<'a> {
    app: &'a App,
    actor: &'a Actor,
    seen: HashMap<String, bool>,
}

impl ScopeCheck<'_> {
    async fn covers(&mut self, subject: &str) -> Result<bool, AppError> {
        if self.actor.scope.is_unlimited() {
            return Ok(true);
        }
        if let Some(&known) = self.seen.get(subject) {
            return Ok(known);
        }
        let covered = match self.app.store().unit_of_subject(subject).await? {
            Some(unit) => self.actor.covers(&unit.code, &unit.districts),
            None => false,
        };
        self.seen.insert(subject.to_string(), covered);
        Ok(covered)
    }

    /// A row about `unit` (none: about no unit, seen only by unlimited actors).
    async fn covers_unit(&mut self, unit: Option<&str>) -> Result<bool, AppError> {
        match unit {
            Some(code) => self.covers(&format!("unit:{code}")).await,
            None => Ok(self.actor.scope.is_unlimited()),
        }
    }
}

impl App {
    fn scope_check<'a>(&'a self, actor: &'a Actor) -> ScopeCheck<'a> {
        ScopeCheck {
            app: self,
            actor,
            seen: HashMap::new(),
        }
    }

    /// An actor limited to some districts or units names one of their units.
    pub(crate) async fn unit_in_scope(
        &self,
        actor: &Actor,
        unit: Option<&str>,
    ) -> Result<(), AppError> {
        match unit {
            Some(code) => {
                self.check_subject_scope(actor, &format!("unit:{code}"))
                    .await
            }
            None if actor.scope.is_unlimited() => Ok(()),
            None => Err(AppError::invalid_at(
                "unit",
                format!("{} sees only some units: name one of them", actor.name),
            )),
        }
    }

    /// Timers soonest first.
    pub async fn timers(&self, actor: &Actor, q: &TimerQuery) -> Result<Vec<TimerLine>, AppError> {
        actor.require(Permission::ReadChains)?;
        if let Some(bad) = q
            .states
            .iter()
            .find(|s| !TIMER_STATES.contains(&s.as_str()))
        {
            return Err(AppError::invalid_at(
                "state",
                format!("unknown state {bad:?}: use {}", TIMER_STATES.join(", ")),
            ));
        }
        crate::lists::check_limit(q.limit)?;
        self.unit_in_scope(actor, q.unit.as_deref()).await?;
        let store = self.store();
        let states: Vec<&str> = q.states.iter().map(String::as_str).collect();
        let subjects = match &q.unit {
            Some(code) => {
                let snapshot = store
                    .unit_by_code(code)
                    .await?
                    .ok_or_else(|| AppError::NotFound(format!("no party unit with code {code}")))?;
                vec![
                    format!("unit:{code}"),
                    duban_engine::SubjectRef::term_of(&snapshot.unit).key(),
                ]
            }
            None => vec![],
        };
        let mut rows = Vec::new();
        if subjects.is_empty() {
            rows = store
                .list_timers(q.due_before, None, &states, q.limit)
                .await?;
        } else {
            for key in &subjects {
                rows.extend(
                    store
                        .list_timers(q.due_before, Some(key), &states, q.limit)
                        .await?,
                );
            }
            rows.sort_by_key(|(t, _)| (t.due_at, t.id));
            rows.truncate(q.limit as usize);
        }
        Ok(rows
            .into_iter()
            .map(|(t, i)| TimerLine {
                id: t.id,
                instance: i.id,
                workflow: i.workflow_id,
                subject: i.subject_key,
                step: t.step_id,
                occurrence: t.occurrence,
                due_at: t.due_at.and_utc(),
                state: t.state,
                late: t.late,
                attempts: t.attempts,
                error: t.last_error,
                lease_owner: t.lease_owner,
                lease_until: t.lease_until.map(|l| l.and_utc()),
            })
            .collect())
    }

    /// One chain with every step, done and planned.
    pub async fn timeline(&self, actor: &Actor, instance_id: i64) -> Result<Timeline, AppError> {
        actor.require(Permission::ReadChains)?;
        let Some((i, timers)) = self.store().instance_timeline(instance_id).await? else {
            return Err(AppError::NotFound(format!("no instance {instance_id}")));
        };
        self.check_subject_scope(actor, &i.subject_key).await?;
        Ok(Timeline {
            timers: timers
                .into_iter()
                .map(|t| TimelineStep {
                    title: step_title(&t.payload),
                    id: t.id,
                    step_id: t.step_id,
                    occurrence: t.occurrence,
                    due_at: t.due_at.and_utc(),
                    state: t.state,
                    late: t.late,
                    attempts: t.attempts,
                    last_error: t.last_error,
                    fired_at: t.fired_at.map(|f| f.and_utc()),
                })
                .collect(),
            instance: InstanceView {
                id: i.id,
                workflow_id: i.workflow_id,
                workflow_version: i.workflow_version,
                content_hash: i.content_hash,
                subject_kind: i.subject_kind,
                subject_key: i.subject_key,
                status: i.status,
                subject_status: i.subject_status,
                escalation_level: i.escalation_level,
                created_at: i.created_at.and_utc(),
                updated_at: i.updated_at.and_utc(),
            },
        })
    }

    /// Every attempt to deliver a message, newest first.
    pub async fn deliveries(
        &self,
        actor: &Actor,
        q: &DeliveryQuery,
    ) -> Result<Vec<DeliveryLine>, AppError> {
        actor.require(Permission::ManageDeliveries)?;
        if let Some(limit) = q.limit {
            crate::lists::check_limit(limit)?;
        }
        crate::lists::check_offset(q.offset)?;
        self.unit_in_scope(actor, q.unit.as_deref()).await?;
        let rows = self.store().list_deliveries(q).await?;
        Ok(rows
            .into_iter()
            .map(|r| DeliveryLine {
                address: mask_address(&r.address),
                id: r.id,
                outbox_id: r.outbox_id,
                attempt: r.attempt,
                at: r.at,
                channel: r.channel,
                provider: r.provider,
                status: r.status,
                person: r.person,
                unit: r.unit,
                subject: r.subject,
                provider_message_id: r.provider_message_id,
                error: r.error,
                node: r.node,
            })
            .collect())
    }

    /// Messages that failed for good or used up their retries, oldest first.
    pub async fn dead_letters(&self, actor: &Actor) -> Result<Vec<DeadLetter>, AppError> {
        actor.require(Permission::ManageDeliveries)?;
        let mut scope = self.scope_check(actor);
        let mut out = Vec::new();
        for r in self.store().dead_letters().await? {
            if !scope.covers_unit(r.unit.as_deref()).await? {
                continue;
            }
            let m = r.message;
            out.push(DeadLetter {
                address: mask_address(&m.address),
                id: m.id,
                state: m.state,
                channel: m.channel,
                person: r.person,
                role: m.role,
                unit: r.unit,
                attempts: m.attempts,
                subject: m.subject,
                error: m.last_error,
                created_at: m.created_at.and_utc(),
            });
        }
        Ok(out)
    }

    /// People no channel reaches, newest first.
    pub async fn unreachable(&self, actor: &Actor) -> Result<Vec<Unreachable>, AppError> {
        actor.require(Permission::ManageDeliveries)?;
        let mut scope = self.scope_check(actor);
        let mut out = Vec::new();
        for r in self.store().unreachable().await? {
            if scope.covers_unit(r.unit.as_deref()).await? {
                out.push(Unreachable {
                    outbox_id: r.outbox_id,
                    person_id: r.person_id,
                    person: r.person,
                    role: r.role,
                    unit: r.unit,
                    subject: r.subject,
                    at: r.created_at,
                });
            }
        }
        Ok(out)
    }

    /// The two coverages (两个覆盖) per district and in total, over the actor's districts.
    pub async fn coverage(&self, actor: &Actor) -> Result<CoverageReport, AppError> {
        actor.require(Permission::ReadRegister)?;
        let scope = &actor.scope;
        if !scope.units.is_empty() {
            return Err(AppError::Forbidden(format!(
                "coverage counts whole districts; {} sees only some units",
                actor.name
            )));
        }
        let inputs = self.store().coverage_inputs().await?;
        Ok(duban_core::register::coverage::coverage(
            inputs
                .into_iter()
                .filter(|o| scope.districts.is_empty() || scope.districts.contains(&o.district)),
        ))
    }
}
