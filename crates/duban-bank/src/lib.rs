//! Bank statements: the files a finance officer downloads from online banking turned into
//! located lines, and checked before anything could be written.
//!
//! Pure: a file's name and bytes in, a [`Statement`] out. [`read`] recognises the format by
//! content (BIFF8 `.xls`, `.xlsx`, CSV or pipe-delimited text in GBK or UTF-8, an HTML table
//! saved as `.xls`, SWIFT MT940, ISO 20022 camt.053), finds the table's header row by the
//! keywords of a bank [`Profile`], reads the label/value pairs above and below it (account,
//! period, declared totals and counts) and every line with the row it came from.
//! [`Statement::check`] is the integrity verdict: the running balance chains line by line
//! (in file order, or reversed for newest-first exports) and the file's own totals, counts
//! and opening/closing balances agree with the lines. Every problem is a [`BankError`]
//! naming the row and column, in Chinese first and English in brackets.
//!
//! Money is [`Money`] (whole fen) throughout: amounts are parsed from their decimal text, and
//! a numeric spreadsheet cell goes through its shortest decimal representation, refused when
//! it has more than two decimals.

mod camt;
pub mod draft;
mod grid;
pub mod matching;
mod mt940;
mod pair;
pub mod profile;
mod table;
mod value;

use chrono::{NaiveDate, NaiveDateTime};
use duban_core::money::Money;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

pub use draft::{Layout, Mapping, ProfileRefusal};
pub use pair::{Transfer, pair_transfers};
pub use profile::Profile;

/// The kind of file a statement came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A BIFF8 workbook (Excel 97–2003).
    Xls,
    Xlsx,
    /// Comma-, tab- or pipe-delimited text, GBK or UTF-8.
    Text,
    /// An HTML table, usually saved with a `.xls` name.
    Html,
    Mt940,
    Camt053,
}

impl FileKind {
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Xls => "Excel 97-2003 (.xls)",
            FileKind::Xlsx => "Excel (.xlsx)",
            FileKind::Text => "文本 (CSV)",
            FileKind::Html => "HTML 表格",
            FileKind::Mt940 => "SWIFT MT940",
            FileKind::Camt053 => "ISO 20022 camt.053",
        }
    }
}

/// What the file itself declares about its lines, when it does: used as checksums.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Declared {
    /// Number of lines (总笔数).
    pub count: Option<usize>,
    /// Lines with money leaving (借方笔数).
    pub debit_count: Option<usize>,
    /// Money leaving, positive (借方发生额).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "5685495.76"))]
    pub debit_total: Option<Money>,
    pub credit_count: Option<usize>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "6000000.00"))]
    pub credit_total: Option<Money>,
    /// Balance before the first line (期初余额, MT940 `:60F:`, camt OPBD).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub opening: Option<Money>,
    /// Balance after the last line (期末余额, MT940 `:62F:`, camt CLBD).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub closing: Option<Money>,
    /// Where the declaration stands in the file (1-based row), for errors.
    #[serde(skip)]
    pub rows: DeclaredRows,
}

/// Row (and label) of each declared figure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclaredRows {
    pub count: Option<(usize, String)>,
    pub debit_count: Option<(usize, String)>,
    pub debit_total: Option<(usize, String)>,
    pub credit_count: Option<(usize, String)>,
    pub credit_total: Option<(usize, String)>,
    pub opening: Option<(usize, String)>,
    pub closing: Option<(usize, String)>,
}

