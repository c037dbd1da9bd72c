//! Merging reminders held back overnight into one message per recipient.
//!
//! Quiet hours hold reminders back; when they end, a secretary with ten held reminders gets one
//! message listing them, not ten. [`group`] finds the groups; [`email_digest`] writes the email
//! and [`sms_digest`] fits the SMS into the provider's length limit: the whole list if it fits,
//! else split at item boundaries into a few numbered parts, else a summary with the count, the
//! first items that fit and a link.

use crate::message::OutboxKey;
use chrono::{DateTime, Utc};
use duban_core::register::Channel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A reminder waiting in the outbox, as the digest sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldReminder {
    pub outbox_id: OutboxKey,
    /// The normalised address or number ([`super::recipient_key`]).
    pub recipient: String,
    pub channel: Channel,
    /// One line that says what is due: `第一党支部换届选举，3月1日到期（剩5天）`.
    pub line: String,
    /// The item's own link (confirmation page), if any.
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The "send not before" instant the workflow computed (quiet hours, working days).
    pub not_before: Option<DateTime<Utc>>,
}

impl HeldReminder {
    /// Held back: its "not before" lies after the moment it was created.
    pub fn was_held(&self) -> bool {
        self.not_before.is_some_and(|nb| nb > self.created_at)
    }
}

/// Reminders for one recipient on one channel that leave as one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestGroup {
    pub recipient: String,
    pub channel: Channel,
    /// Oldest first.
    pub items: Vec<HeldReminder>,
}

impl DigestGroup {
    /// The outbox rows the digest replaces: mark them all sent (or failed) with the digest.
    pub fn outbox_ids(&self) -> Vec<OutboxKey> {
        self.items.iter().map(|i| i.outbox_id.clone()).collect()
    }
}

/// Splits due reminders into digests (at least `min_items` held reminders for one recipient
/// on one channel) and reminders that leave on their own. Reminders that were not held back
/// are never merged: they were meant to go when they were due.
pub fn group(
    reminders: Vec<HeldReminder>,
    min_items: usize,
) -> (Vec<DigestGroup>, Vec<HeldReminder>) {
    let mut by_key: BTreeMap<(String, Channel), Vec<HeldReminder>> = BTreeMap::new();
    let mut singles = Vec::new();
    for r in reminders {
        if r.was_held() {
            by_key
                .entry((r.recipient.clone(), r.channel))
                .or_default()
                .push(r);
        } else {
            singles.push(r);
        }
    }
    let mut groups = Vec::new();
    for ((recipient, channel), mut items) in by_key {
        if items.len() >= min_items.max(2) {
            items.sort_by(|a, b| {
                a.created_at
                    .cmp(&b.created_at)
                    .then_with(|| a.outbox_id.cmp(&b.outbox_id))
            });
            groups.push(DigestGroup {
                recipient,
                channel,
                items,
            });
        } else {
            singles.extend(items);
        }
    }
    (groups, singles)
}

/// The words around a digest. `{count}` and `{link}` are replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigestWording {
    pub email_subject: String,
    pub heading: String,
    /// Ends a summary that could not list every item.
    pub more: String,
    pub link: String,
    /// Marks the parts of a split SMS: `{part}` and `{parts}` are replaced.
    pub part: String,
    /// Opens the message when the recipient's name is known: `{name}` is replaced.
    pub greeting: String,
}

impl Default for DigestWording {
    fn default() -> Self {
        DigestWording {
            email_subject: "督办提醒：您有{count}项待办事项".into(),
            heading: "您有{count}项督办提醒：".into(),
            more: "等共{count}项".into(),
            link: "详情请查看：{link}".into(),
            part: "({part}/{parts})".into(),
            greeting: "{name}同志：".into(),
        }
    }
}

impl DigestWording {
    fn fill(template: &str, count: usize, link: &str) -> String {
        template
            .replace("{count}", &count.to_string())
            .replace("{link}", link)
    }
}

/// Length limits of the SMS provider, in characters (a Chinese character counts as one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsLimits {
    /// The longest message, signature included (`【区委组织部】` is added by the provider).
    pub max_chars: usize,
    /// The most messages one digest may be split into before it is summarised instead.
    pub max_parts: usize,
    /// The length of the signature the provider adds.
    pub signature_chars: usize,
    /// The longest value of one template variable (for the `first` parameter).
    pub param_max_chars: usize,
}

