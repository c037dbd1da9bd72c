//! The register (台账): organisations, party units, secretaries and terms.
//!
//! This module holds the rules a register row must obey and turns a decoded table into a
//! batch the store can upsert. It reports *every* bad cell with its row and column, so an
//! import either writes everything or nothing.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

pub use crate::table::{RowError, Table};

pub mod coverage;
pub mod validate;

pub use validate::{is_valid_email, normalise_mobile, validate_credit_code};

/// Kind of a two-new organisation (两新组织).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// 非公企业
    Enterprise,
    /// 社会组织
    SocialOrganisation,
}

/// Level of a party unit: 支部 / 总支 / 基层委员会.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    Branch,
    GeneralBranch,
    Committee,
}

impl UnitLevel {
    /// The usual term: committees five years, branches and general branches three.
    pub fn term_years(self) -> u32 {
        match self {
            UnitLevel::Committee => 5,
            UnitLevel::Branch | UnitLevel::GeneralBranch => 3,
        }
    }
}

/// How a unit covers organisations: 单独组建 / 联合组建 / 挂靠.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Formation {
    Standalone,
    Joint,
    Affiliated,
}

/// A channel a person can be reached on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Email,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $en:literal, $zh:literal $(| $alias:literal)*;)+ }) => {
        impl $t {
            pub const ALL: &'static [$t] = &[$(<$t>::$v),+];
            /// The stable English name used in the database and in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $en),+ }
            }
            /// The Chinese name shown to people.
            pub fn zh(self) -> &'static str {
                match self { $(<$t>::$v => $zh),+ }
            }
            /// Accepts the English name or the Chinese name (and common variants).
            pub fn parse(s: &str) -> Option<Self> {
                let t = s.trim();
                $(if t.eq_ignore_ascii_case($en) || t == $zh $(|| t == $alias)* { return Some(<$t>::$v); })+
                None
            }
            fn expected() -> String {
                [$(concat!($zh, " (", $en, ")")),+].join(", ")
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

str_enum!(OrgKind {
    Enterprise => "enterprise", "非公企业" | "企业" | "非公有制企业";
    SocialOrganisation => "social_organisation", "社会组织" | "social";
});
str_enum!(UnitLevel {
    Branch => "branch", "支部" | "党支部";
    GeneralBranch => "general_branch", "总支" | "党总支" | "总支部";
    Committee => "committee", "基层委员会" | "党委" | "基层党委";
});
str_enum!(Formation {
    Standalone => "standalone", "单独组建";
    Joint => "joint", "联合组建";
    Affiliated => "affiliated", "挂靠" | "挂靠组建";
});
str_enum!(Channel {
    Sms => "sms", "短信";
    Email => "email", "邮件" | "邮箱" | "电子邮件";
});

/// One column of the register file: its key, its Chinese header, and whether it is needed.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub key: &'static str,
    pub header: &'static str,
}

/// The register file's columns, in template order.
pub const COLUMNS: &[Column] = &[
    Column {
        key: "credit_code",
        header: "统一社会信用代码",
    },
    Column {
        key: "org_name",
        header: "组织名称",
    },
    Column {
        key: "org_kind",
        header: "组织类别",
    },
    Column {
        key: "district",
        header: "区县",
    },
    Column {
        key: "street",
        header: "街道",
    },
    Column {
        key: "employees",
        header: "从业人员数",
    },
    Column {
        key: "party_members",
        header: "党员数",
    },
    Column {
        key: "instructor",
        header: "党建指导员",
    },
    Column {
        key: "unit_code",
        header: "党组织编码",
    },
    Column {
        key: "unit_name",
        header: "党组织名称",
    },
    Column {
        key: "unit_level",
        header: "党组织类别",
    },
    Column {
        key: "formation",
        header: "组建方式",
    },
    Column {
        key: "superior_unit_code",
        header: "上级党组织编码",
    },
    Column {
        key: "secretary_name",
        header: "书记姓名",
    },
    Column {
        key: "secretary_post",
        header: "书记职务",
    },
    Column {
        key: "secretary_mobile",
        header: "书记手机",
    },
    Column {
        key: "secretary_email",
        header: "书记邮箱",
    },
    Column {
        key: "secretary_channels",
        header: "接收方式",
    },
    Column {
        key: "term_start",
        header: "任期开始",
    },
    Column {
        key: "term_end",
        header: "任期届满",
    },
    Column {
        key: "last_election",
        header: "最近换届日期",
    },
    Column {
        key: "theme_day",
        header: "主题党日",
    },
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub credit_code: String,
    pub name: String,
    pub kind: OrgKind,
    pub district: String,
    pub street: String,
    pub employees: u32,
    pub party_members: u32,
    pub instructor: Option<String>,
    /// The unit that covers this organisation, if any.
    pub unit_code: Option<String>,
    pub row: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub name: String,
    pub post: Option<String>,
    /// Normalised to 11 digits.
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub channels: Vec<Channel>,
}

