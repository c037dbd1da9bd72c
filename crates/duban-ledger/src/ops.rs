//! The ledger's operations as pure functions over the state they touch.
//!
//! The caller loads (and, in a database, locks) exactly the budget lines, allocation and
//! records an operation names, calls it, and persists what it returns and the state it
//! changed. An operation either returns `Ok` having applied every change to the state it
//! was given, or `Err` having changed nothing. [`crate::book::Book`] runs them in memory;
//! the store runs them inside a database transaction.

use crate::account::{Account, BankCode};
use crate::budget::{
    BudgetLineKind, BudgetWarning, LineBalances, LineId, LineRole, control, fiscal_year,
};
use crate::command::{
    Allocate, AllocateStartupBatch, ApplyRebate, Apportion, Appropriate, ApproveRebate, BankCharge,
    CloseYear, Disburse, PayDirect, Receive, RecordDues, Release, Reverse, Virement,
};
use crate::config::{LedgerConfig, YearEndRule};
use crate::error::LedgerError;
use crate::journal::{PostedTransaction, Posting, Transaction, TxnKind};
use crate::model::{Allocation, AllocationStatus, NewAllocation, RebateApplication, RebateStatus};
use crate::period::Periods;
use crate::rates::{BatchPlan, UnitHolding};
use chrono::NaiveDate;
use duban_core::money::Money;
use std::collections::{BTreeMap, BTreeSet};

/// What every operation needs to know besides the state it touches.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    pub config: &'a LedgerConfig,
    pub periods: Periods,
    pub closed_years: &'a BTreeSet<i32>,
    /// Today in Asia/Shanghai, passed in (the ledger reads no clock).
    pub today: NaiveDate,
}

/// The budget lines an operation works on, loaded by the caller.
pub type Lines = BTreeMap<LineId, LineBalances>;

/// The allocations a batch makes, each with its commitment transaction.
pub type BatchAllocations = Vec<(NewAllocation, Transaction)>;

/// Checks `txn` against periods, closed years and budget control, and applies it to
/// `lines`. All or nothing: on error `lines` is unchanged.
pub fn post(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    txn: &Transaction,
) -> Result<Vec<BudgetWarning>, LedgerError> {
    ctx.periods.check_open(txn.date())?;
    post_in_any_period(ctx, lines, txn)
}

/// [`post`] without the period check: for a year's closing entries, which belong to the
/// year's last day whether or not its months are closed yet.
fn post_in_any_period(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    txn: &Transaction,
) -> Result<Vec<BudgetWarning>, LedgerError> {
    let touched = txn.lines();
    let mut scratch = Lines::new();
    for line in &touched {
        if ctx.closed_years.contains(&line.year) {
            return Err(LedgerError::YearClosed(line.year));
        }
        if line.year != fiscal_year(txn.date()) {
            return Err(LedgerError::WrongYear {
                what: format!("this {}", txn.kind()),
                date: txn.date(),
                year: line.year,
            });
        }
        let b = lines.get(line).ok_or(LedgerError::UnknownLine(*line))?;
        scratch.insert(*line, *b);
    }
    txn.apply_to_lines(&mut scratch)?;
    let mut warnings = Vec::new();
    for line in &touched {
        if let Some(w) = control(*line, &lines[line], &scratch[line], &ctx.config.budget)? {
            warnings.push(w);
        }
    }
    lines.extend(scratch);
    Ok(warnings)
}

fn budget(line: LineId, role: LineRole, amount: Money) -> Posting {
    Posting::new(Account::budget(line, role), amount)
}

fn neg(m: Money) -> Result<Money, LedgerError> {
    m.checked_neg().ok_or(LedgerError::Overflow)
}

/// `line (中文名)` for descriptions.
fn line_name(kind: BudgetLineKind) -> String {
    format!("{} ({})", kind.slug(), kind.zh())
}

/// Gives `amount` to the line of the year of `c.date`, creating the line if it is new.
pub fn appropriate(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    c: &Appropriate,
) -> Result<(Transaction, Vec<BudgetWarning>), LedgerError> {
    let line = LineId::new(fiscal_year(c.date), c.line);
    let mut description = format!("appropriation {} {}", line.year, line_name(c.line));
    if let Some(memo) = c.memo.as_deref().filter(|m| !m.trim().is_empty()) {
        description.push_str(": ");
        description.push_str(memo);
    }
    let txn = Transaction::new(
        c.date,
        TxnKind::Appropriation,
        &description,
        vec![
            budget(line, LineRole::Available, c.amount),
            budget(line, LineRole::Appropriated, neg(c.amount)?),
        ],
    )?;
    let mut working = lines.clone();
    working.entry(line).or_default();
    let warnings = post(ctx, &mut working, &txn)?;
    *lines = working;
    Ok((txn, warnings))
}

