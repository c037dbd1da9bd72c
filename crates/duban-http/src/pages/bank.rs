//! The finance officer's reconciliation pages: the bank and cash accounts with the form that
//! opens one (`/bank`), a statement's import (`/bank/{code}/import`: a dry run shows the
//! figures and the first lines, or the refusal with its row and column, then a button
//! imports; the confirmation carries the file back, so the server keeps no upload between
//! the steps), an account's lines filtered, sorted and paged with their exports
//! (`/bank/{code}/lines`), matching (`/bank/{code}/match`: a dry run, then the run; the
//! matches with their unmatch forms, the exceptions with their near candidates and a
//! manual-match form each) and the three-way listing (`/three-way`).
//!
//! Each handler parses, calls the use cases of `duban_app::bank` and `duban_app::reconcile`
//! with the signed-in actor and presents the answer; a refusal is shown next to the field or
//! row it concerns, with what was typed kept.

use super::i18n::Lang;
use super::import::{Confirm, file_of};
use super::{Viewer, download_of, given, href, pager, sort_column};
use crate::AppState;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use chrono::NaiveDate;
use duban_app::bank::{
    BankAccountRequest, BankLineOrder, BankLineQuery, BankLineView, Direction, ImportReport,
};
use duban_app::reconcile::{ManualMatch, MatchReport, Unmatch};
use duban_app::{AppError, Permission};
use duban_core::money::Money;
use duban_tabular::export::{Cell, Sheet};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn serde_value<T: Serialize>(v: &T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

/// A use case's message in the reader's language (the part of `中文 (English)` that is
/// theirs).
fn message(lang: Lang, e: &AppError) -> String {
    match e {
        AppError::Rows(rows) => rows
            .iter()
            .map(|r| lang.pick(&r.reason, &r.reason).to_string())
            .collect::<Vec<_>>()
            .join("；"),
        e => {
            let text = e.to_string();
            lang.pick(&text, &text).to_string()
        }
    }
}

/// Whether a refusal belongs on the page (shown next to its field or row) rather than on
/// an error page of its own.
fn shown_in_place(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Invalid { .. }
            | AppError::Refused(_)
            | AppError::Rows(_)
            | AppError::NotFound(_)
            | AppError::Ledger { .. }
    )
}

// ---- the accounts

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct AccountForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    bank: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
    code: Option<String>,
}

async fn accounts_page(
    state: &AppState,
    viewer: &Viewer,
    form: &AccountForm,
    errors: &BTreeMap<String, String>,
    notice: Option<String>,
) -> Response {
    let accounts = match state.app.bank_accounts(&viewer.actor).await {
        Ok(a) => a,
        Err(e) => return viewer.error(&e),
    };
    let mut r = viewer.page(
        "pages/bank_accounts.html",
        viewer.lang.text("bank.accounts.title"),
        context! {
            accounts => serde_value(&accounts),
            f => serde_value(form),
            errors => serde_value(errors),
            notice,
            can_write => viewer.actor.role.may(Permission::WriteLedger),
        },
    );
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub async fn accounts(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(d): Query<Done>,
) -> Response {
    let notice = match (d.done.as_deref(), given(&d.code)) {
        (Some("added"), Some(code)) => Some(
            viewer
                .lang
                .text("bank.accounts.added")
                .replace("{code}", &code),
        ),
        _ => None,
    };
    accounts_page(
        &state,
        &viewer,
        &AccountForm::default(),
        &BTreeMap::new(),
        notice,
    )
    .await
}

pub async fn add_account(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<AccountForm>,
) -> Response {
    let req = BankAccountRequest {
        code: f.code.clone(),
        name: f.name.clone(),
        number: f.number.clone(),
        bank: f.bank.clone(),
    };
    match state.app.add_bank_account(&viewer.actor, req).await {
        Ok(row) => Redirect::to(&format!(
            "/bank?done=added&code={}",
            super::encode(&row.code)
        ))
        .into_response(),
        Err(e) if shown_in_place(&e) => {
            let field = match &e {
                AppError::Invalid {
                    pointer: Some(p), ..
                } => p.trim_start_matches('/').to_string(),
                // The one refusal of a well-formed account: its code is taken.
                _ => "code".to_string(),
            };
            let errors = BTreeMap::from([(field, message(viewer.lang, &e))]);
            accounts_page(&state, &viewer, &f, &errors, None).await
        }
        Err(e) => viewer.error(&e),
    }
}

// ---- a statement's import

/// The account `code` of the accounts the reader may see; its absence as a page.
async fn account_of(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
) -> Result<duban_app::bank::BankAccountRow, Response> {
    let accounts = state
        .app
        .bank_accounts(&viewer.actor)
        .await
        .map_err(|e| viewer.error(&e))?;
    accounts
        .into_iter()
        .find(|a| a.code == code)
        .ok_or_else(|| {
            viewer.error(&AppError::NotFound(format!(
                "没有代码为“{code}”的银行账户 (no bank account {code:?})"
            )))
        })
}

/// How many lines of a statement the preview shows.
const PREVIEW_LINES: usize = 20;

async fn import_page(state: &AppState, viewer: &Viewer, code: &str, page: Value) -> Response {
    let account = match account_of(state, viewer, code).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let title = viewer
        .lang
        .text("bank.import.title")
        .replace("{name}", &account.name);
    viewer.page(
        "pages/bank_import.html",
        &title,
        context! { account => serde_value(&account), ..page },
    )
}

pub async fn import_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
) -> Response {
    // The form alone calls no use case that writes: refuse it to those the import would.
    if let Err(e) = viewer.actor.require(Permission::WriteLedger) {
        return viewer.error(&e);
    }
    import_page(&state, &viewer, &code, context! {}).await
}

