//! What users list: units, items, interviews, chains, staff; always within the actor's scope.

use crate::{Actor, App, AppError, Permission};
use duban_store::lists::{InstanceLine, InterviewLine, ItemLine, ListFilter, UnitLine};

pub use duban_store::lists::{ListFilter as Filter, Scope};

/// The furthest a list can be paged: beyond, the database cannot take the number.
pub const MAX_OFFSET: u64 = 1_000_000_000;
/// The most rows one page holds.
pub const MAX_LIMIT: u64 = 10_000;

/// Refuses a page size outside 1..=[`MAX_LIMIT`].
/// Refuses an offset past [`MAX_OFFSET`] (a database cannot take every number).
pub(crate) fn check_offset(offset: u64) -> Result<(), AppError> {
    if offset > MAX_OFFSET {
        return Err(AppError::invalid_at(
            "offset",
            format!("offset must be at most {MAX_OFFSET}"),
        ));
    }
    Ok(())
}

pub fn check_limit(limit: u64) -> Result<(), AppError> {
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(())
    } else {
        Err(AppError::invalid_at(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ))
    }
}

impl App {
    fn scoped(&self, actor: &Actor, f: &ListFilter) -> Result<ListFilter, AppError> {
        check_offset(f.offset)?;
        if f.limit > MAX_LIMIT {
            return Err(AppError::invalid_at(
                "limit",
                format!("limit must be at most {MAX_LIMIT}"),
            ));
        }
        let mut f = f.clone();
        f.scope = actor.list_scope();
        if f.today.is_none() {
            f.today = Some(self.today());
        }
        if f.limit == 0 {
            f.limit = 50;
        }
        Ok(f)
    }

    pub async fn list_units(
        &self,
        actor: &Actor,
        f: &ListFilter,
    ) -> Result<Vec<UnitLine>, AppError> {
        actor.require(Permission::ReadRegister)?;
        Ok(self.store().list_units(&self.scoped(actor, f)?).await?)
    }

    pub async fn list_items(
        &self,
        actor: &Actor,
        f: &ListFilter,
    ) -> Result<Vec<ItemLine>, AppError> {
        actor.require(Permission::ReadRegister)?;
        Ok(self.store().list_items(&self.scoped(actor, f)?).await?)
    }

    pub async fn list_interviews(
        &self,
        actor: &Actor,
        f: &ListFilter,
    ) -> Result<Vec<InterviewLine>, AppError> {
        actor.require(Permission::ReadRegister)?;
        Ok(self
            .store()
            .list_interviews(&self.scoped(actor, f)?)
            .await?)
    }

    pub async fn list_instances(
        &self,
        actor: &Actor,
        f: &ListFilter,
    ) -> Result<Vec<InstanceLine>, AppError> {
        actor.require(Permission::ReadChains)?;
        Ok(self.store().list_instances(&self.scoped(actor, f)?).await?)
    }
}

/// How a person can be reached, masked (138****8000, z***@example.cn).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub name: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
}

impl Contact {
    fn of(p: &duban_store::subjects::PersonRow) -> Contact {
        Contact {
            name: p.name.clone(),
            mobile: p.mobile.as_deref().map(duban_core::privacy::mask_mobile),
            email: p.email.as_deref().map(duban_core::privacy::mask_email),
        }
    }
}

/// A party unit with everything about it: its secretary, term, chains, items, interviews.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitCard {
    pub code: String,
    pub name: String,
    pub level: String,
    pub district: Option<String>,
    pub secretary: Option<Contact>,
    pub superior: Option<String>,
    pub term_start: Option<chrono::NaiveDate>,
    pub term_end: Option<chrono::NaiveDate>,
    /// Day of the month of the theme day (主题党日).
    pub theme_day: Option<i16>,
    /// The organisations it covers.
    pub organisations: Vec<duban_store::lists::OrganisationLine>,
    pub instances: Vec<InstanceLine>,
    pub rectification_items: Vec<ItemLine>,
    pub interviews: Vec<InterviewLine>,
}

/// A member of staff (an officer of the organisation department, a finance officer).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffLine {
    pub id: i64,
    pub name: String,
    pub post: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<String>,
}

impl From<duban_store::subjects::PersonRow> for StaffLine {
    fn from(p: duban_store::subjects::PersonRow) -> Self {
        let c = Contact::of(&p);
        StaffLine {
            id: p.id,
            name: p.name,
            post: p.post,
            mobile: c.mobile,
            email: c.email,
            roles: p
                .roles
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}

impl App {
    /// One unit's card; `NotFound` when there is no such unit, `Forbidden` outside the
    /// actor's scope.
    pub async fn unit_card(&self, actor: &Actor, code: &str) -> Result<UnitCard, AppError> {
        actor.require(Permission::ReadRegister)?;
        let store = self.store();
        let reader = store.reader();
        let Some(u) = reader.get().unit_by_code(code).await? else {
            return Err(AppError::NotFound(format!(
                "no party unit with code {code}"
            )));
        };
        let filter = ListFilter {
            unit: Some(code.to_string()),
            limit: MAX_LIMIT,
            ..Default::default()
        };
        let filter = self.scoped(actor, &filter)?;
        let Some(line) = store.list_units(&filter).await?.into_iter().next() else {
            return Err(AppError::Forbidden(format!(
                "{} may not see unit {code}",
                actor.name
            )));
        };
        let chains = if actor.role.may(Permission::ReadChains) {
            store.list_instances(&filter).await?
        } else {
            vec![]
        };
        Ok(UnitCard {
            code: u.unit.code.clone(),
            name: u.unit.name.clone(),
            level: u.unit.level.clone(),
            district: line.district,
            secretary: u.secretary.as_ref().map(Contact::of),
            superior: u.superior.as_ref().map(|s| s.name.clone()),
            term_start: u.unit.term_start,
            term_end: u.unit.term_end,
            theme_day: u.unit.theme_day,
            organisations: store.organisations_of_unit(u.unit.id).await?,
            instances: chains,
            rectification_items: store.list_items(&filter).await?,
            interviews: store.list_interviews(&filter).await?,
        })
    }

    /// Everyone holding a staff role.
    pub async fn list_staff(&self, actor: &Actor) -> Result<Vec<StaffLine>, AppError> {
        actor.require(Permission::WriteRegister)?;
        Ok(self
            .store()
            .list_staff()
            .await?
            .into_iter()
            .map(StaffLine::from)
            .collect())
    }
}
