//! Bank and cash accounts and their statements: what a statement file holds and whether it
//! would import (`preview`, nothing written), the accounts (`add_bank_account`,
//! `bank_accounts`), the import of a statement's lines into an account (`import_statement`:
//! all or nothing, idempotent by line identity) and the lines stored (`bank_lines`).

use crate::{Actor, App, AppError, Permission};
use chrono::NaiveDate;
use duban_core::money::Money;
use duban_core::table::RowError;
use duban_ledger::account::{Account, BankCode};
pub use duban_store::bank::{BankAccountRow, BankLineRow};
use duban_store::bank::{NewBankAccount, NewStatement};
use serde::{Deserialize, Serialize};

pub use duban_bank::{BankError, Chain, Declared, Figures, FileKind, Line, Statement};

/// A statement file as read, with its integrity verdict. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatementPreview {
    pub file_name: String,
    /// The lines and what the file declares; absent when the file cannot be read at all.
    pub statement: Option<Statement>,
    /// The checked figures when the file would import …
    pub figures: Option<Figures>,
    /// … else why it is refused, with its row and column.
    pub refusal: Option<BankError>,
    /// When no profile knows the file's layout: its candidate header row, the rows above and
    /// a few below, to map its columns from (`App::save_bank_profile`).
    pub layout: Option<duban_bank::Layout>,
}

impl StatementPreview {
    pub fn would_import(&self) -> bool {
        self.refusal.is_none()
    }

    /// The refusal as the located file error the adapters present (row 0: the whole file).
    pub fn refused(&self) -> Option<AppError> {
        let r = self.refusal.as_ref()?;
        Some(AppError::Rows(vec![RowError {
            row: r.row.unwrap_or(0),
            column: r.column.clone().unwrap_or_default(),
            reason: format!("{}: {r}", self.file_name),
        }]))
    }
}

/// The verdict on a file's bytes with the shipped profiles: read, then checked.
pub fn preview(file_name: &str, bytes: &[u8]) -> StatementPreview {
    preview_with(file_name, bytes, &duban_bank::profile::builtin())
}

/// The verdict on a file's bytes read with `profiles`, tried in order; a file no profile
/// reads comes with its layout.
pub fn preview_with(
    file_name: &str,
    bytes: &[u8],
    profiles: &[duban_bank::Profile],
) -> StatementPreview {
    let mut p = StatementPreview {
        file_name: file_name.to_string(),
        statement: None,
        figures: None,
        refusal: None,
        layout: None,
    };
    match duban_bank::read_with(file_name, bytes, profiles) {
        Ok(st) => {
            match st.check() {
                Ok(f) => p.figures = Some(f),
                Err(e) => p.refusal = Some(e),
            }
            p.statement = Some(st);
        }
        Err(e) => {
            p.refusal = Some(e);
            p.layout = duban_bank::draft::layout(bytes, profiles).ok();
        }
    }
    p
}

/// Which way money moved on a statement line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Money leaving the account (支出).
    Out,
    /// Money coming in (收入).
    In,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Out => "out",
            Direction::In => "in",
        }
    }

    /// `out` or `in`; anything else is refused naming the field.
    pub fn parse(s: &str) -> Result<Direction, AppError> {
        match s {
            "out" => Ok(Direction::Out),
            "in" => Ok(Direction::In),
            _ => Err(AppError::invalid_at(
                "direction",
                format!("收支方向“{s}”无效，应为 out 或 in (no direction {s:?}: out or in)"),
            )),
        }
    }
}

/// The orders the lines of an account can be listed in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BankLineOrder {
    #[default]
    Date,
    Amount,
}

impl BankLineOrder {
    pub const ALL: [BankLineOrder; 2] = [BankLineOrder::Date, BankLineOrder::Amount];

    pub fn as_str(self) -> &'static str {
        match self {
            BankLineOrder::Date => "date",
            BankLineOrder::Amount => "amount",
        }
    }

    /// The order a column's name asks for; an unknown name is refused, naming the known ones.
    pub fn parse(s: &str) -> Result<BankLineOrder, AppError> {
        crate::units::named_order(s, Self::ALL, Self::as_str)
    }
}

/// What a reader asks of an account's lines; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BankLineQuery {
    /// Booked on or after, on or before.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only lines a standing match holds (`true`) or only those none holds.
    pub matched: Option<bool>,
    pub direction: Option<Direction>,
    pub order: BankLineOrder,
    pub descending: bool,
    /// 1-based; clamped to the last page.
    pub page: u64,
}

/// A statement line with the match that holds it, if one does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankLineView {
    #[serde(flatten)]
    pub line: BankLineRow,
    /// The id of the standing match (its group) that holds the line.
    pub matched: Option<i64>,
}

