//! Subjects: what a workflow runs for (a unit's term, a rectification item, an interview, a
//! member's anniversary, a unit's recurring duties), the roles a message can go to, the
//! completion events each kind knows, and the template variables each kind offers.
//!
//! The catalogues here are what `workflows check` validates files against, so a template
//! that uses a variable its subject kind lacks is rejected before it goes live.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use duban_core::register::{UnitLevel, term_end_for};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The kind of thing a workflow runs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A party unit's term (按期换届).
    Term,
    /// A rectification item (整改).
    Rectification,
    /// A supervisory interview (约谈).
    Interview,
    /// A party member (政治生日).
    Member,
    /// A party unit's recurring duties (三会一课, 主题党日, 党费).
    Unit,
}

impl SubjectKind {
    pub const ALL: &'static [SubjectKind] = &[
        SubjectKind::Term,
        SubjectKind::Rectification,
        SubjectKind::Interview,
        SubjectKind::Member,
        SubjectKind::Unit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Term => "term",
            SubjectKind::Rectification => "rectification",
            SubjectKind::Interview => "interview",
            SubjectKind::Member => "member",
            SubjectKind::Unit => "unit",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            SubjectKind::Term => "党组织任期",
            SubjectKind::Rectification => "整改事项",
            SubjectKind::Interview => "约谈",
            SubjectKind::Member => "党员",
            SubjectKind::Unit => "党组织",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// The roles a step of this kind may address.
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            SubjectKind::Term => &[Secretary, SuperiorSecretary, OrgDepartment],
            SubjectKind::Rectification => &[
                Owner,
                Secretary,
                ResponsibleLeader,
                Verifier,
                SuperiorSecretary,
                OrgDepartment,
            ],
            SubjectKind::Interview => &[Interviewee, Secretary, SuperiorSecretary, OrgDepartment],
            SubjectKind::Member => &[Member, Secretary],
            SubjectKind::Unit => &[Secretary, SuperiorSecretary, OrgDepartment, Finance, Member],
        }
    }

    /// The completion events this kind knows.
    pub fn events(self) -> &'static [EventSpec] {
        match self {
            SubjectKind::Term => TERM_EVENTS,
            SubjectKind::Rectification => RECTIFICATION_EVENTS,
            SubjectKind::Interview => INTERVIEW_EVENTS,
            SubjectKind::Member => &[],
            SubjectKind::Unit => UNIT_EVENTS,
        }
    }

    pub fn event(self, name: &str) -> Option<&'static EventSpec> {
        self.events().iter().find(|e| e.name == name)
    }

    /// The subject's own template variables (see also [`COMMON_VARIABLES`]).
    pub fn variables(self) -> &'static [Variable] {
        match self {
            SubjectKind::Term => TERM_VARS,
            SubjectKind::Rectification => RECTIFICATION_VARS,
            SubjectKind::Interview => INTERVIEW_VARS,
            SubjectKind::Member => MEMBER_VARS,
            SubjectKind::Unit => UNIT_VARS,
        }
    }

    /// Date fields an anchor (`anchor.date`, a step's `from`, `anchor.yearly_on`) may name.
    pub fn date_fields(self) -> &'static [&'static str] {
        match self {
            SubjectKind::Term => &["term_end", "term_start", "election_date"],
            SubjectKind::Rectification => &["deadline", "final_deadline", "opened_on", "closed_on"],
            SubjectKind::Interview => &["interview_at", "opened_on", "held_on"],
            SubjectKind::Member => &["joined_on"],
            SubjectKind::Unit => &[],
        }
    }

    /// Day-of-month fields `anchor.monthly_on` may name.
    pub fn day_fields(self) -> &'static [&'static str] {
        match self {
            SubjectKind::Unit => &["theme_day"],
            _ => &[],
        }
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a message goes to. The engine resolves a role to people through the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The unit's secretary (书记).
    Secretary,
    /// The superior unit's secretary (上级党组织书记).
    SuperiorSecretary,
    /// Organisation-department staff (组织部门).
    OrgDepartment,
    /// The finance officer (财务).
    Finance,
    /// The member (党员本人), or for a unit, its members.
    Member,
    /// The owner of a rectification item (整改责任人).
    Owner,
    /// The responsible leader of a rectification item (责任领导).
    ResponsibleLeader,
    /// The verifier of a rectification item (验收人).
    Verifier,
    /// The person summoned to an interview (被约谈人).
    Interviewee,
}

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::Secretary,
        Role::SuperiorSecretary,
        Role::OrgDepartment,
        Role::Finance,
        Role::Member,
        Role::Owner,
        Role::ResponsibleLeader,
        Role::Verifier,
        Role::Interviewee,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Secretary => "secretary",
            Role::SuperiorSecretary => "superior_secretary",
            Role::OrgDepartment => "org_department",
            Role::Finance => "finance",
            Role::Member => "member",
            Role::Owner => "owner",
            Role::ResponsibleLeader => "responsible_leader",
            Role::Verifier => "verifier",
            Role::Interviewee => "interviewee",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Role::Secretary => "党组织书记",
            Role::SuperiorSecretary => "上级党组织书记",
            Role::OrgDepartment => "组织部门",
            Role::Finance => "财务人员",
            Role::Member => "党员",
            Role::Owner => "整改责任人",
            Role::ResponsibleLeader => "责任领导",
            Role::Verifier => "验收人",
            Role::Interviewee => "被约谈人",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an event carries besides its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventValue {
    /// Nothing: the event's own date is what counts.
    None,
    /// A new date for a field (e.g. the approved new term end).
    Date,
}

