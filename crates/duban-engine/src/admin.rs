//! What administrators do beside answering chains: staff and their roles, opening
//! rectification items and interviews. Each validates what people typed, writes in one
//! transaction and audits the change.

use crate::complete::Completion;
use crate::{Engine, EngineError};
use chrono::NaiveDate;
use duban_core::register::{is_valid_email, normalise_mobile};
use duban_store::subjects::{NewInterview, NewItem, PersonRow};
use serde::{Deserialize, Serialize};

/// The roles staff hold beside the register's secretaries.
pub const STAFF_ROLES: [&str; 2] = ["org_department", "finance"];

fn check_roles(roles: &[String]) -> Result<String, EngineError> {
    let mut out: Vec<&str> = Vec::new();
    for r in roles.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        if !STAFF_ROLES.contains(&r) {
            return Err(EngineError::Refused(format!(
                "{r:?} is not a staff role ({})",
                STAFF_ROLES.join(", ")
            )));
        }
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out.join(","))
}

/// A member of staff: an officer of the organisation department or a finance officer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewStaff {
    pub name: String,
    pub post: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<String>,
}

/// A rectification item as an administrator opens it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenItem {
    /// The unit's code.
    pub unit: String,
    pub title: String,
    /// `immediate` (立行立改), `time_bound` (限期整改) or `long_term` (长期整治).
    pub kind: String,
    pub deadline: NaiveDate,
    /// Mobile number or email of the owner; the unit's secretary when absent.
    pub owner: Option<String>,
    pub leader: Option<String>,
    pub verifier: Option<String>,
    pub measures: Option<String>,
}

/// A supervisory interview an administrator arranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenInterview {
    /// The unit's code.
    pub unit: String,
    /// 约谈事由.
    pub reason: String,
    /// When, in Beijing time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-12-10T09:00:00"))]
    pub at: chrono::NaiveDateTime,
    pub location: Option<String>,
    /// Mobile number or email of the person summoned; the unit's secretary when absent.
    pub interviewee: Option<String>,
}

pub const ITEM_KINDS: [&str; 3] = ["immediate", "time_bound", "long_term"];

