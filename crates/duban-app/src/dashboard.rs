//! The administrator's overview: what falls due this week, what is overdue in each district,
//! chains that escalated, people no channel reaches and messages that failed; within the
//! actor's scope.

use crate::lists::MAX_LIMIT;
use crate::{Actor, App, AppError, Permission};
use chrono::{Datelike, Days, NaiveDate};
use duban_store::lists::{InterviewLine, ItemLine, ListFilter, UnitLine};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The rows of each short list on the overview.
pub const SHOWN: usize = 10;

/// What falls due between Monday and Sunday of the current week.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DueThisWeek {
    pub monday: Option<NaiveDate>,
    pub sunday: Option<NaiveDate>,
    /// Terms that end.
    pub terms: u64,
    /// Open rectification items whose deadline falls in the week.
    pub items: u64,
    /// Interviews scheduled and not yet held.
    pub interviews: u64,
}

/// Overdue work in one district.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistrictOverdue {
    /// 区县; units with no organisation in the register count under `未登记区县`.
    pub district: String,
    /// Units whose term has ended without an election.
    pub terms: u64,
    /// Open rectification items past their deadline.
    pub items: u64,
}

/// A message that could not reach anyone, or failed for good.
#[derive(Debug, Clone, Serialize)]
pub struct MessageLine {
    pub id: i64,
    pub unit: Option<String>,
    pub person: Option<String>,
    /// The role the step addressed (`secretary`, `org_department` …).
    pub role: String,
    pub subject: String,
    pub state: String,
    pub error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub today: NaiveDate,
    pub due: DueThisWeek,
    /// Districts with overdue work, most overdue first.
    pub overdue: Vec<DistrictOverdue>,
    /// Running chains escalated at least once.
    pub escalated: u64,
    pub unreachable_count: usize,
    /// The newest few.
    pub unreachable: Vec<MessageLine>,
    pub failing_count: usize,
    pub failing: Vec<MessageLine>,
}

/// Where a district's name is missing.
pub const NO_DISTRICT: &str = "未登记区县";

/// Monday and Sunday of `today`'s week.
pub fn week_of(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    (monday, monday + Days::new(6))
}

/// The figures, from the units, open items and scheduled interviews the actor sees.
pub fn summarise(
    today: NaiveDate,
    units: &[UnitLine],
    items: &[ItemLine],
    interviews: &[InterviewLine],
) -> (DueThisWeek, Vec<DistrictOverdue>) {
    let (monday, sunday) = week_of(today);
    let week = |d: NaiveDate| monday <= d && d <= sunday;
    let open = |i: &&ItemLine| i.status != "closed";
    let due = DueThisWeek {
        monday: Some(monday),
        sunday: Some(sunday),
        terms: units
            .iter()
            .filter(|u| u.term_end.is_some_and(week))
            .count() as u64,
        items: items
            .iter()
            .filter(open)
            .filter(|i| week(i.deadline))
            .count() as u64,
        interviews: interviews
            .iter()
            .filter(|i| i.status == "scheduled" && week(i.scheduled_at.date()))
            .count() as u64,
    };
    let district_of: HashMap<&str, &str> = units
        .iter()
        .map(|u| {
            (
                u.code.as_str(),
                u.district.as_deref().unwrap_or(NO_DISTRICT),
            )
        })
        .collect();
    let mut by: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for u in units
        .iter()
        .filter(|u| u.term_end.is_some_and(|e| e < today))
    {
        by.entry(u.district.as_deref().unwrap_or(NO_DISTRICT))
            .or_default()
            .0 += 1;
    }
    for i in items.iter().filter(open).filter(|i| i.deadline < today) {
        let d = district_of
            .get(i.unit_code.as_str())
            .copied()
            .unwrap_or(NO_DISTRICT);
        by.entry(d).or_default().1 += 1;
    }
    let mut overdue: Vec<DistrictOverdue> = by
        .into_iter()
        .map(|(d, (terms, items))| DistrictOverdue {
            district: d.to_string(),
            terms,
            items,
        })
        .collect();
    overdue.sort_by_key(|o| std::cmp::Reverse(o.terms + o.items));
    (due, overdue)
}

impl App {
    /// Every row of a list under `f`, page after page (`f`'s paging is ignored).
    pub(crate) async fn whole<T, F, Fut>(
        &self,
        mut f: ListFilter,
        list: F,
    ) -> Result<Vec<T>, AppError>
    where
        F: Fn(ListFilter) -> Fut,
        Fut: Future<Output = Result<Vec<T>, duban_store::StoreError>>,
    {
        f.limit = MAX_LIMIT;
        f.offset = 0;
        let mut rows = Vec::new();
        loop {
            let chunk = list(f.clone()).await?;
            let done = (chunk.len() as u64) < f.limit;
            rows.extend(chunk);
            if done {
                return Ok(rows);
            }
            f.offset += f.limit;
        }
    }

