//! Reads: balances, the budget report, the journal, allocations, dues, rebates, periods,
//! the start-up plan, and a verification of every stored figure against the postings.

use super::rows;
use crate::entities::{
    elections, ledger_allocations, ledger_closed_years, ledger_dues, ledger_lines, ledger_rebates,
    ledger_state, ledger_transactions, party_units,
};
use crate::money::sum_fen_expr;
use crate::{Store, StoreError};
use chrono::NaiveDate;
use duban_core::money::Money;
use duban_ledger::budget::{BudgetLineKind, LineBalances, LineId};
use duban_ledger::config::LedgerConfig;
use duban_ledger::journal::{PostedTransaction, TxnKind};
use duban_ledger::model::{Allocation, AllocationStatus, RebateApplication, RebateStatus};
use duban_ledger::period::{Periods, YearMonth};
use duban_ledger::rates::{BatchPlan, Candidate, plan_startup_batch};
use duban_ledger::report::{BalanceReport, BudgetReport};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One month of dues from one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuesRow {
    pub unit: String,
    pub month: String,
    pub amount: Money,
    pub transaction: i64,
    /// False once the record was reversed.
    pub standing: bool,
}

/// Periods and fiscal years closed so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerStatus {
    pub periods: Periods,
    pub closed_years: Vec<i32>,
}

pub(super) fn rebate_of(
    row: &ledger_rebates::Model,
    unit: String,
) -> Result<RebateApplication, StoreError> {
    Ok(RebateApplication {
        id: row.id,
        unit,
        dues_year: row.dues_year,
        remitted: Money::from_fen(row.remitted),
        amount: Money::from_fen(row.amount),
        applied_on: row.applied_on,
        status: RebateStatus::parse(&row.status)
            .ok_or_else(|| rows::invalid_row("rebate status", &row.status))?,
        allocation: row.allocation_id,
    })
}

/// Dues a unit remitted in `year` (standing records only).
pub(super) async fn remitted<C: ConnectionTrait>(
    c: &C,
    unit_id: i64,
    year: i32,
) -> Result<Money, StoreError> {
    let backend = c.get_database_backend();
    let q = Query::select()
        .expr_as(
            sum_fen_expr(backend, Expr::col(Alias::new("amount"))),
            Alias::new("total"),
        )
        .from(Alias::new("ledger_dues"))
        .and_where(Expr::col(Alias::new("unit_id")).eq(unit_id))
        .and_where(Expr::col(Alias::new("standing_key")).is_not_null())
        .and_where(Expr::col(Alias::new("month")).like(format!("{year}-%")))
        .to_owned();
    let row = c
        .query_one(&q)
        .await?
        .ok_or_else(|| StoreError::Invalid("SUM returned no row".into()))?;
    Ok(Money::from_fen(row.try_get("", "total")?))
}

/// Units with their earliest known date, from the register.
async fn candidates<C: ConnectionTrait>(
    c: &C,
) -> Result<(Vec<Candidate>, HashMap<String, i64>), StoreError> {
    let units: Vec<(i64, String, Option<NaiveDate>)> = party_units::Entity::find()
        .select_only()
        .column(party_units::Column::Id)
        .column(party_units::Column::Code)
        .column(party_units::Column::TermStart)
        .into_tuple()
        .all(c)
        .await?;
    let held: Vec<(i64, NaiveDate)> = elections::Entity::find()
        .select_only()
        .column(elections::Column::UnitId)
        .column(elections::Column::HeldOn)
        .into_tuple()
        .all(c)
        .await?;
    let mut first: HashMap<i64, NaiveDate> = HashMap::new();
    for (unit, d) in held {
        first
            .entry(unit)
            .and_modify(|e| *e = Ord::min(*e, d))
            .or_insert(d);
    }
    let mut out = Vec::new();
    let mut ids = HashMap::new();
    for (id, code, term_start) in units {
        let dates = [term_start, first.get(&id).copied()];
        if let Some(formed_on) = dates.into_iter().flatten().min() {
            out.push(Candidate {
                unit: code.clone(),
                formed_on,
            });
        }
        ids.insert(code, id);
    }
    Ok((out, ids))
}