/// The dry run of an import of `bytes`: its figures and first lines, or its refusal.
async fn check_statement(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
    name: &str,
    bytes: &[u8],
) -> Response {
    match state
        .app
        .import_statement(&viewer.actor, code, name, bytes, true)
        .await
    {
        Ok(report) => {
            let first: Vec<_> = report.added.iter().take(PREVIEW_LINES).collect();
            import_page(
                state,
                viewer,
                code,
                context! {
                    name,
                    report => serde_value(&report),
                    first => serde_value(&first),
                    content => base64::engine::general_purpose::STANDARD.encode(bytes),
                },
            )
            .await
        }
        Err(AppError::Rows(errors)) => {
            let errors: Vec<Value> = errors
                .iter()
                .map(|r| {
                    // The reason names the file first; the row and column have their columns.
                    let reason = r
                        .reason
                        .strip_prefix(&format!("{name}: "))
                        .unwrap_or(&r.reason);
                    context! {
                        row => r.row,
                        column => r.column.clone(),
                        reason => viewer.lang.pick(reason, reason).to_string(),
                    }
                })
                .collect();
            let mut r = import_page(state, viewer, code, context! { name, errors }).await;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
        Err(e @ AppError::Invalid { .. }) => {
            let problem = message(viewer.lang, &e);
            let mut r = import_page(state, viewer, code, context! { name, problem }).await;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
        Err(e) => viewer.error(&e),
    }
}

pub async fn import_preview(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    form: Multipart,
) -> Response {
    match file_of(form).await {
        Ok((name, bytes)) => check_statement(&state, &viewer, &code, &name, &bytes).await,
        Err(_) => {
            let problem = viewer.lang.text("import.no_file").to_string();
            let mut r = import_page(&state, &viewer, &code, context! { problem }).await;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
    }
}

pub async fn import_confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Form(f): Form<Confirm>,
) -> Response {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(f.content.trim()) else {
        let problem = viewer.lang.text("import.no_file").to_string();
        let mut r = import_page(&state, &viewer, &code, context! { problem }).await;
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return r;
    };
    match state
        .app
        .import_statement(&viewer.actor, &code, &f.name, &bytes, false)
        .await
    {
        Ok(report) => imported(&state, &viewer, &code, &f.name, &report).await,
        // The file or the account changed since the preview: its verdict again.
        Err(AppError::Rows(_) | AppError::Invalid { .. }) => {
            check_statement(&state, &viewer, &code, &f.name, &bytes).await
        }
        Err(e) => viewer.error(&e),
    }
}

async fn imported(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
    name: &str,
    report: &ImportReport,
) -> Response {
    import_page(
        state,
        viewer,
        code,
        context! {
            name,
            imported => true,
            report => serde_value(report),
        },
    )
    .await
}

// ---- an account's lines

/// The lines' address parameters, all text.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct LineParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    matched: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    direction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<String>,
}

fn date_param(field: &str, v: &Option<String>) -> Result<Option<NaiveDate>, AppError> {
    given(v)
        .map(|d| {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
                AppError::invalid_at(
                    field,
                    format!("日期“{d}”无效，应为 2026-03-01 的形式 (not a date: {d})"),
                )
            })
        })
        .transpose()
}

