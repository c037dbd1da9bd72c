//! Per-channel and per-recipient rate limits, decided from the recent send history.
//!
//! Providers and carriers cap what one number may receive: Alibaba Cloud 50 notices a calendar
//! day per number for one signature and template, Tencent Cloud by default one identical
//! message per 30 seconds and 2 messages a calendar day per number, carriers about 10
//! non-marketing messages a day. Sending past a cap only earns a throttling error, so the
//! dispatcher asks [`check`] first and defers the message to the instant the cap frees up.
//!
//! Windows are either rolling (`30s`, `1h`) or the calendar day in the configured time zone,
//! which is how the Chinese providers count "per day".

use super::ContentHash;
use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// What a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every message through the provider (throughput caps).
    Channel,
    /// Messages to the same number or address.
    Recipient,
    /// Messages to the same recipient with the same template (Alibaba: per signature and
    /// template; the signature is fixed per provider).
    RecipientTemplate,
    /// Identical messages to the same recipient.
    RecipientContent,
}

/// The period a rule counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// The last `d` before now.
    Rolling(Duration),
    /// The current calendar day in the policy's time zone.
    CalendarDay,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::CalendarDay => f.write_str("calendar_day"),
            Window::Rolling(d) => {
                let s = d.as_secs();
                if s > 0 && s % 86400 == 0 {
                    write!(f, "{}d", s / 86400)
                } else if s > 0 && s % 3600 == 0 {
                    write!(f, "{}h", s / 3600)
                } else if s > 0 && s % 60 == 0 {
                    write!(f, "{}m", s / 60)
                } else {
                    write!(f, "{s}s")
                }
            }
        }
    }
}

impl std::str::FromStr for Window {
    type Err = String;
    /// `calendar_day`, or a number with a unit: `30s`, `10m`, `1h`, `2d`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t == "calendar_day" || t == "day" {
            return Ok(Window::CalendarDay);
        }
        let bad = || {
            format!(
                "{s:?} is not a window: use calendar_day or a duration such as 30s, 10m, 1h, 2d"
            )
        };
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (n, unit) = t.split_at(split);
        let n: u64 = n.parse().map_err(|_| bad())?;
        let secs = match unit {
            "s" => n,
            "m" => n.checked_mul(60).ok_or_else(bad)?,
            "h" => n.checked_mul(3600).ok_or_else(bad)?,
            "d" => n.checked_mul(86400).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        if secs == 0 {
            return Err(bad());
        }
        Ok(Window::Rolling(Duration::from_secs(secs)))
    }
}

impl Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// At most `max` messages per `window`, counted over `scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitRule {
    pub scope: Scope,
    pub max: u32,
    pub window: Window,
}

impl LimitRule {
    /// The rule in Chinese: 每位收件人每天最多2条.
    pub fn zh(&self) -> String {
        let scope = match self.scope {
            Scope::Channel => "本通道",
            Scope::Recipient => "每位收件人",
            Scope::RecipientTemplate => "每位收件人每个模板",
            Scope::RecipientContent => "每位收件人相同内容",
        };
        let window = match self.window {
            Window::CalendarDay => "每天".to_string(),
            Window::Rolling(d) => match d.as_secs() {
                s if s > 0 && s % 86400 == 0 => format!("每{}天", s / 86400),
                s if s > 0 && s % 3600 == 0 => format!("每{}小时", s / 3600),
                s if s > 0 && s % 60 == 0 => format!("每{}分钟", s / 60),
                s => format!("每{s}秒"),
            },
        };
        format!("{scope}{window}最多{}条", self.max)
    }
}

impl fmt::Display for LimitRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = match self.scope {
            Scope::Channel => "channel",
            Scope::Recipient => "recipient",
            Scope::RecipientTemplate => "recipient+template",
            Scope::RecipientContent => "recipient+content",
        };
        write!(f, "{} per {} per {}", self.max, scope, self.window)
    }
}

/// The default limits of each provider, from the providers' published defaults and the
/// carriers' cap on non-marketing messages. Configuration replaces them per provider.
pub fn default_rules(provider: &str) -> Vec<LimitRule> {
    let day = Window::CalendarDay;
    let carrier = LimitRule {
        scope: Scope::Recipient,
        max: 10,
        window: day,
    };
    match provider {
        "aliyun" => vec![
            LimitRule {
                scope: Scope::RecipientTemplate,
                max: 50,
                window: day,
            },
            carrier,
        ],
        "tencent" => vec![
            LimitRule {
                scope: Scope::RecipientContent,
                max: 1,
                window: Window::Rolling(Duration::from_secs(30)),
            },
            LimitRule {
                scope: Scope::Recipient,
                max: 2,
                window: day,
            },
        ],
        "webhook" => vec![carrier],
        _ => Vec::new(),
    }
}

