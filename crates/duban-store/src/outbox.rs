//! Delivering the outbox: leases on messages, fenced completions and the delivery log.
//!
//! The same protocol as timers ([`crate::engine`]), per message:
//! 1. a short transaction leases due messages to a node (incrementing their fence). The lease
//!    runs from the node's clock at the claim, and the node renews it ([`Store::renew_outbox`])
//!    while it still works on the batch, so a long pass never loses its claims;
//! 2. just before each send, a fenced write marks the message "send begun"
//!    ([`Store::begin_send`]);
//! 3. right after the send returns, one small transaction records that message's result *only
//!    if the node still holds the same fence*, with its delivery-log row.
//!
//! A node that dies while sending loses its leases when they expire; another node takes the
//! messages over. Those it had not begun to send are simply sent (same attempt number); those
//! whose send had begun but has no result may have left: the new holder logs that attempt as
//! [`delivery_status::UNCERTAIN`] and sends them again. So a crash repeats at most the messages
//! in flight at that moment (the send concurrency), and the log says which.

use crate::engine::WriteTx;
use crate::engine::{naive, utc};
use crate::entities::{
    deliveries, interviews, outbox, party_units, people, rectification_items, workflow_instances,
};
use crate::{Store, StoreError};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;
use std::collections::HashMap;

pub use crate::entities::deliveries::Model as DeliveryRow;
pub use crate::entities::outbox::Model as OutboxRow;

/// Outbox states as stored.
pub mod outbox_state {
    pub const PENDING: &str = "pending";
    pub const SENDING: &str = "sending";
    pub const SENT: &str = "sent";
    /// A permanent failure (invalid number, rejected template): not retried.
    pub const FAILED: &str = "failed";
    /// Every retry used up; an administrator may re-send it.
    pub const DEAD: &str = "dead";
    /// An identical message reached the person inside the dedupe window.
    pub const DROPPED: &str = "dropped";
    /// Merged into a digest (`digest_of` names it).
    pub const MERGED: &str = "merged";
    /// Nobody to send it to; listed for the administrators.
    pub const UNREACHABLE: &str = "unreachable";
}

/// Delivery-log statuses.
pub mod delivery_status {
    pub const SENT: &str = "sent";
    pub const TRANSIENT: &str = "transient";
    pub const PERMANENT: &str = "permanent";
    pub const DEAD: &str = "dead";
    pub const DROPPED: &str = "dropped";
    pub const DEFERRED: &str = "deferred";
    pub const MERGED: &str = "merged";
    /// The node holding the message began to send it and stopped answering before it
    /// recorded a result; the message may have left, and is sent again.
    pub const UNCERTAIN: &str = "uncertain";
    pub const ALL: [&str; 8] = [
        SENT, TRANSIENT, PERMANENT, DEAD, DROPPED, DEFERRED, MERGED, UNCERTAIN,
    ];
}

const CHUNK: usize = 400;

/// How one claimed message ended this turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    Sent {
        provider: String,
        provider_message_id: String,
        content_hash: Option<String>,
    },
    /// A transient failure: try again at `at`.
    Retry {
        provider: String,
        at: DateTime<Utc>,
        error: String,
    },
    /// A permanent failure.
    Failed { provider: String, error: String },
    /// The last retry failed.
    Dead { provider: String, error: String },
    /// A duplicate inside the dedupe window.
    Dropped { reason: String },
    /// Quiet hours or a rate limit: back to pending until `until`; not counted as an attempt.
    Deferred {
        until: DateTime<Utc>,
        reason: String,
    },
}

/// A filter for the delivery list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// A unit's code: messages about the unit, its terms, its items and its interviews.
    pub unit: Option<String>,
    /// A person's id or person key.
    pub person: Option<String>,
    pub status: Option<String>,
    pub limit: Option<u64>,
    /// Rows skipped before the first returned (paging).
    pub offset: u64,
}

/// One delivery-log row with what it was about.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryListRow {
    pub id: i64,
    pub outbox_id: i64,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub channel: String,
    pub provider: String,
    pub provider_message_id: Option<String>,
    pub status: String,
    pub error: Option<String>,
    pub node: String,
    pub address: String,
    pub person: Option<String>,
    pub unit: Option<String>,
    pub subject: String,
}

