use super::*;
use crate::diag::render_text;

#[test]
fn shipped_workflows_pass_check() {
    let report = shipped();
    assert!(
        report.diagnostics.is_empty(),
        "{}",
        render_text(&report.diagnostics)
    );
    let ids: Vec<&str> = report.set.workflows.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "annual_review",
            "committee_meeting",
            "dues_rebate",
            "dues_reminder",
            "interview",
            "members_meeting",
            "party_lecture",
            "political_birthday",
            "post_election_report",
            "rectification",
            "rectification_review",
            "term_expiry",
            "theme_day",
        ]
    );
}

use crate::plan::{Event, PlanContext};
use crate::quiet::QuietHours;
use crate::simulate::{EntryKind, SimOptions, Timeline, render_timeline, simulate};
use crate::subject::{Subject, TermSubject};
use chrono::{NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use duban_core::register::{Channel, UnitLevel};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn branch(term_end: &str) -> Subject {
    Subject::Term(TermSubject {
        unit_code: "DZ0102".into(),
        unit_name: "星河科技有限公司党支部".into(),
        unit_level: UnitLevel::Branch,
        secretary: Some("王海燕".into()),
        superior_unit: Some("高新区非公企业综合党委".into()),
        superior_secretary: Some("李建国".into()),
        term_start: Some(d("2023-10-10")),
        term_end: Some(d(term_end)),
        election_date: None,
    })
}

fn sim(subject: &Subject, from: &str, to: &str, events: Vec<Event>) -> Timeline {
    let report = shipped();
    let cal = calendar();
    let quiet = QuietHours::default();
    let ctx = PlanContext {
        calendar: &cal,
        quiet: &quiet,
    };
    let opts = SimOptions {
        from: d(from),
        to: d(to),
        events,
        org_department: "高新区党工委组织部".into(),
        link: "https://duban.example/c/XXXXXX".into(),
        sms_signature: "【组织部】".into(),
    };
    simulate(&report.set, "term_expiry", subject, &opts, &ctx).unwrap()
}

#[test]
fn term_expiry_for_a_branch_ending_2026_10_09() {
    let t = sim(&branch("2026-10-09"), "2026-01-01", "2027-03-31", vec![]);
    let text = render_timeline(&t);
    let cal = calendar();
    let quiet = QuietHours::default();
    let steps: Vec<_> = t
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Step)
        .collect();
    let ids: Vec<&str> = steps
        .iter()
        .map(|e| e.step_id.as_deref().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "superior_notice",
            "remind_6mo",
            "remind_3mo",
            "request_due",
            "request_missing",
            "remind_1mo",
            "mark_overdue",
            "overdue_superior",
            "overdue_superior",
            "overdue_superior",
            "overdue_superior",
            "overdue_org_department",
            "open_interview",
        ],
        "{text}"
    );
    // In time order.
    assert!(t.entries.windows(2).all(|w| w[0].at <= w[1].at), "{text}");
    // Every message on a working day, inside 08:00–21:00.
    for e in steps.iter().filter(|e| !e.channels.is_empty()) {
        assert!(
            cal.is_workday(e.local.date()),
            "{} on {}\n{text}",
            e.title,
            e.local
        );
        let t = e.local.time();
        assert!(
            t >= NaiveTime::from_hms_opt(8, 0, 0).unwrap()
                && t < NaiveTime::from_hms_opt(21, 0, 0).unwrap()
        );
        for c in &e.channels {
            assert!(quiet.allows(*c, e.local, &cal));
        }
        // Rendered Chinese text for every channel.
        assert_eq!(e.messages.len(), e.channels.len(), "{text}");
        for m in &e.messages {
            let body = m
                .text
                .as_ref()
                .unwrap_or_else(|| panic!("{:?}\n{text}", m.error));
            assert!(
                body.contains("星河科技有限公司党支部") || body.contains("李建国"),
                "{body}"
            );
            assert!(!body.contains("{{"), "{body}");
        }
    }
    let at = |id: &str| {
        steps
            .iter()
            .find(|e| e.step_id.as_deref() == Some(id))
            .unwrap()
            .local
    };
    // −6 months: Thursday 9 April; −2 months falls on Sunday 9 August and moves to Monday 08:00.
    assert_eq!(
        at("remind_6mo"),
        d("2026-04-09").and_hms_opt(9, 0, 0).unwrap()
    );
    assert_eq!(
        at("request_due"),
        d("2026-08-10").and_hms_opt(8, 0, 0).unwrap()
    );
    // The first escalation is the next working day after the end: Saturday 10 October is a
    // working day (国庆 调休).
    assert_eq!(
        at("overdue_superior"),
        d("2026-10-10").and_hms_opt(9, 0, 0).unwrap()
    );
    // Escalations come after the end date and go to the superior, then the department.
    let end = Utc.with_ymd_and_hms(2026, 10, 9, 16, 0, 0).unwrap();
    let escalations: Vec<&str> = steps
        .iter()
        .filter(|e| e.escalation && e.at > end)
        .map(|e| e.step_id.as_deref().unwrap())
        .collect();
    assert_eq!(
        escalations,
        [
            "overdue_superior",
            "overdue_superior",
            "overdue_superior",
            "overdue_superior",
            "overdue_org_department",
            "open_interview"
        ]
    );
    let sms = steps
        .iter()
        .find(|e| e.step_id.as_deref() == Some("remind_1mo"))
        .unwrap();
    let sms = sms
        .messages
        .iter()
        .find(|m| m.channel == Channel::Sms)
        .unwrap();
    assert_eq!(
        sms.text.as_deref().unwrap(),
        "【组织部】紧急：星河科技有限公司党支部任期2026年10月9日届满，仅剩30天，请按期完成换届选举。"
    );
    assert!(sms.sms_length.unwrap().1 == 1);
    assert!(text.contains("2026-10-10 周六 09:00  ▲ 升级"), "{text}");
    assert!(
        t.warnings.iter().any(|w| w.contains("2027")),
        "the 2027 fallback is announced"
    );
    insta::assert_snapshot!("term_expiry_2026_10_09", text);
}

