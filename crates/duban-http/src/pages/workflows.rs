//! The workflows (`/workflows`): what the engine runs, with each one's running chains, and
//! a form that checks a proposed workflow file beside them, every finding located by line
//! and column. Nothing changes: the file goes into `workflows/` by hand, then
//! `duban workflows replan`.

use super::Viewer;
use crate::AppState;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};

async fn show(state: &AppState, viewer: &Viewer, status: StatusCode, checked: Value) -> Response {
    let workflows = match state.app.workflows(&viewer.actor).await {
        Ok(w) => w,
        Err(e) => return viewer.error(&e),
    };
    let mut r = viewer.page(
        "pages/workflows.html",
        viewer.lang.text("workflows.title"),
        context! {
            workflows => Value::from(minijinja::value::Serde(&workflows)),
            can_check => viewer.actor.role.may(duban_app::Permission::ManageWorkflows),
            ..checked
        },
    );
    *r.status_mut() = status;
    r
}

pub async fn index(State(state): State<AppState>, viewer: Viewer) -> Response {
    show(&state, &viewer, StatusCode::OK, context! {}).await
}

pub async fn check(State(state): State<AppState>, viewer: Viewer, form: Multipart) -> Response {
    let (name, bytes) = match super::import::file_of(form).await {
        Ok(f) => f,
        Err(_) => {
            let problem = viewer.lang.text("workflows.no_file").to_string();
            return show(
                &state,
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                context! { problem },
            )
            .await;
        }
    };
    match state.app.check_workflow(&viewer.actor, &name, &bytes).await {
        Ok(report) => {
            let status = if report.errors() > 0 {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            let errors = report.errors();
            show(
                &state,
                &viewer,
                status,
                context! { checked => Value::from(minijinja::value::Serde(&report)), errors },
            )
            .await
        }
        Err(duban_app::AppError::Invalid { message, .. }) => {
            let problem = viewer.lang.pick(&message, &message).to_string();
            show(
                &state,
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                context! { problem },
            )
            .await
        }
        Err(e) => viewer.error(&e),
    }
}