/// Moves headroom from one line to another of the same year, with its approval.
pub fn virement(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    c: &Virement,
) -> Result<(Transaction, Vec<BudgetWarning>), LedgerError> {
    let year = fiscal_year(c.date);
    let description = format!(
        "virement {year} from {} to {}, approved at {}",
        line_name(c.from),
        line_name(c.to),
        c.approval
    );
    let moved = Moved {
        kind: TxnKind::Virement,
        date: c.date,
        from: LineId::new(year, c.from),
        to: LineId::new(year, c.to),
        amount: c.amount,
        approval: &c.approval,
    };
    move_headroom(ctx, lines, moved, &description)
}

/// Gives part of the year's fund to a line, with its approval: the line's original budget.
pub fn apportion(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    c: &Apportion,
) -> Result<(Transaction, Vec<BudgetWarning>), LedgerError> {
    let year = fiscal_year(c.date);
    let description = format!(
        "apportionment {year} of the fund to {}, approved at {}",
        line_name(c.to),
        c.approval
    );
    let moved = Moved {
        kind: TxnKind::Apportionment,
        date: c.date,
        from: LineId::new(year, BudgetLineKind::Fund),
        to: LineId::new(year, c.to),
        amount: c.amount,
        approval: &c.approval,
    };
    move_headroom(ctx, lines, moved, &description)
}

/// Headroom moving between two lines of a year (a virement or an apportionment).
struct Moved<'a> {
    kind: TxnKind,
    date: NaiveDate,
    from: LineId,
    to: LineId,
    amount: Money,
    approval: &'a crate::model::Approval,
}

fn move_headroom(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    m: Moved<'_>,
    description: &str,
) -> Result<(Transaction, Vec<BudgetWarning>), LedgerError> {
    let (from, to) = (m.from, m.to);
    let txn = Transaction::new(
        m.date,
        m.kind,
        description,
        vec![
            budget(from, LineRole::Appropriated, m.amount),
            budget(from, LineRole::Available, neg(m.amount)?),
            budget(to, LineRole::Available, m.amount),
            budget(to, LineRole::Appropriated, neg(m.amount)?),
        ],
    )?
    .with_approval(m.approval);
    if !lines.contains_key(&from) {
        return Err(LedgerError::UnknownLine(from));
    }
    let mut working = lines.clone();
    working.entry(to).or_default();
    let warnings = post(ctx, &mut working, &txn)?;
    *lines = working;
    Ok((txn, warnings))
}

/// The commitment transaction of a new allocation (its id is linked by the caller).
fn commitment(a: &NewAllocation) -> Result<Transaction, LedgerError> {
    let description = format!(
        "allocation to {} from {}: {}, approved at {}",
        a.unit,
        line_name(a.line.kind),
        a.purpose,
        a.approval
    );
    Ok(Transaction::new(
        a.date,
        TxnKind::Allocation,
        &description,
        vec![
            budget(a.line, LineRole::Committed, a.amount),
            budget(a.line, LineRole::Available, neg(a.amount)?),
        ],
    )?
    .with_unit(&a.unit)
    .with_approval(&a.approval))
}

/// Commits an amount to a unit. `held` is what the unit already holds on the line's kind
/// (for the rate card). The returned transaction still needs `with_allocation(id)`.
pub fn allocate(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    held: UnitHolding,
    c: &Allocate,
) -> Result<(NewAllocation, Transaction, Vec<BudgetWarning>), LedgerError> {
    ctx.config.rates.check(c.line, &c.unit, c.amount, held)?;
    let new = NewAllocation {
        line: LineId::new(fiscal_year(c.date), c.line),
        unit: c.unit.clone(),
        purpose: c.purpose.split_whitespace().collect::<Vec<_>>().join(" "),
        approval: c.approval.clone(),
        amount: c.amount,
        date: c.date,
    };
    let txn = commitment(&new)?;
    let warnings = post(ctx, lines, &txn)?;
    Ok((new, txn, warnings))
}

