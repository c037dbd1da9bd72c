//! One command inside its database transaction: lock, run the pure operation, write.

use super::LedgerContext;
use super::rows::{self, Author, LockedLines};
use crate::StoreError;
use crate::audit::{self, Change};
use crate::entities::{
    ledger_allocations, ledger_closed_years, ledger_dues, ledger_lines, ledger_rebates,
    ledger_state, ledger_transactions,
};
use crate::seals::{Booked, Booking, LEDGER_COMMAND_ENTITY};
use chrono::NaiveDateTime;
use duban_core::money::Money;
use duban_ledger::LedgerError;
use duban_ledger::budget::{BudgetLineKind, BudgetWarning, LineBalances, LineId, fiscal_year};
use duban_ledger::command::*;
use duban_ledger::journal::{Transaction, TxnKind};
use duban_ledger::model::{Allocation, AllocationStatus, NewAllocation, RebateStatus};
use duban_ledger::ops::{self, Ctx, ReversalTarget};
use duban_ledger::period::{Periods, YearMonth};
use duban_ledger::rates::UnitHolding;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, NotSet, QueryFilter,
    QuerySelect, Set,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub(super) struct Run<'a> {
    txn: &'a DatabaseTransaction,
    ctx: &'a LedgerContext<'a>,
    env: &'a Envelope,
    command_id: i64,
    now: NaiveDateTime,
    /// What the command has booked so far, sealed into its audit entry.
    booking: std::sync::Mutex<Booking>,
}

fn one(line: LineId) -> BTreeSet<LineId> {
    BTreeSet::from([line])
}

fn headroom(lines: &BTreeMap<LineId, LineBalances>, touched: &[LineId]) -> Vec<LineHeadroom> {
    touched
        .iter()
        .filter_map(|l| {
            lines.get(l).map(|b| LineHeadroom {
                line: *l,
                headroom: b.available,
            })
        })
        .collect()
}

fn messages(w: Vec<BudgetWarning>) -> Vec<String> {
    w.into_iter().map(|w| w.message).collect()
}

impl<'a> Run<'a> {
    pub fn new(
        txn: &'a DatabaseTransaction,
        ctx: &'a LedgerContext<'a>,
        env: &'a Envelope,
        command_id: i64,
    ) -> Self {
        Self {
            txn,
            ctx,
            env,
            command_id,
            now: ctx.now.naive_utc(),
            booking: std::sync::Mutex::new(Booking::default()),
        }
    }

