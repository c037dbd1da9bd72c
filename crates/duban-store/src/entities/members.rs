use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A party member on a unit's roster (党员名册).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub unit_id: i64,
    /// The person messages to the member go to; none without a mobile or email.
    pub person_id: Option<i64>,
    pub name: String,
    /// Admitted as a probationary member (预备党员) on this day.
    pub joined_on: Date,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub active: bool,
    #[serde(skip)]
    pub created_at: DateTime,
    #[serde(skip)]
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
