use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One posting, debit positive, in fen. Append-only: the database refuses UPDATE and DELETE.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "ledger_postings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub transaction_id: i64,
    pub seq: i32,
    pub account: String,
    pub amount: i64,
    /// The budget line of a budget posting.
    pub line_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
