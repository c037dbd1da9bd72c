//! duban's HTTP surface. [`router`] builds the whole application from an [`AppState`], so
//! tests drive it with `router(state).oneshot(request)` without opening a socket.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use duban_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use tower_http::trace::TraceLayer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    store: Store,
    metrics: Option<PrometheusHandle>,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            metrics: None,
        }
    }

    /// Serves `/metrics` from this recorder (installed once per process by the binary).
    pub fn with_metrics(mut self, handle: PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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
    let database = state.store.backend().as_str();
    let version = env!("CARGO_PKG_VERSION");
    let result = async {
        state.store.ping().await?;
        state.store.schema_version().await
    }
    .await;
    match result {
        Ok(schema_version) => (
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
                    database,
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
    match state.store.timer_stats(chrono::Utc::now()).await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    #[tokio::test]
    async fn healthz_names_the_backend_and_the_schema_version() {
        let store = Store::connect("sqlite::memory:", &Default::default())
            .await
            .unwrap();
        store.migrate_up(None).await.unwrap();
        let response = router(AppState::new(store))
            .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["status"], "ok");
        assert_eq!(v["database"], "sqlite");
        assert!(
            v["schema_version"].as_str().unwrap().starts_with("m2026"),
            "{v}"
        );
    }
}
