//! The HTTP API and the signed-link pages, driven through the real router as a browser, an
//! integration or a secretary's phone would: roles against every route, district scoping,
//! CSRF, lockout, sessions, idempotency, problem details, uploads and signed links.

use crate::engine::rules;
use crate::support::{TestDb, repo};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{DateTime, Duration, TimeZone, Utc};
use duban_app::accounts::UserRequest;
use duban_app::{Actor, App, Policy, Role};
use duban_core::clock::{Clock, ManualClock};
use duban_engine::{Engine, EngineConfig};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

const KEY: &[u8] = b"a test key for signed links, 32+ bytes";
pub(crate) const PASSWORD: &str = "Dangjian.2026";

pub(crate) fn start() -> DateTime<Utc> {
    // 2026-03-02 10:00 in Beijing, a Monday.
    Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()
}

/// An organisation department on `db`: the demo register, and one user per role.
pub(crate) struct Office {
    pub(crate) app: App,
    pub(crate) router: Router,
    pub(crate) clock: Arc<ManualClock>,
}

impl Office {
    pub(crate) async fn open(db: &TestDb) -> Office {
        let store = db.store().await;
        store.migrate_up(None).await.unwrap();
        let clock = Arc::new(ManualClock::new(start()));
        let config = EngineConfig {
            node_id: "api".into(),
            link_key: Some(Arc::new(KEY.to_vec())),
            ..Default::default()
        };
        let engine = Engine::new(store.clone(), rules(), config, clock.clone());
        engine.rules.persist(&store, start()).await.unwrap();
        let app = App::new(engine, Policy::default(), KEY.to_vec()).with_workflow_files(
            duban_app::workflows::WorkflowFiles {
                dir: repo().join("workflows"),
                calendar_dir: repo().join("config/calendar"),
                ..duban_app::workflows::WorkflowFiles::new("【组织部】")
            },
        );
        let cli = Actor::command_line("setup");
        let register = std::fs::read(repo().join("config/demo/register.csv")).unwrap();
        app.import_register(&cli, "register.csv", &register, Default::default(), false)
            .await
            .unwrap();
        for (name, role, districts, units) in [
            ("guanli", Role::Administrator, vec![], vec![]),
            ("lixia-guanli", Role::Administrator, vec!["历下区"], vec![]),
            ("caiwu", Role::FinanceOfficer, vec![], vec![]),
            ("shuji", Role::Secretary, vec![], vec!["370102-0001"]),
            ("chakan", Role::Viewer, vec!["历下区"], vec![]),
            ("shenji", Role::Auditor, vec![], vec![]),
        ] {
            app.add_user(
                &cli,
                UserRequest {
                    username: name.into(),
                    display_name: String::new(),
                    password: PASSWORD.into(),
                    role,
                    districts: districts.into_iter().map(String::from).collect(),
                    units: units.into_iter().map(String::from).collect(),
                },
            )
            .await
            .unwrap();
        }
        let router = duban_http::router(duban_http::AppState::new(app.clone()));
        Office { app, router, clock }
    }

    /// The id of a unit's term chain (its 按期换届 reminders).
    pub(crate) async fn term_chain_of(&self, unit: &str) -> i64 {
        let f = duban_app::lists::Filter {
            unit: Some(unit.into()),
            workflow: Some("term_expiry".into()),
            ..Default::default()
        };
        let chains = self
            .app
            .list_instances(&Actor::command_line("setup"), &f)
            .await
            .unwrap();
        chains
            .first()
            .unwrap_or_else(|| panic!("{unit} has no term chain"))
            .id
    }

    pub(crate) async fn send(
        &self,
        mut req: Request<Body>,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        // Every request comes from one office desktop.
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [10, 0, 0, 7],
                50123,
            ))));
        let r = self.router.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 24).await.unwrap();
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, v, headers)
    }

    /// Signs in and returns the session cookie.
    pub(crate) async fn login(&self, user: &str) -> String {
        let (status, body, headers) = self
            .send(json_request(
                Method::POST,
                "/api/v1/session",
                None,
                &json!({"username": user, "password": PASSWORD}),
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let cookie = headers["set-cookie"].to_str().unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        cookie.split(';').next().unwrap().to_string()
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        uri: &str,
        cookie: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let req = match body {
            Some(b) => json_request(method, uri, Some(cookie), b),
            None => Request::builder()
                .method(method)
                .uri(uri)
                .header("cookie", cookie)
                .body(Body::empty())
                .unwrap(),
        };
        let (s, v, _) = self.send(req).await;
        (s, v)
    }
}

fn json_request(method: Method, uri: &str, cookie: Option<&str>, body: &Value) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

const ALL: &[&str] = &["guanli", "caiwu", "shuji", "chakan", "shenji"];
const ADMIN: &[&str] = &["guanli"];
const READERS: &[&str] = &["guanli", "caiwu", "shuji", "chakan"];
const CHAINS: &[&str] = &["guanli", "shuji", "chakan"];
const LEDGER: &[&str] = &["guanli", "caiwu", "chakan"];
const PROFILE_READERS: &[&str] = &["guanli", "caiwu", "chakan", "shenji"];

/// Who may use each route (deny by default), with a request that reaches the use case. A
/// route of the API missing here fails the test.
/// A route, the request that reaches its use case, and who may use it.
type Route = (
    Method,
    &'static str,
    String,
    Option<Value>,
    &'static [&'static str],
);

