//! `/bank/profiles`: the bank statement profiles saved for layouts no shipped profile knows,
//! and the form that makes one from a statement: upload it, see its header cells, pick the
//! cell of each field, try (the figures, or the refusal beside its field) and save. The form
//! carries the file back (base64 in a hidden field), so the server keeps no upload between
//! the steps. Every step is one use case of `duban_app::bank_profiles`.

use super::Viewer;
use super::i18n::beijing;
use crate::AppState;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use duban_app::bank_profiles::{Field, Layout, Mapping, ProfileCheck, REMARK};
use duban_app::{AppError, Permission};
use minijinja::{Value, context};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The fields in the order a person looks for them on a statement.
const FIELDS: [Field; 23] = [
    Field::Date,
    Field::Time,
    Field::Debit,
    Field::Credit,
    Field::Amount,
    Field::Flag,
    Field::Balance,
    Field::CounterpartyName,
    Field::CounterpartyAccount,
    Field::CounterpartyBank,
    Field::Summary,
    Field::Purpose,
    Field::Serial,
    Field::Account,
    Field::AccountName,
    Field::Currency,
    Field::ValueDate,
    Field::PayerName,
    Field::PayerAccount,
    Field::PayerBank,
    Field::PayeeName,
    Field::PayeeAccount,
    Field::PayeeBank,
];

/// What the page shows besides the lists: a notice, the mapping form and its outcome.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    status: Option<StatusCode>,
    form: Option<Value>,
}

impl Shown {
    /// A problem with the upload, above the upload form.
    fn problem(notice: String) -> Shown {
        Shown {
            notice: Some(notice),
            status: Some(StatusCode::UNPROCESSABLE_ENTITY),
            form: None,
        }
    }
}

async fn show(state: &AppState, viewer: &Viewer, shown: Shown) -> Response {
    let entries = match state.app.bank_profiles(&viewer.actor).await {
        Ok(e) => e,
        Err(e) => return viewer.error(&e),
    };
    let lang = viewer.lang;
    let (saved, shipped): (Vec<_>, Vec<_>) = entries.iter().partition(|p| p.source == "saved");
    let saved: Vec<Value> = saved
        .iter()
        .map(|p| {
            let columns: Vec<String> = p
                .mapping
                .columns
                .iter()
                .map(|(k, v)| format!("{}：{v}", label(lang, k)))
                .collect();
            context! {
                name => p.name.clone(),
                bank => p.bank.clone(),
                saved_by => p.saved_by.clone(),
                saved_at => p.saved_at.map(|t| lang.date(t.with_timezone(&beijing()).date_naive())),
                columns => columns.join("；"),
                detect => p.mapping.detect.join("、"),
            }
        })
        .collect();
    let shipped: Vec<Value> = shipped
        .iter()
        .map(|p| context! { name => p.name.clone(), bank => p.bank.clone() })
        .collect();
    let may_write = viewer.actor.require(Permission::WriteBankProfiles).is_ok();
    let mut r = viewer.page(
        "pages/bank_profiles.html",
        lang.text("profiles.title"),
        context! { saved, shipped, may_write, notice => shown.notice, form => shown.form },
    );
    *r.status_mut() = shown.status.unwrap_or(StatusCode::OK);
    r
}

fn label(lang: super::i18n::Lang, key: &str) -> &'static str {
    let (zh, en) = duban_app::bank_profiles::field_label(key);
    match lang {
        super::i18n::Lang::Zh => zh,
        super::i18n::Lang::En => en,
    }
}

pub async fn index(State(state): State<AppState>, viewer: Viewer) -> Response {
    show(&state, &viewer, Shown::default()).await
}

