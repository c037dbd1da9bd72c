//! SMS: Alibaba Cloud ([`aliyun`]), Tencent Cloud ([`tencent`]), a generic signed webhook
//! ([`webhook`]) and, when no gateway is configured, a JSON-lines log ([`log`]).
//!
//! The signers ([`acs3`], [`tc3`]) are pure functions checked against the providers' published
//! examples; the channels around them do the HTTP and map each provider's documented error
//! codes to transient or permanent failures.

pub mod acs3;
pub mod aliyun;
pub mod log;
pub mod tc3;
pub mod tencent;
pub mod webhook;

use crate::error::{Failure, FailureKind, SendError};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Lowercase hex of SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - _ . ~` becomes `%XX` (uppercase),
/// so a space is `%20`, `*` is `%2A` and `~` stays as it is (Alibaba's rule for ACS3).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A mainland number as 11 digits (`+86`/`0086`/`86` prefixes removed); other numbers as given.
pub fn mainland_digits(to: &str) -> String {
    let t: String = to
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    for prefix in ["+86", "0086", "86"] {
        if let Some(rest) = t.strip_prefix(prefix)
            && rest.len() == 11
            && rest.starts_with('1')
            && rest.bytes().all(|b| b.is_ascii_digit())
        {
            return rest.to_string();
        }
    }
    t
}

/// E.164 form: `+86` before an 11-digit mainland number, other numbers as given.
pub fn e164(to: &str) -> String {
    let d = mainland_digits(to);
    if d.len() == 11 && d.starts_with('1') && d.bytes().all(|b| b.is_ascii_digit()) {
        format!("+86{d}")
    } else {
        d
    }
}

/// A reqwest client for a gateway. Installs the ring provider first, because reqwest built
/// with `rustls-no-provider` panics without one.
pub(crate) fn http_client(timeout: Duration) -> reqwest::Client {
    crate::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("duban/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a reqwest client with rustls and an installed provider builds")
}

/// The `Host` value the HTTP client sends for `url`: host, plus `:port` when it is not the
/// scheme's default. Signers must sign exactly this.
pub(crate) fn host_header(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// A network-level failure: timeouts and broken connections are transient.
pub(crate) fn classify_reqwest_error(provider: &str, e: &reqwest::Error) -> SendError {
    let text = e.to_string();
    let (kind, code) = if e.is_timeout() {
        (FailureKind::Timeout, "timeout")
    } else if e.is_connect() {
        (FailureKind::Connection, "connect")
    } else if e.is_decode() || e.is_body() {
        (FailureKind::MalformedReply, "body")
    } else {
        (FailureKind::Connection, "request")
    };
    SendError::Transient(Failure::new(kind, provider, code, text))
}

/// A reply that carries no provider code we understand: decide on the HTTP status alone.
/// 2xx with an unreadable body means the outcome is unknown: transient, so nothing is lost.
pub(crate) fn classify_status(
    provider: &str,
    status: reqwest::StatusCode,
    retry_after: Option<Duration>,
    body: &str,
) -> SendError {
    let code = format!("http {}", status.as_u16());
    let snippet: String = body.chars().take(200).collect();
    let f = |kind| Failure::new(kind, provider, code.clone(), &snippet).retry_after(retry_after);
    match status.as_u16() {
        200..=299 => SendError::Transient(f(FailureKind::MalformedReply)),
        408 => SendError::Transient(f(FailureKind::Timeout)),
        429 => SendError::Transient(f(FailureKind::Throttled)),
        401 | 403 => SendError::Permanent(f(FailureKind::Auth)),
        404 | 405 => SendError::Permanent(f(FailureKind::Config)),
        400..=499 => SendError::Permanent(f(FailureKind::RejectedContent)),
        _ => SendError::Transient(f(FailureKind::ProviderError)),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Reads a response: status, Retry-After and body text. A body that breaks off is transient.
pub(crate) async fn read_response(
    provider: &str,
    resp: reqwest::Response,
) -> Result<(reqwest::StatusCode, Option<Duration>, String), SendError> {
    let status = resp.status();
    let after = retry_after(resp.headers());
    let body = resp
        .text()
        .await
        .map_err(|e| classify_reqwest_error(provider, &e))?;
    Ok((status, after, body))
}

/// The value of a template parameter, or a permanent configuration failure naming it.
pub(crate) fn param<'a>(
    provider: &str,
    msg: &'a crate::message::SmsMessage,
    name: &str,
) -> Result<&'a str, SendError> {
    msg.params.get(name).map(String::as_str).ok_or_else(|| {
        SendError::Permanent(Failure::new(
            FailureKind::Config,
            provider,
            "template_param",
            format!(
                "template {:?} needs parameter {name:?}, which the message does not have",
                msg.template
            ),
        ))
    })
}

/// The provider template every step may fall back to.
pub const GENERIC_TEMPLATE: &str = "reminder";

/// The provider template for a message: the step's own (`workflow.template`, e.g.
/// `term_expiry.remind_1mo`), else the generic [`GENERIC_TEMPLATE`].
pub(crate) fn lookup<'a, T>(
    templates: &'a std::collections::BTreeMap<String, T>,
    provider: &str,
    name: &str,
) -> Result<&'a T, SendError> {
    templates
        .get(name)
        .or_else(|| {
            name.contains('.')
                .then(|| templates.get(GENERIC_TEMPLATE))
                .flatten()
        })
        .ok_or_else(|| missing_template(provider, name))
}

pub(crate) fn missing_template(provider: &str, template: &str) -> SendError {
    SendError::Permanent(Failure::new(
        FailureKind::Config,
        provider,
        "template",
        format!(
            "no {provider} template is configured for {template:?} (notify.sms.templates.{template}.{provider})"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3986_encoding_matches_alibabas_rules() {
        assert_eq!(percent_encode("a b*c~d"), "a%20b%2Ac~d");
        assert_eq!(percent_encode("{\"k\":\"v\"}"), "%7B%22k%22%3A%22v%22%7D");
        assert_eq!(percent_encode("阿里"), "%E9%98%BF%E9%87%8C");
    }

    #[test]
    fn numbers_normalise_both_ways() {
        assert_eq!(mainland_digits("+8613812348000"), "13812348000");
        assert_eq!(mainland_digits("138 1234 8000"), "13812348000");
        assert_eq!(e164("13812348000"), "+8613812348000");
        assert_eq!(e164("+85291234567"), "+85291234567");
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
