//! The finance officer's reconciliation pages through the real router, as a browser would
//! use them: the bank accounts and the form that opens one (refusals next to their field),
//! a statement's import (the dry run's figures, then the import, then a re-import that adds
//! nothing), an account's lines filtered, sorted, paged and exported exactly as filtered,
//! matching (a dry run, the run, the exceptions with their reasons, a manual match refused
//! in place and then made, an unmatch), the three-way listing within the reader's scope;
//! then the whole journey in a real headless Chromium.

use crate::api::{Office, PASSWORD};
use crate::finance_pages::table;
use crate::pages::{Browser, december};
use crate::support::{TestDb, repo};
use axum::http::StatusCode;
use duban_app::Actor;
use serde_json::{Value, json};

fn setup() -> Actor {
    Actor::command_line("setup")
}

/// The smallest real statement beside the repository: Ping An, February 2026, 3 lines
/// (MANIFEST.md: opening 9733.22, closing 9273.89, out 6459.33 in 2 lines, in 6000.00 in 1).
pub(crate) const PINGAN: &str = "pingan-corp-2026-02.xlsx";

pub(crate) fn statement(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("../shared/data/bank-statements").join(name)).unwrap()
}

async fn book(o: &Office, commands: Value) {
    let app = &o.app;
    let envelopes = app.ledger_envelopes(&setup(), &commands).unwrap();
    app.ledger_apply(&setup(), envelopes, None).await.unwrap();
}

/// The book of the Ping An account: the loan instalment of 6,458.33 paid on the day the bank
/// took it (the rules match it), and 1.00 booked nineteen days after the bank's fee (too far
/// for the rules: an exception with its near candidate). Allocation 2 lies in 市中区 and is
/// not paid: a commitment outside 历下区.
pub(crate) async fn book_payments(o: &Office) {
    let approval = json!({"meeting": "部务会 2026-01", "date": "2026-01-04"});
    let pay = |key: &str, amount: &str, date: &str| {
        json!({"key": key, "command": {"command": "disburse", "date": date, "allocation": 1, "amount": amount,
            "payment": {"bank_account": "pingan", "voucher": format!("记-{key}")}}})
    };
    book(
        o,
        json!([
            {"key": "w-1", "command": {"command": "appropriate", "date": "2026-01-05", "line": "other", "amount": "100000"}},
            {"key": "w-2", "command": {"command": "allocate", "date": "2026-01-20", "line": "other", "unit": "370102-0001", "purpose": "阵地建设", "amount": "10000", "approval": approval}},
            {"key": "w-3", "command": {"command": "allocate", "date": "2026-06-01", "line": "other", "unit": "370103-0021", "purpose": "市中区补助", "amount": "777.70", "approval": approval}},
            pay("w-4", "6458.33", "2026-02-01"),
            pay("w-5", "1.00", "2026-02-20"),
        ]),
    )
    .await;
}

/// The message shown next to a field or row (`id="{id}-error"`).
pub(crate) fn error_of(html: &str, id: &str) -> Option<String> {
    html.split(&format!("id=\"{id}-error\""))
        .nth(1)
        .and_then(|s| s.split('>').nth(1))
        .and_then(|s| s.split('<').next())
        .map(str::to_string)
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The ids of a table's rows that carry one (`<tr id="line-7">` → 7).
fn row_ids(html: &str, prefix: &str) -> Vec<i64> {
    html.split(&format!("<tr id=\"{prefix}-"))
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse().ok())
        .collect()
}

backend_tests! {
    async fn bank_pages_open_an_account_import_match_and_list_in_chinese(db) {
        bank_pages_journey(&db).await;
    }
}

