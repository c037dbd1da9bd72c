//! `workflows check`: reads workflow files (or directories of them), validates each file and
//! its templates, then the references between files, and reports every finding located.

use crate::diag::{Diagnostic, Severity, Source, file_diag};
use crate::model::{FsTemplates, Parsed, TemplateLoader, Workflow, parse_workflow};
use crate::subject::SubjectKind;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Settings that shape the checks.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The SMS signature the gateway prepends, counted in the 70-character segment.
    pub sms_signature: String,
    /// The events the application has a recorder for. A condition that waits on any other
    /// event is an error. `None` skips that check (the language alone, without the engine).
    pub recordable: Option<Recordable>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            sms_signature: "【组织部】".to_string(),
            recordable: None,
        }
    }
}

/// The `(subject kind, event)` pairs people can record: the engine's recorders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recordable(BTreeSet<(SubjectKind, String)>);

impl Recordable {
    pub fn new<'a>(pairs: impl IntoIterator<Item = (SubjectKind, &'a str)>) -> Recordable {
        Recordable(pairs.into_iter().map(|(k, e)| (k, e.to_string())).collect())
    }

    pub fn contains(&self, kind: SubjectKind, event: &str) -> bool {
        self.0.contains(&(kind, event.to_string()))
    }

    pub fn events_of(&self, kind: SubjectKind) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, e)| e.as_str())
            .collect()
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

    /// Workflows that start by themselves for every subject of their kind: all but those
    /// that another workflow of the same kind starts from one of its events (the follow-up
    /// review after a close-out, the result report after an election). A workflow started
    /// for subjects of another kind (rectification items from an interview's record) still
    /// starts for items opened any other way.
    pub fn self_starting(&self) -> impl Iterator<Item = &Workflow> {
        let follow_ons: BTreeSet<&str> = self
            .workflows
            .values()
            .flat_map(|w| {
                w.reactions.iter().filter_map(move |r| {
                    let produces = w.subject.event(&r.event).map(|e| e.produces);
                    (produces == Some(w.subject))
                        .then_some(r.start.as_deref())
                        .flatten()
                })
            })
            .collect();
        self.workflows
            .values()
            .filter(move |w| !follow_ons.contains(w.id.as_str()))
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
        for start in &p.starts {
            let (target, produces) = (&start.target, &start.produces);
            let span: Range<usize> = start.span.clone();
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
    check_start_graph(&mut parsed, opts.recordable.as_ref());
    for (_, _, p) in parsed {
        report.diagnostics.extend(p.diagnostics);
        if let Some(w) = p.workflow {
            report.set.workflows.insert(w.id.clone(), w);
        }
    }
    report
}

/// Every workflow must be startable: by itself (no workflow of its own kind starts it) or by
/// a startable workflow's event. Workflows of one kind that only start each other form a
/// cycle that nothing enters; each cycle is one finding, at the `start` that closes it.
/// The files and `start` spans walked from a workflow.
type StartPath = Vec<(usize, Range<usize>)>;

fn check_start_graph(parsed: &mut [(String, String, Parsed)], recordable: Option<&Recordable>) {
    // Only files whose own checks passed take part; the others are reported already.
    let index: BTreeMap<String, usize> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, (_, _, p))| p.workflow.as_ref().map(|w| (w.id.clone(), i)))
        .collect();
    // (from file, target id, span of the `start`, same kind, event recordable)
    let mut edges: Vec<(usize, String, Range<usize>, bool, bool)> = Vec::new();
    for (i, (_, _, p)) in parsed.iter().enumerate() {
        let Some(w) = &p.workflow else { continue };
        for s in &p.starts {
            if index.contains_key(&s.target) {
                let live = recordable.is_none_or(|r| r.contains(w.subject, &s.event));
                edges.push((
                    i,
                    s.target.clone(),
                    s.span.clone(),
                    s.produces == w.subject,
                    live,
                ));
            }
        }
    }
    let follow_on: BTreeSet<&str> = edges.iter().filter(|e| e.3).map(|e| e.1.as_str()).collect();
    let mut reached: BTreeSet<usize> = index
        .iter()
        .filter(|(id, _)| !follow_on.contains(id.as_str()))
        .map(|(_, &i)| i)
        .collect();
    loop {
        let before = reached.len();
        for (from, target, _, _, live) in &edges {
            if *live && reached.contains(from) {
                reached.insert(index[target]);
            }
        }
        if reached.len() == before {
            break;
        }
    }
    let unreached: BTreeSet<usize> = index
        .values()
        .copied()
        .filter(|i| !reached.contains(i))
        .collect();
    if unreached.is_empty() {
        return;
    }
    // Cycles among the unreached: follow same-kind starts from each unreached file.
    let id_of = |i: usize| {
        parsed[i]
            .2
            .workflow
            .as_ref()
            .map(|w| w.id.clone())
            .unwrap_or_default()
    };
    let mut in_cycle: BTreeSet<usize> = BTreeSet::new();
    let mut findings: Vec<(usize, Range<usize>, String, String, &'static str)> = Vec::new();
    for &start in &unreached {
        if in_cycle.contains(&start) {
            continue;
        }
        // Depth-first search for a path of same-kind starts back to `start`.
        let mut stack: Vec<(usize, StartPath)> = vec![(start, Vec::new())];
        let mut seen = BTreeSet::new();
        let mut found = None;
        while let Some((node, path)) = stack.pop() {
            for (from, target, span, same, _) in &edges {
                if *from != node || !*same {
                    continue;
                }
                let t = index[target];
                let mut next = path.clone();
                next.push((node, span.clone()));
                if t == start {
                    found = Some(next);
                    break;
                }
                if unreached.contains(&t) && seen.insert(t) {
                    stack.push((t, next));
                }
            }
            if found.is_some() {
                break;
            }
        }
        if let Some(path) = found {
            let names: Vec<String> = path
                .iter()
                .map(|(i, _)| id_of(*i))
                .chain(std::iter::once(id_of(start)))
                .collect();
            in_cycle.extend(path.iter().map(|(i, _)| *i));
            let (last, span) = path.last().cloned().unwrap_or((start, 0..0));
            findings.push((
                last,
                span,
                format!("start cycle: {}; nothing else starts these workflows, so none of them ever runs", names.join(" → ")),
                "let one of them start by itself: remove the `start` that names it from the other workflow".to_string(),
                "start-cycle",
            ));
        }
    }
    for &i in &unreached {
        if in_cycle.contains(&i) {
            continue;
        }
        let id = id_of(i);
        let starters: Vec<String> = edges
            .iter()
            .filter(|e| e.1 == id)
            .map(|e| {
                let event = parsed[e.0]
                    .2
                    .starts
                    .iter()
                    .find(|s| s.span == e.2)
                    .map(|s| s.event.clone())
                    .unwrap_or_default();
                if e.4 {
                    format!("`{}`, which never runs itself", id_of(e.0))
                } else {
                    format!("`{}` on `{event}`, which no one can record", id_of(e.0))
                }
            })
            .collect();
        let span = parsed[i].2.id_span.clone();
        findings.push((
            i,
            span,
            format!(
                "nothing starts workflow `{id}`: it is started only by {}",
                starters.join(" and ")
            ),
            "make the starting workflow runnable, or remove the `start` that names this one so it starts for every subject of its kind".to_string(),
            "unreachable-workflow",
        ));
    }
    for (i, span, msg, help, code) in findings {
        let (path, text, p) = &mut parsed[i];
        let src = Source::new(path, text);
        p.diagnostics.push(src.error(code, span, msg, help));
    }
    for i in unreached {
        parsed[i].2.workflow = None;
    }
}
