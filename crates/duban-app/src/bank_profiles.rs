//! Bank statement profiles a finance officer saves from a preview, for the files of a layout
//! no shipped profile knows: the file's layout to map from (`statement_layout`), a proposed
//! mapping checked against the file — read with it alone and integrity-checked, nothing
//! written — and saved only when the file reads with it (`save_bank_profile`; saving again
//! under a name replaces it), listed, shown and removed; every change audited. Previews and
//! imports try the saved profiles first (by name), then the shipped ones (`reading_profiles`).

use crate::bank::{Figures, Statement};
use crate::{Actor, App, AppError, Permission};
use chrono::{DateTime, Utc};
use duban_core::table::RowError;
use serde::Serialize;

pub use duban_bank::Profile;
pub use duban_bank::draft::{Layout, LayoutRow, Mapping, ProfileRefusal, REMARK, field_label};
pub use duban_bank::profile::Field;

/// A profile, saved or shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileEntry {
    pub name: String,
    pub bank: String,
    /// `saved` (by a finance officer) or `shipped` (with duban).
    pub source: String,
    pub saved_by: Option<String>,
    pub saved_at: Option<DateTime<Utc>>,
    /// The profile as a mapping: each field's (first) header cell, the detect words.
    pub mapping: Mapping,
}

/// A proposed profile checked against a file, and saved when asked and it reads the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileCheck {
    pub name: String,
    pub file_name: String,
    pub dry_run: bool,
    /// Whether it was saved (never in a dry run, nor when refused).
    pub saved: bool,
    /// A saved profile of the same name is (or would be) replaced.
    pub replaces: bool,
    /// The file as read with the profile …
    pub statement: Option<Statement>,
    /// … and its checked figures, when it reads the file …
    pub figures: Option<Figures>,
    /// … else why not: the field of the mapping, the row and column of the file.
    pub refusal: Option<ProfileRefusal>,
}

impl ProfileCheck {
    /// The refusal as the adapters present it: at the mapping's field (a JSON pointer under
    /// `/profile`), else at the file's row and column.
    pub fn refused(&self) -> Option<AppError> {
        let r = self.refusal.as_ref()?;
        let message = format!("{}: {r}", self.file_name);
        Some(match r.field.as_deref() {
            Some(f @ ("name" | "bank" | "detect")) => {
                AppError::invalid_at(&format!("/profile/{f}"), message)
            }
            Some(f) => AppError::invalid_at(&format!("/profile/columns/{f}"), message),
            None => AppError::Rows(vec![RowError {
                row: r.row.unwrap_or(0),
                column: r.column.clone().unwrap_or_default(),
                reason: message,
            }]),
        })
    }
}

fn entry_of_shipped(p: &Profile) -> ProfileEntry {
    ProfileEntry {
        name: p.name.clone(),
        bank: p.bank.clone(),
        source: "shipped".into(),
        saved_by: None,
        saved_at: None,
        mapping: Mapping::of_profile(p),
    }
}

fn entry_of_saved(row: &duban_store::bank_profiles::BankProfileRow, p: &Profile) -> ProfileEntry {
    ProfileEntry {
        name: row.name.clone(),
        bank: p.bank.clone(),
        source: "saved".into(),
        saved_by: Some(row.saved_by.clone()),
        saved_at: Some(row.saved_at),
        mapping: Mapping::of_profile(p),
    }
}

fn parse(row: &duban_store::bank_profiles::BankProfileRow) -> Result<Profile, AppError> {
    serde_json::from_str(&row.profile).map_err(|e| {
        AppError::Internal(format!(
            "the saved bank profile {:?} is unreadable: {e}",
            row.name
        ))
    })
}

fn json_of(p: &Profile) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(p).map_err(|e| AppError::Internal(e.to_string()))
}

impl App {
    /// The profiles a statement is read with: the saved ones by name, then the shipped ones
    /// (most specific first, the general one last).
    pub async fn reading_profiles(&self) -> Result<Vec<Profile>, AppError> {
        let mut all = Vec::new();
        for row in self.store().bank_profiles().await? {
            all.push(parse(&row)?);
        }
        all.extend(duban_bank::profile::builtin());
        Ok(all)
    }

