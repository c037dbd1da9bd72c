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
                .unwrap_or_else(|err| panic!("{err}\n{text}"));
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
        &[ev.clone()],
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
