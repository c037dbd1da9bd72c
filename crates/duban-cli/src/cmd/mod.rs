//! One module per subcommand. Each exposes `Args` (clap) and `run(args, ctx)`.

pub mod audit;
pub mod backup;
pub mod bank;
pub mod bank_profiles;
pub mod bases;
pub mod calendar;
pub mod complete;
pub mod deliveries;
pub mod engine;
pub mod import;
pub mod ledger;
pub mod lists;
pub mod migrate;
pub mod register;
pub mod report;
pub mod serve;
pub mod timers;
pub mod users;
pub mod workflows;

use crate::settings::Settings;
use duban_app::system::{Store, StoreOptions};

/// What every subcommand gets: the loaded settings and where they came from.
pub struct Context {
    pub settings: Settings,
    /// Where the settings were read from; passed on to child processes.
    pub config_dir: std::path::PathBuf,
    /// The clock every command reads: the system's, or the instant `DUBAN_NOW` fixes (for
    /// rehearsals and tests that drive months in minutes).
    pub clock: std::sync::Arc<dyn duban_core::clock::Clock>,
}

/// An instant as people type it: RFC 3339, or `YYYY-MM-DDTHH:MM[:SS]` or `YYYY-MM-DD`
/// (midnight) in Beijing time.
pub fn parse_instant(text: &str, what: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    let t = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let local = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M"))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .map_err(|_| {
            anyhow::anyhow!(
                "{what} {text:?} is neither an RFC 3339 instant nor YYYY-MM-DD[THH:MM] (Beijing time)"
            )
        })?;
    Ok(chrono_tz::Asia::Shanghai
        .from_local_datetime(&local)
        .earliest()
        .ok_or_else(|| anyhow::anyhow!("{what} {text:?} does not exist in Asia/Shanghai"))?
        .with_timezone(&chrono::Utc))
}

/// Reads `DUBAN_NOW` (see [`parse_instant`]); the system clock when it is not set.
pub fn clock_from_env() -> anyhow::Result<std::sync::Arc<dyn duban_core::clock::Clock>> {
    let Ok(text) = std::env::var("DUBAN_NOW") else {
        return Ok(std::sync::Arc::new(duban_core::clock::SystemClock));
    };
    let at = parse_instant(&text, "DUBAN_NOW")?;
    Ok(std::sync::Arc::new(duban_core::clock::ManualClock::new(at)))
}

