//! Tests over the shipped files: the calendar in config/calendar, the chains in workflows/,
//! and the broken fixtures in tests/fixtures/workflows/broken.

use crate::calendar::Calendar;
use crate::check::{CheckOptions, CheckReport, check_paths};
use std::path::{Path, PathBuf};

mod broken;
mod chains;
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
