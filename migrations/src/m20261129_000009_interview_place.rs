//! Where an interview takes place: set when it is arranged or rescheduled, and stated in its
//! notice (约谈地点).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Interviews {
    Table,
    Location,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if !m.has_column("interviews", "location").await? {
            m.alter_table(
                Table::alter()
                    .table(Interviews::Table)
                    .add_column(string_null(Interviews::Location))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.has_column("interviews", "location").await? {
            m.alter_table(
                Table::alter()
                    .table(Interviews::Table)
                    .drop_column(Interviews::Location)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
