use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A budget line (year, kind) and its five balances in fen: the hot row writers lock.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "ledger_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub year: i32,
    pub kind: String,
    pub appropriated: i64,
    pub available: i64,
    pub committed: i64,
    pub paid: i64,
    pub paid_direct: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
