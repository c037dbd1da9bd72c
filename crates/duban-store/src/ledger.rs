//! The funds ledger's repository: runs `duban_ledger` operations inside database
//! transactions, and reads the journal and reports back.
//!
//! How concurrent writers are kept honest, on every backend:
//!
//! - **One transaction per command.** Its idempotency key is claimed first (a unique
//!   index), then the rows it touches are locked, the pure operation runs, and everything
//!   it produced is written — postings, balances, the command's outcome and the audit log —
//!   before the commit. A refused command rolls back and leaves nothing behind.
//! - **Budget lines are hot rows, locked.** On PostgreSQL and MariaDB each command locks
//!   the lines it posts to with `SELECT … FOR UPDATE` (always in (year, kind) order, so two
//!   commands never wait on each other in a circle), under READ COMMITTED so that what it
//!   reads after the lock is the latest committed state. SQLite has no row locks: the
//!   transaction is `BEGIN IMMEDIATE`, which takes the database's single write lock up front.
//!   The headroom check therefore always sees the balance the previous writer committed.
//! - **Lock order**: the ledger state row (shared by postings, exclusive for closing a period
//!   or a year), then budget lines, then allocations, rebate applications and units.
//! - **Retries.** Deadlocks, serialisation failures, a busy SQLite file and unique-key
//!   races (two commands creating the same line, or claiming the same key) roll back and
//!   run again, a bounded number of times; a repeat then meets the domain's own refusal or
//!   the stored outcome.
//! - **The database checks too**: CHECK constraints keep every line balance non-negative
//!   and the budget identity true; triggers refuse UPDATE and DELETE of postings and
//!   transactions; unique indexes hold idempotency keys, once-per-unit allocations,
//!   standing dues records, rebate applications and reversals.

mod bench;
mod exec;
mod read;
mod rows;

use crate::{Backend, Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use duban_ledger::command::{Envelope, Outcome};
use duban_ledger::config::LedgerConfig;
use duban_ledger::idempotency::{Replay, decide, differences};
use sea_orm::{DbErr, SqlErr};
use serde::Serialize;
use std::time::Duration;

pub use bench::BenchPayment;
pub use read::{AllocationSelection, AllocationSort, AllocationTotals, DuesRow, LedgerStatus};

/// What a command needs besides itself: the ledger's settings and the time.
#[derive(Debug, Clone, Copy)]
pub struct LedgerContext<'a> {
    pub config: &'a LedgerConfig,
    /// When the command runs (stored, UTC).
    pub now: DateTime<Utc>,
    /// Today's date in Asia/Shanghai (closing periods and years depends on it).
    pub today: NaiveDate,
}

/// The result of a command, and whether it was a repeat of an earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Executed {
    #[serde(flatten)]
    pub outcome: Outcome,
    /// True when the key had been used for this same command before: nothing was done
    /// and the first outcome is returned.
    pub replayed: bool,
}

const MAX_ATTEMPTS: u32 = 12;

/// A command of a batch that could not be applied, and why; nothing of the batch was
/// written.
#[derive(Debug, thiserror::Error)]
#[error("command {index}: {error}")]
pub struct BatchError {
    /// The position of the command in the batch, from 0.
    pub index: usize,
    #[source]
    pub error: StoreError,
}

impl Store {
    /// Runs one command from outside. The same key with the same command returns the first
    /// outcome; the same key with a different command is refused; a refused command
    /// (`StoreError::Ledger`) writes nothing.
    pub async fn ledger_execute(
        &self,
        ctx: &LedgerContext<'_>,
        env: &Envelope,
    ) -> Result<Executed, StoreError> {
        let mut done = self
            .ledger_execute_all(ctx, std::slice::from_ref(env))
            .await
            .map_err(|e| e.error)?;
        Ok(done.remove(0))
    }

