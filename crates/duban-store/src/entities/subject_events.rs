use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A completion event on a subject (election recorded, extension approved, item verified,
/// interview held…): what the planner replays to know where a chain stands.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "subject_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub subject_key: String,
    pub name: String,
    /// When it happened (UTC).
    pub at: DateTime,
    /// The date the event carries, if any (new term end, new deadline), as local time.
    pub value: Option<DateTime>,
    pub reason: Option<String>,
    pub actor: String,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    #[serde(skip)]
    pub created_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
