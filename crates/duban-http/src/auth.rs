//! Who is asking: an API token (`Authorization: Bearer dbn_…`) or a session cookie. Either
//! becomes the [`Actor`] every use case takes; without one, a request is refused (401).

use crate::AppState;
use crate::problem::Problem;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use duban_app::Actor;
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "duban_session";

/// What a session whose password has expired may still do: see who it is and change it
/// (signing out needs no actor).
const WHILE_PASSWORD_EXPIRED: [&str; 2] = ["/api/v1/me", "/api/v1/me/password"];

/// The signed-in actor of a request.
pub struct Authed(pub Actor);

/// Where a request came from, for the audit log: the peer's address.
pub fn origin_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The peer's address, as an extractor.
pub struct ClientOrigin(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientOrigin(origin_of(parts)))
    }
}

/// A cookie's value.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The `Set-Cookie` value of a session (`max_age` 0 ends it).
pub fn session_cookie(secret: &str, max_age_seconds: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        max_age_seconds.max(0),
        if secure { "; Secure" } else { "" }
    )
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let origin = origin_of(parts);
        if let Some(auth) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            let Some(token) = auth.strip_prefix("Bearer ") else {
                return Err(Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "use Authorization: Bearer <API token>",
                ));
            };
            return Ok(Authed(state.app.token_actor(token, &origin).await?));
        }
        if let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) {
            let actor = state.app.session_actor(secret, &origin).await?;
            if actor.password_expired && !WHILE_PASSWORD_EXPIRED.contains(&parts.uri.path()) {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "password-expired",
                    "密码已过期，请先修改密码 (the password has expired: change it with PUT /api/v1/me/password first)",
                ));
            }
            return Ok(Authed(actor));
        }
        Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in (POST /api/v1/session) or send an API token",
        ))
    }
}