impl Engine {
    /// Adds (or updates, by mobile number, else email) a member of staff with their roles.
    pub async fn add_staff(&self, s: NewStaff, actor: &str) -> Result<PersonRow, EngineError> {
        let name = s.name.trim().to_string();
        if name.is_empty() {
            return Err(EngineError::Refused("the name is empty".into()));
        }
        let mobile = match s.mobile.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            None => None,
            Some(m) => Some(normalise_mobile(m).ok_or_else(|| {
                EngineError::Refused(format!(
                    "mobile: {} is not a mainland mobile number (11 digits starting with 1)",
                    duban_core::privacy::mask_mobile(m)
                ))
            })?),
        };
        let email = match s.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(e) if is_valid_email(e) => Some(e.to_string()),
            Some(_) => {
                return Err(EngineError::Refused(
                    "email: not an email address (name@example.org)".into(),
                ));
            }
        };
        let Some(key) = mobile.clone().or_else(|| email.clone()) else {
            return Err(EngineError::Refused(
                "give a mobile number or an email address, or no message can reach this person"
                    .into(),
            ));
        };
        let roles = check_roles(&s.roles)?;
        if roles.is_empty() {
            return Err(EngineError::Refused(format!(
                "give at least one role ({})",
                STAFF_ROLES.join(", ")
            )));
        }
        let now = self.now();
        let tx = self.store.begin_write().await?;
        let (before, after) = tx
            .upsert_staff(&key, &name, s.post.clone(), mobile, email, &roles, now)
            .await?;
        tx.audit(
            actor,
            now,
            if before.is_some() {
                "update_staff"
            } else {
                "add_staff"
            },
            &format!("person:{}", after.id),
            &serde_json::json!({"name": after.name, "roles": after.roles, "post": after.post})
                .to_string(),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Sets the staff roles of a person already known (by mobile number or email).
    pub async fn set_staff_roles(
        &self,
        person_key: &str,
        roles: &[String],
        actor: &str,
    ) -> Result<PersonRow, EngineError> {
        let roles = check_roles(roles)?;
        let key = normalise_mobile(person_key).unwrap_or_else(|| person_key.trim().to_string());
        let p = self
            .store
            .person_by_key(&key)
            .await?
            .ok_or_else(|| EngineError::Refused(format!("no person {person_key} is known")))?;
        let now = self.now();
        let tx = self.store.begin_write().await?;
        let updated = tx.set_person_roles(&p, &roles, now).await?;
        tx.audit(
            actor,
            now,
            "set_roles",
            &format!("person:{}", p.id),
            &serde_json::json!({"before": p.roles, "roles": updated.roles}).to_string(),
        )
        .await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Opens a rectification item for a unit and starts its chain, in one transaction.
    pub async fn open_item_for(
        &self,
        item: OpenItem,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        if !ITEM_KINDS.contains(&item.kind.as_str()) {
            return Err(EngineError::Refused(format!(
                "kind {:?} is not one of {}",
                item.kind,
                ITEM_KINDS.join(", ")
            )));
        }
        let title = item.title.trim().to_string();
        if title.is_empty() {
            return Err(EngineError::Refused("the title is empty".into()));
        }
        let unit = self.store.unit_by_code(&item.unit).await?.ok_or_else(|| {
            EngineError::Refused(format!("no party unit with code {}", item.unit))
        })?;
        let person = async |what: &str, key: &Option<String>| -> Result<Option<i64>, EngineError> {
            let Some(k) = key.as_deref().map(str::trim).filter(|k| !k.is_empty()) else {
                return Ok(None);
            };
            let k = normalise_mobile(k).unwrap_or_else(|| k.to_string());
            Ok(Some(
                self.store
                    .person_by_key(&k)
                    .await?
                    .ok_or_else(|| EngineError::Refused(format!("{what}: no person {k} is known")))?
                    .id,
            ))
        };
        let owner_id = person("owner", &item.owner)
            .await?
            .or(unit.unit.secretary_id);
        let leader_id = person("leader", &item.leader).await?;
        let verifier_id = person("verifier", &item.verifier).await?;
        if verifier_id.is_some() && verifier_id == owner_id {
            return Err(EngineError::Refused(
                "the verifier must not be the owner: close-out needs a second person".into(),
            ));
        }
        let today = self.today();
        if item.deadline < today {
            return Err(EngineError::Refused(format!(
                "the deadline {} is in the past (today is {today})",
                item.deadline
            )));
        }
        self.open_rectification(
            NewItem {
                unit_id: unit.unit.id,
                title,
                kind: item.kind,
                measures: item.measures,
                owner_id,
                leader_id,
                verifier_id,
                opened_on: today,
                deadline: item.deadline,
                interview_id: None,
            },
            actor,
        )
        .await
    }

    /// Arranges a supervisory interview and starts its chain (notice, reminder, record).
    pub async fn open_interview_for(
        &self,
        req: OpenInterview,
        actor: &str,
    ) -> Result<Completion, EngineError> {
        let reason = req.reason.trim().to_string();
        if reason.is_empty() {
            return Err(EngineError::Refused(
                "the reason (约谈事由) is empty".into(),
            ));
        }
        let unit =
            self.store.unit_by_code(&req.unit).await?.ok_or_else(|| {
                EngineError::Refused(format!("no party unit with code {}", req.unit))
            })?;
        let interviewee_id = match req
            .interviewee
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            None => unit.unit.secretary_id,
            Some(k) => {
                let k = normalise_mobile(k).unwrap_or_else(|| k.to_string());
                Some(
                    self.store
                        .person_by_key(&k)
                        .await?
                        .ok_or_else(|| {
                            EngineError::Refused(format!("interviewee: no person {k} is known"))
                        })?
                        .id,
                )
            }
        };
        let today = self.today();
        if req.at.date() < today {
            return Err(EngineError::Refused(format!(
                "the interview time {} is in the past (today is {today})",
                req.at
            )));
        }
        let now = self.now();
        let tx = self.store.begin_write().await?;
        let (row, _) = tx
            .open_interview(
                &NewInterview {
                    unit_id: unit.unit.id,
                    interviewee_id,
                    reason,
                    source: "manual".into(),
                    scheduled_at: req.at,
                    location: req
                        .location
                        .map(|l| l.trim().to_string())
                        .filter(|l| !l.is_empty()),
                    origin_key: None,
                },
                now,
            )
            .await?;
        let sref = crate::SubjectRef::Interview(row.id);
        let plans = self
            .start_subject(&tx, actor, "open_interview", &sref, &row, now)
            .await?;
        tx.commit().await?;
        Ok(Completion::opened(sref, plans))
    }
}

