//! One handler per use case: parse, call `duban-app` with the signed-in actor, present.

use super::{json, upload, write};
use crate::AppState;
use crate::auth::{Authed, ClientOrigin, session_cookie};
use crate::problem::{Problem, parse_json};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use duban_app::accounts::{AccessChange, IssuedToken, SignedIn, Token, User, UserRequest};
use duban_app::lists::Filter;
use duban_app::lists::StaffLine;
use duban_app::loop_::{
    Answer, Completion, InstanceLine, InterviewLine, ItemLine, ItemsImported, NewStaff,
    OpenInterview, OpenItem, ReplanDiff, UnitLine,
};
use duban_app::members::{MemberLine, MembersImported};
use duban_app::register::ImportSummary;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A page of a list: the rows, and where they start.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub limit: u64,
    pub offset: u64,
}

/// Filters and paging of the lists; every filter is optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 区县, as in the register.
    pub district: Option<String>,
    /// A unit's code.
    pub unit: Option<String>,
    /// Part of a name or title.
    pub search: Option<String>,
    pub status: Option<String>,
    /// A workflow's id (chains only).
    pub workflow: Option<String>,
    /// Only what is past its date.
    #[serde(default)]
    pub overdue: bool,
    /// Only chains escalated at least once.
    #[serde(default)]
    pub escalated: bool,
    /// Rows per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    #[param(minimum = 0, maximum = 1_000_000_000)]
    pub offset: Option<u64>,
}

impl ListQuery {
    fn filter(&self) -> Result<Filter, Problem> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "limit must be between 1 and 500",
            )
            .at("limit"));
        }
        Ok(Filter {
            district: self.district.clone().filter(|s| !s.is_empty()),
            unit: self.unit.clone().filter(|s| !s.is_empty()),
            search: self.search.clone().filter(|s| !s.is_empty()),
            overdue: self.overdue,
            status: self.status.clone().filter(|s| !s.is_empty()),
            workflow: self.workflow.clone().filter(|s| !s.is_empty()),
            escalated: self.escalated,
            limit,
            offset: self.offset.unwrap_or(0),
            ..Default::default()
        })
    }
}

fn page<T: ToSchema>(items: Vec<T>, f: &Filter) -> Page<T> {
    Page {
        items,
        limit: f.limit,
        offset: f.offset,
    }
}

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// Sign in: the answer sets the session cookie (HttpOnly, SameSite=Strict).
#[utoipa::path(post, path = "/api/v1/session", tag = "session",
    request_body = Login,
    responses(
        (status = 200, description = "Signed in", body = SignedIn),
        (status = 401, description = "Wrong username or password", body = Problem),
        (status = 403, description = "Locked or disabled", body = Problem),
        (status = 422, description = "Bad body", body = Problem),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    body: Bytes,
) -> Result<Response, Problem> {
    let l: Login = parse_json(&body)?;
    let signed = state.app.login(&l.username, &l.password, &origin).await?;
    let max_age = state.app.policy.session_max.num_seconds();
    let mut r = json(StatusCode::OK, &signed);
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&session_cookie(
            &signed.secret,
            max_age,
            state.secure_cookies,
        ))
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?,
    );
    Ok(r)
}

/// Sign out: the session ends and its cookie is cleared.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "Signed out")))]
pub async fn logout(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if let Some(secret) = crate::auth::cookie(&headers, crate::auth::SESSION_COOKIE) {
        state.app.logout(secret, &origin).await?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&session_cookie("", 0, state.secure_cookies)).map_err(|e| {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })?,
    );
    Ok(r)
}

/// Who is signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub name: String,
    pub role: duban_app::Role,
    pub districts: Vec<String>,
    pub units: Vec<String>,
    /// The password is past its age: nothing but changing it is allowed until then.
    pub password_expired: bool,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, body = Me), (status = 401, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn me(Authed(actor): Authed) -> Response {
    json(
        StatusCode::OK,
        &Me {
            name: actor.name,
            role: actor.role,
            districts: actor.scope.districts,
            units: actor.scope.units,
            password_expired: actor.password_expired,
        },
    )
}

/// A new password for oneself.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OwnPassword {
    pub current_password: String,
    pub password: String,
}

