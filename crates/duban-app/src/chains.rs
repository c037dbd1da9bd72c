//! The chains (督办链条) as people browse them on the pages: filtered, paged, with totals.
//! The API and the command line list them through `lists::list_instances`.

use crate::units::PAGE_SIZE;
use crate::{Actor, App, AppError, Permission};
use duban_store::lists::{InstanceLine, ListFilter};
use duban_store::outbox::DeliveryFilter;

/// What a reader asks of the chains; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainQuery {
    pub district: Option<String>,
    /// A unit's code: its term, unit, item and interview chains.
    pub unit: Option<String>,
    pub workflow: Option<String>,
    /// `active`, `completed` or `cancelled`.
    pub status: Option<String>,
    /// Only chains whose subject is past its date.
    pub overdue: bool,
    /// Only chains escalated at least once.
    pub escalated: bool,
    /// 1-based; clamped to the pages there are.
    pub page: u64,
}

/// One page of a list, with where it stands.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub rows: Vec<T>,
    /// Rows matching the filters in all.
    pub total: u64,
    /// The page shown (1-based) and how many there are (at least 1).
    pub page: u64,
    pub pages: u64,
}

/// The page to show of `total` rows, and its offset.
pub(crate) fn locate(total: u64, asked: u64) -> (u64, u64, u64) {
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = asked.clamp(1, pages);
    (page, pages, (page - 1) * PAGE_SIZE)
}

/// The statuses a chain can have.
pub const CHAIN_STATUSES: [&str; 3] = ["active", "completed", "cancelled"];

impl App {
    /// One page of the chains the actor may see.
    pub async fn chain_page(
        &self,
        actor: &Actor,
        q: &ChainQuery,
    ) -> Result<Paged<InstanceLine>, AppError> {
        actor.require(Permission::ReadChains)?;
        if let Some(s) = q.status.as_deref()
            && !CHAIN_STATUSES.contains(&s)
        {
            return Err(AppError::invalid_at(
                "status",
                format!("unknown status {s:?}: use {}", CHAIN_STATUSES.join(", ")),
            ));
        }
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let mut f = ListFilter {
            district: text(&q.district),
            unit: text(&q.unit),
            workflow: text(&q.workflow),
            status: text(&q.status),
            overdue: q.overdue,
            escalated: q.escalated,
            today: Some(self.today()),
            scope: actor.list_scope(),
            ..ListFilter::default()
        };
        let total = self.store().count_instances(&f).await?;
        let (page, pages, offset) = locate(total, q.page);
        f.limit = PAGE_SIZE;
        f.offset = offset;
        Ok(Paged {
            rows: self.store().list_instances(&f).await?,
            total,
            page,
            pages,
        })
    }

    /// One page of the delivery log, newest first, addresses masked. A user limited to
    /// districts or units names one of their units.
    pub async fn delivery_page(
        &self,
        actor: &Actor,
        q: &DeliveryFilter,
        page: u64,
    ) -> Result<Paged<crate::monitor::DeliveryLine>, AppError> {
        actor.require(Permission::ManageDeliveries)?;
        self.unit_in_scope(actor, q.unit.as_deref()).await?;
        let total = self.store().count_deliveries(q).await?;
        let (page, pages, offset) = locate(total, page);
        let rows = self
            .deliveries(
                actor,
                &DeliveryFilter {
                    limit: Some(PAGE_SIZE),
                    offset,
                    ..q.clone()
                },
            )
            .await?;
        Ok(Paged {
            rows,
            total,
            page,
            pages,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_clamped_to_those_there_are() {
        assert_eq!(locate(0, 1), (1, 1, 0));
        assert_eq!(locate(0, 9), (1, 1, 0));
        assert_eq!(locate(PAGE_SIZE, 2), (1, 1, 0));
        assert_eq!(locate(PAGE_SIZE + 1, 2), (2, 2, PAGE_SIZE));
        assert_eq!(locate(PAGE_SIZE * 3, 0), (1, 3, 0));
    }
}
