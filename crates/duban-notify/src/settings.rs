//! The `[notify]` configuration section and how it becomes channels and policies.
//!
//! Every field has a default, so an empty section gives a working fresh install: email into
//! `data/outbox/*.eml`, SMS into `data/sms.log`. Secrets are never fields: the settings name
//! environment variables (`password_env`, `access_key_secret_env`, …) and the values are read
//! through a [`SecretSource`] when the channels are built.

use crate::channel::Notifier;
use crate::email::{Composer, eml::EmlDirectory, smtp::SmtpChannel};
use crate::message::{EmailMessage, SmsMessage};
use crate::policy::{DeliveryPolicy, DigestWording, Jitter, LimitRule, RetryPolicy, SmsLimits};
use crate::secrets::SecretSource;
use crate::sms;
use crate::{Channel, policy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A configuration problem, naming the key (`notify.email.smtp.host`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// `[notify]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySettings {
    /// The zone "per day" limits count in.
    pub time_zone: String,
    pub email: EmailSettings,
    pub sms: SmsSettings,
    pub retry: RetrySettings,
    pub dedupe: DedupeSettings,
    pub digest: DigestSettings,
    /// Rate limits by provider name (`aliyun`, `tencent`, `webhook`, `sms_log`, `smtp`, `eml`).
    /// A provider listed here replaces its built-in defaults; an empty list disables them.
    pub limits: BTreeMap<String, Vec<LimitRule>>,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            time_zone: "Asia/Shanghai".into(),
            email: EmailSettings::default(),
            sms: SmsSettings::default(),
            retry: RetrySettings::default(),
            dedupe: DedupeSettings::default(),
            digest: DigestSettings::default(),
            limits: BTreeMap::new(),
        }
    }
}

/// `[notify.email]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailSettings {
    /// The sender, `督办提醒 <duban@example.cn>`.
    pub from: String,
    /// The right-hand side of Message-IDs; empty: the host name.
    pub message_id_domain: Option<String>,
    /// Where `.eml` files go when no SMTP server is configured.
    pub eml_dir: PathBuf,
    /// The SMTP server; absent (or an empty host): write `.eml` files instead.
    pub smtp: Option<SmtpSettings>,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            from: "督办提醒 <duban@localhost>".into(),
            message_id_domain: None,
            eml_dir: PathBuf::from("data/outbox"),
            smtp: None,
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on the same host or a trusted network (port 25).
    None,
}

/// `[notify.email.smtp]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// Default by `security`: 587, 465 or 25.
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    /// AUTH user; empty: no authentication.
    pub username: Option<String>,
    /// The environment variable that holds the password.
    pub password_env: String,
    /// A PEM certificate to trust besides the public roots (a relay with a private CA).
    pub ca_file: Option<PathBuf>,
    /// The EHLO name; empty: the host name.
    pub hello_name: Option<String>,
    pub pool_max_size: u32,
    pub pool_min_idle: u32,
    pub pool_idle_timeout_secs: u64,
    /// For connecting, and again for one whole message (connect, commands and data).
    pub timeout_secs: u64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: String::new(),
            port: None,
            security: SmtpSecurity::default(),
            username: None,
            password_env: "DUBAN_SMTP_PASSWORD".into(),
            ca_file: None,
            hello_name: None,
            pool_max_size: 8,
            pool_min_idle: 0,
            pool_idle_timeout_secs: 60,
            timeout_secs: 30,
        }
    }
}

/// Which SMS gateway carries messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// A JSON-lines file (the fresh-install default).
    #[default]
    Log,
    Aliyun,
    Tencent,
    Webhook,
}

/// `[notify.sms]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsSettings {
    pub provider: SmsProvider,
    /// Where the `log` provider writes.
    pub log_file: PathBuf,
    /// Per HTTP request to a gateway.
    pub timeout_secs: u64,
    pub aliyun: Option<AliyunSettings>,
    pub tencent: Option<TencentSettings>,
    pub webhook: Option<WebhookSettings>,
    /// Logical template name (`reminder`, `digest`) → each provider's approved template.
    pub templates: BTreeMap<String, SmsTemplateSettings>,
}

impl Default for SmsSettings {
    fn default() -> Self {
        SmsSettings {
            provider: SmsProvider::default(),
            log_file: PathBuf::from("data/sms.log"),
            timeout_secs: 10,
            aliyun: None,
            tencent: None,
            webhook: None,
            templates: BTreeMap::new(),
        }
    }
}

