//! What administrators list: units, rectification items, interviews, chains and staff, with
//! names rather than internal keys, filtered in the database.

use crate::entities::{
    interviews, members, organisations, outbox, party_units, people, rectification_items, timers,
    workflow_instances,
};
use crate::{Store, StoreError};
use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use std::collections::HashMap;

/// Filters shared by the lists; each is optional.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// 区县, as in the register.
    pub district: Option<String>,
    /// A unit's code.
    pub unit: Option<String>,
    /// Part of a name (unit, item title, interviewee).
    pub search: Option<String>,
    /// Units covering an organisation of this kind (组织类别: 非公企业, 社会组织 …).
    pub kind: Option<String>,
    /// Units of this level (党组织类别: 基层委员会, 总支, 支部 …).
    pub level: Option<String>,
    /// Only what is past its date on `today`.
    pub overdue: bool,
    /// Units whose term ends from `today` up to this date (换届 coming up).
    pub term_ends_by: Option<NaiveDate>,
    pub status: Option<String>,
    pub workflow: Option<String>,
    /// Only instances escalated at least once.
    pub escalated: bool,
    pub today: Option<NaiveDate>,
    pub limit: u64,
    pub offset: u64,
    /// What the reader may see at all (a user limited to districts or units).
    pub scope: Option<Scope>,
    /// The order of units (other lists keep their own).
    pub order: UnitOrder,
    pub descending: bool,
}

/// The columns the list of units can be sorted by; ties go by code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnitOrder {
    #[default]
    Code,
    Name,
    Level,
    /// 任期届满: units without a term come last.
    TermEnd,
}

impl UnitOrder {
    pub const ALL: [UnitOrder; 4] = [
        UnitOrder::Code,
        UnitOrder::Name,
        UnitOrder::Level,
        UnitOrder::TermEnd,
    ];

    /// The column's name in addresses (`?sort=term_end`).
    pub fn as_str(self) -> &'static str {
        match self {
            UnitOrder::Code => "code",
            UnitOrder::Name => "name",
            UnitOrder::Level => "level",
            UnitOrder::TermEnd => "term_end",
        }
    }
}

/// The values the register's filters can take.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegisterFacets {
    pub districts: Vec<String>,
    pub kinds: Vec<String>,
    pub levels: Vec<String>,
}

/// The unit a subject concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubjectUnit {
    pub code: String,
    pub name: String,
    /// The districts of the organisations it covers.
    pub districts: Vec<String>,
}

/// The part of the register a user is limited to; an empty list does not limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub districts: Vec<String>,
    pub units: Vec<String>,
}