/// One earlier successful send through the same provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRecord {
    pub at: DateTime<Utc>,
    pub recipient: String,
    pub template: String,
    pub content: ContentHash,
}

/// The message about to be sent, as the limits see it.
#[derive(Debug, Clone, Copy)]
pub struct LimitKey<'a> {
    pub recipient: &'a str,
    pub template: &'a str,
    pub content: &'a ContentHash,
}

/// A limit that is full: the message may go at `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferral {
    pub until: DateTime<Utc>,
    pub rule: LimitRule,
}

fn in_scope(rule: &LimitRule, r: &SentRecord, k: &LimitKey<'_>) -> bool {
    match rule.scope {
        Scope::Channel => true,
        Scope::Recipient => r.recipient == k.recipient,
        Scope::RecipientTemplate => r.recipient == k.recipient && r.template == k.template,
        Scope::RecipientContent => r.recipient == k.recipient && &r.content == k.content,
    }
}

/// Start of the calendar day after `now`'s, in `tz`.
fn next_local_midnight(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let today = now.with_timezone(&tz).date_naive();
    let mut day = today.checked_add_days(Days::new(1)).unwrap_or(today);
    // A zone may skip midnight (a DST jump); take the first instant of the day that exists.
    for _ in 0..3 {
        let mut t = NaiveTime::MIN;
        for _ in 0..48 {
            if let Some(dt) = tz.from_local_datetime(&day.and_time(t)).earliest() {
                return dt.with_timezone(&Utc);
            }
            t += chrono::Duration::minutes(30);
        }
        day = day.checked_add_days(Days::new(1)).unwrap_or(day);
    }
    now + chrono::Duration::days(1)
}

/// When the rule frees a slot, or `None` if it has one now.
fn rule_deferral(
    rule: &LimitRule,
    history: &[SentRecord],
    key: &LimitKey<'_>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Option<DateTime<Utc>> {
    let relevant = history.iter().filter(|r| in_scope(rule, r, key));
    match rule.window {
        Window::Rolling(d) => {
            let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
            let from = now
                .checked_sub_signed(d)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            let mut times: Vec<DateTime<Utc>> =
                relevant.map(|r| r.at).filter(|&at| at > from).collect();
            if (times.len() as u64) < rule.max as u64 {
                return None;
            }
            if rule.max == 0 {
                return Some(DateTime::<Utc>::MAX_UTC);
            }
            times.sort();
            // Once the oldest `len - max + 1` leave the window, fewer than `max` remain.
            let k = times.len() - rule.max as usize;
            Some(
                times[k]
                    .checked_add_signed(d)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC)
                    .max(now),
            )
        }
        Window::CalendarDay => {
            let today = now.with_timezone(&tz).date_naive();
            let n = relevant
                .filter(|r| r.at.with_timezone(&tz).date_naive() == today)
                .count();
            if (n as u64) < rule.max as u64 {
                None
            } else if rule.max == 0 {
                Some(DateTime::<Utc>::MAX_UTC)
            } else {
                Some(next_local_midnight(now, tz))
            }
        }
    }
}

/// `Ok` if `key` may be sent at `now` under every rule; otherwise the latest instant at which
/// all the full rules have freed a slot, assuming nothing else is sent meanwhile.
pub fn check(
    rules: &[LimitRule],
    history: &[SentRecord],
    key: &LimitKey<'_>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<(), Deferral> {
    let mut worst: Option<Deferral> = None;
    for rule in rules {
        if let Some(until) = rule_deferral(rule, history, key, now, tz)
            && worst.as_ref().is_none_or(|w| until > w.until)
        {
            worst = Some(Deferral { until, rule: *rule });
        }
    }
    match worst {
        Some(d) => Err(d),
        None => Ok(()),
    }
}

