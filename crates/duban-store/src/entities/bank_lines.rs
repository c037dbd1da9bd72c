use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One statement line, unique per account by `line_key`. Amount in fen, money in positive.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "bank_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub bank_account_id: i64,
    pub statement_id: i64,
    pub line_key: String,
    pub row: i32,
    pub date: Option<Date>,
    pub time: Option<DateTime>,
    pub value_date: Option<Date>,
    pub amount: i64,
    pub balance: Option<i64>,
    pub counterparty_name: String,
    pub counterparty_account: String,
    pub counterparty_bank: String,
    pub summary: String,
    pub purpose: String,
    pub remark: String,
    pub serial: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
