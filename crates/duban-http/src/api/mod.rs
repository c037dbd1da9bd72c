//! The JSON API under `/api/v1`. Every route is documented in the OpenAPI document (utoipa)
//! it is registered with, so the document cannot leave a route out.

mod bank;
mod bank_profiles;
mod bases;
mod handlers;
mod monitor;
mod reports;
mod workflows;

use crate::AppState;
use crate::problem::Problem;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use duban_app::idempotency::Idempotent;
use duban_app::{Actor, AppError};
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "duban",
        description = "督办: reminder-and-escalation chains for party units, their answers, the register and its users. Errors are RFC 9457 problem details. Writes accept an `Idempotency-Key` header: the same key and body return the first answer; the same key with another body is refused (422).",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    components(schemas(Problem)),
    modifiers(&Security),
    tags(
        (name = "session", description = "Signing in and out"),
        (name = "register", description = "Units, imports, staff"),
        (name = "loop", description = "Answers, rectification items, interviews, chains"),
        (name = "deliveries", description = "Messages and chains administrators act on"),
        (name = "workflows", description = "Workflow files checked and simulated"),
        (name = "users", description = "Users, roles and API tokens"),
        (name = "ledger", description = "The funds ledger: commands and reports"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "bases", description = "Open organisational-life bases and their bookings"),
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// Every API route with its documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    use handlers::*;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(login, logout))
        .routes(routes!(me))
        .routes(routes!(change_own_password))
        .routes(routes!(list_units))
        .routes(routes!(unit_card))
        .routes(routes!(import_register))
        .routes(routes!(import_rectification))
        .routes(routes!(import_members))
        .routes(routes!(list_members))
        .routes(routes!(add_staff, list_staff))
        .routes(routes!(set_staff_roles))
        .routes(routes!(record_answer))
        .routes(routes!(list_items, open_item))
        .routes(routes!(list_interviews, open_interview))
        .routes(routes!(list_instances))
        .routes(routes!(resend))
        .routes(routes!(replan))
        .routes(routes!(workflows::check_workflows))
        .routes(routes!(workflows::simulate_workflow))
        .routes(routes!(list_users, add_user))
        .routes(routes!(change_access))
        .routes(routes!(set_password))
        .routes(routes!(list_tokens, issue_token))
        .routes(routes!(revoke_token))
        .routes(routes!(ledger_commands))
        .routes(routes!(ledger_budget))
        .routes(routes!(ledger_balances))
        .routes(routes!(ledger_transactions))
        .routes(routes!(ledger_allocations))
        .routes(routes!(ledger_dues))
        .routes(routes!(ledger_rebates))
        .routes(routes!(ledger_status))
        .routes(routes!(ledger_verify))
        .routes(routes!(bank::preview_statement))
        .routes(routes!(bank::list_accounts, bank::add_account))
        .routes(routes!(bank::import_statement))
        .routes(routes!(bank::lines))
        .routes(routes!(bank::run_match))
        .routes(routes!(bank::exceptions))
        .routes(routes!(bank::all_exceptions))
        .routes(routes!(bank::three_way))
        .routes(routes!(bank::matches, bank::match_manual))
        .routes(routes!(bank::unmatch))
        .routes(routes!(bank_profiles::list, bank_profiles::save))
        .routes(routes!(bank_profiles::show, bank_profiles::remove))
        .routes(routes!(bank_profiles::layout))
        .routes(routes!(bases::list_bases, bases::add_base))
        .routes(routes!(bases::get_base, bases::edit_base))
        .routes(routes!(bases::base_calendar))
        .routes(routes!(bases::list_bookings, bases::book))
        .routes(routes!(bases::cancel))
        .routes(routes!(reports::budget_execution))
        .routes(routes!(reports::unit_ledger))
        .routes(routes!(reports::bank_reconciliation))
        .routes(routes!(reports::dues))
        .routes(routes!(audit_entries))
        .routes(routes!(audit_verify))
        .routes(routes!(monitor::list_timers))
        .routes(routes!(monitor::instance_timeline))
        .routes(routes!(monitor::list_deliveries))
        .routes(routes!(monitor::dead_letters))
        .routes(routes!(monitor::unreachable))
        .routes(routes!(monitor::coverage))
}

/// Carries out a write, honouring `Idempotency-Key`: the first answer is kept and given
/// again to the same request; another request under the same key is refused.
pub(crate) async fn write<T: Serialize>(
    state: &AppState,
    actor: &Actor,
    headers: &HeaderMap,
    request: &str,
    body: &[u8],
    success: StatusCode,
    run: impl Future<Output = Result<T, Problem>>,
) -> Response {
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_string));
    let key = match key {
        None => None,
        Some(Ok(k)) => Some(k),
        Some(Err(_)) => {
            return Problem::from(AppError::invalid("Idempotency-Key must be ASCII"))
                .into_response();
        }
    };
    let Some(key) = key else {
        return match run.await {
            Ok(v) => json(success, &v),
            Err(p) => p.into_response(),
        };
    };
    let body_hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(body))
    };
    match state
        .app
        .begin_idempotent(actor, &key, request, &body_hash)
        .await
    {
        Err(e) => Problem::from(e).into_response(),
        Ok(Idempotent::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut r = stored(status, body);
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            r
        }
        Ok(Idempotent::Run) => {
            let (status, text) = match run.await {
                Ok(v) => (success, serde_json::to_string(&v).unwrap_or_default()),
                Err(p) => (p.status(), serde_json::to_string(&p).unwrap_or_default()),
            };
            // An outage or an internal failure may pass: the key is given back so the
            // request can be tried again. Every other answer is kept.
            let kept = if status.is_server_error() {
                state.app.abandon_idempotent(actor, &key).await
            } else {
                state
                    .app
                    .finish_idempotent(actor, &key, status.as_u16(), &text)
                    .await
            };
            if let Err(e) = kept {
                tracing::warn!(error = %e, "keeping the answer of an idempotent request");
            }
            stored(status, text)
        }
    }
}

/// An answer already serialised: JSON, or a problem.
fn stored(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub(crate) fn json<T: Serialize>(status: StatusCode, v: &T) -> Response {
    (status, axum::Json(v)).into_response()
}

/// The body of an upload, refused when empty.
pub(crate) fn upload(body: &Bytes) -> Result<&[u8], Problem> {
    if body.is_empty() {
        return Err(AppError::invalid(
            "the request body is empty: send the CSV or XLSX file as the body",
        )
        .into());
    }
    Ok(body)
}
