//! The register's repository: upserting a validated batch in one transaction, and the reads
//! that coverage and the engine need.

use crate::audit::{self, Change};
use crate::engine::WriteTx;
use crate::entities::{elections, organisations, party_units, people};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use duban_core::register::coverage::CoverageInput;
use duban_core::register::{Channel, Organisation, Person, RegisterBatch, Unit};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, NotSet,
    PaginatorTrait, QueryFilter, QuerySelect, Set,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// How many rows an import created, changed, or found already as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportSummary {
    pub organisations: Counts,
    pub units: Counts,
    pub people: Counts,
    pub elections: Counts,
    /// `true` when the transaction was rolled back on purpose.
    pub dry_run: bool,
    /// Codes of the units created or changed.
    #[serde(skip)]
    pub changed_units: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl ImportSummary {
    /// True when the import changed nothing.
    pub fn is_noop(&self) -> bool {
        [self.organisations, self.units, self.people, self.elections]
            .iter()
            .all(|c| c.created == 0 && c.updated == 0)
    }
}

const CHUNK: usize = 500;

impl Store {
    /// Unit codes already in the register, among those asked about.
    pub async fn existing_unit_codes(
        &self,
        codes: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        let mut out = HashSet::new();
        for chunk in codes.chunks(CHUNK) {
            let found: Vec<String> = party_units::Entity::find()
                .select_only()
                .column(party_units::Column::Code)
                .filter(party_units::Column::Code.is_in(chunk.to_vec()))
                .into_tuple()
                .all(self.conn())
                .await?;
            out.extend(found);
        }
        Ok(out)
    }

    /// True when the register holds no organisation and no unit.
    pub async fn register_is_empty(&self) -> Result<bool, StoreError> {
        let orgs = organisations::Entity::find().count(self.conn()).await?;
        let units = party_units::Entity::find().count(self.conn()).await?;
        Ok(orgs == 0 && units == 0)
    }

    /// Upserts a validated batch in one transaction: people by mobile (else email), units
    /// by code, organisations by credit code. Every change is audited. With `dry_run` the
    /// transaction is rolled back and the summary says what would have happened.
    pub async fn apply_register(
        &self,
        batch: &RegisterBatch,
        actor: &str,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<ImportSummary, StoreError> {
        let tx = self.begin_write().await?;
        let mut summary = tx.apply_register(batch, actor, now).await?;
        summary.dry_run = dry_run;
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(summary)
    }

    /// What the two coverages need about every organisation.
    pub async fn coverage_inputs(&self) -> Result<Vec<CoverageInput>, StoreError> {
        let rows: Vec<(String, i32, Option<i64>, Option<String>)> = organisations::Entity::find()
            .select_only()
            .column(organisations::Column::District)
            .column(organisations::Column::PartyMembers)
            .column(organisations::Column::UnitId)
            .column(organisations::Column::Instructor)
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(district, members, unit, instructor)| CoverageInput {
                district,
                party_members: members.max(0) as u32,
                has_unit: unit.is_some(),
                has_instructor: instructor.is_some(),
            })
            .collect())
    }

    /// Counts of the register's tables, for health and summaries.
    pub async fn register_counts(&self) -> Result<(u64, u64, u64), StoreError> {
        Ok((
            organisations::Entity::find().count(self.conn()).await?,
            party_units::Entity::find().count(self.conn()).await?,
            people::Entity::find().count(self.conn()).await?,
        ))
    }
}

impl WriteTx {
    /// Upserts a validated batch inside this transaction (see [`Store::apply_register`]);
    /// the summary lists the units created or changed, whose chains need planning.
    pub async fn apply_register(
        &self,
        batch: &RegisterBatch,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportSummary, StoreError> {
        let mut summary = ImportSummary::default();
        let ctx = Ctx {
            txn: self.conn(),
            actor,
            now,
            audits: Default::default(),
        };
        let people_ids = upsert_people(&ctx, batch, &mut summary.people).await?;
        let unit_ids = upsert_units(&ctx, batch, &people_ids, &mut summary).await?;
        upsert_organisations(&ctx, batch, &unit_ids, &mut summary.organisations).await?;
        ctx.write_audits().await?;
        Ok(summary)
    }
}

struct Ctx<'a> {
    txn: &'a DatabaseTransaction,
    actor: &'a str,
    now: DateTime<Utc>,
    /// Audit entries of the batch, written together at its end: appending locks the
    /// audit chain's head, which is then held only from there to the commit.
    audits: std::sync::Mutex<Vec<Audit>>,
}

