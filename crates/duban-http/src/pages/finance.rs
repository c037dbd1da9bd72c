//! The finance officer's pages: the budget's execution with its chart and exports, the
//! allocation and disbursement forms (the headroom or the amount outstanding shown before
//! sending, the ledger's refusal next to the field it concerns after), the allocations
//! filtered, sorted and paged with their exports, and a unit's fund ledger.
//!
//! The forms book through `App::ledger_apply`, the API's use case, with the idempotency
//! key the form carries in a hidden field: sending the same form twice books it once.

use super::i18n::Lang;
use super::{Viewer, download, download_of, given, href, pager, sort_column};
use crate::AppState;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use duban_app::funds::{AllocationOrder, AllocationQuery, BudgetExecution, ExecutionRow};
use duban_app::ledger::{LedgerEnvelope, LedgerError};
use duban_app::{AppError, Permission};
use duban_core::money::{Money, parse_amount};
use duban_ledger::budget::BudgetLineKind;
use duban_ledger::command::{Allocate, Command, Disburse};
use duban_ledger::idempotency::IdempotencyKey;
use duban_ledger::model::{Allocation, AllocationStatus, Approval};
use duban_tabular::export::{Cell, Sheet};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

fn serde_value<T: Serialize>(v: &T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

/// Geometry of the budget chart, in SVG user units: per line a group of three bars
/// (appropriated, committed, paid).
const LABEL_WIDTH: u64 = 130;
const BAR_SPACE: u64 = 440;
const BAR: u64 = 14;
const GROUP: u64 = 3 * BAR + 16;

#[derive(Debug, Serialize, PartialEq, Eq)]
struct ChartBar {
    /// `appropriated`, `committed` or `paid`.
    part: &'static str,
    fill: &'static str,
    y: u64,
    width: u64,
    amount: Money,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
struct ChartLine {
    line: &'static str,
    y: u64,
    bars: Vec<ChartBar>,
}

#[derive(Debug, Serialize)]
struct Chart {
    width: u64,
    height: u64,
    label_width: u64,
    lines: Vec<ChartLine>,
}

/// The bars scaled to the largest figure of the year; a figure that is not zero is at
/// least 2 units wide, so it can be seen.
fn chart(rows: &[ExecutionRow]) -> Chart {
    let max = rows
        .iter()
        .flat_map(|r| [r.figures.appropriated, r.figures.committed, r.figures.paid])
        .map(Money::fen)
        .max()
        .unwrap_or(0)
        .max(1);
    let width = |m: Money| {
        let fen = m.fen().max(0);
        if fen == 0 {
            0
        } else {
            // i128: a sum of fen times the width stays exact.
            ((i128::from(fen) * i128::from(BAR_SPACE) / i128::from(max)) as u64).max(2)
        }
    };
    let lines = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let top = 4 + i as u64 * GROUP;
            let f = &r.figures;
            let parts = [
                ("appropriated", "#8c939d", f.appropriated),
                ("committed", "#e39b2d", f.committed),
                ("paid", "#b0191e", f.paid),
            ];
            ChartLine {
                line: f.line.map_or("", BudgetLineKind::slug),
                y: top,
                bars: parts
                    .into_iter()
                    .enumerate()
                    .map(|(j, (part, fill, amount))| ChartBar {
                        part,
                        fill,
                        y: top + j as u64 * BAR,
                        width: width(amount),
                        amount,
                    })
                    .collect(),
            }
        })
        .collect::<Vec<_>>();
    Chart {
        width: LABEL_WIDTH + BAR_SPACE + 140,
        height: 8 + lines.len() as u64 * GROUP,
        label_width: LABEL_WIDTH,
        lines,
    }
}

/// A year typed into an address: none when empty, refused (naming the field) when it is not
/// a number.
fn year_param(v: &Option<String>) -> Result<Option<i32>, AppError> {
    given(v)
        .map(|y| {
            y.parse::<i32>().map_err(|_| {
                AppError::invalid_at(
                    "year",
                    format!("年度“{y}”无效，应为四位数字 (not a year: {y})"),
                )
            })
        })
        .transpose()
}

