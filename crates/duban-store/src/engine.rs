//! Durable timers, workflow instances and the outbox.
//!
//! The claim protocol, on every backend:
//! 1. in one short transaction, pick due timers (pending and due, or leased by a node whose
//!    lease has expired) — `FOR UPDATE SKIP LOCKED` on PostgreSQL and MySQL, an IMMEDIATE
//!    transaction on SQLite — and lease them to this node, incrementing their fence. The
//!    lease ends at an instant the caller counts from its clock at the claim, and the node
//!    renews it ([`Store::renew_timers`]) while it still works on the batch;
//! 2. run the steps outside any transaction;
//! 3. in one transaction per batch, mark each timer done *only if this node still holds the
//!    same fence*, and write that step's effects in the same transaction.
//!
//! A node that dies after step 1 loses its leases when they expire; another node claims the
//! timers with a higher fence, so the dead node's late writes (if it comes back) are refused.
//! Effects carry deterministic idempotency keys under unique indexes on top of that.

use crate::entities::{outbox, timers, workflow_instances};
use crate::{Backend, Store, StoreError};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict};
use sea_orm::{
    AccessMode, ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, IsolationLevel,
    NotSet, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use serde::Serialize;
use std::collections::HashMap;

pub use crate::entities::timers::Model as TimerRow;
pub use crate::entities::workflow_instances::Model as InstanceRow;

/// Timer states as stored.
pub mod state {
    pub const PENDING: &str = "pending";
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const FAILED: &str = "failed";
    pub const CANCELLED: &str = "cancelled";
    pub const SKIPPED: &str = "skipped";
}

/// Instance states as stored.
pub mod instance_status {
    pub const ACTIVE: &str = "active";
    pub const COMPLETED: &str = "completed";
    pub const CANCELLED: &str = "cancelled";
}

const CHUNK: usize = 400;

pub(crate) fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

pub(crate) fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A transaction that writes. On SQLite it is IMMEDIATE (takes the write lock at once), so
/// two writers queue instead of failing when one upgrades from reading.
pub struct WriteTx {
    txn: DatabaseTransaction,
    /// On SQLite, this process's turn to write, held until the transaction ends.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Store {
    /// On SQLite, waits for this process's other writers to finish: they queue here rather
    /// than time out on the file's busy timeout when many write at once.
    pub(crate) async fn sqlite_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self.backend() {
            Backend::Sqlite => Some(self.sqlite_writer.clone().lock_owned().await),
            _ => None,
        }
    }

    /// On MySQL and MariaDB the transaction reads committed data, as on PostgreSQL: under
    /// their default (REPEATABLE READ) a read taken before a row lock was granted would
    /// pin the snapshot, and what is read after the lock — the subject a completion or a
    /// re-plan plans from — could predate the transaction it waited for.
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let turn = self.sqlite_turn().await;
        let options = TransactionOptions {
            isolation_level: (self.backend() == Backend::MySql)
                .then_some(IsolationLevel::ReadCommitted),
            access_mode: None,
            sqlite_transaction_mode: (self.backend() == Backend::Sqlite)
                .then_some(SqliteTransactionMode::Immediate),
        };
        let txn = self.conn().begin_with_options(options).await?;
        Ok(WriteTx { txn, _turn: turn })
    }
}

impl WriteTx {
    pub(crate) fn wrap(txn: DatabaseTransaction) -> Self {
        WriteTx { txn, _turn: None }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.txn.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        self.txn.rollback().await?;
        Ok(())
    }

    pub(crate) fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

/// Which workflow, at which version, for which subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    pub workflow_id: String,
    pub version: i32,
    pub content_hash: String,
    pub subject_kind: String,
    pub subject_key: String,
}

/// One due step as the planner produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTimer {
    pub step_id: String,
    pub occurrence: String,
    pub due_at: DateTime<Utc>,
    /// The planned step, serialised; the engine reads it back when the timer fires.
    pub payload: String,
}

/// What planning an instance changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanReport {
    pub instance_id: i64,
    pub created: bool,
    pub inserted: u64,
    pub rescheduled: u64,
    pub cancelled: u64,
    pub unchanged: u64,
}

impl WriteTx {
    /// The instance of `workflow_id` for `subject_key`, if any.
    pub async fn find_instance(
        &self,
        workflow_id: &str,
        subject_key: &str,
    ) -> Result<Option<InstanceRow>, StoreError> {
        Ok(workflow_instances::Entity::find()
            .filter(workflow_instances::Column::WorkflowId.eq(workflow_id))
            .filter(workflow_instances::Column::SubjectKey.eq(subject_key))
            .one(&self.txn)
            .await?)
    }

