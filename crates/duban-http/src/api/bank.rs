//! Bank statements: a preview of what a statement file holds and whether it would import.

use super::{json, upload};
use crate::AppState;
use crate::auth::Authed;
use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use duban_app::bank::StatementPreview;
use serde::Deserialize;
use utoipa::IntoParams;

/// Which file was uploaded.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// The file's name as downloaded (the content decides the format).
    pub name: Option<String>,
}

/// Preview a bank statement: the body is the file (XLS, XLSX, CSV/TXT in GBK or UTF-8, HTML
/// saved as .xls, MT940 or camt.053). Answers its lines, declared totals and checked
/// figures; a file whose balance chain or own totals do not agree is refused (422) naming
/// the row and column. Nothing is written.
#[utoipa::path(post, path = "/api/v1/bank/statements/preview", tag = "ledger", params(StatementQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The statement file"),
    responses((status = 200, body = StatementPreview), (status = 422, description = "Refused, with the row and column", body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn preview_statement(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<StatementQuery>,
    body: Bytes,
) -> Result<Response, Problem> {
    let name = q
        .name
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "statement".into());
    let bytes = upload(&body)?;
    let preview = state.app.preview_statement(&actor, &name, bytes).await?;
    match preview.refused() {
        Some(e) => Err(e.into()),
        None => Ok(json(StatusCode::OK, &preview)),
    }
}
