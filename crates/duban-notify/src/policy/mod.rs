//! The delivery policy: plain functions that decide when a message may leave, what to do after
//! a failure and which messages merge into a digest.
//!
//! Nothing here does I/O or reads a clock. The dispatcher passes `now`, the message, the recent
//! send history from the delivery log and the "send not before" instant that the workflow
//! crate computed from quiet hours and working days, and gets back a decision to record.
//!
//! A dispatcher turn for one claimed outbox row:
//!
//! 1. [`DeliveryPolicy::decide`] → [`Decision::Drop`] (duplicate), [`Decision::Defer`] (not
//!    before / rate limit: release the lease with that due time; after a rate-limit deferral
//!    ask the workflow crate again for the next allowed instant at or after it) or
//!    [`Decision::SendNow`].
//! 2. Send through the channel; on success record a [`SentRecord`]; on failure
//!    [`DeliveryPolicy::after_failure`] → retry at, failed (permanent) or dead letter.
//!
//! When quiet hours end, [`digest::group`] merges the held reminders per recipient first.

pub mod backoff;
pub mod dedupe;
pub mod digest;
pub mod ratelimit;

pub use backoff::{Jitter, JitterSource, RetryDecision, RetryPolicy, SplitMix64};
pub use dedupe::ContentHash;
pub use digest::{DigestGroup, DigestWording, HeldReminder, Salutation, SmsDigest, SmsLimits};
pub use ratelimit::{Deferral, LimitKey, LimitRule, Scope, SentRecord, Window};

use crate::error::SendError;
use crate::message::Message;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::time::Duration;

/// The key a recipient is counted and deduplicated under: the lowercased email address, or the
/// mobile number without `+86`.
pub fn recipient_key(m: &Message) -> String {
    match m {
        Message::Email(e) => e.to.address.trim().to_lowercase(),
        Message::Sms(s) => crate::sms::mainland_digits(&s.to),
    }
}

/// The template a message counts under for per-template limits (`email` for all email).
pub fn template_key(m: &Message) -> &str {
    match m {
        Message::Email(_) => "email",
        Message::Sms(s) => &s.template,
    }
}

/// The content hash of a message.
pub fn content_hash(m: &Message) -> ContentHash {
    match m {
        Message::Email(e) => ContentHash::of_email(e),
        Message::Sms(s) => ContentHash::of_sms(s),
    }
}

/// A message about to be sent, as the policy sees it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub recipient: String,
    pub template: String,
    pub content: ContentHash,
    /// The instant before which the message must not leave (quiet hours, the next working
    /// day), computed by the workflow crate.
    pub not_before: Option<DateTime<Utc>>,
    /// An administrator's re-send: never dropped as a duplicate.
    pub resend: bool,
    /// An urgent message (紧急提醒, an escalation marked urgent): it may use the last message
    /// a per-recipient limit allows, which routine messages leave free for it.
    pub urgent: bool,
}

impl Candidate {
    pub fn of(m: &Message, not_before: Option<DateTime<Utc>>) -> Self {
        Candidate {
            recipient: recipient_key(m),
            template: template_key(m).to_string(),
            content: content_hash(m),
            not_before,
            resend: false,
            urgent: false,
        }
    }
}

/// Why a message waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeferReason {
    /// Quiet hours or a non-working day.
    NotBefore,
    /// A provider or carrier limit is full.
    RateLimit(LimitRule),
}

impl std::fmt::Display for DeferReason {
    /// Plain words for the delivery log, which administrators read.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeferReason::NotBefore => write!(f, "静默时段，到可发送时间再发（quiet hours）"),
            DeferReason::RateLimit(rule) => write!(
                f,
                "已达发送上限：{}，到期后再发（rate limit: {rule}）",
                rule.zh()
            ),
        }
    }
}

