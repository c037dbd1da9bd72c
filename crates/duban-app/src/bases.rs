//! Open organisational-life bases (开放式组织生活基地): administrators add and edit them
//! (`add_base`, `edit_base`), everyone who reads the register lists them (`bases`, `base`)
//! and sees a base's calendar with each slot's free places (`base_calendar`); a secretary
//! books a slot for their unit, an administrator for any unit of their districts
//! (`book_base`), and cancels up to the deadline (`cancel_booking`); the bookings are listed
//! within the reader's scope (`bookings`) and exported (`bookings_sheet`).
//!
//! A booking locks its unit's row, then its base's row, inside one write transaction, and
//! decides under those locks: the base is open that day (duban's working-day calendar:
//! closed on holidays, open on adjusted working Saturdays), the slot is one of its opening
//! hours, the booking deadline has not passed, the slot has the places, the unit has nothing
//! else at that time. Concurrent bookings of one base (or one unit) therefore take turns on
//! every backend, and the last places of a slot go to exactly one of them. The confirmation
//! and the reminder the working day before are written to the outbox in the same transaction, for
//! the unit's secretary; a cancellation drops the reminder not yet sent.

use crate::{Actor, App, AppError, Permission};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use duban_core::register::Channel;
use duban_store::bases::{BaseModel, BookingFilter, NewBase, NewBooking, booking_state};
pub use duban_store::bases::{BookingLine, BookingRow};
use duban_store::engine::{NewOutbox, WriteTx};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The booking rules (`[bases]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BasesPolicy {
    /// A slot may be booked until the end of the `n`th working day before it (1: the working
    /// day before).
    pub book_workdays_ahead: i64,
    /// A booking may be cancelled until the end of the `n`th working day before it.
    pub cancel_workdays_ahead: i64,
    /// When the reminder leaves on the working day before the visit (`HH:MM`, Beijing
    /// time): SMS and email leave on working days only.
    pub reminder_time: String,
}

impl Default for BasesPolicy {
    fn default() -> Self {
        BasesPolicy {
            book_workdays_ahead: 1,
            cancel_workdays_ahead: 1,
            reminder_time: "09:00".into(),
        }
    }
}

/// The four kinds of base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseKind {
    Basic,
    Red,
    Welfare,
    Science,
}

impl BaseKind {
    pub const ALL: [BaseKind; 4] = [
        BaseKind::Basic,
        BaseKind::Red,
        BaseKind::Welfare,
        BaseKind::Science,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BaseKind::Basic => "basic",
            BaseKind::Red => "red",
            BaseKind::Welfare => "welfare",
            BaseKind::Science => "science",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            BaseKind::Basic => "基础型",
            BaseKind::Red => "红色型",
            BaseKind::Welfare => "公益型",
            BaseKind::Science => "科技型",
        }
    }

    /// From its key (`red`) or its Chinese name (`红色型`, `红色`).
    pub fn parse(s: &str) -> Option<BaseKind> {
        let s = s.trim();
        BaseKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.zh() == s || k.zh().trim_end_matches('型') == s)
    }
}

/// An activity of a base's menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// 重温入党誓词, 参观学习, 志愿服务 …
    pub name: String,
    /// How long it takes, in minutes (at most the base's slot).
    pub minutes: i32,
}

/// A base to add, or what an edit sets.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BaseRequest {
    /// 1–32 letters, digits, `-` or `_`; fixed once added.
    pub code: String,
    pub name: String,
    /// `basic`, `red`, `welfare`, `science` (or 基础型, 红色型, 公益型, 科技型).
    pub kind: String,
    /// The code of the unit that hosts it.
    pub host_unit: String,
    pub district: String,
    pub address: String,
    /// People per slot.
    pub capacity: i32,
    /// Opening on working days, `HH:MM` (Beijing time).
    pub opens: String,
    pub closes: String,
    /// The length of a slot in minutes.
    pub slot_minutes: i32,
    pub activities: Vec<Activity>,
    /// False to stop new bookings; true by default.
    #[serde(default)]
    pub active: Option<bool>,
}

/// A base as people see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Base {
    pub code: String,
    pub name: String,
    pub kind: String,
    /// 基础型, 红色型, 公益型 or 科技型.
    pub kind_zh: String,
    pub host_unit: String,
    pub host_unit_name: String,
    pub district: String,
    pub address: String,
    pub capacity: i32,
    pub opens: String,
    pub closes: String,
    pub slot_minutes: i32,
    pub activities: Vec<Activity>,
    pub active: bool,
}

/// A slot of a day at a base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Slot {
    pub starts: String,
    pub ends: String,
    pub booked: i64,
    pub free: i64,
    /// Free places and still before the booking deadline.
    pub bookable: bool,
}

/// A day of a base's calendar: closed (no slots) or its slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalendarDay {
    pub date: NaiveDate,
    /// 1 (Monday) … 7 (Sunday).
    pub weekday: u32,
    pub open: bool,
    /// The last day it may be booked (the booking deadline).
    pub book_by: NaiveDate,
    pub slots: Vec<Slot>,
}

/// A base with the days of its calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BaseCalendar {
    pub base: Base,
    pub days: Vec<CalendarDay>,
}

/// A booking to make.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BookingRequest {
    /// The base's code.
    pub base: String,
    /// The code of the unit the booking is for.
    pub unit: String,
    pub date: NaiveDate,
    /// The slot's start, `HH:MM`.
    pub starts: String,
    /// An activity of the base's menu.
    pub activity: String,
    pub headcount: i32,
}

/// What a booking or a cancellation did, with the booking as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookingOutcome {
    pub booking: BookingLine,
    /// Messages written to the outbox (confirmation and reminder), or dropped (a cancelled
    /// booking's reminder).
    pub messages: u64,
    /// The last day the booking may be cancelled.
    pub cancel_by: NaiveDate,
}

/// Which bookings to list.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct BookingQuery {
    /// A base's code.
    pub base: Option<String>,
    /// A unit's code.
    pub unit: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Cancelled bookings too.
    #[serde(default)]
    pub all: bool,
}

const MESSAGE_KEY: &str = "base_booking";
const CONFIRMED_TITLE: &str = "开放式组织生活基地预约确认";
const REMINDER_TITLE: &str = "开放式组织生活基地活动提醒";
const CONFIRMED_TEXT: &str = "{{ unit_name }}：已预约{{ base_name }}，{{ visit_date }}{{ starts }}—{{ ends }}，{{ activity }}，{{ headcount }}人。地址：{{ address }}。如需取消，请于{{ cancel_by }}前办理。";
const REMINDER_TEXT: &str = "{{ unit_name }}：提醒您，{{ visit_date }}{{ starts }}在{{ base_name }}开展{{ activity }}，{{ headcount }}人，地址：{{ address }}，请提前15分钟到达。";

fn beijing() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

fn hhmm(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    (s.len() == 5)
        .then(|| NaiveTime::parse_from_str(s, "%H:%M").ok())
        .flatten()
}

fn fmt_time(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

pub use duban_workflow::subject::zh_date;

/// The slots of a base's opening hours: `(starts, ends)`.
fn slots(b: &BaseModel) -> Vec<(NaiveTime, NaiveTime)> {
    let (Some(open), Some(close)) = (hhmm(&b.opens), hhmm(&b.closes)) else {
        return Vec::new();
    };
    let len = Duration::minutes(i64::from(b.slot_minutes.max(1)));
    let mut out = Vec::new();
    let mut at = open;
    while at < close {
        let end = at + len;
        if end > close || end <= at {
            break;
        }
        out.push((at, end));
        at = end;
    }
    out
}

fn activities_of(b: &BaseModel) -> Vec<Activity> {
    serde_json::from_str(&b.activities).unwrap_or_default()
}

fn view(b: &BaseModel, host: Option<&(String, String)>) -> Base {
    let kind = BaseKind::parse(&b.kind);
    Base {
        code: b.code.clone(),
        name: b.name.clone(),
        kind: b.kind.clone(),
        kind_zh: kind.map(BaseKind::zh).unwrap_or_default().to_string(),
        host_unit: host.map(|h| h.0.clone()).unwrap_or_default(),
        host_unit_name: host.map(|h| h.1.clone()).unwrap_or_default(),
        district: b.district.clone(),
        address: b.address.clone(),
        capacity: b.capacity,
        opens: b.opens.clone(),
        closes: b.closes.clone(),
        slot_minutes: b.slot_minutes,
        activities: activities_of(b),
        active: b.active,
    }
}

fn required(field: &str, v: &str, max: usize) -> Result<String, AppError> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(AppError::invalid_at(
            &format!("/{field}"),
            format!("{field}：必填，至多{max}个字符 (required, at most {max} characters)"),
        ));
    }
    Ok(t.to_string())
}

/// The request checked whole; the host unit is resolved in the transaction.
fn checked(req: &BaseRequest) -> Result<NewBase, AppError> {
    let code = req.code.trim();
    if code.is_empty()
        || code.len() > 32
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(AppError::invalid_at(
            "/code",
            format!(
                "基地编码为1至32位字母、数字、- 或 _（{code:?}: a code is 1–32 letters, digits, - or _)"
            ),
        ));
    }
    let kind = BaseKind::parse(&req.kind).ok_or_else(|| {
        AppError::invalid_at(
            "/kind",
            format!(
                "基地类型“{}”不是基础型、红色型、公益型或科技型 (kind: basic, red, welfare or science)",
                req.kind
            ),
        )
    })?;
    if !(1..=10_000).contains(&req.capacity) {
        return Err(AppError::invalid_at(
            "/capacity",
            "容纳人数须为1至10000 (capacity: 1–10000 people per slot)",
        ));
    }
    let (Some(opens), Some(closes)) = (hhmm(&req.opens), hhmm(&req.closes)) else {
        return Err(AppError::invalid_at(
            "/opens",
            "开放时间写作 HH:MM，如 08:30 (opening hours as HH:MM)",
        ));
    };
    if !(15..=720).contains(&req.slot_minutes) {
        return Err(AppError::invalid_at(
            "/slot_minutes",
            "时段长度须为15至720分钟 (slot_minutes: 15–720)",
        ));
    }
    if opens + Duration::minutes(i64::from(req.slot_minutes)) > closes || closes <= opens {
        return Err(AppError::invalid_at(
            "/closes",
            format!(
                "开放时间{}—{}容不下一个{}分钟的时段 (the opening hours hold no slot)",
                fmt_time(opens),
                fmt_time(closes),
                req.slot_minutes
            ),
        ));
    }
    if req.activities.is_empty() {
        return Err(AppError::invalid_at(
            "/activities",
            "活动菜单至少有一项 (the menu needs at least one activity)",
        ));
    }
    let mut names = Vec::new();
    for (i, a) in req.activities.iter().enumerate() {
        let name = a.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid_at(
                &format!("/activities/{i}/name"),
                format!("第{}项活动：名称必填，至多100个字符", i + 1),
            ));
        }
        if names.contains(&name) {
            return Err(AppError::invalid_at(
                &format!("/activities/{i}/name"),
                format!("第{}项活动“{name}”重复", i + 1),
            ));
        }
        if a.minutes < 1 || a.minutes > req.slot_minutes {
            return Err(AppError::invalid_at(
                &format!("/activities/{i}/minutes"),
                format!(
                    "第{}项活动“{name}”：时长须为1至{}分钟（不超过一个时段）",
                    i + 1,
                    req.slot_minutes
                ),
            ));
        }
        names.push(name);
    }
    let activities: Vec<Activity> = req
        .activities
        .iter()
        .map(|a| Activity {
            name: a.name.trim().to_string(),
            minutes: a.minutes,
        })
        .collect();
    Ok(NewBase {
        code: code.to_string(),
        name: required("name", &req.name, 200)?,
        kind: kind.as_str().to_string(),
        host_unit_id: 0,
        district: required("district", &req.district, 64)?,
        address: required("address", &req.address, 255)?,
        capacity: req.capacity,
        opens: fmt_time(opens),
        closes: fmt_time(closes),
        slot_minutes: req.slot_minutes,
        activities: serde_json::to_string(&activities)
            .map_err(|e| AppError::Internal(e.to_string()))?,
        active: req.active.unwrap_or(true),
    })
}

/// Refuses an administrator limited to districts a base outside them.
fn in_districts(actor: &Actor, district: &str) -> Result<(), AppError> {
    let d = &actor.scope.districts;
    if d.is_empty() || d.iter().any(|x| x == district) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "{}只管理{}的基地，不含{district}",
            actor.name,
            d.join("、")
        )))
    }
}

impl App {
    /// The booking rules.
    pub fn with_bases(mut self, policy: BasesPolicy) -> App {
        self.bases = std::sync::Arc::new(policy);
        self
    }

    pub fn bases_policy(&self) -> &BasesPolicy {
        &self.bases
    }

    /// Adds a base (administrators, within their districts; audited).
    pub async fn add_base(&self, actor: &Actor, req: BaseRequest) -> Result<Base, AppError> {
        self.write_base(actor, None, req).await
    }

    /// Changes a base: everything but its code (administrators; audited). Bookings made
    /// keep their slot and activity.
    pub async fn edit_base(
        &self,
        actor: &Actor,
        code: &str,
        mut req: BaseRequest,
    ) -> Result<Base, AppError> {
        req.code = code.to_string();
        self.write_base(actor, Some(code), req).await
    }

    async fn write_base(
        &self,
        actor: &Actor,
        existing: Option<&str>,
        req: BaseRequest,
    ) -> Result<Base, AppError> {
        actor.require(Permission::WriteRegister)?;
        let mut new = checked(&req)?;
        in_districts(actor, &new.district)?;
        let now = self.now();
        self.from(actor, async {
            let tx = self.store().begin_write().await?;
            let result = async {
                let host = tx.unit_in_tx(req.host_unit.trim()).await?.ok_or_else(|| {
                    AppError::invalid_at(
                        "/host_unit",
                        format!(
                            "没有编码为“{}”的党组织 (no such unit)",
                            req.host_unit.trim()
                        ),
                    )
                })?;
                new.host_unit_id = host.id;
                let (before, row) = match existing {
                    None => (None, tx.insert_base(&new, now).await?),
                    Some(code) => {
                        let old = tx.lock_base(code).await?.ok_or_else(|| {
                            AppError::NotFound(format!("没有编码为“{code}”的基地"))
                        })?;
                        in_districts(actor, &old.district)?;
                        let old_view = view(&old, Some(&(String::new(), String::new())));
                        (Some(old_view), tx.update_base(old.id, &new, now).await?)
                    }
                };
                let base = view(&row, Some(&(host.code.clone(), host.name.clone())));
                crate::accounts::audit(
                    &tx,
                    actor,
                    now,
                    if before.is_none() {
                        "base.add"
                    } else {
                        "base.edit"
                    },
                    ("base", &base.code),
                    before.as_ref(),
                    Some(&base),
                )
                .await?;
                Ok(base)
            }
            .await;
            crate::bank::finish(tx, result, true).await
        })
        .await
    }

    /// The bases, by district and code (an administrator limited to districts sees theirs).
    pub async fn bases(&self, actor: &Actor) -> Result<Vec<Base>, AppError> {
        actor.require(Permission::ReadRegister)?;
        let districts = if actor.role == crate::Role::Administrator {
            actor.scope.districts.clone()
        } else {
            Vec::new()
        };
        let rows = self.store().list_bases(&districts).await?;
        let ids: Vec<i64> = rows.iter().map(|b| b.host_unit_id).collect();
        let hosts = self.store().unit_names(&ids).await?;
        Ok(rows
            .iter()
            .map(|b| view(b, hosts.get(&b.host_unit_id)))
            .collect())
    }

    /// One base.
    pub async fn base(&self, actor: &Actor, code: &str) -> Result<Base, AppError> {
        actor.require(Permission::ReadRegister)?;
        let b = self
            .store()
            .base_by_code(code)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("没有编码为“{code}”的基地")))?;
        let hosts = self.store().unit_names(&[b.host_unit_id]).await?;
        Ok(view(&b, hosts.get(&b.host_unit_id)))
    }

    /// The base's calendar from `from` for `days` days (at most 62): each working day's
    /// slots with their booked and free places; days off are closed.
    pub async fn base_calendar(
        &self,
        actor: &Actor,
        code: &str,
        from: NaiveDate,
        days: u32,
    ) -> Result<BaseCalendar, AppError> {
        actor.require(Permission::ReadRegister)?;
        if !(1..=62).contains(&days) {
            return Err(AppError::invalid_at("days", "天数须为1至62 (days: 1–62)"));
        }
        let b = self
            .store()
            .base_by_code(code)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("没有编码为“{code}”的基地")))?;
        let to = from + Duration::days(i64::from(days) - 1);
        let booked = self.store().base_bookings_between(b.id, from, to).await?;
        let cal = &self.engine.rules.calendar;
        let today = self.today();
        let hosts = self.store().unit_names(&[b.host_unit_id]).await?;
        let out = from
            .iter_days()
            .take(days as usize)
            .map(|d| {
                let open = cal.is_workday(d);
                let book_by = cal.add_workdays(d, -self.bases.book_workdays_ahead);
                let slots = if open {
                    slots(&b)
                        .into_iter()
                        .map(|(s, e)| {
                            let starts = fmt_time(s);
                            let n: i64 = booked
                                .iter()
                                .filter(|x| x.day == d && x.starts == starts)
                                .map(|x| i64::from(x.headcount))
                                .sum();
                            let free = (i64::from(b.capacity) - n).max(0);
                            Slot {
                                starts,
                                ends: fmt_time(e),
                                booked: n,
                                free,
                                bookable: free > 0 && today <= book_by && b.active,
                            }
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                CalendarDay {
                    date: d,
                    weekday: d.weekday().number_from_monday(),
                    open,
                    book_by,
                    slots,
                }
            })
            .collect();
        Ok(BaseCalendar {
            base: view(&b, hosts.get(&b.host_unit_id)),
            days: out,
        })
    }

    /// Books a slot for a unit: a secretary for their own units, an administrator for the
    /// units of their districts. Refused, in Chinese, when the base is closed that day, the
    /// slot is not one of its hours, the booking deadline has passed, the slot has not the
    /// places (已约满), or the unit has another booking at that time. The confirmation and
    /// the reminder the working day before go to the unit's secretary; audited.
    pub async fn book_base(
        &self,
        actor: &Actor,
        req: BookingRequest,
    ) -> Result<BookingOutcome, AppError> {
        actor.require(Permission::BookBase)?;
        if req.headcount < 1 {
            return Err(AppError::invalid_at(
                "/headcount",
                "人数至少为1 (headcount: at least 1)",
            ));
        }
        let starts = hhmm(&req.starts).ok_or_else(|| {
            AppError::invalid_at(
                "/starts",
                format!("开始时间“{}”应写作 HH:MM，如 09:00", req.starts),
            )
        })?;
        let now = self.now();
        let today = self.today();
        self.from(actor, async {
            let tx = self.store().begin_write().await?;
            let result = self.book_in(&tx, actor, &req, starts, now, today).await;
            crate::bank::finish(tx, result, true).await
        })
        .await
    }

    async fn book_in(
        &self,
        tx: &WriteTx,
        actor: &Actor,
        req: &BookingRequest,
        starts: NaiveTime,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Result<BookingOutcome, AppError> {
        let unit_code = req.unit.trim();
        let unit = tx
            .lock_unit(unit_code)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("没有编码为“{unit_code}”的党组织")))?;
        let districts = tx.unit_districts(unit.id).await?;
        if !actor.covers(&unit.code, &districts) {
            return Err(AppError::Forbidden(format!(
                "不是您的单位：{}只能为本单位预约，{}（{}）不在其内",
                actor.name, unit.name, unit.code
            )));
        }
        let base = tx
            .lock_base(req.base.trim())
            .await?
            .ok_or_else(|| AppError::NotFound(format!("没有编码为“{}”的基地", req.base.trim())))?;
        if !base.active {
            return Err(AppError::Refused(format!("{}已停止预约", base.name)));
        }
        let activity = activities_of(&base)
            .into_iter()
            .find(|a| a.name == req.activity.trim())
            .ok_or_else(|| {
                AppError::invalid_at(
                    "/activity",
                    format!("{}的活动菜单中没有“{}”", base.name, req.activity.trim()),
                )
            })?;
        let cal = &self.engine.rules.calendar;
        if !cal.is_workday(req.date) {
            return Err(AppError::Refused(format!(
                "{}当日不开放：{}是节假日或休息日",
                base.name,
                zh_date(req.date)
            )));
        }
        let Some((s, e)) = slots(&base).into_iter().find(|(s, _)| *s == starts) else {
            return Err(AppError::Refused(format!(
                "不在开放时段内：{}工作日{}—{}开放，每{}分钟一个时段，{}不是时段的开始",
                base.name,
                base.opens,
                base.closes,
                base.slot_minutes,
                fmt_time(starts)
            )));
        };
        let book_by = cal.add_workdays(req.date, -self.bases.book_workdays_ahead);
        if today > book_by {
            return Err(AppError::Refused(format!(
                "已过预约截止时间：{}的时段须在{}（含）前预约",
                zh_date(req.date),
                zh_date(book_by)
            )));
        }
        if req.headcount > base.capacity {
            return Err(AppError::invalid_at(
                "/headcount",
                format!(
                    "人数{}超过基地每时段容纳的{}人",
                    req.headcount, base.capacity
                ),
            ));
        }
        for other in tx.unit_bookings_on(unit.id, req.date).await? {
            let (Some(os), Some(oe)) = (hhmm(&other.starts), hhmm(&other.ends)) else {
                continue;
            };
            if os < e && s < oe {
                let where_ = tx
                    .base_by_id(other.base_id)
                    .await?
                    .map(|b| b.name)
                    .unwrap_or_default();
                return Err(AppError::Refused(format!(
                    "时间冲突：{}在{} {}—{}已预约{}",
                    unit.name,
                    zh_date(req.date),
                    other.starts,
                    other.ends,
                    where_
                )));
            }
        }
        let (s_txt, e_txt) = (fmt_time(s), fmt_time(e));
        let booked = tx.booked_places(base.id, req.date, &s_txt).await?;
        let free = i64::from(base.capacity) - booked;
        if free < i64::from(req.headcount) {
            return Err(AppError::Refused(if free <= 0 {
                format!(
                    "已约满：{}{} {}—{}的{}个名额已全部约出",
                    base.name,
                    zh_date(req.date),
                    s_txt,
                    e_txt,
                    base.capacity
                )
            } else {
                format!(
                    "名额不足：{}{} {}—{}只剩{}个名额，预约了{}人",
                    base.name,
                    zh_date(req.date),
                    s_txt,
                    e_txt,
                    free,
                    req.headcount
                )
            }));
        }
        let row = tx
            .insert_booking(
                &NewBooking {
                    base_id: base.id,
                    unit_id: unit.id,
                    day: req.date,
                    starts: s_txt,
                    ends: e_txt,
                    activity: activity.name.clone(),
                    headcount: req.headcount,
                    booked_by: actor.name.clone(),
                },
                now,
            )
            .await?;
        let cancel_by = cal.add_workdays(req.date, -self.bases.cancel_workdays_ahead);
        let line = line_of(&row, &base, &unit);
        let messages = self
            .booking_messages(tx, &unit, &base, &line, cancel_by, now)
            .await?;
        crate::accounts::audit(
            tx,
            actor,
            now,
            "base.book",
            ("base_booking", &row.id.to_string()),
            None,
            Some(&line),
        )
        .await?;
        Ok(BookingOutcome {
            booking: line,
            messages,
            cancel_by,
        })
    }

    /// The confirmation now and the reminder on the working day before, to the unit's secretary on
    /// each channel that reaches them; listed as unreachable when the unit has none.
    async fn booking_messages(
        &self,
        tx: &WriteTx,
        unit: &duban_store::entities::party_units::Model,
        base: &BaseModel,
        b: &BookingLine,
        cancel_by: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<u64, AppError> {
        let mut vars: BTreeMap<String, minijinja::Value> = BTreeMap::new();
        for (k, v) in [
            ("unit_name", unit.name.clone()),
            ("unit_code", unit.code.clone()),
            ("base_name", base.name.clone()),
            ("address", base.address.clone()),
            ("visit_date", zh_date(b.day)),
            ("starts", b.starts.clone()),
            ("ends", b.ends.clone()),
            ("activity", b.activity.clone()),
            ("headcount", b.headcount.to_string()),
            ("cancel_by", zh_date(cancel_by)),
        ] {
            vars.insert(k.into(), minijinja::Value::from(v));
        }
        let reminder_time =
            hhmm(&self.bases.reminder_time).unwrap_or(NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        // The working day before: messages leave on working days only (quiet hours).
        let reminder_day = self.engine.rules.calendar.add_workdays(b.day, -1);
        let reminder_at = beijing()
            .from_local_datetime(&reminder_day.and_time(reminder_time))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        let mut plan = vec![("confirmed", CONFIRMED_TITLE, CONFIRMED_TEXT, now)];
        if reminder_at > now {
            plan.push(("reminder", REMINDER_TITLE, REMINDER_TEXT, reminder_at));
        }
        let secretary = tx.secretary_of(unit).await?;
        let mut written = 0;
        for (what, title, text, at) in plan {
            let body = duban_workflow::render::render(text, &vars)
                .map_err(|e| AppError::Internal(format!("booking message: {e}")))?;
            let params = duban_workflow::render::template_params(&vars, title);
            let params = serde_json::to_string(&params).ok();
            let key = |person: &str, channel: &str| {
                format!("{MESSAGE_KEY}:{}:{what}:{person}:{channel}", b.id)
            };
            let base_msg = NewOutbox {
                idempotency_key: key("none", "none"),
                instance_id: None,
                timer_id: None,
                person_id: None,
                role: "secretary".into(),
                channel: "none".into(),
                address: String::new(),
                subject: title.into(),
                body,
                html: None,
                not_before: at,
                urgent: false,
                template: None,
                params,
            };
            let Some(p) = &secretary else {
                tx.enqueue_unreachable(&base_msg, now).await?;
                continue;
            };
            for c in duban_engine::fire::reachable_channels(p, &[Channel::Sms, Channel::Email]) {
                let msg = NewOutbox {
                    idempotency_key: key(&p.id.to_string(), c.as_str()),
                    person_id: Some(p.id),
                    channel: c.as_str().into(),
                    address: duban_engine::fire::address(p, c).to_string(),
                    template: (c == Channel::Sms).then(|| format!("{MESSAGE_KEY}_{what}")),
                    ..base_msg.clone()
                };
                tx.enqueue(&msg, now).await?;
                written += 1;
            }
        }
        Ok(written)
    }

    /// Cancels a booking up to the deadline (`cancel_workdays_ahead` working days before
    /// the visit): a secretary their units' bookings, an administrator those of their
    /// districts. The reminder not yet sent is dropped; audited.
    pub async fn cancel_booking(&self, actor: &Actor, id: i64) -> Result<BookingOutcome, AppError> {
        actor.require(Permission::BookBase)?;
        let now = self.now();
        let today = self.today();
        self.from(actor, async {
            let tx = self.store().begin_write().await?;
            let result = async {
                let row = tx
                    .lock_booking(id)
                    .await?
                    .ok_or_else(|| AppError::NotFound(format!("没有编号为{id}的预约")))?;
                let unit = tx
                    .unit_by_id(row.unit_id)
                    .await?
                    .ok_or_else(|| AppError::Internal(format!("booking {id} has no unit")))?;
                let districts = tx.unit_districts(unit.id).await?;
                if !actor.covers(&unit.code, &districts) {
                    return Err(AppError::Forbidden(format!(
                        "不是您的单位：{}不能取消{}的预约",
                        actor.name, unit.name
                    )));
                }
                let base = tx
                    .base_by_id(row.base_id)
                    .await?
                    .ok_or_else(|| AppError::Internal(format!("booking {id} has no base")))?;
                let before = line_of(&row, &base, &unit);
                if row.state == booking_state::CANCELLED {
                    return Err(AppError::Refused(format!("编号为{id}的预约已取消")));
                }
                let cal = &self.engine.rules.calendar;
                let cancel_by = cal.add_workdays(row.day, -self.bases.cancel_workdays_ahead);
                if today > cancel_by {
                    return Err(AppError::Refused(format!(
                        "已过取消截止时间：{}的预约须在{}（含）前取消",
                        zh_date(row.day),
                        zh_date(cancel_by)
                    )));
                }
                let row = tx.cancel_booking(id, &actor.name, now).await?;
                let dropped = tx
                    .drop_pending_messages(
                        &format!("{MESSAGE_KEY}:{id}:reminder:"),
                        "预约已取消 (booking cancelled)",
                    )
                    .await?;
                let after = line_of(&row, &base, &unit);
                crate::accounts::audit(
                    &tx,
                    actor,
                    now,
                    "base.cancel",
                    ("base_booking", &id.to_string()),
                    Some(&before),
                    Some(&after),
                )
                .await?;
                Ok(BookingOutcome {
                    booking: after,
                    messages: dropped,
                    cancel_by,
                })
            }
            .await;
            crate::bank::finish(tx, result, true).await
        })
        .await
    }

    /// The bookings the reader may see: a secretary their units', an administrator or
    /// viewer limited to districts those of their districts' units and bases; by day.
    pub async fn bookings(
        &self,
        actor: &Actor,
        q: &BookingQuery,
    ) -> Result<Vec<BookingLine>, AppError> {
        actor.require(Permission::ReadRegister)?;
        Ok(self
            .store()
            .list_bookings(&BookingFilter {
                base: q.base.clone().filter(|s| !s.is_empty()),
                unit: q.unit.clone().filter(|s| !s.is_empty()),
                from: q.from,
                to: q.to,
                booked_only: !q.all,
                scope: actor.list_scope(),
            })
            .await?)
    }
}

fn line_of(
    r: &BookingRow,
    b: &BaseModel,
    u: &duban_store::entities::party_units::Model,
) -> BookingLine {
    BookingLine {
        id: r.id,
        base_code: b.code.clone(),
        base_name: b.name.clone(),
        district: b.district.clone(),
        unit_code: u.code.clone(),
        unit_name: u.name.clone(),
        day: r.day,
        starts: r.starts.clone(),
        ends: r.ends.clone(),
        activity: r.activity.clone(),
        headcount: r.headcount,
        state: r.state.clone(),
        booked_by: r.booked_by.clone(),
        booked_at: r.booked_at.and_utc(),
        cancelled_by: r.cancelled_by.clone(),
        cancelled_at: r.cancelled_at.map(|t| t.and_utc()),
    }
}

/// The state as people read it.
pub fn state_zh(state: &str) -> &'static str {
    if state == booking_state::CANCELLED {
        "已取消"
    } else {
        "已预约"
    }
}

/// The bookings as the sheet an export writes (dates ISO in the file).
pub fn bookings_sheet(rows: &[BookingLine]) -> duban_tabular::export::Sheet {
    use duban_tabular::export::{Cell, Sheet};
    Sheet {
        name: "基地预约".into(),
        headers: [
            "编号",
            "基地",
            "区县",
            "党组织编码",
            "党组织",
            "日期",
            "开始",
            "结束",
            "活动",
            "人数",
            "状态",
            "预约人",
        ]
        .map(String::from)
        .to_vec(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Int(r.id),
                    Cell::from(r.base_name.as_str()),
                    Cell::from(r.district.as_str()),
                    Cell::from(r.unit_code.as_str()),
                    Cell::from(r.unit_name.as_str()),
                    Cell::Date(r.day),
                    Cell::from(r.starts.as_str()),
                    Cell::from(r.ends.as_str()),
                    Cell::from(r.activity.as_str()),
                    Cell::Int(i64::from(r.headcount)),
                    Cell::from(state_zh(&r.state)),
                    Cell::from(r.booked_by.as_str()),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(opens: &str, closes: &str, slot: i32) -> BaseModel {
        BaseModel {
            id: 1,
            code: "b".into(),
            name: "b".into(),
            kind: "red".into(),
            host_unit_id: 1,
            district: "d".into(),
            address: "a".into(),
            capacity: 30,
            opens: opens.into(),
            closes: closes.into(),
            slot_minutes: slot,
            activities: "[]".into(),
            active: true,
            created_at: Default::default(),
            updated_at: Default::default(),
        }
    }

    #[test]
    fn opening_hours_cut_into_whole_slots() {
        let s: Vec<String> = slots(&base("08:30", "11:45", 60))
            .into_iter()
            .map(|(a, b)| format!("{}-{}", fmt_time(a), fmt_time(b)))
            .collect();
        assert_eq!(s, ["08:30-09:30", "09:30-10:30", "10:30-11:30"]);
        assert!(slots(&base("bad", "11:00", 60)).is_empty());
    }

    #[test]
    fn kinds_read_their_keys_and_chinese_names() {
        assert_eq!(BaseKind::parse("红色型"), Some(BaseKind::Red));
        assert_eq!(BaseKind::parse("科技"), Some(BaseKind::Science));
        assert_eq!(BaseKind::parse("welfare"), Some(BaseKind::Welfare));
        assert_eq!(BaseKind::parse("蓝色型"), None);
    }

    #[test]
    fn a_request_is_checked_whole_with_the_place_named() {
        let req = |slot: i32, minutes: i32| BaseRequest {
            code: "lx-red-1".into(),
            name: "红色教育基地".into(),
            kind: "红色型".into(),
            host_unit: "U1".into(),
            district: "历下区".into(),
            address: "历下区某路1号".into(),
            capacity: 40,
            opens: "09:00".into(),
            closes: "11:00".into(),
            slot_minutes: slot,
            activities: vec![Activity {
                name: "重温入党誓词".into(),
                minutes,
            }],
            active: None,
        };
        let ok = checked(&req(60, 30)).unwrap();
        assert_eq!(ok.kind, "red");
        let e = checked(&req(60, 90)).unwrap_err();
        assert!(
            matches!(&e, AppError::Invalid { pointer: Some(p), .. } if p == "/activities/0/minutes"),
            "{e:?}"
        );
        let e = checked(&req(180, 30)).unwrap_err();
        assert!(e.to_string().contains("容不下"), "{e}");
    }
}
