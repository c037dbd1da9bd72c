//! Party dues (党费): the official calculator and the rebate rule.
//!
//! Rates are from 《关于中国共产党党费收缴、使用和管理的规定》 (2008): one rate applied to the
//! whole monthly base — fixed, regular income after tax — chosen by the band the base falls
//! in (it is not progressive); retirees have their own two bands; students and the
//! unemployed pay 0.20 a month. The result is rounded half away from zero to the fen.
//! The rebate (党费返还) is a configured share, by default all, of what a unit remitted in
//! the previous year.

use crate::error::LedgerError;
use duban_core::money::Money;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Who pays, and on what base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "category", rename_all = "snake_case")]
pub enum Member {
    /// In work: the base is the monthly regular income after tax.
    Employed {
        income: Money,
    },
    /// Retired: the base is the monthly pension.
    Retired {
        income: Money,
    },
    Student,
    Unemployed,
}

/// One band: a base at or below `up_to` pays `rate` (a fraction) on the whole base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Band {
    /// `None` for the top band.
    pub up_to: Option<Money>,
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
}

/// The bands and fixed amounts, as configured (the defaults are the official ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuesRates {
    pub employed: Vec<Band>,
    pub retired: Vec<Band>,
    /// Students and the unemployed, a month.
    pub fixed_monthly: Money,
}

impl Default for DuesRates {
    fn default() -> Self {
        let band = |yuan: Option<i64>, permille: i64| Band {
            up_to: yuan.map(Money::yuan),
            rate: Decimal::new(permille, 3),
        };
        Self {
            employed: vec![
                band(Some(3_000), 5),
                band(Some(5_000), 10),
                band(Some(10_000), 15),
                band(None, 20),
            ],
            retired: vec![band(Some(5_000), 5), band(None, 10)],
            fixed_monthly: Money::from_fen(20),
        }
    }
}

impl DuesRates {
    /// Bands must rise strictly, end with an open top band, and have rates in [0, 1].
    pub fn validate(&self) -> Result<(), LedgerError> {
        for (name, bands) in [("employed", &self.employed), ("retired", &self.retired)] {
            let at = |i: usize| format!("ledger.dues.{name}[{i}]");
            if bands.is_empty() {
                return Err(LedgerError::Invalid(format!(
                    "ledger.dues.{name}: needs at least one band"
                )));
            }
            let mut last: Option<Money> = None;
            for (i, b) in bands.iter().enumerate() {
                if b.rate < Decimal::ZERO || b.rate > Decimal::ONE {
                    return Err(LedgerError::Invalid(format!(
                        "{}.rate: must be between 0 and 1",
                        at(i)
                    )));
                }
                let is_last = i + 1 == bands.len();
                match (b.up_to, is_last) {
                    (None, true) => {}
                    (None, false) => {
                        return Err(LedgerError::Invalid(format!(
                            "{}.up_to: only the last band is open",
                            at(i)
                        )));
                    }
                    (Some(_), true) => {
                        return Err(LedgerError::Invalid(format!(
                            "{}.up_to: the last band must be open",
                            at(i)
                        )));
                    }
                    (Some(u), false) => {
                        if last.is_some_and(|l| u <= l) {
                            return Err(LedgerError::Invalid(format!(
                                "{}.up_to: bands must rise",
                                at(i)
                            )));
                        }
                        last = Some(u);
                    }
                }
            }
        }
        Ok(())
    }

    /// The monthly dues of one member.
    pub fn monthly(&self, member: Member) -> Result<Money, LedgerError> {
        let (bands, base) = match member {
            Member::Employed { income } => (&self.employed, income),
            Member::Retired { income } => (&self.retired, income),
            Member::Student | Member::Unemployed => return Ok(self.fixed_monthly),
        };
        if base.is_negative() {
            return Err(LedgerError::Dues("income cannot be negative".into()));
        }
        let band = bands
            .iter()
            .find(|b| b.up_to.is_none_or(|u| base <= u))
            .ok_or_else(|| LedgerError::Dues("no band covers this income".into()))?;
        let due = base
            .to_decimal()
            .checked_mul(band.rate)
            .ok_or(LedgerError::Overflow)?;
        Money::from_decimal_rounded(due).map_err(|_| LedgerError::Overflow)
    }
}

