use sea_orm::entity::prelude::*;
use serde::Serialize;

/// An imported statement file.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "bank_statements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub bank_account_id: i64,
    pub file_name: String,
    pub sha256: String,
    pub kind: String,
    pub profile: String,
    pub lines_in_file: i32,
    pub lines_added: i32,
    pub first_date: Option<Date>,
    pub last_date: Option<Date>,
    pub opening: Option<i64>,
    pub closing: Option<i64>,
    pub imported_at: DateTime,
    pub imported_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
