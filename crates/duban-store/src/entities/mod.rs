//! sea-orm entities, hand-written to match `migrations/`. The migrations are the source of
//! truth; these only describe what is already there.

pub mod audit_log;
pub mod elections;
pub mod organisations;
pub mod party_units;
pub mod people;