/// The rebate of a unit that remitted `remitted` in the previous year, at `share` (0..=1),
/// rounded half away from zero to the fen.
pub fn rebate(remitted: Money, share: Decimal) -> Result<Money, LedgerError> {
    if share < Decimal::ZERO || share > Decimal::ONE {
        return Err(LedgerError::Invalid(format!(
            "rebate share must be between 0 and 1, got {share}"
        )));
    }
    let r = remitted
        .to_decimal()
        .checked_mul(share)
        .ok_or(LedgerError::Overflow)?;
    Money::from_decimal_rounded(r).map_err(|_| LedgerError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn employed(fen: i64) -> Member {
        Member::Employed {
            income: Money::from_fen(fen),
        }
    }

    #[test]
    fn official_bands_apply_one_rate_to_the_whole_base() {
        let r = DuesRates::default();
        let cases = [
            (300_000, 1_500),    // 3,000.00 × 0.5% = 15.00
            (300_001, 3_000),    // 3,000.01 × 1% = 30.0001 → 30.00
            (500_000, 5_000),    // 5,000.00 × 1% = 50.00
            (500_100, 7_502),    // 5,001.00 × 1.5% = 75.015 → 75.02 (half away from zero)
            (1_000_000, 15_000), // 10,000.00 × 1.5% = 150.00
            (1_000_100, 20_002), // 10,001.00 × 2% = 200.02
            (0, 0),
        ];
        for (income, due) in cases {
            assert_eq!(
                r.monthly(employed(income)).unwrap(),
                Money::from_fen(due),
                "income {income}"
            );
        }
    }

    #[test]
    fn rounding_is_half_away_from_zero_not_bankers() {
        // 2,345.00 × 0.5% = 11.725 → 11.73 (banker's would give 11.72).
        assert_eq!(
            DuesRates::default().monthly(employed(234_500)).unwrap(),
            Money::from_fen(1_173)
        );
    }

    #[test]
    fn retirees_students_and_the_unemployed() {
        let r = DuesRates::default();
        let retired = |fen| Member::Retired {
            income: Money::from_fen(fen),
        };
        assert_eq!(r.monthly(retired(500_000)).unwrap(), Money::from_fen(2_500));
        assert_eq!(r.monthly(retired(500_001)).unwrap(), Money::from_fen(5_000));
        assert_eq!(r.monthly(Member::Student).unwrap(), Money::from_fen(20));
        assert_eq!(r.monthly(Member::Unemployed).unwrap(), Money::from_fen(20));
    }

    #[test]
    fn rebate_defaults_to_the_full_amount_and_rounds() {
        assert_eq!(
            rebate(Money::from_fen(12_345), Decimal::ONE).unwrap(),
            Money::from_fen(12_345)
        );
        assert_eq!(
            rebate(Money::from_fen(5), dec!(0.5)).unwrap(),
            Money::from_fen(3)
        );
        assert!(rebate(Money::yuan(1), dec!(1.1)).is_err());
    }

    #[test]
    fn config_validation_names_the_band() {
        let mut r = DuesRates::default();
        r.employed[1].up_to = Some(Money::yuan(2_000));
        let e = r.validate().unwrap_err().to_string();
        assert!(e.contains("ledger.dues.employed[1].up_to"), "{e}");
        let mut r = DuesRates::default();
        r.retired.pop();
        assert!(r.validate().unwrap_err().to_string().contains("retired[0]"));
        assert!(DuesRates::default().validate().is_ok());
    }

    proptest! {
        #[test]
        fn dues_are_the_band_rate_times_the_base(income in 0i64..10_000_000) {
            let due = DuesRates::default().monthly(employed(income)).unwrap();
            let rate = if income <= 300_000 {
                dec!(0.005)
            } else if income <= 500_000 {
                dec!(0.01)
            } else if income <= 1_000_000 {
                dec!(0.015)
            } else {
                dec!(0.02)
            };
            let exact = Decimal::new(income, 2) * rate;
            prop_assert!((due.to_decimal() - exact).abs() <= dec!(0.005));
        }
    }
}