/// Allocates every item of a start-up batch plan, or nothing: a plan larger than the
/// line's headroom is refused as a whole, with the headroom and the plan's total.
pub fn startup_batch(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    plan: &BatchPlan,
    c: &AllocateStartupBatch,
) -> Result<(BatchAllocations, Vec<BudgetWarning>), LedgerError> {
    let line = LineId::new(fiscal_year(c.date), BudgetLineKind::StartUp);
    if plan.items.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    if ctx.closed_years.contains(&line.year) {
        return Err(LedgerError::YearClosed(line.year));
    }
    let available = lines
        .get(&line)
        .ok_or(LedgerError::UnknownLine(line))?
        .available;
    if plan.total > available {
        return Err(LedgerError::OverBudget {
            line,
            headroom: available,
            needed: plan.total,
        });
    }
    let mut working = lines.clone();
    let mut out = Vec::with_capacity(plan.items.len());
    let mut warnings = Vec::new();
    for item in &plan.items {
        let new = NewAllocation {
            line,
            unit: item.unit.clone(),
            purpose: format!("start-up funds for a unit formed in {}", c.formed_in),
            approval: c.approval.clone(),
            amount: item.amount,
            date: c.date,
        };
        let txn = commitment(&new)?;
        warnings = post(ctx, &mut working, &txn)?;
        out.push((new, txn));
    }
    *lines = working;
    // Only the last warning matters: it describes the line after the whole batch.
    Ok((out, warnings))
}

fn check_open(a: &Allocation) -> Result<(), LedgerError> {
    if a.status != AllocationStatus::Open {
        return Err(LedgerError::AllocationNotOpen {
            allocation: a.id,
            status: a.status.as_str(),
        });
    }
    Ok(())
}

/// Pays a tranche of an allocation: never more than is outstanding.
pub fn disburse(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    a: &mut Allocation,
    c: &Disburse,
) -> Result<(Transaction, Vec<BudgetWarning>), LedgerError> {
    check_open(a)?;
    if c.amount > a.outstanding {
        return Err(LedgerError::OverDisbursement {
            allocation: a.id,
            outstanding: a.outstanding,
            asked: c.amount,
        });
    }
    let mut description = format!(
        "disbursement of allocation #{} to {} from {}",
        a.id,
        a.unit,
        line_name(a.line.kind)
    );
    if let Some(memo) = c.memo.as_deref().filter(|m| !m.trim().is_empty()) {
        description.push_str(": ");
        description.push_str(memo);
    }
    let payment = c.payment.normalised();
    let funding = paid_from(&payment, a.line.kind)?;
    let txn = Transaction::new(
        c.date,
        TxnKind::Disbursement,
        &description,
        vec![
            budget(a.line, LineRole::Paid, c.amount),
            budget(a.line, LineRole::Committed, neg(c.amount)?),
            Posting::new(Account::Expense(a.line.kind), c.amount),
            Posting::new(funding, neg(c.amount)?),
        ],
    )?
    .with_allocation(a.id)
    .with_unit(&a.unit)
    .with_payment(&payment);
    let warnings = post(ctx, lines, &txn)?;
    a.outstanding = a
        .outstanding
        .checked_sub(c.amount)
        .ok_or(LedgerError::Overflow)?;
    a.disbursed = a
        .disbursed
        .checked_add(c.amount)
        .ok_or(LedgerError::Overflow)?;
    if a.outstanding.is_zero() {
        a.status = AllocationStatus::Completed;
    }
    Ok((txn, warnings))
}

/// Where a payment's money leaves from: the office's bank account it names, else what funds
/// the line (the treasury pays directly, or the dues account).
fn paid_from(
    payment: &crate::command::Payment,
    line: BudgetLineKind,
) -> Result<Account, LedgerError> {
    Ok(match payment.bank_account.as_deref() {
        Some(code) => Account::Bank(BankCode::parse(code)?),
        None => Account::funding_for(line),
    })
}

