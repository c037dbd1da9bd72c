//! The register as people browse it: units filtered, sorted and paged in the database, the
//! same selection whole for an export, and the values the filters offer; always within the
//! actor's scope.

use crate::{Actor, App, AppError, Permission};
use duban_store::lists::{ListFilter, RegisterFacets, UnitLine};

pub use duban_store::lists::UnitOrder;

/// Rows on one page of the register.
pub const PAGE_SIZE: u64 = 50;

/// The order a column's name asks for; an unknown name is refused, naming the known ones.
pub fn parse_order(s: &str) -> Result<UnitOrder, AppError> {
    named_order(s, UnitOrder::ALL, UnitOrder::as_str)
}

/// The one of `all` whose `name` is `s`; an unknown name is refused (at `sort`), naming the
/// known ones.
pub(crate) fn named_order<T: Copy, const N: usize>(
    s: &str,
    all: [T; N],
    name: fn(T) -> &'static str,
) -> Result<T, AppError> {
    all.into_iter()
        .find(|o| name(*o) == s.trim())
        .ok_or_else(|| {
            AppError::invalid_at(
                "sort",
                format!(
                    "无法按“{s}”排序，可选：{} (cannot sort by {s:?})",
                    all.map(name).join("、")
                ),
            )
        })
}

/// What a reader asks of the register; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitQuery {
    pub district: Option<String>,
    /// An organisation kind the unit covers.
    pub kind: Option<String>,
    pub level: Option<String>,
    /// Part of a unit's name or code.
    pub search: Option<String>,
    /// Only units whose term has ended.
    pub overdue: bool,
    /// Only units whose term ends within the next six months (换届 coming up).
    pub ending: bool,
    pub order: UnitOrder,
    pub descending: bool,
    /// 1-based; clamped to the pages there are.
    pub page: u64,
}

/// One page of the register with where it stands.
#[derive(Debug, Clone)]
pub struct UnitPage {
    pub rows: Vec<UnitLine>,
    /// Units matching the filters in all.
    pub total: u64,
    /// The page shown (1-based) and how many there are (at least 1).
    pub page: u64,
    pub pages: u64,
}

impl UnitQuery {
    fn filter(&self, today: chrono::NaiveDate, actor: &Actor) -> ListFilter {
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        ListFilter {
            district: text(&self.district),
            kind: text(&self.kind),
            level: text(&self.level),
            search: text(&self.search),
            overdue: self.overdue,
            term_ends_by: self.ending.then(|| today + chrono::Months::new(6)),
            today: Some(today),
            scope: actor.list_scope(),
            order: self.order,
            descending: self.descending,
            ..Default::default()
        }
    }
}

impl App {
    /// One page of units; a page beyond the last shows the last.
    pub async fn unit_page(&self, actor: &Actor, q: &UnitQuery) -> Result<UnitPage, AppError> {
        actor.require(Permission::ReadRegister)?;
        let mut f = q.filter(self.today(), actor);
        let total = self.store().count_units(&f).await?;
        let (page, pages, offset) = crate::chains::locate(total, q.page);
        f.limit = PAGE_SIZE;
        f.offset = offset;
        Ok(UnitPage {
            rows: self.store().list_units(&f).await?,
            total,
            page,
            pages,
        })
    }

    /// Every unit the query matches, in its order, for an export (the page is ignored).
    pub async fn unit_export(
        &self,
        actor: &Actor,
        q: &UnitQuery,
    ) -> Result<Vec<UnitLine>, AppError> {
        actor.require(Permission::ReadRegister)?;
        let store = self.store();
        self.whole(q.filter(self.today(), actor), |f| async move {
            store.list_units(&f).await
        })
        .await
    }

    /// The districts, kinds and levels to filter the register by; a user limited to
    /// districts is offered only theirs.
    pub async fn register_facets(&self, actor: &Actor) -> Result<RegisterFacets, AppError> {
        actor.require(Permission::ReadRegister)?;
        let mut facets = self.store().register_facets().await?;
        if !actor.scope.districts.is_empty() {
            facets
                .districts
                .retain(|d| actor.scope.districts.contains(d));
        }
        Ok(facets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_reads_back_and_others_are_refused() {
        for o in UnitOrder::ALL {
            assert_eq!(parse_order(o.as_str()).unwrap(), o);
        }
        let e = parse_order("secretary").unwrap_err().to_string();
        assert!(e.contains("无法按“secretary”排序"), "{e}");
    }
}
