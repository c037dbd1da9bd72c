//! The working-day calendar of a year as the engine counts it: every date with its kind
//! (weekday, weekend, statutory holiday, 调休 working day) and the State Council notices the
//! year's data file cites.

use crate::{Actor, App, AppError, Permission};
use chrono::{Datelike, NaiveDate};
pub use duban_workflow::calendar::{Calendar, Day, DayKind, Notice};
use serde::Serialize;

/// A year of the calendar.
#[derive(Debug, Clone, Serialize)]
pub struct CalendarYear {
    pub year: i32,
    /// False when no data file covers the year: weekends only, holidays unknown.
    pub known: bool,
    pub notices: Vec<Notice>,
    pub days: Vec<Day>,
    pub workdays: usize,
}

/// The years a reader may ask for: the calendar's data runs a few years at most.
const EARLIEST: i32 = 2000;
const LATEST: i32 = 2100;

impl App {
    pub async fn calendar_year(&self, actor: &Actor, year: i32) -> Result<CalendarYear, AppError> {
        actor.require(Permission::ReadChains)?;
        if !(EARLIEST..=LATEST).contains(&year) {
            return Err(AppError::invalid_at(
                "year",
                format!("{year} is not a year the calendar can show ({EARLIEST}–{LATEST})"),
            ));
        }
        let cal = &self.engine.rules.calendar;
        let first = NaiveDate::from_ymd_opt(year, 1, 1)
            .ok_or_else(|| AppError::invalid_at("year", format!("{year} is not a year")))?;
        let days: Vec<Day> = first
            .iter_days()
            .take_while(|d| d.year() == year)
            .map(|d| cal.day(d))
            .collect();
        Ok(CalendarYear {
            year,
            known: cal.known_years().any(|y| y == year),
            notices: cal.notices(year).to_vec(),
            workdays: days.iter().filter(|d| d.workday).count(),
            days,
        })
    }
}
