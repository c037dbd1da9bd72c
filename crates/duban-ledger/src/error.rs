//! Why the ledger refuses a command. Every message says what to do next where there is
//! something to do; amounts are shown grouped (`4,346,000.00`).

use crate::budget::LineId;
use crate::period::YearMonth;
use chrono::NaiveDate;
use duban_core::money::Money;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    // --- the journal
    #[error("a transaction needs at least two postings, this one has {0}")]
    TooFewPostings(usize),
    #[error("posting {index} to {account} is zero; leave it out")]
    ZeroPosting { index: usize, account: String },
    #[error("transaction does not balance: its postings sum to {0}")]
    Unbalanced(String),
    #[error("the budget postings of {line} do not balance: they sum to {sum}")]
    LineUnbalanced { line: LineId, sum: String },
    #[error("a transaction needs a description")]
    NoDescription,

    // --- budget control
    #[error(
        "over budget: line {line} has headroom {}, and this needs {}",
        headroom.grouped(), needed.grouped()
    )]
    OverBudget {
        line: LineId,
        headroom: Money,
        needed: Money,
    },
    #[error("budget line {line} would have a negative {role} balance ({})", balance.grouped())]
    NegativeBalance {
        line: LineId,
        role: &'static str,
        balance: Money,
    },
    #[error("there is no budget line {0}; appropriate an amount to it first")]
    UnknownLine(LineId),
    #[error("fiscal year {0} is closed; post to {next} instead", next = .0 + 1)]
    YearClosed(i32),
    #[error("{what} is dated {date}, outside the fiscal year {year} of its budget line")]
    WrongYear {
        what: String,
        date: NaiveDate,
        year: i32,
    },

    // --- periods
    #[error(
        "period {month} is closed (closed through {closed_through}); \
         post in an open period and link the correction to the original"
    )]
    PeriodClosed {
        month: YearMonth,
        closed_through: YearMonth,
    },

    // --- allocations
    #[error("there is no allocation #{0}")]
    UnknownAllocation(i64),
    #[error(
        "allocation #{allocation} has {} left to disburse; {} is more than that",
        outstanding.grouped(), asked.grouped()
    )]
    OverDisbursement {
        allocation: i64,
        outstanding: Money,
        asked: Money,
    },
    #[error("allocation #{allocation} is {status}; nothing more can be done with it")]
    AllocationNotOpen {
        allocation: i64,
        status: &'static str,
    },
    #[error("{0}")]
    RateCard(String),

    // --- corrections
    #[error("there is no transaction #{0}")]
    UnknownTransaction(i64),
    #[error("transaction #{id} was already reversed by #{by}")]
    AlreadyReversed { id: i64, by: i64 },
    #[error("transaction #{id} cannot be reversed: {reason}")]
    CannotReverse { id: i64, reason: String },

    // --- dues
    #[error("{0}")]
    Dues(String),

    // --- idempotency
    #[error(
        "idempotency key {key:?} was already used for a different command ({}); \
         use a new key for a new command",
        conflict_detail(differs, first, this)
    )]
    IdempotencyConflict {
        key: String,
        first: String,
        this: String,
        /// The fields that differ, `amount: 600.00 then, 600.01 now`, when the first
        /// command is known.
        differs: Vec<String>,
    },

    // --- input
    #[error("{0}")]
    Invalid(String),
    #[error("amount out of range")]
    Overflow,
}

fn conflict_detail(differs: &[String], first: &str, this: &str) -> String {
    if differs.is_empty() {
        format!("first fingerprint {first}, this one {this}")
    } else {
        differs.join("; ")
    }
}

impl LedgerError {
    /// A short stable code for JSON output and logs.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::TooFewPostings(_)
            | LedgerError::ZeroPosting { .. }
            | LedgerError::Unbalanced(_)
            | LedgerError::LineUnbalanced { .. }
            | LedgerError::NoDescription => "unbalanced",
            LedgerError::OverBudget { .. } => "budget_exceeded",
            LedgerError::NegativeBalance { .. } => "negative_balance",
            LedgerError::UnknownLine(_) => "unknown_line",
            LedgerError::YearClosed(_) => "year_closed",
            LedgerError::WrongYear { .. } => "wrong_year",
            LedgerError::PeriodClosed { .. } => "period_closed",
            LedgerError::UnknownAllocation(_) => "unknown_allocation",
            LedgerError::OverDisbursement { .. } => "over_disbursement",
            LedgerError::AllocationNotOpen { .. } => "allocation_not_open",
            LedgerError::RateCard(_) => "rate_card",
            LedgerError::UnknownTransaction(_) => "unknown_transaction",
            LedgerError::AlreadyReversed { .. } => "already_reversed",
            LedgerError::CannotReverse { .. } => "cannot_reverse",
            LedgerError::Dues(_) => "dues",
            LedgerError::IdempotencyConflict { .. } => "idempotency_conflict",
            LedgerError::Invalid(_) => "invalid",
            LedgerError::Overflow => "overflow",
        }
    }
}

impl LedgerError {
    /// The refusal as a JSON object: `refused`, the stable `code`, the `message`, and the
    /// figures of the refusal (amounts as strings with two decimals).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Value, json};
        let mut v = json!({
            "refused": true,
            "code": self.code(),
            "message": self.to_string(),
        });
        let line = |l: &LineId| json!(format!("{} {}", l.year, l.kind.slug()));
        let extra: Value = match self {
            LedgerError::OverBudget {
                line: l,
                headroom,
                needed,
            } => json!({"line": line(l), "requested": needed, "headroom": headroom}),
            LedgerError::NegativeBalance {
                line: l,
                role,
                balance,
            } => json!({"line": line(l), "role": role, "balance": balance}),
            LedgerError::UnknownLine(l) => json!({"line": line(l)}),
            LedgerError::YearClosed(year) => json!({"year": year}),
            LedgerError::WrongYear { date, year, .. } => json!({"date": date, "year": year}),
            LedgerError::PeriodClosed {
                month,
                closed_through,
            } => json!({"month": month.to_string(), "closed_through": closed_through.to_string()}),
            LedgerError::UnknownAllocation(id) => json!({"allocation": id}),
            LedgerError::OverDisbursement {
                allocation,
                outstanding,
                asked,
            } => json!({"allocation": allocation, "requested": asked, "outstanding": outstanding}),
            LedgerError::AllocationNotOpen { allocation, status } => {
                json!({"allocation": allocation, "status": status})
            }
            LedgerError::UnknownTransaction(id) => json!({"transaction": id}),
            LedgerError::AlreadyReversed { id, by } => {
                json!({"transaction": id, "reversed_by": by})
            }
            LedgerError::CannotReverse { id, .. } => json!({"transaction": id}),
            LedgerError::IdempotencyConflict {
                key,
                first,
                this,
                differs,
            } => {
                json!({"key": key, "first_fingerprint": first, "this_fingerprint": this, "differs": differs})
            }
            _ => Value::Null,
        };
        if let (Value::Object(out), Value::Object(more)) = (&mut v, extra) {
            out.extend(more);
        }
        v
    }
}
