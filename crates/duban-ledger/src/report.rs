//! Reports: account balances (shaped like `hledger balance`, so the two can be compared)
//! and the budget report (appropriated, committed, paid, headroom, execution rate).

use crate::account::Account;
use crate::budget::{BudgetLineKind, LineBalances, LineId, LineRole, percent};
use crate::error::LedgerError;
use crate::hledger::Commodity;
use crate::journal::{PostedTransaction, TxnKind};
use chrono::NaiveDate;
use duban_core::money::Money;
use duban_core::text::display_width;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One account's balance, debit positive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceRow {
    pub account: String,
    #[serde(with = "crate::signed_money")]
    pub balance: Money,
}

/// Every account with a non-zero balance, in name order, and the total (zero when the
/// journal balances).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceReport {
    pub rows: Vec<BalanceRow>,
    #[serde(with = "crate::signed_money")]
    pub total: Money,
}

impl BalanceReport {
    /// Builds the report from `(account, balance)` pairs, in any order, merging repeats.
    /// A balance or total beyond the range of money is an error, never a wrapped figure.
    pub fn new(balances: impl IntoIterator<Item = (String, Money)>) -> Result<Self, LedgerError> {
        // Summed wide, so that only a result out of range is an error, not the order.
        let fen = |wide: i128| i64::try_from(wide).map_err(|_| LedgerError::Overflow);
        let mut merged: BTreeMap<String, i128> = BTreeMap::new();
        for (account, m) in balances {
            *merged.entry(account).or_default() += i128::from(m.fen());
        }
        let mut rows = Vec::with_capacity(merged.len());
        let mut total: i128 = 0;
        for (account, wide) in merged.into_iter().filter(|(_, f)| *f != 0) {
            total += wide;
            rows.push(BalanceRow {
                account,
                balance: Money::from_fen(fen(wide)?),
            });
        }
        Ok(Self {
            rows,
            total: Money::from_fen(fen(total)?),
        })
    }

    /// The layout of `hledger balance --flat`: amounts right-aligned with the commodity,
    /// two spaces, the account; a rule; the total.
    pub fn render_text(&self, commodity: Commodity) -> String {
        let amount = |m: Money| {
            if m.is_zero() {
                "0".to_string()
            } else {
                commodity.amount(m)
            }
        };
        let amounts: Vec<String> = self.rows.iter().map(|r| amount(r.balance)).collect();
        let total = amount(self.total);
        let width = amounts
            .iter()
            .chain([&total])
            .map(|a| a.chars().count())
            .max()
            .unwrap_or(1)
            .max(20);
        let mut out = String::new();
        for (r, a) in self.rows.iter().zip(&amounts) {
            out.push_str(&format!("{a:>width$}  {}\n", r.account));
        }
        out.push_str(&"-".repeat(width));
        out.push('\n');
        // hledger ends the total line with the two spaces that separate an amount from an
        // account name; keeping them makes the two outputs byte-identical.
        out.push_str(&format!("{total:>width$}  \n"));
        out
    }
}

/// One line of the budget report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetRow {
    /// `None` on the totals row.
    pub line: Option<BudgetLineKind>,
    pub label: String,
    pub appropriated: Money,
    /// Committed and not released: outstanding plus paid against commitments.
    pub committed: Money,
    /// Paid in total, with and without commitment.
    pub paid: Money,
    pub paid_without_commitment: Money,
    pub headroom: Money,
    /// Paid ÷ appropriated, percent to two decimals.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub execution_rate: Option<Decimal>,
}

impl BudgetRow {
    fn of(line: Option<BudgetLineKind>, label: String, b: &LineBalances) -> Self {
        Self {
            line,
            label,
            appropriated: b.appropriated,
            committed: b.committed_gross(),
            paid: b.paid_total(),
            paid_without_commitment: b.paid_direct,
            headroom: b.headroom(),
            execution_rate: b.execution_rate(),
        }
    }
}

/// The budget of one fiscal year, line by line, with totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetReport {
    pub year: i32,
    pub rows: Vec<BudgetRow>,
    pub total: BudgetRow,
}

impl BudgetReport {
    /// Builds the report of `year` from the balances of its lines (others are ignored).
    /// A total beyond the range of money is an error.
    pub fn new(year: i32, lines: &BTreeMap<LineId, LineBalances>) -> Result<Self, LedgerError> {
        let mut sum = LineBalances::default();
        let mut rows = Vec::new();
        for (id, b) in lines.iter().filter(|(id, _)| id.year == year) {
            for (slot, add) in [
                (&mut sum.appropriated, b.appropriated),
                (&mut sum.available, b.available),
                (&mut sum.committed, b.committed),
                (&mut sum.paid, b.paid),
                (&mut sum.paid_direct, b.paid_direct),
            ] {
                *slot = slot.checked_add(add).ok_or(LedgerError::Overflow)?;
            }
            rows.push(BudgetRow::of(
                Some(id.kind),
                format!("{} {}", id.kind.slug(), id.kind.zh()),
                b,
            ));
        }
        let mut total = BudgetRow::of(None, "total 合计".into(), &sum);
        total.execution_rate = percent(sum.paid_total(), sum.appropriated);
        Ok(Self { year, rows, total })
    }

