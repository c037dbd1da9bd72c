use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "people")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The mobile number, else the email address: what an import upserts by.
    #[sea_orm(unique)]
    pub person_key: String,
    pub name: String,
    pub post: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    /// Preferred channels, comma-separated (`sms,email`).
    pub channels: String,
    /// Staff roles, comma-separated: `org_department`, `finance`.
    pub roles: String,
    #[serde(skip)]
    pub created_at: DateTime,
    #[serde(skip)]
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
