//! A secretary's tasks: what the running chains of their units ask of them now, answered
//! from a phone-sized page with the same questions, checks and recorder as the signed links
//! in the reminders.

use crate::links::{Asked, LinkAnswer, answer_of, asked_by};
use crate::{Actor, App, AppError, Permission};
use chrono::{DateTime, Utc};
use duban_engine::complete::Completion;
use duban_store::engine::instance_status;
use duban_store::lists::ListFilter;
use serde::Serialize;

/// One chain that waits for an answer.
#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub instance_id: i64,
    pub workflow_id: String,
    pub unit_code: String,
    pub unit_name: String,
    /// The title of the step that asks, as planned for the unit.
    pub title: String,
    /// When that step's reminder is (or was) due.
    pub due_at: DateTime<Utc>,
    /// The chain's subject is past its date (换届逾期, 整改超期 …).
    pub overdue: bool,
    pub asked: Vec<Asked>,
}

/// Why an answer from the page was not recorded.
#[derive(Debug)]
pub enum TaskOutcome {
    /// The form was wrong or the answer was refused: show it again with the sentence.
    Invalid(Box<Task>, String),
    Failed(AppError),
}

/// Chains a secretary sees at most: far more than a party unit ever runs at once.
const MOST: u64 = 500;

impl App {
    /// What the chains of the actor's units ask of them now, the most pressing first:
    /// overdue subjects, then by due date.
    pub async fn my_tasks(&self, actor: &Actor) -> Result<Vec<Task>, AppError> {
        actor.require(Permission::Answer)?;
        let f = ListFilter {
            status: Some(instance_status::ACTIVE.into()),
            limit: MOST,
            ..ListFilter::default()
        };
        let mut tasks = Vec::new();
        for line in self.list_instances(actor, &f).await? {
            if let Some(task) = self.task_of(line.id).await? {
                tasks.push(task);
            }
        }
        tasks.sort_by(|a, b| {
            b.overdue
                .cmp(&a.overdue)
                .then(a.due_at.cmp(&b.due_at))
                .then(a.instance_id.cmp(&b.instance_id))
        });
        Ok(tasks)
    }

    /// The task of one chain: the first step still to come that asks for an answer, else
    /// the last one that fired and asked; `None` when nothing is asked.
    async fn task_of(&self, instance_id: i64) -> Result<Option<Task>, AppError> {
        let store = self.store();
        let Some((instance, timers)) = store.instance_timeline(instance_id).await? else {
            return Ok(None);
        };
        if instance.status != instance_status::ACTIVE {
            return Ok(None);
        }
        let Some(unit) = store.unit_of_subject(&instance.subject_key).await? else {
            return Ok(None);
        };
        let Ok(workflow) = self
            .engine
            .rules
            .by_hash(store, &instance.content_hash)
            .await
        else {
            return Ok(None);
        };
        let asks = |step_id: &str| {
            asked_by(
                workflow.steps.iter().find(|s| s.id == step_id),
                &instance.subject_key,
            )
        };
        let pending = timers.iter().filter(|t| t.state == "pending");
        let fired = timers.iter().rev().filter(|t| t.state == "done");
        let Some((timer, asked)) = pending
            .chain(fired)
            .map(|t| (t, asks(&t.step_id)))
            .find(|(_, asked)| !asked.is_empty())
        else {
            return Ok(None);
        };
        Ok(Some(Task {
            instance_id,
            workflow_id: instance.workflow_id,
            unit_code: unit.code,
            unit_name: unit.name,
            title: crate::monitor::step_title(&timer.payload),
            due_at: timer.due_at.and_utc(),
            overdue: instance.subject_status.as_deref() == Some("overdue"),
            asked,
        }))
    }

    /// Records what a secretary answers on their page for one chain of their units.
    pub async fn answer_task(
        &self,
        actor: &Actor,
        instance_id: i64,
        form: LinkAnswer,
    ) -> Result<(Task, Completion), TaskOutcome> {
        let task = self
            .my_tasks(actor)
            .await
            .map_err(TaskOutcome::Failed)?
            .into_iter()
            .find(|t| t.instance_id == instance_id)
            .ok_or_else(|| {
                TaskOutcome::Failed(AppError::NotFound(format!(
                    "chain {instance_id} asks nothing of {}",
                    actor.name
                )))
            })?;
        let invalid = |m: String| TaskOutcome::Invalid(Box::new(task.clone()), m);
        let Some(asked) = task.asked.iter().find(|a| a.event == form.answer) else {
            return Err(invalid(
                "请选择要确认的事项 (choose what to confirm)".into(),
            ));
        };
        let subject_key = self
            .store()
            .instance_by_id(instance_id)
            .await
            .map_err(|e| TaskOutcome::Failed(e.into()))?
            .map(|i| i.subject_key)
            .unwrap_or_default();
        let answer = answer_of(
            &asked.event,
            &subject_key,
            &task.unit_code,
            &form,
            self.today(),
        )
        .map_err(invalid)?;
        match self.answer(actor, answer).await {
            Ok(done) => Ok((task, done)),
            Err(AppError::Refused(m) | AppError::Invalid { message: m, .. }) => Err(invalid(m)),
            Err(e) => Err(TaskOutcome::Failed(e)),
        }
    }
}