/// Units holding start-up funds already (allocations not reversed).
async fn startup_funded<C: ConnectionTrait>(c: &C) -> Result<BTreeSet<String>, StoreError> {
    let line_ids: Vec<i64> = ledger_lines::Entity::find()
        .select_only()
        .column(ledger_lines::Column::Id)
        .filter(ledger_lines::Column::Kind.eq(BudgetLineKind::StartUp.slug()))
        .into_tuple()
        .all(c)
        .await?;
    let unit_ids: Vec<i64> = ledger_allocations::Entity::find()
        .select_only()
        .column(ledger_allocations::Column::UnitId)
        .filter(ledger_allocations::Column::LineId.is_in(line_ids))
        .filter(ledger_allocations::Column::Status.ne(AllocationStatus::Reversed.as_str()))
        .into_tuple()
        .all(c)
        .await?;
    Ok(rows::unit_codes(c, unit_ids.into_iter().collect())
        .await?
        .into_values()
        .collect())
}

/// The start-up plan for units formed in `formed_in`, and every unit's id by code.
pub(super) async fn startup_plan<C: ConnectionTrait>(
    c: &C,
    config: &LedgerConfig,
    formed_in: i32,
) -> Result<(BatchPlan, HashMap<String, i64>), StoreError> {
    let (cands, ids) = candidates(c).await?;
    let funded = startup_funded(c).await?;
    Ok((
        plan_startup_batch(&config.rates, formed_in, &cands, &funded)?,
        ids,
    ))
}

impl Store {
    /// What a start-up batch for `formed_in` would allocate now: the dry run.
    pub async fn ledger_plan_startup(
        &self,
        config: &LedgerConfig,
        formed_in: i32,
    ) -> Result<BatchPlan, StoreError> {
        Ok(startup_plan(self.conn(), config, formed_in).await?.0)
    }

    /// Every account's balance, summed exactly in the database.
    pub async fn ledger_balances(&self) -> Result<BalanceReport, StoreError> {
        let c = self.conn();
        let q = Query::select()
            .column(Alias::new("account"))
            .expr_as(
                sum_fen_expr(c.get_database_backend(), Expr::col(Alias::new("amount"))),
                Alias::new("total"),
            )
            .from(Alias::new("ledger_postings"))
            .group_by_col(Alias::new("account"))
            .to_owned();
        let mut out = Vec::new();
        for row in c.query_all(&q).await? {
            let account: String = row.try_get("", "account")?;
            let total: i64 = row.try_get("", "total")?;
            out.push((account, Money::from_fen(total)));
        }
        Ok(BalanceReport::new(out)?)
    }

    /// Every budget line's balances.
    pub async fn ledger_lines(
        &self,
        year: Option<i32>,
    ) -> Result<BTreeMap<LineId, LineBalances>, StoreError> {
        let mut q = ledger_lines::Entity::find();
        if let Some(y) = year {
            q = q.filter(ledger_lines::Column::Year.eq(y));
        }
        let mut out = BTreeMap::new();
        for row in q.all(self.conn()).await? {
            out.insert(rows::line_id_of(&row)?, rows::balances_of(&row));
        }
        Ok(out)
    }

    /// The budget of `year`: appropriated, committed, paid, headroom, execution rate.
    pub async fn ledger_budget(&self, year: i32) -> Result<BudgetReport, StoreError> {
        Ok(BudgetReport::new(
            year,
            &self.ledger_lines(Some(year)).await?,
        )?)
    }

    /// The year-end entries that close `year` (dated 31 December), in number order.
    pub async fn ledger_closing_entries(
        &self,
        year: i32,
    ) -> Result<Vec<PostedTransaction>, StoreError> {
        let Some(last) = NaiveDate::from_ymd_opt(year, 12, 31) else {
            return Ok(Vec::new());
        };
        let c = self.conn();
        let rows = ledger_transactions::Entity::find()
            .filter(ledger_transactions::Column::Kind.eq(TxnKind::YearEnd.as_str()))
            .filter(ledger_transactions::Column::Date.eq(last))
            .order_by_asc(ledger_transactions::Column::Id)
            .all(c)
            .await?;
        rows::load_transactions(c, rows).await
    }

