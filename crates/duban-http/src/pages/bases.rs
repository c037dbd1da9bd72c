//! Open organisational-life bases: the list (`/bases`), a base's week with each slot's free
//! places and the booking form (`/bases/{code}`), and the bookings the reader may see
//! (`/bookings`, linked from the secretary's `/my`; `.xlsx` and `.csv`) with their
//! cancellation. Every decision is the use cases' (`duban_app::bases`).

use super::Viewer;
use crate::AppState;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, Duration, NaiveDate};
use duban_app::Permission;
use duban_app::bases::{BookingQuery, BookingRequest};
use minijinja::{Value, context};
use serde::Deserialize;

pub async fn list(State(state): State<AppState>, viewer: Viewer) -> Response {
    match state.app.bases(&viewer.actor).await {
        Ok(bases) => viewer.page(
            "pages/bases.html",
            viewer.lang.text("bases.title"),
            context! { bases => Value::from(minijinja::value::Serde(&bases)) },
        ),
        Err(e) => viewer.error(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct WeekParams {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    booked: Option<i64>,
}

pub async fn week(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(q): Query<WeekParams>,
) -> Response {
    let today = state.app.today();
    let from = q
        .from
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or(today);
    // The week from its Monday.
    let monday = from - Duration::days(i64::from(from.weekday().num_days_from_monday()));
    let cal = match state
        .app
        .base_calendar(&viewer.actor, &code, monday, 7)
        .await
    {
        Ok(c) => c,
        Err(e) => return viewer.error(&e),
    };
    let units = viewer.actor.scope.units.clone();
    viewer.page(
        "pages/base_week.html",
        &cal.base.name.clone(),
        context! {
            cal => Value::from(minijinja::value::Serde(&cal)),
            previous => (monday - Duration::days(7)).to_string(),
            next => (monday + Duration::days(7)).to_string(),
            can_book => viewer.actor.role.may(Permission::BookBase),
            units,
            booked => q.booked,
        },
    )
}

/// The booking form; every field text so that nothing typed gets a bare 422.
#[derive(Debug, Default, Deserialize)]
pub struct BookForm {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    slot: String,
    #[serde(default)]
    activity: String,
    #[serde(default)]
    headcount: String,
}

pub async fn book(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Form(f): Form<BookForm>,
) -> Response {
    // The slot is `YYYY-MM-DD HH:MM`, as the calendar offers it.
    let (date, starts) = f.slot.split_once(' ').unwrap_or((&f.slot, ""));
    let Ok(date) = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d") else {
        return viewer.error(&duban_app::AppError::invalid_at(
            "slot",
            "请选择一个时段 (choose a slot)",
        ));
    };
    let Ok(headcount) = f.headcount.trim().parse::<i32>() else {
        return viewer.error(&duban_app::AppError::invalid_at(
            "headcount",
            "人数应为整数 (the head count is a whole number)",
        ));
    };
    let req = BookingRequest {
        base: code.clone(),
        unit: f.unit,
        date,
        starts: starts.to_string(),
        activity: f.activity,
        headcount,
    };
    match state.app.book_base(&viewer.actor, req).await {
        Ok(o) => Redirect::to(&format!(
            "/bases/{}?from={date}&booked={}",
            super::encode(&code),
            o.booking.id
        ))
        .into_response(),
        Err(e) => viewer.error(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct BookingParams {
    #[serde(default)]
    base: Option<String>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    cancelled: Option<i64>,
}

impl BookingParams {
    fn query(&self) -> BookingQuery {
        let day = |d: &Option<String>| {
            d.as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
        };
        BookingQuery {
            base: self.base.clone().filter(|s| !s.trim().is_empty()),
            unit: self.unit.clone().filter(|s| !s.trim().is_empty()),
            from: day(&self.from),
            to: day(&self.to),
            all: self.all.as_deref().is_some_and(|a| !a.is_empty()),
        }
    }
}

pub async fn bookings(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<BookingParams>,
) -> Response {
    let q = p.query();
    match state.app.bookings(&viewer.actor, &q).await {
        Ok(rows) => viewer.page(
            "pages/bookings.html",
            viewer.lang.text("bookings.title"),
            context! {
                rows => Value::from(minijinja::value::Serde(&rows)),
                all => q.all,
                can_cancel => viewer.actor.role.may(Permission::BookBase),
                cancelled => p.cancelled,
                export => format!("all={}", if q.all { "1" } else { "" }),
            },
        ),
        Err(e) => viewer.error(&e),
    }
}

pub async fn bookings_export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<BookingParams>,
) -> Response {
    let rows = state.app.bookings(&viewer.actor, &p.query()).await;
    super::download_of(&viewer, state.app.today(), "bookings", rows, |rows| {
        duban_app::bases::bookings_sheet(rows)
    })
}

pub async fn cancel(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Response {
    match state.app.cancel_booking(&viewer.actor, id).await {
        Ok(_) => Redirect::to(&format!("/bookings?cancelled={id}")).into_response(),
        Err(e) => viewer.error(&e),
    }
}
