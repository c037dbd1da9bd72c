//! The working-day calendar of a year (`/calendar?year=2026`): twelve month grids, Monday
//! first, each day marked as a working day, a weekend, a statutory holiday or a weekend day
//! worked in exchange (调休上班), with the notices the year's data cites.

use super::Viewer;
use crate::AppState;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use duban_app::calendar::{Day, DayKind};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
pub struct YearParam {
    #[serde(default)]
    year: Option<String>,
}

#[derive(Debug, Serialize)]
struct Cell {
    day: u32,
    class: &'static str,
    name: Option<String>,
    date: NaiveDate,
}

#[derive(Debug, Serialize)]
struct Month {
    month: u32,
    weeks: Vec<[Option<Cell>; 7]>,
}

fn class_of(kind: DayKind) -> &'static str {
    match kind {
        DayKind::Weekday => "workday",
        DayKind::Weekend => "weekend",
        DayKind::Holiday => "holiday",
        DayKind::AdjustedWorkday => "adjusted",
    }
}

/// The days of a year in month grids, weeks from Monday.
fn months(days: &[Day]) -> Vec<Month> {
    let mut out: Vec<Month> = Vec::new();
    for d in days {
        let m = d.date.month();
        if out.last().is_none_or(|x| x.month != m) {
            out.push(Month {
                month: m,
                weeks: Vec::new(),
            });
        }
        let month = out.last_mut().expect("pushed above");
        let col = d.date.weekday().num_days_from_monday() as usize;
        if month.weeks.is_empty() || col == 0 {
            month.weeks.push(Default::default());
        }
        let week = month.weeks.last_mut().expect("pushed above");
        week[col] = Some(Cell {
            day: d.date.day(),
            class: class_of(d.kind),
            name: d.name.clone(),
            date: d.date,
        });
    }
    out
}

pub async fn year(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<YearParam>,
) -> Response {
    let this_year = state.app.today().year();
    let year = q
        .year
        .as_deref()
        .map(str::trim)
        .filter(|y| !y.is_empty())
        .map(|y| y.parse::<i32>().unwrap_or(i32::MIN))
        .unwrap_or(this_year);
    let cal = match state.app.calendar_year(&viewer.actor, year).await {
        Ok(c) => c,
        Err(e) => return viewer.error(&e),
    };
    let title = viewer
        .lang
        .text("calendar.title")
        .replace("{year}", &year.to_string());
    viewer.page(
        "pages/calendar.html",
        &title,
        context! {
            year,
            known => cal.known,
            workdays => cal.workdays,
            notices => Value::from(minijinja::value::Serde(&cal.notices)),
            months => Value::from(minijinja::value::Serde(&months(&cal.days))),
            previous => year - 1,
            next => year + 1,
            today => state.app.today().to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_starts_in_its_weekday_column() {
        let cal = duban_app::calendar::Calendar::weekends_only();
        let days: Vec<Day> = NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .iter_days()
            .take(59)
            .map(|d| cal.day(d))
            .collect();
        let m = months(&days);
        assert_eq!(m.len(), 2);
        // 1 January 2026 is a Thursday: the fourth column of the first week.
        assert!(m[0].weeks[0][..3].iter().all(Option::is_none));
        assert_eq!(m[0].weeks[0][3].as_ref().unwrap().day, 1);
        assert_eq!(m[0].weeks[0][5].as_ref().unwrap().class, "weekend");
        assert_eq!(m[0].weeks.len(), 5);
        // February 2026 starts on a Sunday.
        assert_eq!(m[1].weeks[0][6].as_ref().unwrap().day, 1);
        assert_eq!(m[1].weeks.last().unwrap()[5].as_ref().unwrap().day, 28);
    }
}
