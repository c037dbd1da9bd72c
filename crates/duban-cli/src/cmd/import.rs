//! `duban import register|rectification FILE [--dry-run] [--encoding gbk]` and `--template`.

use super::{Context, OutputFormat};
use anyhow::Context as _;

use duban_core::register::{RowError, parse_register, template_headers};
use duban_tabular::{Encoding, read_table};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Import organisations, party units, secretaries and terms from CSV or XLSX.
    ///
    /// The whole file is imported or nothing: every bad row is reported with its row
    /// number, column and reason. Re-importing the same file changes nothing.
    Register(RegisterArgs),
    /// Import a rectification list (问题清单) from CSV or XLSX: each row becomes an item
    /// with its chain (columns 党组织编码, 整改事项, 整改类别, 整改期限, 责任人手机,
    /// 责任领导手机, 验收人手机, 整改措施). All or nothing, every bad cell located.
    Rectification(RegisterArgs),
}

#[derive(Debug, clap::Args)]
struct RegisterArgs {
    /// The CSV (UTF-8, UTF-8 with BOM, or GBK) or XLSX file.
    #[arg(required_unless_present = "template")]
    file: Option<PathBuf>,
    /// Check the file and show what would change, without writing.
    #[arg(long)]
    dry_run: bool,
    /// Text encoding of a CSV file: auto, utf-8 or gbk.
    #[arg(long, default_value = "auto")]
    encoding: Encoding,
    /// Print the header row of a register file (CSV, UTF-8 with BOM for Excel) and exit.
    #[arg(long, conflicts_with_all = ["file", "dry_run"])]
    template: bool,
    /// Who is importing, for the audit log (defaults to the login name).
    #[arg(long, env = "DUBAN_ACTOR")]
    actor: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Register(a) => register(a, ctx).await,
        What::Rectification(a) => rectification(a, ctx).await,
    }
}

async fn rectification(args: RegisterArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    use duban_engine::admin::ITEM_COLUMNS;
    if args.template {
        let mut headers: Vec<&str> = ITEM_COLUMNS.iter().map(|c| c.1).collect();
        headers.push("整改措施");
        print!("\u{feff}{}\r\n", headers.join(","));
        return Ok(ExitCode::SUCCESS);
    }
    let file = args.file.as_deref().context("a file is required")?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let table = read_table(&file.to_string_lossy(), &bytes, args.encoding)
        .with_context(|| format!("{}", file.display()))?;
    let engine = ctx.engine(None).await?;
    let actor = args.actor.clone().unwrap_or_else(login_name);
    match engine.import_items(&table, &actor, args.dry_run).await? {
        Ok(done) => {
            match args.format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&done)?),
                OutputFormat::Table if done.dry_run => {
                    println!(
                        "{} item(s) are valid; nothing was written (dry run)",
                        done.items
                    )
                }
                OutputFormat::Table => println!(
                    "{} item(s) opened, {} timer(s) planned: {}",
                    done.items,
                    done.timers_planned,
                    done.created.join(", ")
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            report_row_errors(file, &errors, args.format)?;
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Every bad cell of a file, then the verdict: nothing was written.
fn report_row_errors(file: &Path, errors: &[RowError], format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(errors)?),
        OutputFormat::Table => {
            for e in errors {
                eprintln!("{}: {e}", file.display());
            }
        }
    }
    eprintln!(
        "{}: {} error(s); nothing was imported",
        file.display(),
        errors.len()
    );
    Ok(())
}

async fn register(args: RegisterArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if args.template {
        print!("\u{feff}{}\r\n", template_headers().join(","));
        return Ok(ExitCode::SUCCESS);
    }
    let file = args.file.as_deref().context("a file is required")?;
    let engine = ctx.engine(None).await?;
    let actor = args.actor.clone().unwrap_or_else(login_name);
    match import_register_file(&engine, file, args.encoding, &actor, args.dry_run).await? {
        Ok(summary) => {
            match args.format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
                OutputFormat::Table => print_summary(&summary),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            report_row_errors(file, &errors, args.format)?;
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Reads, validates and applies a register file. The outer error is I/O or the database;
/// the inner `Err` lists every bad cell, in which case nothing was written.
pub async fn import_register_file(
    engine: &duban_engine::Engine,
    file: &Path,
    encoding: Encoding,
    actor: &str,
    dry_run: bool,
) -> anyhow::Result<Result<duban_store::register::ImportSummary, Vec<RowError>>> {
    let store = &engine.store;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.to_string_lossy();
    let table =
        read_table(&name, &bytes, encoding).with_context(|| format!("{}", file.display()))?;
    let superiors: Vec<String> = {
        let mut set: HashSet<String> = HashSet::new();
        if let Some(i) = superior_column(&table.headers) {
            for (_, cells) in &table.rows {
                if let Some(c) = cells.get(i).map(|c| c.trim()).filter(|c| !c.is_empty()) {
                    set.insert(c.to_string());
                }
            }
        }
        set.into_iter().collect()
    };
    let known = store.existing_unit_codes(&superiors).await?;
    let batch = match parse_register(&table, &known) {
        Ok(b) => b,
        Err(errors) => return Ok(Err(errors)),
    };
    // The register and the chains it implies change together: one transaction.
    let now = engine.now();
    let tx = store.begin_write().await?;
    let mut summary = tx.apply_register(&batch, actor, now).await?;
    let plans = engine.sync_units(&tx, &summary.changed_units, now).await?;
    summary.dry_run = dry_run;
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    for (subject, problem) in &plans.problems {
        tracing::warn!(%subject, %problem, "chain not planned");
    }
    tracing::info!(
        file = %file.display(),
        organisations = batch.organisations.len(),
        units = batch.units.len(),
        instances_created = plans.instances_created,
        timers_planned = plans.timers_inserted,
        dry_run,
        "register imported"
    );
    Ok(Ok(summary))
}

fn superior_column(headers: &[String]) -> Option<usize> {
    let col = duban_core::register::COLUMNS
        .iter()
        .find(|c| c.key == "superior_unit_code")?;
    headers
        .iter()
        .position(|h| h.trim() == col.header || h.trim().eq_ignore_ascii_case(col.key))
}

fn print_summary(s: &duban_store::register::ImportSummary) {
    println!(
        "{:<14} {:>8} {:>8} {:>10}",
        "", "created", "updated", "unchanged"
    );
    for (name, c) in [
        ("organisations", s.organisations),
        ("units", s.units),
        ("people", s.people),
        ("elections", s.elections),
    ] {
        println!(
            "{name:<14} {:>8} {:>8} {:>10}",
            c.created, c.updated, c.unchanged
        );
    }
    if s.dry_run {
        println!("dry run: nothing was written");
    } else if s.is_noop() {
        println!("the register already matches the file: nothing changed");
    }
}

/// The login name for the audit log.
pub fn login_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
