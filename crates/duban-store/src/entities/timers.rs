use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One due step of one instance.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "timers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub instance_id: i64,
    pub step_id: String,
    pub occurrence: String,
    pub due_at: DateTime,
    /// `pending`, `running` (leased), `done`, `failed` or `cancelled`.
    pub state: String,
    /// The planned step as JSON, as the planner produced it.
    pub payload: String,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime>,
    /// Incremented by every claim; only the latest claimant may finish the timer.
    pub fence: i64,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime>,
    pub last_error: Option<String>,
    pub late: bool,
    pub fired_at: Option<DateTime>,
    pub created_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
