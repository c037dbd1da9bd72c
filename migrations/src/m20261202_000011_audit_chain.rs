//! The audit log becomes a hash chain: every entry gets a sequence number `seq` (unique),
//! where the change came from (`origin`: `cli`, an IP address, `link`, `engine`), and the
//! hash of the entry before it (`prev_hash`) and its own (`hash`, hex SHA-256).
//! `audit_head` is one row (id 1) holding the last entry's `seq` and `hash`; appending locks
//! it, so entries are chained one at a time.
//!
//! Entries already written are sealed here, in id order, with origin `''`, so an upgraded
//! database verifies clean. The hash is computed as `duban_core::audit_chain::hash` does
//! (version 1 of the encoding); the copy below is this migration's own, so that it never
//! changes once released.

use sea_orm::{ConnectionTrait, QueryResult};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Actor,
    Origin,
    Action,
    Entity,
    EntityKey,
    Before,
    After,
    Seq,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditHead {
    Table,
    Id,
    Seq,
    Hash,
}

const SEQ_INDEX: &str = "ux_audit_log_seq";
/// Rows read and sealed at a time.
const PAGE: u64 = 500;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // MySQL commits DDL as it goes: every step tolerates a re-run.
        let columns = [
            (
                "seq",
                ColumnDef::new(AuditLog::Seq)
                    .big_integer()
                    .null()
                    .to_owned(),
            ),
            (
                "origin",
                ColumnDef::new(AuditLog::Origin)
                    .string_len(64)
                    .not_null()
                    .default("")
                    .to_owned(),
            ),
            (
                "prev_hash",
                ColumnDef::new(AuditLog::PrevHash)
                    .string_len(64)
                    .null()
                    .to_owned(),
            ),
            (
                "hash",
                ColumnDef::new(AuditLog::Hash)
                    .string_len(64)
                    .null()
                    .to_owned(),
            ),
        ];
        for (name, mut def) in columns {
            if !m.has_column("audit_log", name).await? {
                m.alter_table(
                    Table::alter()
                        .table(AuditLog::Table)
                        .add_column(&mut def)
                        .to_owned(),
                )
                .await?;
            }
        }
        m.create_table(
            Table::create()
                .table(AuditHead::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(AuditHead::Id)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(AuditHead::Seq).big_integer().not_null())
                .col(ColumnDef::new(AuditHead::Hash).string_len(64).not_null())
                .to_owned(),
        )
        .await?;

        // Seal what is there in one transaction: all of it or nothing.
        let tx = m.begin().await?;
        seal(tx.get_connection()).await?;
        tx.commit().await?;

        if !m.has_index("audit_log", SEQ_INDEX).await? {
            m.create_index(
                Index::create()
                    .name(SEQ_INDEX)
                    .table(AuditLog::Table)
                    .col(AuditLog::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::drop_index_if_exists(m, "audit_log", SEQ_INDEX).await?;
        m.drop_table(Table::drop().table(AuditHead::Table).if_exists().to_owned())
            .await?;
        for (name, col) in [
            ("hash", AuditLog::Hash),
            ("prev_hash", AuditLog::PrevHash),
            ("origin", AuditLog::Origin),
            ("seq", AuditLog::Seq),
        ] {
            if m.has_column("audit_log", name).await? {
                m.alter_table(
                    Table::alter()
                        .table(AuditLog::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// Chains every entry without a `seq`, in id order, after the last sealed one, and points
/// the head at the last entry.
async fn seal<C: ConnectionTrait>(c: &C) -> Result<(), DbErr> {
    let last = c
        .query_one(
            Query::select()
                .columns([AuditLog::Seq, AuditLog::Hash])
                .from(AuditLog::Table)
                .and_where(Expr::col(AuditLog::Seq).is_not_null())
                .order_by(AuditLog::Seq, Order::Desc)
                .limit(1),
        )
        .await?;
    let (mut seq, mut prev) = match last {
        Some(row) => (
            row.try_get::<i64>("", "seq")?,
            row.try_get::<Option<String>>("", "hash")?
                .unwrap_or_else(|| GENESIS.to_string()),
        ),
        None => (0, GENESIS.to_string()),
    };
    let mut after_id = i64::MIN;
    loop {
        let rows = c
            .query_all(
                Query::select()
                    .columns([
                        AuditLog::Id,
                        AuditLog::At,
                        AuditLog::Actor,
                        AuditLog::Origin,
                        AuditLog::Action,
                        AuditLog::Entity,
                        AuditLog::EntityKey,
                        AuditLog::Before,
                        AuditLog::After,
                    ])
                    .from(AuditLog::Table)
                    .and_where(Expr::col(AuditLog::Seq).is_null())
                    .and_where(Expr::col(AuditLog::Id).gt(after_id))
                    .order_by(AuditLog::Id, Order::Asc)
                    .limit(PAGE),
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after_id = last.try_get::<i64>("", "id")?;
        for row in &rows {
            seq += 1;
            let hash = hash_of(&prev, seq, row)?;
            c.execute(
                Query::update()
                    .table(AuditLog::Table)
                    .value(AuditLog::Seq, seq)
                    .value(AuditLog::PrevHash, prev.clone())
                    .value(AuditLog::Hash, hash.clone())
                    .and_where(Expr::col(AuditLog::Id).eq(row.try_get::<i64>("", "id")?)),
            )
            .await?;
            prev = hash;
        }
    }
    let head = c
        .query_one(
            Query::select()
                .column(AuditHead::Id)
                .from(AuditHead::Table)
                .and_where(Expr::col(AuditHead::Id).eq(1)),
        )
        .await?;
    if head.is_some() {
        c.execute(
            Query::update()
                .table(AuditHead::Table)
                .value(AuditHead::Seq, seq)
                .value(AuditHead::Hash, prev)
                .and_where(Expr::col(AuditHead::Id).eq(1)),
        )
        .await?;
    } else {
        c.execute(
            Query::insert()
                .into_table(AuditHead::Table)
                .columns([AuditHead::Id, AuditHead::Seq, AuditHead::Hash])
                .values_panic([1i64.into(), seq.into(), prev.into()]),
        )
        .await?;
    }
    Ok(())
}

fn hash_of(prev: &str, seq: i64, row: &QueryResult) -> Result<String, DbErr> {
    let at: chrono::NaiveDateTime = row.try_get("", "at")?;
    let text = |col: &str| row.try_get::<String>("", col);
    let opt = |col: &str| row.try_get::<Option<String>>("", col);
    Ok(chain_hash(
        prev,
        seq,
        at,
        [
            &text("actor")?,
            &text("origin")?,
            &text("action")?,
            &text("entity")?,
            &text("entity_key")?,
        ],
        opt("before")?.as_deref(),
        opt("after")?.as_deref(),
    ))
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Version 1 of the chain's encoding: see `duban_core::audit_chain`.
fn chain_hash(
    prev: &str,
    seq: i64,
    at: chrono::NaiveDateTime,
    [actor, origin, action, entity, entity_key]: [&str; 5],
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    let seq = seq.to_string();
    let at = at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let mut h = Sha256::new();
    h.update(b"duban-audit-chain-v1\n");
    for f in [
        Some(prev),
        Some(seq.as_str()),
        Some(at.as_str()),
        Some(actor),
        Some(origin),
        Some(action),
        Some(entity),
        Some(entity_key),
        before,
        after,
    ] {
        match f {
            None => h.update([0u8]),
            Some(v) => {
                h.update([1u8]);
                h.update((v.len() as u64).to_be_bytes());
                h.update(v.as_bytes());
            }
        }
    }
    let mut hex = String::with_capacity(64);
    for b in h.finalize().iter() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use duban_core::audit_chain::{self, Entry};

    #[test]
    fn the_seal_hashes_as_the_chain_does() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
            .unwrap()
            .and_hms_nano_opt(1, 2, 3, 456_789_123)
            .unwrap();
        for (before, after) in [
            (None, Some("{}")),
            (Some(""), None),
            (Some("[1]"), Some("x")),
        ] {
            let e = Entry {
                seq: 42,
                at,
                actor: "li",
                origin: "",
                action: "update_unit",
                entity: "party_unit",
                entity_key: "JN-001",
                before,
                after,
            };
            let prev = audit_chain::hash(audit_chain::GENESIS, &Entry { seq: 41, ..e });
            assert_eq!(
                chain_hash(
                    &prev,
                    42,
                    at,
                    ["li", "", "update_unit", "party_unit", "JN-001"],
                    before,
                    after
                ),
                audit_chain::hash(&prev, &e)
            );
        }
        assert_eq!(GENESIS, audit_chain::GENESIS);
    }
}
