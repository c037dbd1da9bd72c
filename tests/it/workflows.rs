//! `duban workflows check|schema|simulate` and `duban calendar` through the binary.

use crate::support::{duban, repo, run};

// These commands need no database; the URL only satisfies the configuration.
const NO_DB: &str = "sqlite::memory:";

#[test]
fn check_passes_on_the_shipped_workflows() {
    let (out, stdout, stderr) = run(duban(NO_DB).args(["workflows", "check"]));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("0 error(s)"), "{stdout}");
    assert!(stdout.contains("13 workflow(s) valid"), "{stdout}");
}

#[test]
fn check_fails_on_broken_files_with_located_json() {
    let dir = repo().join("tests/fixtures/workflows/broken");
    let (out, stdout, stderr) = run(duban(NO_DB)
        .args(["workflows", "check", "--format", "json"])
        .arg(&dir));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let diags = json["diagnostics"].as_array().unwrap();
    assert!(json["errors"].as_u64().unwrap() >= 20, "{stdout}");
    for d in diags {
        assert!(d["file"].as_str().unwrap().contains("broken"), "{d}");
        assert!(
            d["line"].as_u64().unwrap() >= 1 && d["column"].as_u64().unwrap() >= 1,
            "{d}"
        );
        assert!(!d["help"].as_str().unwrap().is_empty(), "{d}");
    }
    let (out, stdout, _) = run(duban(NO_DB)
        .args(["workflows", "check"])
        .arg(dir.join("14_unknown_role.toml")));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("14_unknown_role.toml:15:7: error[unknown-role]"),
        "{stdout}"
    );
    assert!(stdout.contains("did you mean `secretary`?"), "{stdout}");
}

#[test]
fn schema_is_json_schema() {
    let (out, stdout, stderr) = run(duban(NO_DB).args(["workflows", "schema"]));
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        json["$schema"]
            .as_str()
            .unwrap()
            .contains("json-schema.org")
    );
    assert!(json["properties"]["step"]["items"]["properties"]["offset"].is_object());
}

#[test]
fn calendar_is_workday_and_add_workdays() {
    let (out, stdout, stderr) = run(duban(NO_DB).args([
        "calendar",
        "is-workday",
        "2026-02-14",
        "2026-02-23",
        "2026-10-10",
        "2026-10-11",
    ]));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        "2026-02-14 workday\n2026-02-23 off 春节\n2026-10-10 workday\n2026-10-11 off\n"
    );

    let mut cmd = duban(NO_DB);
    cmd.args(["calendar", "is-workday", "--stdin"])
        .stdin(std::process::Stdio::piped());
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all("2026-10-01\n\n2026年9月20日\nnot-a-date\n2027-01-04\n".as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a bad line fails the run");
    assert_eq!(
        stdout,
        "2026-10-01 off 国庆节\n2026-09-20 workday\n2027-01-04 workday\n"
    );
    assert!(
        stderr.contains("stdin line 4: `not-a-date` is not a date"),
        "{stderr}"
    );
    assert!(stderr.contains("no holiday calendar for 2027"), "{stderr}");

    let (out, stdout, _) = run(duban(NO_DB).args(["calendar", "add-workdays", "2026-02-13", "2"]));
    assert!(out.status.success());
    assert_eq!(stdout.trim(), "2026-02-24");
    let (out, stdout, _) = run(duban(NO_DB).args(["calendar", "add-workdays", "2026-02-24", "-1"]));
    assert!(out.status.success());
    assert_eq!(stdout.trim(), "2026-02-14");
}