impl LineParams {
    fn cleaned(&self) -> LineParams {
        LineParams {
            from: given(&self.from),
            to: given(&self.to),
            matched: given(&self.matched),
            direction: given(&self.direction),
            sort: given(&self.sort),
            dir: given(&self.dir),
            page: given(&self.page),
        }
    }

    fn query(&self) -> Result<BankLineQuery, AppError> {
        let p = self.cleaned();
        Ok(BankLineQuery {
            from: date_param("from", &p.from)?,
            to: date_param("to", &p.to)?,
            matched: match p.matched.as_deref() {
                None => None,
                Some("yes") => Some(true),
                Some("no") => Some(false),
                Some(m) => {
                    return Err(AppError::invalid_at(
                        "matched",
                        format!("匹配状态“{m}”无效，应为 yes 或 no (matched is yes or no)"),
                    ));
                }
            },
            direction: p.direction.as_deref().map(Direction::parse).transpose()?,
            order: match p.sort.as_deref() {
                Some(s) => BankLineOrder::parse(s)?,
                None => BankLineOrder::default(),
            },
            descending: p.dir.as_deref() == Some("desc"),
            page: super::page_of(&p.page),
        })
    }

    fn at_page(&self, page: u64) -> LineParams {
        LineParams {
            page: (page > 1).then(|| page.to_string()),
            ..self.cleaned()
        }
    }
}

/// The columns of the lines and of their exports: catalogue key and the order it sorts by.
const LINE_COLUMNS: [(&str, Option<BankLineOrder>); 9] = [
    ("bank.line.date", Some(BankLineOrder::Date)),
    ("bank.line.out", Some(BankLineOrder::Amount)),
    ("bank.line.in", None),
    ("bank.line.balance", None),
    ("bank.line.counterparty", None),
    ("bank.line.counterparty_account", None),
    ("bank.line.summary", None),
    ("bank.line.serial", None),
    ("bank.line.matched", None),
];

pub async fn lines(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(params): Query<LineParams>,
) -> Response {
    let query = match params.query() {
        Ok(q) => q,
        Err(e) => return viewer.error(&e),
    };
    let page = match state.app.bank_line_page(&viewer.actor, &code, &query).await {
        Ok(p) => p,
        Err(e) => return viewer.error(&e),
    };
    let enc = super::encode(&code);
    let base = format!("/bank/{enc}/lines");
    let unpaged = params.at_page(1);
    let columns: Vec<Value> = LINE_COLUMNS
        .iter()
        .map(|(label, order)| {
            sort_column(
                label,
                order.map(BankLineOrder::as_str),
                query.order.as_str(),
                query.descending,
                |sort, desc| {
                    let p = LineParams {
                        sort: Some(sort.to_string()),
                        dir: desc.then(|| "desc".to_string()),
                        ..unpaged.clone()
                    };
                    href(&base, &p)
                },
            )
        })
        .collect();
    let pager = pager(page.page, page.pages, |to| href(&base, &params.at_page(to)));
    let title = viewer
        .lang
        .text("bank.lines.title")
        .replace("{name}", &page.account.name);
    viewer.page(
        "pages/bank_lines.html",
        &title,
        context! {
            a => serde_value(&page.account),
            q => serde_value(&unpaged),
            columns,
            rows => serde_value(&page.rows),
            out_total => serde_value(&page.out_total),
            in_total => serde_value(&page.in_total),
            total => page.total,
            page => page.page,
            pages => page.pages,
            pager,
            export_xlsx => href(&format!("{base}.xlsx"), &unpaged),
            export_csv => href(&format!("{base}.csv"), &unpaged),
        },
    )
}

