use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One running chain: a workflow applied to one subject.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "workflow_instances")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workflow_id: String,
    pub workflow_version: i32,
    /// What the instance was planned with.
    pub content_hash: String,
    pub subject_kind: String,
    pub subject_key: String,
    /// `active`, `completed` or `cancelled`.
    pub status: String,
    /// A status a step set on the subject, e.g. `overdue`.
    pub subject_status: Option<String>,
    pub escalation_level: i32,
    /// Bumped under the row lock by every transaction that changes what the chain must do.
    pub version: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
