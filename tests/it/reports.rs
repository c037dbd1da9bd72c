//! The reports finance officers hand upward, through the binary and the router: a small year
//! (budget, virement, allocations, payments from a bank account, dues and a rebate, a
//! statement with items in transit both ways), then each report's figures to the fen, its
//! CSV and XLSX, the reconciliation balanced, and the budget's execution the same after
//! `ledger year close`.

use crate::api::Office;
use crate::support::{TestDb, duban, run};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use calamine::{Data, Reader, Xlsx};
use serde_json::Value;
use tower::ServiceExt;

fn cli_at(db: &TestDb, today: &str, args: &[&str]) -> Vec<u8> {
    let (out, stdout, stderr) = run(duban(&db.url).args(args).env("DUBAN_TODAY", today));
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    out.stdout
}

fn cli(db: &TestDb, args: &[&str]) -> Vec<u8> {
    cli_at(db, "2026-12-31", args)
}

fn json_of(db: &TestDb, args: &[&str]) -> Value {
    let out = cli(db, &[args, &["--format", "json"]].concat());
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out)))
}

/// A GET through the router with a session: status, headers, body.
async fn get(o: &Office, uri: &str, cookie: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::builder()
        .uri(uri)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [10, 0, 0, 7],
            50123,
        ))));
    let r = o.router.clone().oneshot(req).await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 24).await.unwrap();
    (status, headers, bytes.to_vec())
}

fn csv_lines(bytes: &[u8]) -> Vec<String> {
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "a CSV for Excel starts with a BOM"
    );
    String::from_utf8(bytes[3..].to_vec())
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// The last row of the workbook's one sheet, as text and numbers.
fn xlsx_rows(bytes: Vec<u8>) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

fn row<'a>(report: &'a Value, label: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == label)
        .unwrap_or_else(|| panic!("no row {label}: {report}"))
}

