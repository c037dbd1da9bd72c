//! The chains (督办链条): the list, filtered and paged by `duban-app`; a chain's timeline
//! (every step, done, pending, late or failed, drawn along the calendar); the delivery log
//! and the dead letters, with a button that sends one again.

use super::strip::Strip;
use super::{Viewer, download, given, href, page_of, pager};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use duban_app::chains::{CHAIN_STATUSES, ChainQuery};
use duban_app::monitor::{DeliveryLine, DeliveryQuery, TimelineStep};
use duban_tabular::export::{Cell, Sheet};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

/// Text parameters, so that nothing typed gets a bare 400 from the framework.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct ChainParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workflow: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    overdue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    escalated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<String>,
}

/// The workflows' names, for the filter and the rows.
fn workflow_names(state: &AppState) -> std::collections::BTreeMap<String, String> {
    state
        .app
        .engine
        .rules
        .current()
        .workflows
        .values()
        .map(|w| (w.id.clone(), w.name.clone()))
        .collect()
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<ChainParams>,
) -> Response {
    let q = ChainQuery {
        district: given(&p.district),
        unit: given(&p.unit),
        workflow: given(&p.workflow),
        status: given(&p.status),
        overdue: given(&p.overdue).is_some(),
        escalated: given(&p.escalated).is_some(),
        page: page_of(&p.page),
    };
    let page = match state.app.chain_page(&viewer.actor, &q).await {
        Ok(p) => p,
        Err(e) => return viewer.error(&e),
    };
    let facets = match state.app.register_facets(&viewer.actor).await {
        Ok(f) => f,
        Err(e) => return viewer.error(&e),
    };
    let pager = pager(page.page, page.pages, |n| {
        href(
            "/chains",
            &ChainParams {
                page: (n > 1).then(|| n.to_string()),
                ..p.clone()
            },
        )
    });
    viewer.page(
        "pages/chains.html",
        viewer.lang.text("chains.title"),
        context! {
            districts => facets.districts,
            workflows => workflow_names(&state),
            statuses => CHAIN_STATUSES,
            q => context! {
                district => q.district, unit => q.unit, workflow => q.workflow,
                status => q.status, overdue => q.overdue, escalated => q.escalated,
            },
            rows => Value::from(minijinja::value::Serde(&page.rows)),
            total => page.total,
            page => page.page,
            pages => page.pages,
            pager,
        },
    )
}

/// Geometry of the timeline strip, in SVG user units.
/// How a step stands, for the page.
fn class_of(t: &TimelineStep) -> &'static str {
    match t.state.as_str() {
        "done" if t.late => "late",
        "done" => "done",
        "failed" => "failed",
        "cancelled" => "cancelled",
        "skipped" => "skipped",
        _ => "pending",
    }
}

/// Each step placed along the calendar from the first due date to the last (today within).
fn strip(steps: &[TimelineStep], now: DateTime<Utc>) -> Option<Strip> {
    let first = steps.iter().map(|t| t.due_at).min()?;
    let last = steps.iter().map(|t| t.due_at).max()?;
    Some(Strip::new(
        steps
            .iter()
            .map(|t| (t.due_at, class_of(t), t.title.clone())),
        (first.min(now), last.max(now)),
        now,
    ))
}

pub async fn timeline(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Response {
    let tl = match state.app.timeline(&viewer.actor, id).await {
        Ok(t) => t,
        Err(e) => return viewer.error(&e),
    };
    let now = state.app.now();
    let strip = strip(&tl.timers, now);
    let steps: Vec<Value> = tl
        .timers
        .iter()
        .map(|t| {
            context! {
                class => class_of(t),
                step => Value::from(minijinja::value::Serde(t)),
            }
        })
        .collect();
    let names = workflow_names(&state);
    let name = names
        .get(&tl.instance.workflow_id)
        .cloned()
        .unwrap_or_else(|| tl.instance.workflow_id.clone());
    let title = format!("{name} #{id}");
    viewer.page(
        "pages/chain.html",
        &title,
        context! {
            instance => Value::from(minijinja::value::Serde(&tl.instance)),
            steps,
            strip => Value::from(minijinja::value::Serde(&strip)),
        },
    )
}

/// Text parameters of the delivery log.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct DeliveryParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    person: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<String>,
}

impl DeliveryParams {
    fn query(&self) -> DeliveryQuery {
        DeliveryQuery {
            unit: given(&self.unit),
            person: given(&self.person),
            status: given(&self.status),
            ..DeliveryQuery::default()
        }
    }
}