/// A completion event a subject kind knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EventSpec {
    pub name: &'static str,
    pub zh: &'static str,
    /// The subject field the event sets, if any.
    pub sets: Option<&'static str>,
    /// Whether the field is set to the event's date or to a value it carries.
    pub value: EventValue,
    /// The kind of subject a workflow started by this event runs for (usually the same kind;
    /// an interview's record produces rectification items).
    pub produces: SubjectKind,
}

const fn ev(
    name: &'static str,
    zh: &'static str,
    sets: Option<&'static str>,
    value: EventValue,
    produces: SubjectKind,
) -> EventSpec {
    EventSpec {
        name,
        zh,
        sets,
        value,
        produces,
    }
}

use EventValue as V;
use SubjectKind as K;

const TERM_EVENTS: &[EventSpec] = &[
    ev(
        "request_submitted",
        "换届请示已报送",
        None,
        V::None,
        K::Term,
    ),
    ev(
        "election_recorded",
        "换届选举已完成",
        Some("election_date"),
        V::None,
        K::Term,
    ),
    ev(
        "extension_approved",
        "延期换届已批准",
        Some("term_end"),
        V::Date,
        K::Term,
    ),
    ev("result_reported", "选举结果已报告", None, V::None, K::Term),
];
const RECTIFICATION_EVENTS: &[EventSpec] = &[
    ev(
        "progress_reported",
        "整改进展已报送",
        None,
        V::None,
        K::Rectification,
    ),
    ev(
        "deadline_extended",
        "整改期限已延长",
        Some("deadline"),
        V::Date,
        K::Rectification,
    ),
    ev(
        "item_verified",
        "整改已验收销号",
        Some("closed_on"),
        V::None,
        K::Rectification,
    ),
    ev(
        "review_passed",
        "回头看已通过",
        None,
        V::None,
        K::Rectification,
    ),
    ev(
        "review_failed",
        "回头看发现问题反弹",
        None,
        V::None,
        K::Rectification,
    ),
];
const INTERVIEW_EVENTS: &[EventSpec] = &[
    ev(
        "interview_rescheduled",
        "约谈已改期",
        Some("interview_at"),
        V::Date,
        K::Interview,
    ),
    ev(
        "interview_held",
        "约谈已进行",
        Some("held_on"),
        V::None,
        K::Interview,
    ),
    ev(
        "record_filed",
        "约谈记录已报送",
        None,
        V::None,
        K::Rectification,
    ),
];
const UNIT_EVENTS: &[EventSpec] = &[
    ev("theme_day_held", "主题党日已开展", None, V::None, K::Unit),
    ev(
        "committee_meeting_held",
        "支委会已召开",
        None,
        V::None,
        K::Unit,
    ),
    ev(
        "members_meeting_held",
        "党员大会已召开",
        None,
        V::None,
        K::Unit,
    ),
    ev("party_lecture_held", "党课已讲授", None, V::None, K::Unit),
    ev(
        "annual_review_held",
        "组织生活会已召开",
        None,
        V::None,
        K::Unit,
    ),
    ev("dues_collected", "党费已收缴", None, V::None, K::Unit),
    ev("rebate_applied", "党费返还已申请", None, V::None, K::Unit),
];