#[test]
fn simulate_term_expiry_shows_reminders_and_escalations() {
    let subject = r#"{"kind":"term","unit_code":"DZ0102","unit_name":"星河科技有限公司党支部","unit_level":"branch","secretary":"王海燕","superior_unit":"高新区非公企业综合党委","superior_secretary":"李建国","term_end":"2026-10-09"}"#;
    let (out, stdout, stderr) = run(duban(NO_DB).args([
        "workflows",
        "simulate",
        "term_expiry",
        "--subject",
        subject,
        "--from",
        "2026-01-01",
        "--to",
        "2027-03-31",
        "--format",
        "json",
    ]));
    assert!(out.status.success(), "{stdout}{stderr}");
    let t: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let entries = t["entries"].as_array().unwrap();
    let steps: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["step_id"].as_str())
        .collect();
    assert_eq!(steps.first(), Some(&"superior_notice"));
    assert_eq!(steps.last(), Some(&"open_interview"));
    assert!(entries.iter().filter(|e| e["escalation"] == true).count() >= 6);
    let sms = entries
        .iter()
        .flat_map(|e| e["messages"].as_array().unwrap())
        .find(|m| m["channel"] == "sms")
        .unwrap();
    assert!(
        sms["text"]
            .as_str()
            .unwrap()
            .starts_with("【组织部】星河科技有限公司党支部"),
        "{sms}"
    );

    // An election on 20 September stops the chain and starts the result report.
    let (out, stdout, stderr) = run(duban(NO_DB).args([
        "workflows",
        "simulate",
        "term_expiry",
        "--subject",
        subject,
        "--from",
        "2026-09-01",
        "--to",
        "2026-12-31",
        "--event",
        "election_recorded@2026-09-20",
    ]));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("换届选举已完成 (election_recorded)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[post_election_report/report_reminder]"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("[term_expiry/overdue_superior]"),
        "{stdout}"
    );

    // Bad input is named.
    let (out, _, stderr) = run(duban(NO_DB).args([
        "workflows",
        "simulate",
        "term_expiry",
        "--subject",
        "{\"kind\":\"term\"",
        "--from",
        "2026-09-01",
        "--to",
        "2026-12-31",
    ]));
    assert_eq!(out.status.code(), Some(2), "bad input");
    assert!(stderr.contains("--subject:1:"), "{stderr}");
    let (out, _, stderr) = run(duban(NO_DB).args([
        "workflows",
        "simulate",
        "term_expiry",
        "--subject",
        subject,
        "--from",
        "2026-09-01",
        "--to",
        "2026-12-31",
        "--event",
        "elected@2026-09-20",
    ]));
    assert_eq!(out.status.code(), Some(2), "bad input");
    assert!(
        stderr.contains("`elected` is not an event of `term` subjects"),
        "{stderr}"
    );
}

/// With a provider that sends only approved templates, `workflows check` says which steps'
/// SMS would go out through the generic `reminder` template (their own text never reaching
/// people) and refuses steps that would have no template at all.
#[test]
fn check_holds_the_sms_provider_templates_to_the_workflow_steps() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("config/default.toml"),
        dir.path().join("default.toml"),
    )
    .unwrap();
    let provider = r#"
[notify.sms]
provider = "aliyun"
[notify.sms.aliyun]
sign_name = "历下区委组织部"
"#;
    let check = |env_file: &str| {
        std::fs::write(dir.path().join("province.toml"), env_file).unwrap();
        run(duban(NO_DB)
            .env("DUBAN_CONFIG_DIR", dir.path())
            .env("DUBAN_ENV", "province")
            .args(["workflows", "check"]))
    };

    let (out, stdout, stderr) = check(provider);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("error: SMS of term_expiry.remind_1mo has no provider template"),
        "{stdout}"
    );

    let generic = format!(
        "{provider}\n[notify.sms.templates.reminder.aliyun]\ncode = \"SMS_100001\"\n\
         [notify.sms.templates.\"term_expiry.remind_1mo\".aliyun]\ncode = \"SMS_100002\"\n"
    );
    let (out, stdout, stderr) = check(&generic);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "warning: SMS of term_expiry.remind_6mo goes out through the generic `reminder`"
        ),
        "{stdout}"
    );
    assert!(
        !stdout.contains("term_expiry.remind_1mo goes out"),
        "{stdout}"
    );

    // The parameters a mapping names are checked against what the step's messages carry.
    let mapped = format!(
        "{provider}\n[notify.sms.templates.reminder.aliyun]\ncode = \"SMS_100001\"\n\
         params = {{ unit = \"unit_name\", days = \"days_left\" }}\n\
         [notify.sms.templates.\"term_expiry.remind_1mo\".aliyun]\ncode = \"SMS_100002\"\n\
         params = {{ unit = \"unit_nam\", date = \"term_end\", days = \"days_left\" }}\n"
    );
    let (out, stdout, stderr) = check(&mapped);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("error: SMS of term_expiry.remind_1mo: provider variable unit is mapped to `unit_nam`, which its messages do not have; use one of: unit_code, unit_name,"),
        "{stdout}"
    );
    // A month ahead of the term's end the count of days is never negative ...
    assert!(
        !stdout.contains("term_expiry.remind_1mo: provider variable days"),
        "{stdout}"
    );
    // ... but a step that leaves after it would send 已逾期 as a negative number.
    assert!(
        stdout.contains("provider variable days is mapped to `days_left`, a negative number once the step leaves after its anchor; map `time_left`"),
        "{stdout}"
    );
}
