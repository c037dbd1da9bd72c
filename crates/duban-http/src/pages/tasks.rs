//! The secretary's page (我的待办): what the chains of their units ask now, each with the
//! form a signed link would show, sized for a phone. Answers go through
//! `App::answer_task`, the same checks and recorder as the links.

use super::Viewer;
use crate::AppState;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use duban_app::links::LinkAnswer;
use duban_app::tasks::{Task, TaskOutcome};
use minijinja::{Value, context};
use serde::Deserialize;

/// The form of one task; every field optional so that nothing typed gets a bare 422 from
/// the framework.
#[derive(Debug, Default, Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    record: String,
    #[serde(default)]
    problems: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// A form sent back with what was typed and why it was not recorded.
struct Rejected<'a> {
    instance_id: i64,
    message: String,
    form: &'a AnswerForm,
}

fn show(
    state: &AppState,
    viewer: &Viewer,
    tasks: &[Task],
    done: Option<&str>,
    rejected: Option<Rejected<'_>>,
) -> Response {
    let status = if rejected.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let rejected = rejected.map(|r| {
        context! {
            instance_id => r.instance_id,
            message => r.message,
            answer => r.form.answer.clone(),
            on => r.form.on.clone(),
            note => r.form.note.clone(),
            record => r.form.record.clone(),
            problems => r.form.problems.clone(),
        }
    });
    let mut r = viewer.page(
        "pages/tasks.html",
        viewer.lang.text("tasks.title"),
        context! {
            tasks => Value::from(minijinja::value::Serde(tasks)),
            today => state.app.today().to_string(),
            done => done.map(str::to_string),
            rejected,
        },
    );
    *r.status_mut() = status;
    r
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Done>,
) -> Response {
    match state.app.my_tasks(&viewer.actor).await {
        Ok(tasks) => show(&state, &viewer, &tasks, q.done.as_deref(), None),
        Err(e) => viewer.error(&e),
    }
}

pub async fn answer(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(instance_id): Path<i64>,
    Form(f): Form<AnswerForm>,
) -> Response {
    let form = LinkAnswer {
        answer: f.answer.clone(),
        on: Some(f.on.clone()),
        note: f.note.clone(),
        record: f.record.clone(),
        problems: f.problems.clone(),
    };
    match state
        .app
        .answer_task(&viewer.actor, instance_id, form)
        .await
    {
        Ok((task, _)) => {
            let label = task
                .asked
                .iter()
                .find(|a| a.event == f.answer)
                .map(|a| a.label.clone())
                .unwrap_or_default();
            let done = format!("{}：{label}", task.unit_name);
            Redirect::to(&format!("/my?done={}", super::encode(&done))).into_response()
        }
        Err(TaskOutcome::Invalid(_, message)) => match state.app.my_tasks(&viewer.actor).await {
            Ok(tasks) => {
                let message = viewer.lang.pick(&message, &message).to_string();
                show(
                    &state,
                    &viewer,
                    &tasks,
                    None,
                    Some(Rejected {
                        instance_id,
                        message,
                        form: &f,
                    }),
                )
            }
            Err(e) => viewer.error(&e),
        },
        Err(TaskOutcome::Failed(e)) => viewer.error(&e),
    }
}
