use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A journal transaction. Append-only: the database refuses UPDATE and DELETE.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "ledger_transactions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub date: Date,
    pub kind: String,
    pub description: String,
    pub reverses_id: Option<i64>,
    pub allocation_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub approval_meeting: Option<String>,
    pub approval_date: Option<Date>,
    /// Voucher number, payee and the bank account (its code) paid from, when given.
    pub voucher: Option<String>,
    pub payee_name: Option<String>,
    pub payee_account: Option<String>,
    pub payee_bank: Option<String>,
    pub bank_account: Option<String>,
    pub command_id: i64,
    pub created_at: DateTime,
    pub created_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