/// One booking on the statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Line {
    /// 1-based row of the sheet (or line of the text file) it came from.
    pub row: usize,
    /// Booking date (记账日期 / 交易日期; MT940 entry date; camt BookgDt).
    pub date: Option<NaiveDate>,
    /// Booking date and time, when the file gives the time: as the file writes it (Beijing
    /// time for the Chinese banks; camt.053's `DtTm` in UTC), without an offset.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "2026-02-03T09:49:50"))]
    pub time: Option<NaiveDateTime>,
    /// Value date (起息日), when given apart from the booking date.
    pub value_date: Option<NaiveDate>,
    /// Money coming in positive, leaving negative.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "-500000.00"))]
    pub amount: Money,
    /// The running balance after this line, when given.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "617208.41"))]
    pub balance: Option<Money>,
    pub counterparty_name: String,
    pub counterparty_account: String,
    pub counterparty_bank: String,
    /// 摘要: the bank's own description.
    pub summary: String,
    /// 用途: what the payer wrote.
    pub purpose: String,
    /// 附言 / 备注 and other remarks, joined.
    pub remark: String,
    /// The bank's serial number for the line (交易流水号 …), when the file has one.
    pub serial: Option<String>,
    /// Stable identity: `serial:<serial>` when the file's serials are unique per line,
    /// else `sha256:<hex>` over the normalised fields and the occurrence among identical lines.
    pub id: String,
}

/// A statement file read into lines, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Statement {
    pub file_name: String,
    pub kind: FileKind,
    /// Name of the profile whose keywords found the table (`ccb`, `generic` …).
    pub profile: String,
    /// The bank the profile is for (中国建设银行 …), or the file's bank identifier.
    pub bank: String,
    pub account: Option<String>,
    pub account_name: Option<String>,
    pub currency: Option<String>,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    pub declared: Declared,
    /// Statements inside the file (MT940 and camt.053 may hold several), 1 otherwise.
    pub sections: usize,
    /// The lines, in file order.
    pub lines: Vec<Line>,
    /// What the reader decided that a reader of the file should know (a direction taken from
    /// the balance chain, a summary block the bank filled wrongly …).
    pub notes: Vec<String>,
    /// Section boundaries with their own opening and closing (MT940, camt.053).
    #[serde(skip)]
    pub(crate) parts: Vec<Part>,
    /// The running balance's header, for errors.
    #[serde(skip)]
    pub(crate) balance_column: String,
}

/// A statement inside a multi-statement file: lines `start..end`, its declared balances
/// and the rows they stand on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub start: usize,
    pub end: usize,
    pub opening: Money,
    pub opening_row: usize,
    pub closing: Money,
    pub closing_row: usize,
    /// How the file names the opening and closing balances (`:60F:`, `OPBD` …).
    pub tags: (&'static str, &'static str),
    /// The account it is for: a statement's opening follows the previous closing of the same account.
    pub account: String,
}

/// In which order the running balance chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Chain {
    /// Oldest first: each balance follows the line above it.
    FileOrder,
    /// Newest first (ICBC): each balance follows the line below it.
    ReverseFileOrder,
    /// The file has no running balance; its declared opening and closing agree with the lines.
    DeclaredBalances,
    /// Neither running nor declared balances: nothing to chain.
    None,
}

/// The figures of a statement that passed every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    pub lines: usize,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub opening: Option<Money>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub closing: Option<Money>,
    /// Money leaving, as a positive sum.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub debit_total: Money,
    pub debit_count: usize,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub credit_total: Money,
    pub credit_count: usize,
    pub chain: Chain,
    pub first_date: Option<NaiveDate>,
    pub last_date: Option<NaiveDate>,
}

/// Why a file cannot be read or is refused: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BankError {
    /// 1-based row (or line) of the file, when the problem has one.
    pub row: Option<usize>,
    /// The column's header as the file writes it.
    pub column: Option<String>,
    /// The reason, in Chinese.
    pub zh: String,
    /// The same reason in English.
    pub en: String,
}