fn line_sheet(lang: Lang, name: &str, rows: &[BankLineView]) -> Sheet {
    let money = |fen: i64| Cell::Amount(Money::from_fen(fen));
    Sheet {
        name: lang.text("bank.lines.title").replace("{name}", name),
        headers: LINE_COLUMNS
            .iter()
            .map(|(k, _)| lang.text(k).to_string())
            .collect(),
        rows: rows
            .iter()
            .map(|v| {
                let l = &v.line;
                vec![
                    l.date
                        .or(l.time.map(|t| t.date()))
                        .map_or(Cell::Empty, Cell::Date),
                    if l.amount < 0 {
                        money(-l.amount)
                    } else {
                        Cell::Empty
                    },
                    if l.amount >= 0 {
                        money(l.amount)
                    } else {
                        Cell::Empty
                    },
                    l.balance.map_or(Cell::Empty, money),
                    l.counterparty_name.as_str().into(),
                    l.counterparty_account.as_str().into(),
                    l.summary.as_str().into(),
                    l.serial.as_deref().into(),
                    v.matched
                        .map_or(Cell::Empty, |m| Cell::Text(format!("#{m}"))),
                ]
            })
            .collect(),
    }
}

/// `/bank/{code}/lines.xlsx` and `.csv`: every line the filters select.
pub async fn lines_export(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(params): Query<LineParams>,
) -> Response {
    let rows = match params.query() {
        Ok(q) => state.app.bank_line_export(&viewer.actor, &code, &q).await,
        Err(e) => Err(e),
    };
    let lang = viewer.lang;
    let ascii = format!(
        "bank_{}",
        code.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
    );
    download_of(&viewer, state.app.today(), &ascii, rows, |(a, rows)| {
        line_sheet(lang, &a.name, rows)
    })
}

// ---- matching

/// A refusal shown on the matching page next to the row it concerns, with what was typed.
#[derive(Debug, Default, Serialize)]
struct RowRefusal {
    /// `match-{id}` (an unmatch) or `line-{id}` (a manual match).
    at: String,
    message: String,
    posting: String,
    reason: String,
}

async fn match_page(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
    run: Option<&MatchReport>,
    refusal: Option<RowRefusal>,
    notice: Option<String>,
) -> Response {
    let app = &state.app;
    let account = match account_of(state, viewer, code).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let matches = match app.bank_matches(&viewer.actor, code).await {
        Ok(m) => m,
        Err(e) => return viewer.error(&e),
    };
    let exceptions = match app.bank_exceptions(&viewer.actor, code).await {
        Ok(x) => x,
        Err(e) => return viewer.error(&e),
    };
    let title = viewer
        .lang
        .text("bank.match.title")
        .replace("{name}", &account.name);
    let status = if refusal.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut r = viewer.page(
        "pages/bank_match.html",
        &title,
        context! {
            a => serde_value(&account),
            run => serde_value(&run),
            matches => serde_value(&matches),
            exceptions => serde_value(&exceptions),
            refusal => serde_value(&refusal),
            notice,
            can_write => viewer.actor.role.may(Permission::WriteLedger),
        },
    );
    *r.status_mut() = status;
    r
}

#[derive(Debug, Default, Deserialize)]
pub struct MatchDone {
    done: Option<String>,
    n: Option<String>,
}

pub async fn matching(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(d): Query<MatchDone>,
) -> Response {
    let n = given(&d.n).unwrap_or_default();
    let notice = match d.done.as_deref() {
        Some(done @ ("matched" | "manual" | "unmatched")) => Some(
            viewer
                .lang
                .text(&format!("bank.match.done.{done}"))
                .replace("{n}", &n),
        ),
        _ => None,
    };
    match_page(&state, &viewer, &code, None, None, notice).await
}

#[derive(Debug, Default, Deserialize)]
pub struct RunForm {
    /// `dry` for the dry run; anything else runs.
    #[serde(default)]
    run: String,
}

