//! `duban report …`: the reports finance officers hand upward, each as a table on the
//! terminal, JSON, CSV (UTF-8 with a BOM) or XLSX.
//!
//! - `budget-execution --year 2026 [--month 11]`: 预算执行情况表, the same before and after
//!   `ledger year close`.
//! - `unit-ledger --unit CODE --year 2026`: 经费台账 with the bank lines matched to payments.
//! - `bank-reconciliation --account CODE --month 2026-11`: 银行存款余额调节表; exit status 1
//!   when the adjusted balances differ (the difference is printed).
//! - `dues --year 2026`: dues and rebates per unit, with the pre-tax check per enterprise.
//!
//! `--output FILE` writes the report there instead of standard output (XLSX needs it).

use super::{BadInput, Context, cli_reader};
use duban_app::reports::{ReportFormat, Tabular};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
enum Format {
    #[default]
    Table,
    Json,
    Csv,
    Xlsx,
}

#[derive(Debug, clap::Args)]
struct Output {
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// 预算执行情况表: per budget line, the year's own figures up to a month's end.
    BudgetExecution {
        #[arg(long)]
        year: i32,
        /// The month (1–12): its figures and the year to its end.
        #[arg(long)]
        month: Option<u32>,
        #[command(flatten)]
        out: Output,
    },
    /// 经费台账: a unit's allocations, payments and releases with the running balance.
    UnitLedger {
        /// The unit's register code.
        #[arg(long)]
        unit: String,
        #[arg(long)]
        year: i32,
        #[command(flatten)]
        out: Output,
    },
    /// 银行存款余额调节表 of a bank account at a month's end.
    BankReconciliation {
        /// The account's code.
        #[arg(long)]
        account: String,
        /// The month, e.g. 2026-11.
        #[arg(long)]
        month: String,
        #[command(flatten)]
        out: Output,
    },
    /// Dues collected and rebated per unit, with the pre-tax 1 % check per enterprise.
    Dues {
        #[arg(long)]
        year: i32,
        #[command(flatten)]
        out: Output,
    },
}

fn emit<T: Tabular + serde::Serialize>(report: &T, out: &Output) -> anyhow::Result<()> {
    let bytes = match out.format {
        Format::Table => report.text().into_bytes(),
        Format::Json => (serde_json::to_string_pretty(report)? + "\n").into_bytes(),
        Format::Csv => report.export(ReportFormat::Csv)?,
        Format::Xlsx => {
            if out.output.is_none() {
                return Err(BadInput(
                    "--format xlsx writes a workbook: name the file with --output".into(),
                )
                .into());
            }
            report.export(ReportFormat::Xlsx)?
        }
    };
    match &out.output {
        Some(path) => std::fs::write(path, bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display())),
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            Ok(stdout.flush()?)
        }
    }
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (app, actor) = cli_reader(ctx).await?;
    match args.what {
        What::BudgetExecution { year, month, out } => {
            emit(
                &app.report_budget_execution(&actor, year, month).await?,
                &out,
            )?;
        }
        What::UnitLedger { unit, year, out } => {
            emit(&app.report_unit_ledger(&actor, &unit, year).await?, &out)?;
        }
        What::BankReconciliation {
            account,
            month,
            out,
        } => {
            let r = app
                .report_bank_reconciliation(&actor, &account, &month)
                .await?;
            emit(&r, &out)?;
            if !r.balanced {
                eprintln!(
                    "调节后余额不相等：企业方 {} 银行方 {}，差额 {} (the adjusted balances differ by {})",
                    r.adjusted_book.grouped(),
                    r.adjusted_bank.grouped(),
                    r.difference.grouped(),
                    r.difference
                );
                return Ok(ExitCode::from(super::exit::REFUSED));
            }
        }
        What::Dues { year, out } => {
            emit(&app.report_dues(&actor, year).await?, &out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