/// The year: budget on three lines, a virement, a dues rebate, two allocations paid from the
/// bank account, one released, dues in two districts, and the November statement.
fn book_the_year(db: &TestDb) {
    let approval = ["--meeting", "部务会 2026-01", "--approved-on", "2026-01-04"];
    cli(
        db,
        &[
            "bank",
            "accounts",
            "add",
            "--code",
            "basic",
            "--name",
            "组织部基本户",
            "--number",
            "6222 0000 1111 2222",
            "--bank",
            "建设银行",
        ],
    );
    cli(
        db,
        &[
            "ledger",
            "appropriate",
            "--line",
            "training",
            "--amount",
            "100000",
            "--date",
            "2026-01-05",
            "--key",
            "r1",
        ],
    );
    cli(
        db,
        &[
            "ledger",
            "appropriate",
            "--line",
            "other",
            "--amount",
            "50000",
            "--date",
            "2026-01-05",
            "--key",
            "r2",
        ],
    );
    cli(
        db,
        &[
            "ledger",
            "appropriate",
            "--line",
            "dues-rebate",
            "--amount",
            "1000",
            "--date",
            "2026-01-05",
            "--key",
            "r3",
        ],
    );
    cli(
        db,
        &[
            &[
                "ledger",
                "virement",
                "--from",
                "other",
                "--to",
                "training",
                "--amount",
                "20000",
                "--date",
                "2026-02-01",
                "--key",
                "r4",
            ][..],
            &approval,
        ]
        .concat(),
    );
    // Last year's dues of 370102-0001 come back as this year's rebate (allocation #1).
    cli_at(
        db,
        "2025-12-31",
        &[
            "ledger",
            "dues",
            "record",
            "--unit",
            "370102-0001",
            "--month",
            "2025-12",
            "--amount",
            "100",
            "--date",
            "2025-12-20",
            "--key",
            "r5",
        ],
    );
    cli(
        db,
        &[
            "ledger",
            "rebate",
            "apply",
            "--unit",
            "370102-0001",
            "--dues-year",
            "2025",
            "--date",
            "2026-02-01",
            "--key",
            "r6",
        ],
    );
    cli(
        db,
        &[
            &[
                "ledger",
                "rebate",
                "approve",
                "--application",
                "1",
                "--date",
                "2026-02-10",
                "--key",
                "r7",
            ][..],
            &approval,
        ]
        .concat(),
    );
    for (i, month) in ["2026-01", "2026-02", "2026-03"].iter().enumerate() {
        let key = format!("d{i}");
        cli(
            db,
            &[
                "ledger",
                "dues",
                "record",
                "--unit",
                "370102-0001",
                "--month",
                month,
                "--amount",
                "120.50",
                "--date",
                &format!("{month}-25"),
                "--key",
                &key,
            ],
        );
    }
    cli(
        db,
        &[
            "ledger",
            "dues",
            "record",
            "--unit",
            "370103-0021",
            "--month",
            "2026-01",
            "--amount",
            "50",
            "--date",
            "2026-01-25",
            "--key",
            "d9",
        ],
    );
    // #2: 60,000 to 370102-0001 on training; #3: 8,000 to 370102-0002 on other.
    cli(
        db,
        &[
            &[
                "ledger",
                "allocate",
                "--line",
                "training",
                "--unit",
                "370102-0001",
                "--amount",
                "60000",
                "--purpose",
                "阵地建设",
                "--date",
                "2026-10-10",
                "--key",
                "r8",
            ][..],
            &approval,
        ]
        .concat(),
    );
    cli(
        db,
        &[
            &[
                "ledger",
                "allocate",
                "--line",
                "other",
                "--unit",
                "370102-0002",
                "--amount",
                "8000",
                "--purpose",
                "活动经费",
                "--date",
                "2026-10-12",
                "--key",
                "r9",
            ][..],
            &approval,
        ]
        .concat(),
    );
    let bank = ["--bank-account", "basic"];
    cli(
        db,
        &[
            &[
                "ledger",
                "disburse",
                "--allocation",
                "3",
                "--amount",
                "5000",
                "--date",
                "2026-10-20",
                "--key",
                "p1",
                "--payee-name",
                "智联金鼎党总支",
                "--payee-account",
                "6222000000000002",
            ][..],
            &bank,
        ]
        .concat(),
    );
    cli(
        db,
        &[
            &[
                "ledger",
                "disburse",
                "--allocation",
                "2",
                "--amount",
                "30000",
                "--date",
                "2026-11-05",
                "--key",
                "p2",
                "--voucher",
                "记-0101",
                "--payee-name",
                "宝塔博远党总支",
                "--payee-account",
                "6222000000000001",
            ][..],
            &bank,
        ]
        .concat(),
    );
    cli(
        db,
        &[
            &[
                "ledger",
                "disburse",
                "--allocation",
                "2",
                "--amount",
                "10000",
                "--date",
                "2026-11-28",
                "--key",
                "p3",
                "--voucher",
                "记-0102",
                "--payee-name",
                "宝塔博远党总支",
                "--payee-account",
                "6222000000000001",
            ][..],
            &bank,
        ]
        .concat(),
    );
    cli(
        db,
        &[
            "ledger",
            "release",
            "--allocation",
            "3",
            "--reason",
            "活动结束",
            "--date",
            "2026-11-15",
            "--key",
            "p4",
        ],
    );

    // The statement to 2 December: the funds received (not yet in the books), the fee of
    // 30 November (not yet in the books), and the payment of 28 November, which the bank
    // paid on 2 December (in transit at the end of November).
    let dir = tempfile::tempdir().unwrap();
    let statement = dir.path().join("basic-2026-11.csv");
    std::fs::write(
        &statement,
        [
            "交易日期,支出,收入,余额,对方户名,对方账号,摘要\n",
            "20260930,,100000.00,100000.00,济南市财政局,3701000001,拨入经费\n",
            "20261021,5000.00,,95000.00,智联金鼎党总支,6222000000000002,拨付\n",
            "20261105,30000.00,,65000.00,宝塔博远党总支,6222000000000001,拨付 记-0101\n",
            "20261130,25.00,,64975.00,,,手续费\n",
            "20261202,10000.00,,54975.00,宝塔博远党总支,6222000000000001,拨付 记-0102\n",
        ]
        .concat(),
    )
    .unwrap();
    cli(
        db,
        &[
            "bank",
            "import",
            "--account",
            "basic",
            statement.to_str().unwrap(),
        ],
    );
    let matched = json_of(db, &["bank", "match", "--account", "basic"]);
    assert_eq!(matched["matched"].as_array().unwrap().len(), 3, "{matched}");
}

