//! From register rows to the planner's subjects, and the keys that name them.
//!
//! A term's key includes its start date (`term:JN-001:2023-10-09`): an election begins a new
//! term, which gets its own chain, while the finished term's chain keeps its history.

use crate::EngineError;
use chrono::{NaiveDate, NaiveDateTime};
use duban_core::register::UnitLevel;
use duban_store::subjects::{EventRow, PersonRow, Reader, UnitSnapshot};
use duban_workflow::plan::Event;
use duban_workflow::subject::{
    InterviewSubject, MemberSubject, RectificationSubject, Role, Subject, SubjectKind, TermSubject,
    UnitSubject,
};
use std::collections::BTreeMap;
use std::fmt;

/// Names one subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectRef {
    /// A unit's term, by unit code and term start.
    Term {
        unit: String,
        start: Option<NaiveDate>,
    },
    /// A unit, for its recurring duties.
    Unit(String),
    Rectification(i64),
    Interview(i64),
    /// A member of a unit's roster, for the anniversary of joining.
    Member(i64),
}

impl SubjectRef {
    pub fn kind(&self) -> SubjectKind {
        match self {
            SubjectRef::Term { .. } => SubjectKind::Term,
            SubjectRef::Unit(_) => SubjectKind::Unit,
            SubjectRef::Rectification(_) => SubjectKind::Rectification,
            SubjectRef::Interview(_) => SubjectKind::Interview,
            SubjectRef::Member(_) => SubjectKind::Member,
        }
    }

    pub fn key(&self) -> String {
        self.to_string()
    }

    /// Parses a key written by [`SubjectRef::key`].
    pub fn parse(key: &str) -> Option<SubjectRef> {
        let (kind, rest) = key.split_once(':')?;
        match kind {
            "term" => {
                let (unit, start) = rest.rsplit_once(':')?;
                let start = match start {
                    "-" => None,
                    s => Some(s.parse().ok()?),
                };
                Some(SubjectRef::Term {
                    unit: unit.to_string(),
                    start,
                })
            }
            "unit" => Some(SubjectRef::Unit(rest.to_string())),
            "rectification" => rest.parse().ok().map(SubjectRef::Rectification),
            "interview" => rest.parse().ok().map(SubjectRef::Interview),
            "member" => rest.parse().ok().map(SubjectRef::Member),
            _ => None,
        }
    }

    /// The current term of a unit.
    pub fn term_of(unit: &duban_store::entities::party_units::Model) -> SubjectRef {
        SubjectRef::Term {
            unit: unit.code.clone(),
            start: unit.term_start,
        }
    }
}

impl fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectRef::Term { unit, start } => match start {
                Some(s) => write!(f, "term:{unit}:{s}"),
                None => write!(f, "term:{unit}:-"),
            },
            SubjectRef::Unit(code) => write!(f, "unit:{code}"),
            SubjectRef::Rectification(id) => write!(f, "rectification:{id}"),
            SubjectRef::Interview(id) => write!(f, "interview:{id}"),
            SubjectRef::Member(id) => write!(f, "member:{id}"),
        }
    }
}

/// A subject as the planner sees it, with the people behind its roles.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub sref: SubjectRef,
    pub subject: Subject,
    pub events: Vec<Event>,
    /// The unit the subject belongs to.
    pub unit: UnitSnapshot,
    pub people: BTreeMap<Role, Vec<PersonRow>>,
}

impl Loaded {
    pub fn key(&self) -> String {
        self.sref.key()
    }
}

fn name(p: &Option<PersonRow>) -> Option<String> {
    p.as_ref().map(|p| p.name.clone())
}

fn level(unit: &duban_store::entities::party_units::Model) -> UnitLevel {
    UnitLevel::parse(&unit.level).unwrap_or(UnitLevel::Branch)
}

pub fn to_event(e: &EventRow) -> Event {
    Event {
        name: e.name.clone(),
        at: e.at.and_utc(),
        value: e.value,
        reason: e.reason.clone(),
    }
}

/// Loads a subject, its events and the people behind its roles; `None` if it is gone.
pub async fn load(store: Reader<'_>, sref: &SubjectRef) -> Result<Option<Loaded>, EngineError> {
    let staff = Staff::read(store).await?;
    load_with(store, sref, &staff).await
}

