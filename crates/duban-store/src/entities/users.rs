use sea_orm::entity::prelude::*;

/// Someone who signs in: their role, and the districts or units they are limited to.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    /// Comma-separated districts; empty for all.
    pub districts: String,
    /// Comma-separated unit codes a secretary answers for.
    pub units: String,
    pub disabled: bool,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime>,
    pub password_changed_at: DateTime,
    pub last_login_at: Option<DateTime>,
    pub last_login_from: Option<String>,
    pub created_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
