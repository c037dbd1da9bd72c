//! Completions from the command line: `duban term …`, `duban rectification …`,
//! `duban interview …`, and `duban people set-roles`. Each calls the same engine function
//! the HTTP API uses; a refusal exits 1 with the reason.

use super::Context;
use crate::cmd::deliveries::ListFormat;
use crate::cmd::import::login_name;
use chrono::NaiveDate;
use duban_app::loop_::{Answer, Completion, Duty, NewStaff, OpenInterview, OpenItem};
use duban_app::{Actor, AppError};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct TermArgs {
    #[command(subcommand)]
    action: TermAction,
    /// Who records this, for the audit log (defaults to the login name).
    #[arg(long, global = true, env = "DUBAN_ACTOR")]
    actor: Option<String>,
    /// table, json (csv for lists).
    #[arg(long, global = true, value_enum, default_value_t)]
    format: ListFormat,
}

#[derive(Debug, clap::Subcommand)]
enum TermAction {
    /// The election was held (换届选举完成): the chain stops, the result report is due,
    /// and the next term's chain starts.
    Elect {
        /// The unit's code.
        unit: String,
        #[arg(long)]
        date: NaiveDate,
    },
    /// An extension was approved (延期换届): reminders re-plan against the new end.
    Extend {
        unit: String,
        /// The new term end.
        #[arg(long)]
        to: NaiveDate,
        /// When the superior approved it.
        #[arg(long)]
        approved_on: NaiveDate,
        /// Required for more than one year.
        #[arg(long)]
        reason: Option<String>,
    },
    /// The request to hold the election (换届请示) reached the superior.
    Request {
        unit: String,
        #[arg(long)]
        date: NaiveDate,
        #[arg(long)]
        note: Option<String>,
    },
    /// The election result was reported (选举结果报告), after the last election.
    Report {
        unit: String,
        #[arg(long)]
        date: NaiveDate,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct RectificationArgs {
    #[command(subcommand)]
    action: RectificationAction,
    #[arg(long, global = true, env = "DUBAN_ACTOR")]
    actor: Option<String>,
    /// table, json (csv for lists).
    #[arg(long, global = true, value_enum, default_value_t)]
    format: ListFormat,
}

#[derive(Debug, clap::Subcommand)]
enum RectificationAction {
    /// Open a rectification item for a unit.
    Open {
        /// The unit's code.
        unit: String,
        #[arg(long)]
        title: String,
        /// immediate (立行立改), time_bound (限期整改) or long_term (长期整治).
        #[arg(long, default_value = "time_bound")]
        kind: String,
        #[arg(long)]
        deadline: NaiveDate,
        /// The owner's mobile number or email (defaults to the unit's secretary).
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        leader: Option<String>,
        /// Who will verify the close-out (not the owner).
        #[arg(long)]
        verifier: Option<String>,
        #[arg(long)]
        measures: Option<String>,
    },
    /// An approved extension of the deadline: reminders re-plan against the new date.
    Extend {
        item: i64,
        /// The new deadline.
        #[arg(long)]
        to: NaiveDate,
        #[arg(long)]
        approved_on: NaiveDate,
        #[arg(long)]
        reason: Option<String>,
    },
    /// The follow-up review (回头看) after close-out: --passed, or --failed when the problem
    /// came back (a new item is opened for it).
    Review {
        item: i64,
        #[arg(long)]
        date: NaiveDate,
        #[arg(long, conflicts_with = "failed", required_unless_present = "failed")]
        passed: bool,
        #[arg(long)]
        failed: bool,
        #[arg(long)]
        note: Option<String>,
    },
    /// Report monthly progress (每月更新上报).
    Progress {
        item: i64,
        #[arg(long)]
        date: NaiveDate,
        #[arg(long)]
        note: String,
    },
    /// Close out (销号) after verification by someone other than the owner.
    Close {
        item: i64,
        /// The verifier's mobile number or email.
        #[arg(long)]
        verifier: String,
        #[arg(long)]
        date: NaiveDate,
    },
    /// The items, with their unit, owner, deadline and status.
    List(crate::cmd::lists::ItemFilter),
}

#[derive(Debug, clap::Args)]
pub struct InterviewArgs {
    #[command(subcommand)]
    action: InterviewAction,
    #[arg(long, global = true, env = "DUBAN_ACTOR")]
    actor: Option<String>,
    /// table, json (csv for lists).
    #[arg(long, global = true, value_enum, default_value_t)]
    format: ListFormat,
}

#[derive(Debug, clap::Subcommand)]
enum InterviewAction {
    /// Arrange a supervisory interview: its notice, reminder and record chain start.
    Open {
        /// The unit's code.
        unit: String,
        /// 约谈事由.
        #[arg(long)]
        reason: String,
        /// When, in Beijing time, e.g. 2026-12-03T14:30.
        #[arg(long, value_parser = local_time)]
        at: chrono::NaiveDateTime,
        #[arg(long)]
        location: Option<String>,
        /// The person summoned (mobile number or email); the unit's secretary by default.
        #[arg(long)]
        interviewee: Option<String>,
    },
    /// The interview moves to a new time (and place); its notice and reminder follow.
    Reschedule {
        interview: i64,
        /// The new time, in Beijing time, e.g. 2026-12-03T14:30.
        #[arg(long, value_parser = local_time)]
        at: chrono::NaiveDateTime,
        #[arg(long)]
        location: Option<String>,
    },
    /// The interview took place (the record may follow).
    Held {
        interview: i64,
        #[arg(long)]
        date: NaiveDate,
    },
    /// The interview's record (约谈记录) is filed; each --problem becomes a rectification
    /// item with its own chain.
    Record {
        interview: i64,
        #[arg(long)]
        date: NaiveDate,
        /// The record (说明或检讨, 整改要求).
        #[arg(long)]
        record: String,
        #[arg(long = "problem")]
        problems: Vec<String>,
    },
    /// The interviews, with unit, interviewee, time and status.
    List(crate::cmd::lists::InterviewFilter),
}

#[derive(Debug, clap::Args)]
pub struct DutiesArgs {
    #[command(subcommand)]
    action: DutiesAction,
    #[arg(long, global = true, env = "DUBAN_ACTOR")]
    actor: Option<String>,
    /// table, json (csv for lists).
    #[arg(long, global = true, value_enum, default_value_t)]
    format: ListFormat,
}

#[derive(Debug, clap::Subcommand)]
enum DutiesAction {
    /// A recurring duty was done: theme_day, committee_meeting, members_meeting,
    /// party_lecture, annual_review, dues_collected, rebate_applied.
    Record {
        /// The unit's code.
        unit: String,
        /// Which duty.
        duty: String,
        #[arg(long)]
        date: NaiveDate,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct PeopleArgs {
    #[command(subcommand)]
    action: PeopleAction,
    #[arg(long, global = true, env = "DUBAN_ACTOR")]
    actor: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum PeopleAction {
    /// Give a person staff roles: org_department (组织部门), finance (财务). Empty clears.
    SetRoles {
        /// The person's mobile number or email.
        person: String,
        #[arg(value_delimiter = ',')]
        roles: Vec<String>,
    },
    /// Add (or update) a member of staff who need not be in the register.
    AddStaff {
        #[arg(long)]
        name: String,
        #[arg(long)]
        mobile: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        post: Option<String>,
        /// org_department, finance (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
    },
    /// Everyone holding a staff role.
    Staff {
        #[arg(long, value_enum, default_value_t)]
        format: crate::cmd::deliveries::ListFormat,
    },
    /// People no channel reaches: their reminders went to the superior unit instead.
    Unreachable {
        #[arg(long, value_enum, default_value_t)]
        format: crate::cmd::deliveries::ListFormat,
    },
}

/// A local time as people type it: `2026-12-03T14:30`, `2026-12-03 14:30`, seconds optional.
fn local_time(s: &str) -> Result<chrono::NaiveDateTime, String> {
    let t = s.trim().replace(' ', "T");
    chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("{s:?} is not a time like 2026-12-03T14:30"))
}

fn report(result: Result<Completion, AppError>, format: ListFormat) -> anyhow::Result<ExitCode> {
    match result {
        Ok(c) => {
            match format {
                ListFormat::Json => println!("{}", serde_json::to_string_pretty(&c)?),
                ListFormat::Table | ListFormat::Csv => {
                    if !c.recorded {
                        println!(
                            "{} on {} was recorded before: nothing changed",
                            c.event, c.subject
                        );
                    } else {
                        println!("{} recorded on {}", c.event, c.subject);
                        for p in &c.plans {
                            println!(
                                "  instance {}: {} timers added, {} moved, {} cancelled",
                                p.instance_id, p.inserted, p.rescheduled, p.cancelled
                            );
                        }
                        for s in &c.created {
                            println!("  created {s}");
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(AppError::Refused(why) | AppError::NotFound(why) | AppError::Forbidden(why)) => {
            eprintln!("refused: {why}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn run_term(args: TermArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let app = ctx.app_for_cli().await?;
    let actor = Actor::command_line(&args.actor.unwrap_or_else(login_name));
    let answer = match args.action {
        TermAction::Elect { unit, date } => Answer::ElectionHeld { unit, on: date },
        TermAction::Extend {
            unit,
            to,
            approved_on,
            reason,
        } => Answer::ExtensionApproved {
            unit,
            to,
            approved_on,
            reason,
        },
        TermAction::Request { unit, date, note } => Answer::RequestSubmitted {
            unit,
            on: date,
            note,
        },
        TermAction::Report { unit, date, note } => Answer::ResultReported {
            unit,
            on: date,
            note,
        },
    };
    report(app.answer(&actor, answer).await, args.format)
}

pub async fn run_rectification(args: RectificationArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if let RectificationAction::List(filter) = args.action {
        return crate::cmd::lists::items(filter, args.format, ctx).await;
    }
    let app = ctx.app_for_cli().await?;
    let actor = Actor::command_line(&args.actor.unwrap_or_else(login_name));
    let result = match args.action {
        RectificationAction::List(_) => unreachable!("handled above"),
        RectificationAction::Open {
            unit,
            title,
            kind,
            deadline,
            owner,
            leader,
            verifier,
            measures,
        } => {
            app.open_item(
                &actor,
                OpenItem {
                    unit,
                    title,
                    kind,
                    deadline,
                    owner,
                    leader,
                    verifier,
                    measures,
                },
            )
            .await
        }
        RectificationAction::Progress { item, date, note } => {
            app.answer(
                &actor,
                Answer::ProgressReported {
                    item,
                    on: date,
                    note,
                },
            )
            .await
        }
        RectificationAction::Extend {
            item,
            to,
            approved_on,
            reason,
        } => {
            app.answer(
                &actor,
                Answer::DeadlineExtended {
                    item,
                    to,
                    approved_on,
                    reason,
                },
            )
            .await
        }
        RectificationAction::Close {
            item,
            verifier,
            date,
        } => {
            app.answer(
                &actor,
                Answer::ItemVerified {
                    item,
                    verifier,
                    on: date,
                },
            )
            .await
        }
        RectificationAction::Review {
            item,
            date,
            passed,
            failed: _,
            note,
        } => {
            app.answer(
                &actor,
                Answer::ReviewDone {
                    item,
                    on: date,
                    passed,
                    note,
                },
            )
            .await
        }
    };
    report(result, args.format)
}

pub async fn run_interview(args: InterviewArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let answer = match args.action {
        InterviewAction::Open {
            unit,
            reason,
            at,
            location,
            interviewee,
        } => {
            let app = ctx.app_for_cli().await?;
            let actor = Actor::command_line(&args.actor.unwrap_or_else(login_name));
            let request = OpenInterview {
                unit,
                reason,
                at,
                location,
                interviewee,
            };
            return report(app.open_interview(&actor, request).await, args.format);
        }
        InterviewAction::List(filter) => {
            return crate::cmd::lists::interviews(filter, args.format, ctx).await;
        }
        InterviewAction::Reschedule {
            interview,
            at,
            location,
        } => Answer::InterviewRescheduled {
            interview,
            at,
            location,
        },
        InterviewAction::Held { interview, date } => Answer::InterviewHeld {
            interview,
            on: date,
        },
        InterviewAction::Record {
            interview,
            date,
            record,
            problems,
        } => Answer::RecordFiled {
            interview,
            on: date,
            record,
            problems,
        },
    };
    let app = ctx.app_for_cli().await?;
    let actor = Actor::command_line(&args.actor.unwrap_or_else(login_name));
    report(app.answer(&actor, answer).await, args.format)
}

pub async fn run_duties(args: DutiesArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let DutiesAction::Record {
        unit,
        duty,
        date,
        note,
    } = args.action;
    let Some(duty) = Duty::parse(&duty) else {
        eprintln!(
            "error: unknown duty {duty:?}; known duties: {}",
            Duty::names()
        );
        return Ok(ExitCode::from(2));
    };
    let app = ctx.app_for_cli().await?;
    let actor = Actor::command_line(&args.actor.unwrap_or_else(login_name));
    report(
        app.answer(
            &actor,
            Answer::DutyDone {
                unit,
                duty,
                on: date,
                note,
            },
        )
        .await,
        args.format,
    )
}

pub async fn run_people(args: PeopleArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let actor = Actor::command_line(&args.actor.unwrap_or_else(login_name));
    let result = match args.action {
        PeopleAction::Unreachable { format } => {
            return crate::cmd::deliveries::run_unreachable(format, ctx).await;
        }
        PeopleAction::Staff { format } => return crate::cmd::lists::staff(format, ctx).await,
        PeopleAction::SetRoles { person, roles } => {
            ctx.app_for_cli()
                .await?
                .set_staff_roles(&actor, &person, &roles)
                .await
        }
        PeopleAction::AddStaff {
            name,
            mobile,
            email,
            post,
            roles,
        } => {
            ctx.app_for_cli()
                .await?
                .add_staff(
                    &actor,
                    NewStaff {
                        name,
                        post,
                        mobile,
                        email,
                        roles,
                    },
                )
                .await
        }
    };
    match result {
        Ok(p) => {
            println!(
                "{} now has roles: {}",
                p.name,
                if p.roles.is_empty() { "none" } else { &p.roles }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(AppError::Refused(why) | AppError::NotFound(why) | AppError::Forbidden(why)) => {
            eprintln!("refused: {why}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