    /// Creates the instance if needed and makes its timers match `plan`:
    /// steps already done or failed stay as they are; pending or cancelled ones whose time
    /// or content changed are rescheduled; pending ones the plan no longer has are
    /// cancelled; new ones are inserted. `spec`'s version and hash are recorded.
    pub async fn plan_instance(
        &self,
        spec: &InstanceSpec,
        plan: &[PlannedTimer],
        now: DateTime<Utc>,
    ) -> Result<PlanReport, StoreError> {
        let mut report = PlanReport::default();
        let instance = match self
            .find_instance(&spec.workflow_id, &spec.subject_key)
            .await?
        {
            Some(existing) => {
                if existing.content_hash != spec.content_hash
                    || existing.workflow_version != spec.version
                    || existing.status != instance_status::ACTIVE
                {
                    let mut am: workflow_instances::ActiveModel = existing.clone().into();
                    am.content_hash = Set(spec.content_hash.clone());
                    am.workflow_version = Set(spec.version);
                    am.status = Set(instance_status::ACTIVE.into());
                    am.updated_at = Set(naive(now));
                    am.update(&self.txn).await?
                } else {
                    existing
                }
            }
            None => {
                report.created = true;
                workflow_instances::ActiveModel {
                    id: NotSet,
                    workflow_id: Set(spec.workflow_id.clone()),
                    workflow_version: Set(spec.version),
                    content_hash: Set(spec.content_hash.clone()),
                    subject_kind: Set(spec.subject_kind.clone()),
                    subject_key: Set(spec.subject_key.clone()),
                    status: Set(instance_status::ACTIVE.into()),
                    subject_status: Set(None),
                    escalation_level: Set(0),
                    created_at: Set(naive(now)),
                    updated_at: Set(naive(now)),
                    version: Set(0),
                }
                .insert(&self.txn)
                .await?
            }
        };
        report.instance_id = instance.id;

        let existing: HashMap<(String, String), timers::Model> = if report.created {
            HashMap::new()
        } else {
            timers::Entity::find()
                .filter(timers::Column::InstanceId.eq(instance.id))
                .all(&self.txn)
                .await?
                .into_iter()
                .map(|t| ((t.step_id.clone(), t.occurrence.clone()), t))
                .collect()
        };
        let mut planned_keys = std::collections::HashSet::new();
        let mut inserts = Vec::new();
        for p in plan {
            planned_keys.insert((p.step_id.clone(), p.occurrence.clone()));
            match existing.get(&(p.step_id.clone(), p.occurrence.clone())) {
                None => inserts.push(timers::ActiveModel {
                    id: NotSet,
                    instance_id: Set(instance.id),
                    step_id: Set(p.step_id.clone()),
                    occurrence: Set(p.occurrence.clone()),
                    due_at: Set(naive(p.due_at)),
                    state: Set(state::PENDING.into()),
                    payload: Set(p.payload.clone()),
                    lease_owner: Set(None),
                    lease_until: Set(None),
                    fence: Set(0),
                    attempts: Set(0),
                    next_attempt_at: Set(None),
                    last_error: Set(None),
                    late: Set(false),
                    fired_at: Set(None),
                    created_at: Set(naive(now)),
                }),
                Some(t) if t.state == state::PENDING || t.state == state::CANCELLED => {
                    if t.state == state::PENDING
                        && t.due_at == naive(p.due_at)
                        && t.payload == p.payload
                    {
                        report.unchanged += 1;
                    } else {
                        let mut am: timers::ActiveModel = t.clone().into();
                        am.due_at = Set(naive(p.due_at));
                        am.payload = Set(p.payload.clone());
                        am.state = Set(state::PENDING.into());
                        am.attempts = Set(0);
                        am.next_attempt_at = Set(None);
                        am.last_error = Set(None);
                        am.update(&self.txn).await?;
                        report.rescheduled += 1;
                    }
                }
                Some(_) => report.unchanged += 1,
            }
        }
        report.inserted = inserts.len() as u64;
        for chunk in inserts.chunks(CHUNK) {
            timers::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&self.txn)
                .await?;
        }
        let stale: Vec<i64> = existing
            .iter()
            .filter(|(k, t)| t.state == state::PENDING && !planned_keys.contains(*k))
            .map(|(_, t)| t.id)
            .collect();
        for chunk in stale.chunks(CHUNK) {
            report.cancelled += timers::Entity::update_many()
                .col_expr(timers::Column::State, Expr::value(state::CANCELLED))
                .filter(timers::Column::Id.is_in(chunk.to_vec()))
                .exec(&self.txn)
                .await?
                .rows_affected;
        }
        Ok(report)
    }

    /// Cancels every pending timer of an instance and sets its status; returns how many
    /// timers were cancelled.
    pub async fn close_instance(
        &self,
        instance_id: i64,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let cancelled = timers::Entity::update_many()
            .col_expr(timers::Column::State, Expr::value(state::CANCELLED))
            .filter(timers::Column::InstanceId.eq(instance_id))
            .filter(timers::Column::State.eq(state::PENDING))
            .exec(&self.txn)
            .await?
            .rows_affected;
        workflow_instances::Entity::update_many()
            .col_expr(workflow_instances::Column::Status, Expr::value(status))
            .col_expr(
                workflow_instances::Column::UpdatedAt,
                Expr::value(naive(now)),
            )
            .filter(workflow_instances::Column::Id.eq(instance_id))
            .exec(&self.txn)
            .await?;
        Ok(cancelled)
    }

    /// Sets an instance's status without touching its timers.
    pub async fn set_instance_status(
        &self,
        instance_id: i64,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        workflow_instances::Entity::update_many()
            .col_expr(workflow_instances::Column::Status, Expr::value(status))
            .col_expr(
                workflow_instances::Column::UpdatedAt,
                Expr::value(naive(now)),
            )
            .filter(workflow_instances::Column::Id.eq(instance_id))
            .exec(&self.txn)
            .await?;
        Ok(())
    }

    /// Records a status a step set on the subject (e.g. `overdue`).
    pub async fn set_subject_status(
        &self,
        instance_id: i64,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        workflow_instances::Entity::update_many()
            .col_expr(
                workflow_instances::Column::SubjectStatus,
                Expr::value(Some(status.to_string())),
            )
            .col_expr(
                workflow_instances::Column::UpdatedAt,
                Expr::value(naive(now)),
            )
            .filter(workflow_instances::Column::Id.eq(instance_id))
            .exec(&self.txn)
            .await?;
        Ok(())
    }

    /// Keeps the source of a workflow version (once per content hash).
    pub async fn save_workflow_version(
        &self,
        content_hash: &str,
        workflow_id: &str,
        version: i32,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use crate::entities::workflow_versions;
        workflow_versions::Entity::insert(workflow_versions::ActiveModel {
            content_hash: Set(content_hash.to_string()),
            workflow_id: Set(workflow_id.to_string()),
            version: Set(version),
            source: Set(source.to_string()),
            created_at: Set(naive(now)),
        })
        .on_conflict(
            OnConflict::column(workflow_versions::Column::ContentHash)
                .do_nothing_on([workflow_versions::Column::ContentHash])
                .to_owned(),
        )
        .exec_without_returning(&self.txn)
        .await?;
        Ok(())
    }

    /// Raises an instance's escalation level (never lowers it).
    pub async fn escalate(
        &self,
        instance_id: i64,
        level: i32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        workflow_instances::Entity::update_many()
            .col_expr(
                workflow_instances::Column::EscalationLevel,
                Expr::value(level),
            )
            .col_expr(
                workflow_instances::Column::UpdatedAt,
                Expr::value(naive(now)),
            )
            .filter(workflow_instances::Column::Id.eq(instance_id))
            .filter(workflow_instances::Column::EscalationLevel.lt(level))
            .exec(&self.txn)
            .await?;
        Ok(())
    }
}

