//! `Idempotency-Key` on API writes: the same key with the same request returns the first
//! answer; with another request it is refused. Keys belong to the user who sent them.

use crate::{Actor, App, AppError};

/// What to do with a request that carries a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotent {
    /// First use: run it, then [`App::finish_idempotent`] (or [`App::abandon_idempotent`]).
    Run,
    /// Seen before: answer this again.
    Replay { status: u16, body: String },
}

fn principal(actor: &Actor) -> String {
    match actor.user_id {
        Some(id) => format!("user:{id}"),
        None => actor.name.clone(),
    }
}

impl App {
    /// Claims `key` for a request (`request` names it, `body_hash` fingerprints its body).
    pub async fn begin_idempotent(
        &self,
        actor: &Actor,
        key: &str,
        request: &str,
        body_hash: &str,
    ) -> Result<Idempotent, AppError> {
        let key = key.trim();
        if key.is_empty() || key.len() > 128 || !key.is_ascii() {
            return Err(AppError::invalid(
                "Idempotency-Key must be 1 to 128 ASCII characters",
            ));
        }
        let first = self
            .store()
            .claim_idempotent(&principal(actor), key, request, body_hash, self.now())
            .await?;
        match first {
            None => Ok(Idempotent::Run),
            Some(f) if f.request != request || f.body_hash != body_hash => {
                Err(AppError::Conflict(format!(
                    "the Idempotency-Key {key:?} was first used for another request ({}); use a new key",
                    f.request
                )))
            }
            Some(f) if f.status == 0 => Err(AppError::Refused(format!(
                "the request with Idempotency-Key {key:?} is still being carried out; ask again shortly"
            ))),
            Some(f) => Ok(Idempotent::Replay {
                status: f.status,
                body: f.response,
            }),
        }
    }

    /// Keeps the answer to a claimed key.
    pub async fn finish_idempotent(
        &self,
        actor: &Actor,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), AppError> {
        Ok(self
            .store()
            .finish_idempotent(&principal(actor), key.trim(), status, body)
            .await?)
    }

    /// Gives a key back after a failure that trying again may cure.
    pub async fn abandon_idempotent(&self, actor: &Actor, key: &str) -> Result<(), AppError> {
        Ok(self
            .store()
            .release_idempotent(&principal(actor), key.trim())
            .await?)
    }
}

/// What [`App::housekeeping`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Housekeeping {
    pub idempotency_keys: u64,
    pub sessions: u64,
}

impl App {
    /// Forgets what expires: idempotency keys past [`crate::Policy::idempotency_ttl`] and
    /// sessions that ended. Run periodically by `duban serve`; nothing audited is touched.
    pub async fn housekeeping(&self) -> Result<Housekeeping, AppError> {
        let now = self.now();
        let store = self.store();
        Ok(Housekeeping {
            idempotency_keys: store
                .prune_idempotency(now - self.policy.idempotency_ttl)
                .await?,
            sessions: store
                .prune_sessions(now, now - self.policy.session_idle)
                .await?,
        })
    }
}
