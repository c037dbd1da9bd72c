//! Indexes for two queries that run on every batch and otherwise walk a whole table:
//!
//! - `timers (instance_id, state)`: completions and re-plans cancel or list the pending timers
//!   of one instance (`WHERE instance_id = ? AND state = ?`). With only the `(state, due_at)`
//!   index and the unique `(instance_id, step_id, occurrence)` one, SQLite without statistics
//!   chose the state index and walked every pending timer, so firing a step cost in
//!   proportion to the whole backlog (35 ms a step beside 300,000 pending).
//! - `outbox (state, channel, sent_at)`: every dispatch batch reads the messages sent on a
//!   channel inside the dedupe and rate-limit windows
//!   (`WHERE state = 'sent' AND channel = ? AND sent_at >= ?`), which walked every message
//!   ever sent.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, index name, columns)
const INDEXES: [(&str, &str, &[&str]); 2] = [
    (
        "timers",
        "ix_timers_instance_state",
        &["instance_id", "state"],
    ),
    (
        "outbox",
        "ix_outbox_state_channel_sent",
        &["state", "channel", "sent_at"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, cols) in INDEXES {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(Alias::new(table));
            for col in cols {
                index.col(Alias::new(*col));
            }
            m.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, _) in INDEXES {
            crate::drop_index_if_exists(m, table, name).await?;
        }
        Ok(())
    }
}
