//! The reports finance officers hand upward, each as data and as a table (CSV with a BOM,
//! XLSX): the budget's execution per line and month (预算执行情况表), a unit's fund ledger
//! with the bank lines matched to its payments (经费台账), the bank reconciliation statement
//! of an account at a month end (银行存款余额调节表), and dues and rebates per unit with the
//! pre-tax check of each enterprise. Each use case needs ledger-read permission; those per
//! unit keep to the actor's scope. The figures are computed by the pure functions below
//! from the journal, the statement lines and the matches.

use crate::funds::checked_year;
use crate::lists::{Filter, MAX_LIMIT};
use crate::{Actor, App, AppError, Permission};
use chrono::{Datelike, NaiveDate};
use duban_core::money::Money;
use duban_ledger::LedgerError;
use duban_ledger::budget::{BudgetLineKind, LineBalances, LineRole, percent_to};
use duban_ledger::journal::{PostedTransaction, TxnKind};
use duban_ledger::model::RebateStatus;
use duban_ledger::report::{is_closing_entry, render_table, unit_ledger};
use duban_store::bank::{BankLineRow, BookEntryRow, MatchRow, standing};
use duban_tabular::export::{Cell, Sheet, to_csv, to_xlsx};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

fn overflow() -> AppError {
    AppError::Ledger {
        error: LedgerError::Overflow,
        index: None,
    }
}

fn add(a: Money, b: Money) -> Result<Money, AppError> {
    a.checked_add(b).ok_or_else(overflow)
}

fn sub(a: Money, b: Money) -> Result<Money, AppError> {
    a.checked_sub(b).ok_or_else(overflow)
}

/// How a report is written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Csv,
    Xlsx,
}

impl ReportFormat {
    pub fn ext(self) -> &'static str {
        match self {
            ReportFormat::Csv => "csv",
            ReportFormat::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Csv => "text/csv; charset=utf-8",
            ReportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }
}

/// A report as a table: Chinese headers, one row per item, the totals row last.
pub trait Tabular {
    fn sheet(&self) -> Sheet;
    /// An ASCII name for the file (`budget-execution-2026-11`).
    fn file_stem(&self) -> String;

    /// The table as a file: CSV (UTF-8 with a BOM) or XLSX (`#,##0.00`, frozen header).
    fn export(&self, format: ReportFormat) -> Result<Vec<u8>, AppError> {
        let sheet = full(self.sheet());
        match format {
            ReportFormat::Csv => Ok(to_csv(&sheet)),
            ReportFormat::Xlsx => to_xlsx(&sheet)
                .map_err(|e| AppError::Internal(format!("writing the workbook: {e}"))),
        }
    }

    /// The table as text for a terminal: amounts right-aligned.
    fn text(&self) -> String {
        let sheet = full(self.sheet());
        let headers: Vec<&str> = sheet.headers.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = sheet
            .rows
            .iter()
            .map(|r| r.iter().map(cell_text).collect())
            .collect();
        format!("{}\n{}", sheet.name, render_table(&headers, &rows))
    }
}

/// Every row as wide as the header, so that CSV readers take each row whole.
fn full(mut sheet: Sheet) -> Sheet {
    let width = sheet.headers.len();
    for r in &mut sheet.rows {
        r.resize(width.max(r.len()), Cell::Empty);
    }
    sheet
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.clone(),
        Cell::Date(d) => d.to_string(),
        Cell::Int(i) => i.to_string(),
        Cell::Amount(m) => m.grouped(),
    }
}

fn rate_cell(rate: Option<Decimal>) -> Cell {
    Cell::Text(rate.map_or_else(|| "-".to_string(), |r| format!("{r}%")))
}

/// A month as people write it: `2026-11`.
pub fn parse_month(text: &str) -> Result<(i32, u32), AppError> {
    let bad = || {
        AppError::invalid_at(
            "month",
            format!("月份“{text}”应写作2026-11 (month: write it as 2026-11)"),
        )
    };
    let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u32 = m.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&month) || y.len() != 4 {
        return Err(bad());
    }
    checked_year(year)?;
    Ok((year, month))
}

fn month_end(year: i32, month: u32) -> NaiveDate {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

// ---- 1. 预算执行情况表

/// One budget line's execution in a year (or the totals, `line` none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExecutionLine {
    pub line: Option<BudgetLineKind>,
    /// 科目/项目
    pub label: String,
    /// 年初预算数: appropriations and what was carried in from the year before.
    pub original: Money,
    /// 调剂: virements in (positive) and out (negative).
    pub virement: Money,
    /// 调整后预算数 = original + virement.
    pub adjusted: Money,
    /// 本月核定: commitments made in the month (net of releases), with `--month`.
    pub month_committed: Money,
    /// 本月支出
    pub month_paid: Money,
    /// 累计核定(已承诺): everything committed and not released, paid or not.
    pub committed: Money,
    /// 累计支出: paid, with and without commitment.
    pub paid: Money,
    /// 可用余额: neither committed nor paid.
    pub headroom: Money,
    /// 执行率: paid ÷ adjusted, percent to 0.1.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub rate: Option<Decimal>,
}

