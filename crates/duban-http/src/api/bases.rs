//! Open organisational-life bases: the bases (administrators add and edit them), a base's
//! calendar with each slot's free places, bookings and their cancellation.

use super::{json, write};
use crate::AppState;
use crate::auth::Authed;
use crate::problem::{Problem, parse_json};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use duban_app::bases::{
    Base, BaseCalendar, BaseRequest, BookingLine, BookingOutcome, BookingQuery, BookingRequest,
};
use serde::Deserialize;
use utoipa::IntoParams;

/// The bases, by district and code.
#[utoipa::path(get, path = "/api/v1/bases", tag = "bases",
    responses((status = 200, body = Vec<Base>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_bases(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(StatusCode::OK, &state.app.bases(&actor).await?))
}

/// Add a base (administrators, within their districts). A code already used is refused.
#[utoipa::path(post, path = "/api/v1/bases", tag = "bases", request_body = BaseRequest,
    responses((status = 201, body = Base), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn add_base(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/bases",
        &body,
        StatusCode::CREATED,
        async {
            let req: BaseRequest = parse_json(&body)?;
            Ok(state.app.add_base(&actor, req).await?)
        },
    )
    .await
}

/// One base.
#[utoipa::path(get, path = "/api/v1/bases/{code}", tag = "bases",
    params(("code" = String, Path, description = "The base's code")),
    responses((status = 200, body = Base), (status = 404, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn get_base(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(code): Path<String>,
) -> Result<Response, Problem> {
    Ok(json(StatusCode::OK, &state.app.base(&actor, &code).await?))
}

/// Change a base: everything but its code (the body's code is ignored).
#[utoipa::path(put, path = "/api/v1/bases/{code}", tag = "bases", request_body = BaseRequest,
    params(("code" = String, Path, description = "The base's code")),
    responses((status = 200, body = Base), (status = 404, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn edit_base(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = format!("PUT /api/v1/bases/{code}");
    write(
        &state,
        &actor,
        &headers,
        &request,
        &body,
        StatusCode::OK,
        async {
            let req: BaseRequest = parse_json(&body)?;
            Ok(state.app.edit_base(&actor, &code, req).await?)
        },
    )
    .await
}

/// Which days of a base's calendar.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// The first day; today when absent.
    pub from: Option<NaiveDate>,
    /// How many days (1–62); 7 when absent.
    pub days: Option<u32>,
}

/// A base's calendar: each working day's slots with their booked and free places, and
/// whether each may still be booked; days off are closed.
#[utoipa::path(get, path = "/api/v1/bases/{code}/calendar", tag = "bases",
    params(("code" = String, Path, description = "The base's code"), CalendarQuery),
    responses((status = 200, body = BaseCalendar), (status = 404, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn base_calendar(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(code): Path<String>,
    Query(q): Query<CalendarQuery>,
) -> Result<Response, Problem> {
    let from = q.from.unwrap_or_else(|| state.app.today());
    Ok(json(
        StatusCode::OK,
        &state
            .app
            .base_calendar(&actor, &code, from, q.days.unwrap_or(7))
            .await?,
    ))
}

/// The bookings the reader may see (a secretary their units', an administrator those of
/// their districts), by day; cancelled ones with `all=true`.
#[utoipa::path(get, path = "/api/v1/bookings", tag = "bases", params(BookingQuery),
    responses((status = 200, body = Vec<BookingLine>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_bookings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<BookingQuery>,
) -> Result<Response, Problem> {
    Ok(json(StatusCode::OK, &state.app.bookings(&actor, &q).await?))
}

/// Book a slot for a unit (its secretary, or an administrator of its district). Refused
/// (409) with the reason in Chinese: 已约满, closed that day, outside the opening hours, the
/// booking deadline passed, another booking of the unit at that time; 403 for another
/// unit. The confirmation and the reminder the day before go to the unit's secretary.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "bases", request_body = BookingRequest,
    responses((status = 201, body = BookingOutcome), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn book(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/bookings",
        &body,
        StatusCode::CREATED,
        async {
            let req: BookingRequest = parse_json(&body)?;
            Ok(state.app.book_base(&actor, req).await?)
        },
    )
    .await
}

/// Cancel a booking up to the cancellation deadline (409 after it); its reminder not yet
/// sent is dropped.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/cancel", tag = "bases",
    params(("id" = i64, Path, description = "The booking's number")),
    responses((status = 200, body = BookingOutcome), (status = 404, body = Problem), (status = 409, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let request = format!("POST /api/v1/bookings/{id}/cancel");
    write(
        &state,
        &actor,
        &headers,
        &request,
        &[],
        StatusCode::OK,
        async { Ok(state.app.cancel_booking(&actor, id).await?) },
    )
    .await
}
