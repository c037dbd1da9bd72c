//! Delivery: the log of every attempt to send an outbox message, and the outbox columns the
//! dispatcher needs (SMS template and parameters, a content hash for duplicate suppression,
//! the digest a held reminder was merged into, and an administrator's re-send flag).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Template,
    Params,
    ContentHash,
    DigestOf,
    Resend,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    OutboxId,
    Attempt,
    At,
    Channel,
    Provider,
    ProviderMessageId,
    Status,
    Error,
    Node,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds only one per ALTER TABLE, and MySQL commits
        // each, so a re-run skips what is already there.
        let cols: [(&str, ColumnDef); 5] = [
            ("template", string_len_null(Outbox::Template, 64)),
            ("params", text_null(Outbox::Params)),
            ("content_hash", string_len_null(Outbox::ContentHash, 64)),
            ("digest_of", big_integer_null(Outbox::DigestOf)),
            ("resend", boolean(Outbox::Resend).default(false).to_owned()),
        ];
        for (name, mut col) in cols {
            if !m.has_column("outbox", name).await? {
                m.alter_table(
                    Table::alter()
                        .table(Outbox::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
            }
        }
        m.create_table(
            Table::create()
                .table(Deliveries::Table)
                .if_not_exists()
                .col(big_pk_auto(Deliveries::Id))
                .col(big_integer(Deliveries::OutboxId))
                .col(integer(Deliveries::Attempt))
                .col(date_time(Deliveries::At))
                .col(string_len(Deliveries::Channel, 16))
                .col(string_len(Deliveries::Provider, 32))
                .col(string_len_null(Deliveries::ProviderMessageId, 191))
                .col(string_len(Deliveries::Status, 16))
                .col(text_null(Deliveries::Error))
                .col(string_len(Deliveries::Node, 64))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_deliveries_outbox")
                .table(Deliveries::Table)
                .col(Deliveries::OutboxId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_deliveries_at")
                .table(Deliveries::Table)
                .col(Deliveries::At)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Deliveries::Table)
                .if_exists()
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("template", Outbox::Template),
            ("params", Outbox::Params),
            ("content_hash", Outbox::ContentHash),
            ("digest_of", Outbox::DigestOf),
            ("resend", Outbox::Resend),
        ] {
            if m.has_column("outbox", name).await? {
                m.alter_table(
                    Table::alter()
                        .table(Outbox::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
            }
        }
        Ok(())
    }
}
