//! `workflow_instances.version`: bumped by every transaction that changes what a subject's
//! chains must do (a completion, a re-plan), under the instance's row lock.
//!
//! A tick decides a batch outside any transaction and writes it later; it writes only for
//! instances whose version is still the one it claimed, so a decision taken before an
//! election is never written after it. The index on `subject_key` lets a completion lock
//! every instance of its subject without scanning.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WorkflowInstances {
    Table,
    Version,
    SubjectKey,
}

const INDEX: &str = "ix_workflow_instances_subject_key";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // MySQL commits DDL as it goes: tolerate a re-run.
        if !m.has_column("workflow_instances", "version").await? {
            m.alter_table(
                Table::alter()
                    .table(WorkflowInstances::Table)
                    .add_column(
                        ColumnDef::new(WorkflowInstances::Version)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        }
        if !m.has_index("workflow_instances", INDEX).await? {
            m.create_index(
                Index::create()
                    .name(INDEX)
                    .table(WorkflowInstances::Table)
                    .col(WorkflowInstances::SubjectKey)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::drop_index_if_exists(m, "workflow_instances", INDEX).await?;
        if m.has_column("workflow_instances", "version").await? {
            m.alter_table(
                Table::alter()
                    .table(WorkflowInstances::Table)
                    .drop_column(WorkflowInstances::Version)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
