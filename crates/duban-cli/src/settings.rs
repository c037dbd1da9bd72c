//! Configuration: `config/default.toml`, then `config/{DUBAN_ENV}.toml` if present, then
//! environment variables `DUBAN__SECTION__KEY`. Unknown keys are errors, and every error
//! names the key and where its value came from. Secrets are only ever printed redacted.

use config::{Config, Environment, File, FileFormat};
use duban_core::register::Channel;
use duban_workflow::QuietHours;
use duban_workflow::quiet::SendWindow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub http: HttpSettings,
    pub log: LogSettings,
    pub register: RegisterSettings,
    pub workflows: WorkflowSettings,
    pub calendar: CalendarSettings,
    /// When each channel may deliver (local time of the workflow's zone).
    pub quiet_hours: BTreeMap<Channel, SendWindow>,
    pub engine: EngineSettings,
    /// Email and SMS channels and the delivery policy (see crates/duban-notify/notify.example.toml).
    #[serde(default)]
    pub notify: duban_notify::NotifySettings,
    /// Budget control, rate cards, year end, dues: `duban_ledger::config`.
    #[serde(default)]
    pub ledger: duban_ledger::config::LedgerConfig,
    /// Bank reconciliation: the matching rule table.
    #[serde(default)]
    pub bank: BankSettings,
    /// Sign-in: lockout, sessions, passwords.
    #[serde(default)]
    pub auth: AuthSettings,
    /// The signed links in reminders.
    #[serde(default)]
    pub links: LinkSettings,
    /// Open organisational-life bases: the booking and cancellation deadlines, the reminder.
    #[serde(default)]
    pub bases: duban_app::bases::BasesPolicy,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BankSettings {
    /// `[bank.matching]`: the rules in order, each on or off, the windows, the tolerance
    /// (yuan, as text) and the fee account.
    pub matching: duban_app::reconcile::MatchingConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Failed sign-ins in a row that lock an account (等保: 登录失败处理).
    pub max_failed_logins: u32,
    pub lockout_minutes: i64,
    /// A session ends after this long without use (等保: 登录连接超时自动退出) …
    pub idle_minutes: i64,
    /// … and this long after sign-in in any case.
    pub absolute_hours: i64,
    pub password_min_length: usize,
    /// Days before a password must be changed; 0 never.
    pub password_max_age_days: i64,
    /// Session cookies carry `Secure`: set when duban is reached over HTTPS.
    pub secure_cookies: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            max_failed_logins: 5,
            lockout_minutes: 15,
            idle_minutes: 30,
            absolute_hours: 12,
            password_min_length: 8,
            password_max_age_days: 90,
            secure_cookies: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkSettings {
    /// Days a link stays valid.
    pub ttl_days: i64,
    /// The environment variable holding the signing key (32 characters or more). Several
    /// nodes must share it.
    pub key_env: String,
    /// Without that variable, the key kept in this file (created on first use, mode 0600).
    pub key_file: PathBuf,
}

impl Default for LinkSettings {
    fn default() -> Self {
        LinkSettings {
            ttl_days: 30,
            key_env: "DUBAN_LINK_KEY".into(),
            key_file: PathBuf::from("data/link.key"),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    /// Whether `duban serve` runs the engine (several nodes may; the database decides).
    pub enabled: bool,
    /// Seconds between ticks (1–59).
    pub tick_seconds: u32,
    /// This node's name in leases; empty means host name and process id.
    pub node_id: String,
    /// Timers claimed and committed per batch.
    pub batch_size: u64,
    /// Seconds a claim on timers holds before another node may take them over. The node
    /// renews it every third of this while it works, so it only bounds how long a dead
    /// node's timers wait.
    pub lease_seconds: i64,
    /// The same for messages the dispatcher claims: how long a dead node's messages wait.
    #[serde(default = "default_dispatch_lease_seconds")]
    pub dispatch_lease_seconds: i64,
    /// Tries of a failing step before it shows as failed.
    pub max_attempts: i32,
    /// First retry delay in seconds; doubles with each try.
    pub retry_base_seconds: i64,
    /// A timer fired this many seconds after it fell due is marked late.
    pub late_after_seconds: i64,
    /// A new chain does not replay steps due longer ago than this.
    pub catch_up_days: i64,
    /// How far ahead recurring duties are planned.
    pub horizon_days: i64,
    /// Base of the confirmation links in messages.
    pub link_base: String,
}

fn default_dispatch_lease_seconds() -> i64 {
    30
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://data/duban.db`, `postgres://user@host/db` or `mysql://user@host/db`.
    #[serde(serialize_with = "redact_url")]
    pub url: String,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
    /// `duban serve` applies pending migrations before it starts.
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub bind: SocketAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, coloured on a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A tracing `EnvFilter` directive such as `info` or `duban=debug,sqlx=warn`.
    pub filter: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSettings {
    /// The demo register that `duban serve --demo` loads into an empty database.
    pub demo_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSettings {
    /// The directory of workflow files (`*.toml`, templates in `<id>/` beside them).
    pub dir: PathBuf,
    /// The SMS signature the gateway prepends, e.g. 【区委组织部】: counted in the
    /// 70-character segment by `workflows check` and shown by `workflows simulate`.
    pub sms_signature: String,
    /// The organisation department's name, the `org_department` template variable.
    pub org_department: String,
    /// Where a message goes when no one holds the role it addresses (e.g. an escalation to
    /// the organisation department before any officer is recorded). Empty: listed by
    /// `duban people unreachable` only.
    #[serde(default)]
    pub fallback_email: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSettings {
    /// One file per year of statutory holidays and 调休 working days.
    pub dir: PathBuf,
}

impl Settings {
    /// The quiet hours, checked (every window must be non-empty).
    pub fn quiet_hours(&self) -> anyhow::Result<QuietHours> {
        QuietHours::new(self.quiet_hours.clone())
            .map_err(|e| anyhow::anyhow!("configuration error: {e}"))
    }

    /// Loads the layered configuration from `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        Self::load_with_env(dir, None)
    }

    /// As [`Settings::load`], with the environment given explicitly (for tests).
    pub fn load_with_env(
        dir: &Path,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> anyhow::Result<Self> {
        let default = dir.join("default.toml");
        anyhow::ensure!(
            default.is_file(),
            "no configuration at {}: run duban from the repository root or pass --config-dir",
            default.display()
        );
        let profile = match &env {
            Some(map) => map.get("DUBAN_ENV").cloned(),
            None => std::env::var("DUBAN_ENV").ok(),
        };
        let mut builder =
            Config::builder().add_source(File::from(default.clone()).format(FileFormat::Toml));
        if let Some(profile) = profile.as_ref().filter(|p| !p.is_empty()) {
            let path = dir.join(format!("{profile}.toml"));
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(false));
        }
        let profile_file = profile
            .filter(|p| !p.is_empty())
            .map(|p| dir.join(format!("{p}.toml")));
        let environment = Environment::with_prefix("DUBAN")
            .prefix_separator("__")
            .separator("__")
            .source(env.clone());
        let result = builder
            .add_source(environment)
            .build()
            .and_then(Config::try_deserialize::<Settings>);
        let settings = result.map_err(|e| {
            let message = e.to_string();
            let origin = key_in_message(&message)
                .map(|key| origin_of(&key, &default, profile_file.as_deref(), env.as_ref()));
            match origin {
                Some(origin) => anyhow::anyhow!("configuration error: {message} (set {origin})"),
                None => anyhow::anyhow!("configuration error: {message}"),
            }
        })?;
        settings
            .ledger
            .validate()
            .map_err(|e| anyhow::anyhow!("configuration error: {e}"))?;
        settings
            .bank
            .matching
            .rules()
            .map_err(|e| anyhow::anyhow!("configuration error: {e}"))?;
        Ok(settings)
    }

    /// The effective configuration as TOML, with secrets redacted.
    pub fn to_redacted_toml(&self) -> anyhow::Result<String> {
        Ok(toml::to_string_pretty(self)?)
    }
}

/// The `a.b` in a config error's "… for key `a.b` …"; for an unknown field `c` under
/// `a.b`, `a.b.c`.
fn key_in_message(message: &str) -> Option<String> {
    let quoted_after = |marker: &str| -> Option<String> {
        let start = message.find(marker)? + marker.len();
        let len = message[start..].find('`')?;
        Some(message[start..start + len].to_string())
    };
    let key = quoted_after("key `")?;
    match quoted_after("unknown field `") {
        Some(field) => Some(format!("{key}.{field}")),
        None => Some(key),
    }
}

/// Where the value of `key` came from: the last layer that sets it wins.
fn origin_of(
    key: &str,
    default: &Path,
    profile: Option<&Path>,
    env: Option<&std::collections::HashMap<String, String>>,
) -> String {
    let var = format!("DUBAN__{}", key.to_ascii_uppercase().replace('.', "__"));
    let in_env = match env {
        Some(map) => map.contains_key(&var),
        None => std::env::var_os(&var).is_some(),
    };
    if in_env {
        return format!("by the environment variable {var}");
    }
    let file_sets = |path: &Path| -> bool {
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        let Ok(value) = text.parse::<toml::Table>() else {
            return false;
        };
        let mut cur = Some(&value);
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let Some(v) = cur.and_then(|t| t.get(*part)) else {
                return false;
            };
            if i + 1 == parts.len() {
                return true;
            }
            cur = v.as_table();
        }
        false
    };
    match profile {
        Some(p) if file_sets(p) => format!("in {}", p.display()),
        _ => format!("in {}", default.display()),
    }
}

fn redact_url<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redacted_url(url))
}

/// `postgres://duban:secret@db/duban` → `postgres://duban:****@db/duban`.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:****@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn repo_config() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    #[test]
    fn defaults_load_and_env_overrides_them() {
        let s = Settings::load_with_env(&repo_config(), Some(HashMap::new())).unwrap();
        assert!(s.database.url.starts_with("sqlite://"));
        let env = HashMap::from([("DUBAN__HTTP__BIND".to_string(), "0.0.0.0:9000".to_string())]);
        let s = Settings::load_with_env(&repo_config(), Some(env)).unwrap();
        assert_eq!(s.http.bind.port(), 9000);
    }

    #[test]
    fn a_bad_value_names_its_key_and_origin() {
        let env = HashMap::from([(
            "DUBAN__DATABASE__MAX_CONNECTIONS".to_string(),
            "many".to_string(),
        )]);
        let err = format!(
            "{:#}",
            Settings::load_with_env(&repo_config(), Some(env)).unwrap_err()
        );
        assert!(err.contains("database.max_connections"), "{err}");
        assert!(err.contains("environment"), "{err}");
        let env = HashMap::from([("DUBAN__HTTP__PORT".to_string(), "1".to_string())]);
        let err = format!(
            "{:#}",
            Settings::load_with_env(&repo_config(), Some(env)).unwrap_err()
        );
        assert!(err.contains("port"), "{err}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted_url("postgres://u:secret@h:5432/db"),
            "postgres://u:****@h:5432/db"
        );
        assert_eq!(
            redacted_url("mysql://root@127.0.0.1/test"),
            "mysql://root@127.0.0.1/test"
        );
        assert_eq!(
            redacted_url("sqlite://data/duban.db?mode=rwc"),
            "sqlite://data/duban.db?mode=rwc"
        );
    }
}