#[derive(Debug, Default, Deserialize)]
pub struct YearParams {
    year: Option<String>,
}

/// The name of a budget line in the reader's language.
fn line_name(lang: Lang, line: Option<BudgetLineKind>) -> String {
    match line {
        Some(l) => lang.text(&format!("fin.line.{}", l.slug())).to_string(),
        None => lang.text("fin.total").to_string(),
    }
}

/// A rate as shown: `12.3%`, or a dash when nothing was appropriated.
fn rate_text(row: &ExecutionRow) -> String {
    row.rate
        .map_or_else(|| "-".to_string(), |r| format!("{r}%"))
}

/// The budget's execution in the year the address asks for.
async fn execution_of(
    state: &AppState,
    viewer: &Viewer,
    p: &YearParams,
) -> Result<BudgetExecution, AppError> {
    let year = year_param(&p.year)?;
    state.app.budget_execution(&viewer.actor, year).await
}

pub async fn budget(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<YearParams>,
) -> Response {
    let b = match execution_of(&state, &viewer, &p).await {
        Ok(b) => b,
        Err(e) => return viewer.error(&e),
    };
    let title = viewer
        .lang
        .text("fin.budget.title_year")
        .replace("{year}", &b.year.to_string());
    viewer.page(
        "pages/budget.html",
        &title,
        context! {
            b => serde_value(&b),
            chart => serde_value(&chart(&b.rows)),
            export_xlsx => format!("/budget.xlsx?year={}", b.year),
            export_csv => format!("/budget.csv?year={}", b.year),
            can_write => viewer.actor.role.may(Permission::WriteLedger),
            today => state.app.today().to_string(),
        },
    )
}

/// The budget's execution as an exported table: the rows as shown, then the totals.
fn budget_sheet(lang: Lang, b: &BudgetExecution) -> Sheet {
    let headers = [
        "fin.line",
        "fin.appropriated",
        "fin.committed",
        "fin.paid",
        "fin.headroom",
        "fin.rate",
    ];
    let row = |r: &ExecutionRow| -> Vec<Cell> {
        let f = &r.figures;
        vec![
            line_name(lang, f.line).as_str().into(),
            f.appropriated.into(),
            f.committed.into(),
            f.paid.into(),
            f.headroom.into(),
            rate_text(r).as_str().into(),
        ]
    };
    Sheet {
        name: lang
            .text("fin.budget.title_year")
            .replace("{year}", &b.year.to_string()),
        headers: headers.iter().map(|k| lang.text(k).to_string()).collect(),
        rows: b.rows.iter().chain([&b.total]).map(row).collect(),
    }
}

/// `/budget.xlsx` and `/budget.csv`: the year's execution as shown.
pub async fn budget_export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<YearParams>,
) -> Response {
    let execution = execution_of(&state, &viewer, &p).await;
    let ascii = match &execution {
        Ok(b) => format!("budget_{}", b.year),
        Err(_) => String::new(),
    };
    let lang = viewer.lang;
    download_of(&viewer, state.app.today(), &ascii, execution, |b| {
        budget_sheet(lang, b)
    })
}

// ---- the forms

/// What a form's fields got wrong: (field, message), shown next to each field; the field
/// `""` is the form as a whole.
type FieldErrors = Vec<(&'static str, String)>;

fn errors_value(errors: &FieldErrors) -> Value {
    let map: std::collections::BTreeMap<&str, &str> =
        errors.iter().map(|(f, m)| (*f, m.as_str())).collect();
    serde_value(&map)
}

/// A date typed into a form (`2026-12-03`).
fn form_date(
    lang: Lang,
    field: &'static str,
    text: &str,
    errors: &mut FieldErrors,
) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push((field, lang.text("fin.invalid.date").to_string()));
            None
        }
    }
}

/// An amount typed into a form: never a float; the reason for a refusal in the reader's
/// language.
fn form_amount(lang: Lang, text: &str, errors: &mut FieldErrors) -> Option<Money> {
    match parse_amount(text) {
        Ok(m) if m.is_zero() => {
            errors.push(("amount", lang.text("fin.invalid.amount").to_string()));
            None
        }
        Ok(m) => Some(m),
        Err(e) => {
            let message = match lang {
                Lang::Zh => e.zh().to_string(),
                Lang::En => e.to_string(),
            };
            errors.push(("amount", message));
            None
        }
    }
}

