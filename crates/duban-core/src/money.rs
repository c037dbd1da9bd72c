//! Money in CNY: an exact count of fen (0.01 yuan).
//!
//! At rest every amount is an `i64` of fen on every database backend; in arithmetic that
//! needs division it becomes a [`Decimal`] and is rounded back with a *named* rule, always
//! half away from zero (四舍五入), never banker's rounding. Floats never appear.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::iter::Sum;

/// An amount of CNY held as whole fen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

/// Why a value is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0} has more than two decimal places; amounts are kept to the fen (0.01)")]
    TooPrecise(Decimal),
    #[error("amount is out of range")]
    Overflow,
    #[error("{input:?} is not an amount: {reason}")]
    Invalid { input: String, reason: String },
}

impl MoneyError {
    /// Why, in Chinese, for a form that shows it next to the amount.
    pub fn zh(&self) -> &'static str {
        let reason = match self {
            MoneyError::TooPrecise(_) => return "金额最多保留两位小数（精确到分）",
            MoneyError::Overflow => return "金额超出范围",
            MoneyError::Invalid { reason, .. } => reason.as_str(),
        };
        if reason.starts_with("no digits") {
            "请填写金额"
        } else if reason.starts_with("amounts are entered without a sign") {
            "金额不能带正负号，更正请用冲销"
        } else if reason.starts_with("more than two decimal places") {
            "金额最多保留两位小数（精确到分）"
        } else if reason.starts_with("thousands separators") {
            "千位分隔符须每三位一组，例如 354,000.00"
        } else if reason.starts_with("the number is too long") {
            "金额超出范围"
        } else {
            "金额格式不正确，例如 354000、354,000.00、¥354,000.00 或 35.4万"
        }
    }
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_fen(fen: i64) -> Self {
        Money(fen)
    }

    /// Whole yuan, e.g. `Money::yuan(2000)` is 2,000.00.
    pub fn yuan(yuan: i64) -> Self {
        Money(
            yuan.checked_mul(100)
                .expect("yuan amount overflows i64 fen"),
        )
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// Exact conversion: refuses anything finer than a fen.
    pub fn from_decimal(d: Decimal) -> Result<Self, MoneyError> {
        let normal = d.normalize();
        if normal.scale() > 2 {
            return Err(MoneyError::TooPrecise(d));
        }
        Self::from_decimal_rounded(d)
    }

    /// Conversion after a division: rounds half away from zero to the fen.
    pub fn from_decimal_rounded(d: Decimal) -> Result<Self, MoneyError> {
        let fen = d
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
            .checked_mul(Decimal::ONE_HUNDRED)
            .ok_or(MoneyError::Overflow)?;
        i64::try_from(fen)
            .map(Money)
            .map_err(|_| MoneyError::Overflow)
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn checked_mul(self, n: i64) -> Option<Money> {
        self.0.checked_mul(n).map(Money)
    }

    pub fn checked_neg(self) -> Option<Money> {
        self.0.checked_neg().map(Money)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `354,000.00`: thousands grouped, always two decimals.
    pub fn grouped(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (yuan, fen) = (abs / 100, abs % 100);
        let digits = yuan.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 4);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}.{fen:02}")
    }
}

impl fmt::Display for Money {
    /// `354000.00`: plain, machine-readable, two decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Sum for Money {
    /// Panics on overflow, which needs more than 92 trillion yuan; ledger code that sums
    /// untrusted input uses [`Money::checked_add`] instead.
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Self {
        iter.fold(Money::ZERO, |a, b| {
            a.checked_add(b).expect("sum of amounts overflows")
        })
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    /// Accepts only strings, so a JSON float can never sneak in.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_amount(&s).map_err(serde::de::Error::custom)
    }
}

