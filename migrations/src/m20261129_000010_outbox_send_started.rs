//! `outbox.send_started_at`: when the lease holder began handing the message to its channel.
//!
//! The dispatcher writes it (fenced) just before each send and clears it with the result, so
//! a message whose lease expires while it is set may have left: the node that takes it over
//! logs that attempt as uncertain before sending it again.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    SendStartedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // MySQL commits DDL as it goes: tolerate a re-run.
        if !m.has_column("outbox", "send_started_at").await? {
            m.alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(ColumnDef::new(Outbox::SendStartedAt).date_time().null())
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.has_column("outbox", "send_started_at").await? {
            m.alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .drop_column(Outbox::SendStartedAt)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