/// `[notify.sms.aliyun]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AliyunSettings {
    pub endpoint: String,
    /// The approved signature (签名), without brackets.
    pub sign_name: String,
    pub access_key_id_env: String,
    pub access_key_secret_env: String,
}

impl Default for AliyunSettings {
    fn default() -> Self {
        AliyunSettings {
            endpoint: "https://dysmsapi.aliyuncs.com/".into(),
            sign_name: String::new(),
            access_key_id_env: "DUBAN_ALIYUN_ACCESS_KEY_ID".into(),
            access_key_secret_env: "DUBAN_ALIYUN_ACCESS_KEY_SECRET".into(),
        }
    }
}

/// `[notify.sms.tencent]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TencentSettings {
    pub endpoint: String,
    pub region: String,
    /// The SMS application (SmsSdkAppId), e.g. `1400006666`.
    pub sdk_app_id: String,
    pub sign_name: String,
    pub secret_id_env: String,
    pub secret_key_env: String,
}

impl Default for TencentSettings {
    fn default() -> Self {
        TencentSettings {
            endpoint: "https://sms.tencentcloudapi.com/".into(),
            region: "ap-guangzhou".into(),
            sdk_app_id: String::new(),
            sign_name: String::new(),
            secret_id_env: "DUBAN_TENCENT_SECRET_ID".into(),
            secret_key_env: "DUBAN_TENCENT_SECRET_KEY".into(),
        }
    }
}

/// `[notify.sms.webhook]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    pub url: String,
    pub secret_env: String,
    pub signature_header: String,
    pub timestamp_header: String,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            url: String::new(),
            secret_env: "DUBAN_SMS_WEBHOOK_SECRET".into(),
            signature_header: sms::webhook::DEFAULT_SIGNATURE_HEADER.into(),
            timestamp_header: sms::webhook::DEFAULT_TIMESTAMP_HEADER.into(),
        }
    }
}

/// `[notify.sms.templates.<name>]`: the provider templates for one logical template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SmsTemplateSettings {
    pub aliyun: Option<AliyunTemplate>,
    pub tencent: Option<TencentTemplate>,
}

/// An Alibaba template: its code and `provider variable = message parameter` pairs (empty:
/// every message parameter under its own name).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AliyunTemplate {
    pub code: String,
    pub params: BTreeMap<String, String>,
}

/// A Tencent template: its id and the message parameters in the template's `{1}`, `{2}`, …
/// order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct TencentTemplate {
    pub id: String,
    pub params: Vec<String>,
}

/// `[notify.retry]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    pub max_attempts: u32,
    pub base_delay_secs: u64,
    pub multiplier: u32,
    pub max_delay_secs: u64,
    pub jitter: Jitter,
}

impl Default for RetrySettings {
    fn default() -> Self {
        let p = RetryPolicy::default();
        RetrySettings {
            max_attempts: p.max_attempts,
            base_delay_secs: p.base_delay.as_secs(),
            multiplier: p.multiplier,
            max_delay_secs: p.max_delay.as_secs(),
            jitter: p.jitter,
        }
    }
}

/// `[notify.dedupe]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DedupeSettings {
    /// An identical message to the same person within this many seconds is dropped; 0 turns
    /// deduplication off.
    pub window_secs: u64,
}

impl Default for DedupeSettings {
    fn default() -> Self {
        DedupeSettings {
            window_secs: 12 * 3600,
        }
    }
}

/// `[notify.digest]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigestSettings {
    /// Held reminders for one person merge into one message from this many on.
    pub min_items: usize,
    pub sms: SmsLimits,
    pub wording: DigestWording,
}

impl Default for DigestSettings {
    fn default() -> Self {
        DigestSettings {
            min_items: 2,
            sms: SmsLimits::default(),
            wording: DigestWording::default(),
        }
    }
}

/// How one step's SMS leaves through a provider that sends only approved templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateCoverage {
    /// The step has its own template (`notify.sms.templates."workflow.template"`).
    Own,
    /// Only the generic `reminder` template: the step's own text does not reach recipients.
    Generic,
    /// No template at all: every send of the step would fail.
    Missing,
}