    /// Runs commands in order in one transaction: all of them are applied, or, when one is
    /// refused or fails, none is (the error says which). Keys and replays behave as in
    /// [`Store::ledger_execute`], including a key used twice in the batch.
    pub async fn ledger_execute_all(
        &self,
        ctx: &LedgerContext<'_>,
        envs: &[Envelope],
    ) -> Result<Vec<Executed>, BatchError> {
        ctx.config.validate().map_err(|e| BatchError {
            index: 0,
            error: e.into(),
        })?;
        let fingerprints = envs
            .iter()
            .enumerate()
            .map(|(index, env)| {
                env.command.fingerprint().map_err(|e| BatchError {
                    index,
                    error: e.into(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            // On SQLite, writers of this process take turns before BEGIN IMMEDIATE.
            let turn = match self.backend() {
                Backend::Sqlite => Some(self.sqlite_writer.lock().await),
                _ => None,
            };
            let result = self.ledger_attempt(ctx, envs, &fingerprints).await;
            drop(turn);
            match result {
                Ok(done) => return Ok(done),
                Err(BatchError {
                    error: StoreError::Db(e),
                    ..
                }) if attempt < MAX_ATTEMPTS && is_retryable(&e) => {
                    tracing::debug!(attempt, error = %e, "ledger command retried");
                    let jitter = u64::from(ctx.now.timestamp_subsec_micros() % 7 + attempt);
                    tokio::time::sleep(Duration::from_millis(jitter * u64::from(attempt))).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn ledger_attempt(
        &self,
        ctx: &LedgerContext<'_>,
        envs: &[Envelope],
        fingerprints: &[String],
    ) -> Result<Vec<Executed>, BatchError> {
        let at = |index: usize| move |e: StoreError| BatchError { index, error: e };
        let txn = self
            .begin_ledger_write()
            .await
            .map_err(|e| at(0)(e.into()))?;
        let mut done = Vec::with_capacity(envs.len());
        for (i, (env, fingerprint)) in envs.iter().zip(fingerprints).enumerate() {
            done.push(run_one(&txn, ctx, env, fingerprint).await.map_err(at(i))?);
        }
        txn.commit()
            .await
            .map_err(|e| at(envs.len().saturating_sub(1))(e.into()))?;
        Ok(done)
    }

    /// A write transaction: `BEGIN IMMEDIATE` on SQLite, READ COMMITTED elsewhere.
    async fn begin_ledger_write(&self) -> Result<sea_orm::DatabaseTransaction, DbErr> {
        use sea_orm::{
            IsolationLevel, SqliteTransactionMode, TransactionOptions, TransactionTrait,
        };
        match self.backend() {
            Backend::Sqlite => {
                self.conn()
                    .begin_with_options(TransactionOptions {
                        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                        ..TransactionOptions::default()
                    })
                    .await
            }
            _ => {
                self.conn()
                    .begin_with_config(Some(IsolationLevel::ReadCommitted), None)
                    .await
            }
        }
    }
}

impl crate::engine::WriteTx {
    /// Runs one ledger command inside this transaction, with its idempotency key, seal and
    /// audit entry as [`Store::ledger_execute`] writes them, so that it commits or rolls
    /// back with the rest of the caller's work.
    pub async fn ledger_execute(
        &self,
        ctx: &LedgerContext<'_>,
        env: &Envelope,
    ) -> Result<Executed, StoreError> {
        ctx.config.validate()?;
        let fingerprint = env.command.fingerprint()?;
        run_one(self.conn(), ctx, env, &fingerprint).await
    }

    /// The postings of transaction `id` on `account`.
    pub async fn postings_on(&self, id: i64, account: &str) -> Result<Vec<i64>, StoreError> {
        use crate::entities::ledger_postings;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        Ok(ledger_postings::Entity::find()
            .filter(ledger_postings::Column::TransactionId.eq(id))
            .filter(ledger_postings::Column::Account.eq(account))
            .order_by_asc(ledger_postings::Column::Id)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect())
    }
}

/// One command inside the batch's transaction: a repeat of its key returns the stored
/// outcome, a conflicting repeat is refused with the fields that differ.
async fn run_one(
    txn: &sea_orm::DatabaseTransaction,
    ctx: &LedgerContext<'_>,
    env: &Envelope,
    fingerprint: &str,
) -> Result<Executed, StoreError> {
    if let Some(row) = rows::find_command(txn, env.key.as_str()).await? {
        let stored = row
            .outcome
            .as_deref()
            .map(serde_json::from_str::<Outcome>)
            .transpose()
            .map_err(|e| {
                StoreError::Invalid(format!(
                    "stored outcome of key {} is not readable: {e}",
                    row.idem_key
                ))
            })?;
        let Some(stored) = stored else {
            return Err(duban_ledger::LedgerError::Invalid(format!(
                "idempotency key {:?} belongs to a {} run that kept no result; use a new key",
                row.idem_key, row.command
            ))
            .into());
        };
        match decide(
            &env.key,
            Some((row.fingerprint.clone(), stored)),
            fingerprint,
        ) {
            Ok(Replay::Repeat(outcome)) => {
                return Ok(Executed {
                    outcome,
                    replayed: true,
                });
            }
            Ok(Replay::Fresh) => {}
            Err(duban_ledger::LedgerError::IdempotencyConflict {
                key, first, this, ..
            }) => {
                let differs = match rows::first_command(txn, env.key.as_str()).await? {
                    Some(before) => {
                        let now = serde_json::to_value(&env.command).map_err(|e| {
                            StoreError::Invalid(format!("command cannot be shown: {e}"))
                        })?;
                        differences(&before, &now)
                    }
                    None => Vec::new(),
                };
                return Err(duban_ledger::LedgerError::IdempotencyConflict {
                    key,
                    first,
                    this,
                    differs,
                }
                .into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    env.command.validate()?;
    let command_id = rows::claim_command(txn, env, fingerprint, ctx.now).await?;
    let mut run = exec::Run::new(txn, ctx, env, command_id);
    let outcome = run.dispatch().await?;
    rows::finish_command(txn, command_id, &outcome).await?;
    run.audit_command(&outcome).await?;
    Ok(Executed {
        outcome,
        replayed: false,
    })
}

/// Errors after which running the command again may succeed: lock conflicts and unique-key
/// races (the retry then meets the stored outcome or the domain's refusal).
fn is_retryable(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) || crate::is_lock_conflict(e)
}
