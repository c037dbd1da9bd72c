//! Bank and cash accounts, their imported statement lines and the matches of those lines
//! with the ledger's postings. Only storage: reading and checking statements and matching
//! are pure (`duban_bank`), authorisation and audit rows belong to the application layer,
//! which calls these inside one [`WriteTx`].

use crate::engine::{WriteTx, utc};
use crate::entities::{
    bank_accounts, bank_lines, bank_matches, bank_statements, ledger_accounts, ledger_postings,
    ledger_transactions,
};
use crate::{Store, StoreError};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, NotSet, QueryFilter, QueryOrder, QuerySelect, Set,
    SqlErr,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// A bank or cash account as the layers above see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BankAccountRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub number: String,
    pub bank: String,
    /// `assets:bank:<code>`
    pub ledger_account: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

fn account_row(m: bank_accounts::Model) -> BankAccountRow {
    BankAccountRow {
        id: m.id,
        code: m.code,
        name: m.name,
        number: m.number,
        bank: m.bank,
        ledger_account: m.ledger_account,
        created_at: utc(m.created_at),
        created_by: m.created_by,
    }
}

/// A bank account to open.
#[derive(Debug, Clone)]
pub struct NewBankAccount {
    pub code: String,
    pub name: String,
    pub number: String,
    pub bank: String,
    pub ledger_account: String,
}

/// A statement file to record, with the lines it holds.
#[derive(Debug, Clone)]
pub struct NewStatement {
    pub file_name: String,
    pub sha256: String,
    pub kind: String,
    pub profile: String,
    pub lines_in_file: usize,
    pub first_date: Option<NaiveDate>,
    pub last_date: Option<NaiveDate>,
    pub opening: Option<i64>,
    pub closing: Option<i64>,
}

/// A statement line to store (amounts in fen, money in positive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BankLineRow {
    /// 0 until stored.
    pub id: i64,
    pub line_key: String,
    /// The row of the file it came from (1-based).
    pub row: i32,
    pub date: Option<NaiveDate>,
    pub time: Option<NaiveDateTime>,
    pub value_date: Option<NaiveDate>,
    pub amount: i64,
    pub balance: Option<i64>,
    pub counterparty_name: String,
    pub counterparty_account: String,
    pub counterparty_bank: String,
    pub summary: String,
    pub purpose: String,
    pub remark: String,
    pub serial: Option<String>,
    /// The statement it was imported with (0 until stored).
    pub statement_id: i64,
}

fn line_row(m: bank_lines::Model) -> BankLineRow {
    BankLineRow {
        id: m.id,
        line_key: m.line_key,
        row: m.row,
        date: m.date,
        time: m.time,
        value_date: m.value_date,
        amount: m.amount,
        balance: m.balance,
        counterparty_name: m.counterparty_name,
        counterparty_account: m.counterparty_account,
        counterparty_bank: m.counterparty_bank,
        summary: m.summary,
        purpose: m.purpose,
        remark: m.remark,
        serial: m.serial,
        statement_id: m.statement_id,
    }
}

/// A ledger posting on a bank account, with what its transaction says about the payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookEntryRow {
    pub posting_id: i64,
    pub transaction_id: i64,
    pub date: NaiveDate,
    /// Debit positive: money into the account positive, as on the statement.
    pub amount: i64,
    pub description: String,
    pub voucher: Option<String>,
    pub payee_name: Option<String>,
    pub payee_account: Option<String>,
    pub payee_bank: Option<String>,
}

/// A stored match (or the reversal of one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchRow {
    pub id: i64,
    pub line_id: i64,
    pub posting_id: i64,
    pub rule: String,
    /// The fields that agreed, comma-separated.
    pub agreed: String,
    /// Line amount minus posting amount, in fen.
    pub difference: i64,
    /// JSON: the runner-up candidates and why they lost.
    pub detail: String,
    /// `system` or `manual`.
    pub matched_by: String,
    pub reverses_id: Option<i64>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