    /// A readable table.
    pub fn render_text(&self) -> String {
        let headers = [
            "line",
            "appropriated",
            "committed",
            "paid",
            "paid w/o commitment",
            "headroom",
            "execution",
        ];
        let cells = |r: &BudgetRow| {
            vec![
                r.label.clone(),
                r.appropriated.grouped(),
                r.committed.grouped(),
                r.paid.grouped(),
                r.paid_without_commitment.grouped(),
                r.headroom.grouped(),
                r.execution_rate
                    .map_or("-".to_string(), |p| format!("{p}%")),
            ]
        };
        let mut body: Vec<Vec<String>> = self.rows.iter().map(cells).collect();
        body.push(cells(&self.total));
        format!("budget {}\n{}", self.year, render_table(&headers, &body))
    }
}

/// True for an entry that closes a fiscal year: a year-end lapse or carry-out, dated 31
/// December. The carry-ins it makes are dated 1 January of the next year and open that year.
pub fn is_closing_entry(t: &PostedTransaction) -> bool {
    use chrono::Datelike;
    let d = t.txn.date();
    t.txn.kind() == TxnKind::YearEnd && d.month() == 12 && d.day() == 31
}

/// The balances of the lines of `year` as the year left them, before the entries that closed
/// it: `lines` (the balances kept) with the postings of `closing` on those lines taken back.
/// A closed year's budget then still shows what it was given, committed and paid, instead of
/// an appropriation cut down to what was paid.
pub fn before_close(
    year: i32,
    lines: &BTreeMap<LineId, LineBalances>,
    closing: &[PostedTransaction],
) -> Result<BTreeMap<LineId, LineBalances>, LedgerError> {
    let mut out = lines.clone();
    for t in closing.iter().filter(|t| is_closing_entry(t)) {
        for p in t.txn.postings() {
            let Some((line, role)) = p.account.line() else {
                continue;
            };
            if line.year != year {
                continue;
            }
            let back = p.amount.checked_neg().ok_or(LedgerError::Overflow)?;
            out.entry(line).or_default().apply(role, back)?;
        }
    }
    Ok(out)
}

/// One line of a unit's fund ledger (经费台账): a transaction that concerns the unit, what
/// it changed, and the running totals after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitLedgerRow {
    pub transaction: i64,
    pub date: NaiveDate,
    pub kind: TxnKind,
    pub allocation: Option<i64>,
    /// The transaction this one reverses.
    pub reverses: Option<i64>,
    /// Committed to the unit (核定); negative when released, lapsed or reversed.
    pub committed: Money,
    /// Paid to the unit (拨付).
    pub disbursed: Money,
    /// Dues the unit remitted (党费).
    pub dues: Money,
    pub total_committed: Money,
    pub total_disbursed: Money,
    /// Committed and not yet paid, released or lapsed.
    pub outstanding: Money,
    pub total_dues: Money,
}

/// A unit's fund ledger from the transactions linked to it, by date and number. What each
/// changed is read from its postings: commitments and payments from its budget postings
/// (committed and paid), dues from the dues income it credits; so reversals, releases and
/// year-end lapses count with their own sign, and a carry-forward to the next year changes
/// nothing.
pub fn unit_ledger(txns: &[PostedTransaction]) -> Result<Vec<UnitLedgerRow>, LedgerError> {
    let mut sorted: Vec<&PostedTransaction> = txns.iter().collect();
    sorted.sort_by_key(|t| (t.txn.date(), t.id));
    let add = |a: Money, b: Money| a.checked_add(b).ok_or(LedgerError::Overflow);
    let mut totals = [Money::ZERO; 4];
    let mut rows = Vec::with_capacity(sorted.len());
    for t in sorted {
        // outstanding, paid, dues received
        let mut delta = [Money::ZERO; 3];
        for p in t.txn.postings() {
            let (slot, amount) = match (p.account.line(), p.account) {
                (Some((_, LineRole::Committed)), _) => (0, p.amount),
                (Some((_, LineRole::Paid)), _) => (1, p.amount),
                (None, Account::DuesIncome) => {
                    (2, p.amount.checked_neg().ok_or(LedgerError::Overflow)?)
                }
                _ => continue,
            };
            delta[slot] = add(delta[slot], amount)?;
        }
        let [outstanding, disbursed, dues] = delta;
        let committed = add(outstanding, disbursed)?;
        for (total, d) in totals
            .iter_mut()
            .zip([committed, disbursed, outstanding, dues])
        {
            *total = add(*total, d)?;
        }
        rows.push(UnitLedgerRow {
            transaction: t.id,
            date: t.txn.date(),
            kind: t.txn.kind(),
            allocation: t.txn.allocation(),
            reverses: t.txn.reverses(),
            committed,
            disbursed,
            dues,
            total_committed: totals[0],
            total_disbursed: totals[1],
            outstanding: totals[2],
            total_dues: totals[3],
        });
    }
    Ok(rows)
}

