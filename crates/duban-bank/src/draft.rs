//! A profile a finance officer makes from a statement whose layout no profile knows (or that
//! they want read another way): the file's [`Layout`] (its header row, the rows above it and
//! a few below, which cell each field is in now), a [`Mapping`] of fields to header cells,
//! and [`check`], which reads the file with that mapping alone and runs the integrity check,
//! refusing a mapping that does not read it with the field, row and column at fault.

use crate::grid::{self, Row, Sniffed};
use crate::profile::{self, Columns, Field, Profile};
use crate::table::{self, HEADER_SEARCH};
use crate::value::{self, Cell, norm};
use crate::{BankError, Figures, FileKind, Statement};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// Rows shown below the header, as a sample of the lines.
const SAMPLE: usize = 3;
/// Rows shown above it (the label block), at most.
const ABOVE: usize = 12;
/// Words suggested to identify a layout, at most.
const DETECT: usize = 3;
/// The mapping key of the remarks column (附言 / 备注), beside the fields of [`Field`].
pub const REMARK: &str = "remark";

/// One row of the file as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LayoutRow {
    /// 1-based row of the file.
    pub row: usize,
    pub cells: Vec<String>,
}

/// What a person needs to map a file's columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Layout {
    pub kind: FileKind,
    /// The profile that reads the file as it stands; none when no profile knows its layout.
    pub profile: Option<String>,
    /// The header row (1-based): the one the profile found, else the likeliest candidate.
    pub header_row: usize,
    /// Its cells in column order, empty ones kept so that positions hold.
    pub header: Vec<String>,
    /// The rows above the header (the label block: account, period, totals).
    pub above: Vec<LayoutRow>,
    /// The first rows below it.
    pub sample: Vec<LayoutRow>,
    /// Field → header cell: how the profile reads the file, else what the general keywords
    /// recognise in the candidate row.
    pub columns: BTreeMap<String, String>,
    /// Header cells no shipped profile knows: words that identify this layout.
    pub detect: Vec<String>,
}

/// A profile as a person states it: which header cell holds each field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    /// The profile's name: 1 to 40 letters (Chinese too), digits, `-`, `_` or `.`; not the
    /// name of a shipped profile.
    pub name: String,
    /// The bank, as shown to people (某农村商业银行).
    pub bank: String,
    /// Words that must all appear in the header row or above it for the profile to be
    /// chosen; when empty, every header cell the columns name.
    pub detect: Vec<String>,
    /// Field → its header cell as the file writes it. Fields: `date`, `time`, `value_date`,
    /// `debit` and `credit` (two amount columns) or `amount` (one, signed or with `flag`),
    /// `balance`, `currency`, `account`, `account_name`, `counterparty_name`,
    /// `counterparty_account`, `counterparty_bank`, `payer_*` / `payee_*` (`name`,
    /// `account`, `bank`), `summary`, `purpose`, `serial`, `remark`.
    #[cfg_attr(feature = "openapi", schema(example = json!({"date": "记账日期", "debit": "付出金额", "credit": "存入金额", "balance": "结余"})))]
    pub columns: BTreeMap<String, String>,
    /// Values of the flag column meaning money leaving; when empty, the usual ones (借, D, 2 …).
    pub flag_out: Vec<String>,
    /// Values meaning money coming in; when empty, the usual ones (贷, C, 1 …).
    pub flag_in: Vec<String>,
}

/// Why a proposed profile is refused: the field of the mapping at fault (`name`, `detect`,
/// a column such as `balance`; none for the file as a whole), and where in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileRefusal {
    pub field: Option<String>,
    /// 1-based row of the file.
    pub row: Option<usize>,
    /// The column's header as the file writes it.
    pub column: Option<String>,
    pub zh: String,
    pub en: String,
}

impl ProfileRefusal {
    fn at(field: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        ProfileRefusal {
            field: Some(field.to_string()),
            row: None,
            column: None,
            zh: zh.into(),
            en: en.into(),
        }
    }

    fn of(field: Option<&str>, e: BankError) -> Self {
        ProfileRefusal {
            field: field.map(str::to_string),
            row: e.row,
            column: e.column,
            zh: e.zh,
            en: e.en,
        }
    }