impl Default for SmsLimits {
    fn default() -> Self {
        SmsLimits {
            max_chars: 300,
            max_parts: 3,
            signature_chars: 10,
            param_max_chars: 20,
        }
    }
}

/// Who a digest speaks to and who signs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Salutation {
    /// The recipient's name, for the greeting.
    pub name: Option<String>,
    /// The sender (the organisation department), closing an email.
    pub sign_off: Option<String>,
}

impl Salutation {
    fn greeting(&self, w: &DigestWording) -> Option<String> {
        self.name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(|n| w.greeting.replace("{name}", n.trim()))
    }
}

/// A digest for the email channel: `(subject, text)`. Each item keeps its own link.
pub fn email_digest(
    g: &DigestGroup,
    w: &DigestWording,
    link: Option<&str>,
    s: &Salutation,
) -> (String, String) {
    let n = g.items.len();
    let link = link.unwrap_or("");
    let subject = DigestWording::fill(&w.email_subject, n, link);
    let mut text = String::new();
    if let Some(greeting) = s.greeting(w) {
        text.push_str(&greeting);
        text.push_str("\n\n");
    }
    text.push_str(&DigestWording::fill(&w.heading, n, link));
    text.push_str("\n\n");
    for (i, item) in g.items.iter().enumerate() {
        text.push_str(&format!("{}. {}\n", i + 1, item.line));
        if let Some(l) = &item.link {
            text.push_str(&format!("   {l}\n"));
        }
    }
    if !link.is_empty() {
        text.push('\n');
        text.push_str(&DigestWording::fill(&w.link, n, link));
        text.push('\n');
    }
    if let Some(sign_off) = s.sign_off.as_deref().filter(|x| !x.trim().is_empty()) {
        text.push('\n');
        text.push_str(sign_off.trim());
        text.push('\n');
    }
    (subject, text)
}

/// A digest for the SMS channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsDigest {
    /// The free-text messages (webhook gateways and the SMS log), each within the limit.
    pub parts: Vec<String>,
    /// Parameters for a provider template named `digest`: `count`, `first` (the first item,
    /// cut to the parameter limit) and `link`.
    pub params: BTreeMap<String, String>,
    /// Whether `parts` lists every item (whole or split) rather than a summary.
    pub complete: bool,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to at most `max` characters, ending in `…` if it was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if chars(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Builds the SMS digest for `g`. `link` is the recipient's overview page; without one the
/// first item's own link is used.
pub fn sms_digest(
    g: &DigestGroup,
    link: Option<&str>,
    limits: &SmsLimits,
    w: &DigestWording,
    s: &Salutation,
) -> SmsDigest {
    let n = g.items.len();
    let link = link
        .or_else(|| g.items.iter().find_map(|i| i.link.as_deref()))
        .unwrap_or("");
    // The provider's signature (【区委组织部】) signs an SMS; the greeting opens it.
    let heading = format!(
        "{}{}",
        s.greeting(w).unwrap_or_default(),
        DigestWording::fill(&w.heading, n, link)
    );
    let footer = (!link.is_empty()).then(|| DigestWording::fill(&w.link, n, link));
    let budget = limits
        .max_chars
        .saturating_sub(limits.signature_chars)
        .max(1);
    let lines: Vec<String> = g
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| format!("{}. {}", i + 1, it.line))
        .collect();

    let mut params = BTreeMap::new();
    params.insert("count".to_string(), n.to_string());
    params.insert(
        "first".to_string(),
        truncate(
            g.items.first().map(|i| i.line.as_str()).unwrap_or(""),
            limits.param_max_chars,
        ),
    );
    params.insert("link".to_string(), link.to_string());

    let mut whole = vec![heading.clone()];
    whole.extend(lines.iter().cloned());
    whole.extend(footer.clone());
    let single = whole.join("\n");
    if chars(&single) <= budget {
        return SmsDigest {
            parts: vec![single],
            params,
            complete: true,
        };
    }

    if limits.max_parts >= 2
        && let Some(parts) = split(
            &heading,
            &lines,
            footer.as_deref(),
            budget,
            limits.max_parts,
            w,
        )
    {
        return SmsDigest {
            parts,
            params,
            complete: true,
        };
    }

    SmsDigest {
        parts: vec![summary(&heading, &lines, footer.as_deref(), n, budget, w)],
        params,
        complete: false,
    }
}

