use sea_orm::entity::prelude::*;

/// The first answer to an API write sent with an `Idempotency-Key`; status 0 while it runs.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub principal: String,
    pub key: String,
    pub request: String,
    pub body_hash: String,
    pub status: i32,
    pub response: String,
    pub created_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
