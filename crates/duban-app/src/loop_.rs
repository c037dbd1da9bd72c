//! The reminder loop's use cases: answers, rectification items and interviews, staff, and
//! the rectification list import. Each checks the actor's role and scope, then calls the
//! engine, which records the domain row, the event, the re-plan and the audit row in one
//! transaction.

use crate::{Actor, App, AppError, Permission};
use duban_tabular::Encoding;

pub use duban_engine::admin::{ItemsImported, NewStaff, OpenInterview, OpenItem};
pub use duban_engine::answer::{Answer, Duty};
pub use duban_engine::complete::Completion;
pub use duban_engine::sync::ReplanDiff;
pub use duban_store::lists::{InstanceLine, InterviewLine, ItemLine, UnitLine};
pub use duban_store::subjects::PersonRow;

/// The header row of a rectification list (问题清单).
pub fn rectification_headers() -> Vec<&'static str> {
    let mut headers: Vec<&str> = duban_engine::admin::ITEM_COLUMNS
        .iter()
        .map(|c| c.1)
        .collect();
    headers.push("整改措施");
    headers
}

/// The subject an answer concerns, as a key the store resolves to its unit.
pub fn subject_of(answer: &Answer) -> String {
    match answer {
        Answer::RequestSubmitted { unit, .. }
        | Answer::ElectionHeld { unit, .. }
        | Answer::ExtensionApproved { unit, .. }
        | Answer::ResultReported { unit, .. }
        | Answer::DutyDone { unit, .. } => format!("unit:{unit}"),
        Answer::ProgressReported { item, .. }
        | Answer::DeadlineExtended { item, .. }
        | Answer::ItemVerified { item, .. }
        | Answer::ReviewDone { item, .. } => format!("rectification:{item}"),
        Answer::InterviewRescheduled { interview, .. }
        | Answer::InterviewHeld { interview, .. }
        | Answer::RecordFiled { interview, .. } => format!("interview:{interview}"),
    }
}

/// Answers that are the department's decision, not the unit's: approvals, verification,
/// reviews, rescheduling. A secretary cannot give them.
pub fn is_decision(answer: &Answer) -> bool {
    matches!(
        answer,
        Answer::ExtensionApproved { .. }
            | Answer::DeadlineExtended { .. }
            | Answer::ItemVerified { .. }
            | Answer::ReviewDone { .. }
            | Answer::InterviewRescheduled { .. }
    )
}

impl App {
    /// Refuses unless the unit behind `subject` exists and lies within the actor's scope.
    pub(crate) async fn check_subject_scope(
        &self,
        actor: &Actor,
        subject: &str,
    ) -> Result<(), AppError> {
        if actor.scope.is_unlimited() {
            // The recorder itself says when the subject does not exist.
            return Ok(());
        }
        let Some(unit) = self.store().unit_of_subject(subject).await? else {
            return Err(AppError::NotFound(format!(
                "{subject} is not in the register"
            )));
        };
        if !actor.covers(&unit.code, &unit.districts) {
            return Err(AppError::Forbidden(format!(
                "{} may not act for unit {}",
                actor.name, unit.code
            )));
        }
        Ok(())
    }

    /// Records an answer: an election held, a report filed, an item fixed …
    pub async fn answer(&self, actor: &Actor, answer: Answer) -> Result<Completion, AppError> {
        actor.require(if is_decision(&answer) {
            Permission::WriteRegister
        } else {
            Permission::Answer
        })?;
        self.check_subject_scope(actor, &subject_of(&answer))
            .await?;
        Ok(self
            .from(actor, self.engine.answer(answer, &actor.name))
            .await?)
    }

    /// Opens a rectification item with its chain.
    pub async fn open_item(&self, actor: &Actor, item: OpenItem) -> Result<Completion, AppError> {
        actor.require(Permission::WriteRegister)?;
        self.check_subject_scope(actor, &format!("unit:{}", item.unit))
            .await?;
        Ok(self
            .from(actor, self.engine.open_item_for(item, &actor.name))
            .await?)
    }

    /// Arranges a supervisory interview with its chain.
    pub async fn open_interview(
        &self,
        actor: &Actor,
        req: OpenInterview,
    ) -> Result<Completion, AppError> {
        actor.require(Permission::WriteRegister)?;
        self.check_subject_scope(actor, &format!("unit:{}", req.unit))
            .await?;
        Ok(self
            .from(actor, self.engine.open_interview_for(req, &actor.name))
            .await?)
    }

    /// Adds (or updates) a member of staff with their roles.
    pub async fn add_staff(&self, actor: &Actor, s: NewStaff) -> Result<PersonRow, AppError> {
        actor.require(Permission::WriteRegister)?;
        Ok(self
            .from(actor, self.engine.add_staff(s, &actor.name))
            .await?)
    }

    pub async fn set_staff_roles(
        &self,
        actor: &Actor,
        person: &str,
        roles: &[String],
    ) -> Result<PersonRow, AppError> {
        actor.require(Permission::WriteRegister)?;
        Ok(self
            .from(
                actor,
                self.engine.set_staff_roles(person, roles, &actor.name),
            )
            .await?)
    }

    /// Imports a rectification list (CSV or XLSX bytes): all or nothing, every bad cell
    /// located.
    pub async fn import_items(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: &[u8],
        encoding: Encoding,
        dry_run: bool,
    ) -> Result<ItemsImported, AppError> {
        actor.require(Permission::WriteRegister)?;
        let table = crate::register::read_upload(file_name, bytes, encoding)?;
        if !actor.scope.is_unlimited() {
            let col = table.headers.iter().position(|h| h.trim() == "党组织编码");
            for (_, cells) in &table.rows {
                if let Some(code) = col.and_then(|i| cells.get(i)).map(|c| c.trim())
                    && !code.is_empty()
                {
                    self.check_subject_scope(actor, &format!("unit:{code}"))
                        .await?;
                }
            }
        }
        match self
            .from(
                actor,
                self.engine.import_items(&table, &actor.name, dry_run),
            )
            .await?
        {
            Ok(done) => Ok(done),
            Err(rows) => Err(AppError::Rows(rows)),
        }
    }
}
