//! Message templates: minijinja, sandboxed, with the subject's data as variables. Dates are
//! written the Chinese way (2026年10月9日). A template printing a variable its subject kind
//! does not have is rejected by `check`; one printing a variable this subject lacks fails to
//! render, so no message goes out with a blank where a name should be.

use crate::check::CheckOptions;
use crate::diag::{Diagnostic, Source, did_you_mean};
use crate::model::TemplateText;
use crate::subject::{COMMON_VARIABLES, Subject, SubjectKind, Variable, zh_date};
use chrono::{Datelike, NaiveDate};
use minijinja::{Environment, UndefinedBehavior, Value};
use std::collections::BTreeMap;
use std::ops::Range;

/// Names a template may use besides variables: minijinja's global functions.
const GLOBALS: &[&str] = &["range", "dict", "namespace", "debug", "loop"];

/// Length of one SMS segment in characters, the 【signature】 included.
pub const SMS_SEGMENT: usize = 70;
/// Characters per part once a message is split.
pub const SMS_PART: usize = 67;

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_fuel(Some(50_000));
    env
}

/// Everything a message needs besides the subject: per-step values computed by the planner.
#[derive(Debug, Clone)]
pub struct MessageContext {
    pub org_department: String,
    pub due_date: NaiveDate,
    pub anchor_date: NaiveDate,
    /// 1-based count of this step's sends.
    pub times: u32,
    /// The confirmation link; simulations use a placeholder.
    pub link: String,
    pub workflow_name: String,
    /// Per-kind derived values (`final_deadline`, `birthday`, `party_years`).
    pub extra: BTreeMap<&'static str, String>,
}

/// The full variable map of a message.
pub fn variables(subject: &Subject, m: &MessageContext) -> BTreeMap<String, Value> {
    let mut vars: BTreeMap<String, Value> = subject
        .variables()
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect();
    for (k, v) in &m.extra {
        vars.insert((*k).to_string(), Value::from(v.clone()));
    }
    let days_left = (m.anchor_date - m.due_date).num_days();
    let q = (m.anchor_date.month() - 1) / 3;
    let common: [(&str, Value); 12] = [
        ("time_left", Value::from(time_left(days_left))),
        ("org_department", Value::from(m.org_department.clone())),
        ("due_date", Value::from(zh_date(m.due_date))),
        ("anchor_date", Value::from(zh_date(m.anchor_date))),
        ("days_left", Value::from(days_left)),
        ("days_overdue", Value::from(days_left.min(0).abs())),
        ("year", Value::from(m.anchor_date.year())),
        (
            "month_label",
            Value::from(format!(
                "{}年{}月",
                m.anchor_date.year(),
                m.anchor_date.month()
            )),
        ),
        (
            "quarter_label",
            Value::from(format!(
                "{}年第{}季度",
                m.anchor_date.year(),
                ["一", "二", "三", "四"][q as usize]
            )),
        ),
        ("times", Value::from(m.times)),
        ("link", Value::from(m.link.clone())),
        ("workflow_name", Value::from(m.workflow_name.clone())),
    ];
    for (k, v) in common {
        vars.insert(k.to_string(), v);
    }
    vars
}

/// Days left and days overdue as of the day the message actually leaves (a reminder fired
/// late, or held by quiet hours, counts from when people read it, not from when it was due).
pub fn count_days_from(vars: &mut BTreeMap<String, Value>, anchor: NaiveDate, sent_on: NaiveDate) {
    let days_left = (anchor - sent_on).num_days();
    vars.insert("days_left".into(), Value::from(days_left));
    vars.insert("days_overdue".into(), Value::from(days_left.min(0).abs()));
    vars.insert("time_left".into(), Value::from(time_left(days_left)));
}

/// 还有N天, 今天到期 or 已逾期N天: never a negative count in front of people.
pub fn time_left(days_left: i64) -> String {
    match days_left {
        d if d > 0 => format!("还有{d}天"),
        0 => "今天到期".to_string(),
        d => format!("已逾期{}天", -d),
    }
}

/// The parameters of an SMS provider template: every text or number variable, as text,
/// and the message's title as `subject`. Each provider's template in the notify settings
/// picks the ones it was approved with (`unit_name`, `due_date`, `days_left`, …).
pub fn template_params(vars: &BTreeMap<String, Value>, subject: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = vars
        .iter()
        .filter_map(|(k, v)| match v.kind() {
            minijinja::value::ValueKind::String => v.as_str().map(|s| (k.clone(), s.to_string())),
            minijinja::value::ValueKind::Number => Some((k.clone(), v.to_string())),
            _ => None,
        })
        .collect();
    out.insert("subject".into(), subject.to_string());
    out
}