/// A template variable: its name, what it holds, and an example used to measure SMS length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Variable {
    pub name: &'static str,
    pub description: &'static str,
    pub example: &'static str,
}

const fn var(name: &'static str, description: &'static str, example: &'static str) -> Variable {
    Variable {
        name,
        description,
        example,
    }
}

/// Variables every template has, whatever the subject.
pub const COMMON_VARIABLES: &[Variable] = &[
    var("org_department", "组织部门名称", "区委组织部"),
    var(
        "due_date",
        "本步骤到期日（如2026年10月9日）",
        "2026年10月9日",
    ),
    var(
        "anchor_date",
        "锚定日期（任期届满日、整改期限、约谈时间或本期日期）",
        "2026年10月9日",
    ),
    var("days_left", "距锚定日期的天数（已过期为负数）", "30"),
    var("days_overdue", "超过锚定日期的天数（未过期为0）", "0"),
    var(
        "time_left",
        "按发送当天计算的剩余时间：还有N天、今天到期或已逾期N天",
        "还有30天",
    ),
    var("year", "锚定日期所在年份（数字，如2026）", "2026"),
    var(
        "month_label",
        "锚定日期所在月份（如2026年3月）",
        "2026年3月",
    ),
    var(
        "quarter_label",
        "锚定日期所在季度（如2026年第一季度）",
        "2026年第一季度",
    ),
    var("times", "本步骤第几次发送（从1开始）", "1"),
    var(
        "link",
        "确认链接（由系统生成）",
        "https://duban.example/c/7Q2M9X",
    ),
    var("workflow_name", "流程名称", "按期换届提醒"),
];