/// Hands the undisbursed remainder of an allocation back to its line's headroom.
pub fn release(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    a: &mut Allocation,
    c: &Release,
) -> Result<Transaction, LedgerError> {
    check_open(a)?;
    let rest = a.outstanding;
    let description = format!(
        "release of the remainder of allocation #{} to {} ({}): {}",
        a.id,
        a.unit,
        line_name(a.line.kind),
        c.reason
    );
    let txn = Transaction::new(
        c.date,
        TxnKind::Release,
        &description,
        vec![
            budget(a.line, LineRole::Available, rest),
            budget(a.line, LineRole::Committed, neg(rest)?),
        ],
    )?
    .with_allocation(a.id)
    .with_unit(&a.unit);
    post(ctx, lines, &txn)?;
    a.released = a.released.checked_add(rest).ok_or(LedgerError::Overflow)?;
    a.outstanding = Money::ZERO;
    a.status = AllocationStatus::Released;
    Ok(txn)
}

/// Pays out of a line without a commitment.
pub fn pay_direct(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    c: &PayDirect,
) -> Result<(Transaction, Vec<BudgetWarning>), LedgerError> {
    let line = LineId::new(fiscal_year(c.date), c.line);
    let payment = c.payment.with_payee(&c.payee);
    let funding = paid_from(&payment, c.line)?;
    let description = format!(
        "direct payment from {} to {}: {}",
        line_name(c.line),
        c.payee.trim(),
        c.purpose
    );
    let txn = Transaction::new(
        c.date,
        TxnKind::DirectPayment,
        &description,
        vec![
            budget(line, LineRole::PaidDirect, c.amount),
            budget(line, LineRole::Available, neg(c.amount)?),
            Posting::new(Account::Expense(c.line), c.amount),
            Posting::new(funding, neg(c.amount)?),
        ],
    )?
    .with_payment(&payment);
    let warnings = post(ctx, lines, &txn)?;
    Ok((txn, warnings))
}

/// Books a bank's charge beyond a payment: the fee account debited, the bank account
/// credited (the other way round for a negative amount). No budget line is touched.
pub fn bank_charge(ctx: &Ctx<'_>, c: &BankCharge) -> Result<Transaction, LedgerError> {
    let bank = Account::Bank(BankCode::parse(&c.bank_account)?);
    let fees = match Account::parse(&c.fee_account)? {
        a @ Account::Fees(_) => a,
        _ => {
            return Err(LedgerError::Invalid(format!(
                "fee_account: {:?} is a budget line's account",
                c.fee_account
            )));
        }
    };
    let description = format!(
        "bank charge on {} booked to {}: {}",
        bank.name(),
        fees.name(),
        c.memo
    );
    let txn = Transaction::new(
        c.date,
        TxnKind::BankCharge,
        &description,
        vec![
            Posting::new(fees, c.amount),
            Posting::new(bank, neg(c.amount)?),
        ],
    )?;
    post(ctx, &mut Lines::new(), &txn)?;
    Ok(txn)
}

/// Where a receipt into `bank_account` may come from: the fiscal appropriation, the dues
/// account, or another of the office's bank accounts (never the same one).
pub fn receipt_source(bank_account: &str, from: &str) -> Result<Account, LedgerError> {
    let into = BankCode::parse(bank_account)?;
    let refuse = || {
        LedgerError::Invalid(format!(
            "from: {from:?} is not where a receipt comes from (income:fiscal-appropriation, assets:party-dues-account or assets:bank:<another account>)"
        ))
    };
    match Account::parse(from).map_err(|_| refuse())? {
        a @ (Account::FiscalAppropriation | Account::DuesAccount) => Ok(a),
        Account::Bank(code) if code != into => Ok(Account::Bank(code)),
        _ => Err(refuse()),
    }
}

/// Books money received into a bank account: the bank account debited, its source
/// credited. No budget line is touched.
pub fn receive(ctx: &Ctx<'_>, c: &Receive) -> Result<Transaction, LedgerError> {
    let from = receipt_source(&c.bank_account, &c.from)?;
    let bank = Account::Bank(BankCode::parse(&c.bank_account)?);
    let mut description = format!("receipt into {} from {}", bank.name(), from.name());
    if let Some(memo) = c.memo.as_deref().filter(|m| !m.trim().is_empty()) {
        description.push_str(": ");
        description.push_str(memo);
    }
    let txn = Transaction::new(
        c.date,
        TxnKind::Receipt,
        &description,
        vec![
            Posting::new(bank, c.amount),
            Posting::new(from, neg(c.amount)?),
        ],
    )?
    .with_payment(&c.payer.as_counterparty(&c.bank_account));
    post(ctx, &mut Lines::new(), &txn)?;
    Ok(txn)
}

