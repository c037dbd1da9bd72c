//! Rows of the ledger's tables and their domain values; the small queries every command
//! shares (locks, inserts of transactions and postings).

use crate::StoreError;
use crate::entities::{
    ledger_accounts, ledger_allocations, ledger_closed_years, ledger_commands, ledger_lines,
    ledger_postings, ledger_state, ledger_transactions, party_units,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use duban_core::money::Money;
use duban_ledger::LedgerError;
use duban_ledger::account::Account;
use duban_ledger::budget::{BudgetLineKind, LineBalances, LineId};
use duban_ledger::command::{Envelope, Outcome, Payment};
use duban_ledger::journal::{Links, PostedTransaction, Posting, Transaction, TxnKind};
use duban_ledger::model::{Allocation, AllocationStatus, Approval};
use duban_ledger::period::{Periods, YearMonth};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub(super) fn invalid_row(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("ledger table holds an unreadable {what}: {detail}"))
}

pub(super) async fn find_command<C: ConnectionTrait>(
    c: &C,
    key: &str,
) -> Result<Option<ledger_commands::Model>, StoreError> {
    Ok(ledger_commands::Entity::find()
        .filter(ledger_commands::Column::IdemKey.eq(key))
        .one(c)
        .await?)
}

/// The command first run under `key`, as JSON, from its audit record.
pub(super) async fn first_command<C: ConnectionTrait>(
    c: &C,
    key: &str,
) -> Result<Option<serde_json::Value>, StoreError> {
    use crate::entities::audit_log;
    let row = audit_log::Entity::find()
        .filter(audit_log::Column::Entity.eq("ledger_command"))
        .filter(audit_log::Column::EntityKey.eq(key))
        .one(c)
        .await?;
    Ok(row
        .and_then(|r| r.after)
        .and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok())
        .and_then(|mut v| v.get_mut("command").map(serde_json::Value::take)))
}

/// Claims the key: a concurrent command with the same key waits here until this one
/// commits or rolls back, then fails on the unique index and is retried.
pub(super) async fn claim_command<C: ConnectionTrait>(
    c: &C,
    env: &Envelope,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let row = ledger_commands::ActiveModel {
        id: NotSet,
        idem_key: Set(env.key.as_str().to_string()),
        fingerprint: Set(fingerprint.to_string()),
        command: Set(env.command.name().to_string()),
        actor: Set(env.actor.clone()),
        outcome: Set(None),
        created_at: Set(now.naive_utc()),
    }
    .insert(c)
    .await?;
    Ok(row.id)
}

pub(super) async fn finish_command<C: ConnectionTrait>(
    c: &C,
    id: i64,
    outcome: &Outcome,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(outcome).map_err(|e| StoreError::Invalid(e.to_string()))?;
    ledger_commands::ActiveModel {
        id: Set(id),
        outcome: Set(Some(json)),
        ..Default::default()
    }
    .update(c)
    .await?;
    Ok(())
}

/// The periods and closed years, with the state row locked shared (postings) or
/// exclusive (closing a period or a year).
pub(super) async fn lock_state<C: ConnectionTrait>(
    c: &C,
    exclusive: bool,
) -> Result<(Periods, BTreeSet<i32>), StoreError> {
    let q = ledger_state::Entity::find_by_id(1i64);
    let q = if exclusive {
        q.lock_exclusive()
    } else {
        q.lock_shared()
    };
    let row = q.one(c).await?.ok_or_else(|| {
        StoreError::Invalid("the ledger state row is missing; run `duban migrate up`".into())
    })?;
    let closed_through = row
        .closed_through
        .as_deref()
        .map(YearMonth::parse)
        .transpose()
        .map_err(|e| invalid_row("closed period", e))?;
    let years = ledger_closed_years::Entity::find()
        .all(c)
        .await?
        .into_iter()
        .map(|r| r.year)
        .collect();
    Ok((Periods { closed_through }, years))
}

pub(super) fn kind_of(s: &str) -> Result<BudgetLineKind, StoreError> {
    BudgetLineKind::parse(s).map_err(|e| invalid_row("budget line kind", e))
}

pub(super) fn line_id_of(row: &ledger_lines::Model) -> Result<LineId, StoreError> {
    Ok(LineId::new(row.year, kind_of(&row.kind)?))
}

