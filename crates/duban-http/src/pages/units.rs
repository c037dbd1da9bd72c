//! The register: the list of units (filtered, sorted and paged by `duban-app`), its exports
//! exactly as filtered, and a unit's page.

use super::{Viewer, download_of, given, href, pager, sort_column};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use duban_app::Permission;
use duban_app::loop_::UnitLine;
use duban_app::units::{UnitOrder, UnitQuery, parse_order};
use duban_tabular::export::Sheet;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

/// The register's address parameters; all text, so that nothing a person types gets a
/// bare 400 from the framework.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct UnitParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    overdue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ending: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<String>,
}

impl UnitParams {
    fn query(&self) -> Result<UnitQuery, duban_app::AppError> {
        Ok(UnitQuery {
            district: given(&self.district),
            kind: given(&self.kind),
            level: given(&self.level),
            search: given(&self.q),
            overdue: given(&self.overdue).is_some(),
            ending: given(&self.ending).is_some(),
            order: match given(&self.sort) {
                Some(s) => parse_order(&s)?,
                None => UnitOrder::default(),
            },
            descending: self.dir.as_deref() == Some("desc"),
            // Not a number, or none: the first page (the use case clamps the rest).
            page: given(&self.page)
                .and_then(|p| p.parse::<u64>().ok())
                .unwrap_or(1),
        })
    }

    /// The address of the register with these parameters (empty ones left out).
    fn href(&self, path: &str) -> String {
        let mut p = self.clone();
        for v in [
            &mut p.district,
            &mut p.kind,
            &mut p.level,
            &mut p.q,
            &mut p.overdue,
            &mut p.ending,
            &mut p.sort,
            &mut p.dir,
            &mut p.page,
        ] {
            *v = given(v);
        }
        href(path, &p)
    }

    fn at_page(&self, page: u64) -> UnitParams {
        UnitParams {
            page: (page > 1).then(|| page.to_string()),
            ..self.clone()
        }
    }
}

/// The columns of the list and of its exports: catalogue key and the order it sorts by.
const COLUMNS: [(&str, Option<UnitOrder>); 6] = [
    ("units.code", Some(UnitOrder::Code)),
    ("units.name", Some(UnitOrder::Name)),
    ("units.level", Some(UnitOrder::Level)),
    ("units.district", None),
    ("units.secretary", None),
    ("units.term_end", Some(UnitOrder::TermEnd)),
];

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<UnitParams>,
) -> Response {
    let app = &state.app;
    let query = match params.query() {
        Ok(q) => q,
        Err(e) => return viewer.error(&e),
    };
    let page = match app.unit_page(&viewer.actor, &query).await {
        Ok(p) => p,
        Err(e) => return viewer.error(&e),
    };
    let facets = match app.register_facets(&viewer.actor).await {
        Ok(f) => f,
        Err(e) => return viewer.error(&e),
    };
    let unpaged = params.at_page(1);
    let columns: Vec<minijinja::Value> = COLUMNS
        .iter()
        .map(|(label, order)| {
            sort_column(
                label,
                order.map(UnitOrder::as_str),
                query.order.as_str(),
                query.descending,
                |sort, desc| {
                    UnitParams {
                        sort: Some(sort.to_string()),
                        dir: desc.then(|| "desc".to_string()),
                        ..unpaged.clone()
                    }
                    .href("/units")
                },
            )
        })
        .collect();
    let pager = pager(page.page, page.pages, |to| {
        params.at_page(to).href("/units")
    });
    viewer.page(
        "pages/units.html",
        viewer.lang.text("units.title"),
        context! {
            facets => Value::from(minijinja::value::Serde(&facets)),
            q => context! {
                district => query.district,
                kind => query.kind,
                level => query.level,
                search => query.search,
                overdue => query.overdue,
                ending => query.ending,
                sort => given(&params.sort),
                dir => given(&params.dir),
            },
            columns,
            rows => Value::from(minijinja::value::Serde(&page.rows)),
            total => page.total,
            page => page.page,
            pages => page.pages,
            pager,
            export_xlsx => unpaged.href("/units.xlsx"),
            export_csv => unpaged.href("/units.csv"),
            can_import => viewer.actor.role.may(duban_app::Permission::WriteRegister)
                && viewer.actor.scope.is_unlimited(),
            today => state.app.today().to_string(),
        },
    )
}

/// The units as an exported table, in the catalogue's words of the reader's language.
fn sheet(viewer: &Viewer, rows: &[UnitLine]) -> Sheet {
    Sheet {
        name: viewer.lang.text("units.title").to_string(),
        headers: COLUMNS
            .iter()
            .map(|(k, _)| viewer.lang.text(k).to_string())
            .collect(),
        rows: rows
            .iter()
            .map(|u| {
                vec![
                    u.code.as_str().into(),
                    u.name.as_str().into(),
                    viewer.lang.word("level", &u.level).into(),
                    u.district.as_deref().into(),
                    u.secretary.as_deref().into(),
                    u.term_end.into(),
                ]
            })
            .collect(),
    }
}

/// `/units.xlsx` and `/units.csv`: every unit the filters select.
pub async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<UnitParams>,
) -> Response {
    let rows = match params.query() {
        Ok(q) => state.app.unit_export(&viewer.actor, &q).await,
        Err(e) => Err(e),
    };
    download_of(&viewer, state.app.today(), "units", rows, |rows| {
        sheet(&viewer, rows)
    })
}

pub async fn card(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
) -> Response {
    let card = match state.app.unit_card(&viewer.actor, &code).await {
        Ok(c) => c,
        Err(e) => return viewer.error(&e),
    };
    // Every message sent about the unit, for those who follow the deliveries.
    let messages = if viewer.actor.role.may(Permission::ManageDeliveries) {
        let q = duban_app::monitor::DeliveryQuery {
            unit: Some(card.code.clone()),
            limit: Some(MESSAGES_SHOWN),
            ..Default::default()
        };
        match state.app.deliveries(&viewer.actor, &q).await {
            Ok(m) => Some(m),
            Err(e) => return viewer.error(&e),
        }
    } else {
        None
    };
    let rules = state.app.engine.rules.current();
    let workflows: std::collections::BTreeMap<String, String> = card
        .instances
        .iter()
        .filter_map(|i| {
            rules
                .get(&i.workflow_id)
                .map(|w| (i.workflow_id.clone(), w.name.clone()))
        })
        .collect();
    viewer.page(
        "pages/unit.html",
        &card.name,
        context! {
            can_read_chains => viewer.actor.role.may(Permission::ReadChains),
            can_read_ledger => viewer.actor.role.may(Permission::ReadLedger),
            workflows,
            today => state.app.today().to_string(),
            card => Value::from(minijinja::value::Serde(&card)),
            messages => messages.map(|m| Value::from(minijinja::value::Serde(&m))),
            messages_shown => MESSAGES_SHOWN,
        },
    )
}

/// The latest delivery attempts a unit's page lists; the delivery log has the rest.
const MESSAGES_SHOWN: u64 = 50;
