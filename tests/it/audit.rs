//! The audit log's hash chain on every backend, through the binary: a log written by real
//! commands verifies clean; editing, deleting or reordering entries in the raw table is
//! found and named; concurrent writers keep one chain; an upgraded database verifies clean;
//! exports carry what an auditor needs to check the chain outside duban.

use crate::support::{TestDb, duban, fixture, run};
use duban_core::audit_chain::{self, Entry};
use duban_store::entities::{audit_head, audit_log};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};

/// `duban audit verify`: exit status and everything it printed.
fn verify(db: &TestDb) -> (Option<i32>, String) {
    let (out, stdout, stderr) = run(duban(&db.url).args(["audit", "verify"]));
    (out.status.code(), format!("{stdout}{stderr}"))
}

fn assert_intact(db: &TestDb, rows: usize) {
    let (code, out) = verify(db);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with(&format!("audit log intact: {rows} rows, head ")),
        "{out}"
    );
}

/// Entries in chain order.
async fn entries(conn: &DatabaseConnection) -> Vec<audit_log::Model> {
    audit_log::Entity::find()
        .order_by_asc(audit_log::Column::Seq)
        .all(conn)
        .await
        .unwrap()
}

/// A register import and a few ledger commands through the binary.
fn write_some(db: &TestDb) {
    let (out, stdout, stderr) = run(duban(&db.url)
        .args(["import", "register"])
        .arg(fixture("register/good.csv")));
    assert!(out.status.success(), "{stdout}{stderr}");
    for (i, line) in ["training", "other", "startup"].iter().enumerate() {
        let (out, stdout, stderr) = run(duban(&db.url).args([
            "ledger",
            "appropriate",
            "--line",
            line,
            "--amount",
            "1000",
            "--date",
            "2026-01-05",
            "--key",
            &format!("a{i}"),
        ]));
        assert!(out.status.success(), "{stdout}{stderr}");
    }
}

async fn set_seq(conn: &DatabaseConnection, id: i64, seq: i64) {
    audit_log::Entity::update_many()
        .col_expr(audit_log::Column::Seq, Expr::value(seq))
        .filter(audit_log::Column::Id.eq(id))
        .exec(conn)
        .await
        .unwrap();
}

/// An empty CSV field is a missing value: stored values are JSON, never empty.
fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn entry(m: &audit_log::Model) -> Entry<'_> {
    Entry {
        seq: m.seq.unwrap(),
        at: m.at,
        actor: &m.actor,
        origin: &m.origin,
        action: &m.action,
        entity: &m.entity,
        entity_key: &m.entity_key,
        before: m.before.as_deref(),
        after: m.after.as_deref(),
    }
}

