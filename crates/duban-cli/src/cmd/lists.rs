//! Lists for administrators: `duban units list|show`, `duban rectification list`,
//! `duban interviews list`, `duban instances list`, `duban people staff`, `duban members list`. Names, not keys;
//! dates in Chinese on screen and ISO in CSV and JSON.

use super::Context;
use crate::cmd::deliveries::{ListFormat, print_rows};
use chrono::NaiveDate;
use duban_app::Actor;
use duban_app::lists::Filter as ListFilter;
use duban_app::loop_::{InterviewLine, ItemLine};
use duban_workflow::subject::zh_date;
use std::process::ExitCode;

/// Filters every list takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// Only units in this district (区县), as written in the register.
    #[arg(long)]
    pub district: Option<String>,
    /// Only this unit (its code).
    #[arg(long)]
    pub unit: Option<String>,
    #[arg(long, default_value_t = 200)]
    pub limit: u64,
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
}

impl Common {
    fn filter(&self, today: NaiveDate) -> ListFilter {
        ListFilter {
            district: self.district.clone(),
            unit: self.unit.clone(),
            today: Some(today),
            limit: self.limit,
            offset: self.offset,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ItemFilter {
    #[command(flatten)]
    common: Common,
    /// open, overdue or closed.
    #[arg(long)]
    status: Option<String>,
    /// Only items past their deadline and not closed.
    #[arg(long)]
    overdue: bool,
    /// Part of the title.
    #[arg(long)]
    search: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct InterviewFilter {
    #[command(flatten)]
    common: Common,
    /// scheduled, held or cancelled.
    #[arg(long)]
    status: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct InstanceFilter {
    #[command(flatten)]
    common: Common,
    /// Only this workflow's chains (its id).
    #[arg(long)]
    workflow: Option<String>,
    /// active, completed or cancelled.
    #[arg(long)]
    status: Option<String>,
    /// Only chains whose subject is marked overdue.
    #[arg(long)]
    overdue: bool,
    /// Only chains escalated at least once.
    #[arg(long)]
    escalated: bool,
    #[arg(long, value_enum, default_value_t)]
    format: ListFormat,
}

#[derive(Debug, clap::Args)]
pub struct UnitsArgs {
    #[command(subcommand)]
    action: UnitsAction,
}

#[derive(Debug, clap::Subcommand)]
enum UnitsAction {
    /// Party units by code.
    List {
        #[command(flatten)]
        common: Common,
        /// Part of the name or code.
        #[arg(long)]
        search: Option<String>,
        /// Only units whose term has ended.
        #[arg(long)]
        overdue: bool,
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// One unit: its secretary, superior, term, chains, rectification items and interviews.
    Show {
        code: String,
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
}

#[derive(Debug, clap::Args)]
pub struct MembersArgs {
    #[command(subcommand)]
    action: MembersAction,
}

#[derive(Debug, clap::Subcommand)]
enum MembersAction {
    /// Party members by unit and name; mobiles and email addresses masked.
    List {
        /// Only this unit's members (its code).
        #[arg(long)]
        unit: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
}

pub async fn run_members(args: MembersArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (app, actor) = reading(ctx).await?;
    let MembersAction::List { unit, format } = args.action;
    let rows: Vec<Vec<String>> = app
        .list_members(&actor, unit.as_deref())
        .await?
        .into_iter()
        .map(|m| {
            vec![
                m.unit_code,
                m.unit_name,
                m.name,
                date(Some(m.joined_on), format),
                m.mobile.unwrap_or_default(),
                m.email.unwrap_or_default(),
                match (m.active, format) {
                    (true, ListFormat::Json) => "true".into(),
                    (false, ListFormat::Json) => "false".into(),
                    (true, _) => "在册".into(),
                    (false, _) => "已离册".into(),
                },
            ]
        })
        .collect();
    print_rows(
        &headers(
            format,
            &[
                "党组织编码",
                "党组织",
                "姓名",
                "入党时间",
                "手机",
                "邮箱",
                "状态",
            ],
            &[
                "unit_code",
                "unit_name",
                "name",
                "joined_on",
                "mobile",
                "email",
                "active",
            ],
        ),
        &rows,
        format,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A date as the format wants it: 2026年12月26日 on screen, ISO in files.
fn date(d: Option<NaiveDate>, format: ListFormat) -> String {
    match (d, format) {
        (None, _) => String::new(),
        (Some(d), ListFormat::Table) => zh_date(d),
        (Some(d), _) => d.to_string(),
    }
}

fn level_zh(level: &str) -> &str {
    match level {
        "branch" => "党支部",
        "general_branch" => "党总支",
        "committee" => "基层党委",
        other => other,
    }
}

fn item_status_zh(s: &str) -> &str {
    match s {
        "open" => "整改中",
        "overdue" => "已逾期",
        "closed" => "已销号",
        other => other,
    }
}

fn kind_zh(s: &str) -> &str {
    match s {
        "immediate" => "立行立改",
        "time_bound" => "限期整改",
        "long_term" => "长期整治",
        other => other,
    }
}

fn headers(format: ListFormat, zh: &[&'static str], en: &[&'static str]) -> Vec<&'static str> {
    match format {
        ListFormat::Json => en.to_vec(),
        _ => zh.to_vec(),
    }
}

/// The application layer on one connection, and the command line's actor.
async fn reading(ctx: &Context) -> anyhow::Result<(duban_app::App, Actor)> {
    let app = ctx.app_on_one_connection().await?;
    Ok((app, Actor::command_line(&crate::cmd::import::login_name())))
}

pub async fn run_units(args: UnitsArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (app, actor) = reading(ctx).await?;
    match args.action {
        UnitsAction::List {
            common,
            search,
            overdue,
            format,
        } => {
            let mut f = common.filter(ctx.today());
            f.search = search;
            f.overdue = overdue;
            let rows: Vec<Vec<String>> = app
                .list_units(&actor, &f)
                .await?
                .into_iter()
                .map(|u| {
                    vec![
                        u.code,
                        u.name,
                        level_zh(&u.level).to_string(),
                        u.district.unwrap_or_default(),
                        u.secretary.unwrap_or_default(),
                        u.superior.unwrap_or_default(),
                        date(u.term_start, format),
                        date(u.term_end, format),
                    ]
                })
                .collect();
            print_rows(
                &headers(
                    format,
                    &[
                        "编码",
                        "党组织名称",
                        "类别",
                        "区县",
                        "书记",
                        "上级党组织",
                        "任期开始",
                        "任期届满",
                    ],
                    &[
                        "code",
                        "name",
                        "level",
                        "district",
                        "secretary",
                        "superior",
                        "term_start",
                        "term_end",
                    ],
                ),
                &rows,
                format,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        UnitsAction::Show { code, format } => {
            let u = match app.unit_card(&actor, &code).await {
                Ok(u) => u,
                Err(duban_app::AppError::NotFound(m)) => {
                    eprintln!("error: {m}");
                    return Ok(ExitCode::FAILURE);
                }
                Err(e) => return Err(e.into()),
            };
            let contact = |c: &Option<duban_app::lists::Contact>| {
                c.as_ref()
                    .map(|c| {
                        let mut s = c.name.clone();
                        for part in [&c.mobile, &c.email].into_iter().flatten() {
                            s.push_str(&format!(" {part}"));
                        }
                        s
                    })
                    .unwrap_or_default()
            };
            if format == ListFormat::Json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "code": u.code,
                        "name": u.name,
                        "level": u.level,
                        "district": u.district,
                        "secretary": contact(&u.secretary),
                        "superior": u.superior,
                        "term_start": u.term_start,
                        "term_end": u.term_end,
                        "theme_day": u.theme_day,
                        "instances": u.instances,
                        "rectification_items": u.rectification_items,
                        "interviews": u.interviews,
                    }))?
                );
                return Ok(ExitCode::SUCCESS);
            }
            let (instances, items, interviews) =
                (&u.instances, &u.rectification_items, &u.interviews);
            let pairs = vec![
                vec!["编码".to_string(), u.code.clone()],
                vec!["名称".to_string(), u.name.clone()],
                vec!["类别".to_string(), level_zh(&u.level).to_string()],
                vec!["区县".to_string(), u.district.clone().unwrap_or_default()],
                vec!["书记".to_string(), contact(&u.secretary)],
                vec![
                    "上级党组织".to_string(),
                    u.superior.clone().unwrap_or_default(),
                ],
                vec![
                    "任期".to_string(),
                    format!(
                        "{} 至 {}",
                        date(u.term_start, format),
                        date(u.term_end, format)
                    ),
                ],
                vec![
                    "主题党日".to_string(),
                    u.theme_day
                        .map(|d| format!("每月{d}日"))
                        .unwrap_or_default(),
                ],
            ];
            print_rows(&["项目", "内容"], &pairs, format)?;
            println!();
            println!("督办流程（{}）", instances.len());
            let rows: Vec<Vec<String>> = instances
                .iter()
                .map(|i| {
                    vec![
                        i.id.to_string(),
                        i.workflow_id.clone(),
                        i.status.clone(),
                        i.subject_status.clone().unwrap_or_default(),
                        i.escalation_level.to_string(),
                    ]
                })
                .collect();
            print_rows(
                &["编号", "流程", "状态", "事项状态", "升级次数"],
                &rows,
                format,
            )?;
            println!();
            println!("整改事项（{}）", items.len());
            print_items(items, format)?;
            println!();
            println!("约谈（{}）", interviews.len());
            print_interviews(interviews, format)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_items(items: &[ItemLine], format: ListFormat) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.unit_code.clone(),
                i.unit_name.clone(),
                i.title.clone(),
                kind_zh(&i.kind).to_string(),
                i.owner.clone().unwrap_or_default(),
                date(Some(i.deadline), format),
                item_status_zh(&i.status).to_string(),
                date(i.closed_on, format),
            ]
        })
        .collect();
    print_rows(
        &headers(
            format,
            &[
                "编号",
                "党组织编码",
                "党组织",
                "整改事项",
                "类别",
                "责任人",
                "整改期限",
                "状态",
                "销号日期",
            ],
            &[
                "id",
                "unit_code",
                "unit",
                "title",
                "kind",
                "owner",
                "deadline",
                "status",
                "closed_on",
            ],
        ),
        &rows,
        format,
    )
}

fn print_interviews(rows: &[InterviewLine], format: ListFormat) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.unit_code.clone(),
                i.unit_name.clone(),
                i.interviewee.clone().unwrap_or_default(),
                i.reason.clone(),
                match format {
                    ListFormat::Table => format!(
                        "{} {}",
                        zh_date(i.scheduled_at.date()),
                        i.scheduled_at.format("%H:%M")
                    ),
                    _ => i.scheduled_at.format("%Y-%m-%dT%H:%M").to_string(),
                },
                i.location.clone().unwrap_or_default(),
                match i.status.as_str() {
                    "scheduled" => "待约谈".to_string(),
                    "held" => "已约谈".to_string(),
                    "cancelled" => "已取消".to_string(),
                    s => s.to_string(),
                },
            ]
        })
        .collect();
    print_rows(
        &headers(
            format,
            &[
                "编号",
                "党组织编码",
                "党组织",
                "约谈对象",
                "约谈事由",
                "约谈时间",
                "地点",
                "状态",
            ],
            &[
                "id",
                "unit_code",
                "unit",
                "interviewee",
                "reason",
                "at",
                "location",
                "status",
            ],
        ),
        &rows,
        format,
    )
}

pub async fn items(f: ItemFilter, format: ListFormat, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (app, actor) = reading(ctx).await?;
    let mut filter = f.common.filter(ctx.today());
    filter.status = f.status;
    filter.overdue = f.overdue;
    filter.search = f.search;
    print_items(&app.list_items(&actor, &filter).await?, format)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn interviews(
    f: InterviewFilter,
    format: ListFormat,
    ctx: &Context,
) -> anyhow::Result<ExitCode> {
    let (app, actor) = reading(ctx).await?;
    let mut filter = f.common.filter(ctx.today());
    filter.status = f.status;
    print_interviews(&app.list_interviews(&actor, &filter).await?, format)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn instances(f: InstanceFilter, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (app, actor) = reading(ctx).await?;
    let mut filter = f.common.filter(ctx.today());
    filter.workflow = f.workflow;
    filter.status = f.status;
    filter.overdue = f.overdue;
    filter.escalated = f.escalated;
    let rows: Vec<Vec<String>> = app
        .list_instances(&actor, &filter)
        .await?
        .into_iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.workflow_id,
                i.unit_code.unwrap_or_default(),
                i.unit_name.unwrap_or_default(),
                i.subject_name.unwrap_or(i.subject_key),
                i.status,
                i.subject_status.unwrap_or_default(),
                i.escalation_level.to_string(),
            ]
        })
        .collect();
    print_rows(
        &headers(
            f.format,
            &[
                "编号",
                "流程",
                "党组织编码",
                "党组织",
                "督办对象",
                "状态",
                "事项状态",
                "升级次数",
            ],
            &[
                "id",
                "workflow",
                "unit_code",
                "unit",
                "subject",
                "status",
                "subject_status",
                "escalation_level",
            ],
        ),
        &rows,
        f.format,
    )?;
    Ok(ExitCode::SUCCESS)
}

pub async fn staff(format: ListFormat, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (app, actor) = reading(ctx).await?;
    let rows: Vec<Vec<String>> = app
        .list_staff(&actor)
        .await?
        .into_iter()
        .map(|p| {
            vec![
                p.name,
                p.post.unwrap_or_default(),
                p.mobile.unwrap_or_default(),
                p.email.unwrap_or_default(),
                p.roles.join(","),
            ]
        })
        .collect();
    print_rows(
        &headers(
            format,
            &["姓名", "职务", "手机", "邮箱", "角色"],
            &["name", "post", "mobile", "email", "roles"],
        ),
        &rows,
        format,
    )?;
    Ok(ExitCode::SUCCESS)
}
