//! Every file in tests/fixtures/workflows/broken holds one mistake; `check` must report exactly
//! one finding for it, located and with a hint. The text is snapshot-tested.

use super::*;
use crate::diag::render_text;

fn fixtures() -> Vec<PathBuf> {
    let dir = repo().join("tests/fixtures/workflows/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn each_broken_file_gets_one_precise_finding() {
    let files = fixtures();
    assert!(files.len() >= 20, "{} fixtures", files.len());
    let prefix = format!("{}/", repo().display());
    let mut codes = Vec::new();
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let report = check_paths(std::slice::from_ref(&file), &CheckOptions::default());
        let text = render_text(&report.diagnostics).replace(&prefix, "");
        assert_eq!(report.diagnostics.len(), 1, "{name}:\n{text}");
        let d = &report.diagnostics[0];
        assert!(d.line >= 1 && d.column >= 1, "{name}");
        assert!(
            d.help.as_deref().is_some_and(|h| !h.is_empty()),
            "{name} has no hint"
        );
        assert!(
            d.source_line.is_some() || d.code == "missing-template",
            "{name} points nowhere"
        );
        // Only the SMS length is a warning; everything else must stop the file.
        assert_eq!(d.is_error(), !name.contains("sms_too_long"), "{name}");
        assert!(report.set.workflows.is_empty() || !d.is_error(), "{name}");
        codes.push(d.code);
        insta::assert_snapshot!(format!("broken_{name}"), text);
    }
    codes.sort();
    codes.dedup();
    assert!(
        codes.len() >= 20,
        "only {} distinct kinds of finding: {codes:?}",
        codes.len()
    );
}

#[test]
fn json_output_carries_the_location() {
    let file = repo().join("tests/fixtures/workflows/broken/03_unknown_step_key.toml");
    let report = check_paths(&[file], &CheckOptions::default());
    let json = report.to_json();
    assert_eq!(json["errors"], 1);
    let d = &json["diagnostics"][0];
    assert_eq!(d["code"], "unknown-key");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["line"], 13);
    assert_eq!(d["column"], 1);
    assert!(d["help"].as_str().unwrap().contains("offset"));
}

/// Each directory in tests/fixtures/workflows/sets is a set of files with one mistake between
/// them (a start cycle, a workflow nothing starts, a condition nobody can answer), checked
/// with recorders for every event but `review_passed`.
#[test]
fn each_broken_set_gets_one_precise_finding() {
    let dir = repo().join("tests/fixtures/workflows/sets");
    let mut sets: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    sets.sort();
    assert_eq!(sets.len(), 3, "{sets:?}");
    let recordable = crate::check::Recordable::new(
        crate::subject::SubjectKind::ALL
            .iter()
            .flat_map(|k| k.events().iter().map(move |e| (*k, e.name)))
            .filter(|(_, e)| *e != "review_passed"),
    );
    let opts = CheckOptions {
        recordable: Some(recordable),
        ..CheckOptions::default()
    };
    let prefix = format!("{}/", repo().display());
    for set in sets {
        let name = set.file_name().unwrap().to_string_lossy().to_string();
        let report = check_paths(std::slice::from_ref(&set), &opts);
        let text = render_text(&report.diagnostics).replace(&prefix, "");
        assert_eq!(report.diagnostics.len(), 1, "{name}:\n{text}");
        let d = &report.diagnostics[0];
        assert!(d.is_error(), "{name}");
        assert!(
            d.line >= 1 && d.column >= 1 && d.source_line.is_some(),
            "{name}: {text}"
        );
        let expected = match name.as_str() {
            "start_cycle" => "start-cycle",
            "unreachable" => "unreachable-workflow",
            "unrecordable_event" => "unrecordable-event",
            other => panic!("unexpected set {other}"),
        };
        assert_eq!(d.code, expected, "{name}");
        assert!(
            report.set.workflows.len() < report.files,
            "{name}: a broken workflow was kept"
        );
        insta::assert_snapshot!(format!("set_{name}"), text);
    }
}

#[test]
fn the_shipped_workflows_all_start_and_wait_only_on_answerable_events() {
    let recordable = crate::check::Recordable::new(
        crate::subject::SubjectKind::ALL
            .iter()
            .flat_map(|k| k.events().iter().map(move |e| (*k, e.name))),
    );
    let opts = CheckOptions {
        recordable: Some(recordable),
        ..CheckOptions::default()
    };
    let report = check_paths(&[repo().join("workflows")], &opts);
    assert!(!report.has_errors(), "{}", render_text(&report.diagnostics));
    let starting: Vec<&str> = report.set.self_starting().map(|w| w.id.as_str()).collect();
    for id in ["term_expiry", "rectification", "interview", "theme_day"] {
        assert!(
            starting.contains(&id),
            "{id} does not start by itself: {starting:?}"
        );
    }
    for id in ["post_election_report", "rectification_review"] {
        assert!(
            !starting.contains(&id),
            "{id} should be started by its parent"
        );
    }
}
