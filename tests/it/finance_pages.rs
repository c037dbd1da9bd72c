//! The finance officer's pages through the real router, as a browser would use them: the
//! budget's execution with its chart and exports, the allocation and disbursement forms
//! (the headroom before, the refusal next to its field after, a double submit booked
//! once), the allocations filtered, sorted, paged and exported exactly as filtered, and a
//! unit's fund ledger; then the over-headroom refusal in a real headless Chromium.

use crate::api::Office;
use crate::pages::{Answer, Browser, december};
use crate::support::TestDb;
use axum::http::StatusCode;
use duban_app::Actor;
use duban_app::ledger::Executed;
use serde_json::{Value, json};

fn setup() -> Actor {
    Actor::command_line("setup")
}

/// Books ledger commands (the JSON of `duban ledger submit`) as the command line does.
async fn book(o: &Office, commands: Value) -> Vec<Executed> {
    let app = &o.app;
    let envelopes = app.ledger_envelopes(&setup(), &commands).unwrap();
    app.ledger_apply(&setup(), envelopes, None).await.unwrap()
}

/// Two lines for 2026: training 1,000.00 and other 250,000.00.
async fn appropriate(o: &Office) {
    book(
        o,
        json!([
            {"key": "a-1", "command": {"command": "appropriate", "date": "2026-01-05", "line": "training", "amount": "1000"}},
            {"key": "a-2", "command": {"command": "appropriate", "date": "2026-01-05", "line": "other", "amount": "250000"}},
        ]),
    )
    .await;
}

/// Allocation #1: 600.00 on training to 370102-0001 (transaction 3), 123.45 of it paid
/// (transaction 4).
async fn allocate_and_pay(o: &Office) {
    book(
        o,
        json!([
            {"key": "p-1", "command": {"command": "allocate", "date": "2026-03-02", "line": "training", "unit": "370102-0001", "purpose": "党员培训", "amount": "600", "approval": {"meeting": "部务会 2026-03", "date": "2026-03-01"}}},
            {"key": "p-2", "command": {"command": "disburse", "date": "2026-03-09", "allocation": 1, "amount": "123.45"}},
        ]),
    )
    .await;
}

async fn allocations(o: &Office) -> Vec<duban_ledger::model::Allocation> {
    o.app
        .ledger_allocations(&setup(), Some(2026), None)
        .await
        .unwrap()
}

async fn assert_ledger_intact(o: &Office) {
    let problems = o.app.ledger_verify(&setup()).await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}

