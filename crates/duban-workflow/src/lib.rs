//! Workflow files for duban: the language administrators write reminder-and-escalation chains
//! in, the checker that keeps them from making mistakes, the official working-day calendar,
//! quiet hours, and the pure planner that turns a workflow and a subject into a timeline.
//!
//! Why it is its own crate: planning is the rule that every timer in the system comes from,
//! so it is kept pure — no database, no network, no clock (time and "now" are passed in) —
//! and property-tested. The engine stores what [`plan::plan`] returns as timers and calls it
//! again after a completion event; the CLI drives [`check`] and [`simulate`].
//!
//! - [`calendar`]: statutory holidays and 调休 working days, one data file per year.
//! - [`quiet`]: when each channel may deliver.
//! - [`offset`]: `-6mo`, `+5wd`, … and their arithmetic (months clamp to month end).
//! - [`subject`]: subject kinds, roles, events and the template variables each kind offers.
//! - [`model`]: the file format and its validated model; [`check`]: the checker.
//! - [`plan`]: the planner; [`simulate`]: timelines with rendered messages; [`render`]:
//!   templates; [`schema`]: the JSON Schema for editors.
//!
//! The format itself is documented for administrators in `workflows/README.md`.

pub mod calendar;
pub mod check;
pub mod diag;
pub mod model;
pub mod offset;
pub mod plan;
pub mod quiet;
pub mod render;
pub mod schema;
pub mod simulate;
pub mod subject;

pub use calendar::Calendar;
pub use check::{CheckOptions, CheckReport, WorkflowSet, check_paths};
pub use diag::{Diagnostic, Severity};
pub use model::Workflow;
pub use plan::{DueStep, Event, Plan, PlanContext, PlanError, Window, apply_event, plan};
pub use quiet::QuietHours;
pub use simulate::{SimOptions, Timeline, simulate};
pub use subject::{Role, Subject, SubjectKind};

#[cfg(test)]
mod tests;
