//! `workflows check`: reads workflow files (or directories of them), validates each file and
//! its templates, then the references between files, and reports every finding located.

use crate::diag::{Diagnostic, Severity, Source, file_diag};
use crate::model::{FsTemplates, Parsed, TemplateLoader, Workflow, parse_workflow};
use crate::subject::SubjectKind;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Settings that shape the checks.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The SMS signature the gateway prepends, counted in the 70-character segment.
    pub sms_signature: String,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            sms_signature: "【组织部】".to_string(),
        }
    }
}

/// Validated workflows by id.
#[derive(Debug, Clone, Default)]
pub struct WorkflowSet {
    pub workflows: BTreeMap<String, Workflow>,
}

impl WorkflowSet {
    pub fn get(&self, id: &str) -> Option<&Workflow> {
        self.workflows.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Workflow> {
        self.workflows.values()
    }
}

/// The outcome of a check: the workflows without errors and every finding.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub set: WorkflowSet,
    pub diagnostics: Vec<Diagnostic>,
    /// Files read.
    pub files: usize,
}

impl CheckReport {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// The JSON form for tools: `{"files": n, "errors": n, "warnings": n, "diagnostics": [...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "files": self.files,
            "errors": self.errors(),
            "warnings": self.diagnostics.len() - self.errors(),
            "workflows": self.set.iter().map(|w| serde_json::json!({
                "id": w.id, "version": w.version, "content_hash": w.content_hash, "path": w.path,
            })).collect::<Vec<_>>(),
            "diagnostics": self.diagnostics,
        })
    }
}

/// Expands directories into their `*.toml` files (not recursive: subdirectories hold
/// templates), sorted.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Box<Diagnostic>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|e| {
                Box::new(file_diag(
                    Severity::Error,
                    "read",
                    &p.display().to_string(),
                    format!("cannot read the directory: {e}"),
                    "check the path",
                ))
            })?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            out.extend(files);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(Box::new(file_diag(
                Severity::Error,
                "not-found",
                &p.display().to_string(),
                "no such file or directory",
                "give a workflow file (.toml) or a directory of them, e.g. workflows/",
            )));
        }
    }
    Ok(out)
}

/// Checks files and directories on disk; templates are read beside each file.
pub fn check_paths(paths: &[PathBuf], opts: &CheckOptions) -> CheckReport {
    let files = match expand_paths(paths) {
        Ok(f) => f,
        Err(d) => {
            return CheckReport {
                diagnostics: vec![*d],
                ..Default::default()
            };
        }
    };
    let mut sources = Vec::new();
    let mut diags = Vec::new();
    for f in &files {
        match std::fs::read_to_string(f) {
            Ok(text) => sources.push((f.clone(), text)),
            Err(e) => diags.push(file_diag(
                Severity::Error,
                "read",
                &f.display().to_string(),
                format!("cannot read the file: {e}"),
                "workflow files are UTF-8 text",
            )),
        }
    }
    let inputs: Vec<(String, &str, FsTemplates)> = sources
        .iter()
        .map(|(p, t)| {
            let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
            (p.display().to_string(), t.as_str(), FsTemplates { dir })
        })
        .collect();
    let mut report = check_sources(
        inputs
            .iter()
            .map(|(p, t, l)| (p.as_str(), *t, l as &dyn TemplateLoader)),
        opts,
    );
    diags.append(&mut report.diagnostics);
    report.diagnostics = diags;
    report
}

/// Checks `(path, text, template loader)` triples as one set.
pub fn check_sources<'a>(
    inputs: impl IntoIterator<Item = (&'a str, &'a str, &'a dyn TemplateLoader)>,
    opts: &CheckOptions,
) -> CheckReport {
    let mut report = CheckReport::default();
    let mut parsed: Vec<(String, String, Parsed)> = Vec::new();
    for (path, text, loader) in inputs {
        report.files += 1;
        let p = parse_workflow(path, text, loader, opts);
        parsed.push((path.to_string(), text.to_string(), p));
    }
    // Ids must be unique across the set.
    let mut ids: BTreeMap<String, (String, SubjectKind)> = BTreeMap::new();
    for (path, text, p) in &mut parsed {
        let Some(w) = &p.workflow else { continue };
        if let Some((other, _)) = ids.get(&w.id) {
            let src = Source::new(path, text);
            p.diagnostics.push(src.error(
                "duplicate-workflow",
                p.id_span.clone(),
                format!("workflow id `{}` is also used by {other}", w.id),
                "every workflow needs its own id; rename one of them",
            ));
            p.workflow = None;
        } else {
            ids.insert(w.id.clone(), (path.clone(), w.subject));
        }
    }
    // `start` must name a workflow in the set, for the kind the event produces. Files that
    // failed still declare their id, so a reference to them is not a second error.
    let declared: BTreeMap<String, Option<SubjectKind>> = parsed
        .iter()
        .filter_map(|(_, _, p)| p.declared.clone())
        .collect();
    for (path, text, p) in &mut parsed {
        let src = Source::new(path, text);
        let mut bad = false;
        for (target, span, produces) in &p.starts {
            let span: Range<usize> = span.clone();
            match declared.get(target) {
                None => {
                    let known: Vec<&str> = declared.keys().map(String::as_str).collect();
                    p.diagnostics.push(src.error(
                        "unknown-workflow",
                        span,
                        format!("`start` names workflow `{target}`, which is not among the files checked"),
                        match crate::diag::did_you_mean(target, known.iter().copied()) {
                            Some(h) => format!("did you mean `{h}`? Check the whole directory so references resolve"),
                            None => format!(
                                "known workflows: {}; check the whole directory so references resolve",
                                known.join(", ")
                            ),
                        },
                    ));
                    bad = true;
                }
                Some(Some(kind)) if kind != produces => {
                    p.diagnostics.push(src.error(
                        "start-kind-mismatch",
                        span,
                        format!("workflow `{target}` runs for `{kind}`, but this event produces a `{produces}`"),
                        format!("start a workflow whose subject is \"{produces}\""),
                    ));
                    bad = true;
                }
                Some(_) if !ids.contains_key(target) => bad = true,
                Some(_) => {}
            }
        }
        if bad {
            p.workflow = None;
        }
    }
    for (_, _, p) in parsed {
        report.diagnostics.extend(p.diagnostics);
        if let Some(w) = p.workflow {
            report.set.workflows.insert(w.id.clone(), w);
        }
    }
    report
}
