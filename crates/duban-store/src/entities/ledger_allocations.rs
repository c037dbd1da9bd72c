use sea_orm::entity::prelude::*;
use serde::Serialize;

/// An allocation (核定) and where it stands, kept in step with the journal.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "ledger_allocations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub line_id: i64,
    pub unit_id: i64,
    pub purpose: String,
    pub approval_meeting: String,
    pub approval_date: Date,
    pub date: Date,
    pub amount: i64,
    pub outstanding: i64,
    pub disbursed: i64,
    pub released: i64,
    pub lapsed: i64,
    pub status: String,
    /// `startup:<unit id>` for lines given once per unit; cleared when reversed.
    pub once_key: Option<String>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
