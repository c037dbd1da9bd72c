//! Bank statement profiles saved from a preview: a statement in a layout no shipped profile
//! knows is refused, a finance officer maps its header cells and saves a profile, and the same
//! file then imports with the saved profile's name; through the binary and the API.

use crate::api::Office;
use crate::support::{TestDb, duban, repo, run};
use axum::http::{Method, StatusCode};
use base64::Engine;
use serde_json::json;

/// CCB's 2017 text export (MANIFEST.md file 6) with its header cells renamed into a layout
/// no shipped profile knows: 付出金额 / 存入金额 / 结余 / 流水编号.
fn unknown_layout() -> String {
    let text =
        std::fs::read_to_string(repo().join("../shared/data/bank-statements/ccb-corp-2017-12.txt"))
            .unwrap();
    let (header, rest) = text.split_once('\n').unwrap();
    let header = header
        .replace("\"借方发生额（支取）\"", "\"付出金额\"")
        .replace("\"贷方发生额（收入）\"", "\"存入金额\"")
        .replace("\"余额\"", "\"结余\"")
        .replace("\"账户明细编号-交易流水号\"", "\"流水编号\"");
    format!("{header}\n{rest}")
}

const MAP: &[&str] = &[
    "--map",
    "date=记账日期",
    "--map",
    "time=交易时间",
    "--map",
    "debit=付出金额",
    "--map",
    "credit=存入金额",
    "--map",
    "balance=结余",
    "--map",
    "account=账号",
    "--map",
    "counterparty_name=对方户名",
    "--map",
    "counterparty_account=对方账号",
    "--map",
    "summary=摘要",
    "--map",
    "serial=流水编号",
];

fn cli(db: &TestDb, args: &[&str]) -> (Option<i32>, String, String) {
    let (out, stdout, stderr) = run(duban(&db.url).args(args));
    (out.status.code(), stdout, stderr)
}

