//! Open organisational-life bases: a journey through the binary over the National Day
//! holiday (a base added, slots booked to the last place, closed days and hours refused, the
//! confirmation and the reminder the working day before sent, a cancellation before the deadline and
//! none after it); units racing for the last places of a slot on every backend; the
//! secretary's and the administrators' view through the router.

use crate::api::{Office as ApiOffice, api_base};
use crate::journeys::Office;
use axum::http::{Method, StatusCode};
use duban_app::Actor;
use duban_app::bases::{BaseRequest, BookingRequest};
use serde_json::{Value, json};

const BASE: &[&str] = &[
    "bases",
    "add",
    "--code",
    "lx-red",
    "--name",
    "历下红色教育基地",
    "--kind",
    "红色型",
    "--host-unit",
    "370102-LXGW",
    "--district",
    "历下区",
    "--address",
    "历下区泉城路1号",
    "--capacity",
    "30",
    "--opens",
    "09:00",
    "--closes",
    "11:00",
    "--slot-minutes",
    "60",
    "--activity",
    "重温入党誓词=30",
    "--activity",
    "参观学习=60",
];

fn book<'a>(unit: &'a str, date: &'a str, starts: &'a str, n: &'a str) -> Vec<&'a str> {
    vec![
        "bases",
        "book",
        "--base",
        "lx-red",
        "--unit",
        unit,
        "--date",
        date,
        "--starts",
        starts,
        "--activity",
        "重温入党誓词",
        "--headcount",
        n,
    ]
}