impl Person {
    /// The identity used to upsert a person: the mobile number, else the email address.
    pub fn key(&self) -> String {
        self.mobile
            .clone()
            .or_else(|| self.email.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    pub code: String,
    pub name: String,
    pub level: UnitLevel,
    pub formation: Formation,
    pub superior_code: Option<String>,
    pub secretary: Option<Person>,
    pub term_start: Option<NaiveDate>,
    pub term_end: Option<NaiveDate>,
    pub last_election: Option<NaiveDate>,
    /// The fixed day of the month for the theme party day (主题党日), 1–28.
    pub theme_day: Option<u8>,
    pub row: usize,
}

/// A validated register file, ready to upsert. Units are ordered so that a superior
/// always comes before its subordinates.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegisterBatch {
    pub organisations: Vec<Organisation>,
    pub units: Vec<Unit>,
}

/// `term_start + years`, clamped to month end (Feb 29 + 3 years = Feb 28).
pub fn term_end_for(start: NaiveDate, level: UnitLevel) -> NaiveDate {
    start
        .checked_add_months(Months::new(level.term_years() * 12))
        .unwrap_or(start)
}

/// Parses a date as typed in Chinese offices: `2026-10-09`, `2026/10/9`, `2026.10.09`,
/// `2026年10月9日`, or `20261009`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(t, "%Y%m%d").ok();
    }
    let cleaned: String = t
        .trim_end_matches('日')
        .chars()
        .map(|c| {
            if matches!(c, '年' | '月' | '/' | '.') {
                '-'
            } else {
                c
            }
        })
        .collect();
    let parts: Vec<&str> = cleaned.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 {
        return None;
    }
    let y: i32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let d: u32 = parts[2].parse().ok()?;
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    (date.year() >= 1921).then_some(date)
}

