use sea_orm::entity::prelude::*;
use serde::Serialize;

/// An approved extension of a unit's term (延期换届).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "term_extensions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub unit_id: i64,
    pub approved_on: Date,
    pub new_term_end: Date,
    pub reason: Option<String>,
    pub approved_by: String,
    #[serde(skip)]
    pub created_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
