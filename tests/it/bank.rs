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
