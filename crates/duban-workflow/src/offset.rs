//! Offsets from an anchor date: `-6mo`, `-30d`, `+2w`, `+5wd`, `+1y`, and sums of them
//! applied left to right such as `+1mo-5wd` (five working days before next month's anchor).
//!
//! Months clamp to the month's end (31 Jan + 1mo = 28/29 Feb); working days follow the
//! official calendar.

use crate::calendar::Calendar;
use chrono::{Duration, Months, NaiveDate};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Days,
    Weeks,
    Months,
    Years,
    WorkingDays,
}

impl Unit {
    fn suffix(self) -> &'static str {
        match self {
            Unit::Days => "d",
            Unit::Weeks => "w",
            Unit::Months => "mo",
            Unit::Years => "y",
            Unit::WorkingDays => "wd",
        }
    }
}

/// One `±N unit` term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Term {
    pub amount: i32,
    pub unit: Unit,
}

/// A sum of terms, applied left to right. The empty offset is the anchor itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(into = "String")]
pub struct Offset {
    pub terms: Vec<Term>,
}

impl From<Offset> for String {
    fn from(o: Offset) -> String {
        o.to_string()
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.terms.is_empty() {
            return f.write_str("0d");
        }
        for t in &self.terms {
            write!(
                f,
                "{}{}{}",
                if t.amount < 0 { '-' } else { '+' },
                t.amount.unsigned_abs(),
                t.unit.suffix()
            )?;
        }
        Ok(())
    }
}

/// Why an offset did not parse, with a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetError {
    pub message: String,
    pub help: String,
}

const HELP: &str = "write a sign, a number and a unit: d (days), w (weeks), mo (months), y (years) or wd (working days), e.g. \"-6mo\", \"-30d\", \"+5wd\"; terms can be chained: \"+1mo-5wd\"";

impl Offset {
    pub fn days(n: i32) -> Self {
        Offset {
            terms: vec![Term {
                amount: n,
                unit: Unit::Days,
            }],
        }
    }

    pub fn parse(input: &str) -> Result<Offset, OffsetError> {
        let s = input.trim();
        let err = |message: String| OffsetError {
            message,
            help: HELP.to_string(),
        };
        if s.is_empty() {
            return Err(err("the offset is empty".into()));
        }
        if s == "0" || s == "0d" {
            return Ok(Offset::default());
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut terms = Vec::new();
        while i < bytes.len() {
            let sign = match bytes[i] {
                b'+' => 1,
                b'-' => -1,
                c if c.is_ascii_digit() && i == 0 => {
                    return Err(OffsetError {
                        message: format!("`{s}` has no sign"),
                        help: format!(
                            "say whether it is before or after the anchor: \"-{s}\" or \"+{s}\""
                        ),
                    });
                }
                _ => {
                    return Err(err(format!(
                        "`{s}`: expected `+` or `-` at character {}",
                        s[..i].chars().count() + 1
                    )));
                }
            };
            i += 1;
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return Err(err(format!("`{s}`: expected a number after the sign")));
            }
            let amount: i32 = s[start..i]
                .parse()
                .ok()
                .filter(|n: &i32| *n <= 10_000)
                .ok_or_else(|| err(format!("`{s}`: the number {} is too large", &s[start..i])))?;
            let ustart = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = match &s[ustart..i] {
                "d" => Unit::Days,
                "w" => Unit::Weeks,
                "mo" => Unit::Months,
                "y" => Unit::Years,
                "wd" => Unit::WorkingDays,
                "" => return Err(err(format!("`{s}`: the number {amount} has no unit"))),
                "m" | "M" => {
                    return Err(OffsetError {
                        message: format!("`{s}`: `m` is ambiguous"),
                        help: "write `mo` for months (\"-6mo\"); minutes are not an offset unit, set `time` instead".into(),
                    });
                }
                other => {
                    let hint = crate::diag::did_you_mean(other, ["d", "w", "mo", "y", "wd"]);
                    return Err(OffsetError {
                        message: format!("`{s}`: unknown unit `{other}`"),
                        help: match hint {
                            Some(h) => format!("did you mean `{h}`? {HELP}"),
                            None => HELP.to_string(),
                        },
                    });
                }
            };
            terms.push(Term {
                amount: sign * amount,
                unit,
            });
        }
        Ok(Offset { terms })
    }

    /// Parses a repeat interval: like [`Offset::parse`], but the sign may be left out
    /// (`"7d"` means `"+7d"`).
    pub fn parse_interval(input: &str) -> Result<Offset, OffsetError> {
        let s = input.trim();
        if s.starts_with(|c: char| c.is_ascii_digit()) {
            Offset::parse(&format!("+{s}"))
        } else {
            Offset::parse(s)
        }
    }

