//! Email: composing the MIME message, then either SMTP ([`smtp::SmtpChannel`]) or `.eml` files
//! ([`eml::EmlDirectory`]).
//!
//! Both channels build the message the same way ([`Composer`]): a UTF-8 subject (RFC 2047
//! encoded by lettre), a `multipart/alternative` body whose text and HTML parts come from the
//! same content, and a Message-ID `<outbox-{id}@{domain}>` derived from the outbox row, so a
//! resend of the same row carries the same id and mail clients and servers can spot it.

pub mod eml;
pub mod smtp;

use crate::error::{Failure, FailureKind, SendError};
use crate::message::{EmailMessage, OutboxKey};
use crate::settings::ConfigError;
use lettre::message::{Mailbox, MultiPart};

/// Builds lettre messages with a fixed sender and Message-ID domain.
#[derive(Debug, Clone)]
pub struct Composer {
    from: Mailbox,
    domain: String,
}

impl Composer {
    /// `from` is a mailbox such as `督办提醒 <duban@example.cn>`; `message_id_domain` defaults to
    /// the machine's host name.
    pub fn new(from: &str, message_id_domain: Option<&str>) -> Result<Self, ConfigError> {
        let from: Mailbox = from.parse().map_err(|e| {
            ConfigError::new(
                "notify.email.from",
                format!("{from:?} is not a mailbox: {e}"),
            )
        })?;
        let domain = match message_id_domain.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => {
                if !is_dot_atom(d) {
                    return Err(ConfigError::new(
                        "notify.email.message_id_domain",
                        format!("{d:?} is not a domain (letters, digits, '-' and '.')"),
                    ));
                }
                d.to_string()
            }
            None => local_domain(),
        };
        Ok(Composer { from, domain })
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// `<outbox-{id}@{domain}>`: the same outbox row always yields the same Message-ID.
    pub fn message_id(&self, key: &OutboxKey) -> String {
        format!("<outbox-{key}@{}>", self.domain)
    }

    /// The complete MIME message. An address lettre cannot parse is a permanent failure.
    pub fn compose(&self, m: &EmailMessage, provider: &str) -> Result<lettre::Message, SendError> {
        let address = m.to.address.trim().parse().map_err(|e| {
            SendError::Permanent(Failure::new(
                FailureKind::InvalidRecipient,
                provider,
                "address",
                format!(
                    "{} is not an email address: {e}",
                    duban_core::privacy::mask_email(&m.to.address)
                ),
            ))
        })?;
        let to = Mailbox::new(m.to.name.clone().filter(|n| !n.trim().is_empty()), address);
        let html = match &m.html {
            Some(h) => h.clone(),
            None => html_from_text(&m.subject, &m.text),
        };
        lettre::Message::builder()
            .message_id(Some(self.message_id(&m.outbox_id)))
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .multipart(MultiPart::alternative_plain_html(m.text.clone(), html))
            .map_err(|e| {
                SendError::Permanent(Failure::new(
                    FailureKind::Config,
                    provider,
                    "compose",
                    e.to_string(),
                ))
            })
    }
}

/// The host name, reduced to characters allowed in a Message-ID; `localhost` if none is left.
fn local_domain() -> String {
    use lettre::transport::smtp::extension::ClientId;
    let name = match ClientId::default() {
        ClientId::Domain(d) => d,
        _ => String::new(),
    };
    let cleaned: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .collect();
    let cleaned = cleaned.trim_matches('.').to_string();
    if cleaned.is_empty() {
        "localhost".to_string()
    } else {
        cleaned
    }
}

fn is_dot_atom(d: &str) -> bool {
    !d.starts_with('.')
        && !d.ends_with('.')
        && !d.contains("..")
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// The HTML alternative of a plain-text body: escaped, blank-line paragraphs as `<p>`, line
/// breaks as `<br>`, and `http(s)://` links made clickable. The text stays the source of
/// truth, so the two parts cannot drift apart.
pub fn html_from_text(title: &str, text: &str) -> String {
    let mut body = String::new();
    let normalized = text.replace("\r\n", "\n");
    for para in normalized.split("\n\n").map(|p| p.trim_matches('\n')) {
        if para.trim().is_empty() {
            continue;
        }
        body.push_str("<p>");
        let lines: Vec<String> = para.split('\n').map(linkify).collect();
        body.push_str(&lines.join("<br>\n"));
        body.push_str("</p>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.6\">\n{body}</body>\n</html>\n",
        escape_html(title)
    )
}

/// Escapes a line and turns each `http://` or `https://` run (up to whitespace) into a link.
fn linkify(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = find_link(rest) {
        out.push_str(&escape_html(&rest[..start]));
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '<' | '>' | '"' | '，' | '。' | '）' | '、')
            })
            .unwrap_or(tail.len());
        let url = escape_html(&tail[..end]);
        out.push_str(&format!("<a href=\"{url}\">{url}</a>"));
        rest = &tail[end..];
    }
    out.push_str(&escape_html(rest));
    out
}

