//! Bank statement profiles saved for layouts no shipped profile knows: listed and shown, a
//! file's layout to map from, a proposed profile checked against a file (`dry_run`) and
//! saved, and removed.

use super::{json, upload, write};
use crate::AppState;
use crate::auth::Authed;
use crate::problem::{Problem, parse_json};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use duban_app::AppError;
use duban_app::bank_profiles::{Layout, Mapping, ProfileCheck, ProfileEntry};
use serde::Deserialize;

/// The saved profiles by name, then the shipped ones.
#[utoipa::path(get, path = "/api/v1/bank/profiles", tag = "ledger",
    responses((status = 200, body = Vec<ProfileEntry>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state.app.bank_profiles(&actor).await?,
    ))
}

/// One profile, saved or shipped: its detect words and the header cell of each field.
#[utoipa::path(get, path = "/api/v1/bank/profiles/{name}", tag = "ledger",
    params(("name" = String, Path, description = "The profile's name")),
    responses((status = 200, body = ProfileEntry), (status = 404, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state.app.bank_profile(&actor, &name).await?,
    ))
}

/// A proposed profile and the statement file it is made from.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRequest {
    pub profile: Mapping,
    /// The file's name as downloaded.
    #[serde(default)]
    pub file_name: String,
    /// The statement file, base64.
    pub file: String,
    /// Check only: the preview with the proposed profile; nothing saved.
    #[serde(default)]
    pub dry_run: bool,
}

/// Check a proposed profile against a statement file — read with it alone, then its
/// balance chain and own totals — and save it when the file reads with it; the same name
/// again replaces it. A refusal (422) names the mapping's field (`/profile/columns/balance`)
/// or the file's row and column; nothing is written.
#[utoipa::path(post, path = "/api/v1/bank/profiles", tag = "ledger", request_body = ProfileRequest,
    responses((status = 200, body = ProfileCheck), (status = 422, description = "Refused, at the field or the row and column", body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn save(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/bank/profiles",
        &body,
        StatusCode::OK,
        async {
            let req: ProfileRequest = parse_json(&body)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(req.file.trim())
                .map_err(|_| AppError::invalid_at("/file", "the file is not base64"))?;
            let name = if req.file_name.is_empty() {
                "statement"
            } else {
                &req.file_name
            };
            let c = state
                .app
                .save_bank_profile(&actor, &req.profile, name, &bytes, req.dry_run)
                .await?;
            match c.refused() {
                Some(e) => Err(e.into()),
                None => Ok(c),
            }
        },
    )
    .await
}

/// Remove a saved profile.
#[utoipa::path(delete, path = "/api/v1/bank/profiles/{name}", tag = "ledger",
    params(("name" = String, Path, description = "The profile's name")),
    responses((status = 200, body = ProfileEntry), (status = 404, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let request = format!("DELETE /api/v1/bank/profiles/{name}");
    write(
        &state,
        &actor,
        &headers,
        &request,
        &[],
        StatusCode::OK,
        async { Ok(state.app.remove_bank_profile(&actor, &name).await?) },
    )
    .await
}

/// A statement file's layout to map: the body is the file. Its header row (the one a
/// profile finds, else the likeliest), the rows above it and a few below, the fields
/// recognised and words that identify the layout. Nothing is written.
#[utoipa::path(post, path = "/api/v1/bank/profiles/layout", tag = "ledger",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The statement file"),
    responses((status = 200, body = Layout), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn layout(
    State(state): State<AppState>,
    Authed(actor): Authed,
    body: Bytes,
) -> Result<Response, Problem> {
    let bytes = upload(&body)?;
    Ok(json(
        StatusCode::OK,
        &state.app.statement_layout(&actor, bytes).await?,
    ))
}