/// A message that failed for good, with who it was for and the unit it was about.
#[derive(Debug, Clone)]
pub struct DeadLetterRow {
    pub message: OutboxRow,
    pub person: Option<String>,
    pub unit: Option<String>,
}

/// A person a message could not reach.
#[derive(Debug, Clone, Serialize)]
pub struct UnreachableRow {
    pub outbox_id: i64,
    pub person_id: Option<i64>,
    pub person: Option<String>,
    pub role: String,
    pub unit: Option<String>,
    pub subject: String,
    pub created_at: DateTime<Utc>,
}

/// A digest that replaces several claimed messages for one recipient.
#[derive(Debug, Clone)]
pub struct NewDigest {
    pub idempotency_key: String,
    pub person_id: Option<i64>,
    pub role: String,
    pub channel: String,
    pub address: String,
    pub subject: String,
    pub body: String,
    pub template: Option<String>,
    pub params: Option<String>,
}

impl Store {
    /// Leases up to `limit` messages to `node` until `now + lease`: pending ones whose next
    /// attempt is due, and ones another node was sending when its lease expired.
    pub async fn claim_outbox(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        self.claim_outbox_until(node, now, now + lease, limit).await
    }

    /// Leases up to `limit` messages due at `now` to `node` until `lease_until` (counted by
    /// the caller from its own clock at the claim). A message taken over from a node whose
    /// lease expired after it had begun sending is logged as an uncertain attempt and counts
    /// a new attempt; one taken over before its send began keeps its attempt number.
    pub async fn claim_outbox_until(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let _turn = self.sqlite_turn().await;
        let tx = self.begin_claim().await?;
        let now_n = naive(now);
        let expired: Vec<OutboxRow> = outbox::Entity::find()
            .filter(outbox::Column::State.eq(outbox_state::SENDING))
            .filter(outbox::Column::LeaseUntil.lt(now_n))
            .order_by_asc(outbox::Column::NextAttemptAt)
            .limit(limit)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(&tx)
            .await?;
        // Messages whose send had begun count a new attempt; the others keep theirs.
        let (begun, unbegun): (Vec<&OutboxRow>, Vec<&OutboxRow>) =
            expired.iter().partition(|m| m.send_started_at.is_some());
        let mut counted: Vec<i64> = begun.iter().map(|m| m.id).collect();
        let kept: Vec<i64> = unbegun.iter().map(|m| m.id).collect();
        let room = limit.saturating_sub(expired.len() as u64);
        if room > 0 {
            let due: Vec<i64> = outbox::Entity::find()
                .select_only()
                .column(outbox::Column::Id)
                .filter(outbox::Column::State.eq(outbox_state::PENDING))
                .filter(outbox::Column::NextAttemptAt.lte(now_n))
                .order_by_asc(outbox::Column::NextAttemptAt)
                .order_by_asc(outbox::Column::Id)
                .limit(room)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .into_tuple()
                .all(&tx)
                .await?;
            counted.extend(due);
        }
        if counted.is_empty() && kept.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let w = WriteTx::wrap(tx);
        for m in &begun {
            let owner = m.lease_owner.clone().unwrap_or_default();
            let started = m.send_started_at.map(utc);
            w.log_delivery(
                m,
                &owner,
                delivery_status::UNCERTAIN,
                "",
                None,
                Some(format!(
                    "结果未知，已重发 / outcome unknown, sent again: {owner} began sending at {} \
                     and recorded no result before its lease expired",
                    started.map(|t| t.to_rfc3339()).unwrap_or_default()
                )),
                now,
            )
            .await?;
        }
        for (ids, count) in [(&counted, true), (&kept, false)] {
            for chunk in ids.chunks(CHUNK) {
                let mut u = outbox::Entity::update_many()
                    .col_expr(outbox::Column::State, Expr::value(outbox_state::SENDING))
                    .col_expr(outbox::Column::LeaseOwner, Expr::value(node))
                    .col_expr(outbox::Column::LeaseUntil, Expr::value(naive(lease_until)))
                    .col_expr(
                        outbox::Column::SendStartedAt,
                        Expr::value(Option::<NaiveDateTime>::None),
                    )
                    .col_expr(
                        outbox::Column::Fence,
                        Expr::col(outbox::Column::Fence).add(1),
                    );
                if count {
                    u = u.col_expr(
                        outbox::Column::Attempts,
                        Expr::col(outbox::Column::Attempts).add(1),
                    );
                }
                u.filter(outbox::Column::Id.is_in(chunk.to_vec()))
                    .exec(w.conn())
                    .await?;
            }
        }
        let mut rows = Vec::with_capacity(counted.len() + kept.len());
        for chunk in counted.chunks(CHUNK).chain(kept.chunks(CHUNK)) {
            rows.extend(
                outbox::Entity::find()
                    .filter(outbox::Column::Id.is_in(chunk.to_vec()))
                    .all(w.conn())
                    .await?,
            );
        }
        w.commit().await?;
        rows.sort_by_key(|r| (r.next_attempt_at, r.id));
        Ok(rows)
    }

