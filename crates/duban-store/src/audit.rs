//! The audit log: every change a person makes, with who, when, from where, what, before
//! and after. Written in the same transaction as the change, so one never exists without
//! the other.
//!
//! The log is a hash chain (`duban_core::audit_chain`): each entry has the next `seq` and a
//! hash over its content and the previous entry's hash. Appending locks the one row of
//! `audit_head` (`SELECT … FOR UPDATE` on PostgreSQL and MariaDB; on SQLite the write
//! transaction already holds the database's one write lock), so concurrent writers chain
//! their entries one after the other, and the head says where the chain ends: deleting the
//! last entries shows too. [`Store::verify_audit`] walks the chain; duban never deletes from
//! it.

use crate::entities::{audit_head, audit_log, deliveries};
use crate::seals;
use crate::{Store, StoreError};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use duban_core::audit_chain::{self, Entry, GENESIS};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, NotSet,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;

/// One change to record.
pub struct Change<'a, T: Serialize + ?Sized> {
    pub actor: &'a str,
    /// Where the change came from: `cli`, an IP address, `link`, `engine`.
    pub origin: &'a str,
    pub at: DateTime<Utc>,
    pub action: &'a str,
    pub entity: &'a str,
    pub key: &'a str,
    pub before: Option<&'a T>,
    pub after: Option<&'a T>,
}

/// The origin of changes made with the `duban` command line.
pub const ORIGIN_CLI: &str = "cli";

tokio::task_local! {
    /// Where the changes of the request being carried out come from, set by the application
    /// layer around a use case ([`with_origin`]): the engine's recorders deep below it then
    /// audit the request's origin, not the one they would name.
    static REQUEST_ORIGIN: String;
}

/// Runs `f` with every audit entry it writes marked as coming from `origin`.
pub async fn with_origin<F: std::future::Future>(origin: &str, f: F) -> F::Output {
    REQUEST_ORIGIN.scope(origin.to_string(), f).await
}

/// Appends `c` to the chain, inside the caller's transaction (which must be a write
/// transaction: on SQLite an IMMEDIATE one). Returns the new entry's `seq`.
pub async fn record<C: ConnectionTrait, T: Serialize>(
    conn: &C,
    c: Change<'_, T>,
) -> Result<i64, DbErr> {
    let json = |v: Option<&T>| -> Result<Option<String>, DbErr> {
        v.map(|v| serde_json::to_string(v).map_err(|e| DbErr::Custom(e.to_string())))
            .transpose()
    };
    let (before, after) = (json(c.before)?, json(c.after)?);
    record_json(
        conn,
        Change {
            actor: c.actor,
            origin: c.origin,
            at: c.at,
            action: c.action,
            entity: c.entity,
            key: c.key,
            before: before.as_deref(),
            after: after.as_deref(),
        },
    )
    .await
}

/// [`record`] with `before` and `after` already JSON text.
pub async fn record_json<C: ConnectionTrait>(conn: &C, c: Change<'_, str>) -> Result<i64, DbErr> {
    let (before, after) = (c.before.map(str::to_string), c.after.map(str::to_string));
    let request_origin = REQUEST_ORIGIN.try_with(|o| o.clone()).ok();
    let c = Change {
        origin: request_origin.as_deref().unwrap_or(c.origin),
        ..c
    };
    let at = as_stored(conn.get_database_backend(), c.at);
    let head = audit_head::Entity::find_by_id(1i64)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| {
            DbErr::Custom("the audit chain's head row is missing; run `duban migrate up`".into())
        })?;
    let seq = head.seq + 1;
    let hash = audit_chain::hash(
        &head.hash,
        &Entry {
            seq,
            at,
            actor: c.actor,
            origin: c.origin,
            action: c.action,
            entity: c.entity,
            entity_key: c.key,
            before: before.as_deref(),
            after: after.as_deref(),
        },
    );
    audit_log::ActiveModel {
        id: NotSet,
        at: Set(at),
        actor: Set(c.actor.to_string()),
        action: Set(c.action.to_string()),
        entity: Set(c.entity.to_string()),
        entity_key: Set(c.key.to_string()),
        before: Set(before),
        after: Set(after),
        seq: Set(Some(seq)),
        origin: Set(c.origin.to_string()),
        prev_hash: Set(Some(head.hash.clone())),
        hash: Set(Some(hash.clone())),
    }
    .insert(conn)
    .await?;
    // Conditional on the head read under the lock: a head that moved anyway fails the
    // transaction instead of forking the chain.
    let moved = audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Seq, Expr::value(seq))
        .col_expr(audit_head::Column::Hash, Expr::value(hash))
        .filter(audit_head::Column::Id.eq(1i64))
        .filter(audit_head::Column::Seq.eq(head.seq))
        .exec(conn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(DbErr::Custom(format!(
            "the audit chain's head moved past seq {} while entry {seq} was appended",
            head.seq
        )));
    }
    Ok(seq)
}