    /// The place and reason as a file error.
    pub fn located(&self) -> BankError {
        BankError {
            row: self.row,
            column: self.column.clone(),
            zh: self.zh.clone(),
            en: self.en.clone(),
        }
    }

    /// The field as people read it: 余额 (balance), 格式名称 (name) …
    pub fn field_label(&self) -> Option<(&'static str, &'static str)> {
        self.field.as_deref().map(field_label)
    }
}

/// A field of a mapping in Chinese and English.
pub fn field_label(key: &str) -> (&'static str, &'static str) {
    match key {
        "name" => ("格式名称", "name"),
        "bank" => ("银行", "bank"),
        "detect" => ("识别词", "detect"),
        REMARK => ("附言/备注", "remark"),
        k => Field::parse(k)
            .map(|f| (f.zh(), f.en()))
            .unwrap_or(("字段", "field")),
    }
}

impl fmt::Display for ProfileRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field_label() {
            Some((zh, en)) => write!(f, "［{zh}｜{en}］{}", self.located()),
            None => write!(f, "{}", self.located()),
        }
    }
}

impl std::error::Error for ProfileRefusal {}

impl Mapping {
    /// The mapping a profile amounts to: each field's first keyword.
    pub fn of_profile(p: &Profile) -> Mapping {
        let mut columns = BTreeMap::new();
        for f in Field::ALL {
            if let Some(k) = p.columns.keywords(f).first() {
                columns.insert(f.key().to_string(), k.clone());
            }
        }
        if let Some(k) = p.columns.remark.first() {
            columns.insert(REMARK.to_string(), k.clone());
        }
        Mapping {
            name: p.name.clone(),
            bank: p.bank.clone(),
            detect: p.detect.clone(),
            columns,
            flag_out: p.flag_out.clone(),
            flag_in: p.flag_in.clone(),
        }
    }

    /// The columns that name a cell (empty values are fields left unmapped), trimmed.
    fn mapped(&self) -> Vec<(&str, String)> {
        self.columns
            .iter()
            .map(|(k, v)| (k.as_str(), v.trim().to_string()))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }

    /// The profile: exactly the mapped cells as its columns' keywords, the general profile's
    /// labels, flags and footer words.
    pub fn profile(&self) -> Profile {
        let general = Profile::generic();
        let mut columns = Columns::default();
        let mapped = self.mapped();
        for (k, cell) in &mapped {
            if *k == REMARK {
                columns.remark = vec![cell.clone()];
            } else if let Some(f) = Field::parse(k) {
                columns.set(f, vec![cell.clone()]);
            }
        }
        let words = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|w| w.trim().to_string())
                .filter(|w| !w.is_empty())
                .collect()
        };
        let mut detect = words(&self.detect);
        if detect.is_empty() {
            for (_, cell) in &mapped {
                if !detect.contains(cell) {
                    detect.push(cell.clone());
                }
            }
        }
        let or_usual = |v: &[String], usual: Vec<String>| {
            let v = words(v);
            if v.is_empty() { usual } else { v }
        };
        Profile {
            name: self.name.trim().to_string(),
            bank: self.bank.trim().to_string(),
            detect,
            columns,
            labels: general.labels.clone(),
            flag_out: or_usual(&self.flag_out, general.flag_out.clone()),
            flag_in: or_usual(&self.flag_in, general.flag_in.clone()),
            footer: general.footer,
        }
    }
}

fn grid_of(bytes: &[u8]) -> Result<(FileKind, Vec<Row>), BankError> {
    match grid::sniff(bytes)? {
        Sniffed::Grid(kind, rows) => Ok((kind, rows)),
        Sniffed::Mt940(_) | Sniffed::Camt(_) => Err(BankError::file(
            "MT940 和 camt.053 文件按其标准读取，不需要表头映射",
            "MT940 and camt.053 files are read by their standard and take no column mapping",
        )),
    }
}

fn texts(cells: &[Cell]) -> Vec<String> {
    cells.iter().map(Cell::text).collect()
}

/// A cell that looks like a header: text that is neither an amount nor a date.
fn header_like(c: &Cell) -> bool {
    match c {
        Cell::Text(t) => {
            let t = t.trim();
            !t.is_empty()
                && !matches!(value::amount_text(t), Ok(Some(_)))
                && value::when_text(t).is_none()
        }
        _ => false,
    }
}