/// A timer leased to this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimedTimer {
    pub id: i64,
    pub instance_id: i64,
    pub step_id: String,
    pub occurrence: String,
    pub due_at: DateTime<Utc>,
    pub payload: String,
    pub fence: i64,
    /// Including this one.
    pub attempts: i32,
    pub workflow_id: String,
    pub workflow_version: i32,
    pub content_hash: String,
    pub subject_kind: String,
    pub subject_key: String,
    pub escalation_level: i32,
    /// The instance's version when the timer was claimed: the batch is written only if it
    /// is still the same (see [`WriteTx::lock_instances`]).
    pub instance_version: i64,
}

impl Store {
    /// Leases up to `limit` due timers to `node` until `now + lease`.
    pub async fn claim_due_timers(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u64,
    ) -> Result<Vec<ClaimedTimer>, StoreError> {
        self.claim_due_timers_until(node, now, now + lease, limit)
            .await
    }

    /// Extends `node`'s leases on the timers `held` (id, fence) to `until`, for those it
    /// still holds. Returns how many it still holds.
    pub async fn renew_timers(
        &self,
        node: &str,
        held: &[(i64, i64)],
        until: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut by_fence: HashMap<i64, Vec<i64>> = HashMap::new();
        for &(id, fence) in held {
            by_fence.entry(fence).or_default().push(id);
        }
        let mut renewed = 0;
        for (fence, ids) in by_fence {
            for chunk in ids.chunks(CHUNK) {
                renewed += timers::Entity::update_many()
                    .col_expr(timers::Column::LeaseUntil, Expr::value(naive(until)))
                    .filter(timers::Column::Id.is_in(chunk.to_vec()))
                    .filter(timers::Column::State.eq(state::RUNNING))
                    .filter(timers::Column::LeaseOwner.eq(node))
                    .filter(timers::Column::Fence.eq(fence))
                    .exec(self.conn())
                    .await?
                    .rows_affected;
            }
        }
        Ok(renewed)
    }

