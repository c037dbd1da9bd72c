//! `duban register coverage [--format json]`.

use super::{Context, OutputFormat};
use duban_core::register::coverage::{CoverageRow, coverage};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// The two coverages (两个覆盖) per district and in total.
    Coverage {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let What::Coverage { format } = args.what;
    let store = ctx.migrated_store().await?;
    let report = coverage(store.coverage_inputs().await?);
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => {
            println!(
                "{:<12} {:>6} {:>8} {:>8} {:>9} {:>8} {:>8} {:>9}",
                "区县", "组织数", "有党员", "已建组织", "组织覆盖", "无党员", "已覆盖", "工作覆盖"
            );
            for row in report
                .districts
                .iter()
                .chain(std::iter::once(&report.total))
            {
                print_row(row);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_row(r: &CoverageRow) {
    let pct = |p: Option<rust_decimal::Decimal>| {
        p.map(|d| format!("{d:.2}%")).unwrap_or_else(|| "—".into())
    };
    println!(
        "{:<12} {:>9} {:>11} {:>12} {:>13} {:>11} {:>11} {:>13}",
        r.district,
        r.organisations,
        r.with_members,
        r.with_members_covered,
        pct(r.organisational_coverage),
        r.without_members,
        r.without_members_reached,
        pct(r.work_coverage)
    );
}
