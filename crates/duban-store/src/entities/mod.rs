//! sea-orm entities, hand-written to match `migrations/`. The migrations are the source of
//! truth; these only describe what is already there.

pub mod api_tokens;
pub mod audit_head;
pub mod audit_log;
pub mod bank_accounts;
pub mod bank_lines;
pub mod bank_matches;
pub mod bank_statements;
pub mod deliveries;
pub mod elections;
pub mod idempotency_keys;
pub mod interviews;
pub mod ledger_accounts;
pub mod ledger_allocations;
pub mod ledger_closed_years;
pub mod ledger_commands;
pub mod ledger_dues;
pub mod ledger_lines;
pub mod ledger_postings;
pub mod ledger_rebates;
pub mod ledger_state;
pub mod ledger_transactions;
pub mod link_uses;
pub mod organisations;
pub mod outbox;
pub mod party_units;
pub mod people;
pub mod rectification_items;
pub mod rectification_progress;
pub mod sessions;
pub mod subject_events;
pub mod term_extensions;
pub mod timers;
pub mod users;
pub mod workflow_instances;
pub mod workflow_versions;
