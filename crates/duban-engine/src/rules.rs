//! The rules an engine runs by: the workflow files, the official calendar and quiet hours.
//!
//! New instances use the workflows loaded from `workflows/`. Every version an instance was
//! planned with is kept in the database by content hash, so an instance keeps following
//! the version it started with after the file is edited, until it is re-planned explicitly.

use crate::EngineError;
use duban_core::register::Channel;
use duban_store::Store;
use duban_workflow::check::{CheckOptions, CheckReport, check_paths, check_sources};
use duban_workflow::model::{TemplateLoader, TemplateSet, TemplateText, Workflow};
use duban_workflow::{Calendar, QuietHours, WorkflowSet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub struct Rules {
    current: WorkflowSet,
    /// The sources of the current workflows, so an older version can be parsed beside the
    /// workflows it refers to.
    sources: BTreeMap<String, Source>,
    by_hash: RwLock<HashMap<String, Arc<Workflow>>>,
    pub calendar: Calendar,
    pub quiet: QuietHours,
    pub sms_signature: String,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules")
            .field(
                "workflows",
                &self.current.workflows.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A workflow file and the templates it uses, as stored by content hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Source {
    path: String,
    toml: String,
    /// template name → channel (`any`, `sms`, `email`) → (path, text)
    templates: BTreeMap<String, BTreeMap<String, (String, String)>>,
}

struct MapLoader<'a>(&'a Source);

impl TemplateLoader for MapLoader<'_> {
    fn load(
        &self,
        _workflow_id: &str,
        name: &str,
        channel: Option<Channel>,
    ) -> Option<(String, String)> {
        let key = match channel {
            None => "any",
            Some(Channel::Sms) => "sms",
            Some(Channel::Email) => "email",
        };
        self.0.templates.get(name)?.get(key).cloned()
    }

    fn expected_path(&self, workflow_id: &str, name: &str) -> String {
        format!("{workflow_id}/{name}.txt (stored version)")
    }
}

fn source_of(wf: &Workflow) -> Result<Source, EngineError> {
    let toml = std::fs::read_to_string(&wf.path)
        .map_err(|e| EngineError::Data(format!("cannot read {}: {e}", wf.path)))?;
    let mut templates = BTreeMap::new();
    for (name, set) in &wf.templates {
        let mut by_channel = BTreeMap::new();
        let TemplateSet { any, sms, email } = set;
        for (key, t) in [("any", any), ("sms", sms), ("email", email)] {
            if let Some(TemplateText { path, text }) = t {
                by_channel.insert(key.to_string(), (path.clone(), text.clone()));
            }
        }
        templates.insert(name.clone(), by_channel);
    }
    Ok(Source {
        path: wf.path.clone(),
        toml,
        templates,
    })
}

/// The `id = "…"` of a workflow file, read without parsing the rest.
fn stored_id(toml_text: &str) -> Option<String> {
    toml_text
        .parse::<toml::Table>()
        .ok()?
        .get("id")?
        .as_str()
        .map(str::to_string)
}

impl Rules {
    /// Loads and checks every workflow under `workflows` and the calendar under `calendar`.
    /// Any error in a workflow file stops the engine from starting, with every finding.
    pub fn load(
        workflows: &Path,
        calendar: &Path,
        quiet: QuietHours,
        sms_signature: &str,
    ) -> Result<Rules, EngineError> {
        let calendar = Calendar::load_dir(calendar).map_err(|diags| {
            EngineError::Config(
                diags
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        let opts = CheckOptions {
            sms_signature: sms_signature.to_string(),
            recordable: Some(crate::answer::recordable()),
        };
        let report = check_paths(&[PathBuf::from(workflows)], &opts);
        if report.has_errors() {
            let text: Vec<String> = report
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.to_string())
                .collect();
            return Err(EngineError::Config(format!(
                "the workflow files have {} error(s); run `duban workflows check`:\n{}",
                report.errors(),
                text.join("\n")
            )));
        }
        Ok(Self::from_parts(report.set, calendar, quiet, sms_signature))
    }

    /// Rules from workflows and a calendar already in hand.
    pub fn from_parts(
        set: WorkflowSet,
        calendar: Calendar,
        quiet: QuietHours,
        sms_signature: &str,
    ) -> Rules {
        let by_hash = set
            .iter()
            .map(|w| (w.content_hash.clone(), Arc::new(w.clone())))
            .collect();
        let sources = set
            .iter()
            .filter_map(|w| source_of(w).ok().map(|s| (w.id.clone(), s)))
            .collect();
        Rules {
            current: set,
            sources,
            by_hash: RwLock::new(by_hash),
            calendar,
            quiet,
            sms_signature: sms_signature.to_string(),
        }
    }

    /// The workflows new instances use.
    pub fn current(&self) -> &WorkflowSet {
        &self.current
    }

    /// Workflows that start by themselves for every subject of their kind
    /// ([`WorkflowSet::self_starting`]).
    pub fn self_starting(&self) -> impl Iterator<Item = &Workflow> {
        self.current.self_starting()
    }

    /// Saves the source of every current workflow, so instances planned with it can be
    /// fired with the same version later.
    pub async fn persist(
        &self,
        store: &Store,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), EngineError> {
        let tx = store.begin_write().await?;
        for wf in self.current.iter() {
            let source = match self.sources.get(&wf.id) {
                Some(s) => s.clone(),
                None => source_of(wf)?,
            };
            let source =
                serde_json::to_string(&source).map_err(|e| EngineError::Data(e.to_string()))?;
            tx.save_workflow_version(&wf.content_hash, &wf.id, wf.version as i32, &source, now)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Checks `candidate` as one set with the current workflows other than `id`.
    fn check_beside(&self, candidate: &Source, id: Option<&str>) -> CheckReport {
        let loaders: Vec<MapLoader> = std::iter::once(candidate)
            .chain(
                self.sources
                    .iter()
                    .filter(|(other, _)| Some(other.as_str()) != id)
                    .map(|(_, s)| s),
            )
            .map(MapLoader)
            .collect();
        let inputs = loaders.iter().map(|l| {
            (
                l.0.path.as_str(),
                l.0.toml.as_str(),
                l as &dyn TemplateLoader,
            )
        });
        let opts = CheckOptions {
            sms_signature: self.sms_signature.clone(),
            recordable: Some(crate::answer::recordable()),
        };
        check_sources(inputs, &opts)
    }

    /// Checks a workflow file an administrator proposes, beside the current workflows (which
    /// it may start or be started by) and with the templates of the current workflow of the
    /// same id: every finding, located in the file. Nothing changes.
    pub fn check_candidate(&self, file_name: &str, toml_text: &str) -> CheckReport {
        let id = stored_id(toml_text);
        let own = id
            .as_ref()
            .and_then(|id| self.sources.get(id))
            .map(|s| Source {
                path: file_name.to_string(),
                toml: toml_text.to_string(),
                templates: s.templates.clone(),
            });
        let candidate = own.unwrap_or_else(|| Source {
            path: file_name.to_string(),
            toml: toml_text.to_string(),
            templates: BTreeMap::new(),
        });
        let mut report = self.check_beside(&candidate, id.as_deref());
        // Findings in the other files are the current set's, already clean.
        report.diagnostics.retain(|d| d.file == file_name);
        report
    }

    /// The workflow with this content hash: a current one, or a stored older version.
    pub async fn by_hash(&self, store: &Store, hash: &str) -> Result<Arc<Workflow>, EngineError> {
        if let Some(w) = self
            .by_hash
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
        {
            return Ok(w.clone());
        }
        let text = store
            .workflow_source(hash)
            .await?
            .ok_or_else(|| EngineError::Data(format!("no stored workflow version {hash}")))?;
        let source: Source =
            serde_json::from_str(&text).map_err(|e| EngineError::Data(e.to_string()))?;
        // Parse the old version beside the other current workflows, which it may start.
        let id = stored_id(&source.toml);
        let report = self.check_beside(&source, id.as_deref());
        let Some(wf) = report.set.iter().find(|w| w.content_hash == hash).cloned() else {
            let errors: Vec<String> = report
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.to_string())
                .collect();
            return Err(EngineError::Data(format!(
                "stored workflow version {hash} no longer parses beside the current files: {}",
                errors.join("; ")
            )));
        };
        let wf = Arc::new(wf);
        self.by_hash
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash.to_string(), wf.clone());
        Ok(wf)
    }
}