fn matrix(instance: i64) -> Vec<Route> {
    let register = "/api/v1/imports/register?dry_run=true&name=r.csv".to_string();
    vec![
        (Method::GET, "/api/v1/me", "/api/v1/me".into(), None, ALL),
        (
            Method::PUT,
            "/api/v1/me/password",
            "/api/v1/me/password".into(),
            Some(json!({"current_password": "wrong", "password": "Another.Pass9"})),
            ALL,
        ),
        (
            Method::GET,
            "/api/v1/units",
            "/api/v1/units".into(),
            None,
            READERS,
        ),
        (
            Method::GET,
            "/api/v1/units/{code}",
            "/api/v1/units/370102-0001".into(),
            None,
            READERS,
        ),
        (
            Method::GET,
            "/api/v1/staff",
            "/api/v1/staff".into(),
            None,
            ADMIN,
        ),
        (
            Method::POST,
            "/api/v1/imports/register",
            register,
            None,
            ADMIN,
        ),
        (
            Method::POST,
            "/api/v1/imports/rectification",
            "/api/v1/imports/rectification?dry_run=true&name=i.csv".into(),
            None,
            ADMIN,
        ),
        (
            Method::POST,
            "/api/v1/imports/members",
            "/api/v1/imports/members?dry_run=true&name=m.csv".into(),
            None,
            ADMIN,
        ),
        (
            Method::GET,
            "/api/v1/members",
            "/api/v1/members".into(),
            None,
            READERS,
        ),
        (
            Method::POST,
            "/api/v1/staff",
            "/api/v1/staff".into(),
            Some(json!({"name": "刘组织", "mobile": "13700007777", "roles": ["org_department"]})),
            ADMIN,
        ),
        (
            Method::PUT,
            "/api/v1/staff/{person}/roles",
            "/api/v1/staff/13700007777/roles".into(),
            Some(json!({"roles": ["org_department"]})),
            ADMIN,
        ),
        (
            Method::POST,
            "/api/v1/answers",
            "/api/v1/answers".into(),
            Some(
                json!({"answer": "duty_done", "unit": "370102-0001", "duty": "theme_day", "on": "2026-03-01", "note": null}),
            ),
            &["guanli", "shuji"],
        ),
        (
            Method::GET,
            "/api/v1/items",
            "/api/v1/items".into(),
            None,
            READERS,
        ),
        (
            Method::POST,
            "/api/v1/items",
            "/api/v1/items".into(),
            Some(
                json!({"unit": "370102-0001", "title": "组织生活会记录不全", "kind": "time_bound", "deadline": "2026-04-30", "owner": null, "leader": null, "verifier": null, "measures": null}),
            ),
            ADMIN,
        ),
        (
            Method::GET,
            "/api/v1/interviews",
            "/api/v1/interviews".into(),
            None,
            READERS,
        ),
        (
            Method::POST,
            "/api/v1/interviews",
            "/api/v1/interviews".into(),
            Some(
                json!({"unit": "370102-0001", "reason": "逾期未换届", "at": "2026-03-10T09:00:00", "location": "区委组织部301", "interviewee": null}),
            ),
            ADMIN,
        ),
        (
            Method::GET,
            "/api/v1/instances",
            "/api/v1/instances".into(),
            None,
            CHAINS,
        ),
        (
            Method::POST,
            "/api/v1/deliveries/{id}/resend",
            "/api/v1/deliveries/999999/resend".into(),
            None,
            ADMIN,
        ),
        (
            Method::POST,
            "/api/v1/workflows/replan",
            "/api/v1/workflows/replan".into(),
            Some(json!({"dry_run": true})),
            ADMIN,
        ),
        (
            Method::POST,
            "/api/v1/workflows/check",
            "/api/v1/workflows/check".into(),
            Some(json!({})),
            ADMIN,
        ),
        (
            Method::POST,
            "/api/v1/workflows/simulate",
            "/api/v1/workflows/simulate".into(),
            Some(
                json!({"workflow": "term_expiry", "unit": "370102-0001", "from": "2026-03-01", "to": "2026-12-31"}),
            ),
            ADMIN,
        ),
        (
            Method::GET,
            "/api/v1/users",
            "/api/v1/users".into(),
            None,
            ADMIN,
        ),
        (
            Method::POST,
            "/api/v1/users",
            "/api/v1/users".into(),
            Some(json!({"username": "xin", "password": PASSWORD, "role": "viewer"})),
            ADMIN,
        ),
        (
            Method::PATCH,
            "/api/v1/users/{username}",
            "/api/v1/users/chakan".into(),
            Some(json!({"districts": ["历下区"]})),
            ADMIN,
        ),
        (
            Method::PUT,
            "/api/v1/users/{username}/password",
            "/api/v1/users/xin/password".into(),
            Some(json!({"password": "Xinmima.2027"})),
            ADMIN,
        ),
        (
            Method::GET,
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            None,
            ALL,
        ),
        (
            Method::POST,
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            Some(json!({"name": "对接"})),
            ALL,
        ),
        (
            Method::DELETE,
            "/api/v1/tokens/{id}",
            "/api/v1/tokens/999999".into(),
            None,
            ALL,
        ),
        (
            Method::POST,
            "/api/v1/ledger/commands",
            "/api/v1/ledger/commands".into(),
            Some(
                json!({"key": "api-1", "command": {"command": "appropriate", "date": "2026-03-01", "line": "other", "amount": "100"}}),
            ),
            &["caiwu"],
        ),
        (
            Method::GET,
            "/api/v1/ledger/budget",
            "/api/v1/ledger/budget?year=2026".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/ledger/balances",
            "/api/v1/ledger/balances".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/ledger/transactions",
            "/api/v1/ledger/transactions".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/ledger/allocations",
            "/api/v1/ledger/allocations".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/ledger/dues",
            "/api/v1/ledger/dues".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/ledger/rebates",
            "/api/v1/ledger/rebates".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/ledger/status",
            "/api/v1/ledger/status".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/ledger/verify",
            "/api/v1/ledger/verify".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/audit",
            "/api/v1/audit?from=2026-03-01&to=2026-03-31".into(),
            None,
            &["guanli", "shenji"],
        ),
        (
            Method::GET,
            "/api/v1/audit/verify",
            "/api/v1/audit/verify".into(),
            None,
            &["guanli", "shenji"],
        ),
        (
            Method::GET,
            "/api/v1/timers",
            "/api/v1/timers?unit=370102-0001&state=pending,done".into(),
            None,
            CHAINS,
        ),
        (
            Method::GET,
            "/api/v1/instances/{id}",
            format!("/api/v1/instances/{instance}"),
            None,
            CHAINS,
        ),
        (
            Method::GET,
            "/api/v1/deliveries",
            "/api/v1/deliveries?limit=20".into(),
            None,
            ADMIN,
        ),
        (
            Method::GET,
            "/api/v1/deliveries/dead",
            "/api/v1/deliveries/dead".into(),
            None,
            ADMIN,
        ),
        (
            Method::GET,
            "/api/v1/people/unreachable",
            "/api/v1/people/unreachable".into(),
            None,
            ADMIN,
        ),
        (
            Method::POST,
            "/api/v1/bank/statements/preview",
            "/api/v1/bank/statements/preview?name=cmbc-corp-2026-02.xlsx".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/bank/accounts",
            "/api/v1/bank/accounts".into(),
            None,
            LEDGER,
        ),
        (
            Method::POST,
            "/api/v1/bank/accounts",
            "/api/v1/bank/accounts".into(),
            Some(
                json!({"code": "cmbc", "name": "基本户", "number": "604000888", "bank": "民生银行"}),
            ),
            &["caiwu"],
        ),
        (
            Method::POST,
            "/api/v1/bank/statements",
            "/api/v1/bank/statements?account=cmbc&dry_run=true&name=cmbc-corp-2026-02.xlsx".into(),
            None,
            &["caiwu"],
        ),
        (
            Method::GET,
            "/api/v1/bank/lines",
            "/api/v1/bank/lines?account=cmbc".into(),
            None,
            LEDGER,
        ),
        (
            Method::POST,
            "/api/v1/bank/match",
            "/api/v1/bank/match?account=cmbc&dry_run=true".into(),
            None,
            &["caiwu"],
        ),
        (
            Method::GET,
            "/api/v1/bank/exceptions",
            "/api/v1/bank/exceptions?account=cmbc".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/bank/exceptions/all",
            "/api/v1/bank/exceptions/all".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/bank/three-way",
            "/api/v1/bank/three-way?as_of=2026-12-31".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/bank/matches",
            "/api/v1/bank/matches?account=cmbc".into(),
            None,
            LEDGER,
        ),
        (
            Method::POST,
            "/api/v1/bank/matches",
            "/api/v1/bank/matches".into(),
            Some(json!({"account": "cmbc", "line": 1, "posting": 1})),
            &["caiwu"],
        ),
        (
            Method::POST,
            "/api/v1/bank/matches/{id}/unmatch",
            "/api/v1/bank/matches/1/unmatch".into(),
            Some(json!({"account": "cmbc", "reason": "对错了"})),
            &["caiwu"],
        ),
        (
            Method::GET,
            "/api/v1/bank/profiles",
            "/api/v1/bank/profiles".into(),
            None,
            PROFILE_READERS,
        ),
        (
            Method::GET,
            "/api/v1/bank/profiles/{name}",
            "/api/v1/bank/profiles/ccb".into(),
            None,
            PROFILE_READERS,
        ),
        (
            Method::POST,
            "/api/v1/bank/profiles",
            "/api/v1/bank/profiles".into(),
            Some(
                json!({"profile": {"name": "x", "columns": {"date": "交易日期", "amount": "金额"}}, "file_name": "a.csv", "file": "5Lqk5piT5pel5pyfLOmHkeminQoyMDI2MDMwMSwxLjAwCg==", "dry_run": true}),
            ),
            &["guanli", "caiwu"],
        ),
        (
            Method::DELETE,
            "/api/v1/bank/profiles/{name}",
            "/api/v1/bank/profiles/nope".into(),
            None,
            &["guanli", "caiwu"],
        ),
        (
            Method::POST,
            "/api/v1/bank/profiles/layout",
            "/api/v1/bank/profiles/layout".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/reports/budget-execution",
            "/api/v1/reports/budget-execution?year=2026&month=11".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/reports/unit-ledger",
            "/api/v1/reports/unit-ledger?unit=370102-0001&year=2026".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/reports/bank-reconciliation",
            "/api/v1/reports/bank-reconciliation?account=cmbc&month=2026-11".into(),
            None,
            LEDGER,
        ),
        (
            Method::GET,
            "/api/v1/reports/dues",
            "/api/v1/reports/dues?year=2026".into(),
            None,
            LEDGER,
        ),
        (
            Method::POST,
            "/api/v1/bases",
            "/api/v1/bases".into(),
            Some(api_base()),
            ADMIN,
        ),
        (
            Method::PUT,
            "/api/v1/bases/{code}",
            "/api/v1/bases/api-red".into(),
            Some(api_base()),
            ADMIN,
        ),
        (
            Method::GET,
            "/api/v1/bases",
            "/api/v1/bases".into(),
            None,
            READERS,
        ),
        (
            Method::GET,
            "/api/v1/bases/{code}",
            "/api/v1/bases/api-red".into(),
            None,
            READERS,
        ),
        (
            Method::GET,
            "/api/v1/bases/{code}/calendar",
            "/api/v1/bases/api-red/calendar?from=2026-03-02&days=7".into(),
            None,
            READERS,
        ),
        (
            Method::POST,
            "/api/v1/bookings",
            "/api/v1/bookings".into(),
            Some(
                json!({"base": "api-red", "unit": "370102-0001", "date": "2026-03-04", "starts": "09:00", "activity": "参观学习", "headcount": 12}),
            ),
            &["guanli", "shuji"],
        ),
        (
            Method::GET,
            "/api/v1/bookings",
            "/api/v1/bookings?all=true".into(),
            None,
            READERS,
        ),
        (
            Method::POST,
            "/api/v1/bookings/{id}/cancel",
            "/api/v1/bookings/1/cancel".into(),
            None,
            &["guanli", "shuji"],
        ),
        (
            Method::GET,
            "/api/v1/register/coverage",
            "/api/v1/register/coverage".into(),
            None,
            // A secretary sees only their units; coverage counts whole districts.
            &["guanli", "caiwu", "chakan"],
        ),
        // Last: signing out ends the sessions the rest use.
        (
            Method::DELETE,
            "/api/v1/session",
            "/api/v1/session".into(),
            None,
            ALL,
        ),
    ]
}

/// A base as the API adds it.
pub(crate) fn api_base() -> Value {
    json!({
        "code": "api-red", "name": "历下红色教育基地", "kind": "红色型", "host_unit": "370102-LXGW",
        "district": "历下区", "address": "历下区泉城路1号", "capacity": 30, "opens": "09:00",
        "closes": "11:00", "slot_minutes": 60,
        "activities": [{"name": "重温入党誓词", "minutes": 30}, {"name": "参观学习", "minutes": 60}]
    })
}