pub(super) fn balances_of(row: &ledger_lines::Model) -> LineBalances {
    LineBalances {
        appropriated: Money::from_fen(row.appropriated),
        available: Money::from_fen(row.available),
        committed: Money::from_fen(row.committed),
        paid: Money::from_fen(row.paid),
        paid_direct: Money::from_fen(row.paid_direct),
    }
}

/// Budget lines locked for update, in (year, kind) order.
#[derive(Debug, Default)]
pub(super) struct LockedLines {
    pub rows: BTreeMap<LineId, ledger_lines::Model>,
}

impl LockedLines {
    pub fn balances(&self) -> BTreeMap<LineId, LineBalances> {
        self.rows
            .iter()
            .map(|(id, r)| (*id, balances_of(r)))
            .collect()
    }

    pub fn ids(&self) -> HashMap<LineId, i64> {
        self.rows.iter().map(|(id, r)| (*id, r.id)).collect()
    }
}

pub(super) async fn lock_lines<C: ConnectionTrait>(
    c: &C,
    wanted: &BTreeSet<LineId>,
) -> Result<LockedLines, StoreError> {
    let mut out = LockedLines::default();
    for line in wanted {
        let row = ledger_lines::Entity::find()
            .filter(ledger_lines::Column::Year.eq(line.year))
            .filter(ledger_lines::Column::Kind.eq(line.kind.slug()))
            .lock_exclusive()
            .one(c)
            .await?;
        if let Some(row) = row {
            out.rows.insert(*line, row);
        }
    }
    Ok(out)
}

/// Every line of the given years, locked, in (year, kind) order.
pub(super) async fn lock_lines_of_years<C: ConnectionTrait>(
    c: &C,
    years: &[i32],
) -> Result<LockedLines, StoreError> {
    let rows = ledger_lines::Entity::find()
        .filter(ledger_lines::Column::Year.is_in(years.to_vec()))
        .order_by_asc(ledger_lines::Column::Year)
        .order_by_asc(ledger_lines::Column::Kind)
        .lock_exclusive()
        .all(c)
        .await?;
    let mut out = LockedLines::default();
    for row in rows {
        out.rows.insert(line_id_of(&row)?, row);
    }
    Ok(out)
}