    /// The whole journal in transaction order.
    pub async fn ledger_journal(&self) -> Result<Vec<PostedTransaction>, StoreError> {
        let rows = ledger_transactions::Entity::find()
            .order_by_asc(ledger_transactions::Column::Id)
            .all(self.conn())
            .await?;
        rows::load_transactions(self.conn(), rows).await
    }

    /// The last `limit` transactions, newest last.
    pub async fn ledger_recent(&self, limit: u64) -> Result<Vec<PostedTransaction>, StoreError> {
        let mut rows = ledger_transactions::Entity::find()
            .order_by_desc(ledger_transactions::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await?;
        rows.reverse();
        rows::load_transactions(self.conn(), rows).await
    }

    /// Allocations, optionally of one fiscal year and/or one unit, in id order.
    pub async fn ledger_allocations(
        &self,
        year: Option<i32>,
        unit: Option<&str>,
    ) -> Result<Vec<Allocation>, StoreError> {
        let c = self.conn();
        let lines: HashMap<i64, LineId> = ledger_lines::Entity::find()
            .all(c)
            .await?
            .iter()
            .map(|r| Ok((r.id, rows::line_id_of(r)?)))
            .collect::<Result<_, StoreError>>()?;
        let mut q = ledger_allocations::Entity::find().order_by_asc(ledger_allocations::Column::Id);
        if let Some(code) = unit {
            q = q.filter(
                ledger_allocations::Column::UnitId.eq(rows::unit_id(c, code, false).await?),
            );
        }
        if let Some(y) = year {
            let ids: Vec<i64> = lines
                .iter()
                .filter(|(_, l)| l.year == y)
                .map(|(id, _)| *id)
                .collect();
            q = q.filter(ledger_allocations::Column::LineId.is_in(ids));
        }
        allocations_of(c, q.all(c).await?, &lines).await
    }

    /// How many allocations a selection names and what they add up to, counted by the
    /// database.
    pub async fn ledger_allocation_totals(
        &self,
        sel: &AllocationSelection,
    ) -> Result<AllocationTotals, StoreError> {
        let c = self.conn();
        let backend = c.get_database_backend();
        let fen = |col: ledger_allocations::Column| {
            sum_fen_expr(backend, Expr::col((ledger_allocations::Entity, col)))
        };
        let (total, amount, disbursed, outstanding): (i64, i64, i64, i64) =
            allocation_selection_query(sel)
                .select_only()
                .expr(
                    Expr::col((ledger_allocations::Entity, ledger_allocations::Column::Id)).count(),
                )
                .expr(fen(ledger_allocations::Column::Amount))
                .expr(fen(ledger_allocations::Column::Disbursed))
                .expr(fen(ledger_allocations::Column::Outstanding))
                .into_tuple()
                .one(c)
                .await?
                .unwrap_or_default();
        Ok(AllocationTotals {
            total: u64::try_from(total).unwrap_or_default(),
            amount: Money::from_fen(amount),
            disbursed: Money::from_fen(disbursed),
            outstanding: Money::from_fen(outstanding),
        })
    }

    /// The allocations a selection names, in its order, from `offset` (at most `limit` of
    /// them, all when `None`). Filters, scope, order and paging are done by the database.
    pub async fn ledger_allocation_rows(
        &self,
        sel: &AllocationSelection,
        offset: u64,
        limit: Option<u64>,
    ) -> Result<Vec<Allocation>, StoreError> {
        let c = self.conn();
        let order = if sel.descending {
            sea_orm::Order::Desc
        } else {
            sea_orm::Order::Asc
        };
        let q = allocation_selection_query(sel);
        let q = match sel.order {
            AllocationSort::Date => q.order_by(ledger_allocations::Column::Date, order.clone()),
            AllocationSort::Unit => q.order_by(party_units::Column::Code, order.clone()),
            AllocationSort::Line => q
                .order_by(ledger_lines::Column::Year, order.clone())
                .order_by(ledger_lines::Column::Kind, order.clone()),
            AllocationSort::Amount => q.order_by(ledger_allocations::Column::Amount, order.clone()),
            AllocationSort::Outstanding => {
                q.order_by(ledger_allocations::Column::Outstanding, order.clone())
            }
        };
        // Each order ends on the allocation's number, so equal keys keep one order.
        let mut q = q.order_by(ledger_allocations::Column::Id, order);
        // MySQL takes an OFFSET only after a LIMIT.
        if offset > 0 || limit.is_some() {
            q = q.offset(offset).limit(limit.unwrap_or(i64::MAX as u64));
        }
        let found = q.all(c).await?;
        let line_ids: BTreeSet<i64> = found.iter().map(|r| r.line_id).collect();
        let lines: HashMap<i64, LineId> = ledger_lines::Entity::find()
            .filter(ledger_lines::Column::Id.is_in(line_ids))
            .all(c)
            .await?
            .iter()
            .map(|r| Ok((r.id, rows::line_id_of(r)?)))
            .collect::<Result<_, StoreError>>()?;
        allocations_of(c, found, &lines).await
    }

    /// One allocation by its number.
    pub async fn ledger_allocation(&self, id: i64) -> Result<Option<Allocation>, StoreError> {
        let c = self.conn();
        let Some(row) = ledger_allocations::Entity::find_by_id(id).one(c).await? else {
            return Ok(None);
        };
        let line = ledger_lines::Entity::find_by_id(row.line_id)
            .one(c)
            .await?
            .ok_or_else(|| rows::invalid_row("allocation's budget line", row.line_id))?;
        let codes = rows::unit_codes(c, BTreeSet::from([row.unit_id])).await?;
        let unit = codes.get(&row.unit_id).cloned().unwrap_or_default();
        Ok(Some(rows::allocation_of(
            &row,
            rows::line_id_of(&line)?,
            unit,
        )?))
    }

    /// The transactions linked to a unit (by register code) and/or to an allocation, in
    /// number order. An unknown unit is refused.
    pub async fn ledger_transactions_of(
        &self,
        unit: Option<&str>,
        allocation: Option<i64>,
    ) -> Result<Vec<PostedTransaction>, StoreError> {
        let c = self.conn();
        let mut q =
            ledger_transactions::Entity::find().order_by_asc(ledger_transactions::Column::Id);
        if let Some(code) = unit {
            q = q.filter(
                ledger_transactions::Column::UnitId.eq(rows::unit_id(c, code, false).await?),
            );
        }
        if let Some(id) = allocation {
            q = q.filter(ledger_transactions::Column::AllocationId.eq(id));
        }
        rows::load_transactions(c, q.all(c).await?).await
    }

    /// How many postings the journal holds.
    pub async fn ledger_posting_count(&self) -> Result<i64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(crate::entities::ledger_postings::Entity::find()
            .count(self.conn())
            .await? as i64)
    }