/// 预算执行情况表: the year's own transactions line by line, up to the end of `month` (the
/// whole year without one), with the month's figures. The year-end closing entries are left
/// out, so the statement reads the same before and after `ledger year close`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetExecutionReport {
    pub year: i32,
    pub month: Option<u32>,
    pub rows: Vec<ExecutionLine>,
    pub total: ExecutionLine,
}

#[derive(Default, Clone, Copy)]
struct Acc {
    original: Money,
    virement: Money,
    ytd: LineBalances,
    month: LineBalances,
}

/// Builds the statement of `year` from the journal (any order; other years are ignored).
pub fn budget_execution(
    year: i32,
    month: Option<u32>,
    journal: &[PostedTransaction],
) -> Result<BudgetExecutionReport, AppError> {
    let through = month.map(|m| month_end(year, m));
    let kinds: HashMap<i64, TxnKind> = journal.iter().map(|t| (t.id, t.txn.kind())).collect();
    let mut lines: BTreeMap<BudgetLineKind, Acc> = BTreeMap::new();
    let ledger = |e| AppError::Ledger {
        error: e,
        index: None,
    };
    for t in journal {
        if is_closing_entry(t) {
            continue;
        }
        let date = t.txn.date();
        if through.is_some_and(|end| date > end) {
            continue;
        }
        let in_month = month.is_some_and(|m| date.year() == year && date.month() == m);
        // What a reversal undoes decides where it counts.
        let kind = match (t.txn.kind(), t.txn.reverses()) {
            (TxnKind::Reversal, Some(id)) => kinds.get(&id).copied().unwrap_or(TxnKind::Reversal),
            (k, _) => k,
        };
        for p in t.txn.postings() {
            let Some((line, role)) = p.account.line() else {
                continue;
            };
            if line.year != year {
                continue;
            }
            let acc = lines.entry(line.kind).or_default();
            acc.ytd.apply(role, p.amount).map_err(ledger)?;
            if in_month {
                acc.month.apply(role, p.amount).map_err(ledger)?;
            }
            if role == LineRole::Appropriated {
                let given = p.amount.checked_neg().ok_or_else(overflow)?;
                let slot = if kind == TxnKind::Virement {
                    &mut acc.virement
                } else {
                    &mut acc.original
                };
                *slot = add(*slot, given)?;
            }
        }
    }
    let row = |line: Option<BudgetLineKind>, label: String, a: &Acc| -> ExecutionLine {
        let adjusted = a.ytd.appropriated;
        ExecutionLine {
            line,
            label,
            original: a.original,
            virement: a.virement,
            adjusted,
            month_committed: a.month.committed_gross(),
            month_paid: a.month.paid_total(),
            committed: a.ytd.committed_gross(),
            paid: a.ytd.paid_total(),
            headroom: a.ytd.available,
            rate: percent_to(a.ytd.paid_total(), adjusted, 1),
        }
    };
    let mut sum = Acc::default();
    let mut rows = Vec::with_capacity(lines.len());
    for (kind, a) in &lines {
        sum.original = add(sum.original, a.original)?;
        sum.virement = add(sum.virement, a.virement)?;
        for role in LineRole::ALL {
            // Balances are summed in their natural sign.
            let natural = |b: &LineBalances| {
                if role.is_credit() {
                    b.get(role).checked_neg()
                } else {
                    Some(b.get(role))
                }
            };
            sum.ytd
                .apply(role, natural(&a.ytd).ok_or_else(overflow)?)
                .map_err(ledger)?;
            sum.month
                .apply(role, natural(&a.month).ok_or_else(overflow)?)
                .map_err(ledger)?;
        }
        rows.push(row(Some(*kind), kind.zh().to_string(), a));
    }
    Ok(BudgetExecutionReport {
        year,
        month,
        rows,
        total: row(None, "合计".into(), &sum),
    })
}

impl Tabular for BudgetExecutionReport {
    fn sheet(&self) -> Sheet {
        let mut headers = vec!["科目/项目", "年初预算数", "调剂", "调整后预算数"];
        if self.month.is_some() {
            headers.extend(["本月核定", "本月支出"]);
        }
        headers.extend(["累计核定(已承诺)", "累计支出", "可用余额", "执行率"]);
        let cells = |r: &ExecutionLine| {
            let mut c: Vec<Cell> = vec![
                r.label.as_str().into(),
                r.original.into(),
                r.virement.into(),
                r.adjusted.into(),
            ];
            if self.month.is_some() {
                c.extend([r.month_committed.into(), r.month_paid.into()]);
            }
            c.extend([
                r.committed.into(),
                r.paid.into(),
                r.headroom.into(),
                rate_cell(r.rate),
            ]);
            c
        };
        let mut rows: Vec<Vec<Cell>> = self.rows.iter().map(cells).collect();
        rows.push(cells(&self.total));
        let name = match self.month {
            Some(m) => format!("{}年{m}月预算执行情况表", self.year),
            None => format!("{}年预算执行情况表", self.year),
        };
        Sheet {
            name,
            headers: headers.into_iter().map(String::from).collect(),
            rows,
        }
    }

