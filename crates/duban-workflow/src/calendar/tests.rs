use super::*;
use std::collections::HashSet;

fn shipped() -> Calendar {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/calendar");
    Calendar::load_dir(&dir).unwrap_or_else(|e| panic!("{}", crate::diag::render_text(&e)))
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Days off and weekend days worked, typed from the State Council notices item by item
/// (not generated from the data files). Ranges are inclusive `start..end`.
const EXPECTED: &[(i32, &[&str], &[&str])] = &[
    // 国办发明电〔2019〕16号, with 国办发明电〔2020〕1号 extending the Spring Festival to 2 Feb
    // (so Sat 1 Feb is no longer worked).
    (
        2020,
        &[
            "01-01",
            "01-24..02-02",
            "04-04..04-06",
            "05-01..05-05",
            "06-25..06-27",
            "10-01..10-08",
        ],
        &["01-19", "04-26", "05-09", "06-28", "09-27", "10-10"],
    ),
    // 国办发明电〔2020〕27号
    (
        2021,
        &[
            "01-01..01-03",
            "02-11..02-17",
            "04-03..04-05",
            "05-01..05-05",
            "06-12..06-14",
            "09-19..09-21",
            "10-01..10-07",
        ],
        &[
            "02-07", "02-20", "04-25", "05-08", "09-18", "09-26", "10-09",
        ],
    ),
    // 国办发明电〔2021〕11号
    (
        2022,
        &[
            "01-01..01-03",
            "01-31..02-06",
            "04-03..04-05",
            "04-30..05-04",
            "06-03..06-05",
            "09-10..09-12",
            "10-01..10-07",
            // New Year 2023 starts on Saturday 31 December 2022 (国办发明电〔2022〕16号).
            "12-31",
        ],
        &[
            "01-29", "01-30", "04-02", "04-24", "05-07", "10-08", "10-09",
        ],
    ),
    // 国办发明电〔2022〕16号
    (
        2023,
        &[
            "01-01..01-02",
            "01-21..01-27",
            "04-05",
            "04-29..05-03",
            "06-22..06-24",
            "09-29..10-06",
        ],
        &[
            "01-28", "01-29", "04-23", "05-06", "06-25", "10-07", "10-08",
        ],
    ),
    // 国办发明电〔2023〕7号
    (
        2024,
        &[
            "01-01",
            "02-10..02-17",
            "04-04..04-06",
            "05-01..05-05",
            "06-10",
            "09-15..09-17",
            "10-01..10-07",
        ],
        &[
            "02-04", "02-18", "04-07", "04-28", "05-11", "09-14", "09-29", "10-12",
        ],
    ),
    // 国办发明电〔2024〕12号
    (
        2025,
        &[
            "01-01",
            "01-28..02-04",
            "04-04..04-06",
            "05-01..05-05",
            "05-31..06-02",
            "10-01..10-08",
        ],
        &["01-26", "02-08", "04-27", "09-28", "10-11"],
    ),
    // 国办发明电〔2025〕7号
    (
        2026,
        &[
            "01-01..01-03",
            "02-15..02-23",
            "04-04..04-06",
            "05-01..05-05",
            "06-19..06-21",
            "09-25..09-27",
            "10-01..10-07",
        ],
        &["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"],
    ),
];

fn expand(year: i32, items: &[&str]) -> HashSet<NaiveDate> {
    let mut out = HashSet::new();
    for item in items {
        let (a, b) = item.split_once("..").unwrap_or((item, item));
        let mut x = d(&format!("{year}-{a}"));
        let end = d(&format!("{year}-{b}"));
        while x <= end {
            out.insert(x);
            x = x.succ_opt().unwrap();
        }
    }
    out
}

#[test]
fn agrees_with_the_notices_on_every_day_2020_to_2026() {
    let cal = shipped();
    let mut off = HashSet::new();
    let mut worked = HashSet::new();
    for (year, offs, works) in EXPECTED {
        off.extend(expand(*year, offs));
        worked.extend(expand(*year, works));
    }
    let mut date = d("2020-01-01");
    let mut checked = 0;
    let mut mismatches = Vec::new();
    while date <= d("2026-12-31") {
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        let expected = if off.contains(&date) {
            false
        } else if worked.contains(&date) {
            true
        } else {
            !weekend
        };
        if cal.is_workday(date) != expected {
            mismatches.push(format!("{date}: expected workday={expected}"));
        }
        let day = cal.day(date);
        assert_eq!(day.workday, cal.is_workday(date));
        assert!(day.known, "{date}");
        checked += 1;
        date = date.succ_opt().unwrap();
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    assert_eq!(checked, 2557);
}

#[test]
fn pinned_days() {
    let cal = shipped();
    assert!(cal.is_workday(d("2026-02-14")));
    assert!(cal.is_workday(d("2026-10-10")));
    assert!(!cal.is_workday(d("2026-02-23")));
    assert_eq!(cal.day(d("2026-02-23")).name.as_deref(), Some("春节"));
    assert_eq!(cal.day(d("2026-02-14")).kind, DayKind::AdjustedWorkday);
    assert_eq!(cal.day(d("2026-10-09")).kind, DayKind::Weekday);
    assert_eq!(cal.day(d("2026-10-11")).kind, DayKind::Weekend);
}

#[test]
fn every_year_cites_a_gov_cn_notice() {
    let cal = shipped();
    let years: Vec<i32> = cal.known_years().collect();
    assert_eq!(years, (2020..=2026).collect::<Vec<_>>());
    for y in years {
        let notices = cal.notices(y);
        assert!(!notices.is_empty());
        assert!(
            notices[0].title.contains(&format!("{y}年部分节假日安排")),
            "{y}"
        );
        assert!(notices.iter().all(|n| n.url.contains("gov.cn")), "{y}");
    }
}

#[test]
fn past_the_last_year_it_counts_weekends_and_says_so() {
    let cal = shipped();
    assert_eq!(cal.known_through(), Some(d("2026-12-31")));
    assert!(cal.coverage_warning(d("2026-12-31")).is_none());
    let w = cal.coverage_warning(d("2027-03-01")).unwrap();
    assert!(w.contains("2027"), "{w}");
    // 2027-01-01 is a Friday: a working day by the plain week.
    assert!(cal.is_workday(d("2027-01-01")));
    assert!(!cal.day(d("2027-01-01")).known);
    assert!(!cal.is_workday(d("2027-01-02")));
    // Never panics, even at the ends of the range.
    let _ = cal.add_workdays(NaiveDate::MAX, 5);
    let _ = cal.add_workdays(NaiveDate::MIN, -5);
    let _ = cal.day(NaiveDate::MAX);
    assert!(
        Calendar::weekends_only()
            .coverage_warning(d("2026-01-01"))
            .is_some()
    );
}

#[test]
fn working_day_arithmetic() {
    let cal = shipped();
    // Friday 2026-02-13 + 1 wd = Saturday 2026-02-14 (worked).
    assert_eq!(cal.add_workdays(d("2026-02-13"), 1), d("2026-02-14"));
    // + 2 wd skips the whole Spring Festival to Tuesday 2026-02-24.
    assert_eq!(cal.add_workdays(d("2026-02-13"), 2), d("2026-02-24"));
    assert_eq!(cal.add_workdays(d("2026-02-24"), -1), d("2026-02-14"));
    assert_eq!(cal.add_workdays(d("2026-10-01"), 0), d("2026-10-08"));
    assert_eq!(cal.add_workdays(d("2026-10-09"), 0), d("2026-10-09"));
}

#[test]
fn bad_files_are_located() {
    let err = Calendar::from_sources([(
        "2030.toml",
        "year = 2030\n[[notice]]\ntitle = \"t\"\nnumber = \"n\"\npublished = \"p\"\nurl = \"u\"\n[[holiday]]\nname = \"x\"\nfrom = \"2030-02-01\"\nto = \"2030-02-03\"\nworkdays = [\"2030-02-06\"]\n",
    )])
    .unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!((err[0].line, err[0].column), (11, 13));
    assert_eq!(err[0].code, "calendar-workday-weekday");

    let err = Calendar::from_sources([("2030.toml", "year = 2030\nholidays = []\n")]).unwrap_err();
    assert_eq!(err[0].line, 2);
}