/// One page of an account's lines, with the count and the sums of the whole selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankLinePage {
    pub account: BankAccountRow,
    pub rows: Vec<BankLineView>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    /// Money out and money in over the whole selection (both positive).
    pub out_total: Money,
    pub in_total: Money,
}

/// A bank or cash account to open.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BankAccountRequest {
    /// Short code, 1–24 lowercase letters, digits or `-` (`ccb-basic`, `cash`); the ledger
    /// account is `assets:bank:<code>`.
    pub code: String,
    /// 账户名称
    pub name: String,
    /// 账号 (for cash, anything that names the till)
    pub number: String,
    /// 开户行
    pub bank: String,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub account: String,
    pub file_name: String,
    /// The profile that read the file (a saved one's name, `ccb`, `generic` …).
    pub profile: String,
    pub dry_run: bool,
    /// The statement's id; none in a dry run.
    pub statement: Option<i64>,
    pub lines_in_file: usize,
    /// Lines new to the account (added, or that would be).
    pub lines_added: usize,
    /// Lines the account already held (an overlapping statement).
    pub lines_known: usize,
    pub figures: Figures,
    /// The new lines.
    pub added: Vec<BankLineRow>,
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// The identity a line is stored under: the reader's id (bank serial, else fingerprint with
/// ordinal), hashed again only if it would not fit the column.
fn line_key(id: &str) -> String {
    if id.len() <= 80 {
        id.to_string()
    } else {
        use sha2::Digest;
        format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(id.as_bytes()))
        )
    }
}

fn line_of(l: &Line) -> BankLineRow {
    BankLineRow {
        id: 0,
        line_key: line_key(&l.id),
        row: l.row as i32,
        date: l.date.or(l.time.map(|t| t.date())),
        time: l.time,
        value_date: l.value_date,
        amount: l.amount.fen(),
        balance: l.balance.map(|b| b.fen()),
        counterparty_name: l.counterparty_name.clone(),
        counterparty_account: l.counterparty_account.clone(),
        counterparty_bank: l.counterparty_bank.clone(),
        summary: l.summary.clone(),
        purpose: l.purpose.clone(),
        remark: l.remark.clone(),
        serial: l.serial.clone(),
        statement_id: 0,
    }
}

/// Ends a use case's transaction: committed when the work succeeded and is to be kept (not a
/// dry run), else rolled back.
pub(crate) async fn finish<T>(
    tx: duban_store::engine::WriteTx,
    result: Result<T, AppError>,
    keep: bool,
) -> Result<T, AppError> {
    match result {
        Ok(v) if keep => {
            tx.commit().await?;
            Ok(v)
        }
        other => {
            tx.rollback().await?;
            other
        }
    }
}

impl App {
    /// Opens a bank or cash account with its ledger account `assets:bank:<code>` (finance
    /// officers; audited).
    pub async fn add_bank_account(
        &self,
        actor: &Actor,
        req: BankAccountRequest,
    ) -> Result<BankAccountRow, AppError> {
        actor.require(Permission::WriteLedger)?;
        let code = req.code.trim();
        let code = BankCode::parse(code).map_err(|_| {
            AppError::invalid_at(
                "/code",
                format!(
                    "账户代码为1至24位小写字母、数字或 -，“{code}”不符合 ({code:?}: a code is 1–24 lowercase letters, digits or -)"
                ),
            )
        })?;
        for (field, v, max) in [
            ("name", &req.name, 200),
            ("number", &req.number, 64),
            ("bank", &req.bank, 200),
        ] {
            if v.trim().is_empty() || v.chars().count() > max {
                return Err(AppError::invalid_at(
                    &format!("/{field}"),
                    format!("{field}: 必填，至多{max}个字符 (required, at most {max} characters)"),
                ));
            }
        }
        let new = NewBankAccount {
            code: code.to_string(),
            name: req.name.trim().to_string(),
            number: req.number.trim().to_string(),
            bank: req.bank.trim().to_string(),
            ledger_account: Account::Bank(code).name(),
        };
        let now = self.now();
        self.from(actor, async {
            let tx = self.store().begin_write().await?;
            let row = match tx.insert_bank_account(&new, &actor.name, now).await {
                Ok(r) => r,
                Err(e) => {
                    tx.rollback().await?;
                    return Err(e.into());
                }
            };
            crate::accounts::audit(
                &tx,
                actor,
                now,
                "bank_account.create",
                ("bank_account", &row.code),
                None,
                Some(&row),
            )
            .await?;
            tx.commit().await?;
            Ok(row)
        })
        .await
    }