    fn file_stem(&self) -> String {
        match self.month {
            Some(m) => format!("budget-execution-{}-{m:02}", self.year),
            None => format!("budget-execution-{}", self.year),
        }
    }
}

// ---- 2. 经费台账

/// A statement line matched to a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchedLine {
    pub id: i64,
    /// The bank account's code.
    pub account: String,
    pub date: Option<NaiveDate>,
    pub amount: Money,
    pub counterparty: String,
    pub serial: Option<String>,
}

/// One entry of a unit's fund ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitLedgerEntry {
    pub date: NaiveDate,
    pub transaction: i64,
    pub kind: TxnKind,
    /// 摘要类别: 核定, 拨付, 收回结余 …
    pub kind_zh: String,
    pub allocation: Option<i64>,
    pub voucher: Option<String>,
    pub description: String,
    /// 核定: committed to the unit; negative when released, lapsed or reversed.
    pub allocated: Money,
    /// 拨付: paid to the unit.
    pub paid: Money,
    /// 余额: allocated and not yet paid, after this entry.
    pub balance: Money,
    /// The statement lines matched to the payment.
    pub bank_lines: Vec<MatchedLine>,
}

/// 经费台账 of a unit in a year, in date order, with the running balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitLedgerReport {
    pub unit: String,
    pub name: String,
    pub year: i32,
    /// 上年结余: allocated and not paid before the year.
    pub opening: Money,
    pub rows: Vec<UnitLedgerEntry>,
    pub allocated: Money,
    pub paid: Money,
    /// 年末余额
    pub closing: Money,
}

/// The Chinese name of a kind of transaction, as a ledger's 摘要 says it.
pub fn kind_zh(kind: TxnKind) -> &'static str {
    match kind {
        TxnKind::Appropriation => "预算下达",
        TxnKind::Virement => "预算调剂",
        TxnKind::Allocation => "核定拨款",
        TxnKind::Disbursement => "拨付",
        TxnKind::Release => "收回结余",
        TxnKind::DirectPayment => "直接支付",
        TxnKind::Dues => "党费收缴",
        TxnKind::YearEnd => "年终结转",
        TxnKind::Reversal => "冲销",
        TxnKind::BankCharge => "银行手续费",
        TxnKind::Receipt => "收款",
        TxnKind::Apportionment => "经费分配",
    }
}

/// Builds a unit's ledger for `year` from its transactions and, per transaction, the
/// statement lines matched to its bank postings.
pub fn unit_ledger_report(
    unit: &str,
    name: &str,
    year: i32,
    txns: &[PostedTransaction],
    matched: &HashMap<i64, Vec<MatchedLine>>,
) -> Result<UnitLedgerReport, AppError> {
    let all = unit_ledger(txns).map_err(|error| AppError::Ledger { error, index: None })?;
    let by_id: HashMap<i64, &PostedTransaction> = txns.iter().map(|t| (t.id, t)).collect();
    let mut opening = Money::ZERO;
    let mut rows = Vec::new();
    let (mut allocated, mut paid) = (Money::ZERO, Money::ZERO);
    for r in all {
        if r.committed.is_zero() && r.disbursed.is_zero() {
            continue;
        }
        if r.date.year() < year {
            opening = r.outstanding;
            continue;
        }
        if r.date.year() > year {
            break;
        }
        let t = by_id.get(&r.transaction);
        allocated = add(allocated, r.committed)?;
        paid = add(paid, r.disbursed)?;
        rows.push(UnitLedgerEntry {
            date: r.date,
            transaction: r.transaction,
            kind: r.kind,
            kind_zh: kind_zh(r.kind).to_string(),
            allocation: r.allocation,
            voucher: t
                .and_then(|t| t.txn.payment())
                .and_then(|p| p.voucher.clone()),
            description: t
                .map(|t| t.txn.description().to_string())
                .unwrap_or_default(),
            allocated: r.committed,
            paid: r.disbursed,
            balance: r.outstanding,
            bank_lines: matched.get(&r.transaction).cloned().unwrap_or_default(),
        });
    }
    let closing = sub(add(opening, allocated)?, paid)?;
    Ok(UnitLedgerReport {
        unit: unit.to_string(),
        name: name.to_string(),
        year,
        opening,
        rows,
        allocated,
        paid,
        closing,
    })
}

impl Tabular for UnitLedgerReport {
    fn sheet(&self) -> Sheet {
        let headers = [
            "日期",
            "凭证号",
            "摘要",
            "类别",
            "拨款号",
            "核定",
            "拨付",
            "余额",
            "银行流水日期",
            "银行流水金额",
            "对方户名",
            "银行流水号",
        ];
        let mut rows = Vec::with_capacity(self.rows.len() + 2);
        rows.push(vec![
            Cell::Empty,
            Cell::Empty,
            "上年结余".into(),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            self.opening.into(),
        ]);
        for r in &self.rows {
            let first = r.bank_lines.first();
            let many = r.bank_lines.len() > 1;
            rows.push(vec![
                Cell::Date(r.date),
                r.voucher.as_deref().into(),
                r.description.as_str().into(),
                r.kind_zh.as_str().into(),
                r.allocation.map_or(Cell::Empty, Cell::Int),
                r.allocated.into(),
                r.paid.into(),
                r.balance.into(),
                first.and_then(|l| l.date).into(),
                first.map_or(Cell::Empty, |l| l.amount.into()),
                first.map_or(Cell::Empty, |l| {
                    let more = if many {
                        format!(" 等{}笔", r.bank_lines.len())
                    } else {
                        String::new()
                    };
                    Cell::Text(format!("{}{more}", l.counterparty))
                }),
                first.and_then(|l| l.serial.as_deref()).into(),
            ]);
        }
        rows.push(vec![
            Cell::Empty,
            Cell::Empty,
            "合计".into(),
            Cell::Empty,
            Cell::Empty,
            self.allocated.into(),
            self.paid.into(),
            self.closing.into(),
        ]);
        Sheet {
            name: format!("{} {}年经费台账", self.unit, self.year),
            headers: headers.into_iter().map(String::from).collect(),
            rows,
        }
    }