    /// The saved profiles by name, then the shipped ones.
    pub async fn bank_profiles(&self, actor: &Actor) -> Result<Vec<ProfileEntry>, AppError> {
        actor.require(Permission::ReadBankProfiles)?;
        let mut out = Vec::new();
        for row in self.store().bank_profiles().await? {
            out.push(entry_of_saved(&row, &parse(&row)?));
        }
        out.extend(duban_bank::profile::builtin().iter().map(entry_of_shipped));
        Ok(out)
    }

    /// One profile, saved or shipped.
    pub async fn bank_profile(&self, actor: &Actor, name: &str) -> Result<ProfileEntry, AppError> {
        self.bank_profiles(actor)
            .await?
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| {
                AppError::NotFound(format!("没有名为“{name}”的格式 (no bank profile {name:?})"))
            })
    }

    /// A file's layout to map its columns from: its header row (the one a profile finds,
    /// else the likeliest), the rows above and a few below, and the fields recognised.
    pub async fn statement_layout(&self, actor: &Actor, bytes: &[u8]) -> Result<Layout, AppError> {
        actor.require(Permission::ReadLedger)?;
        duban_bank::draft::layout(bytes, &self.reading_profiles().await?).map_err(|e| {
            AppError::Rows(vec![RowError {
                row: e.row.unwrap_or(0),
                column: e.column.clone().unwrap_or_default(),
                reason: e.to_string(),
            }])
        })
    }

    /// Checks `mapping` against the file — read with it alone, then the balance chain and
    /// the file's own totals — and, unless `dry_run`, saves it under its name when the file
    /// reads with it, replacing a profile saved under that name; audited with the value it
    /// replaced. A refusal is in the answer (`refusal`), and nothing is written.
    pub async fn save_bank_profile(
        &self,
        actor: &Actor,
        mapping: &Mapping,
        file_name: &str,
        bytes: &[u8],
        dry_run: bool,
    ) -> Result<ProfileCheck, AppError> {
        actor.require(Permission::WriteBankProfiles)?;
        let name = mapping.name.trim().to_string();
        let mut answer = ProfileCheck {
            name: name.clone(),
            file_name: file_name.to_string(),
            dry_run,
            saved: false,
            replaces: false,
            statement: None,
            figures: None,
            refusal: None,
        };
        let profile = match duban_bank::draft::check(mapping, file_name, bytes) {
            Ok((profile, st, figures)) => {
                answer.statement = Some(st);
                answer.figures = Some(figures);
                profile
            }
            Err(r) => {
                answer.refusal = Some(r);
                return Ok(answer);
            }
        };
        if dry_run {
            answer.replaces = self
                .store()
                .bank_profiles()
                .await?
                .iter()
                .any(|r| r.name == name);
            return Ok(answer);
        }
        let after = json_of(&profile)?;
        let text = after.to_string();
        let now = self.now();
        self.from(actor, async {
            let tx = self.store().begin_write().await?;
            let result = async {
                let before = match tx.lock_bank_profile(&name).await? {
                    Some(row) => Some(json_of(&parse(&row)?)?),
                    None => None,
                };
                tx.save_bank_profile(&name, &text, &actor.name, now).await?;
                crate::accounts::audit(
                    &tx,
                    actor,
                    now,
                    "bank_profile.save",
                    ("bank_profile", &name),
                    before.as_ref(),
                    Some(&after),
                )
                .await?;
                Ok::<_, AppError>(before.is_some())
            }
            .await;
            let replaced = crate::bank::finish(tx, result, true).await?;
            answer.saved = true;
            answer.replaces = replaced;
            Ok(answer)
        })
        .await
    }

    /// Removes a saved profile (audited with its value); files of its layout are then read
    /// by the shipped profiles again, or refused.
    pub async fn remove_bank_profile(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<ProfileEntry, AppError> {
        actor.require(Permission::WriteBankProfiles)?;
        let now = self.now();
        self.from(actor, async {
            let tx = self.store().begin_write().await?;
            let result = async {
                let Some(row) = tx.lock_bank_profile(name).await? else {
                    return Err(AppError::NotFound(format!(
                        "没有保存名为“{name}”的格式 (no saved bank profile {name:?})"
                    )));
                };
                let p = parse(&row)?;
                tx.delete_bank_profile(name).await?;
                crate::accounts::audit(
                    &tx,
                    actor,
                    now,
                    "bank_profile.delete",
                    ("bank_profile", name),
                    Some(&json_of(&p)?),
                    None,
                )
                .await?;
                Ok(entry_of_saved(&row, &p))
            }
            .await;
            crate::bank::finish(tx, result, true).await
        })
        .await
    }
}