/// What to do with a message now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    SendNow,
    /// Leave it in the outbox until `until`.
    Defer {
        until: DateTime<Utc>,
        reason: DeferReason,
    },
    /// An identical message reached the same person at `sent_at`, inside the dedupe window:
    /// mark this one as a dropped duplicate.
    Drop {
        sent_at: DateTime<Utc>,
    },
}

/// The rules for one provider.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    pub retry: RetryPolicy,
    /// Identical messages to the same person within this window are dropped.
    pub dedupe_window: Duration,
    /// The provider's rate limits.
    pub limits: Vec<LimitRule>,
    /// The zone calendar-day limits count in.
    pub tz: Tz,
}

impl DeliveryPolicy {
    /// Decides about `c` at `now`. `history` holds the successful sends through this provider
    /// since [`DeliveryPolicy::history_horizon`]; records from other providers never count.
    pub fn decide(&self, c: &Candidate, history: &[SentRecord], now: DateTime<Utc>) -> Decision {
        if !c.resend
            && let Some(sent_at) =
                dedupe::duplicate_of(history, &c.recipient, &c.content, self.dedupe_window, now)
        {
            return Decision::Drop { sent_at };
        }
        if let Some(nb) = c.not_before
            && nb > now
        {
            return Decision::Defer {
                until: nb,
                reason: DeferReason::NotBefore,
            };
        }
        let key = LimitKey {
            recipient: &c.recipient,
            template: &c.template,
            content: &c.content,
        };
        // Routine messages leave the last slot of each per-recipient limit to urgent ones (and
        // to an administrator's deliberate re-send), so the day's routine reminders cannot push
        // an urgent one to tomorrow.
        let reserved: Vec<LimitRule>;
        let limits: &[LimitRule] = if c.urgent || c.resend {
            &self.limits
        } else {
            reserved = self
                .limits
                .iter()
                .map(|r| match r.scope {
                    Scope::Recipient | Scope::RecipientTemplate if r.max >= 2 => LimitRule {
                        max: r.max - 1,
                        ..*r
                    },
                    _ => *r,
                })
                .collect();
            &reserved
        };
        match ratelimit::check(limits, history, &key, now, self.tz) {
            Ok(()) => Decision::SendNow,
            Err(d) => Decision::Defer {
                until: d.until,
                reason: DeferReason::RateLimit(d.rule),
            },
        }
    }

    /// What follows failed attempt number `attempts_made`.
    pub fn after_failure(
        &self,
        attempts_made: u32,
        error: &SendError,
        now: DateTime<Utc>,
        rng: &mut dyn JitterSource,
    ) -> RetryDecision {
        self.retry.after_failure(attempts_made, error, now, rng)
    }