#[test]
fn an_election_stops_the_chain_and_starts_the_report() {
    let at = Utc.with_ymd_and_hms(2026, 9, 20, 2, 0, 0).unwrap();
    let events = vec![Event {
        name: "election_recorded".into(),
        at,
        value: None,
        reason: None,
    }];
    let t = sim(&branch("2026-10-09"), "2026-01-01", "2027-03-31", events);
    let text = render_timeline(&t);
    assert!(
        t.entries
            .iter()
            .filter(|e| e.kind == EntryKind::Step && e.workflow_id == "term_expiry")
            .all(|e| e.at < at),
        "{text}"
    );
    let report: Vec<_> = t
        .entries
        .iter()
        .filter(|e| e.workflow_id == "post_election_report" && e.kind == EntryKind::Step)
        .collect();
    assert_eq!(report.len(), 2, "{text}");
    // Election on 20 September: the reminder on day 21 (11 October, a Sunday → Monday 12th 08:00).
    assert_eq!(report[0].local.date(), d("2026-10-12"), "{text}");
    assert!(
        report[0].messages[0]
            .text
            .as_ref()
            .unwrap()
            .contains("2026年9月20日"),
        "{text}"
    );
}

#[test]
fn an_extension_replans_against_the_new_date() {
    let at = Utc.with_ymd_and_hms(2026, 9, 1, 2, 0, 0).unwrap();
    let new_end = d("2027-04-09").and_hms_opt(0, 0, 0).unwrap();
    let events = vec![Event {
        name: "extension_approved".into(),
        at,
        value: Some(new_end),
        reason: None,
    }];
    let t = sim(&branch("2026-10-09"), "2026-01-01", "2027-12-31", events);
    let text = render_timeline(&t);
    let steps: Vec<_> = t
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Step)
        .collect();
    // Before the extension: the old reminders; after it: the chain against 9 April 2027.
    assert!(
        steps.iter().any(
            |e| e.step_id.as_deref() == Some("remind_6mo") && e.local.date() == d("2026-04-09")
        )
    );
    let later_1mo = steps
        .iter()
        .find(|e| e.step_id.as_deref() == Some("remind_1mo") && e.at > at)
        .expect(&text);
    assert_eq!(later_1mo.local.date(), d("2027-03-09"), "{text}");
    assert!(
        later_1mo.messages[0]
            .text
            .as_ref()
            .unwrap()
            .contains("2027年4月9日"),
        "{text}"
    );
    assert!(
        !steps
            .iter()
            .any(|e| e.step_id.as_deref() == Some("overdue_superior")
                && e.local.date() < d("2027-04-09")),
        "{text}"
    );
    // More than a year needs a reason.
    let far = d("2027-12-31").and_hms_opt(0, 0, 0).unwrap();
    let report = shipped();
    let cal = calendar();
    let quiet = QuietHours::default();
    let ctx = PlanContext {
        calendar: &cal,
        quiet: &quiet,
    };
    let wf = report.set.get("term_expiry").unwrap();
    let ev = Event {
        name: "extension_approved".into(),
        at,
        value: Some(far),
        reason: None,
    };
    let err = crate::plan::plan(
        wf,
        &branch("2026-10-09"),
        std::slice::from_ref(&ev),
        &ctx,
        &crate::plan::Window::all(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("needs a reason"), "{err}");
    let ev = Event {
        reason: Some("企业重组，党员组织关系集中转接".into()),
        ..ev
    };
    assert!(
        crate::plan::plan(
            wf,
            &branch("2026-10-09"),
            &[ev],
            &ctx,
            &crate::plan::Window::all()
        )
        .is_ok()
    );
    let _ = Timelike::hour(&at);
}

