//! Open organisational-life bases and their bookings: the rows, the locks a booking takes and
//! the lists. The rules (opening days and hours, places, overlaps, deadlines) are the
//! application layer's; it decides under the locks taken here, inside its own transaction.

use crate::engine::{WriteTx, naive};
use crate::entities::{base_bookings, bases, outbox, party_units, people};
use crate::lists::Scope;
use crate::outbox::outbox_state;
use crate::{Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};
use serde::Serialize;
use std::collections::HashMap;

pub use crate::entities::base_bookings::Model as BookingRow;
pub use crate::entities::bases::Model as BaseModel;

/// Booking states.
pub mod booking_state {
    pub const BOOKED: &str = "booked";
    pub const CANCELLED: &str = "cancelled";
}

/// A base to write (the host unit already resolved to its id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBase {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub host_unit_id: i64,
    pub district: String,
    pub address: String,
    pub capacity: i32,
    pub opens: String,
    pub closes: String,
    pub slot_minutes: i32,
    pub activities: String,
    pub active: bool,
}

/// A booking to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBooking {
    pub base_id: i64,
    pub unit_id: i64,
    pub day: NaiveDate,
    pub starts: String,
    pub ends: String,
    pub activity: String,
    pub headcount: i32,
    pub booked_by: String,
}

/// A booking with its base and unit, as the lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookingLine {
    pub id: i64,
    pub base_code: String,
    pub base_name: String,
    pub district: String,
    pub unit_code: String,
    pub unit_name: String,
    pub day: NaiveDate,
    pub starts: String,
    pub ends: String,
    pub activity: String,
    pub headcount: i32,
    /// `booked` or `cancelled`.
    pub state: String,
    pub booked_by: String,
    pub booked_at: DateTime<Utc>,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// Which bookings a list shows.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    pub base: Option<String>,
    pub unit: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only bookings in force (not cancelled).
    pub booked_only: bool,
    /// The reader's limits: bookings of units in scope, or at bases of its districts.
    pub scope: Option<Scope>,
}

fn unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

impl Store {
    /// The bases, by district and code; only those of `districts` when it is not empty.
    pub async fn list_bases(&self, districts: &[String]) -> Result<Vec<BaseModel>, StoreError> {
        let mut q = bases::Entity::find();
        if !districts.is_empty() {
            q = q.filter(bases::Column::District.is_in(districts.to_vec()));
        }
        Ok(q.order_by_asc(bases::Column::District)
            .order_by_asc(bases::Column::Code)
            .all(self.conn())
            .await?)
    }

    pub async fn base_by_code(&self, code: &str) -> Result<Option<BaseModel>, StoreError> {
        Ok(bases::Entity::find()
            .filter(bases::Column::Code.eq(code))
            .one(self.conn())
            .await?)
    }

    /// The codes and names of units by id.
    pub async fn unit_names(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, (String, String)>, StoreError> {
        let rows: Vec<(i64, String, String)> = party_units::Entity::find()
            .select_only()
            .column(party_units::Column::Id)
            .column(party_units::Column::Code)
            .column(party_units::Column::Name)
            .filter(party_units::Column::Id.is_in(ids.to_vec()))
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows.into_iter().map(|(i, c, n)| (i, (c, n))).collect())
    }

    /// The unit with this code (id, name), if there is one.
    pub async fn party_unit(&self, code: &str) -> Result<Option<party_units::Model>, StoreError> {
        Ok(party_units::Entity::find()
            .filter(party_units::Column::Code.eq(code))
            .one(self.conn())
            .await?)
    }

