//! `duban bank preview` through the binary, on real statements beside the repository.

use crate::support::{TestDb, duban, repo, run};

fn sample(name: &str) -> String {
    repo()
        .join("../shared/data/bank-statements")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_preview_shows_a_statement_that_would_import_and_refuses_a_broken_chain() {
    let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
    let (out, _, stderr) = run(duban(&db.url).args(["migrate", "up"]));
    assert!(out.status.success(), "{stderr}");

    // The CEB export: header block with totals, its lines in a Chinese table, exit 0.
    let (out, stdout, stderr) =
        run(duban(&db.url).args(["bank", "preview", &sample("ceb-corp-2026-02.xls")]));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("账号：39610287431592250"), "{stdout}");
    assert!(
        stdout.contains("文件声明：共 — 笔；支出 7 笔 5,685,495.76；收入 8 笔 6,000,000.00"),
        "{stdout}"
    );
    assert!(stdout.contains("合计：15 笔；支出 7 笔 5,685,495.76；收入 8 笔 6,000,000.00；期初余额 17,429.58；期末余额 331,933.82"), "{stdout}");
    assert!(stdout.contains("可以导入"), "{stdout}");

    // MT940 as JSON: every line with its row, the figures, no refusal.
    let (out, stdout, stderr) = run(duban(&db.url).args([
        "bank",
        "preview",
        &sample("danskebank-dk-example.sta"),
        "--format",
        "json",
    ]));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["figures"]["lines"], 89);
    assert_eq!(v["figures"]["debit_total"], "2538433.58");
    assert_eq!(v["statement"]["sections"], 15);
    assert!(v["refusal"].is_null());

    // The cut CCB personal statement: its lines shown, refused at line 4 (row 10), exit 1.
    let (out, stdout, stderr) =
        run(duban(&db.url).args(["bank", "preview", &sample("ccb-personal-2025-01.xls")]));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("515.02"), "{stdout}");
    assert!(
        stderr.contains("第10行“账户余额”列：第4笔的余额1579.11"),
        "{stderr}"
    );
    assert!(stderr.contains("row 10, column 账户余额"), "{stderr}");

    // A file that is no statement is refused with the reason; a missing file is bad usage.
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), "姓名,电话\n张三,138\n").unwrap();
    let (out, _, stderr) = run(duban(&db.url).args(["bank", "preview"]).arg(junk.path()));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("找不到明细表头"), "{stderr}");
    let (out, _, _) = run(duban(&db.url).args(["bank", "preview", "/no/such/statement.xls"]));
    assert_eq!(out.status.code(), Some(2));
    let (out, _, _) = run(duban(&db.url).args(["bank", "preview"]));
    assert_eq!(out.status.code(), Some(2));
    db.drop_db().await;
}

/// `duban bank …` and `duban ledger …` with the test database, exit status asserted.
fn cli_ok(db: &TestDb, args: &[&str]) -> String {
    let (out, stdout, stderr) = run(duban(&db.url).args(args).env("DUBAN_TODAY", "2026-12-31"));
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    stdout
}

fn json_of(db: &TestDb, args: &[&str]) -> serde_json::Value {
    let out = cli_ok(db, &[args, &["--format", "json"]].concat());
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// The importable statements beside the repository: file, account number, lines, money
/// leaving and money coming in, as MANIFEST.md gives them.
const MANIFEST: &[(&str, &str, usize, &str, &str)] = &[
    (
        "ccb-corp-2026-02.xls",
        "53001813416670720632",
        70,
        "3212796.34",
        "3386056.44",
    ),
    (
        "icbc-corp-historydetail-2026-02.xlsx",
        "2502062439748768343",
        5,
        "40936.82",
        "41286.23",
    ),
    (
        "ceb-corp-2026-02.xls",
        "39610287431592250",
        15,
        "5685495.76",
        "6000000.00",
    ),
    (
        "cmbc-corp-2026-02.xlsx",
        "604000888",
        7,
        "1000032.00",
        "1000000.00",
    ),
    (
        "pingan-corp-2026-02.xlsx",
        "15990603437847",
        3,
        "6459.33",
        "6000.00",
    ),
    (
        "ccb-corp-2017-12.txt",
        "37101501693974234382",
        5,
        "2416.72",
        "230416.00",
    ),
    (
        "boc-corp-2017-11-usd.txt",
        "232936618117",
        29,
        "1081178.53",
        "713524.55",
    ),
    (
        "spdb-personal-2025-12.xls",
        "6200000000001230",
        4,
        "11.64",
        "10.00",
    ),
    (
        "danskebank-dk-example.sta",
        "1234567890",
        89,
        "2538433.58",
        "3910886.35",
    ),
    (
        "goldman-camt053-example-b.xml",
        "DD01100056869",
        19,
        "70.06",
        "145.53",
    ),
];

fn fen(v: &serde_json::Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("{v} is not whole fen"))
}

fn yuan_text(fen: i64) -> String {
    duban_core::money::Money::from_fen(fen).to_string()
}

