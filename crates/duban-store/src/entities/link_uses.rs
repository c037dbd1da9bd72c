use sea_orm::entity::prelude::*;

/// A signed link that has acted; a link acts once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "link_uses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub link_hash: String,
    pub person_id: i64,
    pub instance_id: i64,
    pub step_id: String,
    pub answer: String,
    pub used_at: DateTime,
    pub used_from: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
