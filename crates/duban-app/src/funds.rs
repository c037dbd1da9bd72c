//! The funds as the finance office works with them in a browser: the budget's execution in
//! a year, the headroom an allocation form shows before it is sent, allocations filtered,
//! sorted and paged, one allocation with its payments (what a disbursement form shows), and
//! a unit's fund ledger (经费台账). Every write goes through [`App::ledger_apply`], like
//! the API's.

use crate::units::PAGE_SIZE;
use crate::{Actor, App, AppError, Permission};
use chrono::Datelike;
use duban_core::money::Money;
use duban_ledger::LedgerError;
use duban_ledger::budget::{BudgetLineKind, percent_to};
use duban_ledger::journal::PostedTransaction;
use duban_ledger::model::{Allocation, AllocationStatus};
use duban_ledger::report::{BudgetReport, BudgetRow, UnitLedgerRow, unit_ledger};
use duban_store::ledger::{AllocationSelection, AllocationSort};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeSet;

fn ledger_error(error: LedgerError) -> AppError {
    AppError::Ledger { error, index: None }
}

pub(crate) fn checked_year(year: i32) -> Result<i32, AppError> {
    if (2000..=2999).contains(&year) {
        Ok(year)
    } else {
        Err(AppError::invalid_at(
            "year",
            format!("年度“{year}”超出范围，应在2000年至2999年之间 (not a year: {year})"),
        ))
    }
}

/// One budget line's execution: the budget report's row and the execution rate to one
/// decimal place (paid ÷ appropriated, rounded once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionRow {
    #[serde(flatten)]
    pub figures: BudgetRow,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub rate: Option<Decimal>,
}

impl From<&BudgetRow> for ExecutionRow {
    fn from(r: &BudgetRow) -> Self {
        ExecutionRow {
            figures: r.clone(),
            rate: percent_to(r.paid, r.appropriated, 1),
        }
    }
}

/// The budget's execution in a year (预算执行情况), line by line with totals, and the
/// years there are to choose from; a closed year as it stood before its closing entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetExecution {
    pub year: i32,
    pub rows: Vec<ExecutionRow>,
    pub total: ExecutionRow,
    /// Years with budget lines, this year and the year shown; newest first.
    pub years: Vec<i32>,
}

impl BudgetExecution {
    fn of(report: &BudgetReport, years: Vec<i32>) -> Self {
        BudgetExecution {
            year: report.year,
            rows: report.rows.iter().map(ExecutionRow::from).collect(),
            total: ExecutionRow::from(&report.total),
            years,
        }
    }
}

/// How the allocations can be sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AllocationOrder {
    #[default]
    Date,
    Unit,
    Line,
    Amount,
    Outstanding,
}

impl AllocationOrder {
    pub const ALL: [AllocationOrder; 5] = [
        AllocationOrder::Date,
        AllocationOrder::Unit,
        AllocationOrder::Line,
        AllocationOrder::Amount,
        AllocationOrder::Outstanding,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AllocationOrder::Date => "date",
            AllocationOrder::Unit => "unit",
            AllocationOrder::Line => "line",
            AllocationOrder::Amount => "amount",
            AllocationOrder::Outstanding => "outstanding",
        }
    }

    /// The order a column's name asks for; an unknown name is refused, naming the known ones.
    pub fn parse(s: &str) -> Result<AllocationOrder, AppError> {
        crate::units::named_order(s, Self::ALL, Self::as_str)
    }
}

/// What a reader asks of the allocations; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllocationQuery {
    /// The fiscal year of the line the allocation is charged to.
    pub year: Option<i32>,
    /// A unit's code, or a part of it.
    pub unit: Option<String>,
    pub line: Option<BudgetLineKind>,
    pub status: Option<AllocationStatus>,
    pub order: AllocationOrder,
    pub descending: bool,
    /// 1-based; clamped to the pages there are.
    pub page: u64,
}

/// What the allocations a query selects add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AllocationSums {
    pub amount: Money,
    pub disbursed: Money,
    pub outstanding: Money,
}

/// One page of allocations with where it stands and the sums of the whole selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllocationPage {
    pub rows: Vec<Allocation>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub sums: AllocationSums,
}

/// An allocation and every transaction booked on it, in number order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllocationDetail {
    pub allocation: Allocation,
    pub transactions: Vec<PostedTransaction>,
}

/// A unit's fund ledger: its allocations and every transaction that concerns it, with the
/// running totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitFunds {
    pub code: String,
    pub name: String,
    pub allocations: Vec<Allocation>,
    pub rows: Vec<UnitLedgerRow>,
}