    fn file_stem(&self) -> String {
        format!("unit-ledger-{}-{}", ascii(&self.unit), self.year)
    }
}

fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

// ---- 3. 银行存款余额调节表

/// An item in transit (未达账项): a posting or a statement line with no counterpart on the
/// other side by the month end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitItem {
    /// The posting's or the line's id.
    pub id: i64,
    pub date: NaiveDate,
    /// Always positive; the section says the direction.
    pub amount: Money,
    /// 摘要 / counterparty.
    pub text: String,
    /// The voucher of a posting, the serial of a line.
    pub reference: Option<String>,
}

/// One section of the statement: its items and their sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransitSection {
    pub items: Vec<TransitItem>,
    pub total: Money,
}

/// 银行存款余额调节表 of a bank account at a month end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankReconciliation {
    pub account: String,
    pub account_name: String,
    pub account_number: String,
    pub bank: String,
    /// `2026-11`
    pub month: String,
    pub month_end: NaiveDate,
    /// 企业银行存款日记账余额: the postings on the account up to the month end.
    pub book_balance: Money,
    /// 银行对账单余额: the balance after the last statement line up to the month end.
    pub bank_balance: Money,
    /// Where the bank balance comes from: `statement` (the balance column) or `lines` (the
    /// lines summed, when the statement gives no balance), or `none` (no line yet).
    pub bank_balance_from: String,
    /// 银行已收、企业未收
    pub bank_received: TransitSection,
    /// 银行已付、企业未付
    pub bank_paid: TransitSection,
    /// 企业已收、银行未收
    pub book_received: TransitSection,
    /// 企业已付、银行未付
    pub book_paid: TransitSection,
    /// book + bank received − bank paid
    pub adjusted_book: Money,
    /// bank + book received − book paid
    pub adjusted_bank: Money,
    /// adjusted_book − adjusted_bank: zero when the statement balances.
    pub difference: Money,
    pub balanced: bool,
    /// The adjusted book balance in capitals (大写).
    pub adjusted_capitals: String,
}

fn line_date(l: &BankLineRow) -> Option<NaiveDate> {
    l.date.or(l.time.map(|t| t.date()))
}

/// The statement's balance after its last line up to the month end. Lines are stored in
/// file order; a file listing the newest first chains its balances the other way round,
/// which the lines of that day tell.
fn closing_balance(lines: &[(&BankLineRow, NaiveDate)]) -> Option<i64> {
    let last_day = lines.iter().map(|(_, d)| *d).max()?;
    let day: Vec<&BankLineRow> = lines
        .iter()
        .filter(|(_, d)| *d == last_day)
        .map(|(l, _)| *l)
        .collect();
    let (mut forward, mut backward) = (0, 0);
    for w in day.windows(2) {
        if let (Some(a), Some(b)) = (w[0].balance, w[1].balance) {
            if a.checked_add(w[1].amount) == Some(b) {
                forward += 1;
            }
            if b.checked_add(w[0].amount) == Some(a) {
                backward += 1;
            }
        }
    }
    let pick = if backward > forward {
        day.first()
    } else {
        day.last()
    };
    pick.and_then(|l| l.balance)
}