/// The columns of a rectification list (问题清单) file, as people head them.
pub const ITEM_COLUMNS: [(&str, &str, bool); 7] = [
    ("unit", "党组织编码", true),
    ("title", "整改事项", true),
    ("kind", "整改类别", false),
    ("deadline", "整改期限", true),
    ("owner", "责任人手机", false),
    ("leader", "责任领导手机", false),
    ("verifier", "验收人手机", false),
];
const MEASURES_COLUMN: &str = "整改措施";

/// What importing a rectification list did (or would do, on a dry run).
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemsImported {
    pub items: usize,
    /// The subjects created (`rectification:ID`); empty on a dry run.
    pub created: Vec<String>,
    pub timers_planned: u64,
    pub dry_run: bool,
}

fn item_kind(text: &str) -> Option<&'static str> {
    match text.trim() {
        "" | "限期整改" | "time_bound" => Some("time_bound"),
        "立行立改" | "immediate" => Some("immediate"),
        "长期整治" | "long_term" => Some("long_term"),
        _ => None,
    }
}

impl Engine {
    /// Imports a rectification list (问题清单): every row becomes an item with its chain, in
    /// one transaction. Every bad cell is reported with its row and column and nothing is
    /// written unless the whole file is valid.
    pub async fn import_items(
        &self,
        table: &duban_core::table::Table,
        actor: &str,
        dry_run: bool,
    ) -> Result<Result<ItemsImported, Vec<duban_core::table::RowError>>, EngineError> {
        use duban_core::table::RowError;
        let mut errors = Vec::new();
        let col = |name: &str| table.headers.iter().position(|h| h.trim() == name);
        let mut index = std::collections::BTreeMap::new();
        for (key, header, required) in ITEM_COLUMNS {
            match col(header) {
                Some(i) => {
                    index.insert(key, i);
                }
                None if required => errors.push(RowError {
                    row: 1,
                    column: header.to_string(),
                    reason: format!(
                        "the column is missing; the header row needs {}",
                        ITEM_COLUMNS
                            .iter()
                            .filter(|c| c.2)
                            .map(|c| c.1)
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                }),
                None => {}
            }
        }
        let measures = col(MEASURES_COLUMN);
        for h in &table.headers {
            let h = h.trim();
            if !h.is_empty() && h != MEASURES_COLUMN && !ITEM_COLUMNS.iter().any(|c| c.1 == h) {
                errors.push(RowError {
                    row: 1,
                    column: h.to_string(),
                    reason: format!(
                        "unknown column; known columns: {}、{MEASURES_COLUMN}",
                        ITEM_COLUMNS
                            .iter()
                            .map(|c| c.1)
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                });
            }
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        if table.rows.is_empty() {
            return Ok(Err(vec![RowError {
                row: 2,
                column: ITEM_COLUMNS[1].1.into(),
                reason: "the file has no items".into(),
            }]));
        }
        let today = self.today();
        let mut items = Vec::new();
        let cell = |cells: &[String], key: &str| -> String {
            index
                .get(key)
                .and_then(|&i| cells.get(i))
                .map(|c| c.trim().to_string())
                .unwrap_or_default()
        };
        let mut units = std::collections::HashMap::new();
        let mut people = std::collections::HashMap::new();
        for (row, cells) in &table.rows {
            let row = *row;
            let mut err = |key: &str, reason: String| {
                let header = ITEM_COLUMNS
                    .iter()
                    .find(|c| c.0 == key)
                    .map(|c| c.1)
                    .unwrap_or(key);
                errors.push(RowError {
                    row,
                    column: header.to_string(),
                    reason,
                });
            };
            let code = cell(cells, "unit");
            let unit = if code.is_empty() {
                err("unit", "empty: give the party unit's code".into());
                None
            } else {
                if !units.contains_key(&code) {
                    units.insert(code.clone(), self.store.unit_by_code(&code).await?);
                }
                let u = units[&code].clone();
                if u.is_none() {
                    err("unit", format!("no party unit with code {code}"));
                }
                u
            };
            let title = cell(cells, "title");
            if title.is_empty() {
                err("title", "empty: say what is to be rectified".into());
            }
            let kind_text = cell(cells, "kind");
            let kind = item_kind(&kind_text);
            if kind.is_none() {
                err(
                    "kind",
                    format!("{kind_text:?} is not 立行立改, 限期整改 or 长期整治"),
                );
            }
            let deadline_text = cell(cells, "deadline");
            let deadline = duban_core::register::parse_date(&deadline_text);
            match deadline {
                None => err(
                    "deadline",
                    format!("{deadline_text:?} is not a date (2026-12-31 or 2026年12月31日)"),
                ),
                Some(d) if d < today => {
                    err("deadline", format!("{d} is in the past (today is {today})"))
                }
                Some(_) => {}
            }
            let mut ids = std::collections::BTreeMap::new();
            for key in ["owner", "leader", "verifier"] {
                let text = cell(cells, key);
                if text.is_empty() {
                    continue;
                }
                let k = normalise_mobile(&text).unwrap_or_else(|| text.clone());
                if !people.contains_key(&k) {
                    people.insert(k.clone(), self.store.person_by_key(&k).await?);
                }
                match &people[&k] {
                    Some(p) => {
                        ids.insert(key, p.id);
                    }
                    None => err(
                        key,
                        format!(
                            "no person with this mobile number or email is known ({})",
                            duban_core::privacy::mask_mobile(&text)
                        ),
                    ),
                }
            }
            let owner = ids
                .get("owner")
                .copied()
                .or_else(|| unit.as_ref().and_then(|u| u.unit.secretary_id));
            if ids.contains_key("verifier") && ids.get("verifier").copied() == owner {
                err(
                    "verifier",
                    "the verifier must not be the owner: close-out needs a second person".into(),
                );
            }
            if let (Some(u), Some(kind), Some(deadline)) = (unit, kind, deadline) {
                items.push(NewItem {
                    unit_id: u.unit.id,
                    title,
                    kind: kind.to_string(),
                    measures: measures
                        .and_then(|i| cells.get(i))
                        .map(|m| m.trim().to_string())
                        .filter(|m| !m.is_empty()),
                    owner_id: owner,
                    leader_id: ids.get("leader").copied(),
                    verifier_id: ids.get("verifier").copied(),
                    opened_on: today,
                    deadline,
                    interview_id: None,
                });
            }
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        if dry_run {
            return Ok(Ok(ItemsImported {
                items: items.len(),
                dry_run: true,
                ..Default::default()
            }));
        }
        let now = self.now();
        let tx = self.store.begin_write().await?;
        let mut out = ItemsImported {
            items: items.len(),
            ..Default::default()
        };
        for item in &items {
            let row = tx.open_item(item, now).await?;
            let sref = crate::SubjectRef::Rectification(row.id);
            for p in self
                .start_subject(&tx, actor, "import_rectification", &sref, &row, now)
                .await?
            {
                out.timers_planned += p.inserted;
            }
            out.created.push(sref.key());
        }
        tx.commit().await?;
        Ok(Ok(out))
    }
}
