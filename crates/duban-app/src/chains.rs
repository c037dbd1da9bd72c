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

/// What a reader asks of the rectification items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemQuery {
    pub district: Option<String>,
    pub unit: Option<String>,
    /// Part of the title.
    pub search: Option<String>,
    /// `open` or `closed`.
    pub status: Option<String>,
    /// Only open items past their deadline.
    pub overdue: bool,
    pub page: u64,
}

/// The statuses a supervisory interview can have.
pub const INTERVIEW_STATUSES: [&str; 2] = ["scheduled", "held"];

/// The statuses a rectification item can have.
pub const ITEM_STATUSES: [&str; 2] = ["open", "closed"];

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

/// A typed filter value: trimmed, and none when empty.
fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Refuses a status the list does not know.
fn known_status(status: Option<&str>, known: &[&str]) -> Result<(), AppError> {
    match status.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if !known.contains(&s) => Err(AppError::invalid_at(
            "status",
            format!("unknown status {s:?}: use {}", known.join(", ")),
        )),
        _ => Ok(()),
    }
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
        known_status(q.status.as_deref(), &CHAIN_STATUSES)?;
        let f = ListFilter {
            district: text(&q.district),
            unit: text(&q.unit),
            workflow: text(&q.workflow),
            status: text(&q.status),
            overdue: q.overdue,
            escalated: q.escalated,
            ..self.list_filter(actor)
        };
        let store = self.store();
        self.page_of(
            f,
            q.page,
            |f| async move { store.count_instances(&f).await },
            |f| async move { store.list_instances(&f).await },
        )
        .await
    }

    /// One page of the rectification items the actor may see, by deadline.
    pub async fn item_page(
        &self,
        actor: &Actor,
        q: &ItemQuery,
    ) -> Result<Paged<duban_store::lists::ItemLine>, AppError> {
        actor.require(Permission::ReadRegister)?;
        known_status(q.status.as_deref(), &ITEM_STATUSES)?;
        let f = ListFilter {
            district: text(&q.district),
            unit: text(&q.unit),
            search: text(&q.search),
            status: text(&q.status),
            overdue: q.overdue,
            ..self.list_filter(actor)
        };
        let store = self.store();
        self.page_of(
            f,
            q.page,
            |f| async move { store.count_items(&f).await },
            |f| async move { store.list_items(&f).await },
        )
        .await
    }

    /// One page of the supervisory interviews the actor may see, soonest first.
    pub async fn interview_page(
        &self,
        actor: &Actor,
        q: &ItemQuery,
    ) -> Result<Paged<duban_store::lists::InterviewLine>, AppError> {
        actor.require(Permission::ReadRegister)?;
        known_status(q.status.as_deref(), &INTERVIEW_STATUSES)?;
        let f = ListFilter {
            district: text(&q.district),
            unit: text(&q.unit),
            status: text(&q.status),
            ..self.list_filter(actor)
        };
        let store = self.store();
        self.page_of(
            f,
            q.page,
            |f| async move { store.count_interviews(&f).await },
            |f| async move { store.list_interviews(&f).await },
        )
        .await
    }

    /// A filter of the actor's scope as of today.
    fn list_filter(&self, actor: &Actor) -> ListFilter {
        ListFilter {
            today: Some(self.today()),
            scope: actor.list_scope(),
            ..ListFilter::default()
        }
    }

    /// Page `asked` of what `f` selects: the total first, then the rows of the page.
    async fn page_of<T, C, CF, L, LF>(
        &self,
        mut f: ListFilter,
        asked: u64,
        count: C,
        list: L,
    ) -> Result<Paged<T>, AppError>
    where
        C: FnOnce(ListFilter) -> CF,
        CF: std::future::Future<Output = Result<u64, duban_store::StoreError>>,
        L: FnOnce(ListFilter) -> LF,
        LF: std::future::Future<Output = Result<Vec<T>, duban_store::StoreError>>,
    {
        let total = count(f.clone()).await?;
        let (page, pages, offset) = locate(total, asked);
        f.limit = PAGE_SIZE;
        f.offset = offset;
        Ok(Paged {
            rows: list(f).await?,
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