/// The organisation department's officers and the finance officers: the same for every
/// subject, so a batch reads them once.
#[derive(Debug, Clone, Default)]
pub struct Staff {
    org_department: Vec<PersonRow>,
    finance: Vec<PersonRow>,
}

impl Staff {
    pub async fn read(store: Reader<'_>) -> Result<Staff, EngineError> {
        let all = store.staff().await?;
        let with = |role: &str| -> Vec<PersonRow> {
            all.iter()
                .filter(|p| p.roles.split(',').any(|r| r.trim() == role))
                .cloned()
                .collect()
        };
        Ok(Staff {
            org_department: with("org_department"),
            finance: with("finance"),
        })
    }
}

/// As [`load`], with the staff already read.
pub async fn load_with(
    store: Reader<'_>,
    sref: &SubjectRef,
    staff: &Staff,
) -> Result<Option<Loaded>, EngineError> {
    let mut people: BTreeMap<Role, Vec<PersonRow>> = BTreeMap::new();
    let (unit, subject) = match sref {
        SubjectRef::Term { unit: code, start } => {
            let Some(u) = store.unit_by_code(code).await? else {
                return Ok(None);
            };
            // An older term of the unit: plan it with the dates it had.
            let (term_start, term_end) = if u.unit.term_start == *start {
                (u.unit.term_start, u.unit.term_end)
            } else {
                (
                    *start,
                    start.map(|s| duban_core::register::term_end_for(s, level(&u.unit))),
                )
            };
            let subject = Subject::Term(TermSubject {
                unit_code: u.unit.code.clone(),
                unit_name: u.unit.name.clone(),
                unit_level: level(&u.unit),
                secretary: name(&u.secretary),
                superior_unit: u.superior.as_ref().map(|s| s.name.clone()),
                superior_secretary: name(&u.superior_secretary),
                term_start,
                term_end,
                election_date: None,
            });
            (u, subject)
        }
        SubjectRef::Unit(code) => {
            let Some(u) = store.unit_by_code(code).await? else {
                return Ok(None);
            };
            let subject = Subject::Unit(UnitSubject {
                unit_code: u.unit.code.clone(),
                unit_name: u.unit.name.clone(),
                unit_level: level(&u.unit),
                secretary: name(&u.secretary),
                superior_unit: u.superior.as_ref().map(|s| s.name.clone()),
                superior_secretary: name(&u.superior_secretary),
                theme_day: u.unit.theme_day.map(|d| d as u32),
                members: None,
            });
            (u, subject)
        }
        SubjectRef::Rectification(id) => {
            let Some(item) = store.rectification_item(*id).await? else {
                return Ok(None);
            };
            let Some(u) = store.unit_by_id(item.unit_id).await? else {
                return Ok(None);
            };
            let owner = person_opt(store, item.owner_id).await?;
            let leader = person_opt(store, item.leader_id).await?;
            let verifier = person_opt(store, item.verifier_id).await?;
            let kind = serde_json::from_value(serde_json::Value::String(item.kind.clone()))
                .map_err(|_| {
                    EngineError::Data(format!(
                        "rectification item {id} has unknown kind {:?}",
                        item.kind
                    ))
                })?;
            let subject = Subject::Rectification(RectificationSubject {
                item_code: format!("ZG-{id}"),
                title: item.title.clone(),
                kind,
                unit_name: u.unit.name.clone(),
                owner: name(&owner)
                    .or_else(|| name(&u.secretary))
                    .unwrap_or_else(|| u.unit.name.clone()),
                secretary: name(&u.secretary),
                responsible_leader: name(&leader),
                verifier: name(&verifier),
                superior_unit: u.superior.as_ref().map(|s| s.name.clone()),
                superior_secretary: name(&u.superior_secretary),
                source: item.interview_id.map(|i| format!("约谈 {i}")),
                opened_on: item.opened_on,
                deadline: Some(item.deadline),
                closed_on: item.closed_on,
            });
            people.insert(
                Role::Owner,
                owner.or_else(|| u.secretary.clone()).into_iter().collect(),
            );
            people.insert(Role::ResponsibleLeader, leader.into_iter().collect());
            people.insert(Role::Verifier, verifier.into_iter().collect());
            (u, subject)
        }
        SubjectRef::Interview(id) => {
            let Some(iv) = store.interview(*id).await? else {
                return Ok(None);
            };
            let Some(u) = store.unit_by_id(iv.unit_id).await? else {
                return Ok(None);
            };
            let interviewee = person_opt(store, iv.interviewee_id)
                .await?
                .or_else(|| u.secretary.clone());
            let subject = Subject::Interview(InterviewSubject {
                interview_code: Some(format!("YT-{id}")),
                interviewee: name(&interviewee).unwrap_or_else(|| format!("{}书记", u.unit.name)),
                interviewee_post: interviewee.as_ref().and_then(|p| p.post.clone()),
                unit_name: u.unit.name.clone(),
                secretary: name(&u.secretary),
                superior_unit: u.superior.as_ref().map(|s| s.name.clone()),
                superior_secretary: name(&u.superior_secretary),
                reason: iv.reason.clone(),
                interview_at: iv.scheduled_at,
                location: iv.location.clone(),
                opened_on: iv.created_at.date(),
                held_on: iv.held_on,
            });
            people.insert(Role::Interviewee, interviewee.into_iter().collect());
            (u, subject)
        }
        SubjectRef::Member(id) => {
            // A member no longer on the roster has no chain to plan.
            let Some(m) = store.member(*id).await?.filter(|m| m.active) else {
                return Ok(None);
            };
            let Some(u) = store.unit_by_id(m.unit_id).await? else {
                return Ok(None);
            };
            let subject = Subject::Member(MemberSubject {
                member_name: m.name.clone(),
                unit_name: u.unit.name.clone(),
                secretary: name(&u.secretary),
                joined_on: m.joined_on,
            });
            // The member is reached on their own contacts; one who gave none holds the
            // role no one can be told through, which the engine lists as unreachable.
            let member = person_opt(store, m.person_id).await?;
            people.insert(Role::Member, member.into_iter().collect());
            (u, subject)
        }
    };
    people.insert(
        Role::Secretary,
        unit.secretary.clone().into_iter().collect(),
    );
    // A unit at the top of the register (a district's 两新组织党委) answers to the
    // organisation department itself: what goes to its superior goes to the department.
    let superior: Vec<PersonRow> = match (&unit.superior, &unit.superior_secretary) {
        (_, Some(p)) => vec![p.clone()],
        (None, None) => staff.org_department.clone(),
        (Some(_), None) => Vec::new(),
    };
    people.insert(Role::SuperiorSecretary, superior);
    people.insert(Role::OrgDepartment, staff.org_department.clone());
    people.insert(Role::Finance, staff.finance.clone());
    let events = store
        .events_of(&sref.key())
        .await?
        .iter()
        .map(to_event)
        .collect();
    Ok(Some(Loaded {
        sref: sref.clone(),
        subject,
        events,
        unit,
        people,
    }))
}

async fn person_opt(store: Reader<'_>, id: Option<i64>) -> Result<Option<PersonRow>, EngineError> {
    Ok(match id {
        Some(id) => store.person_by_id(id).await?,
        None => None,
    })
}

/// A local date-time at midnight.
pub fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(chrono::NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let d = NaiveDate::from_ymd_opt(2023, 10, 9);
        for r in [
            SubjectRef::Term {
                unit: "JN-001".into(),
                start: d,
            },
            SubjectRef::Term {
                unit: "370102-LXGW".into(),
                start: None,
            },
            SubjectRef::Unit("JN:001".into()),
            SubjectRef::Rectification(7),
            SubjectRef::Interview(9),
            SubjectRef::Member(11),
        ] {
            assert_eq!(SubjectRef::parse(&r.key()), Some(r.clone()), "{r}");
        }
        assert_eq!(
            SubjectRef::parse("term:JN-001:2023-10-09").unwrap().key(),
            "term:JN-001:2023-10-09"
        );
        assert_eq!(SubjectRef::parse("nonsense"), None);
    }
}