/// An audit entry waiting to be written: action, entity, key, before and after (JSON).
type Audit = (String, String, String, Option<String>, Option<String>);

impl Ctx<'_> {
    async fn audit<T: Serialize>(
        &self,
        action: &str,
        entity: &str,
        key: &str,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<(), StoreError> {
        let json = |v: Option<&T>| {
            v.map(|v| serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string())))
                .transpose()
        };
        let entry = (
            action.to_string(),
            entity.to_string(),
            key.to_string(),
            json(before)?,
            json(after)?,
        );
        self.audits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(entry);
        Ok(())
    }

    async fn write_audits(&self) -> Result<(), StoreError> {
        let audits = std::mem::take(
            &mut *self
                .audits
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for (action, entity, key, before, after) in &audits {
            audit::record_json(
                self.txn,
                Change {
                    actor: self.actor,
                    origin: audit::ORIGIN_CLI,
                    at: self.now,
                    action,
                    entity,
                    key,
                    before: before.as_deref(),
                    after: after.as_deref(),
                },
            )
            .await?;
        }
        Ok(())
    }
}

fn channels_text(channels: &[Channel]) -> String {
    let mut c: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
    c.sort_unstable();
    c.join(",")
}

async fn fetch_by<E, C, K>(
    conn: &C,
    col: E::Column,
    keys: Vec<K>,
) -> Result<Vec<E::Model>, StoreError>
where
    E: EntityTrait,
    C: ConnectionTrait,
    K: Into<sea_orm::Value> + Clone,
{
    let mut out = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        out.extend(
            E::find()
                .filter(col.is_in(chunk.to_vec()))
                .all(conn)
                .await?,
        );
    }
    Ok(out)
}

async fn upsert_people(
    ctx: &Ctx<'_>,
    batch: &RegisterBatch,
    counts: &mut Counts,
) -> Result<HashMap<String, i64>, StoreError> {
    let wanted: Vec<&Person> = {
        let mut seen = HashSet::new();
        batch
            .units
            .iter()
            .filter_map(|u| u.secretary.as_ref())
            .filter(|p| seen.insert(p.key()))
            .collect()
    };
    let keys: Vec<String> = wanted.iter().map(|p| p.key()).collect();
    let existing: HashMap<String, people::Model> =
        fetch_by::<people::Entity, _, _>(ctx.txn, people::Column::PersonKey, keys)
            .await?
            .into_iter()
            .map(|m| (m.person_key.clone(), m))
            .collect();
    let mut ids = HashMap::new();
    for p in wanted {
        let key = p.key();
        let channels = channels_text(&p.channels);
        match existing.get(&key) {
            Some(old) => {
                let same = old.name == p.name
                    && old.post == p.post
                    && old.mobile == p.mobile
                    && old.email == p.email
                    && old.channels == channels;
                if same {
                    counts.unchanged += 1;
                } else {
                    let mut am: people::ActiveModel = old.clone().into();
                    am.name = Set(p.name.clone());
                    am.post = Set(p.post.clone());
                    am.mobile = Set(p.mobile.clone());
                    am.email = Set(p.email.clone());
                    am.channels = Set(channels);
                    am.updated_at = Set(ctx.now.naive_utc());
                    let new = am.update(ctx.txn).await?;
                    ctx.audit(
                        "update",
                        "person",
                        &old.id.to_string(),
                        Some(old),
                        Some(&new),
                    )
                    .await?;
                    counts.updated += 1;
                }
                ids.insert(key, old.id);
            }
            None => {
                let new = people::ActiveModel {
                    id: NotSet,
                    person_key: Set(key.clone()),
                    name: Set(p.name.clone()),
                    post: Set(p.post.clone()),
                    mobile: Set(p.mobile.clone()),
                    email: Set(p.email.clone()),
                    channels: Set(channels),
                    roles: Set(String::new()),
                    created_at: Set(ctx.now.naive_utc()),
                    updated_at: Set(ctx.now.naive_utc()),
                }
                .insert(ctx.txn)
                .await?;
                ctx.audit("create", "person", &new.id.to_string(), None, Some(&new))
                    .await?;
                counts.created += 1;
                ids.insert(key, new.id);
            }
        }
    }
    Ok(ids)
}

