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
    /// The id of the group's first row, for every row of a match of several lines or
    /// postings (none for one line with one posting).
    pub group_id: Option<i64>,
    /// The ledger transaction that booked the difference to the fee account (on the first
    /// row of a match within the tolerance).
    pub fee_transaction_id: Option<i64>,
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
        group_id: m.group_id,
        fee_transaction_id: m.fee_transaction_id,
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
    pub fee_transaction_id: Option<i64>,
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
    /// details, in posting order; a transaction that was reversed and its reversal are left
    /// out (they cancel).
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
    // A transaction reversed and its reversal cancel out: neither is money to match.
    let reversed: HashSet<i64> = txns.values().filter_map(|t| t.reverses_id).collect();
    postings
        .into_iter()
        .filter(|p| {
            txns.get(&p.transaction_id)
                .is_none_or(|t| t.reverses_id.is_none() && !reversed.contains(&t.id))
        })
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
        Ok(self
            .insert_match_group(account_id, std::slice::from_ref(m), actor, now)
            .await?
            .remove(0))
    }

    /// Appends the rows of one match: one row, or a group whose rows all carry the first
    /// row's id as `group_id`. Returns them as stored.
    pub async fn insert_match_group(
        &self,
        account_id: i64,
        rows: &[NewMatch],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<MatchRow>, StoreError> {
        let mut out: Vec<MatchRow> = Vec::with_capacity(rows.len());
        for m in rows {
            let group = out.first().map(|f| f.id);
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
                group_id: Set(group),
                fee_transaction_id: Set(m.fee_transaction_id),
            }
            .insert(self.conn())
            .await?;
            out.push(match_row(row));
        }
        if out.len() > 1 {
            // The first row learns its own id as the group's.
            let first = out[0].id;
            bank_matches::ActiveModel {
                id: Set(first),
                group_id: Set(Some(first)),
                ..Default::default()
            }
            .update(self.conn())
            .await?;
            out[0].group_id = Some(first);
        }
        Ok(out)
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
            group_id: Set(of.group_id),
            fee_transaction_id: Set(None),
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

/// An allocation (commitment) with money still to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenCommitmentRow {
    pub allocation: i64,
    pub date: NaiveDate,
    pub unit_code: String,
    pub unit_name: String,
    /// The budget line's kind (`startup`, …).
    pub line: String,
    pub purpose: String,
    /// Fen.
    pub amount: i64,
    /// Fen not paid yet.
    pub outstanding: i64,
}

/// A disbursement paid from a bank account whose posting no bank line is matched with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnclearedPaymentRow {
    pub transaction_id: i64,
    pub posting_id: i64,
    pub date: NaiveDate,
    pub bank_account: String,
    pub allocation: Option<i64>,
    pub unit_code: Option<String>,
    pub voucher: Option<String>,
    pub payee_name: Option<String>,
    /// Fen paid (positive).
    pub amount: i64,
}

