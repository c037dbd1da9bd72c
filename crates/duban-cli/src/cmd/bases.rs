//! `duban bases …`: open organisational-life bases (开放式组织生活基地) and their bookings.
//!
//! - `add --code --name --kind --host-unit --district --address --capacity --opens --closes
//!   --slot-minutes --activity 名称=分钟 …` / `edit CODE` (the same options) / `list`.
//! - `calendar CODE [--from DATE] [--days N]`: each working day's slots with their free places.
//! - `book --base --unit --date --starts --activity --headcount`: exit 1 with the reason
//!   (已约满, closed that day, outside hours, deadline passed, a clash), 2 for bad input.
//! - `cancel ID`: up to the cancellation deadline; the reminder not yet sent is dropped.
//! - `bookings [--base] [--unit] [--from] [--to] [--all] [--format table|json|csv|xlsx --output FILE]`.

use super::bank::date;
use super::{Context, OutputFormat};
use chrono::NaiveDate;
use duban_app::bases::{Activity, BaseRequest, BookingLine, BookingQuery, BookingRequest};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Args)]
struct BaseFields {
    #[arg(long)]
    name: String,
    /// basic, red, welfare, science (基础型, 红色型, 公益型, 科技型).
    #[arg(long)]
    kind: String,
    /// The code of the unit that hosts the base.
    #[arg(long)]
    host_unit: String,
    #[arg(long)]
    district: String,
    #[arg(long)]
    address: String,
    /// People per slot.
    #[arg(long)]
    capacity: i32,
    /// Opening on working days, HH:MM (Beijing time).
    #[arg(long)]
    opens: String,
    #[arg(long)]
    closes: String,
    /// The length of a slot in minutes.
    #[arg(long)]
    slot_minutes: i32,
    /// An activity of the menu as `名称=分钟` (`重温入党誓词=30`); repeat for each.
    #[arg(long = "activity", value_parser = activity, required = true)]
    activities: Vec<Activity>,
    /// Stop new bookings.
    #[arg(long)]
    inactive: bool,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Add a base.
    Add {
        /// 1–32 letters, digits, - or _.
        #[arg(long)]
        code: String,
        #[command(flatten)]
        f: BaseFields,
    },
    /// Change a base: everything but its code.
    Edit {
        code: String,
        #[command(flatten)]
        f: BaseFields,
    },
    /// The bases, by district and code.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// A base's slots with their free places, day by day.
    Calendar {
        code: String,
        /// The first day (YYYY-MM-DD); today when absent.
        #[arg(long, value_parser = date)]
        from: Option<NaiveDate>,
        #[arg(long, default_value_t = 7)]
        days: u32,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Book a slot at a base for a unit.
    Book {
        #[arg(long)]
        base: String,
        #[arg(long)]
        unit: String,
        #[arg(long, value_parser = date)]
        date: NaiveDate,
        /// The slot's start, HH:MM.
        #[arg(long)]
        starts: String,
        #[arg(long)]
        activity: String,
        #[arg(long)]
        headcount: i32,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Cancel a booking (up to the cancellation deadline).
    Cancel {
        id: i64,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// The bookings, by day.
    Bookings {
        #[arg(long)]
        base: Option<String>,
        #[arg(long)]
        unit: Option<String>,
        #[arg(long, value_parser = date)]
        from: Option<NaiveDate>,
        #[arg(long, value_parser = date)]
        to: Option<NaiveDate>,
        /// Cancelled bookings too.
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t)]
        format: ListExport,
        /// Where the csv or xlsx goes.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
enum ListExport {
    #[default]
    Table,
    Json,
    /// UTF-8 with a BOM, for Excel and WPS.
    Csv,
    Xlsx,
}

fn activity(s: &str) -> Result<Activity, String> {
    let (name, minutes) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?}: write an activity as 名称=分钟 (重温入党誓词=30)"))?;
    let minutes = minutes
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: the minutes are not a number"))?;
    Ok(Activity {
        name: name.trim().to_string(),
        minutes,
    })
}

fn request(code: String, f: BaseFields) -> (BaseRequest, OutputFormat) {
    (
        BaseRequest {
            code,
            name: f.name,
            kind: f.kind,
            host_unit: f.host_unit,
            district: f.district,
            address: f.address,
            capacity: f.capacity,
            opens: f.opens,
            closes: f.closes,
            slot_minutes: f.slot_minutes,
            activities: f.activities,
            active: Some(!f.inactive),
        },
        f.format,
    )
}

fn print<T: serde::Serialize>(format: OutputFormat, v: &T, line: String) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(v)?),
        OutputFormat::Table => println!("{line}"),
    }
    Ok(())
}

