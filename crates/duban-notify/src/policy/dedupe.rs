//! Dropping an identical message to the same person within a window.
//!
//! Two workflow steps (or a retried engine tick) can produce the same reminder twice; the
//! second one within the window is dropped. "Identical" is a SHA-256 over the channel, the
//! normalised recipient and the rendered content, so the hash can be stored in the delivery
//! log and compared there.

use super::ratelimit::SentRecord;
use crate::message::{EmailMessage, SmsMessage};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::Duration;

/// A SHA-256 of a message's channel, recipient and content, as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContentHash(String);

impl ContentHash {
    /// Hashes length-prefixed parts, so `["ab", "c"]` and `["a", "bc"]` differ.
    pub fn of_parts(parts: &[&str]) -> Self {
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p.as_bytes());
        }
        ContentHash(hex::encode(h.finalize()))
    }

    pub fn of_email(m: &EmailMessage) -> Self {
        let to = m.to.address.trim().to_lowercase();
        Self::of_parts(&["email", &to, m.subject.trim(), m.text.trim()])
    }

    pub fn of_sms(m: &SmsMessage) -> Self {
        let to = crate::sms::mainland_digits(&m.to);
        let params: Vec<String> = m.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let params = params.join("\n");
        Self::of_parts(&["sms", &to, &m.template, &params, m.text.trim()])
    }

    /// Accepts a stored hash (64 hex digits).
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| ContentHash(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The time of an identical send to `recipient` within `window` before `now`, if any.
pub fn duplicate_of(
    history: &[SentRecord],
    recipient: &str,
    content: &ContentHash,
    window: Duration,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    let from = now
        .checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    history
        .iter()
        .filter(|r| r.recipient == recipient && &r.content == content && r.at > from && r.at <= now)
        .map(|r| r.at)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{EmailAddress, OutboxKey};
    use std::collections::BTreeMap;

    fn sms(id: i64, to: &str, text: &str) -> SmsMessage {
        SmsMessage {
            outbox_id: OutboxKey::from(id),
            to: to.into(),
            template: "reminder".into(),
            params: BTreeMap::from([("unit".to_string(), "第一支部".to_string())]),
            text: text.into(),
        }
    }

    #[test]
    fn the_hash_ignores_the_outbox_id_and_number_format() {
        assert_eq!(
            ContentHash::of_sms(&sms(1, "13812348000", "a")),
            ContentHash::of_sms(&sms(2, "+8613812348000", "a "))
        );
        assert_ne!(
            ContentHash::of_sms(&sms(1, "13812348000", "a")),
            ContentHash::of_sms(&sms(1, "13812348000", "b"))
        );
        assert_ne!(
            ContentHash::of_parts(&["ab", "c"]),
            ContentHash::of_parts(&["a", "bc"])
        );
        let email = EmailMessage {
            outbox_id: OutboxKey::from(1i64),
            to: EmailAddress::new(None, "A@Example.cn"),
            subject: "s".into(),
            text: "a".into(),
            html: None,
        };
        let mut other = email.clone();
        other.to.address = "a@example.cn".into();
        other.outbox_id = OutboxKey::from(9i64);
        assert_eq!(ContentHash::of_email(&email), ContentHash::of_email(&other));
        let h = ContentHash::of_email(&email);
        assert_eq!(ContentHash::parse(h.as_str()), Some(h));
        assert_eq!(ContentHash::parse("xyz"), None);
    }

    #[test]
    fn only_an_identical_send_inside_the_window_counts() {
        let now: DateTime<Utc> = "2025-03-01T12:00:00Z".parse().unwrap();
        let h = ContentHash::of_parts(&["x"]);
        let rec = |hours: i64, to: &str, c: &ContentHash| SentRecord {
            at: now - chrono::Duration::hours(hours),
            recipient: to.into(),
            template: "t".into(),
            content: c.clone(),
        };
        let window = Duration::from_secs(12 * 3600);
        let history = vec![
            rec(13, "a", &h),
            rec(2, "b", &h),
            rec(1, "a", &ContentHash::of_parts(&["y"])),
        ];
        assert_eq!(duplicate_of(&history, "a", &h, window, now), None);
        assert_eq!(
            duplicate_of(&history, "b", &h, window, now),
            Some(now - chrono::Duration::hours(2))
        );
    }
}