/// The hidden idempotency key of the form on a page.
fn form_key(html: &str) -> String {
    html.split("name=\"key\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| panic!("no key in the form: {html}"))
        .to_string()
}

/// Posts a form with its hidden key.
async fn send(b: &mut Browser<'_>, uri: &str, key: &str, fields: &[(&str, &str)]) -> Answer {
    let mut form = vec![("key", key)];
    form.extend_from_slice(fields);
    b.post(uri, &form).await
}

/// The message shown next to a field (`<p class="field-error" id="{field}-error">`).
fn field_error(html: &str, field: &str) -> Option<String> {
    html.split(&format!("id=\"{field}-error\">"))
        .nth(1)
        .and_then(|s| s.split('<').next())
        .map(str::to_string)
}

/// The text of each cell of each body row of the table `id`.
pub(crate) fn table(html: &str, id: &str) -> Vec<Vec<String>> {
    let t = html
        .split(&format!("id=\"{id}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no table {id}"));
    let body = t.split("<tbody>").nth(1).unwrap_or("");
    let body = body.split("</tbody>").next().unwrap_or("");
    body.split("<tr")
        .skip(1)
        // A row's text begins after its tag (which may carry an id).
        .map(|row| row.split_once('>').map_or("", |x| x.1))
        .map(|row| {
            row.split(['<', '>'])
                .enumerate()
                // Text sits between a tag's end and the next tag's start: odd pieces are tags.
                .filter(|(i, _)| i % 2 == 0)
                .map(|(_, t)| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()
        })
        .collect()
}

/// An export's rows without its header, as CSV fields (the BOM checked and dropped).
fn csv_rows(a: &Answer) -> (Vec<String>, Vec<Vec<String>>) {
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert!(a.bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM");
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(&a.bytes[3..]);
    let headers = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

fn xlsx_rows(a: &Answer) -> Vec<Vec<calamine::Data>> {
    use calamine::{Reader, Xlsx};
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(a.bytes.clone())).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

/// The budget of 2026 after [`appropriate`] and [`allocate_and_pay`], as shown and exported:
/// paid 123.45 of 1,000.00 is 12.345 %, 12.3 % to one place, rounded once.
fn budget_rows() -> Vec<Vec<String>> {
    [
        [
            "教育培训",
            "1,000.00",
            "600.00",
            "123.45",
            "400.00",
            "12.3%",
        ],
        ["其他", "250,000.00", "0.00", "0.00", "250,000.00", "0.0%"],
        [
            "合计",
            "251,000.00",
            "600.00",
            "123.45",
            "250,400.00",
            "0.0%",
        ],
    ]
    .iter()
    .map(|r| r.iter().map(|c| c.to_string()).collect())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_pages_budget_execution_in_chinese_with_its_chart_and_exports() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = december(&db).await;
    appropriate(&o).await;
    allocate_and_pay(&o).await;

    let mut caiwu = Browser::new(&o);
    assert_eq!(caiwu.sign_in("caiwu").await.location(), "/budget");
    let a = caiwu.get("/budget").await;
    assert_eq!(a.status, StatusCode::OK);
    let html = a.text();
    assert!(html.contains("<h1>2026年度预算执行情况</h1>"), "{html}");
    assert!(html.contains("href=\"/budget\" aria-current=\"page\""));
    assert!(html.contains("截至2026年12月2日"));
    // Paid 123.45 of 1,000.00 is 12.345 %: 12.3 % to one place, rounded once.
    assert_eq!(table(&html, "budget-table"), budget_rows()[..2]);
    assert!(html.contains("<th scope=\"row\">合计</th><td class=\"num\">251,000.00</td><td class=\"num\">600.00</td><td class=\"num\">123.45</td><td class=\"num\">250,400.00</td><td class=\"num\">0.0%</td>"), "{html}");
    // The chart: three bars a line, the largest figure the widest.
    assert!(html.contains("<svg") && html.contains("各科目预算数、已核定与已支付"));
    assert_eq!(
        html.matches("<rect ").count(),
        4,
        "zero figures draw no bar"
    );
    assert!(html.contains("width=\"440\" height=\"12\"><title>其他 预算数 250,000.00</title>"));
    assert!(
        html.contains("核定拨款"),
        "the finance officer may allocate from here"
    );

    // The exports hold the table as shown, totals included.
    let (headers, rows) = csv_rows(&caiwu.get("/budget.csv?year=2026").await);
    assert_eq!(
        headers,
        [
            "预算科目",
            "预算数",
            "已核定",
            "已支付",
            "可用余额",
            "执行率"
        ]
    );
    assert_eq!(rows, budget_rows());
    let x = caiwu.get("/budget.xlsx?year=2026").await;
    let disposition = x.headers["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains("budget_2026_2026-12-02.xlsx"),
        "{disposition}"
    );
    let sheet = xlsx_rows(&x);
    use calamine::Data;
    assert_eq!(sheet.len(), 4);
    assert_eq!(sheet[1][0], Data::String("教育培训".into()));
    assert_eq!(sheet[1][1], Data::Float(1000.0));
    assert_eq!(sheet[1][3], Data::Float(123.45));
    assert_eq!(sheet[1][5], Data::String("12.3%".into()));
    assert_eq!(sheet[3][0], Data::String("合计".into()));

    // Another year: nothing appropriated, said so; a year that is not one is refused in
    // Chinese.
    let a = caiwu.get("/budget?year=2025").await;
    assert!(a.text().contains("2025年度尚未下达预算。"));
    let a = caiwu.get("/budget?year=abc").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.text().contains("年度“abc”无效，应为四位数字"),
        "{}",
        a.text()
    );

    // English on request.
    caiwu
        .post("/lang", &[("lang", "en"), ("back", "/budget")])
        .await;
    let html = caiwu.get("/budget").await.text();
    assert!(html.contains("<h1>Budget execution 2026</h1>") && html.contains("Training"));

    // A viewer reads the budget but is offered no form; an auditor may not read it.
    let mut chakan = Browser::new(&o);
    chakan.sign_in("chakan").await;
    let html = chakan.get("/budget").await.text();
    assert!(html.contains("1,000.00") && !html.contains("/allocations/new"));
    assert_eq!(
        chakan.get("/allocations/new").await.status,
        StatusCode::FORBIDDEN
    );
    let mut shenji = Browser::new(&o);
    shenji.sign_in("shenji").await;
    let a = shenji.get("/budget").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.text().contains("您没有权限查看此页面"));
    db.drop_db().await;
}

backend_tests! {
    async fn finance_pages_allocation_form_shows_the_headroom_refuses_in_place_and_books_once(db) {
        let o = december(&db).await;
        appropriate(&o).await;
        let mut caiwu = Browser::new(&o);
        caiwu.sign_in("caiwu").await;

        // Before sending: each line's headroom.
        let form = caiwu.get("/allocations/new").await;
        assert_eq!(form.status, StatusCode::OK);
        let html = form.text();
        assert_eq!(
            table(&html, "headroom"),
            vec![
                vec!["教育培训", "1,000.00", "0.00", "1,000.00"],
                vec!["其他", "250,000.00", "0.00", "250,000.00"],
            ]
        );
        assert!(html.contains("教育培训（可用余额 1,000.00）"));
        assert!(html.contains("value=\"2026-12-02\""), "booked today by default");
        let key = form_key(&html);
        let fields = |amount: &'static str, unit: &'static str, date: &'static str| {
            vec![
                ("line", "training"),
                ("unit", unit),
                ("purpose", "阵地建设"),
                ("amount", amount),
                ("date", date),
                ("meeting", "部务会 2026-11"),
                ("approval_date", "2026-11-20"),
            ]
        };
        // Past the headroom: refused next to the amount, the values kept, nothing written.
        let a = send(&mut caiwu, "/allocations", &key, &fields("1,000.01", "370102-0001", "2026-12-02")).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = a.text();
        assert_eq!(
            field_error(&html, "amount").as_deref(),
            Some("超出预算可用额度：2026 教育培训 科目可用余额为 1,000.00 元，本次需要 1,000.01 元。")
        );
        assert!(html.contains("未能提交，请按下面的提示修改。"));
        assert!(html.contains("value=\"1,000.01\"") && html.contains("value=\"阵地建设\""));
        assert!(html.contains("<option value=\"training\" selected>"));
        assert_eq!(form_key(&html), key, "the same form keeps its key");
        assert!(allocations(&o).await.is_empty());

        // A unit the register lacks, next to the unit.
        let a = send(&mut caiwu, "/allocations", &key, &fields("100", "370199-9999", "2026-12-02")).await;
        assert_eq!(
            field_error(&a.text(), "unit").as_deref(),
            Some("党组织名册中没有这个编码，请核对或先导入名册。")
        );
        // Amounts that are not amounts, each refused with its reason and never guessed.
        for (typed, reason) in [
            ("1.001", "金额最多保留两位小数（精确到分）"),
            ("abc", "金额格式不正确，例如 354000、354,000.00、¥354,000.00 或 35.4万"),
            ("-5", "金额不能带正负号，更正请用冲销"),
            ("0", "金额必须大于零"),
        ] {
            let a = send(&mut caiwu, "/allocations", &key, &fields(typed, "370102-0001", "2026-12-02")).await;
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
            assert_eq!(field_error(&a.text(), "amount").as_deref(), Some(reason), "{typed}");
        }
        // A date that is not one, next to the date.
        let a = send(&mut caiwu, "/allocations", &key, &fields("100", "370102-0001", "2026-13-01")).await;
        assert_eq!(
            field_error(&a.text(), "date").as_deref(),
            Some("请按 2026-12-03 的格式填写日期")
        );
        // A closed period, next to the date.
        book(&o, json!({"key": "close-11", "command": {"command": "close_period", "month": "2026-11"}})).await;
        let a = send(&mut caiwu, "/allocations", &key, &fields("100", "370102-0001", "2026-11-30")).await;
        assert_eq!(
            field_error(&a.text(), "date").as_deref(),
            Some("2026-11 会计期间已结账（已结账至 2026-11），请在未结账的期间记账。")
        );
        assert!(allocations(&o).await.is_empty(), "no refusal wrote anything");
        assert_ledger_intact(&o).await;

        // Sent twice with the form's key: booked once, both answered with the list.
        for _ in 0..2 {
            let a = send(&mut caiwu, "/allocations", &key, &fields("600", "370102-0001", "2026-12-02")).await;
            assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
            assert_eq!(a.location(), "/allocations?year=2026&done=allocated&id=1");
        }
        let booked = allocations(&o).await;
        assert_eq!(booked.len(), 1);
        assert_eq!(booked[0].amount, duban_core::money::Money::yuan(600));
        let html = caiwu.get("/allocations?year=2026&done=allocated&id=1").await.text();
        assert!(html.contains("已核定第1号拨款。"), "{html}");
        assert!(caiwu.get("/allocations/new").await.text().contains("教育培训（可用余额 400.00）"));

        // The disbursement form: what is outstanding before, the refusal after.
        assert_eq!(
            caiwu.get("/allocations/999/disburse").await.status,
            StatusCode::NOT_FOUND
        );
        let form = caiwu.get("/allocations/1/disburse").await;
        let html = form.text();
        assert!(html.contains("id=\"outstanding\">600.00"), "{html}");
        assert!(html.contains("核定金额（大写）</dt><dd id=\"amount-capitals\">人民币陆佰元整</dd>"), "{html}");
        let key = form_key(&html);
        let pay = |amount: &'static str| vec![("amount", amount), ("date", "2026-12-02"), ("memo", "第一笔")];
        let a = send(&mut caiwu, "/allocations/1/disburse", &key, &pay("600.01")).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            field_error(&a.text(), "amount").as_deref(),
            Some("超过尚未拨付的金额：尚未拨付 600.00 元，本次拨付 600.01 元。")
        );
        for _ in 0..2 {
            let a = send(&mut caiwu, "/allocations/1/disburse", &key, &pay("123.45")).await;
            assert_eq!(a.location(), "/allocations?done=disbursed&id=1");
        }
        let booked = allocations(&o).await;
        assert_eq!(booked[0].disbursed, duban_core::money::Money::from_fen(12_345));
        assert_eq!(booked[0].outstanding, duban_core::money::Money::from_fen(47_655));
        let html = caiwu.get("/allocations/1/disburse").await.text();
        assert!(html.contains("id=\"outstanding\">476.55"));
        assert_ledger_intact(&o).await;

        // Those who may not book are refused the forms, and so are their posts.
        let mut chakan = Browser::new(&o);
        chakan.sign_in("chakan").await;
        let a = chakan
            .post("/allocations", &[("key", "x1"), ("line", "training"), ("unit", "370102-0001"), ("purpose", "p"), ("amount", "1"), ("date", "2026-12-02"), ("meeting", "m"), ("approval_date", "2026-12-01")])
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert_eq!(chakan.get("/allocations/1/disburse").await.status, StatusCode::FORBIDDEN);
        assert_eq!(allocations(&o).await.len(), 1);
    }
}