/// Packs the lines into at most `max_parts` parts, each prefixed with its part marker; the
/// heading opens the first part and the footer closes the last. `None` if they do not fit.
fn split(
    heading: &str,
    lines: &[String],
    footer: Option<&str>,
    budget: usize,
    max_parts: usize,
    w: &DigestWording,
) -> Option<Vec<String>> {
    let marker = |k: usize, total: usize| {
        w.part
            .replace("{part}", &k.to_string())
            .replace("{parts}", &total.to_string())
    };
    let marker_chars = chars(&marker(max_parts, max_parts)) + 1;
    let room = budget.checked_sub(marker_chars)?;
    let mut blocks: Vec<&str> = vec![heading];
    blocks.extend(lines.iter().map(String::as_str));
    if let Some(f) = footer {
        blocks.push(f);
    }
    if blocks.iter().any(|b| chars(b) > room) {
        return None;
    }
    let mut parts: Vec<Vec<&str>> = vec![Vec::new()];
    let mut used = 0;
    for b in blocks {
        let need = chars(b) + usize::from(used > 0);
        if used + need > room {
            parts.push(Vec::new());
            used = 0;
        }
        let current = parts.last_mut().expect("one part at least");
        used += chars(b) + usize::from(!current.is_empty());
        current.push(b);
    }
    if parts.len() > max_parts {
        return None;
    }
    let total = parts.len();
    Some(
        parts
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}{}", marker(i + 1, total), p.join("\n")))
            .collect(),
    )
}

