//! Users, sign-in and sessions, API tokens. Passwords are hashed with argon2id; a password
//! must meet the policy; after `max_failed_logins` failures in a row an account is locked for
//! `lockout`; a session ends after `session_idle` without use or `session_max` after sign-in.
//! Every change, sign-in and failed sign-in is audited.

use crate::{Actor, App, AppError, Permission, Role, random_hex, sha256_hex};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Utc};
use duban_store::accounts::{NewUser, TokenRow, UserRow};
use duban_store::engine::WriteTx;
use duban_store::lists::Scope;
use serde::{Deserialize, Serialize};

pub use duban_store::accounts::TokenRow as Token;
pub use duban_store::accounts::UserRow as User;

/// A user to create.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRequest {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: String,
    pub role: Role,
    #[serde(default)]
    pub districts: Vec<String>,
    #[serde(default)]
    pub units: Vec<String>,
}

/// What may change about a user; what is `None` stays.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessChange {
    pub role: Option<Role>,
    pub districts: Option<Vec<String>>,
    pub units: Option<Vec<String>>,
    pub disabled: Option<bool>,
}

/// A signed-in session: the secret goes into the cookie, only its hash is kept.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedIn {
    #[serde(skip)]
    pub secret: String,
    pub user: UserRow,
    pub expires_at: DateTime<Utc>,
    /// The password is older than the policy allows: change it first.
    pub must_change_password: bool,
    /// The previous sign-in, shown to the user (等保: 上次登录时间和地点).
    pub previous_login_at: Option<DateTime<Utc>>,
    pub previous_login_from: Option<String>,
}

/// An API token as created: the secret is shown once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedToken {
    pub token: String,
    #[serde(flatten)]
    pub row: TokenRow,
}

/// Checks a new password against the policy: the length, and three of the four kinds of
/// character (lower case, upper case, digits, others).
pub fn check_password(password: &str, min_length: usize, username: &str) -> Result<(), AppError> {
    let len = password.chars().count();
    if len < min_length {
        return Err(AppError::invalid_at(
            "/password",
            format!("密码至少{min_length}位 (the password needs at least {min_length} characters)"),
        ));
    }
    let kinds = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    if kinds < 3 {
        return Err(AppError::invalid_at(
            "/password",
            "密码须包含大写字母、小写字母、数字、符号中的至少三类 (use three of: upper case, lower case, digits, symbols)",
        ));
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(AppError::invalid_at(
            "/password",
            "密码不能包含用户名 (the password must not contain the username)",
        ));
    }
    Ok(())
}

fn hash_password(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing the password: {e}")))
}

fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash no password matches, checked for unknown usernames so that their answer takes as
/// long as a wrong password's.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_hex(16)).unwrap_or_default())
}

/// The failures counted and the lock after one more failed sign-in.
pub fn after_failure(
    failed_before: i32,
    max: u32,
    lockout: chrono::Duration,
    now: DateTime<Utc>,
) -> (i32, Option<DateTime<Utc>>) {
    let failed = failed_before.saturating_add(1);
    if failed >= max as i32 {
        (0, Some(now + lockout))
    } else {
        (failed, None)
    }
}

fn validate_username(name: &str) -> Result<(), AppError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid_at(
            "/username",
            "用户名为1至64位字母、数字或 . _ - @ (a username is 1–64 letters, digits or . _ - @)",
        ))
    }
}

pub(crate) async fn audit<T: Serialize>(
    tx: &WriteTx,
    actor: &Actor,
    at: DateTime<Utc>,
    action: &str,
    (entity, key): (&str, &str),
    before: Option<&T>,
    after: Option<&T>,
) -> Result<(), AppError> {
    tx.record_change(duban_store::audit::Change {
        actor: &actor.name,
        origin: &actor.origin,
        at,
        action,
        entity,
        key,
        before,
        after,
    })
    .await?;
    Ok(())
}

fn scope_of(u: &UserRow) -> Scope {
    Scope {
        districts: u.districts.clone(),
        units: u.units.clone(),
    }
}

