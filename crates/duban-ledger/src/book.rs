//! An in-memory ledger that runs every command through [`crate::ops`].
//!
//! It is the reference model of the ledger: the property tests drive it with random
//! command sequences, and the store must behave the same way on a database. It also
//! serves dry runs and any tool that wants the rules without a database.

use crate::budget::BudgetWarning;
use crate::budget::{BudgetLineKind, LineBalances, LineId};
use crate::command::{Command, Envelope, LineHeadroom, Outcome};
use crate::config::LedgerConfig;
use crate::error::LedgerError;
use crate::idempotency::{IdempotencyKey, Replay, decide};
use crate::journal::{PostedTransaction, Transaction, TxnKind};
use crate::model::{Allocation, AllocationStatus, RebateApplication, RebateStatus};
use crate::ops::{self, Ctx, Lines, ReversalTarget};
use crate::period::{Periods, YearMonth};
use crate::rates::{BatchPlan, Candidate, UnitHolding, plan_startup_batch};
use chrono::NaiveDate;
use duban_core::money::Money;
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Clone, Default)]
struct State {
    periods: Periods,
    closed_years: BTreeSet<i32>,
    lines: Lines,
    reversed_by: BTreeMap<i64, i64>,
    allocations: BTreeMap<i64, Allocation>,
    rebates: BTreeMap<i64, RebateApplication>,
    /// Dues records that stand: unit and month → transaction.
    dues: BTreeMap<(String, YearMonth), i64>,
}

/// The whole ledger in memory.
#[derive(Debug, Clone)]
pub struct Book {
    config: LedgerConfig,
    state: State,
    journal: Vec<PostedTransaction>,
    /// The register's units and the day each was formed (for start-up batches).
    units: BTreeMap<String, NaiveDate>,
    idempotency: HashMap<IdempotencyKey, (String, Outcome)>,
}

impl Book {
    pub fn new(config: LedgerConfig) -> Result<Self, LedgerError> {
        config.validate()?;
        Ok(Self {
            config,
            state: State::default(),
            journal: Vec::new(),
            units: BTreeMap::new(),
            idempotency: HashMap::new(),
        })
    }

    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// Tells the book about a unit of the register and when it was formed.
    pub fn register_unit(&mut self, code: &str, formed_on: NaiveDate) {
        self.units.insert(code.to_string(), formed_on);
    }

    pub fn journal(&self) -> &[PostedTransaction] {
        &self.journal
    }

    pub fn line(&self, line: LineId) -> Option<LineBalances> {
        self.state.lines.get(&line).copied()
    }

    pub fn lines(&self) -> &BTreeMap<LineId, LineBalances> {
        &self.state.lines
    }

    pub fn allocation(&self, id: i64) -> Option<&Allocation> {
        self.state.allocations.get(&id)
    }

    pub fn allocations(&self) -> impl Iterator<Item = &Allocation> {
        self.state.allocations.values()
    }

    pub fn rebate(&self, id: i64) -> Option<&RebateApplication> {
        self.state.rebates.get(&id)
    }

    pub fn periods(&self) -> Periods {
        self.state.periods
    }

    pub fn reversed_by(&self, id: i64) -> Option<i64> {
        self.state.reversed_by.get(&id).copied()
    }

    /// The start-up batch `formed_in` would allocate now (the dry run).
    pub fn plan_startup_batch(&self, formed_in: i32) -> Result<BatchPlan, LedgerError> {
        let candidates: Vec<Candidate> = self
            .units
            .iter()
            .map(|(unit, formed_on)| Candidate {
                unit: unit.clone(),
                formed_on: *formed_on,
            })
            .collect();
        plan_startup_batch(
            &self.config.rates,
            formed_in,
            &candidates,
            &self.funded(BudgetLineKind::StartUp),
        )
    }

    fn funded(&self, kind: BudgetLineKind) -> BTreeSet<String> {
        self.state
            .allocations
            .values()
            .filter(|a| a.line.kind == kind && a.status != AllocationStatus::Reversed)
            .map(|a| a.unit.clone())
            .collect()
    }

