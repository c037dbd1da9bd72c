//! The claim protocol of durable timers, driven directly through the store.

use chrono::{DateTime, Duration, TimeZone, Utc};
use duban_store::Store;
use duban_store::engine::{ClaimedTimer, InstanceSpec, NewOutbox, PlannedTimer};
use std::sync::Arc;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

fn spec(key: &str) -> InstanceSpec {
    InstanceSpec {
        workflow_id: "probe".into(),
        version: 1,
        content_hash: "h1".into(),
        subject_kind: "term".into(),
        subject_key: key.into(),
    }
}

/// `instances` instances with `per` timers each, all due at `t0`.
async fn seed(store: &Store, instances: usize, per: usize) {
    let tx = store.begin_write().await.unwrap();
    for i in 0..instances {
        let plan: Vec<PlannedTimer> = (0..per)
            .map(|n| PlannedTimer {
                step_id: format!("s{n}"),
                occurrence: "0".into(),
                due_at: t0() - Duration::minutes((n % 7) as i64),
                payload: "{}".into(),
            })
            .collect();
        tx.plan_instance(&spec(&format!("unit:{i}")), &plan, t0())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn run_batch(store: &Store, node: &str, batch: &[ClaimedTimer]) -> usize {
    let tx = store.begin_write().await.unwrap();
    let mut done = 0;
    for t in batch {
        if tx.complete_timer(t, node, t0(), false).await.unwrap() {
            tx.enqueue(
                &NewOutbox {
                    idempotency_key: format!(
                        "{}:{}:{}:secretary:sms",
                        t.instance_id, t.step_id, t.occurrence
                    ),
                    instance_id: Some(t.instance_id),
                    timer_id: Some(t.id),
                    person_id: None,
                    role: "secretary".into(),
                    channel: "sms".into(),
                    address: "13800000000".into(),
                    subject: "提醒".into(),
                    body: "请按期换届".into(),
                    html: None,
                    not_before: t0(),
                    urgent: false,
                    template: None,
                    params: None,
                },
                t0(),
            )
            .await
            .unwrap();
            done += 1;
        }
    }
    tx.commit().await.unwrap();
    done
}

backend_tests! {
    async fn concurrent_claimers_fire_every_timer_exactly_once(db) {
        let store = Arc::new(db.store().await);
        seed(&store, 1000, 10).await;
        let mut tasks = Vec::new();
        for n in 0..3 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let node = format!("node-{n}");
                let mut fired = 0;
                loop {
                    let batch = store.claim_due_timers(&node, t0(), Duration::seconds(60), 200).await.unwrap();
                    if batch.is_empty() {
                        break;
                    }
                    fired += run_batch(&store, &node, &batch).await;
                }
                fired
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        assert_eq!(total, 10_000);
        let stats = store.timer_stats(t0()).await.unwrap();
        assert_eq!((stats.done, stats.pending, stats.running), (10_000, 0, 0));
        let messages = store.outbox_messages().await.unwrap();
        assert_eq!(messages.len(), 10_000);
        let keys: std::collections::HashSet<_> = messages.iter().map(|m| m.idempotency_key.clone()).collect();
        assert_eq!(keys.len(), 10_000);
    }

    async fn an_expired_lease_passes_to_another_node_and_fences_out_the_first(db) {
        let store = db.store().await;
        seed(&store, 2, 5).await;
        let lost = store.claim_due_timers("dead-node", t0(), Duration::seconds(30), 100).await.unwrap();
        assert_eq!(lost.len(), 10);
        // Within the lease nobody else gets them.
        assert!(store.claim_due_timers("node-b", t0() + Duration::seconds(10), Duration::seconds(30), 100).await.unwrap().is_empty());
        // After it, node-b does, with a higher fence.
        let later = t0() + Duration::seconds(31);
        let taken = store.claim_due_timers("node-b", later, Duration::seconds(30), 100).await.unwrap();
        assert_eq!(taken.len(), 10);
        assert!(taken.iter().all(|t| t.fence == 2 && t.attempts == 2));
        // The first node comes back and tries to finish: refused, nothing written.
        assert_eq!(run_batch(&store, "dead-node", &lost).await, 0);
        assert_eq!(run_batch(&store, "node-b", &taken).await, 10);
        assert_eq!(store.outbox_messages().await.unwrap().len(), 10);
        assert_eq!(store.timer_stats(later).await.unwrap().done, 10);
    }

    async fn replanning_keeps_done_steps_reschedules_moved_ones_and_cancels_dropped_ones(db) {
        let store = db.store().await;
        let plan = |due: &[(&str, i64)]| -> Vec<PlannedTimer> {
            due.iter()
                .map(|(s, h)| PlannedTimer { step_id: s.to_string(), occurrence: "0".into(), due_at: t0() + Duration::hours(*h), payload: "{}".into() })
                .collect()
        };
        let tx = store.begin_write().await.unwrap();
        let r = tx.plan_instance(&spec("unit:1"), &plan(&[("a", -1), ("b", 5), ("c", 9)]), t0()).await.unwrap();
        tx.commit().await.unwrap();
        assert!(r.created);
        assert_eq!(r.inserted, 3);
        let batch = store.claim_due_timers("n", t0(), Duration::seconds(60), 10).await.unwrap();
        assert_eq!(batch.len(), 1);
        run_batch(&store, "n", &batch).await;

        let mut s2 = spec("unit:1");
        s2.content_hash = "h2".into();
        let tx = store.begin_write().await.unwrap();
        let r = tx.plan_instance(&s2, &plan(&[("a", -1), ("b", 6), ("d", 12)]), t0()).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!((r.created, r.inserted, r.rescheduled, r.cancelled, r.unchanged), (false, 1, 1, 1, 1));
        let (instance, timers) = store.instance_timeline(r.instance_id).await.unwrap().unwrap();
        assert_eq!(instance.content_hash, "h2");
        let states: Vec<(String, String)> = timers.iter().map(|t| (t.step_id.clone(), t.state.clone())).collect();
        assert_eq!(states, vec![
            ("a".into(), "done".into()),
            ("b".into(), "pending".into()),
            ("c".into(), "cancelled".into()),
            ("d".into(), "pending".into()),
        ]);
    }
}