fn upload_body(path: &str) -> Body {
    match path {
        "/api/v1/imports/register" => Body::from(std::fs::read(repo().join("tests/fixtures/register/good.csv")).unwrap()),
        "/api/v1/imports/rectification" => Body::from(
            "\u{feff}党组织编码,整改事项,整改类别,整改期限\n370102-0001,台账不全,限期整改,2026-05-31\n".to_string(),
        ),
        "/api/v1/imports/members" => Body::from(
            "\u{feff}姓名,所在党组织代码,入党时间,手机,邮箱\n陈晓,370102-0001,2015-12-10,,chenxiao@example.cn\n".to_string(),
        ),
        "/api/v1/bank/statements/preview"
        | "/api/v1/bank/statements"
        | "/api/v1/bank/profiles/layout" => {
            Body::from(bank_sample("cmbc-corp-2026-02.xlsx"))
        }
        _ => Body::empty(),
    }
}

/// One of the real bank statements beside the repository.
fn bank_sample(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("../shared/data/bank-statements").join(name)).unwrap()
}

/// A bank statement preview answers the figures of a file that checks, and refuses one whose
/// balance chain breaks with a problem naming the row and column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_statement_preview_answers_its_figures_or_a_located_refusal() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = Office::open(&db).await;
    let finance = o.login("caiwu").await;
    let post = |name: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/bank/statements/preview?name={name}"))
            .header("cookie", finance.as_str())
            .body(Body::from(bank_sample(name)))
            .unwrap()
    };
    let (s, v, _) = o.send(post("ceb-corp-2026-02.xls")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["figures"]["lines"], 15);
    assert_eq!(v["figures"]["debit_total"], "5685495.76");
    assert_eq!(v["figures"]["closing"], "331933.82");
    assert_eq!(v["statement"]["declared"]["credit_count"], 8);
    assert_eq!(v["statement"]["lines"][0]["row"], 17);
    assert_eq!(v["statement"]["lines"][0]["amount"], "500000.00");
    let (s, v, h) = o.send(post("ccb-personal-2025-01.xls")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(h["content-type"], "application/problem+json");
    assert_eq!(v["errors"][0]["row"], 10, "{v}");
    assert_eq!(v["errors"][0]["column"], "账户余额", "{v}");
    assert!(
        v["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("相差46.00"),
        "{v}"
    );
    let empty = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/bank/statements/preview?name=x.xls")
        .header("cookie", finance.as_str())
        .body(Body::empty())
        .unwrap();
    let (s, _, _) = o.send(empty).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let doc = serde_json::to_value(duban_http::openapi()).unwrap();
    assert!(doc["paths"]["/api/v1/bank/statements/preview"]["post"].is_object());
    assert!(doc["components"]["schemas"]["StatementPreview"].is_object());
    db.drop_db().await;
}

backend_tests! {
    // A finance officer opens an account, imports a statement into it (a dry run first,
    // then for real, then again: nothing new) and reads its lines; a viewer reads but may
    // not import; a broken statement is refused with its row and writes nothing.
    async fn a_statement_is_imported_into_a_bank_account_through_the_api(db) {
        let o = Office::open(&db).await;
        let finance = o.login("caiwu").await;
        let viewer = o.login("chakan").await;
        let body = json!({"code": "ceb", "name": "基本户", "number": "39610287431592250", "bank": "光大银行"});
        let (s, v) = o.call(Method::POST, "/api/v1/bank/accounts", &finance, Some(&body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["ledger_account"], "assets:bank:ceb");
        let (s, v) = o.call(Method::POST, "/api/v1/bank/accounts", &finance, Some(&body)).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        let (s, v) = o.call(Method::POST, "/api/v1/bank/accounts", &finance, Some(&json!({"code": "x", "name": "n", "number": "1"}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (s, v) = o.call(Method::POST, "/api/v1/bank/accounts", &viewer, Some(&json!({"code": "y", "name": "n", "number": "1", "bank": "b"}))).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let post = |cookie: &str, query: &str, file: &str| {
            Request::builder()
                .method(Method::POST)
                .uri(format!("/api/v1/bank/statements?account=ceb&name={file}{query}"))
                .header("cookie", cookie)
                .body(Body::from(bank_sample(file)))
                .unwrap()
        };
        let (s, v, _) = o.send(post(&finance, "&dry_run=true", "ceb-corp-2026-02.xls")).await;
        assert_eq!((s, v["lines_added"].as_u64(), v["statement"].is_null()), (StatusCode::OK, Some(15), true), "{v}");
        let (s, v, _) = o.send(post(&finance, "", "ceb-corp-2026-02.xls")).await;
        assert_eq!((s, v["lines_added"].as_u64()), (StatusCode::OK, Some(15)), "{v}");
        assert_eq!(v["figures"]["credit_total"], "6000000.00");
        let (s, v, _) = o.send(post(&finance, "", "ceb-corp-2026-02.xls")).await;
        assert_eq!((s, v["lines_added"].as_u64(), v["lines_known"].as_u64()), (StatusCode::OK, Some(0), Some(15)), "{v}");
        let (s, v, _) = o.send(post(&viewer, "", "ceb-corp-2026-02.xls")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, v, _) = o.send(post(&finance, "", "ccb-personal-2025-01.xls")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!((v["errors"][0]["row"].as_u64(), v["errors"][0]["column"].as_str()), (Some(10), Some("账户余额")), "{v}");
        let (s, v) = o.call(Method::GET, "/api/v1/bank/lines?account=ceb&from=2026-02-01&to=2026-02-28", &viewer, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let lines = v.as_array().unwrap();
        assert_eq!(lines.len(), 15);
        assert_eq!(lines.iter().map(|l| l["amount"].as_i64().unwrap()).sum::<i64>(), 600_000_000 - 568_549_576);
        let (s, _) = o.call(Method::GET, "/api/v1/bank/lines?account=nope", &viewer, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, v) = o.call(Method::GET, "/api/v1/bank/accounts", &viewer, None).await;
        assert_eq!((s, v[0]["code"].as_str()), (StatusCode::OK, Some("ceb")));

        // Matching: no postings on the account yet, so every line is an exception.
        let (s, v) = o.call(Method::POST, "/api/v1/bank/match?account=ceb", &finance, None).await;
        assert_eq!((s, v["matched"].as_array().map(Vec::len), v["exceptions"].as_u64()), (StatusCode::OK, Some(0), Some(15)), "{v}");
        let (s, v) = o.call(Method::POST, "/api/v1/bank/match?account=ceb", &viewer, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, v) = o.call(Method::GET, "/api/v1/bank/exceptions?account=ceb", &viewer, None).await;
        assert_eq!((s, v.as_array().map(Vec::len)), (StatusCode::OK, Some(15)), "{v}");
        let line = v[0]["line"]["id"].as_i64().unwrap();
        let (s, v) = o.call(Method::POST, "/api/v1/bank/matches", &finance, Some(&json!({"account": "ceb", "line": line, "posting": 424242}))).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
        assert!(v["detail"].as_str().unwrap().contains("分录#424242不在账户“ceb”上"), "{v}");
        let (s, v) = o.call(Method::POST, "/api/v1/bank/matches/424242/unmatch", &finance, Some(&json!({"account": "ceb", "reason": "x"}))).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
        let (s, v) = o.call(Method::GET, "/api/v1/bank/matches?account=ceb", &viewer, None).await;
        assert_eq!((s, v.as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
        // Every account's exceptions, by account, and the three-way listing, aged.
        let (s, v) = o.call(Method::GET, "/api/v1/bank/exceptions/all", &viewer, None).await;
        assert_eq!((s, v[0]["account"].as_str()), (StatusCode::OK, Some("ceb")), "{v}");
        assert_eq!(v[0]["exceptions"].as_array().map(Vec::len), Some(15), "{v}");
        let (s, v) = o.call(Method::GET, "/api/v1/bank/three-way?as_of=2026-12-31", &viewer, None).await;
        assert_eq!((s, v["as_of"].as_str()), (StatusCode::OK, Some("2026-12-31")), "{v}");
        let buckets: Vec<&str> = v["payment_totals"].as_array().unwrap().iter().map(|b| b["bucket"].as_str().unwrap()).collect();
        assert_eq!(buckets, ["0-30", "31-90", "90+"], "{v}");
        let (s, _) = o.call(Method::GET, "/api/v1/bank/three-way?as_of=2026-13-01", &viewer, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_role_as_the_matrix_declares() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = Office::open(&db).await;
    let routes = matrix(o.term_chain_of("370102-0001").await);
    // The matrix names every route of the API, and only those.
    let doc = duban_http::openapi();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (m, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ] {
            if op.is_some() && !(path == "/api/v1/session" && m == "POST") {
                documented.push((m.to_string(), path.clone()));
            }
        }
    }
    documented.sort();
    let mut declared: Vec<(String, String)> = routes
        .iter()
        .map(|r| (r.0.to_string(), r.1.to_string()))
        .collect();
    declared.sort();
    assert_eq!(
        documented, declared,
        "every API route is in the role matrix"
    );

    let mut cookies = Vec::new();
    for user in ALL {
        cookies.push((*user, o.login(user).await));
    }
    for (method, template, uri, body, allowed) in &routes {
        // Without credentials: 401 everywhere.
        let req = Request::builder()
            .method(method.clone())
            .uri(uri.as_str())
            .header("content-type", "application/json")
            .body(Body::from(
                body.as_ref().map(|b| b.to_string()).unwrap_or_default(),
            ))
            .unwrap();
        let (status, v, _) = o.send(req).await;
        if *template != "/api/v1/session" {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} without a session: {v}"
            );
        }
        for (user, cookie) in &cookies {
            let mut b = Request::builder()
                .method(method.clone())
                .uri(uri.as_str())
                .header("cookie", cookie.as_str());
            let req = match body {
                Some(j) => b
                    .header("content-type", "application/json")
                    .body(Body::from(j.to_string()))
                    .unwrap(),
                None => {
                    b = b.header("content-type", "application/octet-stream");
                    b.body(upload_body(template)).unwrap()
                }
            };
            let (status, v, _) = o.send(req).await;
            if allowed.contains(user) {
                assert!(
                    status != StatusCode::FORBIDDEN
                        && status != StatusCode::UNAUTHORIZED
                        && !status.is_server_error(),
                    "{user} may {method} {uri} but got {status}: {v}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{user} may not {method} {uri}: {v}"
                );
                assert_eq!(v["type"], "urn:duban:problem:forbidden");
            }
        }
    }
    // Signing out ended every session above.
    let (status, _) = o.call(Method::GET, "/api/v1/me", &cookies[0].1, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    db.drop_db().await;
}

backend_tests! {
    // `workflows check` and `simulate` through the API: the files as they stand, and a
    // unit of the register or a subject written out, with events injected; nothing written.
    async fn workflows_are_checked_and_simulated_through_the_api(db) {
        let o = Office::open(&db).await;
        let admin = o.login("guanli").await;
        let (s, v) = o.call(Method::POST, "/api/v1/workflows/check", &admin, Some(&json!({}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["failed"], false, "{v}");
        assert_eq!(v["errors"], 0, "{v}");
        assert_eq!(v["workflows"].as_array().unwrap().len(), 13, "{v}");
        assert!(v["workflows"].as_array().unwrap().iter().any(|w| w["id"] == "term_expiry"));

        let audits = || async { duban_store::entities::audit_log::Entity::find().count(db.store().await.conn()).await.unwrap() };
        let audit_before = audits().await;
        let ask = |body: Value| {
            let admin = admin.clone();
            let o = &o;
            async move { o.call(Method::POST, "/api/v1/workflows/simulate", &admin, Some(&body)).await }
        };
        let (s, v) = ask(json!({"workflow": "term_expiry", "unit": "370102-0001", "from": "2026-01-01", "to": "2027-12-31"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["workflow_id"], "term_expiry");
        let entries = v["entries"].as_array().unwrap();
        assert!(!entries.is_empty(), "{v}");
        assert!(entries.iter().any(|e| e["escalation"] == true), "{v}");
        // The subject is the register's: its unit's name is in the messages.
        let card = o.app.unit_card(&Actor::command_line("t"), "370102-0001").await.unwrap();
        let text = v.to_string();
        assert!(text.contains(&card.name), "{text}");

        // A subject written out, with an election injected: the chain stops there.
        let subject = json!({"kind":"term","unit_code":"DZ0102","unit_name":"星河科技有限公司党支部","unit_level":"branch","term_end":"2026-10-09"});
        let (s, v) = ask(json!({"workflow": "term_expiry", "subject": subject, "from": "2026-09-01", "to": "2026-12-31", "events": ["election_recorded@2026-09-20"]})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let steps: Vec<&str> = v["entries"].as_array().unwrap().iter().filter_map(|e| e["step_id"].as_str()).collect();
        assert!(!steps.contains(&"overdue_superior"), "{steps:?}");
        assert!(v.to_string().contains("post_election_report"), "{v}");

        // Bad input is named, and 404 for what does not exist.
        let (s, v) = ask(json!({"workflow": "term_expiry", "subject": subject, "from": "2026-09-01", "to": "2026-12-31", "events": ["elected@2026-09-20"]})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["pointer"], "/events/0", "{v}");
        assert!(v["detail"].as_str().unwrap().contains("`elected` is not an event of `term` subjects"), "{v}");
        let (s, v) = ask(json!({"workflow": "term_expiry", "unit": "370102-0001", "from": "2026-09-01", "to": "2026-01-01"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["pointer"], "/to", "{v}");
        for (from, to, pointer) in [("2026-01-01", "2045-01-01", "/to"), ("1900-01-01", "1900-02-01", "/from")] {
            let (s, v) = ask(json!({"workflow": "theme_day", "unit": "370102-0001", "from": from, "to": to})).await;
            assert_eq!((s, v["pointer"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(pointer)), "{v}");
        }
        let (s, v) = ask(json!({"workflow": "term_expiry", "from": "2026-09-01", "to": "2026-12-31"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (s, _) = ask(json!({"workflow": "no_such", "unit": "370102-0001", "from": "2026-09-01", "to": "2026-12-31"})).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = ask(json!({"workflow": "term_expiry", "unit": "999999-9999", "from": "2026-09-01", "to": "2026-12-31"})).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, v) = ask(json!({"workflow": "rectification", "unit": "370102-0001", "from": "2026-09-01", "to": "2026-12-31"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["pointer"], "/unit", "{v}");
        assert_eq!(audits().await, audit_before, "a simulation writes nothing");
        // An administrator of 历下区 simulates their units only (signing in is audited).
        let lixia = o.login("lixia-guanli").await;
        let body = |unit: &str| json!({"workflow": "term_expiry", "unit": unit, "from": "2026-01-01", "to": "2026-12-31"});
        let (s, v) = o.call(Method::POST, "/api/v1/workflows/simulate", &lixia, Some(&body("120101-0050"))).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, v) = o.call(Method::POST, "/api/v1/workflows/simulate", &lixia, Some(&body("370102-0001"))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    async fn district_and_unit_scoping_limit_what_users_see_and_change(db) {
        let o = Office::open(&db).await;
        let viewer = o.login("chakan").await;
        let (s, v) = o.call(Method::GET, "/api/v1/units?limit=500", &viewer, None).await;
        assert_eq!(s, StatusCode::OK);
        let districts: std::collections::BTreeSet<String> = v["items"].as_array().unwrap().iter().map(|u| u["district"].as_str().unwrap().to_string()).collect();
        assert_eq!(districts.into_iter().collect::<Vec<_>>(), ["历下区"]);
        let (s, other) = o.call(Method::GET, "/api/v1/units/120101-0050", &viewer, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{other}");
        let (s, card) = o.call(Method::GET, "/api/v1/units/370102-0001", &viewer, None).await;
        assert_eq!(s, StatusCode::OK, "{card}");
        assert_eq!(card["district"], "历下区");
        assert!(card["secretary"]["mobile"].as_str().unwrap().contains("****"), "{card}");
        let admin = o.login("guanli").await;
        let (_, all) = o.call(Method::GET, "/api/v1/units?limit=500", &admin, None).await;
        assert!(all["items"].as_array().unwrap().len() > v["items"].as_array().unwrap().len());

        // A district administrator opens items in their district only.
        let lixia = o.login("lixia-guanli").await;
        let item = |unit: &str| json!({"unit": unit, "title": "台账不全", "kind": "time_bound", "deadline": "2026-04-30", "owner": null, "leader": null, "verifier": null, "measures": null});
        let (s, v) = o.call(Method::POST, "/api/v1/items", &lixia, Some(&item("120101-0050"))).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, v) = o.call(Method::POST, "/api/v1/items", &lixia, Some(&item("370102-0001"))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["event"], "opened");

        // A secretary answers for their own unit, not another.
        let shuji = o.login("shuji").await;
        let duty = |unit: &str| json!({"answer": "duty_done", "unit": unit, "duty": "theme_day", "on": "2026-03-01", "note": "学习党章"});
        let (s, v) = o.call(Method::POST, "/api/v1/answers", &shuji, Some(&duty("370102-0002"))).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, v) = o.call(Method::POST, "/api/v1/answers", &shuji, Some(&duty("370102-0001"))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["recorded"], true);
        // The audit log says who answered and from where, down to the recorder's own entry.
        let store = db.store().await;
        let entries = duban_store::entities::audit_log::Entity::find().all(store.conn()).await.unwrap();
        let answered: Vec<_> = entries.iter().filter(|e| e.actor == "shuji").map(|e| (e.action.as_str(), e.origin.as_str())).collect();
        assert!(answered.contains(&("login", "10.0.0.7")), "{answered:?}");
        assert!(answered.contains(&("theme_day_held", "10.0.0.7")), "{answered:?}");
        // … and sees only that unit's items.
        let (_, v) = o.call(Method::GET, "/api/v1/items", &shuji, None).await;
        assert!(v["items"].as_array().unwrap().iter().all(|i| i["unit_code"] == "370102-0001"), "{v}");
        // A decision is not a secretary's to give.
        let (s, _) = o.call(Method::POST, "/api/v1/answers", &shuji, Some(&json!({"answer": "extension_approved", "unit": "370102-0001", "to": "2027-12-31", "approved_on": "2026-03-01", "reason": null}))).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        db.drop_db().await;
    }

    async fn lockout_after_five_failures_and_idle_sessions_end(db) {
        let o = Office::open(&db).await;
        let wrong = json!({"username": "caiwu", "password": "Wrong.Pass1"});
        for _ in 0..4 {
            let (s, v, _) = o.send(json_request(Method::POST, "/api/v1/session", None, &wrong)).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        }
        // The fifth failure locks, and says so.
        let (s, v, _) = o.send(json_request(Method::POST, "/api/v1/session", None, &wrong)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        assert!(v["detail"].as_str().unwrap().starts_with("登录失败次数过多，账号已锁定至10:15"), "{v}");
        let right = json!({"username": "caiwu", "password": PASSWORD});
        let (s, v, _) = o.send(json_request(Method::POST, "/api/v1/session", None, &right)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "locked even with the right password: {v}");
        assert!(v["detail"].as_str().unwrap().contains("锁定"), "{v}");
        o.clock.set(start() + Duration::minutes(16));
        let cookie = o.login("caiwu").await;
        // An unknown user gets the same answer as a wrong password.
        let (s, v, _) = o.send(json_request(Method::POST, "/api/v1/session", None, &json!({"username": "nobody", "password": "x"}))).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(v["detail"], "用户名或密码不正确 (wrong username or password)");

        let (s, _) = o.call(Method::GET, "/api/v1/me", &cookie, None).await;
        assert_eq!(s, StatusCode::OK);
        o.clock.set(start() + Duration::minutes(16 + 29));
        let (s, _) = o.call(Method::GET, "/api/v1/me", &cookie, None).await;
        assert_eq!(s, StatusCode::OK, "used within the idle timeout");
        o.clock.set(start() + Duration::minutes(16 + 29 + 31));
        let (s, v) = o.call(Method::GET, "/api/v1/me", &cookie, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "idle for 31 minutes: {v}");
        db.drop_db().await;
    }

    async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body(db) {
        let o = Office::open(&db).await;
        let admin = o.login("guanli").await;
        let body = json!({"unit": "370102-0001", "title": "党员发展材料不规范", "kind": "time_bound", "deadline": "2026-05-31", "owner": null, "leader": null, "verifier": null, "measures": null});
        let req = |b: &Value| {
            Request::builder().method(Method::POST).uri("/api/v1/items").header("cookie", admin.as_str())
                .header("content-type", "application/json").header("idempotency-key", "item-2026-001")
                .body(Body::from(b.to_string())).unwrap()
        };
        let (s1, first, _) = o.send(req(&body)).await;
        assert_eq!(s1, StatusCode::CREATED, "{first}");
        let (s2, again, h) = o.send(req(&body)).await;
        assert_eq!((s2, &again), (StatusCode::CREATED, &first));
        assert_eq!(h["idempotent-replayed"], "true");
        let (_, items) = o.call(Method::GET, "/api/v1/items?unit=370102-0001", &admin, None).await;
        assert_eq!(items["items"].as_array().unwrap().len(), 1, "one item, not two");
        let mut other = body.clone();
        other["title"] = json!("另一事项");
        let (s3, v, _) = o.send(req(&other)).await;
        assert_eq!(s3, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["type"], "urn:duban:problem:idempotency-key-reused");
        db.drop_db().await;
    }
}

backend_tests! {
    async fn a_finance_officer_books_through_the_api_and_a_refusal_names_the_command(db) {
        let o = Office::open(&db).await;
        let caiwu = o.login("caiwu").await;
        let batch = json!([
            {"key": "b-1", "command": {"command": "appropriate", "date": "2026-03-01", "line": "other", "amount": "1000"}},
            {"key": "b-2", "command": {"command": "allocate", "date": "2026-03-01", "line": "other", "unit": "370102-0001", "purpose": "阵地建设", "amount": "600", "approval": {"meeting": "部务会", "date": "2026-02-20"}}},
        ]);
        let (s, v) = o.call(Method::POST, "/api/v1/ledger/commands", &caiwu, Some(&batch)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v.as_array().unwrap().len(), 2);
        // Over the headroom: refused, and nothing of the batch is written.
        let over = json!([
            {"key": "b-3", "command": {"command": "allocate", "date": "2026-03-01", "line": "other", "unit": "370102-0002", "purpose": "p", "amount": "100", "approval": {"meeting": "部务会", "date": "2026-02-20"}}},
            {"key": "b-4", "command": {"command": "allocate", "date": "2026-03-01", "line": "other", "unit": "370102-0003", "purpose": "p", "amount": "500", "approval": {"meeting": "部务会", "date": "2026-02-20"}}},
        ]);
        let (s, v) = o.call(Method::POST, "/api/v1/ledger/commands", &caiwu, Some(&over)).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert_eq!(v["pointer"], "/1", "{v}");
        let (_, allocations) = o.call(Method::GET, "/api/v1/ledger/allocations?year=2026", &caiwu, None).await;
        assert_eq!(allocations.as_array().unwrap().len(), 1, "{allocations}");
        // A bad amount is named by its place.
        let bad = json!({"key": "b-5", "command": {"command": "appropriate", "date": "2026-03-01", "line": "other", "amount": "1.001"}});
        let (s, v) = o.call(Method::POST, "/api/v1/ledger/commands", &caiwu, Some(&bad)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["pointer"].as_str().unwrap().starts_with("/command/amount"), "{v}");
        let (s, v) = o.call(Method::GET, "/api/v1/ledger/verify", &caiwu, None).await;
        assert_eq!((s, &v["intact"]), (StatusCode::OK, &json!(true)), "{v}");
        db.drop_db().await;
    }
}

backend_tests! {
    // Through the API: a payment split by the bank over two lines and two payments made in
    // one line are matched as groups, listed, and a group is undone whole by one request.
    async fn split_and_combined_payments_are_matched_and_undone_through_the_api(db) {
        let o = Office::open(&db).await;
        let caiwu = o.login("caiwu").await;
        let body = json!({"code": "basic", "name": "基本户", "number": "6222", "bank": "建设银行"});
        let (s, v) = o.call(Method::POST, "/api/v1/bank/accounts", &caiwu, Some(&body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let approval = json!({"meeting": "部务会", "date": "2026-02-20"});
        let pay = |key: &str, allocation: i64, amount: &str, date: &str, payee: &str, account: &str| json!({"key": key, "command": {"command": "disburse", "date": date, "allocation": allocation, "amount": amount,
            "payment": {"bank_account": "basic", "payee_name": payee, "payee_account": account}}});
        let batch = json!([
            {"key": "t-1", "command": {"command": "appropriate", "date": "2026-01-05", "line": "other", "amount": "100000"}},
            {"key": "t-2", "command": {"command": "allocate", "date": "2026-03-01", "line": "other", "unit": "370102-0001", "purpose": "阵地建设", "amount": "40000", "approval": approval}},
            {"key": "t-3", "command": {"command": "allocate", "date": "2026-03-01", "line": "other", "unit": "370102-0002", "purpose": "阵地建设", "amount": "40000", "approval": approval}},
            pay("t-4", 1, "30000", "2026-03-05", "甲支部", "6222000000000001"),
            pay("t-5", 2, "7500", "2026-03-06", "乙支部", "6222000000000002"),
            pay("t-6", 2, "5000", "2026-03-07", "乙支部", "6222000000000002"),
        ]);
        let (s, v) = o.call(Method::POST, "/api/v1/ledger/commands", &caiwu, Some(&batch)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let csv = [
            "交易日期,支出,收入,余额,对方户名,对方账号,摘要\n",
            "20260305,10000.00,,90000.00,甲支部,6222000000000001,拨付一\n",
            "20260306,20000.00,,70000.00,甲支部,6222000000000001,拨付二\n",
            "20260308,12500.00,,57500.00,乙支部,6222000000000002,合并拨付\n",
        ].concat();
        let upload = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/bank/statements?account=basic&name=basic.csv")
            .header("cookie", &caiwu)
            .body(Body::from(csv))
            .unwrap();
        let (s, v, _) = o.send(upload).await;
        assert_eq!((s, v["lines_added"].as_u64()), (StatusCode::OK, Some(3)), "{v}");
        let (s, v) = o.call(Method::POST, "/api/v1/bank/match?account=basic", &caiwu, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let matched = v["matched"].as_array().unwrap();
        let rules: Vec<&str> = matched.iter().map(|m| m["rule"].as_str().unwrap()).collect();
        assert_eq!(rules, ["combined", "split"], "{v}");
        assert_eq!(matched[0]["more_postings"].as_array().map(Vec::len), Some(1), "{v}");
        assert_eq!(matched[1]["more_lines"].as_array().map(Vec::len), Some(1), "{v}");
        assert!(v["rules"].as_array().unwrap().iter().any(|r| r["rule"] == "split" && r["enabled"] == true), "{v}");
        let (_, rows) = o.call(Method::GET, "/api/v1/bank/matches?account=basic", &caiwu, None).await;
        assert_eq!(rows.as_array().map(Vec::len), Some(4), "{rows}");
        let split_row = rows.as_array().unwrap().iter().rev().find(|r| r["rule"] == "split").unwrap();
        let uri = format!("/api/v1/bank/matches/{}/unmatch", split_row["id"]);
        let (s, v) = o.call(Method::POST, &uri, &caiwu, Some(&json!({"account": "basic", "reason": "复核"}))).await;
        assert_eq!((s, v["reversals"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{v}");
        assert!(v["fee_reversal"].is_null(), "{v}");
        let (s, v) = o.call(Method::POST, &uri, &caiwu, Some(&json!({"account": "basic", "reason": "again"}))).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        let (_, rows) = o.call(Method::GET, "/api/v1/bank/matches?account=basic", &caiwu, None).await;
        assert_eq!(rows.as_array().map(Vec::len), Some(2), "{rows}");
        let (_, ex) = o.call(Method::GET, "/api/v1/bank/exceptions?account=basic", &caiwu, None).await;
        assert_eq!(ex.as_array().map(Vec::len), Some(2), "{ex}");
        assert_eq!(ex[0]["would_match"]["rule"], "split", "{ex}");
        // Three-way: the two allocations not fully paid; every payment seen on a line but the
        // split one, now unmatched.
        let (s, tw) = o.call(Method::GET, "/api/v1/bank/three-way?as_of=2026-04-30", &caiwu, None).await;
        assert_eq!(s, StatusCode::OK, "{tw}");
        assert_eq!(tw["commitments"].as_array().map(Vec::len), Some(2), "{tw}");
        assert_eq!(tw["payments"].as_array().map(Vec::len), Some(1), "{tw}");
        assert_eq!((tw["payments"][0]["age_days"].as_i64(), tw["payments"][0]["bucket"].as_str()), (Some(56), Some("31-90")), "{tw}");
        let (s, v) = o.call(Method::GET, "/api/v1/ledger/verify", &caiwu, None).await;
        assert_eq!((s, &v["intact"]), (StatusCode::OK, &json!(true)), "{v}");
        db.drop_db().await;
    }
}

backend_tests! {
    // A manual match of amounts that differ is refused naming the difference, unless the
    // finance officer confirms it as the bank's charge: then the fee is booked with the match
    // and reversed by its unmatch.
    async fn a_manual_match_books_the_difference_as_a_fee_only_when_confirmed_through_the_api(db) {
        let o = Office::open(&db).await;
        let caiwu = o.login("caiwu").await;
        let body = json!({"code": "basic", "name": "基本户", "number": "6222", "bank": "建设银行"});
        let (s, v) = o.call(Method::POST, "/api/v1/bank/accounts", &caiwu, Some(&body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let approval = json!({"meeting": "部务会", "date": "2026-02-20"});
        let batch = json!([
            {"key": "f-1", "command": {"command": "appropriate", "date": "2026-01-05", "line": "other", "amount": "100000"}},
            {"key": "f-2", "command": {"command": "allocate", "date": "2026-03-01", "line": "other", "unit": "370102-0001", "purpose": "阵地建设", "amount": "40000", "approval": approval}},
            {"key": "f-3", "command": {"command": "disburse", "date": "2026-03-05", "allocation": 1, "amount": "1000",
                "payment": {"bank_account": "basic", "payee_name": "甲支部", "payee_account": "6222000000000001"}}},
        ]);
        let (s, v) = o.call(Method::POST, "/api/v1/ledger/commands", &caiwu, Some(&batch)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let csv = "交易日期,支出,收入,余额,对方户名,对方账号,摘要\n20260305,1000.50,,98999.50,甲支部,6222000000000001,拨付含汇费\n";
        let upload = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/bank/statements?account=basic&name=basic.csv")
            .header("cookie", &caiwu)
            .body(Body::from(csv))
            .unwrap();
        let (s, v, _) = o.send(upload).await;
        assert_eq!((s, v["lines_added"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
        let (_, ex) = o.call(Method::GET, "/api/v1/bank/exceptions?account=basic", &caiwu, None).await;
        let line = ex[0]["line"]["id"].as_i64().unwrap();
        let posting = ex[0]["near"][0]["entry"].as_i64().unwrap();
        let req = |fee: bool| json!({"account": "basic", "line": line, "posting": posting, "reason": "汇费", "fee": fee});
        let (s, v) = o.call(Method::POST, "/api/v1/bank/matches", &caiwu, Some(&req(false))).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert!(v["detail"].as_str().unwrap().contains("相差 -0.50"), "{v}");
        let (_, rows) = o.call(Method::GET, "/api/v1/bank/matches?account=basic", &caiwu, None).await;
        assert_eq!(rows.as_array().map(Vec::len), Some(0), "{rows}");
        let (s, m) = o.call(Method::POST, "/api/v1/bank/matches", &caiwu, Some(&req(true))).await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        assert_eq!((m["rule"].as_str(), m["difference"].as_i64()), (Some("manual"), Some(-50)), "{m}");
        assert!(m["fee_transaction_id"].is_i64(), "{m}");
        let fee_balance = |v: &serde_json::Value| v["rows"].as_array().unwrap().iter().find(|r| r["account"] == "expenses:bank-fees").map(|r| r["balance"].clone());
        let (_, b) = o.call(Method::GET, "/api/v1/ledger/balances", &caiwu, None).await;
        assert_eq!(fee_balance(&b), Some(json!("0.50")), "{b}");
        let (_, rows) = o.call(Method::GET, "/api/v1/bank/matches?account=basic", &caiwu, None).await;
        assert_eq!(rows.as_array().map(Vec::len), Some(2), "{rows}");
        let (_, ex) = o.call(Method::GET, "/api/v1/bank/exceptions?account=basic", &caiwu, None).await;
        assert_eq!(ex.as_array().map(Vec::len), Some(0), "{ex}");
        let uri = format!("/api/v1/bank/matches/{}/unmatch", m["id"]);
        let (s, v) = o.call(Method::POST, &uri, &caiwu, Some(&json!({"account": "basic", "reason": "复核"}))).await;
        assert_eq!((s, v["reversals"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{v}");
        assert!(v["fee_reversal"].is_i64(), "{v}");
        let (_, b) = o.call(Method::GET, "/api/v1/ledger/balances", &caiwu, None).await;
        assert!(fee_balance(&b).is_none_or(|f| f == json!("0.00")), "{b}");
        let (s, v) = o.call(Method::GET, "/api/v1/ledger/verify", &caiwu, None).await;
        assert_eq!((s, &v["intact"]), (StatusCode::OK, &json!(true)), "{v}");
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_are_refused_and_same_site_ones_pass() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = Office::open(&db).await;
    let admin = o.login("guanli").await;
    let post = |headers: &[(&str, &str)]| {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/workflows/replan")
            .header("host", "duban.example.cn")
            .header("cookie", admin.as_str())
            .header("content-type", "application/json");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::from(r#"{"dry_run":true}"#)).unwrap()
    };
    let (s, _, _) = o.send(post(&[("sec-fetch-site", "cross-site")])).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = o
        .send(post(&[("origin", "https://evil.example.com")]))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = o
        .send(post(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://duban.example.cn"),
        ]))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = o
        .send(post(&[("origin", "https://duban.example.cn")]))
        .await;
    assert_eq!(s, StatusCode::OK);
    // Behind a proxy that rewrites Host, the public address reminders link to is trusted.
    let proxied = |origin: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/workflows/replan")
            .header("host", "10.0.0.1:8080")
            .header("cookie", admin.as_str())
            .header("content-type", "application/json")
            .header("origin", origin)
            .body(Body::from(r#"{"dry_run":true}"#))
            .unwrap()
    };
    let plain = o
        .router
        .clone()
        .oneshot(proxied("https://duban.example.cn"))
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::FORBIDDEN);
    let behind_proxy = duban_http::router(
        duban_http::AppState::new(o.app.clone()).with_public_url("https://duban.example.cn/"),
    );
    let r = behind_proxy
        .clone()
        .oneshot(proxied("https://duban.example.cn"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = behind_proxy
        .oneshot(proxied("https://evil.example.com"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problems_name_the_json_pointer_and_the_bad_cells_of_an_upload() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = Office::open(&db).await;
    let admin = o.login("guanli").await;
    let (s, v) = o
        .call(
            Method::POST,
            "/api/v1/answers",
            &admin,
            Some(&json!({"answer": "election_held", "unit": "370102-0001", "on": "2026-13-01"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["pointer"], "/on", "{v}");
    let bad = std::fs::read(repo().join("tests/fixtures/register/bad-three.csv")).unwrap();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/imports/register?name=bad.csv")
        .header("cookie", admin.as_str())
        .body(Body::from(bad))
        .unwrap();
    let (s, v, h) = o.send(req).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(h["content-type"], "application/problem+json");
    let errors = v["errors"].as_array().unwrap();
    assert!(errors.len() >= 3, "{v}");
    assert!(
        errors
            .iter()
            .all(|e| e["row"].as_u64().unwrap() >= 2 && !e["column"].as_str().unwrap().is_empty()),
        "{v}"
    );
    db.drop_db().await;
}

/// Messages carry signed links: the page shows what is asked and changes nothing; the form
/// answers once; tampered, expired and used links say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secretary_answers_a_reminder_from_its_link_once() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = Office::open(&db).await;
    // The chains planned by the import fire what is due today.
    o.app.engine.tick(o.clock.now()).await.unwrap();
    let store = db.store().await;
    let outbox: Vec<String> = duban_store::entities::outbox::Entity::find()
        .all(store.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    let count_events = || async {
        duban_store::entities::subject_events::Entity::find()
            .count(store.conn())
            .await
            .unwrap()
    };
    let (link, body) = outbox
        .iter()
        .find_map(|b| {
            let i = b.find("http://127.0.0.1:8080/l/")?;
            let end = b[i..]
                .find(char::is_whitespace)
                .map(|j| i + j)
                .unwrap_or(b.len());
            Some((
                b[i + "http://127.0.0.1:8080".len()..end].to_string(),
                b.clone(),
            ))
        })
        .expect("a message with a signed link");
    let get = |uri: &str| Request::builder().uri(uri).body(Body::empty()).unwrap();
    let events_before = count_events().await;
    let (s, page, _) = o.send(get(&link)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let page = page.as_str().unwrap().to_string();
    assert!(
        page.contains("督办事项确认") && page.contains("<form"),
        "{page}"
    );
    let event = page
        .split("name=\"answer\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("an answer offered")
        .to_string();
    // Opening the link (twice, as a mail scanner would) records nothing.
    o.send(get(&link)).await;
    assert_eq!(count_events().await, events_before);

    // A tampered link.
    let mut tampered = link.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let (s, page, _) = o.send(get(&tampered)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.as_str().unwrap().contains("链接无效"));

    let form = |e: &str| {
        Request::builder().method(Method::POST).uri(link.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("answer={e}&on=2026-03-01&note=%E5%B7%B2%E5%AE%8C%E6%88%90&record=%E8%AE%B0%E5%BD%95")))
            .unwrap()
    };
    let (s, page, _) = o.send(form(&event)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.as_str().unwrap().contains("确认成功"), "{page}");
    assert!(count_events().await > events_before);
    let (s, page, _) = o.send(form(&event)).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(page.as_str().unwrap().contains("使用过"), "{page}");

    // Links expire after 30 days.
    let other = outbox
        .iter()
        .filter_map(|b| {
            let i = b.find("http://127.0.0.1:8080/l/")?;
            let end = b[i..]
                .find(char::is_whitespace)
                .map(|j| i + j)
                .unwrap_or(b.len());
            Some(b[i + "http://127.0.0.1:8080".len()..end].to_string())
        })
        .find(|l| *l != link)
        .expect("another link");
    o.clock.set(start() + Duration::days(31));
    let (s, page, _) = o.send(get(&other)).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(page.as_str().unwrap().contains("过期"), "{page}");
    db.drop_db().await;
}

/// Bearer tokens end when revoked or expired; sessions end at sign-out (audited) and carry
/// `Secure` behind TLS; a password past its age allows nothing but changing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_sessions_and_old_passwords_end_when_they_should() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = Office::open(&db).await;
    let bearer = |token: &str| {
        Request::builder()
            .method(Method::GET)
            .uri("/api/v1/ledger/budget?year=2026")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let admin = o.login("guanli").await;
    let issue =
        |days: Option<i64>| json!({"name": "财务对接", "username": "caiwu", "valid_days": days});
    let (s, forever) = o
        .call(Method::POST, "/api/v1/tokens", &admin, Some(&issue(None)))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{forever}");
    let (s, week) = o
        .call(
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(&issue(Some(7))),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{week}");
    let (forever_secret, week_secret) = (
        forever["token"].as_str().unwrap(),
        week["token"].as_str().unwrap(),
    );
    assert!(forever_secret.starts_with("dbn_"), "{forever}");
    for secret in [forever_secret, week_secret] {
        let (s, v, _) = o.send(bearer(secret)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // The token is stored hashed: its secret appears nowhere in the database.
    let store = db.store().await;
    let tokens = duban_store::entities::api_tokens::Entity::find()
        .all(store.conn())
        .await
        .unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(
        !format!("{tokens:?}").contains(&forever_secret[4..]),
        "{tokens:?}"
    );
    // A token of the finance officer does what the finance officer may, nothing more.
    let mut users = bearer(forever_secret);
    *users.uri_mut() = "/api/v1/users".parse().unwrap();
    assert_eq!(o.send(users).await.0, StatusCode::FORBIDDEN);

    // Revoked: refused at once.
    let id = forever["id"].as_i64().unwrap();
    let (s, v) = o
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = o.send(bearer(forever_secret)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("revoked or expired"),
        "{v}"
    );
    // Expired: refused after its seventh day.
    o.clock.set(start() + Duration::days(6));
    assert_eq!(o.send(bearer(week_secret)).await.0, StatusCode::OK);
    o.clock
        .set(start() + Duration::days(7) + Duration::seconds(1));
    assert_eq!(
        o.send(bearer(week_secret)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let actions: Vec<String> = duban_store::entities::audit_log::Entity::find()
        .all(store.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.iter().filter(|a| *a == "token.issue").count() == 2
            && actions.contains(&"token.revoke".to_string()),
        "{actions:?}"
    );

    // Signing out ends the session and is audited.
    o.clock.set(start() + Duration::days(8));
    let admin = o.login("guanli").await;
    let (s, t) = o
        .call(Method::POST, "/api/v1/tokens", &admin, Some(&issue(None)))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let integration = t["token"].as_str().unwrap().to_string();
    let caiwu = o.login("caiwu").await;
    assert_eq!(
        o.call(Method::GET, "/api/v1/me", &caiwu, None).await.0,
        StatusCode::OK
    );
    let (s, _, headers) = o
        .send(json_request(
            Method::DELETE,
            "/api/v1/session",
            Some(&caiwu),
            &json!({}),
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"),
        "{headers:?}"
    );
    assert_eq!(
        o.call(Method::GET, "/api/v1/me", &caiwu, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let logouts = duban_store::entities::audit_log::Entity::find()
        .filter(duban_store::entities::audit_log::Column::Action.eq("logout"))
        .all(store.conn())
        .await
        .unwrap();
    assert_eq!(
        logouts
            .iter()
            .map(|e| (e.actor.as_str(), e.origin.as_str()))
            .collect::<Vec<_>>(),
        [("caiwu", "10.0.0.7")]
    );

    // Behind TLS the cookie is Secure; without TLS it is not (a browser would drop it).
    let tls = Office {
        router: duban_http::router(
            duban_http::AppState::new(o.app.clone()).with_secure_cookies(true),
        ),
        app: o.app.clone(),
        clock: o.clock.clone(),
    };
    let sign_in = || {
        json_request(
            Method::POST,
            "/api/v1/session",
            None,
            &json!({"username": "caiwu", "password": PASSWORD}),
        )
    };
    let (_, _, h) = tls.send(sign_in()).await;
    assert!(
        h["set-cookie"].to_str().unwrap().ends_with("; Secure"),
        "{h:?}"
    );
    let (_, _, h) = o.send(sign_in()).await;
    assert!(
        !h["set-cookie"].to_str().unwrap().contains("Secure"),
        "{h:?}"
    );

    // Ninety-one days after it was set, the password must be changed before anything else.
    o.clock.set(start() + Duration::days(91));
    let caiwu = o.login("caiwu").await;
    let (s, v) = o
        .call(Method::GET, "/api/v1/ledger/budget?year=2026", &caiwu, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["type"], "urn:duban:problem:password-expired", "{v}");
    let (s, me) = o.call(Method::GET, "/api/v1/me", &caiwu, None).await;
    assert_eq!(
        (s, &me["password_expired"]),
        (StatusCode::OK, &json!(true)),
        "{me}"
    );
    let change = json!({"current_password": PASSWORD, "password": "Xin.Mima2026"});
    let (s, v) = o
        .call(Method::PUT, "/api/v1/me/password", &caiwu, Some(&change))
        .await;
    assert!(s.is_success(), "{s}: {v}");
    // The change ends every session of the user; signed in again, all is allowed.
    assert_eq!(
        o.call(Method::GET, "/api/v1/me", &caiwu, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, v, h) = o
        .send(json_request(
            Method::POST,
            "/api/v1/session",
            None,
            &json!({"username": "caiwu", "password": "Xin.Mima2026"}),
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let caiwu = h["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (s, v) = o
        .call(Method::GET, "/api/v1/ledger/budget?year=2026", &caiwu, None)
        .await;
    assert_eq!(s, StatusCode::OK, "after the change: {v}");
    // An integration's token is not held up by its owner's password age.
    let (s, v, _) = o.send(bearer(&integration)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    db.drop_db().await;
}

/// Idempotency keys are remembered for a week and sessions until they end; housekeeping
/// then forgets them, and a key may be used again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_idempotency_keys_and_sessions_are_forgotten() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = Office::open(&db).await;
    let send = |cookie: &str, title: &str| {
        let body = json!({"unit": "370102-0001", "title": title, "kind": "time_bound", "deadline": "2026-05-31", "owner": null, "leader": null, "verifier": null, "measures": null});
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/items")
            .header("cookie", cookie)
            .header("content-type", "application/json")
            .header("idempotency-key", "item-weekly-1")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let admin = o.login("guanli").await;
    assert_eq!(
        o.send(send(&admin, "台账不全")).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        o.send(send(&admin, "另一事项")).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Six days on, nothing has expired but the idle session.
    o.clock.set(start() + Duration::days(6));
    let h = o.app.housekeeping().await.unwrap();
    assert_eq!((h.idempotency_keys, h.sessions), (0, 1), "{h:?}");
    let admin = o.login("guanli").await;
    assert_eq!(
        o.send(send(&admin, "另一事项")).await.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "still remembered"
    );
    // Eight days on, the key is forgotten: the same key starts a new request.
    o.clock.set(start() + Duration::days(8));
    let h = o.app.housekeeping().await.unwrap();
    assert_eq!((h.idempotency_keys, h.sessions), (1, 1), "{h:?}");
    let admin = o.login("guanli").await;
    let (s, v, _) = o.send(send(&admin, "另一事项")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(o.app.housekeeping().await.unwrap(), Default::default());
    db.drop_db().await;
}

/// A page past what a database can skip is refused as a bad parameter, not a server error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offset_past_what_a_database_takes_is_a_bad_parameter() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = Office::open(&db).await;
    let admin = o.login("guanli").await;
    for uri in [
        "/api/v1/deliveries?offset=9223372036854775808",
        "/api/v1/units?offset=9223372036854775808",
    ] {
        let (s, v) = o.call(Method::GET, uri, &admin, None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {v}");
        assert_eq!(v["pointer"], "offset", "{uri}: {v}");
    }
    let (s, _) = o
        .call(
            Method::GET,
            "/api/v1/deliveries?offset=0&limit=5",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    db.drop_db().await;
}

/// What a command of the command line is, for the API: reads only, one of the node's own
/// operations (each said why), or a change with its twin route (and, where one route takes
/// several kinds, the kind's tag in the request schema).
enum Twin {
    Reads,
    Operation(&'static str),
    Route(&'static str, &'static str, Option<&'static str>),
}

/// Every leaf command of `duban`, classified. A new command fails the test below until it
/// is listed here, and a change without its route fails it too.
fn cli_twins() -> Vec<(&'static str, Twin)> {
    use Twin::{Operation as Op, Reads, Route};
    const ANSWERS: &str = "/api/v1/answers";
    const LEDGER: &str = "/api/v1/ledger/commands";
    let answer = |kind| Route("post", ANSWERS, Some(kind));
    let ledger = |kind| Route("post", LEDGER, Some(kind));
    let node = "runs on the node itself (systemd/cron or `duban serve`), not a user's use case";
    vec![
        ("serve", Op("starts the server the API is part of")),
        (
            "migrate up",
            Op("schema migration by the operator before the server starts"),
        ),
        ("migrate down", Op("schema migration by the operator")),
        ("migrate status", Reads),
        (
            "backup",
            Op("a file on the node's disk; PostgreSQL/MariaDB use their own dump tools"),
        ),
        (
            "restore",
            Op("replaces the database under a stopped server"),
        ),
        ("config", Reads),
        (
            "import register",
            Route("post", "/api/v1/imports/register", None),
        ),
        (
            "import rectification",
            Route("post", "/api/v1/imports/rectification", None),
        ),
        (
            "import members",
            Route("post", "/api/v1/imports/members", None),
        ),
        ("members list", Reads),
        ("register coverage", Reads),
        ("workflows check", Reads),
        ("workflows schema", Reads),
        ("workflows simulate", Reads),
        (
            "workflows replan",
            Route("post", "/api/v1/workflows/replan", None),
        ),
        ("engine tick", Op(node)),
        (
            "engine advance",
            Op("rehearses the engine on a copy of the database"),
        ),
        ("engine bench", Op("a benchmark on a scratch database")),
        ("bank bench", Op("a benchmark on a scratch database")),
        ("engine sync", Op(node)),
        ("timers list", Reads),
        ("instances list", Reads),
        ("instances show", Reads),
        ("term elect", answer("election_held")),
        ("term extend", answer("extension_approved")),
        ("term request", answer("request_submitted")),
        ("term report", answer("result_reported")),
        ("rectification open", Route("post", "/api/v1/items", None)),
        ("rectification extend", answer("deadline_extended")),
        ("rectification review", answer("review_done")),
        ("rectification progress", answer("progress_reported")),
        ("rectification close", answer("item_verified")),
        ("rectification list", Reads),
        ("interview open", Route("post", "/api/v1/interviews", None)),
        ("interview reschedule", answer("interview_rescheduled")),
        ("interview held", answer("interview_held")),
        ("interview record", answer("record_filed")),
        ("interview list", Reads),
        ("duties record", answer("duty_done")),
        (
            "people set-roles",
            Route("put", "/api/v1/staff/{person}/roles", None),
        ),
        ("people add-staff", Route("post", "/api/v1/staff", None)),
        ("people staff", Reads),
        ("people unreachable", Reads),
        ("units list", Reads),
        ("units show", Reads),
        ("calendar is-workday", Reads),
        ("calendar add-workdays", Reads),
        ("deliveries list", Reads),
        ("deliveries dead", Reads),
        (
            "deliveries resend",
            Route("post", "/api/v1/deliveries/{id}/resend", None),
        ),
        ("dispatch", Op(node)),
        ("ledger balance", Reads),
        ("ledger budget", Reads),
        ("ledger export", Reads),
        ("ledger verify", Reads),
        ("ledger transactions", Reads),
        ("ledger allocations", Reads),
        ("ledger appropriate", ledger("appropriate")),
        ("ledger virement", ledger("virement")),
        ("ledger allocate", ledger("allocate")),
        ("ledger allocate-startup", ledger("allocate_startup_batch")),
        ("ledger disburse", ledger("disburse")),
        ("ledger release", ledger("release")),
        ("ledger pay", ledger("pay_direct")),
        ("ledger reverse", ledger("reverse")),
        ("ledger receive", ledger("receive")),
        ("ledger apportion", ledger("apportion")),
        ("ledger dues record", ledger("record_dues")),
        ("ledger dues calc", Reads),
        ("ledger dues list", Reads),
        ("ledger rebate apply", ledger("apply_rebate")),
        ("ledger rebate approve", ledger("approve_rebate")),
        ("ledger rebate list", Reads),
        ("ledger period close", ledger("close_period")),
        ("ledger period status", Reads),
        ("ledger year close", ledger("close_year")),
        ("ledger submit", Route("post", LEDGER, None)),
        (
            "ledger bench allocations",
            Op("a benchmark on a scratch database"),
        ),
        (
            "ledger bench reports",
            Op("a benchmark on a scratch database"),
        ),
        ("audit verify", Reads),
        ("audit export", Reads),
        ("bank preview", Reads),
        ("bases add", Route("post", "/api/v1/bases", None)),
        ("bases edit", Route("put", "/api/v1/bases/{code}", None)),
        ("bases list", Reads),
        ("bases calendar", Reads),
        ("bases book", Route("post", "/api/v1/bookings", None)),
        (
            "bases cancel",
            Route("post", "/api/v1/bookings/{id}/cancel", None),
        ),
        ("bases bookings", Reads),
        (
            "bank accounts add",
            Route("post", "/api/v1/bank/accounts", None),
        ),
        ("bank accounts list", Reads),
        (
            "bank import",
            Route("post", "/api/v1/bank/statements", None),
        ),
        ("bank lines", Reads),
        ("bank match", Route("post", "/api/v1/bank/match", None)),
        ("bank exceptions", Reads),
        ("bank three-way", Reads),
        ("bank matches", Reads),
        (
            "bank match-manual",
            Route("post", "/api/v1/bank/matches", None),
        ),
        (
            "bank unmatch",
            Route("post", "/api/v1/bank/matches/{id}/unmatch", None),
        ),
        ("bank profiles list", Reads),
        ("bank profiles show", Reads),
        (
            "bank profiles save",
            Route("post", "/api/v1/bank/profiles", None),
        ),
        (
            "bank profiles remove",
            Route("delete", "/api/v1/bank/profiles/{name}", None),
        ),
        ("report budget-execution", Reads),
        ("report unit-ledger", Reads),
        ("report bank-reconciliation", Reads),
        ("report dues", Reads),
        ("users add", Route("post", "/api/v1/users", None)),
        (
            "users passwd",
            Route("put", "/api/v1/users/{username}/password", None),
        ),
        (
            "users set",
            Route("patch", "/api/v1/users/{username}", None),
        ),
        (
            "users disable",
            Route("patch", "/api/v1/users/{username}", None),
        ),
        (
            "users enable",
            Route("patch", "/api/v1/users/{username}", None),
        ),
        ("users list", Reads),
        ("users token issue", Route("post", "/api/v1/tokens", None)),
        (
            "users token revoke",
            Route("delete", "/api/v1/tokens/{id}", None),
        ),
        ("users token list", Reads),
    ]
}

/// The leaf commands of `duban`, read from its own help.
fn cli_leaves() -> Vec<String> {
    fn walk(path: &[String], out: &mut Vec<String>) {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (o, stdout, stderr) =
            crate::support::run(crate::support::duban("sqlite::memory:").args(&args));
        assert!(o.status.success(), "duban {args:?}: {stderr}");
        let subs: Vec<String> = stdout
            .lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| *c != "help")
            .map(String::from)
            .collect();
        if subs.is_empty() {
            out.push(path.join(" "));
        }
        for s in subs {
            let mut p = path.to_vec();
            p.push(s);
            walk(&p, out);
        }
    }
    let mut out = Vec::new();
    walk(&[], &mut out);
    out
}

#[test]
fn every_command_that_changes_state_has_its_api_twin() {
    let twins = cli_twins();
    let leaves = cli_leaves();
    let listed: Vec<&str> = twins.iter().map(|(c, _)| *c).collect();
    let unlisted: Vec<&String> = leaves
        .iter()
        .filter(|l| !listed.contains(&l.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "commands not classified for the API: {unlisted:?}"
    );
    let gone: Vec<&&str> = listed
        .iter()
        .filter(|c| !leaves.iter().any(|l| l == *c))
        .collect();
    assert!(
        gone.is_empty(),
        "classified commands that no longer exist: {gone:?}"
    );

    let doc = serde_json::to_value(duban_http::openapi()).unwrap();
    let text = doc.to_string();
    for (command, twin) in &twins {
        if let Twin::Operation(why) = twin {
            assert!(
                !why.trim().is_empty(),
                "`duban {command}`: say why it has no API twin"
            );
        }
        let Twin::Route(method, path, kind) = twin else {
            continue;
        };
        let op = &doc["paths"][*path][*method];
        assert!(
            op.is_object(),
            "`duban {command}`: the API has no {method} {path}"
        );
        if let Some(kind) = kind {
            let word = |i: usize| {
                let before = text[..i].chars().next_back();
                let after = text[i + kind.len()..].chars().next();
                [before, after]
                    .iter()
                    .all(|c| !c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_'))
            };
            assert!(
                text.match_indices(kind).any(|(i, _)| word(i)),
                "`duban {command}`: {method} {path} does not take `{kind}`"
            );
        }
    }
}