/// The oldest instant whose sends can still matter to `rules` at `now`: the dispatcher loads
/// the history from here on.
pub fn horizon(rules: &[LimitRule], now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let mut from = now;
    for rule in rules {
        let start = match rule.window {
            Window::Rolling(d) => now
                .checked_sub_signed(chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            Window::CalendarDay => {
                let today = now.with_timezone(&tz).date_naive();
                tz.from_local_datetime(&today.and_time(NaiveTime::MIN))
                    .earliest()
                    .map(|d| d.with_timezone(&Utc))
                    .unwrap_or(now - chrono::Duration::days(1))
            }
        };
        from = from.min(start);
    }
    from
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SH: Tz = chrono_tz::Asia::Shanghai;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hash(s: &str) -> ContentHash {
        ContentHash::of_parts(&[s])
    }

    fn rec(t: &str, to: &str, template: &str, content: &str) -> SentRecord {
        SentRecord {
            at: at(t),
            recipient: to.into(),
            template: template.into(),
            content: hash(content),
        }
    }

    #[test]
    fn windows_parse_and_print() {
        assert_eq!(
            "30s".parse::<Window>().unwrap(),
            Window::Rolling(Duration::from_secs(30))
        );
        assert_eq!("2d".parse::<Window>().unwrap().to_string(), "2d");
        assert_eq!(
            "calendar_day".parse::<Window>().unwrap(),
            Window::CalendarDay
        );
        assert!("0s".parse::<Window>().is_err());
        assert!("ten minutes".parse::<Window>().is_err());
        assert!("5w".parse::<Window>().is_err());
    }

    #[test]
    fn alibaba_allows_fifty_notices_a_beijing_day_per_template() {
        let rules = [LimitRule {
            scope: Scope::RecipientTemplate,
            max: 50,
            window: Window::CalendarDay,
        }];
        // 50 sends between 08:00 and 20:00 Beijing time on 1 March.
        let history: Vec<SentRecord> = (0..50)
            .map(|i| SentRecord {
                at: at("2025-03-01T00:00:00Z") + chrono::Duration::minutes(i * 14),
                recipient: "13800000001".into(),
                template: "reminder".into(),
                content: hash(&i.to_string()),
            })
            .collect();
        let c = hash("new");
        let key = LimitKey {
            recipient: "13800000001",
            template: "reminder",
            content: &c,
        };
        let now = at("2025-03-01T13:00:00Z"); // 21:00 Beijing
        let d = check(&rules, &history, &key, now, SH).unwrap_err();
        assert_eq!(d.until, at("2025-03-01T16:00:00Z")); // 00:00 Beijing on 2 March
        let other = LimitKey {
            template: "digest",
            ..key
        };
        assert!(check(&rules, &history, &other, now, SH).is_ok());
        let someone_else = LimitKey {
            recipient: "13800000002",
            ..key
        };
        assert!(check(&rules, &history, &someone_else, now, SH).is_ok());
        // 16:30Z on 1 March is already 2 March in Beijing: a new day.
        assert!(check(&rules, &history, &key, at("2025-03-01T16:30:00Z"), SH).is_ok());
    }

    #[test]
    fn tencent_defaults_defer_identical_content_for_thirty_seconds_and_cap_the_day() {
        let rules = default_rules("tencent");
        let history = vec![rec("2025-03-01T01:00:00Z", "138", "reminder", "A")];
        let a = hash("A");
        let b = hash("B");
        let same = LimitKey {
            recipient: "138",
            template: "reminder",
            content: &a,
        };
        let d = check(&rules, &history, &same, at("2025-03-01T01:00:10Z"), SH).unwrap_err();
        assert_eq!(d.until, at("2025-03-01T01:00:30Z"));
        assert_eq!(d.rule.scope, Scope::RecipientContent);
        let other = LimitKey {
            content: &b,
            ..same
        };
        assert!(check(&rules, &history, &other, at("2025-03-01T01:00:10Z"), SH).is_ok());
        let history = vec![
            history[0].clone(),
            rec("2025-03-01T02:00:00Z", "138", "reminder", "B"),
        ];
        let c = hash("C");
        let third = LimitKey {
            content: &c,
            ..same
        };
        let d = check(&rules, &history, &third, at("2025-03-01T03:00:00Z"), SH).unwrap_err();
        assert_eq!(d.until, at("2025-03-01T16:00:00Z"));
    }

    #[test]
    fn the_latest_of_several_full_rules_wins() {
        let rules = [
            LimitRule {
                scope: Scope::Recipient,
                max: 1,
                window: Window::Rolling(Duration::from_secs(60)),
            },
            LimitRule {
                scope: Scope::Channel,
                max: 2,
                window: Window::Rolling(Duration::from_secs(600)),
            },
        ];
        let history = vec![
            rec("2025-03-01T01:00:00Z", "x", "t", "1"),
            rec("2025-03-01T01:05:00Z", "y", "t", "2"),
        ];
        let c = hash("3");
        let key = LimitKey {
            recipient: "y",
            template: "t",
            content: &c,
        };
        let d = check(&rules, &history, &key, at("2025-03-01T01:05:30Z"), SH).unwrap_err();
        assert_eq!(d.until, at("2025-03-01T01:10:00Z"));
        assert_eq!(d.rule.scope, Scope::Channel);
        assert_eq!(
            horizon(&rules, at("2025-03-01T01:05:30Z"), SH),
            at("2025-03-01T00:55:30Z")
        );
    }

    fn rules_strategy() -> impl Strategy<Value = Vec<LimitRule>> {
        let scope = prop_oneof![
            Just(Scope::Channel),
            Just(Scope::Recipient),
            Just(Scope::RecipientTemplate),
            Just(Scope::RecipientContent)
        ];
        let window = prop_oneof![
            Just(Window::CalendarDay),
            (1u64..7200).prop_map(|s| Window::Rolling(Duration::from_secs(s)))
        ];
        prop::collection::vec(
            (scope, 1u32..5, window).prop_map(|(scope, max, window)| LimitRule {
                scope,
                max,
                window,
            }),
            0..4,
        )
    }

    proptest! {
        /// A deferral is exact: at `until` the message may go, one second earlier it may not.
        #[test]
        fn deferrals_end_exactly_when_a_slot_frees(
            rules in rules_strategy(),
            sends in prop::collection::vec((0i64..86_400, 0usize..3, 0usize..2, 0usize..2), 0..30),
            now_offset in 0i64..86_400,
        ) {
            let base = at("2025-03-01T00:00:00Z");
            let now = base + chrono::Duration::seconds(86_400 + now_offset);
            let history: Vec<SentRecord> = sends.iter().map(|&(s, who, t, c)| SentRecord {
                at: now - chrono::Duration::seconds(s),
                recipient: format!("r{who}"),
                template: format!("t{t}"),
                content: hash(&format!("c{c}")),
            }).collect();
            let c = hash("c0");
            let key = LimitKey { recipient: "r0", template: "t0", content: &c };
            match check(&rules, &history, &key, now, SH) {
                Ok(()) => {
                    for rule in &rules {
                        prop_assert!(rule_deferral(rule, &history, &key, now, SH).is_none());
                    }
                }
                Err(d) => {
                    prop_assert!(d.until > now);
                    prop_assert!(check(&rules, &history, &key, d.until, SH).is_ok());
                    let just_before = d.until - chrono::Duration::seconds(1);
                    if just_before >= now {
                        prop_assert!(check(&rules, &history, &key, just_before, SH).is_err());
                    }
                }
            }
        }

        /// Sending only when `check` allows never exceeds any rule in any window.
        #[test]
        fn obeying_check_never_exceeds_a_limit(
            rules in rules_strategy(),
            arrivals in prop::collection::vec((1i64..900, 0usize..2), 1..60),
        ) {
            let mut now = at("2025-03-01T00:00:00Z");
            let mut history: Vec<SentRecord> = Vec::new();
            let c = hash("same");
            for (gap, who) in arrivals {
                now += chrono::Duration::seconds(gap);
                let to = format!("r{who}");
                let key = LimitKey { recipient: &to, template: "t", content: &c };
                if check(&rules, &history, &key, now, SH).is_ok() {
                    history.push(SentRecord { at: now, recipient: to.clone(), template: "t".into(), content: c.clone() });
                }
                for rule in &rules {
                    for r in &history {
                        let k = LimitKey { recipient: &r.recipient, template: &r.template, content: &r.content };
                        let count = history.iter().filter(|o| in_scope(rule, o, &k) && match rule.window {
                            Window::Rolling(d) => o.at <= r.at && o.at > r.at - chrono::Duration::from_std(d).unwrap(),
                            Window::CalendarDay => o.at <= r.at && o.at.with_timezone(&SH).date_naive() == r.at.with_timezone(&SH).date_naive(),
                        }).count();
                        prop_assert!(count as u32 <= rule.max, "{} exceeded: {} sends", rule, count);
                    }
                }
            }
        }
    }
}