fn match_row(m: bank_matches::Model) -> MatchRow {
    MatchRow {
        id: m.id,
        line_id: m.line_id,
        posting_id: m.posting_id,
        rule: m.rule,
        agreed: m.agreed,
        difference: m.difference,
        detail: m.detail,
        matched_by: m.matched_by,
        reverses_id: m.reverses_id,
        reason: m.reason,
        created_at: utc(m.created_at),
        created_by: m.created_by,
    }
}

/// A match to record.
#[derive(Debug, Clone)]
pub struct NewMatch {
    pub line_id: i64,
    pub posting_id: i64,
    pub rule: String,
    pub agreed: String,
    pub difference: i64,
    pub detail: String,
    pub matched_by: String,
}

impl Store {
    pub async fn bank_accounts(&self) -> Result<Vec<BankAccountRow>, StoreError> {
        Ok(bank_accounts::Entity::find()
            .order_by_asc(bank_accounts::Column::Code)
            .all(self.conn())
            .await?
            .into_iter()
            .map(account_row)
            .collect())
    }

    pub async fn bank_account(&self, code: &str) -> Result<Option<BankAccountRow>, StoreError> {
        Ok(bank_accounts::Entity::find()
            .filter(bank_accounts::Column::Code.eq(code))
            .one(self.conn())
            .await?
            .map(account_row))
    }

    /// The account's lines booked between `from` and `to` (inclusive, either open), in
    /// date and id order.
    pub async fn bank_lines(
        &self,
        account_id: i64,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<BankLineRow>, StoreError> {
        lines_of(self.conn(), account_id, from, to).await
    }

    /// Every posting on the ledger account `ledger_account`, with its transaction's payment
    /// details, in posting order.
    pub async fn bank_book_entries(
        &self,
        ledger_account: &str,
    ) -> Result<Vec<BookEntryRow>, StoreError> {
        book_of(self.conn(), ledger_account).await
    }

    /// Every match and reversal of the account, in id order.
    pub async fn bank_matches(&self, account_id: i64) -> Result<Vec<MatchRow>, StoreError> {
        matches_of(self.conn(), account_id).await
    }
}

async fn lines_of<C: sea_orm::ConnectionTrait>(
    c: &C,
    account_id: i64,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<BankLineRow>, StoreError> {
    let mut q = bank_lines::Entity::find().filter(bank_lines::Column::BankAccountId.eq(account_id));
    if let Some(f) = from {
        q = q.filter(bank_lines::Column::Date.gte(f));
    }
    if let Some(t) = to {
        q = q.filter(bank_lines::Column::Date.lte(t));
    }
    Ok(q.order_by_asc(bank_lines::Column::Date)
        .order_by_asc(bank_lines::Column::Id)
        .all(c)
        .await?
        .into_iter()
        .map(line_row)
        .collect())
}

async fn book_of<C: sea_orm::ConnectionTrait>(
    c: &C,
    ledger_account: &str,
) -> Result<Vec<BookEntryRow>, StoreError> {
    let postings = ledger_postings::Entity::find()
        .filter(ledger_postings::Column::Account.eq(ledger_account))
        .order_by_asc(ledger_postings::Column::Id)
        .all(c)
        .await?;
    let ids: Vec<i64> = postings.iter().map(|p| p.transaction_id).collect();
    let mut txns = HashMap::new();
    for chunk in ids.chunks(500) {
        for t in ledger_transactions::Entity::find()
            .filter(ledger_transactions::Column::Id.is_in(chunk.to_vec()))
            .all(c)
            .await?
        {
            txns.insert(t.id, t);
        }
    }
    postings
        .into_iter()
        .map(|p| {
            let t = txns.get(&p.transaction_id).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "posting {} names a missing transaction {}",
                    p.id, p.transaction_id
                ))
            })?;
            Ok(BookEntryRow {
                posting_id: p.id,
                transaction_id: p.transaction_id,
                date: t.date,
                amount: p.amount,
                description: t.description.clone(),
                voucher: t.voucher.clone(),
                payee_name: t.payee_name.clone(),
                payee_account: t.payee_account.clone(),
                payee_bank: t.payee_bank.clone(),
            })
        })
        .collect()
}