async fn upsert_units(
    ctx: &Ctx<'_>,
    batch: &RegisterBatch,
    people_ids: &HashMap<String, i64>,
    summary: &mut ImportSummary,
) -> Result<HashMap<String, i64>, StoreError> {
    let mut codes: Vec<String> = batch.units.iter().map(|u| u.code.clone()).collect();
    codes.extend(batch.units.iter().filter_map(|u| u.superior_code.clone()));
    codes.sort();
    codes.dedup();
    let existing: HashMap<String, party_units::Model> =
        fetch_by::<party_units::Entity, _, _>(ctx.txn, party_units::Column::Code, codes)
            .await?
            .into_iter()
            .map(|m| (m.code.clone(), m))
            .collect();
    let mut ids: HashMap<String, i64> = existing.iter().map(|(c, m)| (c.clone(), m.id)).collect();

    // Units arrive superiors first, so a superior's id is known before it is needed.
    for u in &batch.units {
        let superior_id = match &u.superior_code {
            Some(code) => Some(*ids.get(code).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "row {}: superior unit {code} does not exist",
                    u.row
                ))
            })?),
            None => None,
        };
        let secretary_id = u
            .secretary
            .as_ref()
            .and_then(|p| people_ids.get(&p.key()).copied());
        let id = match existing.get(&u.code) {
            Some(old) => {
                let name = if u.name.is_empty() {
                    old.name.clone()
                } else {
                    u.name.clone()
                };
                let changed = old.name != name
                    || old.level != u.level.as_str()
                    || old.formation != u.formation.as_str()
                    || old.superior_id != superior_id
                    || (secretary_id.is_some() && old.secretary_id != secretary_id)
                    || (u.term_start.is_some() && old.term_start != u.term_start)
                    || (u.term_end.is_some() && old.term_end != u.term_end)
                    || (u.theme_day.is_some() && old.theme_day != u.theme_day.map(i16::from));
                if changed {
                    let mut am: party_units::ActiveModel = old.clone().into();
                    am.name = Set(name);
                    am.level = Set(u.level.as_str().into());
                    am.formation = Set(u.formation.as_str().into());
                    am.superior_id = Set(superior_id);
                    if secretary_id.is_some() {
                        am.secretary_id = Set(secretary_id);
                    }
                    if u.term_start.is_some() {
                        am.term_start = Set(u.term_start);
                    }
                    if u.term_end.is_some() {
                        am.term_end = Set(u.term_end);
                    }
                    if u.theme_day.is_some() {
                        am.theme_day = Set(u.theme_day.map(i16::from));
                    }
                    am.updated_at = Set(ctx.now.naive_utc());
                    let new = am.update(ctx.txn).await?;
                    ctx.audit("update", "party_unit", &u.code, Some(old), Some(&new))
                        .await?;
                    summary.units.updated += 1;
                    summary.changed_units.push(u.code.clone());
                } else {
                    summary.units.unchanged += 1;
                }
                old.id
            }
            None => {
                let new = insert_unit(ctx, u, superior_id, secretary_id).await?;
                ctx.audit("create", "party_unit", &u.code, None, Some(&new))
                    .await?;
                summary.units.created += 1;
                summary.changed_units.push(u.code.clone());
                new.id
            }
        };
        ids.insert(u.code.clone(), id);
        if let Some(held_on) = u.last_election {
            record_election(ctx, id, held_on, &mut summary.elections).await?;
        }
    }
    Ok(ids)
}

async fn insert_unit(
    ctx: &Ctx<'_>,
    u: &Unit,
    superior_id: Option<i64>,
    secretary_id: Option<i64>,
) -> Result<party_units::Model, StoreError> {
    let name = if u.name.is_empty() {
        u.code.clone()
    } else {
        u.name.clone()
    };
    Ok(party_units::ActiveModel {
        id: NotSet,
        code: Set(u.code.clone()),
        name: Set(name),
        level: Set(u.level.as_str().into()),
        formation: Set(u.formation.as_str().into()),
        superior_id: Set(superior_id),
        secretary_id: Set(secretary_id),
        term_start: Set(u.term_start),
        term_end: Set(u.term_end),
        theme_day: Set(u.theme_day.map(i16::from)),
        created_at: Set(ctx.now.naive_utc()),
        updated_at: Set(ctx.now.naive_utc()),
    }
    .insert(ctx.txn)
    .await?)
}

