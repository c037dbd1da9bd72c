//! Bank statement profiles a finance officer saved from a preview.
//!
//! - `bank_profiles`: one row per saved profile, unique by `name`; `profile` is the
//!   `duban_bank::Profile` as JSON (keywords per column, detect words, labels, flags),
//!   `saved_by` and `saved_at` who saved it last and when. Saving again under the same name
//!   replaces the row; the audit log keeps the value it replaced.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BankProfiles {
    Table,
    Id,
    Name,
    Profile,
    SavedBy,
    SavedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BankProfiles::Table)
                .if_not_exists()
                .col(big_pk_auto(BankProfiles::Id))
                .col(string_len(BankProfiles::Name, 64))
                .col(text(BankProfiles::Profile))
                .col(string_len(BankProfiles::SavedBy, 64))
                .col(date_time(BankProfiles::SavedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ux_bank_profiles_name")
                .table(BankProfiles::Table)
                .col(BankProfiles::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(BankProfiles::Table)
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
