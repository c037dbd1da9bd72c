use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A match of a statement line with a posting, or (with `reverses_id`) the reversal of one.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "bank_matches")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub bank_account_id: i64,
    pub line_id: i64,
    pub posting_id: i64,
    pub rule: String,
    pub agreed: String,
    pub difference: i64,
    pub detail: String,
    pub matched_by: String,
    pub reverses_id: Option<i64>,
    pub reason: Option<String>,
    pub created_at: DateTime,
    pub created_by: String,
    pub group_id: Option<i64>,
    pub fee_transaction_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