impl NotifySettings {
    /// For each SMS template a workflow step uses (`workflow.template`), how it would leave.
    /// Empty for providers that send the text itself (the SMS log, a webhook).
    pub fn sms_template_coverage(&self, names: &[String]) -> Vec<(String, TemplateCoverage)> {
        let has = |name: &str| {
            self.sms
                .templates
                .get(name)
                .is_some_and(|t| match self.sms.provider {
                    SmsProvider::Aliyun => t.aliyun.is_some(),
                    SmsProvider::Tencent => t.tencent.is_some(),
                    _ => true,
                })
        };
        if !matches!(
            self.sms.provider,
            SmsProvider::Aliyun | SmsProvider::Tencent
        ) {
            return Vec::new();
        }
        names
            .iter()
            .map(|n| {
                let c = if has(n) {
                    TemplateCoverage::Own
                } else if has(crate::sms::GENERIC_TEMPLATE) {
                    TemplateCoverage::Generic
                } else {
                    TemplateCoverage::Missing
                };
                (n.clone(), c)
            })
            .collect()
    }

    /// The message parameters the chosen provider's template for `name` fills, as
    /// `(provider variable, message parameter)` pairs (Tencent's as `{1}`, `{2}`, …): the
    /// step's own template, else the generic one. `None` when no mapping names them (another
    /// provider, no template, or an Alibaba template that takes every parameter by its name).
    pub fn sms_template_params(&self, name: &str) -> Option<Vec<(String, String)>> {
        let pick = |n: &str| -> Option<Vec<(String, String)>> {
            let t = self.sms.templates.get(n)?;
            match self.sms.provider {
                SmsProvider::Aliyun => {
                    let a = t.aliyun.as_ref()?;
                    Some(
                        a.params
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    )
                }
                SmsProvider::Tencent => {
                    let c = t.tencent.as_ref()?;
                    Some(
                        c.params
                            .iter()
                            .enumerate()
                            .map(|(i, v)| (format!("{{{}}}", i + 1), v.clone()))
                            .collect(),
                    )
                }
                _ => None,
            }
        };
        let own = self
            .sms
            .templates
            .get(name)
            .is_some_and(|t| match self.sms.provider {
                SmsProvider::Aliyun => t.aliyun.is_some(),
                SmsProvider::Tencent => t.tencent.is_some(),
                _ => false,
            });
        let params = if own {
            pick(name)
        } else {
            pick(crate::sms::GENERIC_TEMPLATE)
        }?;
        (!params.is_empty()).then_some(params)
    }

