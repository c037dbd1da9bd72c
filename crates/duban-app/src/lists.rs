//! What users list: units, items, interviews, chains, staff; always within the actor's scope.

use crate::{Actor, App, AppError, Permission};
use duban_store::lists::{InstanceLine, InterviewLine, ItemLine, ListFilter, UnitLine};

pub use duban_store::lists::{ListFilter as Filter, Scope};

impl App {
    fn scoped(&self, actor: &Actor, f: &ListFilter) -> ListFilter {
        let mut f = f.clone();
        f.scope = actor.list_scope();
        if f.today.is_none() {
            f.today = Some(self.today());
        }
        if f.limit == 0 {
            f.limit = 50;
        }
        f
    }

    pub async fn list_units(
        &self,
        actor: &Actor,
        f: &ListFilter,
    ) -> Result<Vec<UnitLine>, AppError> {
        actor.require(Permission::ReadRegister)?;
        Ok(self.store().list_units(&self.scoped(actor, f)).await?)
    }

    pub async fn list_items(
        &self,
        actor: &Actor,
        f: &ListFilter,
    ) -> Result<Vec<ItemLine>, AppError> {
        actor.require(Permission::ReadRegister)?;
        Ok(self.store().list_items(&self.scoped(actor, f)).await?)
    }

    pub async fn list_interviews(
        &self,
        actor: &Actor,
        f: &ListFilter,
    ) -> Result<Vec<InterviewLine>, AppError> {
        actor.require(Permission::ReadRegister)?;
        Ok(self.store().list_interviews(&self.scoped(actor, f)).await?)
    }

    pub async fn list_instances(
        &self,
        actor: &Actor,
        f: &ListFilter,
    ) -> Result<Vec<InstanceLine>, AppError> {
        actor.require(Permission::ReadChains)?;
        Ok(self.store().list_instances(&self.scoped(actor, f)).await?)
    }
}