pub async fn run_match(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Form(f): Form<RunForm>,
) -> Response {
    let dry = f.run == "dry";
    match state.app.match_bank(&viewer.actor, &code, dry).await {
        Ok(report) if dry => match_page(&state, &viewer, &code, Some(&report), None, None).await,
        Ok(report) => Redirect::to(&format!(
            "/bank/{}/match?done=matched&n={}",
            super::encode(&code),
            report.matched.len()
        ))
        .into_response(),
        Err(e) => viewer.error(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ManualForm {
    #[serde(default)]
    line: String,
    #[serde(default)]
    posting: String,
    #[serde(default)]
    reason: String,
    /// The checkbox: book a difference of amounts as a bank charge.
    #[serde(default)]
    fee: Option<String>,
}

pub async fn manual_match(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Form(f): Form<ManualForm>,
) -> Response {
    let refused = |message: String| RowRefusal {
        at: format!("line-{}", f.line.trim()),
        message,
        posting: f.posting.clone(),
        reason: f.reason.clone(),
    };
    let (Ok(line), Ok(posting)) = (
        f.line.trim().parse::<i64>(),
        f.posting.trim().parse::<i64>(),
    ) else {
        let r = refused(viewer.lang.text("bank.match.posting_number").to_string());
        return match_page(&state, &viewer, &code, None, Some(r), None).await;
    };
    let req = ManualMatch {
        account: code.clone(),
        line,
        posting,
        reason: given(&Some(f.reason.clone())),
        fee: f.fee.is_some(),
    };
    match state.app.match_manual(&viewer.actor, req).await {
        Ok(m) => Redirect::to(&format!(
            "/bank/{}/match?done=manual&n={}",
            super::encode(&code),
            m.id
        ))
        .into_response(),
        Err(e) if shown_in_place(&e) => {
            let r = refused(message(viewer.lang, &e));
            match_page(&state, &viewer, &code, None, Some(r), None).await
        }
        Err(e) => viewer.error(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct UnmatchForm {
    #[serde(default)]
    reason: String,
}

pub async fn unmatch(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((code, id)): Path<(String, i64)>,
    Form(f): Form<UnmatchForm>,
) -> Response {
    let req = Unmatch {
        account: code.clone(),
        reason: f.reason.clone(),
    };
    match state.app.unmatch(&viewer.actor, id, req).await {
        Ok(_) => Redirect::to(&format!(
            "/bank/{}/match?done=unmatched&n={id}",
            super::encode(&code)
        ))
        .into_response(),
        Err(e) if shown_in_place(&e) => {
            let r = RowRefusal {
                at: format!("match-{id}"),
                message: message(viewer.lang, &e),
                posting: String::new(),
                reason: f.reason,
            };
            match_page(&state, &viewer, &code, None, Some(r), None).await
        }
        Err(e) => viewer.error(&e),
    }
}

// ---- the three-way listing

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct AsOf {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    as_of: Option<String>,
}

pub async fn three_way(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<AsOf>,
) -> Response {
    let t = match date_param("as_of", &p.as_of) {
        Ok(d) => state.app.three_way(&viewer.actor, d).await,
        Err(e) => Err(e),
    };
    let t = match t {
        Ok(t) => t,
        Err(e) => return viewer.error(&e),
    };
    let q = AsOf {
        as_of: Some(t.as_of.to_string()),
    };
    viewer.page(
        "pages/three_way.html",
        viewer.lang.text("bank.three_way.title"),
        context! {
            tw => serde_value(&t),
            export_xlsx => href("/three-way.xlsx", &q),
            export_csv => href("/three-way.csv", &q),
        },
    )
}

/// `/three-way.xlsx` and `.csv`: both lists as shown.
pub async fn three_way_export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<AsOf>,
) -> Response {
    let t = match date_param("as_of", &p.as_of) {
        Ok(d) => state.app.three_way(&viewer.actor, d).await,
        Err(e) => Err(e),
    };
    let ascii = match &t {
        Ok(t) => format!("three_way_{}", t.as_of),
        Err(_) => String::new(),
    };
    download_of(&viewer, state.app.today(), &ascii, t, |t| t.sheet())
}
