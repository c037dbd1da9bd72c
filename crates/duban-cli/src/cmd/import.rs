//! `duban import register|rectification|members FILE [--dry-run] [--encoding gbk]` and `--template`.

use super::{Context, OutputFormat};
use anyhow::Context as _;

use duban_app::loop_::rectification_headers;
use duban_app::members::member_headers;
use duban_app::register::{Encoding, template_headers};
use duban_app::{Actor, AppError};
use duban_core::register::RowError;
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
    /// Import the party members' roster (党员名册) from CSV or XLSX: columns 姓名,
    /// 所在党组织代码, 入党时间 (or 转为预备党员日期), 手机, 邮箱. Members are matched by unit
    /// and name; each member's chains (政治生日) are planned. All or nothing, every bad cell
    /// located; re-importing the same file changes nothing.
    Members(RegisterArgs),
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
        What::Members(a) => members(a, ctx).await,
    }
}

async fn members(args: RegisterArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if args.template {
        print!("\u{feff}{}\r\n", member_headers().join(","));
        return Ok(ExitCode::SUCCESS);
    }
    let (file, bytes, app, actor) = upload(&args, ctx).await?;
    let done = app
        .import_members(&actor, &file, &bytes, args.encoding, args.dry_run)
        .await;
    let Some(done) = unless_bad_rows(done, &file, args.format)? else {
        return Ok(ExitCode::FAILURE);
    };
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&done)?),
        OutputFormat::Table => {
            println!(
                "党员：新增{}人，更新{}人，未变{}人",
                done.created, done.updated, done.unchanged
            );
            if !done.unreachable.is_empty() {
                println!(
                    "{}人既无手机也无邮箱，提醒无法送达（见 duban people unreachable）：{}",
                    done.unreachable.len(),
                    done.unreachable.join("、")
                );
            }
            if done.dry_run {
                println!("dry run: nothing was written");
            } else if done.is_noop() {
                println!("the roster already matches the file: nothing changed");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn rectification(args: RegisterArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if args.template {
        print!("\u{feff}{}\r\n", rectification_headers().join(","));
        return Ok(ExitCode::SUCCESS);
    }
    let (file, bytes, app, actor) = upload(&args, ctx).await?;
    let done = app
        .import_items(&actor, &file, &bytes, args.encoding, args.dry_run)
        .await;
    let Some(done) = unless_bad_rows(done, &file, args.format)? else {
        return Ok(ExitCode::FAILURE);
    };
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

/// The file an import reads (its name as given, its bytes), the application layer and the
/// acting person.
async fn upload(
    args: &RegisterArgs,
    ctx: &Context,
) -> anyhow::Result<(String, Vec<u8>, duban_app::App, Actor)> {
    let file = args.file.as_deref().context("a file is required")?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let app = ctx.app_for_cli().await?;
    let actor = Actor::command_line(&args.actor.clone().unwrap_or_else(login_name));
    Ok((file.to_string_lossy().into_owned(), bytes, app, actor))
}

/// The import's result, or `None` after reporting every bad cell of the file.
fn unless_bad_rows<T>(
    result: Result<T, AppError>,
    file: &str,
    format: OutputFormat,
) -> anyhow::Result<Option<T>> {
    match result {
        Err(AppError::Rows(errors)) => {
            report_row_errors(Path::new(file), &errors, format)?;
            Ok(None)
        }
        other => Ok(Some(other?)),
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
    let (file, bytes, app, actor) = upload(&args, ctx).await?;
    let summary = app
        .import_register(&actor, &file, &bytes, args.encoding, args.dry_run)
        .await;
    let Some(summary) = unless_bad_rows(summary, &file, args.format)? else {
        return Ok(ExitCode::FAILURE);
    };
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        OutputFormat::Table => print_summary(&summary),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(s: &duban_app::register::ImportSummary) {
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
