//! The audit log for auditors: reading it by day, and checking its hash chain.

use crate::{Actor, App, AppError, Permission};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

pub use duban_store::audit::{AuditEntry, AuditReport, Finding, PAGE};

/// Midnight at the start of a Beijing day, as UTC.
fn beijing_midnight(d: NaiveDate) -> Result<DateTime<Utc>, AppError> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .expect("UTC+8")
        .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| AppError::invalid(format!("{d} has no midnight in Beijing")))
}

impl App {
    /// Walks the audit chain and names every entry where it breaks.
    pub async fn verify_audit(&self, actor: &Actor) -> Result<AuditReport, AppError> {
        actor.require(Permission::ReadAudit)?;
        Ok(self.store().verify_audit().await?)
    }

    /// Entries of the Beijing days `from` to `to` (both included), after `after_seq`, at
    /// most `limit`.
    pub async fn audit_entries(
        &self,
        actor: &Actor,
        from: NaiveDate,
        to: NaiveDate,
        after_seq: i64,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, AppError> {
        actor.require(Permission::ReadAudit)?;
        if to < from {
            return Err(AppError::invalid_at("to", format!("{to} is before {from}")));
        }
        crate::lists::check_limit(limit)?;
        let start = beijing_midnight(from)?;
        let end = beijing_midnight(
            to.succ_opt()
                .ok_or_else(|| AppError::invalid_at("to", format!("{to} is too late")))?,
        )?;
        Ok(self
            .store()
            .audit_entries(start, end, after_seq.max(0), limit)
            .await?)
    }
}
