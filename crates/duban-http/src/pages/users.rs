//! Users and roles (administrators): the accounts with their role, districts or units,
//! state and last sign-in; a form that creates one; per account a form that changes its role
//! and scope, a button that disables or enables it, and a form that sets a new password.
//! Each goes through the accounts use cases, audited; errors are shown next to their field.

use super::{Viewer, encode};
use crate::AppState;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use duban_app::accounts::{AccessChange, UserRequest};
use duban_app::{AppError, Role};
use minijinja::{Value, context};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// A list typed as `历下区,市中区` (commas, 、 or spaces between).
fn list(text: &str) -> Vec<String> {
    text.split([',', '，', '、', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The create form as typed, to show again with its errors.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    districts: String,
    #[serde(default)]
    units: String,
    #[serde(default)]
    password: String,
}

/// Where a refusal belongs: the field its JSON pointer names (`/units` → `units`), for a
/// form `about` one user (`""` for the create form).
struct Rejected<'a> {
    about: &'a str,
    field: String,
    message: String,
}

fn rejected<'a>(viewer: &Viewer, about: &'a str, e: &AppError) -> Option<Rejected<'a>> {
    let (message, pointer) = match e {
        AppError::Invalid { message, pointer } => (message, pointer.as_deref()),
        AppError::Refused(message) | AppError::Conflict(message) => (message, None),
        _ => return None,
    };
    Some(Rejected {
        about,
        field: pointer
            .map(|p| p.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        message: viewer
            .lang
            .pick(message, viewer.lang.text("error.bad_request"))
            .to_string(),
    })
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    done: Option<String>,
    typed: Option<&NewUserForm>,
    error: Option<Rejected<'_>>,
) -> Response {
    let users = match state.app.list_users(&viewer.actor).await {
        Ok(u) => u,
        Err(e) => return viewer.error(&e),
    };
    let now = state.app.now();
    let rows: Vec<Value> = users
        .iter()
        .map(|u| {
            context! {
                user => Value::from(minijinja::value::Serde(u)),
                locked => u.locked_until.is_some_and(|t| t > now),
                districts => u.districts.join("，"),
                units => u.units.join("，"),
                me => viewer.actor.user_id == Some(u.id),
            }
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let error =
        error.map(|e| context! { about => e.about, field => e.field, message => e.message });
    let mut r = viewer.page(
        "pages/users.html",
        viewer.lang.text("users.title"),
        context! {
            rows,
            roles => Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            typed => typed.map(|t| Value::from(minijinja::value::Serde(t))),
            error,
            done => done.as_deref().and_then(|d| d.split_once(':')).map(|(what, name)| {
                context! { key => format!("users.done.{what}"), name }
            }),
        },
    );
    *r.status_mut() = status;
    r
}

pub async fn index(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Done>,
) -> Response {
    show(&state, &viewer, q.done, None, None).await
}

fn done(what: &str, name: &str) -> Response {
    Redirect::to(&format!(
        "/users?done={}",
        encode(&format!("{what}:{name}"))
    ))
    .into_response()
}

pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<NewUserForm>,
) -> Response {
    let role = match Role::parse(&f.role) {
        Ok(r) => r,
        Err(e) => {
            let e = AppError::invalid_at("/role", e.to_string());
            return show(&state, &viewer, None, Some(&f), rejected(&viewer, "", &e)).await;
        }
    };
    let req = UserRequest {
        username: f.username.trim().to_string(),
        display_name: f.display_name.trim().to_string(),
        password: f.password.clone(),
        role,
        districts: list(&f.districts),
        units: list(&f.units),
    };
    match state.app.add_user(&viewer.actor, req).await {
        Ok(u) => done("created", &u.username),
        Err(e) => match rejected(&viewer, "", &e) {
            Some(r) => show(&state, &viewer, None, Some(&f), Some(r)).await,
            None => viewer.error(&e),
        },
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AccessForm {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    districts: Option<String>,
    #[serde(default)]
    units: Option<String>,
    /// `1` to disable, `0` to enable; absent leaves it.
    #[serde(default)]
    disabled: Option<String>,
}

pub async fn access(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(f): Form<AccessForm>,
) -> Response {
    let role = match f.role.as_deref().map(Role::parse).transpose() {
        Ok(r) => r,
        Err(e) => {
            let e = AppError::invalid_at("/role", e.to_string());
            return show(&state, &viewer, None, None, rejected(&viewer, &name, &e)).await;
        }
    };
    let change = AccessChange {
        role,
        districts: f.districts.as_deref().map(list),
        units: f.units.as_deref().map(list),
        disabled: f.disabled.as_deref().map(|d| d == "1"),
    };
    let what = match change.disabled {
        Some(true) => "disabled",
        Some(false) => "enabled",
        None => "changed",
    };
    match state.app.change_access(&viewer.actor, &name, change).await {
        Ok(u) => done(what, &u.username),
        Err(e) => match rejected(&viewer, &name, &e) {
            Some(r) => show(&state, &viewer, None, None, Some(r)).await,
            None => viewer.error(&e),
        },
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

pub async fn password(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Response {
    match state
        .app
        .set_password(&viewer.actor, &name, None, &f.password)
        .await
    {
        Ok(()) => done("password", &name),
        Err(e) => match rejected(&viewer, &name, &e) {
            Some(r) => show(&state, &viewer, None, None, Some(r)).await,
            None => viewer.error(&e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_typed_with_any_separator() {
        assert_eq!(
            list("历下区，市中区、槐荫区 天桥区,"),
            ["历下区", "市中区", "槐荫区", "天桥区"]
        );
        assert!(list("  ").is_empty());
    }
}