backend_tests! {
    async fn bank_accounts_carry_the_disbursements_paid_from_them(db) {
        cli_ok(&db, &["migrate", "up"]);
        crate::ledger::register_units(&db.store().await, &[("U1".into(), chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap())]).await;
        let added = json_of(&db, &["bank", "accounts", "add", "--code", "ccb-basic", "--name", "中共某市委组织部", "--number", "5300 1813 4166 7072 0632", "--bank", "中国建设银行昆明分行"]);
        assert_eq!(added[0]["ledger_account"], "assets:bank:ccb-basic", "{added}");
        assert_eq!(added[0]["number"], "5300 1813 4166 7072 0632");
        cli_ok(&db, &["bank", "accounts", "add", "--code", "cash", "--name", "现金", "--number", "库存现金", "--bank", "—"]);
        let list = json_of(&db, &["bank", "accounts", "list"]);
        let codes: Vec<&str> = list.as_array().unwrap().iter().map(|a| a["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["cash", "ccb-basic"]);
        let table = cli_ok(&db, &["bank", "accounts", "list"]);
        assert!(table.contains("assets:bank:cash") && table.contains("中国建设银行昆明分行"), "{table}");
        // A code taken, a code that is not one, a missing name: refused, nothing written.
        let (out, _, stderr) = run(duban(&db.url).args(["bank", "accounts", "add", "--code", "cash", "--name", "x", "--number", "1", "--bank", "b"]));
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("账户代码“cash”已被使用"), "{stderr}");
        let (out, _, stderr) = run(duban(&db.url).args(["bank", "accounts", "add", "--code", "CCB 1", "--name", "x", "--number", "1", "--bank", "b"]));
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("账户代码为1至24位小写字母"), "{stderr}");
        let (out, _, stderr) = run(duban(&db.url).args(["bank", "accounts", "add", "--code", "boc", "--name", " ", "--number", "1", "--bank", "b"]));
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("name: 必填"), "{stderr}");
        assert_eq!(json_of(&db, &["bank", "accounts", "list"]).as_array().unwrap().len(), 2);

        // The ledger: one disbursement paid from the bank account with its voucher and payee,
        // one as before (the treasury pays), one naming an account that does not exist.
        let meeting = ["--meeting", "部务会 2026-01", "--approved-on", "2026-01-04"];
        cli_ok(&db, &["ledger", "appropriate", "--line", "demo-site", "--amount", "10万", "--date", "2026-01-05", "--key", "b1"]);
        cli_ok(&db, &[&["ledger", "allocate", "--line", "demo-site", "--unit", "U1", "--amount", "5万", "--purpose", "示范点", "--date", "2026-03-02", "--key", "b2"][..], &meeting].concat());
        cli_ok(&db, &["ledger", "disburse", "--allocation", "1", "--amount", "12,345.67", "--date", "2026-03-05", "--key", "b3",
            "--bank-account", "ccb-basic", "--voucher", "记-0012", "--payee-name", "U1 党支部", "--payee-account", "6222 0210 0000 1234", "--payee-bank", "工商银行历下支行"]);
        cli_ok(&db, &["ledger", "disburse", "--allocation", "1", "--amount", "100", "--date", "2026-03-06", "--key", "b4"]);
        let (out, stdout, stderr) = run(duban(&db.url).args(["ledger", "disburse", "--allocation", "1", "--amount", "1", "--date", "2026-03-06", "--key", "b5", "--bank-account", "boc"]).env("DUBAN_TODAY", "2026-12-31"));
        assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
        assert!(stderr.contains("payment.bank_account: 没有代码为“boc”的银行账户"), "{stderr}");
        let (out, _, stderr) = run(duban(&db.url).args(["ledger", "disburse", "--allocation", "1", "--amount", "1", "--date", "2026-03-06", "--key", "b6", "--bank-account", "Bad Code"]).env("DUBAN_TODAY", "2026-12-31"));
        assert_ne!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains("payment.bank_account"), "{stderr}");

        let balances = json_of(&db, &["ledger", "balance"]);
        let balance = |name: &str| balances["rows"].as_array().unwrap().iter()
            .find(|r| r["account"] == name).map(|r| r["balance"].as_str().unwrap().to_string());
        assert_eq!(balance("assets:bank:ccb-basic").as_deref(), Some("-12345.67"), "{balances}");
        assert_eq!(balance("assets:bank:cash"), None);
        assert_eq!(balance("expenses:demo-site").as_deref(), Some("12445.67"));
        let txns = json_of(&db, &["ledger", "transactions"]);
        let paid = txns.as_array().unwrap().iter().find(|t| t["payment"].is_object()).expect("a payment");
        assert_eq!(paid["payment"]["voucher"], "记-0012", "{paid}");
        assert_eq!(paid["payment"]["payee_account"], "6222 0210 0000 1234");
        assert_eq!(paid["payment"]["bank_account"], "ccb-basic");
        assert_eq!(txns.as_array().unwrap().iter().filter(|t| t["payment"].is_object()).count(), 1);
        // The same key with the same payment is a replay; with another payee, a conflict.
        cli_ok(&db, &["ledger", "disburse", "--allocation", "1", "--amount", "12,345.67", "--date", "2026-03-05", "--key", "b3",
            "--bank-account", "ccb-basic", "--voucher", "记-0012", "--payee-name", "U1 党支部", "--payee-account", "6222 0210 0000 1234", "--payee-bank", "工商银行历下支行"]);
        let (out, _, stderr) = run(duban(&db.url).args(["ledger", "disburse", "--allocation", "1", "--amount", "12,345.67", "--date", "2026-03-05", "--key", "b3", "--bank-account", "ccb-basic", "--voucher", "记-0013"]).env("DUBAN_TODAY", "2026-12-31"));
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        // Reversing the payment credits the bank account back.
        let id = paid["id"].as_i64().unwrap().to_string();
        cli_ok(&db, &["ledger", "reverse", "--transaction", &id, "--reason", "退回", "--date", "2026-03-07", "--key", "b7"]);
        let balances = json_of(&db, &["ledger", "balance"]);
        assert!(balances["rows"].as_array().unwrap().iter().all(|r| r["account"] != "assets:bank:ccb-basic" || r["balance"] == "0.00"), "{balances}");
        // Every seal still verifies: the new fields are covered where set, old rows unchanged.
        let (out, stdout, stderr) = run(duban(&db.url).args(["audit", "verify"]));
        assert!(out.status.success(), "{stdout}{stderr}");
        cli_ok(&db, &["ledger", "verify"]);
    }

    async fn statements_import_with_their_manifest_figures_and_again_add_nothing(db) {
        cli_ok(&db, &["migrate", "up"]);
        for (i, (file, number, lines, debits, credits)) in MANIFEST.iter().enumerate() {
            let code = format!("a{i}");
            cli_ok(&db, &["bank", "accounts", "add", "--code", &code, "--name", file, "--number", number, "--bank", "某银行"]);
            let path = sample(file);
            let dry = json_of(&db, &["bank", "import", "--account", &code, &path, "--dry-run"]);
            assert_eq!((dry["dry_run"].as_bool(), dry["lines_added"].as_u64()), (Some(true), Some(*lines as u64)), "{file}");
            assert!(json_of(&db, &["bank", "lines", "--account", &code]).as_array().unwrap().is_empty(), "{file}: a dry run writes nothing");
            let r = json_of(&db, &["bank", "import", "--account", &code, &path]);
            assert_eq!(r["lines_in_file"].as_u64(), Some(*lines as u64), "{file}: {r}");
            assert_eq!(r["lines_added"].as_u64(), Some(*lines as u64), "{file}");
            assert_eq!((r["figures"]["debit_total"].as_str(), r["figures"]["credit_total"].as_str()), (Some(*debits), Some(*credits)), "{file}");
            let again = json_of(&db, &["bank", "import", "--account", &code, &path]);
            assert_eq!((again["lines_added"].as_u64(), again["lines_known"].as_u64()), (Some(0), Some(*lines as u64)), "{file}");
            let stored = json_of(&db, &["bank", "lines", "--account", &code]);
            let stored = stored.as_array().unwrap();
            assert_eq!(stored.len(), *lines, "{file}");
            let out: i64 = stored.iter().map(|l| fen(&l["amount"])).filter(|a| *a < 0).sum();
            let inc: i64 = stored.iter().map(|l| fen(&l["amount"])).filter(|a| *a > 0).sum();
            assert_eq!((yuan_text(-out), yuan_text(inc)), (debits.to_string(), credits.to_string()), "{file}");
        }
        // A statement of another account is refused.
        let (out, _, stderr) = run(duban(&db.url).args(["bank", "import", "--account", "a0", &sample("ceb-corp-2026-02.xls")]));
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("文件的账号 39610287431592250 不是账户“a0”的账号"), "{stderr}");
        // The cut CCB personal statement is refused naming the row; nothing is written.
        cli_ok(&db, &["bank", "accounts", "add", "--code", "cut", "--name", "个人卡", "--number", "xxxx", "--bank", "建设银行"]);
        let (out, stdout, stderr) = run(duban(&db.url).args(["bank", "import", "--account", "cut", &sample("ccb-personal-2025-01.xls")]));
        assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
        assert!(stderr.contains("第10行“账户余额”列"), "{stderr}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
        assert!(json_of(&db, &["bank", "lines", "--account", "cut"]).as_array().unwrap().is_empty());
        // An unknown account: not found.
        let (out, _, stderr) = run(duban(&db.url).args(["bank", "import", "--account", "nope", &sample("ceb-corp-2026-02.xls")]));
        assert_ne!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains("没有代码为“nope”的银行账户"), "{stderr}");

        // Overlapping statements of one account: the second adds only its new lines.
        cli_ok(&db, &["bank", "accounts", "add", "--code", "csv", "--name", "基本户", "--number", "6222", "--bank", "某银行"]);
        let dir = tempfile::tempdir().unwrap();
        let head = "交易日期,支出,收入,余额,对方户名\n";
        let l1 = "20260301,100.00,,900.00,甲\n";
        let l2 = "20260302,100.00,,800.00,乙\n";
        let l3 = "20260303,,50.00,850.00,丙\n";
        let l4 = "20260304,100.00,,750.00,甲\n";
        let first = dir.path().join("march-1.csv");
        std::fs::write(&first, [head, l1, l2, l3].concat()).unwrap();
        let second = dir.path().join("march-2.csv");
        std::fs::write(&second, [head, l2, l3, l4].concat()).unwrap();
        assert_eq!(json_of(&db, &["bank", "import", "--account", "csv", first.to_str().unwrap()])["lines_added"], 3);
        let r = json_of(&db, &["bank", "import", "--account", "csv", second.to_str().unwrap()]);
        assert_eq!((r["lines_added"].as_u64(), r["lines_known"].as_u64()), (Some(1), Some(2)), "{r}");
        let march = json_of(&db, &["bank", "lines", "--account", "csv", "--from", "2026-03-02", "--to", "2026-03-03"]);
        assert_eq!(march.as_array().unwrap().len(), 2, "{march}");
        assert_eq!(json_of(&db, &["bank", "lines", "--account", "csv"]).as_array().unwrap().len(), 4);
        let table = cli_ok(&db, &["bank", "lines", "--account", "csv"]);
        assert!(table.contains("-100.00") && table.contains("750.00"), "{table}");
        // Every import is in the audit log, and the log verifies.
        let (out, stdout, stderr) = run(duban(&db.url).args(["audit", "verify"]));
        assert!(out.status.success(), "{stdout}{stderr}");
    }
}

