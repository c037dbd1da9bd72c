//! The schema of duban, as sea-orm migrations.
//!
//! Migrations, not entities, are the source of truth for the schema. Every statement is
//! written with the schema builder so the same migration runs on SQLite, PostgreSQL and
//! MySQL/MariaDB. MySQL commits DDL as it goes, so each step tolerates being re-run
//! (`if_not_exists`, `if_exists`).
//!
//! Conventions every table follows:
//! - ids are `BIGINT` (`i64` in code);
//! - money is `BIGINT` fen ([`money`]), never a float or a DECIMAL column;
//! - instants are `DATETIME`/`TIMESTAMP` without zone holding UTC (MySQL's `TIMESTAMP`
//!   would end in 2038); dates of the domain (term end, deadlines) are `DATE`.

pub use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::big_integer;

mod m20261122_000001_register;
mod m20261122_000002_engine;
mod m20261122_000004_delivery;
mod m20261122_000006_ledger;
mod m20261122_000007_ledger_covering_indexes;
mod m20261122_000008_hot_path_indexes;
mod m20261129_000009_interview_place;
mod m20261129_000010_outbox_send_started;
mod m20261202_000011_audit_chain;
mod m20261202_000012_accounts;
mod m20261203_000013_delivery_seal;
mod m20261203_000014_instance_version;
mod m20261203_000015_bank;
mod m20261203_000016_members;
mod m20261203_000017_match_groups;
mod m20261203_000018_bank_profiles;
mod m20261203_000019_bases;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_register::Migration),
            Box::new(m20261122_000002_engine::Migration),
            Box::new(m20261122_000004_delivery::Migration),
            Box::new(m20261122_000006_ledger::Migration),
            Box::new(m20261122_000007_ledger_covering_indexes::Migration),
            Box::new(m20261122_000008_hot_path_indexes::Migration),
            Box::new(m20261129_000009_interview_place::Migration),
            Box::new(m20261129_000010_outbox_send_started::Migration),
            Box::new(m20261202_000011_audit_chain::Migration),
            Box::new(m20261202_000012_accounts::Migration),
            Box::new(m20261203_000013_delivery_seal::Migration),
            Box::new(m20261203_000014_instance_version::Migration),
            Box::new(m20261203_000015_bank::Migration),
            Box::new(m20261203_000016_members::Migration),
            Box::new(m20261203_000017_match_groups::Migration),
            Box::new(m20261203_000018_bank_profiles::Migration),
            Box::new(m20261203_000019_bases::Migration),
        ]
    }
}

/// Drops an index unless it is already gone: MySQL has no `DROP INDEX IF EXISTS`.
pub(crate) async fn drop_index_if_exists(
    m: &SchemaManager<'_>,
    table: &str,
    name: &str,
) -> Result<(), DbErr> {
    if m.has_index(table, name).await? {
        m.drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
            .await?;
    }
    Ok(())
}

/// A money column: whole fen in a 64-bit integer, exact on every backend.
pub fn money<T: IntoIden>(col: T) -> ColumnDef {
    big_integer(col)
}