pub async fn deliveries(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<DeliveryParams>,
) -> Response {
    let q = p.query();
    let page = match state
        .app
        .delivery_page(&viewer.actor, &q, page_of(&p.page))
        .await
    {
        Ok(p) => p,
        Err(e) => return viewer.error(&e),
    };
    let unpaged = DeliveryParams {
        page: None,
        ..p.clone()
    };
    let pager = pager(page.page, page.pages, |n| {
        href(
            "/deliveries",
            &DeliveryParams {
                page: (n > 1).then(|| n.to_string()),
                ..p.clone()
            },
        )
    });
    viewer.page(
        "pages/deliveries.html",
        viewer.lang.text("deliveries.title"),
        context! {
            q => context! { unit => q.unit, person => q.person, status => q.status },
            statuses => duban_app::monitor::DELIVERY_STATUSES.to_vec(),
            rows => Value::from(minijinja::value::Serde(&page.rows)),
            total => page.total,
            page => page.page,
            pages => page.pages,
            pager,
            export_xlsx => href("/deliveries.xlsx", &unpaged),
            export_csv => href("/deliveries.csv", &unpaged),
        },
    )
}

/// The delivery log as an exported table.
fn delivery_sheet(viewer: &Viewer, rows: &[DeliveryLine]) -> Sheet {
    let t = |k: &str| viewer.lang.text(k).to_string();
    Sheet {
        name: t("deliveries.title"),
        headers: [
            "deliveries.at",
            "deliveries.channel",
            "deliveries.address",
            "deliveries.person",
            "deliveries.unit",
            "deliveries.subject",
            "deliveries.status",
            "deliveries.attempt",
            "deliveries.error",
        ]
        .iter()
        .map(|k| t(k))
        .collect(),
        rows: rows
            .iter()
            .map(|d| {
                vec![
                    Cell::Text(d.at.with_timezone(&super::i18n::beijing()).to_rfc3339()),
                    viewer.lang.word("channel", &d.channel).into(),
                    d.address.as_str().into(),
                    d.person.as_deref().into(),
                    d.unit.as_deref().into(),
                    d.subject.as_str().into(),
                    viewer.lang.word("delivery", &d.status).into(),
                    Cell::Int(i64::from(d.attempt)),
                    d.error.as_deref().into(),
                ]
            })
            .collect(),
    }
}

async fn export(state: AppState, viewer: Viewer, p: DeliveryParams, ext: &str) -> Response {
    let rows = match state.app.deliveries(&viewer.actor, &p.query()).await {
        Ok(r) => r,
        Err(e) => return viewer.error(&e),
    };
    download(
        &viewer,
        &delivery_sheet(&viewer, &rows),
        ext,
        "deliveries",
        state.app.today(),
    )
}

pub async fn deliveries_xlsx(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<DeliveryParams>,
) -> Response {
    export(state, viewer, p, "xlsx").await
}

pub async fn deliveries_csv(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<DeliveryParams>,
) -> Response {
    export(state, viewer, p, "csv").await
}

#[derive(Debug, Default, Deserialize)]
pub struct Resent {
    #[serde(default)]
    resent: Option<String>,
}

pub async fn dead(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Resent>,
) -> Response {
    match state.app.dead_letters(&viewer.actor).await {
        Ok(rows) => viewer.page(
            "pages/dead.html",
            viewer.lang.text("dead.title"),
            context! {
                rows => Value::from(minijinja::value::Serde(&rows)),
                resent => given(&q.resent),
            },
        ),
        Err(e) => viewer.error(&e),
    }
}

pub async fn resend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Response {
    match state.app.resend(&viewer.actor, id).await {
        Ok(()) => Redirect::to(&format!("/deliveries/dead?resent={id}")).into_response(),
        Err(e) => viewer.error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::super::strip::{LEFT, SPAN};
    use super::*;

    fn step(due: &str, state: &str, late: bool) -> TimelineStep {
        TimelineStep {
            id: 1,
            step_id: "s".into(),
            occurrence: String::new(),
            due_at: due.parse().unwrap(),
            state: state.into(),
            late,
            attempts: 0,
            last_error: None,
            fired_at: None,
            title: "t".into(),
        }
    }

    #[test]
    fn steps_lie_along_the_calendar_with_today_among_them() {
        let steps = [
            step("2026-01-01T00:00:00Z", "done", false),
            step("2026-01-11T00:00:00Z", "done", true),
            step("2026-01-21T00:00:00Z", "pending", false),
        ];
        let s = strip(&steps, "2026-01-16T00:00:00Z".parse().unwrap()).unwrap();
        assert_eq!(
            s.dots.iter().map(|d| (d.x, d.class)).collect::<Vec<_>>(),
            [
                (LEFT, "done"),
                (LEFT + SPAN / 2, "late"),
                (LEFT + SPAN, "pending")
            ]
        );
        assert_eq!(s.today_x, Some(LEFT + SPAN * 3 / 4));
        // Today past the last step stretches the strip to today.
        let s = strip(&steps[..1], "2026-01-11T00:00:00Z".parse().unwrap()).unwrap();
        assert_eq!((s.dots[0].x, s.today_x), (LEFT, Some(LEFT + SPAN)));
        assert!(strip(&[], Utc::now()).is_none());
    }
}
