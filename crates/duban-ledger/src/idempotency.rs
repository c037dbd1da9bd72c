//! Idempotency: every command from outside carries a key; the same key with the same
//! content returns the first result, the same key with different content is refused.
//!
//! "Same content" is decided by a fingerprint: SHA-256 of the command's canonical JSON
//! (object keys sorted, no insignificant whitespace, amounts as exact strings), so it does
//! not depend on field order, formatting, or how an amount was typed.

use crate::error::LedgerError;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// An idempotency key: 1–128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn new(key: &str) -> Result<Self, LedgerError> {
        let ok = !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(LedgerError::Invalid(format!(
                "idempotency key {key:?}: use 1 to 128 visible ASCII characters (e.g. a UUID)"
            )));
        }
        Ok(Self(key.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = LedgerError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        IdempotencyKey::new(&s)
    }
}

impl From<IdempotencyKey> for String {
    fn from(k: IdempotencyKey) -> String {
        k.0
    }
}

/// Writes `value` as canonical JSON: object keys in byte order, no whitespace.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The fingerprint of a command: lowercase hex SHA-256 of its canonical JSON.
pub fn fingerprint<T: Serialize>(command: &T) -> Result<String, LedgerError> {
    let value = serde_json::to_value(command)
        .map_err(|e| LedgerError::Invalid(format!("command cannot be fingerprinted: {e}")))?;
    let digest = Sha256::digest(canonical_json(&value).as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest.iter() {
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}

/// What to do with a command whose key may have been seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay<R> {
    /// A new key: execute the command.
    Fresh,
    /// The same key and content: return the first result without executing anything.
    Repeat(R),
}

/// Decides, given what was stored under the key (its fingerprint and result), whether the
/// command is new, a repeat, or a conflict.
pub fn decide<R>(
    key: &IdempotencyKey,
    stored: Option<(String, R)>,
    this: &str,
) -> Result<Replay<R>, LedgerError> {
    match stored {
        None => Ok(Replay::Fresh),
        Some((first, result)) if first == this => Ok(Replay::Repeat(result)),
        Some((first, _)) => Err(LedgerError::IdempotencyConflict {
            key: key.as_str().to_string(),
            first,
            this: this.to_string(),
            differs: Vec::new(),
        }),
    }
}

/// The fields in which two commands (as JSON) differ, by path: `amount: 600.00 then,
/// 600.01 now`, `approval.meeting: …`, `memo: absent then, "x" now`.
pub fn differences(first: &Value, this: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_at("", first, this, &mut out);
    out
}

fn diff_at(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    let show = |v: Option<&Value>| match v {
        None | Some(Value::Null) => "absent".to_string(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(other) => canonical_json(other),
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let at = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => diff_at(&at, p, q, out),
                    (p, q) if p.unwrap_or(&Value::Null) == q.unwrap_or(&Value::Null) => {}
                    (p, q) => out.push(format!("{at}: {} then, {} now", show(p), show(q))),
                }
            }
        }
        (x, y) if x == y => {}
        (x, y) => {
            let at = if path.is_empty() { "command" } else { path };
            out.push(format!(
                "{at}: {} then, {} now",
                show(Some(x)),
                show(Some(y))
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a = json!({"b": 1, "a": {"d": [1, {"z": null, "y": "x"}], "c": true}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":true,"d":[1,{"y":"x","z":null}]},"b":1}"#
        );
        let b: Value =
            serde_json::from_str(r#"{ "a" : { "d":[1,{"y":"x","z":null}], "c":true }, "b":1 }"#)
                .unwrap();
        assert_eq!(fingerprint(&a).unwrap(), fingerprint(&b).unwrap());
    }

    #[test]
    fn fingerprint_is_sha256_hex() {
        // sha256("{}")
        assert_eq!(
            fingerprint(&json!({})).unwrap(),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn same_key_same_content_repeats_and_different_content_is_refused() {
        let key = IdempotencyKey::new("k-1").unwrap();
        let f1 = fingerprint(&json!({"amount": "2000.00"})).unwrap();
        let f2 = fingerprint(&json!({"amount": "2001.00"})).unwrap();
        assert_eq!(decide::<u8>(&key, None, &f1).unwrap(), Replay::Fresh);
        assert_eq!(
            decide(&key, Some((f1.clone(), 7u8)), &f1).unwrap(),
            Replay::Repeat(7)
        );
        let e = decide(&key, Some((f1, 7u8)), &f2).unwrap_err();
        assert!(
            e.to_string()
                .contains("already used for a different command"),
            "{e}"
        );
    }

    #[test]
    fn differences_name_the_fields() {
        let a = json!({"command": "allocate", "amount": "600.00", "approval": {"meeting": "M1"}});
        let b = json!({"command": "allocate", "amount": "600.01", "approval": {"meeting": "M2"}, "memo": "x"});
        assert_eq!(
            differences(&a, &b),
            vec![
                r#"amount: "600.00" then, "600.01" now"#.to_string(),
                r#"approval.meeting: "M1" then, "M2" now"#.to_string(),
                r#"memo: absent then, "x" now"#.to_string(),
            ]
        );
        assert!(differences(&a, &a).is_empty());
    }

    #[test]
    fn keys_are_visible_ascii() {
        assert!(IdempotencyKey::new("").is_err());
        assert!(IdempotencyKey::new("a b").is_err());
        assert!(IdempotencyKey::new(&"x".repeat(129)).is_err());
        assert!(IdempotencyKey::new("0192f1c4-7c1e-7d2a-9f00-000000000001").is_ok());
    }
}