#[utoipa::path(put, path = "/api/v1/me/password", tag = "session",
    request_body = OwnPassword,
    responses((status = 204, description = "Changed; every session ends"), (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn change_own_password(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "PUT /api/v1/me/password",
        &body,
        StatusCode::OK,
        async {
            let p: OwnPassword = parse_json(&body)?;
            state
                .app
                .set_password(&actor, &actor.name, Some(&p.current_password), &p.password)
                .await?;
            Ok(serde_json::json!({"changed": true}))
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/units", tag = "register", params(ListQuery),
    responses((status = 200, body = Page<UnitLine>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_units(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<ListQuery>,
) -> Result<Response, Problem> {
    let f = q.filter()?;
    let rows = state.app.list_units(&actor, &f).await?;
    Ok(json(StatusCode::OK, &page(rows, &f)))
}

/// How an uploaded file is read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name (its extension tells CSV from XLSX).
    pub name: Option<String>,
    /// Check and report, write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// auto, utf-8 or gbk (CSV only).
    pub encoding: Option<String>,
}

impl UploadQuery {
    fn encoding(&self) -> Result<duban_app::register::Encoding, Problem> {
        match self.encoding.as_deref().unwrap_or("auto") {
            "auto" | "" => Ok(duban_app::register::Encoding::Auto),
            "utf-8" | "utf8" => Ok(duban_app::register::Encoding::Utf8),
            "gbk" => Ok(duban_app::register::Encoding::Gbk),
            other => Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("encoding {other:?} is not auto, utf-8 or gbk"),
            )
            .at("encoding")),
        }
    }

    fn name(&self, default: &str) -> String {
        self.name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| default.into())
    }
}

/// Import the register: the body is the CSV (UTF-8 or GBK) or XLSX file. All or nothing;
/// every bad cell is listed with its row and column.
#[utoipa::path(post, path = "/api/v1/imports/register", tag = "register", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The CSV or XLSX file"),
    responses((status = 200, body = ImportSummary), (status = 422, description = "Bad cells, each located", body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn import_register(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/imports/register",
        &body,
        StatusCode::OK,
        async {
            let bytes = upload(&body)?;
            Ok(state
                .app
                .import_register(
                    &actor,
                    &q.name("register.csv"),
                    bytes,
                    q.encoding()?,
                    q.dry_run,
                )
                .await?)
        },
    )
    .await
}

/// Import a rectification list (问题清单): each row becomes an item with its chain.
#[utoipa::path(post, path = "/api/v1/imports/rectification", tag = "register", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The CSV or XLSX file"),
    responses((status = 200, body = ItemsImported), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn import_rectification(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/imports/rectification",
        &body,
        StatusCode::OK,
        async {
            let bytes = upload(&body)?;
            Ok(state
                .app
                .import_items(
                    &actor,
                    &q.name("items.csv"),
                    bytes,
                    q.encoding()?,
                    q.dry_run,
                )
                .await?)
        },
    )
    .await
}

/// Import the party members' roster (党员名册): the body is the CSV (UTF-8 or GBK) or XLSX
/// file with 姓名, 所在党组织代码, 入党时间, 手机, 邮箱. Members are matched by unit and name and
/// their chains (政治生日) planned. All or nothing; every bad cell is listed with its row and
/// column.
#[utoipa::path(post, path = "/api/v1/imports/members", tag = "register", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The CSV or XLSX file"),
    responses((status = 200, body = MembersImported), (status = 422, description = "Bad cells, each located", body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn import_members(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/imports/members",
        &body,
        StatusCode::OK,
        async {
            let bytes = upload(&body)?;
            Ok(state
                .app
                .import_members(
                    &actor,
                    &q.name("members.csv"),
                    bytes,
                    q.encoding()?,
                    q.dry_run,
                )
                .await?)
        },
    )
    .await
}

/// Which members to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// Only this unit's members (its code).
    pub unit: Option<String>,
}

/// The party members of the units the reader may see, by unit and name; mobiles and email
/// addresses masked.
#[utoipa::path(get, path = "/api/v1/members", tag = "register", params(MemberQuery),
    responses((status = 200, body = Vec<MemberLine>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_members(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<MemberQuery>,
) -> Result<Response, Problem> {
    let unit = q.unit.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let rows = state.app.list_members(&actor, unit).await?;
    Ok(json(StatusCode::OK, &rows))
}

#[utoipa::path(post, path = "/api/v1/staff", tag = "register", request_body = NewStaff,
    responses((status = 201, body = StaffLine), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn add_staff(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/staff",
        &body,
        StatusCode::CREATED,
        async {
            let s: NewStaff = parse_json(&body)?;
            Ok(StaffLine::from(state.app.add_staff(&actor, s).await?))
        },
    )
    .await
}

/// Staff roles.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Roles {
    /// `org_department`, `finance`.
    pub roles: Vec<String>,
}

#[utoipa::path(put, path = "/api/v1/staff/{person}/roles", tag = "register",
    params(("person" = String, Path, description = "Mobile number or email")),
    request_body = Roles,
    responses((status = 200, body = StaffLine), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn set_staff_roles(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(person): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = format!("PUT /api/v1/staff/{person}/roles");
    write(
        &state,
        &actor,
        &headers,
        &request,
        &body,
        StatusCode::OK,
        async {
            let r: Roles = parse_json(&body)?;
            Ok(StaffLine::from(
                state.app.set_staff_roles(&actor, &person, &r.roles).await?,
            ))
        },
    )
    .await
}

/// Record an answer: an election held, a report filed, progress, a close-out … The body
/// names it in `answer` (e.g. `{"answer":"election_held","unit":"370102-0001","on":"2026-11-20"}`).
#[utoipa::path(post, path = "/api/v1/answers", tag = "loop", request_body = Answer,
    responses((status = 200, body = Completion), (status = 404, body = Problem), (status = 409, description = "Refused by a rule", body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn record_answer(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/answers",
        &body,
        StatusCode::OK,
        async {
            let a: Answer = parse_json(&body)?;
            Ok(state.app.answer(&actor, a).await?)
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/items", tag = "loop", params(ListQuery),
    responses((status = 200, body = Page<ItemLine>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_items(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<ListQuery>,
) -> Result<Response, Problem> {
    let f = q.filter()?;
    let rows = state.app.list_items(&actor, &f).await?;
    Ok(json(StatusCode::OK, &page(rows, &f)))
}

/// Open a rectification item with its chain.
#[utoipa::path(post, path = "/api/v1/items", tag = "loop", request_body = OpenItem,
    responses((status = 201, body = Completion), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn open_item(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/items",
        &body,
        StatusCode::CREATED,
        async {
            let i: OpenItem = parse_json(&body)?;
            Ok(state.app.open_item(&actor, i).await?)
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/interviews", tag = "loop", params(ListQuery),
    responses((status = 200, body = Page<InterviewLine>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_interviews(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<ListQuery>,
) -> Result<Response, Problem> {
    let f = q.filter()?;
    let rows = state.app.list_interviews(&actor, &f).await?;
    Ok(json(StatusCode::OK, &page(rows, &f)))
}

/// Arrange a supervisory interview (约谈) with its chain.
#[utoipa::path(post, path = "/api/v1/interviews", tag = "loop", request_body = OpenInterview,
    responses((status = 201, body = Completion), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn open_interview(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/interviews",
        &body,
        StatusCode::CREATED,
        async {
            let i: OpenInterview = parse_json(&body)?;
            Ok(state.app.open_interview(&actor, i).await?)
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/instances", tag = "loop", params(ListQuery),
    responses((status = 200, body = Page<InstanceLine>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_instances(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<ListQuery>,
) -> Result<Response, Problem> {
    let f = q.filter()?;
    let rows = state.app.list_instances(&actor, &f).await?;
    Ok(json(StatusCode::OK, &page(rows, &f)))
}

/// What a re-send did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Resent {
    pub id: i64,
    pub queued: bool,
}

/// Queue a dead, failed, dropped or sent message again.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/resend", tag = "deliveries",
    params(("id" = i64, Path, description = "The outbox message")),
    responses((status = 200, body = Resent), (status = 404, body = Problem), (status = 409, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn resend(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let request = format!("POST /api/v1/deliveries/{id}/resend");
    write(
        &state,
        &actor,
        &headers,
        &request,
        &[],
        StatusCode::OK,
        async {
            state.app.resend(&actor, id).await?;
            Ok(Resent { id, queued: true })
        },
    )
    .await
}

/// What to re-plan.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Replan {
    /// Only this workflow's chains.
    pub workflow: Option<String>,
    /// Report the differences, write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Re-plan the running chains onto the workflow files loaded now.
#[utoipa::path(post, path = "/api/v1/workflows/replan", tag = "deliveries", request_body = Replan,
    responses((status = 200, body = Vec<ReplanDiff>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn replan(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/workflows/replan",
        &body,
        StatusCode::OK,
        async {
            let r: Replan = if body.is_empty() {
                Replan::default()
            } else {
                parse_json(&body)?
            };
            Ok(state
                .app
                .replan(&actor, r.workflow.as_deref(), r.dry_run)
                .await?)
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(StatusCode::OK, &state.app.list_users(&actor).await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserRequest,
    responses((status = 201, body = User), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn add_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/users",
        &body,
        StatusCode::CREATED,
        async {
            let u: UserRequest = parse_json(&body)?;
            Ok(state.app.add_user(&actor, u).await?)
        },
    )
    .await
}

/// Change a user's role, districts, units, or whether they may sign in.
#[utoipa::path(patch, path = "/api/v1/users/{username}", tag = "users",
    params(("username" = String, Path)),
    request_body = AccessChange,
    responses((status = 200, body = User), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn change_access(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(username): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = format!("PATCH /api/v1/users/{username}");
    write(
        &state,
        &actor,
        &headers,
        &request,
        &body,
        StatusCode::OK,
        async {
            let c: AccessChange = parse_json(&body)?;
            Ok(state.app.change_access(&actor, &username, c).await?)
        },
    )
    .await
}

/// A password an administrator sets.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPassword {
    pub password: String,
}

#[utoipa::path(put, path = "/api/v1/users/{username}/password", tag = "users",
    params(("username" = String, Path)),
    request_body = NewPassword,
    responses((status = 200, description = "Set; the user's sessions end"), (status = 404, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn set_password(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(username): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = format!("PUT /api/v1/users/{username}/password");
    write(
        &state,
        &actor,
        &headers,
        &request,
        &body,
        StatusCode::OK,
        async {
            let p: NewPassword = parse_json(&body)?;
            state
                .app
                .set_password(&actor, &username, None, &p.password)
                .await?;
            Ok(serde_json::json!({"changed": true}))
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "users",
    responses((status = 200, body = Vec<Token>), (status = 401, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(StatusCode::OK, &state.app.list_tokens(&actor).await?))
}

/// An API token to issue.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewToken {
    /// What uses it.
    pub name: String,
    /// For another user (administrators); oneself when absent.
    pub username: Option<String>,
    /// Days it stays valid; forever when absent.
    #[schema(minimum = 1)]
    pub valid_days: Option<i64>,
}

/// Issue an API token; the answer is the only time it is shown.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "users", request_body = NewToken,
    responses((status = 201, body = IssuedToken), (status = 404, body = Problem), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn issue_token(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/tokens",
        &body,
        StatusCode::CREATED,
        async {
            let t: NewToken = parse_json(&body)?;
            let user = t.username.clone().unwrap_or_else(|| actor.name.clone());
            Ok(state
                .app
                .issue_token(&actor, &user, &t.name, t.valid_days)
                .await?)
        },
    )
    .await
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "users",
    params(("id" = i64, Path)),
    responses((status = 200, body = Token), (status = 404, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let request = format!("DELETE /api/v1/tokens/{id}");
    write(
        &state,
        &actor,
        &headers,
        &request,
        &[],
        StatusCode::OK,
        async { Ok(state.app.revoke_token(&actor, id).await?) },
    )
    .await
}

/// Apply ledger commands: one `{key, command: {command: "allocate", …}}` or an array of them,
/// all or nothing (the JSON of `duban ledger submit`; the actor is the signed-in user). A
/// key used before with the same command returns its first outcome.
#[utoipa::path(post, path = "/api/v1/ledger/commands", tag = "ledger",
    request_body(content = serde_json::Value, description = "A command envelope `{\"key\": …, \"command\": {\"command\": KIND, …}}` or an array of them; KIND is one of appropriate, virement, allocate, allocate_startup_batch, disburse, release, pay_direct, record_dues, apply_rebate, approve_rebate, reverse, close_period, close_year, bank_charge, receive, apportion"),
    responses((status = 200, description = "What each command did", body = Vec<serde_json::Value>),
        (status = 409, description = "Refused by budget control, a closed period, a reused key …; `pointer` names the command", body = Problem),
        (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn ledger_commands(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    write(
        &state,
        &actor,
        &headers,
        "POST /api/v1/ledger/commands",
        &body,
        StatusCode::OK,
        async {
            let value: serde_json::Value = parse_json(&body)?;
            let envelopes = state.app.ledger_envelopes(&actor, &value)?;
            Ok(state.app.ledger_apply(&actor, envelopes, None).await?)
        },
    )
    .await
}

/// A fiscal year.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    #[param(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
    /// A unit's code (allocations only).
    pub unit: Option<String>,
    /// Rows (transactions only; default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

impl YearQuery {
    fn year(&self, default: i32) -> Result<i32, Problem> {
        let y = self.year.unwrap_or(default);
        if !(2000..=2100).contains(&y) {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "year must be between 2000 and 2100",
            )
            .at("year"));
        }
        Ok(y)
    }
}

/// Budget execution by line for a year: appropriated, committed, paid, headroom.
#[utoipa::path(get, path = "/api/v1/ledger/budget", tag = "ledger", params(YearQuery),
    responses((status = 200, body = serde_json::Value), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn ledger_budget(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<YearQuery>,
) -> Result<Response, Problem> {
    let year = q.year(chrono::Datelike::year(&state.app.today()))?;
    Ok(json(
        StatusCode::OK,
        &state.app.ledger_budget(&actor, year).await?,
    ))
}

/// Every account's balance.
#[utoipa::path(get, path = "/api/v1/ledger/balances", tag = "ledger",
    responses((status = 200, body = serde_json::Value), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn ledger_balances(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state.app.ledger_balances(&actor).await?,
    ))
}

/// The latest transactions, newest first.
#[utoipa::path(get, path = "/api/v1/ledger/transactions", tag = "ledger", params(YearQuery),
    responses((status = 200, body = Vec<serde_json::Value>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn ledger_transactions(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<YearQuery>,
) -> Result<Response, Problem> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "limit must be between 1 and 500",
        )
        .at("limit"));
    }
    Ok(json(
        StatusCode::OK,
        &state.app.ledger_recent(&actor, limit).await?,
    ))
}

/// Allocations, by year and unit.
#[utoipa::path(get, path = "/api/v1/ledger/allocations", tag = "ledger", params(YearQuery),
    responses((status = 200, body = Vec<serde_json::Value>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn ledger_allocations(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<YearQuery>,
) -> Result<Response, Problem> {
    let year = match q.year {
        Some(_) => Some(q.year(0)?),
        None => None,
    };
    Ok(json(
        StatusCode::OK,
        &state
            .app
            .ledger_allocations(&actor, year, q.unit.as_deref())
            .await?,
    ))
}

/// Dues recorded, by unit and month.
#[utoipa::path(get, path = "/api/v1/ledger/dues", tag = "ledger", params(YearQuery),
    responses((status = 200, body = Vec<serde_json::Value>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn ledger_dues(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<YearQuery>,
) -> Result<Response, Problem> {
    let year = match q.year {
        Some(_) => Some(q.year(0)?),
        None => None,
    };
    Ok(json(
        StatusCode::OK,
        &state.app.ledger_dues(&actor, year).await?,
    ))
}

/// Dues rebate applications and their state.
#[utoipa::path(get, path = "/api/v1/ledger/rebates", tag = "ledger",
    responses((status = 200, body = Vec<serde_json::Value>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn ledger_rebates(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state.app.ledger_rebates(&actor).await?,
    ))
}

/// Closed periods and fiscal years.
#[utoipa::path(get, path = "/api/v1/ledger/status", tag = "ledger",
    responses((status = 200, body = serde_json::Value), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn ledger_status(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state.app.ledger_status(&actor).await?,
    ))
}

/// What `ledger verify` finds.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerCheck {
    pub intact: bool,
    pub problems: Vec<String>,
}

/// Checks every transaction balances and every budget line agrees with its postings.
#[utoipa::path(get, path = "/api/v1/ledger/verify", tag = "ledger",
    responses((status = 200, body = LedgerCheck), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn ledger_verify(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    let problems = state.app.ledger_verify(&actor).await?;
    Ok(json(
        StatusCode::OK,
        &LedgerCheck {
            intact: problems.is_empty(),
            problems,
        },
    ))
}

/// Which entries of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The first Beijing day (default: today).
    pub from: Option<chrono::NaiveDate>,
    /// The last Beijing day, included (default: `from`).
    pub to: Option<chrono::NaiveDate>,
    /// Entries after this sequence number (the last `seq` of the previous page).
    #[param(minimum = 0)]
    pub after_seq: Option<i64>,
    /// Entries per page, 1–10000 (default 500).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u64>,
}

/// The audit log, in chain order: who changed what, when, from where, before and after,
/// with each entry's hash.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<duban_app::audit::AuditEntry>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn audit_entries(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<AuditQuery>,
) -> Result<Response, Problem> {
    let from = q.from.unwrap_or_else(|| state.app.today());
    let to = q.to.unwrap_or(from);
    let rows = state
        .app
        .audit_entries(
            &actor,
            from,
            to,
            q.after_seq.unwrap_or(0),
            q.limit.unwrap_or(500),
        )
        .await?;
    Ok(json(StatusCode::OK, &rows))
}

/// Checks the audit log's hash chain: every edited, deleted or reordered entry is named.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = duban_app::audit::AuditReport), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn audit_verify(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(StatusCode::OK, &state.app.verify_audit(&actor).await?))
}

/// A unit's card: its secretary, term, chains, rectification items and interviews.
#[utoipa::path(get, path = "/api/v1/units/{code}", tag = "register",
    params(("code" = String, Path, description = "The unit's code")),
    responses((status = 200, body = duban_app::lists::UnitCard), (status = 404, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn unit_card(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(code): Path<String>,
) -> Result<Response, Problem> {
    Ok(json(
        StatusCode::OK,
        &state.app.unit_card(&actor, &code).await?,
    ))
}

/// Everyone holding a staff role, contact details masked.
#[utoipa::path(get, path = "/api/v1/staff", tag = "register",
    responses((status = 200, body = Vec<duban_app::lists::StaffLine>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list_staff(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Response, Problem> {
    Ok(json(StatusCode::OK, &state.app.list_staff(&actor).await?))
}