backend_tests! {
    async fn finance_pages_allocations_filter_sort_page_and_export_exactly_as_filtered(db) {
        allocations_filter_sort_page_and_export(&db).await;
    }
}

async fn allocations_filter_sort_page_and_export(db: &TestDb) {
    let o = december(db).await;
    appropriate(&o).await;
    // 55 allocations: units 0001…0011 in turn, on "other", of 100.01, 100.02, … yuan; and
    // two on training.
    let mut commands: Vec<Value> = (1..=55)
        .map(|i| {
            let unit = format!("370102-{:04}", (i - 1) % 11 + 1);
            json!({"key": format!("o-{i}"), "command": {"command": "allocate", "date": "2026-04-01", "line": "other", "unit": unit, "purpose": format!("补助{i}"), "amount": format!("{}.{:02}", 100, i), "approval": {"meeting": "部务会", "date": "2026-03-30"}}})
        })
        .collect();
    for (i, unit) in [(56, "370102-0001"), (57, "370102-0002")] {
        commands.push(json!({"key": format!("t-{i}"), "command": {"command": "allocate", "date": "2026-05-01", "line": "training", "unit": unit, "purpose": "培训", "amount": "50", "approval": {"meeting": "部务会", "date": "2026-04-30"}}}));
    }
    book(&o, Value::Array(commands)).await;

    let mut caiwu = Browser::new(&o);
    caiwu.sign_in("caiwu").await;
    let html = caiwu.get("/allocations?year=2026").await.text();
    assert!(html.contains("共57笔拨款，第1/2页"), "{html}");
    let rows = table(&html, "allocations");
    assert_eq!(rows.len(), 50);
    assert_eq!(
        &rows[0][..4],
        ["1", "2026年4月1日", "370102-0001", "2026 其他"]
    );
    assert!(html.contains("合计（57笔）"));
    // The sums are of the whole selection: 55 × 100 + 0.01 + … + 0.55 + 2 × 50.
    assert!(html.contains("<td class=\"num\">5,615.40</td>"), "{html}");
    let page2 = caiwu.get("/allocations?year=2026&page=2").await.text();
    assert_eq!(table(&page2, "allocations").len(), 7);
    // Past the last page: the last.
    assert!(
        caiwu
            .get("/allocations?year=2026&page=9")
            .await
            .text()
            .contains("第2/2页")
    );

    // Filtered by unit and sorted by amount, largest first.
    let url = "/allocations?year=2026&unit=370102-0001&line=other&sort=amount&dir=desc";
    let html = caiwu.get(url).await.text();
    assert!(html.contains("共5笔拨款，第1/1页"), "{html}");
    let rows = table(&html, "allocations");
    let amounts: Vec<&str> = rows.iter().map(|r| r[6].as_str()).collect();
    assert_eq!(amounts, ["100.45", "100.34", "100.23", "100.12", "100.01"]);
    assert!(html.contains("aria-sort=\"descending\""));
    // The exports take the filters as they are.
    assert!(html.contains(
        "href=\"/allocations.xlsx?year=2026&unit=370102-0001&line=other&sort=amount&dir=desc\""
    ));
    let (headers, csv) = csv_rows(
        &caiwu
            .get(&url.replace("/allocations?", "/allocations.csv?"))
            .await,
    );
    assert_eq!(headers[..3], ["编号", "日期", "党组织编码"]);
    let ids: Vec<&str> = csv.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["45", "34", "23", "12", "1"]);
    assert_eq!(csv[0][1], "2026-04-01", "ISO dates in files");
    assert_eq!(csv[0][6], "100.45");
    assert_eq!(csv[0][9], "拨付中");
    let x = xlsx_rows(
        &caiwu
            .get(&url.replace("/allocations?", "/allocations.xlsx?"))
            .await,
    );
    assert_eq!(x.len(), 6);
    assert_eq!(x[1][0], calamine::Data::Float(45.0));
    assert_eq!(x[5][6], calamine::Data::Float(100.01));
    // Another unit's line: only its own.
    let html = caiwu.get("/allocations?line=training").await.text();
    assert!(html.contains("共2笔拨款"));
    // An order that does not exist is refused in Chinese.
    let a = caiwu.get("/allocations?sort=purpose").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("无法按“purpose”排序"));

    // A finance officer of 市中区 sees, sums, exports and opens only that district's.
    book(
        &o,
        json!([{"key": "s-1", "command": {"command": "allocate", "date": "2026-06-01", "line": "other", "unit": "370103-0021", "purpose": "市中区补助", "amount": "77.70", "approval": {"meeting": "部务会", "date": "2026-05-30"}}}]),
    )
    .await;
    o.app
        .add_user(
            &setup(),
            duban_app::accounts::UserRequest {
                username: "shizhong-caiwu".into(),
                display_name: String::new(),
                password: crate::api::PASSWORD.into(),
                role: duban_app::Role::FinanceOfficer,
                districts: vec!["市中区".into()],
                units: vec![],
            },
        )
        .await
        .unwrap();
    let mut shizhong = Browser::new(&o);
    shizhong.sign_in("shizhong-caiwu").await;
    let html = shizhong.get("/allocations?year=2026").await.text();
    assert!(html.contains("共1笔拨款，第1/1页"), "{html}");
    assert!(html.contains("<td class=\"num\">77.70</td>"), "{html}");
    let (_, csv) = csv_rows(&shizhong.get("/allocations.csv?year=2026").await);
    assert_eq!(csv.len(), 1);
    assert_eq!(csv[0][2], "370103-0021");
    // They book on their district's allocation, not on another's, and not the city's budget.
    let officer = Actor {
        name: "shizhong-caiwu".into(),
        role: duban_app::Role::FinanceOfficer,
        scope: duban_store::lists::Scope {
            districts: vec!["市中区".into()],
            units: vec![],
        },
        ..Actor::command_line("x")
    };
    let apply = |commands: Value| {
        let envelopes = o.app.ledger_envelopes(&officer, &commands).unwrap();
        o.app.ledger_apply(&officer, envelopes, None)
    };
    let own = apply(json!([{"key": "s-2", "command": {"command": "disburse", "date": "2026-06-02", "allocation": 58, "amount": "7.70"}}])).await;
    assert!(own.is_ok(), "{own:?}");
    let e = apply(json!([
        {"key": "s-3", "command": {"command": "disburse", "date": "2026-06-02", "allocation": 58, "amount": "1"}},
        {"key": "s-4", "command": {"command": "disburse", "date": "2026-06-02", "allocation": 1, "amount": "1"}},
    ]))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("第2条指令涉及的党组织“370102-0001”不在您的管辖范围内"),
        "{e}"
    );
    let e = apply(json!([{"key": "s-5", "command": {"command": "appropriate", "date": "2026-06-02", "line": "other", "amount": "1"}}]))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("涉及全市预算"), "{e}");
    // Nothing of the refused batches was booked.
    let mine = allocations(&o)
        .await
        .into_iter()
        .find(|a| a.id == 58)
        .unwrap();
    assert_eq!(mine.disbursed.to_string(), "7.70");
    // Another district's allocation is not there for them; the city's officer sees all.
    assert_eq!(
        shizhong.get("/allocations/1/disburse").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        caiwu
            .get("/allocations?year=2026")
            .await
            .text()
            .contains("共58笔拨款")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_pages_a_units_fund_ledger_runs_its_totals_and_exports_them() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let o = december(&db).await;
    appropriate(&o).await;
    allocate_and_pay(&o).await;
    book(
        &o,
        json!([
            {"key": "u-3", "command": {"command": "record_dues", "date": "2026-04-03", "unit": "370102-0001", "month": "2026-03", "amount": "88"}},
            {"key": "u-4", "command": {"command": "allocate", "date": "2026-03-02", "line": "training", "unit": "370102-0002", "purpose": "别的党组织", "amount": "100", "approval": {"meeting": "部务会 2026-03", "date": "2026-03-01"}}},
        ]),
    )
    .await;
    let mut caiwu = Browser::new(&o);
    caiwu.sign_in("caiwu").await;
    // The unit's page leads to its funds.
    assert!(
        caiwu
            .get("/units/370102-0001")
            .await
            .text()
            .contains("href=\"/units/370102-0001/funds\"")
    );
    let a = caiwu.get("/units/370102-0001/funds").await;
    assert_eq!(a.status, StatusCode::OK);
    let html = a.text();
    assert!(html.contains("经费台账</h1>"), "{html}");
    assert_eq!(
        table(&html, "ledger"),
        vec![
            vec![
                "2026年3月2日",
                "3",
                "核定（第1号拨款）：党员培训",
                "600.00",
                "0.00",
                "0.00",
                "600.00",
                "0.00",
                "600.00",
                "0.00"
            ],
            vec![
                "2026年3月9日",
                "4",
                "拨付（第1号拨款）：党员培训",
                "0.00",
                "123.45",
                "0.00",
                "600.00",
                "123.45",
                "476.55",
                "0.00"
            ],
            vec![
                "2026年4月3日",
                "5",
                "党费上缴",
                "0.00",
                "0.00",
                "88.00",
                "600.00",
                "123.45",
                "476.55",
                "88.00"
            ],
        ]
    );
    assert!(
        !html.contains("别的党组织"),
        "another unit's allocation is not in this ledger"
    );
    let (headers, rows) = csv_rows(&caiwu.get("/units/370102-0001/funds.csv").await);
    assert_eq!(headers[..3], ["日期", "凭证号", "摘要"]);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[1][..5],
        [
            "2026-03-09",
            "4",
            "拨付（第1号拨款）：党员培训",
            "0.00",
            "123.45"
        ]
    );
    assert_eq!(rows[2][9], "88.00");
    let x = xlsx_rows(&caiwu.get("/units/370102-0001/funds.xlsx").await);
    assert_eq!(x.len(), 4);
    assert_eq!(x[2][8], calamine::Data::Float(476.55));
    // A unit the register lacks is a page that says so.
    let a = caiwu.get("/units/370199-9999/funds").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // A viewer limited to 历下区 reads it; a secretary (no ledger) may not.
    let mut shuji = Browser::new(&o);
    shuji.sign_in("shuji").await;
    assert_eq!(
        shuji.get("/units/370102-0001/funds").await.status,
        StatusCode::FORBIDDEN
    );
    db.drop_db().await;
}

