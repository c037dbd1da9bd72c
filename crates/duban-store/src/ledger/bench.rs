//! Bulk seeding for the benchmark command: many balanced transactions written in large
//! batches, so the reports can be timed over a million postings without waiting hours for
//! that many commands. Not for real data: it bypasses idempotency keys and allocations
//! (the transactions are valid and balanced, and the line balances are kept in step).

use super::rows;
use crate::audit::{self, Change};
use crate::entities::{ledger_commands, ledger_postings, ledger_transactions};
use crate::seals::{self, Booking};
use crate::{Backend, Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use duban_core::money::Money;
use duban_ledger::account::Account;
use duban_ledger::budget::{BudgetLineKind, LineId, LineRole};
use duban_ledger::journal::{Posting, Transaction, TxnKind};
use sea_orm::sea_query::{Alias, Expr, Func, Query};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, NotSet, Set, TransactionTrait};
use std::collections::{BTreeSet, HashMap};

const CHUNK: usize = 1000;

impl Store {
    /// Appends about `postings` postings on `kind`'s line of `year`: pairs of a commitment
    /// (2 postings) and its payment (4 postings) of 1.00 each. The line must already have
    /// the headroom (appropriate first). Returns the number of postings written.
    pub async fn ledger_bench_seed(
        &self,
        year: i32,
        kind: BudgetLineKind,
        postings: u64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let txn = self.conn().begin().await?;
        let line = LineId::new(year, kind);
        let locked = rows::lock_lines(&txn, &BTreeSet::from([line])).await?;
        let mut lines = locked.balances();
        let line_ids = locked.ids();
        let Some(&line_row) = line_ids.get(&line) else {
            return Err(duban_ledger::LedgerError::UnknownLine(line).into());
        };
        let pairs = postings.div_ceil(6);
        let needed = Money::from_fen(i64::try_from(pairs).unwrap_or(i64::MAX).saturating_mul(100));
        if lines[&line].available < needed {
            return Err(duban_ledger::LedgerError::OverBudget {
                line,
                headroom: lines[&line].available,
                needed,
            }
            .into());
        }
        let (command, mut next_id) = seed_command(&txn, "bench-seed", now).await?;
        let date =
            NaiveDate::from_ymd_opt(year, 6, 1).ok_or(duban_ledger::LedgerError::Overflow)?;
        let one = Money::from_fen(100);
        let minus = Money::from_fen(-100);
        let b = |role| Account::budget(line, role);
        let commit = Transaction::new(
            date,
            TxnKind::Allocation,
            "benchmark commitment",
            vec![
                Posting::new(b(LineRole::Committed), one),
                Posting::new(b(LineRole::Available), minus),
            ],
        )?;
        let pay = Transaction::new(
            date,
            TxnKind::Disbursement,
            "benchmark payment",
            vec![
                Posting::new(b(LineRole::Paid), one),
                Posting::new(b(LineRole::Committed), minus),
                Posting::new(Account::Expense(kind), one),
                Posting::new(Account::funding_for(kind), minus),
            ],
        )?;
        // Creates the accounts through the normal path once.
        let first = rows::insert_transactions(
            &txn,
            &[commit.clone(), pay.clone()],
            &line_ids,
            &HashMap::new(),
            &rows::Author {
                actor: "bench",
                command_id: command.id,
                now: now.naive_utc(),
            },
        )
        .await?;
        let mut booking = Booking::default();
        for (id, bytes) in &first {
            booking.add(*id, bytes);
        }
        next_id = next_id.max(first[1].0 + 1);
        commit.apply_to_lines(&mut lines)?;
        pay.apply_to_lines(&mut lines)?;
        let mut written = 6u64;
        let mut left = pairs.saturating_sub(1);
        while left > 0 {
            let n = left.min(CHUNK as u64 / 2) as usize;
            let mut t_rows = Vec::with_capacity(n * 2);
            let mut p_rows = Vec::with_capacity(n * 6);
            for _ in 0..n {
                for t in [&commit, &pay] {
                    let row = ledger_transactions::Model {
                        id: next_id,
                        date,
                        kind: t.kind().as_str().into(),
                        description: t.description().into(),
                        reverses_id: None,
                        allocation_id: None,
                        unit_id: None,
                        approval_meeting: None,
                        approval_date: None,
                        voucher: None,
                        payee_name: None,
                        payee_account: None,
                        payee_bank: None,
                        bank_account: None,
                        command_id: command.id,
                        created_at: now.naive_utc(),
                        created_by: "bench".into(),
                    };
                    let names: Vec<String> =
                        t.postings().iter().map(|p| p.account.name()).collect();
                    let booked: Vec<(&str, i64, Option<i64>)> = t
                        .postings()
                        .iter()
                        .zip(&names)
                        .map(|(p, name)| {
                            (
                                name.as_str(),
                                p.amount.fen(),
                                p.account.line().map(|_| line_row),
                            )
                        })
                        .collect();
                    booking.add(next_id, &seals::booked_bytes(&row, &booked));
                    t_rows.push(ledger_transactions::ActiveModel::from(row).reset_all());
                    for (seq, p) in t.postings().iter().enumerate() {
                        p_rows.push(ledger_postings::ActiveModel {
                            id: NotSet,
                            transaction_id: Set(next_id),
                            seq: Set(seq as i32),
                            account: Set(p.account.name()),
                            amount: Set(p.amount.fen()),
                            line_id: Set(p.account.line().map(|_| line_row)),
                        });
                    }
                    t.apply_to_lines(&mut lines)?;
                    next_id += 1;
                }
            }
            written += p_rows.len() as u64;
            ledger_transactions::Entity::insert_many(t_rows)
                .exec_without_returning(&txn)
                .await?;
            for chunk in p_rows.chunks(CHUNK) {
                ledger_postings::Entity::insert_many(chunk.to_vec())
                    .exec_without_returning(&txn)
                    .await?;
            }
            left -= n as u64;
        }
        rows::save_lines(&txn, &locked, &lines, now.naive_utc()).await?;
        #[derive(serde::Serialize)]
        struct Seed {
            booked: seals::Booked,
        }
        audit::record(
            &txn,
            Change {
                actor: "bench",
                origin: audit::ORIGIN_CLI,
                at: now,
                action: "bench_seed",
                entity: seals::LEDGER_SEED_ENTITY,
                key: &command.idem_key,
                before: None,
                after: Some(&Seed {
                    booked: booking.finish(),
                }),
            },
        )
        .await?;
        if self.backend() == Backend::Postgres {
            txn.execute_unprepared(
                "SELECT setval(pg_get_serial_sequence('ledger_transactions', 'id'), (SELECT MAX(id) FROM ledger_transactions))",
            )
            .await?;
        }
        txn.commit().await?;
        Ok(written)
    }
}