/// The likeliest header row of a table no profile knows: the first of the rows with the
/// most header-like cells (at least two).
fn candidate(rows: &[Row]) -> Option<usize> {
    let limit = rows.len().min(HEADER_SEARCH);
    let mut best: Option<(usize, usize)> = None;
    for (i, (_, cells)) in rows[..limit].iter().enumerate() {
        let n = cells.iter().filter(|c| header_like(c)).count();
        if n >= 2 && best.is_none_or(|(_, m)| n > m) {
            best = Some((i, n));
        }
    }
    best.map(|(i, _)| i)
}

/// The layout of a file: the header row the first of `profiles` that reads the file found,
/// else the likeliest candidate, with the fields the general keywords recognise in it.
pub fn layout(bytes: &[u8], profiles: &[Profile]) -> Result<Layout, BankError> {
    let (kind, rows) = grid_of(bytes)?;
    let (profile, h, map) = match table::find_header(&rows, profiles) {
        Some((p, h, map)) => (Some(p.name.clone()), h, map),
        None => {
            let h = candidate(&rows).ok_or_else(|| {
                BankError::file(
                    "文件中没有像表头的一行（至少两格文字）",
                    "no row of the file looks like a header (two text cells or more)",
                )
            })?;
            (None, h, table::map_header(&rows[h].1, &Profile::generic()))
        }
    };
    let header = texts(&rows[h].1);
    let mut columns = BTreeMap::new();
    for (f, &j) in &map.cols {
        columns.insert(f.key().to_string(), header[j].clone());
    }
    if let Some(&j) = map.remark.first() {
        columns.insert(REMARK.to_string(), header[j].clone());
    }
    let known: HashSet<String> = profile::builtin()
        .iter()
        .flat_map(|p| {
            let mut words: Vec<String> = Field::ALL
                .into_iter()
                .flat_map(|f| p.columns.keywords(f).iter().map(|k| norm(k)))
                .collect();
            words.extend(p.columns.remark.iter().map(|k| norm(k)));
            words
        })
        .collect();
    let detect = header
        .iter()
        .filter(|c| !c.is_empty() && !known.contains(&norm(c)))
        .take(DETECT)
        .cloned()
        .collect();
    let row_of = |(row, cells): &Row| LayoutRow {
        row: *row,
        cells: texts(cells),
    };
    Ok(Layout {
        kind,
        profile,
        header_row: rows[h].0,
        header,
        above: rows[h.saturating_sub(ABOVE)..h]
            .iter()
            .map(row_of)
            .collect(),
        sample: rows[h + 1..]
            .iter()
            .filter(|(_, c)| !c.iter().all(Cell::is_empty))
            .take(SAMPLE)
            .map(row_of)
            .collect(),
        columns,
        detect,
    })
}

fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=40).contains(&n)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Checks what a mapping says before the file is read: the name, the fields and the
/// columns every statement needs.
fn check_mapping(m: &Mapping) -> Result<Vec<(&str, String)>, ProfileRefusal> {
    let name = m.name.trim();
    if !valid_name(name) {
        return Err(ProfileRefusal::at(
            "name",
            "格式名称为1至40个字母、汉字、数字或 - _ .",
            "a name is 1 to 40 letters, digits, - _ or .",
        ));
    }
    if profile::builtin().iter().any(|p| p.name == name) {
        return Err(ProfileRefusal::at(
            "name",
            format!("“{name}”是随附格式的名称，请另起一个名称"),
            format!("{name:?} is the name of a shipped profile; choose another"),
        ));
    }
    if m.bank.trim().chars().count() > 100 {
        return Err(ProfileRefusal::at(
            "bank",
            "银行名称至多100个字符",
            "the bank is at most 100 characters",
        ));
    }
    let mapped = m.mapped();
    let mut seen: Vec<(String, &str)> = Vec::new();
    for (k, cell) in &mapped {
        if *k != REMARK && Field::parse(k).is_none() {
            return Err(ProfileRefusal::at(
                k,
                format!("没有“{k}”这个字段"),
                format!("there is no field {k:?}"),
            ));
        }
        if let Some((_, other)) = seen.iter().find(|(c, _)| *c == norm(cell)) {
            let (zh, en) = field_label(other);
            return Err(ProfileRefusal::at(
                k,
                format!("“{cell}”已对应“{zh}”，一列只能对应一个字段"),
                format!("{cell:?} is already the {en}; a column maps to one field"),
            ));
        }
        seen.push((norm(cell), k));
    }
    let has = |f: Field| mapped.iter().any(|(k, _)| *k == f.key());
    let missing = |f: Field, zh: &str, en: &str| {
        ProfileRefusal::at(
            f.key(),
            format!("缺少必需的列“{}”：{zh}", f.zh()),
            format!("the {} column is required: {en}", f.en()),
        )
    };
    if !has(Field::Date) && !has(Field::Time) {
        return Err(missing(
            Field::Date,
            "每笔交易都要有日期",
            "every line needs its date",
        ));
    }
    let (debit, credit, amount) = (has(Field::Debit), has(Field::Credit), has(Field::Amount));
    if debit && !credit {
        return Err(missing(
            Field::Credit,
            "指定了支出列，也要指定收入列",
            "a money-out column needs its money-in column",
        ));
    }
    if credit && !debit {
        return Err(missing(
            Field::Debit,
            "指定了收入列，也要指定支出列",
            "a money-in column needs its money-out column",
        ));
    }
    if debit && amount {
        return Err(ProfileRefusal::at(
            Field::Amount.key(),
            "已有支出和收入两列，不能再指定单列交易金额",
            "with money-out and money-in columns there is no single amount column",
        ));
    }
    if !debit && !amount {
        return Err(missing(
            Field::Debit,
            "支出和收入两列，或一列交易金额（可带借贷标志列）",
            "money-out and money-in columns, or one amount column (with a flag column if unsigned)",
        ));
    }
    if has(Field::Flag) && !amount {
        return Err(ProfileRefusal::at(
            Field::Flag.key(),
            "借贷标志只与单列交易金额一起使用",
            "a debit/credit flag goes with a single amount column",
        ));
    }
    Ok(mapped)
}

