//! Bank statement profiles saved by finance officers: stored as JSON by name. Checking a
//! profile against a file is pure (`duban_bank::draft`); authorisation and the audit row
//! belong to the application layer, which calls these inside one [`WriteTx`].

use crate::engine::{WriteTx, utc};
use crate::entities::bank_profiles;
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, NotSet, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

/// A saved profile as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankProfileRow {
    pub id: i64,
    pub name: String,
    /// The profile as JSON.
    pub profile: String,
    pub saved_by: String,
    pub saved_at: DateTime<Utc>,
}

fn row_of(m: bank_profiles::Model) -> BankProfileRow {
    BankProfileRow {
        id: m.id,
        name: m.name,
        profile: m.profile,
        saved_by: m.saved_by,
        saved_at: utc(m.saved_at),
    }
}

impl Store {
    /// The saved profiles, by name.
    pub async fn bank_profiles(&self) -> Result<Vec<BankProfileRow>, StoreError> {
        Ok(bank_profiles::Entity::find()
            .order_by_asc(bank_profiles::Column::Name)
            .all(self.conn())
            .await?
            .into_iter()
            .map(row_of)
            .collect())
    }
}

impl WriteTx {
    /// The profile saved as `name`, locked until the transaction ends.
    pub async fn lock_bank_profile(
        &self,
        name: &str,
    ) -> Result<Option<BankProfileRow>, StoreError> {
        Ok(bank_profiles::Entity::find()
            .filter(bank_profiles::Column::Name.eq(name))
            .lock_exclusive()
            .one(self.conn())
            .await?
            .map(row_of))
    }

    /// Saves `profile` (JSON) as `name`, replacing the one saved under that name.
    pub async fn save_bank_profile(
        &self,
        name: &str,
        profile: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<BankProfileRow, StoreError> {
        let existing = bank_profiles::Entity::find()
            .filter(bank_profiles::Column::Name.eq(name))
            .one(self.conn())
            .await?;
        let row = match existing {
            Some(m) => {
                let mut am: bank_profiles::ActiveModel = m.into();
                am.profile = Set(profile.to_string());
                am.saved_by = Set(actor.to_string());
                am.saved_at = Set(now.naive_utc());
                am.update(self.conn()).await?
            }
            None => {
                bank_profiles::ActiveModel {
                    id: NotSet,
                    name: Set(name.to_string()),
                    profile: Set(profile.to_string()),
                    saved_by: Set(actor.to_string()),
                    saved_at: Set(now.naive_utc()),
                }
                .insert(self.conn())
                .await?
            }
        };
        Ok(row_of(row))
    }

    /// Removes the profile saved as `name`; whether there was one.
    pub async fn delete_bank_profile(&self, name: &str) -> Result<bool, StoreError> {
        let r = bank_profiles::Entity::delete_many()
            .filter(bank_profiles::Column::Name.eq(name))
            .exec(self.conn())
            .await?;
        Ok(r.rows_affected > 0)
    }
}
