//! `/reports/bank-reconciliation`: the bank reconciliation statement (银行存款余额调节表) of an
//! account at a month's end, laid out for A4 with the two sides next to each other, the
//! adjusted balance in capitals and the signature boxes; the month and account chosen on the
//! page (hidden in print).

use super::{Viewer, given};
use crate::AppState;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Datelike;
use minijinja::{Value, context};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct ReconciliationParams {
    account: Option<String>,
    month: Option<String>,
}

pub async fn bank_reconciliation(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<ReconciliationParams>,
) -> Response {
    let accounts = match state.app.bank_accounts(&viewer.actor).await {
        Ok(a) => a,
        Err(e) => return viewer.error(&e),
    };
    let today = state.app.today();
    let month = given(&p.month).unwrap_or_else(|| format!("{}-{:02}", today.year(), today.month()));
    let account = given(&p.account).or_else(|| accounts.first().map(|a| a.code.clone()));
    let report = match &account {
        Some(code) => match state
            .app
            .report_bank_reconciliation(&viewer.actor, code, &month)
            .await
        {
            Ok(r) => Some(r),
            Err(e) => return viewer.error(&e),
        },
        None => None,
    };
    let title = viewer.lang.text("rec.title").to_string();
    viewer.page(
        "pages/bank_reconciliation.html",
        &title,
        context! {
            accounts => Value::from(minijinja::value::Serde(&accounts)),
            account,
            month,
            r => Value::from(minijinja::value::Serde(&report)),
            today => today.to_string(),
        },
    )
}
