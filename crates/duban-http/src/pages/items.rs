//! The rectification board (`/items`): the items in the reader's scope by deadline,
//! filtered and paged by `duban-app`, and on each open item the close-out form (整改验收销号):
//! the verifier, who may not be the item's owner, and the date.

use super::{Viewer, given, href, page_of, pager};
use crate::AppState;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use duban_app::chains::{INTERVIEW_STATUSES, ITEM_STATUSES, ItemQuery};
use duban_app::loop_::Answer;
use duban_app::{AppError, Permission};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct ItemParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    overdue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<String>,
    /// The item just closed, for the notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    closed: Option<String>,
}

/// A close-out form sent back with why it was refused.
struct Refused<'a> {
    item: i64,
    message: String,
    form: &'a CloseForm,
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    p: &ItemParams,
    refused: Option<Refused<'_>>,
) -> Response {
    let q = ItemQuery {
        district: given(&p.district),
        unit: given(&p.unit),
        search: given(&p.q),
        status: given(&p.status),
        overdue: given(&p.overdue).is_some(),
        page: page_of(&p.page),
    };
    let page = match state.app.item_page(&viewer.actor, &q).await {
        Ok(p) => p,
        Err(e) => return viewer.error(&e),
    };
    let facets = match state.app.register_facets(&viewer.actor).await {
        Ok(f) => f,
        Err(e) => return viewer.error(&e),
    };
    let base = ItemParams {
        closed: None,
        ..p.clone()
    };
    let pager = pager(page.page, page.pages, |n| {
        href(
            "/items",
            &ItemParams {
                page: (n > 1).then(|| n.to_string()),
                ..base.clone()
            },
        )
    });
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let refused = refused.map(|r| {
        context! { item => r.item, message => r.message, verifier => r.form.verifier.clone(), on => r.form.on.clone() }
    });
    let mut r = viewer.page(
        "pages/items.html",
        viewer.lang.text("items.title"),
        context! {
            districts => facets.districts,
            statuses => ITEM_STATUSES.to_vec(),
            q => context! {
                district => q.district, unit => q.unit, search => q.search,
                status => q.status, overdue => q.overdue,
            },
            rows => Value::from(minijinja::value::Serde(&page.rows)),
            total => page.total,
            page => page.page,
            pages => page.pages,
            pager,
            today => state.app.today().to_string(),
            can_close => viewer.actor.role.may(Permission::WriteRegister),
            back => href("/items", &base),
            closed => given(&p.closed),
            refused,
        },
    );
    *r.status_mut() = status;
    r
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<ItemParams>,
) -> Response {
    show(&state, &viewer, &p, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    verifier: String,
    #[serde(default)]
    on: String,
    /// The board's address to return to.
    #[serde(default)]
    back: String,
}

pub async fn close(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(item): Path<i64>,
    Form(f): Form<CloseForm>,
) -> Response {
    let back: ItemParams = f
        .back
        .split_once('?')
        .and_then(|(_, q)| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let refuse = |message: String| Refused {
        item,
        message,
        form: &f,
    };
    let on = match f.on.trim() {
        "" => state.app.today(),
        s => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => d,
            Err(_) => {
                let m = viewer.lang.text("items.bad_date").replace("{date}", s);
                return show(&state, &viewer, &back, Some(refuse(m))).await;
            }
        },
    };
    let answer = Answer::ItemVerified {
        item,
        verifier: f.verifier.trim().to_string(),
        on,
    };
    match state.app.answer(&viewer.actor, answer).await {
        Ok(_) => {
            let to = href(
                "/items",
                &ItemParams {
                    closed: Some(item.to_string()),
                    ..back
                },
            );
            Redirect::to(&to).into_response()
        }
        Err(AppError::Refused(m) | AppError::Invalid { message: m, .. }) => {
            let m = viewer.lang.pick(&m, &m).to_string();
            show(&state, &viewer, &back, Some(refuse(m))).await
        }
        Err(e) => viewer.error(&e),
    }
}

/// The interviews board (`/interviews`): the supervisory interviews in the reader's scope,
/// soonest first, filtered by district, unit and status, paged by `duban-app`.
pub async fn interviews(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<ItemParams>,
) -> Response {
    let q = ItemQuery {
        district: given(&p.district),
        unit: given(&p.unit),
        search: None,
        status: given(&p.status),
        overdue: false,
        page: page_of(&p.page),
    };
    let page = match state.app.interview_page(&viewer.actor, &q).await {
        Ok(p) => p,
        Err(e) => return viewer.error(&e),
    };
    let facets = match state.app.register_facets(&viewer.actor).await {
        Ok(f) => f,
        Err(e) => return viewer.error(&e),
    };
    let pager = pager(page.page, page.pages, |n| {
        href(
            "/interviews",
            &ItemParams {
                page: (n > 1).then(|| n.to_string()),
                ..p.clone()
            },
        )
    });
    viewer.page(
        "pages/interviews.html",
        viewer.lang.text("interviews.title"),
        context! {
            districts => facets.districts,
            statuses => INTERVIEW_STATUSES.to_vec(),
            q => context! { district => q.district, unit => q.unit, status => q.status },
            rows => Value::from(minijinja::value::Serde(&page.rows)),
            total => page.total,
            page => page.page,
            pages => page.pages,
            pager,
        },
    )
}