/// The form's idempotency key, refused when the form did not carry one.
fn form_key(lang: Lang, key: &str, errors: &mut FieldErrors) -> Option<IdempotencyKey> {
    match IdempotencyKey::new(key.trim()) {
        Ok(k) => Some(k),
        Err(_) => {
            errors.push(("", lang.text("fin.invalid.key").to_string()));
            None
        }
    }
}

/// A refusal of the ledger as (field, message) in the reader's language: budget control
/// and periods next to the amount or the date, a unit the register lacks next to the unit.
fn refusal(lang: Lang, e: &LedgerError) -> (&'static str, String) {
    let text = |key: &str| lang.text(key).to_string();
    let line =
        |l: &duban_ledger::budget::LineId| format!("{} {}", l.year, line_name(lang, Some(l.kind)));
    let (field, zh) = match e {
        LedgerError::OverBudget {
            line: l,
            headroom,
            needed,
        } => (
            "amount",
            text("fin.refused.over_budget")
                .replace("{line}", &line(l))
                .replace("{headroom}", &headroom.grouped())
                .replace("{needed}", &needed.grouped()),
        ),
        LedgerError::UnknownLine(l) => (
            "line",
            text("fin.refused.unknown_line").replace("{line}", &line(l)),
        ),
        LedgerError::YearClosed(y) => (
            "date",
            text("fin.refused.year_closed").replace("{year}", &y.to_string()),
        ),
        LedgerError::WrongYear { year, .. } => (
            "date",
            text("fin.refused.wrong_year").replace("{year}", &year.to_string()),
        ),
        LedgerError::PeriodClosed {
            month,
            closed_through,
        } => (
            "date",
            text("fin.refused.period_closed")
                .replace("{month}", &month.to_string())
                .replace("{through}", &closed_through.to_string()),
        ),
        LedgerError::OverDisbursement {
            outstanding, asked, ..
        } => (
            "amount",
            text("fin.refused.over_disbursement")
                .replace("{outstanding}", &outstanding.grouped())
                .replace("{asked}", &asked.grouped()),
        ),
        LedgerError::AllocationNotOpen { status, .. } => (
            "",
            text("fin.refused.not_open")
                .replace("{status}", lang.text(&format!("fin.status.{status}"))),
        ),
        LedgerError::RateCard(_) => ("amount", text("fin.refused.rate_card")),
        LedgerError::IdempotencyConflict { .. } => ("", text("fin.refused.key_reused")),
        LedgerError::Overflow => ("amount", text("fin.invalid.overflow")),
        LedgerError::Invalid(m) => {
            let (field, rest) = m.split_once(':').unwrap_or(("", m));
            match field {
                "unit" if rest.contains("not in the register") => {
                    ("unit", text("fin.refused.unknown_unit"))
                }
                "unit" => ("unit", text("fin.invalid.unit")),
                "amount" => ("amount", text("fin.invalid.amount")),
                "purpose" => ("purpose", text("fin.invalid.purpose")),
                "memo" => ("memo", text("fin.invalid.memo")),
                "approval.meeting" => ("meeting", text("fin.invalid.meeting")),
                "approval.date" => ("approval_date", text("fin.invalid.approval_date")),
                _ => ("", text("fin.refused.other")),
            }
        }
        _ => ("", text("fin.refused.other")),
    };
    match lang {
        Lang::Zh => (field, zh),
        Lang::En => (field, e.to_string()),
    }
}

