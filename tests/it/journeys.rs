//! Journeys through the public commands only, as an organisation department would live them:
//! import the register, let the clock run (`DUBAN_NOW` and `duban engine advance`), answer
//! each reminder with the command a secretary's answer arrives through, and hold every chain
//! to what `duban workflows simulate` predicts for the same answers. What people receive is
//! checked in the messages written by `duban dispatch`.

use crate::support::{TestDb, duban, fixture, run};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// One organisation department's database, driven through the binary.
pub(crate) struct Office {
    db: TestDb,
    out: tempfile::TempDir,
}

impl Office {
    /// A department with the demo register (`config/demo/register.csv`), imported at `now`.
    pub(crate) fn demo(db: TestDb, now: &str) -> Office {
        let o = Office {
            db,
            out: tempfile::tempdir().unwrap(),
        };
        o.ok(now, &["migrate", "up"]);
        let demo = crate::support::repo().join("config/demo/register.csv");
        o.ok(now, &["import", "register", demo.to_str().unwrap()]);
        o
    }

    fn open(db: TestDb) -> Office {
        let o = Office {
            db,
            out: tempfile::tempdir().unwrap(),
        };
        o.ok("2026-03-01T10:00", &["migrate", "up"]);
        o.ok(
            "2026-03-01T10:00",
            &[
                "import",
                "register",
                fixture("register/good.csv").to_str().unwrap(),
            ],
        );
        // The department's officer is not in the register: added as staff.
        o.ok(
            "2026-03-01T10:00",
            &[
                "people",
                "add-staff",
                "--name",
                "刘组织",
                "--post",
                "组织科科长",
                "--mobile",
                "13700007777",
                "--email",
                "liu@zzb.example.cn",
                "--roles",
                "org_department",
            ],
        );
        o
    }

    fn cmd(&self, now: &str, args: &[&str]) -> std::process::Command {
        let mut c = duban(&self.db.url);
        c.env("DUBAN_NOW", now)
            .env(
                "DUBAN__NOTIFY__EMAIL__EML_DIR",
                self.out.path().join("outbox"),
            )
            .env(
                "DUBAN__NOTIFY__SMS__LOG_FILE",
                self.out.path().join("sms.log"),
            )
            .args(args);
        c
    }

    /// Runs a command that must succeed; its standard output.
    pub(crate) fn ok(&self, now: &str, args: &[&str]) -> String {
        let (out, stdout, stderr) = run(&mut self.cmd(now, args));
        assert!(
            out.status.success(),
            "duban {} at {now} failed ({:?}):\n{stdout}\n{stderr}",
            args.join(" "),
            out.status.code()
        );
        stdout
    }