    /// The bank and cash accounts, by code.
    pub async fn bank_accounts(&self, actor: &Actor) -> Result<Vec<BankAccountRow>, AppError> {
        actor.require(Permission::ReadLedger)?;
        Ok(self.store().bank_accounts().await?)
    }

    pub(crate) async fn bank_account_named(&self, code: &str) -> Result<BankAccountRow, AppError> {
        self.store().bank_account(code).await?.ok_or_else(|| {
            AppError::NotFound(format!(
                "没有代码为“{code}”的银行账户 (no bank account {code:?})"
            ))
        })
    }

    /// Imports a statement into account `code`: read and checked whole first (a refusal names
    /// the row and column and writes nothing), then its lines new to the account are written
    /// in one transaction with the statement's record and an audit row. A line the account
    /// already holds (same bank serial, else same fingerprint and ordinal) is skipped, so an
    /// overlapping statement adds only its new lines. `dry_run` reports the same and writes
    /// nothing.
    pub async fn import_statement(
        &self,
        actor: &Actor,
        code: &str,
        file_name: &str,
        bytes: &[u8],
        dry_run: bool,
    ) -> Result<ImportReport, AppError> {
        actor.require(Permission::WriteLedger)?;
        let account = self.bank_account_named(code).await?;
        let p = preview_with(file_name, bytes, &self.reading_profiles().await?);
        if let Some(e) = p.refused() {
            return Err(e);
        }
        let (Some(st), Some(figures)) = (p.statement, p.figures) else {
            return Err(AppError::invalid("the statement could not be read"));
        };
        if let Some(number) = st.account.as_deref().filter(|n| !digits(n).is_empty())
            && digits(number) != digits(&account.number)
        {
            return Err(AppError::Rows(vec![RowError {
                row: 0,
                column: String::new(),
                reason: format!(
                    "{file_name}: 文件的账号 {number} 不是账户“{}”的账号 {} (the file is for account {number}, not {})",
                    account.code, account.number, account.number
                ),
            }]));
        }
        let lines: Vec<BankLineRow> = st.lines.iter().map(line_of).collect();
        let keys: Vec<String> = lines.iter().map(|l| l.line_key.clone()).collect();
        let sha256 = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(bytes))
        };
        let now = self.now();
        self.from(actor, async {
            let tx = self.store().begin_write().await?;
            let result = async {
                tx.lock_bank_account(code).await?;
                let known = tx.known_line_keys(account.id, &keys).await?;
                let added: Vec<BankLineRow> = lines
                    .iter()
                    .filter(|l| !known.contains(&l.line_key))
                    .cloned()
                    .collect();
                let mut report = ImportReport {
                    account: account.code.clone(),
                    file_name: file_name.to_string(),
                    profile: st.profile.clone(),
                    dry_run,
                    statement: None,
                    lines_in_file: lines.len(),
                    lines_added: added.len(),
                    lines_known: lines.len() - added.len(),
                    figures: figures.clone(),
                    added,
                };
                if dry_run {
                    return Ok::<_, AppError>(report);
                }
                let new = NewStatement {
                    file_name: file_name.to_string(),
                    sha256: sha256.clone(),
                    kind: format!("{:?}", st.kind).to_lowercase(),
                    profile: st.profile.clone(),
                    lines_in_file: lines.len(),
                    first_date: figures.first_date,
                    last_date: figures.last_date,
                    opening: figures.opening.map(|m| m.fen()),
                    closing: figures.closing.map(|m| m.fen()),
                };
                let id = tx
                    .insert_statement(account.id, &new, &report.added, &actor.name, now)
                    .await?;
                report.statement = Some(id);
                #[derive(Serialize)]
                struct Imported<'a> {
                    account: &'a str,
                    file_name: &'a str,
                    profile: &'a str,
                    sha256: &'a str,
                    lines_in_file: usize,
                    lines_added: usize,
                    figures: &'a Figures,
                }
                crate::accounts::audit(
                    &tx,
                    actor,
                    now,
                    "bank_statement.import",
                    ("bank_statement", &id.to_string()),
                    None,
                    Some(&Imported {
                        account: &account.code,
                        file_name,
                        profile: &st.profile,
                        sha256: &sha256,
                        lines_in_file: report.lines_in_file,
                        lines_added: report.lines_added,
                        figures: &report.figures,
                    }),
                )
                .await?;
                Ok(report)
            }
            .await;
            crate::bank::finish(tx, result, !dry_run).await
        })
        .await
    }

    /// The lines of account `code` booked between `from` and `to` (inclusive).
    pub async fn bank_lines(
        &self,
        actor: &Actor,
        code: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<BankLineRow>, AppError> {
        actor.require(Permission::ReadLedger)?;
        let account = self.bank_account_named(code).await?;
        Ok(self.store().bank_lines(account.id, from, to).await?)
    }

    /// The lines of account `code` a reader asks for (`q`: dates, matched or not, direction),
    /// sorted, a page at a time, with the count and sums of the whole selection.
    pub async fn bank_line_page(
        &self,
        actor: &Actor,
        code: &str,
        q: &BankLineQuery,
    ) -> Result<BankLinePage, AppError> {
        let (account, rows) = self.bank_line_selection(actor, code, q).await?;
        let (page, pages, offset) = crate::chains::locate(rows.len() as u64, q.page);
        let mut out_total = Money::ZERO;
        let mut in_total = Money::ZERO;
        for r in &rows {
            let m = r
                .line
                .amount
                .checked_abs()
                .map(Money::from_fen)
                .ok_or_else(|| AppError::Internal("bank line amount out of range".into()))?;
            let sum = if r.line.amount < 0 {
                &mut out_total
            } else {
                &mut in_total
            };
            *sum = sum
                .checked_add(m)
                .ok_or_else(|| AppError::Internal("bank line sum out of range".into()))?;
        }
        Ok(BankLinePage {
            account,
            total: rows.len() as u64,
            page,
            pages,
            out_total,
            in_total,
            rows: rows
                .into_iter()
                .skip(offset as usize)
                .take(crate::units::PAGE_SIZE as usize)
                .collect(),
        })
    }

    /// The whole selection of [`App::bank_line_page`], for an export.
    pub async fn bank_line_export(
        &self,
        actor: &Actor,
        code: &str,
        q: &BankLineQuery,
    ) -> Result<(BankAccountRow, Vec<BankLineView>), AppError> {
        self.bank_line_selection(actor, code, q).await
    }

    async fn bank_line_selection(
        &self,
        actor: &Actor,
        code: &str,
        q: &BankLineQuery,
    ) -> Result<(BankAccountRow, Vec<BankLineView>), AppError> {
        actor.require(Permission::ReadLedger)?;
        let account = self.bank_account_named(code).await?;
        let store = self.store();
        let lines = store.bank_lines(account.id, q.from, q.to).await?;
        let matches = store.bank_matches(account.id).await?;
        let matched: std::collections::HashMap<i64, i64> = duban_store::bank::standing(&matches)
            .into_iter()
            .map(|m| (m.line_id, m.group_id.unwrap_or(m.id)))
            .collect();
        let mut rows: Vec<BankLineView> = lines
            .into_iter()
            .map(|line| BankLineView {
                matched: matched.get(&line.id).copied(),
                line,
            })
            .filter(|v| q.matched.is_none_or(|m| m == v.matched.is_some()))
            .filter(|v| match q.direction {
                None => true,
                Some(Direction::Out) => v.line.amount < 0,
                Some(Direction::In) => v.line.amount >= 0,
            })
            .collect();
        let day = |v: &BankLineView| {
            (
                v.line.date.or(v.line.time.map(|t| t.date())),
                v.line.time,
                v.line.id,
            )
        };
        match q.order {
            BankLineOrder::Date => rows.sort_by_key(day),
            BankLineOrder::Amount => rows.sort_by_key(|v| (v.line.amount, day(v))),
        }
        if q.descending {
            rows.reverse();
        }
        Ok((account, rows))
    }

    /// Reads a bank statement and checks it as an import would: the balance chain and the
    /// file's own totals and counts. Anyone who may read the ledger may preview; nothing is
    /// written.
    pub async fn preview_statement(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<StatementPreview, AppError> {
        actor.require(Permission::ReadLedger)?;
        Ok(preview_with(
            file_name,
            bytes,
            &self.reading_profiles().await?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_readable_file_with_a_broken_chain_keeps_its_lines_and_names_the_row() {
        let text = "交易日期,支出,收入,余额\n20260301,100.00,,900.00\n20260302,100.00,,700.00\n";
        let p = preview("a.csv", text.as_bytes());
        assert!(!p.would_import());
        assert_eq!(p.statement.as_ref().map(|s| s.lines.len()), Some(2));
        let Some(AppError::Rows(rows)) = p.refused() else {
            panic!("refused as a located file error")
        };
        assert_eq!((rows[0].row, rows[0].column.as_str()), (3, "余额"));
        let ok = preview(
            "b.csv",
            "交易日期,支出,收入,余额\n20260301,100.00,,900.00\n".as_bytes(),
        );
        assert!(ok.would_import() && ok.refused().is_none());
        assert_eq!(ok.figures.map(|f| f.lines), Some(1));
    }
}
