//! Importing the register by upload: the file is read and checked in full first (a dry run
//! of `App::import_register`), every located error listed with its row and column, and
//! nothing written; a clean file shows what would change and a button that imports it.
//! The confirmation carries the file back (base64 in a hidden field), so the server keeps
//! no upload between the two steps, and imports it with the same checks again.

use super::Viewer;
use crate::AppState;
use axum::extract::{Form, Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use duban_app::AppError;
use duban_app::register::Encoding;
use minijinja::{Value, context};
use serde::Deserialize;

/// The largest register file taken (a department's register is well under 1 MB).
const MOST_BYTES: usize = 16 << 20;

pub async fn form(viewer: Viewer) -> Response {
    // The form alone calls no use case: refuse it to those the import would refuse.
    if let Err(e) = viewer.actor.require(duban_app::Permission::WriteRegister) {
        return viewer.error(&e);
    }
    show(&viewer, StatusCode::OK, context! {})
}

fn show(viewer: &Viewer, status: StatusCode, page: Value) -> Response {
    let mut r = viewer.page("pages/import.html", viewer.lang.text("import.title"), page);
    *r.status_mut() = status;
    r
}

/// The uploaded file: its name and bytes.
pub(crate) async fn file_of(mut form: Multipart) -> Result<(String, Vec<u8>), String> {
    while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|e| e.to_string())?;
        if bytes.len() > MOST_BYTES {
            return Err(format!("the file is larger than {} MB", MOST_BYTES >> 20));
        }
        return Ok((name, bytes.to_vec()));
    }
    Err("no file was chosen".into())
}

/// Checks the file without writing; shows its errors or what it would change.
async fn check(state: &AppState, viewer: &Viewer, name: &str, bytes: &[u8]) -> Response {
    match state
        .app
        .import_register(&viewer.actor, name, bytes, Encoding::Auto, true)
        .await
    {
        Ok(summary) => show(
            viewer,
            StatusCode::OK,
            context! {
                name,
                summary => Value::from(minijinja::value::Serde(&summary)),
                content => base64::engine::general_purpose::STANDARD.encode(bytes),
            },
        ),
        Err(AppError::Rows(errors)) => show(
            viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            context! {
                name,
                errors => Value::from(minijinja::value::Serde(&errors)),
            },
        ),
        Err(e @ AppError::Invalid { .. }) => show(
            viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            context! { name, problem => viewer.lang.pick(&e.to_string(), &e.to_string()).to_string() },
        ),
        Err(e) => viewer.error(&e),
    }
}

pub async fn preview(State(state): State<AppState>, viewer: Viewer, form: Multipart) -> Response {
    match file_of(form).await {
        Ok((name, bytes)) => check(&state, &viewer, &name, &bytes).await,
        Err(problem) => show(
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            context! { problem => viewer.lang.text("import.no_file").to_string(), detail => problem },
        ),
    }
}

/// The confirmation of an upload's import: the file's name and its bytes in base64.
#[derive(Debug, Default, Deserialize)]
pub struct Confirm {
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) content: String,
}

pub async fn confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<Confirm>,
) -> Response {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(f.content.trim()) else {
        return show(
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            context! { problem => viewer.lang.text("import.no_file").to_string() },
        );
    };
    match state
        .app
        .import_register(&viewer.actor, &f.name, &bytes, Encoding::Auto, false)
        .await
    {
        Ok(summary) => show(
            &viewer,
            StatusCode::OK,
            context! {
                name => f.name,
                imported => true,
                summary => Value::from(minijinja::value::Serde(&summary)),
            },
        ),
        // The file changed since the preview, or the register did: its errors again.
        Err(AppError::Rows(_) | AppError::Invalid { .. }) => {
            check(&state, &viewer, &f.name, &bytes).await
        }
        Err(e) => viewer.error(&e),
    }
}
