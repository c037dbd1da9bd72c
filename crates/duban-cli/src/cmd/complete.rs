//! Completions from the command line: `duban term …`, `duban rectification …`,
//! `duban interview …`, and `duban people set-roles`. Each calls the same engine function
//! the HTTP API uses; a refusal exits 1 with the reason.

use super::{Context, OutputFormat};
use crate::cmd::import::login_name;
use chrono::NaiveDate;
use duban_engine::EngineError;
use duban_engine::complete::Completion;
use duban_store::subjects::NewItem;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct TermArgs {
    #[command(subcommand)]
    action: TermAction,
    /// Who records this, for the audit log (defaults to the login name).
    #[arg(long, global = true, env = "DUBAN_ACTOR")]
    actor: Option<String>,
    #[arg(long, global = true, value_enum, default_value_t)]
    format: OutputFormat,
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
}

#[derive(Debug, clap::Args)]
pub struct RectificationArgs {
    #[command(subcommand)]
    action: RectificationAction,
    #[arg(long, global = true, env = "DUBAN_ACTOR")]
    actor: Option<String>,
    #[arg(long, global = true, value_enum, default_value_t)]
    format: OutputFormat,
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
        #[arg(long)]
        measures: Option<String>,
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
}

#[derive(Debug, clap::Args)]
pub struct InterviewArgs {
    #[command(subcommand)]
    action: InterviewAction,
    #[arg(long, global = true, env = "DUBAN_ACTOR")]
    actor: Option<String>,
    #[arg(long, global = true, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Debug, clap::Subcommand)]
enum InterviewAction {
    /// The interview took place; each --problem becomes a rectification item.
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
    /// People no channel reaches: their reminders went to the superior unit instead.
    Unreachable {
        #[arg(long, value_enum, default_value_t)]
        format: crate::cmd::deliveries::ListFormat,
    },
}

fn report(
    result: Result<Completion, EngineError>,
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    match result {
        Ok(c) => {
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&c)?),
                OutputFormat::Table => {
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
        Err(EngineError::Refused(why)) => {
            eprintln!("refused: {why}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn run_term(args: TermArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine(None).await?;
    let actor = args.actor.unwrap_or_else(login_name);
    let result = match args.action {
        TermAction::Elect { unit, date } => engine.record_election(&unit, date, &actor).await,
        TermAction::Extend {
            unit,
            to,
            approved_on,
            reason,
        } => {
            engine
                .approve_extension(&unit, to, approved_on, reason, &actor)
                .await
        }
    };
    report(result, args.format)
}

pub async fn run_rectification(args: RectificationArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine(None).await?;
    let actor = args.actor.unwrap_or_else(login_name);
    let result = match args.action {
        RectificationAction::Open {
            unit,
            title,
            kind,
            deadline,
            owner,
            leader,
            measures,
        } => {
            if !["immediate", "time_bound", "long_term"].contains(&kind.as_str()) {
                eprintln!("refused: --kind {kind:?} is not immediate, time_bound or long_term");
                return Ok(ExitCode::FAILURE);
            }
            let Some(u) = engine.store.unit_by_code(&unit).await? else {
                eprintln!("refused: no party unit with code {unit}");
                return Ok(ExitCode::FAILURE);
            };
            let person = async |key: &Option<String>| -> anyhow::Result<Option<i64>> {
                match key {
                    None => Ok(None),
                    Some(k) => Ok(Some(
                        engine
                            .store
                            .person_by_key(k)
                            .await?
                            .ok_or_else(|| anyhow::anyhow!("no person {k} in the register"))?
                            .id,
                    )),
                }
            };
            let owner_id = person(&owner).await?.or(u.unit.secretary_id);
            let leader_id = person(&leader).await?;
            let today = chrono::Utc::now()
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .date_naive();
            if deadline < today {
                eprintln!("refused: the deadline {deadline} is in the past");
                return Ok(ExitCode::FAILURE);
            }
            let item = NewItem {
                unit_id: u.unit.id,
                title,
                kind,
                measures,
                owner_id,
                leader_id,
                verifier_id: None,
                opened_on: today,
                deadline,
                interview_id: None,
            };
            engine.open_rectification(item, &actor).await
        }
        RectificationAction::Progress { item, date, note } => {
            engine.report_progress(item, date, &note, &actor).await
        }
        RectificationAction::Close {
            item,
            verifier,
            date,
        } => engine.close_item(item, &verifier, date, &actor).await,
    };
    report(result, args.format)
}

pub async fn run_interview(args: InterviewArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine(None).await?;
    let actor = args.actor.unwrap_or_else(login_name);
    let InterviewAction::Record {
        interview,
        date,
        record,
        problems,
    } = args.action;
    report(
        engine
            .record_interview(interview, date, &record, &problems, &actor)
            .await,
        args.format,
    )
}

pub async fn run_people(args: PeopleArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (person, roles) = match args.action {
        PeopleAction::SetRoles { person, roles } => (person, roles),
        PeopleAction::Unreachable { format } => {
            return crate::cmd::deliveries::run_unreachable(format, ctx).await;
        }
    };
    let store = ctx.migrated_store().await?;
    let actor = args.actor.unwrap_or_else(login_name);
    for r in &roles {
        if !["org_department", "finance"].contains(&r.as_str()) {
            eprintln!("refused: {r:?} is not a staff role (org_department, finance)");
            return Ok(ExitCode::FAILURE);
        }
    }
    let Some(p) = store.person_by_key(&person).await? else {
        eprintln!("refused: no person {person} in the register");
        return Ok(ExitCode::FAILURE);
    };
    let now = chrono::Utc::now();
    let tx = store.begin_write().await?;
    let updated = tx.set_person_roles(&p, &roles.join(","), now).await?;
    tx.audit(
        &actor,
        now,
        "set_roles",
        &format!("person:{}", p.id),
        &serde_json::json!({"roles": updated.roles}).to_string(),
    )
    .await?;
    tx.commit().await?;
    println!(
        "{} now has roles: {}",
        p.name,
        if updated.roles.is_empty() {
            "none"
        } else {
            &updated.roles
        }
    );
    Ok(ExitCode::SUCCESS)
}
