//! `duban register coverage [--format json]`.

use super::{Context, OutputFormat};
use duban_app::monitor::CoverageRow;
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
    let (app, actor) = super::cli_reader(ctx).await?;
    let report = app.coverage(&actor).await?;
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = report
                .districts
                .iter()
                .chain(std::iter::once(&report.total))
                .map(row)
                .collect();
            crate::cmd::deliveries::print_rows(
                &[
                    "区县",
                    "组织数",
                    "有党员",
                    "已建组织",
                    "组织覆盖",
                    "无党员",
                    "已覆盖",
                    "工作覆盖",
                ],
                &rows,
                crate::cmd::deliveries::ListFormat::Table,
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn row(r: &CoverageRow) -> Vec<String> {
    let pct = |p: Option<rust_decimal::Decimal>| {
        p.map(|d| format!("{d:.2}%")).unwrap_or_else(|| "—".into())
    };
    vec![
        r.district.clone(),
        r.organisations.to_string(),
        r.with_members.to_string(),
        r.with_members_covered.to_string(),
        pct(r.organisational_coverage),
        r.without_members.to_string(),
        r.without_members_reached.to_string(),
        pct(r.work_coverage),
    ]
}
