use crate::support::{duban, fixture, run};

backend_tests! {
    async fn a_file_with_three_bad_rows_writes_nothing_and_names_each(db) {
        let store = db.store().await;
        let (out, stdout, stderr) = run(duban(&db.url).args(["import", "register"]).arg(fixture("register/bad-three.csv")));
        assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(": row ")).collect();
        assert_eq!(lines.len(), 3, "{stderr}");
        assert!(lines[0].contains("row 2, column 统一社会信用代码") && lines[0].contains("check character"), "{}", lines[0]);
        assert!(lines[1].contains("row 3, column 书记手机") && lines[1].contains("mobile"), "{}", lines[1]);
        assert!(lines[2].contains("row 4, column 上级党组织编码") && lines[2].contains("JN-404"), "{}", lines[2]);
        assert!(stderr.contains("3 error(s); nothing was imported"), "{stderr}");
        assert_eq!(store.register_counts().await.unwrap(), (0, 0, 0));
    }

    async fn a_good_file_imports_once_and_again_changes_nothing(db) {
        let store = db.store().await;
        let file = fixture("register/good.csv");
        let (out, stdout, stderr) = run(duban(&db.url).args(["import", "register", "--dry-run", "--format", "json"]).arg(&file));
        assert!(out.status.success(), "{stdout}{stderr}");
        let dry: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(dry["organisations"]["created"], 4);
        assert_eq!(store.register_counts().await.unwrap(), (0, 0, 0), "a dry run writes nothing");

        let (out, stdout, stderr) = run(duban(&db.url).args(["import", "register", "--format", "json"]).arg(&file));
        assert!(out.status.success(), "{stdout}{stderr}");
        let first: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(first["organisations"]["created"], 4);
        assert_eq!(first["units"]["created"], 3);
        assert_eq!(first["people"]["created"], 3);
        assert_eq!(store.register_counts().await.unwrap(), (4, 3, 3));
        let audit_rows = audit_count(&db).await;
        assert_eq!(audit_rows, 4 + 3 + 3 + 2, "every created row is audited (2 elections)");

        let (out, stdout, stderr) = run(duban(&db.url).args(["import", "register"]).arg(&file));
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(stdout.contains("nothing changed"), "{stdout}");
        assert_eq!(store.register_counts().await.unwrap(), (4, 3, 3));
        assert_eq!(audit_count(&db).await, audit_rows);

        // The same file saved as GBK by an older Excel imports identically.
        let text = std::fs::read_to_string(&file).unwrap();
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
        assert!(!unmappable);
        let gbk_file = std::env::temp_dir().join(format!("{}-gbk.csv", uuid::Uuid::now_v7()));
        std::fs::write(&gbk_file, &gbk).unwrap();
        let (out, stdout, stderr) = run(duban(&db.url).args(["import", "register"]).arg(&gbk_file));
        std::fs::remove_file(&gbk_file).ok();
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(stdout.contains("nothing changed"), "{stdout}");

        let (out, stdout, _) = run(duban(&db.url).args(["register", "coverage", "--format", "json"]));
        assert!(out.status.success());
        let cov: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(cov["total"]["with_members"], 3);
        assert_eq!(cov["total"]["organisational_coverage"], "100.00");
        assert_eq!(cov["total"]["work_coverage"], "100.00");
    }

    async fn log_lines_never_show_a_whole_mobile_number(db) {
        db.store().await;
        let (out, stdout, stderr) = run(
            duban(&db.url)
                .env("DUBAN__LOG__FILTER", "debug")
                .args(["import", "register"])
                .arg(fixture("register/good.csv")),
        );
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(stderr.contains("register imported"), "the import logged nothing:\n{stderr}");
        for number in ["13812348000", "13912345678", "13900001111"] {
            assert!(!stderr.contains(number), "{number} appears in the log:\n{stderr}");
        }
    }
}

async fn audit_count(db: &crate::support::TestDb) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let conn = db.connect().await;
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM audit_log",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[test]
fn the_template_is_the_header_row_with_a_bom() {
    let (out, stdout, _) = run(duban("sqlite::memory:").args(["import", "register", "--template"]));
    assert!(out.status.success());
    assert!(stdout.starts_with('\u{feff}'));
    assert!(
        stdout
            .trim_start_matches('\u{feff}')
            .starts_with("统一社会信用代码,组织名称,组织类别")
    );
}
