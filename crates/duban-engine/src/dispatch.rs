//! The dispatcher: sends what the engine put in the outbox.
//!
//! One pass, per batch:
//! 1. lease due messages ([`Store::claim_outbox_until`]); the lease runs from this node's
//!    clock at the claim and a heartbeat renews it while the batch is worked on;
//! 2. re-check quiet hours at send time (a message due at 23:00 waits for 08:00 on the next
//!    working day) and defer what may not leave yet;
//! 3. merge reminders that were held back overnight into one digest per recipient and channel;
//! 4. apply the delivery policy: drop duplicates inside the dedupe window, defer on rate
//!    limits;
//! 5. send through the [`Notifier`], outside any transaction, several at a time: each message
//!    is marked "send begun" (fenced) just before its send, and its result is recorded
//!    (fenced, with its delivery-log row) in a small transaction as soon as the send returns.
//!
//! A message is only sent again if a node stopped while sending it (its lease expires and it
//! is claimed again with a higher fence): at most the messages in flight at that moment, as
//! many as `concurrency`. The delivery log shows the interrupted attempt as `uncertain`.

use crate::lease::{Heartbeat, Held};
use crate::{EngineError, Rules};
use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use duban_core::clock::{Clock, SystemClock};
use duban_core::register::Channel;
use duban_notify::error::FailureKind;
use duban_notify::policy::{
    self, Candidate, Decision, DeliveryPolicy, HeldReminder, RetryDecision, Salutation, SentRecord,
    SplitMix64, digest,
};
use duban_notify::{
    EmailAddress, EmailMessage, Message, Notifier, NotifySettings, OutboxKey, SmsMessage,
};
use duban_store::Store;
use duban_store::outbox::{MessageOutcome, NewDigest, OutboxRow};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// How a dispatcher node behaves.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Names this node in leases and the delivery log.
    pub node_id: String,
    /// Messages claimed per batch.
    pub batch_size: u64,
    /// How long a claim holds before another node may take the messages over: a dead node's
    /// messages wait this long. It runs from the claim and is renewed every third of it
    /// while the node works on the batch.
    pub lease: Duration,
    /// Messages in flight at once (match the SMTP pool size); also the most a crash can
    /// send twice.
    pub concurrency: usize,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            node_id: "node-1".into(),
            batch_size: 200,
            lease: Duration::seconds(30),
            concurrency: 8,
        }
    }
}

/// One send's result: the outcome, whether it was recorded under this node's lease, and
/// whether the message may have reached the provider (and so counts against its limits).
struct SendDone {
    id: i64,
    outcome: MessageOutcome,
    recorded: bool,
    may_have_left: bool,
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DispatchReport {
    pub claimed: u64,
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
    pub dead: u64,
    pub dropped: u64,
    pub deferred: u64,
    /// Messages merged into digests, and the digests made.
    pub merged: u64,
    pub digests: u64,
    /// Results refused because the lease was lost meanwhile.
    pub lost: u64,
}

impl DispatchReport {
    fn count(&mut self, outcome: &MessageOutcome, recorded: bool) {
        if !recorded {
            self.lost += 1;
            return;
        }
        match outcome {
            MessageOutcome::Sent { .. } => self.sent += 1,
            MessageOutcome::Retry { .. } => self.retried += 1,
            MessageOutcome::Failed { .. } => self.failed += 1,
            MessageOutcome::Dead { .. } => self.dead += 1,
            MessageOutcome::Dropped { .. } => self.dropped += 1,
            MessageOutcome::Deferred { .. } => self.deferred += 1,
        }
    }