/// Records the dues a unit remitted for a month. `already` is the transaction that
/// recorded this unit and month before, if it stands (not reversed).
pub fn record_dues(
    ctx: &Ctx<'_>,
    already: Option<i64>,
    c: &RecordDues,
) -> Result<Transaction, LedgerError> {
    if let Some(id) = already {
        return Err(LedgerError::Dues(format!(
            "dues of {} for {} are already recorded (transaction #{id}); reverse it to correct the amount",
            c.unit, c.month
        )));
    }
    let txn = Transaction::new(
        c.date,
        TxnKind::Dues,
        &format!("dues of {} for {}", c.unit, c.month),
        vec![
            Posting::new(Account::DuesAccount, c.amount),
            Posting::new(Account::DuesIncome, neg(c.amount)?),
        ],
    )?
    .with_unit(&c.unit);
    post(ctx, &mut Lines::new(), &txn)?;
    Ok(txn)
}

/// A rebate application before it has an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRebate {
    pub unit: String,
    pub dues_year: i32,
    pub remitted: Money,
    pub amount: Money,
    pub applied_on: NaiveDate,
}

/// A unit applies, in the year after `dues_year`, for the rebate of what it remitted then.
/// `existing` is an earlier application of the same unit and year, if any.
pub fn apply_rebate(
    ctx: &Ctx<'_>,
    remitted: Money,
    existing: Option<&RebateApplication>,
    c: &ApplyRebate,
) -> Result<NewRebate, LedgerError> {
    if fiscal_year(c.date) != c.dues_year + 1 {
        return Err(LedgerError::Dues(format!(
            "the rebate of {} dues is applied for in {}, not on {}",
            c.dues_year,
            c.dues_year + 1,
            c.date
        )));
    }
    if let Some(app) = existing {
        return Err(LedgerError::Dues(format!(
            "unit {} already applied for the rebate of {} dues (application #{}, {})",
            c.unit,
            c.dues_year,
            app.id,
            app.status.as_str()
        )));
    }
    let amount = crate::dues::rebate(remitted, ctx.config.dues.rebate_share)?;
    if amount.is_zero() {
        return Err(LedgerError::Dues(format!(
            "unit {} has no dues recorded for {} to rebate",
            c.unit, c.dues_year
        )));
    }
    Ok(NewRebate {
        unit: c.unit.clone(),
        dues_year: c.dues_year,
        remitted,
        amount,
        applied_on: c.date,
    })
}

/// Approves a pending application: an allocation on the dues-rebate line of the year
/// after the dues commits the amount. The transaction still needs `with_allocation(id)`.
pub fn approve_rebate(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    app: &mut RebateApplication,
    c: &ApproveRebate,
) -> Result<(NewAllocation, Transaction, Vec<BudgetWarning>), LedgerError> {
    if app.status != RebateStatus::Pending {
        return Err(LedgerError::Dues(format!(
            "rebate application #{} is {}, not pending",
            app.id,
            app.status.as_str()
        )));
    }
    if fiscal_year(c.date) != app.dues_year + 1 {
        return Err(LedgerError::Dues(format!(
            "the rebate of {} dues is approved in {}, not on {}",
            app.dues_year,
            app.dues_year + 1,
            c.date
        )));
    }
    let new = NewAllocation {
        line: LineId::new(fiscal_year(c.date), BudgetLineKind::DuesRebate),
        unit: app.unit.clone(),
        purpose: format!("rebate of {} dues (application #{})", app.dues_year, app.id),
        approval: c.approval.clone(),
        amount: app.amount,
        date: c.date,
    };
    let txn = commitment(&new)?;
    let warnings = post(ctx, lines, &txn)?;
    app.status = RebateStatus::Approved;
    Ok((new, txn, warnings))
}

/// What a reversal needs to know about the original besides the transaction itself.
#[derive(Debug)]
pub struct ReversalTarget<'a> {
    pub original: &'a PostedTransaction,
    /// The transaction that already reversed it, if any.
    pub reversed_by: Option<i64>,
    /// The allocation it belongs to, if it has one.
    pub allocation: Option<&'a mut Allocation>,
    /// For dues: whether a rebate application already counts them.
    pub rebate_applied: bool,
}