    fn ops_ctx<'b>(&self, periods: Periods, closed: &'b BTreeSet<i32>) -> Ctx<'b>
    where
        'a: 'b,
    {
        Ctx {
            config: self.ctx.config,
            periods,
            closed_years: closed,
            today: self.ctx.today,
        }
    }

    fn author(&self) -> Author<'_> {
        Author {
            actor: &self.env.actor,
            command_id: self.command_id,
            now: self.now,
        }
    }

    async fn audit<T: Serialize>(
        &self,
        action: &str,
        entity: &str,
        key: &str,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<(), StoreError> {
        audit::record(
            self.txn,
            Change {
                actor: &self.env.actor,
                origin: audit::ORIGIN_CLI,
                at: self.ctx.now,
                action,
                entity,
                key,
                before,
                after,
            },
        )
        .await?;
        Ok(())
    }

    /// The command, its outcome and what it booked, for the audit log.
    pub async fn audit_command(&self, outcome: &Outcome) -> Result<(), StoreError> {
        #[derive(Serialize)]
        struct Record<'r> {
            command: &'r Command,
            outcome: &'r Outcome,
            booked: Booked,
        }
        let booking = std::mem::take(&mut *self.booking.lock().unwrap_or_else(|e| e.into_inner()));
        let record = Record {
            command: &self.env.command,
            outcome,
            booked: booking.finish(),
        };
        self.audit(
            self.env.command.name(),
            LEDGER_COMMAND_ENTITY,
            self.env.key.as_str(),
            None,
            Some(&record),
        )
        .await
    }

    async fn post(
        &self,
        txns: &[Transaction],
        lines: &HashMap<LineId, i64>,
        units: &HashMap<String, i64>,
    ) -> Result<Vec<i64>, StoreError> {
        let posted =
            rows::insert_transactions(self.txn, txns, lines, units, &self.author()).await?;
        let mut booking = self.booking.lock().unwrap_or_else(|e| e.into_inner());
        Ok(posted
            .into_iter()
            .map(|(id, bytes)| {
                booking.add(id, &bytes);
                id
            })
            .collect())
    }

    pub async fn dispatch(&mut self) -> Result<Outcome, StoreError> {
        let env = self.env;
        let mut out = match &env.command {
            Command::Appropriate(c) => self.appropriate(c).await?,
            Command::Virement(c) => self.virement(c).await?,
            Command::Allocate(c) => self.allocate(c).await?,
            Command::AllocateStartupBatch(c) => self.startup_batch(c).await?,
            Command::Disburse(c) => self.disburse(c).await?,
            Command::Release(c) => self.release(c).await?,
            Command::PayDirect(c) => self.pay_direct(c).await?,
            Command::RecordDues(c) => self.record_dues(c).await?,
            Command::ApplyRebate(c) => self.apply_rebate(c).await?,
            Command::ApproveRebate(c) => self.approve_rebate(c).await?,
            Command::Reverse(c) => self.reverse(c).await?,
            Command::ClosePeriod(c) => self.close_period(c).await?,
            Command::CloseYear(c) => self.close_year(c).await?,
            Command::BankCharge(c) => self.bank_charge(c).await?,
            Command::Receive(c) => self.receive(c).await?,
            Command::Apportion(c) => self.apportion(c).await?,
        };
        out.command = env.command.name().to_string();
        Ok(out)
    }

    async fn appropriate(&self, c: &Appropriate) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        let line = LineId::new(fiscal_year(c.date), c.line);
        let locked = rows::lock_lines(self.txn, &one(line)).await?;
        let mut lines = locked.balances();
        let (t, w) = ops::appropriate(&self.ops_ctx(periods, &closed), &mut lines, c)?;
        let ids = rows::save_lines(self.txn, &locked, &lines, self.now).await?;
        let tx = self.post(&[t], &ids, &HashMap::new()).await?;
        Ok(Outcome {
            message: format!("appropriated {} to {line}", c.amount.grouped()),
            transactions: tx,
            headroom: headroom(&lines, &[line]),
            warnings: messages(w),
            ..Outcome::default()
        })
    }

    async fn virement(&self, c: &Virement) -> Result<Outcome, StoreError> {
        let message = format!("moved {} from {} to {}", c.amount.grouped(), c.from, c.to);
        self.between_lines(c.date, c.from, c.to, message, |ctx, lines| {
            ops::virement(ctx, lines, c)
        })
        .await
    }

    async fn apportion(&self, c: &Apportion) -> Result<Outcome, StoreError> {
        self.between_lines(
            c.date,
            BudgetLineKind::Fund,
            c.to,
            c.message(),
            |ctx, lines| ops::apportion(ctx, lines, c),
        )
        .await
    }

    /// Runs an operation that moves headroom between two lines of the date's year, with
    /// both lines locked.
    async fn between_lines(
        &self,
        date: chrono::NaiveDate,
        from: BudgetLineKind,
        to: BudgetLineKind,
        message: String,
        op: impl FnOnce(
            &Ctx<'_>,
            &mut ops::Lines,
        ) -> Result<(Transaction, Vec<BudgetWarning>), LedgerError>,
    ) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        let year = fiscal_year(date);
        let (from, to) = (LineId::new(year, from), LineId::new(year, to));
        let locked = rows::lock_lines(self.txn, &BTreeSet::from([from, to])).await?;
        let mut lines = locked.balances();
        let (t, w) = op(&self.ops_ctx(periods, &closed), &mut lines)?;
        let ids = rows::save_lines(self.txn, &locked, &lines, self.now).await?;
        let touched = t.lines();
        let tx = self.post(&[t], &ids, &HashMap::new()).await?;
        Ok(Outcome {
            message,
            transactions: tx,
            headroom: headroom(&lines, &touched),
            warnings: messages(w),
            ..Outcome::default()
        })
    }

    /// What a unit already holds on lines of `kind`, for the rate card.
    async fn holding(&self, unit_id: i64, kind: BudgetLineKind) -> Result<UnitHolding, StoreError> {
        if self.ctx.config.rates.rate(kind).is_none() {
            // No rate card for the line: nothing to check against.
            return Ok(UnitHolding::default());
        }
        let line_ids: Vec<i64> = ledger_lines::Entity::find()
            .select_only()
            .column(ledger_lines::Column::Id)
            .filter(ledger_lines::Column::Kind.eq(kind.slug()))
            .into_tuple()
            .all(self.txn)
            .await?;
        let rows = ledger_allocations::Entity::find()
            .filter(ledger_allocations::Column::UnitId.eq(unit_id))
            .filter(ledger_allocations::Column::LineId.is_in(line_ids))
            .filter(ledger_allocations::Column::Status.ne(AllocationStatus::Reversed.as_str()))
            .all(self.txn)
            .await?;
        let mut h = UnitHolding::default();
        for r in rows {
            h.allocations += 1;
            let net = r
                .amount
                .checked_sub(r.released)
                .and_then(|n| n.checked_sub(r.lapsed))
                .ok_or(LedgerError::Overflow)?;
            h.net = h
                .net
                .checked_add(Money::from_fen(net))
                .ok_or(LedgerError::Overflow)?;
            h.example.get_or_insert(r.id);
        }
        Ok(h)
    }

    async fn insert_allocation(
        &self,
        new: &NewAllocation,
        unit_id: i64,
        line_row: i64,
    ) -> Result<Allocation, StoreError> {
        let once = self
            .ctx
            .config
            .rates
            .rate(new.line.kind)
            .is_some_and(|r| r.once_per_unit);
        let row = ledger_allocations::ActiveModel {
            id: NotSet,
            line_id: Set(line_row),
            unit_id: Set(unit_id),
            purpose: Set(new.purpose.clone()),
            approval_meeting: Set(new.approval.meeting.clone()),
            approval_date: Set(new.approval.date),
            date: Set(new.date),
            amount: Set(new.amount.fen()),
            outstanding: Set(new.amount.fen()),
            disbursed: Set(0),
            released: Set(0),
            lapsed: Set(0),
            status: Set(AllocationStatus::Open.as_str().to_string()),
            once_key: Set(once.then(|| format!("{}:{unit_id}", new.line.kind.slug()))),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        }
        .insert(self.txn)
        .await?;
        let a = Allocation::from_new(row.id, new.clone());
        self.audit("create", "allocation", &row.id.to_string(), None, Some(&a))
            .await?;
        Ok(a)
    }

    async fn allocate(&self, c: &Allocate) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        let line = LineId::new(fiscal_year(c.date), c.line);
        let locked = rows::lock_lines(self.txn, &one(line)).await?;
        let unit_id = rows::unit_id(self.txn, &c.unit, false).await?;
        let held = self.holding(unit_id, c.line).await?;
        let mut lines = locked.balances();
        let (new, t, w) = ops::allocate(&self.ops_ctx(periods, &closed), &mut lines, held, c)?;
        let ids = rows::save_lines(self.txn, &locked, &lines, self.now).await?;
        let a = self.insert_allocation(&new, unit_id, ids[&line]).await?;
        let units = HashMap::from([(c.unit.clone(), unit_id)]);
        let tx = self.post(&[t.with_allocation(a.id)], &ids, &units).await?;
        Ok(Outcome {
            message: format!(
                "allocated {} to {} (allocation #{})",
                c.amount.grouped(),
                c.unit,
                a.id
            ),
            transactions: tx,
            allocations: vec![a.id],
            headroom: headroom(&lines, &[line]),
            warnings: messages(w),
            ..Outcome::default()
        })
    }

    async fn startup_batch(&self, c: &AllocateStartupBatch) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        let line = LineId::new(fiscal_year(c.date), BudgetLineKind::StartUp);
        let locked = rows::lock_lines(self.txn, &one(line)).await?;
        let (plan, units) =
            super::read::startup_plan(self.txn, self.ctx.config, c.formed_in).await?;
        let mut lines = locked.balances();
        let (items, w) = ops::startup_batch(&self.ops_ctx(periods, &closed), &mut lines, &plan, c)?;
        let ids = rows::save_lines(self.txn, &locked, &lines, self.now).await?;
        let mut out = Outcome::default();
        let mut txns = Vec::with_capacity(items.len());
        for (new, t) in items {
            let unit_id = units[&new.unit];
            let a = self.insert_allocation(&new, unit_id, ids[&line]).await?;
            out.allocations.push(a.id);
            txns.push(t.with_allocation(a.id));
        }
        out.transactions = self.post(&txns, &ids, &units).await?;
        out.message = format!(
            "allocated start-up funds to {} units, {} in total",
            plan.count,
            plan.total.grouped()
        );
        out.headroom = headroom(&lines, &[line]);
        out.warnings = messages(w);
        Ok(out)
    }

    /// Locks an allocation after its line (the lock order), returning both.
    async fn lock_allocation(
        &self,
        id: i64,
        extra: &BTreeSet<LineId>,
    ) -> Result<(LockedLines, ledger_allocations::Model, Allocation), StoreError> {
        let peek = ledger_allocations::Entity::find_by_id(id)
            .one(self.txn)
            .await?
            .ok_or(LedgerError::UnknownAllocation(id))?;
        let line_row = ledger_lines::Entity::find_by_id(peek.line_id)
            .one(self.txn)
            .await?
            .ok_or_else(|| rows::invalid_row("allocation line", peek.line_id))?;
        let line = rows::line_id_of(&line_row)?;
        let mut wanted = one(line);
        wanted.extend(extra.iter().copied());
        let locked = rows::lock_lines(self.txn, &wanted).await?;
        let row = ledger_allocations::Entity::find_by_id(id)
            .lock_exclusive()
            .one(self.txn)
            .await?
            .ok_or(LedgerError::UnknownAllocation(id))?;
        if row.line_id != peek.line_id {
            return Err(StoreError::Invalid(format!(
                "allocation #{id} moved while it was being read; try again"
            )));
        }
        let code = rows::unit_codes(self.txn, BTreeSet::from([row.unit_id]))
            .await?
            .remove(&row.unit_id)
            .unwrap_or_default();
        let a = rows::allocation_of(&row, line, code)?;
        Ok((locked, row, a))
    }

    async fn disburse(&self, c: &Disburse) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        if let Some(code) = c.payment.normalised().bank_account {
            self.require_bank_account("payment.bank_account", &code)
                .await?;
        }
        let (locked, row, mut a) = self.lock_allocation(c.allocation, &BTreeSet::new()).await?;
        let before = a.clone();
        let mut lines = locked.balances();
        let (t, w) = ops::disburse(&self.ops_ctx(periods, &closed), &mut lines, &mut a, c)?;
        let ids = rows::save_lines(self.txn, &locked, &lines, self.now).await?;
        let units = HashMap::from([(a.unit.clone(), row.unit_id)]);
        let tx = self.post(&[t], &ids, &units).await?;
        rows::save_allocation(self.txn, &row, &a, row.line_id, self.now).await?;
        self.audit(
            "update",
            "allocation",
            &a.id.to_string(),
            Some(&before),
            Some(&a),
        )
        .await?;
        Ok(Outcome {
            message: format!(
                "disbursed {} of allocation #{}; {} left",
                c.amount.grouped(),
                a.id,
                a.outstanding.grouped()
            ),
            transactions: tx,
            allocations: vec![a.id],
            headroom: headroom(&lines, &[a.line]),
            warnings: messages(w),
            ..Outcome::default()
        })
    }

    async fn release(&self, c: &Release) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        let (locked, row, mut a) = self.lock_allocation(c.allocation, &BTreeSet::new()).await?;
        let before = a.clone();
        let mut lines = locked.balances();
        let t = ops::release(&self.ops_ctx(periods, &closed), &mut lines, &mut a, c)?;
        let ids = rows::save_lines(self.txn, &locked, &lines, self.now).await?;
        let units = HashMap::from([(a.unit.clone(), row.unit_id)]);
        let tx = self.post(&[t], &ids, &units).await?;
        rows::save_allocation(self.txn, &row, &a, row.line_id, self.now).await?;
        self.audit(
            "update",
            "allocation",
            &a.id.to_string(),
            Some(&before),
            Some(&a),
        )
        .await?;
        Ok(Outcome {
            message: format!("released {} of allocation #{}", a.released.grouped(), a.id),
            transactions: tx,
            allocations: vec![a.id],
            headroom: headroom(&lines, &[a.line]),
            ..Outcome::default()
        })
    }

    async fn pay_direct(&self, c: &PayDirect) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        if let Some(code) = c.payment.normalised().bank_account {
            self.require_bank_account("payment.bank_account", &code)
                .await?;
        }
        let line = LineId::new(fiscal_year(c.date), c.line);
        let locked = rows::lock_lines(self.txn, &one(line)).await?;
        let mut lines = locked.balances();
        let (t, w) = ops::pay_direct(&self.ops_ctx(periods, &closed), &mut lines, c)?;
        let ids = rows::save_lines(self.txn, &locked, &lines, self.now).await?;
        let tx = self.post(&[t], &ids, &HashMap::new()).await?;
        Ok(Outcome {
            message: format!(
                "paid {} to {} without commitment",
                c.amount.grouped(),
                c.payee
            ),
            transactions: tx,
            headroom: headroom(&lines, &[line]),
            warnings: messages(w),
            ..Outcome::default()
        })
    }

    async fn record_dues(&self, c: &RecordDues) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        let unit_id = rows::unit_id(self.txn, &c.unit, true).await?;
        let standing = format!("{unit_id}:{}", c.month);
        let already = ledger_dues::Entity::find()
            .filter(ledger_dues::Column::StandingKey.eq(standing.clone()))
            .one(self.txn)
            .await?
            .map(|d| d.transaction_id);
        let t = ops::record_dues(&self.ops_ctx(periods, &closed), already, c)?;
        let units = HashMap::from([(c.unit.clone(), unit_id)]);
        let tx = self.post(&[t], &HashMap::new(), &units).await?;
        ledger_dues::ActiveModel {
            id: NotSet,
            unit_id: Set(unit_id),
            month: Set(c.month.to_string()),
            amount: Set(c.amount.fen()),
            transaction_id: Set(tx[0]),
            standing_key: Set(Some(standing)),
            created_at: Set(self.now),
        }
        .insert(self.txn)
        .await?;
        Ok(Outcome {
            message: format!(
                "recorded {} of dues from {} for {}",
                c.amount.grouped(),
                c.unit,
                c.month
            ),
            transactions: tx,
            ..Outcome::default()
        })
    }

    async fn apply_rebate(&self, c: &ApplyRebate) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        let unit_id = rows::unit_id(self.txn, &c.unit, true).await?;
        let remitted = super::read::remitted(self.txn, unit_id, c.dues_year).await?;
        let existing = match ledger_rebates::Entity::find()
            .filter(ledger_rebates::Column::UnitId.eq(unit_id))
            .filter(ledger_rebates::Column::DuesYear.eq(c.dues_year))
            .one(self.txn)
            .await?
        {
            Some(r) => Some(super::read::rebate_of(&r, c.unit.clone())?),
            None => None,
        };
        let new = ops::apply_rebate(
            &self.ops_ctx(periods, &closed),
            remitted,
            existing.as_ref(),
            c,
        )?;
        let row = ledger_rebates::ActiveModel {
            id: NotSet,
            unit_id: Set(unit_id),
            dues_year: Set(new.dues_year),
            remitted: Set(new.remitted.fen()),
            amount: Set(new.amount.fen()),
            applied_on: Set(new.applied_on),
            status: Set(RebateStatus::Pending.as_str().to_string()),
            allocation_id: Set(None),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        }
        .insert(self.txn)
        .await?;
        let app = super::read::rebate_of(&row, c.unit.clone())?;
        self.audit(
            "create",
            "rebate_application",
            &row.id.to_string(),
            None,
            Some(&app),
        )
        .await?;
        Ok(Outcome {
            message: format!(
                "rebate application #{}: {} of the {} remitted in {}",
                row.id,
                new.amount.grouped(),
                new.remitted.grouped(),
                new.dues_year
            ),
            rebate_application: Some(row.id),
            ..Outcome::default()
        })
    }

    async fn approve_rebate(&self, c: &ApproveRebate) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        let missing =
            || LedgerError::Dues(format!("there is no rebate application #{}", c.application));
        ledger_rebates::Entity::find_by_id(c.application)
            .one(self.txn)
            .await?
            .ok_or_else(missing)?;
        let line = LineId::new(fiscal_year(c.date), BudgetLineKind::DuesRebate);
        let locked = rows::lock_lines(self.txn, &one(line)).await?;
        let row = ledger_rebates::Entity::find_by_id(c.application)
            .lock_exclusive()
            .one(self.txn)
            .await?
            .ok_or_else(missing)?;
        let code = rows::unit_codes(self.txn, BTreeSet::from([row.unit_id]))
            .await?
            .remove(&row.unit_id)
            .unwrap_or_default();
        let mut app = super::read::rebate_of(&row, code.clone())?;
        let before = app.clone();
        let mut lines = locked.balances();
        let (new, t, w) =
            ops::approve_rebate(&self.ops_ctx(periods, &closed), &mut lines, &mut app, c)?;
        let ids = rows::save_lines(self.txn, &locked, &lines, self.now).await?;
        let a = self
            .insert_allocation(&new, row.unit_id, ids[&line])
            .await?;
        let units = HashMap::from([(code, row.unit_id)]);
        let tx = self.post(&[t.with_allocation(a.id)], &ids, &units).await?;
        app.allocation = Some(a.id);
        ledger_rebates::ActiveModel {
            id: Set(row.id),
            status: Set(app.status.as_str().to_string()),
            allocation_id: Set(Some(a.id)),
            updated_at: Set(self.now),
            ..Default::default()
        }
        .update(self.txn)
        .await?;
        self.audit(
            "update",
            "rebate_application",
            &row.id.to_string(),
            Some(&before),
            Some(&app),
        )
        .await?;
        Ok(Outcome {
            message: format!(
                "approved rebate #{}: {} (allocation #{})",
                app.id,
                app.amount.grouped(),
                a.id
            ),
            transactions: tx,
            allocations: vec![a.id],
            rebate_application: Some(app.id),
            headroom: headroom(&lines, &[line]),
            warnings: messages(w),
            ..Outcome::default()
        })
    }

    async fn reverse(&self, c: &Reverse) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        let orig_row = ledger_transactions::Entity::find_by_id(c.transaction)
            .one(self.txn)
            .await?
            .ok_or(LedgerError::UnknownTransaction(c.transaction))?;
        let orig_unit_id = orig_row.unit_id;
        let original = rows::load_transactions(self.txn, vec![orig_row])
            .await?
            .remove(0);
        let touched: BTreeSet<LineId> = original.txn.lines().into_iter().collect();
        let (locked, alloc) = match original.txn.allocation() {
            Some(id) => {
                let (locked, row, a) = self.lock_allocation(id, &touched).await?;
                (locked, Some((row, a)))
            }
            None => (rows::lock_lines(self.txn, &touched).await?, None),
        };
        let reversed_by = ledger_transactions::Entity::find()
            .filter(ledger_transactions::Column::ReversesId.eq(original.id))
            .one(self.txn)
            .await?
            .map(|t| t.id);
        let dues = ledger_dues::Entity::find()
            .filter(ledger_dues::Column::TransactionId.eq(original.id))
            .lock_exclusive()
            .one(self.txn)
            .await?;
        let rebate_applied = match &dues {
            Some(d) => {
                let year = YearMonth::parse(&d.month)
                    .map_err(|e| rows::invalid_row("dues month", e))?
                    .year();
                ledger_rebates::Entity::find()
                    .filter(ledger_rebates::Column::UnitId.eq(d.unit_id))
                    .filter(ledger_rebates::Column::DuesYear.eq(year))
                    .one(self.txn)
                    .await?
                    .is_some()
            }
            None => false,
        };
        let (alloc_row, mut alloc) = match alloc {
            Some((row, a)) => (Some(row), Some(a)),
            None => (None, None),
        };
        let before = alloc.clone();
        let mut lines = locked.balances();
        let target = ReversalTarget {
            original: &original,
            reversed_by,
            allocation: alloc.as_mut(),
            rebate_applied,
        };
        let (t, w) = ops::reverse(&self.ops_ctx(periods, &closed), &mut lines, target, c)?;
        let ids = rows::save_lines(self.txn, &locked, &lines, self.now).await?;
        let mut units = HashMap::new();
        if let (Some(code), Some(id)) = (original.txn.unit(), orig_unit_id) {
            units.insert(code.to_string(), id);
        }
        let tx = self.post(&[t], &ids, &units).await?;
        if let (Some(row), Some(a)) = (&alloc_row, &alloc) {
            rows::save_allocation(self.txn, row, a, row.line_id, self.now).await?;
            self.audit(
                "update",
                "allocation",
                &a.id.to_string(),
                before.as_ref(),
                Some(a),
            )
            .await?;
            if original.txn.kind() == TxnKind::Allocation {
                let linked = ledger_rebates::Entity::find()
                    .filter(ledger_rebates::Column::AllocationId.eq(a.id))
                    .lock_exclusive()
                    .one(self.txn)
                    .await?;
                if let Some(r) = linked {
                    ledger_rebates::ActiveModel {
                        id: Set(r.id),
                        status: Set(RebateStatus::Pending.as_str().to_string()),
                        allocation_id: Set(None),
                        updated_at: Set(self.now),
                        ..Default::default()
                    }
                    .update(self.txn)
                    .await?;
                    self.audit(
                        "update",
                        "rebate_application",
                        &r.id.to_string(),
                        Some(&r.status),
                        Some(&"pending".to_string()),
                    )
                    .await?;
                }
            }
        }
        if let Some(d) = dues {
            ledger_dues::ActiveModel {
                id: Set(d.id),
                standing_key: Set(None),
                ..Default::default()
            }
            .update(self.txn)
            .await?;
        }
        Ok(Outcome {
            message: format!("reversed transaction #{} with #{}", original.id, tx[0]),
            transactions: tx,
            allocations: original.txn.allocation().into_iter().collect(),
            headroom: headroom(&lines, &original.txn.lines()),
            warnings: messages(w),
            ..Outcome::default()
        })
    }

    async fn bank_charge(&self, c: &BankCharge) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        let t = ops::bank_charge(&self.ops_ctx(periods, &closed), c)?;
        let tx = self.post(&[t], &HashMap::new(), &HashMap::new()).await?;
        Ok(Outcome {
            message: format!(
                "booked a bank charge of {} to {}",
                c.amount.grouped(),
                c.fee_account
            ),
            transactions: tx,
            ..Outcome::default()
        })
    }

    /// Refuses a command naming a bank account (by its code, in `field`) that does not exist.
    async fn require_bank_account(&self, field: &str, code: &str) -> Result<(), StoreError> {
        let known = crate::entities::bank_accounts::Entity::find()
            .filter(crate::entities::bank_accounts::Column::Code.eq(code))
            .one(self.txn)
            .await?
            .is_some();
        if !known {
            return Err(LedgerError::Invalid(format!(
                "{field}: 没有代码为“{code}”的银行账户 (no bank account {code:?}; see duban bank accounts list)"
            ))
            .into());
        }
        Ok(())
    }

    async fn receive(&self, c: &Receive) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, false).await?;
        self.require_bank_account("bank_account", &c.bank_account)
            .await?;
        if let Some(code) = c.from.strip_prefix("assets:bank:") {
            self.require_bank_account("from", code).await?;
        }
        let t = ops::receive(&self.ops_ctx(periods, &closed), c)?;
        let tx = self.post(&[t], &HashMap::new(), &HashMap::new()).await?;
        Ok(Outcome {
            message: c.message(),
            transactions: tx,
            ..Outcome::default()
        })
    }

    async fn close_period(&self, c: &ClosePeriod) -> Result<Outcome, StoreError> {
        let (periods, _) = rows::lock_state(self.txn, true).await?;
        let next = periods.close(c.month, self.ctx.today)?;
        ledger_state::ActiveModel {
            id: Set(1),
            closed_through: Set(next.closed_through.map(|m| m.to_string())),
            updated_at: Set(self.now),
        }
        .update(self.txn)
        .await?;
        self.audit(
            "close",
            "ledger_periods",
            "closed_through",
            Some(&periods),
            Some(&next),
        )
        .await?;
        Ok(Outcome {
            message: format!("closed every period through {}", c.month),
            ..Outcome::default()
        })
    }

    async fn close_year(&self, c: &CloseYear) -> Result<Outcome, StoreError> {
        let (periods, closed) = rows::lock_state(self.txn, true).await?;
        let locked = rows::lock_lines_of_years(self.txn, &[c.year, c.year + 1]).await?;
        let year_lines: Vec<i64> = locked
            .rows
            .iter()
            .filter(|(l, _)| l.year == c.year)
            .map(|(_, r)| r.id)
            .collect();
        let open_rows = ledger_allocations::Entity::find()
            .filter(ledger_allocations::Column::LineId.is_in(year_lines))
            .filter(ledger_allocations::Column::Status.eq(AllocationStatus::Open.as_str()))
            .lock_exclusive()
            .all(self.txn)
            .await?;
        let by_row: HashMap<i64, LineId> = locked.rows.iter().map(|(l, r)| (r.id, *l)).collect();
        let codes =
            rows::unit_codes(self.txn, open_rows.iter().map(|r| r.unit_id).collect()).await?;
        let mut open = Vec::with_capacity(open_rows.len());
        for r in &open_rows {
            open.push(rows::allocation_of(
                r,
                by_row[&r.line_id],
                codes.get(&r.unit_id).cloned().unwrap_or_default(),
            )?);
        }
        let before = open.clone();
        let mut lines = locked.balances();
        let txns = ops::close_year(&self.ops_ctx(periods, &closed), &mut lines, &mut open, c)?;
        let ids = rows::save_lines(self.txn, &locked, &lines, self.now).await?;
        let units: HashMap<String, i64> = open_rows
            .iter()
            .map(|r| {
                (
                    codes.get(&r.unit_id).cloned().unwrap_or_default(),
                    r.unit_id,
                )
            })
            .collect();
        let tx = self.post(&txns, &ids, &units).await?;
        for ((row, a), b) in open_rows.iter().zip(&open).zip(&before) {
            if a != b {
                rows::save_allocation(self.txn, row, a, ids[&a.line], self.now).await?;
                self.audit("update", "allocation", &a.id.to_string(), Some(b), Some(a))
                    .await?;
            }
        }
        ledger_closed_years::ActiveModel {
            year: Set(c.year),
            closed_at: Set(self.now),
            closed_by: Set(self.env.actor.clone()),
        }
        .insert(self.txn)
        .await?;
        self.audit(
            "close",
            "fiscal_year",
            &c.year.to_string(),
            None,
            Some(&c.year),
        )
        .await?;
        let next: Vec<LineId> = lines
            .keys()
            .copied()
            .filter(|l| l.year == c.year + 1)
            .collect();
        Ok(Outcome {
            message: format!("closed fiscal year {} ({} entries)", c.year, tx.len()),
            transactions: tx,
            allocations: open
                .iter()
                .filter(|a| a.line.year == c.year + 1)
                .map(|a| a.id)
                .collect(),
            headroom: headroom(&lines, &next),
            ..Outcome::default()
        })
    }
}
