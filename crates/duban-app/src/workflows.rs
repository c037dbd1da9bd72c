//! The workflow files as administrators see them: the workflows the engine runs, and a
//! proposed file checked beside them before anyone copies it into `workflows/`.

use crate::{Actor, App, AppError, Permission};
use duban_store::lists::ListFilter;
use serde::Serialize;

/// A workflow the engine runs.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowLine {
    pub id: String,
    pub name: String,
    pub version: u32,
    /// What it follows: `term`, `rectification`, `interview`, `unit`, `member`.
    pub subject: String,
    pub description: Option<String>,
    pub steps: usize,
    /// Starts for every subject of its kind (not only when another workflow starts it).
    pub self_starting: bool,
    /// Its chains still running.
    pub active: u64,
}

/// One finding in a checked file; lines and columns 1-based.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowFinding {
    pub error: bool,
    pub code: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub help: Option<String>,
    /// The line of the file the finding points at.
    pub source_line: Option<String>,
}

/// What checking a proposed file found.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowCheck {
    pub file: String,
    /// The workflow the file defines, when it parses: id, name and steps.
    pub workflow: Option<WorkflowLine>,
    pub findings: Vec<WorkflowFinding>,
}

impl WorkflowCheck {
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.error).count()
    }
}

fn line_of(w: &duban_workflow::model::Workflow, self_starting: bool, active: u64) -> WorkflowLine {
    WorkflowLine {
        id: w.id.clone(),
        name: w.name.clone(),
        version: w.version,
        subject: w.subject.as_str().to_string(),
        description: w.description.clone(),
        steps: w.steps.len(),
        self_starting,
        active,
    }
}

impl App {
    /// The workflows new chains use, with how many of their chains run.
    pub async fn workflows(&self, actor: &Actor) -> Result<Vec<WorkflowLine>, AppError> {
        actor.require(Permission::ReadChains)?;
        let rules = &self.engine.rules;
        let starting: std::collections::HashSet<&str> =
            rules.self_starting().map(|w| w.id.as_str()).collect();
        let mut out = Vec::new();
        for w in rules.current().iter() {
            let f = ListFilter {
                workflow: Some(w.id.clone()),
                status: Some("active".into()),
                scope: actor.list_scope(),
                ..ListFilter::default()
            };
            let active = self.store().count_instances(&f).await?;
            out.push(line_of(w, starting.contains(w.id.as_str()), active));
        }
        Ok(out)
    }

    /// Checks a proposed workflow file beside the running workflows; nothing changes.
    pub async fn check_workflow(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<WorkflowCheck, AppError> {
        actor.require(Permission::ManageWorkflows)?;
        let text = std::str::from_utf8(bytes).map_err(|e| {
            AppError::invalid_at(
                "file",
                format!("工作流文件须为UTF-8编码 (the workflow file is not UTF-8: {e})"),
            )
        })?;
        let name = if file_name.trim().is_empty() {
            "workflow.toml"
        } else {
            file_name.trim()
        };
        let report = self.engine.rules.check_candidate(name, text);
        let workflow = report
            .set
            .iter()
            .find(|w| w.path == name)
            .map(|w| line_of(w, false, 0));
        Ok(WorkflowCheck {
            file: name.to_string(),
            workflow,
            findings: report
                .diagnostics
                .into_iter()
                .map(|d| WorkflowFinding {
                    error: d.is_error(),
                    code: d.code.to_string(),
                    line: d.line,
                    column: d.column,
                    message: d.message,
                    help: d.help,
                    source_line: d.source_line,
                })
                .collect(),
        })
    }
}
