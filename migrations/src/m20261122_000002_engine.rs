//! The engine: subjects beyond the register (extensions, rectification items, interviews),
//! workflow instances, durable timers and the outbox.
//!
//! A timer is one due step of one instance. Engines claim due timers with a lease and a
//! fencing token; a step's effects and the timer's completion commit together. Effects carry
//! deterministic idempotency keys under unique indexes, so nothing fires twice.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum People {
    Table,
    Id,
    Roles,
}

#[derive(DeriveIden)]
enum PartyUnits {
    Table,
    Id,
    ThemeDay,
}

#[derive(DeriveIden)]
enum TermExtensions {
    Table,
    Id,
    UnitId,
    ApprovedOn,
    NewTermEnd,
    Reason,
    ApprovedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RectificationItems {
    Table,
    Id,
    UnitId,
    Title,
    Kind,
    Measures,
    OwnerId,
    LeaderId,
    VerifierId,
    OpenedOn,
    Deadline,
    FinalDeadline,
    Status,
    ClosedOn,
    InterviewId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RectificationProgress {
    Table,
    Id,
    ItemId,
    ReportedOn,
    Note,
    Actor,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Interviews {
    Table,
    Id,
    UnitId,
    IntervieweeId,
    Reason,
    Source,
    ScheduledAt,
    HeldOn,
    Record,
    Status,
    OriginKey,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SubjectEvents {
    Table,
    Id,
    SubjectKey,
    Name,
    At,
    Value,
    Reason,
    Actor,
    IdempotencyKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WorkflowVersions {
    Table,
    ContentHash,
    WorkflowId,
    Version,
    Source,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WorkflowInstances {
    Table,
    Id,
    WorkflowId,
    WorkflowVersion,
    ContentHash,
    SubjectKind,
    SubjectKey,
    Status,
    SubjectStatus,
    EscalationLevel,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Timers {
    Table,
    Id,
    InstanceId,
    StepId,
    Occurrence,
    DueAt,
    State,
    Payload,
    LeaseOwner,
    LeaseUntil,
    Fence,
    Attempts,
    NextAttemptAt,
    LastError,
    Late,
    FiredAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    IdempotencyKey,
    InstanceId,
    TimerId,
    PersonId,
    Role,
    Channel,
    Address,
    Subject,
    Body,
    Html,
    NotBefore,
    Urgent,
    State,
    Attempts,
    NextAttemptAt,
    LeaseOwner,
    LeaseUntil,
    Fence,
    ProviderMessageId,
    LastError,
    CreatedAt,
    SentAt,
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if !m.has_column("people", "roles").await? {
            m.alter_table(
                Table::alter()
                    .table(People::Table)
                    .add_column(string_len(People::Roles, 64).default(""))
                    .to_owned(),
            )
            .await?;
        }
        if !m.has_column("party_units", "theme_day").await? {
            m.alter_table(
                Table::alter()
                    .table(PartyUnits::Table)
                    .add_column(small_integer_null(PartyUnits::ThemeDay))
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(TermExtensions::Table)
                .if_not_exists()
                .col(big_pk_auto(TermExtensions::Id))
                .col(big_integer(TermExtensions::UnitId))
                .col(date(TermExtensions::ApprovedOn))
                .col(date(TermExtensions::NewTermEnd))
                .col(text_null(TermExtensions::Reason))
                .col(string_len(TermExtensions::ApprovedBy, 128))
                .col(date_time(TermExtensions::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_term_extensions_unit",
                    (TermExtensions::Table, TermExtensions::UnitId),
                    (PartyUnits::Table, PartyUnits::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Interviews::Table)
                .if_not_exists()
                .col(big_pk_auto(Interviews::Id))
                .col(big_integer(Interviews::UnitId))
                .col(big_integer_null(Interviews::IntervieweeId))
                .col(text(Interviews::Reason))
                .col(string_len(Interviews::Source, 32))
                .col(date_time(Interviews::ScheduledAt))
                .col(date_null(Interviews::HeldOn))
                .col(text_null(Interviews::Record))
                .col(string_len(Interviews::Status, 16))
                .col(string_len_null(Interviews::OriginKey, 191).unique_key())
                .col(date_time(Interviews::CreatedAt))
                .col(date_time(Interviews::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_interviews_unit",
                    (Interviews::Table, Interviews::UnitId),
                    (PartyUnits::Table, PartyUnits::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_interviews_interviewee",
                    (Interviews::Table, Interviews::IntervieweeId),
                    (People::Table, People::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RectificationItems::Table)
                .if_not_exists()
                .col(big_pk_auto(RectificationItems::Id))
                .col(big_integer(RectificationItems::UnitId))
                .col(string_len(RectificationItems::Title, 255))
                .col(string_len(RectificationItems::Kind, 16))
                .col(text_null(RectificationItems::Measures))
                .col(big_integer_null(RectificationItems::OwnerId))
                .col(big_integer_null(RectificationItems::LeaderId))
                .col(big_integer_null(RectificationItems::VerifierId))
                .col(date(RectificationItems::OpenedOn))
                .col(date(RectificationItems::Deadline))
                .col(date_null(RectificationItems::FinalDeadline))
                .col(string_len(RectificationItems::Status, 16))
                .col(date_null(RectificationItems::ClosedOn))
                .col(big_integer_null(RectificationItems::InterviewId))
                .col(date_time(RectificationItems::CreatedAt))
                .col(date_time(RectificationItems::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_rectification_items_unit",
                    (RectificationItems::Table, RectificationItems::UnitId),
                    (PartyUnits::Table, PartyUnits::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_rectification_items_interview",
                    (RectificationItems::Table, RectificationItems::InterviewId),
                    (Interviews::Table, Interviews::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RectificationProgress::Table)
                .if_not_exists()
                .col(big_pk_auto(RectificationProgress::Id))
                .col(big_integer(RectificationProgress::ItemId))
                .col(date(RectificationProgress::ReportedOn))
                .col(text(RectificationProgress::Note))
                .col(string_len(RectificationProgress::Actor, 128))
                .col(date_time(RectificationProgress::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_rectification_progress_item",
                    (RectificationProgress::Table, RectificationProgress::ItemId),
                    (RectificationItems::Table, RectificationItems::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SubjectEvents::Table)
                .if_not_exists()
                .col(big_pk_auto(SubjectEvents::Id))
                .col(string_len(SubjectEvents::SubjectKey, 128))
                .col(string_len(SubjectEvents::Name, 64))
                .col(date_time(SubjectEvents::At))
                .col(date_time_null(SubjectEvents::Value))
                .col(text_null(SubjectEvents::Reason))
                .col(string_len(SubjectEvents::Actor, 128))
                .col(string_len_uniq(SubjectEvents::IdempotencyKey, 191))
                .col(date_time(SubjectEvents::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_subject_events_subject")
                .table(SubjectEvents::Table)
                .col(SubjectEvents::SubjectKey)
                .col(SubjectEvents::At)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(WorkflowVersions::Table)
                .if_not_exists()
                .col(string_len(WorkflowVersions::ContentHash, 64).primary_key())
                .col(string_len(WorkflowVersions::WorkflowId, 64))
                .col(integer(WorkflowVersions::Version))
                .col(text(WorkflowVersions::Source))
                .col(date_time(WorkflowVersions::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(WorkflowInstances::Table)
                .if_not_exists()
                .col(big_pk_auto(WorkflowInstances::Id))
                .col(string_len(WorkflowInstances::WorkflowId, 64))
                .col(integer(WorkflowInstances::WorkflowVersion))
                .col(string_len(WorkflowInstances::ContentHash, 64))
                .col(string_len(WorkflowInstances::SubjectKind, 32))
                .col(string_len(WorkflowInstances::SubjectKey, 128))
                .col(string_len(WorkflowInstances::Status, 16))
                .col(string_len_null(WorkflowInstances::SubjectStatus, 32))
                .col(integer(WorkflowInstances::EscalationLevel).default(0))
                .col(date_time(WorkflowInstances::CreatedAt))
                .col(date_time(WorkflowInstances::UpdatedAt))
                .index(
                    Index::create()
                        .name("ux_workflow_instances_subject")
                        .unique()
                        .col(WorkflowInstances::WorkflowId)
                        .col(WorkflowInstances::SubjectKey),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Timers::Table)
                .if_not_exists()
                .col(big_pk_auto(Timers::Id))
                .col(big_integer(Timers::InstanceId))
                .col(string_len(Timers::StepId, 64))
                .col(string_len(Timers::Occurrence, 64))
                .col(date_time(Timers::DueAt))
                .col(string_len(Timers::State, 12))
                .col(text(Timers::Payload))
                .col(string_len_null(Timers::LeaseOwner, 64))
                .col(date_time_null(Timers::LeaseUntil))
                .col(big_integer(Timers::Fence).default(0))
                .col(integer(Timers::Attempts).default(0))
                .col(date_time_null(Timers::NextAttemptAt))
                .col(text_null(Timers::LastError))
                .col(boolean(Timers::Late).default(false))
                .col(date_time_null(Timers::FiredAt))
                .col(date_time(Timers::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_timers_instance",
                    (Timers::Table, Timers::InstanceId),
                    (WorkflowInstances::Table, WorkflowInstances::Id),
                ))
                .index(
                    Index::create()
                        .name("ux_timers_step_occurrence")
                        .unique()
                        .col(Timers::InstanceId)
                        .col(Timers::StepId)
                        .col(Timers::Occurrence),
                )
                .to_owned(),
        )
        .await?;
        // What a tick reads: the due end of the pending (or leased) range.
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_timers_state_due")
                .table(Timers::Table)
                .col(Timers::State)
                .col(Timers::DueAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .if_not_exists()
                .col(big_pk_auto(Outbox::Id))
                .col(string_len_uniq(Outbox::IdempotencyKey, 191))
                .col(big_integer_null(Outbox::InstanceId))
                .col(big_integer_null(Outbox::TimerId))
                .col(big_integer_null(Outbox::PersonId))
                .col(string_len(Outbox::Role, 32))
                .col(string_len(Outbox::Channel, 16))
                .col(string_len(Outbox::Address, 254))
                .col(string_len(Outbox::Subject, 255))
                .col(text(Outbox::Body))
                .col(text_null(Outbox::Html))
                .col(date_time(Outbox::NotBefore))
                .col(boolean(Outbox::Urgent).default(false))
                .col(string_len(Outbox::State, 12))
                .col(integer(Outbox::Attempts).default(0))
                .col(date_time(Outbox::NextAttemptAt))
                .col(string_len_null(Outbox::LeaseOwner, 64))
                .col(date_time_null(Outbox::LeaseUntil))
                .col(big_integer(Outbox::Fence).default(0))
                .col(string_len_null(Outbox::ProviderMessageId, 128))
                .col(text_null(Outbox::LastError))
                .col(date_time(Outbox::CreatedAt))
                .col(date_time_null(Outbox::SentAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_outbox_state_next")
                .table(Outbox::Table)
                .col(Outbox::State)
                .col(Outbox::NextAttemptAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Outbox::Table.into_iden(),
            Timers::Table.into_iden(),
            WorkflowInstances::Table.into_iden(),
            WorkflowVersions::Table.into_iden(),
            SubjectEvents::Table.into_iden(),
            RectificationProgress::Table.into_iden(),
            RectificationItems::Table.into_iden(),
            Interviews::Table.into_iden(),
            TermExtensions::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        if m.has_column("party_units", "theme_day").await? {
            m.alter_table(
                Table::alter()
                    .table(PartyUnits::Table)
                    .drop_column(PartyUnits::ThemeDay)
                    .to_owned(),
            )
            .await?;
        }
        if m.has_column("people", "roles").await? {
            m.alter_table(
                Table::alter()
                    .table(People::Table)
                    .drop_column(People::Roles)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