    pub(crate) fn json(&self, now: &str, args: &[&str]) -> Value {
        let text = self.ok(now, &[args, &["--format", "json"]].concat());
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// Runs a command that a rule must refuse (exit 1); its standard error.
    pub(crate) fn refused(&self, now: &str, args: &[&str]) -> String {
        let (out, stdout, stderr) = run(&mut self.cmd(now, args));
        assert_eq!(
            out.status.code(),
            Some(1),
            "duban {} should be refused:\n{stdout}\n{stderr}",
            args.join(" ")
        );
        stderr
    }

    /// Lets the clock run from `from` to `to`: every timer fires at its own due time.
    fn advance(&self, from: &str, to: &str) {
        self.ok(from, &["engine", "advance", "--to", to]);
    }

    /// The id of the one instance of `workflow` for `unit` in `status` (any when None).
    fn instance(&self, now: &str, unit: &str, workflow: &str, status: Option<&str>) -> i64 {
        let list = self.json(
            now,
            &["instances", "list", "--unit", unit, "--workflow", workflow],
        );
        let ids: Vec<i64> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| status.is_none_or(|s| i["status"] == s))
            .map(|i| i["id"].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(ids.len(), 1, "{workflow} of {unit} ({status:?}): {list:#}");
        ids[0]
    }

    /// Writes a file into the office's scratch directory; its path.
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.out.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    /// (step, local date) of every step an instance fired, and the instance's status.
    fn fired(&self, now: &str, instance: i64) -> (BTreeSet<(String, String)>, String) {
        let v = self.json(now, &["instances", "show", &instance.to_string()]);
        let fired = v["timers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["state"] == "done")
            .map(|t| {
                (
                    t["step_id"].as_str().unwrap().to_string(),
                    local_date(t["due_at"].as_str().unwrap()),
                )
            })
            .collect();
        (fired, v["instance"]["status"].as_str().unwrap().to_string())
    }

    /// What `workflows simulate` predicts up to `to`, as (step, local date).
    fn predicted(
        &self,
        workflow: &str,
        subject: &Value,
        from: &str,
        to: &str,
        events: &[&str],
    ) -> BTreeSet<(String, String)> {
        let file = self.out.path().join(format!("{workflow}.json"));
        std::fs::write(&file, subject.to_string()).unwrap();
        let mut args = vec![
            "workflows",
            "simulate",
            workflow,
            "--subject",
            file.to_str().unwrap(),
            "--from",
            from,
            "--to",
            to,
        ];
        for e in events {
            args.extend(["--event", e]);
        }
        let v = self.json("2026-03-01T10:00", &args);
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "step" && e["workflow_id"] == workflow)
            .map(|e| {
                (
                    e["step_id"].as_str().unwrap().to_string(),
                    e["local"].as_str().unwrap()[..10].to_string(),
                )
            })
            .collect()
    }

    /// Sends what is due and returns every message written, emails decoded.
    pub(crate) fn dispatch(&self, now: &str) -> Vec<String> {
        self.ok(now, &["dispatch"]);
        let mut out = Vec::new();
        if let Ok(text) = std::fs::read_to_string(self.out.path().join("sms.log")) {
            out.extend(text.lines().map(str::to_string));
        }
        let dir: PathBuf = self.out.path().join("outbox");
        if dir.exists() {
            out.extend(mail_texts(&dir));
        }
        out
    }
}

/// Every .eml file in `dir`, as its decoded subject, recipients and text (Python's email
/// package reads what any mail client would).
fn mail_texts(dir: &std::path::Path) -> Vec<String> {
    let script = r#"
import email, email.policy, pathlib, sys
for f in sorted(pathlib.Path(sys.argv[1]).glob('*.eml')):
    m = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
    body = m.get_body(preferencelist=('plain',))
    print('To: ' + str(m['To']))
    print('Subject: ' + str(m['Subject']))
    print(body.get_content() if body else '')
    print('\x1e')
"#;
    let out = std::process::Command::new(duban_notify::testing::python())
        .args(["-c", script])
        .arg(dir)
        .output()
        .expect("python3 reads the emails");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split('\x1e')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn local_date(utc: &str) -> String {
    let t: chrono::DateTime<chrono::Utc> = utc
        .parse()
        .or_else(|_| utc.parse::<chrono::NaiveDateTime>().map(|n| n.and_utc()))
        .unwrap_or_else(|e| panic!("{utc}: {e}"));
    t.with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string()
}

fn names(set: &BTreeSet<(String, String)>) -> BTreeSet<&str> {
    set.iter().map(|(s, _)| s.as_str()).collect()
}

backend_tests! {
    // 按期换届: reminders before the term ends, the request, the election, the result
    // report, and the next term's chain.
    async fn a_term_from_reminder_to_the_next_term(db) {
        let o = Office::open(db);
        let term = o.instance("2026-03-01T10:00", "JN-001", "term_expiry", Some("active"));

        o.advance("2026-03-01T10:00", "2026-08-05T10:00");
        o.ok("2026-08-05T10:00", &["term", "request", "JN-001", "--date", "2026-08-05", "--note", "换届请示已报街道党工委"]);
        o.advance("2026-08-05T10:00", "2026-09-09T10:00");
        // A month before the end, the secretary is told how many days are left that day.
        let sent = o.dispatch("2026-09-09T10:00").join("\n");
        assert!(sent.contains("紧急：泉城科技有限公司党支部任期2026年10月9日届满，仅剩30天"), "{sent}");
        o.advance("2026-09-09T10:00", "2026-10-16T10:00");
        let sent = o.dispatch("2026-10-16T10:00").join("\n");
        assert!(sent.contains("已逾期7天") && sent.contains("这是第2次通报"), "{sent}");
        // Emails are addressed to the person by name.
        assert!(sent.contains("To: 周建国 <"), "{sent}");
        assert!(!sent.contains("这是第3次通报"), "{sent}");
        o.advance("2026-10-16T10:00", "2026-10-20T10:00");
        let before = o.fired("2026-10-20T10:00", term).0;
        assert!(names(&before).contains("remind_1mo"), "{before:?}");
        assert!(names(&before).contains("mark_overdue"), "{before:?}");
        assert!(!names(&before).contains("request_due"), "answered before it was due: {before:?}");

        o.ok("2026-10-20T10:00", &["term", "elect", "JN-001", "--date", "2026-10-20"]);
        // The election cannot be recorded twice; the second answer changes nothing.
        let again = o.ok("2026-10-20T11:00", &["term", "elect", "JN-001", "--date", "2026-10-20"]);
        assert!(again.contains("nothing changed"), "{again}");
        let report = o.instance("2026-10-20T10:00", "JN-001", "post_election_report", None);
        o.advance("2026-10-20T10:00", "2026-11-05T10:00");
        o.ok("2026-11-05T10:00", &["term", "report", "JN-001", "--date", "2026-11-05"]);
        o.advance("2026-11-05T10:00", "2027-01-31T10:00");

        let subject = serde_json::json!({
            "kind": "term", "unit_code": "JN-001", "unit_name": "泉城科技有限公司党支部",
            "unit_level": "branch", "secretary": "王芳", "superior_unit": "济南市历下区两新组织党委",
            "superior_secretary": "周建国", "term_start": "2023-10-09", "term_end": "2026-10-09"
        });
        let predicted = o.predicted("term_expiry", &subject, "2026-03-01", "2027-01-31",
            &["request_submitted@2026-08-05", "election_recorded@2026-10-20"]);
        let (fired, status) = o.fired("2027-01-31T10:00", term);
        assert_eq!(fired, predicted, "the term's chain differs from its simulation");
        assert_eq!(status, "completed");
        for escalation in ["overdue_org_department", "open_interview", "request_missing"] {
            assert!(!names(&fired).contains(escalation), "{escalation} fired after the answer");
        }

        let mut after = subject.clone();
        after["election_date"] = "2026-10-20".into();
        let predicted = o.predicted("post_election_report", &after, "2026-10-20", "2027-01-31",
            &["result_reported@2026-11-05"]);
        let (fired, status) = o.fired("2027-01-31T10:00", report);
        assert_eq!(fired, predicted);
        assert!(!names(&fired).contains("report_overdue"), "{fired:?}");
        assert_eq!(status, "completed");

        // The next term has its own chain, reminding three years on.
        let next = o.instance("2027-01-31T10:00", "JN-001", "term_expiry", Some("active"));
        assert_ne!(next, term);
        let units = o.json("2027-01-31T10:00", &["units", "list", "--unit", "JN-001"]);
        assert_eq!(units[0]["term_end"], "2029-10-20", "{units:#}");

        // Everything people were sent names the unit and leaves no template unrendered.
        let all = o.dispatch("2027-02-01T10:00").join("\n");
        assert!(all.contains("泉城科技有限公司党支部"), "{all}");
        assert!(!all.contains("{{") && !all.contains("{%"), "a template was left unrendered:\n{all}");
        // The election came before the escalation to the organisation department.
        assert!(!all.contains("逾期未换届报组织部门"), "{all}");
        let staff = o.json("2027-02-01T10:00", &["people", "staff"]);
        assert_eq!(staff[0]["name"], "刘组织", "{staff:#}");
        assert_eq!(staff[0]["mobile"], "137****7777", "{staff:#}");
    }

    // 整改: assignment, monthly progress, close-out by a second person, the follow-up review.
    async fn a_rectification_item_from_assignment_to_review(db) {
        let o = Office::open(db);
        let opened = o.json("2026-03-02T10:00", &[
            "rectification", "open", "JN-001", "--title", "组织生活会记录不全", "--kind", "time_bound",
            "--deadline", "2026-06-30", "--verifier", "13900001111",
        ]);
        let subject_key = opened["subject"].as_str().unwrap().to_string();
        let item = subject_key.strip_prefix("rectification:").unwrap().to_string();
        assert!(!opened["plans"].as_array().unwrap().is_empty(), "no chain started: {opened:#}");
        let chain = o.instance("2026-03-02T10:00", "JN-001", "rectification", None);
        let listed = o.json("2026-03-02T10:00", &["rectification", "list", "--unit", "JN-001"]);
        assert_eq!(listed[0]["title"], "组织生活会记录不全");
        assert_eq!(listed[0]["owner"], "王芳");

        o.advance("2026-03-02T10:00", "2026-04-03T10:00");
        o.ok("2026-04-03T10:00", &["rectification", "progress", &item, "--date", "2026-04-03", "--note", "已补全三月记录"]);
        o.advance("2026-04-03T10:00", "2026-06-20T10:00");
        // The owner cannot verify her own item.
        let err = o.refused("2026-06-20T10:00", &["rectification", "close", &item, "--verifier", "13812348000", "--date", "2026-06-20"]);
        assert!(err.contains("owns item"), "{err}");
        o.ok("2026-06-20T10:00", &["rectification", "close", &item, "--verifier", "13900001111", "--date", "2026-06-20"]);
        let review = o.instance("2026-06-20T10:00", "JN-001", "rectification_review", None);
        o.advance("2026-06-20T10:00", "2026-09-21T10:00");
        o.ok("2026-09-21T10:00", &["rectification", "review", &item, "--date", "2026-09-21", "--passed"]);
        o.advance("2026-09-21T10:00", "2026-12-31T10:00");

        let subject = serde_json::json!({
            "kind": "rectification", "item_code": item, "title": "组织生活会记录不全",
            "rectification_kind": "time_bound", "unit_name": "泉城科技有限公司党支部", "owner": "王芳",
            "secretary": "王芳", "verifier": "李强", "superior_unit": "济南市历下区两新组织党委",
            "superior_secretary": "周建国", "opened_on": "2026-03-02", "deadline": "2026-06-30"
        });
        let predicted = o.predicted("rectification", &subject, "2026-03-02", "2026-12-31",
            &["progress_reported@2026-04-03", "item_verified@2026-06-20"]);
        let (fired, status) = o.fired("2026-12-31T10:00", chain);
        assert_eq!(fired, predicted);
        assert_eq!(status, "completed");
        assert!(names(&fired).contains("progress_report") && names(&fired).contains("reminder_14d"));
        assert!(!names(&fired).contains("warning"), "{fired:?}");

        let mut closed = subject.clone();
        closed["closed_on"] = "2026-06-20".into();
        let predicted = o.predicted("rectification_review", &closed, "2026-06-20", "2026-12-31",
            &["review_passed@2026-09-21"]);
        let (fired, status) = o.fired("2026-12-31T10:00", review);
        assert_eq!(fired, predicted);
        assert_eq!(names(&fired), BTreeSet::from(["review_due"]));
        assert_eq!(status, "completed");
        let listed = o.json("2026-12-31T10:00", &["rectification", "list", "--unit", "JN-001"]);
        assert_eq!(listed[0]["status"], "已销号");
    }

    // 约谈: arranged with time and place, moved, held, the record filed; its problems become
    // items, each with its own chain.
    async fn an_interview_from_notice_to_the_problems_it_found(db) {
        let o = Office::open(db);
        let opened = o.json("2026-03-02T10:00", &[
            "interview", "open", "JN-J01", "--reason", "党组织连续两个季度未开展组织生活",
            "--at", "2026-03-10T14:30", "--location", "区委组织部三楼会议室",
        ]);
        let id = opened["subject"].as_str().unwrap().strip_prefix("interview:").unwrap().to_string();
        let chain = o.instance("2026-03-02T10:00", "JN-J01", "interview", None);
        o.advance("2026-03-02T10:00", "2026-03-05T10:00");
        let sent = o.dispatch("2026-03-05T10:00").join("\n");
        assert!(sent.contains("2026年3月10日 14:30") && sent.contains("区委组织部三楼会议室"), "{sent}");
        assert!(!sent.contains("约谈事由：发起约谈"), "{sent}");

        o.ok("2026-03-05T10:00", &["interview", "reschedule", &id, "--at", "2026-03-12T09:30", "--location", "区委组织部二楼会议室"]);
        o.advance("2026-03-05T10:00", "2026-03-12T12:00");
        o.ok("2026-03-12T12:00", &["interview", "held", &id, "--date", "2026-03-12"]);
        o.advance("2026-03-12T12:00", "2026-03-13T10:00");
        let filed = o.json("2026-03-13T10:00", &[
            "interview", "record", &id, "--date", "2026-03-13", "--record", "书记作了说明，表示立即整改",
            "--problem", "组织生活不经常", "--problem", "党员教育管理松散",
        ]);
        assert_eq!(filed["created"].as_array().unwrap().len(), 2, "{filed:#}");
        o.advance("2026-03-13T10:00", "2026-04-30T10:00");

        let subject = serde_json::json!({
            "kind": "interview", "interview_code": format!("YT-{id}"), "interviewee": "李强",
            "unit_name": "历下区姚家街道联合党支部", "superior_unit": "济南市历下区两新组织党委",
            "superior_secretary": "周建国", "reason": "党组织连续两个季度未开展组织生活",
            "interview_at": "2026-03-10T14:30:00", "location": "区委组织部三楼会议室", "opened_on": "2026-03-02"
        });
        let predicted = o.predicted("interview", &subject, "2026-03-02", "2026-04-30", &[
            "interview_rescheduled@2026-03-05=2026-03-12T09:30:00",
            "interview_held@2026-03-12", "record_filed@2026-03-13",
        ]);
        let (fired, status) = o.fired("2026-04-30T10:00", chain);
        assert_eq!(fired, predicted);
        assert_eq!(status, "completed");
        assert!(!names(&fired).contains("record_due") && !names(&fired).contains("record_missing"), "{fired:?}");

        let items = o.json("2026-04-30T10:00", &["rectification", "list", "--unit", "JN-J01"]);
        assert_eq!(items.as_array().unwrap().len(), 2, "{items:#}");
        let chains = o.json("2026-04-30T10:00", &["instances", "list", "--unit", "JN-J01", "--workflow", "rectification"]);
        assert_eq!(chains.as_array().unwrap().len(), 2, "each problem has its chain: {chains:#}");
        let listed = o.json("2026-04-30T10:00", &["interviews", "list", "--unit", "JN-J01"]);
        assert_eq!(listed[0]["status"], "已约谈");
        assert_eq!(listed[0]["location"], "区委组织部二楼会议室");
    }

    // 政治生日: a member of the roster joined on 10 December 2015. A week before the
    // anniversary the unit's secretary is told, on the day the member is greeted by email,
    // each once; then the chain waits for next year.
    async fn a_political_birthday_from_the_roster_to_the_greeting(db) {
        let o = Office::demo(db, "2026-11-25T10:00");
        let roster = o.file("党员名册.csv", "姓名,所在党组织代码,入党时间,手机,邮箱\n陈晓,370102-0001,2015年12月10日,,chenxiao@example.cn\n");
        let done = o.json("2026-11-25T10:00", &["import", "members", &roster]);
        assert_eq!((done["created"].as_u64(), done["unchanged"].as_u64()), (Some(1), Some(0)), "{done:#}");
        let listed = o.json("2026-11-25T10:00", &["members", "list", "--unit", "370102-0001"]);
        assert_eq!(listed[0]["name"], "陈晓", "{listed:#}");
        assert_eq!(listed[0]["email"], "c***@example.cn", "{listed:#}");
        let chains = o.json("2026-11-25T10:00", &["instances", "list", "--unit", "370102-0001", "--workflow", "political_birthday"]);
        assert_eq!(chains.as_array().unwrap().len(), 1, "{chains:#}");
        assert_eq!(chains[0]["subject"], "党员陈晓", "{chains:#}");
        let chain: i64 = chains[0]["id"].as_str().unwrap().parse().unwrap();
        let shown = o.ok("2026-11-25T10:00", &["instances", "list", "--workflow", "political_birthday"]);
        assert!(shown.contains("党员陈晓") && !shown.contains("member:"), "{shown}");

        let about = |sent: &[String]| -> Vec<String> {
            sent.iter().filter(|m| m.contains("陈晓")).cloned().collect()
        };
        o.advance("2026-11-25T10:00", "2026-12-02T18:00");
        assert!(about(&o.dispatch("2026-12-02T18:00")).is_empty(), "told before the week before");
        o.advance("2026-12-02T18:00", "2026-12-03T10:00");
        let sent = about(&o.dispatch("2026-12-03T10:00"));
        assert_eq!(sent.len(), 1, "{sent:#?}");
        assert!(sent[0].contains("\"to\":\"135****8926\"") && sent[0].contains("陈晓同志2026年12月10日入党11周年"), "{sent:#?}");

        o.advance("2026-12-03T10:00", "2026-12-10T10:00");
        let sent = about(&o.dispatch("2026-12-10T10:00"));
        assert_eq!(sent.len(), 2, "{sent:#?}");
        let greeting = sent.iter().find(|m| m.starts_with("To: ")).expect("an email to the member");
        assert!(greeting.contains("To: 陈晓 <chenxiao@example.cn>") && greeting.contains("Subject: 祝你政治生日快乐"), "{greeting}");
        assert!(greeting.contains("2026年12月10日是你入党11周年的政治生日") && greeting.contains("2015年12月10日"), "{greeting}");

        // Nothing twice: a week later the same two messages, and no more.
        o.advance("2026-12-10T10:00", "2026-12-17T10:00");
        assert_eq!(about(&o.dispatch("2026-12-17T10:00")).len(), 2);

        let subject = serde_json::json!({
            "kind": "member", "member_name": "陈晓", "unit_name": "济南宝塔博远建设工程有限公司党总支",
            "secretary": "任艳", "joined_on": "2015-12-10"
        });
        let predicted = o.predicted("political_birthday", &subject, "2026-11-25", "2026-12-17", &[]);
        let (fired, status) = o.fired("2026-12-17T10:00", chain);
        assert_eq!(fired, predicted, "the chain differs from its simulation");
        assert_eq!(fired, BTreeSet::from([
            ("notice_secretary".to_string(), "2026-12-03".to_string()),
            ("greeting".to_string(), "2026-12-10".to_string()),
        ]));
        assert_eq!(status, "active");
        // Planned again for the twelfth anniversary.
        let v = o.json("2026-12-17T10:00", &["instances", "show", &chain.to_string()]);
        let pending: BTreeSet<(String, String)> = v["timers"].as_array().unwrap().iter()
            .filter(|t| t["state"] == "pending")
            .map(|t| (t["step_id"].as_str().unwrap().to_string(), local_date(t["due_at"].as_str().unwrap())))
            .collect();
        assert!(pending.contains(&("notice_secretary".to_string(), "2027-12-03".to_string())), "{pending:?}");
        assert!(pending.contains(&("greeting".to_string(), "2027-12-10".to_string())), "{pending:?}");
    }

    // Recurring duties: each answered in one occurrence and left unanswered in another.
    async fn recurring_duties_answered_and_unanswered(db) {
        let o = Office::open(db);
        // (workflow, duty, the day it was done); every other occurrence goes unanswered.
        let duties = [
            ("theme_day", "theme_day", "2026-04-15"),
            ("committee_meeting", "committee_meeting", "2026-04-10"),
            ("members_meeting", "members_meeting", "2026-04-20"),
            ("party_lecture", "party_lecture", "2026-05-12"),
            ("dues_reminder", "dues_collected", "2026-04-15"),
            ("annual_review", "annual_review", "2026-11-20"),
            ("dues_rebate", "rebate_applied", "2027-01-12"),
        ];
        let ids: Vec<i64> = duties
            .iter()
            .map(|(wf, _, _)| o.instance("2026-03-01T10:00", "JN-001", wf, None))
            .collect();
        let mut days: Vec<&str> = duties.iter().map(|(_, _, d)| *d).collect();
        days.sort();
        let mut now = "2026-03-01T10:00".to_string();
        for day in days {
            let at = format!("{day}T18:00");
            o.advance(&now, &at);
            for (_, duty, d) in duties.iter().filter(|(_, _, d)| *d == day) {
                o.ok(&at, &["duties", "record", "JN-001", duty, "--date", d]);
            }
            now = at;
        }
        o.advance(&now, "2027-03-31T10:00");

        let subject = serde_json::json!({
            "kind": "unit", "unit_code": "JN-001", "unit_name": "泉城科技有限公司党支部", "unit_level": "branch",
            "secretary": "王芳", "superior_unit": "济南市历下区两新组织党委", "superior_secretary": "周建国",
            "theme_day": 15
        });
        for ((wf, duty, day), id) in duties.iter().zip(&ids) {
            let event = format!("{}@{day}", duty_event(duty));
            let predicted = o.predicted(wf, &subject, "2026-03-01", "2027-03-31", &[event.as_str()]);
            let (fired, _) = o.fired("2027-03-31T10:00", *id);
            let fired: BTreeSet<_> = fired.into_iter().filter(|(_, d)| d.as_str() >= "2026-03-01").collect();
            assert_eq!(fired, predicted, "{wf}");
            assert!(!fired.is_empty(), "{wf} never fired");
        }
        // The theme day: April answered, so no "not reported" notice for April; May was not.
        let (fired, _) = o.fired("2027-03-31T10:00", ids[0]);
        let missing: Vec<&str> = fired.iter().filter(|(s, _)| s == "record_missing").map(|(_, d)| d.as_str()).collect();
        assert!(missing.iter().all(|d| !d.starts_with("2026-04")), "April was answered: {missing:?}");
        assert!(missing.iter().any(|d| d.starts_with("2026-05")), "May was not: {missing:?}");
    }
}

fn duty_event(duty: &str) -> String {
    match duty {
        "dues_collected" | "rebate_applied" => duty.to_string(),
        other => format!("{other}_held"),
    }
}

#[test]
fn an_unknown_duty_is_named_with_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("d.db").display());
    let (out, _, stderr) =
        run(duban(&url).args(["duties", "record", "X", "picnic", "--date", "2026-04-15"]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("picnic") && stderr.contains("theme_day"),
        "{stderr}"
    );
}

/// A year of the demo register on the test clock, before any organisation-department officer
/// is recorded: every escalation that fired reached someone, or was listed as unreachable and
/// sent to the fallback address. Nobody is left out in silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_of_the_demo_register_leaves_no_escalation_unheard() {
    let Some(db) = TestDb::create(crate::support::Kind::Sqlite).await else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let cmd = |now: &str, args: &[&str]| {
        let mut c = duban(&db.url);
        c.env("DUBAN_NOW", now)
            .env(
                "DUBAN__WORKFLOWS__FALLBACK_EMAIL",
                "duban-alerts@zzb.example.cn",
            )
            .env("DUBAN__NOTIFY__EMAIL__EML_DIR", out.path().join("outbox"))
            .env("DUBAN__NOTIFY__SMS__LOG_FILE", out.path().join("sms.log"))
            .args(args);
        let (o, stdout, stderr) = run(&mut c);
        assert!(
            o.status.success(),
            "duban {}: {stdout}\n{stderr}",
            args.join(" ")
        );
        stdout
    };
    cmd("2026-01-05T09:00", &["migrate", "up"]);
    let demo = crate::support::repo().join("config/demo/register.csv");
    cmd(
        "2026-01-05T09:00",
        &["import", "register", demo.to_str().unwrap()],
    );
    let members = crate::support::repo().join("config/demo/members.csv");
    cmd(
        "2026-01-05T09:00",
        &["import", "members", members.to_str().unwrap()],
    );
    cmd(
        "2026-01-05T09:00",
        &["engine", "advance", "--to", "2027-01-05T09:00"],
    );

