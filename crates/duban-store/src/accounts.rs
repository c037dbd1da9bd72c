//! Accounts: users, sessions, API tokens, idempotency keys of API writes and used signed
//! links. Only storage: the rules (password hashing, lockout, who may do what) live in the
//! application layer.

use crate::engine::{WriteTx, utc};
use crate::entities::{api_tokens, idempotency_keys, link_uses, sessions, users};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, NotSet, QueryFilter, QueryOrder, Set,
    SqlErr,
};
use serde::Serialize;

/// A user as everyone above the store sees it (the password hash stays apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    /// Districts the user is limited to; empty for all.
    pub districts: Vec<String>,
    /// Unit codes a secretary answers for.
    pub units: Vec<String>,
    pub disabled: bool,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub password_changed_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub last_login_from: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub districts: Vec<String>,
    pub units: Vec<String>,
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn user_row(m: users::Model) -> (UserRow, String) {
    (
        UserRow {
            id: m.id,
            username: m.username,
            display_name: m.display_name,
            role: m.role,
            districts: split(&m.districts),
            units: split(&m.units),
            disabled: m.disabled,
            failed_logins: m.failed_logins,
            locked_until: m.locked_until.map(utc),
            password_changed_at: utc(m.password_changed_at),
            last_login_at: m.last_login_at.map(utc),
            last_login_from: m.last_login_from,
            created_at: utc(m.created_at),
        },
        m.password_hash,
    )
}

/// A server-side session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub user_id: i64,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An API token's record (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn token_row(m: api_tokens::Model) -> TokenRow {
    TokenRow {
        id: m.id,
        user_id: m.user_id,
        name: m.name,
        created_at: utc(m.created_at),
        last_used_at: m.last_used_at.map(utc),
        expires_at: m.expires_at.map(utc),
        revoked_at: m.revoked_at.map(utc),
    }
}

/// The first answer given under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentAnswer {
    pub request: String,
    pub body_hash: String,
    /// 0 while the first request is still running.
    pub status: u16,
    pub response: String,
}

/// A signed link that has acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkUse {
    pub person_id: i64,
    pub instance_id: i64,
    pub step_id: String,
    pub answer: String,
    pub used_at: DateTime<Utc>,
}

impl Store {
    /// The user and their password hash.
    pub async fn user_by_name(
        &self,
        username: &str,
    ) -> Result<Option<(UserRow, String)>, StoreError> {
        Ok(users::Entity::find()
            .filter(users::Column::Username.eq(username))
            .one(self.conn())
            .await?
            .map(user_row))
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>, StoreError> {
        Ok(users::Entity::find_by_id(id)
            .one(self.conn())
            .await?
            .map(|m| user_row(m).0))
    }

    pub async fn list_users(&self) -> Result<Vec<UserRow>, StoreError> {
        Ok(users::Entity::find()
            .order_by_asc(users::Column::Username)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|m| user_row(m).0)
            .collect())
    }

