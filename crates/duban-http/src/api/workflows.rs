//! `workflows check` and `workflows simulate` over HTTP: both read, nothing is written.

use super::json;
use crate::AppState;
use crate::auth::Authed;
use crate::problem::{Problem, parse_json};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use duban_app::workflows::{SimulateRequest, WorkflowsChecked};

/// Check the workflow files of the configured directory as they stand now, with the
/// calendar and the SMS provider's templates: every finding located file:line:column.
/// `failed` when the engine would refuse to start on them.
#[utoipa::path(post, path = "/api/v1/workflows/check", tag = "workflows",
    responses((status = 200, body = WorkflowsChecked), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn check_workflows(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state.app.check_workflows(&actor).await?,
    ))
}

/// The timeline a subject would get from a workflow between two dates: each step with its
/// instant, recipients, channels and rendered messages, escalations marked, with completion
/// events injected. The subject is a unit of the register, a subject key, or written out.
#[utoipa::path(post, path = "/api/v1/workflows/simulate", tag = "workflows", request_body = SimulateRequest,
    responses((status = 200, description = "The timeline, as `duban workflows simulate --format json`", body = serde_json::Value),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn simulate_workflow(
    State(state): State<AppState>,
    Authed(actor): Authed,
    body: Bytes,
) -> Result<Response, Problem> {
    let req: SimulateRequest = parse_json(&body)?;
    Ok(json(
        StatusCode::OK,
        &state.app.simulate_workflow(&actor, req).await?,
    ))
}
