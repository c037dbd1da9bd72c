//! `duban ledger …`: the funds ledger from the command line.
//!
//! Every command prints a readable table by default and JSON with `--format json`. A
//! command the ledger refuses (budget control, a closed period, a reused idempotency key …)
//! exits with status 1 and gives the reason on stderr (with `--format json`, also a JSON
//! object on stdout with a stable `code` and the figures); nothing is written. Bad input
//! (an amount, a key, a file) exits with status 2, an unreachable or full database with 3. Every command
//! that writes needs `--key`, an idempotency key: running it again with the same key and
//! the same content prints the first result again; with different content it is refused.
//! Amounts are typed as people write them: `354000`, `354,000.00`, `¥354,000.00`, `35.4万`.

use super::{BadInput, Context, OutputFormat, exit};
use anyhow::Context as _;
use chrono::NaiveDate;
use duban_app::ledger::{Executed, LedgerError};
use duban_app::{Actor, App, AppError};
use duban_core::money::{Money, parse_amount};
use duban_ledger::budget::BudgetLineKind;
use duban_ledger::command::*;
use duban_ledger::dues::Member;
use duban_ledger::hledger::{Commodity, render_journal};
use duban_ledger::idempotency::IdempotencyKey;
use duban_ledger::model::Approval;
use duban_ledger::period::YearMonth;
use duban_ledger::report::render_table;
use std::path::PathBuf;
use std::process::ExitCode;