impl Store {
    /// Allocations dated on or before `as_of` that are open with money outstanding, by date.
    pub async fn open_commitments(
        &self,
        as_of: NaiveDate,
    ) -> Result<Vec<OpenCommitmentRow>, StoreError> {
        use crate::entities::{ledger_allocations, ledger_lines, party_units};
        let rows = ledger_allocations::Entity::find()
            .filter(ledger_allocations::Column::Date.lte(as_of))
            .filter(ledger_allocations::Column::Status.eq("open"))
            .filter(ledger_allocations::Column::Outstanding.gt(0))
            .order_by_asc(ledger_allocations::Column::Date)
            .order_by_asc(ledger_allocations::Column::Id)
            .all(self.conn())
            .await?;
        let unit_ids: Vec<i64> = rows.iter().map(|r| r.unit_id).collect();
        let line_ids: Vec<i64> = rows.iter().map(|r| r.line_id).collect();
        let mut units = HashMap::new();
        for chunk in unit_ids.chunks(500) {
            for u in party_units::Entity::find()
                .filter(party_units::Column::Id.is_in(chunk.to_vec()))
                .all(self.conn())
                .await?
            {
                units.insert(u.id, (u.code, u.name));
            }
        }
        let mut kinds = HashMap::new();
        for chunk in line_ids.chunks(500) {
            for l in ledger_lines::Entity::find()
                .filter(ledger_lines::Column::Id.is_in(chunk.to_vec()))
                .all(self.conn())
                .await?
            {
                kinds.insert(l.id, l.kind);
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let (unit_code, unit_name) = units.get(&r.unit_id).cloned().unwrap_or_default();
                OpenCommitmentRow {
                    allocation: r.id,
                    date: r.date,
                    unit_code,
                    unit_name,
                    line: kinds.get(&r.line_id).cloned().unwrap_or_default(),
                    purpose: r.purpose,
                    amount: r.amount,
                    outstanding: r.outstanding,
                }
            })
            .collect())
    }

    /// Disbursements dated on or before `as_of`, paid from one of the office's bank
    /// accounts, neither reversed nor reversals, whose posting on the bank account no
    /// standing match holds; by date.
    pub async fn uncleared_payments(
        &self,
        as_of: NaiveDate,
    ) -> Result<Vec<UnclearedPaymentRow>, StoreError> {
        use crate::entities::party_units;
        let c = self.conn();
        let txns = ledger_transactions::Entity::find()
            .filter(ledger_transactions::Column::Kind.eq("disbursement"))
            .filter(ledger_transactions::Column::BankAccount.is_not_null())
            .filter(ledger_transactions::Column::Date.lte(as_of))
            .order_by_asc(ledger_transactions::Column::Date)
            .order_by_asc(ledger_transactions::Column::Id)
            .all(c)
            .await?;
        let ids: Vec<i64> = txns.iter().map(|t| t.id).collect();
        let mut reversed = HashSet::new();
        let mut postings: HashMap<i64, (i64, i64)> = HashMap::new();
        for chunk in ids.chunks(500) {
            reversed.extend(
                ledger_transactions::Entity::find()
                    .filter(ledger_transactions::Column::ReversesId.is_in(chunk.to_vec()))
                    .all(c)
                    .await?
                    .into_iter()
                    .filter_map(|t| t.reverses_id),
            );
            for p in ledger_postings::Entity::find()
                .filter(ledger_postings::Column::TransactionId.is_in(chunk.to_vec()))
                .filter(ledger_postings::Column::Account.like("assets:bank:%"))
                .all(c)
                .await?
            {
                postings.insert(p.transaction_id, (p.id, p.amount));
            }
        }
        let all_matches = bank_matches::Entity::find()
            .order_by_asc(bank_matches::Column::Id)
            .all(c)
            .await?
            .into_iter()
            .map(match_row)
            .collect::<Vec<_>>();
        let matched: HashSet<i64> = standing(&all_matches)
            .into_iter()
            .map(|m| m.posting_id)
            .collect();
        let unit_ids: Vec<i64> = txns.iter().filter_map(|t| t.unit_id).collect();
        let mut units = HashMap::new();
        for chunk in unit_ids.chunks(500) {
            for u in party_units::Entity::find()
                .filter(party_units::Column::Id.is_in(chunk.to_vec()))
                .all(c)
                .await?
            {
                units.insert(u.id, u.code);
            }
        }
        Ok(txns
            .into_iter()
            .filter(|t| !reversed.contains(&t.id))
            .filter_map(|t| {
                let (posting_id, amount) = *postings.get(&t.id)?;
                (!matched.contains(&posting_id)).then(|| UnclearedPaymentRow {
                    transaction_id: t.id,
                    posting_id,
                    date: t.date,
                    bank_account: t.bank_account.clone().unwrap_or_default(),
                    allocation: t.allocation_id,
                    unit_code: t.unit_id.and_then(|u| units.get(&u).cloned()),
                    voucher: t.voucher.clone(),
                    payee_name: t.payee_name.clone(),
                    amount: amount.saturating_abs(),
                })
            })
            .collect())
    }
}
