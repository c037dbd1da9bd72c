//! Monthly periods and their close.
//!
//! Periods close in order: "closed through 2026-03" means every month up to and including
//! March 2026 is closed. A closed period refuses postings dated in it; a correction of a
//! transaction in a closed period is a reversal dated in an open period, linked to it.

use crate::error::LedgerError;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A calendar month, written `2026-03`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    year: i32,
    month: u32,
}

impl YearMonth {
    pub fn new(year: i32, month: u32) -> Result<Self, LedgerError> {
        if !(1..=12).contains(&month) || !(1000..=9999).contains(&year) {
            return Err(LedgerError::Invalid(format!(
                "{year}-{month:02} is not a month"
            )));
        }
        Ok(Self { year, month })
    }

    pub fn of(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid month")
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().expect("valid date")
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Parses `2026-03` (or `2026-3`).
    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        let bad = || LedgerError::Invalid(format!("{s:?} is not a month; write it as 2026-03"));
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        Self::new(year, month).map_err(|_| bad())
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.year, self.month)
    }
}

impl Serialize for YearMonth {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        YearMonth::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Which periods are closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Periods {
    pub closed_through: Option<YearMonth>,
}

impl Periods {
    /// Refuses a posting dated in a closed period.
    pub fn check_open(&self, date: NaiveDate) -> Result<(), LedgerError> {
        match self.closed_through {
            Some(c) if YearMonth::of(date) <= c => Err(LedgerError::PeriodClosed {
                month: YearMonth::of(date),
                closed_through: c,
            }),
            _ => Ok(()),
        }
    }

    /// The first month still open.
    pub fn first_open(&self) -> Option<YearMonth> {
        self.closed_through.map(YearMonth::next)
    }

    /// Closes every month through `month`. A month can be closed only once it has ended
    /// (`today` is after its last day), and only months not already closed.
    pub fn close(&self, month: YearMonth, today: NaiveDate) -> Result<Periods, LedgerError> {
        if let Some(c) = self.closed_through
            && month <= c
        {
            return Err(LedgerError::Invalid(format!(
                "period {month} is already closed (closed through {c})"
            )));
        }
        if today <= month.last_day() {
            return Err(LedgerError::Invalid(format!(
                "period {month} has not ended yet (today is {today}); close it from {} on",
                month.next().first_day()
            )));
        }
        Ok(Periods {
            closed_through: Some(month),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn months_parse_and_step() {
        let m = YearMonth::parse("2026-12").unwrap();
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.last_day(), d(2026, 12, 31));
        assert_eq!(
            YearMonth::parse("2026-2").unwrap().last_day(),
            d(2026, 2, 28)
        );
        for bad in ["2026", "2026-13", "26-01", "x-1"] {
            assert!(YearMonth::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn closed_periods_refuse_postings_and_say_where_to_post() {
        let p = Periods::default()
            .close(YearMonth::parse("2026-03").unwrap(), d(2026, 4, 2))
            .unwrap();
        assert!(p.check_open(d(2026, 4, 1)).is_ok());
        let err = p.check_open(d(2026, 2, 10)).unwrap_err().to_string();
        assert!(err.contains("2026-02 is closed"), "{err}");
        assert!(err.contains("link the correction"), "{err}");
        assert_eq!(p.first_open().unwrap().to_string(), "2026-04");
    }

    #[test]
    fn a_month_closes_once_and_only_after_it_ended() {
        let march = YearMonth::parse("2026-03").unwrap();
        assert!(Periods::default().close(march, d(2026, 3, 31)).is_err());
        let p = Periods::default().close(march, d(2026, 4, 1)).unwrap();
        assert!(p.close(march, d(2026, 5, 1)).is_err());
        assert!(
            p.close(YearMonth::parse("2026-02").unwrap(), d(2026, 5, 1))
                .is_err()
        );
    }
}
