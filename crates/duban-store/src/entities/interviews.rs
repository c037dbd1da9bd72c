use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A supervisory interview (约谈).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "interviews")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub unit_id: i64,
    pub interviewee_id: Option<i64>,
    pub reason: String,
    /// `manual`, or the chain that opened it (e.g. `term_expiry`).
    pub source: String,
    pub scheduled_at: DateTime,
    /// Where it takes place, once arranged.
    pub location: Option<String>,
    pub held_on: Option<Date>,
    pub record: Option<String>,
    /// `scheduled`, `held` or `cancelled`.
    pub status: String,
    /// For interviews a chain opens: the idempotency key of the opening step.
    #[sea_orm(unique)]
    pub origin_key: Option<String>,
    #[serde(skip)]
    pub created_at: DateTime,
    #[serde(skip)]
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