    /// Extends `node`'s leases on the messages `held` (id, fence) to `until`, for those it
    /// still holds. Returns how many it still holds.
    pub async fn renew_outbox(
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
                renewed += outbox::Entity::update_many()
                    .col_expr(outbox::Column::LeaseUntil, Expr::value(naive(until)))
                    .filter(outbox::Column::Id.is_in(chunk.to_vec()))
                    .filter(outbox::Column::State.eq(outbox_state::SENDING))
                    .filter(outbox::Column::LeaseOwner.eq(node))
                    .filter(outbox::Column::Fence.eq(fence))
                    .exec(self.conn())
                    .await?
                    .rows_affected;
            }
        }
        Ok(renewed)
    }

    /// Marks a claimed message "send begun" at `at`, if `node` still holds it with the same
    /// fence and its lease has not run out by `clock_now`. The caller sends only when this
    /// returns true; a node taking the message over later knows it may have left.
    pub async fn begin_send(
        &self,
        m: &OutboxRow,
        node: &str,
        at: DateTime<Utc>,
        clock_now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let r = outbox::Entity::update_many()
            .col_expr(outbox::Column::SendStartedAt, Expr::value(Some(naive(at))))
            .filter(outbox::Column::Id.eq(m.id))
            .filter(outbox::Column::State.eq(outbox_state::SENDING))
            .filter(outbox::Column::LeaseOwner.eq(node))
            .filter(outbox::Column::Fence.eq(m.fence))
            .filter(outbox::Column::LeaseUntil.gt(naive(clock_now)))
            .exec(self.conn())
            .await?;
        Ok(r.rows_affected == 1)
    }

    /// Replaces the text of a claimed message about to leave (written again for the day it
    /// leaves), if `node` still holds it with the same fence.
    pub async fn rewrite_claimed(
        &self,
        m: &OutboxRow,
        node: &str,
        subject: &str,
        body: &str,
        params: Option<&str>,
    ) -> Result<bool, StoreError> {
        let r = outbox::Entity::update_many()
            .col_expr(outbox::Column::Subject, Expr::value(subject.to_string()))
            .col_expr(outbox::Column::Body, Expr::value(body.to_string()))
            .col_expr(
                outbox::Column::Params,
                Expr::value(params.map(str::to_string)),
            )
            .filter(outbox::Column::Id.eq(m.id))
            .filter(outbox::Column::State.eq(outbox_state::SENDING))
            .filter(outbox::Column::LeaseOwner.eq(node))
            .filter(outbox::Column::Fence.eq(m.fence))
            .exec(self.conn())
            .await?;
        Ok(r.rows_affected == 1)
    }

    /// Messages sent on `channel` since `since`, for rate limits and duplicate suppression.
    pub async fn sent_since(
        &self,
        channel: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        Ok(outbox::Entity::find()
            .filter(outbox::Column::State.eq(outbox_state::SENT))
            .filter(outbox::Column::Channel.eq(channel))
            .filter(outbox::Column::SentAt.gte(naive(since)))
            .all(self.conn())
            .await?)
    }

    /// Instances about a unit: its duties, its terms, its rectification items and its
    /// interviews (subject keys `unit:CODE`, `term:CODE:START`, `rectification:ID`,
    /// `interview:ID`, as the engine writes them).
    async fn subjects_of_unit(&self, code: &str) -> Result<Condition, StoreError> {
        let mut keys = vec![format!("unit:{code}")];
        if let Some(unit) = party_units::Entity::find()
            .filter(party_units::Column::Code.eq(code))
            .one(self.conn())
            .await?
        {
            let items: Vec<i64> = rectification_items::Entity::find()
                .select_only()
                .column(rectification_items::Column::Id)
                .filter(rectification_items::Column::UnitId.eq(unit.id))
                .into_tuple()
                .all(self.conn())
                .await?;
            let interviews: Vec<i64> = interviews::Entity::find()
                .select_only()
                .column(interviews::Column::Id)
                .filter(interviews::Column::UnitId.eq(unit.id))
                .into_tuple()
                .all(self.conn())
                .await?;
            keys.extend(items.iter().map(|id| format!("rectification:{id}")));
            keys.extend(interviews.iter().map(|id| format!("interview:{id}")));
        }
        Ok(Condition::any()
            .add(workflow_instances::Column::SubjectKey.is_in(keys))
            .add(workflow_instances::Column::SubjectKey.starts_with(format!("term:{code}:"))))
    }

    /// The delivery log, newest first, filtered.
    /// The delivery-log rows `f` selects, newest first.
    async fn deliveries_query(
        &self,
        f: &DeliveryFilter,
    ) -> Result<sea_orm::Select<deliveries::Entity>, StoreError> {
        let mut outbox_filter = Condition::all();
        if let Some(p) = &f.person {
            let ids = self.person_ids(p).await?;
            outbox_filter = outbox_filter.add(outbox::Column::PersonId.is_in(ids));
        }
        if let Some(u) = &f.unit {
            let ids: Vec<i64> = workflow_instances::Entity::find()
                .select_only()
                .column(workflow_instances::Column::Id)
                .filter(self.subjects_of_unit(u).await?)
                .into_tuple()
                .all(self.conn())
                .await?;
            outbox_filter = outbox_filter.add(outbox::Column::InstanceId.is_in(ids));
        }
        let mut q = deliveries::Entity::find().order_by_desc(deliveries::Column::Id);
        if let Some(s) = &f.status {
            if !delivery_status::ALL.contains(&s.as_str()) {
                return Err(StoreError::Invalid(format!(
                    "unknown delivery status {s:?}: use one of {}",
                    delivery_status::ALL.join(", ")
                )));
            }
            q = q.filter(deliveries::Column::Status.eq(s.as_str()));
        }
        let filtered = f.person.is_some() || f.unit.is_some();
        if filtered {
            let ids: Vec<i64> = outbox::Entity::find()
                .select_only()
                .column(outbox::Column::Id)
                .filter(outbox_filter)
                .into_tuple()
                .all(self.conn())
                .await?;
            q = q.filter(deliveries::Column::OutboxId.is_in(ids));
        }
        Ok(q)
    }

    /// How many delivery-log rows `f` selects, paging aside.
    pub async fn count_deliveries(&self, f: &DeliveryFilter) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(self.deliveries_query(f).await?.count(self.conn()).await?)
    }

    pub async fn list_deliveries(
        &self,
        f: &DeliveryFilter,
    ) -> Result<Vec<DeliveryListRow>, StoreError> {
        let mut q = self.deliveries_query(f).await?;
        // SQLite takes no OFFSET without a LIMIT.
        match (f.limit, f.offset) {
            (Some(l), o) => q = q.limit(l).offset(o),
            (None, 0) => {}
            (None, o) => q = q.limit(i64::MAX as u64).offset(o),
        }
        let rows = q.all(self.conn()).await?;
        let mut outbox_ids: Vec<i64> = rows.iter().map(|d| d.outbox_id).collect();
        outbox_ids.sort_unstable();
        outbox_ids.dedup();
        let messages = self.outbox_by_ids(&outbox_ids).await?;
        let names = self.names_and_units(messages.values()).await?;
        Ok(rows
            .into_iter()
            .map(|d| {
                let m = messages.get(&d.outbox_id);
                let (person, unit) = m
                    .map(|m| names.get(&m.id).cloned().unwrap_or_default())
                    .unwrap_or_default();
                DeliveryListRow {
                    id: d.id,
                    outbox_id: d.outbox_id,
                    attempt: d.attempt,
                    at: utc(d.at),
                    channel: d.channel,
                    provider: d.provider,
                    provider_message_id: d.provider_message_id,
                    status: d.status,
                    error: d.error,
                    node: d.node,
                    address: m.map(|m| m.address.clone()).unwrap_or_default(),
                    person,
                    unit,
                    subject: m.map(|m| m.subject.clone()).unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Every attempt logged for one message, oldest first.
    pub async fn deliveries_of(&self, outbox_id: i64) -> Result<Vec<DeliveryRow>, StoreError> {
        Ok(deliveries::Entity::find()
            .filter(deliveries::Column::OutboxId.eq(outbox_id))
            .order_by_asc(deliveries::Column::Id)
            .all(self.conn())
            .await?)
    }

    /// Messages parked as dead letters or stopped by a permanent failure.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetterRow>, StoreError> {
        let rows = outbox::Entity::find()
            .filter(outbox::Column::State.is_in([outbox_state::DEAD, outbox_state::FAILED]))
            .order_by_asc(outbox::Column::Id)
            .all(self.conn())
            .await?;
        let mut names = self.names_and_units(rows.iter()).await?;
        Ok(rows
            .into_iter()
            .map(|message| {
                let (person, unit) = names.remove(&message.id).unwrap_or_default();
                DeadLetterRow {
                    message,
                    person,
                    unit,
                }
            })
            .collect())
    }

    /// People no channel reaches, newest first.
    pub async fn unreachable(&self) -> Result<Vec<UnreachableRow>, StoreError> {
        let rows = outbox::Entity::find()
            .filter(outbox::Column::State.eq(outbox_state::UNREACHABLE))
            .order_by_desc(outbox::Column::Id)
            .all(self.conn())
            .await?;
        let names = self.names_and_units(rows.iter()).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let (person, unit) = names.get(&r.id).cloned().unwrap_or_default();
                UnreachableRow {
                    outbox_id: r.id,
                    person_id: r.person_id,
                    person,
                    role: r.role,
                    unit,
                    subject: r.subject,
                    created_at: utc(r.created_at),
                }
            })
            .collect())
    }

    /// One outbox message.
    pub async fn outbox_message(&self, id: i64) -> Result<Option<OutboxRow>, StoreError> {
        Ok(outbox::Entity::find_by_id(id).one(self.conn()).await?)
    }

    async fn person_ids(&self, p: &str) -> Result<Vec<i64>, StoreError> {
        let mut cond = Condition::any().add(people::Column::PersonKey.eq(p));
        if let Ok(id) = p.parse::<i64>() {
            cond = cond.add(people::Column::Id.eq(id));
        }
        Ok(people::Entity::find()
            .select_only()
            .column(people::Column::Id)
            .filter(cond)
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    async fn outbox_by_ids(&self, ids: &[i64]) -> Result<HashMap<i64, OutboxRow>, StoreError> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            for m in outbox::Entity::find()
                .filter(outbox::Column::Id.is_in(chunk.to_vec()))
                .all(self.conn())
                .await?
            {
                out.insert(m.id, m);
            }
        }
        Ok(out)
    }

    /// Outbox id → (person's name, the instance's subject key).
    async fn names_and_units<'a>(
        &self,
        rows: impl Iterator<Item = &'a OutboxRow>,
    ) -> Result<HashMap<i64, (Option<String>, Option<String>)>, StoreError> {
        let rows: Vec<&OutboxRow> = rows.collect();
        let mut person_ids: Vec<i64> = rows.iter().filter_map(|r| r.person_id).collect();
        person_ids.sort_unstable();
        person_ids.dedup();
        let mut instance_ids: Vec<i64> = rows.iter().filter_map(|r| r.instance_id).collect();
        instance_ids.sort_unstable();
        instance_ids.dedup();
        let mut names = HashMap::new();
        for chunk in person_ids.chunks(CHUNK) {
            for p in people::Entity::find()
                .filter(people::Column::Id.is_in(chunk.to_vec()))
                .all(self.conn())
                .await?
            {
                names.insert(p.id, p.name);
            }
        }
        let mut units = HashMap::new();
        for chunk in instance_ids.chunks(CHUNK) {
            for i in workflow_instances::Entity::find()
                .filter(workflow_instances::Column::Id.is_in(chunk.to_vec()))
                .all(self.conn())
                .await?
            {
                units.insert(i.id, i.subject_key);
            }
        }
        // The unit code, not the subject key, is what people look for.
        let keys: Vec<String> = units.values().cloned().collect();
        let unit_of = self.units_of_subjects(&keys).await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.id,
                    (
                        r.person_id.and_then(|p| names.get(&p).cloned()),
                        r.instance_id.and_then(|i| units.get(&i)).map(|key| {
                            unit_of
                                .get(key)
                                .map(|u| u.code.clone())
                                .unwrap_or_else(|| key.clone())
                        }),
                    ),
                )
            })
            .collect())
    }
}