/// Renders a template text. Errors say which variable or construct failed.
pub fn render(text: &str, vars: &BTreeMap<String, Value>) -> Result<String, String> {
    let env = env();
    let tmpl = env.template_from_str(text).map_err(|e| describe(&e))?;
    tmpl.render(Value::from_pairs(
        vars.iter().map(|(k, v)| (k.clone(), v.clone())),
    ))
    .map(|s| s.trim().to_string())
    .map_err(|e| {
        let undefined: Vec<String> = tmpl
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !vars.contains_key(v) && !GLOBALS.contains(&v.as_str()))
            .collect();
        if undefined.is_empty() {
            describe(&e)
        } else {
            let mut u = undefined;
            u.sort();
            format!(
                "the subject has no value for {}",
                u.iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    })
}

fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    }
}

/// Number of SMS parts `text` takes with `signature`.
pub fn sms_parts(signature: &str, text: &str) -> (usize, usize) {
    let n = signature.chars().count() + text.chars().count();
    let parts = if n <= SMS_SEGMENT {
        1
    } else {
        n.div_ceil(SMS_PART)
    };
    (n, parts)
}

fn allowed(kind: SubjectKind) -> Vec<&'static Variable> {
    COMMON_VARIABLES.iter().chain(kind.variables()).collect()
}

/// Byte offset of the first use of `name` as a whole word inside a `{{ }}` or `{% %}` tag.
fn find_var(text: &str, name: &str) -> Option<usize> {
    let mut search = 0;
    while let Some(open) = text[search..].find(['{']).map(|i| i + search) {
        let rest = &text[open..];
        let close_tag = if rest.starts_with("{{") {
            "}}"
        } else if rest.starts_with("{%") {
            "%}"
        } else {
            search = open + 1;
            continue;
        };
        let end = rest.find(close_tag).map(|i| open + i).unwrap_or(text.len());
        let inner = &text[open..end];
        let mut from = 0;
        while let Some(i) = inner[from..].find(name).map(|i| i + from) {
            let before = inner[..i].chars().next_back();
            let after = inner[i + name.len()..].chars().next();
            let word =
                |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
            if !word(before) && !word(after) {
                return Some(open + i);
            }
            from = i + name.len();
        }
        search = end.max(open + 1);
    }
    None
}

