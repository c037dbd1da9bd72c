//! Signing in and out, changing one's password, choosing the language.

use super::i18n::{LANG_COOKIE, Lang};
use super::{Viewer, error_page, home_of, lang_of, render};
use crate::AppState;
use crate::auth::{ClientOrigin, SESSION_COOKIE, cookie, session_cookie};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use duban_app::AppError;
use minijinja::context;
use serde::Deserialize;

/// Only a path of this site: `/units?x=1`, never `//elsewhere` or `https://…`.
fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\"))
}

/// A redirect that also sets a cookie.
fn redirect_with_cookie(to: &str, set_cookie: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(set_cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    /// `changed`: the password was just changed; `out`: signed out.
    done: Option<String>,
}

fn login_page(
    status: StatusCode,
    lang: Lang,
    next: &str,
    username: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    render(
        status,
        "pages/login.html",
        lang,
        None,
        "/login",
        lang.text("login.title"),
        context! { next, username, error, notice },
    )
}

pub async fn login_form(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let lang = lang_of(&headers);
    let notice = match q.done.as_deref() {
        Some("changed") => Some(lang.text("login.changed")),
        Some("out") => Some(lang.text("login.signed_out")),
        _ => None,
    };
    let next = safe_next(q.next.as_deref()).unwrap_or("");
    login_page(StatusCode::OK, lang, next, "", None, notice)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&headers);
    let next = safe_next(Some(&f.next)).unwrap_or("");
    if f.username.trim().is_empty() || f.password.is_empty() {
        let missing = lang.text("login.missing");
        return login_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            next,
            &f.username,
            Some(missing),
            None,
        );
    }
    match state.app.login(&f.username, &f.password, &origin).await {
        Ok(signed) => {
            let to = if signed.must_change_password {
                "/password?expired=1".to_string()
            } else if next.is_empty() {
                let actor = duban_app::accounts::actor_of(&signed.user, &origin);
                actor.as_ref().map(home_of).unwrap_or("/").to_string()
            } else {
                next.to_string()
            };
            redirect_with_cookie(
                &to,
                &session_cookie(
                    &signed.secret,
                    state.app.policy.session_max.num_seconds(),
                    state.secure_cookies,
                ),
            )
        }
        // A wrong password, a locked or disabled account: said plainly on the form.
        Err(e @ (AppError::Unauthenticated(_) | AppError::Forbidden(_))) => {
            let status = match e {
                AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
                _ => StatusCode::FORBIDDEN,
            };
            let message = lang
                .pick(&e.to_string(), lang.text("login.wrong"))
                .to_string();
            login_page(status, lang, next, &f.username, Some(&message), None)
        }
        Err(e) => error_page(lang, None, "/login", &e),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    headers: HeaderMap,
) -> Response {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = state.app.logout(secret, &origin).await
    {
        return error_page(lang_of(&headers), None, "/logout", &e);
    }
    redirect_with_cookie(
        "/login?done=out",
        &session_cookie("", 0, state.secure_cookies),
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordQuery {
    expired: Option<String>,
}

/// The password form; `errors` are (field, message) pairs shown next to their field.
fn password_page(
    viewer: &Viewer,
    status: StatusCode,
    expired: bool,
    errors: &[(&str, String)],
) -> Response {
    let fields: Vec<minijinja::Value> = [
        ("current_password", "password.current", "current-password"),
        ("password", "password.new", "new-password"),
        ("confirm", "password.confirm", "new-password"),
    ]
    .into_iter()
    .map(|(name, label, autocomplete)| {
        let error = errors.iter().find(|(f, _)| *f == name).map(|(_, m)| m);
        context! { name, label, autocomplete, error }
    })
    .collect();
    let general = errors
        .iter()
        .find(|(f, _)| f.is_empty())
        .map(|(_, m)| m.clone());
    let mut r = viewer.page(
        "pages/password.html",
        viewer.lang.text("password.title"),
        context! { fields, expired, error => general },
    );
    *r.status_mut() = status;
    r
}

pub async fn password_form(viewer: Viewer, Query(q): Query<PasswordQuery>) -> Response {
    password_page(&viewer, StatusCode::OK, q.expired.is_some(), &[])
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<PasswordForm>,
) -> Response {
    let lang = viewer.lang;
    if f.password != f.confirm {
        let e = [("confirm", lang.text("password.mismatch").to_string())];
        return password_page(&viewer, StatusCode::UNPROCESSABLE_ENTITY, false, &e);
    }
    let actor = &viewer.actor;
    match state
        .app
        .set_password(actor, &actor.name, Some(&f.current_password), &f.password)
        .await
    {
        // Every session of the user ended with the change: sign in again.
        Ok(()) => redirect_with_cookie(
            "/login?done=changed",
            &session_cookie("", 0, state.secure_cookies),
        ),
        Err(AppError::Invalid { message, pointer }) => {
            let field = pointer
                .as_deref()
                .map(|p| p.trim_start_matches('/'))
                .unwrap_or("");
            let message = lang
                .pick(&message, lang.text("error.bad_request"))
                .to_string();
            password_page(
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
                &[(field, message)],
            )
        }
        Err(e) => viewer.error(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct LangForm {
    lang: String,
    #[serde(default)]
    back: String,
}

/// Chooses the language (a cookie for a year) and goes back to the page.
pub async fn set_lang(Form(f): Form<LangForm>) -> Response {
    let lang = Lang::from_cookie(Some(&f.lang));
    let back = safe_next(Some(&f.back)).unwrap_or("/");
    redirect_with_cookie(
        back,
        &format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_followed() {
        assert_eq!(safe_next(Some("/units?x=1")), Some("/units?x=1"));
        assert_eq!(safe_next(Some("//evil.example")), None);
        assert_eq!(safe_next(Some("/\\evil.example")), None);
        assert_eq!(safe_next(Some("https://evil.example")), None);
        assert_eq!(safe_next(None), None);
    }
}
