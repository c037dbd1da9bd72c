//! Bank and cash accounts, the statement lines imported into them, and the matches between
//! those lines and the ledger's postings.
//!
//! - `bank_accounts`: one row per account the office holds (code, name, number, bank); its
//!   ledger account is `assets:bank:<code>`.
//! - `bank_statements`: each imported file (its SHA-256, how many lines it held and added).
//! - `bank_lines`: the lines, unique per account by `line_key` (the bank serial, else a
//!   fingerprint of the line with its ordinal among identical ones), so a re-import of an
//!   overlapping statement adds only the new lines.
//! - `bank_matches`: append-only. A match names a line and a posting with the rule that made
//!   it, the fields that agreed, the difference and the runner-up candidates; an unmatch is a
//!   row that reverses one (`reverses_id`), never an update or a delete.
//! - `ledger_transactions` gains the voucher number, payee name, account and bank and the
//!   bank account paid from (all nullable: earlier transactions have none).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BankAccounts {
    Table,
    Id,
    Code,
    Name,
    Number,
    Bank,
    LedgerAccount,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum BankStatements {
    Table,
    Id,
    BankAccountId,
    FileName,
    Sha256,
    Kind,
    Profile,
    LinesInFile,
    LinesAdded,
    FirstDate,
    LastDate,
    Opening,
    Closing,
    ImportedAt,
    ImportedBy,
}

#[derive(DeriveIden)]
enum BankLines {
    Table,
    Id,
    BankAccountId,
    StatementId,
    LineKey,
    Row,
    Date,
    Time,
    ValueDate,
    Amount,
    Balance,
    CounterpartyName,
    CounterpartyAccount,
    CounterpartyBank,
    Summary,
    Purpose,
    Remark,
    Serial,
}

#[derive(DeriveIden)]
enum BankMatches {
    Table,
    Id,
    BankAccountId,
    LineId,
    PostingId,
    Rule,
    Agreed,
    Difference,
    Detail,
    MatchedBy,
    ReversesId,
    Reason,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum LedgerTransactions {
    Table,
    Voucher,
    PayeeName,
    PayeeAccount,
    PayeeBank,
    BankAccount,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BankAccounts::Table)
                .if_not_exists()
                .col(big_pk_auto(BankAccounts::Id))
                .col(string_len_uniq(BankAccounts::Code, 24))
                .col(string_len(BankAccounts::Name, 200))
                .col(string_len(BankAccounts::Number, 64))
                .col(string_len(BankAccounts::Bank, 200))
                .col(string_len(BankAccounts::LedgerAccount, 64))
                .col(date_time(BankAccounts::CreatedAt))
                .col(string_len(BankAccounts::CreatedBy, 128))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(BankStatements::Table)
                .if_not_exists()
                .col(big_pk_auto(BankStatements::Id))
                .col(big_integer(BankStatements::BankAccountId))
                .col(string_len(BankStatements::FileName, 255))
                .col(string_len(BankStatements::Sha256, 64))
                .col(string_len(BankStatements::Kind, 16))
                .col(string_len(BankStatements::Profile, 64))
                .col(integer(BankStatements::LinesInFile))
                .col(integer(BankStatements::LinesAdded))
                .col(date_null(BankStatements::FirstDate))
                .col(date_null(BankStatements::LastDate))
                .col(big_integer_null(BankStatements::Opening))
                .col(big_integer_null(BankStatements::Closing))
                .col(date_time(BankStatements::ImportedAt))
                .col(string_len(BankStatements::ImportedBy, 128))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(BankLines::Table)
                .if_not_exists()
                .col(big_pk_auto(BankLines::Id))
                .col(big_integer(BankLines::BankAccountId))
                .col(big_integer(BankLines::StatementId))
                .col(string_len(BankLines::LineKey, 80))
                .col(integer(BankLines::Row))
                .col(date_null(BankLines::Date))
                .col(date_time_null(BankLines::Time))
                .col(date_null(BankLines::ValueDate))
                .col(crate::money(BankLines::Amount))
                .col(big_integer_null(BankLines::Balance))
                .col(text(BankLines::CounterpartyName))
                .col(text(BankLines::CounterpartyAccount))
                .col(text(BankLines::CounterpartyBank))
                .col(text(BankLines::Summary))
                .col(text(BankLines::Purpose))
                .col(text(BankLines::Remark))
                .col(string_len_null(BankLines::Serial, 128))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ux_bank_lines_key")
                .table(BankLines::Table)
                .col(BankLines::BankAccountId)
                .col(BankLines::LineKey)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_bank_lines_date")
                .table(BankLines::Table)
                .col(BankLines::BankAccountId)
                .col(BankLines::Date)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(BankMatches::Table)
                .if_not_exists()
                .col(big_pk_auto(BankMatches::Id))
                .col(big_integer(BankMatches::BankAccountId))
                .col(big_integer(BankMatches::LineId))
                .col(big_integer(BankMatches::PostingId))
                .col(string_len(BankMatches::Rule, 32))
                .col(string_len(BankMatches::Agreed, 200))
                .col(crate::money(BankMatches::Difference))
                .col(text(BankMatches::Detail))
                .col(string_len(BankMatches::MatchedBy, 16))
                .col(big_integer_null(BankMatches::ReversesId))
                .col(text_null(BankMatches::Reason))
                .col(date_time(BankMatches::CreatedAt))
                .col(string_len(BankMatches::CreatedBy, 128))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ix_bank_matches_line", BankMatches::LineId),
            ("ix_bank_matches_posting", BankMatches::PostingId),
        ] {
            m.create_index(
                Index::create()
                    .if_not_exists()
                    .name(name)
                    .table(BankMatches::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }
        // A match is reversed at most once.
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ux_bank_matches_reverses")
                .table(BankMatches::Table)
                .col(BankMatches::ReversesId)
                .unique()
                .to_owned(),
        )
        .await?;
        for (name, col, len) in [
            ("voucher", LedgerTransactions::Voucher, 64),
            ("payee_name", LedgerTransactions::PayeeName, 200),
            ("payee_account", LedgerTransactions::PayeeAccount, 64),
            ("payee_bank", LedgerTransactions::PayeeBank, 200),
            ("bank_account", LedgerTransactions::BankAccount, 24),
        ] {
            // MySQL commits DDL as it goes: tolerate a re-run.
            if !m.has_column("ledger_transactions", name).await? {
                m.alter_table(
                    Table::alter()
                        .table(LedgerTransactions::Table)
                        .add_column(string_len_null(col, len))
                        .to_owned(),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "voucher",
            "payee_name",
            "payee_account",
            "payee_bank",
            "bank_account",
        ] {
            if m.has_column("ledger_transactions", name).await? {
                m.alter_table(
                    Table::alter()
                        .table(LedgerTransactions::Table)
                        .drop_column(Alias::new(name))
                        .to_owned(),
                )
                .await?;
            }
        }
        for t in [
            "bank_matches",
            "bank_lines",
            "bank_statements",
            "bank_accounts",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
