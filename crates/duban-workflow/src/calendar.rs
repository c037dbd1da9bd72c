//! The official mainland-China working-day calendar: statutory holidays and the weekend days
//! worked in exchange (调休), one data file per year, each citing the State Council notice it
//! comes from.
//!
//! A year without a file falls back to the plain week (Monday–Friday working). That is a
//! guess, so [`Calendar::coverage_warning`] says so; nothing here panics on any date.

use crate::diag::{Diagnostic, Severity, Source, file_diag};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use toml::Spanned;

/// What kind of day a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Monday to Friday, no holiday.
    Weekday,
    /// Saturday or Sunday, not worked.
    Weekend,
    /// A statutory holiday or a day off of its arrangement.
    Holiday,
    /// A weekend day worked in exchange for a holiday (调休上班).
    AdjustedWorkday,
}

/// One date as the calendar sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Day {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub workday: bool,
    /// The holiday's name for holidays and adjusted working days.
    pub name: Option<String>,
    /// False when the year has no data file and the plain week was assumed.
    pub known: bool,
}

/// The State Council notice a year's file cites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    pub title: String,
    pub number: String,
    pub published: String,
    pub url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    Off(usize),
    Work(usize),
}

/// The working-day calendar. Cheap to clone; build it once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    special: BTreeMap<NaiveDate, Special>,
    names: Vec<String>,
    years: BTreeSet<i32>,
    notices: BTreeMap<i32, Vec<Notice>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: Spanned<i32>,
    #[serde(default)]
    notice: Vec<Notice>,
    #[serde(default)]
    holiday: Vec<RawHoliday>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name: Spanned<String>,
    from: Spanned<String>,
    to: Spanned<String>,
    #[serde(default)]
    workdays: Vec<Spanned<String>>,
    /// Free text for readers of the file (e.g. how a later notice changed the arrangement).
    #[serde(rename = "note")]
    _note: Option<String>,
}

impl Calendar {
    /// A calendar with no data: every year falls back to the plain week.
    pub fn weekends_only() -> Self {
        Self::default()
    }