    let store = db.store().await;
    let outbox = store.outbox_messages().await.unwrap();
    let done = store
        .list_timers(None, None, &["done"], 1_000_000)
        .await
        .unwrap();
    let mut escalations = 0;
    for (t, i) in &done {
        let payload: Value = serde_json::from_str(&t.payload).unwrap();
        let addressed = payload["to"].as_array().is_some_and(|to| !to.is_empty());
        let escalation =
            ["escalate", "open_interview"].contains(&payload["action"].as_str().unwrap_or(""));
        if !(addressed && escalation) {
            continue;
        }
        escalations += 1;
        let rows: Vec<_> = outbox.iter().filter(|m| m.timer_id == Some(t.id)).collect();
        assert!(
            !rows.is_empty(),
            "{} {} ({}) fired and told no one",
            i.workflow_id,
            t.step_id,
            i.subject_key
        );
    }
    assert!(
        escalations > 100,
        "only {escalations} escalations in a year of the demo register"
    );
    // With no officer recorded, what was meant for the organisation department is listed as
    // unreachable and went to the fallback address.
    let nobody: Vec<_> = outbox
        .iter()
        .filter(|m| m.state == "unreachable" && m.person_id.is_none())
        .collect();
    let fallback = outbox
        .iter()
        .filter(|m| m.address == "duban-alerts@zzb.example.cn")
        .count();
    assert!(
        nobody.iter().any(|m| m.role == "org_department"),
        "no alert for the missing officer"
    );
    assert_eq!(
        fallback,
        nobody.len(),
        "every message meant for no one went to the fallback address"
    );
    let listed = cmd(
        "2027-01-05T09:00",
        &["people", "unreachable", "--format", "json"],
    );
    assert!(listed.contains("org_department"), "{listed}");
    // The members of the demo roster had their political birthdays; the one who gave no
    // contact is listed as unreachable, not forgotten.
    let birthdays = done
        .iter()
        .filter(|(t, i)| i.workflow_id == "political_birthday" && t.step_id == "greeting")
        .count();
    assert_eq!(
        birthdays, 4,
        "every member of the demo roster was greeted once"
    );
    assert!(listed.contains("\"member\""), "{listed}");
    // Every pending chain waits only on events someone can record: the files pass the check
    // with the recorders the binary has.
    cmd("2027-01-05T09:00", &["workflows", "check"]);
    db.drop_db().await;
}