fn assert_budget_2026_11(b: &Value) {
    let training = row(b, "教育培训");
    for (field, want) in [
        ("original", "100000.00"),
        ("virement", "20000.00"),
        ("adjusted", "120000.00"),
        ("month_committed", "0.00"),
        ("month_paid", "40000.00"),
        ("committed", "60000.00"),
        ("paid", "40000.00"),
        ("headroom", "60000.00"),
        ("rate", "33.3"),
    ] {
        assert_eq!(training[field], want, "training {field}: {b}");
    }
    let other = row(b, "其他");
    for (field, want) in [
        ("original", "50000.00"),
        ("virement", "-20000.00"),
        ("adjusted", "30000.00"),
        ("month_committed", "-3000.00"),
        ("month_paid", "0.00"),
        ("committed", "5000.00"),
        ("paid", "5000.00"),
        ("headroom", "25000.00"),
        ("rate", "16.7"),
    ] {
        assert_eq!(other[field], want, "other {field}: {b}");
    }
    let rebate = row(b, "党费返还");
    assert_eq!(
        (rebate["committed"].as_str(), rebate["rate"].as_str()),
        (Some("100.00"), Some("0.0")),
        "{b}"
    );
    let t = &b["total"];
    for (field, want) in [
        ("original", "151000.00"),
        ("virement", "0.00"),
        ("adjusted", "151000.00"),
        ("committed", "65100.00"),
        ("paid", "45000.00"),
        ("headroom", "85900.00"),
        ("rate", "29.8"),
    ] {
        assert_eq!(t[field], want, "total {field}: {b}");
    }
}