impl WriteTx {
    /// Records how a claimed message ended, if `node` still holds it with the same fence,
    /// and logs the attempt. Returns false (and writes nothing) if the lease was lost.
    pub async fn finish_message(
        &self,
        m: &OutboxRow,
        node: &str,
        outcome: &MessageOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use MessageOutcome as O;
        let none_t = Option::<NaiveDateTime>::None;
        let mut u = outbox::Entity::update_many()
            .col_expr(
                outbox::Column::LeaseOwner,
                Expr::value(Option::<String>::None),
            )
            .col_expr(outbox::Column::LeaseUntil, Expr::value(none_t))
            .col_expr(outbox::Column::SendStartedAt, Expr::value(none_t));
        let (state, status, provider, pmid, error) = match outcome {
            O::Sent {
                provider,
                provider_message_id,
                content_hash,
            } => {
                u = u
                    .col_expr(outbox::Column::SentAt, Expr::value(Some(naive(now))))
                    .col_expr(
                        outbox::Column::ProviderMessageId,
                        Expr::value(Some(provider_message_id.clone())),
                    )
                    .col_expr(
                        outbox::Column::ContentHash,
                        Expr::value(content_hash.clone()),
                    )
                    .col_expr(
                        outbox::Column::LastError,
                        Expr::value(Option::<String>::None),
                    );
                (
                    outbox_state::SENT,
                    delivery_status::SENT,
                    provider.as_str(),
                    Some(provider_message_id.clone()),
                    None,
                )
            }
            O::Retry {
                provider,
                at,
                error,
            } => {
                u = u
                    .col_expr(outbox::Column::NextAttemptAt, Expr::value(naive(*at)))
                    .col_expr(outbox::Column::LastError, Expr::value(Some(error.clone())));
                (
                    outbox_state::PENDING,
                    delivery_status::TRANSIENT,
                    provider.as_str(),
                    None,
                    Some(error.clone()),
                )
            }
            O::Failed { provider, error } => {
                u = u.col_expr(outbox::Column::LastError, Expr::value(Some(error.clone())));
                (
                    outbox_state::FAILED,
                    delivery_status::PERMANENT,
                    provider.as_str(),
                    None,
                    Some(error.clone()),
                )
            }
            O::Dead { provider, error } => {
                u = u.col_expr(outbox::Column::LastError, Expr::value(Some(error.clone())));
                (
                    outbox_state::DEAD,
                    delivery_status::DEAD,
                    provider.as_str(),
                    None,
                    Some(error.clone()),
                )
            }
            O::Dropped { reason } => (
                outbox_state::DROPPED,
                delivery_status::DROPPED,
                "",
                None,
                Some(reason.clone()),
            ),
            O::Deferred { until, reason } => {
                u = u
                    .col_expr(outbox::Column::NextAttemptAt, Expr::value(naive(*until)))
                    .col_expr(
                        outbox::Column::Attempts,
                        Expr::col(outbox::Column::Attempts).sub(1),
                    );
                (
                    outbox_state::PENDING,
                    delivery_status::DEFERRED,
                    "",
                    None,
                    Some(reason.clone()),
                )
            }
        };
        let r = u
            .col_expr(outbox::Column::State, Expr::value(state))
            .filter(outbox::Column::Id.eq(m.id))
            .filter(outbox::Column::State.eq(outbox_state::SENDING))
            .filter(outbox::Column::LeaseOwner.eq(node))
            .filter(outbox::Column::Fence.eq(m.fence))
            .exec(self.conn())
            .await?;
        if r.rows_affected != 1 {
            return Ok(false);
        }
        self.log_delivery(m, node, status, provider, pmid, error, now)
            .await?;
        Ok(true)
    }