/// A rectification list (问题清单) arrives as a spreadsheet: a file with bad cells is refused
/// whole, each cell named; the corrected file opens every item with its chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rectification_list_is_imported_whole_or_not_at_all() {
    let Some(db) = TestDb::create(crate::support::Kind::Sqlite).await else {
        return;
    };
    let o = Office::open(db);
    let bad = o.out.path().join("问题清单-错误.csv");
    std::fs::write(
        &bad,
        "党组织编码,整改事项,整改类别,整改期限,责任人手机,验收人手机,整改措施\n\
         JN-001,组织生活会记录不全,限期整改,2026-06-30,,13900001111,补全记录\n\
         JN-999,党费收缴不及时,立行立改,2026-04-30,,,\n\
         JN-J01,,马上整改,2025-01-01,13812348000,13812348000,\n",
    )
    .unwrap();
    let (out, _, stderr) = run(&mut o.cmd(
        "2026-03-02T10:00",
        &["import", "rectification", bad.to_str().unwrap()],
    ));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for expected in [
        "row 3, column 党组织编码: no party unit with code JN-999",
        "row 4, column 整改事项: empty",
        "row 4, column 整改类别: \"马上整改\" is not",
        "row 4, column 整改期限: 2025-01-01 is in the past",
        "row 4, column 验收人手机: the verifier must not be the owner",
        "nothing was imported",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    let items = o.json("2026-03-02T10:00", &["rectification", "list"]);
    assert_eq!(
        items.as_array().unwrap().len(),
        0,
        "a refused file wrote {items:#}"
    );

    let good = o.out.path().join("问题清单.csv");
    std::fs::write(
        &good,
        "党组织编码,整改事项,整改类别,整改期限,责任人手机,验收人手机,整改措施\n\
         JN-001,组织生活会记录不全,限期整改,2026年6月30日,,13900001111,补全记录\n\
         JN-J01,党费收缴不及时,立行立改,2026-04-30,,13812348000,\n",
    )
    .unwrap();
    let done = o.json(
        "2026-03-02T10:00",
        &["import", "rectification", good.to_str().unwrap()],
    );
    assert_eq!(done["items"], 2, "{done:#}");
    assert!(done["timers_planned"].as_u64().unwrap() > 2, "{done:#}");
    let chains = o.json(
        "2026-03-02T10:00",
        &["instances", "list", "--workflow", "rectification"],
    );
    assert_eq!(
        chains.as_array().unwrap().len(),
        2,
        "each item has its chain: {chains:#}"
    );
    let items = o.json("2026-03-02T10:00", &["rectification", "list"]);
    assert_eq!(items[0]["kind"], "立行立改");
    assert_eq!(items[1]["deadline"], "2026-06-30");
}

/// A reminder that waited (the dispatcher was down over a weekend, or a rate limit held it)
/// is written again for the day it leaves: "仅剩30天" written on 9 September reads "仅剩25天"
/// when it leaves on the 14th, and the outbox keeps the text that was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_reminder_counts_the_days_from_the_day_it_leaves() {
    let Some(db) = TestDb::create(crate::support::Kind::Sqlite).await else {
        return;
    };
    let o = Office::open(db);
    o.advance("2026-03-01T10:00", "2026-09-09T10:00");
    let sent = o.dispatch("2026-09-14T10:00").join("\n");
    assert!(
        sent.contains("紧急：泉城科技有限公司党支部任期2026年10月9日届满，仅剩25天"),
        "{sent}"
    );
    assert!(!sent.contains("仅剩30天"), "{sent}");
    let store = o.db.store().await;
    let stored = store.outbox_messages().await.unwrap();
    assert!(
        stored
            .iter()
            .any(|m| m.state == "sent" && m.body.contains("仅剩25天")),
        "the outbox keeps what was sent"
    );
}