    /// Leases up to `limit` timers due at `now` to `node` until `lease_until` (counted by the
    /// caller from its own clock at the claim, so a long pass does not claim timers whose
    /// lease has already run out). Costs in proportion to what is due: both queries walk the
    /// `(state, due_at)` index from its due end.
    pub async fn claim_due_timers_until(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<ClaimedTimer>, StoreError> {
        let _turn = self.sqlite_turn().await;
        let tx = self.begin_claim().await?;
        let conn = &tx;
        let now_n = naive(now);
        let mut ids: Vec<i64> = timers::Entity::find()
            .select_only()
            .column(timers::Column::Id)
            .filter(timers::Column::State.eq(state::RUNNING))
            .filter(timers::Column::DueAt.lte(now_n))
            .filter(timers::Column::LeaseUntil.lt(now_n))
            .order_by_asc(timers::Column::DueAt)
            .limit(limit)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .into_tuple()
            .all(conn)
            .await?;
        let room = limit.saturating_sub(ids.len() as u64);
        if room > 0 {
            let due: Vec<i64> = timers::Entity::find()
                .select_only()
                .column(timers::Column::Id)
                .filter(timers::Column::State.eq(state::PENDING))
                .filter(timers::Column::DueAt.lte(now_n))
                .filter(
                    timers::Column::NextAttemptAt
                        .is_null()
                        .or(timers::Column::NextAttemptAt.lte(now_n)),
                )
                .order_by_asc(timers::Column::DueAt)
                .limit(room)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .into_tuple()
                .all(conn)
                .await?;
            ids.extend(due);
        }
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        for chunk in ids.chunks(CHUNK) {
            timers::Entity::update_many()
                .col_expr(timers::Column::State, Expr::value(state::RUNNING))
                .col_expr(timers::Column::LeaseOwner, Expr::value(node))
                .col_expr(timers::Column::LeaseUntil, Expr::value(naive(lease_until)))
                .col_expr(
                    timers::Column::Fence,
                    Expr::col(timers::Column::Fence).add(1),
                )
                .col_expr(
                    timers::Column::Attempts,
                    Expr::col(timers::Column::Attempts).add(1),
                )
                .filter(timers::Column::Id.is_in(chunk.to_vec()))
                .exec(conn)
                .await?;
        }
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            rows.extend(
                timers::Entity::find()
                    .filter(timers::Column::Id.is_in(chunk.to_vec()))
                    .all(conn)
                    .await?,
            );
        }
        let mut instance_ids: Vec<i64> = rows.iter().map(|t| t.instance_id).collect();
        instance_ids.sort_unstable();
        instance_ids.dedup();
        let mut instances = HashMap::new();
        for chunk in instance_ids.chunks(CHUNK) {
            for i in workflow_instances::Entity::find()
                .filter(workflow_instances::Column::Id.is_in(chunk.to_vec()))
                .all(conn)
                .await?
            {
                instances.insert(i.id, i);
            }
        }
        tx.commit().await?;
        let mut claimed: Vec<ClaimedTimer> = rows
            .into_iter()
            .filter_map(|t| {
                let i = instances.get(&t.instance_id)?;
                Some(ClaimedTimer {
                    id: t.id,
                    instance_id: t.instance_id,
                    step_id: t.step_id,
                    occurrence: t.occurrence,
                    due_at: utc(t.due_at),
                    payload: t.payload,
                    fence: t.fence,
                    attempts: t.attempts,
                    workflow_id: i.workflow_id.clone(),
                    workflow_version: i.workflow_version,
                    content_hash: i.content_hash.clone(),
                    subject_kind: i.subject_kind.clone(),
                    subject_key: i.subject_key.clone(),
                    escalation_level: i.escalation_level,
                    instance_version: i.version,
                })
            })
            .collect();
        claimed.sort_by_key(|c| (c.due_at, c.id));
        Ok(claimed)
    }

