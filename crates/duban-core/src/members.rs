//! The party members' roster (党员名册): a file of members by unit, validated whole before
//! anything is written. Every problem is reported with its row, its column and the reason in
//! Chinese.

use crate::register::{is_valid_email, normalise_mobile, parse_date};
use crate::table::{RowError, Table};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// One column of the roster: its key and the headers it is known by (the first is the one
/// the template prints).
#[derive(Debug, Clone, Copy)]
pub struct MemberColumn {
    pub key: &'static str,
    pub headers: &'static [&'static str],
    pub required: bool,
}

/// The roster's columns, in template order. Other columns (性别, 学历 …) are ignored.
pub const MEMBER_COLUMNS: &[MemberColumn] = &[
    MemberColumn {
        key: "name",
        headers: &["姓名"],
        required: true,
    },
    MemberColumn {
        key: "unit_code",
        headers: &["所在党组织代码", "所在党组织编码", "党组织编码"],
        required: true,
    },
    MemberColumn {
        key: "joined_on",
        headers: &["入党时间", "转为预备党员日期", "入党日期"],
        required: true,
    },
    MemberColumn {
        key: "mobile",
        headers: &["手机", "手机号码", "手机号"],
        required: false,
    },
    MemberColumn {
        key: "email",
        headers: &["邮箱", "电子邮箱", "电子邮件"],
        required: false,
    },
];

/// The header row of a roster file.
pub fn member_headers() -> Vec<&'static str> {
    MEMBER_COLUMNS.iter().map(|c| c.headers[0]).collect()
}

/// A validated roster row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRow {
    pub row: usize,
    pub unit_code: String,
    pub name: String,
    /// Admitted as a probationary member (预备党员).
    pub joined_on: NaiveDate,
    /// Normalised to 11 digits.
    pub mobile: Option<String>,
    pub email: Option<String>,
}

impl MemberRow {
    /// Whether a message can reach the member at all.
    pub fn reachable(&self) -> bool {
        self.mobile.is_some() || self.email.is_some()
    }
}