    /// Runs a command: a repeat of a key returns the first outcome, a key reused with
    /// other content is refused, and a refused command changes nothing.
    pub fn execute(&mut self, env: &Envelope, today: NaiveDate) -> Result<Outcome, LedgerError> {
        let fp = env.command.fingerprint()?;
        let stored = self.idempotency.get(&env.key).cloned();
        if let Replay::Repeat(outcome) = decide(&env.key, stored, &fp)? {
            return Ok(outcome);
        }
        env.command.validate()?;
        let mut next = self.state.clone();
        let mut posted = Vec::new();
        let outcome = self.run(&mut next, &mut posted, &env.command, today)?;
        self.state = next;
        self.journal.extend(posted);
        self.idempotency
            .insert(env.key.clone(), (fp, outcome.clone()));
        Ok(outcome)
    }

    fn run(
        &self,
        st: &mut State,
        posted: &mut Vec<PostedTransaction>,
        command: &Command,
        today: NaiveDate,
    ) -> Result<Outcome, LedgerError> {
        let first_id = self.journal.len() as i64 + 1;
        let mut post = |txn: Transaction| -> i64 {
            let id = first_id + posted.len() as i64;
            posted.push(PostedTransaction { id, txn });
            id
        };
        let ctx = Ctx {
            config: &self.config,
            periods: st.periods,
            closed_years: &st.closed_years,
            today,
        };
        let mut out = Outcome {
            command: command.name().to_string(),
            ..Outcome::default()
        };
        let mut warnings: Vec<BudgetWarning> = Vec::new();
        let mut touched: Vec<LineId> = Vec::new();
        match command {
            Command::Appropriate(c) => {
                let (txn, w) = ops::appropriate(&ctx, &mut st.lines, c)?;
                touched = txn.lines();
                out.message = format!("appropriated {} to {}", c.amount.grouped(), touched[0]);
                out.transactions.push(post(txn));
                warnings = w;
            }
            Command::Virement(c) => {
                let (txn, w) = ops::virement(&ctx, &mut st.lines, c)?;
                touched = txn.lines();
                out.message = format!("moved {} from {} to {}", c.amount.grouped(), c.from, c.to);
                out.transactions.push(post(txn));
                warnings = w;
            }
            Command::Apportion(c) => {
                let (txn, w) = ops::apportion(&ctx, &mut st.lines, c)?;
                touched = txn.lines();
                out.message = c.message();
                out.transactions.push(post(txn));
                warnings = w;
            }
            Command::Allocate(c) => {
                let held = holding(&st.allocations, &c.unit, c.line)?;
                let (new, txn, w) = ops::allocate(&ctx, &mut st.lines, held, c)?;
                let id = next_id(&st.allocations);
                touched = txn.lines();
                out.message = format!(
                    "allocated {} to {} (allocation #{id})",
                    c.amount.grouped(),
                    c.unit
                );
                out.transactions.push(post(txn.with_allocation(id)));
                out.allocations.push(id);
                st.allocations.insert(id, Allocation::from_new(id, new));
                warnings = w;
            }
            Command::AllocateStartupBatch(c) => {
                let plan = self.plan_startup_batch(c.formed_in)?;
                let (items, w) = ops::startup_batch(&ctx, &mut st.lines, &plan, c)?;
                touched = vec![LineId::new(
                    crate::budget::fiscal_year(c.date),
                    BudgetLineKind::StartUp,
                )];
                for (new, txn) in items {
                    let id = next_id(&st.allocations);
                    out.transactions.push(post(txn.with_allocation(id)));
                    out.allocations.push(id);
                    st.allocations.insert(id, Allocation::from_new(id, new));
                }
                out.message = format!(
                    "allocated start-up funds to {} units, {} in total",
                    plan.count,
                    plan.total.grouped()
                );
                warnings = w;
            }
            Command::Disburse(c) => {
                let a = st
                    .allocations
                    .get_mut(&c.allocation)
                    .ok_or(LedgerError::UnknownAllocation(c.allocation))?;
                let (txn, w) = ops::disburse(&ctx, &mut st.lines, a, c)?;
                touched = txn.lines();
                out.message = format!(
                    "disbursed {} of allocation #{}; {} left",
                    c.amount.grouped(),
                    a.id,
                    a.outstanding.grouped()
                );
                out.transactions.push(post(txn));
                out.allocations.push(a.id);
                warnings = w;
            }
            Command::Release(c) => {
                let a = st
                    .allocations
                    .get_mut(&c.allocation)
                    .ok_or(LedgerError::UnknownAllocation(c.allocation))?;
                let txn = ops::release(&ctx, &mut st.lines, a, c)?;
                touched = txn.lines();
                out.message = format!("released {} of allocation #{}", a.released.grouped(), a.id);
                out.transactions.push(post(txn));
                out.allocations.push(a.id);
            }
            Command::PayDirect(c) => {
                let (txn, w) = ops::pay_direct(&ctx, &mut st.lines, c)?;
                touched = txn.lines();
                out.message = format!(
                    "paid {} to {} without commitment",
                    c.amount.grouped(),
                    c.payee
                );
                out.transactions.push(post(txn));
                warnings = w;
            }
            Command::RecordDues(c) => {
                let key = (c.unit.clone(), c.month);
                let txn = ops::record_dues(&ctx, st.dues.get(&key).copied(), c)?;
                let id = post(txn);
                st.dues.insert(key, id);
                out.message = format!(
                    "recorded {} of dues from {} for {}",
                    c.amount.grouped(),
                    c.unit,
                    c.month
                );
                out.transactions.push(id);
            }
            Command::ApplyRebate(c) => {
                let remitted = self.remitted(st, &c.unit, c.dues_year);
                let existing = st
                    .rebates
                    .values()
                    .find(|r| r.unit == c.unit && r.dues_year == c.dues_year);
                let new = ops::apply_rebate(&ctx, remitted, existing, c)?;
                let id = st.rebates.keys().next_back().map_or(1, |k| k + 1);
                out.message = format!(
                    "rebate application #{id}: {} of the {} remitted in {}",
                    new.amount.grouped(),
                    new.remitted.grouped(),
                    new.dues_year
                );
                st.rebates.insert(
                    id,
                    RebateApplication {
                        id,
                        unit: new.unit,
                        dues_year: new.dues_year,
                        remitted: new.remitted,
                        amount: new.amount,
                        applied_on: new.applied_on,
                        status: RebateStatus::Pending,
                        allocation: None,
                    },
                );
                out.rebate_application = Some(id);
            }
            Command::ApproveRebate(c) => {
                let id = next_id(&st.allocations);
                let app = st.rebates.get_mut(&c.application).ok_or_else(|| {
                    LedgerError::Dues(format!("there is no rebate application #{}", c.application))
                })?;
                let (new, txn, w) = ops::approve_rebate(&ctx, &mut st.lines, app, c)?;
                app.allocation = Some(id);
                touched = txn.lines();
                out.message = format!(
                    "approved rebate #{}: {} (allocation #{id})",
                    app.id,
                    app.amount.grouped()
                );
                out.rebate_application = Some(app.id);
                out.transactions.push(post(txn.with_allocation(id)));
                out.allocations.push(id);
                st.allocations.insert(id, Allocation::from_new(id, new));
                warnings = w;
            }
            Command::Reverse(c) => {
                let original = self
                    .journal
                    .get((c.transaction - 1).max(0) as usize)
                    .filter(|t| t.id == c.transaction)
                    .ok_or(LedgerError::UnknownTransaction(c.transaction))?;
                let dues_key = st
                    .dues
                    .iter()
                    .find(|(_, id)| **id == original.id)
                    .map(|(k, _)| k.clone());
                let rebate_applied = dues_key.as_ref().is_some_and(|(unit, month)| {
                    st.rebates
                        .values()
                        .any(|r| &r.unit == unit && r.dues_year == month.year())
                });
                let alloc_id = original.txn.allocation();
                let target = ReversalTarget {
                    original,
                    reversed_by: st.reversed_by.get(&original.id).copied(),
                    allocation: alloc_id.and_then(|id| st.allocations.get_mut(&id)),
                    rebate_applied,
                };
                let (txn, w) = ops::reverse(&ctx, &mut st.lines, target, c)?;
                touched = txn.lines();
                let id = post(txn);
                st.reversed_by.insert(original.id, id);
                if let Some(k) = dues_key {
                    st.dues.remove(&k);
                }
                // A reversed rebate allocation sends its application back to pending.
                if original.txn.kind() == TxnKind::Allocation
                    && let Some(app) = st.rebates.values_mut().find(|r| r.allocation == alloc_id)
                {
                    app.status = RebateStatus::Pending;
                    app.allocation = None;
                }
                out.message = format!("reversed transaction #{} with #{id}", original.id);
                out.transactions.push(id);
                out.allocations.extend(alloc_id);
                warnings = w;
            }
            Command::BankCharge(c) => {
                let txn = ops::bank_charge(&ctx, c)?;
                out.message = format!(
                    "booked a bank charge of {} to {}",
                    c.amount.grouped(),
                    c.fee_account
                );
                out.transactions.push(post(txn));
            }
            Command::Receive(c) => {
                let txn = ops::receive(&ctx, c)?;
                out.message = c.message();
                out.transactions.push(post(txn));
            }
            Command::ClosePeriod(c) => {
                st.periods = st.periods.close(c.month, today)?;
                out.message = format!("closed every period through {}", c.month);
            }
            Command::CloseYear(c) => {
                let mut open: Vec<Allocation> = st
                    .allocations
                    .values()
                    .filter(|a| a.line.year == c.year && a.status == AllocationStatus::Open)
                    .cloned()
                    .collect();
                let txns = ops::close_year(&ctx, &mut st.lines, &mut open, c)?;
                for a in open {
                    st.allocations.insert(a.id, a);
                }
                for txn in txns {
                    out.transactions.push(post(txn));
                }
                st.closed_years.insert(c.year);
                touched = st
                    .lines
                    .keys()
                    .copied()
                    .filter(|l| l.year == c.year + 1)
                    .collect();
                out.message = format!(
                    "closed fiscal year {} ({} entries)",
                    c.year,
                    out.transactions.len()
                );
            }
        }
        out.headroom = touched
            .into_iter()
            .filter_map(|line| {
                st.lines.get(&line).map(|b| LineHeadroom {
                    line,
                    headroom: b.available,
                })
            })
            .collect();
        out.warnings = warnings.into_iter().map(|w| w.message).collect();
        Ok(out)
    }

    fn remitted(&self, st: &State, unit: &str, year: i32) -> Money {
        st.dues
            .iter()
            .filter(|((u, m), _)| u == unit && m.year() == year)
            .filter_map(|(_, id)| self.journal.get((*id - 1) as usize))
            .map(|t| t.txn.total())
            .sum()
    }
}

fn next_id<T>(map: &BTreeMap<i64, T>) -> i64 {
    map.keys().next_back().map_or(1, |k| k + 1)
}

/// What a unit holds on a kind of line, for the rate card. A sum beyond the range of
/// money is an error, as it is in the store.
pub fn holding(
    allocations: &BTreeMap<i64, Allocation>,
    unit: &str,
    kind: BudgetLineKind,
) -> Result<UnitHolding, LedgerError> {
    let mut h = UnitHolding::default();
    for a in allocations.values() {
        if a.unit == unit && a.line.kind == kind && a.status != AllocationStatus::Reversed {
            h.allocations += 1;
            h.net = h.net.checked_add(a.net()?).ok_or(LedgerError::Overflow)?;
            h.example.get_or_insert(a.id);
        }
    }
    Ok(h)
}

#[cfg(test)]
mod tests;
