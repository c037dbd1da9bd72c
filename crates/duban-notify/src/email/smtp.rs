//! Email through an SMTP server with lettre's pooled async transport.
//!
//! The connection security is chosen by configuration: `starttls` (port 587, TLS required
//! before anything is sent), `tls` (port 465, implicit TLS) or `none` (a trusted local relay).
//! TLS is rustls with the webpki roots plus, optionally, a private CA from a PEM file. AUTH uses
//! a user name from the settings and a password from the environment only.

use super::{Composer, classify_smtp_error};
use crate::channel::{BoxFuture, Channel};
use crate::error::SendError;
use crate::message::{Delivery, EmailMessage};
use crate::secrets::SecretSource;
use crate::settings::{ConfigError, SmtpSecurity, SmtpSettings};
use lettre::AsyncTransport;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use std::time::Duration;

pub const PROVIDER: &str = "smtp";

/// The SMTP email channel. Cloning shares the connection pool.
#[derive(Clone)]
pub struct SmtpChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    composer: Composer,
    server: String,
    send_timeout: Duration,
}

impl SmtpChannel {
    /// Builds the pooled transport. Connections open lazily, on the first send. Must run inside
    /// a Tokio runtime, because the pool starts a background task (and drops inside one too).
    pub fn new(
        s: &SmtpSettings,
        composer: Composer,
        secrets: &dyn SecretSource,
    ) -> Result<Self, ConfigError> {
        crate::install_crypto_provider();
        let host = s.host.trim();
        if host.is_empty() {
            return Err(ConfigError::new("notify.email.smtp.host", "is empty"));
        }
        let port = s.port.unwrap_or(match s.security {
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::None => 25,
        });
        let tls = match s.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::Starttls => Tls::Required(tls_parameters(host, s)?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(host, s)?),
        };
        let pool = PoolConfig::new()
            .max_size(s.pool_max_size.max(1))
            .min_idle(s.pool_min_idle)
            .idle_timeout(Duration::from_secs(s.pool_idle_timeout_secs));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(s.timeout_secs.max(1))))
            .pool_config(pool);
        if let Some(name) = s
            .hello_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            builder = builder.hello_name(ClientId::Domain(name.to_string()));
        }
        if let Some(user) = s
            .username
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            let password = secrets.secret(&s.password_env).ok_or_else(|| {
                ConfigError::new(
                    "notify.email.smtp.password_env",
                    format!("username {user:?} is set, so the password must be in the environment variable {}", s.password_env),
                )
            })?;
            builder = builder.credentials(Credentials::new(
                user.to_string(),
                password.expose_secret().to_string(),
            ));
        }
        Ok(SmtpChannel {
            transport: builder.build(),
            composer,
            server: format!("{host}:{port}"),
            send_timeout: Duration::from_secs(s.timeout_secs.max(1)),
        })
    }

    pub async fn send_email(&self, m: &EmailMessage) -> Result<Delivery, SendError> {
        let message = self.composer.compose(m, PROVIDER)?;
        // lettre's async transport bounds only the connect with its timeout; a server that
        // stops answering mid-dialogue would hold the send (and a pool slot) for ever.
        let sent = tokio::time::timeout(self.send_timeout, self.transport.send(message)).await;
        let response = match sent {
            Ok(r) => r.map_err(|e| classify_smtp_error(&e))?,
            Err(_) => {
                return Err(SendError::Transient(crate::error::Failure::new(
                    crate::error::FailureKind::Timeout,
                    PROVIDER,
                    "timeout",
                    format!(
                        "{} did not take the message within {:?}",
                        self.server, self.send_timeout
                    ),
                )));
            }
        };
        let reply = response.message().collect::<Vec<_>>().join(" ");
        Ok(Delivery {
            provider: PROVIDER.to_string(),
            provider_message_id: self.composer.message_id(&m.outbox_id),
            detail: Some(format!("{} {}", response.code(), reply)),
        })
    }
}

fn tls_parameters(host: &str, s: &SmtpSettings) -> Result<TlsParameters, ConfigError> {
    let mut b = TlsParameters::builder(host.to_string());
    if let Some(path) = s.ca_file.as_ref().filter(|p| !p.as_os_str().is_empty()) {
        let pem = std::fs::read(path).map_err(|e| {
            ConfigError::new(
                "notify.email.smtp.ca_file",
                format!("{}: {e}", path.display()),
            )
        })?;
        let cert = Certificate::from_pem(&pem).map_err(|e| {
            ConfigError::new(
                "notify.email.smtp.ca_file",
                format!("{}: not a PEM certificate: {e}", path.display()),
            )
        })?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls()
        .map_err(|e| ConfigError::new("notify.email.smtp", format!("TLS setup failed: {e}")))
}

impl Channel<EmailMessage> for SmtpChannel {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn send<'a>(&'a self, message: &'a EmailMessage) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(self.send_email(message))
    }
}