    pub(crate) async fn begin_claim(&self) -> Result<DatabaseTransaction, StoreError> {
        let options = match self.backend() {
            Backend::Sqlite => TransactionOptions {
                isolation_level: None,
                access_mode: None,
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            },
            _ => TransactionOptions {
                isolation_level: Some(IsolationLevel::ReadCommitted),
                access_mode: Some(AccessMode::ReadWrite),
                sqlite_transaction_mode: None,
            },
        };
        Ok(self.conn().begin_with_options(options).await?)
    }
}

/// Serialising what decides a chain with what changes it.
impl WriteTx {
    /// Locks every instance of the subjects `keys` until this transaction ends and bumps
    /// their version: a completion or a re-plan calls it before it reads the subject, so a
    /// tick that decided on the subject as it was before writes nothing (its timers are
    /// handed back and decided again), and two re-plans of one subject run one after the
    /// other, each reading what the other wrote.
    pub async fn lock_subjects(&self, keys: &[String]) -> Result<(), StoreError> {
        let mut ids: Vec<i64> = Vec::new();
        for chunk in keys.chunks(CHUNK) {
            ids.extend(
                workflow_instances::Entity::find()
                    .select_only()
                    .column(workflow_instances::Column::Id)
                    .filter(workflow_instances::Column::SubjectKey.is_in(chunk.to_vec()))
                    .into_tuple::<i64>()
                    .all(&self.txn)
                    .await?,
            );
        }
        let locked = self.lock_instances(&ids).await?;
        let mut ids: Vec<i64> = locked.into_keys().collect();
        ids.sort_unstable();
        for chunk in ids.chunks(CHUNK) {
            workflow_instances::Entity::update_many()
                .col_expr(
                    workflow_instances::Column::Version,
                    Expr::col(workflow_instances::Column::Version).add(1),
                )
                .filter(workflow_instances::Column::Id.is_in(chunk.to_vec()))
                .exec(&self.txn)
                .await?;
        }
        Ok(())
    }

    /// Locks the instances `ids` until this transaction ends — in id order, so two writers
    /// never wait on each other in a circle — and returns each one's version.
    pub async fn lock_instances(&self, ids: &[i64]) -> Result<HashMap<i64, i64>, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut versions = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let rows: Vec<(i64, i64)> = workflow_instances::Entity::find()
                .select_only()
                .column(workflow_instances::Column::Id)
                .column(workflow_instances::Column::Version)
                .filter(workflow_instances::Column::Id.is_in(chunk.to_vec()))
                .order_by_asc(workflow_instances::Column::Id)
                .lock(LockType::Update)
                .into_tuple()
                .all(&self.txn)
                .await?;
            versions.extend(rows);
        }
        Ok(versions)
    }

    /// Hands a claimed timer back undecided (its instance changed after the claim): pending
    /// again, due as before, the claim's attempt not counted.
    pub async fn release_timer(&self, t: &ClaimedTimer, node: &str) -> Result<bool, StoreError> {
        let result = unleased(state::PENDING)
            .col_expr(
                timers::Column::Attempts,
                Expr::col(timers::Column::Attempts).sub(1),
            )
            .filter(held_by(t, node))
            .exec(&self.txn)
            .await?;
        Ok(result.rows_affected == 1)
    }
}

/// How a claimed timer ended.
impl WriteTx {
    /// Marks a claimed timer done, if this node still holds it with the same fence. When it
    /// returns `true` the caller writes the step's effects in this same transaction; when
    /// `false` the timer was cancelled or taken over, and nothing must be written for it.
    pub async fn complete_timer(
        &self,
        t: &ClaimedTimer,
        node: &str,
        now: DateTime<Utc>,
        late: bool,
    ) -> Result<bool, StoreError> {
        self.finish(t, node, state::DONE, now, late, None, None)
            .await
    }