backend_tests! {
    async fn a_statement_is_matched_with_the_payments_explained_and_the_rest_queued(db) {
        cli_ok(&db, &["migrate", "up"]);
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 2, d).unwrap();
        crate::ledger::register_units(&db.store().await, &[("U1".into(), day(1)), ("U2".into(), day(1))]).await;
        cli_ok(&db, &["bank", "accounts", "add", "--code", "basic", "--name", "组织部基本户", "--number", "6222 0000 1111 2222", "--bank", "建设银行"]);
        let meeting = ["--meeting", "部务会 2026-01", "--approved-on", "2026-01-04"];
        cli_ok(&db, &["ledger", "appropriate", "--line", "demo-site", "--amount", "20万", "--date", "2026-01-05", "--key", "m1"]);
        for (key, unit) in [("m2", "U1"), ("m3", "U2")] {
            cli_ok(&db, &[&["ledger", "allocate", "--line", "demo-site", "--unit", unit, "--amount", "5万", "--purpose", "示范点", "--date", "2026-03-01", "--key", key][..], &meeting].concat());
        }
        let pay = |key: &str, allocation: &str, amount: &str, date: &str, extra: &[&str]| {
            cli_ok(&db, &[&["ledger", "disburse", "--allocation", allocation, "--amount", amount, "--date", date, "--key", key][..], extra].concat());
        };
        let b = ["--bank-account", "basic"];
        pay("d1", "1", "12000", "2026-03-05", &[&b[..], &["--voucher", "记-0001", "--payee-name", "U1 党支部", "--payee-account", "6222000000000001"]].concat());
        pay("d2", "2", "8000", "2026-03-06", &[&b[..], &["--payee-name", "U2 党支部", "--payee-account", "6222 0000 0000 0002"]].concat());
        pay("d3", "1", "5000", "2026-03-10", &[&b[..], &["--payee-name", "U1 党支部"]].concat());
        pay("d4", "2", "3000", "2026-03-12", &b);
        pay("d5", "1", "2000", "2026-03-15", &[&b[..], &["--payee-name", "U1 党支部", "--payee-account", "6222000000000001"]].concat());
        pay("d6", "2", "3000", "2026-03-13", &[]); // paid by the treasury: not on the bank account

        let dir = tempfile::tempdir().unwrap();
        let statement = dir.path().join("basic-2026-03.csv");
        std::fs::write(&statement, [
            "交易日期,支出,收入,余额,对方户名,对方账号,摘要\n",
            "20260305,12000.00,,88000.00,U1 党支部,6222000000000001,拨付 记-0001\n",
            "20260307,8000.00,,80000.00,U2 党支部,6222000000000002,拨付经费\n",
            "20260311,5000.00,,75000.00,U1党支部,,拨付\n",
            "20260313,3000.00,,72000.00,,,转账\n",
            "20260314,25.00,,71975.00,,,手续费\n",
            "20260316,2000.00,,69975.00,某印刷厂,955880001,货款\n",
        ].concat()).unwrap();
        cli_ok(&db, &["bank", "import", "--account", "basic", statement.to_str().unwrap()]);

        // A dry run proposes and writes nothing.
        let dry = json_of(&db, &["bank", "match", "--account", "basic", "--dry-run"]);
        assert_eq!(dry["matched"].as_array().unwrap().len(), 4, "{dry}");
        assert!(dry["matched"][0]["id"].is_null());
        assert!(json_of(&db, &["bank", "matches", "--account", "basic"]).as_array().unwrap().is_empty());

        let first_run = json_of(&db, &["bank", "match", "--account", "basic"]);
        let rules: Vec<&str> = first_run["matched"].as_array().unwrap().iter().map(|m| m["rule"].as_str().unwrap()).collect();
        assert_eq!(rules, ["reference", "counterparty", "counterparty", "amount_date"], "{first_run}");
        assert_eq!((first_run["lines"].as_u64(), first_run["exceptions"].as_u64()), (Some(6), Some(2)));
        let first = &first_run["matched"][0];
        assert!(first["id"].as_i64().is_some());
        let agreed: Vec<&str> = first["agreed"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert_eq!(agreed, ["reference", "amount", "counterparty_account", "counterparty_name", "date"], "{first}");
        assert_eq!(first_run["matched"][1]["agreed"][1], "counterparty_account", "{first_run}");
        // A second run finds nothing new.
        let again = json_of(&db, &["bank", "match", "--account", "basic"]);
        assert_eq!((again["matched"].as_array().unwrap().len(), again["matched_before"].as_u64()), (0, Some(4)));
        let table = cli_ok(&db, &["bank", "match", "--account", "basic"]);
        assert!(table.contains("此前已匹配 4 笔，本次匹配 0 笔，未匹配 2 笔"), "{table}");

        // The exceptions: the fee, and a payment to another party near D5, each with why.
        let ex = json_of(&db, &["bank", "exceptions", "--account", "basic"]);
        let ex = ex.as_array().unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0]["line"]["summary"], "手续费");
        assert!(ex[0]["near"].as_array().unwrap().iter().all(|c| c["why_not"][0].as_str().unwrap().starts_with("金额相差")), "{}", ex[0]);
        let printer = &ex[1];
        assert_eq!(printer["line"]["counterparty_name"], "某印刷厂");
        let near = &printer["near"][0];
        assert_eq!(near["difference"], "0.00", "{printer}");
        assert!(near["why_not"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("对方是另一单位")), "{printer}");
        let text = cli_ok(&db, &["bank", "exceptions", "--account", "basic"]);
        assert!(text.contains("对方是另一单位") && text.contains("未匹配：2 笔"), "{text}");

        // Matched by hand, refused twice, undone with a reversal, refused twice.
        let (line, posting) = (printer["line"]["id"].as_i64().unwrap().to_string(), near["entry"].as_i64().unwrap().to_string());
        let m = json_of(&db, &["bank", "match-manual", "--account", "basic", "--line", &line, "--posting", &posting, "--reason", "印刷厂代收"]);
        assert_eq!((m["rule"].as_str(), m["matched_by"].as_str(), m["agreed"].as_str()), (Some("manual"), Some("manual"), Some("amount,date")), "{m}");
        assert_eq!(json_of(&db, &["bank", "exceptions", "--account", "basic"]).as_array().unwrap().len(), 1);
        assert_eq!(json_of(&db, &["bank", "matches", "--account", "basic"]).as_array().unwrap().len(), 5);
        let (out, _, stderr) = run(duban(&db.url).args(["bank", "match-manual", "--account", "basic", "--line", &line, "--posting", &posting]));
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("已与分录"), "{stderr}");
        let (out, _, stderr) = run(duban(&db.url).args(["bank", "match-manual", "--account", "basic", "--line", "99999", "--posting", &posting]));
        assert_ne!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains("银行流水#99999不在账户“basic”上"), "{stderr}");
        let id = m["id"].as_i64().unwrap().to_string();
        let (out, _, stderr) = run(duban(&db.url).args(["bank", "unmatch", "--account", "basic", "--match", &id, "--reason", " "]));
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let undone = json_of(&db, &["bank", "unmatch", "--account", "basic", "--match", &id, "--reason", "对错了"]);
        let undone = &undone["reversals"][0];
        assert_eq!((undone["reverses_id"].as_i64(), undone["reason"].as_str()), (m["id"].as_i64(), Some("对错了")), "{undone}");
        let (out, _, stderr) = run(duban(&db.url).args(["bank", "unmatch", "--account", "basic", "--match", &id, "--reason", "again"]));
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("已经撤销"), "{stderr}");
        assert_eq!(json_of(&db, &["bank", "exceptions", "--account", "basic"]).as_array().unwrap().len(), 2);
        assert_eq!(json_of(&db, &["bank", "matches", "--account", "basic"]).as_array().unwrap().len(), 4);
        // Every run, match and unmatch is audited, and the chain holds.
        let (out, stdout, stderr) = run(duban(&db.url).args(["audit", "verify"]));
        assert!(out.status.success(), "{stdout}{stderr}");
    }
}