/// The heading, as many whole lines as fit, "and N in all", and the link.
fn summary(
    heading: &str,
    lines: &[String],
    footer: Option<&str>,
    n: usize,
    budget: usize,
    w: &DigestWording,
) -> String {
    let more = DigestWording::fill(&w.more, n, "");
    let fixed = chars(heading) + 1 + chars(&more) + footer.map_or(0, |f| chars(f) + 1);
    let mut out = vec![heading.to_string()];
    let mut used = fixed;
    for line in lines {
        if used + chars(line) + 1 > budget {
            break;
        }
        used += chars(line) + 1;
        out.push(line.clone());
    }
    if out.len() == 1 && !lines.is_empty() && budget > used + 2 {
        // Not even one whole line fits: show the start of the first one.
        out.push(truncate(&lines[0], budget - used - 1));
    }
    out.push(more);
    out.extend(footer.map(str::to_string));
    let text = out.join("\n");
    truncate(&text, budget)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn held(id: i64, to: &str, line: &str) -> HeldReminder {
        HeldReminder {
            outbox_id: OutboxKey::from(id),
            recipient: to.into(),
            channel: Channel::Sms,
            line: line.into(),
            link: Some(format!("https://duban.example.cn/c/{id}")),
            created_at: at("2025-03-03T15:00:00Z") + chrono::Duration::minutes(id),
            not_before: Some(at("2025-03-04T00:00:00Z")),
        }
    }

    fn ten_for_one_secretary() -> Vec<HeldReminder> {
        (1..=10)
            .map(|i| {
                held(
                    i,
                    "13800000001",
                    &format!("第{i}党支部换届选举，3月{i}日到期"),
                )
            })
            .collect()
    }

    #[test]
    fn ten_held_reminders_for_one_secretary_become_one_group() {
        let mut all = ten_for_one_secretary();
        all.push(held(11, "13800000002", "另一位书记的提醒"));
        let mut not_held = held(12, "13800000001", "白天产生、未被推迟的提醒");
        not_held.not_before = None;
        all.push(not_held);
        let (groups, singles) = group(all, 2);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].items.len(), 10);
        assert_eq!(groups[0].outbox_ids()[0], OutboxKey::from(1i64));
        let single_ids: Vec<_> = singles.iter().map(|s| s.outbox_id.to_string()).collect();
        assert_eq!(single_ids, ["12", "11"]);
    }

    #[test]
    fn a_short_digest_is_one_sms_listing_every_item() {
        let (groups, _) = group(ten_for_one_secretary(), 2);
        let d = sms_digest(
            &groups[0],
            Some("https://duban.example.cn/my"),
            &SmsLimits::default(),
            &DigestWording::default(),
            &Salutation {
                name: Some("王芳".into()),
                sign_off: Some("区委组织部".into()),
            },
        );
        assert!(d.complete);
        assert_eq!(d.parts.len(), 1, "{:?}", d.parts);
        let text = &d.parts[0];
        assert!(text.starts_with("王芳同志：您有10项督办提醒："), "{text}");
        assert!(text.contains("1. 第1党支部换届选举，3月1日到期"));
        assert!(text.contains("10. 第10党支部换届选举，3月10日到期"));
        assert!(text.ends_with("详情请查看：https://duban.example.cn/my"));
        assert_eq!(d.params["count"], "10");
        assert_eq!(d.params["first"], "第1党支部换届选举，3月1日到期");
    }

    #[test]
    fn a_longer_digest_splits_at_item_boundaries_then_summarises() {
        let (groups, _) = group(ten_for_one_secretary(), 2);
        let tight = SmsLimits {
            max_chars: 120,
            max_parts: 3,
            signature_chars: 8,
            param_max_chars: 10,
        };
        let d = sms_digest(
            &groups[0],
            Some("https://d.cn/m"),
            &tight,
            &DigestWording::default(),
            &Salutation::default(),
        );
        assert!(d.complete);
        assert!(d.parts.len() >= 2 && d.parts.len() <= 3, "{:?}", d.parts);
        assert!(d.parts[0].starts_with("(1/"));
        for p in &d.parts {
            assert!(chars(p) <= 112, "{p}");
        }
        let joined = d.parts.join("\n");
        for i in 1..=10 {
            assert!(
                joined.contains(&format!("{i}. 第{i}党支部")),
                "item {i} missing"
            );
        }
        assert_eq!(d.params["first"], "第1党支部换届选举…");

        let tiny = SmsLimits {
            max_chars: 70,
            max_parts: 1,
            signature_chars: 8,
            param_max_chars: 10,
        };
        let d = sms_digest(
            &groups[0],
            Some("https://d.cn/m"),
            &tiny,
            &DigestWording::default(),
            &Salutation::default(),
        );
        assert!(!d.complete);
        assert_eq!(d.parts.len(), 1);
        assert!(chars(&d.parts[0]) <= 62, "{}", d.parts[0]);
        assert!(d.parts[0].contains("等共10项"), "{}", d.parts[0]);
        assert!(d.parts[0].contains("https://d.cn/m"), "{}", d.parts[0]);
    }

    #[test]
    fn the_email_digest_lists_items_with_their_links() {
        let (groups, _) = group(ten_for_one_secretary(), 2);
        let (subject, text) = email_digest(
            &groups[0],
            &DigestWording::default(),
            Some("https://d.cn/m"),
            &Salutation {
                name: Some("王芳".into()),
                sign_off: Some("区委组织部".into()),
            },
        );
        assert_eq!(subject, "督办提醒：您有10项待办事项");
        assert!(
            text.starts_with("王芳同志：\n\n您有10项督办提醒："),
            "{text}"
        );
        assert!(
            text.contains("3. 第3党支部换届选举，3月3日到期\n   https://duban.example.cn/c/3\n")
        );
        assert!(text.contains("详情请查看：https://d.cn/m"));
        assert!(text.trim_end().ends_with("区委组织部"), "{text}");
    }

    proptest! {
        #[test]
        fn every_sms_part_fits_and_complete_digests_list_every_item(
            lines in prop::collection::vec("[a-z第支部换届选举到期]{1,40}", 2..25),
            max_chars in 40usize..400,
            max_parts in 1usize..5,
        ) {
            let items: Vec<HeldReminder> = lines.iter().enumerate().map(|(i, l)| held(i as i64, "1", l)).collect();
            let (groups, _) = group(items, 2);
            let limits = SmsLimits { max_chars, max_parts, signature_chars: 8, param_max_chars: 12 };
            let d = sms_digest(&groups[0], Some("https://d.cn/x"), &limits, &DigestWording::default(), &Salutation::default());
            prop_assert!(!d.parts.is_empty());
            prop_assert!(d.parts.len() <= max_parts.max(1));
            for p in &d.parts {
                prop_assert!(chars(p) <= max_chars - 8, "{} > {}", chars(p), max_chars - 8);
            }
            prop_assert!(chars(&d.params["first"]) <= 12);
            prop_assert_eq!(&d.params["count"], &lines.len().to_string());
            if d.complete {
                let joined = d.parts.join("\n");
                for (i, l) in lines.iter().enumerate() {
                    let expected = format!("{}. {}", i + 1, l);
                    prop_assert!(joined.contains(&expected), "missing {}", expected);
                }
            }
        }
    }
}
