//! What the engine planned and did: timers, a chain's timeline, the delivery log, dead
//! letters, people no channel reaches, and the register's coverage.

use super::json;
use crate::AppState;
use crate::auth::Authed;
use crate::problem::Problem;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use duban_app::monitor::{
    CoverageReport, DeadLetter, DeliveryLine, DeliveryQuery, Timeline, TimerLine, TimerQuery,
    Unreachable,
};
use serde::Deserialize;
use utoipa::IntoParams;

/// Which timers to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimersParams {
    /// Only timers due before this instant (RFC 3339).
    pub due_before: Option<DateTime<Utc>>,
    /// A unit's code: timers of its chains.
    pub unit: Option<String>,
    /// States separated by commas: pending, running, done, failed, cancelled, skipped.
    pub state: Option<String>,
    /// At most this many, 1–10000 (default 100).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u64>,
}

/// Timers soonest first.
#[utoipa::path(get, path = "/api/v1/timers", tag = "deliveries", params(TimersParams),
    responses((status = 200, body = Vec<TimerLine>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_timers(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(p): Query<TimersParams>,
) -> Result<Response, Problem> {
    let q = TimerQuery {
        due_before: p.due_before,
        unit: p.unit.filter(|u| !u.is_empty()),
        states: p
            .state
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        limit: p.limit.unwrap_or(100),
    };
    Ok(json(StatusCode::OK, &state.app.timers(&actor, &q).await?))
}

/// One chain with every step, done and planned.
#[utoipa::path(get, path = "/api/v1/instances/{id}", tag = "loop",
    params(("id" = i64, Path, description = "The instance")),
    responses((status = 200, body = Timeline), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn instance_timeline(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<i64>,
) -> Result<Response, Problem> {
    Ok(json(StatusCode::OK, &state.app.timeline(&actor, id).await?))
}

/// Which deliveries to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesParams {
    /// A unit's code: messages about it.
    pub unit: Option<String>,
    /// A person's mobile number, email or id.
    pub person: Option<String>,
    /// sent, transient, permanent, dead, dropped, deferred, merged or uncertain.
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u64>,
    /// Rows skipped first (paging).
    #[param(minimum = 0, maximum = 1_000_000_000)]
    pub offset: Option<u64>,
}

/// Every attempt to deliver a message, newest first; addresses masked.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "deliveries", params(DeliveriesParams),
    responses((status = 200, body = Vec<DeliveryLine>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(p): Query<DeliveriesParams>,
) -> Result<Response, Problem> {
    let some = |s: Option<String>| s.filter(|s| !s.is_empty());
    let q = DeliveryQuery {
        unit: some(p.unit),
        person: some(p.person),
        status: some(p.status),
        limit: p.limit,
        offset: p.offset.unwrap_or(0),
    };
    Ok(json(
        StatusCode::OK,
        &state.app.deliveries(&actor, &q).await?,
    ))
}

/// Messages that failed for good or used up their retries; addresses masked.
#[utoipa::path(get, path = "/api/v1/deliveries/dead", tag = "deliveries",
    responses((status = 200, body = Vec<DeadLetter>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn dead_letters(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(StatusCode::OK, &state.app.dead_letters(&actor).await?))
}

/// People no channel reaches, newest first.
#[utoipa::path(get, path = "/api/v1/people/unreachable", tag = "deliveries",
    responses((status = 200, body = Vec<Unreachable>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn unreachable(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(StatusCode::OK, &state.app.unreachable(&actor).await?))
}

/// The two coverages (两个覆盖) per district and in total.
#[utoipa::path(get, path = "/api/v1/register/coverage", tag = "register",
    responses((status = 200, body = CoverageReport), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn coverage(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(StatusCode::OK, &state.app.coverage(&actor).await?))
}