/// Parses an amount as people type it: `354000`, `354,000.00`, `¥354,000.00`, `35.4万`,
/// optionally followed by `元`. Anything finer than a fen, negative, or ambiguous (such as
/// `354.000,00` or misplaced thousands separators) is refused with the reason.
pub fn parse_amount(input: &str) -> Result<Money, MoneyError> {
    let invalid = |reason: &str| MoneyError::Invalid {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let mut s: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '，' => ',',
            '．' => '.',
            other => other,
        })
        .collect();
    for prefix in ["¥", "￥", "CNY", "RMB"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.trim_start().to_string();
            break;
        }
    }
    if let Some(rest) = s.strip_suffix('元') {
        s = rest.trim_end().to_string();
    }
    let wan = match s.strip_suffix('万') {
        Some(rest) => {
            s = rest.trim_end().to_string();
            true
        }
        None => false,
    };
    if s.is_empty() {
        return Err(invalid("no digits"));
    }
    if s.starts_with('-') || s.starts_with('+') {
        return Err(invalid(
            "amounts are entered without a sign; a correction is a reversal",
        ));
    }
    let (int_part, frac_part) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    if let Some(f) = frac_part
        && (f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid(
            "only digits may follow the decimal point (use . for decimals and , for thousands)",
        ));
    }
    let digits = if int_part.contains(',') {
        let groups: Vec<&str> = int_part.split(',').collect();
        let first_ok = (1..=3).contains(&groups[0].len());
        let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
        if !first_ok || !rest_ok {
            return Err(invalid(
                "thousands separators must group three digits, as in 354,000.00",
            ));
        }
        groups.concat()
    } else {
        int_part.to_string()
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "expected digits, e.g. 354000, 354,000.00, ¥354,000.00 or 35.4万",
        ));
    }
    let text = match frac_part {
        Some(f) => format!("{digits}.{f}"),
        None => digits,
    };
    let mut value: Decimal = text
        .parse()
        .map_err(|_| invalid("the number is too long"))?;
    if wan {
        value = value
            .checked_mul(Decimal::from(10_000))
            .ok_or(MoneyError::Overflow)?;
    }
    match Money::from_decimal(value) {
        Err(MoneyError::TooPrecise(_)) => Err(invalid(
            "more than two decimal places; amounts are kept to the fen (0.01)",
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn every_refusal_of_an_amount_has_its_chinese_reason() {
        let zh = |s: &str| parse_amount(s).unwrap_err().zh();
        assert_eq!(zh(""), "请填写金额");
        assert_eq!(zh("-5"), "金额不能带正负号，更正请用冲销");
        assert_eq!(zh("1.001"), "金额最多保留两位小数（精确到分）");
        assert_eq!(zh("1,00"), "千位分隔符须每三位一组，例如 354,000.00");
        assert_eq!(zh("1.x"), zh("abc"));
        assert!(zh("abc").starts_with("金额格式不正确"));
        assert_eq!(zh("99999999999999999999999999999999"), "金额超出范围");
    }

    #[test]
    fn accepts_the_ways_people_write_amounts() {
        for input in [
            "354000",
            "354,000.00",
            "¥354,000.00",
            "35.4万",
            "￥354，000",
            "354000元",
            "35.4 万",
        ] {
            assert_eq!(parse_amount(input), Ok(Money::yuan(354_000)), "{input}");
        }
        assert_eq!(parse_amount("0.10"), Ok(Money::from_fen(10)));
        assert_eq!(parse_amount("1.2345万"), Ok(Money::from_fen(1_234_500)));
    }

    #[test]
    fn refuses_ambiguous_or_too_precise_amounts() {
        for input in [
            "",
            "abc",
            "1.234",
            "354.000,00",
            "35,40,00",
            "1,2345",
            "-5",
            "1.",
            ".5x",
            "1.2345678万",
            "3e5",
        ] {
            let err = parse_amount(input).expect_err(input);
            assert!(
                matches!(err, MoneyError::Invalid { .. } | MoneyError::Overflow),
                "{input}: {err}"
            );
        }
        let msg = parse_amount("1.234").unwrap_err().to_string();
        assert!(msg.contains("two decimal places"), "{msg}");
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(
            Money::from_decimal_rounded(dec!(2.345)).unwrap(),
            Money::from_fen(235)
        );
        assert_eq!(
            Money::from_decimal_rounded(dec!(-2.345)).unwrap(),
            Money::from_fen(-235)
        );
        assert_eq!(
            Money::from_decimal_rounded(dec!(2.344)).unwrap(),
            Money::from_fen(234)
        );
        assert!(Money::from_decimal(dec!(2.345)).is_err());
    }

    #[test]
    fn formats_plain_and_grouped() {
        let m = Money::from_fen(435_600_000);
        assert_eq!(m.to_string(), "4356000.00");
        assert_eq!(m.grouped(), "4,356,000.00");
        assert_eq!(Money::from_fen(-5).to_string(), "-0.05");
        assert_eq!(Money::from_fen(-123_456).grouped(), "-1,234.56");
        assert_eq!(Money::ZERO.grouped(), "0.00");
    }

    proptest! {
        #[test]
        fn display_round_trips(fen in 0i64..i64::MAX / 2) {
            let m = Money::from_fen(fen);
            prop_assert_eq!(parse_amount(&m.to_string()), Ok(m));
            prop_assert_eq!(parse_amount(&m.grouped()), Ok(m));
            prop_assert_eq!(Money::from_decimal(m.to_decimal()), Ok(m));
        }
    }
}
