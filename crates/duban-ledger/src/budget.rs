//! Budget control: fiscal years, budget lines and their balances, Stop and Warn.
//!
//! A budget line is one kind of spending in one fiscal year (a calendar year). Its state is
//! five balances kept in the journal's budget accounts (see [`crate::account`]):
//!
//! ```text
//! appropriated = available + committed + paid + paid_direct
//! headroom     = available
//!              = appropriated − committed (gross: outstanding + paid) − paid without commitment
//! ```
//!
//! Every budget posting moves an amount between two of these within one line, so the
//! identity holds after every transaction; budget control is "no balance may go negative".

use crate::error::LedgerError;
use chrono::{Datelike, NaiveDate};
use duban_core::money::Money;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a budget line pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BudgetLineKind {
    /// 工作启动经费: start-up funds for newly formed units.
    #[serde(rename = "startup")]
    StartUp,
    /// 示范点补助: demonstration-site subsidies.
    #[serde(rename = "demo-site")]
    DemonstrationSite,
    /// 标准化阵地奖补: standardised-site awards.
    #[serde(rename = "standard-site")]
    StandardisedSite,
    /// 党费返还: dues rebates.
    #[serde(rename = "dues-rebate")]
    DuesRebate,
    /// 党建指导员补贴: instructor allowances.
    #[serde(rename = "instructor")]
    InstructorAllowance,
    /// 教育培训: training.
    #[serde(rename = "training")]
    Training,
    /// 其他: anything else.
    #[serde(rename = "other")]
    Other,
    /// 年度经费（待分配）: the year's budget appropriated as one fund, apportioned to the
    /// lines above (`apportion`); nothing is committed or paid from it directly.
    #[serde(rename = "fund")]
    Fund,
}

impl BudgetLineKind {
    pub const ALL: [BudgetLineKind; 8] = [
        BudgetLineKind::StartUp,
        BudgetLineKind::DemonstrationSite,
        BudgetLineKind::StandardisedSite,
        BudgetLineKind::DuesRebate,
        BudgetLineKind::InstructorAllowance,
        BudgetLineKind::Training,
        BudgetLineKind::Other,
        BudgetLineKind::Fund,
    ];

    /// The stable name used in account names, the database and JSON.
    pub fn slug(self) -> &'static str {
        match self {
            BudgetLineKind::StartUp => "startup",
            BudgetLineKind::DemonstrationSite => "demo-site",
            BudgetLineKind::StandardisedSite => "standard-site",
            BudgetLineKind::DuesRebate => "dues-rebate",
            BudgetLineKind::InstructorAllowance => "instructor",
            BudgetLineKind::Training => "training",
            BudgetLineKind::Other => "other",
            BudgetLineKind::Fund => "fund",
        }
    }

    /// The Chinese name shown to people.
    pub fn zh(self) -> &'static str {
        match self {
            BudgetLineKind::StartUp => "工作启动经费",
            BudgetLineKind::DemonstrationSite => "示范点补助",
            BudgetLineKind::StandardisedSite => "标准化阵地奖补",
            BudgetLineKind::DuesRebate => "党费返还",
            BudgetLineKind::InstructorAllowance => "党建指导员补贴",
            BudgetLineKind::Training => "教育培训",
            BudgetLineKind::Other => "其他",
            BudgetLineKind::Fund => "年度经费（待分配）",
        }
    }

    /// Accepts the slug (any case) or the Chinese name.
    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        let t = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| t.eq_ignore_ascii_case(k.slug()) || t == k.zh())
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|k| k.slug()).collect();
                LedgerError::Invalid(format!(
                    "{t:?} is not a budget line; use one of {}",
                    names.join(", ")
                ))
            })
    }
}

impl fmt::Display for BudgetLineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// The fiscal year of a date: the calendar year.
pub fn fiscal_year(date: NaiveDate) -> i32 {
    date.year()
}

