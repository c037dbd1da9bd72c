//! Accounts: people who sign in (users, their roles and the districts or units they may see),
//! their server-side sessions, API tokens for integrations, the idempotency keys of API
//! writes, and the signed links already used.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    PasswordHash,
    Role,
    Districts,
    Units,
    Disabled,
    FailedLogins,
    LockedUntil,
    PasswordChangedAt,
    LastLoginAt,
    LastLoginFrom,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    Origin,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    Principal,
    Key,
    Request,
    BodyHash,
    Status,
    Response,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LinkUses {
    Table,
    LinkHash,
    PersonId,
    InstanceId,
    StepId,
    Answer,
    UsedAt,
    UsedFrom,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .if_not_exists()
                .col(big_pk_auto(Users::Id))
                .col(string_len_uniq(Users::Username, 64))
                .col(string_len(Users::DisplayName, 128))
                .col(string_len(Users::PasswordHash, 255))
                .col(string_len(Users::Role, 32))
                .col(text(Users::Districts))
                .col(text(Users::Units))
                .col(boolean(Users::Disabled).default(false))
                .col(integer(Users::FailedLogins).default(0))
                .col(date_time_null(Users::LockedUntil))
                .col(date_time(Users::PasswordChangedAt))
                .col(date_time_null(Users::LastLoginAt))
                .col(string_len_null(Users::LastLoginFrom, 64))
                .col(date_time(Users::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .if_not_exists()
                .col(string_len(Sessions::Id, 64).primary_key())
                .col(big_integer(Sessions::UserId))
                .col(date_time(Sessions::CreatedAt))
                .col(date_time(Sessions::LastSeenAt))
                .col(date_time(Sessions::ExpiresAt))
                .col(string_len(Sessions::Origin, 64))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_sessions_user")
                .table(Sessions::Table)
                .col(Sessions::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .if_not_exists()
                .col(big_pk_auto(ApiTokens::Id))
                .col(big_integer(ApiTokens::UserId))
                .col(string_len(ApiTokens::Name, 128))
                .col(string_len_uniq(ApiTokens::TokenHash, 64))
                .col(date_time(ApiTokens::CreatedAt))
                .col(date_time_null(ApiTokens::LastUsedAt))
                .col(date_time_null(ApiTokens::ExpiresAt))
                .col(date_time_null(ApiTokens::RevokedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .if_not_exists()
                .col(big_pk_auto(IdempotencyKeys::Id))
                .col(string_len(IdempotencyKeys::Principal, 64))
                .col(string_len(IdempotencyKeys::Key, 128))
                .col(string_len(IdempotencyKeys::Request, 255))
                .col(string_len(IdempotencyKeys::BodyHash, 64))
                .col(integer(IdempotencyKeys::Status))
                .col(text(IdempotencyKeys::Response))
                .col(date_time(IdempotencyKeys::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ux_idempotency_principal_key")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::Principal)
                .col(IdempotencyKeys::Key)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LinkUses::Table)
                .if_not_exists()
                .col(string_len(LinkUses::LinkHash, 64).primary_key())
                .col(big_integer(LinkUses::PersonId))
                .col(big_integer(LinkUses::InstanceId))
                .col(string_len(LinkUses::StepId, 64))
                .col(string_len(LinkUses::Answer, 64))
                .col(date_time(LinkUses::UsedAt))
                .col(string_len(LinkUses::UsedFrom, 64))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            LinkUses::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