    /// Rebate applications in id order.
    pub async fn ledger_rebates(&self) -> Result<Vec<RebateApplication>, StoreError> {
        let c = self.conn();
        let found = ledger_rebates::Entity::find()
            .order_by_asc(ledger_rebates::Column::Id)
            .all(c)
            .await?;
        let codes = rows::unit_codes(c, found.iter().map(|r| r.unit_id).collect()).await?;
        found
            .iter()
            .map(|r| rebate_of(r, codes.get(&r.unit_id).cloned().unwrap_or_default()))
            .collect()
    }

    /// Dues records, optionally of one year, by unit and month.
    pub async fn ledger_dues(&self, year: Option<i32>) -> Result<Vec<DuesRow>, StoreError> {
        let c = self.conn();
        let mut q = ledger_dues::Entity::find().order_by_asc(ledger_dues::Column::Id);
        if let Some(y) = year {
            q = q.filter(ledger_dues::Column::Month.like(format!("{y}-%")));
        }
        let found = q.all(c).await?;
        let codes = rows::unit_codes(c, found.iter().map(|r| r.unit_id).collect()).await?;
        let mut out: Vec<DuesRow> = found
            .into_iter()
            .map(|r| DuesRow {
                unit: codes.get(&r.unit_id).cloned().unwrap_or_default(),
                month: r.month,
                amount: Money::from_fen(r.amount),
                transaction: r.transaction_id,
                standing: r.standing_key.is_some(),
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.unit, &a.month, a.transaction).cmp(&(&b.unit, &b.month, b.transaction))
        });
        Ok(out)
    }

    /// Periods and years closed so far.
    pub async fn ledger_status(&self) -> Result<LedgerStatus, StoreError> {
        let c = self.conn();
        let state = ledger_state::Entity::find_by_id(1i64)
            .one(c)
            .await?
            .ok_or_else(|| {
                StoreError::Invalid(
                    "the ledger state row is missing; run `duban migrate up`".into(),
                )
            })?;
        let closed_through = state
            .closed_through
            .as_deref()
            .map(YearMonth::parse)
            .transpose()
            .map_err(|e| rows::invalid_row("closed period", e))?;
        let mut closed_years: Vec<i32> = ledger_closed_years::Entity::find()
            .all(c)
            .await?
            .into_iter()
            .map(|r| r.year)
            .collect();
        closed_years.sort_unstable();
        Ok(LedgerStatus {
            periods: Periods { closed_through },
            closed_years,
        })
    }

    /// Recomputes every stored figure from the postings: each transaction balances, each
    /// line's balances equal the sums of its budget postings, each allocation's outstanding
    /// amount equals its committed postings. Returns what disagrees (nothing, normally).
    pub async fn ledger_verify(&self) -> Result<Vec<String>, StoreError> {
        let c = self.conn();
        let backend = c.get_database_backend();
        let mut problems = Vec::new();
        let sum = || sum_fen_expr(backend, Expr::col(Alias::new("amount")));

        let q = Query::select()
            .column(Alias::new("transaction_id"))
            .expr_as(sum(), Alias::new("total"))
            .from(Alias::new("ledger_postings"))
            .group_by_col(Alias::new("transaction_id"))
            .and_having(sum().ne(0))
            .to_owned();
        for row in c.query_all(&q).await? {
            let id: i64 = row.try_get("", "transaction_id")?;
            let total: i64 = row.try_get("", "total")?;
            problems.push(format!(
                "transaction #{id} does not balance: {}",
                Money::from_fen(total)
            ));
        }

        let q = Query::select()
            .column(Alias::new("line_id"))
            .column(Alias::new("account"))
            .expr_as(sum(), Alias::new("total"))
            .from(Alias::new("ledger_postings"))
            .and_where(Expr::col(Alias::new("line_id")).is_not_null())
            .group_by_col(Alias::new("line_id"))
            .group_by_col(Alias::new("account"))
            .to_owned();
        let mut recomputed: HashMap<i64, LineBalances> = HashMap::new();
        for row in c.query_all(&q).await? {
            let line: i64 = row.try_get("", "line_id")?;
            let account: String = row.try_get("", "account")?;
            let total: i64 = row.try_get("", "total")?;
            let (_, role) = duban_ledger::account::Account::parse(&account)
                .ok()
                .and_then(|a| a.line())
                .ok_or_else(|| rows::invalid_row("budget posting account", &account))?;
            recomputed
                .entry(line)
                .or_default()
                .apply(role, Money::from_fen(total))?;
        }
        for row in ledger_lines::Entity::find().all(c).await? {
            let stored = rows::balances_of(&row);
            let from_postings = recomputed.remove(&row.id).unwrap_or_default();
            if stored != from_postings {
                problems.push(format!(
                    "budget line {} {}: stored {stored:?}, postings give {from_postings:?}",
                    row.year, row.kind
                ));
            }
        }

        let q = Query::select()
            .column((Alias::new("t"), Alias::new("allocation_id")))
            .expr_as(
                sum_fen_expr(backend, Expr::col((Alias::new("p"), Alias::new("amount")))),
                Alias::new("total"),
            )
            .from_as(Alias::new("ledger_postings"), Alias::new("p"))
            .join_as(
                JoinType::InnerJoin,
                Alias::new("ledger_transactions"),
                Alias::new("t"),
                Expr::col((Alias::new("t"), Alias::new("id")))
                    .equals((Alias::new("p"), Alias::new("transaction_id"))),
            )
            .and_where(Expr::col((Alias::new("t"), Alias::new("allocation_id"))).is_not_null())
            .and_where(
                Expr::col((Alias::new("p"), Alias::new("account"))).like("budget:%:committed"),
            )
            .group_by_col((Alias::new("t"), Alias::new("allocation_id")))
            .to_owned();
        let mut committed: HashMap<i64, i64> = HashMap::new();
        for row in c.query_all(&q).await? {
            committed.insert(row.try_get("", "allocation_id")?, row.try_get("", "total")?);
        }
        for a in ledger_allocations::Entity::find().all(c).await? {
            let from_postings = committed.get(&a.id).copied().unwrap_or(0);
            if a.outstanding != from_postings {
                problems.push(format!(
                    "allocation #{}: outstanding {}, committed postings give {}",
                    a.id,
                    Money::from_fen(a.outstanding),
                    Money::from_fen(from_postings)
                ));
            }
        }
        Ok(problems)
    }
}

