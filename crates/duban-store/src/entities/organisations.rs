use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "organisations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub credit_code: String,
    pub name: String,
    pub kind: String,
    pub district: String,
    pub street: String,
    pub employees: i32,
    pub party_members: i32,
    pub instructor: Option<String>,
    /// The unit that covers this organisation.
    pub unit_id: Option<i64>,
    #[serde(skip)]
    pub created_at: DateTime,
    #[serde(skip)]
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
