//! Party members (党员名册), the subjects of the `member` workflows (政治生日).
//!
//! - `members`: one row per member of a party unit, unique by unit and name (the identity a
//!   roster import upserts by). `joined_on` is the day the member was admitted as a
//!   probationary member (预备党员); mobile and email are optional. `person_id` links the
//!   `people` row messages to the member are addressed to (none when the member gave no
//!   contact). `active` is false for a member no longer on the unit's roster.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
    UnitId,
    PersonId,
    Name,
    JoinedOn,
    Mobile,
    Email,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PartyUnits {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum People {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Members::Table)
                .if_not_exists()
                .col(big_pk_auto(Members::Id))
                .col(big_integer(Members::UnitId))
                .col(big_integer_null(Members::PersonId))
                .col(string_len(Members::Name, 64))
                .col(date(Members::JoinedOn))
                .col(string_len_null(Members::Mobile, 20))
                .col(string_len_null(Members::Email, 254))
                .col(boolean(Members::Active).default(true))
                .col(date_time(Members::CreatedAt))
                .col(date_time(Members::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_members_unit")
                        .from(Members::Table, Members::UnitId)
                        .to(PartyUnits::Table, PartyUnits::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_members_person")
                        .from(Members::Table, Members::PersonId)
                        .to(People::Table, People::Id),
                )
                .to_owned(),
        )
        .await?;
        // Leads with the unit: the index of a unit's members and of the roster's identity.
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ux_members_unit_name")
                .table(Members::Table)
                .col(Members::UnitId)
                .col(Members::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Members::Table).if_exists().to_owned())
            .await
    }
}