/// One budget line: a kind of spending in a fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LineId {
    pub year: i32,
    pub kind: BudgetLineKind,
}

impl LineId {
    pub fn new(year: i32, kind: BudgetLineKind) -> Self {
        Self { year, kind }
    }
}

impl fmt::Display for LineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.year, self.kind.slug(), self.kind.zh())
    }
}

/// The five budget accounts of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineRole {
    /// What the line was given (a credit balance).
    Appropriated,
    /// Headroom: neither committed nor paid.
    Available,
    /// Committed (核定) and not yet paid.
    Committed,
    /// Paid against a commitment.
    Paid,
    /// Paid without a commitment.
    PaidDirect,
}

impl LineRole {
    pub const ALL: [LineRole; 5] = [
        LineRole::Appropriated,
        LineRole::Available,
        LineRole::Committed,
        LineRole::Paid,
        LineRole::PaidDirect,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            LineRole::Appropriated => "appropriated",
            LineRole::Available => "available",
            LineRole::Committed => "committed",
            LineRole::Paid => "paid",
            LineRole::PaidDirect => "paid-direct",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.slug() == s)
    }

    /// True for the one account whose natural balance is a credit.
    pub fn is_credit(self) -> bool {
        self == LineRole::Appropriated
    }
}

/// The balances of a line, each in its natural sign (all non-negative in a valid ledger).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineBalances {
    pub appropriated: Money,
    pub available: Money,
    pub committed: Money,
    pub paid: Money,
    pub paid_direct: Money,
}

impl LineBalances {
    pub fn get(&self, role: LineRole) -> Money {
        match role {
            LineRole::Appropriated => self.appropriated,
            LineRole::Available => self.available,
            LineRole::Committed => self.committed,
            LineRole::Paid => self.paid,
            LineRole::PaidDirect => self.paid_direct,
        }
    }

    fn slot(&mut self, role: LineRole) -> &mut Money {
        match role {
            LineRole::Appropriated => &mut self.appropriated,
            LineRole::Available => &mut self.available,
            LineRole::Committed => &mut self.committed,
            LineRole::Paid => &mut self.paid,
            LineRole::PaidDirect => &mut self.paid_direct,
        }
    }

    /// Applies a posting of `amount` (debit positive, as in the journal) to `role`.
    pub fn apply(&mut self, role: LineRole, amount: Money) -> Result<(), LedgerError> {
        let delta = if role.is_credit() {
            amount.checked_neg().ok_or(LedgerError::Overflow)?
        } else {
            amount
        };
        let slot = self.slot(role);
        *slot = slot.checked_add(delta).ok_or(LedgerError::Overflow)?;
        Ok(())
    }

    /// Headroom: what can still be committed or paid.
    pub fn headroom(&self) -> Money {
        self.available
    }

    /// Everything ever committed and not released: outstanding plus paid against it.
    pub fn committed_gross(&self) -> Money {
        self.committed
            .checked_add(self.paid)
            .unwrap_or(Money::from_fen(i64::MAX))
    }

    /// Paid in total, with and without commitment.
    pub fn paid_total(&self) -> Money {
        self.paid
            .checked_add(self.paid_direct)
            .unwrap_or(Money::from_fen(i64::MAX))
    }

    /// Appropriated minus headroom: what is committed or paid.
    pub fn used(&self) -> Money {
        self.appropriated
            .checked_sub(self.available)
            .unwrap_or(Money::ZERO)
    }

    /// Paid ÷ appropriated, in percent to two decimals; `None` when nothing is appropriated.
    pub fn execution_rate(&self) -> Option<Decimal> {
        percent(self.paid_total(), self.appropriated)
    }

    /// The accounting identity `appropriated = available + committed + paid + paid_direct`.
    pub fn is_consistent(&self) -> bool {
        let parts = [self.available, self.committed, self.paid, self.paid_direct]
            .iter()
            .map(|m| i128::from(m.fen()))
            .sum::<i128>();
        parts == i128::from(self.appropriated.fen())
    }

