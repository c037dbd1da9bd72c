//! Match groups and the fees booked for a match.
//!
//! - `bank_matches.group_id`: the rows of one match that pairs one line with several
//!   postings (several disbursements paid in one line, or a posting and the fee booked for
//!   its difference) or several lines with one posting (a payment split over several lines)
//!   share the id of the group's first row; a one-to-one match has none. An unmatch
//!   reverses every row of the group, each with its own reversing row.
//! - `bank_matches.fee_transaction_id`: on the first row of a match within the tolerance,
//!   the ledger transaction that booked the difference to the fee account; an unmatch
//!   reverses it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BankMatches {
    Table,
    GroupId,
    FeeTransactionId,
}

const INDEX: &str = "ix_bank_matches_group";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // MySQL commits DDL as it goes: tolerate a re-run.
        for (name, col) in [
            ("group_id", BankMatches::GroupId),
            ("fee_transaction_id", BankMatches::FeeTransactionId),
        ] {
            if !m.has_column("bank_matches", name).await? {
                m.alter_table(
                    Table::alter()
                        .table(BankMatches::Table)
                        .add_column(big_integer_null(col))
                        .to_owned(),
                )
                .await?;
            }
        }
        if !m.has_index("bank_matches", INDEX).await? {
            m.create_index(
                Index::create()
                    .name(INDEX)
                    .table(BankMatches::Table)
                    .col(BankMatches::GroupId)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::drop_index_if_exists(m, "bank_matches", INDEX).await?;
        for name in ["group_id", "fee_transaction_id"] {
            if m.has_column("bank_matches", name).await? {
                m.alter_table(
                    Table::alter()
                        .table(BankMatches::Table)
                        .drop_column(Alias::new(name))
                        .to_owned(),
                )
                .await?;
            }
        }
        Ok(())
    }
}