/// Validates a decoded register table.
///
/// `known_units` are the unit codes already in the register, so that a row may name a
/// superior imported earlier. Returns every error in the file, in row order.
pub fn parse_register(
    table: &Table,
    known_units: &HashSet<String>,
) -> Result<RegisterBatch, Vec<RowError>> {
    let mut errors = Vec::new();
    let index = column_index(&table.headers)?;
    let header_of = |key: &str| -> String {
        index
            .get(key)
            .map(|&i| table.headers[i].trim().to_string())
            .unwrap_or_else(|| {
                COLUMNS
                    .iter()
                    .find(|c| c.key == key)
                    .map(|c| c.header)
                    .unwrap_or(key)
                    .to_string()
            })
    };

    let mut orgs: Vec<Organisation> = Vec::new();
    let mut seen_orgs: HashMap<String, usize> = HashMap::new();
    let mut units: BTreeMap<String, Unit> = BTreeMap::new();
    let mut people: HashMap<String, (String, usize)> = HashMap::new();

    for (row_no, cells) in &table.rows {
        let row = *row_no;
        let get = RowView {
            index: &index,
            cells,
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut err = |key: &str, reason: String| {
            errors.push(RowError {
                row,
                column: header_of(key),
                reason,
            });
        };

        let credit_code = get.get("credit_code").to_ascii_uppercase();
        let unit_code = get.get("unit_code").to_string();
        if credit_code.is_empty() && unit_code.is_empty() {
            err(
                "credit_code",
                "a row needs an organisation (统一社会信用代码) or a party unit (党组织编码)"
                    .into(),
            );
            continue;
        }

        if !credit_code.is_empty() {
            if let Err(reason) = validate_credit_code(&credit_code) {
                err("credit_code", reason);
            } else if let Some(first) = seen_orgs.get(&credit_code) {
                err(
                    "credit_code",
                    format!("{credit_code} already appears in row {first}"),
                );
            } else {
                seen_orgs.insert(credit_code.clone(), row);
            }
            let name = get.get("org_name");
            if name.is_empty() {
                err("org_name", "the organisation's name is required".into());
            }
            let kind = match get.get("org_kind") {
                "" => {
                    err(
                        "org_kind",
                        format!("required: one of {}", OrgKind::expected()),
                    );
                    None
                }
                v => OrgKind::parse(v).or_else(|| {
                    err(
                        "org_kind",
                        format!("{v:?} is not one of {}", OrgKind::expected()),
                    );
                    None
                }),
            };
            let district = get.get("district");
            if district.is_empty() {
                err("district", "the district (区县) is required".into());
            }
            let employees = parse_count(get.get("employees"))
                .map_err(|r| err("employees", r))
                .ok();
            let members = parse_count(get.get("party_members"))
                .map_err(|r| err("party_members", r))
                .ok();
            if let (Some(kind), Some(employees), Some(party_members)) = (kind, employees, members) {
                orgs.push(Organisation {
                    credit_code: credit_code.clone(),
                    name: name.to_string(),
                    kind,
                    district: district.to_string(),
                    street: get.get("street").to_string(),
                    employees,
                    party_members,
                    instructor: non_empty(get.get("instructor")),
                    unit_code: non_empty(&unit_code),
                    row,
                });
            }
        }

        if unit_code.is_empty() {
            for key in [
                "unit_name",
                "unit_level",
                "secretary_name",
                "term_start",
                "term_end",
            ] {
                if !get.get(key).is_empty() {
                    err(
                        "unit_code",
                        format!("{} is filled in but the unit has no code", header_of(key)),
                    );
                    break;
                }
            }
            continue;
        }

        let unit = match parse_unit_fields(row, &unit_code, &get, &mut err) {
            Some(u) => u,
            None => continue,
        };
        if let Some(p) = &unit.secretary {
            let key = p.key();
            match people.get(&key) {
                Some((name, first)) if name != &p.name => err(
                    if p.mobile.is_some() {
                        "secretary_mobile"
                    } else {
                        "secretary_email"
                    },
                    format!("the same contact belongs to {name} in row {first}"),
                ),
                Some(_) => {}
                None => {
                    people.insert(key, (p.name.clone(), row));
                }
            }
        }
        match units.get(&unit_code) {
            None => {
                units.insert(unit_code.clone(), unit);
            }
            Some(existing) => {
                // A joint unit covers several organisations: its later rows may leave the
                // unit's own fields blank, but must not contradict the first row.
                if let Some(conflict) = conflicting_field(existing, &unit, &get) {
                    err(
                        conflict,
                        format!(
                            "unit {unit_code} is described differently in row {}",
                            existing.row
                        ),
                    );
                }
            }
        }
    }

    check_superiors(&units, known_units, &mut errors, &header_of);

    if errors.is_empty() {
        Ok(RegisterBatch {
            organisations: orgs,
            units: order_by_superior(units),
        })
    } else {
        errors.sort_by_key(|e| e.row);
        Err(errors)
    }
}

/// One data row, read by column key.
struct RowView<'a> {
    index: &'a HashMap<&'static str, usize>,
    cells: &'a [String],
}

impl<'a> RowView<'a> {
    fn get(&self, key: &str) -> &'a str {
        self.index
            .get(key)
            .and_then(|&i| self.cells.get(i))
            .map(|s| s.trim())
            .unwrap_or("")
    }
}