backend_tests! {
    async fn split_and_combined_payments_and_a_fee_within_tolerance_are_matched_booked_and_undone(db) {
        cli_ok(&db, &["migrate", "up"]);
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 2, d).unwrap();
        crate::ledger::register_units(&db.store().await, &[("U1".into(), day(1)), ("U2".into(), day(1)), ("U3".into(), day(1))]).await;
        cli_ok(&db, &["bank", "accounts", "add", "--code", "basic", "--name", "组织部基本户", "--number", "6222 0000 1111 2222", "--bank", "建设银行"]);
        let meeting = ["--meeting", "部务会 2026-01", "--approved-on", "2026-01-04"];
        cli_ok(&db, &["ledger", "appropriate", "--line", "demo-site", "--amount", "30万", "--date", "2026-01-05", "--key", "g1"]);
        for (key, unit, date) in [("g2", "U1", "2026-03-01"), ("g3", "U2", "2026-03-01"), ("g4", "U3", "2026-06-01")] {
            cli_ok(&db, &[&["ledger", "allocate", "--line", "demo-site", "--unit", unit, "--amount", "5万", "--purpose", "示范点", "--date", date, "--key", key][..], &meeting].concat());
        }
        let pay = |key: &str, allocation: &str, amount: &str, date: &str, payee: &str, account: &str| {
            cli_ok(&db, &["ledger", "disburse", "--allocation", allocation, "--amount", amount, "--date", date, "--key", key,
                "--bank-account", "basic", "--payee-name", payee, "--payee-account", account]);
        };
        // U1 is paid 30,000 in one disbursement that the bank split into 10,000 + 20,000.
        pay("p1", "1", "30000", "2026-03-05", "U1 党支部", "6222000000000001");
        // U2's two disbursements went out in one combined transfer of 12,500.
        pay("p2", "2", "7500", "2026-03-06", "U2 党支部", "6222000000000002");
        pay("p3", "2", "5000", "2026-03-07", "U2 党支部", "6222000000000002");
        // U1 again: 1,000.00 booked, the bank took 1,000.50 (a 0.50 remittance fee).
        pay("p4", "1", "1000", "2026-03-20", "U1 党支部", "6222000000000001");
        // Paid but not yet on any statement.
        pay("p5", "1", "2000", "2026-03-28", "U1 党支部", "6222000000000001");

        let dir = tempfile::tempdir().unwrap();
        let statement = dir.path().join("basic-2026-03.csv");
        std::fs::write(&statement, [
            "交易日期,支出,收入,余额,对方户名,对方账号,摘要\n",
            "20260305,10000.00,,290000.00,U1 党支部,6222000000000001,拨付（一）\n",
            "20260306,20000.00,,270000.00,U1 党支部,6222000000000001,拨付（二）\n",
            "20260308,12500.00,,257500.00,U2党支部,6222 0000 0000 0002,合并拨付\n",
            "20260321,1000.50,,256499.50,U1 党支部,6222000000000001,拨付含汇费\n",
        ].concat()).unwrap();
        cli_ok(&db, &["bank", "import", "--account", "basic", statement.to_str().unwrap()]);

        // With no tolerance configured the fee line stays open; the groups are matched.
        let dry = json_of(&db, &["bank", "match", "--account", "basic", "--dry-run"]);
        let rules: Vec<&str> = dry["matched"].as_array().unwrap().iter().map(|m| m["rule"].as_str().unwrap()).collect();
        assert_eq!(rules, ["combined", "split"], "{dry}");
        let tolerance_row = dry["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "tolerance").unwrap();
        assert_eq!(tolerance_row["enabled"], false, "{dry}");

        // A tolerance of 0.50 (yuan, as text) from the environment, as `[bank.matching]` would.
        let with_tolerance = |args: &[&str]| {
            let (out, stdout, stderr) = run(duban(&db.url).args(args).env("DUBAN_TODAY", "2026-12-31").env("DUBAN__BANK__MATCHING__TOLERANCE", "0.50"));
            assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
            stdout
        };
        let table = with_tolerance(&["bank", "match", "--account", "basic"]);
        assert!(table.contains("规则：凭证号/流水号一致（运行） → 金额及对方账号或户名一致（运行） → 金额一致且日期相近（运行） → 金额在容差内（运行） → 多笔分录合并一笔支付（对方一致，合计相等）（运行） → 一笔分录分多笔支付（对方一致，合计相等）（运行）"), "{table}");
        assert!(table.contains("差额 -0.50 已记入 expenses:bank-fees"), "{table}");
        assert!(table.contains("本次匹配 3 笔，未匹配 0 笔"), "{table}");
        let matches = json_of(&db, &["bank", "matches", "--account", "basic"]);
        let matches = matches.as_array().unwrap();
        // 2 rows for the split, 2 for the combination, 2 for the fee match (posting and fee).
        assert_eq!(matches.len(), 6, "{matches:?}");
        let split: Vec<&serde_json::Value> = matches.iter().filter(|m| m["rule"] == "split").collect();
        assert_eq!(split.len(), 2);
        assert_eq!(split[0]["group_id"], split[1]["group_id"]);
        assert_eq!(split[0]["posting_id"], split[1]["posting_id"]);
        assert_ne!(split[0]["line_id"], split[1]["line_id"]);
        let combined: Vec<&serde_json::Value> = matches.iter().filter(|m| m["rule"] == "combined").collect();
        assert_eq!(combined.len(), 2);
        assert_eq!(combined[0]["line_id"], combined[1]["line_id"]);
        let fee_row = matches.iter().find(|m| m["rule"] == "tolerance" && m["fee_transaction_id"].is_i64()).unwrap();
        assert_eq!(fee_row["difference"], -50, "{fee_row}");

        // The fee is a balanced ledger transaction; the bank account's balance is the statement's.
        let balances = json_of(&db, &["ledger", "balance"]);
        let balance = |name: &str| balances["rows"].as_array().unwrap().iter()
            .find(|r| r["account"] == name).map(|r| r["balance"].as_str().unwrap().to_string());
        assert_eq!(balance("expenses:bank-fees").as_deref(), Some("0.50"), "{balances}");
        assert_eq!(balance("assets:bank:basic").as_deref(), Some("-45500.50"), "{balances}");
        cli_ok(&db, &["ledger", "verify"]);
        let (out, stdout, stderr) = run(duban(&db.url).args(["audit", "verify"]));
        assert!(out.status.success(), "{stdout}{stderr}");

        // Three-way: U3's commitment unpaid (since June), U1 and U2 partly paid; the 2,000
        // paid on 28 March not on any statement.
        let tw = json_of(&db, &["bank", "three-way", "--as-of", "2026-07-01"]);
        let commitments = tw["commitments"].as_array().unwrap();
        assert_eq!(commitments.len(), 3, "{tw}");
        let u3 = commitments.iter().find(|c| c["unit_code"] == "U3").unwrap();
        assert_eq!((u3["outstanding"].as_i64(), u3["age_days"].as_i64(), u3["bucket"].as_str()), (Some(5_000_000), Some(30), Some("0-30")), "{u3}");
        let u1 = commitments.iter().find(|c| c["unit_code"] == "U1").unwrap();
        assert_eq!((u1["outstanding"].as_i64(), u1["age_days"].as_i64(), u1["bucket"].as_str()), (Some(1_700_000), Some(122), Some("90+")), "{u1}");
        let payments = tw["payments"].as_array().unwrap();
        assert_eq!(payments.len(), 1, "{tw}");
        assert_eq!((payments[0]["amount"].as_i64(), payments[0]["age_days"].as_i64(), payments[0]["bucket"].as_str()), (Some(200_000), Some(95), Some("90+")));
        assert_eq!(tw["payment_totals"][2]["amount"], "2000.00", "{tw}");
        assert_eq!(tw["commitment_totals"][0]["count"], 1, "{tw}");
        let table = cli_ok(&db, &["bank", "three-way", "--as-of", "2026-07-01"]);
        assert!(table.contains("账龄计至 2026年7月1日") && table.contains("90天以上：1 笔，2,000.00"), "{table}");
        let csv = dir.path().join("three-way.csv");
        cli_ok(&db, &["bank", "three-way", "--as-of", "2026-07-01", "--format", "csv", "--output", csv.to_str().unwrap()]);
        let bytes = std::fs::read(&csv).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(text.contains("已付款未见银行流水") && text.contains("2,000.00"), "{text}");
        let xlsx = dir.path().join("three-way.xlsx");
        cli_ok(&db, &["bank", "three-way", "--format", "xlsx", "--output", xlsx.to_str().unwrap()]);
        assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));
        let (out, _, stderr) = run(duban(&db.url).args(["bank", "three-way", "--format", "csv"]));
        assert_eq!(out.status.code(), Some(2), "{stderr}");

        // Unmatching the fee match reverses both its rows and the fee booking.
        let id = fee_row["id"].as_i64().unwrap().to_string();
        let undone = json_of(&db, &["bank", "unmatch", "--account", "basic", "--match", &id, "--reason", "汇费应由对方承担"]);
        assert_eq!(undone["reversals"].as_array().unwrap().len(), 2, "{undone}");
        assert!(undone["fee_reversal"].is_i64(), "{undone}");
        let balances = json_of(&db, &["ledger", "balance"]);
        assert!(balances["rows"].as_array().unwrap().iter().all(|r| r["account"] != "expenses:bank-fees"), "{balances}");
        // The split is undone whole by naming either of its rows.
        let id = split[1]["id"].as_i64().unwrap().to_string();
        let undone = json_of(&db, &["bank", "unmatch", "--account", "basic", "--match", &id, "--reason", "复核"]);
        assert_eq!(undone["reversals"].as_array().unwrap().len(), 2, "{undone}");
        assert_eq!(json_of(&db, &["bank", "matches", "--account", "basic"]).as_array().unwrap().len(), 2);
        // Every account's exceptions, by account: the split's two lines and the fee line.
        let all = json_of(&db, &["bank", "exceptions"]);
        assert_eq!(all[0]["account"], "basic", "{all}");
        assert_eq!(all[0]["exceptions"].as_array().unwrap().len(), 3, "{all}");
        let text = cli_ok(&db, &["bank", "exceptions"]);
        assert!(text.contains("== basic（组织部基本户）：未匹配 3 笔") && text.contains("可自动匹配分录"), "{text}");
        // Matched again: the split once more, and the fee booked anew.
        let again = with_tolerance(&["bank", "match", "--account", "basic"]);
        assert!(again.contains("本次匹配 2 笔，未匹配 0 笔"), "{again}");
        let balances = json_of(&db, &["ledger", "balance"]);
        assert!(balances["rows"].as_array().unwrap().iter().any(|r| r["account"] == "expenses:bank-fees" && r["balance"] == "0.50"), "{balances}");
        cli_ok(&db, &["ledger", "verify"]);
        let (out, stdout, stderr) = run(duban(&db.url).args(["audit", "verify"]));
        assert!(out.status.success(), "{stdout}{stderr}");

        // By hand: a 1,000.00 payment the bank took as 1,000.30 is refused naming the
        // difference; confirmed with --fee, the 0.30 is booked with the match, and an unmatch
        // reverses it.
        pay("p6", "3", "1000", "2026-06-10", "U3 党支部", "6222000000000003");
        let june = dir.path().join("basic-2026-06.csv");
        std::fs::write(&june, "交易日期,支出,收入,余额,对方户名,对方账号,摘要\n20260610,1000.30,,255499.20,U3 党支部,6222000000000003,拨付\n").unwrap();
        cli_ok(&db, &["bank", "import", "--account", "basic", june.to_str().unwrap()]);
        let ex = json_of(&db, &["bank", "exceptions", "--account", "basic"]);
        let open_line = ex.as_array().unwrap().iter().find(|e| e["line"]["summary"] == "拨付").unwrap();
        let (line, posting) = (open_line["line"]["id"].as_i64().unwrap().to_string(), open_line["near"][0]["entry"].as_i64().unwrap().to_string());
        let manual = ["bank", "match-manual", "--account", "basic", "--line", &line, "--posting", &posting, "--reason", "汇费"];
        let (out, _, stderr) = run(duban(&db.url).args(manual));
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("相差 -0.30") && stderr.contains("--fee"), "{stderr}");
        let text = cli_ok(&db, &[&manual[..], &["--fee"]].concat());
        assert!(text.contains("差额 -0.30，已记入 expenses:bank-fees（交易#"), "{text}");
        let fee_balance = || json_of(&db, &["ledger", "balance"])["rows"].as_array().unwrap().iter()
            .find(|r| r["account"] == "expenses:bank-fees").map(|r| r["balance"].as_str().unwrap().to_string());
        assert_eq!(fee_balance().as_deref(), Some("0.80"));
        let m = json_of(&db, &["bank", "matches", "--account", "basic"]);
        let m = m.as_array().unwrap().iter().find(|m| m["rule"] == "manual" && m["fee_transaction_id"].is_i64()).unwrap().clone();
        let undone = json_of(&db, &["bank", "unmatch", "--account", "basic", "--match", &m["id"].to_string(), "--reason", "汇费应由对方承担"]);
        assert_eq!(undone["reversals"].as_array().unwrap().len(), 2, "{undone}");
        assert!(undone["fee_reversal"].is_i64(), "{undone}");
        assert_eq!(fee_balance().as_deref(), Some("0.50"));
        cli_ok(&db, &["ledger", "verify"]);

        // A bad rule table is refused at start, naming the key.
        let (out, _, stderr) = run(duban(&db.url).args(["bank", "accounts", "list"]).env("DUBAN__BANK__MATCHING__TOLERANCE", "0.005"));
        assert_ne!(out.status.code(), Some(0));
        assert!(stderr.contains("bank.matching.tolerance"), "{stderr}");
        let (out, _, stderr) = run(duban(&db.url).args(["bank", "accounts", "list"]).env("DUBAN__BANK__MATCHING__FEE_ACCOUNT", "income:fees"));
        assert_ne!(out.status.code(), Some(0));
        assert!(stderr.contains("bank.matching.fee_account"), "{stderr}");
    }
}

