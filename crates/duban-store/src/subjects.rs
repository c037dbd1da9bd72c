//! What the engine plans for and reacts to: units with their people, rectification items,
//! interviews, and the completion events recorded against them.

use crate::engine::WriteTx;
use crate::entities::{
    elections, interviews, members, party_units, people, rectification_items,
    rectification_progress, subject_events, term_extensions,
};
use crate::{Store, StoreError};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseExecutor, EntityTrait, NotSet,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

pub use crate::entities::interviews::Model as InterviewRow;
pub use crate::entities::members::Model as MemberRow;
pub use crate::entities::people::Model as PersonRow;
pub use crate::entities::rectification_items::Model as ItemRow;
pub use crate::entities::subject_events::Model as EventRow;

/// A unit with the people its chains talk to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitSnapshot {
    pub unit: party_units::Model,
    pub secretary: Option<PersonRow>,
    pub superior: Option<party_units::Model>,
    pub superior_secretary: Option<PersonRow>,
}

async fn person<C: ConnectionTrait>(
    c: &C,
    id: Option<i64>,
) -> Result<Option<PersonRow>, StoreError> {
    Ok(match id {
        Some(id) => people::Entity::find_by_id(id).one(c).await?,
        None => None,
    })
}

async fn snapshot<C: ConnectionTrait>(
    c: &C,
    unit: party_units::Model,
) -> Result<UnitSnapshot, StoreError> {
    let secretary = person(c, unit.secretary_id).await?;
    let superior = match unit.superior_id {
        Some(id) => party_units::Entity::find_by_id(id).one(c).await?,
        None => None,
    };
    let superior_secretary = person(c, superior.as_ref().and_then(|s| s.secretary_id)).await?;
    Ok(UnitSnapshot {
        unit,
        secretary,
        superior,
        superior_secretary,
    })
}

/// Reads that work both on the pool and inside a write transaction, so a completion can
/// re-plan a subject seeing its own uncommitted changes.
#[derive(Clone, Copy)]
pub struct Reader<'a>(&'a DatabaseExecutor<'a>);

impl Store {
    /// Runs `f` with a reader on the pool.
    pub fn reader(&self) -> OwnedReader<'_> {
        OwnedReader(DatabaseExecutor::from(self.conn()))
    }
}

impl WriteTx {
    /// A reader that sees this transaction's writes.
    pub fn reader(&self) -> OwnedReader<'_> {
        OwnedReader(DatabaseExecutor::from(self.conn()))
    }
}

/// Holds the executor a [`Reader`] borrows.
pub struct OwnedReader<'a>(DatabaseExecutor<'a>);

impl<'a> OwnedReader<'a> {
    pub fn get(&'a self) -> Reader<'a> {
        Reader(&self.0)
    }
}

impl Reader<'_> {
    pub async fn unit_by_code(&self, code: &str) -> Result<Option<UnitSnapshot>, StoreError> {
        let c = self.0;
        match party_units::Entity::find()
            .filter(party_units::Column::Code.eq(code))
            .one(c)
            .await?
        {
            Some(u) => Ok(Some(snapshot(c, u).await?)),
            None => Ok(None),
        }
    }

    pub async fn unit_by_id(&self, id: i64) -> Result<Option<UnitSnapshot>, StoreError> {
        let c = self.0;
        match party_units::Entity::find_by_id(id).one(c).await? {
            Some(u) => Ok(Some(snapshot(c, u).await?)),
            None => Ok(None),
        }
    }

    /// Everyone holding a staff role (`org_department`, `finance`), with their roles.
    pub async fn staff(&self) -> Result<Vec<PersonRow>, StoreError> {
        Ok(people::Entity::find()
            .filter(people::Column::Roles.ne(""))
            .order_by_asc(people::Column::Id)
            .all(self.0)
            .await?)
    }

    pub async fn person_by_id(&self, id: i64) -> Result<Option<PersonRow>, StoreError> {
        person(self.0, Some(id)).await
    }

    pub async fn person_by_key(&self, key: &str) -> Result<Option<PersonRow>, StoreError> {
        Ok(people::Entity::find()
            .filter(people::Column::PersonKey.eq(key))
            .one(self.0)
            .await?)
    }

    pub async fn rectification_item(&self, id: i64) -> Result<Option<ItemRow>, StoreError> {
        Ok(rectification_items::Entity::find_by_id(id)
            .one(self.0)
            .await?)
    }

    pub async fn interview(&self, id: i64) -> Result<Option<InterviewRow>, StoreError> {
        Ok(interviews::Entity::find_by_id(id).one(self.0).await?)
    }

    /// One member of a unit's roster, active or not.
    pub async fn member(&self, id: i64) -> Result<Option<MemberRow>, StoreError> {
        Ok(members::Entity::find_by_id(id).one(self.0).await?)
    }