impl Scope {
    pub fn is_unlimited(&self) -> bool {
        self.districts.is_empty() && self.units.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitLine {
    pub code: String,
    pub name: String,
    pub level: String,
    pub district: Option<String>,
    pub superior: Option<String>,
    pub secretary: Option<String>,
    pub term_start: Option<NaiveDate>,
    pub term_end: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemLine {
    pub id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub title: String,
    pub kind: String,
    pub owner: Option<String>,
    pub verifier: Option<String>,
    pub opened_on: NaiveDate,
    pub deadline: NaiveDate,
    pub status: String,
    pub closed_on: Option<NaiveDate>,
    pub interview_id: Option<i64>,
}

/// An organisation a unit covers (两新组织), as the register has it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganisationLine {
    pub credit_code: String,
    pub name: String,
    /// 组织类别: 非公企业, 社会组织 …
    pub kind: String,
    pub district: String,
    pub street: String,
    pub employees: i32,
    pub party_members: i32,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InterviewLine {
    pub id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub interviewee: Option<String>,
    pub reason: String,
    pub source: String,
    /// Beijing time, without offset.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-12-10T09:00:00"))]
    pub scheduled_at: chrono::NaiveDateTime,
    pub location: Option<String>,
    pub held_on: Option<NaiveDate>,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceLine {
    pub id: i64,
    pub workflow_id: String,
    pub subject_key: String,
    /// Who or what the subject is when its key does not say (a member's name).
    pub subject_name: Option<String>,
    pub unit_code: Option<String>,
    pub unit_name: Option<String>,
    pub status: String,
    pub subject_status: Option<String>,
    pub escalation_level: i32,
}

/// The unit code a subject key belongs to, when it names one directly.
fn unit_code_of_key(key: &str) -> Option<&str> {
    let (kind, rest) = key.split_once(':')?;
    match kind {
        "term" => rest.rsplit_once(':').map(|(u, _)| u),
        "unit" => Some(rest),
        _ => None,
    }
}

impl Store {
    /// Unit id → district, from the organisations the unit covers.
    async fn districts(&self) -> Result<HashMap<i64, String>, StoreError> {
        let rows: Vec<(Option<i64>, String)> = organisations::Entity::find()
            .select_only()
            .column(organisations::Column::UnitId)
            .column(organisations::Column::District)
            .filter(organisations::Column::UnitId.is_not_null())
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(u, d)| u.map(|u| (u, d)))
            .filter(|(_, d)| !d.is_empty())
            .collect())
    }

    /// The ids of the units covering organisations in `district`, as a subquery.
    fn district_units(district: &str) -> sea_orm::sea_query::SelectStatement {
        Self::districts_units(std::slice::from_ref(&district.to_string()))
    }

    /// The ids of the units covering organisations in any of `districts`, as a subquery.
    fn districts_units(districts: &[String]) -> sea_orm::sea_query::SelectStatement {
        Query::select()
            .column(organisations::Column::UnitId)
            .from(organisations::Entity)
            .and_where(Expr::col(organisations::Column::District).is_in(districts.to_vec()))
            .to_owned()
    }

    /// The ids of the units with these codes, as a subquery.
    fn coded_units(codes: &[String]) -> sea_orm::sea_query::SelectStatement {
        Query::select()
            .column(party_units::Column::Id)
            .from(party_units::Entity)
            .and_where(Expr::col(party_units::Column::Code).is_in(codes.to_vec()))
            .to_owned()
    }

    fn in_district(district: &str) -> Condition {
        Condition::all().add(
            Expr::col((party_units::Entity, party_units::Column::Id))
                .in_subquery(Self::district_units(district)),
        )
    }

    /// A scope as a condition on a unit-id column.
    pub(crate) fn in_scope(unit_column: impl ColumnTrait, scope: &Option<Scope>) -> Condition {
        let mut c = Condition::all();
        if let Some(s) = scope {
            if !s.districts.is_empty() {
                c = c.add(unit_column.in_subquery(Self::districts_units(&s.districts)));
            }
            if !s.units.is_empty() {
                c = c.add(unit_column.in_subquery(Self::coded_units(&s.units)));
            }
        }
        c
    }

    /// The unit a subject key concerns (`term:…`, `unit:…`, `rectification:N`,
    /// `interview:N`, `member:N`), with the districts of its organisations; `None` when there is none.
    pub async fn unit_of_subject(&self, key: &str) -> Result<Option<SubjectUnit>, StoreError> {
        let units = self.units_of_subjects(&[key.to_string()]).await?;
        let Some(unit) = units.get(key) else {
            return Ok(None);
        };
        let mut districts: Vec<String> = organisations::Entity::find()
            .select_only()
            .column(organisations::Column::District)
            .filter(organisations::Column::UnitId.eq(unit.id))
            .into_tuple()
            .all(self.conn())
            .await?;
        districts.sort();
        districts.dedup();
        Ok(Some(SubjectUnit {
            code: unit.code.clone(),
            name: unit.name.clone(),
            districts,
        }))
    }

    /// The unit and district filters on a row's unit column; `None` when the unit asked for
    /// does not exist (nothing can match).
    async fn unit_condition(
        &self,
        unit_column: impl ColumnTrait,
        f: &ListFilter,
    ) -> Result<Option<Condition>, StoreError> {
        let mut c = Condition::all();
        if let Some(code) = &f.unit {
            let Some(u) = party_units::Entity::find()
                .filter(party_units::Column::Code.eq(code))
                .one(self.conn())
                .await?
            else {
                return Ok(None);
            };
            c = c.add(unit_column.eq(u.id));
        }
        if let Some(d) = &f.district {
            c = c.add(unit_column.in_subquery(Self::district_units(d)));
        }
        Ok(Some(c.add(Self::in_scope(unit_column, &f.scope))))
    }

    async fn names_of(
        &self,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<HashMap<i64, String>, StoreError> {
        let ids: Vec<i64> = ids.into_iter().collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let rows: Vec<(i64, String)> = people::Entity::find()
                .select_only()
                .column(people::Column::Id)
                .column(people::Column::Name)
                .filter(people::Column::Id.is_in(chunk.to_vec()))
                .into_tuple()
                .all(self.conn())
                .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    async fn units_by_id(
        &self,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<HashMap<i64, party_units::Model>, StoreError> {
        let ids: Vec<i64> = ids.into_iter().collect();
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let rows = party_units::Entity::find()
                .filter(party_units::Column::Id.is_in(chunk.to_vec()))
                .all(self.conn())
                .await?;
            out.extend(rows.into_iter().map(|u| (u.id, u)));
        }
        Ok(out)
    }

    /// The filters of the list of units, without paging or order.
    fn units_query(f: &ListFilter) -> sea_orm::Select<party_units::Entity> {
        let mut q =
            party_units::Entity::find().filter(Self::in_scope(party_units::Column::Id, &f.scope));
        if let Some(d) = &f.district {
            q = q.filter(Self::in_district(d));
        }
        if let Some(k) = &f.kind {
            q = q.filter(
                party_units::Column::Id.in_subquery(
                    Query::select()
                        .column(organisations::Column::UnitId)
                        .from(organisations::Entity)
                        .and_where(Expr::col(organisations::Column::Kind).eq(k.as_str()))
                        .to_owned(),
                ),
            );
        }
        if let Some(l) = &f.level {
            q = q.filter(party_units::Column::Level.eq(l.as_str()));
        }
        if let Some(s) = &f.search {
            q = q.filter(
                Condition::any()
                    .add(party_units::Column::Name.contains(s))
                    .add(party_units::Column::Code.contains(s)),
            );
        }
        if let Some(code) = &f.unit {
            q = q.filter(party_units::Column::Code.eq(code));
        }
        if f.overdue
            && let Some(today) = f.today
        {
            q = q.filter(party_units::Column::TermEnd.lt(today));
        }
        if let (Some(by), Some(today)) = (f.term_ends_by, f.today) {
            q = q
                .filter(party_units::Column::TermEnd.gte(today))
                .filter(party_units::Column::TermEnd.lte(by));
        }
        q
    }

    /// The organisations a unit covers, by name.
    pub async fn organisations_of_unit(
        &self,
        unit_id: i64,
    ) -> Result<Vec<OrganisationLine>, StoreError> {
        Ok(organisations::Entity::find()
            .filter(organisations::Column::UnitId.eq(unit_id))
            .order_by_asc(organisations::Column::Name)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|o| OrganisationLine {
                credit_code: o.credit_code,
                name: o.name,
                kind: o.kind,
                district: o.district,
                street: o.street,
                employees: o.employees,
                party_members: o.party_members,
            })
            .collect())
    }

    /// How many units the filter matches (paging ignored).
    pub async fn count_units(&self, f: &ListFilter) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(Self::units_query(f).count(self.conn()).await?)
    }

    /// The districts, organisation kinds and unit levels of the register, sorted.
    pub async fn register_facets(&self) -> Result<RegisterFacets, StoreError> {
        let distinct = |col: organisations::Column| {
            organisations::Entity::find()
                .select_only()
                .column(col)
                .distinct()
                .filter(col.ne(""))
                .into_tuple::<String>()
                .all(self.conn())
        };
        let mut districts = distinct(organisations::Column::District).await?;
        let mut kinds = distinct(organisations::Column::Kind).await?;
        let mut levels: Vec<String> = party_units::Entity::find()
            .select_only()
            .column(party_units::Column::Level)
            .distinct()
            .filter(party_units::Column::Level.ne(""))
            .into_tuple()
            .all(self.conn())
            .await?;
        for v in [&mut districts, &mut kinds, &mut levels] {
            v.sort();
        }
        Ok(RegisterFacets {
            districts,
            kinds,
            levels,
        })
    }

    /// Party units, in the filter's order (by code unless asked otherwise).
    pub async fn list_units(&self, f: &ListFilter) -> Result<Vec<UnitLine>, StoreError> {
        use sea_orm::Order;
        use sea_orm::sea_query::NullOrdering;
        let order = if f.descending {
            Order::Desc
        } else {
            Order::Asc
        };
        let q = Self::units_query(f);
        let q = match f.order {
            UnitOrder::Code => q,
            UnitOrder::Name => q.order_by(party_units::Column::Name, order.clone()),
            UnitOrder::Level => q.order_by(party_units::Column::Level, order.clone()),
            UnitOrder::TermEnd => q.order_by_with_nulls(
                party_units::Column::TermEnd,
                order.clone(),
                NullOrdering::Last,
            ),
        };
        let units = q
            .order_by(party_units::Column::Code, order)
            .offset(f.offset)
            .limit(f.limit)
            .all(self.conn())
            .await?;
        let districts = self.districts().await?;
        let names = self
            .names_of(units.iter().filter_map(|u| u.secretary_id))
            .await?;
        let superiors = self
            .units_by_id(units.iter().filter_map(|u| u.superior_id))
            .await?;
        Ok(units
            .into_iter()
            .map(|u| UnitLine {
                district: districts.get(&u.id).cloned(),
                superior: u
                    .superior_id
                    .and_then(|s| superiors.get(&s))
                    .map(|s| s.name.clone()),
                secretary: u.secretary_id.and_then(|s| names.get(&s).cloned()),
                code: u.code,
                name: u.name,
                level: u.level,
                term_start: u.term_start,
                term_end: u.term_end,
            })
            .collect())
    }

    /// Rectification items, soonest deadline first.
    /// The rectification items `f` selects, by deadline; `None` when no unit matches.
    async fn items_query(
        &self,
        f: &ListFilter,
    ) -> Result<Option<sea_orm::Select<rectification_items::Entity>>, StoreError> {
        let mut q = rectification_items::Entity::find()
            .order_by_asc(rectification_items::Column::Deadline)
            .order_by_asc(rectification_items::Column::Id);
        match self
            .unit_condition(rectification_items::Column::UnitId, f)
            .await?
        {
            Some(c) => q = q.filter(c),
            None => return Ok(None),
        }
        if let Some(s) = &f.status {
            q = q.filter(rectification_items::Column::Status.eq(s));
        }
        if let Some(s) = &f.search {
            q = q.filter(rectification_items::Column::Title.contains(s));
        }
        if f.overdue
            && let Some(today) = f.today
        {
            q = q
                .filter(rectification_items::Column::Deadline.lt(today))
                .filter(rectification_items::Column::Status.ne("closed"));
        }
        Ok(Some(q))
    }

    /// How many rectification items `f` selects, paging aside.
    pub async fn count_items(&self, f: &ListFilter) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        match self.items_query(f).await? {
            Some(q) => Ok(q.count(self.conn()).await?),
            None => Ok(0),
        }
    }

    pub async fn list_items(&self, f: &ListFilter) -> Result<Vec<ItemLine>, StoreError> {
        let Some(q) = self.items_query(f).await? else {
            return Ok(Vec::new());
        };
        let items = q.offset(f.offset).limit(f.limit).all(self.conn()).await?;
        let units = self.units_by_id(items.iter().map(|i| i.unit_id)).await?;
        let people: Vec<i64> = items
            .iter()
            .flat_map(|i: &rectification_items::Model| [i.owner_id, i.verifier_id])
            .flatten()
            .collect();
        let names = self.names_of(people).await?;
        Ok(items
            .into_iter()
            .map(|i| {
                let u = units.get(&i.unit_id);
                ItemLine {
                    id: i.id,
                    unit_code: u.map(|u| u.code.clone()).unwrap_or_default(),
                    unit_name: u.map(|u| u.name.clone()).unwrap_or_default(),
                    owner: i.owner_id.and_then(|p| names.get(&p).cloned()),
                    verifier: i.verifier_id.and_then(|p| names.get(&p).cloned()),
                    title: i.title,
                    kind: i.kind,
                    opened_on: i.opened_on,
                    deadline: i.deadline,
                    status: i.status,
                    closed_on: i.closed_on,
                    interview_id: i.interview_id,
                }
            })
            .collect())
    }

    /// Interviews, soonest first.
    /// The interviews `f` selects, soonest first; `None` when no unit matches.
    async fn interviews_query(
        &self,
        f: &ListFilter,
    ) -> Result<Option<sea_orm::Select<interviews::Entity>>, StoreError> {
        let mut q = interviews::Entity::find()
            .order_by_asc(interviews::Column::ScheduledAt)
            .order_by_asc(interviews::Column::Id);
        match self.unit_condition(interviews::Column::UnitId, f).await? {
            Some(c) => q = q.filter(c),
            None => return Ok(None),
        }
        if let Some(s) = &f.status {
            q = q.filter(interviews::Column::Status.eq(s));
        }
        Ok(Some(q))
    }

    /// How many interviews `f` selects, paging aside.
    pub async fn count_interviews(&self, f: &ListFilter) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        match self.interviews_query(f).await? {
            Some(q) => Ok(q.count(self.conn()).await?),
            None => Ok(0),
        }
    }

