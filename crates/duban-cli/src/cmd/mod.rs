//! One module per subcommand. Each exposes `Args` (clap) and `run(args, ctx)`.

pub mod calendar;
pub mod import;
pub mod migrate;
pub mod register;
pub mod serve;
pub mod workflows;

use crate::settings::Settings;
use duban_store::{Store, StoreOptions};

/// What every subcommand gets: the loaded settings and where they came from.
pub struct Context {
    pub settings: Settings,
}

impl Context {
    /// Loads the working-day calendar from `calendar.dir`; errors name file:line:column.
    pub fn calendar(&self) -> anyhow::Result<duban_workflow::Calendar> {
        duban_workflow::Calendar::load_dir(&self.settings.calendar.dir).map_err(|diags| {
            anyhow::anyhow!(
                "the holiday calendar in {} has errors:\n{}",
                self.settings.calendar.dir.display(),
                duban_workflow::diag::render_text(&diags)
            )
        })
    }

    /// Connects to the configured database (without migrating).
    pub async fn store(&self) -> anyhow::Result<Store> {
        let db = &self.settings.database;
        let opts = StoreOptions {
            max_connections: db.max_connections,
            busy_timeout: std::time::Duration::from_millis(db.busy_timeout_ms),
        };
        Ok(Store::connect(&db.url, &opts).await?)
    }

    /// Connects and checks that the schema is current, with a hint when it is not.
    pub async fn migrated_store(&self) -> anyhow::Result<Store> {
        let store = self.store().await?;
        let pending = store.pending_migrations().await?;
        anyhow::ensure!(
            pending.is_empty(),
            "the database has {} pending migration(s) ({}); run `duban migrate up` first",
            pending.len(),
            pending.join(", ")
        );
        Ok(store)
    }
}

/// Output format of commands that print data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
}
