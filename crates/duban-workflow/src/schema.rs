//! The JSON Schema of workflow files, for editors (e.g. Taplo / Even Better TOML) to validate
//! and complete them. Built from the same catalogues the checker uses.

use crate::model::{
    ACTIONS, ANCHOR_KEYS, DEADLINE_KEYS, ON_KEYS, REPEAT_KEYS, STEP_KEYS, TOP_KEYS,
};
use crate::subject::{Role, SubjectKind};
use serde_json::{Value, json};

const OFFSET_PATTERN: &str = r"^(0d?|([+-][0-9]+(d|w|mo|y|wd))+)$";
const TIME_PATTERN: &str = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$";
const IDENT_PATTERN: &str = r"^[a-z][a-z0-9_]*$";

fn offset(description: &str) -> Value {
    json!({ "type": "string", "pattern": OFFSET_PATTERN, "description": description })
}

fn all_events() -> Vec<&'static str> {
    let mut v: Vec<&str> = SubjectKind::ALL
        .iter()
        .flat_map(|k| k.events().iter().map(|e| e.name))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The schema as a JSON value (draft 2020-12).
pub fn json_schema() -> Value {
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let kinds: Vec<&str> = SubjectKind::ALL.iter().map(|k| k.as_str()).collect();
    let channels =
        json!({ "type": "array", "items": { "enum": ["sms", "email"] }, "uniqueItems": true });
    let condition = json!({
        "type": "string",
        "description": format!("Events joined by `and`, each optionally preceded by `not`. Events: {}", all_events().join(", ")),
    });
    let step = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["id", "title", "offset", "action"],
        "properties": {
            "id": { "type": "string", "pattern": IDENT_PATTERN, "description": "Unique within the workflow; timers are keyed by it." },
            "title": { "type": "string", "description": "Template string: the email subject and the timeline label." },
            "offset": offset("From the anchor: -6mo, -30d, +2w, +5wd, +1y; chained like +1mo-5wd."),
            "from": { "type": "string", "description": "Another date field of the subject to count from (anchored workflows only)." },
            "time": { "type": "string", "pattern": TIME_PATTERN, "description": "Time of day, HH:MM." },
            "when": condition.clone(),
            "action": { "enum": ACTIONS },
            "level": { "enum": ["superior", "org_department"], "description": "For action = escalate." },
            "report": { "type": "string", "description": "For action = request_report: what is to be reported." },
            "status": { "type": "string", "pattern": IDENT_PATTERN, "description": "For action = set_status." },
            "to": { "type": "array", "items": { "enum": roles }, "minItems": 1 },
            "channels": channels.clone(),
            "template": { "type": "string", "pattern": IDENT_PATTERN, "description": "<workflow id>/<template>.txt beside the file (or .sms.txt / .email.txt)." },
            "urgent": { "type": "boolean", "description": "Ignore quiet hours." },
            "ends_chain": { "type": "boolean", "description": "Nothing runs after this step." },
            "repeat": {
                "type": "object",
                "additionalProperties": false,
                "required": ["every"],
                "anyOf": [{ "required": ["max"] }, { "required": ["end"] }],
                "properties": {
                    "every": offset("How often, e.g. 7d or 1mo."),
                    "max": { "type": "integer", "minimum": 1, "maximum": 1000, "description": "Sends in all, the first included." },
                    "until": condition.clone(),
                    "end": offset("No repeat after anchor + this."),
                }
            }
        }
    });
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://duban.invalid/schemas/workflow.json",
        "title": "duban workflow",
        "description": "One reminder-and-escalation chain. See workflows/README.md.",
        "type": "object",
        "additionalProperties": false,
        "required": ["id", "name", "version", "subject", "anchor", "step"],
        "properties": {
            "id": { "type": "string", "pattern": IDENT_PATTERN },
            "name": { "type": "string", "minLength": 1 },
            "version": { "type": "integer", "minimum": 1 },
            "subject": { "enum": kinds },
            "description": { "type": "string" },
            "timezone": { "type": "string", "default": "Asia/Shanghai", "description": "IANA time zone." },
            "time": { "type": "string", "pattern": TIME_PATTERN, "default": "09:00" },
            "channels": channels,
            "anchor": {
                "type": "object",
                "additionalProperties": false,
                "minProperties": 1,
                "maxProperties": 3,
                "properties": {
                    "misfire": { "enum": ["fire_once", "skip"], "description": "Recurring anchors: occurrences missed while no engine ran fire once (the latest, late) or are skipped." },
                    "catch_up": { "type": "string", "description": "Recurring anchors: how late a missed occurrence may still fire, e.g. \"3d\" (default 7d)." },
                    "date": { "type": "string", "description": "A date field of the subject, e.g. term_end." },
                    "cron": { "type": "string", "description": "5-field cron in the workflow's time zone, e.g. \"0 9 10 * *\"." },
                    "monthly_on": { "type": "string", "description": "A day-of-month field, e.g. theme_day." },
                    "yearly_on": { "type": "string", "description": "Anniversary of a date field, e.g. joined_on." }
                }
            },
            "deadlines": {
                "type": "object",
                "additionalProperties": false,
                "required": DEADLINE_KEYS,
                "properties": {
                    "immediate": offset("Default deadline of 立行立改 items, from opened_on."),
                    "time_bound": offset("Default deadline of 限期整改 items."),
                    "long_term": offset("Default deadline of 长期整治 items."),
                    "final": offset("Final deadline after the warning, from the deadline.")
                }
            },
            "step": { "type": "array", "minItems": 1, "items": step },
            "on": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["event"],
                    "properties": {
                        "event": { "enum": all_events() },
                        "stop": { "type": "boolean" },
                        "replan": { "type": "boolean" },
                        "start": { "type": "string", "pattern": IDENT_PATTERN }
                    }
                }
            }
        }
    });
    debug_assert!(keys_match(&schema));
    schema
}