    /// The first balance that is negative, if any.
    pub fn first_negative(&self) -> Option<(LineRole, Money)> {
        LineRole::ALL
            .into_iter()
            .map(|r| (r, self.get(r)))
            .find(|(_, m)| m.is_negative())
    }
}

/// `part ÷ whole × 100`, rounded half away from zero to two decimals.
pub fn percent(part: Money, whole: Money) -> Option<Decimal> {
    percent_to(part, whole, 2)
}

/// `part` as a percentage of `whole` to `places` decimals, rounded once, half away from
/// zero (so 12.345 % is 12.3 % to one place, not 12.4 % by way of 12.35 %); `None` when
/// `whole` is zero.
pub fn percent_to(part: Money, whole: Money, places: u32) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    let ratio = Decimal::from(part.fen())
        .checked_mul(Decimal::ONE_HUNDRED)?
        .checked_div(Decimal::from(whole.fen()))?;
    let mut rounded = ratio.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(places);
    Some(rounded)
}

/// Budget control settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetPolicy {
    /// Warn once a line's used share (committed + paid ÷ appropriated) passes this, e.g. `"0.90"`.
    #[serde(with = "rust_decimal::serde::str")]
    pub warn_share: Decimal,
}

impl Default for BudgetPolicy {
    fn default() -> Self {
        Self {
            warn_share: Decimal::new(90, 2),
        }
    }
}

impl BudgetPolicy {
    pub fn validate(&self) -> Result<(), LedgerError> {
        if self.warn_share <= Decimal::ZERO || self.warn_share > Decimal::ONE {
            return Err(LedgerError::Invalid(format!(
                "ledger.budget.warn_share: must be above 0 and at most 1, got {}",
                self.warn_share
            )));
        }
        Ok(())
    }
}

/// A warning raised while accepting a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetWarning {
    pub line: LineId,
    /// Used share in percent, two decimals.
    #[serde(with = "rust_decimal::serde::str")]
    pub used_percent: Decimal,
    pub headroom: Money,
    pub appropriated: Money,
    pub message: String,
}

