//! The party members' roster: upserting a validated roster inside the caller's transaction
//! (the chains it implies are planned in the same one), and the reads the engine and the
//! lists need.

use crate::audit::{self, Change};
use crate::engine::WriteTx;
use crate::entities::{members, party_units, people};
use crate::lists::Scope;
use crate::{Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use duban_core::members::MemberRow;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;
use std::collections::HashMap;

pub use crate::entities::members::Model as MemberModel;

/// What a roster import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MembersImported {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Members with neither a mobile nor an email (`unit code 姓名`): no message reaches
    /// them; what is meant for them is listed by `duban people unreachable`.
    pub unreachable: Vec<String>,
    /// `true` when the transaction was rolled back on purpose.
    pub dry_run: bool,
    /// Ids of the members created or changed, whose chains need planning.
    #[serde(skip)]
    pub changed: Vec<i64>,
}

impl MembersImported {
    pub fn is_noop(&self) -> bool {
        self.created == 0 && self.updated == 0
    }
}

/// A member as the lists show them (contacts whole: the application layer masks them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberLine {
    pub id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub name: String,
    pub joined_on: NaiveDate,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub active: bool,
}

fn channels_of(mobile: &Option<String>, email: &Option<String>) -> String {
    [
        mobile.as_ref().map(|_| "sms"),
        email.as_ref().map(|_| "email"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(",")
}

impl WriteTx {
    /// The person messages to a member go to: the one with the member's mobile (else email),
    /// created if there is none, given the member's other contact if it lacks one.
    async fn member_person(
        &self,
        r: &MemberRow,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let Some(key) = r.mobile.clone().or_else(|| r.email.clone()) else {
            return Ok(None);
        };
        let existing = people::Entity::find()
            .filter(people::Column::PersonKey.eq(&key))
            .one(self.conn())
            .await?;
        match existing {
            Some(p) => {
                let mobile = p.mobile.clone().or_else(|| r.mobile.clone());
                let email = p.email.clone().or_else(|| r.email.clone());
                if mobile == p.mobile && email == p.email {
                    return Ok(Some(p.id));
                }
                let mut channels: Vec<String> = p
                    .channels
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect();
                for c in channels_of(&mobile, &email).split(',') {
                    if !channels.iter().any(|h| h == c) {
                        channels.push(c.to_string());
                    }
                }
                let mut am: people::ActiveModel = p.clone().into();
                am.mobile = Set(mobile);
                am.email = Set(email);
                am.channels = Set(channels.join(","));
                am.updated_at = Set(now.naive_utc());
                let new = am.update(self.conn()).await?;
                self.record_change(Change {
                    actor,
                    origin: audit::ORIGIN_CLI,
                    at: now,
                    action: "update",
                    entity: "person",
                    key: &p.id.to_string(),
                    before: Some(&p),
                    after: Some(&new),
                })
                .await?;
                Ok(Some(p.id))
            }
            None => {
                let new = people::ActiveModel {
                    id: NotSet,
                    person_key: Set(key),
                    name: Set(r.name.clone()),
                    post: Set(None),
                    mobile: Set(r.mobile.clone()),
                    email: Set(r.email.clone()),
                    channels: Set(channels_of(&r.mobile, &r.email)),
                    roles: Set(String::new()),
                    created_at: Set(now.naive_utc()),
                    updated_at: Set(now.naive_utc()),
                }
                .insert(self.conn())
                .await?;
                self.record_change(Change {
                    actor,
                    origin: audit::ORIGIN_CLI,
                    at: now,
                    action: "create",
                    entity: "person",
                    key: &new.id.to_string(),
                    before: None,
                    after: Some(&new),
                })
                .await?;
                Ok(Some(new.id))
            }
        }
    }

    /// Upserts a validated roster by unit and name: a row as it is in the register already
    /// changes nothing, a changed one updates the member (and makes them active again).
    /// Every change is audited. The summary lists the members created or changed.
    pub async fn apply_members(
        &self,
        rows: &[MemberRow],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<MembersImported, StoreError> {
        let mut done = MembersImported::default();
        let mut codes: Vec<String> = rows.iter().map(|r| r.unit_code.clone()).collect();
        codes.sort();
        codes.dedup();
        let mut unit_ids: HashMap<String, i64> = HashMap::new();
        for chunk in codes.chunks(500) {
            let found: Vec<(i64, String)> = party_units::Entity::find()
                .select_only()
                .column(party_units::Column::Id)
                .column(party_units::Column::Code)
                .filter(party_units::Column::Code.is_in(chunk.to_vec()))
                .into_tuple()
                .all(self.conn())
                .await?;
            unit_ids.extend(found.into_iter().map(|(id, code)| (code, id)));
        }
        let ids: Vec<i64> = unit_ids.values().copied().collect();
        let mut existing: HashMap<(i64, String), members::Model> = HashMap::new();
        for chunk in ids.chunks(500) {
            for m in members::Entity::find()
                .filter(members::Column::UnitId.is_in(chunk.to_vec()))
                .all(self.conn())
                .await?
            {
                existing.insert((m.unit_id, m.name.clone()), m);
            }
        }
        for r in rows {
            let Some(&unit_id) = unit_ids.get(&r.unit_code) else {
                return Err(StoreError::Invalid(format!(
                    "第{}行：党组织{}不在党组织名册中",
                    r.row, r.unit_code
                )));
            };
            if !r.reachable() {
                done.unreachable.push(format!("{} {}", r.unit_code, r.name));
            }
            let person_id = self.member_person(r, actor, now).await?;
            match existing.get(&(unit_id, r.name.clone())) {
                Some(old)
                    if old.joined_on == r.joined_on
                        && old.mobile == r.mobile
                        && old.email == r.email
                        && old.person_id == person_id
                        && old.active =>
                {
                    done.unchanged += 1;
                }
                Some(old) => {
                    let mut am: members::ActiveModel = old.clone().into();
                    am.joined_on = Set(r.joined_on);
                    am.mobile = Set(r.mobile.clone());
                    am.email = Set(r.email.clone());
                    am.person_id = Set(person_id);
                    am.active = Set(true);
                    am.updated_at = Set(now.naive_utc());
                    let new = am.update(self.conn()).await?;
                    self.record_change(Change {
                        actor,
                        origin: audit::ORIGIN_CLI,
                        at: now,
                        action: "update",
                        entity: "member",
                        key: &format!("member:{}", old.id),
                        before: Some(old),
                        after: Some(&new),
                    })
                    .await?;
                    done.updated += 1;
                    done.changed.push(new.id);
                }
                None => {
                    let new = members::ActiveModel {
                        id: NotSet,
                        unit_id: Set(unit_id),
                        person_id: Set(person_id),
                        name: Set(r.name.clone()),
                        joined_on: Set(r.joined_on),
                        mobile: Set(r.mobile.clone()),
                        email: Set(r.email.clone()),
                        active: Set(true),
                        created_at: Set(now.naive_utc()),
                        updated_at: Set(now.naive_utc()),
                    }
                    .insert(self.conn())
                    .await?;
                    self.record_change(Change {
                        actor,
                        origin: audit::ORIGIN_CLI,
                        at: now,
                        action: "create",
                        entity: "member",
                        key: &format!("member:{}", new.id),
                        before: None,
                        after: Some(&new),
                    })
                    .await?;
                    done.created += 1;
                    done.changed.push(new.id);
                }
            }
        }
        Ok(done)
    }
}

impl Store {
    /// The active members, for sweeping.
    pub async fn active_member_ids(&self) -> Result<Vec<i64>, StoreError> {
        Ok(members::Entity::find()
            .select_only()
            .column(members::Column::Id)
            .filter(members::Column::Active.eq(true))
            .order_by_asc(members::Column::Id)
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    /// Members by unit and name, of one unit or all, within `scope`.
    pub async fn list_members(
        &self,
        unit: Option<&str>,
        scope: &Option<Scope>,
    ) -> Result<Vec<MemberLine>, StoreError> {
        let mut uq = party_units::Entity::find()
            .filter(Store::in_scope(party_units::Column::Id, scope))
            .order_by_asc(party_units::Column::Code);
        if let Some(code) = unit {
            uq = uq.filter(party_units::Column::Code.eq(code));
        }
        let units: HashMap<i64, party_units::Model> = uq
            .all(self.conn())
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let mut any = Condition::any();
        let ids: Vec<i64> = units.keys().copied().collect();
        for chunk in ids.chunks(500) {
            any = any.add(members::Column::UnitId.is_in(chunk.to_vec()));
        }
        let mut lines: Vec<MemberLine> = members::Entity::find()
            .filter(any)
            .all(self.conn())
            .await?
            .into_iter()
            .filter_map(|m| {
                let u = units.get(&m.unit_id)?;
                Some(MemberLine {
                    id: m.id,
                    unit_code: u.code.clone(),
                    unit_name: u.name.clone(),
                    name: m.name,
                    joined_on: m.joined_on,
                    mobile: m.mobile,
                    email: m.email,
                    active: m.active,
                })
            })
            .collect();
        lines.sort_by(|a, b| (&a.unit_code, &a.name, a.id).cmp(&(&b.unit_code, &b.name, b.id)));
        Ok(lines)
    }
}