/// The finance officer in a real headless Chromium: the budget, an allocation past the
/// headroom refused next to the amount, and the budget printed on A4.
mod browser {
    use super::*;
    use crate::api::PASSWORD;
    use crate::pages::browser::{launch, screenshots};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn finance_pages_in_headless_chromium_refuse_an_allocation_past_the_headroom() {
        let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
        let o = december(&db).await;
        appropriate(&o).await;
        let Some(browser) = launch(o.router.clone()).await else {
            db.drop_db().await;
            return;
        };
        let (s, site) = (&browser.s, browser.site.clone());

        s.sign_in(&site, "caiwu", PASSWORD).await;
        s.wait_text("h1", |t| t == "2026年度预算执行情况").await;
        assert_eq!(s.current_url().await, format!("{site}/budget"));
        assert_eq!(s.text("#budget-table tbody tr td.num").await, "1,000.00");
        s.find(".chart svg rect").await;
        s.screenshot("budget.png").await;

        s.goto(&format!("{site}/allocations/new")).await;
        assert_eq!(s.text("#headroom-training").await, "1,000.00");
        s.click("#line option[value=training]").await;
        s.fill("#unit", "370102-0001").await;
        s.fill("#purpose", "阵地建设").await;
        s.fill("#amount", "1,000.01").await;
        s.fill("#meeting", "部务会 2026-11").await;
        s.click("form[action='/allocations'] button[type=submit]")
            .await;
        let refused = s
            .wait_text("#amount-error", |t| t.starts_with("超出预算可用额度"))
            .await;
        assert_eq!(
            refused,
            "超出预算可用额度：2026 教育培训 科目可用余额为 1,000.00 元，本次需要 1,000.01 元。"
        );
        // Tall enough to show the refusal beside its field with the headroom above.
        s.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": 1366, "height": 1200})),
        )
        .await;
        s.screenshot("allocation-refused.png").await;
        assert!(
            allocations(&o).await.is_empty(),
            "the refusal wrote nothing"
        );