/// Budget control for one line: `before` is the line's state before the transaction and
/// `after` the state it would have. Stop when any balance would go negative (the refusal
/// names the headroom); Warn when the used share passes the policy's threshold.
pub fn control(
    line: LineId,
    before: &LineBalances,
    after: &LineBalances,
    policy: &BudgetPolicy,
) -> Result<Option<BudgetWarning>, LedgerError> {
    if let Some((role, _)) = after.first_negative() {
        if role == LineRole::Available {
            let needed = before
                .available
                .checked_sub(after.available)
                .ok_or(LedgerError::Overflow)?;
            return Err(LedgerError::OverBudget {
                line,
                headroom: before.available,
                needed,
            });
        }
        return Err(LedgerError::NegativeBalance {
            line,
            role: role.slug(),
            balance: after.get(role),
        });
    }
    let used_more = after.available < before.available;
    if !used_more {
        return Ok(None);
    }
    let Some(share) = percent(after.used(), after.appropriated) else {
        return Ok(None);
    };
    let threshold = policy.warn_share * Decimal::ONE_HUNDRED;
    if share > threshold {
        let message = format!(
            "budget line {line} is {share}% used (over the {}% warning share); headroom {} of {}",
            threshold.normalize(),
            after.available.grouped(),
            after.appropriated.grouped()
        );
        return Ok(Some(BudgetWarning {
            line,
            used_percent: share,
            headroom: after.available,
            appropriated: after.appropriated,
            message,
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percentage_to_one_place_is_rounded_once() {
        // 12.345 % → 12.3 %, where 12.35 % would round on to 12.4 %.
        let rate = percent_to(Money::from_fen(12_345), Money::from_fen(100_000), 1);
        assert_eq!(rate.map(|r| r.to_string()), Some("12.3".into()));
        let rate = percent_to(Money::from_fen(12_350), Money::from_fen(100_000), 1);
        assert_eq!(rate.map(|r| r.to_string()), Some("12.4".into()));
        assert_eq!(percent_to(Money::yuan(1), Money::ZERO, 1), None);
        assert_eq!(
            percent(Money::yuan(1), Money::yuan(3)).map(|r| r.to_string()),
            Some("33.33".into())
        );
    }
    use rust_decimal_macros::dec;

    fn line() -> LineId {
        LineId::new(2026, BudgetLineKind::StandardisedSite)
    }

    fn funded(yuan: i64) -> LineBalances {
        let mut b = LineBalances::default();
        b.apply(LineRole::Available, Money::yuan(yuan)).unwrap();
        b.apply(LineRole::Appropriated, Money::yuan(-yuan)).unwrap();
        b
    }

    #[test]
    fn appropriation_is_a_credit_and_headroom_is_available() {
        let b = funded(100);
        assert_eq!(b.appropriated, Money::yuan(100));
        assert_eq!(b.headroom(), Money::yuan(100));
        assert!(b.is_consistent());
    }

    #[test]
    fn stop_names_the_headroom() {
        let before = funded(26_000);
        let mut after = before;
        after
            .apply(LineRole::Committed, Money::yuan(30_000))
            .unwrap();
        after
            .apply(LineRole::Available, Money::yuan(-30_000))
            .unwrap();
        let err = control(line(), &before, &after, &BudgetPolicy::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("headroom 26,000.00"), "{msg}");
        assert!(msg.contains("30,000.00"), "{msg}");
        assert!(
            matches!(err, LedgerError::OverBudget { headroom, .. } if headroom == Money::yuan(26_000))
        );
    }

    #[test]
    fn warns_past_the_share_only() {
        let before = funded(100);
        let mut mid = before;
        mid.apply(LineRole::Committed, Money::yuan(90)).unwrap();
        mid.apply(LineRole::Available, Money::yuan(-90)).unwrap();
        assert_eq!(
            control(line(), &before, &mid, &BudgetPolicy::default()).unwrap(),
            None
        );
        let mut past = mid;
        past.apply(LineRole::Committed, Money::yuan(1)).unwrap();
        past.apply(LineRole::Available, Money::yuan(-1)).unwrap();
        let w = control(line(), &mid, &past, &BudgetPolicy::default())
            .unwrap()
            .unwrap();
        assert_eq!(w.used_percent, dec!(91.00));
        assert!(
            w.message.contains("headroom 9.00 of 100.00"),
            "{}",
            w.message
        );
    }

    #[test]
    fn execution_rate_rounds_half_away_from_zero() {
        let mut b = funded(3);
        b.apply(LineRole::PaidDirect, Money::yuan(2)).unwrap();
        b.apply(LineRole::Available, Money::yuan(-2)).unwrap();
        assert_eq!(b.execution_rate(), Some(dec!(66.67)));
        assert_eq!(LineBalances::default().execution_rate(), None);
    }

    #[test]
    fn kinds_parse_by_slug_or_chinese_name() {
        for k in BudgetLineKind::ALL {
            assert_eq!(BudgetLineKind::parse(k.slug()).unwrap(), k);
            assert_eq!(BudgetLineKind::parse(k.zh()).unwrap(), k);
        }
        assert!(
            BudgetLineKind::parse("travel")
                .unwrap_err()
                .to_string()
                .contains("startup")
        );
    }

    #[test]
    fn policy_share_must_be_a_fraction() {
        assert!(
            BudgetPolicy {
                warn_share: dec!(1.5)
            }
            .validate()
            .is_err()
        );
        assert!(
            BudgetPolicy {
                warn_share: dec!(0)
            }
            .validate()
            .is_err()
        );
        assert!(BudgetPolicy::default().validate().is_ok());
    }
}
