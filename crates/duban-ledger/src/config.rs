//! The ledger's settings, read from the `[ledger]` section of the configuration.
//! Every field has a default; amounts are strings (`"2000.00"`), never floats.

use crate::budget::BudgetPolicy;
use crate::dues::DuesRates;
use crate::error::LedgerError;
use crate::rates::RateCard;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What happens at year end to what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YearEndRule {
    /// It lapses: the year's appropriation is reduced by it.
    Lapse,
    /// It moves to the same line of the next year.
    CarryForward,
}

/// Year-end rules for outstanding commitments and for unused headroom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearEndPolicy {
    /// Allocations not yet fully disbursed (结转: by default they carry forward).
    pub commitments: YearEndRule,
    /// Headroom nobody committed (结余: by default it lapses).
    pub headroom: YearEndRule,
}

impl Default for YearEndPolicy {
    fn default() -> Self {
        Self {
            commitments: YearEndRule::CarryForward,
            headroom: YearEndRule::Lapse,
        }
    }
}

/// Dues settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuesConfig {
    /// Share of last year's remitted dues returned to a unit (全额拨返: `"1"`).
    #[serde(with = "rust_decimal::serde::str", default = "one")]
    pub rebate_share: Decimal,
    #[serde(default)]
    pub rates: DuesRates,
}

fn one() -> Decimal {
    Decimal::ONE
}

impl Default for DuesConfig {
    fn default() -> Self {
        Self {
            rebate_share: Decimal::ONE,
            rates: DuesRates::default(),
        }
    }
}

/// `[ledger]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    #[serde(default)]
    pub budget: BudgetPolicy,
    #[serde(default)]
    pub rates: RateCard,
    #[serde(default)]
    pub year_end: YearEndPolicy,
    #[serde(default)]
    pub dues: DuesConfig,
}

impl LedgerConfig {
    /// Checks every setting, naming the one that is wrong.
    pub fn validate(&self) -> Result<(), LedgerError> {
        self.budget.validate()?;
        self.rates.validate()?;
        self.dues.rates.validate()?;
        if self.dues.rebate_share < Decimal::ZERO || self.dues.rebate_share > Decimal::ONE {
            return Err(LedgerError::Invalid(format!(
                "ledger.dues.rebate_share: must be between 0 and 1, got {}",
                self.dues.rebate_share
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let c = LedgerConfig::default();
        c.validate().unwrap();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["rates"]["startup"]["fixed"], "2000.00");
        assert_eq!(json["year_end"]["commitments"], "carry_forward");
        let back: LedgerConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn a_partial_section_keeps_the_other_defaults() {
        let c: LedgerConfig = serde_json::from_value(serde_json::json!({
            "budget": {"warn_share": "0.8"},
            "dues": {"rebate_share": "0.5"}
        }))
        .unwrap();
        assert_eq!(c.budget.warn_share, Decimal::new(8, 1));
        assert_eq!(c.dues.rebate_share, Decimal::new(5, 1));
        assert_eq!(c.rates, RateCard::default());
        assert!(
            serde_json::from_value::<LedgerConfig>(serde_json::json!({"budgets": {}})).is_err()
        );
        let bad: LedgerConfig =
            serde_json::from_value(serde_json::json!({"dues": {"rebate_share": "2"}})).unwrap();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("ledger.dues.rebate_share")
        );
    }
}
