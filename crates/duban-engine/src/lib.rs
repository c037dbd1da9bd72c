//! duban's engine: turns workflows into running chains that survive crashes and scale across
//! nodes.
//!
//! - [`sync`]: a subject created or changed → its instances (re)planned into timer rows, in
//!   the caller's transaction.
//! - [`fire`]: one tick — claim due timers with a lease, run their steps, commit each batch's
//!   effects (outbox rows, escalations, interviews, statuses) with the timers' completion.
//! - [`complete`]: completions (election recorded, extension approved, progress reported,
//!   close-out, interview held) cancel what is left of a chain and start what follows.
//! - [`answer`]: every answer people give ([`answer::Answer`]), one recorder each.
//! - [`runner`]: the in-process ticker (tokio-cron-scheduler), only a trigger: the database
//!   is the source of truth, so any number of nodes can run it.
//!
//! Time is injected: [`Engine::tick`] takes "now", so tests drive months in seconds.

pub mod admin;
pub mod answer;
pub mod complete;
pub mod dispatch;
pub mod fire;
pub mod lease;
pub mod rules;
pub mod runner;
pub mod subjects;
pub mod sync;

use chrono::Duration;
use duban_core::clock::Clock;
use duban_store::{Store, StoreError};
use std::sync::Arc;

pub use fire::TickReport;
pub use rules::Rules;
pub use subjects::SubjectRef;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Data(String),
    /// A completion that cannot be accepted: the message says why.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Plan(#[from] duban_workflow::plan::PlanError),
    /// One timer's step failed while its effects were written; the batch is written again
    /// without them.
    #[error("timer {timer}: {message}")]
    StepFailed { timer: i64, message: String },
}

/// How an engine node behaves.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Names this node in leases; unique per process.
    pub node_id: String,
    /// Timers claimed per batch; one commit per batch.
    pub batch_size: u64,
    /// How long a claim holds before another node may take the timers over. It runs from
    /// the claim and is renewed every third of it while the node works on the batch.
    pub lease: Duration,
    /// Tries of a failing step before it shows as failed.
    pub max_attempts: i32,
    /// First retry delay; doubles with each try.
    pub retry_base: Duration,
    /// A timer fired this long after it fell due is marked late.
    pub late_after: Duration,
    /// When an instance is first planned, steps due more than this long ago are not
    /// created (a new subject does not replay its past); steps inside it fire at once.
    pub catch_up: Duration,
    /// How far ahead recurring workflows are planned; each fire extends it.
    pub horizon: Duration,
    /// The organisation department's name in messages.
    pub org_department: String,
    /// Base of the confirmation links in messages.
    pub link_base: String,
    /// The key that signs each recipient's link (`{link_base}/l/<token>`); without one,
    /// messages link to the sign-in page.
    pub link_key: Option<Arc<Vec<u8>>>,
    /// How long a signed link stays valid.
    pub link_ttl: Duration,
    /// Where a message goes when no one holds the role it addresses (an escalation to an
    /// organisation department with no officer recorded); `None` lists it as unreachable only.
    pub fallback_email: Option<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            node_id: "node-1".into(),
            batch_size: 500,
            lease: Duration::seconds(120),
            max_attempts: 5,
            retry_base: Duration::seconds(30),
            late_after: Duration::minutes(5),
            catch_up: Duration::days(7),
            horizon: Duration::days(62),
            org_department: "组织部".into(),
            link_base: "http://127.0.0.1:8080".into(),
            link_key: None,
            link_ttl: Duration::days(30),
            fallback_email: None,
        }
    }
}

/// One engine node.
#[derive(Clone)]
pub struct Engine {
    pub store: Store,
    pub rules: Arc<Rules>,
    pub config: Arc<EngineConfig>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("node", &self.config.node_id)
            .finish()
    }
}

impl Engine {
    pub fn new(
        store: Store,
        rules: Arc<Rules>,
        config: EngineConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Engine {
            store,
            rules,
            config: Arc::new(config),
            clock,
        }
    }

    /// Today's date in Asia/Shanghai, by the engine's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .date_naive()
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// When a lease taken now for a pass at `now` ends (see [`lease::lease_until`]).
    pub fn lease_until(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        lease::lease_until(now, self.clock.as_ref(), self.config.lease)
    }
}