    pub async fn list_interviews(&self, f: &ListFilter) -> Result<Vec<InterviewLine>, StoreError> {
        let Some(q) = self.interviews_query(f).await? else {
            return Ok(Vec::new());
        };
        let rows = q.offset(f.offset).limit(f.limit).all(self.conn()).await?;
        let units = self.units_by_id(rows.iter().map(|i| i.unit_id)).await?;
        let names = self
            .names_of(rows.iter().filter_map(|i| i.interviewee_id))
            .await?;
        Ok(rows
            .into_iter()
            .map(|i| {
                let u = units.get(&i.unit_id);
                InterviewLine {
                    id: i.id,
                    unit_code: u.map(|u| u.code.clone()).unwrap_or_default(),
                    unit_name: u.map(|u| u.name.clone()).unwrap_or_default(),
                    interviewee: i.interviewee_id.and_then(|p| names.get(&p).cloned()),
                    reason: i.reason,
                    source: i.source,
                    scheduled_at: i.scheduled_at,
                    location: i.location,
                    held_on: i.held_on,
                    status: i.status,
                }
            })
            .collect())
    }

    /// Workflow instances with the unit they concern.
    /// The instances `f` selects, in id order; `None` when the unit or district filter
    /// matches no unit.
    async fn instances_query(
        &self,
        f: &ListFilter,
    ) -> Result<Option<sea_orm::Select<workflow_instances::Entity>>, StoreError> {
        let mut q = workflow_instances::Entity::find().order_by_asc(workflow_instances::Column::Id);
        if let Some(w) = &f.workflow {
            q = q.filter(workflow_instances::Column::WorkflowId.eq(w));
        }
        if let Some(s) = &f.status {
            q = q.filter(workflow_instances::Column::Status.eq(s));
        }
        if f.escalated {
            q = q.filter(workflow_instances::Column::EscalationLevel.gt(0));
        }
        if f.overdue {
            q = q.filter(workflow_instances::Column::SubjectStatus.eq("overdue"));
        }
        // Unit and district filters resolve to the subject keys of the matching units.
        let scoped = f.scope.as_ref().is_some_and(|s| !s.is_unlimited());
        let units_wanted: Option<Vec<party_units::Model>> =
            if f.unit.is_some() || f.district.is_some() || scoped {
                let mut uq = party_units::Entity::find()
                    .filter(Self::in_scope(party_units::Column::Id, &f.scope));
                if let Some(code) = &f.unit {
                    uq = uq.filter(party_units::Column::Code.eq(code));
                }
                if let Some(d) = &f.district {
                    uq = uq.filter(Self::in_district(d));
                }
                Some(uq.all(self.conn()).await?)
            } else {
                None
            };
        if let Some(units) = &units_wanted {
            let ids: Vec<i64> = units.iter().map(|u| u.id).collect();
            let mut any = Condition::any();
            for u in units {
                any = any
                    .add(
                        workflow_instances::Column::SubjectKey
                            .starts_with(format!("term:{}:", u.code)),
                    )
                    .add(workflow_instances::Column::SubjectKey.eq(format!("unit:{}", u.code)));
            }
            let item_ids: Vec<i64> = rectification_items::Entity::find()
                .select_only()
                .column(rectification_items::Column::Id)
                .filter(rectification_items::Column::UnitId.is_in(ids.clone()))
                .into_tuple()
                .all(self.conn())
                .await?;
            let interview_ids: Vec<i64> = interviews::Entity::find()
                .select_only()
                .column(interviews::Column::Id)
                .filter(interviews::Column::UnitId.is_in(ids.clone()))
                .into_tuple()
                .all(self.conn())
                .await?;
            let member_ids: Vec<i64> = members::Entity::find()
                .select_only()
                .column(members::Column::Id)
                .filter(members::Column::UnitId.is_in(ids))
                .into_tuple()
                .all(self.conn())
                .await?;
            let keys: Vec<String> = item_ids
                .iter()
                .map(|i| format!("rectification:{i}"))
                .chain(interview_ids.iter().map(|i| format!("interview:{i}")))
                .chain(member_ids.iter().map(|i| format!("member:{i}")))
                .collect();
            if !keys.is_empty() {
                any = any.add(workflow_instances::Column::SubjectKey.is_in(keys));
            }
            if units.is_empty() {
                return Ok(None);
            }
            q = q.filter(any);
        }
        Ok(Some(q))
    }