        // Within the headroom: booked, and the list says so.
        s.fill("#amount", "600").await;
        s.click("form[action='/allocations'] button[type=submit]")
            .await;
        s.wait_text("#notice", |t| t == "已核定第1号拨款。").await;
        assert_eq!(allocations(&o).await.len(), 1);
        s.screenshot("allocations.png").await;
        s.goto(&format!("{site}/units/370102-0001/funds")).await;
        assert_eq!(s.text("#ledger tbody tr td:nth-child(4)").await, "600.00");
        s.screenshot("unit-funds.png").await;

        // The budget printed with every line there can be: one A4 page in landscape.
        let lines = [
            "startup",
            "demo-site",
            "standard-site",
            "dues-rebate",
            "instructor",
        ];
        let more: Vec<Value> = lines
            .iter()
            .map(|l| json!({"key": format!("p-{l}"), "command": {"command": "appropriate", "date": "2026-01-05", "line": l, "amount": "123456789.01"}}))
            .collect();
        book(&o, Value::Array(more)).await;
        s.goto(&format!("{site}/budget")).await;
        assert_eq!(s.text("#budget-table tfoot th").await, "合计");
        let pdf = s
            .call(
                reqwest::Method::POST,
                "/print",
                Some(json!({"orientation": "landscape", "page": {"width": 21.0, "height": 29.7}, "background": false})),
            )
            .await;
        use base64::Engine;
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(pdf.as_str().unwrap())
            .unwrap();
        assert!(pdf.starts_with(b"%PDF"));
        let text = String::from_utf8_lossy(&pdf);
        let pages = text.matches("/Type /Page\n").count()
            + text.matches("/Type /Page/").count()
            + text.matches("/Type /Page>>").count()
            + text.matches("/Type /Page ").count();
        let media = text
            .split("/MediaBox [")
            .nth(1)
            .and_then(|m| m.split(']').next())
            .unwrap_or_default()
            .to_string();
        let size: Vec<f64> = media
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        assert_eq!(size.len(), 4, "{media}");
        // A4 landscape: 297 × 210 mm, 842 × 595 points.
        assert!(
            (size[2] - 842.0).abs() < 2.0 && (size[3] - 595.0).abs() < 2.0,
            "{media}"
        );
        assert_eq!(pages, 1, "the budget fits one page");
        std::fs::write(screenshots().join("budget.pdf"), &pdf).unwrap();

        browser.close().await;
        db.drop_db().await;
    }
}