    /// Checks everything that does not need the environment: the time zone, the windows and
    /// limits, the endpoints and the template mappings of the chosen provider.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.tz()?;
        if self.retry.max_attempts == 0 {
            return Err(ConfigError::new(
                "notify.retry.max_attempts",
                "must be at least 1",
            ));
        }
        if self.retry.base_delay_secs == 0 || self.retry.max_delay_secs < self.retry.base_delay_secs
        {
            return Err(ConfigError::new(
                "notify.retry",
                "base_delay_secs must be at least 1 and max_delay_secs at least base_delay_secs",
            ));
        }
        for (provider, rules) in &self.limits {
            for (i, r) in rules.iter().enumerate() {
                if r.max == 0 {
                    return Err(ConfigError::new(
                        format!("notify.limits.{provider}[{i}].max"),
                        "must be at least 1",
                    ));
                }
            }
        }
        if self.digest.sms.max_chars <= self.digest.sms.signature_chars + 20 {
            return Err(ConfigError::new(
                "notify.digest.sms.max_chars",
                "leaves fewer than 20 characters after the signature",
            ));
        }
        match self.sms.provider {
            SmsProvider::Log => {}
            SmsProvider::Aliyun => {
                let a = self
                    .sms
                    .aliyun
                    .as_ref()
                    .ok_or_else(|| missing_section("aliyun"))?;
                url("notify.sms.aliyun.endpoint", &a.endpoint)?;
                non_empty("notify.sms.aliyun.sign_name", &a.sign_name)?;
                for (name, t) in &self.sms.templates {
                    if let Some(t) = &t.aliyun {
                        non_empty(&format!("notify.sms.templates.{name}.aliyun.code"), &t.code)?;
                    }
                }
            }
            SmsProvider::Tencent => {
                let t = self
                    .sms
                    .tencent
                    .as_ref()
                    .ok_or_else(|| missing_section("tencent"))?;
                url("notify.sms.tencent.endpoint", &t.endpoint)?;
                non_empty("notify.sms.tencent.sdk_app_id", &t.sdk_app_id)?;
                non_empty("notify.sms.tencent.sign_name", &t.sign_name)?;
                non_empty("notify.sms.tencent.region", &t.region)?;
                for (name, tt) in &self.sms.templates {
                    if let Some(tt) = &tt.tencent {
                        non_empty(&format!("notify.sms.templates.{name}.tencent.id"), &tt.id)?;
                    }
                }
            }
            SmsProvider::Webhook => {
                let w = self
                    .sms
                    .webhook
                    .as_ref()
                    .ok_or_else(|| missing_section("webhook"))?;
                url("notify.sms.webhook.url", &w.url)?;
            }
        }
        Ok(())
    }

    pub fn tz(&self) -> Result<chrono_tz::Tz, ConfigError> {
        self.time_zone.parse().map_err(|_| {
            ConfigError::new(
                "notify.time_zone",
                format!(
                    "{:?} is not an IANA time zone such as Asia/Shanghai",
                    self.time_zone
                ),
            )
        })
    }

    fn smtp(&self) -> Option<&SmtpSettings> {
        self.email
            .smtp
            .as_ref()
            .filter(|s| !s.host.trim().is_empty())
    }

    /// The provider name of the email channel these settings build.
    pub fn email_provider(&self) -> &'static str {
        if self.smtp().is_some() {
            crate::email::smtp::PROVIDER
        } else {
            crate::email::eml::PROVIDER
        }
    }

    /// The provider name of the SMS channel these settings build.
    pub fn sms_provider(&self) -> &'static str {
        match self.sms.provider {
            SmsProvider::Log => sms::log::PROVIDER,
            SmsProvider::Aliyun => sms::aliyun::PROVIDER,
            SmsProvider::Tencent => sms::tencent::PROVIDER,
            SmsProvider::Webhook => sms::webhook::PROVIDER,
        }
    }

    /// The retry rules.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_secs(self.retry.base_delay_secs.max(1)),
            multiplier: self.retry.multiplier.max(1),
            max_delay: Duration::from_secs(
                self.retry
                    .max_delay_secs
                    .max(self.retry.base_delay_secs.max(1)),
            ),
            max_attempts: self.retry.max_attempts.max(1),
            jitter: self.retry.jitter,
        }
    }

    /// The policy for one provider: its configured limits, or the built-in defaults.
    pub fn policy_for(&self, provider: &str) -> Result<DeliveryPolicy, ConfigError> {
        Ok(DeliveryPolicy {
            retry: self.retry_policy(),
            dedupe_window: Duration::from_secs(self.dedupe.window_secs),
            limits: self
                .limits
                .get(provider)
                .cloned()
                .unwrap_or_else(|| policy::ratelimit::default_rules(provider)),
            tz: self.tz()?,
        })
    }

    /// Builds both channels. Secrets are read from `secrets` now, so a missing variable is an
    /// error at start-up rather than at the first reminder. Call it inside a Tokio runtime:
    /// lettre's SMTP pool starts its background task when it is built.
    pub fn build(&self, secrets: &dyn SecretSource) -> Result<Notifier, ConfigError> {
        self.validate()?;
        Ok(Notifier::new(
            self.build_email(secrets)?,
            self.build_sms(secrets)?,
        ))
    }

    pub fn build_email(
        &self,
        secrets: &dyn SecretSource,
    ) -> Result<Arc<dyn Channel<EmailMessage>>, ConfigError> {
        let composer = Composer::new(&self.email.from, self.email.message_id_domain.as_deref())?;
        Ok(match self.smtp() {
            Some(s) => Arc::new(SmtpChannel::new(s, composer, secrets)?),
            None => Arc::new(EmlDirectory::new(self.email.eml_dir.clone(), composer)),
        })
    }

    pub fn build_sms(
        &self,
        secrets: &dyn SecretSource,
    ) -> Result<Arc<dyn Channel<SmsMessage>>, ConfigError> {
        let timeout = Duration::from_secs(self.sms.timeout_secs.max(1));
        Ok(match self.sms.provider {
            SmsProvider::Log => Arc::new(sms::log::SmsLog::new(self.sms.log_file.clone())),
            SmsProvider::Aliyun => {
                let a = self
                    .sms
                    .aliyun
                    .as_ref()
                    .ok_or_else(|| missing_section("aliyun"))?;
                let templates = self
                    .sms
                    .templates
                    .iter()
                    .filter_map(|(k, t)| t.aliyun.clone().map(|a| (k.clone(), a)))
                    .collect::<BTreeMap<_, _>>();
                Arc::new(sms::aliyun::AliyunSms::new(
                    url("notify.sms.aliyun.endpoint", &a.endpoint)?,
                    secret(
                        secrets,
                        "notify.sms.aliyun.access_key_id_env",
                        &a.access_key_id_env,
                    )?,
                    secret(
                        secrets,
                        "notify.sms.aliyun.access_key_secret_env",
                        &a.access_key_secret_env,
                    )?,
                    a.sign_name.clone(),
                    templates,
                    timeout,
                ))
            }
            SmsProvider::Tencent => {
                let t = self
                    .sms
                    .tencent
                    .as_ref()
                    .ok_or_else(|| missing_section("tencent"))?;
                let templates = self
                    .sms
                    .templates
                    .iter()
                    .filter_map(|(k, tt)| tt.tencent.clone().map(|x| (k.clone(), x)))
                    .collect::<BTreeMap<_, _>>();
                Arc::new(sms::tencent::TencentSms::new(
                    sms::tencent::TencentAccount {
                        endpoint: url("notify.sms.tencent.endpoint", &t.endpoint)?,
                        region: t.region.clone(),
                        sdk_app_id: t.sdk_app_id.clone(),
                        sign_name: t.sign_name.clone(),
                        secret_id: secret(
                            secrets,
                            "notify.sms.tencent.secret_id_env",
                            &t.secret_id_env,
                        )?,
                        secret_key: secret(
                            secrets,
                            "notify.sms.tencent.secret_key_env",
                            &t.secret_key_env,
                        )?,
                    },
                    templates,
                    timeout,
                ))
            }
            SmsProvider::Webhook => {
                let w = self
                    .sms
                    .webhook
                    .as_ref()
                    .ok_or_else(|| missing_section("webhook"))?;
                Arc::new(sms::webhook::WebhookSms::new(
                    url("notify.sms.webhook.url", &w.url)?,
                    secret(secrets, "notify.sms.webhook.secret_env", &w.secret_env)?,
                    w.signature_header.clone(),
                    w.timestamp_header.clone(),
                    timeout,
                ))
            }
        })
    }
}