fn zh(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// Validates a roster. `known_units` are the unit codes of the register; `today` is the
/// date (Beijing) no joining date may be after. Returns every error of the file, in row
/// order, or the rows.
pub fn parse_members(
    table: &Table,
    known_units: &HashSet<String>,
    today: NaiveDate,
) -> Result<Vec<MemberRow>, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for c in MEMBER_COLUMNS {
        match table
            .headers
            .iter()
            .position(|h| c.headers.contains(&h.trim()))
        {
            Some(i) => {
                index.insert(c.key, i);
            }
            None if c.required => errors.push(RowError {
                row: 1,
                column: c.headers[0].to_string(),
                reason: format!(
                    "缺少此列：表头须有{}",
                    MEMBER_COLUMNS
                        .iter()
                        .filter(|c| c.required)
                        .map(|c| c.headers.join("或"))
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            }),
            None => {}
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let header = |key: &str| -> String { table.headers[index[key]].trim().to_string() };
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let mut contacts: HashMap<String, (String, usize)> = HashMap::new();
    let mut rows = Vec::new();
    for (row_no, cells) in &table.rows {
        let row = *row_no;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |key: &str| -> &str {
            index
                .get(key)
                .and_then(|&i| cells.get(i))
                .map(|c| c.trim())
                .unwrap_or("")
        };
        let before = errors.len();
        let mut err = |key: &str, reason: String| {
            errors.push(RowError {
                row,
                column: header(key),
                reason,
            })
        };
        let name = cell("name");
        if name.is_empty() {
            err("name", "姓名为空".into());
        } else if name.chars().count() > 64 {
            err("name", "姓名超过64个字".into());
        }
        let code = cell("unit_code");
        if code.is_empty() {
            err("unit_code", "所在党组织代码为空".into());
        } else if !known_units.contains(code) {
            err(
                "unit_code",
                format!("党组织名册中没有代码为“{code}”的党组织，请核对代码或先导入该党组织"),
            );
        }
        let joined_text = cell("joined_on");
        let joined_on = match parse_date(joined_text) {
            None if joined_text.is_empty() => {
                err("joined_on", "入党时间为空".into());
                None
            }
            None => {
                err(
                    "joined_on",
                    format!("“{joined_text}”不是日期，请写作2015-12-10或2015年12月10日"),
                );
                None
            }
            Some(d) if d > today => {
                err(
                    "joined_on",
                    format!("{}晚于今天（{}），入党时间不能在将来", zh(d), zh(today)),
                );
                None
            }
            Some(d) => Some(d),
        };
        let mobile_text = cell("mobile");
        let mobile = if mobile_text.is_empty() {
            None
        } else {
            let m = normalise_mobile(mobile_text);
            if m.is_none() {
                err(
                    "mobile",
                    format!(
                        "“{}”不是中国大陆手机号码（11位，以1开头）",
                        crate::privacy::mask_mobile(mobile_text)
                    ),
                );
            }
            m
        };
        let email_text = cell("email");
        let email = if email_text.is_empty() {
            None
        } else if is_valid_email(email_text) {
            Some(email_text.to_string())
        } else {
            err(
                "email",
                format!(
                    "“{}”不是电子邮箱地址",
                    crate::privacy::mask_email(email_text)
                ),
            );
            None
        };
        if !name.is_empty() && !code.is_empty() {
            match seen.get(&(code.to_string(), name.to_string())) {
                Some(first) => err(
                    "name",
                    format!("同一党组织的党员{name}已在第{first}行出现，同一党员只能出现一次"),
                ),
                None => {
                    seen.insert((code.to_string(), name.to_string()), row);
                }
            }
        }
        for (key, contact) in [("mobile", &mobile), ("email", &email)] {
            let Some(c) = contact else { continue };
            match contacts.get(c) {
                Some((other, first)) if other != name => err(
                    key,
                    format!("该联系方式已属于第{first}行的{other}，每名党员须用自己的联系方式"),
                ),
                Some(_) => {}
                None => {
                    contacts.insert(c.clone(), (name.to_string(), row));
                }
            }
        }
        if errors.len() > before {
            continue;
        }
        if let Some(joined_on) = joined_on {
            rows.push(MemberRow {
                row,
                unit_code: code.to_string(),
                name: name.to_string(),
                joined_on,
                mobile,
                email,
            });
        }
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(RowError {
            row: 2,
            column: header("name"),
            reason: "文件中没有党员".into(),
        });
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[&str]]) -> Table {
        Table {
            headers: ["姓名", "所在党组织代码", "入党时间", "手机", "邮箱", "性别"]
                .map(String::from)
                .to_vec(),
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, r)| (i + 2, r.iter().map(|c| c.to_string()).collect()))
                .collect(),
        }
    }

    fn known() -> HashSet<String> {
        ["DZ01".to_string()].into_iter().collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
    }

    #[test]
    fn a_good_roster_reads_with_normalised_contacts() {
        let t = table(&[
            &[
                "陈晓",
                "DZ01",
                "2015年12月10日",
                "+86 138-1234-8000",
                "",
                "女",
            ],
            &["李明", "DZ01", "2019-07-01", "", "li.ming@example.cn", "男"],
            &["王强", "DZ01", "2020/3/5", "", "", "男"],
        ]);
        let rows = parse_members(&t, &known(), today()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].mobile.as_deref(), Some("13812348000"));
        assert_eq!(
            rows[0].joined_on,
            NaiveDate::from_ymd_opt(2015, 12, 10).unwrap()
        );
        assert!(!rows[2].reachable());
    }

    #[test]
    fn every_problem_is_located_in_chinese() {
        let t = table(&[
            &["陈晓", "DZ99", "2015-12-10", "", "", ""],
            &["李明", "DZ01", "2015-13-10", "", "", ""],
            &["王强", "DZ01", "2027-01-01", "1234", "", ""],
            &["赵红", "DZ01", "2015-12-10", "", "not-an-address", ""],
            &["赵红", "DZ01", "2016-12-10", "", "", ""],
        ]);
        let errors = parse_members(&t, &known(), today()).unwrap_err();
        let got: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (2, "所在党组织代码"),
                (3, "入党时间"),
                (4, "入党时间"),
                (4, "手机"),
                (5, "邮箱"),
                (6, "姓名"),
            ]
        );
        assert!(errors[0].reason.contains("DZ99"), "{}", errors[0].reason);
        assert!(
            errors[2].reason.contains("不能在将来"),
            "{}",
            errors[2].reason
        );
        assert!(errors[5].reason.contains("第5行"), "{}", errors[5].reason);
    }

    #[test]
    fn a_missing_column_is_named() {
        let t = Table {
            headers: vec!["姓名".into(), "手机".into()],
            rows: vec![],
        };
        let errors = parse_members(&t, &known(), today()).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].column, "所在党组织代码");
        assert_eq!(errors[1].column, "入党时间");
    }

    #[test]
    fn one_contact_belongs_to_one_member() {
        let t = table(&[
            &["陈晓", "DZ01", "2015-12-10", "13812348000", "", ""],
            &["李明", "DZ01", "2016-12-10", "13812348000", "", ""],
        ]);
        let errors = parse_members(&t, &known(), today()).unwrap_err();
        assert_eq!((errors[0].row, errors[0].column.as_str()), (3, "手机"));
    }
}