    /// The administrator's overview.
    pub async fn dashboard(&self, actor: &Actor) -> Result<Dashboard, AppError> {
        actor.require(Permission::ManageDeliveries)?;
        let store = self.store();
        let today = self.today();
        let scoped = ListFilter {
            scope: actor.list_scope(),
            today: Some(today),
            ..Default::default()
        };
        let units = self
            .whole(
                scoped.clone(),
                |f| async move { store.list_units(&f).await },
            )
            .await?;
        let items = self
            .whole(
                scoped.clone(),
                |f| async move { store.list_items(&f).await },
            )
            .await?;
        let interviews = self
            .whole(scoped.clone(), |mut f| async move {
                f.status = Some("scheduled".into());
                store.list_interviews(&f).await
            })
            .await?;
        let escalated = self
            .whole(scoped.clone(), |mut f| async move {
                f.escalated = true;
                f.status = Some("active".into());
                store.list_instances(&f).await
            })
            .await?
            .len() as u64;
        let (due, overdue) = summarise(today, &units, &items, &interviews);
        let unreachable: Vec<MessageLine> = self
            .unreachable(actor)
            .await?
            .into_iter()
            .map(|r| MessageLine {
                id: r.outbox_id,
                unit: r.unit,
                person: r.person,
                role: r.role,
                subject: r.subject,
                state: "unreachable".into(),
                error: None,
                created_at: r.at,
            })
            .collect();
        let failing: Vec<MessageLine> = self
            .dead_letters(actor)
            .await?
            .into_iter()
            .rev()
            .map(|m| MessageLine {
                id: m.id,
                unit: m.unit,
                person: m.person,
                role: m.role,
                subject: m.subject,
                state: m.state,
                error: m.error,
                created_at: m.created_at,
            })
            .collect();
        Ok(Dashboard {
            today,
            due,
            overdue,
            escalated,
            unreachable_count: unreachable.len(),
            unreachable: unreachable.into_iter().take(SHOWN).collect(),
            failing_count: failing.len(),
            failing: failing.into_iter().take(SHOWN).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn unit(code: &str, district: Option<&str>, term_end: &str) -> UnitLine {
        UnitLine {
            code: code.into(),
            name: code.into(),
            level: "支部".into(),
            district: district.map(String::from),
            superior: None,
            secretary: None,
            term_start: None,
            term_end: Some(d(term_end)),
        }
    }

    fn item(unit: &str, deadline: &str, status: &str) -> ItemLine {
        ItemLine {
            id: 1,
            unit_code: unit.into(),
            unit_name: unit.into(),
            title: "t".into(),
            kind: "time_bound".into(),
            owner: None,
            verifier: None,
            opened_on: d("2026-01-01"),
            deadline: d(deadline),
            status: status.into(),
            closed_on: None,
            interview_id: None,
        }
    }

    #[test]
    fn the_week_runs_monday_to_sunday() {
        assert_eq!(week_of(d("2026-12-02")), (d("2026-11-30"), d("2026-12-06")));
        assert_eq!(week_of(d("2026-11-30")), (d("2026-11-30"), d("2026-12-06")));
        assert_eq!(week_of(d("2026-12-06")), (d("2026-11-30"), d("2026-12-06")));
    }

    #[test]
    fn overdue_work_counts_under_its_district() {
        let units = [
            unit("A", Some("历下区"), "2026-12-01"),
            unit("B", Some("历下区"), "2026-12-04"),
            unit("C", Some("市中区"), "2025-01-01"),
            unit("D", None, "2027-01-01"),
        ];
        let items = [
            item("A", "2026-11-01", "open"),
            item("D", "2026-11-01", "open"),
            item("D", "2026-11-01", "closed"),
            item("B", "2026-12-05", "open"),
        ];
        let (due, overdue) = summarise(d("2026-12-02"), &units, &items, &[]);
        assert_eq!((due.terms, due.items), (2, 1));
        assert_eq!(
            overdue,
            vec![
                DistrictOverdue {
                    district: "历下区".into(),
                    terms: 1,
                    items: 1
                },
                DistrictOverdue {
                    district: "市中区".into(),
                    terms: 1,
                    items: 0
                },
                DistrictOverdue {
                    district: NO_DISTRICT.into(),
                    terms: 0,
                    items: 1
                },
            ]
        );
    }
}
