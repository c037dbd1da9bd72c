use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A message to send, written in the same transaction as the step that produced it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Deterministic: instance, step, occurrence, recipient, channel.
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub instance_id: Option<i64>,
    pub timer_id: Option<i64>,
    pub person_id: Option<i64>,
    pub role: String,
    pub channel: String,
    pub address: String,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    /// Quiet hours already applied: the message may not leave before this instant.
    pub not_before: DateTime,
    pub urgent: bool,
    /// `pending`, `sending`, `sent`, `failed`, `dead`, `dropped`, `merged` or `unreachable`.
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime>,
    pub fence: i64,
    pub provider_message_id: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime,
    pub sent_at: Option<DateTime>,
    /// The SMS provider template's logical name (`reminder`, `digest`).
    pub template: Option<String>,
    /// The SMS template's parameters, a JSON object of strings.
    pub params: Option<String>,
    /// SHA-256 of the rendered message, for duplicate suppression.
    pub content_hash: Option<String>,
    /// Set on a held reminder merged into a digest: the digest's outbox id.
    pub digest_of: Option<i64>,
    /// An administrator's re-send: never dropped as a duplicate.
    pub resend: bool,
    /// Set (fenced) just before the lease holder hands the message to its channel, cleared
    /// with the result: a message taken over while it is set may already have left.
    pub send_started_at: Option<DateTime>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