async fn bank_pages_journey(db: &TestDb) {
    let o = december(db).await;
    let mut caiwu = Browser::new(&o);
    caiwu.sign_in("caiwu").await;

    // The accounts: none yet, a form; the navigation leads here.
    let a = caiwu.get("/bank").await;
    assert_eq!(a.status, StatusCode::OK);
    let html = a.text();
    assert!(html.contains("<h1>银行账户</h1>"), "{html}");
    assert!(
        html.contains("href=\"/bank\" aria-current=\"page\""),
        "{html}"
    );
    assert!(html.contains("href=\"/three-way\""));
    assert!(html.contains("尚无银行或现金账户"));

    // A code that is not one, a name left empty: refused next to their fields, the input kept.
    let form = |code: &'static str, name: &'static str| {
        [
            ("code", code),
            ("name", name),
            ("number", "15990603437847"),
            ("bank", "平安银行昆明分行"),
        ]
    };
    let a = caiwu.post("/bank", &form("PA 1", "平安基本户")).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = a.text();
    let e = error_of(&html, "code").unwrap_or_else(|| panic!("{html}"));
    assert!(e.starts_with("账户代码为1至24位小写字母"), "{e}");
    assert!(
        !e.contains("lowercase"),
        "Chinese only on a Chinese page: {e}"
    );
    assert!(html.contains("value=\"平安基本户\"") && html.contains("value=\"PA 1\""));
    let a = caiwu.post("/bank", &form("pingan", " ")).await;
    let e = error_of(&a.text(), "name").unwrap();
    assert!(e.contains("必填") && !e.contains("required"), "{e}");
    assert!(
        o.app.bank_accounts(&setup()).await.unwrap().is_empty(),
        "nothing written"
    );

    let a = caiwu.post("/bank", &form("pingan", "平安基本户")).await;
    assert_eq!(
        (a.status, a.location()),
        (StatusCode::SEE_OTHER, "/bank?done=added&code=pingan")
    );
    let html = caiwu.get(a.location()).await.text();
    assert!(html.contains("已新增账户 pingan。"), "{html}");
    let rows = table(&html, "accounts");
    assert_eq!(
        rows[0][..6],
        [
            "pingan",
            "平安基本户",
            "15990603437847",
            "平安银行昆明分行",
            "assets:bank:pingan",
            "2026年12月2日"
        ]
    );
    let a = caiwu.post("/bank", &form("pingan", "又一个")).await;
    assert_eq!(
        error_of(&a.text(), "code").as_deref(),
        Some("账户代码“pingan”已被使用")
    );

    // The import: the dry run's figures as MANIFEST.md gives them, nothing written.
    let a = caiwu
        .upload("/bank/pingan/import", "file", PINGAN, &statement(PINGAN))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let html = a.text();
    assert_eq!(
        table(&html, "figures"),
        [
            vec!["笔数", "3"],
            vec!["起止日期", "2026年2月1日 – 2026年2月27日"],
            vec!["期初余额", "9,733.22"],
            vec!["期末余额", "9,273.89"],
            vec!["支出合计", "6,459.33（2 笔）"],
            vec!["收入合计", "6,000.00（1 笔）"],
            vec!["新增", "3"],
            vec!["已有（不重复导入）", "0"],
        ]
    );
    let first = table(&html, "first-lines");
    assert_eq!(
        first[0],
        [
            "2",
            "2026年2月1日",
            "-6,458.33",
            "3,274.89",
            "小企业与腾龙核心系统间往来",
            "贷款扣款"
        ]
    );
    assert_eq!(first.len(), 3);
    assert!(html.contains("尚未写入任何数据"));
    assert!(
        o.app
            .bank_lines(&setup(), "pingan", None, None)
            .await
            .unwrap()
            .is_empty()
    );
    let name = html
        .split("name=\"name\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let content = html
        .split("name=\"content\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let confirm = [("name", name.as_str()), ("content", content.as_str())];
    let a = caiwu.post("/bank/pingan/import/confirm", &confirm).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.text().contains("已导入：新增 3 笔，已有 0 笔未重复导入"),
        "{}",
        a.text()
    );
    // Again: nothing new.
    let a = caiwu.post("/bank/pingan/import/confirm", &confirm).await;
    assert!(
        a.text().contains("已导入：新增 0 笔，已有 3 笔未重复导入"),
        "{}",
        a.text()
    );
    assert_eq!(
        o.app
            .bank_lines(&setup(), "pingan", None, None)
            .await
            .unwrap()
            .len(),
        3
    );

    // A statement of another account and a broken one: refused with row and column, in Chinese.
    let a = caiwu
        .upload(
            "/bank/pingan/import",
            "file",
            "ccb-personal-2025-01.xls",
            &statement("ccb-personal-2025-01.xls"),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let refusal = table(&a.text(), "refusal");
    assert_eq!(refusal[0][..2], ["10", "账户余额"], "{refusal:?}");
    assert!(
        refusal[0][2].starts_with("第10行“账户余额”列") && !refusal[0][2].contains("row 10"),
        "{refusal:?}"
    );
    let a = caiwu
        .upload(
            "/bank/pingan/import",
            "file",
            "ceb-corp-2026-02.xls",
            &statement("ceb-corp-2026-02.xls"),
        )
        .await;
    assert!(
        table(&a.text(), "refusal")[0][1]
            .contains("文件的账号 39610287431592250 不是账户“pingan”的账号"),
        "{}",
        a.text()
    );

    // Matching: the dry run proposes the instalment and writes nothing.
    book_payments(&o).await;
    let a = caiwu.post("/bank/pingan/match", &[("run", "dry")]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let html = a.text();
    assert!(
        html.contains("试运行结果：将匹配 1 笔，剩余未匹配 2 笔"),
        "{html}"
    );
    let proposed = table(&html, "proposed");
    assert_eq!(proposed.len(), 1);
    assert_eq!(
        proposed[0][2..],
        ["金额一致且日期相近", "金额、日期", "0.00"],
        "{proposed:?}"
    );
    assert!(
        o.app
            .bank_matches(&setup(), "pingan")
            .await
            .unwrap()
            .is_empty()
    );
    let a = caiwu.post("/bank/pingan/match", &[("run", "real")]).await;
    assert_eq!(
        (a.status, a.location()),
        (StatusCode::SEE_OTHER, "/bank/pingan/match?done=matched&n=1")
    );
    let html = caiwu.get(a.location()).await.text();
    assert!(html.contains("本次匹配 1 笔"));
    assert_eq!(table(&html, "matches").len(), 1);
    // The exceptions, each with why: the fee near the 1.00 booked 19 days later, the transfer in with nothing near.
    let ex = table(&html, "exceptions");
    assert_eq!(ex.len(), 2, "{ex:?}");
    assert_eq!(
        ex[0][1..4],
        ["2026年2月1日", "-1.00", "对公金卫士手续费收入"]
    );
    assert!(
        ex[0][5].contains("相隔 19 天") && has_cjk(&ex[0][5]),
        "{ex:?}"
    );
    assert!(ex[1].iter().any(|c| c == "账上没有相近的分录。"), "{ex:?}");
    let lines = row_ids(&html, "line");
    let fee_line = lines[0].to_string();

    // A manual match with a posting of another account: refused next to the row, input kept.
    let a = caiwu
        .post(
            "/bank/pingan/manual",
            &[
                ("line", &fee_line),
                ("posting", "99999"),
                ("reason", "手续费"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = a.text();
    let e = error_of(&html, &format!("line-{fee_line}")).unwrap_or_else(|| panic!("{html}"));
    assert_eq!(e, "分录#99999不在账户“pingan”上");
    assert!(html.contains("value=\"99999\"") && html.contains("value=\"手续费\""));
    let posting = html
        .split(&format!("id=\"line-{fee_line}\""))
        .nth(1)
        .unwrap()
        .split("分录#")
        .nth(1)
        .unwrap()
        .split('（')
        .next()
        .unwrap()
        .to_string();
    let a = caiwu
        .post(
            "/bank/pingan/manual",
            &[
                ("line", &fee_line),
                ("posting", &posting),
                ("reason", "手续费晚记账"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    let html = caiwu.get(a.location()).await.text();
    assert!(html.contains("已人工匹配"), "{html}");
    let matches = table(&html, "matches");
    assert_eq!(matches.len(), 2);
    assert!(
        matches.iter().any(|m| m.contains(&"人工匹配".to_string())),
        "{matches:?}"
    );
    assert_eq!(table(&html, "exceptions").len(), 1);

    // Unmatch asks a reason (refused in place without one), then reverses the match.
    let manual_id = row_ids(&html, "match").into_iter().max().unwrap();
    let uri = format!("/bank/pingan/matches/{manual_id}/unmatch");
    let a = caiwu.post(&uri, &[("reason", " ")]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_of(&a.text(), &format!("match-{manual_id}")).as_deref(),
        Some("reason: 撤销匹配须写明原因")
    );
    let a = caiwu.post(&uri, &[("reason", "对错了")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let html = caiwu.get(a.location()).await.text();
    assert!(html.contains(&format!("已撤销匹配#{manual_id}")), "{html}");
    assert_eq!(
        (
            table(&html, "matches").len(),
            table(&html, "exceptions").len()
        ),
        (1, 2)
    );
    let again = caiwu.post(&uri, &[("reason", "再撤")]).await;
    assert_eq!(
        error_of(&again.text(), &format!("match-{manual_id}")).as_deref(),
        Some(format!("匹配#{manual_id}已经撤销").as_str())
    );

    // The lines: filtered on the server, sorted, summed, exported exactly as filtered.
    let html = caiwu.get("/bank/pingan/lines").await.text();
    assert!(html.contains("共 3 笔，第 1/1 页"), "{html}");
    let rows = table(&html, "lines");
    assert_eq!(rows[0][..3], ["2026年2月1日", "6,458.33", "3,274.89"]);
    assert!(rows[0].last().unwrap().starts_with("匹配#"));
    let html = caiwu
        .get("/bank/pingan/lines?direction=out&matched=no")
        .await
        .text();
    let rows = table(&html, "lines");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][1], "1.00");
    let html = caiwu
        .get("/bank/pingan/lines?sort=amount&dir=desc&from=2026-02-01&to=2026-02-28")
        .await
        .text();
    let amounts: Vec<String> = table(&html, "lines").iter().map(|r| r[1].clone()).collect();
    assert_eq!(
        amounts,
        ["6,000.00", "1.00", "6,458.33"],
        "in first (largest signed amount), then the smaller outflow"
    );
    assert!(html.contains("aria-sort=\"descending\""));
    assert!(
        html.contains("<td class=\"num\">6,459.33</td><td class=\"num\">6,000.00</td>"),
        "the sums: {html}"
    );
    let csv = caiwu.get("/bank/pingan/lines.csv?direction=out").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM");
    let text = String::from_utf8_lossy(&csv.bytes[3..]).to_string();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        r.headers().unwrap().iter().take(3).collect::<Vec<_>>(),
        ["交易日期", "支出", "收入"]
    );
    let recs: Vec<Vec<String>> = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(recs.len(), 2, "only money out: {recs:?}");
    assert_eq!(recs[0][..2], ["2026-02-01", "6,458.33"]);
    let xlsx = caiwu.get("/bank/pingan/lines.xlsx?direction=in").await;
    assert_eq!(xlsx.status, StatusCode::OK);
    {
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.bytes.clone())).unwrap();
        let name = book.sheet_names()[0].clone();
        let range = book.worksheet_range(&name).unwrap();
        assert_eq!(range.rows().count(), 2, "the header and the one line in");
    }
    let bad = caiwu.get("/bank/pingan/lines?from=2026-13-01").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.text().contains("日期“2026-13-01”无效") && !bad.text().contains("not a date"),
        "{}",
        bad.text()
    );

    // The three-way listing: the unpaid commitments and the payment no line is matched with.
    let html = caiwu.get("/three-way").await.text();
    assert!(html.contains("账龄计至2026年12月2日"), "{html}");
    let c = table(&html, "commitments");
    assert_eq!(c.len(), 2, "{c:?}");
    assert!(
        c.iter().any(|r| r.contains(&"3,540.67".to_string())),
        "{c:?}"
    );
    assert!(c.iter().any(|r| r[2].starts_with("370103-0021")), "{c:?}");
    let p = table(&html, "payments");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0][..2], ["记-w-5", "2026年2月20日"]);
    assert!(
        p[0].contains(&"1.00".to_string()) && p[0].contains(&"90天以上".to_string()),
        "{p:?}"
    );
    assert!(html.contains("href=\"/reports/bank-reconciliation\""));
    let csv = caiwu.get("/three-way.csv").await;
    assert!(csv.bytes.starts_with(b"\xEF\xBB\xBF"));
    assert_eq!(
        String::from_utf8_lossy(&csv.bytes).lines().count(),
        4,
        "header and three rows"
    );

    // A finance officer limited to 历下区 sees no 市中区 commitment; a secretary is refused.
    o.app
        .add_user(
            &setup(),
            duban_app::accounts::UserRequest {
                username: "lixia-caiwu".into(),
                display_name: String::new(),
                password: PASSWORD.into(),
                role: duban_app::Role::FinanceOfficer,
                districts: vec!["历下区".into()],
                units: vec![],
            },
        )
        .await
        .unwrap();
    let mut lixia = Browser::new(&o);
    lixia.sign_in("lixia-caiwu").await;
    let html = lixia.get("/three-way").await.text();
    let c = table(&html, "commitments");
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0][2].starts_with("370102-0001"), "{c:?}");
    assert!(!html.contains("370103-0021"));
    let csv = lixia.get("/three-way.csv").await;
    assert!(!String::from_utf8_lossy(&csv.bytes).contains("370103-0021"));

    let mut shuji = Browser::new(&o);
    shuji.sign_in("shuji").await;
    for uri in [
        "/bank",
        "/bank/pingan/lines",
        "/bank/pingan/match",
        "/three-way",
        "/bank/pingan/import",
    ] {
        let a = shuji.get(uri).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(a.text().contains("没有权限"), "{uri}: {}", a.text());
    }
    let a = shuji.post("/bank", &form("x", "y")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // A viewer reads the lists but has no forms.
    let mut chakan = Browser::new(&o);
    chakan.sign_in("chakan").await;
    let html = chakan.get("/bank/pingan/match").await.text();
    assert!(
        !html.contains("/unmatch") && !html.contains("/manual"),
        "{html}"
    );
    assert_eq!(
        chakan
            .post("/bank/pingan/match", &[("run", "dry")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    db_ok(&o).await;
}

async fn db_ok(o: &Office) {
    let problems = o.app.ledger_verify(&setup()).await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}

/// The Ping An account with its statement imported, the book of [`book_payments`] and one
/// matching run: a match and two exceptions.
pub(crate) async fn with_a_matched_statement(o: &Office) {
    let app = &o.app;
    app.add_bank_account(
        &setup(),
        duban_app::bank::BankAccountRequest {
            code: "pingan".into(),
            name: "平安基本户".into(),
            number: "15990603437847".into(),
            bank: "平安银行昆明分行".into(),
        },
    )
    .await
    .unwrap();
    app.import_statement(&setup(), "pingan", PINGAN, &statement(PINGAN), false)
        .await
        .unwrap();
    book_payments(o).await;
    app.match_bank(&setup(), "pingan", false).await.unwrap();
}

mod browser {
    use super::*;
    use crate::pages::browser::{axe_violations, launch};

    /// A finance officer in headless Chromium opens an account, previews the Ping An
    /// statement (its figures as MANIFEST.md gives them), imports it, runs the match dry and
    /// for real, reads the exceptions' reasons, matches one by hand and undoes it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bank_pages_in_headless_chromium_import_a_statement_match_and_unmatch() {
        let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
        let o = december(&db).await;
        let Some(browser) = launch(o.router.clone()).await else {
            db.drop_db().await;
            return;
        };
        let axe = std::fs::read_to_string(repo().join("tests/fixtures/axe/axe.min.js")).unwrap();
        let (s, site) = (&browser.s, browser.site.clone());
        s.call(
            reqwest::Method::POST,
            "/timeouts",
            Some(json!({"script": 60_000})),
        )
        .await;
        let mut violations = Vec::new();

        s.sign_in(&site, "caiwu", PASSWORD).await;
        s.goto(&format!("{site}/bank")).await;
        s.fill("#code", "pingan").await;
        s.fill("#name", "平安基本户").await;
        s.fill("#number", "15990603437847").await;
        s.fill("#bank", "平安银行昆明分行").await;
        s.click("form[action='/bank'] button[type=submit]").await;
        s.wait_text("#notice", |t| t == "已新增账户 pingan。").await;
        assert_eq!(s.text("#accounts tbody tr td").await, "pingan");
        s.screenshot("bank-accounts.png").await;

        // The preview: the file chosen in the form, its figures, nothing written.
        s.goto(&format!("{site}/bank/pingan/import")).await;
        let input = s.find("#file").await;
        let path = repo().join("../shared/data/bank-statements").join(PINGAN);
        let path = path.canonicalize().unwrap();
        s.call(
            reqwest::Method::POST,
            &format!("/element/{input}/value"),
            Some(json!({"text": path.to_string_lossy()})),
        )
        .await;
        s.click("#check").await;
        s.wait_text("#notice", |t| t.contains("可以导入：新增 3 笔"))
            .await;
        let figure = |n: usize| s.text_owned(format!("#figures tbody tr:nth-child({n}) td"));
        assert_eq!(figure(1).await, "3");
        assert_eq!(figure(3).await, "9,733.22");
        assert_eq!(figure(4).await, "9,273.89");
        assert_eq!(figure(5).await, "6,459.33（2 笔）");
        assert_eq!(figure(6).await, "6,000.00（1 笔）");
        assert!(
            o.app
                .bank_lines(&setup(), "pingan", None, None)
                .await
                .unwrap()
                .is_empty()
        );
        s.screenshot("bank-import-preview.png").await;
        violations.extend(axe_violations(s, &axe).await);
        s.click("#confirm").await;
        s.wait_text("#notice", |t| t.contains("已导入：新增 3 笔"))
            .await;
        assert_eq!(
            o.app
                .bank_lines(&setup(), "pingan", None, None)
                .await
                .unwrap()
                .len(),
            3
        );

        // Matching: the dry run's proposal, then the run.
        book_payments(&o).await;
        s.goto(&format!("{site}/bank/pingan/match")).await;
        s.click("#dry-run").await;
        s.wait_text("#proposed-h", |t| t.contains("将匹配 1 笔"))
            .await;
        assert_eq!(
            s.text("#proposed tbody tr td:nth-child(3)").await,
            "金额一致且日期相近"
        );
        s.screenshot("bank-match-dry-run.png").await;
        violations.extend(axe_violations(s, &axe).await);
        s.click("#run").await;
        s.wait_text("#notice", |t| t.contains("本次匹配 1 笔"))
            .await;
        let reason = s
            .text("#exceptions tbody tr:first-child td:nth-child(6)")
            .await;
        assert!(reason.contains("相隔 19 天"), "{reason}");
        s.screenshot("bank-exceptions.png").await;

        // By hand: the nearest posting is offered; then undone with a reason.
        s.fill(
            "#exceptions tbody tr:first-child input[name=reason]",
            "手续费晚记账",
        )
        .await;
        s.click("#exceptions tbody tr:first-child button").await;
        s.wait_text("#notice", |t| t.starts_with("已人工匹配"))
            .await;
        assert_eq!(
            s.text("#matches tbody tr:last-child td:nth-child(4)").await,
            "人工匹配"
        );
        s.fill("#matches tbody tr:last-child input[name=reason]", "对错了")
            .await;
        s.click("#matches tbody tr:last-child button").await;
        s.wait_text("#notice", |t| t.starts_with("已撤销匹配"))
            .await;
        assert_eq!(
            o.app.bank_matches(&setup(), "pingan").await.unwrap().len(),
            1
        );
        s.screenshot("bank-unmatched.png").await;
        s.goto(&format!("{site}/three-way")).await;
        s.wait_text("#payments tbody tr td", |t| t == "记-w-5")
            .await;
        s.screenshot("three-way.png").await;
        assert!(violations.is_empty(), "{}", violations.join("\n"));
        browser.close().await;
        db.drop_db().await;
    }
}
