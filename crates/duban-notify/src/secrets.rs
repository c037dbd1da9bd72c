//! Where passwords and API keys come from: the environment, never a configuration file.
//!
//! The settings name the variable (`password_env = "DUBAN_SMTP_PASSWORD"`); the value is read
//! once when a channel is built and held as a [`SecretString`], which never prints.

use secrecy::SecretString;
use std::collections::HashMap;

/// A source of secrets by variable name.
pub trait SecretSource: Send + Sync {
    fn secret(&self, name: &str) -> Option<SecretString>;
}

/// The process environment. Empty values count as missing.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnvSecrets;

impl SecretSource for EnvSecrets {
    fn secret(&self, name: &str) -> Option<SecretString> {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .map(SecretString::from)
    }
}

/// Secrets given explicitly, for tests.
#[derive(Debug, Default, Clone)]
pub struct MapSecrets(pub HashMap<String, String>);

impl MapSecrets {
    pub fn new<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        MapSecrets(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl SecretSource for MapSecrets {
    fn secret(&self, name: &str) -> Option<SecretString> {
        self.0
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| SecretString::from(v.clone()))
    }
}