/// Books one command through the API's use case. `Ok(Ok(ids))`: booked (or booked before
/// under the same key), with the allocations it made; `Ok(Err(errors))`: refused, nothing
/// written; `Err(page)`: any other failure, as its page.
async fn book(
    state: &AppState,
    viewer: &Viewer,
    key: IdempotencyKey,
    command: Command,
) -> Result<Result<Vec<i64>, FieldErrors>, Response> {
    let envelope = LedgerEnvelope {
        key,
        actor: viewer.actor.name.clone(),
        command,
    };
    match state
        .app
        .ledger_apply(&viewer.actor, vec![envelope], None)
        .await
    {
        Ok(done) => Ok(Ok(done
            .into_iter()
            .flat_map(|d| d.outcome.allocations)
            .collect())),
        Err(AppError::Ledger { error, .. }) => Ok(Err(vec![refusal(viewer.lang, &error)])),
        Err(e) => Err(viewer.error(&e)),
    }
}

/// The allocation form as typed: all text, so that nothing a person types gets a bare
/// 400 from the framework.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct AllocationForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    line: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    meeting: String,
    #[serde(default)]
    approval_date: String,
}

impl AllocationForm {
    /// The command the form asks for, or what is wrong with each field.
    fn command(&self, lang: Lang) -> Result<(IdempotencyKey, Command), FieldErrors> {
        let mut errors = FieldErrors::new();
        let key = form_key(lang, &self.key, &mut errors);
        let line = match BudgetLineKind::parse(&self.line) {
            Ok(l) => Some(l),
            Err(_) => {
                errors.push(("line", lang.text("fin.invalid.line").to_string()));
                None
            }
        };
        let amount = form_amount(lang, &self.amount, &mut errors);
        let date = form_date(lang, "date", &self.date, &mut errors);
        let approved = form_date(lang, "approval_date", &self.approval_date, &mut errors);
        let approval = approved.and_then(|d| match Approval::new(&self.meeting, d) {
            Ok(a) => Some(a),
            Err(e) => {
                errors.push(refusal(lang, &e));
                None
            }
        });
        match (key, line, amount, date, approval) {
            (Some(key), Some(line), Some(amount), Some(date), Some(approval))
                if errors.is_empty() =>
            {
                Ok((
                    key,
                    Command::Allocate(Allocate {
                        date,
                        line,
                        unit: self.unit.trim().to_string(),
                        purpose: self.purpose.trim().to_string(),
                        amount,
                        approval,
                    }),
                ))
            }
            _ => Err(errors),
        }
    }

    /// The year whose lines the form offers: the year of the date typed, else `fallback`.
    fn year(&self, fallback: i32) -> i32 {
        NaiveDate::parse_from_str(self.date.trim(), "%Y-%m-%d")
            .map(|d| d.year())
            .unwrap_or(fallback)
    }
}

/// The allocation form with the year's lines and their headroom; `errors` next to their
/// fields.
async fn allocation_page(
    state: &AppState,
    viewer: &Viewer,
    form: &AllocationForm,
    errors: &FieldErrors,
) -> Response {
    let year = form.year(state.app.today().year());
    let lines = match state.app.allocation_headroom(&viewer.actor, year).await {
        Ok(l) => l,
        Err(e) => return viewer.error(&e),
    };
    let mut r = viewer.page(
        "pages/allocation_new.html",
        viewer.lang.text("fin.allocate.title"),
        context! {
            lines => serde_value(&lines),
            kinds => committable_lines(),
            f => serde_value(form),
            errors => errors_value(errors),
        },
    );
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

#[derive(Debug, Default, Deserialize)]
pub struct NewAllocationParams {
    year: Option<String>,
    unit: Option<String>,
    line: Option<String>,
}

pub async fn allocation_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(p): Query<NewAllocationParams>,
) -> Response {
    let today = state.app.today();
    let year = match year_param(&p.year) {
        Ok(y) => y.unwrap_or(today.year()),
        Err(e) => return viewer.error(&e),
    };
    // Booked today, or on the last day of another year asked for.
    let date = if year == today.year() {
        Some(today)
    } else {
        NaiveDate::from_ymd_opt(year, 12, 31)
    };
    let form = AllocationForm {
        key: duban_app::random_hex(16),
        line: given(&p.line).unwrap_or_default(),
        unit: given(&p.unit).unwrap_or_default(),
        date: date.map(|d| d.to_string()).unwrap_or_default(),
        approval_date: date.map(|d| d.to_string()).unwrap_or_default(),
        ..Default::default()
    };
    allocation_page(&state, &viewer, &form, &Vec::new()).await
}