/// Locks the chain's head row for the rest of the caller's write transaction.
pub(crate) async fn lock_head<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    audit_head::Entity::find_by_id(1i64)
        .lock_exclusive()
        .one(conn)
        .await?;
    Ok(())
}

/// The instant as the database keeps it, so that the hash computed now is the hash of what
/// is read back: microseconds, and whole seconds on MySQL/MariaDB (`DATETIME`).
fn as_stored(backend: DbBackend, at: DateTime<Utc>) -> NaiveDateTime {
    let at = at.naive_utc();
    match backend {
        DbBackend::MySql => at.trunc_subsecs(0),
        _ => at.trunc_subsecs(6),
    }
}

/// Entries read at a time by [`Store::verify_audit`] and [`Store::audit_entries`].
pub const PAGE: u64 = 500;

/// At most this many findings are reported; the walk stops there.
pub const MAX_FINDINGS: usize = 100;

/// What is wrong with an entry of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AuditProblem))]
pub enum Problem {
    /// Its content does not match its hash: it was edited.
    Edited,
    /// Entries before it in the sequence are gone: deleted.
    Deleted,
    /// It does not follow the entry before it (`prev_hash`): entries reordered or replaced.
    Reordered,
    /// The head says the chain goes on past the last entry: the last entries were deleted.
    TailDeleted,
    /// It has no place in the chain (no `seq` or `hash`, or past the head): written around
    /// duban.
    Unchained,
    /// The head row is missing.
    NoHead,
    /// Rows it seals (ledger transactions, delivery attempts) were changed, added or
    /// removed after it sealed them.
    Altered,
    /// Ledger transactions or delivery attempts that no entry of the chain covers.
    Unaudited,
}

impl Problem {
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Edited => "edited",
            Problem::Deleted => "deleted",
            Problem::Reordered => "reordered",
            Problem::TailDeleted => "tail deleted",
            Problem::Unchained => "unchained",
            Problem::NoHead => "no head",
            Problem::Altered => "altered",
            Problem::Unaudited => "unaudited",
        }
    }
}

/// One problem, naming the entry (`seq` and `id`) where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    pub seq: Option<i64>,
    pub id: Option<i64>,
    pub problem: Problem,
    pub detail: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.seq, self.id) {
            (Some(seq), Some(id)) => write!(f, "seq {seq} (id {id})")?,
            (None, Some(id)) => write!(f, "id {id}")?,
            (Some(seq), None) => write!(f, "seq {seq}")?,
            (None, None) => f.write_str("audit log")?,
        }
        write!(f, ": {}: {}", self.problem.as_str(), self.detail)
    }
}

/// What [`Store::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditReport {
    /// Entries walked.
    pub rows: u64,
    /// The head: the last entry's seq and hash, as the head row says.
    pub head_seq: Option<i64>,
    pub head_hash: Option<String>,
    /// The first problems found, in chain order; empty when the log is intact.
    pub findings: Vec<Finding>,
    /// True when the walk stopped at [`MAX_FINDINGS`] and more may follow.
    pub truncated: bool,
    /// Delivery attempts logged since the last seal: the dispatcher's next pass seals them.
    pub unsealed_deliveries: u64,
}

impl AuditReport {
    pub fn intact(&self) -> bool {
        self.findings.is_empty()
    }
}

/// One entry of the log, as an export shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub seq: i64,
    pub id: i64,
    /// UTC, microseconds: the form the hash covers (`duban_core::audit_chain::format_at`).
    pub at: String,
    pub actor: String,
    pub origin: String,
    pub action: String,
    pub entity: String,
    pub entity_key: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