    /// A base's bookings in force between two days (inclusive), for its calendar.
    pub async fn base_bookings_between(
        &self,
        base_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<BookingRow>, StoreError> {
        Ok(base_bookings::Entity::find()
            .filter(base_bookings::Column::BaseId.eq(base_id))
            .filter(base_bookings::Column::State.eq(booking_state::BOOKED))
            .filter(base_bookings::Column::Day.between(from, to))
            .order_by_asc(base_bookings::Column::Day)
            .order_by_asc(base_bookings::Column::Starts)
            .order_by_asc(base_bookings::Column::Id)
            .all(self.conn())
            .await?)
    }

    /// Bookings by day and start, filtered and limited to the reader's scope in the database.
    pub async fn list_bookings(&self, f: &BookingFilter) -> Result<Vec<BookingLine>, StoreError> {
        let mut q = base_bookings::Entity::find();
        if let Some(code) = &f.base {
            let Some(b) = self.base_by_code(code).await? else {
                return Ok(Vec::new());
            };
            q = q.filter(base_bookings::Column::BaseId.eq(b.id));
        }
        if let Some(code) = &f.unit {
            let Some(u) = self.party_unit(code).await? else {
                return Ok(Vec::new());
            };
            q = q.filter(base_bookings::Column::UnitId.eq(u.id));
        }
        if let Some(from) = f.from {
            q = q.filter(base_bookings::Column::Day.gte(from));
        }
        if let Some(to) = f.to {
            q = q.filter(base_bookings::Column::Day.lte(to));
        }
        if f.booked_only {
            q = q.filter(base_bookings::Column::State.eq(booking_state::BOOKED));
        }
        if let Some(s) = &f.scope {
            let units = Store::in_scope(base_bookings::Column::UnitId, &f.scope);
            let mut either = Condition::any().add(units);
            if !s.districts.is_empty() && s.units.is_empty() {
                either = either.add(
                    base_bookings::Column::BaseId.in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column(bases::Column::Id)
                            .from(bases::Entity)
                            .and_where(
                                Expr::col(bases::Column::District).is_in(s.districts.clone()),
                            )
                            .to_owned(),
                    ),
                );
            }
            q = q.filter(either);
        }
        let rows = q
            .order_by_asc(base_bookings::Column::Day)
            .order_by_asc(base_bookings::Column::Starts)
            .order_by_asc(base_bookings::Column::Id)
            .all(self.conn())
            .await?;
        let mut base_ids: Vec<i64> = rows.iter().map(|r| r.base_id).collect();
        base_ids.sort_unstable();
        base_ids.dedup();
        let bases: HashMap<i64, BaseModel> = bases::Entity::find()
            .filter(bases::Column::Id.is_in(base_ids))
            .all(self.conn())
            .await?
            .into_iter()
            .map(|b| (b.id, b))
            .collect();
        let mut unit_ids: Vec<i64> = rows.iter().map(|r| r.unit_id).collect();
        unit_ids.sort_unstable();
        unit_ids.dedup();
        let units = self.unit_names(&unit_ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let b = bases.get(&r.base_id);
                let u = units.get(&r.unit_id);
                BookingLine {
                    id: r.id,
                    base_code: b.map(|b| b.code.clone()).unwrap_or_default(),
                    base_name: b.map(|b| b.name.clone()).unwrap_or_default(),
                    district: b.map(|b| b.district.clone()).unwrap_or_default(),
                    unit_code: u.map(|u| u.0.clone()).unwrap_or_default(),
                    unit_name: u.map(|u| u.1.clone()).unwrap_or_default(),
                    day: r.day,
                    starts: r.starts,
                    ends: r.ends,
                    activity: r.activity,
                    headcount: r.headcount,
                    state: r.state,
                    booked_by: r.booked_by,
                    booked_at: r.booked_at.and_utc(),
                    cancelled_by: r.cancelled_by,
                    cancelled_at: r.cancelled_at.map(|t| t.and_utc()),
                }
            })
            .collect())
    }

    /// One booking.
    pub async fn booking_by_id(&self, id: i64) -> Result<Option<BookingRow>, StoreError> {
        Ok(base_bookings::Entity::find_by_id(id)
            .one(self.conn())
            .await?)
    }
}