pub async fn allocate(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<AllocationForm>,
) -> Response {
    let (key, command) = match form.command(viewer.lang) {
        Ok(c) => c,
        Err(errors) => return allocation_page(&state, &viewer, &form, &errors).await,
    };
    let year = form.year(state.app.today().year());
    match book(&state, &viewer, key, command).await {
        Ok(Ok(ids)) => {
            let id = ids.first().map(i64::to_string).unwrap_or_default();
            Redirect::to(&format!("/allocations?year={year}&done=allocated&id={id}"))
                .into_response()
        }
        Ok(Err(errors)) => allocation_page(&state, &viewer, &form, &errors).await,
        Err(page) => page,
    }
}

/// The disbursement form as typed.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct DisbursementForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    memo: String,
}

impl DisbursementForm {
    fn command(
        &self,
        lang: Lang,
        allocation: i64,
    ) -> Result<(IdempotencyKey, Command), FieldErrors> {
        let mut errors = FieldErrors::new();
        let key = form_key(lang, &self.key, &mut errors);
        let amount = form_amount(lang, &self.amount, &mut errors);
        let date = form_date(lang, "date", &self.date, &mut errors);
        match (key, amount, date) {
            (Some(key), Some(amount), Some(date)) => Ok((
                key,
                Command::Disburse(Disburse {
                    date,
                    allocation,
                    amount,
                    memo: given(&Some(self.memo.clone())),
                    payment: Default::default(),
                }),
            )),
            _ => Err(errors),
        }
    }
}

async fn disbursement_page(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    form: &DisbursementForm,
    errors: &FieldErrors,
) -> Response {
    let detail = match state.app.allocation_detail(&viewer.actor, id).await {
        Ok(d) => d,
        Err(e) => return viewer.error(&e),
    };
    let title = viewer
        .lang
        .text("fin.disburse.title")
        .replace("{id}", &id.to_string());
    let transactions: Vec<Value> = detail
        .transactions
        .iter()
        .map(|t| {
            context! {
                id => t.id,
                date => t.txn.date().to_string(),
                kind => t.txn.kind().as_str(),
                amount => t.txn.total().to_string(),
                reverses => t.txn.reverses(),
            }
        })
        .collect();
    let mut r = viewer.page(
        "pages/disburse.html",
        &title,
        context! {
            a => serde_value(&detail.allocation),
            open => detail.allocation.status == AllocationStatus::Open,
            transactions,
            f => serde_value(form),
            errors => errors_value(errors),
        },
    );
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub async fn disbursement_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Response {
    let form = DisbursementForm {
        key: duban_app::random_hex(16),
        date: state.app.today().to_string(),
        ..Default::default()
    };
    disbursement_page(&state, &viewer, id, &form, &Vec::new()).await
}

pub async fn disburse(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<DisbursementForm>,
) -> Response {
    let (key, command) = match form.command(viewer.lang, id) {
        Ok(c) => c,
        Err(errors) => return disbursement_page(&state, &viewer, id, &form, &errors).await,
    };
    match book(&state, &viewer, key, command).await {
        Ok(Ok(_)) => Redirect::to(&format!("/allocations?done=disbursed&id={id}")).into_response(),
        Ok(Err(errors)) => disbursement_page(&state, &viewer, id, &form, &errors).await,
        Err(page) => page,
    }
}

// ---- the allocations

/// The allocations' address parameters, all text.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct AllocationParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    year: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<String>,
    /// After a form: `allocated` or `disbursed`, and the allocation's number.
    #[serde(default, skip_serializing)]
    done: Option<String>,
    #[serde(default, skip_serializing)]
    id: Option<String>,
}

impl AllocationParams {
    /// The parameters with empty ones left out.
    fn cleaned(&self) -> AllocationParams {
        AllocationParams {
            year: given(&self.year),
            unit: given(&self.unit),
            line: given(&self.line),
            status: given(&self.status),
            sort: given(&self.sort),
            dir: given(&self.dir),
            page: given(&self.page),
            done: None,
            id: None,
        }
    }