    /// The oldest send that can matter at `now`: load the history from here.
    pub fn history_horizon(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let dedupe_from = now
            .checked_sub_signed(
                chrono::Duration::from_std(self.dedupe_window).unwrap_or(chrono::Duration::MAX),
            )
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        ratelimit::horizon(&self.limits, now, self.tz).min(dedupe_from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{OutboxKey, SmsMessage};
    use std::collections::BTreeMap;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn sms(text: &str) -> Message {
        Message::Sms(SmsMessage {
            outbox_id: OutboxKey::from(1i64),
            to: "+8613812348000".into(),
            template: "reminder".into(),
            params: BTreeMap::new(),
            text: text.into(),
        })
    }

    fn policy() -> DeliveryPolicy {
        DeliveryPolicy {
            retry: RetryPolicy::default(),
            dedupe_window: Duration::from_secs(12 * 3600),
            limits: ratelimit::default_rules("tencent"),
            tz: chrono_tz::Asia::Shanghai,
        }
    }

    fn sent(m: &Message, at_: &str) -> SentRecord {
        SentRecord {
            at: at(at_),
            recipient: recipient_key(m),
            template: template_key(m).into(),
            content: content_hash(m),
        }
    }

    #[test]
    fn a_reminder_due_at_night_waits_for_its_not_before() {
        let m = sms("换届提醒");
        // 23:00 Beijing; the workflow says 08:00 on the next working day.
        let c = Candidate::of(&m, Some(at("2025-03-04T00:00:00Z")));
        let d = policy().decide(&c, &[], at("2025-03-03T15:00:00Z"));
        assert_eq!(
            d,
            Decision::Defer {
                until: at("2025-03-04T00:00:00Z"),
                reason: DeferReason::NotBefore
            }
        );
        assert_eq!(
            policy().decide(&c, &[], at("2025-03-04T00:00:00Z")),
            Decision::SendNow
        );
    }

    #[test]
    fn duplicates_drop_unless_resent_and_limits_defer() {
        let m = sms("换届提醒");
        let history = vec![sent(&m, "2025-03-04T00:00:00Z")];
        let mut c = Candidate::of(&m, None);
        let now = at("2025-03-04T00:00:10Z");
        assert_eq!(
            policy().decide(&c, &history, now),
            Decision::Drop {
                sent_at: at("2025-03-04T00:00:00Z")
            }
        );
        c.resend = true;
        match policy().decide(&c, &history, now) {
            Decision::Defer {
                until,
                reason: DeferReason::RateLimit(rule),
            } => {
                assert_eq!(until, at("2025-03-04T00:00:30Z"));
                assert_eq!(rule.scope, Scope::RecipientContent);
            }
            other => panic!("{other:?}"),
        }
        let other = sms("另一条提醒");
        let history = vec![
            sent(&m, "2025-03-04T00:00:00Z"),
            sent(&sms("第三条"), "2025-03-04T01:00:00Z"),
        ];
        match policy().decide(
            &Candidate::of(&other, None),
            &history,
            at("2025-03-04T02:00:00Z"),
        ) {
            Decision::Defer { until, .. } => assert_eq!(until, at("2025-03-04T16:00:00Z")),
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn routine_messages_leave_the_last_slot_of_the_day_to_an_urgent_one() {
        // Tencent allows 2 messages a day per recipient: after one routine reminder, a second
        // routine one waits for tomorrow, an urgent one goes now.
        let history = vec![sent(&sms("支委会提醒"), "2025-03-04T00:00:00Z")];
        let now = at("2025-03-04T01:00:00Z");
        let routine = Candidate::of(&sms("主题党日提醒"), None);
        assert!(matches!(
            policy().decide(&routine, &history, now),
            Decision::Defer {
                reason: DeferReason::RateLimit(_),
                ..
            }
        ));
        let mut urgent = Candidate::of(&sms("紧急：任期届满仅剩30天"), None);
        urgent.urgent = true;
        assert_eq!(policy().decide(&urgent, &history, now), Decision::SendNow);
        let full = vec![
            history[0].clone(),
            sent(&sms("另一条"), "2025-03-04T00:30:00Z"),
        ];
        assert!(matches!(
            policy().decide(&urgent, &full, now),
            Decision::Defer { .. }
        ));
    }

    #[test]
    fn a_deferral_reads_in_plain_words() {
        let rule = ratelimit::default_rules("tencent")
            .into_iter()
            .find(|r| r.scope == Scope::Recipient && r.window == Window::CalendarDay)
            .unwrap();
        let text = DeferReason::RateLimit(rule).to_string();
        assert!(
            text.starts_with("已达发送上限：每位收件人每天最多"),
            "{text}"
        );
        assert!(!text.contains("LimitRule"), "{text}");
    }

    #[test]
    fn the_history_horizon_covers_dedupe_and_the_calendar_day() {
        let p = policy();
        assert_eq!(
            p.history_horizon(at("2025-03-04T02:00:00Z")),
            at("2025-03-03T14:00:00Z")
        );
        assert_eq!(
            p.history_horizon(at("2025-03-04T20:00:00Z")),
            at("2025-03-04T08:00:00Z")
        );
    }
}
