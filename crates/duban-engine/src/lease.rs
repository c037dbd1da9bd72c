//! Leases that last as long as the work: each claim's lease runs from the node's clock at the
//! claim (not from the pass's "now"), and a heartbeat renews it every third of the lease
//! while the node still works on the batch. A node that stops (crash, `kill -9`, a hung
//! network) stops renewing, and another node takes its work over within one lease.

use chrono::{DateTime, Duration, Utc};
use duban_core::clock::Clock;
use duban_store::{Store, StoreError};
use std::sync::{Arc, Mutex};

/// When a lease taken now ends: `lease` after the later of the pass's logical "now" and the
/// clock's reading (tests drive "now" far ahead of the clock; in production they agree).
pub fn lease_until(now: DateTime<Utc>, clock: &dyn Clock, lease: Duration) -> DateTime<Utc> {
    now.max(clock.now()) + lease
}

/// How often a holder renews: a third of the lease, so one late renewal still leaves time.
pub fn renew_every(lease: Duration) -> std::time::Duration {
    (lease / 3)
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(1))
        .max(std::time::Duration::from_millis(50))
}

/// What a heartbeat renews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Timers,
    Outbox,
}

impl Held {
    fn as_str(self) -> &'static str {
        match self {
            Held::Timers => "timers",
            Held::Outbox => "outbox",
        }
    }
}

/// Renews the leases on `held` (id, fence) until dropped. The list may grow while it runs
/// (digests made during a batch); rows that were finished meanwhile are no longer held and
/// are skipped by the store.
pub struct Heartbeat {
    task: tokio::task::JoinHandle<()>,
    kind: Held,
    node: String,
}

impl Heartbeat {
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        kind: Held,
        store: Store,
        node: String,
        held: Arc<Mutex<Vec<(i64, i64)>>>,
        now: DateTime<Utc>,
        clock: Arc<dyn Clock>,
        lease: Duration,
    ) -> Self {
        let gauge_node = node.clone();
        set_gauge(
            kind,
            &node,
            held.lock().unwrap_or_else(|p| p.into_inner()).len(),
        );
        let task = tokio::spawn(async move {
            let every = renew_every(lease);
            loop {
                tokio::time::sleep(every).await;
                let ids = held.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let until = lease_until(now, clock.as_ref(), lease);
                let renewed: Result<u64, StoreError> = match kind {
                    Held::Timers => store.renew_timers(&node, &ids, until).await,
                    Held::Outbox => store.renew_outbox(&node, &ids, until).await,
                };
                match renewed {
                    Ok(n) => set_gauge(kind, &node, n as usize),
                    Err(e) => {
                        tracing::warn!(node = %node, kind = kind.as_str(), error = %e, "renewing leases")
                    }
                }
            }
        });
        Heartbeat {
            task,
            kind,
            node: gauge_node,
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
        set_gauge(self.kind, &self.node, 0);
    }
}

fn set_gauge(kind: Held, node: &str, n: usize) {
    metrics::gauge!("duban_leases_held", "kind" => kind.as_str(), "node" => node.to_string())
        .set(n as f64);
}