/// Checks a template's syntax and variables; pushes located diagnostics. `place` maps a
/// byte range inside the template to a span in `src`.
fn check_text(
    diags: &mut Vec<Diagnostic>,
    src: &Source,
    text: &str,
    kind: SubjectKind,
    place: &dyn Fn(Range<usize>) -> Range<usize>,
) -> bool {
    let env = env();
    let tmpl = match env.template_from_str(text) {
        Ok(t) => t,
        Err(e) => {
            let range = e.range().unwrap_or_else(|| {
                // Fall back to the start of the reported line.
                let line = e.line().unwrap_or(1);
                let start: usize = text
                    .split_inclusive('\n')
                    .take(line - 1)
                    .map(str::len)
                    .sum();
                start..start + 1
            });
            diags.push(src.error(
                "template-syntax",
                place(range),
                format!("template syntax: {}", describe(&e)),
                "variables look like {{ unit_name }}; blocks like {% if … %}…{% endif %}; every {{ and {% needs its closing }} or %}",
            ));
            return false;
        }
    };
    let names: Vec<&str> = allowed(kind).iter().map(|v| v.name).collect();
    let mut undeclared: Vec<String> = tmpl.undeclared_variables(false).into_iter().collect();
    undeclared.sort();
    let mut ok = true;
    for v in undeclared {
        if names.contains(&v.as_str()) || GLOBALS.contains(&v.as_str()) {
            continue;
        }
        ok = false;
        let at = find_var(text, &v).unwrap_or(0);
        let help = match did_you_mean(&v, names.iter().copied()) {
            Some(h) => format!(
                "did you mean `{h}`? Variables of `{kind}` are listed in workflows/README.md"
            ),
            None => format!(
                "subject `{kind}` offers: {}",
                kind.variables()
                    .iter()
                    .map(|v| v.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        diags.push(src.error(
            "unknown-variable",
            place(at..at + v.len()),
            format!("template uses `{v}`, which subject `{kind}` does not have"),
            help,
        ));
    }
    ok
}

/// Checks a title (an inline template in the TOML file).
pub(crate) fn check_inline(
    diags: &mut Vec<Diagnostic>,
    src: &Source,
    text: &str,
    span: Range<usize>,
    kind: SubjectKind,
    inner: fn(Range<usize>, Range<usize>) -> Range<usize>,
) {
    check_text(diags, src, text, kind, &|r| inner(span.clone(), r));
}

/// Sample variables for `kind`, from each variable's documented example.
pub fn sample_variables(kind: SubjectKind) -> BTreeMap<String, Value> {
    let mut vars = BTreeMap::new();
    for v in allowed(kind) {
        let value = v
            .example
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(v.example));
        vars.insert(v.name.to_string(), value);
    }
    vars
}

/// Checks a template file; warns when an SMS text is longer than one segment.
pub(crate) fn check_file(
    diags: &mut Vec<Diagnostic>,
    t: &TemplateText,
    kind: SubjectKind,
    sms: bool,
    opts: &CheckOptions,
) {
    let src = Source::new(&t.path, &t.text);
    if !check_text(diags, &src, &t.text, kind, &|r| r) {
        return;
    }
    let vars = sample_variables(kind);
    match render(&t.text, &vars) {
        Err(e) => diags.push(src.error(
            "template-render",
            0..t.text.find('\n').unwrap_or(t.text.len()),
            format!("the template does not render: {e}"),
            "check filters and expressions against the minijinja documentation; only the built-in filters are available",
        )),
        Ok(text) if sms => {
            let (n, parts) = sms_parts(&opts.sms_signature, &text);
            if parts > 1 {
                diags.push(src.warning(
                    "sms-too-long",
                    0..1,
                    format!(
                        "the SMS is about {n} characters with the signature {} (one message holds {SMS_SEGMENT}), so it goes out as {parts} messages",
                        opts.sms_signature
                    ),
                    "shorten it, or give SMS its own short text in a .sms.txt file and keep the details in the email",
                ));
            }
        }
        Ok(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reminder due 30 days before a term ends on 2026-10-09.
    fn term_reminder() -> MessageContext {
        MessageContext {
            org_department: "区委组织部".into(),
            due_date: NaiveDate::from_ymd_opt(2026, 9, 9).unwrap(),
            anchor_date: NaiveDate::from_ymd_opt(2026, 10, 9).unwrap(),
            times: 1,
            link: "[确认链接]".into(),
            workflow_name: "按期换届提醒".into(),
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn renders_chinese_dates_and_days_left() {
        let subject = Subject::sample(SubjectKind::Term);
        let m = term_reminder();
        let vars = variables(&subject, &m);
        let out = render(
            "{{ unit_name }}任期将于{{ term_end }}届满，还有{{ days_left }}天。{{ link }}",
            &vars,
        )
        .unwrap();
        assert_eq!(
            out,
            "某某科技有限公司党支部任期将于2026年10月9日届满，还有30天。[确认链接]"
        );
        assert_eq!(
            render("{{ quarter_label }}", &vars).unwrap(),
            "2026年第四季度"
        );
        let err = render("{{ nonexistent }}", &vars).unwrap_err();
        assert!(err.contains("nonexistent"), "{err}");
    }

    #[test]
    fn template_parameters_are_the_scalar_variables_as_text() {
        let subject = Subject::sample(SubjectKind::Term);
        let m = term_reminder();
        let p = template_params(&variables(&subject, &m), "换届提醒");
        assert_eq!(p["unit_name"], "某某科技有限公司党支部");
        assert_eq!(p["due_date"], "2026年9月9日");
        assert_eq!(p["days_left"], "30");
        assert_eq!(p["subject"], "换届提醒");
        assert_eq!(p["link"], "[确认链接]");
    }

    #[test]
    fn finds_variables_in_tags() {
        let t = "名称 {{ unit_name }}，{% if secretary %}书记{{ secretary }}{% endif %}";
        assert_eq!(find_var(t, "secretary"), Some(t.find("secretary").unwrap()));
        assert_eq!(find_var("unit_name {{ x }}", "unit_name"), None);
    }

    #[test]
    fn sms_segments() {
        assert_eq!(sms_parts("【督办】", &"字".repeat(66)), (70, 1));
        assert_eq!(sms_parts("【督办】", &"字".repeat(67)), (71, 2));
    }
}