const TERM_VARS: &[Variable] = &[
    var("unit_code", "党组织编码", "DZ0102"),
    var("unit_name", "党组织名称", "某某科技有限公司党支部"),
    var(
        "unit_level",
        "党组织类别（支部、总支、基层委员会）",
        "党支部",
    ),
    var("secretary", "书记姓名", "王海燕"),
    var("superior_unit", "上级党组织名称", "高新区非公企业综合党委"),
    var("superior_secretary", "上级党组织书记姓名", "李建国"),
    var("term_start", "本届任期开始日期", "2023年10月10日"),
    var(
        "term_end",
        "任期届满日期（批准延期后为新日期）",
        "2026年10月9日",
    ),
    var("term_years", "任期年数", "3"),
    var("election_date", "换届选举日期（已选举时）", "2026年9月28日"),
];
const RECTIFICATION_VARS: &[Variable] = &[
    var("item_code", "整改事项编号", "ZG-2026-017"),
    var("title", "整改事项", "党员发展档案不完整"),
    var(
        "kind",
        "整改类别（立行立改、限期整改、长期整治）",
        "限期整改",
    ),
    var("unit_name", "责任单位", "某某科技有限公司党支部"),
    var("owner", "整改责任人", "王海燕"),
    var("secretary", "责任单位书记姓名", "王海燕"),
    var("responsible_leader", "责任领导", "赵立新"),
    var("verifier", "验收人", "孙明"),
    var("superior_unit", "上级党组织名称", "高新区非公企业综合党委"),
    var("superior_secretary", "上级党组织书记姓名", "李建国"),
    var("source", "问题来源", "2026年巡察反馈"),
    var("opened_on", "立项日期", "2026年3月2日"),
    var("deadline", "整改期限（批准延期后为新日期）", "2026年6月1日"),
    var("final_deadline", "告诫后的最终期限", "2026年7月1日"),
    var("closed_on", "销号日期（已销号时）", "2026年5月20日"),
];
const INTERVIEW_VARS: &[Variable] = &[
    var("interview_code", "约谈编号", "YT-2026-004"),
    var("interviewee", "被约谈人姓名", "王海燕"),
    var("interviewee_post", "被约谈人职务", "党支部书记"),
    var("unit_name", "被约谈人所在党组织", "某某科技有限公司党支部"),
    var("secretary", "所在党组织书记姓名", "王海燕"),
    var("superior_unit", "上级党组织名称", "高新区非公企业综合党委"),
    var("superior_secretary", "上级党组织书记姓名", "李建国"),
    var("reason", "约谈事由", "任期届满未按期换届"),
    var(
        "interview_at",
        "约谈时间（如2026年10月9日 14:30）",
        "2026年11月5日 14:30",
    ),
    var("interview_date", "约谈日期", "2026年11月5日"),
    var("interview_time", "约谈时刻（如14:30）", "14:30"),
    var("location", "约谈地点", "区委组织部三楼会议室"),
    var("opened_on", "发起约谈日期", "2026年10月20日"),
    var("held_on", "约谈进行日期（已进行时）", "2026年11月5日"),
];
const MEMBER_VARS: &[Variable] = &[
    var("member_name", "党员姓名", "陈晓"),
    var("unit_name", "所在党组织", "某某科技有限公司党支部"),
    var("secretary", "书记姓名", "王海燕"),
    var("joined_on", "入党日期（成为预备党员之日）", "2016年7月1日"),
    var("birthday", "本次政治生日日期", "2026年7月1日"),
    var("party_years", "党龄（本次政治生日时的周年数）", "10"),
];
const UNIT_VARS: &[Variable] = &[
    var("unit_code", "党组织编码", "DZ0102"),
    var("unit_name", "党组织名称", "某某科技有限公司党支部"),
    var("unit_level", "党组织类别", "党支部"),
    var("secretary", "书记姓名", "王海燕"),
    var("superior_unit", "上级党组织名称", "高新区非公企业综合党委"),
    var("superior_secretary", "上级党组织书记姓名", "李建国"),
    var("theme_day", "每月主题党日（几号）", "15"),
    var("members", "党员人数", "12"),
];

// ----- subjects -----

/// Kinds of rectification item: 立行立改 / 限期整改 / 长期整治.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RectificationKind {
    Immediate,
    TimeBound,
    LongTerm,
}

impl RectificationKind {
    pub const ALL: &'static [RectificationKind] = &[
        RectificationKind::Immediate,
        RectificationKind::TimeBound,
        RectificationKind::LongTerm,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RectificationKind::Immediate => "immediate",
            RectificationKind::TimeBound => "time_bound",
            RectificationKind::LongTerm => "long_term",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            RectificationKind::Immediate => "立行立改",
            RectificationKind::TimeBound => "限期整改",
            RectificationKind::LongTerm => "长期整治",
        }
    }
}

/// A unit's term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermSubject {
    pub unit_code: String,
    pub unit_name: String,
    pub unit_level: UnitLevel,
    #[serde(default)]
    pub secretary: Option<String>,
    #[serde(default)]
    pub superior_unit: Option<String>,
    #[serde(default)]
    pub superior_secretary: Option<String>,
    #[serde(default)]
    pub term_start: Option<NaiveDate>,
    /// When absent, `term_start` plus the level's usual term (3 or 5 years).
    #[serde(default)]
    pub term_end: Option<NaiveDate>,
    #[serde(default)]
    pub election_date: Option<NaiveDate>,
}

