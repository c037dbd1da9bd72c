//! The audit log: every change a person makes, with who, when, from where, what, before
//! and after. Written in the same transaction as the change, so one never exists without
//! the other.
//!
//! The log is a hash chain (`duban_core::audit_chain`): each entry has the next `seq` and a
//! hash over its content and the previous entry's hash. Appending locks the one row of
//! `audit_head` (`SELECT … FOR UPDATE` on PostgreSQL and MariaDB; on SQLite the write
//! transaction already holds the database's one write lock), so concurrent writers chain
//! their entries one after the other, and the head says where the chain ends: deleting the
//! last entries shows too. duban never deletes from it.

use crate::entities::{audit_head, audit_log};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use duban_core::audit_chain::{self, Entry};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, NotSet,
    QueryFilter, QuerySelect, Set,
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

/// Appends `c` to the chain, inside the caller's transaction (which must be a write
/// transaction: on SQLite an IMMEDIATE one).
pub async fn record<C: ConnectionTrait, T: Serialize>(
    conn: &C,
    c: Change<'_, T>,
) -> Result<(), DbErr> {
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
pub async fn record_json<C: ConnectionTrait>(conn: &C, c: Change<'_, str>) -> Result<(), DbErr> {
    let (before, after) = (c.before.map(str::to_string), c.after.map(str::to_string));
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
}
