//! Cell values: amounts to [`Money`] from their decimal text, dates and times in the shapes
//! banks write them, header labels normalised for keyword matching.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use duban_core::money::Money;
use rust_decimal::Decimal;
use std::str::FromStr;

/// One cell of a sheet or a delimited line.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    /// A numeric spreadsheet cell.
    Number(f64),
    /// A spreadsheet date cell.
    DateTime(NaiveDateTime),
}

impl Cell {
    /// The cell as text: numbers in their shortest decimal form, dates ISO.
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.trim().to_string(),
            Cell::Number(f) => shortest(*f),
            Cell::DateTime(t) if t.time() == NaiveTime::MIN => t.date().to_string(),
            Cell::DateTime(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// The shortest decimal text that reads back as `f` (Rust's `Display` for `f64`).
pub fn shortest(f: f64) -> String {
    format!("{f}")
}

/// An amount as the cell holds it: `None` when empty (`""`, `-`, `--`), else the signed
/// amount and whether the text carried an explicit sign. The reason as (zh, en) otherwise.
pub fn amount(cell: &Cell) -> Result<Option<(Money, bool)>, (String, String)> {
    let text = match cell {
        Cell::Empty => return Ok(None),
        Cell::Number(f) if !f.is_finite() => {
            return Err(("不是有效的数字".into(), "is not a finite number".into()));
        }
        Cell::Number(f) => shortest(*f),
        Cell::Text(s) => s.clone(),
        Cell::DateTime(_) => {
            return Err((
                "是日期，不是金额".into(),
                "holds a date, not an amount".into(),
            ));
        }
    };
    amount_text(&text)
}

/// See [`amount`]: the same for text.
pub fn amount_text(raw: &str) -> Result<Option<(Money, bool)>, (String, String)> {
    let mut s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, ',' | '，' | '¥' | '￥' | '元'))
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '－' | '−' => '-',
            '＋' => '+',
            '．' => '.',
            other => other,
        })
        .collect();
    if s.is_empty() || s.chars().all(|c| matches!(c, '-' | '—')) {
        return Ok(None);
    }
    let explicit = s.starts_with('+') || s.starts_with('-');
    let negative = s.starts_with('-');
    if explicit {
        s.remove(0);
    }
    let bad = || {
        (
            format!("“{raw}”不是金额"),
            format!("{raw:?} is not an amount"),
        )
    };
    if s.is_empty()
        || !s.chars().all(|c| c.is_ascii_digit() || c == '.')
        || s.matches('.').count() > 1
        || s.starts_with('.')
        || s.ends_with('.')
    {
        return Err(bad());
    }
    let d = Decimal::from_str(&s).map_err(|_| bad())?;
    let m = Money::from_decimal(d).map_err(|e| match e {
        duban_core::money::MoneyError::TooPrecise(_) => (
            format!("“{raw}”超过两位小数，金额只记到分"),
            format!("{raw:?} has more than two decimals; amounts are kept to the fen"),
        ),
        _ => (
            format!("“{raw}”超出金额范围"),
            format!("{raw:?} is out of range"),
        ),
    })?;
    let m = if negative {
        m.checked_neg().ok_or_else(bad)?
    } else {
        m
    };
    Ok(Some((m, explicit)))
}

/// A count (笔数): `7`, `7.0` from a numeric cell, `7笔`.
pub fn count(cell: &Cell) -> Option<usize> {
    match cell {
        Cell::Number(f) if f.fract() == 0.0 && *f >= 0.0 && *f < 1e12 => Some(*f as usize),
        _ => {
            let t = cell.text();
            let digits: String = t.trim().trim_end_matches('笔').trim().chars().collect();
            digits.parse().ok()
        }
    }
}

/// What a date/time cell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct When {
    pub date: Option<NaiveDate>,
    pub time: Option<NaiveTime>,
}

const DATE_TIMES: &[&str] = &[
    "%Y%m%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y.%m.%d %H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y%m%d%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
];
const DATES: &[&str] = &["%Y%m%d", "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"];
const TIMES: &[&str] = &["%H:%M:%S", "%H%M%S", "%H:%M"];

/// Reads a date, a time or both; `None` when the text is none of these.
pub fn when(cell: &Cell) -> Option<When> {
    match cell {
        Cell::Empty => Some(When::default()),
        // A time-only cell comes back on Excel's day zero (1899-12-31).
        Cell::DateTime(t) if t.date().year() < 1901 => Some(When {
            date: None,
            time: Some(t.time()),
        }),
        Cell::DateTime(t) => Some(When {
            date: Some(t.date()),
            time: (t.time() != NaiveTime::MIN).then_some(t.time()),
        }),
        Cell::Number(f) if f.fract() == 0.0 && *f > 0.0 => when_text(&shortest(*f)),
        Cell::Number(_) => None,
        Cell::Text(s) => when_text(s),
    }
}

