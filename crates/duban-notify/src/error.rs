//! What a failed send means for the next attempt.
//!
//! Every channel maps its provider's answer to one of two outcomes: [`SendError::Transient`]
//! (another attempt later can succeed: timeouts, broken connections, 5xx, throttling) or
//! [`SendError::Permanent`] (retrying the same message cannot help: invalid number, rejected
//! template or signature, refused credentials). A reply we cannot parse is transient, because
//! whether the message left is unknown and losing a reminder is worse than repeating one.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Why a send failed, in words the dispatcher and the delivery log can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No answer in time. The message may or may not have left.
    Timeout,
    /// Could not connect, or the connection broke.
    Connection,
    /// The provider throttled us (frequency or quota limit).
    Throttled,
    /// The provider failed on its side (HTTP 5xx, SMTP 4xx, `isp.SYSTEM_ERROR`, `InternalError`).
    ProviderError,
    /// A reply we could not understand; whether the message left is unknown.
    MalformedReply,
    /// The recipient's number or address is invalid, blocked or unsubscribed.
    InvalidRecipient,
    /// The provider rejected the content: template, signature, parameters, sensitive words.
    RejectedContent,
    /// Our credentials or permissions were refused.
    Auth,
    /// The provider account cannot send (suspended, not subscribed, out of balance).
    Account,
    /// Our own configuration or request is wrong (for example a template with no mapping).
    Config,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::Connection => "connection",
            FailureKind::Throttled => "throttled",
            FailureKind::ProviderError => "provider_error",
            FailureKind::MalformedReply => "malformed_reply",
            FailureKind::InvalidRecipient => "invalid_recipient",
            FailureKind::RejectedContent => "rejected_content",
            FailureKind::Auth => "auth",
            FailureKind::Account => "account",
            FailureKind::Config => "config",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The details of one failed attempt, as the delivery log records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    /// The channel's provider name: `smtp`, `eml`, `aliyun`, `tencent`, `webhook`, `sms_log`.
    pub provider: String,
    /// The provider's own code (`isv.BUSINESS_LIMIT_CONTROL`, `LimitExceeded.PhoneNumberDailyLimit`,
    /// `smtp 550`, `http 503`), or ours (`timeout`, `connect`).
    pub code: String,
    /// The provider's message, with long digit runs masked (they may be phone numbers).
    pub message: String,
    /// The provider's hint of when a retry can succeed (Retry-After, a 30-second limit, …).
    #[serde(with = "opt_secs", default)]
    pub retry_after: Option<Duration>,
}

impl Failure {
    pub fn new(
        kind: FailureKind,
        provider: impl Into<String>,
        code: impl Into<String>,
        message: impl AsRef<str>,
    ) -> Self {
        Failure {
            kind,
            provider: provider.into(),
            code: code.into(),
            message: scrub_digits(message.as_ref()),
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}): {}",
            self.provider, self.code, self.kind, self.message
        )
    }
}

/// A send that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Another attempt later may succeed.
    #[error("transient failure: {0}")]
    Transient(Failure),
    /// Retrying the same message cannot succeed.
    #[error("permanent failure: {0}")]
    Permanent(Failure),
}

impl SendError {
    /// Builds the outcome that the kind implies by default. Providers override it per code
    /// where the code says more (for example an out-of-balance account is worth retrying).
    pub fn from_kind(f: Failure) -> Self {
        match f.kind {
            FailureKind::Timeout
            | FailureKind::Connection
            | FailureKind::Throttled
            | FailureKind::ProviderError
            | FailureKind::MalformedReply => SendError::Transient(f),
            FailureKind::InvalidRecipient
            | FailureKind::RejectedContent
            | FailureKind::Auth
            | FailureKind::Account
            | FailureKind::Config => SendError::Permanent(f),
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient(_))
    }

    pub fn failure(&self) -> &Failure {
        match self {
            SendError::Transient(f) | SendError::Permanent(f) => f,
        }
    }

    pub fn kind(&self) -> FailureKind {
        self.failure().kind
    }
}

/// Masks every run of seven or more digits but its first three and last four, so a phone
/// number echoed in a provider's message does not reach the log whole.
pub fn scrub_digits(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 7 {
            out.push_str(&duban_core::privacy::mask_mobile(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_that_may_be_phone_numbers_are_masked() {
        assert_eq!(
            scrub_digits("bad number 13812348000!"),
            "bad number 138****8000!"
        );
        assert_eq!(scrub_digits("+8613812348000"), "+861****8000");
        assert_eq!(scrub_digits("code 500, 12 items"), "code 500, 12 items");
    }

    #[test]
    fn kinds_imply_the_retry_class() {
        let f = |k| Failure::new(k, "x", "c", "m");
        assert!(SendError::from_kind(f(FailureKind::Throttled)).is_transient());
        assert!(SendError::from_kind(f(FailureKind::MalformedReply)).is_transient());
        assert!(!SendError::from_kind(f(FailureKind::InvalidRecipient)).is_transient());
        assert!(!SendError::from_kind(f(FailureKind::Auth)).is_transient());
    }
}