    /// The subject (of those whose key starts with `prefix`) on which `event` was recorded
    /// last: e.g. the term a unit last elected in.
    pub async fn last_subject_with_event(
        &self,
        prefix: &str,
        event: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(subject_events::Entity::find()
            .filter(subject_events::Column::SubjectKey.starts_with(prefix))
            .filter(subject_events::Column::Name.eq(event))
            .order_by_desc(subject_events::Column::At)
            .one(self.0)
            .await?
            .map(|e| e.subject_key))
    }

    /// A subject's completion events, oldest first.
    pub async fn events_of(&self, subject_key: &str) -> Result<Vec<EventRow>, StoreError> {
        Ok(subject_events::Entity::find()
            .filter(subject_events::Column::SubjectKey.eq(subject_key))
            .order_by_asc(subject_events::Column::At)
            .order_by_asc(subject_events::Column::Id)
            .all(self.0)
            .await?)
    }
}

impl Store {
    pub async fn unit_by_code(&self, code: &str) -> Result<Option<UnitSnapshot>, StoreError> {
        self.reader().get().unit_by_code(code).await
    }

    pub async fn person_by_key(&self, key: &str) -> Result<Option<PersonRow>, StoreError> {
        self.reader().get().person_by_key(key).await
    }

    pub async fn rectification_item(&self, id: i64) -> Result<Option<ItemRow>, StoreError> {
        self.reader().get().rectification_item(id).await
    }

    pub async fn interview(&self, id: i64) -> Result<Option<InterviewRow>, StoreError> {
        self.reader().get().interview(id).await
    }

    /// Unit codes in order, `limit` at a time after `after`: for sweeping the register.
    pub async fn unit_codes_after(
        &self,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<String>, StoreError> {
        let mut q = party_units::Entity::find()
            .select_only()
            .column(party_units::Column::Code)
            .order_by_asc(party_units::Column::Code)
            .limit(limit);
        if let Some(a) = after {
            q = q.filter(party_units::Column::Code.gt(a));
        }
        Ok(q.into_tuple().all(self.conn()).await?)
    }

    /// Open rectification items, for sweeping.
    pub async fn open_item_ids(&self) -> Result<Vec<i64>, StoreError> {
        Ok(rectification_items::Entity::find()
            .select_only()
            .column(rectification_items::Column::Id)
            .filter(rectification_items::Column::Status.ne("closed"))
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    /// Scheduled interviews, for sweeping.
    pub async fn scheduled_interview_ids(&self) -> Result<Vec<i64>, StoreError> {
        Ok(interviews::Entity::find()
            .select_only()
            .column(interviews::Column::Id)
            .filter(interviews::Column::Status.eq("scheduled"))
            .into_tuple()
            .all(self.conn())
            .await?)
    }
}

/// A completion event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub subject_key: String,
    pub name: String,
    pub at: DateTime<Utc>,
    pub value: Option<NaiveDateTime>,
    pub reason: Option<String>,
    pub actor: String,
    pub idempotency_key: String,
}

/// A new interview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInterview {
    pub unit_id: i64,
    pub interviewee_id: Option<i64>,
    pub reason: String,
    pub source: String,
    pub scheduled_at: NaiveDateTime,
    pub location: Option<String>,
    pub origin_key: Option<String>,
}

/// A new rectification item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub unit_id: i64,
    pub title: String,
    pub kind: String,
    pub measures: Option<String>,
    pub owner_id: Option<i64>,
    pub leader_id: Option<i64>,
    pub verifier_id: Option<i64>,
    pub opened_on: NaiveDate,
    pub deadline: NaiveDate,
    pub interview_id: Option<i64>,
}

impl WriteTx {
    /// Records an event; `false` if one with the same idempotency key exists already.
    pub async fn record_event(&self, e: &NewEvent, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let exists = subject_events::Entity::find()
            .filter(subject_events::Column::IdempotencyKey.eq(&e.idempotency_key))
            .one(self.conn())
            .await?;
        if exists.is_some() {
            return Ok(false);
        }
        subject_events::ActiveModel {
            id: NotSet,
            subject_key: Set(e.subject_key.clone()),
            name: Set(e.name.clone()),
            at: Set(e.at.naive_utc()),
            value: Set(e.value),
            reason: Set(e.reason.clone()),
            actor: Set(e.actor.clone()),
            idempotency_key: Set(e.idempotency_key.clone()),
            created_at: Set(now.naive_utc()),
        }
        .insert(self.conn())
        .await?;
        Ok(true)
    }