/// Builds the statement from the account's postings, its statement lines and its matches.
/// A posting counts as reached the bank when a standing match joins it to a line dated by the
/// month end, and a line likewise; everything else dated by the month end is in transit.
pub fn reconcile_month(
    account: &duban_store::bank::BankAccountRow,
    month: (i32, u32),
    book: &[BookEntryRow],
    lines: &[BankLineRow],
    matches: &[MatchRow],
) -> Result<BankReconciliation, AppError> {
    let end = month_end(month.0, month.1);
    let book: Vec<&BookEntryRow> = book.iter().filter(|e| e.date <= end).collect();
    let lines: Vec<(&BankLineRow, NaiveDate)> = lines
        .iter()
        .filter_map(|l| line_date(l).map(|d| (l, d)))
        .filter(|(_, d)| *d <= end)
        .collect();
    let book_ids: HashSet<i64> = book.iter().map(|e| e.posting_id).collect();
    let line_ids: HashSet<i64> = lines.iter().map(|(l, _)| l.id).collect();
    let mut booked_lines = HashSet::new();
    let mut banked_postings = HashSet::new();
    for m in standing(matches) {
        if book_ids.contains(&m.posting_id) && line_ids.contains(&m.line_id) {
            booked_lines.insert(m.line_id);
            banked_postings.insert(m.posting_id);
        }
    }
    let mut book_balance = Money::ZERO;
    let (mut book_received, mut book_paid) = (TransitSection::default(), TransitSection::default());
    for e in &book {
        let amount = Money::from_fen(e.amount);
        book_balance = add(book_balance, amount)?;
        if banked_postings.contains(&e.posting_id) {
            continue;
        }
        let section = if e.amount >= 0 {
            &mut book_received
        } else {
            &mut book_paid
        };
        let abs = Money::from_fen(e.amount.checked_abs().ok_or_else(overflow)?);
        section.total = add(section.total, abs)?;
        section.items.push(TransitItem {
            id: e.posting_id,
            date: e.date,
            amount: abs,
            text: match &e.payee_name {
                Some(p) => format!("{} ({p})", e.description),
                None => e.description.clone(),
            },
            reference: e.voucher.clone(),
        });
    }
    let (mut bank_received, mut bank_paid) = (TransitSection::default(), TransitSection::default());
    let mut summed = Money::ZERO;
    for (l, date) in &lines {
        let amount = Money::from_fen(l.amount);
        summed = add(summed, amount)?;
        if booked_lines.contains(&l.id) {
            continue;
        }
        let section = if l.amount >= 0 {
            &mut bank_received
        } else {
            &mut bank_paid
        };
        let abs = Money::from_fen(l.amount.checked_abs().ok_or_else(overflow)?);
        section.total = add(section.total, abs)?;
        let text = [l.counterparty_name.as_str(), l.summary.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        section.items.push(TransitItem {
            id: l.id,
            date: *date,
            amount: abs,
            text,
            reference: l.serial.clone(),
        });
    }
    let (bank_balance, from) = match closing_balance(&lines) {
        Some(b) => (Money::from_fen(b), "statement"),
        None if lines.is_empty() => (Money::ZERO, "none"),
        None => (summed, "lines"),
    };
    let adjusted_book = sub(add(book_balance, bank_received.total)?, bank_paid.total)?;
    let adjusted_bank = sub(add(bank_balance, book_received.total)?, book_paid.total)?;
    let difference = sub(adjusted_book, adjusted_bank)?;
    Ok(BankReconciliation {
        account: account.code.clone(),
        account_name: account.name.clone(),
        account_number: account.number.clone(),
        bank: account.bank.clone(),
        month: format!("{}-{:02}", month.0, month.1),
        month_end: end,
        book_balance,
        bank_balance,
        bank_balance_from: from.to_string(),
        bank_received,
        bank_paid,
        book_received,
        book_paid,
        adjusted_book,
        adjusted_bank,
        difference,
        balanced: difference.is_zero(),
        adjusted_capitals: duban_core::capitals::rmb(adjusted_book),
    })
}

impl Tabular for BankReconciliation {
    /// The two sides one under the other: each item with its date, amount and text.
    fn sheet(&self) -> Sheet {
        let headers = ["项目", "日期", "金额", "摘要", "凭证号/流水号"];
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        let figure = |label: &str, m: Money| vec![label.into(), Cell::Empty, m.into()];
        let section = |rows: &mut Vec<Vec<Cell>>, label: &str, s: &TransitSection| {
            rows.push(figure(label, s.total));
            for i in &s.items {
                rows.push(vec![
                    "　".into(),
                    Cell::Date(i.date),
                    i.amount.into(),
                    i.text.as_str().into(),
                    i.reference.as_deref().into(),
                ]);
            }
        };
        rows.push(figure("企业银行存款日记账余额", self.book_balance));
        section(&mut rows, "加：银行已收、企业未收", &self.bank_received);
        section(&mut rows, "减：银行已付、企业未付", &self.bank_paid);
        rows.push(figure("调节后的存款余额（企业）", self.adjusted_book));
        rows.push(figure("银行对账单余额", self.bank_balance));
        section(&mut rows, "加：企业已收、银行未收", &self.book_received);
        section(&mut rows, "减：企业已付、银行未付", &self.book_paid);
        rows.push(figure("调节后的存款余额（银行）", self.adjusted_bank));
        let mut last = figure("差额", self.difference);
        last.push(
            if self.balanced {
                "调节后余额相等"
            } else {
                "调节后余额不相等，请核对未达账项"
            }
            .into(),
        );
        rows.push(last);
        Sheet {
            name: format!("{} {}银行存款余额调节表", self.account, self.month),
            headers: headers.into_iter().map(String::from).collect(),
            rows,
        }
    }

    fn file_stem(&self) -> String {
        format!("bank-reconciliation-{}-{}", self.account, self.month)
    }
}

// ---- 4. 党费收缴与返还

/// The pre-tax check of one enterprise a unit covers (组通字〔2014〕42号: party-work funds
/// within 1 % of the year's wages are deductible before tax).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PretaxCheck {
    pub credit_code: String,
    pub name: String,
    /// 职工工资总额, when the register records it.
    pub payroll: Option<Money>,
    /// 1 % of it.
    pub limit: Option<Money>,
    /// 检查结果
    pub result: String,
}

