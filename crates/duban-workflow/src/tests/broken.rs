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
