//! `duban`: the one binary. Loads configuration, sets up logging, and hands each
//! subcommand to the crate that owns it. The only crate that uses `anyhow`.
//!
//! Exit statuses, for every command (`cmd::exit`): 0 done, 1 refused by a rule, 2 bad
//! usage or input (clap's own usage errors are 2 as well), 3 the database or another
//! server unavailable.

// The release build computes the layout of the deepest command futures (audit verify
// awaits the chain walk, which awaits the seals' checks) past the default limit of 128.
#![recursion_limit = "256"]

mod cmd;
mod logging;
mod settings;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// duban (督办): reminders, escalations and funds for party units in two-new organisations.
#[derive(Debug, Parser)]
#[command(name = "duban", version, about, propagate_version = true)]
struct Cli {
    /// Directory holding default.toml and the per-environment files.
    #[arg(
        long,
        global = true,
        env = "DUBAN_CONFIG_DIR",
        default_value = "config"
    )]
    config_dir: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server and the engine.
    Serve(cmd::serve::Args),
    /// Apply, revert or list database migrations.
    Migrate(cmd::migrate::Args),
    /// Copy the SQLite database to a new file while it serves, checked.
    Backup(cmd::backup::BackupArgs),
    /// Put a backup in place of the SQLite database (stop `serve` first), then verify it.
    Restore(cmd::backup::RestoreArgs),
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Import data files.
    Import(cmd::import::Args),
    /// Read the register (台账).
    Register(cmd::register::Args),
    /// Check, describe and preview workflow files.
    Workflows(cmd::workflows::Args),
    /// Run the engine by hand: one tick, or plan the whole register.
    Engine(cmd::engine::Args),
    /// Durable timers: what is due, done, late or failed.
    Timers(cmd::timers::TimersArgs),
    /// Workflow instances and their timelines.
    Instances(cmd::timers::InstancesArgs),
    /// Record an election or an approved extension of a unit's term.
    Term(cmd::complete::TermArgs),
    /// Open, report progress on and close out rectification items (整改).
    Rectification(cmd::complete::RectificationArgs),
    /// Supervisory interviews (约谈): reschedule, held, record, list.
    #[command(alias = "interviews")]
    Interview(cmd::complete::InterviewArgs),
    /// Record a unit's recurring duties: theme day, meetings, lectures, dues, rebates.
    Duties(cmd::complete::DutiesArgs),
    /// Staff and their roles; people no channel reaches.
    People(cmd::complete::PeopleArgs),
    /// The party units of the register: list and show.
    Units(cmd::lists::UnitsArgs),
    /// The party members of the units (党员名册): list. Import with `duban import members`.
    Members(cmd::lists::MembersArgs),
    /// The official working-day calendar (statutory holidays and 调休).
    Calendar(cmd::calendar::Args),
    /// The delivery log, dead letters and re-sends.
    Deliveries(cmd::deliveries::DeliveriesArgs),
    /// Send what is due in the outbox now (or at --now), then exit.
    Dispatch(cmd::deliveries::DispatchArgs),
    /// The funds ledger: budget, allocations, disbursements, dues, rebates, reports.
    Ledger(cmd::ledger::Args),
    /// The audit log: verify its hash chain, export it for auditors.
    Audit(cmd::audit::Args),
    /// Bank statements: preview a statement file and check it before an import.
    Bank(cmd::bank::Args),
    /// Open organisational-life bases: the bases, their calendars, bookings and cancellations.
    Bases(cmd::bases::Args),
    /// Reports: budget execution, a unit's fund ledger, bank reconciliation, dues.
    Report(cmd::report::Args),
    /// Users who sign in, their roles and districts, API tokens.
    Users(cmd::users::Args),
}

/// A closed pipe (`duban deliveries list | head -1`) ends the command quietly, as it does
/// any Unix tool, instead of a panic about printing to stdout.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    duban_notify::install_crypto_provider();
    let settings = match settings::Settings::load(&cli.config_dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    // Every command logs to stderr: warnings of an import, retries of a tick or a dispatch.
    logging::init(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let clock = match cmd::clock_from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let ctx = cmd::Context {
        settings,
        config_dir: cli.config_dir.clone(),
        clock,
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => cmd::serve::run(args, &ctx).await,
            Command::Migrate(args) => cmd::migrate::run(args, &ctx).await,
            Command::Backup(args) => cmd::backup::run_backup(args, &ctx).await,
            Command::Restore(args) => cmd::backup::run_restore(args, &ctx).await,
            Command::Config => {
                print!("{}", ctx.settings.to_redacted_toml()?);
                Ok(ExitCode::SUCCESS)
            }
            Command::Import(args) => cmd::import::run(args, &ctx).await,
            Command::Register(args) => cmd::register::run(args, &ctx).await,
            Command::Workflows(args) => cmd::workflows::run(args, &ctx).await,
            Command::Engine(args) => cmd::engine::run(args, &ctx).await,
            Command::Timers(args) => cmd::timers::run_timers(args, &ctx).await,
            Command::Instances(args) => cmd::timers::run_instances(args, &ctx).await,
            Command::Term(args) => cmd::complete::run_term(args, &ctx).await,
            Command::Rectification(args) => cmd::complete::run_rectification(args, &ctx).await,
            Command::Interview(args) => cmd::complete::run_interview(args, &ctx).await,
            Command::Duties(args) => cmd::complete::run_duties(args, &ctx).await,
            Command::People(args) => cmd::complete::run_people(args, &ctx).await,
            Command::Units(args) => cmd::lists::run_units(args, &ctx).await,
            Command::Members(args) => cmd::lists::run_members(args, &ctx).await,
            Command::Calendar(args) => cmd::calendar::run(args, &ctx).await,
            Command::Deliveries(args) => cmd::deliveries::run_deliveries(args, &ctx).await,
            Command::Dispatch(args) => cmd::deliveries::run_dispatch(args, &ctx).await,
            Command::Ledger(args) => cmd::ledger::run(args, &ctx).await,
            Command::Audit(args) => cmd::audit::run(args, &ctx).await,
            Command::Bank(args) => cmd::bank::run(args, &ctx).await,
            Command::Bases(args) => cmd::bases::run(args, &ctx).await,
            Command::Report(args) => cmd::report::run(args, &ctx).await,
            Command::Users(args) => cmd::users::run(args, &ctx).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cmd::exit_status(&e))
        }
    }
}
