//! The reports under `/api/v1/reports`: each answers JSON, or with `format=csv` / `format=xlsx`
//! the same report as the file the command line writes.

use super::json;
use crate::AppState;
use crate::auth::Authed;
use crate::problem::Problem;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use duban_app::AppError;
use duban_app::reports::{ReportFormat, Tabular};
use serde::Deserialize;
use utoipa::IntoParams;

/// `json` (the default), `csv` or `xlsx`.
fn format_of(text: Option<&str>) -> Result<Option<ReportFormat>, Problem> {
    match text.map(str::trim) {
        None | Some("") | Some("json") => Ok(None),
        Some("csv") => Ok(Some(ReportFormat::Csv)),
        Some("xlsx") => Ok(Some(ReportFormat::Xlsx)),
        Some(other) => Err(AppError::invalid_at(
            "format",
            format!("格式“{other}”应为json、csv或xlsx (format: json, csv or xlsx)"),
        )
        .into()),
    }
}

fn answer<T: Tabular + serde::Serialize>(
    report: &T,
    format: Option<ReportFormat>,
) -> Result<Response, Problem> {
    let Some(format) = format else {
        return Ok(json(StatusCode::OK, report));
    };
    let bytes = report.export(format)?;
    let ext = format.ext();
    let mut r = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        crate::pages::attachment(
            &format!("{}.{ext}", report.sheet().name),
            &format!("{}.{ext}", report.file_stem()),
        ),
    );
    Ok(r)
}

fn required<T>(v: Option<T>, field: &str) -> Result<T, Problem> {
    v.ok_or_else(|| AppError::invalid_at(field, format!("{field}: 必填 (required)")).into())
}

/// A year, a month of it and the format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BudgetQuery {
    /// The fiscal year (this year when not given).
    pub year: Option<i32>,
    /// 1–12: the month's figures and the year to its end.
    pub month: Option<u32>,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
}

/// 预算执行情况表: per budget line the original budget, virements, the adjusted budget,
/// committed, paid, headroom and the execution rate, from the year's own transactions (the
/// same before and after the year is closed).
#[utoipa::path(get, path = "/api/v1/reports/budget-execution", tag = "ledger", params(BudgetQuery),
    responses((status = 200, description = "The report as JSON, CSV or XLSX", body = serde_json::Value), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn budget_execution(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<BudgetQuery>,
) -> Result<Response, Problem> {
    let format = format_of(q.format.as_deref())?;
    let year = q
        .year
        .unwrap_or_else(|| chrono::Datelike::year(&state.app.today()));
    let r = state
        .app
        .report_budget_execution(&actor, year, q.month)
        .await?;
    answer(&r, format)
}

/// A unit and a year.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnitLedgerQuery {
    /// The unit's register code.
    pub unit: Option<String>,
    pub year: Option<i32>,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
}

/// 经费台账 of a unit: allocations, payments, releases and the bank lines matched to the
/// payments, in date order with the running balance.
#[utoipa::path(get, path = "/api/v1/reports/unit-ledger", tag = "ledger", params(UnitLedgerQuery),
    responses((status = 200, description = "The report as JSON, CSV or XLSX", body = serde_json::Value), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn unit_ledger(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<UnitLedgerQuery>,
) -> Result<Response, Problem> {
    let format = format_of(q.format.as_deref())?;
    let unit = required(q.unit, "unit")?;
    let year = q
        .year
        .unwrap_or_else(|| chrono::Datelike::year(&state.app.today()));
    let r = state.app.report_unit_ledger(&actor, &unit, year).await?;
    answer(&r, format)
}

/// A bank account and a month.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReconciliationQuery {
    /// The account's code.
    pub account: Option<String>,
    /// The month, `2026-11`.
    pub month: Option<String>,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
}

/// 银行存款余额调节表 of an account at a month's end: book and bank balances, the items in
/// transit both ways, the two adjusted balances and their difference (`balanced` false when
/// they differ).
#[utoipa::path(get, path = "/api/v1/reports/bank-reconciliation", tag = "ledger", params(ReconciliationQuery),
    responses((status = 200, description = "The report as JSON, CSV or XLSX", body = serde_json::Value), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn bank_reconciliation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<ReconciliationQuery>,
) -> Result<Response, Problem> {
    let format = format_of(q.format.as_deref())?;
    let account = required(q.account, "account")?;
    let month = required(q.month, "month")?;
    let r = state
        .app
        .report_bank_reconciliation(&actor, &account, &month)
        .await?;
    answer(&r, format)
}

/// A year.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuesQuery {
    pub year: Option<i32>,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
}

/// Dues collected and rebated per unit of the reader's scope, with the pre-tax 1 % check of
/// each enterprise (`无工资总额数据` where the register holds no wage totals).
#[utoipa::path(get, path = "/api/v1/reports/dues", tag = "ledger", params(DuesQuery),
    responses((status = 200, description = "The report as JSON, CSV or XLSX", body = serde_json::Value), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn dues(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<DuesQuery>,
) -> Result<Response, Problem> {
    let format = format_of(q.format.as_deref())?;
    let year = q
        .year
        .unwrap_or_else(|| chrono::Datelike::year(&state.app.today()));
    let r = state.app.report_dues(&actor, year).await?;
    answer(&r, format)
}