    #[allow(clippy::too_many_arguments)]
    async fn log_delivery(
        &self,
        m: &OutboxRow,
        node: &str,
        status: &str,
        provider: &str,
        provider_message_id: Option<String>,
        error: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        deliveries::ActiveModel {
            id: NotSet,
            outbox_id: Set(m.id),
            attempt: Set(m.attempts),
            at: Set(naive(now)),
            channel: Set(m.channel.clone()),
            provider: Set(provider.chars().take(32).collect()),
            provider_message_id: Set(provider_message_id.map(|s| s.chars().take(191).collect())),
            status: Set(status.to_string()),
            error: Set(error),
            node: Set(node.chars().take(64).collect()),
            seal: Set(None),
        }
        .insert(self.conn())
        .await?;
        Ok(())
    }

    /// Replaces claimed messages `members` with one digest, leased to `node` until
    /// `lease_until` like a claimed message (fence 1, first attempt). The members become `merged` into it. Returns `None`
    /// (and the caller rolls back) if any member's lease was lost.
    pub async fn merge_into_digest(
        &self,
        members: &[&OutboxRow],
        d: &NewDigest,
        node: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<OutboxRow>, StoreError> {
        let row = outbox::ActiveModel {
            id: NotSet,
            idempotency_key: Set(d.idempotency_key.clone()),
            instance_id: Set(None),
            timer_id: Set(None),
            person_id: Set(d.person_id),
            role: Set(d.role.clone()),
            channel: Set(d.channel.clone()),
            address: Set(d.address.clone()),
            subject: Set(d.subject.chars().take(255).collect()),
            body: Set(d.body.clone()),
            html: Set(None),
            not_before: Set(naive(now)),
            urgent: Set(false),
            state: Set(outbox_state::SENDING.into()),
            attempts: Set(1),
            next_attempt_at: Set(naive(now)),
            lease_owner: Set(Some(node.to_string())),
            lease_until: Set(Some(naive(lease_until))),
            fence: Set(1),
            provider_message_id: Set(None),
            last_error: Set(None),
            created_at: Set(naive(now)),
            sent_at: Set(None),
            template: Set(d.template.clone()),
            params: Set(d.params.clone()),
            content_hash: Set(None),
            digest_of: Set(None),
            resend: Set(false),
            send_started_at: Set(None),
        }
        .insert(self.conn())
        .await?;
        for m in members {
            let r = outbox::Entity::update_many()
                .col_expr(outbox::Column::State, Expr::value(outbox_state::MERGED))
                .col_expr(outbox::Column::DigestOf, Expr::value(Some(row.id)))
                .col_expr(
                    outbox::Column::LeaseOwner,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(
                    outbox::Column::LeaseUntil,
                    Expr::value(Option::<NaiveDateTime>::None),
                )
                .filter(outbox::Column::Id.eq(m.id))
                .filter(outbox::Column::State.eq(outbox_state::SENDING))
                .filter(outbox::Column::LeaseOwner.eq(node))
                .filter(outbox::Column::Fence.eq(m.fence))
                .exec(self.conn())
                .await?;
            if r.rows_affected != 1 {
                return Ok(None);
            }
            self.log_delivery(
                m,
                node,
                delivery_status::MERGED,
                "",
                None,
                Some(format!("merged into digest {}", row.id)),
                now,
            )
            .await?;
        }
        Ok(Some(row))
    }
}

impl crate::engine::WriteTx {
    /// Puts a dead, failed, dropped or sent message back in the queue at `now`, marked as a
    /// re-send (never dropped as a duplicate). Returns false if there is no such message or
    /// it is still waiting or being sent.
    pub async fn resend(&self, outbox_id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let r = outbox::Entity::update_many()
            .col_expr(outbox::Column::State, Expr::value(outbox_state::PENDING))
            .col_expr(outbox::Column::Attempts, Expr::value(0))
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(naive(now)))
            .col_expr(outbox::Column::NotBefore, Expr::value(naive(now)))
            .col_expr(outbox::Column::Resend, Expr::value(true))
            .col_expr(
                outbox::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .filter(outbox::Column::Id.eq(outbox_id))
            .filter(outbox::Column::State.is_in([
                outbox_state::DEAD,
                outbox_state::FAILED,
                outbox_state::DROPPED,
                outbox_state::SENT,
            ]))
            .exec(self.conn())
            .await?;
        Ok(r.rows_affected == 1)
    }
}
