//! The register import: a file of organisations, party units, secretaries and terms (CSV in
//! UTF-8 or GBK, or XLSX) applied in one transaction with the chains it implies.

use crate::{Actor, App, AppError, Permission};
use duban_core::register::{Table, parse_register};
use duban_tabular::read_table;

pub use duban_store::register::ImportSummary;
pub use duban_tabular::Encoding;
use std::collections::HashSet;

pub use duban_core::register::template_headers;

/// Decodes an uploaded or read file into rows with their numbers in the file.
pub fn read_upload(file_name: &str, bytes: &[u8], encoding: Encoding) -> Result<Table, AppError> {
    read_table(file_name, bytes, encoding)
        .map_err(|e| AppError::invalid(format!("{file_name}: {e}")))
}

fn superior_column(headers: &[String]) -> Option<usize> {
    let col = duban_core::register::COLUMNS
        .iter()
        .find(|c| c.key == "superior_unit_code")?;
    headers
        .iter()
        .position(|h| h.trim() == col.header || h.trim().eq_ignore_ascii_case(col.key))
}

impl App {
    /// Whether the register holds no unit yet.
    pub async fn register_is_empty(&self) -> Result<bool, AppError> {
        Ok(self.store().register_is_empty().await?)
    }

    /// Validates and applies a register file: every bad cell is reported
    /// ([`AppError::Rows`]) and then nothing is written. With `dry_run` the changes are
    /// computed and rolled back. Only an administrator of the whole department imports the
    /// register: a file may touch any district.
    pub async fn import_register(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: &[u8],
        encoding: Encoding,
        dry_run: bool,
    ) -> Result<ImportSummary, AppError> {
        actor.require(Permission::WriteRegister)?;
        if !actor.scope.is_unlimited() {
            return Err(AppError::Forbidden(format!(
                "{} is limited to {}; the register is imported by an administrator of the whole department",
                actor.name,
                actor.scope.districts.join(", ")
            )));
        }
        let table = read_upload(file_name, bytes, encoding)?;
        let superiors: Vec<String> = {
            let mut set: HashSet<String> = HashSet::new();
            if let Some(i) = superior_column(&table.headers) {
                for (_, cells) in &table.rows {
                    if let Some(c) = cells.get(i).map(|c| c.trim()).filter(|c| !c.is_empty()) {
                        set.insert(c.to_string());
                    }
                }
            }
            set.into_iter().collect()
        };
        let store = self.store();
        let known = store.existing_unit_codes(&superiors).await?;
        let batch = parse_register(&table, &known).map_err(AppError::Rows)?;
        // The register and the chains it implies change together: one transaction.
        let now = self.now();
        let (summary, plans) = self
            .from(actor, async {
                let tx = store.begin_write().await?;
                let mut summary = tx.apply_register(&batch, &actor.name, now).await?;
                let plans = self
                    .engine
                    .sync_units(&tx, &summary.changed_units, now)
                    .await?;
                summary.dry_run = dry_run;
                if dry_run {
                    tx.rollback().await?;
                } else {
                    tx.commit().await?;
                }
                Ok::<_, AppError>((summary, plans))
            })
            .await?;
        for (subject, problem) in &plans.problems {
            tracing::warn!(%subject, %problem, "chain not planned");
        }
        tracing::info!(
            file = file_name,
            organisations = batch.organisations.len(),
            units = batch.units.len(),
            instances_created = plans.instances_created,
            timers_planned = plans.timers_inserted,
            dry_run,
            "register imported"
        );
        Ok(summary)
    }
}