    fn query(&self) -> Result<AllocationQuery, AppError> {
        let p = self.cleaned();
        Ok(AllocationQuery {
            year: year_param(&p.year)?,
            unit: p.unit,
            line: p
                .line
                .map(|l| {
                    BudgetLineKind::parse(&l).map_err(|_| {
                        AppError::invalid_at(
                            "line",
                            format!("没有预算科目“{l}” (no budget line {l:?})"),
                        )
                    })
                })
                .transpose()?,
            status: p
                .status
                .map(|s| {
                    AllocationStatus::parse(&s).ok_or_else(|| {
                        AppError::invalid_at("status", format!("没有状态“{s}” (no status {s:?})"))
                    })
                })
                .transpose()?,
            order: match p.sort {
                Some(s) => AllocationOrder::parse(&s)?,
                None => AllocationOrder::default(),
            },
            descending: p.dir.as_deref() == Some("desc"),
            page: p.page.and_then(|n| n.parse::<u64>().ok()).unwrap_or(1),
        })
    }

    fn at_page(&self, page: u64) -> AllocationParams {
        AllocationParams {
            page: (page > 1).then(|| page.to_string()),
            ..self.cleaned()
        }
    }
}

/// The columns of the allocations and of their exports: catalogue key and the order it
/// sorts by.
const COLUMNS: [(&str, Option<AllocationOrder>); 10] = [
    ("fin.number", None),
    ("fin.date", Some(AllocationOrder::Date)),
    ("fin.unit", Some(AllocationOrder::Unit)),
    ("fin.line", Some(AllocationOrder::Line)),
    ("fin.purpose", None),
    ("fin.approval", None),
    ("fin.amount", Some(AllocationOrder::Amount)),
    ("fin.disbursed", None),
    ("fin.outstanding", Some(AllocationOrder::Outstanding)),
    ("fin.status", None),
];

pub async fn allocations(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<AllocationParams>,
) -> Response {
    let query = match params.query() {
        Ok(q) => q,
        Err(e) => return viewer.error(&e),
    };
    let page = match state.app.allocation_page(&viewer.actor, &query).await {
        Ok(p) => p,
        Err(e) => return viewer.error(&e),
    };
    let unpaged = params.at_page(1);
    let columns: Vec<Value> = COLUMNS
        .iter()
        .map(|(label, order)| {
            sort_column(
                label,
                order.map(AllocationOrder::as_str),
                query.order.as_str(),
                query.descending,
                |sort, desc| {
                    let p = AllocationParams {
                        sort: Some(sort.to_string()),
                        dir: desc.then(|| "desc".to_string()),
                        ..unpaged.clone()
                    };
                    href("/allocations", &p)
                },
            )
        })
        .collect();
    let pager = pager(page.page, page.pages, |to| {
        href("/allocations", &params.at_page(to))
    });
    let notice = match (params.done.as_deref(), given(&params.id)) {
        (Some(done @ ("allocated" | "disbursed")), Some(id)) => Some(
            viewer
                .lang
                .text(&format!("fin.done.{done}"))
                .replace("{id}", &id),
        ),
        _ => None,
    };
    let this_year = state.app.today().year();
    viewer.page(
        "pages/allocations.html",
        viewer.lang.text("fin.allocations.title"),
        context! {
            q => serde_value(&unpaged),
            years => ((this_year - 4)..=(this_year + 1)).rev().collect::<Vec<i32>>(),
            kinds => committable_lines(),
            statuses => AllocationStatus::ALL.map(AllocationStatus::as_str).to_vec(),
            columns,
            rows => serde_value(&page.rows),
            sums => serde_value(&page.sums),
            total => page.total,
            page => page.page,
            pages => page.pages,
            pager,
            notice,
            can_write => viewer.actor.role.may(Permission::WriteLedger),
            new_href => href("/allocations/new", &NewAllocationQuery {
                year: unpaged.year.clone(),
                unit: unpaged.unit.clone(),
                line: unpaged.line.clone(),
            }),
            export_xlsx => href("/allocations.xlsx", &unpaged),
            export_csv => href("/allocations.csv", &unpaged),
        },
    )
}