impl BankError {
    pub(crate) fn file(zh: impl Into<String>, en: impl Into<String>) -> Self {
        BankError {
            row: None,
            column: None,
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub(crate) fn at(row: usize, zh: impl Into<String>, en: impl Into<String>) -> Self {
        BankError {
            row: Some(row),
            ..Self::file(zh, en)
        }
    }

    pub(crate) fn cell(
        row: usize,
        column: &str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        BankError {
            row: Some(row),
            column: Some(column.trim().to_string()),
            zh: zh.into(),
            en: en.into(),
        }
    }
}

impl fmt::Display for BankError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.row, &self.column) {
            (Some(r), Some(c)) => write!(
                f,
                "第{r}行“{c}”列：{}  (row {r}, column {c}: {})",
                self.zh, self.en
            ),
            (Some(r), None) => write!(f, "第{r}行：{}  (row {r}: {})", self.zh, self.en),
            _ => write!(f, "{}  ({})", self.zh, self.en),
        }
    }
}

impl std::error::Error for BankError {}

/// Reads a statement with the shipped profiles. Nothing is checked beyond what reading needs;
/// see [`Statement::check`].
pub fn read(file_name: &str, bytes: &[u8]) -> Result<Statement, BankError> {
    read_with(file_name, bytes, &profile::builtin())
}

/// Reads a statement with the given profiles, tried in order (a finance officer's own first).
pub fn read_with(
    file_name: &str,
    bytes: &[u8],
    profiles: &[Profile],
) -> Result<Statement, BankError> {
    let mut st = match grid::sniff(bytes)? {
        grid::Sniffed::Mt940(text) => mt940::read(file_name, &text)?,
        grid::Sniffed::Camt(text) => camt::read(file_name, &text)?,
        grid::Sniffed::Grid(kind, rows) => table::read(file_name, kind, &rows, profiles)?,
    };
    assign_ids(&mut st);
    Ok(st)
}

/// Reads and checks: the statement and its figures when it would import, else the located
/// reason it is refused.
pub fn import(file_name: &str, bytes: &[u8]) -> Result<(Statement, Figures), BankError> {
    let st = read(file_name, bytes)?;
    let figures = st.check()?;
    Ok((st, figures))
}

impl Statement {
    /// A statement with nothing read yet.
    pub(crate) fn new(file_name: &str, kind: FileKind, profile: &str, bank: &str) -> Statement {
        Statement {
            file_name: file_name.to_string(),
            kind,
            profile: profile.to_string(),
            bank: bank.to_string(),
            account: None,
            account_name: None,
            currency: None,
            period_from: None,
            period_to: None,
            declared: Declared::default(),
            sections: 1,
            lines: vec![],
            notes: vec![],
            parts: vec![],
            balance_column: String::new(),
        }
    }

    /// Sums of the lines: (debit total, debit count, credit total, credit count).
    pub fn sums(&self) -> Result<(Money, usize, Money, usize), BankError> {
        let overflow = || BankError::file("金额合计超出范围", "the sum of the amounts overflows");
        let (mut out, mut n_out, mut inc, mut n_in) = (Money::ZERO, 0, Money::ZERO, 0);
        for l in &self.lines {
            if l.amount.is_negative() {
                out = out.checked_sub(l.amount).ok_or_else(overflow)?;
                n_out += 1;
            } else if !l.amount.is_zero() {
                inc = inc.checked_add(l.amount).ok_or_else(overflow)?;
                n_in += 1;
            }
        }
        Ok((out, n_out, inc, n_in))
    }

