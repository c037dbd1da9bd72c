use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A rectification item (整改事项) with its owner, deadline and close-out.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "rectification_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub unit_id: i64,
    pub title: String,
    /// `immediate`, `time_bound` or `long_term`.
    pub kind: String,
    pub measures: Option<String>,
    pub owner_id: Option<i64>,
    pub leader_id: Option<i64>,
    pub verifier_id: Option<i64>,
    pub opened_on: Date,
    pub deadline: Date,
    pub final_deadline: Option<Date>,
    /// `open`, `closed` or `reopened`.
    pub status: String,
    pub closed_on: Option<Date>,
    pub interview_id: Option<i64>,
    #[serde(skip)]
    pub created_at: DateTime,
    #[serde(skip)]
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