fn props(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v["properties"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

/// Whether the schema's keys are exactly the keys the parser accepts.
pub fn keys_match(s: &Value) -> bool {
    let p = &s["properties"];
    props(s) == sorted(TOP_KEYS)
        && props(&p["anchor"]) == sorted(ANCHOR_KEYS)
        && props(&p["deadlines"]) == sorted(DEADLINE_KEYS)
        && props(&p["step"]["items"]) == sorted(STEP_KEYS)
        && props(&p["step"]["items"]["properties"]["repeat"]) == sorted(REPEAT_KEYS)
        && props(&p["on"]["items"]) == sorted(ON_KEYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A validator for the subset of JSON Schema used above (no `pattern`), enough to check
    /// that the schema accepts the shipped files and rejects wrong ones.
    fn validate(schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.contains(v)
        {
            errors.push(format!("{path}: {v} not in enum"));
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let ok = match t {
                "object" => v.is_object(),
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "boolean" => v.is_boolean(),
                "array" => v.is_array(),
                _ => true,
            };
            if !ok {
                errors.push(format!("{path}: expected {t}"));
                return;
            }
        }
        if let Some(min) = schema.get("minimum").and_then(Value::as_i64)
            && v.as_i64().is_some_and(|x| x < min)
        {
            errors.push(format!("{path}: below minimum"));
        }
        if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
            let ok = any.iter().any(|s| {
                let mut e = Vec::new();
                validate(s, v, path, &mut e);
                e.is_empty()
            });
            if !ok {
                errors.push(format!("{path}: matches none of anyOf"));
            }
        }
        if let Some(obj) = v.as_object() {
            let props = schema.get("properties").and_then(Value::as_object);
            for req in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !obj.contains_key(req.as_str().unwrap_or_default()) {
                    errors.push(format!("{path}: missing {req}"));
                }
            }
            if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
                && obj.len() as u64 > max
            {
                errors.push(format!("{path}: too many properties"));
            }
            for (k, val) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => validate(s, val, &format!("{path}.{k}"), errors),
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        errors.push(format!("{path}: unknown key {k}"))
                    }
                    None => {}
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            for (i, x) in arr.iter().enumerate() {
                validate(items, x, &format!("{path}[{i}]"), errors);
            }
        }
    }

    fn as_json(toml_text: &str) -> Value {
        let v: toml::Value = toml::from_str(toml_text).unwrap();
        serde_json::to_value(v).unwrap()
    }

    #[test]
    fn the_schema_accepts_the_shipped_workflows_and_knows_every_key() {
        let schema = json_schema();
        assert!(keys_match(&schema));
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "toml") {
                let mut errors = Vec::new();
                validate(
                    &schema,
                    &as_json(&std::fs::read_to_string(&path).unwrap()),
                    "$",
                    &mut errors,
                );
                assert!(errors.is_empty(), "{}: {errors:?}", path.display());
                n += 1;
            }
        }
        assert!(n >= 10);
        let mut errors = Vec::new();
        let bad = "id = \"x\"\nnmae = \"y\"\nversion = 1\nsubject = \"term\"\n[anchor]\ndate = \"term_end\"\n[[step]]\nid = \"a\"\ntitle = \"t\"\noffset = \"+1d\"\naction = \"notfiy\"\n";
        validate(&schema, &as_json(bad), "$", &mut errors);
        assert!(
            errors.iter().any(|e| e.contains("unknown key nmae")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("not in enum")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("missing \"name\"")),
            "{errors:?}"
        );
    }
}