/// A rectification item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RectificationSubject {
    pub item_code: String,
    pub title: String,
    #[serde(rename = "rectification_kind")]
    pub kind: RectificationKind,
    pub unit_name: String,
    pub owner: String,
    #[serde(default)]
    pub secretary: Option<String>,
    #[serde(default)]
    pub responsible_leader: Option<String>,
    #[serde(default)]
    pub verifier: Option<String>,
    #[serde(default)]
    pub superior_unit: Option<String>,
    #[serde(default)]
    pub superior_secretary: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    pub opened_on: NaiveDate,
    /// When absent, the workflow's default deadline for the item's kind applies.
    #[serde(default)]
    pub deadline: Option<NaiveDate>,
    #[serde(default)]
    pub closed_on: Option<NaiveDate>,
}

/// A supervisory interview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterviewSubject {
    #[serde(default)]
    pub interview_code: Option<String>,
    pub interviewee: String,
    #[serde(default)]
    pub interviewee_post: Option<String>,
    pub unit_name: String,
    #[serde(default)]
    pub secretary: Option<String>,
    #[serde(default)]
    pub superior_unit: Option<String>,
    #[serde(default)]
    pub superior_secretary: Option<String>,
    pub reason: String,
    /// Local time of the interview, e.g. `2026-11-05T14:30:00`.
    pub interview_at: NaiveDateTime,
    #[serde(default)]
    pub location: Option<String>,
    pub opened_on: NaiveDate,
    #[serde(default)]
    pub held_on: Option<NaiveDate>,
}

/// A party member, for the anniversary of joining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberSubject {
    pub member_name: String,
    pub unit_name: String,
    #[serde(default)]
    pub secretary: Option<String>,
    /// The day the member was admitted as a probationary member (预备党员).
    pub joined_on: NaiveDate,
}

/// A party unit, for its recurring duties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSubject {
    pub unit_code: String,
    pub unit_name: String,
    pub unit_level: UnitLevel,
    #[serde(default)]
    pub secretary: Option<String>,
    #[serde(default)]
    pub superior_unit: Option<String>,
    #[serde(default)]
    pub superior_secretary: Option<String>,
    /// The fixed day of the month of the theme party day (1–31; clamps to month end).
    #[serde(default)]
    pub theme_day: Option<u32>,
    #[serde(default)]
    pub members: Option<u32>,
}

/// What a workflow runs for. JSON: `{"kind": "term", "unit_code": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    Term(TermSubject),
    Rectification(RectificationSubject),
    Interview(InterviewSubject),
    Member(MemberSubject),
    Unit(UnitSubject),
}

/// A problem with a subject's data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    #[error("the subject has no `{field}`, which this workflow is anchored on")]
    MissingField { field: &'static str },
    #[error("the subject's `{field}` is {value}, which is out of range: {help}")]
    OutOfRange {
        field: &'static str,
        value: String,
        help: &'static str,
    },
    #[error(
        "the verifier must not be the item's owner ({owner}): close-out needs someone else to check the work"
    )]
    VerifierIsOwner { owner: String },
    #[error("event `{event}` needs a {what}")]
    EventNeedsValue { event: String, what: &'static str },
    #[error(
        "the extension moves the term end from {from} to {to}, more than one year; an extension beyond one year needs a reason"
    )]
    ExtensionNeedsReason { from: NaiveDate, to: NaiveDate },
}

/// A field's value for anchoring: a date, or a local date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValue {
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

impl FieldValue {
    pub fn date(self) -> NaiveDate {
        match self {
            FieldValue::Date(d) => d,
            FieldValue::DateTime(t) => t.date(),
        }
    }

    pub fn time(self) -> Option<NaiveTime> {
        match self {
            FieldValue::Date(_) => None,
            FieldValue::DateTime(t) => Some(t.time()),
        }
    }
}

/// `2026年10月9日`.
pub fn zh_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

fn level_zh(l: UnitLevel) -> &'static str {
    match l {
        UnitLevel::Branch => "党支部",
        UnitLevel::GeneralBranch => "党总支",
        UnitLevel::Committee => "基层党委",
    }
}