    /// Puts a timer back to pending, to be tried again at `at`.
    pub async fn retry_timer(
        &self,
        t: &ClaimedTimer,
        node: &str,
        now: DateTime<Utc>,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.finish(t, node, state::PENDING, now, false, Some(error), Some(at))
            .await
    }

    /// Ends a timer without running it (its condition no longer holds, or a misfire policy
    /// skipped it); the reason is kept.
    pub async fn skip_timer(
        &self,
        t: &ClaimedTimer,
        node: &str,
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.finish(t, node, state::SKIPPED, now, false, Some(reason), None)
            .await
    }

    /// Gives up on a timer after its last try.
    pub async fn fail_timer(
        &self,
        t: &ClaimedTimer,
        node: &str,
        now: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        self.finish(t, node, state::FAILED, now, false, Some(error), None)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        t: &ClaimedTimer,
        node: &str,
        new_state: &str,
        now: DateTime<Utc>,
        late: bool,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let mut update = unleased(new_state)
            .col_expr(
                timers::Column::LastError,
                Expr::value(error.map(str::to_string)),
            )
            .col_expr(
                timers::Column::NextAttemptAt,
                Expr::value(retry_at.map(naive)),
            );
        if new_state != state::PENDING {
            update = update
                .col_expr(timers::Column::FiredAt, Expr::value(Some(naive(now))))
                .col_expr(timers::Column::Late, Expr::value(late));
        }
        let result = update.filter(held_by(t, node)).exec(&self.txn).await?;
        Ok(result.rows_affected == 1)
    }
}

/// An update that moves a timer to `new_state` and ends its lease.
fn unleased(new_state: &str) -> sea_orm::UpdateMany<timers::Entity> {
    timers::Entity::update_many()
        .col_expr(timers::Column::State, Expr::value(new_state))
        .col_expr(
            timers::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            timers::Column::LeaseUntil,
            Expr::value(Option::<NaiveDateTime>::None),
        )
}

/// The claimed timer `t`, if `node` still holds it with the claim's fence.
fn held_by(t: &ClaimedTimer, node: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(timers::Column::Id.eq(t.id))
        .add(timers::Column::State.eq(state::RUNNING))
        .add(timers::Column::LeaseOwner.eq(node))
        .add(timers::Column::Fence.eq(t.fence))
}

/// A message for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbox {
    pub idempotency_key: String,
    pub instance_id: Option<i64>,
    pub timer_id: Option<i64>,
    pub person_id: Option<i64>,
    pub role: String,
    pub channel: String,
    pub address: String,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    pub not_before: DateTime<Utc>,
    pub urgent: bool,
    /// SMS only: the logical provider template (`reminder`) and its parameters as a JSON
    /// object of strings.
    pub template: Option<String>,
    pub params: Option<String>,
}

impl WriteTx {
    /// Adds a message unless one with the same idempotency key exists.
    pub async fn enqueue(&self, m: &NewOutbox, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.enqueue_in_state(m, "pending", now).await
    }

    async fn enqueue_in_state(
        &self,
        m: &NewOutbox,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = outbox::ActiveModel {
            id: NotSet,
            idempotency_key: Set(m.idempotency_key.clone()),
            instance_id: Set(m.instance_id),
            timer_id: Set(m.timer_id),
            person_id: Set(m.person_id),
            role: Set(m.role.clone()),
            channel: Set(m.channel.clone()),
            address: Set(m.address.clone()),
            subject: Set(m.subject.chars().take(255).collect()),
            body: Set(m.body.clone()),
            html: Set(m.html.clone()),
            not_before: Set(naive(m.not_before)),
            urgent: Set(m.urgent),
            state: Set(state.into()),
            attempts: Set(0),
            next_attempt_at: Set(naive(m.not_before)),
            lease_owner: Set(None),
            lease_until: Set(None),
            fence: Set(0),
            provider_message_id: Set(None),
            last_error: Set(None),
            created_at: Set(naive(now)),
            sent_at: Set(None),
            template: Set(m.template.clone()),
            params: Set(m.params.clone()),
            content_hash: Set(None),
            digest_of: Set(None),
            resend: Set(false),
            send_started_at: Set(None),
        };
        outbox::Entity::insert(row)
            .on_conflict(
                OnConflict::column(outbox::Column::IdempotencyKey)
                    .do_nothing_on([outbox::Column::Id])
                    .to_owned(),
            )
            .exec_without_returning(&self.txn)
            .await?;
        Ok(())
    }
}