/// A plain text table: the first column left-aligned, the others right-aligned.
pub fn render_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cols = headers.len();
    let mut width: Vec<usize> = headers.iter().map(|h| display_width(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(cols) {
            width[i] = width[i].max(display_width(c));
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = " ".repeat(width[i].saturating_sub(display_width(c)));
            if i > 0 {
                s.push_str("  ");
            }
            if i == 0 {
                s.push_str(c);
                s.push_str(&pad);
            } else {
                s.push_str(&pad);
                s.push_str(c);
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    out.push_str(&line(
        width
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_beyond_the_range_of_money_are_errors() {
        let max = Money::from_fen(i64::MAX);
        let over = BalanceReport::new([
            ("a".to_string(), max),
            ("a".to_string(), Money::from_fen(1)),
        ]);
        assert_eq!(over, Err(LedgerError::Overflow));
        let total = BalanceReport::new([("a".to_string(), max), ("b".to_string(), max)]);
        assert_eq!(total, Err(LedgerError::Overflow));
        // Only the result counts, not the order of the parts.
        let back = BalanceReport::new([
            ("a".to_string(), max),
            ("a".to_string(), max),
            ("a".to_string(), Money::from_fen(-i64::MAX)),
        ])
        .unwrap();
        assert_eq!(back.total, max);
        let mut lines = BTreeMap::new();
        for kind in [BudgetLineKind::StartUp, BudgetLineKind::Other] {
            let b = LineBalances {
                appropriated: max,
                available: max,
                ..LineBalances::default()
            };
            lines.insert(LineId::new(2026, kind), b);
        }
        assert_eq!(BudgetReport::new(2026, &lines), Err(LedgerError::Overflow));
    }

    #[test]
    fn balance_report_merges_sorts_and_drops_zeros() {
        let r = BalanceReport::new([
            ("b".to_string(), Money::yuan(5)),
            ("a".to_string(), Money::yuan(-5)),
            ("c".to_string(), Money::yuan(1)),
            ("c".to_string(), Money::yuan(-1)),
        ])
        .unwrap();
        assert_eq!(
            r.rows
                .iter()
                .map(|r| r.account.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(r.total, Money::ZERO);
        let text = r.render_text(Commodity::Cny);
        assert_eq!(
            text,
            "           -5.00 CNY  a\n            5.00 CNY  b\n--------------------\n                   0  \n"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["rows"][0]["balance"], "-5.00");
    }

    #[test]
    fn budget_report_totals_and_rates() {
        let mut lines = BTreeMap::new();
        let mut b = LineBalances::default();
        b.apply(LineRole::Available, Money::yuan(1000)).unwrap();
        b.apply(LineRole::Appropriated, Money::yuan(-1000)).unwrap();
        b.apply(LineRole::Committed, Money::yuan(300)).unwrap();
        b.apply(LineRole::Available, Money::yuan(-300)).unwrap();
        b.apply(LineRole::Paid, Money::yuan(100)).unwrap();
        b.apply(LineRole::Committed, Money::yuan(-100)).unwrap();
        lines.insert(LineId::new(2026, BudgetLineKind::Training), b);
        lines.insert(LineId::new(2025, BudgetLineKind::Training), b);
        let r = BudgetReport::new(2026, &lines).unwrap();
        assert_eq!(r.rows.len(), 1);
        let row = &r.rows[0];
        assert_eq!(
            (row.appropriated, row.committed, row.paid, row.headroom),
            (
                Money::yuan(1000),
                Money::yuan(300),
                Money::yuan(100),
                Money::yuan(700)
            )
        );
        assert_eq!(row.execution_rate, Some(Decimal::new(1000, 2)));
        assert!(r.render_text().contains("training 教育培训"));
    }

    #[test]
    fn tables_align_chinese_text() {
        let t = render_table(
            &["a", "b"],
            &[
                vec!["合计".into(), "1".into()],
                vec!["xy".into(), "22".into()],
            ],
        );
        assert_eq!(t, "a      b\n----  --\n合计   1\nxy    22\n");
    }
}
