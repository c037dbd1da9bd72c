//! The channel abstraction the dispatcher calls.
//!
//! A channel sends one message and says what happened. It does not retry, wait or rate-limit:
//! those are the dispatcher's decisions, made with [`crate::policy`] and recorded in the
//! delivery log, so a channel call is one attempt and one log row.

use crate::error::SendError;
use crate::message::{Delivery, EmailMessage, Message, SmsMessage};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future (object-safe async).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that can send a message of type `M`: [`EmailMessage`] or [`SmsMessage`].
pub trait Channel<M: Sync>: Send + Sync {
    /// The provider name the delivery log records: `smtp`, `eml`, `aliyun`, `tencent`,
    /// `webhook`, `sms_log`.
    fn provider(&self) -> &'static str;

    /// Makes one attempt to send `message`.
    fn send<'a>(&'a self, message: &'a M) -> BoxFuture<'a, Result<Delivery, SendError>>;

    /// Makes one attempt for each message, returning the outcomes in the same order. Providers
    /// with a batch API use it (Alibaba's SendBatchSms, 100 numbers a call); the others send
    /// one by one.
    fn send_batch<'a>(
        &'a self,
        messages: &'a [M],
    ) -> BoxFuture<'a, Vec<Result<Delivery, SendError>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(messages.len());
            for m in messages {
                out.push(self.send(m).await);
            }
            out
        })
    }
}

impl<M: Sync, C: Channel<M> + ?Sized> Channel<M> for Arc<C> {
    fn provider(&self) -> &'static str {
        (**self).provider()
    }

    fn send<'a>(&'a self, message: &'a M) -> BoxFuture<'a, Result<Delivery, SendError>> {
        (**self).send(message)
    }

    fn send_batch<'a>(
        &'a self,
        messages: &'a [M],
    ) -> BoxFuture<'a, Vec<Result<Delivery, SendError>>> {
        (**self).send_batch(messages)
    }
}

/// The email channel and the SMS channel together, as configured.
#[derive(Clone)]
pub struct Notifier {
    email: Arc<dyn Channel<EmailMessage>>,
    sms: Arc<dyn Channel<SmsMessage>>,
}

impl Notifier {
    pub fn new(email: Arc<dyn Channel<EmailMessage>>, sms: Arc<dyn Channel<SmsMessage>>) -> Self {
        Notifier { email, sms }
    }

    pub fn email(&self) -> &Arc<dyn Channel<EmailMessage>> {
        &self.email
    }

    pub fn sms(&self) -> &Arc<dyn Channel<SmsMessage>> {
        &self.sms
    }

    /// One attempt on the channel the message belongs to.
    pub async fn send(&self, message: &Message) -> Result<Delivery, SendError> {
        let result = match message {
            Message::Email(m) => self.email.send(m).await,
            Message::Sms(m) => self.sms.send(m).await,
        };
        // No recipient here: the outbox id leads to it, and logs must not hold contact details.
        match &result {
            Ok(d) => {
                tracing::debug!(outbox_id = %message.outbox_id(), provider = %d.provider, id = %d.provider_message_id, "sent")
            }
            Err(e) => tracing::debug!(outbox_id = %message.outbox_id(), error = %e, "send failed"),
        }
        result
    }
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("email", &self.email.provider())
            .field("sms", &self.sms.provider())
            .finish()
    }
}
