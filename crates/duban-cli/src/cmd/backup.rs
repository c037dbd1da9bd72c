//! `duban backup FILE` and `duban restore FILE`: the SQLite database copied while it serves,
//! and a copy put back in its place (`duban_app::system::backup`). PostgreSQL and MariaDB are
//! backed up with their own tools; README.md gives the commands.

use super::{Context, OutputFormat, exit};
use duban_app::system::backup::{self, Snapshot};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The file to write (a new one: the copy is written beside it and renamed).
    file: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    force: bool,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A file written by `duban backup`.
    file: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub async fn run_backup(args: BackupArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    backup::sqlite_file(&ctx.settings.database.url)?;
    let store = ctx.store().await?;
    let snapshot = store.backup_to(&args.file, args.force).await?;
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&snapshot)?),
        OutputFormat::Table => {
            println!(
                "backup written to {}: {}, integrity ok",
                snapshot.path.display(),
                size(snapshot.bytes)
            );
            print_contents(&snapshot);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run_restore(args: RestoreArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let stamp = ctx.now().format("%Y%m%dT%H%M%SZ").to_string();
    let restored = backup::restore(&ctx.settings.database.url, &args.file, &stamp).await?;
    let pending = &restored.snapshot.pending_migrations;
    // The restored database checked as `audit verify` and `ledger verify` check it.
    let verified = if pending.is_empty() {
        let (app, actor) = super::cli_reader(ctx).await?;
        Some((
            app.verify_audit(&actor).await?,
            app.ledger_verify(&actor).await?,
        ))
    } else {
        None
    };
    let intact = verified
        .as_ref()
        .is_none_or(|(audit, ledger)| audit.intact() && ledger.is_empty());
    match args.format {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct Out<'a> {
                #[serde(flatten)]
                restored: &'a backup::Restored,
                audit_intact: Option<bool>,
                ledger_problems: Option<&'a [String]>,
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&Out {
                    restored: &restored,
                    audit_intact: verified.as_ref().map(|(a, _)| a.intact()),
                    ledger_problems: verified.as_ref().map(|(_, l)| l.as_slice()),
                })?
            );
        }
        OutputFormat::Table => {
            println!(
                "restored {} from {}: {}",
                restored.database.display(),
                args.file.display(),
                size(restored.snapshot.bytes)
            );
            if let Some(kept) = &restored.kept {
                println!("the database it replaces is kept as {}", kept.display());
            }
            print_contents(&restored.snapshot);
            match &verified {
                None => println!(
                    "the backup predates {} migration(s): run `duban migrate up`, then `duban audit verify` and `duban ledger verify`",
                    pending.len()
                ),
                Some((audit, ledger)) => {
                    if audit.intact() {
                        println!("audit log intact: {} rows", audit.rows);
                    } else {
                        for f in &audit.findings {
                            println!("{f}");
                        }
                        println!("audit log NOT intact: {} problem(s)", audit.findings.len());
                    }
                    if ledger.is_empty() {
                        println!(
                            "ledger: every transaction balances; every budget line and allocation agrees with its postings"
                        );
                    } else {
                        for p in ledger {
                            println!("{p}");
                        }
                        println!("ledger: {} problem(s)", ledger.len());
                    }
                }
            }
        }
    }
    Ok(if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::REFUSED)
    })
}

/// The schema version, the audit head and the rows of the main tables.
fn print_contents(s: &Snapshot) {
    println!(
        "schema {}, audit log head seq {}",
        s.schema_version.as_deref().unwrap_or("none"),
        s.audit_seq
    );
    for c in &s.counts {
        println!("  {:<22} {:>10}", c.table, c.rows);
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB ({b} bytes)", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB ({b} bytes)", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}