    /// Applies the offset to `date`. Saturates at chrono's date range instead of panicking.
    pub fn apply(&self, date: NaiveDate, cal: &Calendar) -> NaiveDate {
        self.terms.iter().fold(date, |d, t| apply_term(d, *t, cal))
    }

    pub fn uses_working_days(&self) -> bool {
        self.terms.iter().any(|t| t.unit == Unit::WorkingDays)
    }

    /// Whether the last term counts working days, so the result is always a working day.
    pub fn ends_on_working_day(&self) -> bool {
        self.terms
            .last()
            .is_some_and(|t| t.unit == Unit::WorkingDays)
    }

    /// A rough size in days, for ordering steps and bounding searches (months as 30.44 days,
    /// working days as 1.4 days).
    pub fn approx_days(&self) -> f64 {
        self.terms
            .iter()
            .map(|t| {
                let n = f64::from(t.amount);
                match t.unit {
                    Unit::Days => n,
                    Unit::Weeks => 7.0 * n,
                    Unit::Months => 30.44 * n,
                    Unit::Years => 365.25 * n,
                    Unit::WorkingDays => 1.4 * n,
                }
            })
            .sum()
    }

    /// An upper bound on how many calendar days the offset can move a date, either way.
    pub fn max_days(&self) -> i64 {
        self.terms
            .iter()
            .map(|t| {
                let n = i64::from(t.amount.unsigned_abs());
                match t.unit {
                    Unit::Days => n,
                    Unit::Weeks => 7 * n,
                    Unit::Months => 31 * n,
                    Unit::Years => 366 * n,
                    // Holidays add at most a few weeks per run of days off.
                    Unit::WorkingDays => 2 * n + 30,
                }
            })
            .sum()
    }

    /// `self` repeated `k` times (for `repeat.every`): each term multiplied by `k`.
    pub fn times(&self, k: i32) -> Offset {
        Offset {
            terms: self
                .terms
                .iter()
                .map(|t| Term {
                    amount: t.amount.saturating_mul(k),
                    unit: t.unit,
                })
                .collect(),
        }
    }
}

fn apply_term(d: NaiveDate, t: Term, cal: &Calendar) -> NaiveDate {
    let months = |d: NaiveDate, n: i32| -> NaiveDate {
        let m = Months::new(n.unsigned_abs());
        let r = if n >= 0 {
            d.checked_add_months(m)
        } else {
            d.checked_sub_months(m)
        };
        r.unwrap_or(d)
    };
    match t.unit {
        Unit::Days => d
            .checked_add_signed(Duration::days(t.amount.into()))
            .unwrap_or(d),
        Unit::Weeks => d
            .checked_add_signed(Duration::weeks(t.amount.into()))
            .unwrap_or(d),
        Unit::Months => months(d, t.amount),
        Unit::Years => months(d, t.amount.saturating_mul(12)),
        Unit::WorkingDays => cal.add_workdays(d, t.amount.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn parses_and_prints() {
        for s in ["-6mo", "-2mo", "-30d", "+5wd", "+2w", "+1y", "+1mo-5wd"] {
            assert_eq!(Offset::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Offset::parse("0").unwrap(), Offset::default());
        assert!(Offset::parse("6mo").unwrap_err().help.contains("-6mo"));
        assert!(Offset::parse("-6m").unwrap_err().help.contains("mo"));
        assert!(Offset::parse("-6dd").is_err());
        assert!(Offset::parse("-mo").is_err());
        assert!(Offset::parse("-6").is_err());
        assert!(Offset::parse("-99999999999d").is_err());
        assert!(Offset::parse("-6mo x").is_err());
    }

    #[test]
    fn months_clamp_to_month_end() {
        let cal = Calendar::weekends_only();
        let one = Offset::parse("+1mo").unwrap();
        assert_eq!(one.apply(d("2026-01-31"), &cal), d("2026-02-28"));
        assert_eq!(one.apply(d("2028-01-31"), &cal), d("2028-02-29"));
        assert_eq!(
            Offset::parse("-6mo").unwrap().apply(d("2026-08-31"), &cal),
            d("2026-02-28")
        );
        assert_eq!(
            Offset::parse("+1y").unwrap().apply(d("2028-02-29"), &cal),
            d("2029-02-28")
        );
    }

    #[test]
    fn chained_terms() {
        let cal = Calendar::weekends_only();
        // Five working days before 1 April 2027 (a Thursday): Thursday 25 March.
        assert_eq!(
            Offset::parse("+1mo-5wd")
                .unwrap()
                .apply(d("2027-03-01"), &cal),
            d("2027-03-25")
        );
    }
}