fn column_index(headers: &[String]) -> Result<HashMap<&'static str, usize>, Vec<RowError>> {
    let mut index = HashMap::new();
    let mut errors = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().trim_start_matches('\u{feff}');
        if h.is_empty() {
            continue;
        }
        match COLUMNS
            .iter()
            .find(|c| c.header == h || c.key.eq_ignore_ascii_case(h))
        {
            Some(c) => {
                if index.insert(c.key, i).is_some() {
                    errors.push(RowError {
                        row: 1,
                        column: h.to_string(),
                        reason: "this column appears twice".into(),
                    });
                }
            }
            None => errors.push(RowError {
                row: 1,
                column: h.to_string(),
                reason: format!(
                    "unknown column; expected one of: {}",
                    COLUMNS
                        .iter()
                        .map(|c| c.header)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }
    if !index.contains_key("credit_code") && !index.contains_key("unit_code") {
        errors.push(RowError {
            row: 1,
            column: "统一社会信用代码".into(),
            reason: "the file needs a 统一社会信用代码 or a 党组织编码 column; run `duban import register --template` for the header row".into(),
        });
    }
    if errors.is_empty() {
        Ok(index)
    } else {
        Err(errors)
    }
}

fn parse_unit_fields(
    row: usize,
    code: &str,
    get: &RowView<'_>,
    err: &mut dyn FnMut(&str, String),
) -> Option<Unit> {
    let mut ok = true;
    if code.chars().count() > 64 || code.chars().any(char::is_whitespace) {
        err(
            "unit_code",
            "a unit code has no spaces and at most 64 characters".into(),
        );
        ok = false;
    }
    let level = match get.get("unit_level") {
        "" => None,
        v => UnitLevel::parse(v).or_else(|| {
            err(
                "unit_level",
                format!("{v:?} is not one of {}", UnitLevel::expected()),
            );
            ok = false;
            None
        }),
    };
    let formation = match get.get("formation") {
        "" => None,
        v => Formation::parse(v).or_else(|| {
            err(
                "formation",
                format!("{v:?} is not one of {}", Formation::expected()),
            );
            ok = false;
            None
        }),
    };
    let mut date = |key: &str| -> Option<NaiveDate> {
        match get.get(key) {
            "" => None,
            v => parse_date(v).or_else(|| {
                err(key, format!("{v:?} is not a date; write it as 2026-10-09"));
                ok = false;
                None
            }),
        }
    };
    let term_start = date("term_start");
    let mut term_end = date("term_end");
    let last_election = date("last_election");
    let secretary = parse_secretary(get, err, &mut ok);
    let level = level.unwrap_or(UnitLevel::Branch);
    if term_end.is_none() {
        term_end = term_start.map(|s| term_end_for(s, level));
    }
    if let (Some(s), Some(e)) = (term_start, term_end)
        && e <= s
    {
        err(
            "term_end",
            format!("the term ends ({e}) before it starts ({s})"),
        );
        ok = false;
    }
    let theme_day = match get.get("theme_day") {
        "" => None,
        v => match v
            .trim_end_matches('日')
            .trim_start_matches("每月")
            .parse::<u8>()
        {
            Ok(d) if (1..=28).contains(&d) => Some(d),
            _ => {
                err(
                    "theme_day",
                    format!("{v:?} is not a day of the month from 1 to 28 (a day every month has)"),
                );
                ok = false;
                None
            }
        },
    };
    let superior = non_empty(get.get("superior_unit_code"));
    if superior.as_deref() == Some(code) {
        err(
            "superior_unit_code",
            "a unit cannot be its own superior".into(),
        );
        ok = false;
    }
    let name = get.get("unit_name");
    ok.then(|| Unit {
        code: code.to_string(),
        name: name.to_string(),
        level,
        formation: formation.unwrap_or(Formation::Standalone),
        superior_code: superior,
        secretary,
        term_start,
        term_end,
        last_election,
        theme_day,
        row,
    })
}

fn parse_secretary(
    get: &RowView<'_>,
    err: &mut dyn FnMut(&str, String),
    ok: &mut bool,
) -> Option<Person> {
    let name = get.get("secretary_name");
    let mobile_in = get.get("secretary_mobile");
    let email_in = get.get("secretary_email");
    if name.is_empty() {
        if !mobile_in.is_empty() || !email_in.is_empty() {
            err(
                "secretary_name",
                "a secretary's contact is given without a name".into(),
            );
            *ok = false;
        }
        return None;
    }
    let mobile = match mobile_in {
        "" => None,
        v => match normalise_mobile(v) {
            Some(m) => Some(m),
            None => {
                err(
                    "secretary_mobile",
                    format!("{v:?} is not a mainland mobile number (11 digits starting 13–19)"),
                );
                *ok = false;
                None
            }
        },
    };
    let email = match email_in {
        "" => None,
        v if is_valid_email(v) => Some(v.to_string()),
        v => {
            err("secretary_email", format!("{v:?} is not an email address"));
            *ok = false;
            None
        }
    };
    if mobile_in.is_empty() && email_in.is_empty() {
        err(
            "secretary_mobile",
            "a secretary needs a mobile number or an email address to be reminded".into(),
        );
        *ok = false;
    }
    let mut channels = Vec::new();
    match get.get("secretary_channels") {
        "" => {
            if mobile.is_some() {
                channels.push(Channel::Sms);
            }
            if email.is_some() {
                channels.push(Channel::Email);
            }
        }
        v => {
            for part in v
                .split([',', '，', '、', ';', '/', ' '])
                .filter(|p| !p.is_empty())
            {
                match Channel::parse(part) {
                    Some(c) if !channels.contains(&c) => channels.push(c),
                    Some(_) => {}
                    None => {
                        err(
                            "secretary_channels",
                            format!("{part:?} is not one of {}", Channel::expected()),
                        );
                        *ok = false;
                    }
                }
            }
            if channels.contains(&Channel::Sms) && mobile_in.is_empty() {
                err(
                    "secretary_channels",
                    "短信 (sms) is chosen but there is no mobile number".into(),
                );
                *ok = false;
            }
            if channels.contains(&Channel::Email) && email_in.is_empty() {
                err(
                    "secretary_channels",
                    "邮件 (email) is chosen but there is no email address".into(),
                );
                *ok = false;
            }
        }
    }
    Some(Person {
        name: name.to_string(),
        post: non_empty(get.get("secretary_post")),
        mobile,
        email,
        channels,
    })
}

/// Returns the key of the first field in which a later row contradicts the unit.
fn conflicting_field(first: &Unit, later: &Unit, get: &RowView<'_>) -> Option<&'static str> {
    let differs = |key: &str, a: String, b: String| !get.get(key).is_empty() && a != b;
    if differs("unit_name", first.name.clone(), later.name.clone()) {
        return Some("unit_name");
    }
    if differs(
        "unit_level",
        first.level.to_string(),
        later.level.to_string(),
    ) {
        return Some("unit_level");
    }
    if differs(
        "formation",
        first.formation.to_string(),
        later.formation.to_string(),
    ) {
        return Some("formation");
    }
    if differs(
        "superior_unit_code",
        format!("{:?}", first.superior_code),
        format!("{:?}", later.superior_code),
    ) {
        return Some("superior_unit_code");
    }
    if differs(
        "term_start",
        format!("{:?}", first.term_start),
        format!("{:?}", later.term_start),
    ) {
        return Some("term_start");
    }
    if differs(
        "term_end",
        format!("{:?}", first.term_end),
        format!("{:?}", later.term_end),
    ) {
        return Some("term_end");
    }
    if differs(
        "secretary_name",
        format!("{:?}", first.secretary.as_ref().map(|p| &p.name)),
        format!("{:?}", later.secretary.as_ref().map(|p| &p.name)),
    ) {
        return Some("secretary_name");
    }
    None
}

fn check_superiors(
    units: &BTreeMap<String, Unit>,
    known: &HashSet<String>,
    errors: &mut Vec<RowError>,
    header_of: &dyn Fn(&str) -> String,
) {
    for unit in units.values() {
        if let Some(sup) = &unit.superior_code
            && !units.contains_key(sup)
            && !known.contains(sup)
        {
            errors.push(RowError {
                row: unit.row,
                column: header_of("superior_unit_code"),
                reason: format!(
                    "superior unit {sup} does not exist in this file or in the register"
                ),
            });
        }
    }
    // A chain of superiors inside the file must not loop back on itself.
    for unit in units.values() {
        let mut seen = HashSet::new();
        let mut cur = unit.superior_code.as_deref();
        while let Some(code) = cur {
            if code == unit.code {
                errors.push(RowError {
                    row: unit.row,
                    column: header_of("superior_unit_code"),
                    reason: format!("the chain of superiors from {} loops back to it", unit.code),
                });
                break;
            }
            if !seen.insert(code) {
                break;
            }
            cur = units.get(code).and_then(|u| u.superior_code.as_deref());
        }
    }
}

/// Orders units so that every superior in the batch precedes its subordinates.
fn order_by_superior(mut units: BTreeMap<String, Unit>) -> Vec<Unit> {
    let mut out = Vec::with_capacity(units.len());
    let mut placed: HashSet<String> = HashSet::new();
    while !units.is_empty() {
        let ready: Vec<String> = units
            .values()
            .filter(|u| match &u.superior_code {
                Some(s) => placed.contains(s) || !units.contains_key(s),
                None => true,
            })
            .map(|u| u.code.clone())
            .collect();
        if ready.is_empty() {
            // Only reachable with a cycle, which validation has already refused.
            out.extend(std::mem::take(&mut units).into_values());
            break;
        }
        for code in ready {
            if let Some(u) = units.remove(&code) {
                placed.insert(code);
                out.push(u);
            }
        }
    }
    out
}

fn parse_count(s: &str) -> Result<u32, String> {
    if s.is_empty() {
        return Ok(0);
    }
    let t = s.strip_suffix(".0").unwrap_or(s);
    t.parse::<u32>()
        .map_err(|_| format!("{s:?} is not a whole number of people"))
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The header row of an empty register file.
pub fn template_headers() -> Vec<&'static str> {
    COLUMNS.iter().map(|c| c.header).collect()
}

#[cfg(test)]
mod tests;
