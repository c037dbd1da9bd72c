use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One attempt to deliver an outbox message, or a decision about it (dropped, deferred).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub outbox_id: i64,
    pub attempt: i32,
    pub at: DateTime,
    pub channel: String,
    pub provider: String,
    pub provider_message_id: Option<String>,
    /// `sent`, `transient`, `permanent`, `dead`, `dropped`, `deferred` or `merged`.
    pub status: String,
    pub error: Option<String>,
    pub node: String,
    /// The `seq` of the audit entry that sealed this row; `None` until the next seal.
    pub seal: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
