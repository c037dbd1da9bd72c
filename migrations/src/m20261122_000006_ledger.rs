//! The funds ledger: budget lines, accounts, transactions and their postings, allocations,
//! dues, rebate applications, idempotency keys, periods.
//!
//! Postings and transactions are append-only: triggers on every backend refuse UPDATE and
//! DELETE (a correction is a reversal). Budget lines carry CHECK constraints so that no
//! balance can be negative and the budget identity holds even if code were wrong.

use crate::money;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PartyUnits {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum LedgerState {
    Table,
    Id,
    ClosedThrough,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LedgerClosedYears {
    Table,
    Year,
    ClosedAt,
    ClosedBy,
}

#[derive(DeriveIden)]
enum LedgerCommands {
    Table,
    Id,
    IdemKey,
    Fingerprint,
    Command,
    Actor,
    Outcome,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LedgerAccounts {
    Table,
    Name,
    AccountType,
}

#[derive(DeriveIden)]
enum LedgerLines {
    Table,
    Id,
    Year,
    Kind,
    Appropriated,
    Available,
    Committed,
    Paid,
    PaidDirect,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LedgerAllocations {
    Table,
    Id,
    LineId,
    UnitId,
    Purpose,
    ApprovalMeeting,
    ApprovalDate,
    Date,
    Amount,
    Outstanding,
    Disbursed,
    Released,
    Lapsed,
    Status,
    OnceKey,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LedgerTransactions {
    Table,
    Id,
    Date,
    Kind,
    Description,
    ReversesId,
    AllocationId,
    UnitId,
    ApprovalMeeting,
    ApprovalDate,
    CommandId,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum LedgerPostings {
    Table,
    Id,
    TransactionId,
    Seq,
    Account,
    Amount,
    LineId,
}

#[derive(DeriveIden)]
enum LedgerDues {
    Table,
    Id,
    UnitId,
    Month,
    Amount,
    TransactionId,
    StandingKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LedgerRebates {
    Table,
    Id,
    UnitId,
    DuesYear,
    Remitted,
    Amount,
    AppliedOn,
    Status,
    AllocationId,
    CreatedAt,
    UpdatedAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .to_owned()
}

/// Tables whose rows are never updated or deleted.
const APPEND_ONLY: [&str; 2] = ["ledger_transactions", "ledger_postings"];

fn create_triggers(backend: DbBackend) -> Vec<String> {
    let mut out = Vec::new();
    match backend {
        DbBackend::Postgres => {
            out.push(
                "CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'ledger rows in % are append-only: post a reversal instead', TG_TABLE_NAME \
                 USING ERRCODE = 'integrity_constraint_violation'; END $$ LANGUAGE plpgsql"
                    .to_string(),
            );
            for t in APPEND_ONLY {
                out.push(format!("DROP TRIGGER IF EXISTS {t}_append_only ON {t}"));
                out.push(format!(
                    "CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} \
                     FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
                ));
                out.push(format!("DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}"));
                out.push(format!(
                    "CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} \
                     FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
                ));
            }
        }
        DbBackend::MySql => {
            for t in APPEND_ONLY {
                for (event, verb) in [("UPDATE", "updated"), ("DELETE", "deleted")] {
                    out.push(format!(
                        "CREATE TRIGGER IF NOT EXISTS {t}_no_{ev} BEFORE {event} ON {t} FOR EACH ROW \
                         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ledger rows in {t} are append-only and cannot be {verb}: post a reversal instead'",
                        ev = event.to_lowercase()
                    ));
                }
            }
        }
        _ => {
            for t in APPEND_ONLY {
                for (event, verb) in [("UPDATE", "updated"), ("DELETE", "deleted")] {
                    out.push(format!(
                        "CREATE TRIGGER IF NOT EXISTS {t}_no_{ev} BEFORE {event} ON {t} BEGIN \
                         SELECT RAISE(ABORT, 'ledger rows in {t} are append-only and cannot be {verb}: post a reversal instead'); END",
                        ev = event.to_lowercase()
                    ));
                }
            }
        }
    }
    out
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(LedgerState::Table)
                .if_not_exists()
                .col(big_integer(LedgerState::Id).primary_key())
                .col(string_len_null(LedgerState::ClosedThrough, 7))
                .col(date_time(LedgerState::UpdatedAt))
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        let seeded = conn
            .query_one(
                &Query::select()
                    .column(LedgerState::Id)
                    .from(LedgerState::Table)
                    .and_where(Expr::col(LedgerState::Id).eq(1))
                    .to_owned(),
            )
            .await?
            .is_some();
        if !seeded {
            conn.execute(
                &Query::insert()
                    .into_table(LedgerState::Table)
                    .columns([LedgerState::Id, LedgerState::UpdatedAt])
                    .values_panic([1.into(), Expr::current_timestamp()])
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(LedgerClosedYears::Table)
                .if_not_exists()
                .col(integer(LedgerClosedYears::Year).primary_key())
                .col(date_time(LedgerClosedYears::ClosedAt))
                .col(string_len(LedgerClosedYears::ClosedBy, 128))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LedgerCommands::Table)
                .if_not_exists()
                .col(big_pk_auto(LedgerCommands::Id))
                .col(string_len_uniq(LedgerCommands::IdemKey, 128))
                .col(char_len(LedgerCommands::Fingerprint, 64))
                .col(string_len(LedgerCommands::Command, 32))
                .col(string_len(LedgerCommands::Actor, 128))
                .col(text_null(LedgerCommands::Outcome))
                .col(date_time(LedgerCommands::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LedgerAccounts::Table)
                .if_not_exists()
                .col(string_len(LedgerAccounts::Name, 100).primary_key())
                .col(string_len(LedgerAccounts::AccountType, 16))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LedgerLines::Table)
                .if_not_exists()
                .col(big_pk_auto(LedgerLines::Id))
                .col(integer(LedgerLines::Year))
                .col(string_len(LedgerLines::Kind, 32))
                .col(money(LedgerLines::Appropriated))
                .col(money(LedgerLines::Available))
                .col(money(LedgerLines::Committed))
                .col(money(LedgerLines::Paid))
                .col(money(LedgerLines::PaidDirect))
                .col(date_time(LedgerLines::CreatedAt))
                .col(date_time(LedgerLines::UpdatedAt))
                .index(
                    Index::create()
                        .name("ux_ledger_lines_year_kind")
                        .unique()
                        .col(LedgerLines::Year)
                        .col(LedgerLines::Kind),
                )
                .check((
                    Alias::new("ck_ledger_lines_not_negative"),
                    Expr::col(LedgerLines::Appropriated)
                        .gte(0)
                        .and(Expr::col(LedgerLines::Available).gte(0))
                        .and(Expr::col(LedgerLines::Committed).gte(0))
                        .and(Expr::col(LedgerLines::Paid).gte(0))
                        .and(Expr::col(LedgerLines::PaidDirect).gte(0)),
                ))
                .check((
                    Alias::new("ck_ledger_lines_identity"),
                    Expr::col(LedgerLines::Appropriated).eq(Expr::col(LedgerLines::Available)
                        .add(Expr::col(LedgerLines::Committed))
                        .add(Expr::col(LedgerLines::Paid))
                        .add(Expr::col(LedgerLines::PaidDirect))),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LedgerAllocations::Table)
                .if_not_exists()
                .col(big_pk_auto(LedgerAllocations::Id))
                .col(big_integer(LedgerAllocations::LineId))
                .col(big_integer(LedgerAllocations::UnitId))
                .col(string_len(LedgerAllocations::Purpose, 500))
                .col(string_len(LedgerAllocations::ApprovalMeeting, 200))
                .col(date(LedgerAllocations::ApprovalDate))
                .col(date(LedgerAllocations::Date))
                .col(money(LedgerAllocations::Amount))
                .col(money(LedgerAllocations::Outstanding))
                .col(money(LedgerAllocations::Disbursed))
                .col(money(LedgerAllocations::Released))
                .col(money(LedgerAllocations::Lapsed))
                .col(string_len(LedgerAllocations::Status, 16))
                .col(string_len_null(LedgerAllocations::OnceKey, 100).unique_key())
                .col(date_time(LedgerAllocations::CreatedAt))
                .col(date_time(LedgerAllocations::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_ledger_allocations_line",
                    (LedgerAllocations::Table, LedgerAllocations::LineId),
                    (LedgerLines::Table, LedgerLines::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_ledger_allocations_unit",
                    (LedgerAllocations::Table, LedgerAllocations::UnitId),
                    (PartyUnits::Table, PartyUnits::Id),
                ))
                .check((
                    Alias::new("ck_ledger_allocations_not_negative"),
                    Expr::col(LedgerAllocations::Outstanding)
                        .gte(0)
                        .and(Expr::col(LedgerAllocations::Disbursed).gte(0))
                        .and(Expr::col(LedgerAllocations::Released).gte(0))
                        .and(Expr::col(LedgerAllocations::Lapsed).gte(0)),
                ))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_ledger_allocations_unit",
                vec![LedgerAllocations::UnitId],
            ),
            (
                "ix_ledger_allocations_line_status",
                vec![LedgerAllocations::LineId, LedgerAllocations::Status],
            ),
        ] {
            let mut idx = Index::create();
            idx.if_not_exists()
                .name(name)
                .table(LedgerAllocations::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }

        m.create_table(
            Table::create()
                .table(LedgerTransactions::Table)
                .if_not_exists()
                .col(big_pk_auto(LedgerTransactions::Id))
                .col(date(LedgerTransactions::Date))
                .col(string_len(LedgerTransactions::Kind, 24))
                .col(text(LedgerTransactions::Description))
                .col(big_integer_null(LedgerTransactions::ReversesId).unique_key())
                .col(big_integer_null(LedgerTransactions::AllocationId))
                .col(big_integer_null(LedgerTransactions::UnitId))
                .col(string_len_null(LedgerTransactions::ApprovalMeeting, 200))
                .col(date_null(LedgerTransactions::ApprovalDate))
                .col(big_integer(LedgerTransactions::CommandId))
                .col(date_time(LedgerTransactions::CreatedAt))
                .col(string_len(LedgerTransactions::CreatedBy, 128))
                .foreign_key(&mut fk(
                    "fk_ledger_transactions_reverses",
                    (LedgerTransactions::Table, LedgerTransactions::ReversesId),
                    (LedgerTransactions::Table, LedgerTransactions::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_ledger_transactions_allocation",
                    (LedgerTransactions::Table, LedgerTransactions::AllocationId),
                    (LedgerAllocations::Table, LedgerAllocations::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_ledger_transactions_unit",
                    (LedgerTransactions::Table, LedgerTransactions::UnitId),
                    (PartyUnits::Table, PartyUnits::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_ledger_transactions_command",
                    (LedgerTransactions::Table, LedgerTransactions::CommandId),
                    (LedgerCommands::Table, LedgerCommands::Id),
                ))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            (
                "ix_ledger_transactions_allocation",
                LedgerTransactions::AllocationId,
            ),
            ("ix_ledger_transactions_date", LedgerTransactions::Date),
        ] {
            m.create_index(
                Index::create()
                    .if_not_exists()
                    .name(name)
                    .table(LedgerTransactions::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(LedgerPostings::Table)
                .if_not_exists()
                .col(big_pk_auto(LedgerPostings::Id))
                .col(big_integer(LedgerPostings::TransactionId))
                .col(integer(LedgerPostings::Seq))
                .col(string_len(LedgerPostings::Account, 100))
                .col(money(LedgerPostings::Amount))
                .col(big_integer_null(LedgerPostings::LineId))
                .foreign_key(&mut fk(
                    "fk_ledger_postings_transaction",
                    (LedgerPostings::Table, LedgerPostings::TransactionId),
                    (LedgerTransactions::Table, LedgerTransactions::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_ledger_postings_account",
                    (LedgerPostings::Table, LedgerPostings::Account),
                    (LedgerAccounts::Table, LedgerAccounts::Name),
                ))
                .foreign_key(&mut fk(
                    "fk_ledger_postings_line",
                    (LedgerPostings::Table, LedgerPostings::LineId),
                    (LedgerLines::Table, LedgerLines::Id),
                ))
                .check((
                    Alias::new("ck_ledger_postings_not_zero"),
                    Expr::col(LedgerPostings::Amount).ne(0),
                ))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            (
                "ix_ledger_postings_transaction",
                LedgerPostings::TransactionId,
            ),
            ("ix_ledger_postings_account", LedgerPostings::Account),
            ("ix_ledger_postings_line", LedgerPostings::LineId),
        ] {
            m.create_index(
                Index::create()
                    .if_not_exists()
                    .name(name)
                    .table(LedgerPostings::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(LedgerDues::Table)
                .if_not_exists()
                .col(big_pk_auto(LedgerDues::Id))
                .col(big_integer(LedgerDues::UnitId))
                .col(string_len(LedgerDues::Month, 7))
                .col(money(LedgerDues::Amount))
                .col(big_integer(LedgerDues::TransactionId))
                .col(string_len_null(LedgerDues::StandingKey, 100).unique_key())
                .col(date_time(LedgerDues::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_ledger_dues_unit",
                    (LedgerDues::Table, LedgerDues::UnitId),
                    (PartyUnits::Table, PartyUnits::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_ledger_dues_transaction",
                    (LedgerDues::Table, LedgerDues::TransactionId),
                    (LedgerTransactions::Table, LedgerTransactions::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_ledger_dues_unit_month")
                .table(LedgerDues::Table)
                .col(LedgerDues::UnitId)
                .col(LedgerDues::Month)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LedgerRebates::Table)
                .if_not_exists()
                .col(big_pk_auto(LedgerRebates::Id))
                .col(big_integer(LedgerRebates::UnitId))
                .col(integer(LedgerRebates::DuesYear))
                .col(money(LedgerRebates::Remitted))
                .col(money(LedgerRebates::Amount))
                .col(date(LedgerRebates::AppliedOn))
                .col(string_len(LedgerRebates::Status, 16))
                .col(big_integer_null(LedgerRebates::AllocationId))
                .col(date_time(LedgerRebates::CreatedAt))
                .col(date_time(LedgerRebates::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_ledger_rebates_unit",
                    (LedgerRebates::Table, LedgerRebates::UnitId),
                    (PartyUnits::Table, PartyUnits::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_ledger_rebates_allocation",
                    (LedgerRebates::Table, LedgerRebates::AllocationId),
                    (LedgerAllocations::Table, LedgerAllocations::Id),
                ))
                .index(
                    Index::create()
                        .name("ux_ledger_rebates_unit_year")
                        .unique()
                        .col(LedgerRebates::UnitId)
                        .col(LedgerRebates::DuesYear),
                )
                .to_owned(),
        )
        .await?;

        let backend = m.get_database_backend();
        for sql in create_triggers(backend) {
            conn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LedgerRebates::Table.into_iden(),
            LedgerDues::Table.into_iden(),
            LedgerPostings::Table.into_iden(),
            LedgerTransactions::Table.into_iden(),
            LedgerAllocations::Table.into_iden(),
            LedgerLines::Table.into_iden(),
            LedgerAccounts::Table.into_iden(),
            LedgerCommands::Table.into_iden(),
            LedgerClosedYears::Table.into_iden(),
            LedgerState::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS ledger_append_only()")
                .await?;
        }
        Ok(())
    }
}
