//! Tests over the shipped files: the calendar in config/calendar, the chains in workflows/,
//! and the broken fixtures in tests/fixtures/workflows/broken.

use crate::calendar::Calendar;
use crate::check::{CheckOptions, CheckReport, check_paths};
use std::path::{Path, PathBuf};

mod broken;
mod chains;
mod messages;
mod properties;

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn calendar() -> Calendar {
    Calendar::load_dir(&repo().join("config/calendar")).expect("shipped calendar loads")
}

pub(crate) fn shipped() -> CheckReport {
    check_paths(&[repo().join("workflows")], &CheckOptions::default())
}

/// workflows/README.md is the administrators' reference: it must name every key, role, event,
/// variable and action the checker accepts.
#[test]
fn the_readme_documents_every_name() {
    use crate::subject::{COMMON_VARIABLES, Role, SubjectKind};
    let readme = std::fs::read_to_string(repo().join("workflows/README.md")).unwrap();
    let mut missing = Vec::new();
    let mut need = |name: &str| {
        let forms = [
            format!("`{name}`"),
            format!("{name} ="),
            format!("[{name}]"),
            format!("[[{name}]]"),
        ];
        if !forms.iter().any(|f| readme.contains(f)) {
            missing.push(name.to_string());
        }
    };
    for k in crate::model::TOP_KEYS
        .iter()
        .chain(crate::model::STEP_KEYS)
        .chain(crate::model::REPEAT_KEYS)
        .chain(crate::model::ON_KEYS)
        .chain(crate::model::ANCHOR_KEYS)
        .chain(crate::model::DEADLINE_KEYS)
        .chain(crate::model::ACTIONS)
    {
        need(k);
    }
    for r in Role::ALL {
        need(r.as_str());
    }
    for kind in SubjectKind::ALL {
        need(kind.as_str());
        for e in kind.events() {
            need(e.name);
        }
        for v in kind.variables() {
            need(v.name);
        }
    }
    for v in COMMON_VARIABLES {
        need(v.name);
    }
    assert!(
        missing.is_empty(),
        "not in workflows/README.md: {missing:?}"
    );
}
