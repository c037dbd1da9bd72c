//! Bank and cash accounts and their statements: accounts, a preview of a statement file,
//! the import of its lines into an account, and the lines stored; matching, the exceptions
//! (of one account or every account), matches and unmatches, and the three-way listing.

use super::{json, upload, write};
use crate::AppState;
use crate::auth::Authed;
use crate::problem::{Problem, parse_json};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use duban_app::bank::{
    BankAccountRequest, BankAccountRow, BankLineRow, ImportReport, StatementPreview,
};
use duban_app::reconcile::{
    AccountExceptions, ExceptionRow, ManualMatch, MatchReport, MatchRow, ThreeWay, Unmatch,
    Unmatched,
};
use serde::Deserialize;
use utoipa::IntoParams;

/// The office's bank and cash accounts, by code.
#[utoipa::path(get, path = "/api/v1/bank/accounts", tag = "ledger",
    responses((status = 200, body = Vec<BankAccountRow>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_accounts(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state.app.bank_accounts(&actor).await?,
    ))
}

/// Open a bank or cash account; its ledger account is `assets:bank:<code>`. A code already
/// used is refused (409).
#[utoipa::path(post, path = "/api/v1/bank/accounts", tag = "ledger", request_body = BankAccountRequest,
    responses((status = 201, body = BankAccountRow), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn add_account(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/bank/accounts",
        &body,
        StatusCode::CREATED,
        async {
            let req: BankAccountRequest = parse_json(&body)?;
            Ok(state.app.add_bank_account(&actor, req).await?)
        },
    )
    .await
}

/// Which account a statement is for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The account's code.
    pub account: String,
    /// The file's name as downloaded (the content decides the format).
    pub name: Option<String>,
    /// Report what would be added; write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Import a statement into an account: the body is the file, as for the preview. It is
/// checked whole first (a refusal, 422, names the row and column and writes nothing); then
/// the lines the account does not hold yet are written in one transaction, so an
/// overlapping statement adds only its new lines.
#[utoipa::path(post, path = "/api/v1/bank/statements", tag = "ledger", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The statement file"),
    responses((status = 200, body = ImportReport), (status = 404, body = Problem), (status = 422, description = "Refused, with the row and column", body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn import_statement(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/bank/statements",
        &body,
        StatusCode::OK,
        async {
            let bytes = upload(&body)?;
            let name = q
                .name
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "statement".into());
            Ok(state
                .app
                .import_statement(&actor, &q.account, &name, bytes, q.dry_run)
                .await?)
        },
    )
    .await
}

/// Which lines.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinesQuery {
    /// The account's code.
    pub account: String,
    /// First day, inclusive.
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: Option<NaiveDate>,
}

/// The lines of an account, by date.
#[utoipa::path(get, path = "/api/v1/bank/lines", tag = "ledger", params(LinesQuery),
    responses((status = 200, body = Vec<BankLineRow>), (status = 404, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn lines(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<LinesQuery>,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state
            .app
            .bank_lines(&actor, &q.account, q.from, q.to)
            .await?,
    ))
}

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

/// Which account to reconcile.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchQuery {
    /// The account's code.
    pub account: String,
    /// Report the matches; write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Match the open lines of an account with the open postings on its ledger account by the
/// rule table; each match keeps its rule, agreed fields, difference and runner-ups.
#[utoipa::path(post, path = "/api/v1/bank/match", tag = "ledger", params(MatchQuery),
    responses((status = 200, body = MatchReport), (status = 404, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn run_match(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<MatchQuery>,
    headers: HeaderMap,
) -> Response {
    let request = format!("account={}&dry_run={}", q.account, q.dry_run);
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/bank/match",
        request.as_bytes(),
        StatusCode::OK,
        async { Ok(state.app.match_bank(&actor, &q.account, q.dry_run).await?) },
    )
    .await
}

/// An account, by code.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    pub account: String,
}

/// The open lines of an account, each with its nearest candidates and why each failed.
#[utoipa::path(get, path = "/api/v1/bank/exceptions", tag = "ledger", params(AccountQuery),
    responses((status = 200, body = Vec<ExceptionRow>), (status = 404, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn exceptions(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<AccountQuery>,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state.app.bank_exceptions(&actor, &q.account).await?,
    ))
}

/// The open lines of every account, by account code, each with its nearest candidates
/// and why each failed.
#[utoipa::path(get, path = "/api/v1/bank/exceptions/all", tag = "ledger",
    responses((status = 200, body = Vec<AccountExceptions>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn all_exceptions(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state.app.bank_exceptions_all(&actor).await?,
    ))
}

/// The day ages are counted to.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOfQuery {
    /// YYYY-MM-DD; today when absent.
    pub as_of: Option<NaiveDate>,
}

/// Allocation ↔ disbursement ↔ bank line: commitments not paid and payments from a bank
/// account no statement line is matched with, each with its age in days and age bucket
/// (0–30, 31–90, over 90 days), with totals per bucket.
#[utoipa::path(get, path = "/api/v1/bank/three-way", tag = "ledger", params(AsOfQuery),
    responses((status = 200, body = ThreeWay), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn three_way(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<AsOfQuery>,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state.app.three_way(&actor, q.as_of).await?,
    ))
}

/// The standing matches of an account.
#[utoipa::path(get, path = "/api/v1/bank/matches", tag = "ledger", params(AccountQuery),
    responses((status = 200, body = Vec<MatchRow>), (status = 404, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn matches(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<AccountQuery>,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state.app.bank_matches(&actor, &q.account).await?,
    ))
}

/// Match a line with a posting by hand; both must be open (409 otherwise).
#[utoipa::path(post, path = "/api/v1/bank/matches", tag = "ledger", request_body = ManualMatch,
    responses((status = 201, body = MatchRow), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn match_manual(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/bank/matches",
        &body,
        StatusCode::CREATED,
        async {
            let req: ManualMatch = parse_json(&body)?;
            Ok(state.app.match_manual(&actor, req).await?)
        },
    )
    .await
}

/// Undo a match: a reversing row with the reason for each row of the match (any row's id
/// names it), and the fee booked for it reversed; the match itself is kept.
#[utoipa::path(post, path = "/api/v1/bank/matches/{id}/unmatch", tag = "ledger",
    params(("id" = i64, Path)), request_body = Unmatch,
    responses((status = 200, body = Unmatched), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn unmatch(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/bank/matches/{id}/unmatch",
        &body,
        StatusCode::OK,
        async {
            let req: Unmatch = parse_json(&body)?;
            Ok(state.app.unmatch(&actor, id, req).await?)
        },
    )
    .await
}