/// What the register holds for the check: the register keeps no wage totals, so every
/// enterprise is reported as lacking them rather than measured against invented numbers.
pub const NO_PAYROLL: &str = "无工资总额数据";

/// Dues and rebates of one unit in a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuesUnitRow {
    pub unit: String,
    pub name: String,
    pub district: Option<String>,
    /// Months of the year with dues recorded (standing).
    pub months: u32,
    /// 党费收缴: dues of the year's months.
    pub collected: Money,
    /// 返还(上年党费): rebates of the previous year's dues approved this year.
    pub rebated: Money,
    /// 返还已拨付: what of those rebates was paid.
    pub rebate_paid: Money,
    /// 本年党费返还申请: the amount applied for, for the year's own dues, and its state.
    pub rebate_applied: Option<Money>,
    pub rebate_status: Option<String>,
    /// 党建工作经费支出: paid to the unit in the year.
    pub party_work_paid: Money,
    pub enterprises: Vec<PretaxCheck>,
}

/// 党费收缴与返还 per unit in a year, with totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuesReport {
    pub year: i32,
    pub rows: Vec<DuesUnitRow>,
    pub collected: Money,
    pub rebated: Money,
    pub rebate_paid: Money,
    pub party_work_paid: Money,
}

fn rebate_status_zh(s: RebateStatus) -> &'static str {
    match s {
        RebateStatus::Pending => "待审批",
        RebateStatus::Approved => "已批准",
    }
}

impl Tabular for DuesReport {
    fn sheet(&self) -> Sheet {
        let headers = [
            "党组织编码",
            "党组织名称",
            "区县",
            "收缴月数",
            "党费收缴",
            "返还(上年党费)",
            "返还已拨付",
            "本年党费返还申请",
            "申请状态",
            "党建工作经费支出",
            "税前列支1%检查",
        ];
        let mut rows: Vec<Vec<Cell>> = self
            .rows
            .iter()
            .map(|r| {
                let checks = r
                    .enterprises
                    .iter()
                    .map(|e| format!("{}：{}", e.name, e.result))
                    .collect::<Vec<_>>()
                    .join("；");
                vec![
                    r.unit.as_str().into(),
                    r.name.as_str().into(),
                    r.district.as_deref().into(),
                    Cell::Int(i64::from(r.months)),
                    r.collected.into(),
                    r.rebated.into(),
                    r.rebate_paid.into(),
                    r.rebate_applied.map_or(Cell::Empty, Cell::from),
                    r.rebate_status.as_deref().into(),
                    r.party_work_paid.into(),
                    if checks.is_empty() {
                        "无非公企业".into()
                    } else {
                        Cell::Text(checks)
                    },
                ]
            })
            .collect();
        rows.push(vec![
            "合计".into(),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            self.collected.into(),
            self.rebated.into(),
            self.rebate_paid.into(),
            Cell::Empty,
            Cell::Empty,
            self.party_work_paid.into(),
        ]);
        Sheet {
            name: format!("{}年党费收缴与返还", self.year),
            headers: headers.into_iter().map(String::from).collect(),
            rows,
        }
    }

    fn file_stem(&self) -> String {
        format!("dues-{}", self.year)
    }
}

// ---- the use cases

impl App {
    /// 预算执行情况表 of `year`, up to the end of `month` when given.
    pub async fn report_budget_execution(
        &self,
        actor: &Actor,
        year: i32,
        month: Option<u32>,
    ) -> Result<BudgetExecutionReport, AppError> {
        actor.require(Permission::ReadLedger)?;
        let year = checked_year(year)?;
        if let Some(m) = month.filter(|m| !(1..=12).contains(m)) {
            return Err(AppError::invalid_at(
                "month",
                format!("月份“{m}”应在1至12之间 (month: 1 to 12)"),
            ));
        }
        let journal = self.store().ledger_journal().await?;
        budget_execution(year, month, &journal)
    }

    /// 经费台账 of a unit within the actor's scope in `year`.
    pub async fn report_unit_ledger(
        &self,
        actor: &Actor,
        code: &str,
        year: i32,
    ) -> Result<UnitLedgerReport, AppError> {
        actor.require(Permission::ReadLedger)?;
        let year = checked_year(year)?;
        // The unit's card refuses a unit that does not exist or lies outside the scope.
        let card = self.unit_card(actor, code).await?;
        let store = self.store();
        let txns = store.ledger_transactions_of(Some(&card.code), None).await?;
        let accounts: HashSet<&str> = txns
            .iter()
            .filter_map(|t| t.txn.payment()?.bank_account.as_deref())
            .collect();
        let wanted: HashSet<i64> = txns.iter().map(|t| t.id).collect();
        let mut matched: HashMap<i64, Vec<MatchedLine>> = HashMap::new();
        for code in accounts {
            let Some(account) = store.bank_account(code).await? else {
                continue;
            };
            let postings: HashMap<i64, i64> = store
                .bank_book_entries(&account.ledger_account)
                .await?
                .into_iter()
                .filter(|e| wanted.contains(&e.transaction_id))
                .map(|e| (e.posting_id, e.transaction_id))
                .collect();
            let all = store.bank_matches(account.id).await?;
            let lines: HashMap<i64, BankLineRow> = store
                .bank_lines(account.id, None, None)
                .await?
                .into_iter()
                .map(|l| (l.id, l))
                .collect();
            for m in standing(&all) {
                let (Some(txn), Some(l)) = (postings.get(&m.posting_id), lines.get(&m.line_id))
                else {
                    continue;
                };
                let list = matched.entry(*txn).or_default();
                if list.iter().any(|x| x.id == l.id) {
                    continue;
                }
                list.push(MatchedLine {
                    id: l.id,
                    account: account.code.clone(),
                    date: line_date(l),
                    amount: Money::from_fen(l.amount),
                    counterparty: l.counterparty_name.clone(),
                    serial: l.serial.clone(),
                });
            }
        }
        unit_ledger_report(&card.code, &card.name, year, &txns, &matched)
    }