fn sim_wf(id: &str, subject: &Subject, from: &str, to: &str, events: Vec<Event>) -> Timeline {
    let report = shipped();
    let cal = calendar();
    let quiet = QuietHours::default();
    let ctx = PlanContext {
        calendar: &cal,
        quiet: &quiet,
    };
    let opts = SimOptions {
        from: d(from),
        to: d(to),
        events,
        org_department: "区委组织部".into(),
        link: "https://duban.example/c/XXXXXX".into(),
        sms_signature: "【组织部】".into(),
    };
    simulate(&report.set, id, subject, &opts, &ctx).unwrap()
}

fn step_dates(t: &Timeline, wf: &str, step: &str) -> Vec<NaiveDate> {
    t.entries
        .iter()
        .filter(|e| {
            e.kind == EntryKind::Step && e.workflow_id == wf && e.step_id.as_deref() == Some(step)
        })
        .map(|e| e.local.date())
        .collect()
}

fn all_rendered(t: &Timeline) {
    let text = render_timeline(t);
    for e in t.entries.iter().filter(|e| e.kind == EntryKind::Step) {
        for m in &e.messages {
            assert!(m.text.is_some(), "{}: {:?}\n{text}", e.title, m.error);
        }
        assert!(!e.title.contains("无法生成"), "{text}");
    }
}

fn item(kind: crate::subject::RectificationKind, deadline: Option<&str>) -> Subject {
    Subject::Rectification(crate::subject::RectificationSubject {
        item_code: "ZG-2026-017".into(),
        title: "党员发展档案不完整".into(),
        kind,
        unit_name: "星河科技有限公司党支部".into(),
        owner: "王海燕".into(),
        secretary: Some("王海燕".into()),
        responsible_leader: Some("赵立新".into()),
        verifier: Some("孙明".into()),
        superior_unit: Some("高新区非公企业综合党委".into()),
        superior_secretary: Some("李建国".into()),
        source: Some("2026年巡察反馈".into()),
        opened_on: d("2026-03-02"),
        deadline: deadline.map(d),
        closed_on: None,
    })
}

#[test]
fn rectification_runs_to_warning_and_interview() {
    use crate::subject::RectificationKind::TimeBound;
    // No deadline recorded: a time-bound item gets three months, 2 June 2026.
    let t = sim_wf(
        "rectification",
        &item(TimeBound, None),
        "2026-03-01",
        "2026-12-31",
        vec![],
    );
    all_rendered(&t);
    let text = render_timeline(&t);
    assert_eq!(
        step_dates(&t, "rectification", "assigned"),
        [d("2026-03-02")],
        "{text}"
    );
    assert_eq!(
        step_dates(&t, "rectification", "reminder_14d"),
        [d("2026-05-19")],
        "{text}"
    );
    assert_eq!(
        step_dates(&t, "rectification", "reminder_3d"),
        [d("2026-05-30").succ_opt().unwrap().succ_opt().unwrap()],
        "{text}"
    );
    assert_eq!(
        step_dates(&t, "rectification", "warning"),
        [d("2026-06-03")],
        "{text}"
    );
    // Final deadline 2 July; the interview opens the next working day and ends the chain.
    assert_eq!(
        step_dates(&t, "rectification", "open_interview"),
        [d("2026-07-03")],
        "{text}"
    );
    let progress = step_dates(&t, "rectification", "progress_report");
    assert_eq!(progress.first(), Some(&d("2026-04-02")), "{text}");
    assert!(
        progress.iter().all(|p| *p < d("2026-07-03")),
        "nothing after the chain ends\n{text}"
    );
    let warning = t
        .entries
        .iter()
        .find(|e| e.step_id.as_deref() == Some("warning"))
        .unwrap();
    assert!(
        warning
            .messages
            .iter()
            .any(|m| m.text.as_ref().unwrap().contains("2026年7月2日")),
        "{text}"
    );
}