impl WriteTx {
    /// Adds a base; a code already used is refused.
    pub async fn insert_base(
        &self,
        b: &NewBase,
        now: DateTime<Utc>,
    ) -> Result<BaseModel, StoreError> {
        let row = bases::ActiveModel {
            id: NotSet,
            code: Set(b.code.clone()),
            name: Set(b.name.clone()),
            kind: Set(b.kind.clone()),
            host_unit_id: Set(b.host_unit_id),
            district: Set(b.district.clone()),
            address: Set(b.address.clone()),
            capacity: Set(b.capacity),
            opens: Set(b.opens.clone()),
            closes: Set(b.closes.clone()),
            slot_minutes: Set(b.slot_minutes),
            activities: Set(b.activities.clone()),
            active: Set(b.active),
            created_at: Set(naive(now)),
            updated_at: Set(naive(now)),
        };
        match row.insert(self.conn()).await {
            Ok(m) => Ok(m),
            Err(e) if unique_violation(&e) => Err(StoreError::Invalid(format!(
                "基地编码“{}”已被使用 (the code {:?} is taken)",
                b.code, b.code
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes a base (its code stays).
    pub async fn update_base(
        &self,
        id: i64,
        b: &NewBase,
        now: DateTime<Utc>,
    ) -> Result<BaseModel, StoreError> {
        let row = bases::ActiveModel {
            id: Set(id),
            code: NotSet,
            name: Set(b.name.clone()),
            kind: Set(b.kind.clone()),
            host_unit_id: Set(b.host_unit_id),
            district: Set(b.district.clone()),
            address: Set(b.address.clone()),
            capacity: Set(b.capacity),
            opens: Set(b.opens.clone()),
            closes: Set(b.closes.clone()),
            slot_minutes: Set(b.slot_minutes),
            activities: Set(b.activities.clone()),
            active: Set(b.active),
            created_at: NotSet,
            updated_at: Set(naive(now)),
        };
        Ok(row.update(self.conn()).await?)
    }

    /// The base by code, locked for the rest of the transaction (`SELECT … FOR UPDATE` on
    /// PostgreSQL and MariaDB; SQLite's write transaction already holds the database): the
    /// bookings of one base take turns, so its places are counted under the lock.
    pub async fn lock_base(&self, code: &str) -> Result<Option<BaseModel>, StoreError> {
        Ok(bases::Entity::find()
            .filter(bases::Column::Code.eq(code))
            .lock_exclusive()
            .one(self.conn())
            .await?)
    }

    /// The unit by code, locked for the rest of the transaction: one unit's bookings take
    /// turns, so its overlaps at every base are checked under the lock. A booking locks its
    /// unit before its base, always in that order.
    pub async fn lock_unit(&self, code: &str) -> Result<Option<party_units::Model>, StoreError> {
        Ok(party_units::Entity::find()
            .filter(party_units::Column::Code.eq(code))
            .lock_exclusive()
            .one(self.conn())
            .await?)
    }

    /// The places booked in a slot of a base (the sum of the head counts in force).
    pub async fn booked_places(
        &self,
        base_id: i64,
        day: NaiveDate,
        starts: &str,
    ) -> Result<i64, StoreError> {
        let counts: Vec<i32> = base_bookings::Entity::find()
            .select_only()
            .column(base_bookings::Column::Headcount)
            .filter(base_bookings::Column::BaseId.eq(base_id))
            .filter(base_bookings::Column::Day.eq(day))
            .filter(base_bookings::Column::Starts.eq(starts))
            .filter(base_bookings::Column::State.eq(booking_state::BOOKED))
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(counts.into_iter().map(i64::from).sum())
    }

    /// A unit's bookings in force on a day, at every base.
    pub async fn unit_bookings_on(
        &self,
        unit_id: i64,
        day: NaiveDate,
    ) -> Result<Vec<BookingRow>, StoreError> {
        Ok(base_bookings::Entity::find()
            .filter(base_bookings::Column::UnitId.eq(unit_id))
            .filter(base_bookings::Column::Day.eq(day))
            .filter(base_bookings::Column::State.eq(booking_state::BOOKED))
            .all(self.conn())
            .await?)
    }

    pub async fn insert_booking(
        &self,
        b: &NewBooking,
        now: DateTime<Utc>,
    ) -> Result<BookingRow, StoreError> {
        Ok(base_bookings::ActiveModel {
            id: NotSet,
            base_id: Set(b.base_id),
            unit_id: Set(b.unit_id),
            day: Set(b.day),
            starts: Set(b.starts.clone()),
            ends: Set(b.ends.clone()),
            activity: Set(b.activity.clone()),
            headcount: Set(b.headcount),
            state: Set(booking_state::BOOKED.into()),
            booked_by: Set(b.booked_by.clone()),
            booked_at: Set(naive(now)),
            cancelled_by: Set(None),
            cancelled_at: Set(None),
        }
        .insert(self.conn())
        .await?)
    }

    /// The booking, locked for the rest of the transaction.
    pub async fn lock_booking(&self, id: i64) -> Result<Option<BookingRow>, StoreError> {
        Ok(base_bookings::Entity::find_by_id(id)
            .lock_exclusive()
            .one(self.conn())
            .await?)
    }

    pub async fn cancel_booking(
        &self,
        id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<BookingRow, StoreError> {
        Ok(base_bookings::ActiveModel {
            id: Set(id),
            state: Set(booking_state::CANCELLED.into()),
            cancelled_by: Set(Some(by.to_string())),
            cancelled_at: Set(Some(naive(now))),
            ..Default::default()
        }
        .update(self.conn())
        .await?)
    }

    /// Messages not yet sent whose idempotency key starts with `prefix` are dropped with
    /// `reason`; answers how many.
    pub async fn drop_pending_messages(
        &self,
        prefix: &str,
        reason: &str,
    ) -> Result<u64, StoreError> {
        let r = outbox::Entity::update_many()
            .col_expr(outbox::Column::State, Expr::value(outbox_state::DROPPED))
            .col_expr(outbox::Column::LastError, Expr::value(reason))
            .filter(outbox::Column::IdempotencyKey.starts_with(prefix))
            .filter(outbox::Column::State.eq(outbox_state::PENDING))
            .exec(self.conn())
            .await?;
        Ok(r.rows_affected)
    }

    /// The secretary of a unit, if it has one.
    pub async fn secretary_of(
        &self,
        unit: &party_units::Model,
    ) -> Result<Option<people::Model>, StoreError> {
        Ok(match unit.secretary_id {
            Some(id) => people::Entity::find_by_id(id).one(self.conn()).await?,
            None => None,
        })
    }

    /// The districts of a unit's organisations.
    pub async fn unit_districts(&self, unit_id: i64) -> Result<Vec<String>, StoreError> {
        use crate::entities::organisations;
        let mut d: Vec<String> = organisations::Entity::find()
            .select_only()
            .column(organisations::Column::District)
            .filter(organisations::Column::UnitId.eq(unit_id))
            .into_tuple()
            .all(self.conn())
            .await?;
        d.sort();
        d.dedup();
        Ok(d)
    }

    /// The base by code, unlocked, inside the transaction.
    pub async fn base_in_tx(&self, code: &str) -> Result<Option<BaseModel>, StoreError> {
        Ok(bases::Entity::find()
            .filter(bases::Column::Code.eq(code))
            .one(self.conn())
            .await?)
    }

    /// The base by id, inside the transaction.
    pub async fn base_by_id(&self, id: i64) -> Result<Option<BaseModel>, StoreError> {
        Ok(bases::Entity::find_by_id(id).one(self.conn()).await?)
    }

    /// The unit by id, inside the transaction.
    pub async fn unit_by_id(&self, id: i64) -> Result<Option<party_units::Model>, StoreError> {
        Ok(party_units::Entity::find_by_id(id).one(self.conn()).await?)
    }

    /// The unit by code, unlocked, inside the transaction.
    pub async fn unit_in_tx(&self, code: &str) -> Result<Option<party_units::Model>, StoreError> {
        Ok(party_units::Entity::find()
            .filter(party_units::Column::Code.eq(code))
            .one(self.conn())
            .await?)
    }
}