pub fn when_text(raw: &str) -> Option<When> {
    let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() {
        return Some(When::default());
    }
    let s = s.trim_end_matches(".000").trim_end_matches('Z');
    for f in DATE_TIMES {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(When {
                date: Some(t.date()),
                time: Some(t.time()),
            });
        }
    }
    for f in DATES {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Some(When {
                date: Some(d),
                time: None,
            });
        }
    }
    if s.len() >= 4 {
        for f in TIMES {
            if let Ok(t) = NaiveTime::parse_from_str(s, f) {
                return Some(When {
                    date: None,
                    time: Some(t),
                });
            }
        }
    }
    None
}

/// A period written in one cell: `20171101-20171130`, `2026-02-01至2026-02-28`.
pub fn period(raw: &str) -> Option<(NaiveDate, NaiveDate)> {
    let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    for sep in ["至", "~", "～", "—", "到"] {
        if let Some((a, b)) = s.split_once(sep) {
            return Some((when_text(a)?.date?, when_text(b)?.date?));
        }
    }
    // `YYYYMMDD-YYYYMMDD`: split at the dash that leaves two dates.
    s.match_indices('-').find_map(|(i, _)| {
        let (a, b) = (&s[..i], &s[i + 1..]);
        Some((when_text(a)?.date?, when_text(b)?.date?))
    })
}

/// A header or label as compared with keywords: no whitespace (ASCII, ideographic or
/// non-breaking), no bilingual `[ … ]` part, no trailing colon, ASCII parentheses.
pub fn norm(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '：' => ':',
            other => other.to_ascii_lowercase(),
        })
        .collect();
    if let Some(i) = s.find('[')
        && i > 0
    {
        s.truncate(i);
    }
    while s.ends_with(':') {
        s.pop();
    }
    s
}

/// Digits (and letters) of an account number, nothing else.
pub fn digits_only(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fen(s: &str) -> i64 {
        amount_text(s).unwrap().unwrap().0.fen()
    }

    #[test]
    fn amounts_as_banks_write_them() {
        assert_eq!(fen("38,786.23"), 3_878_623);
        assert_eq!(fen("+129646.38"), 12_964_638);
        assert_eq!(fen("-400000.00"), -40_000_000);
        assert_eq!(fen(" ¥1,000.5 "), 100_050);
        assert!(amount_text("--").unwrap().is_none());
        assert!(amount_text("").unwrap().is_none());
        assert!(amount_text("1.234").is_err());
        assert!(amount_text("12a").is_err());
        assert!(amount_text("1.2.3").is_err());
        assert!(amount_text("99999999999999999999999").is_err());
    }

    #[test]
    fn numeric_cells_go_through_their_shortest_decimal_text() {
        let m = |f: f64| amount(&Cell::Number(f)).map(|o| o.map(|(m, _)| m.fen()));
        assert_eq!(m(1117208.41), Ok(Some(111_720_841)));
        assert_eq!(m(16.78), Ok(Some(1678)));
        assert_eq!(m(0.1 + 0.2).map_err(|_| ()), Err(()));
        assert!(m(f64::NAN).is_err());
        assert!(m(6.79e21).is_err());
    }

    #[test]
    fn dates_and_times_in_every_shape_seen() {
        let w = |s: &str| when_text(s).unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 2, 3).unwrap();
        let t = NaiveTime::from_hms_opt(9, 49, 50).unwrap();
        for s in [
            "20260203 09:49:50",
            "2026-02-03 09:49:50",
            "20260203094950",
            "2026/02/03  09:49:50",
        ] {
            assert_eq!(
                w(s),
                When {
                    date: Some(d),
                    time: Some(t)
                },
                "{s}"
            );
        }
        assert_eq!(w("20260203").date, Some(d));
        assert_eq!(w("09:49:50").time, Some(t));
        assert_eq!(
            w("094950"),
            When {
                date: None,
                time: Some(t)
            },
            "CMB's 交易时间"
        );
        let day_zero = NaiveDate::from_ymd_opt(1899, 12, 31).unwrap().and_time(t);
        assert_eq!(
            when(&Cell::DateTime(day_zero)).unwrap(),
            When {
                date: None,
                time: Some(t)
            }
        );
        assert!(when_text("支出总金额 14928.64").is_none());
        assert_eq!(
            period("20171101-20171130"),
            Some((
                NaiveDate::from_ymd_opt(2017, 11, 1).unwrap(),
                NaiveDate::from_ymd_opt(2017, 11, 30).unwrap()
            ))
        );
    }

    #[test]
    fn labels_normalise() {
        assert_eq!(norm("账\u{3000}\u{3000}号："), "账号");
        assert_eq!(norm(" 查询开始日期："), "查询开始日期");
        assert_eq!(norm("交易金额[ Trade Amount ]"), "交易金额");
        assert_eq!(norm("借方发生额（支取）"), "借方发生额(支取)");
        assert_eq!(norm("支出                "), "支出");
    }
}