/// The days and slots of a calendar as `date: starts/free …` (closed days `date: 不开放`).
fn days(cal: &Value) -> Vec<String> {
    cal["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let slots: Vec<String> = d["slots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| format!("{}/{}", s["starts"].as_str().unwrap(), s["free"]))
                .collect();
            format!(
                "{}: {}",
                d["date"].as_str().unwrap(),
                if slots.is_empty() {
                    "不开放".to_string()
                } else {
                    slots.join(" ")
                }
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_is_booked_reminded_and_cancelled_around_the_national_day_holiday() {
    let Some(db) = crate::support::TestDb::create(crate::support::Kind::Sqlite).await else {
        return;
    };
    const MONDAY: &str = "2026-09-28T10:00";
    let o = Office::demo(db, MONDAY);
    let added = o.ok(MONDAY, BASE);
    assert!(
        added.contains("已添加基地 lx-red 历下红色教育基地（红色型）"),
        "{added}"
    );

    // The holiday is closed; the working Saturday after it is open.
    let cal = o.json(
        MONDAY,
        &[
            "bases",
            "calendar",
            "lx-red",
            "--from",
            "2026-10-05",
            "--days",
            "6",
        ],
    );
    assert_eq!(
        days(&cal),
        [
            "2026-10-05: 不开放",
            "2026-10-06: 不开放",
            "2026-10-07: 不开放",
            "2026-10-08: 09:00/30 10:00/30",
            "2026-10-09: 09:00/30 10:00/30",
            "2026-10-10: 09:00/30 10:00/30",
        ]
    );

    // Thirty places: twenty, then ten of the fifteen asked for, then none.
    let first = o.json(MONDAY, &book("370102-0001", "2026-10-08", "09:00", "20"));
    assert_eq!(first["booking"]["id"], 1);
    assert_eq!(first["booking"]["ends"], "10:00");
    // Cancellable until the last working day before the holiday.
    assert_eq!(first["cancel_by"], "2026-09-30");
    let short = o.refused(MONDAY, &book("370102-0002", "2026-10-08", "09:00", "15"));
    assert!(
        short.contains("名额不足") && short.contains("只剩10个名额"),
        "{short}"
    );
    let second = o.json(MONDAY, &book("370102-0002", "2026-10-08", "09:00", "10"));
    assert_eq!(second["booking"]["id"], 2);
    let full = o.refused(MONDAY, &book("370102-0003", "2026-10-08", "09:00", "1"));
    assert!(full.contains("已约满"), "{full}");
    let clash = o.refused(MONDAY, &book("370102-0001", "2026-10-08", "09:00", "1"));
    assert!(clash.contains("时间冲突"), "{clash}");
    let closed = o.refused(MONDAY, &book("370102-0003", "2026-10-05", "09:00", "5"));
    assert!(
        closed.contains("当日不开放") && closed.contains("2026年10月5日"),
        "{closed}"
    );
    let hours = o.refused(MONDAY, &book("370102-0003", "2026-10-08", "08:00", "5"));
    assert!(hours.contains("不在开放时段内"), "{hours}");
    let saturday = o.json(MONDAY, &book("370102-0003", "2026-10-10", "10:00", "8"));
    assert_eq!(saturday["booking"]["day"], "2026-10-10");
    let cal = o.json(
        MONDAY,
        &[
            "bases",
            "calendar",
            "lx-red",
            "--from",
            "2026-10-08",
            "--days",
            "1",
        ],
    );
    assert_eq!(days(&cal), ["2026-10-08: 09:00/0 10:00/30"]);

    // The confirmations leave at once, to each unit's secretary.
    let sent = o.dispatch("2026-09-28T10:05").join("\n");
    assert!(
        sent.contains("济南宝塔博远建设工程有限公司党总支：已预约历下红色教育基地，2026年10月8日09:00—10:00，重温入党誓词，20人")
            && sent.contains("请于2026年9月30日前办理"),
        "{sent}"
    );
    assert!(
        sent.contains("济南智联金鼎电子商务有限公司党总支：已预约"),
        "{sent}"
    );

    // Cancelled before the deadline: no reminder. After the deadline: refused.
    let cancelled = o.ok("2026-09-29T16:00", &["bases", "cancel", "2"]);
    assert!(cancelled.contains("已取消预约（编号2）"), "{cancelled}");
    let late = o.refused("2026-10-01T10:00", &["bases", "cancel", "1"]);
    assert!(
        late.contains("已过取消截止时间") && late.contains("2026年9月30日"),
        "{late}"
    );
    let late = o.refused(
        "2026-10-01T10:00",
        &book("370102-0004", "2026-10-08", "10:00", "5"),
    );
    assert!(late.contains("已过预约截止时间"), "{late}");

    // The reminder leaves at 09:00 on the working day before (the last one before the
    // holiday), not earlier; the cancelled booking has none.
    let before = o.dispatch("2026-09-30T08:59").join("\n");
    assert!(!before.contains("提醒您"), "{before}");
    let sent = o.dispatch("2026-09-30T09:30").join("\n");
    let reminders: Vec<&str> = sent.lines().filter(|l| l.contains("提醒您")).collect();
    assert_eq!(reminders.len(), 1, "{sent}");
    assert!(
        reminders[0].contains("济南宝塔博远建设工程有限公司党总支：提醒您，2026年10月8日09:00在历下红色教育基地开展重温入党誓词，20人"),
        "{sent}"
    );
    // The working Saturday's booking is reminded on the Friday before it.
    let sent = o.dispatch("2026-10-09T09:30").join("\n");
    let reminders: Vec<&str> = sent.lines().filter(|l| l.contains("提醒您")).collect();
    assert_eq!(reminders.len(), 3, "{sent}");
    assert!(
        sent.contains("济南智联锦程医药有限公司党总支：提醒您，2026年10月10日10:00"),
        "{sent}"
    );

    // The list and its export keep the cancelled booking, in Chinese.
    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("bookings.csv");
    o.ok(
        "2026-10-09T10:00",
        &[
            "bases",
            "bookings",
            "--all",
            "--format",
            "csv",
            "--output",
            csv.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with('\u{feff}'), "{text}");
    assert!(
        text.contains("2,历下红色教育基地,历下区,370102-0002,济南智联金鼎电子商务有限公司党总支,2026-10-08,09:00,10:00,重温入党誓词,10,已取消"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4, "{text}");
}

/// A base with ten slots a day.
fn race_base() -> BaseRequest {
    BaseRequest {
        code: "race".into(),
        name: "科技创新基地".into(),
        kind: "science".into(),
        host_unit: "370102-LXGW".into(),
        district: "历下区".into(),
        address: "历下区经十路1号".into(),
        capacity: 30,
        opens: "08:00".into(),
        closes: "18:00".into(),
        slot_minutes: 60,
        activities: vec![duban_app::bases::Activity {
            name: "参观学习".into(),
            minutes: 60,
        }],
        active: None,
    }
}

backend_tests! {
    // Round after round, one unit leaves five places of a slot and four others ask for those
    // five at once: exactly one gets them, the others are told 已约满, and the slot never
    // holds more than its thirty.
    async fn units_racing_for_the_last_places_of_a_slot_leave_exactly_one_winner(db) {
        let o = ApiOffice::open(&db).await;
        let cli = Actor::command_line("race");
        o.app.add_base(&cli, race_base()).await.unwrap();
        let request = |unit: &str, date: &str, starts: &str, n: i32| BookingRequest {
            base: "race".into(),
            unit: unit.into(),
            date: date.parse().unwrap(),
            starts: starts.into(),
            activity: "参观学习".into(),
            headcount: n,
        };
        let racers = ["370102-0002", "370102-0003", "370102-0004", "370102-0005"];
        let mut rounds = 0;
        for date in ["2026-03-04", "2026-03-05", "2026-03-06"] {
            for hour in 8..18 {
                let starts = format!("{hour:02}:00");
                o.app
                    .book_base(&cli, request("370102-0001", date, &starts, 25))
                    .await
                    .unwrap();
                let tasks: Vec<_> = racers
                    .iter()
                    .map(|u| {
                        let app = o.app.clone();
                        let (cli, req) = (cli.clone(), request(u, date, &starts, 5));
                        tokio::spawn(async move { app.book_base(&cli, req).await })
                    })
                    .collect();
                let mut won = 0;
                for t in tasks {
                    match t.await.unwrap() {
                        Ok(_) => won += 1,
                        Err(e) => assert!(e.to_string().contains("已约满"), "{date} {starts}: {e}"),
                    }
                }
                assert_eq!(won, 1, "{date} {starts}");
                rounds += 1;
            }
        }
        let cal = o
            .app
            .base_calendar(&cli, "race", "2026-03-04".parse().unwrap(), 3)
            .await
            .unwrap();
        for d in &cal.days {
            for s in &d.slots {
                assert_eq!((s.booked, s.free), (30, 0), "{} {}", d.date, s.starts);
            }
        }
        let all = o.app.bookings(&cli, &Default::default()).await.unwrap();
        assert_eq!(all.len(), rounds * 2);
        println!("{} rounds of 4 units racing on {:?}: one winner each", rounds, db.kind);
    }
}

/// The secretary books for their own unit only and sees their bookings; an administrator of
/// the district sees them all; a viewer may not add a base.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secretary_books_for_their_unit_and_the_district_sees_every_booking() {
    let Some(db) = crate::support::TestDb::create(crate::support::Kind::Sqlite).await else {
        return;
    };
    let o = ApiOffice::open(&db).await;
    let admin = o.login("lixia-guanli").await;
    let (s, v) = o
        .call(Method::POST, "/api/v1/bases", &admin, Some(&api_base()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["kind_zh"], "红色型");
    let viewer = o.login("chakan").await;
    let (s, _) = o
        .call(Method::POST, "/api/v1/bases", &viewer, Some(&api_base()))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let shuji = o.login("shuji").await;
    let booking = |unit: &str| json!({"base": "api-red", "unit": unit, "date": "2026-03-04", "starts": "10:00", "activity": "参观学习", "headcount": 12});
    let (s, v) = o
        .call(
            Method::POST,
            "/api/v1/bookings",
            &shuji,
            Some(&booking("370102-0002")),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("不是您的单位"),
        "{v}"
    );
    let (s, v) = o
        .call(
            Method::POST,
            "/api/v1/bookings",
            &shuji,
            Some(&booking("370102-0001")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = o
        .call(
            Method::POST,
            "/api/v1/bookings",
            &admin,
            Some(&booking("370102-0002")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let units = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|b| b["unit_code"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, mine) = o.call(Method::GET, "/api/v1/bookings", &shuji, None).await;
    assert_eq!(units(&mine), ["370102-0001"]);
    let (_, all) = o.call(Method::GET, "/api/v1/bookings", &admin, None).await;
    assert_eq!(units(&all), ["370102-0001", "370102-0002"]);
    // The secretary may not cancel another unit's booking.
    let other = all[1]["id"].as_i64().unwrap();
    let (s, _) = o
        .call(
            Method::POST,
            &format!("/api/v1/bookings/{other}/cancel"),
            &shuji,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    db.drop_db().await;
}

/// The pages: the bases, a base's week with its free places and the booking form, the
/// secretary's bookings (linked from `/my`) with a cancellation, and the export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secretary_books_and_cancels_from_the_pages() {
    let Some(db) = crate::support::TestDb::create(crate::support::Kind::Sqlite).await else {
        return;
    };
    let o = crate::pages::december(&db).await;
    let cli = Actor::command_line("setup");
    o.app
        .add_base(&cli, serde_json::from_value(api_base()).unwrap())
        .await
        .unwrap();
    let mut b = crate::pages::Browser::new(&o);
    b.sign_in("shuji").await;
    let my = b.get("/my").await.text();
    assert!(my.contains("href=\"/bookings\">我的基地预约</a>"), "{my}");
    let list = b.get("/bases").await.text();
    assert!(
        list.contains("<a href=\"/bases/api-red\">历下红色教育基地</a>") && list.contains("红色型"),
        "{list}"
    );
    // Wednesday 2 December: the week from Monday; Thursday and Friday may still be booked.
    let week = b.get("/bases/api-red").await.text();
    for expected in [
        "2026年11月30日（一）",
        "2026年12月5日（六）</th>\n<td>不开放",
        "<option value=\"2026-12-04 09:00\">",
        "<option>370102-0001</option>",
    ] {
        assert!(week.contains(expected), "{expected}:\n{week}");
    }
    assert!(
        !week.contains("<option value=\"2026-12-02 09:00\">"),
        "{week}"
    );
    let form = [
        ("slot", "2026-12-04 09:00"),
        ("unit", "370102-0001"),
        ("activity", "参观学习"),
        ("headcount", "12"),
    ];
    let a = b.post("/bases/api-red/book", &form).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    let week = b.get(a.location()).await.text();
    assert!(week.contains("已预约，编号1"), "{week}");
    assert!(week.contains("09:00—10:00 余18个名额"), "{week}");
    // Another unit: refused.
    let other = [form[0], ("unit", "370102-0002"), form[2], form[3]];
    let a = b.post("/bases/api-red/book", &other).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // The same slot again: refused with the reason in Chinese.
    let again = [form[0], form[1], form[2], ("headcount", "3")];
    let a = b.post("/bases/api-red/book", &again).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("时间冲突"), "{}", a.text());

    let mine = b.get("/bookings").await.text();
    assert!(
        mine.contains("2026年12月4日 09:00—10:00 · 参观学习 · 12人")
            && mine.contains("action=\"/bookings/1/cancel\""),
        "{mine}"
    );
    let a = b.post("/bookings/1/cancel", &[]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    let after = b.get(a.location()).await.text();
    assert!(after.contains("编号1的预约已取消"), "{after}");
    assert!(after.contains("没有预约。"), "{after}");
    let csv = b.get("/bookings.csv?all=1").await.text();
    assert!(csv.contains("1,历下红色教育基地,历下区,370102-0001,济南宝塔博远建设工程有限公司党总支,2026-12-04,09:00,10:00,参观学习,12,已取消,shuji"), "{csv}");
    db.drop_db().await;
}
