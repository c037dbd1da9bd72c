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
    let (base, pager) = board_links("/items", p, page.page, page.pages);
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
    let back = back_of(&f.back);
    let refuse = |message: String| Refused {
        item,
        message,
        form: &f,
    };
    let on = match day_of(&state, &viewer, &f.on) {
        Ok(d) => d,
        Err(m) => return show(&state, &viewer, &back, Some(refuse(m))).await,
    };
    let answer = Answer::ItemVerified {
        item,
        verifier: f.verifier.trim().to_string(),
        on,
    };
    match answer_from_board(&state, &viewer, answer, "/items", item, &back).await {
        Ok(r) => r,
        Err(m) => show(&state, &viewer, &back, Some(refuse(m))).await,
    }
}

/// A board's filters without its notice, and the links to its pages.
fn board_links(board: &str, p: &ItemParams, page: u64, pages: u64) -> (ItemParams, Vec<Value>) {
    let base = ItemParams {
        closed: None,
        ..p.clone()
    };
    let links = pager(page, pages, |n| {
        href(
            board,
            &ItemParams {
                page: (n > 1).then(|| n.to_string()),
                ..base.clone()
            },
        )
    });
    (base, links)
}

/// The board's filters a form carries back (`back`, the board's address).
fn back_of(back: &str) -> ItemParams {
    back.split_once('?')
        .and_then(|(_, q)| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

/// A day typed in a board's form: empty is today; else what is not a date, said plainly.
fn day_of(state: &AppState, viewer: &Viewer, s: &str) -> Result<NaiveDate, String> {
    match s.trim() {
        "" => Ok(state.app.today()),
        t => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| viewer.lang.text("items.bad_date").replace("{date}", t)),
    }
}

/// Records `answer` as the viewer: back to `board` saying `done`, or the refusal in the
/// reader's language for the board to show in the row.
async fn answer_from_board(
    state: &AppState,
    viewer: &Viewer,
    answer: Answer,
    board: &str,
    done: i64,
    back: &ItemParams,
) -> Result<Response, String> {
    match state.app.answer(&viewer.actor, answer).await {
        Ok(_) => {
            let to = href(
                board,
                &ItemParams {
                    closed: Some(done.to_string()),
                    ..back.clone()
                },
            );
            Ok(Redirect::to(&to).into_response())
        }
        Err(AppError::Refused(m) | AppError::Invalid { message: m, .. }) => {
            Err(viewer.lang.pick(&m, &m).to_string())
        }
        Err(e) => Ok(viewer.error(&e)),
    }
}

/// An action on an interview the use case refused: said in that row, what was typed kept.
struct InterviewRefusal<'a> {
    interview: i64,
    action: &'a str,
    message: String,
    form: &'a InterviewForm,
}

/// The interviews board (`/interviews`): the supervisory interviews in the reader's scope,
/// soonest first, filtered by district, unit and status, paged by `duban-app`; an
/// administrator reschedules one, records it held, or files its record from the row.
pub async fn interviews(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<ItemParams>,
) -> Response {
    show_interviews(&state, &viewer, &p, None).await
}

async fn show_interviews(
    state: &AppState,
    viewer: &Viewer,
    p: &ItemParams,
    refused: Option<InterviewRefusal<'_>>,
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
    let (base, pager) = board_links("/interviews", p, page.page, page.pages);
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let refused = refused.map(|r| {
        context! {
            interview => r.interview, action => r.action, message => r.message,
            at => r.form.at.clone(), location => r.form.location.clone(), on => r.form.on.clone(),
            record => r.form.record.clone(), problems => r.form.problems.clone(),
        }
    });
    let mut r = viewer.page(
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
            today => state.app.today().to_string(),
            can_act => viewer.actor.role.may(Permission::WriteRegister),
            back => href("/interviews", &base),
            done => given(&p.closed),
            refused,
        },
    );
    *r.status_mut() = status;
    r
}

/// What the interview forms send, as text.
#[derive(Debug, Default, Deserialize)]
pub struct InterviewForm {
    /// reschedule: the new time, `2026-12-10T09:00` (Beijing).
    #[serde(default)]
    at: String,
    #[serde(default)]
    location: String,
    /// held, record: the day.
    #[serde(default)]
    on: String,
    #[serde(default)]
    record: String,
    /// One problem a line; each becomes a rectification item.
    #[serde(default)]
    problems: String,
    #[serde(default)]
    back: String,
}

/// `POST /interviews/{id}/{action}`: `reschedule`, `held` or `record`, through the same
/// recorder as the API's answers; back to the board with a notice, or the refusal in the row.
pub async fn interview_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((interview, action)): Path<(i64, String)>,
    Form(f): Form<InterviewForm>,
) -> Response {
    let back = back_of(&f.back);
    let refuse = |message: String| InterviewRefusal {
        interview,
        action: match action.as_str() {
            "reschedule" => "reschedule",
            "held" => "held",
            _ => "record",
        },
        message,
        form: &f,
    };
    let day = |s: &str| day_of(&state, &viewer, s);
    let text = |s: &str| Some(s.trim().to_string()).filter(|t| !t.is_empty());
    let answer = match action.as_str() {
        "reschedule" => {
            let at = f.at.trim();
            match chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M") {
                Ok(at) => Ok(Answer::InterviewRescheduled {
                    interview,
                    at,
                    location: text(&f.location),
                }),
                Err(_) => Err(viewer.lang.text("items.bad_date").replace("{date}", at)),
            }
        }
        "held" => day(&f.on).map(|on| Answer::InterviewHeld { interview, on }),
        "record" => day(&f.on).map(|on| Answer::RecordFiled {
            interview,
            on,
            record: f.record.trim().to_string(),
            problems: f.problems.lines().filter_map(text).collect(),
        }),
        _ => {
            return viewer.error(&AppError::NotFound(format!(
                "没有操作 {action} (no action {action})"
            )));
        }
    };
    let answer = match answer {
        Ok(a) => a,
        Err(m) => return show_interviews(&state, &viewer, &back, Some(refuse(m))).await,
    };
    match answer_from_board(&state, &viewer, answer, "/interviews", interview, &back).await {
        Ok(r) => r,
        Err(m) => show_interviews(&state, &viewer, &back, Some(refuse(m))).await,
    }
}
