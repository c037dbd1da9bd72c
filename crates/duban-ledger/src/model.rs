//! The records around the journal: approvals, allocations and rebate applications.
//!
//! Their amounts are kept in step with the journal by the operations in [`crate::ops`];
//! the journal stays the authority (every figure here can be recomputed from it).

use crate::budget::LineId;
use crate::error::LedgerError;
use chrono::NaiveDate;
use duban_core::money::Money;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A recorded approval: the meeting that decided (集体讨论决定) and its date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The approving meeting, e.g. `部务会 2026-05`.
    pub meeting: String,
    /// The day it decided.
    pub date: NaiveDate,
}

impl Approval {
    pub fn new(meeting: &str, date: NaiveDate) -> Result<Self, LedgerError> {
        let a = Self {
            meeting: meeting.split_whitespace().collect::<Vec<_>>().join(" "),
            date,
        };
        a.validate("approval")?;
        Ok(a)
    }

    /// Refuses an approval without a meeting; `at` names the field in the message.
    pub fn validate(&self, at: &str) -> Result<(), LedgerError> {
        let meeting = self.meeting.trim();
        if meeting.is_empty() {
            return Err(LedgerError::Invalid(format!(
                "{at}.meeting: name the meeting that approved it (a collective decision is required)"
            )));
        }
        if meeting.chars().count() > 200 {
            return Err(LedgerError::Invalid(format!(
                "{at}.meeting: at most 200 characters"
            )));
        }
        Ok(())
    }

    /// Refuses an approval dated after the transaction it approves.
    pub fn check_before(&self, at: &str, date: NaiveDate) -> Result<(), LedgerError> {
        if self.date > date {
            return Err(LedgerError::Invalid(format!(
                "{at}.date: the approval ({}) cannot come after the transaction ({date})",
                self.date
            )));
        }
        Ok(())
    }
}

impl fmt::Display for Approval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.meeting, self.date)
    }
}

/// Where an allocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationStatus {
    /// Something is left to disburse.
    Open,
    /// Disbursed in full.
    Completed,
    /// The remainder was released back to the line.
    Released,
    /// The remainder lapsed at year end.
    Lapsed,
    /// The commitment itself was reversed.
    Reversed,
}

impl AllocationStatus {
    pub const ALL: [AllocationStatus; 5] = [
        AllocationStatus::Open,
        AllocationStatus::Completed,
        AllocationStatus::Released,
        AllocationStatus::Lapsed,
        AllocationStatus::Reversed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AllocationStatus::Open => "open",
            AllocationStatus::Completed => "completed",
            AllocationStatus::Released => "released",
            AllocationStatus::Lapsed => "lapsed",
            AllocationStatus::Reversed => "reversed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An allocation (commitment, 核定) before it has an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAllocation {
    pub line: LineId,
    pub unit: String,
    pub purpose: String,
    pub approval: Approval,
    pub amount: Money,
    pub date: NaiveDate,
}

/// A commitment to a party unit, disbursed in one or several tranches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub id: i64,
    /// The line it is charged to now (a carry-forward moves it to the next year's line).
    pub line: LineId,
    pub unit: String,
    pub purpose: String,
    pub approval: Approval,
    pub date: NaiveDate,
    /// What was committed.
    pub amount: Money,
    /// Committed and not yet disbursed, released or lapsed.
    pub outstanding: Money,
    pub disbursed: Money,
    pub released: Money,
    pub lapsed: Money,
    pub status: AllocationStatus,
}

impl Allocation {
    pub fn from_new(id: i64, n: NewAllocation) -> Self {
        Self {
            id,
            line: n.line,
            unit: n.unit,
            purpose: n.purpose,
            approval: n.approval,
            date: n.date,
            amount: n.amount,
            outstanding: n.amount,
            disbursed: Money::ZERO,
            released: Money::ZERO,
            lapsed: Money::ZERO,
            status: AllocationStatus::Open,
        }
    }

    /// The amount that counts against a per-unit cap: committed minus what was handed back.
    pub fn net(&self) -> Result<Money, LedgerError> {
        if self.status == AllocationStatus::Reversed {
            return Ok(Money::ZERO);
        }
        self.amount
            .checked_sub(self.released)
            .and_then(|m| m.checked_sub(self.lapsed))
            .ok_or(LedgerError::Overflow)
    }

    /// `amount = outstanding + disbursed + released + lapsed` (zero parts once reversed).
    pub fn is_consistent(&self) -> bool {
        if self.status == AllocationStatus::Reversed {
            return self.outstanding.is_zero() && self.disbursed.is_zero();
        }
        let parts: i128 = [self.outstanding, self.disbursed, self.released, self.lapsed]
            .iter()
            .map(|m| i128::from(m.fen()))
            .sum();
        parts == i128::from(self.amount.fen())
            && [self.outstanding, self.disbursed, self.released, self.lapsed]
                .iter()
                .all(|m| !m.is_negative())
    }
}

/// Where a rebate application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RebateStatus {
    /// Applied for, waiting for the approval of the level above.
    Pending,
    /// Approved: an allocation on the dues-rebate line pays it.
    Approved,
}

impl RebateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RebateStatus::Pending => "pending",
            RebateStatus::Approved => "approved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(RebateStatus::Pending),
            "approved" => Some(RebateStatus::Approved),
            _ => None,
        }
    }
}

/// A unit's application for the rebate of the dues it remitted in `dues_year`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebateApplication {
    pub id: i64,
    pub unit: String,
    pub dues_year: i32,
    pub remitted: Money,
    pub amount: Money,
    pub applied_on: NaiveDate,
    pub status: RebateStatus,
    /// The allocation that pays it, once approved.
    pub allocation: Option<i64>,
}