    /// 银行存款余额调节表 of bank account `code` at the end of `month` (`2026-11`).
    pub async fn report_bank_reconciliation(
        &self,
        actor: &Actor,
        code: &str,
        month: &str,
    ) -> Result<BankReconciliation, AppError> {
        actor.require(Permission::ReadLedger)?;
        let month = parse_month(month)?;
        let account = self.bank_account_named(code).await?;
        let store = self.store();
        let book = store.bank_book_entries(&account.ledger_account).await?;
        let lines = store.bank_lines(account.id, None, None).await?;
        let matches = store.bank_matches(account.id).await?;
        reconcile_month(&account, month, &book, &lines, &matches)
    }

    /// 党费收缴与返还 per unit of the actor's scope in `year`, with the pre-tax check of
    /// each enterprise the unit covers.
    pub async fn report_dues(&self, actor: &Actor, year: i32) -> Result<DuesReport, AppError> {
        actor.require(Permission::ReadLedger)?;
        let year = checked_year(year)?;
        let store = self.store();
        let mut units = Vec::new();
        loop {
            let page = self
                .list_units(
                    actor,
                    &Filter {
                        limit: MAX_LIMIT,
                        offset: units.len() as u64,
                        ..Default::default()
                    },
                )
                .await?;
            let done = (page.len() as u64) < MAX_LIMIT;
            units.extend(page);
            if done {
                break;
            }
        }
        let mut collected: BTreeMap<String, (u32, Money)> = BTreeMap::new();
        for d in store.ledger_dues(Some(year)).await? {
            if !d.standing {
                continue;
            }
            let e = collected.entry(d.unit).or_insert((0, Money::ZERO));
            e.0 += 1;
            e.1 = add(e.1, d.amount)?;
        }
        let rebates = store.ledger_rebates().await?;
        let allocations: HashMap<i64, duban_ledger::model::Allocation> = store
            .ledger_allocations(Some(year), None)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        let journal = store.ledger_journal().await?;
        let mut paid_to: HashMap<String, Money> = HashMap::new();
        for t in journal.iter().filter(|t| t.txn.date().year() == year) {
            let Some(unit) = t.txn.unit() else { continue };
            for p in t.txn.postings() {
                if let Some((_, LineRole::Paid | LineRole::PaidDirect)) = p.account.line() {
                    let e = paid_to.entry(unit.to_string()).or_insert(Money::ZERO);
                    *e = add(*e, p.amount)?;
                }
            }
        }
        let reader = store.reader();
        let mut report = DuesReport {
            year,
            rows: Vec::new(),
            collected: Money::ZERO,
            rebated: Money::ZERO,
            rebate_paid: Money::ZERO,
            party_work_paid: Money::ZERO,
        };
        for u in units {
            let (months, dues) = collected.get(&u.code).copied().unwrap_or((0, Money::ZERO));
            let (mut rebated, mut rebate_paid) = (Money::ZERO, Money::ZERO);
            let mut applied = None;
            for r in rebates.iter().filter(|r| r.unit == u.code) {
                if r.dues_year == year - 1 && r.status == RebateStatus::Approved {
                    rebated = add(rebated, r.amount)?;
                    if let Some(a) = r.allocation.and_then(|id| allocations.get(&id)) {
                        rebate_paid = add(rebate_paid, a.disbursed)?;
                    }
                }
                if r.dues_year == year {
                    applied = Some((r.amount, rebate_status_zh(r.status).to_string()));
                }
            }
            let party_work_paid = paid_to.get(&u.code).copied().unwrap_or(Money::ZERO);
            if months == 0 && rebated.is_zero() && applied.is_none() && party_work_paid.is_zero() {
                continue;
            }
            let mut enterprises = Vec::new();
            if let Some(found) = reader.get().unit_by_code(&u.code).await? {
                for o in store.organisations_of_unit(found.unit.id).await? {
                    if duban_core::register::OrgKind::parse(&o.kind)
                        != Some(duban_core::register::OrgKind::Enterprise)
                    {
                        continue;
                    }
                    enterprises.push(PretaxCheck {
                        credit_code: o.credit_code,
                        name: o.name,
                        payroll: None,
                        limit: None,
                        result: NO_PAYROLL.to_string(),
                    });
                }
            }
            report.collected = add(report.collected, dues)?;
            report.rebated = add(report.rebated, rebated)?;
            report.rebate_paid = add(report.rebate_paid, rebate_paid)?;
            report.party_work_paid = add(report.party_work_paid, party_work_paid)?;
            report.rows.push(DuesUnitRow {
                unit: u.code,
                name: u.name,
                district: u.district,
                months,
                collected: dues,
                rebated,
                rebate_paid,
                rebate_applied: applied.as_ref().map(|a| a.0),
                rebate_status: applied.map(|a| a.1),
                party_work_paid,
                enterprises,
            });
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_read_and_end() {
        assert_eq!(parse_month("2026-11").unwrap(), (2026, 11));
        assert!(parse_month("2026-13").is_err());
        assert!(parse_month("26-11").is_err());
        assert!(parse_month("2026/11").is_err());
        assert_eq!(
            month_end(2026, 2),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
        assert_eq!(
            month_end(2026, 12),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
    }

    fn line(id: i64, amount: i64, balance: Option<i64>) -> BankLineRow {
        BankLineRow {
            id,
            line_key: id.to_string(),
            row: id as i32,
            date: NaiveDate::from_ymd_opt(2026, 11, 30),
            time: None,
            value_date: None,
            amount,
            balance,
            counterparty_name: String::new(),
            counterparty_account: String::new(),
            counterparty_bank: String::new(),
            summary: String::new(),
            purpose: String::new(),
            remark: String::new(),
            serial: None,
            statement_id: 1,
        }
    }

    fn account() -> duban_store::bank::BankAccountRow {
        duban_store::bank::BankAccountRow {
            id: 1,
            code: "basic".into(),
            name: "基本户".into(),
            number: "6222".into(),
            bank: "建设银行".into(),
            ledger_account: "assets:bank:basic".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            created_by: "t".into(),
        }
    }

    fn posting(id: i64, day: u32, amount: i64) -> BookEntryRow {
        BookEntryRow {
            posting_id: id,
            transaction_id: id,
            date: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            amount,
            description: format!("拨付 #{id}"),
            voucher: Some(format!("记-{id}")),
            payee_name: None,
            payee_account: None,
            payee_bank: None,
        }
    }

    fn matched(id: i64, line: i64, posting: i64) -> MatchRow {
        MatchRow {
            id,
            line_id: line,
            posting_id: posting,
            rule: "manual".into(),
            agreed: String::new(),
            difference: 0,
            detail: String::new(),
            matched_by: "manual".into(),
            reverses_id: None,
            group_id: None,
            fee_transaction_id: None,
            reason: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            created_by: "t".into(),
        }
    }

    #[test]
    fn a_statement_that_does_not_balance_says_by_how_much() {
        // The bank paid 100.00 less than the books say, and the two were matched by hand.
        let mut lines = vec![
            line(10, 100_000, Some(100_000)),
            line(11, -29_900, Some(70_100)),
        ];
        lines[0].date = NaiveDate::from_ymd_opt(2026, 11, 1);
        let book = [posting(1, 5, -30_000)];
        let r =
            reconcile_month(&account(), (2026, 11), &book, &lines, &[matched(1, 11, 1)]).unwrap();
        assert_eq!(r.book_balance, Money::from_fen(-30_000));
        assert_eq!(r.bank_balance, Money::from_fen(70_100));
        assert_eq!(r.bank_received.total, Money::from_fen(100_000));
        assert_eq!(r.adjusted_book, Money::from_fen(70_000));
        assert_eq!(r.adjusted_bank, Money::from_fen(70_100));
        assert_eq!(r.difference, Money::from_fen(-100));
        assert!(!r.balanced);
        let csv = String::from_utf8(r.export(ReportFormat::Csv).unwrap()).unwrap();
        assert!(
            csv.ends_with("差额,,-1.00,调节后余额不相等，请核对未达账项,\n"),
            "{csv}"
        );
        // Unmatched, the payment is in transit both ways and the sides agree.
        let unmatched = [
            matched(1, 11, 1),
            MatchRow {
                id: 2,
                reverses_id: Some(1),
                ..matched(2, 11, 1)
            },
        ];
        let r = reconcile_month(&account(), (2026, 11), &book, &lines, &unmatched).unwrap();
        assert_eq!(
            (r.book_paid.total, r.bank_paid.total),
            (Money::from_fen(30_000), Money::from_fen(29_900))
        );
        assert_eq!(r.adjusted_book, Money::from_fen(40_100));
        assert!(r.balanced, "{r:?}");
    }

    #[test]
    fn the_closing_balance_follows_the_chain_either_way() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let forward = [line(1, -100, Some(900)), line(2, -50, Some(850))];
        let refs: Vec<_> = forward.iter().map(|l| (l, d)).collect();
        assert_eq!(closing_balance(&refs), Some(850));
        let newest_first = [line(1, -50, Some(850)), line(2, -100, Some(900))];
        let refs: Vec<_> = newest_first.iter().map(|l| (l, d)).collect();
        assert_eq!(closing_balance(&refs), Some(850));
        assert_eq!(closing_balance(&[]), None);
    }
}