impl App {
    /// The budget's execution in `year` (this year when none).
    pub async fn budget_execution(
        &self,
        actor: &Actor,
        year: Option<i32>,
    ) -> Result<BudgetExecution, AppError> {
        actor.require(Permission::ReadLedger)?;
        let this_year = self.today().year();
        let year = checked_year(year.unwrap_or(this_year))?;
        let lines = self.store().ledger_lines(None).await?;
        let mut years: BTreeSet<i32> = lines.keys().map(|l| l.year).collect();
        years.extend([year, this_year]);
        let report =
            BudgetReport::new(year, &self.year_lines(year).await?).map_err(ledger_error)?;
        Ok(BudgetExecution::of(
            &report,
            years.into_iter().rev().collect(),
        ))
    }

    /// The lines of `year` an allocation can be charged to, with their headroom now: what
    /// the allocation form shows before anything is sent. Only those who book may ask.
    pub async fn allocation_headroom(
        &self,
        actor: &Actor,
        year: i32,
    ) -> Result<BudgetExecution, AppError> {
        actor.require(Permission::WriteLedger)?;
        let year = checked_year(year)?;
        let report = self.store().ledger_budget(year).await?;
        Ok(BudgetExecution::of(&report, vec![year]))
    }

    /// The selection a query and the actor's scope make, for the store.
    fn allocation_selection(
        actor: &Actor,
        q: &AllocationQuery,
    ) -> Result<AllocationSelection, AppError> {
        if let Some(y) = q.year {
            checked_year(y)?;
        }
        Ok(AllocationSelection {
            year: q.year,
            unit: q.unit.clone(),
            line: q.line,
            status: q.status,
            scope: actor.list_scope(),
            order: match q.order {
                AllocationOrder::Date => AllocationSort::Date,
                AllocationOrder::Unit => AllocationSort::Unit,
                AllocationOrder::Line => AllocationSort::Line,
                AllocationOrder::Amount => AllocationSort::Amount,
                AllocationOrder::Outstanding => AllocationSort::Outstanding,
            },
            descending: q.descending,
        })
    }

    /// One page of the allocations a query selects within the actor's scope, with the sums
    /// of all of them; a page beyond the last shows the last.
    pub async fn allocation_page(
        &self,
        actor: &Actor,
        q: &AllocationQuery,
    ) -> Result<AllocationPage, AppError> {
        actor.require(Permission::ReadLedger)?;
        let sel = Self::allocation_selection(actor, q)?;
        let store = self.store();
        let totals = store.ledger_allocation_totals(&sel).await?;
        let (page, pages, offset) = crate::chains::locate(totals.total, q.page);
        let rows = store
            .ledger_allocation_rows(&sel, offset, Some(PAGE_SIZE))
            .await?;
        Ok(AllocationPage {
            rows,
            total: totals.total,
            page,
            pages,
            sums: AllocationSums {
                amount: totals.amount,
                disbursed: totals.disbursed,
                outstanding: totals.outstanding,
            },
        })
    }

    /// Every allocation a query selects within the actor's scope, in its order, for an
    /// export.
    pub async fn allocation_export(
        &self,
        actor: &Actor,
        q: &AllocationQuery,
    ) -> Result<Vec<Allocation>, AppError> {
        actor.require(Permission::ReadLedger)?;
        let sel = Self::allocation_selection(actor, q)?;
        Ok(self.store().ledger_allocation_rows(&sel, 0, None).await?)
    }

    /// An allocation with its transactions: what the disbursement form shows before
    /// anything is sent (the amount outstanding). Only those who book may ask.
    pub async fn allocation_detail(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<AllocationDetail, AppError> {
        actor.require(Permission::WriteLedger)?;
        let store = self.store();
        let allocation = store
            .ledger_allocation(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("没有第{id}号拨款 (no allocation #{id})")))?;
        // An allocation of a unit outside the actor's scope is as good as absent.
        self.unit_card(actor, &allocation.unit)
            .await
            .map_err(|_| AppError::NotFound(format!("没有第{id}号拨款 (no allocation #{id})")))?;
        let transactions = store.ledger_transactions_of(None, Some(id)).await?;
        Ok(AllocationDetail {
            allocation,
            transactions,
        })
    }

    /// A unit's fund ledger (经费台账), for a unit within the actor's scope.
    pub async fn unit_funds(&self, actor: &Actor, code: &str) -> Result<UnitFunds, AppError> {
        actor.require(Permission::ReadLedger)?;
        // The unit's card refuses a unit that does not exist or lies outside the scope.
        let card = self.unit_card(actor, code).await?;
        let store = self.store();
        let allocations = store.ledger_allocations(None, Some(&card.code)).await?;
        let txns = store.ledger_transactions_of(Some(&card.code), None).await?;
        Ok(UnitFunds {
            code: card.code,
            name: card.name,
            allocations,
            rows: unit_ledger(&txns).map_err(ledger_error)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_reads_back_and_others_are_refused() {
        for o in AllocationOrder::ALL {
            assert_eq!(AllocationOrder::parse(o.as_str()).unwrap(), o);
        }
        let e = AllocationOrder::parse("purpose").unwrap_err().to_string();
        assert!(e.contains("无法按“purpose”排序"), "{e}");
        assert!(checked_year(2026).is_ok());
        assert!(checked_year(20260).is_err());
    }
}