backend_tests! {
    async fn a_finance_officer_saves_a_profile_from_a_preview_and_the_file_then_imports(db) {
        assert_eq!(cli(&db, &["migrate", "up"]).0, Some(0));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("对账单-2017-12.csv");
        std::fs::write(&file, unknown_layout()).unwrap();
        let f = file.to_str().unwrap();

        // No shipped profile reads it: refused with the reason, its header cells shown.
        let (code, stdout, stderr) = cli(&db, &["bank", "preview", f]);
        assert_eq!(code, Some(1), "{stdout}{stderr}");
        assert!(stderr.contains("找不到明细表头"), "{stderr}");
        assert!(stdout.contains("第1行（表头候选）"), "{stdout}");
        assert!(stdout.contains("付出金额") && stdout.contains("结余"), "{stdout}");
        assert!(stdout.contains("存入金额") && stdout.contains("credit（收入（贷方）金额）"), "{stdout}");
        let (code, _, _) = cli(&db, &["bank", "accounts", "add", "--code", "qd", "--name", "青岛基本户", "--number", "37101501693974234382", "--bank", "建设银行"]);
        assert_eq!(code, Some(0));
        let (code, _, stderr) = cli(&db, &["bank", "import", "--account", "qd", f]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains("找不到明细表头"), "{stderr}");

        // A bad mapping: a cell the header lacks, named with its field and row; nothing saved.
        let mut bad: Vec<&str> = vec!["bank", "profiles", "save", "--from", f, "--name", "qingdao"];
        bad.extend(MAP);
        bad.extend(["--map", "balance=余额"]);
        let (code, stdout, stderr) = cli(&db, &bad);
        assert_eq!(code, Some(1), "{stdout}{stderr}");
        assert!(stderr.contains("［余额｜balance］第1行：表头行中没有“余额”这一格"), "{stderr}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
        // A name of a shipped profile is refused too.
        let mut clash: Vec<&str> = vec!["bank", "profiles", "save", "--from", f, "--name", "ccb"];
        clash.extend(MAP);
        let (code, _, stderr) = cli(&db, &clash);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains("“ccb”是随附格式的名称"), "{stderr}");
        let (_, stdout, _) = cli(&db, &["bank", "profiles", "list", "--format", "json"]);
        let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert!(list.as_array().unwrap().iter().all(|p| p["source"] == "shipped"), "{list}");

        // A dry run shows the figures and saves nothing; then the profile is saved.
        let mut save: Vec<&str> = vec!["bank", "profiles", "save", "--from", f, "--name", "qingdao", "--bank", "建设银行（旧版）"];
        save.extend(MAP);
        let mut dry = save.clone();
        dry.push("--dry-run");
        let (code, stdout, stderr) = cli(&db, &dry);
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        assert!(stdout.contains("试读（未保存）：按格式“qingdao”读取 对账单-2017-12.csv：5 笔；支出 1 笔 2,416.72；收入 4 笔 230,416.00；期初余额 155,503,488.21；期末余额 155,731,487.49"), "{stdout}");
        let (code, stdout, stderr) = cli(&db, &save);
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        assert!(stdout.starts_with("已保存："), "{stdout}");
        let (_, stdout, _) = cli(&db, &["bank", "profiles", "show", "qingdao"]);
        assert!(stdout.contains("格式：qingdao  银行：建设银行（旧版）") && stdout.contains("结余"), "{stdout}");

        // The same file now previews and imports with the saved profile, as MANIFEST.md gives it.
        let (code, stdout, stderr) = cli(&db, &["bank", "preview", f]);
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        assert!(stdout.contains("格式 qingdao"), "{stdout}");
        let (code, stdout, stderr) = cli(&db, &["bank", "import", "--account", "qd", f]);
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        assert!(stdout.contains("已导入对账单-2017-12.csv（格式 qingdao）：5 笔，新增 5 笔，已有 0 笔；支出 1 笔 2,416.72；收入 4 笔 230,416.00；期末余额 155,731,487.49"), "{stdout}");
        // The shipped profiles still read the shipped layout.
        let (code, stdout, _) = cli(&db, &["bank", "preview", repo().join("../shared/data/bank-statements/ccb-corp-2017-12.txt").to_str().unwrap()]);
        assert_eq!(code, Some(0));
        assert!(stdout.contains("格式 ccb"), "{stdout}");

        // Saved again: replaced, the old value kept in the audit log; then removed.
        let mut again = save.clone();
        again[8] = "中国建设银行";
        let (code, stdout, _) = cli(&db, &again);
        assert_eq!(code, Some(0));
        assert!(stdout.starts_with("已保存（替换了同名格式）"), "{stdout}");
        let (code, stdout, _) = cli(&db, &["audit", "export", "--from", "2000-01-01", "--to", "2100-01-01", "--format", "json"]);
        assert_eq!(code, Some(0));
        let saves: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["action"] == "bank_profile.save")
            .collect();
        assert_eq!(saves.len(), 2, "{stdout}");
        assert!(saves[1]["before"].to_string().contains("建设银行（旧版）"), "{}", saves[1]);
        let (code, _, _) = cli(&db, &["bank", "profiles", "remove", "qingdao"]);
        assert_eq!(code, Some(0));
        let (code, _, stderr) = cli(&db, &["bank", "profiles", "remove", "qingdao"]);
        assert_ne!(code, Some(0), "{stderr}");
        let (code, _, _) = cli(&db, &["bank", "preview", f]);
        assert_eq!(code, Some(1));
        let (code, stdout, stderr) = cli(&db, &["audit", "verify"]);
        assert_eq!(code, Some(0), "{stdout}{stderr}");
    }
}

