//! Rate cards: how much a line pays per unit, from config, and batch planning.
//!
//! Defaults follow the seeds: start-up funds 2,000.00 once per newly formed unit (济南);
//! a demonstration site up to 100,000.00 (不高于10万元, counted over every allocation to the
//! same unit); a standardised site 30,000.00 (泸州). Lines without a rate take any amount.

use crate::budget::BudgetLineKind;
use crate::error::LedgerError;
use chrono::{Datelike, NaiveDate};
use duban_core::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One rate, as written in config: exactly one of `fixed` and `up_to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Every allocation on the line is exactly this amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<Money>,
    /// Allocations to one unit on the line add up to at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<Money>,
    /// A unit gets at most one allocation on the line, ever.
    #[serde(default)]
    pub once_per_unit: bool,
}

impl Rate {
    pub fn fixed(amount: Money, once_per_unit: bool) -> Self {
        Self {
            fixed: Some(amount),
            up_to: None,
            once_per_unit,
        }
    }

    pub fn up_to(cap: Money) -> Self {
        Self {
            fixed: None,
            up_to: Some(cap),
            once_per_unit: false,
        }
    }
}

/// What a unit already holds on a line: allocations not reversed, and their amount net of
/// releases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnitHolding {
    pub allocations: u32,
    pub net: Money,
    /// One of them, to name in a refusal.
    pub example: Option<i64>,
}

/// The rate of each line that has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RateCard {
    pub rates: BTreeMap<BudgetLineKind, Rate>,
}

impl Default for RateCard {
    fn default() -> Self {
        let mut rates = BTreeMap::new();
        rates.insert(
            BudgetLineKind::StartUp,
            Rate::fixed(Money::yuan(2_000), true),
        );
        rates.insert(
            BudgetLineKind::DemonstrationSite,
            Rate::up_to(Money::yuan(100_000)),
        );
        rates.insert(
            BudgetLineKind::StandardisedSite,
            Rate::fixed(Money::yuan(30_000), true),
        );
        Self { rates }
    }
}

impl RateCard {
    pub fn validate(&self) -> Result<(), LedgerError> {
        for (kind, r) in &self.rates {
            let at = format!("ledger.rates.{}", kind.slug());
            match (r.fixed, r.up_to) {
                (Some(a), None) | (None, Some(a)) if a.is_negative() || a.is_zero() => {
                    return Err(LedgerError::Invalid(format!(
                        "{at}: the amount must be above zero"
                    )));
                }
                (Some(_), None) | (None, Some(_)) => {}
                _ => {
                    return Err(LedgerError::Invalid(format!(
                        "{at}: give exactly one of `fixed` and `up_to`"
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn rate(&self, kind: BudgetLineKind) -> Option<&Rate> {
        self.rates.get(&kind)
    }

    /// The amount to allocate when none is given: the fixed amount, else the cap.
    /// The amount an allocation on a `kind` line takes when none is given: the fixed
    /// rate. A maximum (`up_to`) is not an amount: committing it silently would give every
    /// unit the cap.
    pub fn default_amount(&self, kind: BudgetLineKind) -> Option<Money> {
        self.rate(kind).and_then(|r| r.fixed)
    }

    /// The amount of an allocation: the one given, or the line's fixed rate; refused when
    /// the line has only a maximum or no rate card at all.
    pub fn amount_for(
        &self,
        kind: BudgetLineKind,
        given: Option<Money>,
    ) -> Result<Money, LedgerError> {
        if let Some(amount) = given {
            return Ok(amount);
        }
        match self.rate(kind) {
            Some(Rate { fixed: Some(a), .. }) => Ok(*a),
            Some(Rate {
                up_to: Some(cap), ..
            }) => Err(LedgerError::RateCard(format!(
                "the {} line's rate card gives each unit up to {}, not a set amount; \
                 give the approved amount with --amount",
                kind.slug(),
                cap.grouped()
            ))),
            _ => Err(LedgerError::RateCard(format!(
                "the {} line has no rate card; give the amount with --amount",
                kind.slug()
            ))),
        }
    }

    /// Checks an allocation of `amount` to `unit` on a `kind` line that already holds `held`.
    pub fn check(
        &self,
        kind: BudgetLineKind,
        unit: &str,
        amount: Money,
        held: UnitHolding,
    ) -> Result<(), LedgerError> {
        let Some(rate) = self.rate(kind) else {
            return Ok(());
        };
        let name = kind.zh();
        if rate.once_per_unit && held.allocations > 0 {
            let which = held
                .example
                .map(|id| format!(" (allocation #{id})"))
                .unwrap_or_default();
            return Err(LedgerError::RateCard(format!(
                "unit {unit} already has {name} ({}){which}; it is given once per unit",
                kind.slug()
            )));
        }
        if let Some(fixed) = rate.fixed
            && amount != fixed
        {
            return Err(LedgerError::RateCard(format!(
                "{name} ({}) is {} per unit; {} was asked",
                kind.slug(),
                fixed.grouped(),
                amount.grouped()
            )));
        }
        if let Some(cap) = rate.up_to {
            let total = held.net.checked_add(amount).ok_or(LedgerError::Overflow)?;
            if total > cap {
                return Err(LedgerError::RateCard(format!(
                    "{name} ({}) is at most {} per unit; unit {unit} holds {} and {} more would make {}",
                    kind.slug(),
                    cap.grouped(),
                    held.net.grouped(),
                    amount.grouped(),
                    total.grouped()
                )));
            }
        }
        Ok(())
    }
}

/// A unit that may be due start-up funds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub unit: String,
    pub formed_on: NaiveDate,
}

/// One allocation a batch would make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    pub unit: String,
    pub amount: Money,
}

/// What a batch would allocate: shown first as a dry run, then executed as one command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchPlan {
    pub items: Vec<BatchItem>,
    pub count: usize,
    pub total: Money,
    /// Units formed in the year that already have start-up funds.
    pub already_funded: usize,
}

/// Start-up funds for every unit formed in `formed_in` that has none yet (`funded`), in
/// unit-code order. Running it again after the batch was executed plans nothing.
pub fn plan_startup_batch(
    card: &RateCard,
    formed_in: i32,
    candidates: &[Candidate],
    funded: &BTreeSet<String>,
) -> Result<BatchPlan, LedgerError> {
    let amount = card
        .rate(BudgetLineKind::StartUp)
        .and_then(|r| r.fixed)
        .ok_or_else(|| {
            LedgerError::RateCard("start-up funds need a fixed rate in ledger.rates.startup".into())
        })?;
    let mut units: Vec<&str> = candidates
        .iter()
        .filter(|c| c.formed_on.year() == formed_in)
        .map(|c| c.unit.as_str())
        .collect();
    units.sort_unstable();
    units.dedup();
    let mut plan = BatchPlan::default();
    for unit in units {
        if funded.contains(unit) {
            plan.already_funded += 1;
            continue;
        }
        plan.total = plan
            .total
            .checked_add(amount)
            .ok_or(LedgerError::Overflow)?;
        plan.items.push(BatchItem {
            unit: unit.to_string(),
            amount,
        });
    }
    plan.count = plan.items.len();
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(n: u32, yuan: i64) -> UnitHolding {
        UnitHolding {
            allocations: n,
            net: Money::yuan(yuan),
            example: Some(4),
        }
    }

    #[test]
    fn start_up_is_fixed_and_once_per_unit() {
        let card = RateCard::default();
        assert!(
            card.check(
                BudgetLineKind::StartUp,
                "U1",
                Money::yuan(2_000),
                UnitHolding::default()
            )
            .is_ok()
        );
        let e = card
            .check(
                BudgetLineKind::StartUp,
                "U1",
                Money::yuan(2_500),
                UnitHolding::default(),
            )
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("2,000.00 per unit; 2,500.00 was asked"),
            "{e}"
        );
        let e = card
            .check(
                BudgetLineKind::StartUp,
                "U1",
                Money::yuan(2_000),
                held(1, 2_000),
            )
            .unwrap_err();
        assert!(
            e.to_string().contains("already has") && e.to_string().contains("#4"),
            "{e}"
        );
    }

    #[test]
    fn demonstration_site_is_capped_per_unit_over_tranches() {
        let card = RateCard::default();
        let k = BudgetLineKind::DemonstrationSite;
        assert!(
            card.check(k, "U1", Money::yuan(60_000), UnitHolding::default())
                .is_ok()
        );
        assert!(
            card.check(k, "U1", Money::yuan(40_000), held(1, 60_000))
                .is_ok()
        );
        let e = card
            .check(k, "U1", Money::yuan(40_001), held(1, 60_000))
            .unwrap_err();
        assert!(e.to_string().contains("at most 100,000.00"), "{e}");
    }

    #[test]
    fn lines_without_a_rate_take_any_amount() {
        assert!(
            RateCard::default()
                .check(BudgetLineKind::Training, "U1", Money::yuan(7), held(3, 9))
                .is_ok()
        );
        assert_eq!(
            RateCard::default().default_amount(BudgetLineKind::Training),
            None
        );
        assert_eq!(
            RateCard::default().default_amount(BudgetLineKind::StandardisedSite),
            Some(Money::yuan(30_000))
        );
    }

    #[test]
    fn rate_config_needs_exactly_one_amount() {
        let mut card = RateCard::default();
        card.rates.insert(
            BudgetLineKind::Training,
            Rate {
                fixed: Some(Money::yuan(1)),
                up_to: Some(Money::yuan(1)),
                once_per_unit: false,
            },
        );
        assert!(
            card.validate()
                .unwrap_err()
                .to_string()
                .contains("ledger.rates.training")
        );
        let toml_like = serde_json::json!({"startup": {"fixed": "2,000.00", "once_per_unit": true}, "demo-site": {"up_to": "10万"}});
        let card: RateCard = serde_json::from_value(toml_like).unwrap();
        assert_eq!(card.default_amount(BudgetLineKind::DemonstrationSite), None);
        let e = card
            .amount_for(BudgetLineKind::DemonstrationSite, None)
            .unwrap_err();
        assert!(e.to_string().contains("up to 100,000.00"), "{e}");
        assert_eq!(
            card.amount_for(BudgetLineKind::DemonstrationSite, Some(Money::yuan(5))),
            Ok(Money::yuan(5))
        );
        assert_eq!(
            card.amount_for(BudgetLineKind::StartUp, None),
            Ok(Money::yuan(2_000))
        );
        assert!(card.validate().is_ok());
    }

    #[test]
    fn batch_plans_each_new_unit_once() {
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        let candidates: Vec<Candidate> = (0..180)
            .map(|i| Candidate {
                unit: format!("U{i:03}"),
                formed_on: if i < 177 {
                    d(2026, 1 + (i % 12) as u32)
                } else {
                    d(2025, 6)
                },
            })
            .collect();
        let card = RateCard::default();
        let plan = plan_startup_batch(&card, 2026, &candidates, &BTreeSet::new()).unwrap();
        assert_eq!(plan.count, 177);
        assert_eq!(plan.total, Money::yuan(354_000));
        let funded: BTreeSet<String> = plan.items.iter().map(|i| i.unit.clone()).collect();
        let again = plan_startup_batch(&card, 2026, &candidates, &funded).unwrap();
        assert_eq!(
            (again.count, again.total, again.already_funded),
            (0, Money::ZERO, 177)
        );
    }
}