impl Subject {
    pub fn kind(&self) -> SubjectKind {
        match self {
            Subject::Term(_) => SubjectKind::Term,
            Subject::Rectification(_) => SubjectKind::Rectification,
            Subject::Interview(_) => SubjectKind::Interview,
            Subject::Member(_) => SubjectKind::Member,
            Subject::Unit(_) => SubjectKind::Unit,
        }
    }

    /// Checks the subject's own rules (e.g. a verifier other than the owner).
    pub fn validate(&self) -> Result<(), SubjectError> {
        match self {
            Subject::Rectification(r) => {
                if let Some(v) = &r.verifier
                    && v.trim() == r.owner.trim()
                {
                    return Err(SubjectError::VerifierIsOwner {
                        owner: r.owner.clone(),
                    });
                }
                Ok(())
            }
            Subject::Unit(u) => match u.theme_day {
                Some(d) if !(1..=31).contains(&d) => Err(SubjectError::OutOfRange {
                    field: "theme_day",
                    value: d.to_string(),
                    help: "give the day of the month, 1 to 31",
                }),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// A date (or date-time) field by name. Derived values are filled in: a term's end from
    /// its start and level. A rectification item's missing deadline is the planner's job,
    /// because the default depends on the workflow.
    pub fn field(&self, name: &str) -> Option<FieldValue> {
        let d = |x: Option<NaiveDate>| x.map(FieldValue::Date);
        match self {
            Subject::Term(t) => match name {
                "term_end" => d(t
                    .term_end
                    .or_else(|| t.term_start.map(|s| term_end_for(s, t.unit_level)))),
                "term_start" => d(t.term_start),
                "election_date" => d(t.election_date),
                _ => None,
            },
            Subject::Rectification(r) => match name {
                "deadline" => d(r.deadline),
                "opened_on" => d(Some(r.opened_on)),
                "closed_on" => d(r.closed_on),
                _ => None,
            },
            Subject::Interview(i) => match name {
                "interview_at" => Some(FieldValue::DateTime(i.interview_at)),
                "opened_on" => d(Some(i.opened_on)),
                "held_on" => d(i.held_on),
                _ => None,
            },
            Subject::Member(m) => match name {
                "joined_on" => d(Some(m.joined_on)),
                _ => None,
            },
            Subject::Unit(_) => None,
        }
    }

    /// A day-of-month field by name (`theme_day`).
    pub fn day_field(&self, name: &str) -> Option<u32> {
        match (self, name) {
            (Subject::Unit(u), "theme_day") => u.theme_day,
            _ => None,
        }
    }

    /// Sets a date field (used when an event carries a new date or records its own).
    pub fn set_field(&mut self, name: &str, value: FieldValue) {
        let date = value.date();
        match self {
            Subject::Term(t) => match name {
                "term_end" => t.term_end = Some(date),
                "election_date" => t.election_date = Some(date),
                _ => {}
            },
            Subject::Rectification(r) => match name {
                "deadline" => r.deadline = Some(date),
                "closed_on" => r.closed_on = Some(date),
                _ => {}
            },
            Subject::Interview(i) => match name {
                "interview_at" => {
                    i.interview_at = match value {
                        FieldValue::DateTime(t) => t,
                        FieldValue::Date(d) => d.and_time(i.interview_at.time()),
                    }
                }
                "held_on" => i.held_on = Some(date),
                _ => {}
            },
            Subject::Member(_) | Subject::Unit(_) => {}
        }
    }

    /// The subject's template variables, formatted for Chinese text (dates as
    /// `2026年10月9日`). Absent optional fields are left out, so a template printing one
    /// fails to render rather than printing a blank.
    pub fn variables(&self) -> BTreeMap<&'static str, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                m.insert(k, v);
            }
        };
        let date = |d: Option<NaiveDate>| d.map(zh_date);
        match self {
            Subject::Term(t) => {
                put("unit_code", Some(t.unit_code.clone()));
                put("unit_name", Some(t.unit_name.clone()));
                put("unit_level", Some(level_zh(t.unit_level).to_string()));
                put("secretary", t.secretary.clone());
                put("superior_unit", t.superior_unit.clone());
                put("superior_secretary", t.superior_secretary.clone());
                put("term_start", date(t.term_start));
                put(
                    "term_end",
                    self.field("term_end").map(|f| zh_date(f.date())),
                );
                put("term_years", Some(t.unit_level.term_years().to_string()));
                put("election_date", date(t.election_date));
            }
            Subject::Rectification(r) => {
                put("item_code", Some(r.item_code.clone()));
                put("title", Some(r.title.clone()));
                put("kind", Some(r.kind.zh().to_string()));
                put("unit_name", Some(r.unit_name.clone()));
                put("owner", Some(r.owner.clone()));
                put("secretary", r.secretary.clone());
                put("responsible_leader", r.responsible_leader.clone());
                put("verifier", r.verifier.clone());
                put("superior_unit", r.superior_unit.clone());
                put("superior_secretary", r.superior_secretary.clone());
                put("source", r.source.clone());
                put("opened_on", Some(zh_date(r.opened_on)));
                put("deadline", date(r.deadline));
                put("closed_on", date(r.closed_on));
            }
            Subject::Interview(i) => {
                put("interview_code", i.interview_code.clone());
                put("interviewee", Some(i.interviewee.clone()));
                put("interviewee_post", i.interviewee_post.clone());
                put("unit_name", Some(i.unit_name.clone()));
                put("secretary", i.secretary.clone());
                put("superior_unit", i.superior_unit.clone());
                put("superior_secretary", i.superior_secretary.clone());
                put("reason", Some(i.reason.clone()));
                put(
                    "interview_at",
                    Some(format!(
                        "{} {}",
                        zh_date(i.interview_at.date()),
                        i.interview_at.format("%H:%M")
                    )),
                );
                put("interview_date", Some(zh_date(i.interview_at.date())));
                put(
                    "interview_time",
                    Some(i.interview_at.format("%H:%M").to_string()),
                );
                put("location", i.location.clone());
                put("opened_on", Some(zh_date(i.opened_on)));
                put("held_on", date(i.held_on));
            }
            Subject::Member(mb) => {
                put("member_name", Some(mb.member_name.clone()));
                put("unit_name", Some(mb.unit_name.clone()));
                put("secretary", mb.secretary.clone());
                put("joined_on", Some(zh_date(mb.joined_on)));
            }
            Subject::Unit(u) => {
                put("unit_code", Some(u.unit_code.clone()));
                put("unit_name", Some(u.unit_name.clone()));
                put("unit_level", Some(level_zh(u.unit_level).to_string()));
                put("secretary", u.secretary.clone());
                put("superior_unit", u.superior_unit.clone());
                put("superior_secretary", u.superior_secretary.clone());
                put("theme_day", u.theme_day.map(|d| d.to_string()));
                put("members", u.members.map(|d| d.to_string()));
            }
        }
        m
    }