fn booking_row(b: &BookingLine) -> Vec<String> {
    vec![
        b.id.to_string(),
        b.day.to_string(),
        format!("{}—{}", b.starts, b.ends),
        b.base_name.clone(),
        b.unit_code.clone(),
        b.unit_name.clone(),
        b.activity.clone(),
        b.headcount.to_string(),
        duban_app::bases::state_zh(&b.state).to_string(),
    ]
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (app, actor) = super::cli_reader(ctx).await?;
    match args.what {
        What::Add { code, f } => {
            let (req, format) = request(code, f);
            let b = app.add_base(&actor, req).await?;
            print(
                format,
                &b,
                format!("已添加基地 {} {}（{}）", b.code, b.name, b.kind_zh),
            )?;
        }
        What::Edit { code, f } => {
            let (req, format) = request(code.clone(), f);
            let b = app.edit_base(&actor, &code, req).await?;
            print(format, &b, format!("已修改基地 {} {}", b.code, b.name))?;
        }
        What::List { format } => {
            let bases = app.bases(&actor).await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&bases)?),
                OutputFormat::Table => {
                    let rows: Vec<Vec<String>> = bases
                        .iter()
                        .map(|b| {
                            vec![
                                b.code.clone(),
                                b.name.clone(),
                                b.kind_zh.clone(),
                                b.district.clone(),
                                b.host_unit_name.clone(),
                                b.capacity.to_string(),
                                format!("{}—{}/{}分钟", b.opens, b.closes, b.slot_minutes),
                                b.activities
                                    .iter()
                                    .map(|a| format!("{}({}分钟)", a.name, a.minutes))
                                    .collect::<Vec<_>>()
                                    .join("、"),
                            ]
                        })
                        .collect();
                    crate::cmd::deliveries::print_rows(
                        &[
                            "编码",
                            "名称",
                            "类型",
                            "区县",
                            "承办单位",
                            "每时段人数",
                            "开放时间",
                            "活动菜单",
                        ],
                        &rows,
                        crate::cmd::deliveries::ListFormat::Table,
                    )?;
                }
            }
        }
        What::Calendar {
            code,
            from,
            days,
            format,
        } => {
            let c = app
                .base_calendar(&actor, &code, from.unwrap_or_else(|| app.today()), days)
                .await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&c)?),
                OutputFormat::Table => {
                    println!(
                        "{}（{}，每时段{}人）",
                        c.base.name, c.base.kind_zh, c.base.capacity
                    );
                    for d in &c.days {
                        let slots = if d.open {
                            d.slots
                                .iter()
                                .map(|s| format!("{}—{} 余{}", s.starts, s.ends, s.free))
                                .collect::<Vec<_>>()
                                .join("  ")
                        } else {
                            "不开放".into()
                        };
                        println!("{}  {slots}", duban_app::bases::zh_date(d.date));
                    }
                }
            }
        }
        What::Book {
            base,
            unit,
            date,
            starts,
            activity,
            headcount,
            format,
        } => {
            let o = app
                .book_base(
                    &actor,
                    BookingRequest {
                        base,
                        unit,
                        date,
                        starts,
                        activity,
                        headcount,
                    },
                )
                .await?;
            let b = &o.booking;
            print(
                format,
                &o,
                format!(
                    "已预约（编号{}）：{} {} {}—{}，{}，{}人；可在{}前取消",
                    b.id,
                    b.base_name,
                    duban_app::bases::zh_date(b.day),
                    b.starts,
                    b.ends,
                    b.activity,
                    b.headcount,
                    duban_app::bases::zh_date(o.cancel_by)
                ),
            )?;
        }
        What::Cancel { id, format } => {
            let o = app.cancel_booking(&actor, id).await?;
            print(
                format,
                &o,
                format!(
                    "已取消预约（编号{}）：{} {}",
                    o.booking.id,
                    o.booking.base_name,
                    duban_app::bases::zh_date(o.booking.day)
                ),
            )?;
        }
        What::Bookings {
            base,
            unit,
            from,
            to,
            all,
            format,
            output,
        } => {
            let rows = app
                .bookings(
                    &actor,
                    &BookingQuery {
                        base,
                        unit,
                        from,
                        to,
                        all,
                    },
                )
                .await?;
            match format {
                ListExport::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                ListExport::Table => crate::cmd::deliveries::print_rows(
                    &[
                        "编号",
                        "日期",
                        "时段",
                        "基地",
                        "党组织编码",
                        "党组织",
                        "活动",
                        "人数",
                        "状态",
                    ],
                    &rows.iter().map(booking_row).collect::<Vec<_>>(),
                    crate::cmd::deliveries::ListFormat::Table,
                )?,
                ListExport::Csv | ListExport::Xlsx => {
                    let sheet = duban_app::bases::bookings_sheet(&rows);
                    let path = super::bank::write_sheet(&sheet, format == ListExport::Csv, output)?;
                    println!("已导出 {} 行到 {}", rows.len(), path.display());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
