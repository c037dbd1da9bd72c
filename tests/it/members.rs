//! The party members' roster (党员名册) through the binary and the API: a file with bad cells
//! is refused whole, each cell located in Chinese; the same file again changes nothing; a
//! changed row updates the member and re-plans their chain; lists mask contacts and keep to
//! the reader's units.

use crate::api::Office;
use crate::support::{TestDb, duban, run};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;

const HEADER: &str = "姓名,所在党组织代码,入党时间,手机,邮箱\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_is_imported_whole_or_not_at_all_and_again_changes_nothing() {
    let Some(db) = TestDb::create(crate::support::Kind::Sqlite).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        let mut c = duban(&db.url);
        c.env("DUBAN_NOW", "2026-11-25T10:00").args(args);
        run(&mut c)
    };
    let ok = |args: &[&str]| {
        let (out, stdout, stderr) = cli(args);
        assert!(
            out.status.success(),
            "duban {}: {stdout}\n{stderr}",
            args.join(" ")
        );
        stdout
    };
    let json = |args: &[&str]| -> Value {
        let text = ok(&[args, &["--format", "json"]].concat());
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    let file = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("{HEADER}{body}")).unwrap();
        p.to_str().unwrap().to_string()
    };
    ok(&["migrate", "up"]);
    let demo = crate::support::repo().join("config/demo/register.csv");
    ok(&["import", "register", demo.to_str().unwrap()]);

    let bad = file(
        "bad.csv",
        "陈晓,370102-0001,2015-12-10,,chenxiao@example.cn\n\
         李明,370102-9999,2015-12-10,,\n\
         王强,370102-0001,2015-13-10,,\n\
         赵红,370102-0001,2027-01-01,12345,\n\
         陈晓,370102-0001,2016-12-10,,\n",
    );
    let (out, _, stderr) = cli(&["import", "members", &bad]);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for expected in [
        "row 3, column 所在党组织代码: 党组织名册中没有代码为“370102-9999”的党组织",
        "row 4, column 入党时间: “2015-13-10”不是日期",
        "row 5, column 入党时间: 2027年1月1日晚于今天（2026年11月25日）",
        "row 5, column 手机: “1***”不是中国大陆手机号码",
        "row 6, column 姓名: 同一党组织的党员陈晓已在第2行出现",
        "5 error(s); nothing was imported",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert_eq!(
        json(&["members", "list"]).as_array().unwrap().len(),
        0,
        "a refused file wrote members"
    );
    let chains = json(&["instances", "list", "--workflow", "political_birthday"]);
    assert_eq!(chains.as_array().unwrap().len(), 0, "{chains:#}");

    let roster = file(
        "roster.csv",
        "陈晓,370102-0001,2015-12-10,,chenxiao@example.cn\n\
         刘洋,370102-0001,2009-07-01,139 0531 0417,\n\
         周强,370102-0002,2021-06-15,,\n",
    );
    let preview = json(&["import", "members", &roster, "--dry-run"]);
    assert_eq!(
        (preview["created"].as_u64(), preview["dry_run"].as_bool()),
        (Some(3), Some(true)),
        "{preview:#}"
    );
    assert_eq!(
        json(&["members", "list"]).as_array().unwrap().len(),
        0,
        "a dry run wrote members"
    );

    let shown = ok(&["import", "members", &roster]);
    assert!(shown.contains("新增3人"), "{shown}");
    assert!(
        shown.contains("1人既无手机也无邮箱") && shown.contains("370102-0002 周强"),
        "{shown}"
    );
    let listed = json(&["members", "list"]);
    let liu = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "刘洋")
        .unwrap();
    assert_eq!(
        (liu["mobile"].as_str(), liu["joined_on"].as_str()),
        (Some("139****0417"), Some("2009-07-01")),
        "{listed:#}"
    );
    let table = ok(&["members", "list", "--unit", "370102-0001"]);
    assert!(
        table.contains("2009年7月1日")
            && table.contains("139****0417")
            && !table.contains("13905310417"),
        "{table}"
    );
    assert!(!table.contains("周强"), "{table}");

    let again = json(&["import", "members", &roster]);
    assert_eq!(
        (
            again["created"].as_u64(),
            again["updated"].as_u64(),
            again["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(3)),
        "{again:#}"
    );
    let chains = json(&["instances", "list", "--workflow", "political_birthday"]);
    assert_eq!(chains.as_array().unwrap().len(), 3, "{chains:#}");

    // A corrected joining date updates the member and moves their chain (20 December 2026
    // is a Sunday: the greeting waits for Monday morning).
    let chain = chains
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == "党员陈晓")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let changed = file(
        "changed.csv",
        "陈晓,370102-0001,2015-12-20,,chenxiao@example.cn\n",
    );
    let done = json(&["import", "members", &changed]);
    assert_eq!(done["updated"].as_u64(), Some(1), "{done:#}");
    let v = json(&["instances", "show", &chain]);
    let pending: Vec<String> = v["timers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state"] == "pending" && t["step_id"] == "greeting")
        .map(|t| t["due_at"].as_str().unwrap()[..10].to_string())
        .collect();
    assert_eq!(pending, vec!["2026-12-21".to_string()], "{v:#}");

    // A member with no contact is listed as unreachable when their day comes.
    ok(&["engine", "advance", "--to", "2027-06-16T10:00"]);
    let unreachable = ok(&["people", "unreachable", "--format", "json"]);
    assert!(unreachable.contains("member"), "{unreachable}");
    db.drop_db().await;
}