backend_tests! {
    async fn the_reports_tell_the_year_to_the_fen(db) {
        let o = Office::open(&db).await;
        book_the_year(&db);

        // 预算执行情况表 for November: the month and the year to its end, per line.
        let b = json_of(&db, &["report", "budget-execution", "--year", "2026", "--month", "11"]);
        assert_budget_2026_11(&b);
        let csv_before = cli(&db, &["report", "budget-execution", "--year", "2026", "--month", "11", "--format", "csv"]);
        let lines = csv_lines(&csv_before);
        assert_eq!(lines[0], "科目/项目,年初预算数,调剂,调整后预算数,本月核定,本月支出,累计核定(已承诺),累计支出,可用余额,执行率");
        assert_eq!(lines.last().unwrap(), "合计,\"151,000.00\",0.00,\"151,000.00\",\"-3,000.00\",\"40,000.00\",\"65,100.00\",\"45,000.00\",\"85,900.00\",29.8%");
        let table = String::from_utf8(cli(&db, &["report", "budget-execution", "--year", "2026", "--month", "11"])).unwrap();
        assert!(table.contains("2026年11月预算执行情况表") && table.contains("120,000.00") && table.contains("33.3%"), "{table}");
        let whole_year = cli(&db, &["report", "budget-execution", "--year", "2026", "--format", "csv"]);
        assert!(!String::from_utf8_lossy(&whole_year).contains("本月支出"));

        // The workbook: Chinese headers, the totals row with numbers.
        let dir = tempfile::tempdir().unwrap();
        let xlsx = dir.path().join("budget.xlsx");
        cli(&db, &["report", "budget-execution", "--year", "2026", "--month", "11", "--format", "xlsx", "--output", xlsx.to_str().unwrap()]);
        let rows = xlsx_rows(std::fs::read(&xlsx).unwrap());
        assert_eq!(rows[0][0], Data::String("科目/项目".into()));
        let total = rows.last().unwrap();
        assert_eq!(total[0], Data::String("合计".into()));
        assert_eq!((&total[1], &total[7], &total[9]), (&Data::Float(151000.0), &Data::Float(45000.0), &Data::String("29.8%".into())));
        let (out, _, stderr) = run(duban(&db.url).args(["report", "budget-execution", "--year", "2026", "--format", "xlsx"]));
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("--output"), "{stderr}");
        let (out, _, stderr) = run(duban(&db.url).args(["report", "budget-execution", "--year", "2026", "--month", "13"]));
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("月份“13”"), "{stderr}");

        // 经费台账 of 370102-0001: the allocation, the two payments with their bank lines.
        let u = json_of(&db, &["report", "unit-ledger", "--unit", "370102-0001", "--year", "2026"]);
        let entries = u["rows"].as_array().unwrap();
        let seen: Vec<(&str, &str, &str, &str)> = entries.iter().map(|r| (
            r["date"].as_str().unwrap(), r["kind_zh"].as_str().unwrap(), r["paid"].as_str().unwrap(), r["balance"].as_str().unwrap(),
        )).collect();
        assert_eq!(seen, [
            ("2026-02-10", "核定拨款", "0.00", "100.00"),
            ("2026-10-10", "核定拨款", "0.00", "60100.00"),
            ("2026-11-05", "拨付", "30000.00", "30100.00"),
            ("2026-11-28", "拨付", "10000.00", "20100.00"),
        ], "{u}");
        assert_eq!(entries[2]["voucher"], "记-0101");
        assert_eq!(entries[2]["bank_lines"][0]["date"], "2026-11-05", "{u}");
        assert_eq!(entries[2]["bank_lines"][0]["amount"], "-30000.00");
        assert_eq!(entries[3]["bank_lines"][0]["date"], "2026-12-02", "{u}");
        assert!(entries[1]["bank_lines"].as_array().unwrap().is_empty());
        assert_eq!((u["allocated"].as_str(), u["paid"].as_str(), u["closing"].as_str()), (Some("60100.00"), Some("40000.00"), Some("20100.00")), "{u}");
        let lines = csv_lines(&cli(&db, &["report", "unit-ledger", "--unit", "370102-0001", "--year", "2026", "--format", "csv"]));
        assert_eq!(lines[0], "日期,凭证号,摘要,类别,拨款号,核定,拨付,余额,银行流水日期,银行流水金额,对方户名,银行流水号");
        assert_eq!(lines.last().unwrap(), ",,合计,,,\"60,100.00\",\"40,000.00\",\"20,100.00\",,,,");
        let (out, _, stderr) = run(duban(&db.url).args(["report", "unit-ledger", "--unit", "999999-0000", "--year", "2026"]));
        assert_eq!(out.status.code(), Some(1), "{stderr}");

        // 银行存款余额调节表 at the end of November: in transit both ways, balanced.
        let r = json_of(&db, &["report", "bank-reconciliation", "--account", "basic", "--month", "2026-11"]);
        for (field, want) in [
            ("book_balance", "-45000.00"),
            ("bank_balance", "64975.00"),
            ("adjusted_book", "54975.00"),
            ("adjusted_bank", "54975.00"),
            ("difference", "0.00"),
        ] {
            assert_eq!(r[field], want, "{field}: {r}");
        }
        assert_eq!(r["balanced"], true);
        assert_eq!(r["bank_received"]["total"], "100000.00", "{r}");
        assert_eq!(r["bank_received"]["items"][0]["date"], "2026-09-30");
        assert_eq!(r["bank_paid"]["total"], "25.00");
        assert_eq!(r["book_received"]["items"].as_array().unwrap().len(), 0);
        assert_eq!(r["book_paid"]["total"], "10000.00");
        assert_eq!(r["book_paid"]["items"][0]["reference"], "记-0102");
        assert_eq!(r["adjusted_capitals"], "人民币伍万肆仟玖佰柒拾伍元整");
        // At the end of December the payment has reached the bank.
        let dec = json_of(&db, &["report", "bank-reconciliation", "--account", "basic", "--month", "2026-12"]);
        assert_eq!((dec["bank_balance"].as_str(), dec["book_paid"]["total"].as_str(), dec["balanced"].as_bool()), (Some("54975.00"), Some("0.00"), Some(true)), "{dec}");
        let lines = csv_lines(&cli(&db, &["report", "bank-reconciliation", "--account", "basic", "--month", "2026-11", "--format", "csv"]));
        assert_eq!(lines[0], "项目,日期,金额,摘要,凭证号/流水号");
        assert!(lines.iter().any(|l| l.starts_with("调节后的存款余额（企业）,,\"54,975.00\"")), "{lines:?}");
        assert_eq!(lines.last().unwrap(), "差额,,0.00,调节后余额相等,");
        let (out, _, stderr) = run(duban(&db.url).args(["report", "bank-reconciliation", "--account", "basic", "--month", "2026/11"]));
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("应写作2026-11"), "{stderr}");

        // Dues and rebates per unit, the pre-tax check reported without wage data.
        let d = json_of(&db, &["report", "dues", "--year", "2026"]);
        let units: Vec<(&str, &str, &str, &str)> = d["rows"].as_array().unwrap().iter().map(|r| (
            r["unit"].as_str().unwrap(), r["collected"].as_str().unwrap(), r["rebated"].as_str().unwrap(), r["party_work_paid"].as_str().unwrap(),
        )).collect();
        assert_eq!(units, [
            ("370102-0001", "361.50", "100.00", "40000.00"),
            ("370102-0002", "0.00", "0.00", "5000.00"),
            ("370103-0021", "50.00", "0.00", "0.00"),
        ], "{d}");
        assert_eq!(d["rows"][0]["months"], 3);
        assert_eq!(d["rows"][0]["enterprises"][0]["credit_code"], "91370102YDK7QLH8JQ");
        assert_eq!(d["rows"][0]["enterprises"][0]["result"], "无工资总额数据");
        assert!(d["rows"][0]["enterprises"][0]["limit"].is_null());
        assert_eq!((d["collected"].as_str(), d["party_work_paid"].as_str()), (Some("411.50"), Some("45000.00")));
        let lines = csv_lines(&cli(&db, &["report", "dues", "--year", "2026", "--format", "csv"]));
        assert!(lines[0].starts_with("党组织编码,党组织名称,区县,收缴月数,党费收缴"), "{}", lines[0]);
        assert!(lines[1].contains("济南宝塔博远建设工程有限公司：无工资总额数据"), "{}", lines[1]);
        assert_eq!(lines.last().unwrap(), "合计,,,,411.50,100.00,0.00,,,\"45,000.00\",");

        // The API twins answer the same, as files too, and keep to the reader's scope.
        let caiwu = o.login("caiwu").await;
        let (s, _, body) = get(&o, "/api/v1/reports/budget-execution?year=2026&month=11", &caiwu).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), b);
        let (s, h, body) = get(&o, "/api/v1/reports/budget-execution?year=2026&month=11&format=csv", &caiwu).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h["content-type"], "text/csv; charset=utf-8");
        assert!(h["content-disposition"].to_str().unwrap().contains("budget-execution-2026-11.csv"));
        assert_eq!(body, csv_before, "the API's CSV is the command line's");
        let (s, _, body) = get(&o, "/api/v1/reports/unit-ledger?unit=370102-0001&year=2026&format=xlsx", &caiwu).await;
        assert_eq!(s, StatusCode::OK);
        let rows = xlsx_rows(body);
        assert_eq!(rows.last().unwrap()[2], Data::String("合计".into()));
        assert_eq!(rows.last().unwrap()[6], Data::Float(40000.0));
        let (s, _, body) = get(&o, "/api/v1/reports/bank-reconciliation?account=basic&month=2026-11", &caiwu).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), r);
        let (s, _, body) = get(&o, "/api/v1/reports/dues?year=2026&format=pdf", &caiwu).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&body));
        let chakan = o.login("chakan").await;
        let (s, _, body) = get(&o, "/api/v1/reports/dues?year=2026", &chakan).await;
        assert_eq!(s, StatusCode::OK);
        let scoped: Value = serde_json::from_slice(&body).unwrap();
        let codes: Vec<&str> = scoped["rows"].as_array().unwrap().iter().map(|r| r["unit"].as_str().unwrap()).collect();
        assert_eq!(codes, ["370102-0001", "370102-0002"], "a reader of 历下区 sees its units only");
        assert_eq!(scoped["collected"], "361.50");
        let (s, _, _) = get(&o, "/api/v1/reports/unit-ledger?unit=370103-0021&year=2026", &chakan).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let shenji = o.login("shenji").await;
        let (s, _, _) = get(&o, "/api/v1/reports/budget-execution?year=2026", &shenji).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // The printable statement: both sides, the capitals, the signature boxes.
        let (s, _, body) = get(&o, "/reports/bank-reconciliation?account=basic&month=2026-11", &caiwu).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let html = String::from_utf8(body).unwrap();
        for want in ["银行存款余额调节表", "企业银行存款日记账余额", "加：银行已收、企业未收", "减：企业已付、银行未付", "54,975.00", "人民币伍万肆仟玖佰柒拾伍元整", "编制人：", "审核人：", "财务负责人：", "2026年11月30日"] {
            assert!(html.contains(want), "{want} missing from the printed statement");
        }
        assert!(!html.contains("调节后余额不相等"));

        // The year closes: the statement of the year reads the same, to the byte.
        let budget_before = cli(&db, &["ledger", "budget", "--year", "2026", "--format", "json"]);
        // December is closed first; the year's closing entries still post on its last day.
        cli_at(&db, "2027-01-05", &["ledger", "period", "close", "--month", "2026-12", "--key", "close-2026-12"]);
        cli_at(&db, "2027-01-05", &["ledger", "year", "close", "--year", "2026", "--key", "close-2026"]);
        // `ledger budget` too: the year's appropriation, not what was paid at 100 %.
        let budget_after = cli_at(&db, "2027-01-05", &["ledger", "budget", "--year", "2026", "--format", "json"]);
        assert_eq!(String::from_utf8(budget_after).unwrap(), String::from_utf8(budget_before).unwrap());
        let after = cli_at(&db, "2027-01-05", &["report", "budget-execution", "--year", "2026", "--month", "11", "--format", "csv"]);
        assert_eq!(String::from_utf8(after).unwrap(), String::from_utf8(csv_before).unwrap());
        let whole_after = cli_at(&db, "2027-01-05", &["report", "budget-execution", "--year", "2026", "--format", "csv"]);
        assert_eq!(String::from_utf8(whole_after).unwrap(), String::from_utf8(whole_year).unwrap());
        let (s, _, body) = get(&o, "/api/v1/reports/budget-execution?year=2026&month=11", &caiwu).await;
        assert_eq!(s, StatusCode::OK);
        assert_budget_2026_11(&serde_json::from_slice(&body).unwrap());
        cli(&db, &["ledger", "verify"]);
    }
}