#[derive(Serialize)]
struct NewAllocationQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    year: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<String>,
}

/// The allocations as an exported table, in the catalogue's words of the reader's language.
fn allocation_sheet(lang: Lang, rows: &[Allocation]) -> Sheet {
    Sheet {
        name: lang.text("fin.allocations.title").to_string(),
        headers: COLUMNS
            .iter()
            .map(|(k, _)| lang.text(k).to_string())
            .collect(),
        rows: rows
            .iter()
            .map(|a| {
                vec![
                    Cell::Int(a.id),
                    Cell::Date(a.date),
                    a.unit.as_str().into(),
                    format!("{} {}", a.line.year, line_name(lang, Some(a.line.kind)))
                        .as_str()
                        .into(),
                    a.purpose.as_str().into(),
                    format!("{}（{}）", a.approval.meeting, a.approval.date)
                        .as_str()
                        .into(),
                    a.amount.into(),
                    a.disbursed.into(),
                    a.outstanding.into(),
                    lang.text(&format!("fin.status.{}", a.status.as_str()))
                        .into(),
                ]
            })
            .collect(),
    }
}

/// `/allocations.xlsx` and `/allocations.csv`: every allocation the filters select.
pub async fn allocations_export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<AllocationParams>,
) -> Response {
    let rows = match params.query() {
        Ok(q) => state.app.allocation_export(&viewer.actor, &q).await,
        Err(e) => Err(e),
    };
    let lang = viewer.lang;
    download_of(&viewer, state.app.today(), "allocations", rows, |rows| {
        allocation_sheet(lang, rows)
    })
}

// ---- a unit's fund ledger

/// The ledger's columns, in the page and the exports.
const LEDGER_COLUMNS: [&str; 10] = [
    "fin.date",
    "fin.voucher",
    "fin.summary",
    "fin.committed",
    "fin.disbursed",
    "fin.dues",
    "fin.total_committed",
    "fin.total_disbursed",
    "fin.outstanding",
    "fin.total_dues",
];

/// What a line of the ledger is about: the kind of transaction and, for one on an
/// allocation, its number and purpose.
fn summary(
    lang: Lang,
    row: &duban_ledger::report::UnitLedgerRow,
    allocations: &[Allocation],
) -> String {
    let mut s = lang
        .text(&format!("fin.kind.{}", row.kind.as_str()))
        .to_string();
    if let Some(id) = row.allocation {
        s.push_str(
            &lang
                .text("fin.of_allocation")
                .replace("{id}", &id.to_string()),
        );
        if let Some(a) = allocations.iter().find(|a| a.id == id) {
            s.push_str(&format!("：{}", a.purpose));
        }
    }
    if let Some(t) = row.reverses {
        s.push_str(&lang.text("fin.reverses").replace("{id}", &t.to_string()));
    }
    s
}

async fn unit_funds_of(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
) -> Result<(duban_app::funds::UnitFunds, Vec<String>), Response> {
    let funds = state
        .app
        .unit_funds(&viewer.actor, code)
        .await
        .map_err(|e| viewer.error(&e))?;
    let summaries = funds
        .rows
        .iter()
        .map(|r| summary(viewer.lang, r, &funds.allocations))
        .collect();
    Ok((funds, summaries))
}

pub async fn unit_funds(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
) -> Response {
    let (funds, summaries) = match unit_funds_of(&state, &viewer, &code).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let title = viewer
        .lang
        .text("fin.ledger.title")
        .replace("{unit}", &funds.name);
    let enc = super::encode(&funds.code);
    viewer.page(
        "pages/unit_funds.html",
        &title,
        context! {
            u => serde_value(&funds),
            summaries,
            columns => LEDGER_COLUMNS.to_vec(),
            can_write => viewer.actor.role.may(Permission::WriteLedger),
            export_xlsx => format!("/units/{enc}/funds.xlsx"),
            export_csv => format!("/units/{enc}/funds.csv"),
            new_href => format!("/allocations/new?unit={enc}"),
        },
    )
}

