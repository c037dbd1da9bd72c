use sea_orm::entity::prelude::*;
use serde::Serialize;

/// Idempotency: every command from outside, by key, with its fingerprint and outcome.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "ledger_commands")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub idem_key: String,
    pub fingerprint: String,
    pub command: String,
    pub actor: String,
    /// The outcome as JSON, returned again when the same command is repeated.
    pub outcome: Option<String>,
    pub created_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
