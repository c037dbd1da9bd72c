//! `duban audit verify|export`: the audit log's hash chain checked, and exported with its
//! hashes so that an auditor can check it outside duban.
//!
//! An export holds each entry's fields exactly as they were hashed (see
//! `duban_core::audit_chain`): `at` in UTC with microseconds, `before` and `after` as the
//! stored JSON text (a JSON line has them as strings). In CSV an empty `before` or `after` is
//! a missing one: stored values are JSON, never empty text.
//!
//! duban never deletes from the audit log, and has no command that would.

use super::{BadInput, Context, OutputFormat, exit};
use chrono::NaiveDate;
use duban_app::audit::{AuditEntry, AuditReport, PAGE};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Check the audit log's hash chain: every entry unedited, none deleted or reordered.
    /// Exits 1 when it finds a problem, naming each entry (seq and id).
    Verify {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Write the entries made between two dates (Beijing time, both included), with seq,
    /// prev_hash and hash, as CSV (UTF-8 with BOM, for Excel) or JSON lines.
    Export {
        /// First day, YYYY-MM-DD.
        #[arg(long, value_parser = date)]
        from: NaiveDate,
        /// Last day, YYYY-MM-DD.
        #[arg(long, value_parser = date)]
        to: NaiveDate,
        #[arg(long, value_enum, default_value_t)]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
enum ExportFormat {
    /// UTF-8 with a BOM and a header row.
    #[default]
    Csv,
    /// One JSON object per line.
    Json,
}

fn date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date; write it as 2026-03-01"))
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Verify { format } => verify(ctx, format).await,
        What::Export {
            from,
            to,
            format,
            output,
        } => export(ctx, from, to, format, output).await,
    }
}

async fn verify(ctx: &Context, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let (app, actor) = super::cli_reader(ctx).await?;
    let report = app.verify_audit(&actor).await?;
    match format {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct Out<'a> {
                intact: bool,
                #[serde(flatten)]
                report: &'a AuditReport,
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&Out {
                    intact: report.intact(),
                    report: &report,
                })?
            );
        }
        OutputFormat::Table => {
            if report.intact() {
                let head = report.head_hash.as_deref().unwrap_or("");
                println!(
                    "audit log intact: {} rows, head {}",
                    report.rows,
                    head.get(..12).unwrap_or(head)
                );
                if report.unsealed_deliveries > 0 {
                    println!(
                        "{} delivery attempts are not sealed yet: the dispatcher's next pass seals them",
                        report.unsealed_deliveries
                    );
                }
            } else {
                for f in &report.findings {
                    println!("{f}");
                }
                println!(
                    "audit log NOT intact: {} problem(s){} in {} rows",
                    report.findings.len(),
                    if report.truncated {
                        " (the first ones; there are more)"
                    } else {
                        ""
                    },
                    report.rows
                );
            }
        }
    }
    Ok(if report.intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::REFUSED)
    })
}

const HEADER: [&str; 12] = [
    "seq",
    "id",
    "at",
    "actor",
    "origin",
    "action",
    "entity",
    "entity_key",
    "before",
    "after",
    "prev_hash",
    "hash",
];

async fn export(
    ctx: &Context,
    from: NaiveDate,
    to: NaiveDate,
    format: ExportFormat,
    output: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    if to < from {
        return Err(BadInput(format!("--to {to} is before --from {from}")).into());
    }
    let (app, actor) = super::cli_reader(ctx).await?;
    let out: Box<dyn Write> = match &output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| BadInput(format!("cannot write {}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(out);
    let csv = match format {
        ExportFormat::Csv => {
            out.write_all("\u{feff}".as_bytes())?;
            let mut w = csv_writer(&mut out);
            w.write_record(HEADER)?;
            w.flush()?;
            true
        }
        ExportFormat::Json => false,
    };
    let (mut count, mut after, mut first) = (0u64, i64::MIN, None);
    loop {
        let page = app.audit_entries(&actor, from, to, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        first.get_or_insert(page[0].seq);
        count += page.len() as u64;
        if csv {
            let mut w = csv_writer(&mut out);
            for e in &page {
                w.write_record(record(e))?;
            }
            w.flush()?;
        } else {
            for e in &page {
                serde_json::to_writer(&mut out, e)?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()?;
    let place = output
        .as_ref()
        .map(|p| format!(" to {}", p.display()))
        .unwrap_or_default();
    match first {
        Some(first) => eprintln!(
            "exported {count} audit entries (seq {first} to {after}) from {from} to {to}{place}"
        ),
        None => eprintln!("no audit entries from {from} to {to}{place}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn csv_writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(w)
}

fn record(e: &AuditEntry) -> [String; 12] {
    [
        e.seq.to_string(),
        e.id.to_string(),
        e.at.clone(),
        e.actor.clone(),
        e.origin.clone(),
        e.action.clone(),
        e.entity.clone(),
        e.entity_key.clone(),
        e.before.clone().unwrap_or_default(),
        e.after.clone().unwrap_or_default(),
        e.prev_hash.clone(),
        e.hash.clone(),
    ]
}