impl Store {
    /// Walks the audit chain in `seq` order, a page at a time, in one read transaction, and
    /// reports the first problems: an entry whose content does not match its hash (edited),
    /// a gap in the sequence (deleted), an entry that does not follow the one before it
    /// (reordered), a head past the last entry (the last entries deleted), entries with no
    /// place in the chain.
    pub async fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        use sea_orm::{AccessMode, IsolationLevel};
        let txn = match self.backend() {
            crate::Backend::Sqlite => self.conn().begin().await?,
            _ => {
                self.conn()
                    .begin_with_config(
                        Some(IsolationLevel::RepeatableRead),
                        Some(AccessMode::ReadOnly),
                    )
                    .await?
            }
        };
        let report = walk(&txn).await;
        txn.rollback().await?;
        report
    }

    /// Chained entries made from `from` (inclusive) to `to` (exclusive), after `after_seq`,
    /// in `seq` order, at most `limit`: page through with the last `seq` of each page.
    pub async fn audit_entries(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after_seq: i64,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::Seq.gt(after_seq))
            .filter(audit_log::Column::At.gte(from.naive_utc()))
            .filter(audit_log::Column::At.lt(to.naive_utc()))
            .order_by_asc(audit_log::Column::Seq)
            .limit(limit)
            .all(self.conn())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(AuditEntry {
                    seq: r.seq?,
                    id: r.id,
                    at: audit_chain::format_at(r.at),
                    actor: r.actor,
                    origin: r.origin,
                    action: r.action,
                    entity: r.entity,
                    entity_key: r.entity_key,
                    before: r.before,
                    after: r.after,
                    prev_hash: r.prev_hash.unwrap_or_default(),
                    hash: r.hash.unwrap_or_default(),
                })
            })
            .collect())
    }
}

fn found(report: &mut AuditReport, f: Finding) {
    if report.findings.len() < MAX_FINDINGS {
        report.findings.push(f);
    } else {
        report.truncated = true;
    }
}

/// The last entry walked.
struct Last {
    seq: i64,
    id: i64,
    hash: String,
}