    /// How many instances `f` selects, paging aside.
    pub async fn count_instances(&self, f: &ListFilter) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        match self.instances_query(f).await? {
            Some(q) => Ok(q.count(self.conn()).await?),
            None => Ok(0),
        }
    }

    pub async fn list_instances(&self, f: &ListFilter) -> Result<Vec<InstanceLine>, StoreError> {
        let Some(q) = self.instances_query(f).await? else {
            return Ok(Vec::new());
        };
        let rows = q.offset(f.offset).limit(f.limit).all(self.conn()).await?;
        let keys: Vec<String> = rows.iter().map(|r| r.subject_key.clone()).collect();
        let units = self.units_of_subjects(&keys).await?;
        let member_ids: Vec<i64> = keys
            .iter()
            .filter_map(|k| k.strip_prefix("member:")?.parse().ok())
            .collect();
        let mut member_names: HashMap<String, String> = HashMap::new();
        for chunk in member_ids.chunks(500) {
            let named: Vec<(i64, String)> = members::Entity::find()
                .select_only()
                .column(members::Column::Id)
                .column(members::Column::Name)
                .filter(members::Column::Id.is_in(chunk.to_vec()))
                .into_tuple()
                .all(self.conn())
                .await?;
            member_names.extend(
                named
                    .into_iter()
                    .map(|(id, name)| (format!("member:{id}"), format!("党员{name}"))),
            );
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let unit = units.get(&r.subject_key);
                InstanceLine {
                    id: r.id,
                    subject_name: member_names.get(&r.subject_key).cloned(),
                    unit_code: unit.map(|u| u.code.clone()),
                    unit_name: unit.map(|u| u.name.clone()),
                    workflow_id: r.workflow_id,
                    subject_key: r.subject_key,
                    status: r.status,
                    subject_status: r.subject_status,
                    escalation_level: r.escalation_level,
                }
            })
            .collect())
    }

    /// `(id, unit id)` of the rows of `entity` with these ids, in chunks.
    async fn unit_ids_of<E: EntityTrait>(
        &self,
        id: E::Column,
        unit: E::Column,
        ids: &[i64],
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let pairs: Vec<(i64, i64)> = E::find()
                .select_only()
                .column(id)
                .column(unit)
                .filter(id.is_in(chunk.to_vec()))
                .into_tuple()
                .all(self.conn())
                .await?;
            out.extend(pairs);
        }
        Ok(out)
    }

    /// The unit each subject key concerns: a term's or a unit's own, a rectification item's
    /// or an interview's unit.
    pub(crate) async fn units_of_subjects(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, party_units::Model>, StoreError> {
        let mut code_of: HashMap<String, String> = HashMap::new();
        let mut item_ids = Vec::new();
        let mut interview_ids = Vec::new();
        let mut member_ids = Vec::new();
        for key in keys {
            if let Some(code) = unit_code_of_key(key) {
                code_of.insert(key.clone(), code.to_string());
            } else if let Some(id) = key
                .strip_prefix("rectification:")
                .and_then(|s| s.parse::<i64>().ok())
            {
                item_ids.push(id);
            } else if let Some(id) = key
                .strip_prefix("interview:")
                .and_then(|s| s.parse::<i64>().ok())
            {
                interview_ids.push(id);
            } else if let Some(id) = key
                .strip_prefix("member:")
                .and_then(|s| s.parse::<i64>().ok())
            {
                member_ids.push(id);
            }
        }
        let mut unit_of_key: HashMap<String, i64> = HashMap::new();
        for (id, unit) in self
            .unit_ids_of::<rectification_items::Entity>(
                rectification_items::Column::Id,
                rectification_items::Column::UnitId,
                &item_ids,
            )
            .await?
        {
            unit_of_key.insert(format!("rectification:{id}"), unit);
        }
        for (id, unit) in self
            .unit_ids_of::<interviews::Entity>(
                interviews::Column::Id,
                interviews::Column::UnitId,
                &interview_ids,
            )
            .await?
        {
            unit_of_key.insert(format!("interview:{id}"), unit);
        }
        for (id, unit) in self
            .unit_ids_of::<members::Entity>(
                members::Column::Id,
                members::Column::UnitId,
                &member_ids,
            )
            .await?
        {
            unit_of_key.insert(format!("member:{id}"), unit);
        }
        let by_id = self.units_by_id(unit_of_key.values().copied()).await?;
        let mut codes: Vec<String> = code_of.values().cloned().collect();
        codes.sort();
        codes.dedup();
        let mut by_code: HashMap<String, party_units::Model> = HashMap::new();
        for chunk in codes.chunks(500) {
            let us = party_units::Entity::find()
                .filter(party_units::Column::Code.is_in(chunk.to_vec()))
                .all(self.conn())
                .await?;
            by_code.extend(us.into_iter().map(|u| (u.code.clone(), u)));
        }
        let mut out = HashMap::new();
        for (key, code) in code_of {
            if let Some(u) = by_code.get(&code) {
                out.insert(key, u.clone());
            }
        }
        for (key, id) in unit_of_key {
            if let Some(u) = by_id.get(&id) {
                out.insert(key, u.clone());
            }
        }
        Ok(out)
    }

    /// One chain.
    pub async fn instance_by_id(
        &self,
        id: i64,
    ) -> Result<Option<workflow_instances::Model>, StoreError> {
        Ok(workflow_instances::Entity::find_by_id(id)
            .one(self.conn())
            .await?)
    }

    /// One timer.
    pub async fn timer_by_id(&self, id: i64) -> Result<Option<timers::Model>, StoreError> {
        Ok(timers::Entity::find_by_id(id).one(self.conn()).await?)
    }

    /// The first message a timer produced for a person (what their link was sent with).
    pub async fn message_for(
        &self,
        timer_id: i64,
        person_id: i64,
    ) -> Result<Option<outbox::Model>, StoreError> {
        Ok(outbox::Entity::find()
            .filter(outbox::Column::TimerId.eq(timer_id))
            .filter(outbox::Column::PersonId.eq(person_id))
            .order_by_asc(outbox::Column::Id)
            .one(self.conn())
            .await?)
    }

    /// One person of the register or staff.
    pub async fn person_by_id(&self, id: i64) -> Result<Option<people::Model>, StoreError> {
        Ok(people::Entity::find_by_id(id).one(self.conn()).await?)
    }

    /// Everyone holding a staff role.
    pub async fn list_staff(&self) -> Result<Vec<people::Model>, StoreError> {
        Ok(people::Entity::find()
            .filter(people::Column::Roles.ne(""))
            .order_by_asc(people::Column::Name)
            .all(self.conn())
            .await?)
    }
}