backend_tests! {
    async fn a_year_appropriated_as_one_fund_is_apportioned_to_its_lines(db) {
        cli(&db, &["migrate", "up"]);
        crate::ledger::register_units(&db.store().await, &[("U1".into(), chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap())]).await;
        let meeting = ["--meeting", "部务会 2026-01", "--approved-on", "2026-01-04"];
        // Jinan's 1,000万 for the year's party work, as one fund, then apportioned.
        cli(&db, &["ledger", "appropriate", "--line", "fund", "--amount", "1000万", "--date", "2026-01-05", "--key", "f1"]);
        cli(&db, &[&["ledger", "apportion", "--to", "demo-site", "--amount", "300万", "--date", "2026-01-06", "--key", "f2"][..], &meeting].concat());
        cli(&db, &[&["ledger", "apportion", "--to", "startup", "--amount", "200万", "--date", "2026-01-06", "--key", "f3"][..], &meeting].concat());
        cli(&db, &[&["ledger", "virement", "--from", "demo-site", "--to", "training", "--amount", "10万", "--date", "2026-03-01", "--key", "f4"][..], &meeting].concat());
        cli(&db, &[&["ledger", "allocate", "--line", "demo-site", "--unit", "U1", "--amount", "5万", "--purpose", "示范点", "--date", "2026-03-02", "--key", "f5"][..], &meeting].concat());
        // Refused, naming why, nothing written: committing or paying from the fund itself, a
        // virement touching it, apportioning more than is left of it, apportioning to it.
        let refused = |args: &[&str], why: &str| {
            let (out, stdout, stderr) = run(duban(&db.url).args([args, &meeting[..], &["--date", "2026-03-03", "--key", "bad"]].concat()).env("DUBAN_TODAY", "2026-12-31"));
            assert!(!out.status.success(), "{args:?}: {stdout}{stderr}");
            assert!(stderr.contains(why), "{args:?}: {stderr}");
        };
        refused(&["ledger", "allocate", "--line", "fund", "--unit", "U1", "--amount", "1万", "--purpose", "x"], "apportioned to a line first");
        refused(&["ledger", "virement", "--from", "fund", "--to", "training", "--amount", "1万"], "by apportion, not by virement");
        refused(&["ledger", "apportion", "--to", "training", "--amount", "5,000,000.01"], "negative appropriated balance (-0.01)");
        refused(&["ledger", "apportion", "--to", "fund", "--amount", "1万"], "to:");

        let budget = json_of(&db, &["report", "budget-execution", "--year", "2026"]);
        let line = |label: &str| {
            let r = row(&budget, label);
            ["original", "virement", "adjusted", "committed", "headroom"].map(|f| r[f].as_str().unwrap().to_string())
        };
        assert_eq!(line("年度经费（待分配）"), ["5000000.00", "0.00", "5000000.00", "0.00", "5000000.00"], "{budget}");
        assert_eq!(line("示范点补助"), ["3000000.00", "-100000.00", "2900000.00", "50000.00", "2850000.00"], "{budget}");
        assert_eq!(line("工作启动经费"), ["2000000.00", "0.00", "2000000.00", "0.00", "2000000.00"], "{budget}");
        assert_eq!(line("教育培训"), ["0.00", "100000.00", "100000.00", "0.00", "100000.00"], "{budget}");
        assert_eq!(budget["total"]["original"], "10000000.00", "{budget}");
        assert_eq!(budget["total"]["virement"], "0.00", "{budget}");
        // The year's story survives its close.
        cli_at(&db, "2027-01-05", &["ledger", "year", "close", "--year", "2026", "--key", "close-2026"]);
        let after = cli_at(&db, "2027-01-05", &["report", "budget-execution", "--year", "2026", "--format", "json"]);
        assert_eq!(serde_json::from_slice::<Value>(&after).unwrap(), budget);
        cli(&db, &["ledger", "verify"]);
    }
}