/// `/units/{code}/funds.xlsx` and `.csv`: the unit's ledger as shown.
pub async fn unit_funds_export(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
) -> Response {
    let (funds, summaries) = match unit_funds_of(&state, &viewer, &code).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let lang = viewer.lang;
    let sheet = Sheet {
        name: lang.text("fin.ledger.sheet").replace("{unit}", &funds.code),
        headers: LEDGER_COLUMNS
            .iter()
            .map(|k| lang.text(k).to_string())
            .collect(),
        rows: funds
            .rows
            .iter()
            .zip(&summaries)
            .map(|(r, s)| {
                vec![
                    Cell::Date(r.date),
                    Cell::Int(r.transaction),
                    s.as_str().into(),
                    r.committed.into(),
                    r.disbursed.into(),
                    r.dues.into(),
                    r.total_committed.into(),
                    r.total_disbursed.into(),
                    r.outstanding.into(),
                    r.total_dues.into(),
                ]
            })
            .collect(),
    };
    let ascii = format!(
        "funds_{}",
        funds
            .code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
    );
    download(
        &viewer,
        &sheet,
        viewer.export_ext(),
        &ascii,
        state.app.today(),
    )
}

/// The lines a commitment can be made on: every line but the year's fund, which is
/// apportioned to them.
fn committable_lines() -> Vec<&'static str> {
    BudgetLineKind::ALL
        .into_iter()
        .filter(|k| *k != BudgetLineKind::Fund)
        .map(BudgetLineKind::slug)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: BudgetLineKind, appropriated: i64, committed: i64, paid: i64) -> ExecutionRow {
        ExecutionRow {
            figures: duban_ledger::report::BudgetRow {
                line: Some(line),
                label: String::new(),
                appropriated: Money::yuan(appropriated),
                committed: Money::yuan(committed),
                paid: Money::yuan(paid),
                paid_without_commitment: Money::ZERO,
                headroom: Money::yuan(appropriated - committed),
                execution_rate: None,
            },
            rate: None,
        }
    }

    #[test]
    fn bars_scale_to_the_largest_figure_of_the_year() {
        let c = chart(&[
            row(BudgetLineKind::Training, 1_000, 600, 1),
            row(BudgetLineKind::Other, 500, 0, 0),
        ]);
        let widths: Vec<Vec<u64>> = c
            .lines
            .iter()
            .map(|l| l.bars.iter().map(|b| b.width).collect())
            .collect();
        assert_eq!(widths, vec![vec![BAR_SPACE, 264, 2], vec![220, 0, 0]]);
        assert_eq!(c.lines[1].y, 4 + GROUP);
        assert_eq!(c.lines[0].bars[2].y, 4 + 2 * BAR);
        assert_eq!(c.height, 8 + 2 * GROUP);
        assert!(chart(&[]).lines.is_empty());
    }

    #[test]
    fn refusals_are_said_next_to_their_field_in_each_language() {
        let over = LedgerError::OverBudget {
            line: duban_ledger::budget::LineId::new(2026, BudgetLineKind::Other),
            headroom: Money::yuan(400),
            needed: Money::from_fen(50_000),
        };
        let (field, zh) = refusal(Lang::Zh, &over);
        assert_eq!(field, "amount");
        assert_eq!(
            zh,
            "超出预算可用额度：2026 其他 科目可用余额为 400.00 元，本次需要 500.00 元。"
        );
        assert_eq!(refusal(Lang::En, &over).1, over.to_string());
        let unknown =
            LedgerError::Invalid("unit: 999 is not in the register; import it first".into());
        assert_eq!(refusal(Lang::Zh, &unknown).0, "unit");
        let meeting = LedgerError::Invalid("approval.meeting: name the meeting".into());
        assert_eq!(refusal(Lang::Zh, &meeting).0, "meeting");
        let mut errors = FieldErrors::new();
        assert_eq!(form_amount(Lang::Zh, "1.001", &mut errors), None);
        assert_eq!(form_amount(Lang::Zh, "0", &mut errors), None);
        assert_eq!(
            form_amount(Lang::Zh, "1,000.50", &mut errors),
            Some(Money::from_fen(100_050))
        );
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|(f, _)| *f == "amount"));
    }
}
