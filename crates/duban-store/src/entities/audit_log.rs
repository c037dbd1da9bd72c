use sea_orm::entity::prelude::*;

/// Who changed what, when, from where, with the row before and after (JSON); chained to
/// the entry before it by `prev_hash` and `hash` (see `duban_core::audit_chain`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTime,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_key: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The entry's place in the chain, from 1 (unique). Empty only for a row written
    /// around duban.
    pub seq: Option<i64>,
    /// Where the change came from: `cli`, an IP address, `link`, `engine`; `''` for entries
    /// written before the chain.
    pub origin: String,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