/// How a selection of allocations is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AllocationSort {
    #[default]
    Date,
    Unit,
    Line,
    Amount,
    Outstanding,
}

/// Which allocations to select; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllocationSelection {
    /// The fiscal year of the line the allocation is charged to.
    pub year: Option<i32>,
    /// A unit's code, or a part of it.
    pub unit: Option<String>,
    pub line: Option<BudgetLineKind>,
    pub status: Option<AllocationStatus>,
    /// The reader's districts or units; `None` for all.
    pub scope: Option<crate::lists::Scope>,
    pub order: AllocationSort,
    pub descending: bool,
}

/// How many allocations a selection names and their sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocationTotals {
    pub total: u64,
    pub amount: Money,
    pub disbursed: Money,
    pub outstanding: Money,
}

/// The allocations a selection names, joined to their unit and line, unordered.
fn allocation_selection_query(
    sel: &AllocationSelection,
) -> sea_orm::Select<ledger_allocations::Entity> {
    let to_unit: sea_orm::RelationDef = ledger_allocations::Entity::belongs_to(party_units::Entity)
        .from(ledger_allocations::Column::UnitId)
        .to(party_units::Column::Id)
        .into();
    let to_line: sea_orm::RelationDef =
        ledger_allocations::Entity::belongs_to(ledger_lines::Entity)
            .from(ledger_allocations::Column::LineId)
            .to(ledger_lines::Column::Id)
            .into();
    let mut cond = sea_orm::Condition::all().add(Store::in_scope(
        ledger_allocations::Column::UnitId,
        &sel.scope,
    ));
    if let Some(y) = sel.year {
        cond = cond.add(ledger_lines::Column::Year.eq(y));
    }
    if let Some(k) = sel.line {
        cond = cond.add(ledger_lines::Column::Kind.eq(k.slug()));
    }
    if let Some(st) = sel.status {
        cond = cond.add(ledger_allocations::Column::Status.eq(st.as_str()));
    }
    if let Some(u) = sel.unit.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        cond = cond.add(party_units::Column::Code.contains(u));
    }
    ledger_allocations::Entity::find()
        .join(JoinType::InnerJoin, to_unit)
        .join(JoinType::InnerJoin, to_line)
        .filter(cond)
}

/// Allocation rows as the ledger's values, with their lines (which `lines` must hold) and
/// their units' codes.
async fn allocations_of<C: ConnectionTrait>(
    c: &C,
    found: Vec<ledger_allocations::Model>,
    lines: &HashMap<i64, LineId>,
) -> Result<Vec<Allocation>, StoreError> {
    let codes = rows::unit_codes(c, found.iter().map(|r| r.unit_id).collect()).await?;
    found
        .iter()
        .map(|r| {
            rows::allocation_of(
                r,
                lines[&r.line_id],
                codes.get(&r.unit_id).cloned().unwrap_or_default(),
            )
        })
        .collect()
}