/// Writes the lines an operation changed or created; returns every line's row id.
pub(super) async fn save_lines<C: ConnectionTrait>(
    c: &C,
    locked: &LockedLines,
    after: &BTreeMap<LineId, LineBalances>,
    now: NaiveDateTime,
) -> Result<HashMap<LineId, i64>, StoreError> {
    let mut ids = locked.ids();
    for (line, b) in after {
        match locked.rows.get(line) {
            Some(row) if balances_of(row) == *b => {}
            Some(row) => {
                ledger_lines::ActiveModel {
                    id: Set(row.id),
                    appropriated: Set(b.appropriated.fen()),
                    available: Set(b.available.fen()),
                    committed: Set(b.committed.fen()),
                    paid: Set(b.paid.fen()),
                    paid_direct: Set(b.paid_direct.fen()),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .update(c)
                .await?;
            }
            None => {
                let row = ledger_lines::ActiveModel {
                    id: NotSet,
                    year: Set(line.year),
                    kind: Set(line.kind.slug().to_string()),
                    appropriated: Set(b.appropriated.fen()),
                    available: Set(b.available.fen()),
                    committed: Set(b.committed.fen()),
                    paid: Set(b.paid.fen()),
                    paid_direct: Set(b.paid_direct.fen()),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(c)
                .await?;
                ids.insert(*line, row.id);
            }
        }
    }
    Ok(ids)
}

/// The id of a unit of the register, optionally locking its row.
pub(super) async fn unit_id<C: ConnectionTrait>(
    c: &C,
    code: &str,
    lock: bool,
) -> Result<i64, StoreError> {
    let mut q = party_units::Entity::find().filter(party_units::Column::Code.eq(code));
    if lock {
        q = q.lock_exclusive();
    }
    match q.one(c).await? {
        Some(u) => Ok(u.id),
        None => Err(LedgerError::Invalid(format!(
            "unit: {code} is not in the register; import it first"
        ))
        .into()),
    }
}

pub(super) async fn unit_codes<C: ConnectionTrait>(
    c: &C,
    ids: BTreeSet<i64>,
) -> Result<HashMap<i64, String>, StoreError> {
    let mut out = HashMap::new();
    let ids: Vec<i64> = ids.into_iter().collect();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String)> = party_units::Entity::find()
            .select_only()
            .column(party_units::Column::Id)
            .column(party_units::Column::Code)
            .filter(party_units::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(c)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Creates the accounts a transaction uses that do not exist yet.
pub(super) async fn ensure_accounts<C: ConnectionTrait>(
    c: &C,
    accounts: &BTreeSet<Account>,
) -> Result<(), StoreError> {
    let names: Vec<String> = accounts.iter().map(|a| a.name()).collect();
    let existing: BTreeSet<String> = ledger_accounts::Entity::find()
        .select_only()
        .column(ledger_accounts::Column::Name)
        .filter(ledger_accounts::Column::Name.is_in(names))
        .into_tuple::<String>()
        .all(c)
        .await?
        .into_iter()
        .collect();
    let missing: Vec<ledger_accounts::ActiveModel> = accounts
        .iter()
        .filter(|a| !existing.contains(&a.name()))
        .map(|a| ledger_accounts::ActiveModel {
            name: Set(a.name()),
            account_type: Set(a.account_type().as_str().to_string()),
        })
        .collect();
    if !missing.is_empty() {
        ledger_accounts::Entity::insert_many(missing)
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}

/// Who is posting, and for which command.
pub(super) struct Author<'a> {
    pub actor: &'a str,
    pub command_id: i64,
    pub now: NaiveDateTime,
}

/// Appends transactions and their postings; returns their ids in order.
pub(super) async fn insert_transactions<C: ConnectionTrait>(
    c: &C,
    txns: &[Transaction],
    lines: &HashMap<LineId, i64>,
    units: &HashMap<String, i64>,
    by: &Author<'_>,
) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
    let accounts: BTreeSet<Account> = txns
        .iter()
        .flat_map(|t| t.postings().iter().map(|p| p.account))
        .collect();
    ensure_accounts(c, &accounts).await?;
    let mut ids = Vec::with_capacity(txns.len());
    let mut postings = Vec::new();
    for t in txns {
        let unit_id = match t.unit() {
            Some(code) => Some(
                *units
                    .get(code)
                    .ok_or_else(|| StoreError::Invalid(format!("unit {code} was not resolved")))?,
            ),
            None => None,
        };
        let pay = t.payment();
        let row = ledger_transactions::ActiveModel {
            id: NotSet,
            date: Set(t.date()),
            kind: Set(t.kind().as_str().to_string()),
            description: Set(t.description().to_string()),
            reverses_id: Set(t.reverses()),
            allocation_id: Set(t.allocation()),
            unit_id: Set(unit_id),
            approval_meeting: Set(t.approval().map(|a| a.meeting.clone())),
            approval_date: Set(t.approval().map(|a| a.date)),
            voucher: Set(pay.and_then(|p| p.voucher.clone())),
            payee_name: Set(pay.and_then(|p| p.payee_name.clone())),
            payee_account: Set(pay.and_then(|p| p.payee_account.clone())),
            payee_bank: Set(pay.and_then(|p| p.payee_bank.clone())),
            bank_account: Set(pay.and_then(|p| p.bank_account.clone())),
            command_id: Set(by.command_id),
            created_at: Set(by.now),
            created_by: Set(by.actor.to_string()),
        }
        .insert(c)
        .await?;
        let mut booked = Vec::with_capacity(t.postings().len());
        for (seq, p) in t.postings().iter().enumerate() {
            let line_id = match p.account.line() {
                Some((line, _)) => Some(*lines.get(&line).ok_or(LedgerError::UnknownLine(line))?),
                None => None,
            };
            booked.push((p.account.name(), p.amount.fen(), line_id));
            postings.push(ledger_postings::ActiveModel {
                id: NotSet,
                transaction_id: Set(row.id),
                seq: Set(seq as i32),
                account: Set(p.account.name()),
                amount: Set(p.amount.fen()),
                line_id: Set(line_id),
            });
        }
        let booked: Vec<(&str, i64, Option<i64>)> = booked
            .iter()
            .map(|(a, fen, line)| (a.as_str(), *fen, *line))
            .collect();
        ids.push((row.id, crate::seals::booked_bytes(&row, &booked)));
    }
    for chunk in postings.chunks(400) {
        ledger_postings::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(c)
            .await?;
    }
    Ok(ids)
}

/// Rebuilds stored transactions (with their postings), checking again that each balances.
pub(super) async fn load_transactions<C: ConnectionTrait>(
    c: &C,
    rows: Vec<ledger_transactions::Model>,
) -> Result<Vec<PostedTransaction>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let (first, last) = (rows[0].id, rows[rows.len() - 1].id);
    let contiguous = rows.len() as i64 == last - first + 1;
    let mut postings: HashMap<i64, Vec<ledger_postings::Model>> = HashMap::new();
    let fetched = if contiguous {
        ledger_postings::Entity::find()
            .filter(ledger_postings::Column::TransactionId.between(first, last))
            .order_by_asc(ledger_postings::Column::Id)
            .all(c)
            .await?
    } else {
        let mut all = Vec::new();
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        for chunk in ids.chunks(500) {
            all.extend(
                ledger_postings::Entity::find()
                    .filter(ledger_postings::Column::TransactionId.is_in(chunk.to_vec()))
                    .order_by_asc(ledger_postings::Column::Id)
                    .all(c)
                    .await?,
            );
        }
        all
    };
    for p in fetched {
        postings.entry(p.transaction_id).or_default().push(p);
    }
    let units = unit_codes(c, rows.iter().filter_map(|r| r.unit_id).collect()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut ps = postings.remove(&row.id).unwrap_or_default();
        ps.sort_by_key(|p| p.seq);
        let ps = ps
            .into_iter()
            .map(|p| {
                Ok(Posting::new(
                    Account::parse(&p.account)?,
                    Money::from_fen(p.amount),
                ))
            })
            .collect::<Result<Vec<_>, LedgerError>>()
            .map_err(|e| invalid_row("posting", e))?;
        let kind =
            TxnKind::parse(&row.kind).ok_or_else(|| invalid_row("transaction kind", &row.kind))?;
        let approval = match (row.approval_meeting, row.approval_date) {
            (Some(meeting), Some(date)) => Some(Approval { meeting, date }),
            _ => None,
        };
        let payment = Payment {
            voucher: row.voucher,
            payee_name: row.payee_name,
            payee_account: row.payee_account,
            payee_bank: row.payee_bank,
            bank_account: row.bank_account,
        };
        let links = Links {
            reverses: row.reverses_id,
            allocation: row.allocation_id,
            unit: row.unit_id.and_then(|id| units.get(&id).cloned()),
            approval,
            payment: (!payment.is_empty()).then_some(payment),
        };
        let txn = Transaction::restore(row.date, kind, &row.description, ps, links)
            .map_err(|e| invalid_row(&format!("transaction #{}", row.id), e))?;
        out.push(PostedTransaction { id: row.id, txn });
    }
    Ok(out)
}

pub(super) fn allocation_of(
    row: &ledger_allocations::Model,
    line: LineId,
    unit: String,
) -> Result<Allocation, StoreError> {
    Ok(Allocation {
        id: row.id,
        line,
        unit,
        purpose: row.purpose.clone(),
        approval: Approval {
            meeting: row.approval_meeting.clone(),
            date: row.approval_date,
        },
        date: row.date,
        amount: Money::from_fen(row.amount),
        outstanding: Money::from_fen(row.outstanding),
        disbursed: Money::from_fen(row.disbursed),
        released: Money::from_fen(row.released),
        lapsed: Money::from_fen(row.lapsed),
        status: AllocationStatus::parse(&row.status)
            .ok_or_else(|| invalid_row("allocation status", &row.status))?,
    })
}

/// Updates an allocation row to the domain value `a`, charged to line row `line_id`.
pub(super) async fn save_allocation<C: ConnectionTrait>(
    c: &C,
    row: &ledger_allocations::Model,
    a: &Allocation,
    line_id: i64,
    now: NaiveDateTime,
) -> Result<ledger_allocations::Model, StoreError> {
    let once_key = if a.status == AllocationStatus::Reversed {
        None
    } else {
        row.once_key.clone()
    };
    Ok(ledger_allocations::ActiveModel {
        id: Set(row.id),
        line_id: Set(line_id),
        outstanding: Set(a.outstanding.fen()),
        disbursed: Set(a.disbursed.fen()),
        released: Set(a.released.fen()),
        lapsed: Set(a.lapsed.fen()),
        status: Set(a.status.as_str().to_string()),
        once_key: Set(once_key),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(c)
    .await?)
}
