//! duban's HTTP surface, an adapter over the application layer (`duban-app`): the JSON API
//! under `/api/v1` with its OpenAPI document at `/api/openapi.json`, the web pages of staff
//! (`pages`: sign-in, dashboard, register), the pages secretaries open from the links in
//! their reminders (`/l/<token>`), `/healthz` and `/metrics`.
//! [`router`] builds the whole application, so tests drive it with
//! `router(state).oneshot(request)` without opening a socket.
//!
//! Handlers only parse, call one use case with the signed-in [`duban_app::Actor`] and
//! present its answer; authorisation and everything else lives in `duban-app`.

pub mod api;
mod auth;
mod links;
mod pages;
pub mod problem;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use duban_app::App;
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use tower_http::trace::TraceLayer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub(crate) app: App,
    metrics: Option<PrometheusHandle>,
    /// Cookies carry `Secure` (behind TLS).
    pub(crate) secure_cookies: bool,
    /// Origins whose form posts are accepted although they differ from the request's host
    /// (duban behind a proxy that rewrites `Host`): the address reminders link to.
    trusted_origins: Vec<String>,
}

impl AppState {
    pub fn new(app: App) -> Self {
        Self {
            app,
            metrics: None,
            secure_cookies: false,
            trusted_origins: Vec::new(),
        }
    }

    /// Accepts form posts from `url`'s origin (`scheme://host[:port]`): the public address
    /// of duban, as the links in reminders name it. A URL without one is ignored.
    pub fn with_public_url(mut self, url: &str) -> Self {
        if let Some(origin) = origin_of_url(url) {
            self.trusted_origins.push(origin);
        }
        self
    }

    /// Serves `/metrics` from this recorder (installed once per process by the binary).
    pub fn with_metrics(mut self, handle: PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }

    /// Marks session cookies `Secure`: set when duban is served over TLS (directly or behind
    /// a proxy that terminates it).
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }
}

/// The application's routes. Cross-site form posts are refused (`Sec-Fetch-Site` /
/// `Origin`, tower-http's CSRF layer); request bodies are limited to 20 MiB (uploads).
pub fn router(state: AppState) -> Router {
    let (api, _) = api::routes().split_for_parts();
    // Parse the page templates now: a broken one stops the server at startup.
    let _ = pages::env();
    let mut csrf = tower_http::csrf::CsrfLayer::new();
    for origin in &state.trusted_origins {
        csrf = match csrf.clone().add_trusted_origin(origin) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(%origin, error = ?e, "not a usable origin for form posts");
                csrf
            }
        };
    }
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/api/openapi.json", get(openapi_json))
        .merge(api)
        .merge(links::routes())
        .merge(pages::routes())
        .layer(csrf)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(20 << 20))
        // A bug answers 500 and is logged, instead of dropping the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `https://duban.example.cn/path` → `https://duban.example.cn`.
fn origin_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && matches!(scheme, "http" | "https")).then(|| format!("{scheme}://{host}"))
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    tracing::error!("a request handler panicked");
    problem::Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "an internal error occurred; it has been logged",
    )
    .into_response()
}

/// The OpenAPI 3.1 document of `/api/v1`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::routes().split_for_parts().1
}

async fn openapi_json() -> impl IntoResponse {
    Json(openapi())
}

/// `GET /healthz` body.
#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    pub database: &'static str,
    pub schema_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let version = env!("CARGO_PKG_VERSION");
    match state.app.health().await {
        Ok((database, schema_version)) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                version,
                database,
                schema_version,
                error: None,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    version,
                    database: state.app.backend(),
                    schema_version: None,
                    error: Some(e.to_string()),
                }),
            )
        }
    }
}

/// `GET /metrics`: Prometheus text. Timer and outbox gauges are read from the database at
/// scrape time, so every node reports the cluster's state; counters are this process's.
async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    let Some(handle) = &state.metrics else {
        return (
            StatusCode::NOT_FOUND,
            "metrics are not enabled\n".to_string(),
        );
    };
    match state.app.timer_stats().await {
        Ok(s) => {
            metrics::gauge!("duban_timers_pending").set(s.pending as f64);
            metrics::gauge!("duban_timers_due").set(s.due as f64);
            metrics::gauge!("duban_timers_running").set(s.running as f64);
            metrics::gauge!("duban_timers_done").set(s.done as f64);
            metrics::gauge!("duban_timers_late").set(s.late as f64);
            metrics::gauge!("duban_timers_failed").set(s.failed as f64);
            metrics::gauge!("duban_timer_lag_seconds").set(s.lag_seconds as f64);
            metrics::gauge!("duban_outbox_depth").set(s.outbox_pending as f64);
        }
        Err(e) => tracing::warn!(error = %e, "reading timer statistics for /metrics"),
    }
    (StatusCode::OK, handle.render())
}