    fn add(&mut self, o: &DispatchReport) {
        self.claimed += o.claimed;
        self.sent += o.sent;
        self.retried += o.retried;
        self.failed += o.failed;
        self.dead += o.dead;
        self.dropped += o.dropped;
        self.deferred += o.deferred;
        self.merged += o.merged;
        self.digests += o.digests;
        self.lost += o.lost;
    }
}

/// One dispatcher node.
#[derive(Clone)]
pub struct Dispatcher {
    pub store: Store,
    pub notifier: Arc<Notifier>,
    pub settings: Arc<NotifySettings>,
    pub rules: Arc<Rules>,
    pub config: Arc<DispatchConfig>,
    email_policy: Arc<DeliveryPolicy>,
    sms_policy: Arc<DeliveryPolicy>,
    tz: Tz,
    rng: Arc<Mutex<SplitMix64>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("node", &self.config.node_id)
            .finish()
    }
}

impl Dispatcher {
    pub fn new(
        store: Store,
        notifier: Notifier,
        settings: NotifySettings,
        rules: Arc<Rules>,
        config: DispatchConfig,
        seed: u64,
    ) -> Result<Self, EngineError> {
        let cfg = |e: duban_notify::ConfigError| EngineError::Config(e.to_string());
        let email_policy = settings
            .policy_for(settings.email_provider())
            .map_err(cfg)?;
        let sms_policy = settings.policy_for(settings.sms_provider()).map_err(cfg)?;
        let tz = settings.tz().map_err(cfg)?;
        Ok(Dispatcher {
            store,
            notifier: Arc::new(notifier),
            settings: Arc::new(settings),
            rules,
            config: Arc::new(config),
            email_policy: Arc::new(email_policy),
            sms_policy: Arc::new(sms_policy),
            tz,
            rng: Arc::new(Mutex::new(SplitMix64::new(seed))),
            clock: Arc::new(SystemClock),
        })
    }