async fn matches_of<C: sea_orm::ConnectionTrait>(
    c: &C,
    account_id: i64,
) -> Result<Vec<MatchRow>, StoreError> {
    Ok(bank_matches::Entity::find()
        .filter(bank_matches::Column::BankAccountId.eq(account_id))
        .order_by_asc(bank_matches::Column::Id)
        .all(c)
        .await?
        .into_iter()
        .map(match_row)
        .collect())
}

/// The matches still standing: those no later row reverses.
pub fn standing(rows: &[MatchRow]) -> Vec<&MatchRow> {
    let reversed: HashSet<i64> = rows.iter().filter_map(|r| r.reverses_id).collect();
    rows.iter()
        .filter(|r| r.reverses_id.is_none() && !reversed.contains(&r.id))
        .collect()
}

impl WriteTx {
    /// Opens a bank account and its ledger account; a code already used is refused.
    pub async fn insert_bank_account(
        &self,
        a: &NewBankAccount,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<BankAccountRow, StoreError> {
        let row = bank_accounts::ActiveModel {
            id: NotSet,
            code: Set(a.code.clone()),
            name: Set(a.name.clone()),
            number: Set(a.number.clone()),
            bank: Set(a.bank.clone()),
            ledger_account: Set(a.ledger_account.clone()),
            created_at: Set(now.naive_utc()),
            created_by: Set(actor.to_string()),
        };
        let row = match row.insert(self.conn()).await {
            Ok(m) => m,
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(StoreError::Invalid(format!(
                    "账户代码“{}”已被使用 (the code {:?} is taken)",
                    a.code, a.code
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let exists = ledger_accounts::Entity::find_by_id(a.ledger_account.clone())
            .one(self.conn())
            .await?
            .is_some();
        if !exists {
            ledger_accounts::ActiveModel {
                name: Set(a.ledger_account.clone()),
                account_type: Set("asset".into()),
            }
            .insert(self.conn())
            .await?;
        }
        Ok(account_row(row))
    }

    /// The account by code, locked for the rest of the transaction (PostgreSQL and MariaDB;
    /// SQLite's write transaction already holds the database), so imports and matching runs
    /// of one account take turns.
    pub async fn lock_bank_account(
        &self,
        code: &str,
    ) -> Result<Option<BankAccountRow>, StoreError> {
        Ok(bank_accounts::Entity::find()
            .filter(bank_accounts::Column::Code.eq(code))
            .lock_exclusive()
            .one(self.conn())
            .await?
            .map(account_row))
    }

    /// Which of `keys` the account already holds.
    pub async fn known_line_keys(
        &self,
        account_id: i64,
        keys: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        let mut known = HashSet::new();
        for chunk in keys.chunks(500) {
            known.extend(
                bank_lines::Entity::find()
                    .select_only()
                    .column(bank_lines::Column::LineKey)
                    .filter(bank_lines::Column::BankAccountId.eq(account_id))
                    .filter(bank_lines::Column::LineKey.is_in(chunk.to_vec()))
                    .into_tuple::<String>()
                    .all(self.conn())
                    .await?,
            );
        }
        Ok(known)
    }

    /// Records a statement and the lines it adds; returns the statement's id.
    pub async fn insert_statement(
        &self,
        account_id: i64,
        s: &NewStatement,
        lines: &[BankLineRow],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let st = bank_statements::ActiveModel {
            id: NotSet,
            bank_account_id: Set(account_id),
            file_name: Set(s.file_name.chars().take(255).collect()),
            sha256: Set(s.sha256.clone()),
            kind: Set(s.kind.clone()),
            profile: Set(s.profile.clone()),
            lines_in_file: Set(s.lines_in_file as i32),
            lines_added: Set(lines.len() as i32),
            first_date: Set(s.first_date),
            last_date: Set(s.last_date),
            opening: Set(s.opening),
            closing: Set(s.closing),
            imported_at: Set(now.naive_utc()),
            imported_by: Set(actor.to_string()),
        }
        .insert(self.conn())
        .await?;
        let rows: Vec<bank_lines::ActiveModel> = lines
            .iter()
            .map(|l| bank_lines::ActiveModel {
                id: NotSet,
                bank_account_id: Set(account_id),
                statement_id: Set(st.id),
                line_key: Set(l.line_key.clone()),
                row: Set(l.row),
                date: Set(l.date),
                time: Set(l.time),
                value_date: Set(l.value_date),
                amount: Set(l.amount),
                balance: Set(l.balance),
                counterparty_name: Set(l.counterparty_name.clone()),
                counterparty_account: Set(l.counterparty_account.clone()),
                counterparty_bank: Set(l.counterparty_bank.clone()),
                summary: Set(l.summary.clone()),
                purpose: Set(l.purpose.clone()),
                remark: Set(l.remark.clone()),
                serial: Set(l.serial.clone()),
            })
            .collect();
        for chunk in rows.chunks(200) {
            bank_lines::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(self.conn())
                .await?;
        }
        Ok(st.id)
    }

    /// [`Store::bank_lines`] inside this transaction.
    pub async fn bank_lines(&self, account_id: i64) -> Result<Vec<BankLineRow>, StoreError> {
        lines_of(self.conn(), account_id, None, None).await
    }

    /// [`Store::bank_book_entries`] inside this transaction.
    pub async fn bank_book_entries(
        &self,
        ledger_account: &str,
    ) -> Result<Vec<BookEntryRow>, StoreError> {
        book_of(self.conn(), ledger_account).await
    }

    /// The account's matches and reversals, read inside this transaction.
    pub async fn bank_matches(&self, account_id: i64) -> Result<Vec<MatchRow>, StoreError> {
        matches_of(self.conn(), account_id).await
    }

    /// Appends a match; returns it as stored.
    pub async fn insert_match(
        &self,
        account_id: i64,
        m: &NewMatch,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<MatchRow, StoreError> {
        let row = bank_matches::ActiveModel {
            id: NotSet,
            bank_account_id: Set(account_id),
            line_id: Set(m.line_id),
            posting_id: Set(m.posting_id),
            rule: Set(m.rule.chars().take(32).collect()),
            agreed: Set(m.agreed.chars().take(200).collect()),
            difference: Set(m.difference),
            detail: Set(m.detail.clone()),
            matched_by: Set(m.matched_by.clone()),
            reverses_id: Set(None),
            reason: Set(None),
            created_at: Set(now.naive_utc()),
            created_by: Set(actor.to_string()),
        }
        .insert(self.conn())
        .await?;
        Ok(match_row(row))
    }

    /// Appends the reversal of match `of`; the match itself stays as it was.
    pub async fn insert_unmatch(
        &self,
        account_id: i64,
        of: &MatchRow,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<MatchRow, StoreError> {
        let row = bank_matches::ActiveModel {
            id: NotSet,
            bank_account_id: Set(account_id),
            line_id: Set(of.line_id),
            posting_id: Set(of.posting_id),
            rule: Set("unmatch".into()),
            agreed: Set(String::new()),
            difference: Set(of.difference),
            detail: Set(String::new()),
            matched_by: Set("manual".into()),
            reverses_id: Set(Some(of.id)),
            reason: Set(Some(reason.to_string())),
            created_at: Set(now.naive_utc()),
            created_by: Set(actor.to_string()),
        };
        match row.insert(self.conn()).await {
            Ok(m) => Ok(match_row(m)),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Err(StoreError::Invalid(format!(
                    "匹配 #{} 已经撤销 (match #{} was already undone)",
                    of.id, of.id
                )))
            }
            Err(e) => Err(e.into()),
        }
    }
}
