//! `duban migrate up | down N | status`.

use super::Context;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Apply pending migrations (the default).
    Up {
        /// Apply only the next N.
        #[arg(long)]
        steps: Option<u32>,
    },
    /// Revert the last N applied migrations.
    Down {
        #[arg(default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    match args.action.unwrap_or(Action::Up { steps: None }) {
        Action::Up { steps } => {
            let before = store.pending_migrations().await?;
            store.migrate_up(steps).await?;
            let after = store.pending_migrations().await?;
            let applied = before.len() - after.len();
            println!(
                "applied {applied} migration(s) on {}; schema version {}",
                store.backend(),
                store
                    .schema_version()
                    .await?
                    .unwrap_or_else(|| "none".into())
            );
        }
        Action::Down { steps } => {
            store.migrate_down(steps).await?;
            println!(
                "reverted {steps} migration(s) on {}; schema version {}",
                store.backend(),
                store
                    .schema_version()
                    .await?
                    .unwrap_or_else(|| "none".into())
            );
        }
        Action::Status => {
            for m in store.migrations().await? {
                println!(
                    "{} {}",
                    if m.applied { "applied" } else { "pending" },
                    m.name
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