    /// The integrity verdict: the balance chain and the file's own totals, counts and
    /// balances. The first violation refuses the whole file, naming its row and column.
    pub fn check(&self) -> Result<Figures, BankError> {
        if self.lines.is_empty() {
            return Err(BankError::file(
                "文件里没有交易明细",
                "the file has no transaction lines",
            ));
        }
        let (chain, opening, closing) = table::chain(self)?;
        let (debit_total, debit_count, credit_total, credit_count) = self.sums()?;
        let d = &self.declared;
        let r = &d.rows;
        let located = |at: &Option<(usize, String)>, zh: String, en: String| match at {
            Some((row, label)) => BankError::cell(*row, label, zh, en),
            None => BankError::file(zh, en),
        };
        let count_check = |declared: Option<usize>,
                           actual: usize,
                           at: &Option<(usize, String)>,
                           what: (&str, &str)|
         -> Result<(), BankError> {
            match declared {
                Some(n) if n != actual => Err(located(
                    at,
                    format!("文件声明{}{n}笔，明细中有{actual}笔", what.0),
                    format!("the file declares {n} {}, the lines hold {actual}", what.1),
                )),
                _ => Ok(()),
            }
        };
        count_check(d.count, self.lines.len(), &r.count, ("共", "lines"))?;
        count_check(
            d.debit_count,
            debit_count,
            &r.debit_count,
            ("借方（支出）", "debit lines"),
        )?;
        count_check(
            d.credit_count,
            credit_count,
            &r.credit_count,
            ("贷方（收入）", "credit lines"),
        )?;
        let money_check = |declared: Option<Money>,
                           actual: Money,
                           at: &Option<(usize, String)>,
                           what: (&str, &str)|
         -> Result<(), BankError> {
            match declared {
                Some(m) if m != actual => Err(located(
                    at,
                    format!("文件声明{}{m}，明细合计为{actual}", what.0),
                    format!(
                        "the file declares {} {m}, the lines add up to {actual}",
                        what.1
                    ),
                )),
                _ => Ok(()),
            }
        };
        money_check(
            d.debit_total,
            debit_total,
            &r.debit_total,
            ("借方（支出）发生额", "a debit total of"),
        )?;
        money_check(
            d.credit_total,
            credit_total,
            &r.credit_total,
            ("贷方（收入）发生额", "a credit total of"),
        )?;
        if let Some(o) = opening {
            money_check(
                d.opening,
                o,
                &r.opening,
                ("期初余额", "an opening balance of"),
            )?;
        }
        if let Some(c) = closing {
            money_check(
                d.closing,
                c,
                &r.closing,
                ("期末余额", "a closing balance of"),
            )?;
        }
        let dates = self.lines.iter().filter_map(|l| l.date);
        Ok(Figures {
            lines: self.lines.len(),
            opening,
            closing,
            debit_total,
            debit_count,
            credit_total,
            credit_count,
            chain,
            first_date: dates.clone().min(),
            last_date: dates.max(),
        })
    }
}

/// Gives every line its identity: the bank serial when the file's serials are present and
/// unique, else a hash of the normalised fields and the occurrence among identical lines.
fn assign_ids(st: &mut Statement) {
    let mut seen = std::collections::HashSet::new();
    let serial_unique = st.lines.iter().all(|l| match &l.serial {
        Some(s) if !s.trim().is_empty() && !s.trim_matches('0').is_empty() => {
            seen.insert(s.trim().to_string())
        }
        _ => false,
    });
    let account = st.account.clone().unwrap_or_default();
    let mut occurrences: HashMap<[u8; 32], usize> = HashMap::new();
    for l in &mut st.lines {
        if serial_unique {
            l.id = format!("serial:{}", l.serial.as_deref().unwrap_or("").trim());
            continue;
        }
        let fields = [
            account.as_str(),
            &l.date.map(|d| d.to_string()).unwrap_or_default(),
            &l.time.map(|t| t.to_string()).unwrap_or_default(),
            &l.amount.to_string(),
            &l.balance.map(|b| b.to_string()).unwrap_or_default(),
            &value::digits_only(&l.counterparty_account),
            l.serial.as_deref().unwrap_or("").trim(),
        ];
        let mut h = Sha256::new();
        for f in fields {
            h.update((f.len() as u64).to_be_bytes());
            h.update(f.as_bytes());
        }
        let base: [u8; 32] = h.finalize().into();
        let n = occurrences.entry(base).or_insert(0);
        *n += 1;
        let mut h = Sha256::new();
        h.update(base);
        h.update((*n as u64).to_be_bytes());
        l.id = format!("sha256:{}", hex::encode(h.finalize()));
    }
}

#[cfg(test)]
mod tests;
