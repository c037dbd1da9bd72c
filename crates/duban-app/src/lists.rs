//! What users list: units, items, interviews, chains, staff; always within the actor's scope.

use crate::{Actor, App, AppError, Permission};
use duban_store::lists::{InstanceLine, InterviewLine, ItemLine, ListFilter, UnitLine};

pub use duban_store::lists::{ListFilter as Filter, Scope};

/// The furthest a list can be paged: beyond, the database cannot take the number.
pub const MAX_OFFSET: u64 = 1_000_000_000;
/// The most rows one page holds.
pub const MAX_LIMIT: u64 = 10_000;

impl App {
    fn scoped(&self, actor: &Actor, f: &ListFilter) -> Result<ListFilter, AppError> {
        if f.offset > MAX_OFFSET {
            return Err(AppError::invalid_at(
                "offset",
                format!("offset must be at most {MAX_OFFSET}"),
            ));
        }
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