/// A payment from a bank account for [`Store::bank_bench_seed`].
#[derive(Debug, Clone)]
pub struct BenchPayment {
    pub date: NaiveDate,
    /// Yuan in fen, positive: what leaves the bank account.
    pub fen: i64,
    pub voucher: Option<String>,
    pub payee_name: String,
    pub payee_account: String,
}

impl Store {
    /// Appends one balanced transaction per payment, `fee_account` debited and the bank
    /// account `bank_code` credited, each with its voucher and payee, in batches of rows: the
    /// book a matching benchmark reconciles, without a command per payment. Returns the
    /// number of transactions written.
    pub async fn bank_bench_seed(
        &self,
        bank_code: &str,
        fee_account: &str,
        payments: &[BenchPayment],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let bank = Account::parse(&format!("assets:bank:{bank_code}"))?;
        let fees = Account::parse(fee_account)?;
        let txn = self.conn().begin().await?;
        rows::ensure_accounts(&txn, &BTreeSet::from([bank, fees])).await?;
        let (command, mut next_id) = seed_command(&txn, "bank-bench-seed", now).await?;
        let mut booking = Booking::default();
        let (bank_name, fees_name) = (bank.name(), fees.name());
        for chunk in payments.chunks(CHUNK) {
            let mut t_rows = Vec::with_capacity(chunk.len());
            let mut p_rows = Vec::with_capacity(chunk.len() * 2);
            for p in chunk {
                let row = ledger_transactions::Model {
                    id: next_id,
                    date: p.date,
                    kind: TxnKind::BankCharge.as_str().into(),
                    description: "benchmark payment".into(),
                    reverses_id: None,
                    allocation_id: None,
                    unit_id: None,
                    approval_meeting: None,
                    approval_date: None,
                    voucher: p.voucher.clone(),
                    payee_name: Some(p.payee_name.clone()),
                    payee_account: Some(p.payee_account.clone()),
                    payee_bank: None,
                    bank_account: Some(bank_code.to_string()),
                    command_id: command.id,
                    created_at: now.naive_utc(),
                    created_by: "bench".into(),
                };
                let booked = [
                    (fees_name.as_str(), p.fen, None),
                    (bank_name.as_str(), -p.fen, None),
                ];
                booking.add(next_id, &seals::booked_bytes(&row, &booked));
                t_rows.push(ledger_transactions::ActiveModel::from(row).reset_all());
                for (seq, (account, fen, _)) in booked.iter().enumerate() {
                    p_rows.push(ledger_postings::ActiveModel {
                        id: NotSet,
                        transaction_id: Set(next_id),
                        seq: Set(seq as i32),
                        account: Set(account.to_string()),
                        amount: Set(*fen),
                        line_id: Set(None),
                    });
                }
                next_id += 1;
            }
            ledger_transactions::Entity::insert_many(t_rows)
                .exec_without_returning(&txn)
                .await?;
            ledger_postings::Entity::insert_many(p_rows)
                .exec_without_returning(&txn)
                .await?;
        }
        #[derive(serde::Serialize)]
        struct Seed {
            booked: seals::Booked,
        }
        audit::record(
            &txn,
            Change {
                actor: "bench",
                origin: audit::ORIGIN_CLI,
                at: now,
                action: "bench_seed",
                entity: seals::LEDGER_SEED_ENTITY,
                key: &command.idem_key,
                before: None,
                after: Some(&Seed {
                    booked: booking.finish(),
                }),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(payments.len() as u64)
    }
}

/// The command row a bench's bulk-loaded transactions hang from, and the next free
/// transaction id.
async fn seed_command(
    txn: &sea_orm::DatabaseTransaction,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(ledger_commands::Model, i64), StoreError> {
    let command = ledger_commands::ActiveModel {
        id: NotSet,
        idem_key: Set(format!(
            "{key}-{}",
            now.timestamp_nanos_opt().unwrap_or_default()
        )),
        fingerprint: Set("0".repeat(64)),
        command: Set("bench_seed".into()),
        actor: Set("bench".into()),
        outcome: Set(None),
        created_at: Set(now.naive_utc()),
    }
    .insert(txn)
    .await?;
    let max: Option<i64> = txn
        .query_one(
            &Query::select()
                .expr_as(Func::max(Expr::col(Alias::new("id"))), Alias::new("m"))
                .from(Alias::new("ledger_transactions"))
                .to_owned(),
        )
        .await?
        .and_then(|r| r.try_get::<Option<i64>>("", "m").ok().flatten());
    Ok((command, max.unwrap_or(0) + 1))
}
