//! The register (台账): people, party units, organisations, elections, and the audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum People {
    Table,
    Id,
    PersonKey,
    Name,
    Post,
    Mobile,
    Email,
    Channels,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PartyUnits {
    Table,
    Id,
    Code,
    Name,
    Level,
    Formation,
    SuperiorId,
    SecretaryId,
    TermStart,
    TermEnd,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
    CreditCode,
    Name,
    Kind,
    District,
    Street,
    Employees,
    PartyMembers,
    Instructor,
    UnitId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Elections {
    Table,
    Id,
    UnitId,
    HeldOn,
    RecordedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Actor,
    Action,
    Entity,
    EntityKey,
    Before,
    After,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(People::Table)
                .if_not_exists()
                .col(big_pk_auto(People::Id))
                .col(string_len_uniq(People::PersonKey, 254))
                .col(string_len(People::Name, 64))
                .col(string_len_null(People::Post, 64))
                .col(string_len_null(People::Mobile, 16))
                .col(string_len_null(People::Email, 254))
                .col(string_len(People::Channels, 32))
                .col(date_time(People::CreatedAt))
                .col(date_time(People::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PartyUnits::Table)
                .if_not_exists()
                .col(big_pk_auto(PartyUnits::Id))
                .col(string_len_uniq(PartyUnits::Code, 64))
                .col(string_len(PartyUnits::Name, 128))
                .col(string_len(PartyUnits::Level, 16))
                .col(string_len(PartyUnits::Formation, 16))
                .col(big_integer_null(PartyUnits::SuperiorId))
                .col(big_integer_null(PartyUnits::SecretaryId))
                .col(date_null(PartyUnits::TermStart))
                .col(date_null(PartyUnits::TermEnd))
                .col(date_time(PartyUnits::CreatedAt))
                .col(date_time(PartyUnits::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_party_units_superior")
                        .from(PartyUnits::Table, PartyUnits::SuperiorId)
                        .to(PartyUnits::Table, PartyUnits::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_party_units_secretary")
                        .from(PartyUnits::Table, PartyUnits::SecretaryId)
                        .to(People::Table, People::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_party_units_term_end")
                .table(PartyUnits::Table)
                .col(PartyUnits::TermEnd)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Organisations::Table)
                .if_not_exists()
                .col(big_pk_auto(Organisations::Id))
                .col(char_len_uniq(Organisations::CreditCode, 18))
                .col(string_len(Organisations::Name, 128))
                .col(string_len(Organisations::Kind, 32))
                .col(string_len(Organisations::District, 64))
                .col(string_len(Organisations::Street, 128))
                .col(integer(Organisations::Employees))
                .col(integer(Organisations::PartyMembers))
                .col(string_len_null(Organisations::Instructor, 64))
                .col(big_integer_null(Organisations::UnitId))
                .col(date_time(Organisations::CreatedAt))
                .col(date_time(Organisations::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_organisations_unit")
                        .from(Organisations::Table, Organisations::UnitId)
                        .to(PartyUnits::Table, PartyUnits::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_organisations_district")
                .table(Organisations::Table)
                .col(Organisations::District)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Elections::Table)
                .if_not_exists()
                .col(big_pk_auto(Elections::Id))
                .col(big_integer(Elections::UnitId))
                .col(date(Elections::HeldOn))
                .col(date_time(Elections::RecordedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_elections_unit")
                        .from(Elections::Table, Elections::UnitId)
                        .to(PartyUnits::Table, PartyUnits::Id),
                )
                .index(
                    Index::create()
                        .name("ux_elections_unit_held_on")
                        .unique()
                        .col(Elections::UnitId)
                        .col(Elections::HeldOn),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .if_not_exists()
                .col(big_pk_auto(AuditLog::Id))
                .col(date_time(AuditLog::At))
                .col(string_len(AuditLog::Actor, 128))
                .col(string_len(AuditLog::Action, 64))
                .col(string_len(AuditLog::Entity, 64))
                .col(string_len(AuditLog::EntityKey, 128))
                .col(text_null(AuditLog::Before))
                .col(text_null(AuditLog::After))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_audit_log_entity")
                .table(AuditLog::Table)
                .col(AuditLog::Entity)
                .col(AuditLog::EntityKey)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            Elections::Table.into_iden(),
            Organisations::Table.into_iden(),
            PartyUnits::Table.into_iden(),
            People::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