    /// Loads every `*.toml` in `dir` (one file per year). Errors name file:line:column.
    pub fn load_dir(dir: &Path) -> Result<Self, Vec<Diagnostic>> {
        let display = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| {
            vec![file_diag(
                Severity::Error,
                "calendar-dir",
                &display,
                format!("cannot read the calendar directory: {e}"),
                "set [calendar] dir in the configuration to the directory holding 2020.toml, 2021.toml, …",
            )]
        })?;
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut sources = Vec::new();
        let mut errors = Vec::new();
        for path in files {
            match std::fs::read_to_string(&path) {
                Ok(text) => sources.push((path.display().to_string(), text)),
                Err(e) => errors.push(file_diag(
                    Severity::Error,
                    "calendar-read",
                    &path.display().to_string(),
                    format!("cannot read the file: {e}"),
                    "check the file's permissions and that it is UTF-8 text",
                )),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Self::from_sources(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
    }

    /// Builds a calendar from `(file name, TOML text)` pairs.
    pub fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Vec<Diagnostic>> {
        let mut cal = Calendar::default();
        let mut errors = Vec::new();
        for (name, text) in sources {
            if let Err(mut e) = cal.add_file(name, text) {
                errors.append(&mut e);
            }
        }
        if errors.is_empty() {
            Ok(cal)
        } else {
            Err(errors)
        }
    }

    fn add_file(&mut self, name: &str, text: &str) -> Result<(), Vec<Diagnostic>> {
        let src = Source::new(name, text);
        let raw: RawYear = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            vec![src.error(
                "calendar-syntax",
                span,
                e.message().trim().to_string(),
                "a year file has `year = YYYY`, [[notice]] tables (title, number, published, url) and [[holiday]] tables (name, from, to, workdays)",
            )]
        })?;
        let mut errors = Vec::new();
        let year = *raw.year.get_ref();
        if self.years.contains(&year) {
            errors.push(src.error(
                "calendar-duplicate-year",
                raw.year.span(),
                format!("year {year} is defined in another file too"),
                "keep one file per year",
            ));
        }
        if raw.notice.is_empty() {
            errors.push(src.error(
                "calendar-no-notice",
                raw.year.span(),
                format!("the {year} file cites no State Council notice"),
                "add a [[notice]] with the title, number, publication date and gov.cn URL of the notice",
            ));
        }
        let date = |s: &Spanned<String>, errors: &mut Vec<Diagnostic>| -> Option<NaiveDate> {
            match NaiveDate::parse_from_str(s.get_ref(), "%Y-%m-%d") {
                Ok(d) if (d.year() - year).abs() <= 1 => Some(d),
                Ok(d) => {
                    errors.push(src.error(
                        "calendar-date-year",
                        s.span(),
                        format!("{d} is not near the file's year {year}"),
                        "each file lists the arrangement of its own year (the New Year holiday may start in December before)",
                    ));
                    None
                }
                Err(_) => {
                    errors.push(src.error(
                        "calendar-date",
                        s.span(),
                        format!("`{}` is not a date", s.get_ref()),
                        "write dates as \"YYYY-MM-DD\"",
                    ));
                    None
                }
            }
        };
        let mut staged: Vec<(NaiveDate, Special, std::ops::Range<usize>)> = Vec::new();
        for h in &raw.holiday {
            let idx = self.names.len();
            self.names.push(h.name.get_ref().trim().to_string());
            let (Some(from), Some(to)) = (date(&h.from, &mut errors), date(&h.to, &mut errors))
            else {
                continue;
            };
            if to < from {
                errors.push(src.error(
                    "calendar-range",
                    h.to.span(),
                    format!("the holiday ends ({to}) before it starts ({from})"),
                    "swap `from` and `to`",
                ));
                continue;
            }
            if (to - from).num_days() > 14 {
                errors.push(src.error(
                    "calendar-range",
                    h.to.span(),
                    format!(
                        "a holiday of {} days is implausible",
                        (to - from).num_days() + 1
                    ),
                    "check the dates against the notice",
                ));
                continue;
            }
            let mut d = from;
            while d <= to {
                staged.push((d, Special::Off(idx), h.from.span()));
                d += Duration::days(1);
            }
            for w in &h.workdays {
                if let Some(d) = date(w, &mut errors) {
                    if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                        errors.push(src.error(
                            "calendar-workday-weekday",
                            w.span(),
                            format!("{d} is a {}, not a weekend day", d.weekday()),
                            "adjusted working days (调休上班) are always a Saturday or Sunday; check the notice",
                        ));
                        continue;
                    }
                    staged.push((d, Special::Work(idx), w.span()));
                }
            }
        }
        for (d, s, span) in staged {
            match self.special.get(&d) {
                Some(prev) if *prev != s => errors.push(src.error(
                    "calendar-conflict",
                    span,
                    format!("{d} is listed twice"),
                    "a date is either a day off or an adjusted working day, once",
                )),
                _ => {
                    self.special.insert(d, s);
                }
            }
        }
        if errors.is_empty() {
            self.years.insert(year);
            self.notices.insert(year, raw.notice);
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Years that have a data file.
    pub fn known_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// The last day covered by a data file, if any.
    pub fn known_through(&self) -> Option<NaiveDate> {
        self.years
            .iter()
            .next_back()
            .and_then(|y| NaiveDate::from_ymd_opt(*y, 12, 31))
    }

    /// The notices a year's file cites.
    pub fn notices(&self, year: i32) -> &[Notice] {
        self.notices.get(&year).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `date`'s year has a data file.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.years.contains(&date.year())
    }

    /// A warning when dates up to `until` are not all covered by data files; `None` when
    /// they are. Call it at start-up with the planning horizon, and in `workflows check`.
    pub fn coverage_warning(&self, until: NaiveDate) -> Option<String> {
        let missing = self.missing_years(until)?;
        if missing.is_empty() {
            return Some(
                "no holiday calendar is loaded: working days are counted as Monday to Friday only"
                    .to_string(),
            );
        }
        Some(format!(
            "the holiday calendar has no data for {}: those years count weekends only, so holidays and 调休 working days are wrong there. Add config/calendar/YYYY.toml from the State Council notice (国务院办公厅关于YYYY年部分节假日安排的通知) when it is published",
            years_list(&missing, ", ")
        ))
    }

    /// [`Calendar::coverage_warning`] in Chinese, for pages.
    pub fn coverage_warning_zh(&self, until: NaiveDate) -> Option<String> {
        let missing = self.missing_years(until)?;
        if missing.is_empty() {
            return Some("未载入节假日日历：工作日只按周一至周五计算。".to_string());
        }
        Some(format!(
            "节假日日历缺少{}年的数据：这些年份只排除周末，法定节假日和调休上班日不准确。国务院办公厅发布当年节假日安排通知后，请按通知添加 config/calendar/YYYY.toml。",
            years_list(&missing, "、")
        ))
    }

    /// The years up to `until`'s that the calendar lacks: `None` when none is missing, an
    /// empty list when no year is loaded at all.
    fn missing_years(&self, until: NaiveDate) -> Option<Vec<i32>> {
        let Some(first) = self.years.iter().next() else {
            return Some(Vec::new());
        };
        let missing: Vec<i32> = (*first..=until.year())
            .filter(|y| !self.years.contains(y))
            .collect();
        (!missing.is_empty()).then_some(missing)
    }

    /// Everything the calendar knows about `date`.
    pub fn day(&self, date: NaiveDate) -> Day {
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        let known = self.covers(date);
        let (kind, name) = match self.special.get(&date) {
            Some(Special::Off(i)) => (DayKind::Holiday, Some(self.names[*i].clone())),
            Some(Special::Work(i)) => (DayKind::AdjustedWorkday, Some(self.names[*i].clone())),
            None if weekend => (DayKind::Weekend, None),
            None => (DayKind::Weekday, None),
        };
        Day {
            date,
            kind,
            workday: matches!(kind, DayKind::Weekday | DayKind::AdjustedWorkday),
            name,
            known,
        }
    }

    pub fn is_workday(&self, date: NaiveDate) -> bool {
        match self.special.get(&date) {
            Some(Special::Off(_)) => false,
            Some(Special::Work(_)) => true,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// `date` itself if it is a working day, else the next one.
    pub fn workday_on_or_after(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        // A run of days off is at most a few weeks; the bound only guards against bad data.
        for _ in 0..366 {
            if self.is_workday(d) {
                return d;
            }
            match d.succ_opt() {
                Some(n) => d = n,
                None => return d,
            }
        }
        d
    }

    /// The `n`th working day after `date` (before it for negative `n`). With `n == 0`, `date`
    /// itself when it is a working day, else the next working day. Saturates at the ends of
    /// chrono's date range instead of panicking.
    pub fn add_workdays(&self, date: NaiveDate, n: i64) -> NaiveDate {
        if n == 0 {
            return self.workday_on_or_after(date);
        }
        let mut d = date;
        let mut left = n.unsigned_abs();
        while left > 0 {
            let next = if n > 0 { d.succ_opt() } else { d.pred_opt() };
            match next {
                Some(x) => d = x,
                None => return d,
            }
            if self.is_workday(d) {
                left -= 1;
            }
        }
        d
    }
}

#[cfg(test)]
mod tests;

fn years_list(years: &[i32], separator: &str) -> String {
    years
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}