async fn walk<C: ConnectionTrait>(c: &C) -> Result<AuditReport, StoreError> {
    let head = audit_head::Entity::find_by_id(1i64).one(c).await?;
    let mut report = AuditReport {
        rows: 0,
        head_seq: head.as_ref().map(|h| h.seq),
        head_hash: head.as_ref().map(|h| h.hash.clone()),
        findings: Vec::new(),
        truncated: false,
        unsealed_deliveries: 0,
    };
    let mut last: Option<Last> = None;
    let mut seals = Vec::new();
    'pages: loop {
        let page = audit_log::Entity::find()
            .filter(audit_log::Column::Seq.gt(last.as_ref().map_or(i64::MIN, |l| l.seq)))
            .order_by_asc(audit_log::Column::Seq)
            .limit(PAGE)
            .all(c)
            .await?;
        if page.is_empty() {
            break;
        }
        for row in page {
            if report.truncated {
                break 'pages;
            }
            let Some(seq) = row.seq else { continue };
            report.rows += 1;
            let at = |problem, detail| Finding {
                seq: Some(seq),
                id: Some(row.id),
                problem,
                detail,
            };
            let expected = last.as_ref().map_or(1, |l| l.seq + 1);
            if seq != expected {
                let missing = if seq == expected + 1 {
                    format!("seq {expected} is missing before it")
                } else {
                    format!("seq {expected} to {} are missing before it", seq - 1)
                };
                found(&mut report, at(Problem::Deleted, missing));
            } else {
                let (want, after) = match &last {
                    Some(l) => (l.hash.as_str(), format!("seq {} (id {})", l.seq, l.id)),
                    None => (GENESIS, "the start of the chain".to_string()),
                };
                if row.prev_hash.as_deref() != Some(want) {
                    found(
                        &mut report,
                        at(
                            Problem::Reordered,
                            format!(
                                "it does not follow {after}: its prev_hash {} is not {}",
                                short(row.prev_hash.as_deref().unwrap_or("(none)")),
                                short(want)
                            ),
                        ),
                    );
                }
            }
            let computed = audit_chain::hash(
                row.prev_hash.as_deref().unwrap_or(""),
                &Entry {
                    seq,
                    at: row.at,
                    actor: &row.actor,
                    origin: &row.origin,
                    action: &row.action,
                    entity: &row.entity,
                    entity_key: &row.entity_key,
                    before: row.before.as_deref(),
                    after: row.after.as_deref(),
                },
            );
            match row.hash.as_deref() {
                Some(h) if h == computed => {}
                Some(h) => found(
                    &mut report,
                    at(
                        Problem::Edited,
                        format!(
                            "its content does not match its hash {} ({} {} {}): changed after it was written",
                            short(h),
                            row.action,
                            row.entity,
                            row.entity_key
                        ),
                    ),
                ),
                None => found(&mut report, at(Problem::Unchained, "it has no hash".into())),
            }
            seals.extend(seals::seal_of(
                seq,
                row.id,
                &row.entity,
                &row.action,
                row.after.as_deref(),
            ));
            last = Some(Last {
                seq,
                id: row.id,
                hash: row.hash.unwrap_or_default(),
            });
        }
    }
    match (&head, &last) {
        _ if report.truncated => {}
        (None, _) => found(
            &mut report,
            Finding {
                seq: None,
                id: None,
                problem: Problem::NoHead,
                detail: "the head row of audit_head is missing".into(),
            },
        ),
        (Some(h), None) if h.seq != 0 => found(
            &mut report,
            Finding {
                seq: Some(h.seq),
                id: None,
                problem: Problem::TailDeleted,
                detail: format!(
                    "the head says the chain ends at seq {} ({}) but no entry is left",
                    h.seq,
                    short(&h.hash)
                ),
            },
        ),
        (Some(h), Some(l)) if h.seq > l.seq => found(
            &mut report,
            Finding {
                seq: Some(h.seq),
                id: None,
                problem: Problem::TailDeleted,
                detail: format!(
                    "the head says the chain ends here ({}) but the last entry is seq {} (id {}): the entries after it were deleted",
                    short(&h.hash),
                    l.seq,
                    l.id
                ),
            },
        ),
        (Some(h), Some(l)) if h.seq < l.seq => found(
            &mut report,
            Finding {
                seq: Some(l.seq),
                id: Some(l.id),
                problem: Problem::Unchained,
                detail: format!(
                    "the head says the chain ends at seq {} ({}): the entries after it were added around duban",
                    h.seq,
                    short(&h.hash)
                ),
            },
        ),
        (Some(h), Some(l)) if h.hash != l.hash => found(
            &mut report,
            Finding {
                seq: Some(l.seq),
                id: Some(l.id),
                problem: Problem::Edited,
                detail: format!(
                    "it is not the last entry the head recorded ({}, this one is {}): replaced",
                    short(&h.hash),
                    short(&l.hash)
                ),
            },
        ),
        _ => {}
    }
    if !report.truncated {
        let unchained = audit_log::Entity::find()
            .filter(audit_log::Column::Seq.is_null())
            .order_by_asc(audit_log::Column::Id)
            .limit((MAX_FINDINGS + 1) as u64)
            .all(c)
            .await?;
        for row in unchained {
            found(
                &mut report,
                Finding {
                    seq: None,
                    id: Some(row.id),
                    problem: Problem::Unchained,
                    detail: format!(
                        "it has no place in the chain ({} {} {} at {}): written around duban",
                        row.action,
                        row.entity,
                        row.entity_key,
                        audit_chain::format_at(row.at)
                    ),
                },
            );
        }
    }
    if !report.truncated {
        seals::check(c, &seals, &mut |f| found(&mut report, f)).await?;
    }
    report.unsealed_deliveries = deliveries::Entity::find()
        .filter(deliveries::Column::Seal.is_null())
        .count(c)
        .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_hashed_as_each_backend_keeps_them() {
        let at = DateTime::parse_from_rfc3339("2026-03-02T01:02:03.456789123Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            audit_chain::format_at(as_stored(DbBackend::Postgres, at)),
            "2026-03-02T01:02:03.456789Z"
        );
        assert_eq!(
            as_stored(DbBackend::Sqlite, at),
            as_stored(DbBackend::Postgres, at)
        );
        assert_eq!(
            audit_chain::format_at(as_stored(DbBackend::MySql, at)),
            "2026-03-02T01:02:03.000000Z"
        );
    }

    #[test]
    fn findings_name_the_entry() {
        let f = Finding {
            seq: Some(7),
            id: Some(12),
            problem: Problem::Edited,
            detail: "x".into(),
        };
        assert_eq!(f.to_string(), "seq 7 (id 12): edited: x");
    }
}