fn find_link(s: &str) -> Option<usize> {
    match (s.find("https://"), s.find("http://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Maps a lettre SMTP error to the retry class. 4xx replies, timeouts, broken connections and
/// unparseable replies are transient; 5xx replies are permanent, split by what they refuse.
pub(crate) fn classify_smtp_error(e: &lettre::transport::smtp::Error) -> SendError {
    const P: &str = "smtp";
    let text = e.to_string();
    if let Some(code) = e.status() {
        let code_num: u16 = code.to_string().parse().unwrap_or(0);
        let code_str = format!("smtp {code_num}");
        if e.is_permanent() {
            let kind = match code_num {
                530 | 534 | 535 | 538 => FailureKind::Auth,
                550 | 551 | 553 => FailureKind::InvalidRecipient,
                _ => FailureKind::RejectedContent,
            };
            return SendError::Permanent(Failure::new(kind, P, code_str, text));
        }
        let kind = match code_num {
            421 => FailureKind::Connection,
            450..=452 => FailureKind::Throttled,
            _ => FailureKind::ProviderError,
        };
        return SendError::Transient(Failure::new(kind, P, code_str, text));
    }
    if e.is_timeout() {
        return SendError::Transient(Failure::new(FailureKind::Timeout, P, "timeout", text));
    }
    if e.is_response() {
        return SendError::Transient(Failure::new(
            FailureKind::MalformedReply,
            P,
            "response",
            text,
        ));
    }
    if e.is_client() {
        return SendError::Permanent(Failure::new(FailureKind::Config, P, "client", text));
    }
    if e.is_tls() || is_tls_failure(e) {
        return SendError::Transient(Failure::new(FailureKind::Connection, P, "tls", text));
    }
    SendError::Transient(Failure::new(FailureKind::Connection, P, "connection", text))
}

/// Whether a connection error came from the TLS layer: lettre reports a refused certificate
/// as a plain connection error wrapping rustls' error.
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::EmailAddress;

    fn sample() -> EmailMessage {
        EmailMessage {
            outbox_id: OutboxKey::from(7i64),
            to: EmailAddress::new(Some("张三"), "zhang.san@example.cn"),
            subject: "换届提醒：第一党支部任期将于2025年3月1日届满".into(),
            text: "张三同志：\n\n贵支部任期将届满，请及时换届。\n确认：https://duban.example.cn/c/abc?x=1&y=2\n\n区委组织部".into(),
            html: None,
        }
    }

    #[test]
    fn html_keeps_paragraphs_escapes_and_links() {
        let html = html_from_text("t<1>", "a & b\nline2\n\nsee https://x.cn/a?b=1&c=2。thanks");
        assert!(html.contains("<title>t&lt;1&gt;</title>"));
        assert!(html.contains("<p>a &amp; b<br>\nline2</p>"));
        assert!(html.contains(
            "<a href=\"https://x.cn/a?b=1&amp;c=2\">https://x.cn/a?b=1&amp;c=2</a>。thanks"
        ));
    }

    #[test]
    fn composed_message_has_stable_id_encoded_subject_and_two_parts() {
        let c = Composer::new("督办提醒 <duban@example.cn>", Some("duban.example.cn")).unwrap();
        let raw = String::from_utf8(c.compose(&sample(), "test").unwrap().formatted()).unwrap();
        assert!(
            raw.contains("Message-ID: <outbox-7@duban.example.cn>"),
            "{raw}"
        );
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain; charset=utf-8"));
        assert!(raw.contains("text/html; charset=utf-8"));
        assert!(!raw.contains("换届提醒"), "non-ASCII must be encoded");
    }

    #[test]
    fn a_bad_address_is_permanent_and_masked() {
        let c = Composer::new("duban@example.cn", None).unwrap();
        let mut m = sample();
        m.to.address = "zhang.san-at-example".into();
        let err = c.compose(&m, "test").unwrap_err();
        assert!(!err.is_transient());
        assert_eq!(err.kind(), FailureKind::InvalidRecipient);
        assert!(!err.to_string().contains("zhang.san"), "{err}");
    }

    #[test]
    fn bad_sender_and_domain_name_their_keys() {
        let e = Composer::new("not a mailbox", None).unwrap_err();
        assert_eq!(e.key, "notify.email.from");
        let e = Composer::new("a@b.cn", Some("bad domain")).unwrap_err();
        assert_eq!(e.key, "notify.email.message_id_domain");
        assert!(is_dot_atom(&local_domain()));
    }
}