/// Checks a proposed profile against a file: the mapping itself, every mapped cell present
/// in one header row, the detect words in that row or above it, then the file read with
/// this profile alone and its integrity check (balance chain, declared totals and counts).
/// Nothing is kept; the profile, the statement and its figures when it reads the file.
pub fn check(
    m: &Mapping,
    file_name: &str,
    bytes: &[u8],
) -> Result<(Profile, Statement, Figures), ProfileRefusal> {
    let mapped = check_mapping(m)?;
    let (_, rows) = grid_of(bytes).map_err(|e| ProfileRefusal::of(None, e))?;
    let limit = rows.len().min(HEADER_SEARCH);
    let normed: Vec<Vec<String>> = rows[..limit]
        .iter()
        .map(|(_, cells)| cells.iter().map(|c| norm(&c.text())).collect())
        .collect();
    let found = |i: usize| {
        mapped
            .iter()
            .filter(|(_, cell)| normed[i].contains(&norm(cell)))
            .count()
    };
    let best = (0..limit).max_by_key(|&i| (found(i), std::cmp::Reverse(i)));
    let h = match best {
        Some(h) if found(h) > 0 => h,
        _ => {
            let (k, cell) = &mapped[0];
            return Err(ProfileRefusal::at(
                k,
                format!("文件前{HEADER_SEARCH}行中没有“{cell}”这一格，也没有其他所指定的表头"),
                format!(
                    "none of the first {HEADER_SEARCH} rows has a cell {cell:?} or any other header named"
                ),
            ));
        }
    };
    let row = rows[h].0;
    for (k, cell) in &mapped {
        if !normed[h].contains(&norm(cell)) {
            let (zh, en) = field_label(k);
            return Err(ProfileRefusal {
                field: Some(k.to_string()),
                row: Some(row),
                column: None,
                zh: format!("表头行中没有“{cell}”这一格，无法作为“{zh}”列"),
                en: format!("the header row has no cell {cell:?} to be the {en} column"),
            });
        }
    }
    for w in m.detect.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
        let n = norm(w);
        if !normed[..=h]
            .iter()
            .any(|r| r.iter().any(|c| c.contains(&n)))
        {
            return Err(ProfileRefusal {
                field: Some("detect".into()),
                row: Some(row),
                column: None,
                zh: format!("识别词“{w}”不在表头行及其上方，无法用来识别这种格式"),
                en: format!("the word {w:?} is neither in the header row nor above it"),
            });
        }
    }
    let profile = m.profile();
    let field_of = |e: &BankError| {
        e.column.as_deref().and_then(|c| {
            mapped
                .iter()
                .find(|(_, cell)| norm(cell) == norm(c))
                .map(|(k, _)| *k)
        })
    };
    let st = crate::read_with(file_name, bytes, std::slice::from_ref(&profile))
        .map_err(|e| ProfileRefusal::of(field_of(&e), e))?;
    let figures = st.check().map_err(|e| {
        let field = field_of(&e);
        let mut r = ProfileRefusal::of(field, e);
        r.zh = format!("按此映射读取后核对未通过：{}", r.zh);
        r.en = format!("read with this mapping, the file fails its check: {}", r.en);
        r
    })?;
    Ok((profile, st, figures))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A layout no shipped profile knows: 付出金额 and 结余 are no bank's words.
    const FILE: &str = "账号:,6222000011112222\n\
        账号,记账日期,付出金额,存入金额,结余,对方户名,可用额度\n\
        6222000011112222,20260301,,1000.00,1000.00,甲公司,1000.00\n\
        6222000011112222,20260302,100.00,,900.00,乙公司,950.00\n\
        6222000011112222,20260303,50.00,,850.00,丙公司,900.00\n";

    fn mapping(pairs: &[(&str, &str)]) -> Mapping {
        Mapping {
            name: "xinhe".into(),
            bank: "某农商行".into(),
            columns: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Mapping::default()
        }
    }

    fn good() -> Mapping {
        mapping(&[
            ("date", "记账日期"),
            ("debit", "付出金额"),
            ("credit", "存入金额"),
            ("balance", "结余"),
            ("counterparty_name", "对方户名"),
            ("account", "账号"),
        ])
    }

    fn refusal(m: &Mapping) -> ProfileRefusal {
        check(m, "x.csv", FILE.as_bytes()).expect_err("refused")
    }

    #[test]
    fn no_shipped_profile_reads_the_file_and_its_layout_names_the_header_cells() {
        let e = crate::read("x.csv", FILE.as_bytes()).expect_err("unknown layout");
        assert!(e.zh.contains("找不到明细表头"), "{e}");
        let l = layout(FILE.as_bytes(), &profile::builtin()).unwrap();
        assert_eq!(l.profile, None);
        assert_eq!(l.header_row, 2);
        assert_eq!(l.header[2], "付出金额");
        assert_eq!(l.above.len(), 1);
        assert_eq!(l.sample.len(), 3);
        assert_eq!(l.columns.get("date").map(String::as_str), Some("记账日期"));
        assert_eq!(
            l.columns.get("credit").map(String::as_str),
            Some("存入金额")
        );
        assert!(!l.columns.contains_key("debit"));
        assert_eq!(l.detect, ["付出金额", "结余", "可用额度"]);
    }

    #[test]
    fn a_good_mapping_reads_and_checks_the_file() {
        let (p, st, f) = check(&good(), "x.csv", FILE.as_bytes()).unwrap();
        assert_eq!(st.profile, "xinhe");
        assert_eq!(st.bank, "某农商行");
        assert_eq!((f.lines, f.debit_count, f.credit_count), (3, 2, 1));
        assert_eq!(f.debit_total.to_string(), "150.00");
        assert_eq!(f.closing.map(|m| m.to_string()).as_deref(), Some("850.00"));
        assert_eq!(st.lines[1].counterparty_name, "乙公司");
        // With no detect words, the mapped cells identify the layout.
        assert!(p.detect.contains(&"付出金额".to_string()) && p.detect.len() == 6);
        // Saved, the profile is chosen before the shipped ones for this file …
        let mut all = vec![p.clone()];
        all.extend(profile::builtin());
        let st = crate::read_with("x.csv", FILE.as_bytes(), &all).unwrap();
        assert_eq!(st.profile, "xinhe");
        // … and leaves a file of another layout to them.
        let other = "交易日期,支出,收入,余额\n20260301,100.00,,900.00\n";
        let st = crate::read_with("y.csv", other.as_bytes(), &all).unwrap();
        assert_eq!(st.profile, "generic");
        // The layout of the file now names the saved profile and its columns.
        let l = layout(FILE.as_bytes(), &all).unwrap();
        assert_eq!(l.profile.as_deref(), Some("xinhe"));
        assert_eq!(l.columns.get("debit").map(String::as_str), Some("付出金额"));
        assert_eq!(Mapping::of_profile(&p).columns, good().columns);
    }

    #[test]
    fn a_cell_the_header_lacks_is_refused_at_its_field_and_row() {
        let mut m = good();
        m.columns.insert("balance".into(), "余额".into());
        let r = refusal(&m);
        assert_eq!(r.field.as_deref(), Some("balance"));
        assert_eq!(r.row, Some(2));
        assert!(r.zh.contains("没有“余额”这一格"), "{r}");
        assert!(r.to_string().starts_with("［余额｜balance］"), "{r}");
    }

    #[test]
    fn a_required_column_missing_is_refused() {
        let mut m = good();
        m.columns.remove("credit");
        let r = refusal(&m);
        assert_eq!(r.field.as_deref(), Some("credit"));
        assert!(r.zh.contains("缺少必需的列“收入（贷方）金额”"), "{r}");
        let mut m = good();
        m.columns.remove("date");
        assert_eq!(refusal(&m).field.as_deref(), Some("date"));
        let m = mapping(&[("date", "记账日期"), ("balance", "结余")]);
        assert_eq!(refusal(&m).field.as_deref(), Some("debit"));
        let mut m = good();
        m.columns.insert("flag".into(), "可用额度".into());
        assert_eq!(refusal(&m).field.as_deref(), Some("flag"));
    }

    #[test]
    fn names_fields_and_columns_used_twice_are_refused() {
        let mut m = good();
        m.name = "ccb".into();
        let r = refusal(&m);
        assert_eq!(r.field.as_deref(), Some("name"));
        assert!(r.zh.contains("随附格式"), "{r}");
        m.name = "a b".into();
        assert_eq!(refusal(&m).field.as_deref(), Some("name"));
        let mut m = good();
        m.columns.insert("dat".into(), "记账日期".into());
        assert_eq!(refusal(&m).field.as_deref(), Some("dat"));
        let mut m = good();
        m.columns.insert("summary".into(), "结余".into());
        let r = refusal(&m);
        assert_eq!(r.field.as_deref(), Some("summary"));
        assert!(r.zh.contains("已对应“余额”"), "{r}");
        // An empty cell is a field left unmapped.
        let mut m = good();
        m.columns.insert("summary".into(), " ".into());
        assert!(check(&m, "x.csv", FILE.as_bytes()).is_ok());
    }

    #[test]
    fn a_detect_word_the_file_lacks_is_refused() {
        let mut m = good();
        m.detect = vec!["某农商行".into()];
        let r = refusal(&m);
        assert_eq!((r.field.as_deref(), r.row), (Some("detect"), Some(2)));
        m.detect = vec!["6222000011112222".into(), "结余".into()];
        assert!(check(&m, "x.csv", FILE.as_bytes()).is_ok());
    }

    #[test]
    fn a_mapping_that_breaks_the_balance_chain_names_the_row() {
        let mut m = good();
        m.columns.insert("balance".into(), "可用额度".into());
        let r = refusal(&m);
        assert_eq!(r.field.as_deref(), Some("balance"));
        assert_eq!((r.row, r.column.as_deref()), (Some(4), Some("可用额度")));
        assert!(r.zh.starts_with("按此映射读取后核对未通过"), "{r}");
        assert!(r.zh.contains("余额不连续"), "{r}");
    }

    #[test]
    fn a_mapping_whose_cells_are_no_amounts_names_the_cell() {
        let mut m = good();
        m.columns.insert("debit".into(), "对方户名".into());
        m.columns.remove("counterparty_name");
        let r = refusal(&m);
        assert_eq!(r.field.as_deref(), Some("debit"));
        assert_eq!((r.row, r.column.as_deref()), (Some(3), Some("对方户名")));
    }

    #[test]
    fn mt940_takes_no_mapping() {
        let r = check(
            &good(),
            "a.sta",
            b":20:X\n:25:1/2\n:28C:1\n:60F:C260301EUR1,00\n:62F:C260301EUR1,00\n-",
        )
        .expect_err("refused");
        assert_eq!(r.field, None);
        assert!(r.zh.contains("MT940"), "{r}");
    }
}
