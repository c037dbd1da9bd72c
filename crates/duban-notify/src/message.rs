//! The messages a channel sends and what it returns when it has sent one.
//!
//! A message is already rendered: templates and recipients were resolved before it reached a
//! channel. Each carries the key of the outbox row it came from, which names the `.eml` file,
//! forms the email's Message-ID and goes to SMS gateways as the caller's reference, so a resend
//! of the same row is recognisable everywhere.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The outbox row a message comes from. At most 64 characters of `[A-Za-z0-9_-]`, so it is safe
/// in a file name, a Message-ID and an HTTP header as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OutboxKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid outbox key {0:?}: use 1 to 64 characters of A-Z, a-z, 0-9, '-' and '_'")]
pub struct InvalidOutboxKey(pub String);

impl OutboxKey {
    pub fn new(key: impl Into<String>) -> Result<Self, InvalidOutboxKey> {
        let key = key.into();
        let ok = !key.is_empty()
            && key.len() <= 64
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(OutboxKey(key))
        } else {
            Err(InvalidOutboxKey(key))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<i64> for OutboxKey {
    fn from(id: i64) -> Self {
        OutboxKey(id.to_string())
    }
}

impl From<u64> for OutboxKey {
    fn from(id: u64) -> Self {
        OutboxKey(id.to_string())
    }
}

impl From<uuid::Uuid> for OutboxKey {
    fn from(id: uuid::Uuid) -> Self {
        OutboxKey(id.hyphenated().to_string())
    }
}

impl TryFrom<String> for OutboxKey {
    type Error = InvalidOutboxKey;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        OutboxKey::new(s)
    }
}

impl From<OutboxKey> for String {
    fn from(k: OutboxKey) -> String {
        k.0
    }
}

impl fmt::Display for OutboxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's address with an optional display name (`张三 <zhang.san@example.cn>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAddress {
    pub name: Option<String>,
    pub address: String,
}

impl EmailAddress {
    pub fn new(name: Option<&str>, address: &str) -> Self {
        EmailAddress {
            name: name.map(str::to_string),
            address: address.to_string(),
        }
    }
}

/// One email to one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    pub outbox_id: OutboxKey,
    pub to: EmailAddress,
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body; `None` derives it from `text` (escaped, paragraphs kept, links made
    /// clickable), so both alternatives always say the same thing.
    pub html: Option<String>,
}

/// One SMS to one number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsMessage {
    pub outbox_id: OutboxKey,
    /// The mobile number: 11 digits for the mainland, or `+<country><number>`.
    pub to: String,
    /// The logical template name (`reminder`, `digest`, …). Each provider maps it to its
    /// approved template code and parameter order in the configuration.
    pub template: String,
    /// The template's named parameters.
    pub params: BTreeMap<String, String>,
    /// The fully rendered text, for gateways that take free text and for the SMS log.
    pub text: String,
}

/// Either kind of message, for a dispatcher that holds both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Message {
    Email(EmailMessage),
    Sms(SmsMessage),
}

impl Message {
    pub fn outbox_id(&self) -> &OutboxKey {
        match self {
            Message::Email(m) => &m.outbox_id,
            Message::Sms(m) => &m.outbox_id,
        }
    }

    pub fn channel(&self) -> duban_core::register::Channel {
        match self {
            Message::Email(_) => duban_core::register::Channel::Email,
            Message::Sms(_) => duban_core::register::Channel::Sms,
        }
    }
}

/// What a channel returns when the provider accepted a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The channel's provider name: `smtp`, `eml`, `aliyun`, `tencent`, `webhook`, `sms_log`.
    pub provider: String,
    /// The provider's id for the message: the Message-ID for email, the BizId (Alibaba),
    /// SerialNo (Tencent) or the gateway's id; for the file sinks, the id they wrote.
    pub provider_message_id: String,
    /// Anything else worth logging: the SMTP server's reply, the file written, the fee.
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_keys_are_safe_for_files_and_headers() {
        assert_eq!(OutboxKey::from(42i64).as_str(), "42");
        assert!(OutboxKey::new("0190b7a1-7c3e-7f00-8000-000000000001").is_ok());
        assert!(OutboxKey::new("").is_err());
        assert!(OutboxKey::new("../etc/passwd").is_err());
        assert!(OutboxKey::new("a@b").is_err());
        assert!(OutboxKey::new("x".repeat(65)).is_err());
        let k: OutboxKey = serde_json::from_str("\"abc_1\"").unwrap();
        assert_eq!(k.as_str(), "abc_1");
        assert!(serde_json::from_str::<OutboxKey>("\"a b\"").is_err());
    }
}
