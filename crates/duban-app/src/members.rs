//! The party members' roster (党员名册): the import, which plans each member's chains
//! (政治生日) in the same transaction, and the list, contacts masked.

use crate::{Actor, App, AppError, Permission};
use duban_core::members::parse_members;
use duban_core::privacy::{mask_email, mask_mobile};
use duban_tabular::Encoding;

pub use duban_core::members::member_headers;
pub use duban_store::members::{MemberLine, MembersImported};

/// The unit codes a roster names, as written (to check against the register and the scope).
fn unit_codes(table: &duban_core::table::Table) -> Vec<String> {
    let col = duban_core::members::MEMBER_COLUMNS
        .iter()
        .find(|c| c.key == "unit_code")
        .and_then(|c| {
            table
                .headers
                .iter()
                .position(|h| c.headers.contains(&h.trim()))
        });
    let mut codes: Vec<String> = table
        .rows
        .iter()
        .filter_map(|(_, cells)| col.and_then(|i| cells.get(i)))
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

impl App {
    /// Validates and applies a roster file: every bad cell is reported ([`AppError::Rows`])
    /// and then nothing is written. Members are matched by unit and name, so the same file
    /// again changes nothing. The chains of the members created or changed are planned in
    /// the same transaction. With `dry_run` the changes are computed and rolled back. An
    /// administrator limited to districts imports members of their units only.
    pub async fn import_members(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: &[u8],
        encoding: Encoding,
        dry_run: bool,
    ) -> Result<MembersImported, AppError> {
        actor.require(Permission::WriteRegister)?;
        let table = crate::register::read_upload(file_name, bytes, encoding)?;
        let codes = unit_codes(&table);
        let store = self.store();
        let known = store.existing_unit_codes(&codes).await?;
        if !actor.scope.is_unlimited() {
            for code in codes.iter().filter(|c| known.contains(*c)) {
                self.check_subject_scope(actor, &format!("unit:{code}"))
                    .await?;
            }
        }
        let rows = parse_members(&table, &known, self.today()).map_err(AppError::Rows)?;
        let now = self.now();
        let (done, plans) = self
            .from(actor, async {
                let tx = store.begin_write().await?;
                let run = async {
                    let mut done = tx.apply_members(&rows, &actor.name, now).await?;
                    let plans = self.engine.sync_members(&tx, &done.changed, now).await?;
                    done.dry_run = dry_run;
                    Ok::<_, AppError>((done, plans))
                };
                match run.await {
                    Ok(r) => {
                        if dry_run {
                            tx.rollback().await?;
                        } else {
                            tx.commit().await?;
                        }
                        Ok(r)
                    }
                    Err(e) => {
                        tx.rollback().await?;
                        Err(e)
                    }
                }
            })
            .await?;
        for (subject, problem) in &plans.problems {
            tracing::warn!(%subject, %problem, "chain not planned");
        }
        tracing::info!(
            file = file_name,
            members = rows.len(),
            created = done.created,
            updated = done.updated,
            unreachable = done.unreachable.len(),
            timers_planned = plans.timers_inserted,
            dry_run,
            "members imported"
        );
        Ok(done)
    }

    /// The members of the units the actor may see (of one unit, with `unit`), by unit and
    /// name; mobiles and email addresses masked.
    pub async fn list_members(
        &self,
        actor: &Actor,
        unit: Option<&str>,
    ) -> Result<Vec<MemberLine>, AppError> {
        actor.require(Permission::ReadRegister)?;
        let mut lines = self.store().list_members(unit, &actor.list_scope()).await?;
        for l in &mut lines {
            l.mobile = l.mobile.as_deref().map(mask_mobile);
            l.email = l.email.as_deref().map(mask_email);
        }
        Ok(lines)
    }
}
