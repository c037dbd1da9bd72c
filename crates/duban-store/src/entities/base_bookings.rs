use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A unit's booking of one slot at a base.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "base_bookings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub base_id: i64,
    pub unit_id: i64,
    pub day: Date,
    /// `HH:MM`, Beijing time.
    pub starts: String,
    pub ends: String,
    pub activity: String,
    pub headcount: i32,
    /// `booked` or `cancelled`.
    pub state: String,
    pub booked_by: String,
    pub booked_at: DateTime,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<DateTime>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
