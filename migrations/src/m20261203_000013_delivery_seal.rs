//! `deliveries.seal`: the `seq` of the audit entry that sealed the delivery attempt.
//!
//! The dispatcher seals the attempts it logged in batches: one audit entry records how many
//! and the SHA-256 of their content (with the message each one sent), and each row names
//! that entry. `duban audit verify` recomputes every seal, so what was sent can be proven
//! like any other change. Rows logged before this migration are sealed by the next
//! dispatch pass.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Seal,
}

const INDEX: &str = "ix_deliveries_seal";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // MySQL commits DDL as it goes: tolerate a re-run.
        if !m.has_column("deliveries", "seal").await? {
            m.alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .add_column(ColumnDef::new(Deliveries::Seal).big_integer().null())
                    .to_owned(),
            )
            .await?;
        }
        if !m.has_index("deliveries", INDEX).await? {
            m.create_index(
                Index::create()
                    .name(INDEX)
                    .table(Deliveries::Table)
                    .col(Deliveries::Seal)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::drop_index_if_exists(m, "deliveries", INDEX).await?;
        if m.has_column("deliveries", "seal").await? {
            m.alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .drop_column(Deliveries::Seal)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