    pub async fn count_users(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(users::Entity::find().count(self.conn()).await?)
    }

    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        Ok(sessions::Entity::find_by_id(id.to_string())
            .one(self.conn())
            .await?
            .map(|m| SessionRow {
                id: m.id,
                user_id: m.user_id,
                created_at: utc(m.created_at),
                last_seen_at: utc(m.last_seen_at),
                expires_at: utc(m.expires_at),
            }))
    }

    /// Marks a session used now (outside any transaction: it is not a change to audit).
    pub async fn touch_session(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        sessions::Entity::update_many()
            .col_expr(sessions::Column::LastSeenAt, Expr::value(now.naive_utc()))
            .filter(sessions::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// The live token with this hash, and its user.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>, StoreError> {
        Ok(api_tokens::Entity::find()
            .filter(api_tokens::Column::TokenHash.eq(hash))
            .one(self.conn())
            .await?
            .map(token_row))
    }

    pub async fn touch_token(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::LastUsedAt, Expr::value(now.naive_utc()))
            .filter(api_tokens::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    pub async fn list_tokens(&self, user_id: Option<i64>) -> Result<Vec<TokenRow>, StoreError> {
        let mut q = api_tokens::Entity::find().order_by_asc(api_tokens::Column::Id);
        if let Some(u) = user_id {
            q = q.filter(api_tokens::Column::UserId.eq(u));
        }
        Ok(q.all(self.conn())
            .await?
            .into_iter()
            .map(token_row)
            .collect())
    }

    /// Claims an idempotency key for a request: `Ok(None)` when it is new (the caller runs
    /// the request and then [`Store::finish_idempotent`]), else what the first one stored.
    pub async fn claim_idempotent(
        &self,
        principal: &str,
        key: &str,
        request: &str,
        body_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotentAnswer>, StoreError> {
        let row = idempotency_keys::ActiveModel {
            id: NotSet,
            principal: Set(principal.to_string()),
            key: Set(key.to_string()),
            request: Set(request.to_string()),
            body_hash: Set(body_hash.to_string()),
            status: Set(0),
            response: Set(String::new()),
            created_at: Set(now.naive_utc()),
        };
        match row.insert(self.conn()).await {
            Ok(_) => Ok(None),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                let first = idempotency_keys::Entity::find()
                    .filter(idempotency_keys::Column::Principal.eq(principal))
                    .filter(idempotency_keys::Column::Key.eq(key))
                    .one(self.conn())
                    .await?
                    .ok_or_else(|| {
                        StoreError::Invalid(format!("idempotency key {key} vanished"))
                    })?;
                Ok(Some(IdempotentAnswer {
                    request: first.request,
                    body_hash: first.body_hash,
                    status: u16::try_from(first.status).unwrap_or(0),
                    response: first.response,
                }))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Stores the answer to a claimed key, so the same request gets it again.
    pub async fn finish_idempotent(
        &self,
        principal: &str,
        key: &str,
        status: u16,
        response: &str,
    ) -> Result<(), StoreError> {
        idempotency_keys::Entity::update_many()
            .col_expr(
                idempotency_keys::Column::Status,
                Expr::value(i32::from(status)),
            )
            .col_expr(idempotency_keys::Column::Response, Expr::value(response))
            .filter(idempotency_keys::Column::Principal.eq(principal))
            .filter(idempotency_keys::Column::Key.eq(key))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Forgets the idempotency keys claimed before `before`: a client retrying later than
    /// that sends a new request.
    pub async fn prune_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(idempotency_keys::Entity::delete_many()
            .filter(idempotency_keys::Column::CreatedAt.lt(before.naive_utc()))
            .exec(self.conn())
            .await?
            .rows_affected)
    }

    /// Deletes the sessions that ended: past their absolute end, or unused since
    /// `idle_since`.
    pub async fn prune_sessions(
        &self,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(sessions::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(sessions::Column::ExpiresAt.lte(now.naive_utc()))
                    .add(sessions::Column::LastSeenAt.lte(idle_since.naive_utc())),
            )
            .exec(self.conn())
            .await?
            .rows_affected)
    }

    /// Gives a claimed key back (the request failed for a reason trying again may cure).
    pub async fn release_idempotent(&self, principal: &str, key: &str) -> Result<(), StoreError> {
        idempotency_keys::Entity::delete_many()
            .filter(idempotency_keys::Column::Principal.eq(principal))
            .filter(idempotency_keys::Column::Key.eq(key))
            .filter(idempotency_keys::Column::Status.eq(0))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// When and how a signed link acted, if it has.
    pub async fn link_use(&self, link_hash: &str) -> Result<Option<LinkUse>, StoreError> {
        Ok(link_uses::Entity::find_by_id(link_hash.to_string())
            .one(self.conn())
            .await?
            .map(|m| LinkUse {
                person_id: m.person_id,
                instance_id: m.instance_id,
                step_id: m.step_id,
                answer: m.answer,
                used_at: utc(m.used_at),
            }))
    }
}

impl WriteTx {
    /// Creates a user; a taken username is refused.
    pub async fn insert_user(
        &self,
        u: &NewUser,
        now: DateTime<Utc>,
    ) -> Result<UserRow, StoreError> {
        let row = users::ActiveModel {
            id: NotSet,
            username: Set(u.username.clone()),
            display_name: Set(u.display_name.clone()),
            password_hash: Set(u.password_hash.clone()),
            role: Set(u.role.clone()),
            districts: Set(u.districts.join(",")),
            units: Set(u.units.join(",")),
            disabled: Set(false),
            failed_logins: Set(0),
            locked_until: Set(None),
            password_changed_at: Set(now.naive_utc()),
            last_login_at: Set(None),
            last_login_from: Set(None),
            created_at: Set(now.naive_utc()),
        };
        match row.insert(self.conn()).await {
            Ok(m) => Ok(user_row(m).0),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Err(
                StoreError::Invalid(format!("the username {:?} is taken", u.username)),
            ),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn user_for_update(&self, id: i64) -> Result<Option<(UserRow, String)>, StoreError> {
        Ok(users::Entity::find_by_id(id)
            .one(self.conn())
            .await?
            .map(user_row))
    }

    pub async fn set_password(
        &self,
        id: i64,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::value(hash))
            .col_expr(
                users::Column::PasswordChangedAt,
                Expr::value(now.naive_utc()),
            )
            .col_expr(users::Column::FailedLogins, Expr::value(0))
            .col_expr(
                users::Column::LockedUntil,
                Expr::value(Option::<chrono::NaiveDateTime>::None),
            )
            .filter(users::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Changes what a user is: role, scope, enabled.
    pub async fn set_user_access(
        &self,
        id: i64,
        role: &str,
        districts: &[String],
        units: &[String],
        disabled: bool,
    ) -> Result<(), StoreError> {
        users::Entity::update_many()
            .col_expr(users::Column::Role, Expr::value(role))
            .col_expr(users::Column::Districts, Expr::value(districts.join(",")))
            .col_expr(users::Column::Units, Expr::value(units.join(",")))
            .col_expr(users::Column::Disabled, Expr::value(disabled))
            .filter(users::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Counts a failed login, and locks the account until `locked_until` when given.
    pub async fn record_login_failure(
        &self,
        id: i64,
        failed: i32,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        users::Entity::update_many()
            .col_expr(users::Column::FailedLogins, Expr::value(failed))
            .col_expr(
                users::Column::LockedUntil,
                Expr::value(locked_until.map(|t| t.naive_utc())),
            )
            .filter(users::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    pub async fn record_login_success(
        &self,
        id: i64,
        now: DateTime<Utc>,
        from: &str,
    ) -> Result<(), StoreError> {
        users::Entity::update_many()
            .col_expr(users::Column::FailedLogins, Expr::value(0))
            .col_expr(
                users::Column::LockedUntil,
                Expr::value(Option::<chrono::NaiveDateTime>::None),
            )
            .col_expr(users::Column::LastLoginAt, Expr::value(now.naive_utc()))
            .col_expr(users::Column::LastLoginFrom, Expr::value(from))
            .filter(users::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    pub async fn insert_session(
        &self,
        id: &str,
        user_id: i64,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        origin: &str,
    ) -> Result<(), StoreError> {
        sessions::ActiveModel {
            id: Set(id.to_string()),
            user_id: Set(user_id),
            created_at: Set(now.naive_utc()),
            last_seen_at: Set(now.naive_utc()),
            expires_at: Set(expires_at.naive_utc()),
            origin: Set(origin.chars().take(64).collect()),
        }
        .insert(self.conn())
        .await?;
        Ok(())
    }

    pub async fn delete_session(&self, id: &str) -> Result<u64, StoreError> {
        Ok(sessions::Entity::delete_many()
            .filter(sessions::Column::Id.eq(id))
            .exec(self.conn())
            .await?
            .rows_affected)
    }

    /// Ends every session of a user (password changed, account disabled).
    pub async fn delete_user_sessions(&self, user_id: i64) -> Result<u64, StoreError> {
        Ok(sessions::Entity::delete_many()
            .filter(sessions::Column::UserId.eq(user_id))
            .exec(self.conn())
            .await?
            .rows_affected)
    }

    pub async fn insert_token(
        &self,
        user_id: i64,
        name: &str,
        hash: &str,
        now: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<TokenRow, StoreError> {
        let m = api_tokens::ActiveModel {
            id: NotSet,
            user_id: Set(user_id),
            name: Set(name.to_string()),
            token_hash: Set(hash.to_string()),
            created_at: Set(now.naive_utc()),
            last_used_at: Set(None),
            expires_at: Set(expires_at.map(|t| t.naive_utc())),
            revoked_at: Set(None),
        }
        .insert(self.conn())
        .await?;
        Ok(token_row(m))
    }

    pub async fn revoke_token(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRow>, StoreError> {
        let Some(m) = api_tokens::Entity::find_by_id(id).one(self.conn()).await? else {
            return Ok(None);
        };
        api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::RevokedAt, Expr::value(now.naive_utc()))
            .filter(api_tokens::Column::Id.eq(id))
            .filter(api_tokens::Column::RevokedAt.is_null())
            .exec(self.conn())
            .await?;
        Ok(Some(token_row(m)))
    }

    /// Marks a signed link used; false when it already was.
    pub async fn use_link(
        &self,
        link_hash: &str,
        used: &LinkUse,
        from: &str,
    ) -> Result<bool, StoreError> {
        let row = link_uses::ActiveModel {
            link_hash: Set(link_hash.to_string()),
            person_id: Set(used.person_id),
            instance_id: Set(used.instance_id),
            step_id: Set(used.step_id.clone()),
            answer: Set(used.answer.clone()),
            used_at: Set(used.used_at.naive_utc()),
            used_from: Set(from.chars().take(64).collect()),
        };
        match row.insert(self.conn()).await {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Writes an audit row inside this transaction.
    pub async fn record_change<T: Serialize>(
        &self,
        c: crate::audit::Change<'_, T>,
    ) -> Result<(), StoreError> {
        crate::audit::record(self.conn(), c).await?;
        Ok(())
    }
}
