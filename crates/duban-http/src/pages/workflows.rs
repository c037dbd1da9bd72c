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

/// What the simulation form sends, as text so that nothing typed gets a bare 400.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct SimulateParams {
    /// A unit's code, or a subject key (`rectification:3`).
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    /// Completion events, `NAME@DATE`, separated by commas or spaces.
    #[serde(default)]
    events: Option<String>,
}

/// How an entry of a simulated timeline is drawn: the CSS class and legend's key.
fn sim_class(e: &duban_app::workflows::Entry) -> &'static str {
    use duban_app::workflows::EntryKind;
    match e.kind {
        EntryKind::Step if e.escalation => "escalation",
        EntryKind::Step => "reminder",
        EntryKind::Skipped => "skipped",
        EntryKind::Event => "event",
        EntryKind::Start => "start",
    }
}

/// The field of the form an error concerns, by its JSON pointer.
fn field_of(e: &duban_app::AppError) -> &'static str {
    match e {
        duban_app::AppError::Invalid {
            pointer: Some(p), ..
        } if p.starts_with("/events") => "events",
        duban_app::AppError::Invalid {
            pointer: Some(p), ..
        } if p == "/to" => "to",
        duban_app::AppError::Invalid {
            pointer: Some(p), ..
        } if p == "/from" => "from",
        _ => "subject",
    }
}

/// `/workflows/{id}/simulate`: pick a subject of the register and a window, and see the
/// reminders and escalations the workflow would send, drawn along the calendar and listed
/// with their recipients, channels and texts. Nothing is stored.
pub async fn simulate(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::extract::Query(p): axum::extract::Query<SimulateParams>,
) -> Response {
    let workflows = match state.app.workflows(&viewer.actor).await {
        Ok(w) => w,
        Err(e) => return viewer.error(&e),
    };
    if !viewer
        .actor
        .role
        .may(duban_app::Permission::ManageWorkflows)
    {
        return viewer.error(&duban_app::AppError::Forbidden(
            "只有管理员可以模拟流程 (only administrators simulate workflows)".into(),
        ));
    }
    let Some(workflow) = workflows.into_iter().find(|w| w.id == id) else {
        return viewer.error(&duban_app::AppError::NotFound(format!(
            "没有工作流 {id} (no workflow `{id}`)"
        )));
    };
    let today = state.app.today();
    let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_string();
    let (subject, events) = (text(&p.subject), text(&p.events));
    let from = Some(text(&p.from)).filter(|s| !s.is_empty());
    let to = Some(text(&p.to)).filter(|s| !s.is_empty());
    let form = context! {
        subject => subject.clone(),
        events => events.clone(),
        from => from.clone().unwrap_or_else(|| today.to_string()),
        to => to.clone().unwrap_or_else(|| (today + chrono::Duration::days(365)).to_string()),
    };
    let mut errors = std::collections::BTreeMap::new();
    let mut timeline = None;
    if !subject.is_empty() {
        let mut bad_date = |field: &'static str, value: Option<String>, default| match value {
            None => Some(default),
            Some(v) => duban_core::register::parse_date(&v).or_else(|| {
                errors.insert(field, viewer.lang.text("simulate.bad_date").to_string());
                None
            }),
        };
        let from_day = bad_date("from", from, today);
        let to_day = bad_date("to", to, today + chrono::Duration::days(365));
        if let (Some(from), Some(to)) = (from_day, to_day) {
            let (unit, subject_key) = if subject.contains(':') {
                (None, Some(subject.clone()))
            } else {
                (Some(subject.clone()), None)
            };
            let req = duban_app::workflows::SimulateRequest {
                workflow: workflow.id.clone(),
                unit,
                subject_key,
                subject: None,
                from,
                to,
                events: events
                    .split([',', '，', ' '])
                    .filter(|e| !e.trim().is_empty())
                    .map(|e| e.trim().to_string())
                    .collect(),
                reason: None,
            };
            match state.app.simulate_workflow(&viewer.actor, req).await {
                Ok(t) => timeline = Some((t, from, to)),
                Err(
                    e @ (duban_app::AppError::Invalid { .. } | duban_app::AppError::NotFound(_)),
                ) => {
                    let message = e.to_string();
                    errors.insert(
                        field_of(&e),
                        viewer.lang.pick(&message, &message).to_string(),
                    );
                }
                Err(e) => return viewer.error(&e),
            }
        }
    }
    let (strip, entries) = match &timeline {
        Some((t, from, to)) => {
            let at = |d: chrono::NaiveDate| {
                d.and_time(chrono::NaiveTime::MIN)
                    .and_local_timezone(super::i18n::beijing())
                    .single()
                    .map(|t| t.with_timezone(&chrono::Utc))
            };
            let bounds = at(*from).zip(at(*to + chrono::Duration::days(1)));
            let strip = bounds.map(|bounds| {
                super::strip::Strip::new(
                    t.entries
                        .iter()
                        .map(|e| (e.at, sim_class(e), e.title.clone())),
                    bounds,
                    state.app.now(),
                )
            });
            let entries: Vec<Value> = t
                .entries
                .iter()
                .map(|e| {
                    context! {
                        class => sim_class(e),
                        entry => Value::from(minijinja::value::Serde(e)),
                    }
                })
                .collect();
            (strip, entries)
        }
        None => (None, Vec::new()),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let title = format!("{}：{}", viewer.lang.text("simulate.title"), workflow.name);
    let mut r = viewer.page(
        "pages/simulate.html",
        &title,
        context! {
            workflow => Value::from(minijinja::value::Serde(&workflow)),
            form,
            errors,
            simulated => timeline.is_some(),
            warnings => timeline.as_ref().map(|(t, _, _)| if viewer.lang == super::i18n::Lang::Zh { t.warnings_zh.clone() } else { t.warnings.clone() }).unwrap_or_default(),
            strip => Value::from(minijinja::value::Serde(&strip)),
            entries,
        },
    );
    *r.status_mut() = status;
    r
}