impl WriteTx {
    /// Lists a message nobody could be reached for, for the administrators' list of
    /// unreachable people; it is never sent.
    pub async fn enqueue_unreachable(
        &self,
        m: &NewOutbox,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.enqueue_in_state(m, "unreachable", now).await
    }
}

impl WriteTx {
    /// How many repeats of a step (occurrences starting with `anchor_prefix`) this instance
    /// has already fired, other than timer `except`.
    pub async fn fired_repeats(
        &self,
        instance_id: i64,
        step_id: &str,
        anchor_prefix: &str,
        except: i64,
    ) -> Result<u64, StoreError> {
        Ok(timers::Entity::find()
            .filter(timers::Column::InstanceId.eq(instance_id))
            .filter(timers::Column::StepId.eq(step_id))
            .filter(timers::Column::Occurrence.starts_with(anchor_prefix))
            .filter(timers::Column::State.eq("done"))
            .filter(timers::Column::Id.ne(except))
            .count(self.conn())
            .await?)
    }
}

impl Store {
    /// When the next pending timer may be claimed: its due time, or its next retry.
    pub async fn next_claimable_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        use sea_orm::sea_query::Func;
        let first_due: Option<Option<NaiveDateTime>> = timers::Entity::find()
            .select_only()
            .expr(Func::min(Expr::col(timers::Column::DueAt)))
            .filter(timers::Column::State.eq(state::PENDING))
            .filter(timers::Column::NextAttemptAt.is_null())
            .into_tuple()
            .one(self.conn())
            .await?;
        let first_retry: Option<Option<NaiveDateTime>> = timers::Entity::find()
            .select_only()
            .expr(Func::min(Expr::col(timers::Column::NextAttemptAt)))
            .filter(timers::Column::State.eq(state::PENDING))
            .filter(timers::Column::NextAttemptAt.is_not_null())
            .into_tuple()
            .one(self.conn())
            .await?;
        Ok([first_due.flatten(), first_retry.flatten()]
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.and_utc()))
    }

    /// Whether a later timer of the same step of the instance is also due by `now`.
    pub async fn later_due_timer_exists(
        &self,
        instance_id: i64,
        step_id: &str,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(timers::Entity::find()
            .filter(timers::Column::InstanceId.eq(instance_id))
            .filter(timers::Column::StepId.eq(step_id))
            .filter(timers::Column::DueAt.gt(naive(after)))
            .filter(timers::Column::DueAt.lte(naive(now)))
            .filter(timers::Column::State.is_in([state::PENDING, state::RUNNING]))
            .count(self.conn())
            .await?
            > 0)
    }
}

/// Counts for `/metrics` and the CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TimerStats {
    pub pending: u64,
    pub due: u64,
    pub running: u64,
    pub done: u64,
    pub late: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub outbox_pending: u64,
    /// Seconds since the oldest due, unclaimed timer fell due (0 when none).
    pub lag_seconds: i64,
}