impl Context {
    /// Now, by the command's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Today in Asia/Shanghai, by the command's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .date_naive()
    }

    /// Loads the working-day calendar from `calendar.dir`; errors name file:line:column.
    pub fn calendar(&self) -> anyhow::Result<duban_workflow::Calendar> {
        Ok(duban_app::workflows::load_calendar(
            &self.settings.calendar.dir,
        )?)
    }

    /// An engine node on the migrated database, with the workflows, calendar and quiet hours
    /// from the configuration. With `at`, its clock stands still at that instant.
    pub async fn engine(
        &self,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> anyhow::Result<duban_engine::Engine> {
        self.engine_on(self.migrated_pool().await?, at).await
    }

    /// As [`Context::engine`], on a store already connected.
    pub async fn engine_on(
        &self,
        store: Store,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> anyhow::Result<duban_engine::Engine> {
        self.engine_with(store, at, self.engine_config()).await
    }

    /// As [`Context::engine_on`], with the engine settings given instead of configured.
    pub async fn engine_with(
        &self,
        store: Store,
        at: Option<chrono::DateTime<chrono::Utc>>,
        config: duban_engine::EngineConfig,
    ) -> anyhow::Result<duban_engine::Engine> {
        let clock: std::sync::Arc<dyn duban_core::clock::Clock> = match at {
            Some(t) => std::sync::Arc::new(duban_core::clock::ManualClock::new(t)),
            None => self.clock.clone(),
        };
        self.engine_with_clock(store, clock, config).await
    }

    /// An engine on `store` that reads `clock`.
    pub async fn engine_with_clock(
        &self,
        store: Store,
        clock: std::sync::Arc<dyn duban_core::clock::Clock>,
        config: duban_engine::EngineConfig,
    ) -> anyhow::Result<duban_engine::Engine> {
        let rules = duban_engine::Rules::from_parts(
            self.workflow_set()?,
            self.calendar()?,
            self.settings.quiet_hours()?,
            &self.settings.workflows.sms_signature,
        );
        let engine = duban_engine::Engine::new(store, std::sync::Arc::new(rules), config, clock);
        engine.rules.persist(&engine.store, engine.now()).await?;
        Ok(engine)
    }

    /// The workflows under `workflows.dir`; any error stops with every finding.
    pub fn workflow_set(&self) -> anyhow::Result<duban_workflow::WorkflowSet> {
        let opts = duban_workflow::CheckOptions {
            sms_signature: self.settings.workflows.sms_signature.clone(),
            recordable: Some(duban_engine::answer::recordable()),
        };
        let report =
            duban_workflow::check_paths(std::slice::from_ref(&self.settings.workflows.dir), &opts);
        if report.has_errors() {
            anyhow::bail!(
                "the workflow files in {} have {} error(s); run `duban workflows check` to see them",
                self.settings.workflows.dir.display(),
                report.errors()
            );
        }
        Ok(report.set)
    }

    pub fn engine_config(&self) -> duban_engine::EngineConfig {
        let e = &self.settings.engine;
        let node_id = if e.node_id.is_empty() {
            let host = std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "node".into());
            format!("{host}-{}", std::process::id())
        } else {
            e.node_id.clone()
        };
        duban_engine::EngineConfig {
            node_id,
            batch_size: e.batch_size.max(1),
            lease: chrono::Duration::seconds(e.lease_seconds.max(1)),
            max_attempts: e.max_attempts.max(1),
            retry_base: chrono::Duration::seconds(e.retry_base_seconds.max(1)),
            late_after: chrono::Duration::seconds(e.late_after_seconds.max(0)),
            catch_up: chrono::Duration::days(e.catch_up_days.max(0)),
            horizon: chrono::Duration::days(e.horizon_days.max(1)),
            org_department: self.settings.workflows.org_department.clone(),
            link_base: e.link_base.clone(),
            link_key: match self.link_key() {
                Ok(k) => Some(std::sync::Arc::new(k)),
                Err(e) => {
                    tracing::warn!(error = %e, "messages link to the sign-in page instead of signed links");
                    None
                }
            },
            link_ttl: chrono::Duration::days(self.settings.links.ttl_days.max(1)),
            fallback_email: self
                .settings
                .workflows
                .fallback_email
                .clone()
                .filter(|a| !a.trim().is_empty()),
        }
    }

    /// The key that signs the links in reminders: from the environment variable
    /// `links.key_env`, else from `links.key_file` (created with a random key on first use).
    pub fn link_key(&self) -> anyhow::Result<Vec<u8>> {
        let l = &self.settings.links;
        if let Ok(k) = std::env::var(&l.key_env) {
            anyhow::ensure!(
                k.trim().len() >= 32,
                "{} must hold at least 32 characters",
                l.key_env
            );
            return Ok(k.trim().as_bytes().to_vec());
        }
        match std::fs::read_to_string(&l.key_file) {
            Ok(k) if k.trim().len() >= 32 => Ok(k.trim().as_bytes().to_vec()),
            Ok(_) => anyhow::bail!(
                "{} holds less than 32 characters; delete it to have a new key made",
                l.key_file.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = l.key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                let key = duban_app::random_hex(32);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                match options.open(&l.key_file) {
                    Ok(mut f) => {
                        std::io::Write::write_all(&mut f, key.as_bytes())?;
                        tracing::info!(file = %l.key_file.display(), "made a new key for signed links");
                        Ok(key.into_bytes())
                    }
                    // Another process made it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Ok(std::fs::read_to_string(&l.key_file)?
                            .trim()
                            .as_bytes()
                            .to_vec())
                    }
                    Err(e) => Err(anyhow::anyhow!(
                        "cannot create {}: {e}",
                        l.key_file.display()
                    )),
                }
            }
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", l.key_file.display())),
        }
    }

    /// The application layer on an engine.
    pub fn app(&self, engine: duban_engine::Engine) -> anyhow::Result<duban_app::App> {
        let a = &self.settings.auth;
        let policy = duban_app::Policy {
            max_failed_logins: a.max_failed_logins.max(1),
            lockout: chrono::Duration::minutes(a.lockout_minutes.max(0)),
            session_idle: chrono::Duration::minutes(a.idle_minutes.max(1)),
            session_max: chrono::Duration::hours(a.absolute_hours.max(1)),
            password_min_length: a.password_min_length.max(8),
            password_max_age: (a.password_max_age_days > 0)
                .then(|| chrono::Duration::days(a.password_max_age_days)),
            link_ttl: chrono::Duration::days(self.settings.links.ttl_days.max(1)),
            idempotency_ttl: duban_app::Policy::default().idempotency_ttl,
        };
        Ok(duban_app::App::new(engine, policy, self.link_key()?)
            .with_ledger(self.settings.ledger.clone())
            .with_bases(self.settings.bases.clone())
            .with_matching(
                self.settings
                    .bank
                    .matching
                    .rules()
                    .map_err(|e| anyhow::anyhow!("configuration error: {e}"))?,
            )
            .with_workflow_files(workflows::files(self)))
    }

    /// The application layer on one connection, for a command that may not need the
    /// engine at all (the ledger's): the workflow versions are saved only when a use case
    /// plans with them.
    pub async fn app_on_one_connection(&self) -> anyhow::Result<duban_app::App> {
        let store = self.migrated_store().await?;
        let rules = duban_engine::Rules::from_parts(
            self.workflow_set()?,
            self.calendar()?,
            self.settings.quiet_hours()?,
            &self.settings.workflows.sms_signature,
        );
        let engine = duban_engine::Engine::new(
            store,
            std::sync::Arc::new(rules),
            self.engine_config(),
            self.clock.clone(),
        );
        self.app(engine)
    }

    /// The application layer on the migrated database, as the command line's actor.
    /// Reads need no engine of their own: see [`cli_reader`].
    pub async fn app_for_cli(&self) -> anyhow::Result<duban_app::App> {
        let engine = self.engine(None).await?;
        self.app(engine)
    }

    /// One connection to the configured database (without migrating), for a command that
    /// does its work and exits: it never holds two at once, so many such processes side by
    /// side each take exactly one of the server's connections.
    pub async fn store(&self) -> anyhow::Result<Store> {
        self.connect(1).await
    }

    /// A pool of at most `database.max_connections`, for `serve` and the engine and
    /// dispatcher, which work on several things at a time.
    pub async fn pool(&self) -> anyhow::Result<Store> {
        self.connect(self.settings.database.max_connections.max(1))
            .await
    }

    async fn connect(&self, max_connections: u32) -> anyhow::Result<Store> {
        let db = &self.settings.database;
        let opts = StoreOptions {
            max_connections,
            busy_timeout: std::time::Duration::from_millis(db.busy_timeout_ms),
        };
        Ok(Store::connect(&db.url, &opts).await?)
    }

    /// [`Context::store`], checked to have the current schema, with a hint when not.
    pub async fn migrated_store(&self) -> anyhow::Result<Store> {
        migrated(self.store().await?).await
    }

    /// [`Context::pool`], checked to have the current schema.
    pub async fn migrated_pool(&self) -> anyhow::Result<Store> {
        migrated(self.pool().await?).await
    }
}