/// The actor a signed-in user acts as.
pub fn actor_of(u: &UserRow, origin: &str) -> Result<Actor, AppError> {
    Ok(Actor {
        user_id: Some(u.id),
        name: u.username.clone(),
        role: Role::parse(&u.role)?,
        scope: scope_of(u),
        origin: origin.to_string(),
        password_expired: false,
    })
}

impl App {
    /// Creates a user. The command line may always (it makes the first administrator); a
    /// user needs [`Permission::ManageUsers`], and a limited administrator can only create
    /// users within their own districts.
    pub async fn add_user(&self, actor: &Actor, req: UserRequest) -> Result<UserRow, AppError> {
        actor.require(Permission::ManageUsers)?;
        validate_username(&req.username)?;
        check_password(
            &req.password,
            self.policy.password_min_length,
            &req.username,
        )?;
        if req.role == Role::Secretary && req.units.is_empty() {
            return Err(AppError::invalid_at(
                "/units",
                "a secretary answers for at least one unit: give their unit codes",
            ));
        }
        self.check_grant(actor, &req.districts)?;
        let new = NewUser {
            username: req.username.trim().to_string(),
            display_name: if req.display_name.trim().is_empty() {
                req.username.trim().to_string()
            } else {
                req.display_name.trim().to_string()
            },
            password_hash: hash_password(&req.password)?,
            role: req.role.as_str().to_string(),
            districts: req.districts,
            units: req.units,
        };
        let now = self.now();
        let tx = self.store().begin_write().await?;
        let user = match tx.insert_user(&new, now).await {
            Ok(u) => u,
            Err(e) => {
                tx.rollback().await?;
                return Err(e.into());
            }
        };
        audit(
            &tx,
            actor,
            now,
            "user.create",
            ("user", &user.username),
            None,
            Some(&user),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// A limited administrator may only hand out what they hold themselves.
    fn check_grant(&self, actor: &Actor, districts: &[String]) -> Result<(), AppError> {
        if actor.scope.districts.is_empty() {
            return Ok(());
        }
        if districts.is_empty() || districts.iter().any(|d| !actor.scope.districts.contains(d)) {
            return Err(AppError::Forbidden(format!(
                "{} may only grant the districts {}",
                actor.name,
                actor.scope.districts.join(", ")
            )));
        }
        Ok(())
    }

    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<UserRow>, AppError> {
        actor.require(Permission::ManageUsers)?;
        let all = self.store().list_users().await?;
        Ok(all
            .into_iter()
            .filter(|u| {
                actor.scope.districts.is_empty()
                    || (!u.districts.is_empty()
                        && u.districts
                            .iter()
                            .all(|d| actor.scope.districts.contains(d)))
            })
            .collect())
    }

    async fn user_named(&self, username: &str) -> Result<UserRow, AppError> {
        self.store()
            .user_by_name(username)
            .await?
            .map(|(u, _)| u)
            .ok_or_else(|| AppError::NotFound(format!("no user {username:?}")))
    }

    /// Sets a password. Users change their own with the current one; an administrator (or
    /// the command line) sets anyone's. Every session of the user ends.
    pub async fn set_password(
        &self,
        actor: &Actor,
        username: &str,
        current: Option<&str>,
        new_password: &str,
    ) -> Result<(), AppError> {
        let (user, hash) = self
            .store()
            .user_by_name(username)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no user {username:?}")))?;
        let own = actor.user_id == Some(user.id);
        if own {
            let ok = current.is_some_and(|c| password_matches(c, &hash));
            if !ok {
                return Err(AppError::invalid_at(
                    "/current_password",
                    "当前密码不正确 (the current password is wrong)",
                ));
            }
        } else {
            actor.require(Permission::ManageUsers)?;
            self.check_grant(actor, &user.districts)?;
        }
        check_password(new_password, self.policy.password_min_length, username)?;
        if password_matches(new_password, &hash) {
            return Err(AppError::invalid_at(
                "/password",
                "新密码不能与当前密码相同 (the new password must differ from the current one)",
            ));
        }
        let new_hash = hash_password(new_password)?;
        let now = self.now();
        let tx = self.store().begin_write().await?;
        tx.set_password(user.id, &new_hash, now).await?;
        tx.delete_user_sessions(user.id).await?;
        audit::<()>(
            &tx,
            actor,
            now,
            "user.password",
            ("user", username),
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a user's role, scope or whether they may sign in; disabling ends their
    /// sessions.
    pub async fn change_access(
        &self,
        actor: &Actor,
        username: &str,
        change: AccessChange,
    ) -> Result<UserRow, AppError> {
        actor.require(Permission::ManageUsers)?;
        let before = self.user_named(username).await?;
        self.check_grant(actor, &before.districts)?;
        if let Some(d) = &change.districts {
            self.check_grant(actor, d)?;
        }
        if actor.user_id == Some(before.id)
            && (change.disabled == Some(true)
                || change.role.is_some_and(|r| r.as_str() != before.role)
                || change
                    .districts
                    .as_ref()
                    .is_some_and(|d| *d != before.districts)
                || change.units.as_ref().is_some_and(|u| *u != before.units))
        {
            return Err(AppError::Refused(
                "you cannot disable your own account or change your own role or scope: ask another administrator".into(),
            ));
        }
        let role = change
            .role
            .map(|r| r.as_str().to_string())
            .unwrap_or(before.role.clone());
        let districts = change.districts.unwrap_or(before.districts.clone());
        let units = change.units.unwrap_or(before.units.clone());
        if role == Role::Secretary.as_str() && units.is_empty() {
            return Err(AppError::invalid_at(
                "/units",
                "a secretary answers for at least one unit: give their unit codes",
            ));
        }
        let disabled = change.disabled.unwrap_or(before.disabled);
        let now = self.now();
        let tx = self.store().begin_write().await?;
        tx.set_user_access(before.id, &role, &districts, &units, disabled)
            .await?;
        if disabled || role != before.role {
            tx.delete_user_sessions(before.id).await?;
        }
        let after = tx
            .user_for_update(before.id)
            .await?
            .map(|(u, _)| u)
            .ok_or_else(|| AppError::NotFound(format!("no user {username:?}")))?;
        audit(
            &tx,
            actor,
            now,
            "user.access",
            ("user", username),
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Signs in. A wrong password counts towards the lockout; a locked or disabled account
    /// is refused without looking at the password. Both outcomes are audited.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        origin: &str,
    ) -> Result<SignedIn, AppError> {
        let now = self.now();
        let refused =
            || AppError::Unauthenticated("用户名或密码不正确 (wrong username or password)".into());
        let found = self.store().user_by_name(username.trim()).await?;
        let attempt = Actor {
            user_id: found.as_ref().map(|(u, _)| u.id),
            name: username.trim().chars().take(64).collect(),
            role: Role::Viewer,
            scope: Scope::default(),
            origin: origin.to_string(),
            password_expired: false,
        };
        let Some((user, hash)) = found else {
            let _ = password_matches(password, decoy_hash());
            self.login_failed(&attempt, now, "unknown user", None)
                .await?;
            return Err(refused());
        };
        if user.disabled {
            self.login_failed(&attempt, now, "disabled", None).await?;
            return Err(AppError::Forbidden(
                "该账号已停用，请联系管理员 (this account is disabled)".into(),
            ));
        }
        if let Some(until) = user.locked_until.filter(|t| *t > now) {
            self.login_failed(&attempt, now, "locked", None).await?;
            return Err(locked_until(until));
        }
        if !password_matches(password, &hash) {
            let (failed, locked) = after_failure(
                user.failed_logins,
                self.policy.max_failed_logins,
                self.policy.lockout,
                now,
            );
            let reason = if locked.is_some() {
                "wrong password; locked"
            } else {
                "wrong password"
            };
            self.login_failed(&attempt, now, reason, Some((user.id, failed, locked)))
                .await?;
            // The failure that locks says so at once, not on the next try.
            return Err(locked.map(locked_until).unwrap_or_else(refused));
        }
        let secret = random_hex(32);
        let expires_at = now + self.policy.session_max;
        let tx = self.store().begin_write().await?;
        tx.record_login_success(user.id, now, origin).await?;
        tx.insert_session(&sha256_hex(&secret), user.id, now, expires_at, origin)
            .await?;
        audit(
            &tx,
            &actor_of(&user, origin)?,
            now,
            "login",
            ("user", &user.username),
            None,
            Some(&serde_json::json!({"from": origin})),
        )
        .await?;
        tx.commit().await?;
        let must_change_password = self.password_expired(&user, now);
        Ok(SignedIn {
            secret,
            previous_login_at: user.last_login_at,
            previous_login_from: user.last_login_from.clone(),
            user,
            expires_at: expires_at.min(now + self.policy.session_idle),
            must_change_password,
        })
    }

    /// Audits a failed sign-in, counting it towards the lockout when `count` says so.
    async fn login_failed(
        &self,
        attempt: &Actor,
        now: DateTime<Utc>,
        reason: &str,
        count: Option<(i64, i32, Option<DateTime<Utc>>)>,
    ) -> Result<(), AppError> {
        let tx = self.store().begin_write().await?;
        if let Some((id, failed, locked)) = count {
            tx.record_login_failure(id, failed, locked).await?;
        }
        let detail = serde_json::json!({"reason": reason, "from": attempt.origin});
        audit(
            &tx,
            attempt,
            now,
            "login.failed",
            ("user", &attempt.name),
            None,
            Some(&detail),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a session (audited when there was one).
    pub async fn logout(&self, secret: &str, origin: &str) -> Result<(), AppError> {
        let id = sha256_hex(secret);
        let Some(session) = self.store().session(&id).await? else {
            return Ok(());
        };
        let now = self.now();
        let user = self.store().user_by_id(session.user_id).await?;
        let tx = self.store().begin_write().await?;
        tx.delete_session(&id).await?;
        if let Some(user) = user {
            audit::<()>(
                &tx,
                &actor_of(&user, origin)?,
                now,
                "logout",
                ("user", &user.username),
                None,
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The actor behind a session cookie, if the session is still alive; marks it used.
    pub async fn session_actor(&self, secret: &str, origin: &str) -> Result<Actor, AppError> {
        let expired = || {
            AppError::Unauthenticated(
                "登录已过期，请重新登录 (the session has ended: sign in again)".into(),
            )
        };
        let now = self.now();
        let id = sha256_hex(secret);
        let session = self.store().session(&id).await?.ok_or_else(expired)?;
        if now >= session.expires_at || now >= session.last_seen_at + self.policy.session_idle {
            let tx = self.store().begin_write().await?;
            tx.delete_session(&id).await?;
            tx.commit().await?;
            return Err(expired());
        }
        let user = self
            .store()
            .user_by_id(session.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or_else(expired)?;
        self.store().touch_session(&id, now).await?;
        Ok(Actor {
            password_expired: self.password_expired(&user, now),
            ..actor_of(&user, origin)?
        })
    }

    fn password_expired(&self, user: &UserRow, now: DateTime<Utc>) -> bool {
        self.policy
            .password_max_age
            .is_some_and(|age| user.password_changed_at + age <= now)
    }

    /// Issues an API token for a user (oneself, or anyone for an administrator).
    pub async fn issue_token(
        &self,
        actor: &Actor,
        username: &str,
        name: &str,
        valid_days: Option<i64>,
    ) -> Result<IssuedToken, AppError> {
        let user = self.user_named(username).await?;
        if actor.user_id != Some(user.id) {
            actor.require(Permission::ManageUsers)?;
            self.check_grant(actor, &user.districts)?;
        }
        if name.trim().is_empty() {
            return Err(AppError::invalid_at(
                "/name",
                "name the token (what integration uses it)",
            ));
        }
        let secret = format!("dbn_{}", random_hex(32));
        let now = self.now();
        let expires = valid_days.map(|d| now + chrono::Duration::days(d.max(1)));
        let tx = self.store().begin_write().await?;
        let row = tx
            .insert_token(user.id, name.trim(), &sha256_hex(&secret), now, expires)
            .await?;
        audit(
            &tx,
            actor,
            now,
            "token.issue",
            ("api_token", &row.id.to_string()),
            None,
            Some(&row),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedToken { token: secret, row })
    }

    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<TokenRow, AppError> {
        let now = self.now();
        let tx = self.store().begin_write().await?;
        let Some(row) = tx.revoke_token(id, now).await? else {
            tx.rollback().await?;
            return Err(AppError::NotFound(format!("no API token {id}")));
        };
        if actor.user_id != Some(row.user_id)
            && let Err(e) = actor.require(Permission::ManageUsers)
        {
            tx.rollback().await?;
            return Err(e);
        }
        audit(
            &tx,
            actor,
            now,
            "token.revoke",
            ("api_token", &id.to_string()),
            Some(&row),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn list_tokens(&self, actor: &Actor) -> Result<Vec<TokenRow>, AppError> {
        let own = actor.user_id;
        if actor.require(Permission::ManageUsers).is_ok() && actor.scope.districts.is_empty() {
            return Ok(self.store().list_tokens(None).await?);
        }
        Ok(self.store().list_tokens(own.or(Some(-1))).await?)
    }

    /// The actor behind an API token (`Authorization: Bearer dbn_…`).
    pub async fn token_actor(&self, token: &str, origin: &str) -> Result<Actor, AppError> {
        let bad =
            || AppError::Unauthenticated("the API token is unknown, revoked or expired".into());
        let now = self.now();
        let row = self
            .store()
            .token_by_hash(&sha256_hex(token.trim()))
            .await?
            .ok_or_else(bad)?;
        if row.revoked_at.is_some() || row.expires_at.is_some_and(|t| t <= now) {
            return Err(bad());
        }
        let user = self
            .store()
            .user_by_id(row.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or_else(bad)?;
        self.store().touch_token(row.id, now).await?;
        actor_of(&user, origin)
    }

    /// Whether any user exists (the first administrator is made with `duban users add`).
    pub async fn has_users(&self) -> Result<bool, AppError> {
        Ok(self.store().count_users().await? > 0)
    }
}

/// The refusal of a locked account, with when it unlocks (Beijing time).
fn locked_until(until: DateTime<Utc>) -> AppError {
    let local = until.with_timezone(&chrono_tz_shanghai());
    AppError::Forbidden(format!(
        "登录失败次数过多，账号已锁定至{} (locked until {})",
        local.format("%H:%M"),
        until.to_rfc3339()
    ))
}

fn chrono_tz_shanghai() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_policy() {
        assert!(check_password("Short1!", 8, "u").is_err());
        assert!(check_password("alllowercase", 8, "u").is_err());
        assert!(check_password("lower and 123", 8, "x").is_ok());
        assert!(check_password("Zhang.San2026", 8, "zhang.san").is_err());
        assert!(check_password("党建工作Abc1", 8, "u").is_ok());
    }

    #[test]
    fn the_fifth_failure_locks() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let mut failed = 0;
        for _ in 0..4 {
            let (f, lock) = after_failure(failed, 5, chrono::Duration::minutes(15), now);
            assert!(lock.is_none());
            failed = f;
        }
        let (f, lock) = after_failure(failed, 5, chrono::Duration::minutes(15), now);
        assert_eq!((f, lock), (0, Some(now + chrono::Duration::minutes(15))));
    }

    #[test]
    fn a_hash_verifies_only_its_password() {
        let h = hash_password("Right.Pass1").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(password_matches("Right.Pass1", &h));
        assert!(!password_matches("Wrong.Pass1", &h));
        assert!(!password_matches("Right.Pass1", "not a hash"));
    }
}
