//! The application layer: one function per use case. Each takes the acting user
//! ([`Actor`]), checks what their role and scope allow, and owns its transaction, audit row
//! and clock. The adapters — the `duban` command line and the HTTP API and pages — only
//! parse, call one of these and present the answer; neither touches the store directly.

pub mod accounts;
pub mod actor;
pub mod audit;
pub mod bank;
pub mod bank_profiles;
pub mod bases;
pub mod calendar;
pub mod chains;
pub mod dashboard;
pub mod deliveries;
pub mod error;
pub mod funds;
pub mod idempotency;
pub mod ledger;
pub mod links;
pub mod lists;
pub mod loop_;
pub mod members;
pub mod monitor;
pub mod reconcile;
pub mod register;
pub mod reports;
pub mod system;
pub mod tasks;
pub mod units;
pub mod workflows;

pub use actor::{Actor, Permission, Role};
pub use error::AppError;

use chrono::Duration;
use duban_engine::Engine;
use std::sync::Arc;

/// The rules of sign-in and signed links (`[auth]` and `[links]` in the configuration).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Failed sign-ins in a row that lock an account.
    pub max_failed_logins: u32,
    pub lockout: Duration,
    /// A session ends after this long without use …
    pub session_idle: Duration,
    /// … and this long after sign-in in any case.
    pub session_max: Duration,
    pub password_min_length: usize,
    /// A password older than this must be changed before anything else; `None` never.
    pub password_max_age: Option<Duration>,
    /// How long a signed link in a reminder stays valid.
    pub link_ttl: Duration,
    /// How long an API write's `Idempotency-Key` is remembered.
    pub idempotency_ttl: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_failed_logins: 5,
            lockout: Duration::minutes(15),
            session_idle: Duration::minutes(30),
            session_max: Duration::hours(12),
            password_min_length: 8,
            password_max_age: Some(Duration::days(90)),
            link_ttl: Duration::days(30),
            idempotency_ttl: Duration::days(7),
        }
    }
}

/// Everything the use cases need: the engine (store, rules, clock) and the policy.
#[derive(Clone)]
pub struct App {
    pub engine: Engine,
    pub policy: Arc<Policy>,
    link_key: Arc<Vec<u8>>,
    ledger: Arc<duban_ledger::config::LedgerConfig>,
    matching: Arc<duban_bank::matching::Rules>,
    workflow_files: Arc<workflows::WorkflowFiles>,
    bases: Arc<bases::BasesPolicy>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("engine", &self.engine).finish()
    }
}

impl App {
    /// `link_key` signs and checks the links in reminders; the engine must sign with the
    /// same key (see [`duban_engine::EngineConfig::link_key`]).
    pub fn new(engine: Engine, policy: Policy, link_key: Vec<u8>) -> App {
        let workflow_files = workflows::WorkflowFiles::new(&engine.rules.sms_signature);
        App {
            engine,
            workflow_files: Arc::new(workflow_files),
            policy: Arc::new(policy),
            link_key: Arc::new(link_key),
            ledger: Arc::new(duban_ledger::config::LedgerConfig::default()),
            matching: Arc::new(duban_bank::matching::Rules::default()),
            bases: Arc::new(bases::BasesPolicy::default()),
        }
    }

    /// The matching rule table in force.
    pub fn matching(&self) -> &duban_bank::matching::Rules {
        &self.matching
    }

    /// The matching rule table (`[bank.matching]`, checked by
    /// `duban_bank::matching::MatchingConfig::rules`).
    pub fn with_matching(mut self, rules: duban_bank::matching::Rules) -> App {
        self.matching = Arc::new(rules);
        self
    }

    /// The ledger's rules (`[ledger]`: budget control, rate cards, year end, dues).
    pub fn with_ledger(mut self, config: duban_ledger::config::LedgerConfig) -> App {
        self.ledger = Arc::new(config);
        self
    }

    /// Where `check_workflows` reads the workflow files and the calendar, and the SMS
    /// provider's templates it holds them to.
    pub fn with_workflow_files(mut self, files: workflows::WorkflowFiles) -> App {
        self.workflow_files = Arc::new(files);
        self
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.engine.now()
    }

    pub fn today(&self) -> chrono::NaiveDate {
        self.engine.today()
    }

    /// Runs a use case's work with its audit entries marked as coming from the actor's
    /// origin, however deep below they are written.
    pub(crate) async fn from<F: std::future::Future>(&self, actor: &Actor, f: F) -> F::Output {
        duban_store::audit::with_origin(&actor.origin, f).await
    }

    pub(crate) fn store(&self) -> &duban_store::Store {
        &self.engine.store
    }

    /// Whether the database answers and which schema it has (for `/healthz`).
    pub async fn health(&self) -> Result<(&'static str, Option<String>), AppError> {
        let store = self.store();
        store.ping().await?;
        Ok((store.backend().as_str(), store.schema_version().await?))
    }

    /// The database's kind: `sqlite`, `postgres` or `mysql`.
    pub fn backend(&self) -> &'static str {
        self.store().backend().as_str()
    }

    /// Timer and outbox figures for `/metrics`.
    pub async fn timer_stats(&self) -> Result<duban_store::engine::TimerStats, AppError> {
        Ok(self.store().timer_stats(self.now()).await?)
    }
}

/// Random bytes from the operating system, hex: session ids, API tokens, link keys.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source");
    hex::encode(buf)
}

/// SHA-256, hex: what is kept of secrets that must be recognised, never read back.
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}
