use sea_orm::entity::prelude::*;

/// Every version of a workflow an instance was planned with, by content hash, so that
/// editing a file never changes a running chain behind its back.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub content_hash: String,
    pub workflow_id: String,
    pub version: i32,
    /// The workflow file and its templates, as JSON.
    pub source: String,
    pub created_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