/// Reverses a transaction in an open period, keeping allocations in step.
pub fn reverse(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    target: ReversalTarget<'_>,
    c: &Reverse,
) -> Result<(Transaction, Vec<BudgetWarning>), LedgerError> {
    let original = target.original;
    let id = original.id;
    let cannot = |reason: &str| LedgerError::CannotReverse {
        id,
        reason: reason.to_string(),
    };
    if let Some(by) = target.reversed_by {
        return Err(LedgerError::AlreadyReversed { id, by });
    }
    let kind = original.txn.kind();
    match kind {
        TxnKind::Reversal => {
            return Err(cannot(
                "it is itself a reversal; post the original command again instead",
            ));
        }
        TxnKind::YearEnd => return Err(cannot("year-end entries stand once the year is closed")),
        TxnKind::Dues if target.rebate_applied => {
            return Err(cannot("a rebate application already counts these dues"));
        }
        _ => {}
    }
    let txn = Transaction::reversal_of(original, c.date, &c.reason)?;
    // Amount on one role of the allocation's line in the original.
    let on_role = |a: &Allocation, role: LineRole| -> Money {
        original
            .txn
            .on_line(a.line)
            .filter(|(r, _)| *r == role)
            .map(|(_, m)| m)
            .sum::<Money>()
    };
    let mut next: Option<Allocation> = None;
    if matches!(
        kind,
        TxnKind::Allocation | TxnKind::Disbursement | TxnKind::Release
    ) {
        let a = target
            .allocation
            .as_deref()
            .filter(|a| Some(a.id) == original.txn.allocation())
            .ok_or_else(|| cannot("its allocation was not given"))?;
        let mut n = a.clone();
        match kind {
            TxnKind::Allocation => {
                if a.status != AllocationStatus::Open || a.outstanding != a.amount {
                    return Err(cannot(&format!(
                        "allocation #{} has disbursements, releases or lapses; reverse those first",
                        a.id
                    )));
                }
                n.outstanding = Money::ZERO;
                n.status = AllocationStatus::Reversed;
            }
            TxnKind::Disbursement => {
                if !matches!(
                    a.status,
                    AllocationStatus::Open | AllocationStatus::Completed
                ) {
                    return Err(cannot(&format!(
                        "allocation #{} is {}; reverse that first",
                        a.id,
                        a.status.as_str()
                    )));
                }
                let paid = on_role(a, LineRole::Paid);
                if paid.is_zero() {
                    return Err(cannot("it is charged to an earlier year's line"));
                }
                n.outstanding = n
                    .outstanding
                    .checked_add(paid)
                    .ok_or(LedgerError::Overflow)?;
                n.disbursed = n.disbursed.checked_sub(paid).ok_or(LedgerError::Overflow)?;
                n.status = AllocationStatus::Open;
            }
            TxnKind::Release => {
                if a.status != AllocationStatus::Released {
                    return Err(cannot(&format!(
                        "allocation #{} is {}",
                        a.id,
                        a.status.as_str()
                    )));
                }
                let back = on_role(a, LineRole::Available);
                n.outstanding = n
                    .outstanding
                    .checked_add(back)
                    .ok_or(LedgerError::Overflow)?;
                n.released = n.released.checked_sub(back).ok_or(LedgerError::Overflow)?;
                n.status = AllocationStatus::Open;
            }
            _ => unreachable!("matched above"),
        }
        next = Some(n);
    }
    let warnings = post(ctx, lines, &txn)?;
    if let (Some(n), Some(a)) = (next, target.allocation) {
        *a = n;
    }
    Ok((txn, warnings))
}

