//! Planner properties over generated workflows and subjects, on the shipped calendar with the
//! default quiet hours.

use super::*;
use crate::model::{Action, Anchor, Repeat, Step, Workflow};
use crate::offset::{Offset, Term, Unit};
use crate::plan::{DueStep, PlanContext, Window, plan};
use crate::quiet::QuietHours;
use crate::subject::{Role, Subject, SubjectKind, TermSubject, UnitSubject};
use chrono::{Duration, NaiveDate, NaiveTime};
use duban_core::register::{Channel, UnitLevel};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn cal() -> &'static Calendar {
    static CAL: OnceLock<Calendar> = OnceLock::new();
    CAL.get_or_init(calendar)
}

fn unit() -> impl Strategy<Value = Unit> {
    prop_oneof![
        Just(Unit::Days),
        Just(Unit::Weeks),
        Just(Unit::Months),
        Just(Unit::WorkingDays)
    ]
}

fn term() -> impl Strategy<Value = Term> {
    (unit(), -40i32..=40).prop_map(|(unit, amount)| Term { amount, unit })
}

fn offset() -> impl Strategy<Value = Offset> {
    prop::collection::vec(term(), 0..=2).prop_map(|terms| Offset { terms })
}

fn channels() -> impl Strategy<Value = Vec<Channel>> {
    prop_oneof![
        Just(vec![]),
        Just(vec![Channel::Sms]),
        Just(vec![Channel::Email]),
        Just(vec![Channel::Sms, Channel::Email]),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (
        offset(),
        prop::option::of((0u32..24, 0u32..60)),
        channels(),
        prop::option::of((
            1i32..=20,
            prop_oneof![
                Just(Unit::Days),
                Just(Unit::WorkingDays),
                Just(Unit::Months)
            ],
            1u32..=4,
        )),
    )
        .prop_map(|(offset, time, channels, repeat)| Step {
            id: String::new(),
            title: "t".into(),
            offset,
            from: None,
            time: time.and_then(|(h, m)| NaiveTime::from_hms_opt(h, m, 0)),
            when: None,
            action: if channels.is_empty() {
                Action::SetStatus { status: "x".into() }
            } else {
                Action::Notify
            },
            to: if channels.is_empty() {
                vec![]
            } else {
                vec![Role::Secretary]
            },
            channels,
            template: None,
            urgent: false,
            ends_chain: false,
            repeat: repeat.map(|(n, unit, max)| Repeat {
                every: Offset {
                    terms: vec![Term { amount: n, unit }],
                },
                max: Some(max),
                until: None,
                end: None,
            }),
        })
}

fn workflow(anchor: Anchor, kind: SubjectKind) -> impl Strategy<Value = Workflow> {
    prop::collection::vec(step(), 1..=6).prop_map(move |mut steps| {
        for (i, s) in steps.iter_mut().enumerate() {
            s.id = format!("s{i}");
        }
        Workflow {
            id: "generated".into(),
            name: "generated".into(),
            version: 1,
            subject: kind,
            description: None,
            timezone: chrono_tz::Asia::Shanghai,
            time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            anchor: anchor.clone(),
            misfire: Default::default(),
            deadlines: None,
            steps,
            reactions: vec![],
            templates: BTreeMap::new(),
            content_hash: "0".into(),
            path: "generated.toml".into(),
        }
    })
}

fn term_subject(end: NaiveDate) -> Subject {
    Subject::Term(TermSubject {
        unit_code: "U1".into(),
        unit_name: "某党支部".into(),
        unit_level: UnitLevel::Branch,
        secretary: None,
        superior_unit: None,
        superior_secretary: None,
        term_start: None,
        term_end: Some(end),
        election_date: None,
    })
}

fn date() -> impl Strategy<Value = NaiveDate> {
    // 2020-06-01 .. about 2027-06: across every calendar file and past the last one.
    (0i64..2555).prop_map(|n| NaiveDate::from_ymd_opt(2020, 6, 1).unwrap() + Duration::days(n))
}

fn anchored() -> impl Strategy<Value = Workflow> {
    workflow(
        Anchor::Date {
            field: "term_end".into(),
        },
        SubjectKind::Term,
    )
}

fn plan_term(wf: &Workflow, end: NaiveDate) -> Vec<DueStep> {
    let quiet = QuietHours::default();
    let ctx = PlanContext {
        calendar: cal(),
        quiet: &quiet,
    };
    plan(wf, &term_subject(end), &[], &ctx, &Window::all())
        .unwrap()
        .steps
}

fn assert_allowed(steps: &[DueStep]) -> Result<(), TestCaseError> {
    let quiet = QuietHours::default();
    for s in steps {
        for c in &s.channels {
            prop_assert!(
                quiet.allows(*c, s.local, cal()),
                "{} at {} is in quiet hours for {c}",
                s.step_id,
                s.local
            );
        }
        prop_assert!(
            s.local >= s.nominal,
            "quiet hours never move a step earlier"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn due_times_are_never_in_quiet_hours(wf in anchored(), end in date()) {
        assert_allowed(&plan_term(&wf, end))?;
    }

    #[test]
    fn working_day_offsets_land_on_working_days(wf in anchored(), end in date()) {
        let steps = plan_term(&wf, end);
        for s in &steps {
            let step = wf.steps.iter().find(|x| x.id == s.step_id).unwrap();
            let wd = if s.occurrence.repeat == 0 {
                step.offset.ends_on_working_day()
            } else {
                step.repeat.as_ref().unwrap().every.ends_on_working_day()
                    && step.offset.terms.is_empty()
            };
            if wd {
                prop_assert!(cal().is_workday(s.nominal.date()), "{} {:?} on {}", s.step_id, step.offset, s.nominal);
                prop_assert!(cal().is_workday(s.local.date()));
            }
        }
    }

    #[test]
    fn planning_twice_gives_the_same_plan(wf in anchored(), end in date()) {
        prop_assert_eq!(plan_term(&wf, end), plan_term(&wf, end));
    }

    #[test]
    fn a_later_anchor_never_moves_a_step_earlier(wf in anchored(), end in date(), later in 0i64..120) {
        let a = plan_term(&wf, end);
        let b = plan_term(&wf, end + Duration::days(later));
        let key = |s: &DueStep| (s.step_id.clone(), s.occurrence.repeat);
        let after: BTreeMap<_, _> = b.iter().map(|s| (key(s), s.due_at)).collect();
        prop_assert_eq!(a.len(), b.len());
        for s in &a {
            let moved = after[&key(s)];
            prop_assert!(moved >= s.due_at, "{} moved from {} to {}", s.step_id, s.due_at, moved);
        }
        let mut sorted = a.clone();
        sorted.sort_by_key(|s| s.due_at);
        prop_assert_eq!(sorted, a, "plans come in time order");
    }

    #[test]
    fn recurring_plans_respect_quiet_hours_and_repeat_identically(
        wf in workflow(Anchor::MonthlyOn { field: "theme_day".into() }, SubjectKind::Unit),
        day in 1u32..=31,
        from in date(),
    ) {
        let subject = Subject::Unit(UnitSubject {
            unit_code: "U1".into(),
            unit_name: "某党支部".into(),
            unit_level: UnitLevel::Branch,
            secretary: None,
            superior_unit: None,
            superior_secretary: None,
            theme_day: Some(day),
            members: None,
        });
        let quiet = QuietHours::default();
        let ctx = PlanContext { calendar: cal(), quiet: &quiet };
        let start = from.and_hms_opt(0, 0, 0).unwrap().and_utc();
        let window = Window { from: start, until: Some(start + Duration::days(200)) };
        let p = plan(&wf, &subject, &[], &ctx, &window).unwrap();
        assert_allowed(&p.steps)?;
        for s in &p.steps {
            prop_assert!(s.due_at >= window.from && s.due_at < window.until.unwrap());
        }
        prop_assert_eq!(&p, &plan(&wf, &subject, &[], &ctx, &window).unwrap());
    }
}

#[test]
fn shipped_term_expiry_keeps_the_properties_for_every_end_date_of_2026() {
    let report = shipped();
    let wf = report.set.get("term_expiry").unwrap();
    let mut end = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let mut previous: Option<Vec<DueStep>> = None;
    while end.year_ce().1 == 2026 {
        let steps = plan_term(wf, end);
        assert_allowed(&steps).unwrap();
        for s in steps.iter().filter(|s| !s.channels.is_empty()) {
            assert!(
                cal().is_workday(s.local.date()),
                "{} on {}",
                s.step_id,
                s.local
            );
        }
        if let Some(prev) = &previous {
            assert_eq!(prev.len(), steps.len());
            for a in prev {
                let b = steps
                    .iter()
                    .find(|b| b.step_id == a.step_id && b.occurrence.repeat == a.occurrence.repeat)
                    .unwrap();
                assert!(
                    b.due_at >= a.due_at,
                    "{} moved earlier for {end}",
                    a.step_id
                );
            }
        }
        previous = Some(steps);
        end = end.succ_opt().unwrap();
    }
}

use chrono::Datelike;
