//! The audit log: every change a person makes, with who, when, what, before and after.
//! Written in the same transaction as the change, so one never exists without the other.

use crate::entities::audit_log;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, NotSet, Set};
use serde::Serialize;

/// One change to record.
pub struct Change<'a, T: Serialize> {
    pub actor: &'a str,
    pub at: DateTime<Utc>,
    pub action: &'a str,
    pub entity: &'a str,
    pub key: &'a str,
    pub before: Option<&'a T>,
    pub after: Option<&'a T>,
}

pub async fn record<C: ConnectionTrait, T: Serialize>(
    conn: &C,
    c: Change<'_, T>,
) -> Result<(), DbErr> {
    let json = |v: Option<&T>| -> Result<Option<String>, DbErr> {
        v.map(|v| serde_json::to_string(v).map_err(|e| DbErr::Custom(e.to_string())))
            .transpose()
    };
    audit_log::ActiveModel {
        id: NotSet,
        at: Set(c.at.naive_utc()),
        actor: Set(c.actor.to_string()),
        action: Set(c.action.to_string()),
        entity: Set(c.entity.to_string()),
        entity_key: Set(c.key.to_string()),
        before: Set(json(c.before)?),
        after: Set(json(c.after)?),
    }
    .insert(conn)
    .await?;
    Ok(())
}
