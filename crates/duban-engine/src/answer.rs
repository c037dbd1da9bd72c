//! The answers people give to chains: one recorder per event a workflow can wait for.
//!
//! [`Answer`] names every answer with what it carries; [`Engine::answer`] records it (domain
//! row, event, re-plan, audit, in one transaction, see [`crate::complete`]). The set of
//! events these recorders produce is [`recordable`]: `workflows check` refuses a condition
//! that waits on any other event, so the language and the recorders cannot drift apart.

use crate::complete::Completion;
use crate::{Engine, EngineError};
use chrono::{NaiveDate, NaiveDateTime};
use duban_workflow::check::Recordable;
use duban_workflow::subject::SubjectKind;
use serde::{Deserialize, Serialize};

/// A recurring duty of a unit that its secretary confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Duty {
    /// 主题党日
    ThemeDay,
    /// 支委会
    CommitteeMeeting,
    /// 党员大会
    MembersMeeting,
    /// 党课
    PartyLecture,
    /// 组织生活会和民主评议党员
    AnnualReview,
    /// 党费收缴
    DuesCollected,
    /// 党费返还申请
    RebateApplied,
}

impl Duty {
    pub const ALL: [Duty; 7] = [
        Duty::ThemeDay,
        Duty::CommitteeMeeting,
        Duty::MembersMeeting,
        Duty::PartyLecture,
        Duty::AnnualReview,
        Duty::DuesCollected,
        Duty::RebateApplied,
    ];