/// The API twins: an administrator imports, a district's administrator only for the
/// district's units; readers list within their scope, a secretary only their units' members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roster_through_the_api_keeps_to_each_readers_units() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = Office::open(&db).await;
    let admin = o.login("guanli").await;
    let lixia = o.login("lixia-guanli").await;
    let secretary = o.login("shuji").await;
    let viewer = o.login("chakan").await;
    let post = |cookie: &str, query: &str, body: String| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/imports/members?name=members.csv{query}"))
            .header("cookie", cookie)
            .body(Body::from(format!("{HEADER}{body}")))
            .unwrap()
    };
    // 370102-*: 历下区; 120101-*: 和平区 (Tianjin).
    let other = std::fs::read_to_string(crate::support::repo().join("config/demo/register.csv"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split(',').nth(8))
        .find(|c| c.starts_with("120101-"))
        .unwrap()
        .to_string();
    let roster = format!(
        "陈晓,370102-0001,2015-12-10,,chenxiao@example.cn\n孙丽,370102-0002,2018-03-26,13805310932,\n王海,{other},2012-05-04,13805310999,\n"
    );
    let (s, v, _) = o.send(post(&lixia, "", roster.clone())).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a district's administrator imported another district: {v}"
    );
    let (s, v, _) = o.send(post(&secretary, "", roster.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v, _) = o
        .send(post(&admin, "", "陈晓,370102-0001,2035-12-10,,\n".into()))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        (
            v["errors"][0]["row"].as_u64(),
            v["errors"][0]["column"].as_str()
        ),
        (Some(2), Some("入党时间")),
        "{v}"
    );
    let (s, v, _) = o.send(post(&admin, "", roster)).await;
    assert_eq!((s, v["created"].as_u64()), (StatusCode::OK, Some(3)), "{v}");

    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (s, v) = o.call(Method::GET, "/api/v1/members", &admin, None).await;
    assert_eq!((s, names(&v).len()), (StatusCode::OK, 3), "{v}");
    assert!(
        v.to_string().contains("138****0932") && !v.to_string().contains("13805310932"),
        "{v}"
    );
    let (_, v) = o
        .call(Method::GET, "/api/v1/members", &secretary, None)
        .await;
    assert_eq!(names(&v), vec!["陈晓"], "{v}");
    let (_, v) = o
        .call(
            Method::GET,
            "/api/v1/members?unit=370102-0002",
            &secretary,
            None,
        )
        .await;
    assert_eq!(names(&v), Vec::<String>::new(), "{v}");
    let (_, v) = o.call(Method::GET, "/api/v1/members", &viewer, None).await;
    assert_eq!(names(&v), vec!["陈晓", "孙丽"], "{v}");

    // The simulator previews a member of the register by key.
    let (_, v) = o
        .call(
            Method::GET,
            "/api/v1/instances?workflow=political_birthday&unit=370102-0001",
            &admin,
            None,
        )
        .await;
    let key = v["items"][0]["subject_key"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    assert!(key.starts_with("member:"), "{v}");
    assert_eq!(v["items"][0]["subject_name"], "党员陈晓", "{v}");
    let body = serde_json::json!({"workflow": "political_birthday", "subject_key": key, "from": "2026-03-01", "to": "2026-12-31"});
    let (s, v) = o
        .call(
            Method::POST,
            "/api/v1/workflows/simulate",
            &admin,
            Some(&body),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let text = v.to_string();
    assert!(
        text.contains("notice_secretary")
            && text.contains("2026-12-03")
            && text.contains("入党11周年"),
        "{v}"
    );
    db.drop_db().await;
}
