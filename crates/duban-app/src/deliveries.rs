//! Administrators' actions on what the engine does: re-sending a message and re-planning
//! chains onto edited workflow files. Both are audited.

use crate::accounts::audit;
use crate::{Actor, App, AppError, Permission};
use duban_engine::sync::ReplanDiff;

impl App {
    /// Puts a dead, failed, dropped or sent message back in the queue, marked as a re-send.
    pub async fn resend(&self, actor: &Actor, outbox_id: i64) -> Result<(), AppError> {
        actor.require(Permission::ManageDeliveries)?;
        let store = self.store();
        let Some(before) = store.outbox_message(outbox_id).await? else {
            return Err(AppError::NotFound(format!("no message {outbox_id}")));
        };
        if !actor.scope.is_unlimited() {
            let instance = match before.instance_id {
                Some(id) => store.instance_by_id(id).await?,
                None => None,
            };
            let Some(instance) = instance else {
                return Err(AppError::Forbidden(format!(
                    "message {outbox_id} concerns no unit of {}",
                    actor.name
                )));
            };
            self.check_subject_scope(actor, &instance.subject_key)
                .await?;
        }
        let now = self.now();
        let tx = store.begin_write().await?;
        if !tx.resend(outbox_id, now).await? {
            tx.rollback().await?;
            return Err(AppError::Refused(format!(
                "第{outbox_id}条消息不能重发：状态为{0} (message {outbox_id} cannot be re-sent: it is {})",
                before.state
            )));
        }
        let state = serde_json::json!({"state": before.state, "attempts": before.attempts});
        audit(
            &tx,
            actor,
            now,
            "outbox.resend",
            ("outbox", &outbox_id.to_string()),
            Some(&state),
            Some(&serde_json::json!({"state": "pending", "attempts": 0, "resend": true})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Re-plans every running chain planned with an older version of its workflow (or only
    /// `workflow`'s) onto the files loaded now; each subject's re-plan is one transaction
    /// with its audit row. With `dry_run` nothing is written.
    pub async fn replan(
        &self,
        actor: &Actor,
        workflow: Option<&str>,
        dry_run: bool,
    ) -> Result<Vec<ReplanDiff>, AppError> {
        actor.require(Permission::ManageWorkflows)?;
        if !actor.scope.is_unlimited() {
            return Err(AppError::Forbidden(
                "re-planning applies to every district: an administrator of the whole department does it".into(),
            ));
        }
        Ok(self
            .from(
                actor,
                self.engine.replan_outdated(workflow, dry_run, &actor.name),
            )
            .await?)
    }
}