fn missing_section(provider: &str) -> ConfigError {
    ConfigError::new(
        format!("notify.sms.{provider}"),
        format!(
            "notify.sms.provider is {provider:?} but the [notify.sms.{provider}] section is missing"
        ),
    )
}

fn non_empty(key: &str, v: &str) -> Result<(), ConfigError> {
    if v.trim().is_empty() {
        Err(ConfigError::new(key, "is empty"))
    } else {
        Ok(())
    }
}

fn url(key: &str, v: &str) -> Result<reqwest::Url, ConfigError> {
    let u = reqwest::Url::parse(v.trim())
        .map_err(|e| ConfigError::new(key, format!("{v:?} is not a URL: {e}")))?;
    if !matches!(u.scheme(), "https" | "http") || u.host_str().is_none() {
        return Err(ConfigError::new(
            key,
            format!("{v:?} is not an http(s) URL with a host"),
        ));
    }
    Ok(u)
}

fn secret(
    secrets: &dyn SecretSource,
    key: &str,
    var: &str,
) -> Result<secrecy::SecretString, ConfigError> {
    secrets
        .secret(var)
        .ok_or_else(|| ConfigError::new(key, format!("the environment variable {var} is not set")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MapSecrets;

    #[tokio::test]
    async fn the_documented_example_section_is_valid() {
        #[derive(Deserialize)]
        struct Root {
            notify: NotifySettings,
        }
        let root: Root = toml::from_str(include_str!("../notify.example.toml")).unwrap();
        let s = root.notify;
        s.validate().unwrap();
        assert_eq!(s.email_provider(), "smtp");
        assert_eq!(s.sms_provider(), "aliyun");
        assert_eq!(s.policy_for("aliyun").unwrap().limits.len(), 3);
        assert_eq!(
            s.sms.templates["digest"].tencent.as_ref().unwrap().params,
            ["count", "first", "link"]
        );
        assert_eq!(s.retry_policy(), RetryPolicy::default());
        let secrets = MapSecrets::new([
            ("DUBAN_SMTP_PASSWORD", "pw"),
            ("DUBAN_ALIYUN_ACCESS_KEY_ID", "id"),
            ("DUBAN_ALIYUN_ACCESS_KEY_SECRET", "secret"),
        ]);
        let n = s.build(&secrets).unwrap();
        assert_eq!(
            (n.email().provider(), n.sms().provider()),
            ("smtp", "aliyun")
        );
    }

    #[test]
    fn an_empty_section_is_a_working_fresh_install() {
        let s: NotifySettings = serde_json::from_str("{}").unwrap();
        s.validate().unwrap();
        assert_eq!(s.email_provider(), "eml");
        assert_eq!(s.sms_provider(), "sms_log");
        let n = s.build(&MapSecrets::default()).unwrap();
        assert_eq!(n.email().provider(), "eml");
        assert_eq!(n.sms().provider(), "sms_log");
        assert_eq!(
            s.policy_for("aliyun").unwrap().limits,
            policy::ratelimit::default_rules("aliyun")
        );
    }

    #[tokio::test]
    async fn errors_name_their_key() {
        let s = NotifySettings {
            time_zone: "Mars/Olympus".into(),
            ..Default::default()
        };
        assert_eq!(s.validate().unwrap_err().key, "notify.time_zone");

        let mut s = NotifySettings::default();
        s.sms.provider = SmsProvider::Tencent;
        assert_eq!(s.validate().unwrap_err().key, "notify.sms.tencent");
        s.sms.tencent = Some(TencentSettings {
            sdk_app_id: "1400006666".into(),
            sign_name: "区委组织部".into(),
            ..Default::default()
        });
        s.validate().unwrap();
        let err = s.build(&MapSecrets::default()).unwrap_err();
        assert_eq!(err.key, "notify.sms.tencent.secret_id_env");
        assert!(err.message.contains("DUBAN_TENCENT_SECRET_ID"));
        let secrets = MapSecrets::new([
            ("DUBAN_TENCENT_SECRET_ID", "id"),
            ("DUBAN_TENCENT_SECRET_KEY", "key"),
        ]);
        assert_eq!(s.build(&secrets).unwrap().sms().provider(), "tencent");

        let mut s = NotifySettings::default();
        s.email.smtp = Some(SmtpSettings {
            host: "smtp.example.cn".into(),
            username: Some("duban".into()),
            ..Default::default()
        });
        let err = s.build(&MapSecrets::default()).unwrap_err();
        assert_eq!(err.key, "notify.email.smtp.password_env");
        let n = s
            .build(&MapSecrets::new([("DUBAN_SMTP_PASSWORD", "pw")]))
            .unwrap();
        assert_eq!(n.email().provider(), "smtp");

        let mut s = NotifySettings::default();
        s.sms.provider = SmsProvider::Webhook;
        s.sms.webhook = Some(WebhookSettings {
            url: "ftp://x".into(),
            ..Default::default()
        });
        assert_eq!(s.validate().unwrap_err().key, "notify.sms.webhook.url");
    }

    #[test]
    fn limits_windows_and_templates_deserialize_from_toml_shaped_json() {
        let s: NotifySettings = serde_json::from_value(serde_json::json!({
            "limits": {"aliyun": [{"scope": "recipient_template", "max": 40, "window": "calendar_day"},
                                  {"scope": "recipient", "max": 3, "window": "1h"}]},
            "sms": {"templates": {"reminder": {
                "aliyun": {"code": "SMS_1", "params": {"unit": "unit_name"}},
                "tencent": {"id": "123", "params": ["unit_name", "days_left"]}}}}
        }))
        .unwrap();
        let p = s.policy_for("aliyun").unwrap();
        assert_eq!(p.limits.len(), 2);
        assert_eq!(
            p.limits[1].window,
            policy::Window::Rolling(Duration::from_secs(3600))
        );
        assert_eq!(
            s.sms.templates["reminder"].tencent.as_ref().unwrap().params[1],
            "days_left"
        );
        let bad = serde_json::from_value::<NotifySettings>(
            serde_json::json!({"limits": {"x": [{"scope": "recipient", "max": 1, "window": "soon"}]}}),
        );
        assert!(bad.unwrap_err().to_string().contains("not a window"));
        let unknown = serde_json::from_value::<NotifySettings>(
            serde_json::json!({"email": {"smtp_host": "x"}}),
        );
        assert!(unknown.unwrap_err().to_string().contains("smtp_host"));
    }
}
