use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A unit's application for the rebate of last year's dues.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "ledger_rebates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub unit_id: i64,
    pub dues_year: i32,
    pub remitted: i64,
    pub amount: i64,
    pub applied_on: Date,
    pub status: String,
    pub allocation_id: Option<i64>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
