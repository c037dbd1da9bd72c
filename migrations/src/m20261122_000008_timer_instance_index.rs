//! An index on timers by instance and state. Completions and re-plans cancel or list the
//! pending timers of one instance (`WHERE instance_id = ? AND state = ?`); with only the
//! `(state, due_at)` index and the unique `(instance_id, step_id, occurrence)` one, SQLite
//! without statistics chose the state index and walked every pending timer, so firing a
//! step cost in proportion to the whole backlog (35 ms a step beside 300,000 pending).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Timers {
    Table,
    InstanceId,
    State,
}

const NAME: &str = "ix_timers_instance_state";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .if_not_exists()
                .name(NAME)
                .table(Timers::Table)
                .col(Timers::InstanceId)
                .col(Timers::State)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // MySQL has no DROP INDEX IF EXISTS.
        if m.has_index("timers", NAME).await? {
            m.drop_index(Index::drop().name(NAME).table(Timers::Table).to_owned())
                .await?;
        }
        Ok(())
    }
}
