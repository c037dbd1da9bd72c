//! A generic HTTPS webhook for any other SMS gateway.
//!
//! The request is a JSON POST:
//!
//! ```json
//! {"id": "<outbox id>", "to": "13812348000", "template": "reminder",
//!  "params": {"unit": "…"}, "text": "…"}
//! ```
//!
//! with three headers: the timestamp (Unix seconds), the signature
//! `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` and `X-Duban-Outbox-Id` (the same
//! id as in the body, for idempotent gateways). A receiver recomputes the signature over the
//! raw body and rejects timestamps outside its tolerance, so a captured request cannot be
//! replayed later; [`verify`] does both.
//!
//! Any 2xx reply is success; a JSON reply may name the gateway's id as `id` or `message_id`.
//! Failures are read from the status (429 throttled, 5xx and 408 transient, other 4xx
//! permanent), refined by an optional JSON `{"error": {"code": "invalid_recipient" |
//! "rejected_content" | "throttled" | "auth", "message": "…"}}`.

use super::{classify_reqwest_error, classify_status, hmac_sha256, read_response};
use crate::channel::{BoxFuture, Channel};
use crate::error::{Failure, FailureKind, SendError};
use crate::message::{Delivery, SmsMessage};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::time::Duration;

pub const PROVIDER: &str = "webhook";
pub const DEFAULT_SIGNATURE_HEADER: &str = "X-Duban-Signature";
pub const DEFAULT_TIMESTAMP_HEADER: &str = "X-Duban-Timestamp";
pub const OUTBOX_ID_HEADER: &str = "X-Duban-Outbox-Id";

/// `sha256=<hex>` over `"<timestamp>.<body>"`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut data = format!("{timestamp}.").into_bytes();
    data.extend_from_slice(body);
    format!("sha256={}", hex::encode(hmac_sha256(secret, &data)))
}

/// Why a receiver refused a webhook request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("timestamp header is not a Unix time in seconds")]
    BadTimestamp,
    #[error("timestamp is {0} s away from now, beyond the tolerance")]
    Stale(i64),
    #[error("signature header is not sha256=<hex>")]
    BadSignatureFormat,
    #[error("signature does not match the body")]
    Mismatch,
}

/// Checks a received request: the timestamp within `tolerance_secs` of `now` (Unix seconds)
/// and the signature over the raw body, compared in constant time.
pub fn verify(
    secret: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let skew = (now - ts).abs();
    if skew > tolerance_secs {
        return Err(VerifyError::Stale(skew));
    }
    let hex_sig = signature_header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(VerifyError::BadSignatureFormat)?;
    let given = hex::decode(hex_sig).map_err(|_| VerifyError::BadSignatureFormat)?;
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("{ts}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| VerifyError::Mismatch)
}

/// The webhook SMS channel.
pub struct WebhookSms {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: SecretString,
    signature_header: String,
    timestamp_header: String,
}

impl WebhookSms {
    pub fn new(
        url: reqwest::Url,
        secret: SecretString,
        signature_header: String,
        timestamp_header: String,
        timeout: Duration,
    ) -> Self {
        WebhookSms {
            client: super::http_client(timeout),
            url,
            secret,
            signature_header,
            timestamp_header,
        }
    }

    pub fn body(m: &SmsMessage) -> Vec<u8> {
        let body = serde_json::json!({
            "id": m.outbox_id.as_str(),
            "to": m.to,
            "template": m.template,
            "params": m.params,
            "text": m.text,
        });
        serde_json::to_vec(&body).expect("a JSON value serialises")
    }

    pub async fn send_one(&self, m: &SmsMessage) -> Result<Delivery, SendError> {
        let body = Self::body(m);
        let ts = chrono::Utc::now().timestamp();
        let sig = signature(self.secret.expose_secret().as_bytes(), ts, &body);
        let resp = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header(self.timestamp_header.as_str(), ts.to_string())
            .header(self.signature_header.as_str(), sig)
            .header(OUTBOX_ID_HEADER, m.outbox_id.as_str())
            .body(body)
            .send()
            .await
            .map_err(|e| classify_reqwest_error(PROVIDER, &e))?;
        let (status, after, text) = read_response(PROVIDER, resp).await?;
        let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        if status.is_success() {
            let id = json
                .as_ref()
                .and_then(|j| j.get("message_id").or_else(|| j.get("id")))
                .and_then(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .unwrap_or_else(|| m.outbox_id.to_string());
            return Ok(Delivery {
                provider: PROVIDER.to_string(),
                provider_message_id: id,
                detail: Some(format!("http {}", status.as_u16())),
            });
        }
        let by_status = classify_status(PROVIDER, status, after, &text);
        let Some(err) = json.as_ref().and_then(|j| j.get("error")) else {
            return Err(by_status);
        };
        let code = err.get("code").and_then(|c| c.as_str()).unwrap_or_default();
        let message = err
            .get("message")
            .and_then(|c| c.as_str())
            .unwrap_or_default();
        let kind = match code {
            "invalid_recipient" => FailureKind::InvalidRecipient,
            "rejected_content" => FailureKind::RejectedContent,
            "throttled" => FailureKind::Throttled,
            "auth" => FailureKind::Auth,
            _ => return Err(by_status),
        };
        let failure = Failure::new(
            kind,
            PROVIDER,
            format!("http {} {code}", status.as_u16()),
            message,
        )
        .retry_after(after);
        Err(SendError::from_kind(failure))
    }
}

impl Channel<SmsMessage> for WebhookSms {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn send<'a>(&'a self, message: &'a SmsMessage) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(self.send_one(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // Computed independently: hmac.new(b"key", b"1700000000.{}", hashlib.sha256) in Python.
        let s = signature(b"key", 1_700_000_000, b"{}");
        assert_eq!(
            s,
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert!(verify(b"key", "1700000000", &s, b"{}", 1_700_000_100, 300).is_ok());
    }

    #[test]
    fn verify_refuses_replays_tampering_and_junk() {
        let s = signature(b"key", 1_700_000_000, b"{\"a\":1}");
        assert_eq!(
            verify(b"key", "1700000000", &s, b"{\"a\":1}", 1_700_000_301, 300),
            Err(VerifyError::Stale(301))
        );
        assert_eq!(
            verify(b"key", "1700000000", &s, b"{\"a\":2}", 1_700_000_000, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"other", "1700000000", &s, b"{\"a\":1}", 1_700_000_000, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"key", "1700000001", &s, b"{\"a\":1}", 1_700_000_000, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"key", "soon", &s, b"", 0, 300),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            verify(b"key", "0", "md5=00", b"", 0, 300),
            Err(VerifyError::BadSignatureFormat)
        );
    }
}
