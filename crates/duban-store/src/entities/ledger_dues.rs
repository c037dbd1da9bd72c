use sea_orm::entity::prelude::*;
use serde::Serialize;

/// Dues a unit remitted for a month.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "ledger_dues")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub unit_id: i64,
    /// `2026-03`
    pub month: String,
    pub amount: i64,
    pub transaction_id: i64,
    /// `<unit id>:<month>` while the record stands; cleared when it is reversed.
    pub standing_key: Option<String>,
    pub created_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
