//! Every message of every shipped workflow as people read it: sent on time, sent four days
//! late (a catch-up after an outage) and held a week (a rate limit): each counts its days from
//! the day it leaves.
//! The texts are reviewed as snapshots, one file per workflow.

use super::*;
use crate::plan::{PlanContext, Window, plan};
use crate::quiet::QuietHours;
use crate::render::{MessageContext, count_days_from, render, variables};
use crate::subject::Subject;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use std::collections::BTreeSet;
use std::fmt::Write;

/// (step, channel, label) → text, for one workflow.
fn rendered(id: &str) -> (String, Vec<(String, String, String)>) {
    let report = shipped();
    let wf = report.set.get(id).expect("shipped workflow");
    let cal = calendar();
    let quiet = QuietHours::default();
    let ctx = PlanContext {
        calendar: &cal,
        quiet: &quiet,
    };
    let subject = Subject::sample(wf.subject);
    let window = Window {
        from: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        until: Some(Utc.with_ymd_and_hms(2027, 12, 31, 0, 0, 0).unwrap()),
    };
    let p = plan(wf, &subject, &[], &ctx, &window).unwrap();
    let mut seen = BTreeSet::new();
    let mut doc = String::new();
    let mut texts = Vec::new();
    for d in &p.steps {
        let Some(set) = d.template.as_ref().and_then(|t| wf.templates.get(t)) else {
            continue;
        };
        // The first send of each step, and the second of a repeating one.
        if d.occurrence.repeat > 1 || !seen.insert((d.step_id.clone(), d.occurrence.repeat)) {
            continue;
        }
        // On time; fired four days late after an outage; held a week by a rate limit (the
        // dispatcher writes a held message again for the day it leaves, as here).
        for (label, late) in [("按时发送", 0), ("迟4天补发", 4), ("限流暂缓7天后发送", 7)]
        {
            let m = MessageContext {
                org_department: "区委组织部".into(),
                due_date: d.local.date(),
                anchor_date: d.occurrence.anchor,
                times: d.occurrence.repeat + 1,
                link: "https://duban.example/a/XXXXXX".into(),
                workflow_name: wf.name.clone(),
                extra: d.vars.clone(),
            };
            let mut vars = variables(&subject, &m);
            let sent_on: NaiveDate = d.local.date() + Duration::days(late);
            count_days_from(&mut vars, d.occurrence.anchor, sent_on);
            let title = render(&d.title, &vars).unwrap();
            for &c in &d.channels {
                let Some(t) = set.for_channel(c) else {
                    continue;
                };
                let text =
                    render(&t.text, &vars).unwrap_or_else(|e| panic!("{id}/{}: {e}", d.step_id));
                writeln!(
                    doc,
                    "## {} · 第{}次 · {} · {label}（{sent_on}）\n{title}\n\n{text}\n",
                    d.step_id,
                    d.occurrence.repeat + 1,
                    c.as_str()
                )
                .unwrap();
                texts.push((
                    d.step_id.clone(),
                    format!("{}:{}", c.as_str(), d.occurrence.repeat + 1),
                    format!("{label}\n{title}\n{text}"),
                ));
            }
        }
    }
    (doc, texts)
}

#[test]
fn every_message_of_every_workflow_reads_right_on_time_and_late() {
    for wf in shipped().set.iter() {
        let (doc, texts) = rendered(&wf.id);
        for (step, _, text) in &texts {
            assert!(
                !text.contains("{{") && !text.contains("{%"),
                "{}/{step}: {text}",
                wf.id
            );
            assert!(
                !looks_wrong(text),
                "{}/{step} shows a negative number or an ISO date: {text}",
                wf.id
            );
        }
        insta::assert_snapshot!(format!("messages_{}", wf.id), doc);
    }
}

#[test]
fn a_late_reminder_counts_the_days_left_from_the_day_it_leaves() {
    let (_, texts) = rendered("term_expiry");
    let one_month: Vec<&String> = texts
        .iter()
        .filter(|(s, c, _)| s == "remind_1mo" && c == "sms:1")
        .map(|(_, _, t)| t)
        .collect();
    assert!(one_month[0].contains("仅剩30天"), "{}", one_month[0]);
    assert!(one_month[1].contains("仅剩26天"), "{}", one_month[1]);
    assert!(one_month[2].contains("仅剩23天"), "{}", one_month[2]);
    let overdue: Vec<&String> = texts
        .iter()
        .filter(|(s, c, _)| s == "overdue_superior" && c == "email:2")
        .map(|(_, _, t)| t)
        .collect();
    assert!(overdue[0].contains("这是第2次通报"), "{}", overdue[0]);
}

/// A negative count ("剩-3天") or an ISO date ("2026-10-09") where people read Chinese.
fn looks_wrong(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(2).any(|w| w[1] == '-' && !w[0].is_ascii())
        || chars.windows(10).any(|w| {
            w.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == '-',
                _ => c.is_ascii_digit(),
            })
        })
        || text.contains(" -")
}