impl Store {
    pub async fn timer_stats(&self, now: DateTime<Utc>) -> Result<TimerStats, StoreError> {
        let c = self.conn();
        let count_state = |s: &'static str| {
            timers::Entity::find()
                .filter(timers::Column::State.eq(s))
                .count(c)
        };
        let oldest_due: Option<NaiveDateTime> = timers::Entity::find()
            .select_only()
            .column(timers::Column::DueAt)
            .filter(timers::Column::State.eq(state::PENDING))
            .filter(timers::Column::DueAt.lte(naive(now)))
            .order_by_asc(timers::Column::DueAt)
            .limit(1)
            .into_tuple()
            .one(c)
            .await?;
        Ok(TimerStats {
            pending: count_state(state::PENDING).await?,
            due: timers::Entity::find()
                .filter(timers::Column::State.eq(state::PENDING))
                .filter(timers::Column::DueAt.lte(naive(now)))
                .count(c)
                .await?,
            running: count_state(state::RUNNING).await?,
            done: count_state(state::DONE).await?,
            late: timers::Entity::find()
                .filter(timers::Column::Late.eq(true))
                .count(c)
                .await?,
            failed: count_state(state::FAILED).await?,
            cancelled: count_state(state::CANCELLED).await?,
            outbox_pending: outbox::Entity::find()
                .filter(outbox::Column::State.is_in(["pending", "sending"]))
                .count(c)
                .await?,
            lag_seconds: oldest_due
                .map(|d| Ord::max((naive(now) - d).num_seconds(), 0))
                .unwrap_or(0),
        })
    }

    /// Timers, soonest first, optionally only those due before `before` or of one subject.
    pub async fn list_timers(
        &self,
        due_before: Option<DateTime<Utc>>,
        subject_key: Option<&str>,
        states: &[&str],
        limit: u64,
    ) -> Result<Vec<(TimerRow, InstanceRow)>, StoreError> {
        let c = self.conn();
        let mut q = timers::Entity::find()
            .order_by_asc(timers::Column::DueAt)
            .order_by_asc(timers::Column::Id);
        if let Some(b) = due_before {
            q = q.filter(timers::Column::DueAt.lt(naive(b)));
        }
        if !states.is_empty() {
            q = q.filter(timers::Column::State.is_in(states.iter().map(|s| s.to_string())));
        }
        if let Some(key) = subject_key {
            let ids: Vec<i64> = workflow_instances::Entity::find()
                .select_only()
                .column(workflow_instances::Column::Id)
                .filter(workflow_instances::Column::SubjectKey.eq(key))
                .into_tuple()
                .all(c)
                .await?;
            q = q.filter(timers::Column::InstanceId.is_in(ids));
        }
        let rows = q.limit(limit).all(c).await?;
        let mut ids: Vec<i64> = rows.iter().map(|t| t.instance_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let instances: HashMap<i64, InstanceRow> = workflow_instances::Entity::find()
            .filter(workflow_instances::Column::Id.is_in(ids))
            .all(c)
            .await?
            .into_iter()
            .map(|i| (i.id, i))
            .collect();
        Ok(rows
            .into_iter()
            .filter_map(|t| instances.get(&t.instance_id).cloned().map(|i| (t, i)))
            .collect())
    }

    /// An instance with all its timers in due order.
    pub async fn instance_timeline(
        &self,
        instance_id: i64,
    ) -> Result<Option<(InstanceRow, Vec<TimerRow>)>, StoreError> {
        let c = self.conn();
        let Some(instance) = workflow_instances::Entity::find_by_id(instance_id)
            .one(c)
            .await?
        else {
            return Ok(None);
        };
        let timers = timers::Entity::find()
            .filter(timers::Column::InstanceId.eq(instance_id))
            .order_by_asc(timers::Column::DueAt)
            .order_by_asc(timers::Column::Id)
            .all(c)
            .await?;
        Ok(Some((instance, timers)))
    }

    /// Active instances of a workflow planned with another content hash than `current`.
    pub async fn outdated_instances(
        &self,
        workflow_id: &str,
        current: &str,
    ) -> Result<Vec<InstanceRow>, StoreError> {
        Ok(workflow_instances::Entity::find()
            .filter(workflow_instances::Column::WorkflowId.eq(workflow_id))
            .filter(workflow_instances::Column::ContentHash.ne(current))
            .filter(workflow_instances::Column::Status.eq(instance_status::ACTIVE))
            .order_by_asc(workflow_instances::Column::Id)
            .all(self.conn())
            .await?)
    }

    /// Instances of one subject (all workflows).
    pub async fn instances_of(&self, subject_key: &str) -> Result<Vec<InstanceRow>, StoreError> {
        Ok(workflow_instances::Entity::find()
            .filter(workflow_instances::Column::SubjectKey.eq(subject_key))
            .order_by_asc(workflow_instances::Column::Id)
            .all(self.conn())
            .await?)
    }

    /// The stored source of a workflow version.
    pub async fn workflow_source(&self, content_hash: &str) -> Result<Option<String>, StoreError> {
        use crate::entities::workflow_versions;
        Ok(
            workflow_versions::Entity::find_by_id(content_hash.to_string())
                .one(self.conn())
                .await?
                .map(|v| v.source),
        )
    }

    /// All messages in the outbox, oldest first (for tests and the delivery list).
    pub async fn outbox_messages(&self) -> Result<Vec<outbox::Model>, StoreError> {
        Ok(outbox::Entity::find()
            .order_by_asc(outbox::Column::Id)
            .all(self.conn())
            .await?)
    }
}