mod bench;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Balance of every account (debit positive), as `hledger balance --flat` shows it.
    Balance {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
        #[arg(long, value_enum, default_value_t)]
        commodity: CommodityArg,
    },
    /// The budget of a fiscal year: appropriated, committed, paid, headroom, execution rate.
    Budget {
        #[arg(long)]
        year: i32,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Export the journal, e.g. `--format hledger` for plain-text accounting tools.
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
        #[arg(long, value_enum, default_value_t)]
        commodity: CommodityArg,
        /// Write to this file instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Recompute every balance from the postings and report any disagreement.
    Verify,
    /// The latest transactions.
    Transactions {
        #[arg(long, default_value_t = 50)]
        limit: u64,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Allocations, by year and/or unit.
    Allocations {
        #[arg(long)]
        year: Option<i32>,
        #[arg(long)]
        unit: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Give an amount to a budget line of the year of --date.
    Appropriate {
        #[arg(long, value_parser = line)]
        line: BudgetLineKind,
        /// `354000`, `354,000.00`, `¥354,000.00` or `35.4万`.
        #[arg(long)]
        amount: String,
        #[arg(long)]
        memo: Option<String>,
        #[command(flatten)]
        w: Write,
    },
    /// Move headroom between two lines of a year (virement), with its approval.
    Virement {
        #[arg(long, value_parser = line)]
        from: BudgetLineKind,
        #[arg(long, value_parser = line)]
        to: BudgetLineKind,
        /// `354000`, `354,000.00`, `¥354,000.00` or `35.4万`.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        approval: ApprovalArgs,
        #[command(flatten)]
        w: Write,
    },
    /// Apportion (分配下达) part of the year's fund (appropriated to the line `fund`) to a
    /// line: the line's original budget.
    Apportion {
        #[arg(long, value_parser = line)]
        to: BudgetLineKind,
        /// `354000`, `354,000.00`, `¥354,000.00` or `35.4万`.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        approval: ApprovalArgs,
        #[command(flatten)]
        w: Write,
    },
    /// Commit (核定) an amount to a party unit. Without --amount, the rate card's amount.
    Allocate {
        #[arg(long, value_parser = line)]
        line: BudgetLineKind,
        /// The unit's register code.
        #[arg(long)]
        unit: String,
        /// Defaults to the rate card's amount for the line.
        #[arg(long)]
        amount: Option<String>,
        #[arg(long)]
        purpose: String,
        #[command(flatten)]
        approval: ApprovalArgs,
        #[command(flatten)]
        w: Write,
    },
    /// Start-up funds for every unit formed in a year that has none yet. --dry-run first.
    AllocateStartup {
        #[arg(long)]
        formed_in: i32,
        /// Print the count, the total and the units, and write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        approval: OptionalApproval,
        #[command(flatten)]
        w: OptionalWrite,
    },
    /// Pay a tranche of an allocation.
    Disburse {
        #[arg(long)]
        allocation: i64,
        /// `354000`, `354,000.00`, `¥354,000.00` or `35.4万`.
        #[arg(long)]
        amount: String,
        #[arg(long)]
        memo: Option<String>,
        #[command(flatten)]
        payment: PaymentArgs,
        #[command(flatten)]
        w: Write,
    },
    /// Hand the undisbursed remainder of an allocation back to its line.
    Release {
        #[arg(long)]
        allocation: i64,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        w: Write,
    },
    /// Pay out of a line without a commitment.
    Pay {
        #[arg(long, value_parser = line)]
        line: BudgetLineKind,
        /// `354000`, `354,000.00`, `¥354,000.00` or `35.4万`.
        #[arg(long)]
        amount: String,
        #[arg(long)]
        payee: String,
        #[arg(long)]
        purpose: String,
        #[command(flatten)]
        payment: BankPaymentArgs,
        #[command(flatten)]
        w: Write,
    },
    /// Correct a transaction by reversing it (dated in an open period).
    Reverse {
        #[arg(long)]
        transaction: i64,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        w: Write,
    },
    /// Money received into a bank account: the appropriation transferred to it (拨款到账),
    /// dues paid over, or a transfer from another of the office's accounts.
    Receive {
        /// The code of the bank account the money came into (`duban bank accounts list`).
        #[arg(long)]
        bank_account: String,
        /// `income:fiscal-appropriation`, `assets:party-dues-account` or
        /// `assets:bank:<code>` (another of the office's accounts).
        #[arg(long)]
        from: String,
        /// `354000`, `354,000.00`, `¥354,000.00` or `35.4万`.
        #[arg(long)]
        amount: String,
        /// The voucher number (凭证号).
        #[arg(long)]
        voucher: Option<String>,
        /// The payer's name (付款人).
        #[arg(long)]
        payer_name: Option<String>,
        /// The payer's account number.
        #[arg(long)]
        payer_account: Option<String>,
        /// The payer's bank.
        #[arg(long)]
        payer_bank: Option<String>,
        #[arg(long)]
        memo: Option<String>,
        #[command(flatten)]
        w: Write,
    },
    /// Party dues: record, calculate, list.
    Dues {
        #[command(subcommand)]
        what: Dues,
    },
    /// Dues rebates (党费返还): apply, approve, list.
    Rebate {
        #[command(subcommand)]
        what: Rebate,
    },
    /// Monthly periods: close, status.
    Period {
        #[command(subcommand)]
        what: Period,
    },
    /// Fiscal years: close (lapse or carry forward what is left).
    Year {
        #[command(subcommand)]
        what: Year,
    },
    /// Run commands from a JSON file: one envelope `{key, actor, command}` or an array.
    /// All or nothing: one refused command and none is applied.
    Submit {
        file: PathBuf,
        /// Apply each command that passes, each in its own transaction, and report every
        /// refusal (exit status 1 if there was one).
        #[arg(long = "continue")]
        keep_going: bool,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
        #[command(flatten)]
        today: Today,
    },
    /// Benchmarks: allocations per second on one hot line; reports over many postings.
    Bench {
        #[command(subcommand)]
        what: bench::Bench,
    },
}

#[derive(Debug, clap::Subcommand)]
enum Dues {
    /// Record the dues a unit remitted for a month.
    Record {
        #[arg(long)]
        unit: String,
        /// `2026-03`
        #[arg(long, value_parser = month)]
        month: YearMonth,
        /// `354000`, `354,000.00`, `¥354,000.00` or `35.4万`.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        w: Write,
    },
    /// Monthly dues of one member by the official bands.
    Calc {
        /// Monthly regular income after tax (the pension for --retired).
        #[arg(long, required_unless_present_any = ["student", "unemployed"])]
        income: Option<String>,
        #[arg(long, conflicts_with_all = ["student", "unemployed"])]
        retired: bool,
        #[arg(long, conflicts_with = "unemployed")]
        student: bool,
        #[arg(long)]
        unemployed: bool,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Dues recorded, optionally of one year.
    List {
        #[arg(long)]
        year: Option<i32>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

#[derive(Debug, clap::Subcommand)]
enum Rebate {
    /// A unit applies for the rebate of the dues it remitted in --dues-year.
    Apply {
        #[arg(long)]
        unit: String,
        #[arg(long)]
        dues_year: i32,
        #[command(flatten)]
        w: Write,
    },
    /// The level above approves an application; the dues-rebate line commits it.
    Approve {
        #[arg(long)]
        application: i64,
        #[command(flatten)]
        approval: ApprovalArgs,
        #[command(flatten)]
        w: Write,
    },
    /// Every application.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

#[derive(Debug, clap::Subcommand)]
enum Period {
    /// Close every period through --month (after it has ended).
    Close {
        #[arg(long, value_parser = month)]
        month: YearMonth,
        #[command(flatten)]
        w: Write,
    },
    /// Periods and years closed so far.
    Status {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

#[derive(Debug, clap::Subcommand)]
enum Year {
    /// Close a fiscal year once it has ended.
    Close {
        #[arg(long)]
        year: i32,
        #[command(flatten)]
        w: Write,
    },
}

#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
enum CommodityArg {
    /// `2000.00 CNY`
    #[default]
    Cny,
    /// `¥2000.00`
    Yuan,
}

impl From<CommodityArg> for Commodity {
    fn from(c: CommodityArg) -> Self {
        match c {
            CommodityArg::Cny => Commodity::Cny,
            CommodityArg::Yuan => Commodity::Yuan,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Hledger,
}

/// Options every writing command takes.
#[derive(Debug, clap::Args)]
struct Write {
    /// Idempotency key: the same key and content repeat the first result.
    #[arg(long)]
    key: String,
    /// The document date; defaults to today (Asia/Shanghai).
    #[arg(long, value_parser = date)]
    date: Option<NaiveDate>,
    /// Who is acting, for the audit log (defaults to the login name).
    #[arg(long, env = "DUBAN_ACTOR")]
    actor: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
    #[command(flatten)]
    today: Today,
}

/// As [`Write`], for a command whose dry run needs no key.
#[derive(Debug, clap::Args)]
struct OptionalWrite {
    #[arg(long, required_unless_present = "dry_run")]
    key: Option<String>,
    #[arg(long, value_parser = date)]
    date: Option<NaiveDate>,
    #[arg(long, env = "DUBAN_ACTOR")]
    actor: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
    #[command(flatten)]
    today: Today,
}

#[derive(Debug, clap::Args)]
struct Today {
    /// Today's date, for closing periods and years (tests and back-dated runs).
    #[arg(long = "today", env = "DUBAN_TODAY", value_parser = date, hide = true)]
    today: Option<NaiveDate>,
}

impl Today {
    fn get(&self, ctx: &Context) -> NaiveDate {
        self.today.unwrap_or_else(|| ctx.today())
    }
}

#[derive(Debug, clap::Args)]
struct ApprovalArgs {
    /// The approving meeting (集体讨论决定), e.g. "部务会 2026-05".
    #[arg(long)]
    meeting: String,
    /// The day the meeting approved it.
    #[arg(long, value_parser = date)]
    approved_on: NaiveDate,
}

impl ApprovalArgs {
    fn approval(&self) -> Approval {
        Approval {
            meeting: self.meeting.clone(),
            date: self.approved_on,
        }
    }
}

#[derive(Debug, clap::Args)]
struct OptionalApproval {
    #[arg(long, required_unless_present = "dry_run")]
    meeting: Option<String>,
    #[arg(long, value_parser = date, required_unless_present = "dry_run")]
    approved_on: Option<NaiveDate>,
}

/// How a disbursement went out; every flag is optional.
#[derive(Debug, clap::Args)]
struct PaymentArgs {
    /// The payee's name (收款人).
    #[arg(long)]
    payee_name: Option<String>,
    #[command(flatten)]
    bank: BankPaymentArgs,
}

/// A payment's voucher, the payee's account and bank, and the bank account it left from.
#[derive(Debug, clap::Args)]
struct BankPaymentArgs {
    /// The voucher number (凭证号).
    #[arg(long)]
    voucher: Option<String>,
    /// The payee's account number.
    #[arg(long)]
    payee_account: Option<String>,
    /// The payee's bank.
    #[arg(long)]
    payee_bank: Option<String>,
    /// The code of the bank account paid from (`duban bank accounts list`); the payment
    /// then posts against `assets:bank:<code>`.
    #[arg(long)]
    bank_account: Option<String>,
}

impl PaymentArgs {
    fn payment(self) -> Payment {
        Payment {
            payee_name: self.payee_name,
            ..self.bank.payment()
        }
    }
}

impl BankPaymentArgs {
    fn payment(self) -> Payment {
        Payment {
            voucher: self.voucher,
            payee_name: None,
            payee_account: self.payee_account,
            payee_bank: self.payee_bank,
            bank_account: self.bank_account,
        }
    }
}

fn amount(s: &str) -> Result<Money, String> {
    parse_amount(s).map_err(|e| e.to_string())
}

fn line(s: &str) -> Result<BudgetLineKind, String> {
    BudgetLineKind::parse(s).map_err(|e| e.to_string())
}

fn month(s: &str) -> Result<YearMonth, String> {
    YearMonth::parse(s).map_err(|e| e.to_string())
}

fn date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date; write it as 2026-03-01"))
}

fn actor(a: &Option<String>) -> String {
    a.clone().unwrap_or_else(super::import::login_name)
}

/// Reads an amount typed on the command line; a bad one is bad input (exit status 2),
/// named by its option and the reason.
fn typed(option: &str, text: &str) -> Result<Money, ExitCode> {
    parse_amount(text).map_err(|e| {
        eprintln!("error: {option}: {e}");
        ExitCode::from(exit::BAD_INPUT)
    })
}

macro_rules! typed {
    ($option:literal, $text:expr) => {
        match typed($option, &$text) {
            Ok(m) => m,
            Err(code) => return Ok(code),
        }
    };
}

/// Prints a refusal (on stderr; with `--format json` also as an object on stdout) and
/// returns exit status 1; other errors go up.
fn refused(e: AppError, format: OutputFormat) -> anyhow::Result<ExitCode> {
    match e {
        AppError::Ledger { error, .. } => {
            refusal(&error, format)?;
            Ok(ExitCode::from(exit::REFUSED))
        }
        other => Err(other.into()),
    }
}

fn refusal(e: &LedgerError, format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        print_json(&e.to_json())?;
    }
    eprintln!("refused: {e}");
    Ok(())
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn print_executed(done: &Executed, format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => print_json(done)?,
        OutputFormat::Table => {
            let o = &done.outcome;
            if done.replayed {
                println!("already done under this key; nothing changed. The first result was:");
            }
            println!("{}", o.message);
            if !o.transactions.is_empty() {
                let ids: Vec<String> = o.transactions.iter().map(|t| format!("#{t}")).collect();
                println!("transactions: {}", ids.join(", "));
            }
            for h in &o.headroom {
                println!("headroom of {}: {}", h.line, h.headroom.grouped());
            }
            // A repeat changed nothing: its warnings were given the first time.
            if !done.replayed {
                for w in &o.warnings {
                    eprintln!("warning: {w}");
                }
            }
        }
    }
    Ok(())
}

struct Session<'a> {
    app: App,
    ctx: &'a Context,
}

impl Session<'_> {
    async fn send(
        &self,
        key: &str,
        actor: String,
        today: NaiveDate,
        command: Command,
        format: OutputFormat,
    ) -> anyhow::Result<ExitCode> {
        let key = IdempotencyKey::new(key).map_err(|e| BadInput(format!("--key: {e}")))?;
        let env = Envelope {
            key,
            actor: actor.clone(),
            command,
        };
        let actor = Actor::command_line(&actor);
        match self.app.ledger_apply(&actor, vec![env], Some(today)).await {
            Ok(mut done) => {
                print_executed(&done.remove(0), format)?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => refused(e, format),
        }
    }

    async fn write(
        &self,
        w: &Write,
        command: impl FnOnce(NaiveDate) -> Command,
    ) -> anyhow::Result<ExitCode> {
        let today = w.today.get(self.ctx);
        let c = command(w.date.unwrap_or(today));
        self.send(&w.key, actor(&w.actor), today, c, w.format).await
    }
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    if let What::Dues {
        what:
            Dues::Calc {
                income,
                retired,
                student,
                unemployed,
                format,
            },
    } = &args.what
    {
        let income = match income {
            Some(text) => Some(typed!("--income", text)),
            None => None,
        };
        return dues_calc(ctx, income, *retired, *student, *unemployed, *format);
    }
    if let What::Bench { what } = args.what {
        return bench::run(what, ctx).await;
    }
    let s = Session {
        app: ctx.app_on_one_connection().await?,
        ctx,
    };
    let app = &s.app;
    let reader = Actor::command_line(&actor(&None));
    match args.what {
        What::Balance { format, commodity } => {
            let report = app.ledger_balances(&reader).await?;
            match format {
                OutputFormat::Json => print_json(&report)?,
                OutputFormat::Table => print!("{}", report.render_text(commodity.into())),
            }
        }
        What::Budget { year, format } => {
            let report = app.ledger_budget(&reader, year).await?;
            match format {
                OutputFormat::Json => print_json(&report)?,
                OutputFormat::Table => print!("{}", report.render_text()),
            }
        }
        What::Export {
            format: ExportFormat::Hledger,
            commodity,
            output,
        } => {
            let text = render_journal(&app.ledger_journal(&reader).await?, commodity.into());
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{text}"),
            }
        }
        What::Verify => {
            let problems = app.ledger_verify(&reader).await?;
            if problems.is_empty() {
                println!(
                    "every transaction balances; every budget line and allocation agrees with its postings"
                );
            } else {
                for p in &problems {
                    eprintln!("{p}");
                }
                eprintln!("{} problem(s)", problems.len());
                return Ok(ExitCode::from(1));
            }
        }
        What::Transactions { limit, format } => {
            let txns = app.ledger_recent(&reader, limit).await?;
            match format {
                OutputFormat::Json => print_json(&txns)?,
                OutputFormat::Table => {
                    let rows: Vec<Vec<String>> = txns
                        .iter()
                        .map(|t| {
                            vec![
                                format!("#{}", t.id),
                                t.txn.date().to_string(),
                                t.txn.kind().to_string(),
                                t.txn.total().grouped(),
                                t.txn.description().to_string(),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        render_table(&["id", "date", "kind", "amount", "description"], &rows)
                    );
                }
            }
        }
        What::Allocations { year, unit, format } => {
            let list = match app.ledger_allocations(&reader, year, unit.as_deref()).await {
                Ok(l) => l,
                Err(e) => return refused(e, format),
            };
            match format {
                OutputFormat::Json => print_json(&list)?,
                OutputFormat::Table => {
                    let rows: Vec<Vec<String>> = list
                        .iter()
                        .map(|a| {
                            vec![
                                format!("#{}", a.id),
                                format!("{} {}", a.line.year, a.line.kind.slug()),
                                a.unit.clone(),
                                a.amount.grouped(),
                                a.disbursed.grouped(),
                                a.outstanding.grouped(),
                                a.status.as_str().to_string(),
                                a.purpose.clone(),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        render_table(
                            &[
                                "id",
                                "line",
                                "unit",
                                "allocated",
                                "disbursed",
                                "outstanding",
                                "status",
                                "purpose"
                            ],
                            &rows
                        )
                    );
                }
            }
        }
        What::Appropriate {
            line,
            amount,
            memo,
            w,
        } => {
            let amount = typed!("--amount", amount);
            return s
                .write(&w, |date| {
                    Command::Appropriate(Appropriate {
                        date,
                        line,
                        amount,
                        memo,
                    })
                })
                .await;
        }
        What::Virement {
            from,
            to,
            amount,
            approval,
            w,
        } => {
            let amount = typed!("--amount", amount);
            let approval = approval.approval();
            return s
                .write(&w, |date| {
                    Command::Virement(Virement {
                        date,
                        from,
                        to,
                        amount,
                        approval,
                    })
                })
                .await;
        }
        What::Apportion {
            to,
            amount,
            approval,
            w,
        } => {
            let amount = typed!("--amount", amount);
            let approval = approval.approval();
            return s
                .write(&w, |date| {
                    Command::Apportion(Apportion {
                        date,
                        to,
                        amount,
                        approval,
                    })
                })
                .await;
        }
        What::Allocate {
            line,
            unit,
            amount,
            purpose,
            approval,
            w,
        } => {
            let amount = match amount {
                Some(text) => Some(typed!("--amount", text)),
                None => None,
            };
            let amount = match ctx.settings.ledger.rates.amount_for(line, amount) {
                Ok(a) => a,
                Err(e) => {
                    refusal(&e, w.format)?;
                    return Ok(ExitCode::from(exit::REFUSED));
                }
            };
            let approval = approval.approval();
            return s
                .write(&w, |date| {
                    Command::Allocate(Allocate {
                        date,
                        line,
                        unit,
                        purpose,
                        amount,
                        approval,
                    })
                })
                .await;
        }
        What::AllocateStartup {
            formed_in,
            dry_run,
            approval,
            w,
        } => {
            if dry_run {
                return startup_dry_run(app, ctx, formed_in, w.format).await;
            }
            let (Some(meeting), Some(approved_on), Some(key)) =
                (approval.meeting, approval.approved_on, w.key)
            else {
                return Err(BadInput(
                    "--meeting, --approved-on and --key are required unless --dry-run".into(),
                )
                .into());
            };
            let today = w.today.get(ctx);
            let c = Command::AllocateStartupBatch(AllocateStartupBatch {
                date: w.date.unwrap_or(today),
                formed_in,
                approval: Approval {
                    meeting,
                    date: approved_on,
                },
            });
            return s.send(&key, actor(&w.actor), today, c, w.format).await;
        }
        What::Disburse {
            allocation,
            amount,
            memo,
            payment,
            w,
        } => {
            let payment = payment.payment();
            let amount = typed!("--amount", amount);
            return s
                .write(&w, |date| {
                    Command::Disburse(Disburse {
                        date,
                        allocation,
                        amount,
                        memo,
                        payment,
                    })
                })
                .await;
        }
        What::Release {
            allocation,
            reason,
            w,
        } => {
            return s
                .write(&w, |date| {
                    Command::Release(Release {
                        date,
                        allocation,
                        reason,
                    })
                })
                .await;
        }
        What::Pay {
            line,
            amount,
            payee,
            purpose,
            payment,
            w,
        } => {
            let amount = typed!("--amount", amount);
            let payment = payment.payment();
            return s
                .write(&w, |date| {
                    Command::PayDirect(PayDirect {
                        date,
                        line,
                        amount,
                        payee,
                        purpose,
                        payment,
                    })
                })
                .await;
        }
        What::Receive {
            bank_account,
            from,
            amount,
            voucher,
            payer_name,
            payer_account,
            payer_bank,
            memo,
            w,
        } => {
            let amount = typed!("--amount", amount);
            let payer = Payer {
                voucher,
                name: payer_name,
                account: payer_account,
                bank: payer_bank,
            };
            return s
                .write(&w, |date| {
                    Command::Receive(Receive {
                        date,
                        bank_account,
                        from,
                        amount,
                        payer,
                        memo,
                    })
                })
                .await;
        }
        What::Reverse {
            transaction,
            reason,
            w,
        } => {
            return s
                .write(&w, |date| {
                    Command::Reverse(Reverse {
                        date,
                        transaction,
                        reason,
                    })
                })
                .await;
        }
        What::Dues { what } => match what {
            Dues::Record {
                unit,
                month,
                amount,
                w,
            } => {
                let amount = typed!("--amount", amount);
                // Booked dues also answer that month's dues reminders (党费收缴提醒).
                return s
                    .write(&w, |date| {
                        Command::RecordDues(RecordDues {
                            date,
                            unit,
                            month,
                            amount,
                        })
                    })
                    .await;
            }
            Dues::List { year, format } => {
                let list = app.ledger_dues(&reader, year).await?;
                match format {
                    OutputFormat::Json => print_json(&list)?,
                    OutputFormat::Table => {
                        let rows: Vec<Vec<String>> = list
                            .iter()
                            .map(|r| {
                                vec![
                                    r.unit.clone(),
                                    r.month.clone(),
                                    r.amount.grouped(),
                                    format!("#{}", r.transaction),
                                    if r.standing { "" } else { "reversed" }.to_string(),
                                ]
                            })
                            .collect();
                        print!(
                            "{}",
                            render_table(&["unit", "month", "amount", "transaction", ""], &rows)
                        );
                    }
                }
            }
            Dues::Calc { .. } => unreachable!("handled before connecting"),
        },
        What::Rebate { what } => match what {
            Rebate::Apply { unit, dues_year, w } => {
                return s
                    .write(&w, |date| {
                        Command::ApplyRebate(ApplyRebate {
                            date,
                            unit,
                            dues_year,
                        })
                    })
                    .await;
            }
            Rebate::Approve {
                application,
                approval,
                w,
            } => {
                let approval = approval.approval();
                return s
                    .write(&w, |date| {
                        Command::ApproveRebate(ApproveRebate {
                            date,
                            application,
                            approval,
                        })
                    })
                    .await;
            }
            Rebate::List { format } => {
                let list = app.ledger_rebates(&reader).await?;
                match format {
                    OutputFormat::Json => print_json(&list)?,
                    OutputFormat::Table => {
                        let rows: Vec<Vec<String>> = list
                            .iter()
                            .map(|r| {
                                vec![
                                    format!("#{}", r.id),
                                    r.unit.clone(),
                                    r.dues_year.to_string(),
                                    r.remitted.grouped(),
                                    r.amount.grouped(),
                                    r.status.as_str().to_string(),
                                    r.allocation.map(|a| format!("#{a}")).unwrap_or_default(),
                                ]
                            })
                            .collect();
                        print!(
                            "{}",
                            render_table(
                                &[
                                    "id",
                                    "unit",
                                    "dues year",
                                    "remitted",
                                    "rebate",
                                    "status",
                                    "allocation"
                                ],
                                &rows
                            )
                        );
                    }
                }
            }
        },
        What::Period { what } => match what {
            Period::Close { month, w } => {
                return s
                    .write(&w, |_| Command::ClosePeriod(ClosePeriod { month }))
                    .await;
            }
            Period::Status { format } => {
                let st = app.ledger_status(&reader).await?;
                match format {
                    OutputFormat::Json => print_json(&st)?,
                    OutputFormat::Table => {
                        match st.periods.closed_through {
                            Some(m) => println!(
                                "periods closed through {m}; postings are accepted from {} on",
                                m.next()
                            ),
                            None => println!("no period is closed"),
                        }
                        let years: Vec<String> =
                            st.closed_years.iter().map(|y| y.to_string()).collect();
                        println!(
                            "closed fiscal years: {}",
                            if years.is_empty() {
                                "none".into()
                            } else {
                                years.join(", ")
                            }
                        );
                    }
                }
            }
        },
        What::Year {
            what: Year::Close { year, w },
        } => {
            return s
                .write(&w, |_| Command::CloseYear(CloseYear { year }))
                .await;
        }
        What::Submit {
            file,
            keep_going,
            format,
            today,
        } => return submit(&s, &file, keep_going, format, today.get(s.ctx)).await,
        What::Bench { .. } => unreachable!("handled before connecting"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn startup_dry_run(
    app: &App,
    ctx: &Context,
    formed_in: i32,
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let actor = Actor::command_line(&actor(&None));
    let _ = ctx;
    let plan = match app.ledger_plan_startup(&actor, formed_in).await {
        Ok(p) => p,
        Err(e) => return refused(e, format),
    };
    match format {
        OutputFormat::Json => print_json(&plan)?,
        OutputFormat::Table => {
            println!(
                "dry run: start-up funds for {} unit(s) formed in {formed_in}, {} in total ({} already funded); nothing was written",
                plan.count,
                plan.total.grouped(),
                plan.already_funded
            );
            let rows: Vec<Vec<String>> = plan
                .items
                .iter()
                .map(|i| vec![i.unit.clone(), i.amount.grouped()])
                .collect();
            print!("{}", render_table(&["unit", "amount"], &rows));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn dues_calc(
    ctx: &Context,
    income: Option<Money>,
    retired: bool,
    student: bool,
    unemployed: bool,
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let member = match (income, retired, student, unemployed) {
        (_, _, true, _) => Member::Student,
        (_, _, _, true) => Member::Unemployed,
        (Some(income), true, _, _) => Member::Retired { income },
        (Some(income), false, _, _) => Member::Employed { income },
        (None, ..) => return Err(BadInput("--income is required".into()).into()),
    };
    let monthly = match ctx.settings.ledger.dues.rates.monthly(member) {
        Ok(m) => m,
        Err(e) => {
            refusal(&e, format)?;
            return Ok(ExitCode::from(exit::REFUSED));
        }
    };
    match format {
        OutputFormat::Json => {
            print_json(&serde_json::json!({ "member": member, "monthly": monthly }))?
        }
        OutputFormat::Table => println!("monthly dues: {}", monthly.grouped()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the envelopes of a JSON file in order, all in one transaction: a refused command
/// and none is applied. With `keep_going`, each runs in its own transaction and every
/// refusal is reported. Errors in the file (exit status 2, nothing run) name its line and
/// column, or the item and field by JSON path.
async fn submit(
    s: &Session<'_>,
    file: &PathBuf,
    keep_going: bool,
    format: OutputFormat,
    today: NaiveDate,
) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| BadInput(format!("cannot read {}: {e}", file.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        BadInput(format!(
            "{}:{}:{}: {e}; nothing was run",
            file.display(),
            e.line(),
            e.column()
        ))
    })?;
    let (items, single) = match value {
        serde_json::Value::Array(items) => (items, false),
        one => (vec![one], true),
    };
    let path = |i: usize| {
        if single {
            "$".to_string()
        } else {
            format!("$[{i}]")
        }
    };
    let mut envelopes = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let env = Envelope::from_json(&item, &path(i))
            .map_err(|e| BadInput(format!("{}: {e}; nothing was run", file.display())))?;
        envelopes.push(env);
    }
    let acting = Actor::command_line(
        &envelopes
            .first()
            .map(|e| e.actor.clone())
            .unwrap_or_else(|| actor(&None)),
    );
    if !keep_going {
        return match s
            .app
            .ledger_apply(&acting, envelopes.clone(), Some(today))
            .await
        {
            Ok(done) => {
                print_all(&done, format)?;
                Ok(ExitCode::SUCCESS)
            }
            Err(AppError::Ledger { error: e, index }) => {
                let index = index.unwrap_or(0);
                if format == OutputFormat::Json {
                    let mut body = e.to_json();
                    body["at"] = serde_json::json!(path(index));
                    body["key"] = serde_json::json!(envelopes[index].key.as_str());
                    print_json(&body)?;
                }
                eprintln!(
                    "refused: {}: {} ({}): {e}; nothing was applied (--continue applies the others)",
                    file.display(),
                    path(index),
                    envelopes[index].key.as_str()
                );
                Ok(ExitCode::from(exit::REFUSED))
            }
            Err(e) => Err(e.into()),
        };
    }
    let mut results = Vec::with_capacity(envelopes.len());
    let mut refusals = 0;
    let outcomes = s
        .app
        .ledger_apply_each(&acting, envelopes.clone(), Some(today))
        .await?;
    for (i, (env, outcome)) in envelopes.iter().zip(outcomes).enumerate() {
        match outcome {
            Ok(d) => {
                if format == OutputFormat::Table {
                    print_executed(&d, format)?;
                }
                results.push(serde_json::to_value(&d)?);
            }
            Err(e) => {
                refusals += 1;
                eprintln!(
                    "refused: {}: {} ({}): {e}",
                    file.display(),
                    path(i),
                    env.key.as_str()
                );
                let mut body = e.to_json();
                body["at"] = serde_json::json!(path(i));
                body["key"] = serde_json::json!(env.key.as_str());
                results.push(body);
            }
        }
    }
    if format == OutputFormat::Json {
        print_json(&results)?;
    }
    if refusals > 0 {
        eprintln!(
            "{} of {} command(s) applied, {refusals} refused",
            envelopes.len() - refusals,
            envelopes.len()
        );
        return Ok(ExitCode::from(exit::REFUSED));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_all(done: &[Executed], format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => print_json(&done)?,
        OutputFormat::Table => {
            for d in done {
                print_executed(d, format)?;
            }
        }
    }
    Ok(())
}