#[test]
fn close_out_starts_the_follow_up_review() {
    use crate::subject::RectificationKind::Immediate;
    let at = Utc.with_ymd_and_hms(2026, 3, 20, 6, 0, 0).unwrap();
    let events = vec![Event {
        name: "item_verified".into(),
        at,
        value: None,
        reason: None,
    }];
    let t = sim_wf(
        "rectification",
        &item(Immediate, None),
        "2026-03-01",
        "2026-12-31",
        events.clone(),
    );
    all_rendered(&t);
    let text = render_timeline(&t);
    assert!(
        step_dates(&t, "rectification", "warning").is_empty(),
        "{text}"
    );
    // Closed on 20 March: the review is due 90 days later, 18 June 2026.
    assert_eq!(
        step_dates(&t, "rectification_review", "review_due"),
        [d("2026-06-18")],
        "{text}"
    );
    // A verifier who is the owner cannot close the item.
    let Subject::Rectification(mut r) = item(Immediate, None) else {
        unreachable!()
    };
    r.verifier = Some(r.owner.clone());
    let report = shipped();
    let cal = calendar();
    let quiet = QuietHours::default();
    let ctx = PlanContext {
        calendar: &cal,
        quiet: &quiet,
    };
    let err = crate::plan::plan(
        report.set.get("rectification").unwrap(),
        &Subject::Rectification(r),
        &events,
        &ctx,
        &crate::plan::Window::all(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("verifier"), "{err}");
}

#[test]
fn interview_reminds_the_working_day_before_and_asks_for_the_record() {
    let subject = Subject::Interview(crate::subject::InterviewSubject {
        interview_code: Some("YT-2026-004".into()),
        interviewee: "王海燕".into(),
        interviewee_post: Some("党支部书记".into()),
        unit_name: "星河科技有限公司党支部".into(),
        secretary: Some("王海燕".into()),
        superior_unit: Some("高新区非公企业综合党委".into()),
        superior_secretary: Some("李建国".into()),
        reason: "任期届满未按期换届".into(),
        // Monday 19 October 2026, 14:30.
        interview_at: d("2026-10-19").and_hms_opt(14, 30, 0).unwrap(),
        location: Some("区委组织部三楼会议室".into()),
        opened_on: d("2026-09-29"),
        held_on: None,
    });
    let t = sim_wf("interview", &subject, "2026-09-01", "2026-12-31", vec![]);
    all_rendered(&t);
    let text = render_timeline(&t);
    assert_eq!(
        step_dates(&t, "interview", "notice"),
        [d("2026-09-29")],
        "{text}"
    );
    // The working day before Monday 19 October is Friday 16 October.
    assert_eq!(
        step_dates(&t, "interview", "reminder"),
        [d("2026-10-16")],
        "{text}"
    );
    assert_eq!(
        step_dates(&t, "interview", "record_due"),
        [d("2026-10-22")],
        "{text}"
    );
    assert!(text.contains("2026年10月19日 14:30"), "{text}");
    // The record ends the chain and turns the problems into rectification items.
    let at = Utc.with_ymd_and_hms(2026, 10, 20, 2, 0, 0).unwrap();
    let events = vec![Event {
        name: "record_filed".into(),
        at,
        value: None,
        reason: None,
    }];
    let t = sim_wf("interview", &subject, "2026-09-01", "2026-12-31", events);
    assert!(step_dates(&t, "interview", "record_due").is_empty());
    assert!(
        t.entries
            .iter()
            .any(|e| e.kind == EntryKind::Start && e.title.contains("rectification"))
    );
}

fn unit_subject(theme_day: u32) -> Subject {
    Subject::Unit(UnitSubject {
        unit_code: "DZ0102".into(),
        unit_name: "星河科技有限公司党支部".into(),
        unit_level: UnitLevel::Branch,
        secretary: Some("王海燕".into()),
        superior_unit: Some("高新区非公企业综合党委".into()),
        superior_secretary: Some("李建国".into()),
        theme_day: Some(theme_day),
        members: Some(12),
    })
}

use crate::subject::UnitSubject;

#[test]
fn recurring_duties() {
    let unit = unit_subject(31);
    // Theme day on the 31st falls on the last day of shorter months.
    let t = sim_wf("theme_day", &unit, "2026-01-01", "2026-12-31", vec![]);
    all_rendered(&t);
    let notices = step_dates(&t, "theme_day", "notice");
    assert_eq!(notices.len(), 12, "{}", render_timeline(&t));
    // February's theme day is the 28th (a Saturday worked for the Spring Festival): three
    // working days before is Wednesday 25 February.
    assert_eq!(notices[1], d("2026-02-25"));
    // A record in March suppresses March's reminder only.
    let at = Utc.with_ymd_and_hms(2026, 4, 1, 2, 0, 0).unwrap();
    let held = vec![Event {
        name: "theme_day_held".into(),
        at,
        value: None,
        reason: None,
    }];
    let t2 = sim_wf("theme_day", &unit, "2026-01-01", "2026-12-31", held);
    assert_eq!(step_dates(&t2, "theme_day", "record_missing").len(), 11);

    let t = sim_wf(
        "committee_meeting",
        &unit,
        "2026-01-01",
        "2026-12-31",
        vec![],
    );
    all_rendered(&t);
    assert_eq!(step_dates(&t, "committee_meeting", "reminder").len(), 12);
    let t = sim_wf("members_meeting", &unit, "2026-01-01", "2026-12-31", vec![]);
    all_rendered(&t);
    let q = step_dates(&t, "members_meeting", "reminder");
    // Ten working days before each quarter ends; in Q3 the Mid-Autumn days off push it back to
    // 17 September (Sunday 20 September is worked).
    assert_eq!(
        q,
        [
            d("2026-03-18"),
            d("2026-06-16"),
            d("2026-09-17"),
            d("2026-12-18")
        ]
    );
    let t = sim_wf("party_lecture", &unit, "2026-01-01", "2026-12-31", vec![]);
    all_rendered(&t);
    assert_eq!(step_dates(&t, "party_lecture", "reminder").len(), 4);
    let t = sim_wf("annual_review", &unit, "2026-01-01", "2027-02-28", vec![]);
    all_rendered(&t);
    assert_eq!(step_dates(&t, "annual_review", "notice"), [d("2026-10-15")]);
    // The 2025 review's records were due on 15 January 2026; the 2026 review's a year later.
    assert_eq!(
        step_dates(&t, "annual_review", "missing"),
        [d("2026-01-15"), d("2027-01-15")]
    );
    let t = sim_wf("dues_reminder", &unit, "2026-01-01", "2026-12-31", vec![]);
    all_rendered(&t);
    assert_eq!(step_dates(&t, "dues_reminder", "reminder").len(), 12);
    let t = sim_wf("dues_rebate", &unit, "2026-01-01", "2026-12-31", vec![]);
    all_rendered(&t);
    let text = render_timeline(&t);
    assert_eq!(
        step_dates(&t, "dues_rebate", "notice"),
        [d("2026-01-12")],
        "10 January 2026 is a Saturday\n{text}"
    );
    assert!(text.contains("2025年度已上缴的党费"), "{text}");
}

#[test]
fn political_birthday_a_week_ahead() {
    let member = Subject::Member(crate::subject::MemberSubject {
        member_name: "陈晓".into(),
        unit_name: "星河科技有限公司党支部".into(),
        secretary: Some("王海燕".into()),
        joined_on: d("2016-02-29"),
    });
    let t = sim_wf(
        "political_birthday",
        &member,
        "2026-01-01",
        "2026-12-31",
        vec![],
    );
    all_rendered(&t);
    let text = render_timeline(&t);
    // 29 February clamps to 28 February 2026; a week before is Saturday 21 February, in the
    // Spring Festival holiday, so the notice waits for Tuesday 24 February 08:00.
    assert_eq!(
        step_dates(&t, "political_birthday", "notice_secretary"),
        [d("2026-02-24")],
        "{text}"
    );
    assert!(text.contains("入党10周年"), "{text}");
}