/// The application layer on one connection and the command line's user, for a command
/// that reads: whoever holds the database's keys at the server reads everything.
pub async fn cli_reader(ctx: &Context) -> anyhow::Result<(duban_app::App, duban_app::Actor)> {
    Ok((
        ctx.app_on_one_connection().await?,
        duban_app::Actor::command_line(&import::login_name()),
    ))
}

async fn migrated(store: Store) -> anyhow::Result<Store> {
    let pending = store.pending_migrations().await?;
    if !pending.is_empty() {
        return Err(Unavailable(format!(
            "the database has {} pending migration(s) ({}); run `duban migrate up` first",
            pending.len(),
            pending.join(", ")
        ))
        .into());
    }
    Ok(store)
}

/// Exit statuses, the same for every command; 0 is done.
pub mod exit {
    /// Refused by a rule of the domain (budget control, a reused key, a closed period …),
    /// or failed for a reason that is none of the others.
    pub const REFUSED: u8 = 1;
    /// Bad usage or input: an option, an amount, a file.
    pub const BAD_INPUT: u8 = 2;
    /// The database (or another server) cannot be reached, takes no more connections, or
    /// is not migrated: nothing was done, trying later may work.
    pub const UNAVAILABLE: u8 = 3;
}

/// Bad input found after the arguments were parsed: exit status 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Something the command needs is not there to use: exit status 3.
#[derive(Debug)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

/// The exit status of a failed command, from the first cause that decides it: the
/// database out of reach (3), bad input (2), otherwise 1.
pub fn exit_status(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(a) = cause.downcast_ref::<duban_app::AppError>() {
            use duban_app::AppError as A;
            return match a {
                A::Unavailable(_) => exit::UNAVAILABLE,
                A::Invalid { .. } | A::Rows(_) => exit::BAD_INPUT,
                _ => exit::REFUSED,
            };
        }
        if let Some(s) = cause.downcast_ref::<duban_app::system::StoreError>() {
            if s.is_unavailable() {
                return exit::UNAVAILABLE;
            }
        } else if let Some(db) = cause.downcast_ref::<duban_app::system::DbErr>() {
            if duban_app::system::is_unavailable(db) {
                return exit::UNAVAILABLE;
            }
        } else if cause.is::<Unavailable>() {
            return exit::UNAVAILABLE;
        } else if cause.is::<BadInput>() {
            return exit::BAD_INPUT;
        }
    }
    exit::REFUSED
}

/// Output format of commands that print data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
}