backend_tests! {
    async fn every_kind_of_tampering_is_found_and_names_the_entry(db) {
        db.store().await;
        write_some(&db);
        let conn = db.connect().await;
        let all = entries(&conn).await;
        // 12 register rows (see register.rs) and 3 ledger commands.
        assert_eq!(all.len(), 15);
        assert!(all.iter().enumerate().all(|(i, e)| e.seq == Some(i as i64 + 1) && e.origin == "cli"));
        assert_intact(&db, 15);

        // Content edited: one entry's `after`.
        let victim = &all[4];
        audit_log::Entity::update_many()
            .col_expr(audit_log::Column::After, Expr::value(r#"{"amount":"1.00"}"#))
            .filter(audit_log::Column::Id.eq(victim.id))
            .exec(&conn)
            .await
            .unwrap();
        let (code, out) = verify(&db);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(&format!("seq 5 (id {}): edited", victim.id)), "{out}");
        assert_eq!(out.lines().filter(|l| l.starts_with("seq ")).count(), 1, "{out}");
        let (_, json, _) = run(duban(&db.url).args(["audit", "verify", "--format", "json"]));
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(report["intact"], false, "{report}");
        assert_eq!(report["findings"][0]["problem"], "edited", "{report}");
        assert_eq!(report["findings"][0]["seq"], 5, "{report}");
        assert_eq!(report["findings"][0]["id"], victim.id, "{report}");
        victim.clone().into_active_model().reset_all().update(&conn).await.unwrap();
        assert_intact(&db, 15);

        // A middle entry deleted.
        let victim = all[6].clone();
        audit_log::Entity::delete_by_id(victim.id).exec(&conn).await.unwrap();
        let (code, out) = verify(&db);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(&format!("seq 8 (id {}): deleted: seq 7 is missing", all[7].id)), "{out}");
        audit_log::Entity::insert(victim.into_active_model().reset_all()).exec(&conn).await.unwrap();
        assert_intact(&db, 15);

        // The last entry deleted: only the head remembers it.
        let victim = all[14].clone();
        audit_log::Entity::delete_by_id(victim.id).exec(&conn).await.unwrap();
        let (code, out) = verify(&db);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("seq 15: tail deleted"), "{out}");
        assert!(out.contains(&format!("the last entry is seq 14 (id {})", all[13].id)), "{out}");
        audit_log::Entity::insert(victim.into_active_model().reset_all()).exec(&conn).await.unwrap();
        assert_intact(&db, 15);

        // Two entries swapped.
        let (a, b) = (all[2].id, all[3].id);
        set_seq(&conn, a, -1).await;
        set_seq(&conn, b, 3).await;
        set_seq(&conn, a, 4).await;
        let (code, out) = verify(&db);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(&format!("seq 3 (id {b}): reordered")), "{out}");
        assert!(out.contains(&format!("seq 4 (id {a}): reordered")), "{out}");
        set_seq(&conn, b, -1).await;
        set_seq(&conn, a, 3).await;
        set_seq(&conn, b, 4).await;
        assert_intact(&db, 15);

        // A row written around duban has no place in the chain.
        let mut stray = all[0].clone().into_active_model().reset_all();
        stray.id = sea_orm::NotSet;
        stray.seq = sea_orm::Set(None);
        let stray = audit_log::Entity::insert(stray).exec(&conn).await.unwrap().last_insert_id;
        let (code, out) = verify(&db);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(&format!("id {stray}: unchained")), "{out}");
    }

    async fn concurrent_writers_extend_one_chain(db) {
        db.store().await;
        let before = {
            let (out, stdout, stderr) = run(duban(&db.url).args(["import", "register"]).arg(fixture("register/good.csv")));
            assert!(out.status.success(), "{stdout}{stderr}");
            entries(&db.connect().await).await.len()
        };
        let children: Vec<_> = (0..30)
            .map(|i| {
                duban(&db.url)
                    .args(["ledger", "appropriate", "--line", "training", "--amount", "10", "--date", "2026-01-05",
                           "--key", &format!("c{i}")])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        }
        let conn = db.connect().await;
        let all = entries(&conn).await;
        assert_eq!(all.len(), before + 30);
        let seqs: Vec<i64> = all.iter().map(|e| e.seq.unwrap()).collect();
        assert_eq!(seqs, (1..=all.len() as i64).collect::<Vec<_>>(), "one entry per seq, no gaps");
        for pair in all.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].hash);
        }
        let head = audit_head::Entity::find_by_id(1i64).one(&conn).await.unwrap().unwrap();
        assert_eq!((Some(head.seq), Some(head.hash)), (all.last().unwrap().seq, all.last().unwrap().hash.clone()));
        assert_intact(&db, all.len());
    }

    async fn an_upgraded_database_verifies_clean(db) {
        let store = duban_store::Store::connect(&db.url, &Default::default()).await.unwrap();
        // Every migration before the chain's.
        let migrations = store.migrations().await.unwrap();
        let before_chain = migrations.iter().position(|m| m.name.contains("audit_chain")).unwrap();
        let from_chain = migrations.len() - before_chain;
        store.migrate_up(Some(before_chain as u32)).await.unwrap();
        let conn = db.connect().await;
        let at = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap().and_hms_micro_opt(3, 4, 5, 123_456).unwrap();
        let old: [(&str, Option<&str>, Option<&str>); 3] = [
            ("create_unit", None, Some(r#"{"code":"JN-001","name":"泉城科技有限公司党支部"}"#)),
            ("update_unit", Some(r#"{"name":"旧名"}"#), Some(r#"{"name":"新名"}"#)),
            ("delete_nothing", Some(""), None),
        ];
        for (i, (action, before, after)) in old.iter().enumerate() {
            let t = at + chrono::Duration::seconds(i as i64);
            conn.execute(
                Query::insert()
                    .into_table(Alias::new("audit_log"))
                    .columns(["at", "actor", "action", "entity", "entity_key", "before", "after"].map(Alias::new))
                    .values_panic([
                        t.into(),
                        "王芳".into(),
                        (*action).into(),
                        "party_unit".into(),
                        "JN-001".into(),
                        before.map(str::to_string).into(),
                        after.map(str::to_string).into(),
                    ]),
            )
            .await
            .unwrap();
        }
        store.migrate_up(None).await.unwrap();
        let all = entries(&conn).await;
        assert_eq!(all.iter().map(|e| (e.seq, e.origin.as_str())).collect::<Vec<_>>(), [(Some(1), ""), (Some(2), ""), (Some(3), "")]);
        assert_eq!(all[0].prev_hash.as_deref(), Some(audit_chain::GENESIS));
        for e in &all {
            assert_eq!(e.hash.clone().unwrap(), audit_chain::hash(e.prev_hash.as_deref().unwrap(), &entry(e)));
        }
        assert_intact(&db, 3);

        // Reverted and applied again, the chain is sealed the same way.
        store.migrate_down(from_chain as u32).await.unwrap();
        store.migrate_up(None).await.unwrap();
        assert_eq!(entries(&conn).await, all);

        // New entries follow the sealed ones.
        let (out, stdout, stderr) = run(duban(&db.url).args([
            "ledger", "appropriate", "--line", "training", "--amount", "1000", "--date", "2026-01-05", "--key", "u1",
        ]));
        assert!(out.status.success(), "{stdout}{stderr}");
        let all = entries(&conn).await;
        assert_eq!(all[3].prev_hash, all[2].hash);
        assert_intact(&db, 4);
    }

    async fn exports_hold_the_entries_of_the_days_asked_with_their_hashes(db) {
        db.store().await;
        let at = |now: &str, args: &[&str]| {
            let (out, stdout, stderr) = run(duban(&db.url).env("DUBAN_NOW", now).args(args));
            assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
        };
        let appropriate = |now: &str, key: &str| {
            at(now, &["ledger", "appropriate", "--line", "training", "--amount", "1,000", "--date", "2026-01-05", "--key", key]);
        };
        at("2026-03-01T10:00", &["import", "register", fixture("register/good.csv").to_str().unwrap()]);
        // Beijing time: 23:30 on 2 March is 15:30 UTC; 00:30 on 3 March is still 2 March in UTC.
        appropriate("2026-03-02T23:30", "x1");
        appropriate("2026-03-03T00:30", "x2");
        appropriate("2026-03-03T09:00", "x3");

        let (out, stdout, stderr) = run(duban(&db.url).args(["audit", "export", "--from", "2026-03-02", "--to", "2026-03-02"]));
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(stdout.starts_with('\u{feff}'), "CSV for Excel starts with a BOM");
        assert!(stderr.contains("exported 1 audit entries"), "{stderr}");
        let mut csv = csv::Reader::from_reader(stdout.trim_start_matches('\u{feff}').as_bytes());
        assert_eq!(
            csv.headers().unwrap().iter().collect::<Vec<_>>(),
            ["seq", "id", "at", "actor", "origin", "action", "entity", "entity_key", "before", "after", "prev_hash", "hash"]
        );
        let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1, "{stdout}");
        let r = &rows[0];
        assert_eq!((&r[2], &r[5], &r[7]), ("2026-03-02T15:30:00.000000Z", "appropriate", "x1"));
        // An auditor recomputes the hash from the exported fields alone.
        let recomputed = audit_chain::hash(&r[10], &Entry {
            seq: r[0].parse().unwrap(),
            at: chrono::NaiveDateTime::parse_from_str(&r[2], "%Y-%m-%dT%H:%M:%S%.6fZ").unwrap(),
            actor: &r[3],
            origin: &r[4],
            action: &r[5],
            entity: &r[6],
            entity_key: &r[7],
            before: non_empty(&r[8]),
            after: non_empty(&r[9]),
        });
        assert_eq!(recomputed, &r[11]);

        let file = std::env::temp_dir().join(format!("{}-audit.jsonl", uuid::Uuid::now_v7()));
        let (out, stdout, stderr) = run(duban(&db.url).args(["audit", "export", "--from", "2026-03-03", "--to", "2026-03-03", "--format", "json", "--output"]).arg(&file));
        assert!(out.status.success(), "{stdout}{stderr}");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::remove_file(&file).ok();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.iter().map(|l| l["entity_key"].as_str().unwrap()).collect::<Vec<_>>(), ["x2", "x3"]);
        assert_eq!(lines[1]["prev_hash"], lines[0]["hash"]);
        assert_eq!(lines[0]["seq"].as_i64().unwrap() + 1, lines[1]["seq"].as_i64().unwrap());
        assert_eq!(lines[0]["before"], serde_json::Value::Null);

        let (out, _, stderr) = run(duban(&db.url).args(["audit", "export", "--from", "2026-03-03", "--to", "2026-03-02"]));
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        // Nothing in the log is deleted by duban: there is no such command.
        let (out, _, _) = run(duban(&db.url).args(["audit", "prune"]));
        assert_eq!(out.status.code(), Some(2));
    }
}

/// Lets the raw connection change ledger rows, as someone with the database's password
/// could: the append-only triggers are taken away.
async fn allow_ledger_tampering(db: &TestDb, conn: &DatabaseConnection) {
    use crate::support::Kind;
    for t in ["ledger_transactions", "ledger_postings"] {
        let statements = match db.kind {
            Kind::Postgres => vec![format!("ALTER TABLE {t} DISABLE TRIGGER USER")],
            _ => ["update", "delete"]
                .iter()
                .map(|ev| format!("DROP TRIGGER IF EXISTS {t}_no_{ev}"))
                .collect(),
        };
        for s in statements {
            conn.execute_unprepared(&s).await.unwrap();
        }
    }
}

async fn exec(conn: &DatabaseConnection, sql: &str) {
    conn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

backend_tests! {
    async fn what_was_booked_and_what_was_sent_are_sealed_into_the_chain(db) {
        db.store().await;
        let dir = std::env::temp_dir().join(format!("duban-seal-{}", uuid::Uuid::now_v7()));
        let cli = |args: &[&str]| {
            let (out, stdout, stderr) = run(duban(&db.url)
                .env("DUBAN__NOTIFY__EMAIL__EML_DIR", dir.join("outbox"))
                .env("DUBAN__NOTIFY__SMS__LOG_FILE", dir.join("sms.log"))
                .args(args));
            assert!(out.status.success(), "duban {args:?}:\n{stdout}{stderr}");
            stdout
        };
        write_some(&db);
        cli(&["engine", "tick", "--now", "2027-06-01T02:00:00Z"]);
        cli(&["dispatch", "--now", "2027-06-02T01:30:00Z"]);
        std::fs::remove_dir_all(&dir).ok();
        let conn = db.connect().await;
        let all = entries(&conn).await;
        let seals: Vec<&audit_log::Model> = all.iter().filter(|e| e.entity == "deliveries" && e.action == "seal").collect();
        assert_eq!(seals.len(), 1, "one pass, one seal");
        let seal = seals[0];
        let sealed: serde_json::Value = serde_json::from_str(seal.after.as_deref().unwrap()).unwrap();
        let attempts = duban_store::entities::deliveries::Entity::find().all(&conn).await.unwrap();
        assert!(attempts.len() > 2, "{attempts:?}");
        assert_eq!(sealed["count"], attempts.len());
        assert!(attempts.iter().all(|a| a.seal == seal.seq), "every attempt names its seal");
        let report = || {
            let (_, json, _) = run(duban(&db.url).args(["audit", "verify", "--format", "json"]));
            serde_json::from_str::<serde_json::Value>(&json).unwrap()
        };
        let r = report();
        assert_eq!(r["intact"], true, "{r}");
        assert_eq!(r["unsealed_deliveries"], 0, "{r}");
        assert_intact(&db, all.len());

        // A booked transaction edited around duban: the command that booked it is named.
        allow_ledger_tampering(&db, &conn).await;
        let appropriation = all.iter().find(|e| e.entity == "ledger_command" && e.entity_key == "a1").unwrap();
        let booked: serde_json::Value = serde_json::from_str(appropriation.after.as_deref().unwrap()).unwrap();
        let txn = booked["booked"]["transactions"][0][0].as_i64().unwrap();
        assert_eq!(booked["booked"]["count"], 1, "{booked}");
        let original = duban_store::entities::ledger_transactions::Entity::find_by_id(txn).one(&conn).await.unwrap().unwrap();
        exec(&conn, &format!("UPDATE ledger_transactions SET description = 'changed' WHERE id = {txn}")).await;
        let (code, out) = verify(&db);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(&format!("seq {} (id {}): altered: the transactions it booked (#{txn}) no longer match", appropriation.seq.unwrap(), appropriation.id)), "{out}");
        duban_store::entities::ledger_transactions::Entity::update_many()
            .col_expr(duban_store::entities::ledger_transactions::Column::Description, Expr::value(original.description))
            .filter(duban_store::entities::ledger_transactions::Column::Id.eq(txn))
            .exec(&conn).await.unwrap();
        assert_intact(&db, all.len());

        // A posting's amount moved between two postings of the same transaction: the books
        // still balance, the seal does not.
        let postings = duban_store::entities::ledger_postings::Entity::find()
            .filter(duban_store::entities::ledger_postings::Column::TransactionId.eq(txn))
            .all(&conn).await.unwrap();
        exec(&conn, &format!("UPDATE ledger_postings SET amount = amount + 1 WHERE id = {}", postings[0].id)).await;
        exec(&conn, &format!("UPDATE ledger_postings SET amount = amount - 1 WHERE id = {}", postings[1].id)).await;
        let r = report();
        assert_eq!(r["findings"].as_array().unwrap().len(), 1, "{r}");
        assert_eq!((&r["findings"][0]["problem"], &r["findings"][0]["seq"]), (&"altered".into(), &appropriation.seq.into()), "{r}");
        exec(&conn, &format!("UPDATE ledger_postings SET amount = amount - 1 WHERE id = {}", postings[0].id)).await;
        exec(&conn, &format!("UPDATE ledger_postings SET amount = amount + 1 WHERE id = {}", postings[1].id)).await;

        // A transaction written around duban is covered by no command.
        exec(&conn, &format!(
            "INSERT INTO ledger_transactions (id, date, kind, description, command_id, created_at, created_by) \
             SELECT 9000, date, kind, description, command_id, created_at, created_by FROM ledger_transactions WHERE id = {txn}"
        )).await;
        let (code, out) = verify(&db);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("unaudited: ledger transactions #9000 were booked by no audited command"), "{out}");
        exec(&conn, "DELETE FROM ledger_transactions WHERE id = 9000").await;

        // What was sent: an attempt's status, the message it sent, a removed attempt.
        let first = &attempts[0];
        let at_seal = format!("seq {} (id {}): altered", seal.seq.unwrap(), seal.id);
        exec(&conn, &format!("UPDATE deliveries SET status = 'failed' WHERE id = {}", first.id)).await;
        let (code, out) = verify(&db);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(&format!("{at_seal}: the {} delivery attempts it sealed", attempts.len())), "{out}");
        exec(&conn, &format!("UPDATE deliveries SET status = '{}' WHERE id = {}", first.status, first.id)).await;
        let message = duban_store::entities::outbox::Entity::find_by_id(first.outbox_id).one(&conn).await.unwrap().unwrap();
        exec(&conn, &format!("UPDATE outbox SET body = 'x' WHERE id = {}", first.outbox_id)).await;
        let (code, out) = verify(&db);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(&at_seal), "{out}");
        duban_store::entities::outbox::Entity::update_many()
            .col_expr(duban_store::entities::outbox::Column::Body, Expr::value(message.body))
            .filter(duban_store::entities::outbox::Column::Id.eq(first.outbox_id))
            .exec(&conn).await.unwrap();
        assert_intact(&db, all.len());
        exec(&conn, "DELETE FROM deliveries WHERE id = (SELECT m FROM (SELECT MAX(id) AS m FROM deliveries) AS x)").await;
        let (code, out) = verify(&db);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(&format!("{at_seal}: it sealed {} delivery attempts and {} are left", attempts.len(), attempts.len() - 1)), "{out}");
    }
}
