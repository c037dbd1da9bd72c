//! The funds ledger's use cases: commands (one, or a batch applied all or nothing) and the
//! reports. A command is the JSON of `duban ledger submit` (`{key, command: {command: …}}`);
//! the actor is always the signed-in user, whatever the body says.

use crate::loop_::{Answer, Duty};
use crate::{Actor, App, AppError, Permission};
use chrono::NaiveDate;
use duban_ledger::command::{Command, Envelope};
use duban_store::StoreError;
use duban_store::ledger::{BatchError, LedgerContext};

pub use duban_ledger::LedgerError;
pub use duban_ledger::command::Envelope as LedgerEnvelope;
pub use duban_store::ledger::Executed;

/// `$[2].command.amount` as a JSON pointer: `/2/command/amount`.
pub fn pointer_of(path: &str) -> String {
    let mut out = String::new();
    let rest = path.strip_prefix('$').unwrap_or(path);
    for part in rest.split(['.', '[']).filter(|p| !p.is_empty()) {
        out.push('/');
        out.push_str(part.trim_end_matches(']'));
    }
    out
}

impl App {
    fn ledger_context(&self, today: Option<NaiveDate>) -> LedgerContext<'_> {
        LedgerContext {
            config: &self.ledger,
            now: self.now(),
            today: today.unwrap_or_else(|| self.today()),
        }
    }

    /// Reads commands from JSON (one object or an array), each as the actor's own.
    pub fn ledger_envelopes(
        &self,
        actor: &Actor,
        body: &serde_json::Value,
    ) -> Result<Vec<Envelope>, AppError> {
        let (items, single) = match body {
            serde_json::Value::Array(items) => (items.clone(), false),
            one => (vec![one.clone()], true),
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, mut item)| {
                if let serde_json::Value::Object(map) = &mut item {
                    map.insert(
                        "actor".into(),
                        serde_json::Value::String(actor.name.clone()),
                    );
                }
                let root = if single {
                    "$".to_string()
                } else {
                    format!("$[{i}]")
                };
                Envelope::from_json(&item, &root).map_err(|e| AppError::Invalid {
                    message: format!("{}: {}", e.path, e.message),
                    pointer: Some(pointer_of(&e.path)),
                })
            })
            .collect()
    }

    /// Applies commands in one transaction: all, or none when one is refused (the error
    /// names which). A key used before with the same command returns its first outcome.
    /// `today` stands in for the date in rehearsals.
    pub async fn ledger_apply(
        &self,
        actor: &Actor,
        envelopes: Vec<Envelope>,
        today: Option<NaiveDate>,
    ) -> Result<Vec<Executed>, AppError> {
        actor.require(Permission::WriteLedger)?;
        self.ledger_within_scope(actor, &envelopes).await?;
        let ctx = self.ledger_context(today);
        let done = self
            .from(actor, self.store().ledger_execute_all(&ctx, &envelopes))
            .await
            .map_err(|BatchError { index, error }| match error {
                StoreError::Ledger(error) => AppError::Ledger {
                    error,
                    index: (envelopes.len() > 1).then_some(index),
                },
                e => e.into(),
            })?;
        for (env, d) in envelopes.iter().zip(&done) {
            if !d.replayed {
                self.dues_answer_reminders(actor, &env.command).await;
            }
        }
        Ok(done)
    }

    /// Applies commands one by one, each in its own transaction: every command that can be
    /// applied is, and each refusal is returned in its place.
    pub async fn ledger_apply_each(
        &self,
        actor: &Actor,
        envelopes: Vec<Envelope>,
        today: Option<NaiveDate>,
    ) -> Result<Vec<Result<Executed, LedgerError>>, AppError> {
        actor.require(Permission::WriteLedger)?;
        self.ledger_within_scope(actor, &envelopes).await?;
        let ctx = self.ledger_context(today);
        let mut out = Vec::with_capacity(envelopes.len());
        for env in &envelopes {
            match self
                .from(actor, self.store().ledger_execute(&ctx, env))
                .await
            {
                Ok(d) => {
                    if !d.replayed {
                        self.dues_answer_reminders(actor, &env.command).await;
                    }
                    out.push(Ok(d));
                }
                Err(StoreError::Ledger(e)) => out.push(Err(e)),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// A finance officer limited to districts or units books only about their units: an
    /// allocation, a tranche or release of one, dues and rebate applications. What concerns
    /// the whole budget (appropriations, virements, direct payments, rebate approvals,
    /// reversals, closing a period or a year) is for an officer without limits. Nothing is
    /// booked when one command is refused.
    async fn ledger_within_scope(
        &self,
        actor: &Actor,
        envelopes: &[Envelope],
    ) -> Result<(), AppError> {
        if actor.list_scope().is_none() {
            return Ok(());
        }
        for (i, env) in envelopes.iter().enumerate() {
            let unit = match &env.command {
                Command::Allocate(a) => Some(a.unit.clone()),
                Command::RecordDues(d) => Some(d.unit.clone()),
                Command::ApplyRebate(a) => Some(a.unit.clone()),
                Command::Disburse(d) => self.allocation_unit(d.allocation).await?,
                Command::Release(r) => self.allocation_unit(r.allocation).await?,
                _ => {
                    return Err(AppError::Forbidden(format!(
                        "第{n}条指令（{kind}）涉及全市预算，限定区县的财务人员不能办理 (command {i}: {kind} concerns the whole budget; an officer limited to districts may not book it)",
                        n = i + 1,
                        kind = env.command.name()
                    )));
                }
            };
            // An allocation that does not exist is refused by the ledger itself.
            if let Some(unit) = unit
                && self.unit_card(actor, &unit).await.is_err()
            {
                return Err(AppError::Forbidden(format!(
                    "第{n}条指令涉及的党组织“{unit}”不在您的管辖范围内 (command {i}: unit {unit} is outside your districts)",
                    n = i + 1
                )));
            }
        }
        Ok(())
    }

    async fn allocation_unit(&self, id: i64) -> Result<Option<String>, AppError> {
        Ok(self.store().ledger_allocation(id).await?.map(|a| a.unit))
    }

    /// Dues booked for a month answer that month's dues reminders (党费收缴提醒). The dues
    /// stay booked if the reminders cannot be told; the failure is logged.
    async fn dues_answer_reminders(&self, actor: &Actor, command: &Command) {
        let Command::RecordDues(d) = command else {
            return;
        };
        let on = d
            .date
            .clamp(d.month.first_day(), d.month.last_day())
            .min(self.today());
        let answer = Answer::DutyDone {
            unit: d.unit.clone(),
            duty: Duty::DuesCollected,
            on,
            note: Some(format!(
                "党费已登记（{}）",
                d.month.first_day().format("%Y-%m")
            )),
        };
        let now = self.now();
        let answered = async {
            // A ledger command's process may not have saved the workflow versions the
            // answer plans with.
            self.engine.rules.persist(self.store(), now).await?;
            self.engine.answer(answer, &actor.name).await
        };
        let answered = self.from(actor, answered);
        if let Err(e) = answered.await {
            tracing::warn!(error = %e, unit = %d.unit, "the dues were booked, but the reminders were not told");
        }
    }

    fn require_ledger_reader(&self, actor: &Actor) -> Result<(), AppError> {
        actor.require(Permission::ReadLedger)
    }

    pub async fn ledger_budget(
        &self,
        actor: &Actor,
        year: i32,
    ) -> Result<duban_ledger::report::BudgetReport, AppError> {
        self.require_ledger_reader(actor)?;
        let lines = self.year_lines(year).await?;
        duban_ledger::report::BudgetReport::new(year, &lines)
            .map_err(|error| AppError::Ledger { error, index: None })
    }

    /// The balances of the lines of `year` as the year left them: a closed year's closing
    /// entries taken back, so its budget reads as it did on 31 December.
    pub(crate) async fn year_lines(
        &self,
        year: i32,
    ) -> Result<
        std::collections::BTreeMap<
            duban_ledger::budget::LineId,
            duban_ledger::budget::LineBalances,
        >,
        AppError,
    > {
        let store = self.store();
        let lines = store.ledger_lines(Some(year)).await?;
        let closing = store.ledger_closing_entries(year).await?;
        duban_ledger::report::before_close(year, &lines, &closing)
            .map_err(|error| AppError::Ledger { error, index: None })
    }

    pub async fn ledger_balances(
        &self,
        actor: &Actor,
    ) -> Result<duban_ledger::report::BalanceReport, AppError> {
        self.require_ledger_reader(actor)?;
        Ok(self.store().ledger_balances().await?)
    }

    pub async fn ledger_recent(
        &self,
        actor: &Actor,
        limit: u64,
    ) -> Result<Vec<duban_ledger::journal::PostedTransaction>, AppError> {
        self.require_ledger_reader(actor)?;
        Ok(self.store().ledger_recent(limit).await?)
    }

    pub async fn ledger_journal(
        &self,
        actor: &Actor,
    ) -> Result<Vec<duban_ledger::journal::PostedTransaction>, AppError> {
        self.require_ledger_reader(actor)?;
        Ok(self.store().ledger_journal().await?)
    }

    pub async fn ledger_allocations(
        &self,
        actor: &Actor,
        year: Option<i32>,
        unit: Option<&str>,
    ) -> Result<Vec<duban_ledger::model::Allocation>, AppError> {
        self.require_ledger_reader(actor)?;
        Ok(self.store().ledger_allocations(year, unit).await?)
    }

    pub async fn ledger_dues(
        &self,
        actor: &Actor,
        year: Option<i32>,
    ) -> Result<Vec<duban_store::ledger::DuesRow>, AppError> {
        self.require_ledger_reader(actor)?;
        Ok(self.store().ledger_dues(year).await?)
    }

    pub async fn ledger_rebates(
        &self,
        actor: &Actor,
    ) -> Result<Vec<duban_ledger::model::RebateApplication>, AppError> {
        self.require_ledger_reader(actor)?;
        Ok(self.store().ledger_rebates().await?)
    }

    pub async fn ledger_status(
        &self,
        actor: &Actor,
    ) -> Result<duban_store::ledger::LedgerStatus, AppError> {
        self.require_ledger_reader(actor)?;
        Ok(self.store().ledger_status().await?)
    }

    /// What a start-up batch for units formed in `formed_in` would allocate (a dry run).
    pub async fn ledger_plan_startup(
        &self,
        actor: &Actor,
        formed_in: i32,
    ) -> Result<duban_ledger::rates::BatchPlan, AppError> {
        self.require_ledger_reader(actor)?;
        Ok(self
            .store()
            .ledger_plan_startup(&self.ledger, formed_in)
            .await?)
    }

    /// The ledger's invariants checked on the stored journal; empty when they hold.
    pub async fn ledger_verify(&self, actor: &Actor) -> Result<Vec<String>, AppError> {
        self.require_ledger_reader(actor)?;
        Ok(self.store().ledger_verify().await?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_become_pointers() {
        assert_eq!(
            super::pointer_of("$[2].command.amount"),
            "/2/command/amount"
        );
        assert_eq!(super::pointer_of("$.key"), "/key");
        assert_eq!(super::pointer_of("$"), "");
    }
}