/// The mapping form for a file: its header cells, each field's select (the cell chosen, else
/// the one recognised), and the outcome of a try or a save beside it.
fn form_of(
    viewer: &Viewer,
    layout: &Layout,
    file_name: &str,
    bytes: &[u8],
    mapping: &Mapping,
    check: Option<&ProfileCheck>,
) -> Value {
    let lang = viewer.lang;
    let refusal = check.and_then(|c| c.refusal.as_ref());
    let reason = |r: &duban_app::bank_profiles::ProfileRefusal| {
        let place = match (r.row, &r.column) {
            (Some(row), Some(c)) => format!("第{row}行“{c}”列："),
            (Some(row), None) => format!("第{row}行："),
            _ => String::new(),
        };
        match lang {
            super::i18n::Lang::Zh => format!("{place}{}", r.zh),
            super::i18n::Lang::En => match (r.row, &r.column) {
                (Some(row), Some(c)) => format!("row {row}, column {c}: {}", r.en),
                (Some(row), None) => format!("row {row}: {}", r.en),
                _ => r.en.clone(),
            },
        }
    };
    let mut keys: Vec<&str> = FIELDS.iter().map(|f| f.key()).collect();
    keys.insert(12, REMARK);
    let fields: Vec<Value> = keys
        .iter()
        .map(|k| {
            let error = refusal
                .filter(|r| r.field.as_deref() == Some(*k))
                .map(reason);
            context! {
                key => *k,
                label => label(lang, k),
                value => mapping.columns.get(*k).cloned().unwrap_or_default(),
                error,
            }
        })
        .collect();
    let error_at = |f: &str| {
        refusal
            .filter(|r| r.field.as_deref() == Some(f))
            .map(reason)
    };
    let known: Vec<&str> = keys.clone();
    let other = refusal
        .filter(|r| {
            r.field
                .as_deref()
                .is_none_or(|f| !known.contains(&f) && !["name", "bank", "detect"].contains(&f))
        })
        .map(reason);
    let figures = check.and_then(|c| c.figures.as_ref()).map(|f| {
        context! {
            lines => f.lines,
            debit_count => f.debit_count,
            debit_total => f.debit_total.grouped(),
            credit_count => f.credit_count,
            credit_total => f.credit_total.grouped(),
            opening => f.opening.map(|m| m.grouped()),
            closing => f.closing.map(|m| m.grouped()),
        }
    });
    let header: Vec<String> = layout
        .header
        .iter()
        .filter(|c| !c.is_empty())
        .cloned()
        .collect();
    let sample: Vec<Vec<String>> = layout
        .sample
        .iter()
        .map(|r| {
            layout
                .header
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.is_empty())
                .map(|(j, _)| r.cells.get(j).cloned().unwrap_or_default())
                .collect()
        })
        .collect();
    let above: Vec<String> = layout
        .above
        .iter()
        .map(|r| {
            r.cells
                .iter()
                .filter(|c| !c.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    context! {
        file_name,
        content => base64::engine::general_purpose::STANDARD.encode(bytes),
        header_row => layout.header_row,
        header,
        sample,
        above,
        read_by => layout.profile.clone(),
        name => mapping.name.clone(),
        bank => mapping.bank.clone(),
        detect => mapping.detect.join("、"),
        name_error => error_at("name"),
        bank_error => error_at("bank"),
        detect_error => error_at("detect"),
        other_error => other,
        refused => refusal.is_some(),
        fields,
        figures,
        saved => check.is_some_and(|c| c.saved),
        replaces => check.is_some_and(|c| c.replaces && !c.saved),
    }
}

/// The layout of the file as a located problem beside the upload, when it has none.
async fn layout_or_page(
    state: &AppState,
    viewer: &Viewer,
    bytes: &[u8],
) -> Result<Layout, Response> {
    match state.app.statement_layout(&viewer.actor, bytes).await {
        Ok(l) => Ok(l),
        Err(AppError::Rows(rows)) => {
            let notice = rows
                .into_iter()
                .map(|r| r.reason)
                .collect::<Vec<_>>()
                .join("；");
            Err(show(state, viewer, Shown::problem(notice)).await)
        }
        Err(e) => Err(viewer.error(&e)),
    }
}

/// The upload: the file's header cells and the mapping form.
pub async fn map(State(state): State<AppState>, viewer: Viewer, form: Multipart) -> Response {
    if let Err(e) = viewer.actor.require(Permission::WriteBankProfiles) {
        return viewer.error(&e);
    }
    let (file_name, bytes) = match super::import::file_of(form).await {
        Ok(f) => f,
        Err(problem) => {
            let notice = format!("{}（{problem}）", viewer.lang.text("import.no_file"));
            return show(&state, &viewer, Shown::problem(notice)).await;
        }
    };
    let layout = match layout_or_page(&state, &viewer, &bytes).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let mapping = Mapping {
        name: layout.profile.clone().unwrap_or_default(),
        columns: layout.columns.clone(),
        detect: layout.detect.clone(),
        ..Mapping::default()
    };
    let form = form_of(&viewer, &layout, &file_name, &bytes, &mapping, None);
    show(
        &state,
        &viewer,
        Shown {
            form: Some(form),
            ..Shown::default()
        },
    )
    .await
}

/// The mapping form as sent: `name`, `bank`, `detect`, `col_<field>` for each field, the
/// file carried back, and `action` (`try` or `save`).
#[derive(Debug, Default, Deserialize)]
pub struct MappingForm {
    #[serde(flatten)]
    values: BTreeMap<String, String>,
}

impl MappingForm {
    fn get(&self, k: &str) -> String {
        self.values
            .get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    }

    fn mapping(&self) -> Mapping {
        let columns = self
            .values
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("col_")?.to_string(), v.trim().to_string())))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let detect = self
            .get("detect")
            .split(['、', ',', '，', ';', '；'])
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty())
            .collect();
        Mapping {
            name: self.get("name"),
            bank: self.get("bank"),
            detect,
            columns,
            ..Mapping::default()
        }
    }
}

/// Try or save: the mapping checked against the file; the figures or the refusal beside
/// its field; saved only when the file reads with it.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<MappingForm>,
) -> Response {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(f.get("content")) else {
        let notice = viewer.lang.text("import.no_file").to_string();
        return show(&state, &viewer, Shown::problem(notice)).await;
    };
    let file_name = f.get("file_name");
    let mapping = f.mapping();
    let dry_run = f.get("action") != "save";
    let check = match state
        .app
        .save_bank_profile(&viewer.actor, &mapping, &file_name, &bytes, dry_run)
        .await
    {
        Ok(c) => c,
        Err(e) => return viewer.error(&e),
    };
    if check.saved {
        let notice = viewer
            .lang
            .text("profiles.saved")
            .replace("{name}", &check.name);
        return show(
            &state,
            &viewer,
            Shown {
                notice: Some(notice),
                ..Shown::default()
            },
        )
        .await;
    }
    let layout = match layout_or_page(&state, &viewer, &bytes).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let status = check
        .refusal
        .as_ref()
        .map(|_| StatusCode::UNPROCESSABLE_ENTITY);
    let form = form_of(&viewer, &layout, &file_name, &bytes, &mapping, Some(&check));
    show(
        &state,
        &viewer,
        Shown {
            notice: None,
            status,
            form: Some(form),
        },
    )
    .await
}

pub async fn remove(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Response {
    match state.app.remove_bank_profile(&viewer.actor, &name).await {
        Ok(p) => {
            let notice = viewer
                .lang
                .text("profiles.deleted")
                .replace("{name}", &p.name);
            show(
                &state,
                &viewer,
                Shown {
                    notice: Some(notice),
                    ..Shown::default()
                },
            )
            .await
        }
        Err(e) => viewer.error(&e),
    }
}