    /// Now, by the dispatcher's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The clock leases are counted by (the system clock unless replaced).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn lease_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        crate::lease::lease_until(now, self.clock.as_ref(), self.config.lease)
    }

    /// Sends everything due at `now`.
    pub async fn dispatch(&self, now: DateTime<Utc>) -> Result<DispatchReport, EngineError> {
        let mut total = DispatchReport::default();
        loop {
            let batch = self
                .store
                .claim_outbox_until(
                    &self.config.node_id,
                    now,
                    self.lease_until(now),
                    self.config.batch_size,
                )
                .await?;
            if batch.is_empty() {
                break;
            }
            let n = batch.len() as u64;
            let report = self.run_batch(batch, now).await?;
            total.add(&report);
            if n < self.config.batch_size {
                break;
            }
        }
        // What was sent is sealed into the audit chain; a failed seal is retried by the next
        // pass and never holds the messages back.
        if let Err(e) = self.store.seal_deliveries(now).await {
            tracing::warn!(node = %self.config.node_id, error = %e, "sealing the delivery log failed; the next pass retries");
        }
        if total.claimed > 0 {
            metrics::counter!("duban_messages_sent_total").increment(total.sent);
            metrics::counter!("duban_messages_retried_total").increment(total.retried);
            metrics::counter!("duban_messages_dead_total").increment(total.dead);
            tracing::info!(
                node = %self.config.node_id, claimed = total.claimed, sent = total.sent,
                retried = total.retried, failed = total.failed, dead = total.dead,
                dropped = total.dropped, deferred = total.deferred, digests = total.digests,
                "dispatch"
            );
        }
        Ok(total)
    }

    fn policy(&self, channel: Channel) -> &DeliveryPolicy {
        match channel {
            Channel::Email => &self.email_policy,
            _ => &self.sms_policy,
        }
    }

    fn provider(&self, channel: Channel) -> &'static str {
        match channel {
            Channel::Email => self.settings.email_provider(),
            _ => self.settings.sms_provider(),
        }
    }

    /// The first instant at or after `now` that quiet hours allow on `channel`.
    fn quiet_until(&self, channel: Channel, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = now.with_timezone(&self.tz).naive_local();
        let allowed = self
            .rules
            .quiet
            .next_allowed(channel, local, &self.rules.calendar);
        if allowed <= local {
            return now;
        }
        self.tz
            .from_local_datetime(&allowed)
            .earliest()
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or(now)
    }

    async fn run_batch(
        &self,
        batch: Vec<OutboxRow>,
        now: DateTime<Utc>,
    ) -> Result<DispatchReport, EngineError> {
        let node = self.config.node_id.as_str();
        let mut report = DispatchReport {
            claimed: batch.len() as u64,
            ..Default::default()
        };
        let held = Arc::new(Mutex::new(
            batch.iter().map(|r| (r.id, r.fence)).collect::<Vec<_>>(),
        ));
        let _heartbeat = Heartbeat::start(
            Held::Outbox,
            self.store.clone(),
            node.to_string(),
            held.clone(),
            now,
            self.clock.clone(),
            self.config.lease,
        );
        let mut outcomes: Vec<(OutboxRow, MessageOutcome)> = Vec::new();
        let mut ready: Vec<(OutboxRow, Message)> = Vec::new();

        // Quiet hours at send time, and rows no channel can carry.
        for row in batch {
            let Some(channel) = channel_of(&row.channel) else {
                let error = format!("no channel {:?} to send on", row.channel);
                outcomes.push((
                    row,
                    MessageOutcome::Failed {
                        provider: String::new(),
                        error,
                    },
                ));
                continue;
            };
            if !row.urgent && !row.resend {
                let until = self.quiet_until(channel, now);
                if until > now {
                    outcomes.push((
                        row,
                        MessageOutcome::Deferred {
                            until,
                            reason: policy::DeferReason::NotBefore.to_string(),
                        },
                    ));
                    continue;
                }
            }
            match to_message(&row) {
                Ok(m) => ready.push((row, m)),
                Err(error) => outcomes.push((
                    row,
                    MessageOutcome::Failed {
                        provider: self.provider(channel).into(),
                        error,
                    },
                )),
            }
        }

        // Reminders held back overnight: one digest per recipient and channel.
        let ready = self.merge_held(ready, now, &mut report, &held).await?;

        // The policy, with the history of each provider.
        let mut history: HashMap<&'static str, Vec<SentRecord>> = HashMap::new();
        for &ch in Channel::ALL {
            let name = ch.as_str();
            if !ready.iter().any(|(_, m)| m.channel() == ch) {
                continue;
            }
            let since = self.policy(ch).history_horizon(now);
            let rows = self.store.sent_since(name, since).await?;
            history.insert(
                name,
                rows.iter()
                    .filter_map(|r| Some((r, to_message(r).ok()?)))
                    .map(|(r, m)| SentRecord {
                        at: r.sent_at.map(|t| t.and_utc()).unwrap_or(now),
                        recipient: policy::recipient_key(&m),
                        template: policy::template_key(&m).to_string(),
                        content: r
                            .content_hash
                            .as_deref()
                            .and_then(policy::ContentHash::parse)
                            .unwrap_or_else(|| policy::content_hash(&m)),
                    })
                    .collect(),
            );
        }
        // Urgent messages take their share of the limits first.
        let mut pending = ready;
        pending.sort_by_key(|(r, _)| !r.urgent);
        // Decide and send in rounds: a send that did not go out gives its slot back, so a
        // message the limit held back in this pass is decided again.
        loop {
            let mut to_send: Vec<(OutboxRow, Message)> = Vec::new();
            let mut limited: Vec<(OutboxRow, Message, MessageOutcome)> = Vec::new();
            let mut slots: HashMap<i64, (&'static str, SentRecord)> = HashMap::new();
            for (row, m) in pending {
                let ch = m.channel();
                let hist = history.entry(ch.as_str()).or_default();
                let mut c = Candidate::of(&m, None);
                c.resend = row.resend;
                c.urgent = row.urgent;
                match self.policy(ch).decide(&c, hist, now) {
                    Decision::SendNow => {
                        // Count it at once, so a duplicate or the next message in this batch
                        // sees it.
                        let record = SentRecord {
                            at: now,
                            recipient: c.recipient.clone(),
                            template: c.template.clone(),
                            content: c.content.clone(),
                        };
                        hist.push(record.clone());
                        slots.insert(row.id, (ch.as_str(), record));
                        to_send.push((row, m));
                    }
                    Decision::Drop { sent_at } => outcomes.push((
                        row,
                        MessageOutcome::Dropped {
                            reason: format!("an identical message was sent at {sent_at}"),
                        },
                    )),
                    Decision::Defer { until, reason } => {
                        let outcome = MessageOutcome::Deferred {
                            until,
                            reason: reason.to_string(),
                        };
                        if matches!(reason, policy::DeferReason::RateLimit(_)) {
                            limited.push((row, m, outcome));
                        } else {
                            outcomes.push((row, outcome));
                        }
                    }
                }
            }

            // What is decided without sending, in one transaction.
            self.record_unsent(&mut outcomes, &mut report, now).await?;

            // Send, outside any transaction; each result is recorded as soon as it is known.
            let (sent, unused) = self.send_all(to_send, now).await?;
            report.add(&sent);
            if unused.is_empty() || limited.is_empty() {
                outcomes.extend(limited.into_iter().map(|(row, _, o)| (row, o)));
                break;
            }
            for id in unused {
                if let Some((channel, record)) = slots.remove(&id)
                    && let Some(hist) = history.get_mut(channel)
                    && let Some(i) = hist.iter().rposition(|h| *h == record)
                {
                    hist.remove(i);
                }
            }
            pending = limited.into_iter().map(|(row, m, _)| (row, m)).collect();
        }
        self.record_unsent(&mut outcomes, &mut report, now).await?;
        Ok(report)
    }

    /// Records outcomes decided without sending (dropped, deferred, unsendable), in one
    /// transaction, and empties the list.
    async fn record_unsent(
        &self,
        outcomes: &mut Vec<(OutboxRow, MessageOutcome)>,
        report: &mut DispatchReport,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let node = self.config.node_id.as_str();
        let tx = self.store.begin_write().await?;
        for (row, outcome) in outcomes.iter() {
            let recorded = tx.finish_message(row, node, outcome, now).await?;
            report.count(outcome, recorded);
        }
        tx.commit().await?;
        outcomes.clear();
        Ok(())
    }

    async fn send_all(
        &self,
        to_send: Vec<(OutboxRow, Message)>,
        now: DateTime<Utc>,
    ) -> Result<(DispatchReport, Vec<i64>), EngineError> {
        let sem = Arc::new(tokio::sync::Semaphore::new(self.config.concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
        for (row, m) in to_send {
            let d = self.clone();
            let sem = sem.clone();
            set.spawn(async move {
                // Held from "send begun" until the result is recorded: at most `concurrency`
                // messages are ever in between.
                let _permit = sem.acquire_owned().await;
                d.send_one(row, m, now).await
            });
        }
        let mut report = DispatchReport::default();
        let mut unused = Vec::new();
        let mut first_error = None;
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Ok(Some(done))) => {
                    report.count(&done.outcome, done.recorded);
                    if !done.may_have_left {
                        unused.push(done.id);
                    }
                }
                Ok(Ok(None)) => report.lost += 1,
                Ok(Err(e)) => {
                    tracing::error!(node = %self.config.node_id, error = %e, "recording a send");
                    first_error.get_or_insert(e);
                }
                Err(e) => tracing::error!(error = %e, "a send task panicked"),
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok((report, unused)),
        }
    }

    /// Marks one message "send begun", sends it and records the result, all fenced. `None`
    /// when the lease was lost before the send (nothing was sent).
    async fn send_one(
        &self,
        row: OutboxRow,
        m: Message,
        now: DateTime<Utc>,
    ) -> Result<Option<SendDone>, EngineError> {
        let node = self.config.node_id.as_str();
        let clock_now = self.clock.now();
        // A message that waited past the day its text was written for (quiet hours, a rate
        // limit, retries, a dispatcher that was down) is written again for the day it leaves.
        let (row, m) = match self.written_for(&row, now).await {
            Ok(Some(rewritten)) => {
                let message = to_message(&rewritten).map_err(EngineError::Data)?;
                if !self
                    .store
                    .rewrite_claimed(
                        &row,
                        node,
                        &rewritten.subject,
                        &rewritten.body,
                        rewritten.params.as_deref(),
                    )
                    .await?
                {
                    return Ok(None);
                }
                (rewritten, message)
            }
            Ok(None) => (row, m),
            Err(e) => {
                tracing::warn!(outbox = row.id, error = %e, "could not write the message again for today; it leaves as written");
                (row, m)
            }
        };
        if !self
            .store
            .begin_send(&row, node, clock_now, clock_now)
            .await?
        {
            return Ok(None);
        }
        let result = self.notifier.send(&m).await;
        let ch = m.channel();
        // A refused send uses no quota; a timeout, an unreadable reply or a throttle may have.
        let may_have_left = match &result {
            Ok(_) => true,
            Err(e) => matches!(
                e.kind(),
                FailureKind::Timeout | FailureKind::MalformedReply | FailureKind::Throttled
            ),
        };
        let outcome = match result {
            Ok(d) => MessageOutcome::Sent {
                provider: d.provider,
                provider_message_id: d.provider_message_id,
                content_hash: Some(policy::content_hash(&m).as_str().to_string()),
            },
            Err(e) => {
                let provider = e.failure().provider.clone();
                let error = e.to_string();
                let attempts = u32::try_from(row.attempts.max(1)).unwrap_or(1);
                let decision = {
                    let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
                    self.policy(ch).after_failure(attempts, &e, now, &mut *rng)
                };
                match decision {
                    RetryDecision::RetryAt(at) => MessageOutcome::Retry {
                        provider,
                        at,
                        error,
                    },
                    RetryDecision::Failed => MessageOutcome::Failed { provider, error },
                    RetryDecision::DeadLetter => MessageOutcome::Dead { provider, error },
                }
            }
        };
        // A lock conflict is worth another try: the message has left, and an unrecorded
        // result would make the next holder send it again.
        let mut tries = 0;
        loop {
            tries += 1;
            let attempt = async {
                let tx = self.store.begin_write().await?;
                let recorded = tx.finish_message(&row, node, &outcome, now).await?;
                tx.commit().await?;
                Ok::<bool, duban_store::StoreError>(recorded)
            };
            match attempt.await {
                Ok(recorded) => {
                    return Ok(Some(SendDone {
                        id: row.id,
                        outcome,
                        recorded,
                        may_have_left,
                    }));
                }
                Err(e) if e.is_write_conflict() && tries < 5 => {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * tries)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Merges held-back reminders; returns what is left to send, digests included.
    async fn merge_held(
        &self,
        ready: Vec<(OutboxRow, Message)>,
        now: DateTime<Utc>,
        report: &mut DispatchReport,
        held_leases: &Mutex<Vec<(i64, i64)>>,
    ) -> Result<Vec<(OutboxRow, Message)>, EngineError> {
        let held: Vec<HeldReminder> = ready
            .iter()
            .filter(|(r, _)| !r.resend && r.digest_of.is_none())
            .map(|(r, m)| {
                let p = params_of(r);
                HeldReminder {
                    outbox_id: OutboxKey::from(r.id),
                    recipient: policy::recipient_key(m),
                    channel: m.channel(),
                    line: digest_line(&r.subject, &p),
                    link: p.get("link").filter(|l| !l.is_empty()).cloned(),
                    created_at: r.created_at.and_utc(),
                    not_before: Some(r.not_before.and_utc()),
                }
            })
            .collect();
        let min = self.settings.digest.min_items;
        let (groups, _) = digest::group(held, min);
        if groups.is_empty() {
            return Ok(ready);
        }
        let mut by_id: BTreeMap<String, (OutboxRow, Message)> = ready
            .into_iter()
            .map(|(r, m)| (r.id.to_string(), (r, m)))
            .collect();
        let mut out = Vec::new();
        let w = &self.settings.digest.wording;
        for g in groups {
            let members: Vec<(OutboxRow, Message)> = g
                .items
                .iter()
                .filter_map(|i| by_id.remove(i.outbox_id.as_str()))
                .collect();
            let Some((first, _)) = members.first() else {
                continue;
            };
            let first_params = params_of(first);
            let salutation = Salutation {
                name: first_params.get("recipient_name").cloned(),
                sign_off: first_params.get("org_department").cloned(),
            };
            let (subject, body, template, params) = match g.channel {
                Channel::Email => {
                    let (s, t) = digest::email_digest(&g, w, None, &salutation);
                    let params = serde_json::to_string(&BTreeMap::from([(
                        "recipient_name".to_string(),
                        salutation.name.clone().unwrap_or_default(),
                    )]))
                    .ok();
                    (s, t, None, params)
                }
                _ => {
                    let d = digest::sms_digest(&g, None, &self.settings.digest.sms, w, &salutation);
                    let (s, _) = digest::email_digest(&g, w, None, &salutation);
                    let params = serde_json::to_string(&d.params).ok();
                    (s, d.parts.join("\n"), Some("digest".to_string()), params)
                }
            };
            let ids: Vec<i64> = members.iter().map(|(r, _)| r.id).collect();
            let d = NewDigest {
                idempotency_key: format!(
                    "digest:{}:{}:{}",
                    ids.first().copied().unwrap_or(0),
                    ids.last().copied().unwrap_or(0),
                    ids.len()
                ),
                person_id: first.person_id,
                role: first.role.clone(),
                channel: first.channel.clone(),
                address: first.address.clone(),
                subject,
                body,
                template,
                params,
            };
            let tx = self.store.begin_write().await?;
            let refs: Vec<&OutboxRow> = members.iter().map(|(r, _)| r).collect();
            match tx
                .merge_into_digest(&refs, &d, &self.config.node_id, now, self.lease_until(now))
                .await?
            {
                Some(row) => {
                    tx.commit().await?;
                    held_leases
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((row.id, row.fence));
                    report.merged += members.len() as u64;
                    report.digests += 1;
                    match to_message(&row) {
                        Ok(m) => out.push((row, m)),
                        Err(e) => tracing::error!(error = %e, "digest cannot be sent"),
                    }
                }
                None => {
                    tx.rollback().await?;
                    report.lost += members.len() as u64;
                }
            }
        }
        out.extend(by_id.into_values());
        Ok(out)
    }
}

fn channel_of(s: &str) -> Option<Channel> {
    Channel::ALL.iter().copied().find(|c| c.as_str() == s)
}

/// The message an outbox row stands for.
impl Dispatcher {
    /// The message written again for the day it leaves, when its days-left count was written
    /// for another day; `None` when it is current or was not written from a workflow step.
    async fn written_for(
        &self,
        row: &OutboxRow,
        now: DateTime<Utc>,
    ) -> Result<Option<OutboxRow>, EngineError> {
        use duban_workflow::render::{count_days_from, render, template_params};
        let params = params_of(row);
        let (Some(instance_id), Some(timer_id)) = (row.instance_id, row.timer_id) else {
            return Ok(None);
        };
        // Forwarded and fallback copies carry a note after the text: they leave as written.
        if row.role.contains("_for_") || row.digest_of.is_some() {
            return Ok(None);
        }
        let (Some(anchor), Some(days_left)) = (
            params
                .get("anchor_date")
                .and_then(|d| duban_core::register::parse_date(d)),
            params.get("days_left").and_then(|d| d.parse::<i64>().ok()),
        ) else {
            return Ok(None);
        };
        let written_on = anchor - Duration::days(days_left);
        let today = now.with_timezone(&self.tz).date_naive();
        if written_on >= today {
            return Ok(None);
        }
        let Some((instance, timers)) = self.store.instance_timeline(instance_id).await? else {
            return Ok(None);
        };
        let Some(timer) = timers.iter().find(|t| t.id == timer_id) else {
            return Ok(None);
        };
        let wf = self
            .rules
            .by_hash(&self.store, &instance.content_hash)
            .await?;
        let Some(step) = wf.steps.iter().find(|s| s.id == timer.step_id) else {
            return Ok(None);
        };
        let Some(set) = step.template.as_ref().and_then(|t| wf.templates.get(t)) else {
            return Ok(None);
        };
        let channel = channel_of(&row.channel).ok_or_else(|| {
            EngineError::Data(format!("outbox {}: channel {}", row.id, row.channel))
        })?;
        let Some(text) = set.for_channel_or_other(channel) else {
            return Ok(None);
        };
        // The variables as they were, numbers as numbers, then the days as of today.
        let mut vars: BTreeMap<String, minijinja::Value> = params
            .iter()
            .filter(|(k, _)| k.as_str() != "subject" && k.as_str() != "recipient_name")
            .map(|(k, v)| {
                let value = match v.parse::<i64>() {
                    Ok(n) if NUMERIC_VARIABLES.contains(&k.as_str()) => minijinja::Value::from(n),
                    _ => minijinja::Value::from(v.clone()),
                };
                (k.clone(), value)
            })
            .collect();
        count_days_from(&mut vars, anchor, today);
        let subject = render(&step.title, &vars).map_err(EngineError::Data)?;
        let body = render(&text.text, &vars).map_err(EngineError::Data)?;
        let mut new_params = template_params(&vars, &subject);
        if let Some(name) = params.get("recipient_name") {
            new_params.insert("recipient_name".into(), name.clone());
        }
        let mut out = row.clone();
        out.subject = subject;
        out.body = body;
        out.params =
            Some(serde_json::to_string(&new_params).map_err(|e| EngineError::Data(e.to_string()))?);
        Ok(Some(out))
    }
}

/// The common template variables that are numbers (`{{ year - 1 }}`, `{% if days_left > 0 %}`);
/// a subject's own variables are text.
const NUMERIC_VARIABLES: [&str; 4] = ["days_left", "days_overdue", "times", "year"];

/// The variables a message was rendered with (every channel keeps them), empty if none.
fn params_of(row: &OutboxRow) -> BTreeMap<String, String> {
    row.params
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_default()
}

/// One line of a digest: the message's title, with the unit it concerns when the title does
/// not name it ("2026年3月支委会尚未召开" → "泉城科技有限公司党支部：2026年3月支委会尚未召开").
fn digest_line(title: &str, params: &BTreeMap<String, String>) -> String {
    match params.get("unit_name").filter(|u| !u.is_empty()) {
        Some(unit) if !title.contains(unit.as_str()) => format!("{unit}：{title}"),
        _ => title.to_string(),
    }
}

pub fn to_message(row: &OutboxRow) -> Result<Message, String> {
    let key = OutboxKey::from(row.id);
    match row.channel.as_str() {
        "email" => Ok(Message::Email(EmailMessage {
            outbox_id: key,
            to: EmailAddress::new(
                params_of(row)
                    .get("recipient_name")
                    .map(String::as_str)
                    .filter(|n| !n.is_empty()),
                &row.address,
            ),
            subject: row.subject.clone(),
            text: row.body.clone(),
            html: row.html.clone(),
        })),
        "sms" => {
            let params: BTreeMap<String, String> = match &row.params {
                Some(p) => serde_json::from_str(p).map_err(|e| {
                    format!(
                        "outbox {}: params are not a JSON object of strings: {e}",
                        row.id
                    )
                })?,
                None => BTreeMap::from([("subject".to_string(), row.subject.clone())]),
            };
            Ok(Message::Sms(SmsMessage {
                outbox_id: key,
                to: row.address.clone(),
                template: row.template.clone().unwrap_or_else(|| "reminder".into()),
                params,
                text: row.body.clone(),
            }))
        }
        other => Err(format!("outbox {}: no channel {other:?}", row.id)),
    }
}
