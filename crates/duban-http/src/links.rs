//! The pages a secretary opens from a reminder's link: `GET /l/<token>` shows what is asked
//! and changes nothing (mail scanners open links); `POST` answers, once. No script: they
//! work in a phone's browser and inside WeChat's.

use crate::AppState;
use crate::auth::ClientOrigin;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use duban_app::links::{LinkAnswer, LinkOutcome, LinkProblem, LinkView};

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/l/{token}", get(show).post(answer))
}

fn env() -> &'static minijinja::Environment<'static> {
    static ENV: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        env.add_template("link.html", include_str!("../templates/link.html"))
            .expect("the link page template parses");
        env
    })
}

fn zh_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .format("%Y年%-m月%-d日")
        .to_string()
}

fn page(status: StatusCode, ctx: minijinja::Value) -> Response {
    match env().get_template("link.html").and_then(|t| t.render(ctx)) {
        Ok(html) => {
            let mut r = (status, Html(html)).into_response();
            r.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            r.headers_mut().insert(
                "referrer-policy",
                axum::http::HeaderValue::from_static("no-referrer"),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering the link page");
            (StatusCode::INTERNAL_SERVER_ERROR, "页面暂时无法显示").into_response()
        }
    }
}

fn problem_page(p: &LinkProblem, contact: &str) -> Response {
    let status = match p {
        LinkProblem::Invalid => StatusCode::BAD_REQUEST,
        LinkProblem::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        LinkProblem::Expired { .. } | LinkProblem::Used { .. } | LinkProblem::Gone => {
            StatusCode::GONE
        }
    };
    page(
        status,
        minijinja::context! { heading => "链接无法使用", problem => p.zh(), contact },
    )
}

fn form_page(state: &AppState, view: &LinkView, error: Option<String>) -> Response {
    page(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        minijinja::context! {
            heading => "督办事项确认",
            view => minijinja::Value::from(minijinja::value::Serde(view)),
            expires => zh_date(view.expires),
            today => state.app.today().to_string(),
            error,
        },
    )
}

async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.app.open_link(&token).await {
        Ok(view) => form_page(&state, &view, None),
        Err((p, contact)) => problem_page(&p, &contact),
    }
}

async fn answer(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientOrigin(origin): ClientOrigin,
    Form(form): Form<LinkAnswer>,
) -> Response {
    match state.app.answer_link(&token, form, &origin).await {
        Ok((view, done)) => {
            let label = view
                .asked
                .iter()
                .find(|a| a.event == done.event)
                .map(|a| a.label.clone())
                .unwrap_or(done.event.clone());
            page(
                StatusCode::OK,
                minijinja::context! {
                    heading => "确认成功",
                    done => label,
                    view => minijinja::Value::from(minijinja::value::Serde(&view)),
                },
            )
        }
        Err(LinkOutcome::Unusable(p, contact)) => problem_page(&p, &contact),
        Err(LinkOutcome::Invalid(view, message)) => form_page(&state, &view, Some(message)),
        Err(LinkOutcome::Failed(e)) => {
            tracing::error!(error = %e, "answering through a link");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                minijinja::context! {
                    heading => "暂时无法提交",
                    problem => "系统暂时无法记录您的确认，请稍后再试；此链接仍然有效。",
                    contact => state.app.engine.config.org_department.clone(),
                },
            )
        }
    }
}