    /// The event the unit's workflows wait for.
    pub fn event(self) -> &'static str {
        match self {
            Duty::ThemeDay => "theme_day_held",
            Duty::CommitteeMeeting => "committee_meeting_held",
            Duty::MembersMeeting => "members_meeting_held",
            Duty::PartyLecture => "party_lecture_held",
            Duty::AnnualReview => "annual_review_held",
            Duty::DuesCollected => "dues_collected",
            Duty::RebateApplied => "rebate_applied",
        }
    }

    /// Reads `theme_day`, `theme_day_held` and the like.
    pub fn parse(s: &str) -> Option<Duty> {
        let s = s.trim();
        Duty::ALL
            .into_iter()
            .find(|d| d.event() == s || d.event().strip_suffix("_held") == Some(s))
    }

    pub fn names() -> String {
        Duty::ALL
            .iter()
            .map(|d| d.event().strip_suffix("_held").unwrap_or(d.event()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Every answer duban records, with what it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Answer {
    /// 换届请示已报送: the request to hold the election reached the superior.
    RequestSubmitted {
        unit: String,
        on: NaiveDate,
        note: Option<String>,
    },
    /// 换届选举已完成.
    ElectionHeld { unit: String, on: NaiveDate },
    /// 延期换届已批准: the term end moves.
    ExtensionApproved {
        unit: String,
        to: NaiveDate,
        approved_on: NaiveDate,
        reason: Option<String>,
    },
    /// 选举结果已报告 (after the last election).
    ResultReported {
        unit: String,
        on: NaiveDate,
        note: Option<String>,
    },
    /// 整改进展已报送.
    ProgressReported {
        item: i64,
        on: NaiveDate,
        note: String,
    },
    /// 整改期限已延长 (approved).
    DeadlineExtended {
        item: i64,
        to: NaiveDate,
        approved_on: NaiveDate,
        reason: Option<String>,
    },
    /// 整改已验收销号, by a verifier who is not the owner.
    ItemVerified {
        item: i64,
        verifier: String,
        on: NaiveDate,
    },
    /// 回头看: passed, or the problem came back (a new item is opened).
    ReviewDone {
        item: i64,
        on: NaiveDate,
        passed: bool,
        note: Option<String>,
    },
    /// 约谈已改期: a new time, and place if it changes.
    InterviewRescheduled {
        interview: i64,
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-12-10T09:00:00"))]
        at: NaiveDateTime,
        location: Option<String>,
    },
    /// 约谈已进行.
    InterviewHeld { interview: i64, on: NaiveDate },
    /// 约谈记录已报送: each problem becomes a rectification item with its chain.
    RecordFiled {
        interview: i64,
        on: NaiveDate,
        record: String,
        problems: Vec<String>,
    },
    /// A recurring duty done (主题党日, 支委会, 党费收缴 …).
    DutyDone {
        unit: String,
        duty: Duty,
        on: NaiveDate,
        note: Option<String>,
    },
}

impl Answer {
    /// The events this answer records (the first is the answer's own).
    pub fn events(&self) -> Vec<(SubjectKind, &'static str)> {
        use SubjectKind as K;
        match self {
            Answer::RequestSubmitted { .. } => vec![(K::Term, "request_submitted")],
            Answer::ElectionHeld { .. } => vec![(K::Term, "election_recorded")],
            Answer::ExtensionApproved { .. } => vec![(K::Term, "extension_approved")],
            Answer::ResultReported { .. } => vec![(K::Term, "result_reported")],
            Answer::ProgressReported { .. } => vec![(K::Rectification, "progress_reported")],
            Answer::DeadlineExtended { .. } => vec![(K::Rectification, "deadline_extended")],
            Answer::ItemVerified { .. } => vec![(K::Rectification, "item_verified")],
            Answer::ReviewDone { passed: true, .. } => vec![(K::Rectification, "review_passed")],
            Answer::ReviewDone { passed: false, .. } => vec![(K::Rectification, "review_failed")],
            Answer::InterviewRescheduled { .. } => vec![(K::Interview, "interview_rescheduled")],
            Answer::InterviewHeld { .. } => vec![(K::Interview, "interview_held")],
            Answer::RecordFiled { .. } => vec![
                (K::Interview, "record_filed"),
                (K::Interview, "interview_held"),
            ],
            Answer::DutyDone { duty, .. } => vec![(K::Unit, duty.event())],
        }
    }

    /// One answer of every shape, for the tests that hold [`recordable`] to the recorders.
    pub fn examples() -> Vec<Answer> {
        let d = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default();
        let mut all = vec![
            Answer::RequestSubmitted {
                unit: "U".into(),
                on: d,
                note: None,
            },
            Answer::ElectionHeld {
                unit: "U".into(),
                on: d,
            },
            Answer::ExtensionApproved {
                unit: "U".into(),
                to: d,
                approved_on: d,
                reason: None,
            },
            Answer::ResultReported {
                unit: "U".into(),
                on: d,
                note: None,
            },
            Answer::ProgressReported {
                item: 1,
                on: d,
                note: String::new(),
            },
            Answer::DeadlineExtended {
                item: 1,
                to: d,
                approved_on: d,
                reason: None,
            },
            Answer::ItemVerified {
                item: 1,
                verifier: String::new(),
                on: d,
            },
            Answer::ReviewDone {
                item: 1,
                on: d,
                passed: true,
                note: None,
            },
            Answer::ReviewDone {
                item: 1,
                on: d,
                passed: false,
                note: None,
            },
            Answer::InterviewRescheduled {
                interview: 1,
                at: d.and_hms_opt(9, 0, 0).unwrap_or_default(),
                location: None,
            },
            Answer::InterviewHeld {
                interview: 1,
                on: d,
            },
            Answer::RecordFiled {
                interview: 1,
                on: d,
                record: String::new(),
                problems: vec![],
            },
        ];
        all.extend(Duty::ALL.into_iter().map(|duty| Answer::DutyDone {
            unit: "U".into(),
            duty,
            on: d,
            note: None,
        }));
        all
    }
}

/// Every event some recorder produces.
pub fn recordable() -> Recordable {
    Recordable::new(Answer::examples().iter().flat_map(|a| a.events()))
}

impl Engine {
    /// Records an answer: the one entry point the CLI, the API, the pages and the signed
    /// links share.
    pub async fn answer(&self, answer: Answer, actor: &str) -> Result<Completion, EngineError> {
        match answer {
            Answer::RequestSubmitted { unit, on, note } => {
                self.record_term_report(&unit, "request_submitted", on, note, actor)
                    .await
            }
            Answer::ElectionHeld { unit, on } => self.record_election(&unit, on, actor).await,
            Answer::ExtensionApproved {
                unit,
                to,
                approved_on,
                reason,
            } => {
                self.approve_extension(&unit, to, approved_on, reason, actor)
                    .await
            }
            Answer::ResultReported { unit, on, note } => {
                self.record_term_report(&unit, "result_reported", on, note, actor)
                    .await
            }
            Answer::ProgressReported { item, on, note } => {
                self.report_progress(item, on, &note, actor).await
            }
            Answer::DeadlineExtended {
                item,
                to,
                approved_on,
                reason,
            } => {
                self.extend_deadline(item, to, approved_on, reason, actor)
                    .await
            }
            Answer::ItemVerified { item, verifier, on } => {
                self.close_item(item, &verifier, on, actor).await
            }
            Answer::ReviewDone {
                item,
                on,
                passed,
                note,
            } => self.record_review(item, on, passed, note, actor).await,
            Answer::InterviewRescheduled {
                interview,
                at,
                location,
            } => {
                self.reschedule_interview(interview, at, location, actor)
                    .await
            }
            Answer::InterviewHeld { interview, on } => {
                self.record_interview_held(interview, on, actor).await
            }
            Answer::RecordFiled {
                interview,
                on,
                record,
                problems,
            } => {
                self.file_interview_record(interview, on, &record, &problems, actor)
                    .await
            }
            Answer::DutyDone {
                unit,
                duty,
                on,
                note,
            } => self.record_duty(&unit, duty, on, note, actor).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_of_the_language_has_a_recorder() {
        let rec = recordable();
        for &kind in SubjectKind::ALL.iter() {
            for e in kind.events() {
                assert!(
                    rec.contains(kind, e.name),
                    "no recorder produces `{}` for a `{kind}`",
                    e.name
                );
            }
        }
    }

    #[test]
    fn recorders_produce_only_events_the_language_knows() {
        for a in Answer::examples() {
            for (kind, event) in a.events() {
                assert!(kind.event(event).is_some(), "{event} is not a {kind} event");
            }
        }
    }

    #[test]
    fn duties_read_with_or_without_the_suffix() {
        assert_eq!(Duty::parse("theme_day"), Some(Duty::ThemeDay));
        assert_eq!(Duty::parse("theme_day_held"), Some(Duty::ThemeDay));
        assert_eq!(Duty::parse("dues_collected"), Some(Duty::DuesCollected));
        assert_eq!(Duty::parse("picnic"), None);
    }

    #[test]
    fn answers_read_from_json() {
        let a: Answer = serde_json::from_str(
            r#"{"answer":"duty_done","unit":"370102-0001","duty":"theme_day","on":"2026-11-20","note":null}"#,
        )
        .unwrap();
        assert_eq!(a.events(), vec![(SubjectKind::Unit, "theme_day_held")]);
    }
}