/// Through the API: the layout to map, a dry run, a refusal at its JSON pointer; auditors
/// read the profiles and cannot save one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_through_the_api_finance_officers_write_and_auditors_read() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = Office::open(&db).await;
    let (finance, auditor) = (o.login("caiwu").await, o.login("shenji").await);
    let file = unknown_layout();
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/bank/profiles/layout")
        .header("cookie", &finance)
        .header("content-type", "application/octet-stream")
        .body(axum::body::Body::from(file.clone()))
        .unwrap();
    let (s, layout, _) = o.send(req).await;
    assert_eq!(s, StatusCode::OK, "{layout}");
    assert_eq!(layout["profile"], serde_json::Value::Null);
    assert_eq!(layout["header_row"], 1);
    assert_eq!(layout["header"][3], "付出金额");
    assert_eq!(layout["columns"]["date"], "记账日期");

    let content = base64::engine::general_purpose::STANDARD.encode(&file);
    let columns = json!({"date": "记账日期", "debit": "付出金额", "credit": "存入金额", "balance": "结余", "account": "账号"});
    let body = |name: &str, columns: &serde_json::Value, dry_run: bool| json!({"profile": {"name": name, "bank": "建设银行", "columns": columns}, "file_name": "a.csv", "file": content, "dry_run": dry_run});
    let (s, v) = o
        .call(
            Method::POST,
            "/api/v1/bank/profiles",
            &finance,
            Some(&body("qd", &columns, true)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["saved"].as_bool(), v["figures"]["lines"].as_u64()),
        (Some(false), Some(5))
    );
    assert_eq!(v["figures"]["credit_total"], "230416.00");
    let mut wrong = columns.clone();
    wrong["balance"] = json!("余额");
    let (s, v) = o
        .call(
            Method::POST,
            "/api/v1/bank/profiles",
            &finance,
            Some(&body("qd", &wrong, false)),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["pointer"], "/profile/columns/balance", "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("表头行中没有“余额”这一格"),
        "{v}"
    );
    let (s, v) = o
        .call(
            Method::POST,
            "/api/v1/bank/profiles",
            &auditor,
            Some(&body("qd", &columns, false)),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = o
        .call(Method::GET, "/api/v1/bank/profiles/qd", &auditor, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing was saved: {v}");
    let (s, v) = o
        .call(
            Method::POST,
            "/api/v1/bank/profiles",
            &finance,
            Some(&body("qd", &columns, false)),
        )
        .await;
    assert_eq!(
        (s, v["saved"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{v}"
    );
    let (s, v) = o
        .call(Method::GET, "/api/v1/bank/profiles/qd", &auditor, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["source"].as_str(),
            v["mapping"]["columns"]["balance"].as_str()
        ),
        (Some("saved"), Some("结余"))
    );
    let (s, _) = o
        .call(Method::DELETE, "/api/v1/bank/profiles/qd", &auditor, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = o
        .call(Method::DELETE, "/api/v1/bank/profiles/qd", &finance, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    db.drop_db().await;
}

/// The page: the saved profiles, and the form that makes one from an upload — its header
/// cells, a select per field labelled in Chinese, a try whose refusal stands beside its
/// field, a save; auditors read the list without the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profiles_page_maps_an_upload_and_shows_a_refusal_beside_its_field() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = Office::open(&db).await;
    let mut b = crate::pages::Browser::new(&o);
    b.sign_in("caiwu").await;
    let page = b.get("/bank/profiles").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("<h1>银行对账单格式</h1>") && html.contains("还没有保存的格式"),
        "{html}"
    );
    assert!(
        html.contains("href=\"/bank/profiles\""),
        "the navigation links the page"
    );
    assert!(
        html.contains("<label class=\"field\" for=\"file\">银行对账单文件</label>"),
        "{html}"
    );

    let file = unknown_layout();
    let form = b
        .upload("/bank/profiles/map", "file", "a.csv", file.as_bytes())
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text());
    let html = form.text();
    assert!(html.contains("没有格式能读取此文件"), "{html}");
    assert!(
        html.contains("<label class=\"field\" for=\"col_debit\">支出（借方）金额</label>"),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"付出金额\">付出金额</option>"),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"记账日期\" selected>记账日期</option>"),
        "the date is recognised: {html}"
    );
    let content = html
        .split("name=\"content\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let mut fields = vec![
        ("file_name", "a.csv"),
        ("content", content.as_str()),
        ("name", "qd"),
        ("bank", "建设银行"),
        ("detect", ""),
        ("col_date", "记账日期"),
        ("col_debit", "付出金额"),
        ("col_balance", "结余"),
        ("action", "try"),
    ];
    // No money-in column: refused beside that field, nothing saved.
    let tried = b.post("/bank/profiles", &fields).await;
    assert_eq!(tried.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = tried.text();
    assert!(
        html.contains(
            "<p class=\"field-error\" id=\"col_credit-error\">缺少必需的列“收入（贷方）金额”"
        ),
        "{html}"
    );
    assert!(
        html.contains("aria-describedby=\"col_credit-error\""),
        "{html}"
    );
    // With it, the try shows the figures; the save saves.
    fields.push(("col_credit", "存入金额"));
    let tried = b.post("/bank/profiles", &fields).await;
    assert_eq!(tried.status, StatusCode::OK, "{}", tried.text());
    let html = tried.text();
    assert!(
        html.contains("按此映射可以读取") && html.contains("230,416.00"),
        "{html}"
    );
    assert!(html.contains("155,731,487.49"), "{html}");
    fields.retain(|(k, _)| *k != "action");
    fields.push(("action", "save"));
    let saved = b.post("/bank/profiles", &fields).await;
    assert_eq!(saved.status, StatusCode::OK);
    let html = saved.text();
    assert!(html.contains("已保存格式“qd”"), "{html}");
    assert!(html.contains("<td>qd</td><td>建设银行</td>"), "{html}");

    // The auditor reads the list; the form is not theirs.
    let mut a = crate::pages::Browser::new(&o);
    a.sign_in("shenji").await;
    let html = a.get("/bank/profiles").await.text();
    assert!(
        html.contains("<td>qd</td>") && !html.contains("name=\"file\""),
        "{html}"
    );
    let refused = a
        .upload("/bank/profiles/map", "file", "a.csv", file.as_bytes())
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // In English.
    b.post("/lang", &[("lang", "en"), ("back", "/bank/profiles")])
        .await;
    let html = b.get("/bank/profiles").await.text();
    assert!(html.contains("Bank statement profiles"), "{html}");
    db.drop_db().await;
}
