use sea_orm::entity::prelude::*;
use serde::Serialize;

/// An open organisational-life base (开放式组织生活基地).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "bases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    /// `basic`, `red`, `welfare` or `science`.
    pub kind: String,
    pub host_unit_id: i64,
    pub district: String,
    pub address: String,
    /// People per slot.
    pub capacity: i32,
    /// `HH:MM`, Beijing time, on working days.
    pub opens: String,
    pub closes: String,
    pub slot_minutes: i32,
    /// The menu: a JSON array of `{"name", "minutes"}`.
    pub activities: String,
    pub active: bool,
    #[serde(skip)]
    pub created_at: DateTime,
    #[serde(skip)]
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
