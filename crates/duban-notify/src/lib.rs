//! duban's notification layer: the channels that carry a reminder to a person, and the pure
//! rules that decide when a reminder may leave.
//!
//! It owns two things, kept apart on purpose:
//!
//! * **Channels** ([`channel`], [`email`], [`sms`]): one async `send` per message that either
//!   returns a [`Delivery`] (with the provider's message id) or a [`SendError`] that says whether
//!   another attempt can help ([`SendError::Transient`]: timeouts, 5xx, throttling) or cannot
//!   ([`SendError::Permanent`]: invalid number, rejected template or signature, refused
//!   credentials). Email goes through lettre's pooled async SMTP transport, or into `.eml` files
//!   when no server is configured; SMS goes to Alibaba Cloud (ACS3-HMAC-SHA256), Tencent Cloud
//!   (TC3-HMAC-SHA256), a generic signed webhook, or a JSON-lines log when no gateway is
//!   configured. Secrets come only from the environment and are held as
//!   [`secrecy::SecretString`].
//! * **Policy** ([`policy`]): backoff with injected jitter, dead letters, per-channel and
//!   per-recipient rate limits, duplicate suppression, overnight digests and channel choice.
//!   It is plain functions of their inputs: no I/O, no clock, no async — time comes in as an
//!   argument, so the dispatcher's decisions are property-tested and replayable.
//!
//! What it deliberately does not own: the outbox table and its leases (the store and the
//! dispatcher), quiet hours and working days (the workflow crate computes a "send not before"
//! instant that the policy takes as input), and message templates (rendered before a message
//! reaches a channel).
//!
//! The one TLS stack is rustls with ring. The binary calls [`install_crypto_provider`] once
//! before it builds any channel; reqwest's client panics without it.

pub mod channel;
pub mod email;
pub mod error;
pub mod message;
pub mod policy;
pub mod secrets;
pub mod settings;
pub mod sms;
#[cfg(feature = "testing")]
pub mod testing;

pub use channel::{BoxFuture, Channel, Notifier};
pub use error::{Failure, FailureKind, SendError};
pub use message::{Delivery, EmailAddress, EmailMessage, Message, OutboxKey, SmsMessage};
pub use secrets::{EnvSecrets, MapSecrets, SecretSource};
pub use settings::{ConfigError, NotifySettings};

/// Installs rustls' ring provider as the process default. Call it once at start-up, before any
/// HTTPS client or TLS SMTP transport is built. Calling it again is harmless.
pub fn install_crypto_provider() {
    // `Err` means a provider is already installed, which is what we want either way.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
