//! `duban calendar is-workday DATE... [--stdin]` and `duban calendar add-workdays DATE N`:
//! the official working-day calendar from the command line.

use super::Context;
use chrono::NaiveDate;
use duban_core::register::parse_date;
use duban_workflow::Calendar;
use std::io::BufRead;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Print `YYYY-MM-DD workday` or `YYYY-MM-DD off [holiday]` for each date.
    IsWorkday {
        /// Dates such as 2026-10-10 (also 2026/10/10, 2026年10月10日, 20261010).
        dates: Vec<String>,
        /// Read dates from standard input, one per line (after any given as arguments).
        #[arg(long)]
        stdin: bool,
    },
    /// Print the date N working days after DATE (before it for negative N; N = 0 gives DATE
    /// itself if it is a working day, else the next one).
    AddWorkdays {
        date: String,
        #[arg(allow_negative_numbers = true)]
        n: i64,
    },
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let cal = ctx.calendar()?;
    match args.what {
        What::IsWorkday { dates, stdin } => is_workday(&cal, dates, stdin),
        What::AddWorkdays { date, n } => {
            let Some(d) = parse_date(&date) else {
                anyhow::bail!("`{date}` is not a date; write YYYY-MM-DD");
            };
            let result = cal.add_workdays(d, n);
            warn_unknown(&cal, [d, result]);
            println!("{result}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn is_workday(cal: &Calendar, dates: Vec<String>, stdin: bool) -> anyhow::Result<ExitCode> {
    let mut inputs: Vec<(String, String)> = dates
        .into_iter()
        .enumerate()
        .map(|(i, d)| (format!("argument {}", i + 1), d))
        .collect();
    if stdin {
        for (i, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line?;
            if !line.trim().is_empty() {
                inputs.push((format!("stdin line {}", i + 1), line));
            }
        }
    }
    anyhow::ensure!(!inputs.is_empty(), "give at least one date, or --stdin");
    let mut bad = 0;
    let mut seen = Vec::new();
    for (place, text) in inputs {
        let Some(date) = parse_date(&text) else {
            eprintln!(
                "error: {place}: `{}` is not a date; write YYYY-MM-DD",
                text.trim()
            );
            bad += 1;
            continue;
        };
        let day = cal.day(date);
        match (day.workday, day.name) {
            (true, _) => println!("{date} workday"),
            (false, Some(name)) => println!("{date} off {name}"),
            (false, None) => println!("{date} off"),
        }
        seen.push(date);
    }
    warn_unknown(cal, seen);
    Ok(if bad > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Says once when an answer rests on the weekends-only fallback.
fn warn_unknown(cal: &Calendar, dates: impl IntoIterator<Item = NaiveDate>) {
    let mut years: Vec<i32> = dates
        .into_iter()
        .filter(|d| !cal.covers(*d))
        .map(|d| chrono::Datelike::year(&d))
        .collect();
    years.sort();
    years.dedup();
    if !years.is_empty() {
        let list: Vec<String> = years.iter().map(i32::to_string).collect();
        eprintln!(
            "warning: no holiday calendar for {}: counted Monday–Friday as working days. Add config/calendar/YYYY.toml from the State Council notice when it is published.",
            list.join(", ")
        );
    }
}