async fn record_election(
    ctx: &Ctx<'_>,
    unit_id: i64,
    held_on: chrono::NaiveDate,
    counts: &mut Counts,
) -> Result<(), StoreError> {
    let exists = elections::Entity::find()
        .filter(elections::Column::UnitId.eq(unit_id))
        .filter(elections::Column::HeldOn.eq(held_on))
        .count(ctx.txn)
        .await?
        > 0;
    if exists {
        counts.unchanged += 1;
        return Ok(());
    }
    elections::ActiveModel {
        id: NotSet,
        unit_id: Set(unit_id),
        held_on: Set(held_on),
        recorded_at: Set(ctx.now.naive_utc()),
    }
    .insert(ctx.txn)
    .await?;
    #[derive(Serialize)]
    struct Election {
        unit_id: i64,
        held_on: chrono::NaiveDate,
    }
    let after = Election { unit_id, held_on };
    ctx.audit(
        "create",
        "election",
        &format!("{unit_id}:{held_on}"),
        None,
        Some(&after),
    )
    .await?;
    counts.created += 1;
    Ok(())
}

async fn upsert_organisations(
    ctx: &Ctx<'_>,
    batch: &RegisterBatch,
    unit_ids: &HashMap<String, i64>,
    counts: &mut Counts,
) -> Result<(), StoreError> {
    let codes: Vec<String> = batch
        .organisations
        .iter()
        .map(|o| o.credit_code.clone())
        .collect();
    let existing: HashMap<String, organisations::Model> =
        fetch_by::<organisations::Entity, _, _>(ctx.txn, organisations::Column::CreditCode, codes)
            .await?
            .into_iter()
            .map(|m| (m.credit_code.clone(), m))
            .collect();
    for o in &batch.organisations {
        let unit_id = o.unit_code.as_ref().and_then(|c| unit_ids.get(c).copied());
        match existing.get(&o.credit_code) {
            Some(old) => {
                if same_org(old, o, unit_id) {
                    counts.unchanged += 1;
                    continue;
                }
                let mut am: organisations::ActiveModel = old.clone().into();
                am.name = Set(o.name.clone());
                am.kind = Set(o.kind.as_str().into());
                am.district = Set(o.district.clone());
                am.street = Set(o.street.clone());
                am.employees = Set(o.employees as i32);
                am.party_members = Set(o.party_members as i32);
                am.instructor = Set(o.instructor.clone());
                am.unit_id = Set(unit_id);
                am.updated_at = Set(ctx.now.naive_utc());
                let new = am.update(ctx.txn).await?;
                ctx.audit(
                    "update",
                    "organisation",
                    &o.credit_code,
                    Some(old),
                    Some(&new),
                )
                .await?;
                counts.updated += 1;
            }
            None => {
                let new = organisations::ActiveModel {
                    id: NotSet,
                    credit_code: Set(o.credit_code.clone()),
                    name: Set(o.name.clone()),
                    kind: Set(o.kind.as_str().into()),
                    district: Set(o.district.clone()),
                    street: Set(o.street.clone()),
                    employees: Set(o.employees as i32),
                    party_members: Set(o.party_members as i32),
                    instructor: Set(o.instructor.clone()),
                    unit_id: Set(unit_id),
                    created_at: Set(ctx.now.naive_utc()),
                    updated_at: Set(ctx.now.naive_utc()),
                }
                .insert(ctx.txn)
                .await?;
                ctx.audit("create", "organisation", &o.credit_code, None, Some(&new))
                    .await?;
                counts.created += 1;
            }
        }
    }
    Ok(())
}

fn same_org(old: &organisations::Model, o: &Organisation, unit_id: Option<i64>) -> bool {
    old.name == o.name
        && old.kind == o.kind.as_str()
        && old.district == o.district
        && old.street == o.street
        && old.employees == o.employees as i32
        && old.party_members == o.party_members as i32
        && old.instructor == o.instructor
        && old.unit_id == unit_id
}