    /// Records an election held on `held_on` and starts the new term at that date.
    pub async fn record_election(
        &self,
        unit: &party_units::Model,
        held_on: NaiveDate,
        new_term_end: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<party_units::Model, StoreError> {
        elections::Entity::insert(elections::ActiveModel {
            id: NotSet,
            unit_id: Set(unit.id),
            held_on: Set(held_on),
            recorded_at: Set(now.naive_utc()),
        })
        .on_conflict(
            OnConflict::columns([elections::Column::UnitId, elections::Column::HeldOn])
                .do_nothing_on([elections::Column::Id])
                .to_owned(),
        )
        .exec_without_returning(self.conn())
        .await?;
        let mut am: party_units::ActiveModel = unit.clone().into();
        am.term_start = Set(Some(held_on));
        am.term_end = Set(Some(new_term_end));
        am.updated_at = Set(now.naive_utc());
        Ok(am.update(self.conn()).await?)
    }

    pub async fn record_extension(
        &self,
        unit: &party_units::Model,
        approved_on: NaiveDate,
        new_term_end: NaiveDate,
        reason: Option<String>,
        approved_by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        term_extensions::ActiveModel {
            id: NotSet,
            unit_id: Set(unit.id),
            approved_on: Set(approved_on),
            new_term_end: Set(new_term_end),
            reason: Set(reason),
            approved_by: Set(approved_by.to_string()),
            created_at: Set(now.naive_utc()),
        }
        .insert(self.conn())
        .await?;
        Ok(())
    }

    /// Opens an interview; with an origin key, only once per key. Returns the interview and
    /// whether this call created it.
    pub async fn open_interview(
        &self,
        i: &NewInterview,
        now: DateTime<Utc>,
    ) -> Result<(InterviewRow, bool), StoreError> {
        if let Some(key) = &i.origin_key
            && let Some(existing) = interviews::Entity::find()
                .filter(interviews::Column::OriginKey.eq(key))
                .one(self.conn())
                .await?
        {
            return Ok((existing, false));
        }
        let row = interviews::ActiveModel {
            id: NotSet,
            unit_id: Set(i.unit_id),
            interviewee_id: Set(i.interviewee_id),
            reason: Set(i.reason.clone()),
            source: Set(i.source.clone()),
            scheduled_at: Set(i.scheduled_at),
            location: Set(i.location.clone()),
            held_on: Set(None),
            record: Set(None),
            status: Set("scheduled".into()),
            origin_key: Set(i.origin_key.clone()),
            created_at: Set(now.naive_utc()),
            updated_at: Set(now.naive_utc()),
        }
        .insert(self.conn())
        .await?;
        Ok((row, true))
    }

    pub async fn mark_interview_held(
        &self,
        interview: &InterviewRow,
        held_on: NaiveDate,
        record: &str,
        now: DateTime<Utc>,
    ) -> Result<InterviewRow, StoreError> {
        let mut am: interviews::ActiveModel = interview.clone().into();
        am.held_on = Set(Some(held_on));
        am.record = Set(Some(record.to_string()));
        am.status = Set("held".into());
        am.updated_at = Set(now.naive_utc());
        Ok(am.update(self.conn()).await?)
    }

    /// Files the interview's record (约谈记录); marks it held on `held_on` if it was not yet.
    pub async fn file_interview_record(
        &self,
        interview: &InterviewRow,
        held_on: NaiveDate,
        record: &str,
        now: DateTime<Utc>,
    ) -> Result<InterviewRow, StoreError> {
        let mut am: interviews::ActiveModel = interview.clone().into();
        if interview.held_on.is_none() {
            am.held_on = Set(Some(held_on));
        }
        am.record = Set(Some(record.to_string()));
        am.status = Set("held".into());
        am.updated_at = Set(now.naive_utc());
        Ok(am.update(self.conn()).await?)
    }

    /// Moves an interview to a new time (and place).
    pub async fn reschedule_interview(
        &self,
        interview: &InterviewRow,
        at: NaiveDateTime,
        location: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<InterviewRow, StoreError> {
        let mut am: interviews::ActiveModel = interview.clone().into();
        am.scheduled_at = Set(at);
        if location.is_some() {
            am.location = Set(location);
        }
        am.updated_at = Set(now.naive_utc());
        Ok(am.update(self.conn()).await?)
    }

    /// A new deadline for an open rectification item (an approved extension).
    pub async fn extend_deadline(
        &self,
        item: &ItemRow,
        deadline: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<ItemRow, StoreError> {
        let mut am: rectification_items::ActiveModel = item.clone().into();
        am.deadline = Set(deadline);
        am.final_deadline = Set(None);
        am.updated_at = Set(now.naive_utc());
        Ok(am.update(self.conn()).await?)
    }

    pub async fn open_item(&self, i: &NewItem, now: DateTime<Utc>) -> Result<ItemRow, StoreError> {
        Ok(rectification_items::ActiveModel {
            id: NotSet,
            unit_id: Set(i.unit_id),
            title: Set(i.title.clone()),
            kind: Set(i.kind.clone()),
            measures: Set(i.measures.clone()),
            owner_id: Set(i.owner_id),
            leader_id: Set(i.leader_id),
            verifier_id: Set(i.verifier_id),
            opened_on: Set(i.opened_on),
            deadline: Set(i.deadline),
            final_deadline: Set(None),
            status: Set("open".into()),
            closed_on: Set(None),
            interview_id: Set(i.interview_id),
            created_at: Set(now.naive_utc()),
            updated_at: Set(now.naive_utc()),
        }
        .insert(self.conn())
        .await?)
    }

    pub async fn report_progress(
        &self,
        item: &ItemRow,
        reported_on: NaiveDate,
        note: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        rectification_progress::ActiveModel {
            id: NotSet,
            item_id: Set(item.id),
            reported_on: Set(reported_on),
            note: Set(note.to_string()),
            actor: Set(actor.to_string()),
            created_at: Set(now.naive_utc()),
        }
        .insert(self.conn())
        .await?;
        Ok(())
    }

    pub async fn close_item(
        &self,
        item: &ItemRow,
        closed_on: NaiveDate,
        verifier_id: i64,
        now: DateTime<Utc>,
    ) -> Result<ItemRow, StoreError> {
        let mut am: rectification_items::ActiveModel = item.clone().into();
        am.status = Set("closed".into());
        am.closed_on = Set(Some(closed_on));
        am.verifier_id = Set(Some(verifier_id));
        am.updated_at = Set(now.naive_utc());
        Ok(am.update(self.conn()).await?)
    }

    /// Writes an audit entry for a change made through a completion.
    pub async fn audit(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        action: &str,
        key: &str,
        after_json: &str,
    ) -> Result<(), StoreError> {
        let after: serde_json::Value = serde_json::from_str(after_json)
            .unwrap_or(serde_json::Value::String(after_json.to_string()));
        crate::audit::record(
            self.conn(),
            crate::audit::Change {
                actor,
                origin: crate::audit::ORIGIN_CLI,
                at,
                action,
                entity: "subject",
                key,
                before: None,
                after: Some(&after),
            },
        )
        .await?;
        Ok(())
    }

    /// Adds a member of staff who need not be in the register (an officer of the
    /// organisation department, a finance officer), or updates the one with the same key.
    #[allow(clippy::too_many_arguments)]
    pub async fn upsert_staff(
        &self,
        key: &str,
        name: &str,
        post: Option<String>,
        mobile: Option<String>,
        email: Option<String>,
        roles: &str,
        now: DateTime<Utc>,
    ) -> Result<(Option<PersonRow>, PersonRow), StoreError> {
        let channels = [
            mobile.as_ref().map(|_| "sms"),
            email.as_ref().map(|_| "email"),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(",");
        let before = people::Entity::find()
            .filter(people::Column::PersonKey.eq(key))
            .one(self.conn())
            .await?;
        let after = match &before {
            Some(old) => {
                let mut am: people::ActiveModel = old.clone().into();
                am.name = Set(name.to_string());
                if post.is_some() {
                    am.post = Set(post);
                }
                if mobile.is_some() {
                    am.mobile = Set(mobile);
                }
                if email.is_some() {
                    am.email = Set(email);
                }
                let mut have: Vec<&str> =
                    old.channels.split(',').filter(|c| !c.is_empty()).collect();
                for c in channels.split(',').filter(|c| !c.is_empty()) {
                    if !have.contains(&c) {
                        have.push(c);
                    }
                }
                am.channels = Set(have.join(","));
                am.roles = Set(roles.to_string());
                am.updated_at = Set(now.naive_utc());
                am.update(self.conn()).await?
            }
            None => {
                people::ActiveModel {
                    id: NotSet,
                    person_key: Set(key.to_string()),
                    name: Set(name.to_string()),
                    post: Set(post),
                    mobile: Set(mobile),
                    email: Set(email),
                    channels: Set(channels),
                    roles: Set(roles.to_string()),
                    created_at: Set(now.naive_utc()),
                    updated_at: Set(now.naive_utc()),
                }
                .insert(self.conn())
                .await?
            }
        };
        Ok((before, after))
    }

    /// Gives a person staff roles (`org_department`, `finance`).
    pub async fn set_person_roles(
        &self,
        p: &PersonRow,
        roles: &str,
        now: DateTime<Utc>,
    ) -> Result<PersonRow, StoreError> {
        let mut am: people::ActiveModel = p.clone().into();
        am.roles = Set(roles.to_string());
        am.updated_at = Set(now.naive_utc());
        Ok(am.update(self.conn()).await?)
    }
}