backend_tests! {
    async fn receipts_and_transfers_between_own_accounts_are_booked_and_matched(db) {
        cli_ok(&db, &["migrate", "up"]);
        crate::ledger::register_units(&db.store().await, &[("U1".into(), chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap())]).await;
        cli_ok(&db, &["bank", "accounts", "add", "--code", "basic", "--name", "组织部基本户", "--number", "6222 0000 1111 2222", "--bank", "建设银行"]);
        cli_ok(&db, &["bank", "accounts", "add", "--code", "dues", "--name", "党费专户", "--number", "6222 0000 3333 4444", "--bank", "工商银行"]);
        let meeting = ["--meeting", "部务会 2026-01", "--approved-on", "2026-01-04"];
        cli_ok(&db, &["ledger", "appropriate", "--line", "demo-site", "--amount", "20万", "--date", "2026-01-05", "--key", "r1"]);
        cli_ok(&db, &[&["ledger", "allocate", "--line", "demo-site", "--unit", "U1", "--amount", "5万", "--purpose", "示范点", "--date", "2026-03-01", "--key", "r2"][..], &meeting].concat());
        // The treasury transfers the appropriation to the basic account; one payment goes out
        // of it; 3,000 moves from the basic account to the dues account.
        let received = json_of(&db, &["ledger", "receive", "--bank-account", "basic", "--from", "income:fiscal-appropriation", "--amount", "10万",
            "--voucher", "收-0001", "--payer-name", "济南市财政局", "--payer-account", "3700 1234 5678", "--payer-bank", "人民银行济南分行",
            "--date", "2026-03-02", "--key", "r3"]);
        assert!(received["message"].as_str().unwrap().contains("received 100,000.00 into assets:bank:basic"), "{received}");
        cli_ok(&db, &["ledger", "disburse", "--allocation", "1", "--amount", "12000", "--date", "2026-03-05", "--key", "r4",
            "--bank-account", "basic", "--payee-name", "U1 党支部", "--payee-account", "6222000000000001"]);
        cli_ok(&db, &["ledger", "receive", "--bank-account", "dues", "--from", "assets:bank:basic", "--amount", "3000", "--memo", "内部转账", "--date", "2026-03-20", "--key", "r5"]);
        // A payment without a commitment, paid from the basic account too.
        cli_ok(&db, &["ledger", "pay", "--line", "demo-site", "--amount", "500", "--payee", "市委党校", "--purpose", "培训场地",
            "--bank-account", "basic", "--payee-account", "955880002", "--voucher", "记-0020", "--date", "2026-03-25", "--key", "r6"]);

        // Refused, naming the field, nothing written: a receipt from the account itself, from a
        // budget line's expense, into or from an account that does not exist, of nothing.
        let refused = |args: &[&str], field: &str| {
            let (out, stdout, stderr) = run(duban(&db.url).args([&["ledger", "receive", "--date", "2026-03-21", "--key", "bad"][..], args].concat()).env("DUBAN_TODAY", "2026-12-31"));
            assert!(!out.status.success(), "{args:?}: {stdout}{stderr}");
            assert!(stderr.contains(field), "{args:?}: {stderr}");
        };
        refused(&["--bank-account", "basic", "--from", "assets:bank:basic", "--amount", "1"], "from:");
        refused(&["--bank-account", "basic", "--from", "expenses:demo-site", "--amount", "1"], "from:");
        refused(&["--bank-account", "basic", "--from", "assets:bank:boc", "--amount", "1"], "from: 没有代码为“boc”的银行账户");
        refused(&["--bank-account", "boc", "--from", "income:fiscal-appropriation", "--amount", "1"], "bank_account: 没有代码为“boc”的银行账户");
        refused(&["--bank-account", "basic", "--from", "income:fiscal-appropriation", "--amount", "0"], "amount");
        refused(&["--bank-account", "basic", "--from", "income:fiscal-appropriation", "--amount", "1", "--payer-name", " "], "payer.name");

        let balances = json_of(&db, &["ledger", "balance"]);
        let balance = |name: &str| balances["rows"].as_array().unwrap().iter()
            .find(|r| r["account"] == name).map(|r| r["balance"].as_str().unwrap().to_string());
        assert_eq!(balance("assets:bank:basic").as_deref(), Some("84500.00"), "{balances}");
        assert_eq!(balance("assets:bank:dues").as_deref(), Some("3000.00"), "{balances}");
        let txns = json_of(&db, &["ledger", "transactions"]);
        let receipt = txns.as_array().unwrap().iter().find(|t| t["kind"] == "receipt").expect("a receipt");
        assert_eq!((receipt["payment"]["voucher"].as_str(), receipt["payment"]["payee_name"].as_str()), (Some("收-0001"), Some("济南市财政局")), "{receipt}");

        // Both statements: every line is matched, the transfer on both sides.
        let dir = tempfile::tempdir().unwrap();
        let basic = dir.path().join("basic-2026-03.csv");
        std::fs::write(&basic, [
            "交易日期,支出,收入,余额,对方户名,对方账号,摘要\n",
            "20260302,,100000.00,100000.00,济南市财政局,370012345678,拨款 收-0001\n",
            "20260305,12000.00,,88000.00,U1 党支部,6222000000000001,拨付经费\n",
            "20260320,3000.00,,85000.00,党费专户,6222000033334444,内部转账\n",
            "20260326,500.00,,84500.00,中共济南市委党校,955880002,培训场地费\n",
        ].concat()).unwrap();
        let dues = dir.path().join("dues-2026-03.csv");
        std::fs::write(&dues, [
            "交易日期,支出,收入,余额,对方户名,对方账号,摘要\n",
            "20260320,,3000.00,3000.00,组织部基本户,6222000011112222,内部转账\n",
        ].concat()).unwrap();
        cli_ok(&db, &["bank", "import", "--account", "basic", basic.to_str().unwrap()]);
        cli_ok(&db, &["bank", "import", "--account", "dues", dues.to_str().unwrap()]);
        let run_basic = json_of(&db, &["bank", "match", "--account", "basic"]);
        let rules: Vec<&str> = run_basic["matched"].as_array().unwrap().iter().map(|m| m["rule"].as_str().unwrap()).collect();
        assert_eq!(rules, ["reference", "counterparty", "counterparty", "amount_date"], "{run_basic}");
        assert_eq!(run_basic["exceptions"].as_u64(), Some(0), "{run_basic}");
        let run_dues = json_of(&db, &["bank", "match", "--account", "dues"]);
        assert_eq!((run_dues["matched"].as_array().unwrap().len(), run_dues["exceptions"].as_u64()), (1, Some(0)), "{run_dues}");

        // The reconciliation statement of the basic account balances with nothing in transit.
        let rec = json_of(&db, &["report", "bank-reconciliation", "--account", "basic", "--month", "2026-03"]);
        assert_eq!(rec["book_balance"], rec["bank_balance"], "{rec}");
        let (out, stdout, stderr) = run(duban(&db.url).args(["audit", "verify"]));
        assert!(out.status.success(), "{stdout}{stderr}");
        cli_ok(&db, &["ledger", "verify"]);
    }
}