/// Closes a fiscal year: outstanding commitments and unused headroom lapse or carry
/// forward by the year-end policy. `lines` holds every line of `year` (and of the next
/// year, where they exist); `open` the allocations charged to `year` that are still open.
/// Entries are dated 31 December, carry-ins 1 January of the next year.
pub fn close_year(
    ctx: &Ctx<'_>,
    lines: &mut Lines,
    open: &mut [Allocation],
    c: &CloseYear,
) -> Result<Vec<Transaction>, LedgerError> {
    let year = c.year;
    if ctx.closed_years.contains(&year) {
        return Err(LedgerError::YearClosed(year));
    }
    let last = NaiveDate::from_ymd_opt(year, 12, 31).ok_or(LedgerError::Overflow)?;
    let first_next = NaiveDate::from_ymd_opt(year + 1, 1, 1).ok_or(LedgerError::Overflow)?;
    if ctx.today < first_next {
        return Err(LedgerError::Invalid(format!(
            "year: {year} has not ended yet (today is {})",
            ctx.today
        )));
    }
    if let Some(prev) = ctx.closed_years.iter().next_back().filter(|y| **y > year) {
        return Err(LedgerError::Invalid(format!(
            "year: {prev} is already closed, so {year} cannot be closed after it"
        )));
    }
    let policy = ctx.config.year_end;
    let mut working = lines.clone();
    let mut allocations: Vec<Allocation> = open.to_vec();
    let mut txns = Vec::new();
    // The closing entries on the year's last day post even when December is closed (period
    // and year close go in either order); what opens the next year checks its period.
    let mut push = |working: &mut Lines, txn: Transaction| -> Result<(), LedgerError> {
        if txn.date() == last {
            post_in_any_period(ctx, working, &txn)?;
        } else {
            post(ctx, working, &txn)?;
        }
        txns.push(txn);
        Ok(())
    };

    for a in allocations
        .iter_mut()
        .filter(|a| a.line.year == year && a.status == AllocationStatus::Open)
    {
        let rest = a.outstanding;
        if rest.is_zero() {
            continue;
        }
        let out = vec![
            budget(a.line, LineRole::Appropriated, rest),
            budget(a.line, LineRole::Committed, neg(rest)?),
        ];
        match policy.commitments {
            YearEndRule::Lapse => {
                let t = Transaction::new(
                    last,
                    TxnKind::YearEnd,
                    &format!("year-end {year}: allocation #{} to {} lapses", a.id, a.unit),
                    out,
                )?
                .with_allocation(a.id)
                .with_unit(&a.unit);
                push(&mut working, t)?;
                a.lapsed = a.lapsed.checked_add(rest).ok_or(LedgerError::Overflow)?;
                a.outstanding = Money::ZERO;
                a.status = AllocationStatus::Lapsed;
            }
            YearEndRule::CarryForward => {
                let next = LineId::new(year + 1, a.line.kind);
                let t = Transaction::new(
                    last,
                    TxnKind::YearEnd,
                    &format!(
                        "year-end {year}: allocation #{} to {} carried forward to {}",
                        a.id,
                        a.unit,
                        year + 1
                    ),
                    out,
                )?
                .with_allocation(a.id)
                .with_unit(&a.unit);
                push(&mut working, t)?;
                working.entry(next).or_default();
                let t = Transaction::new(
                    first_next,
                    TxnKind::YearEnd,
                    &format!(
                        "carried forward from {year}: allocation #{} to {}",
                        a.id, a.unit
                    ),
                    vec![
                        budget(next, LineRole::Committed, rest),
                        budget(next, LineRole::Appropriated, neg(rest)?),
                    ],
                )?
                .with_allocation(a.id)
                .with_unit(&a.unit);
                push(&mut working, t)?;
                a.line = next;
            }
        }
    }

    let year_lines: Vec<LineId> = working.keys().copied().filter(|l| l.year == year).collect();
    for line in year_lines {
        let rest = working[&line].available;
        if rest.is_zero() {
            continue;
        }
        let out = vec![
            budget(line, LineRole::Appropriated, rest),
            budget(line, LineRole::Available, neg(rest)?),
        ];
        match policy.headroom {
            YearEndRule::Lapse => {
                push(
                    &mut working,
                    Transaction::new(
                        last,
                        TxnKind::YearEnd,
                        &format!(
                            "year-end {year}: headroom of {} lapses",
                            line_name(line.kind)
                        ),
                        out,
                    )?,
                )?;
            }
            YearEndRule::CarryForward => {
                let next = LineId::new(year + 1, line.kind);
                push(
                    &mut working,
                    Transaction::new(
                        last,
                        TxnKind::YearEnd,
                        &format!(
                            "year-end {year}: headroom of {} carried forward",
                            line_name(line.kind)
                        ),
                        out,
                    )?,
                )?;
                working.entry(next).or_default();
                push(
                    &mut working,
                    Transaction::new(
                        first_next,
                        TxnKind::YearEnd,
                        &format!(
                            "headroom of {} carried forward from {year}",
                            line_name(line.kind)
                        ),
                        vec![
                            budget(next, LineRole::Available, rest),
                            budget(next, LineRole::Appropriated, neg(rest)?),
                        ],
                    )?,
                )?;
            }
        }
    }
    *lines = working;
    open.clone_from_slice(&allocations);
    Ok(txns)
}