    /// The name of the person behind a role, when the subject records it.
    pub fn person(&self, role: Role) -> Option<String> {
        let v = self.variables();
        let key = match role {
            Role::Secretary => "secretary",
            Role::SuperiorSecretary => "superior_secretary",
            Role::Owner => "owner",
            Role::ResponsibleLeader => "responsible_leader",
            Role::Verifier => "verifier",
            Role::Interviewee => "interviewee",
            Role::Member => "member_name",
            Role::OrgDepartment | Role::Finance => return None,
        };
        v.get(key).cloned()
    }

    /// A realistic sample of each kind, used to measure rendered SMS length in `check`.
    pub fn sample(kind: SubjectKind) -> Subject {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        match kind {
            SubjectKind::Term => Subject::Term(TermSubject {
                unit_code: "DZ0102".into(),
                unit_name: "某某科技有限公司党支部".into(),
                unit_level: UnitLevel::Branch,
                secretary: Some("王海燕".into()),
                superior_unit: Some("高新区非公企业综合党委".into()),
                superior_secretary: Some("李建国".into()),
                term_start: Some(date(2023, 10, 10)),
                term_end: Some(date(2026, 10, 9)),
                election_date: Some(date(2026, 9, 28)),
            }),
            SubjectKind::Rectification => Subject::Rectification(RectificationSubject {
                item_code: "ZG-2026-017".into(),
                title: "党员发展档案不完整".into(),
                kind: RectificationKind::TimeBound,
                unit_name: "某某科技有限公司党支部".into(),
                owner: "王海燕".into(),
                secretary: Some("王海燕".into()),
                responsible_leader: Some("赵立新".into()),
                verifier: Some("孙明".into()),
                superior_unit: Some("高新区非公企业综合党委".into()),
                superior_secretary: Some("李建国".into()),
                source: Some("2026年巡察反馈".into()),
                opened_on: date(2026, 3, 2),
                deadline: Some(date(2026, 6, 1)),
                closed_on: Some(date(2026, 5, 20)),
            }),
            SubjectKind::Interview => Subject::Interview(InterviewSubject {
                interview_code: Some("YT-2026-004".into()),
                interviewee: "王海燕".into(),
                interviewee_post: Some("党支部书记".into()),
                unit_name: "某某科技有限公司党支部".into(),
                secretary: Some("王海燕".into()),
                superior_unit: Some("高新区非公企业综合党委".into()),
                superior_secretary: Some("李建国".into()),
                reason: "任期届满未按期换届".into(),
                interview_at: date(2026, 11, 5).and_hms_opt(14, 30, 0).unwrap_or_default(),
                location: Some("区委组织部三楼会议室".into()),
                opened_on: date(2026, 10, 20),
                held_on: Some(date(2026, 11, 5)),
            }),
            SubjectKind::Member => Subject::Member(MemberSubject {
                member_name: "陈晓".into(),
                unit_name: "某某科技有限公司党支部".into(),
                secretary: Some("王海燕".into()),
                joined_on: date(2016, 7, 1),
            }),
            SubjectKind::Unit => Subject::Unit(UnitSubject {
                unit_code: "DZ0102".into(),
                unit_name: "某某科技有限公司党支部".into(),
                unit_level: UnitLevel::Branch,
                secretary: Some("王海燕".into()),
                superior_unit: Some("高新区非公企业综合党委".into()),
                superior_secretary: Some("李建国".into()),
                theme_day: Some(15),
                members: Some(12),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form_is_tagged_and_strict() {
        let s: Subject = serde_json::from_str(
            r#"{"kind":"term","unit_code":"DZ1","unit_name":"某党支部","unit_level":"branch","term_start":"2023-10-10"}"#,
        )
        .unwrap();
        assert_eq!(s.kind(), SubjectKind::Term);
        assert_eq!(
            s.field("term_end").map(FieldValue::date),
            NaiveDate::from_ymd_opt(2026, 10, 10)
        );
        let err = serde_json::from_str::<Subject>(
            r#"{"kind":"term","unit_code":"DZ1","unit_name":"x","unit_level":"branch","term_ends":"2026-10-09"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("term_ends"), "{err}");
    }

    #[test]
    fn every_kind_offers_its_variables() {
        for kind in SubjectKind::ALL {
            let sample = Subject::sample(*kind);
            let vars = sample.variables();
            for v in kind.variables() {
                // Derived per-occurrence variables are filled in by the renderer.
                if ["final_deadline", "birthday", "party_years"].contains(&v.name) {
                    continue;
                }
                assert!(vars.contains_key(v.name), "{kind}: {}", v.name);
            }
            for k in vars.keys() {
                assert!(
                    kind.variables().iter().any(|v| v.name == *k),
                    "{kind}: undocumented {k}"
                );
            }
            for r in kind.roles() {
                assert!(Role::ALL.contains(r));
            }
            sample.validate().unwrap();
        }
    }

    #[test]
    fn verifier_must_differ_from_owner() {
        let Subject::Rectification(mut r) = Subject::sample(SubjectKind::Rectification) else {
            unreachable!()
        };
        r.verifier = Some(r.owner.clone());
        assert!(matches!(
            Subject::Rectification(r).validate(),
            Err(SubjectError::VerifierIsOwner { .. })
        ));
    }
}
