//! Quiet hours: when a channel may deliver. By default SMS and email go out only between
//! 08:00 and 21:00 on working days. A due time outside that moves to the next allowed moment;
//! a step marked urgent ignores quiet hours.

use crate::calendar::Calendar;
use chrono::{NaiveDateTime, NaiveTime};
use duban_core::register::Channel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// When one channel may deliver, in the workflow's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendWindow {
    /// First allowed minute, e.g. 08:00.
    #[serde(with = "hhmm")]
    pub from: NaiveTime,
    /// First minute no longer allowed, e.g. 21:00.
    #[serde(with = "hhmm")]
    pub until: NaiveTime,
    /// Only on working days of the official calendar.
    pub working_days_only: bool,
}

impl Default for SendWindow {
    fn default() -> Self {
        SendWindow {
            from: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN),
            until: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or(NaiveTime::MIN),
            working_days_only: true,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QuietHoursError {
    #[error("quiet_hours.{channel}: `from` ({from}) must be before `until` ({until})")]
    EmptyWindow {
        channel: Channel,
        from: NaiveTime,
        until: NaiveTime,
    },
}

/// Quiet hours per channel. A channel without a window may deliver at any time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QuietHours {
    windows: BTreeMap<Channel, SendWindow>,
}

impl Default for QuietHours {
    /// SMS and email: 08:00–21:00 on working days.
    fn default() -> Self {
        let mut windows = BTreeMap::new();
        windows.insert(Channel::Sms, SendWindow::default());
        windows.insert(Channel::Email, SendWindow::default());
        QuietHours { windows }
    }
}

impl QuietHours {
    /// Builds quiet hours from per-channel windows; each window must be non-empty.
    pub fn new(windows: BTreeMap<Channel, SendWindow>) -> Result<Self, QuietHoursError> {
        for (channel, w) in &windows {
            if w.from >= w.until {
                return Err(QuietHoursError::EmptyWindow {
                    channel: *channel,
                    from: w.from,
                    until: w.until,
                });
            }
        }
        Ok(QuietHours { windows })
    }

    /// No quiet hours at all.
    pub fn none() -> Self {
        QuietHours {
            windows: BTreeMap::new(),
        }
    }

    pub fn window(&self, channel: Channel) -> Option<&SendWindow> {
        self.windows.get(&channel)
    }

    /// Whether `channel` may deliver at local time `t`.
    pub fn allows(&self, channel: Channel, t: NaiveDateTime, cal: &Calendar) -> bool {
        match self.windows.get(&channel) {
            None => true,
            Some(w) => {
                (!w.working_days_only || cal.is_workday(t.date()))
                    && t.time() >= w.from
                    && t.time() < w.until
            }
        }
    }

    /// The first moment at or after `t` at which `channel` may deliver.
    pub fn next_allowed(
        &self,
        channel: Channel,
        t: NaiveDateTime,
        cal: &Calendar,
    ) -> NaiveDateTime {
        let Some(w) = self.windows.get(&channel) else {
            return t;
        };
        if self.allows(channel, t, cal) {
            return t;
        }
        let mut date = if t.time() < w.from {
            t.date()
        } else {
            t.date().succ_opt().unwrap_or(t.date())
        };
        if w.working_days_only {
            date = cal.workday_on_or_after(date);
        }
        date.and_time(w.from)
    }

    /// The first moment at or after `t` at which every channel in `channels` may deliver.
    /// Windows that never overlap (a misconfiguration) leave `t` at the latest candidate found
    /// after a bounded search rather than looping.
    pub fn next_allowed_all(
        &self,
        channels: &[Channel],
        t: NaiveDateTime,
        cal: &Calendar,
    ) -> NaiveDateTime {
        let mut t = t;
        for _ in 0..64 {
            let mut moved = false;
            for &c in channels {
                let n = self.next_allowed(c, t, cal);
                if n != t {
                    t = n;
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
        t
    }
}

/// `"HH:MM"` for serde.
pub mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        if *t == super::END_OF_DAY {
            return s.serialize_str("24:00");
        }
        s.serialize_str(&t.format("%H:%M").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_hhmm(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not a time of day; write it as \"HH:MM\", e.g. \"08:00\""
            ))
        })
    }
}

/// The end of a day, as `"24:00"` names it: a window `until = "24:00"` lasts to midnight.
pub const END_OF_DAY: NaiveTime = match NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

/// Parses `"HH:MM"` (24-hour clock); `"24:00"` is the end of the day.
pub fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    if (h, m) == ("24", "00") {
        return Some(END_OF_DAY);
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_until_24_00_lasts_to_midnight() {
        let until = parse_hhmm("24:00").unwrap();
        assert!(parse_hhmm("23:59").unwrap() < until);
        let w = SendWindow {
            from: parse_hhmm("00:00").unwrap(),
            until,
            working_days_only: false,
        };
        let q = QuietHours::new([(Channel::Sms, w)].into()).unwrap();
        let cal = Calendar::default();
        for t in ["2026-12-05 00:00", "2026-12-05 23:59", "2026-12-06 12:00"] {
            assert!(q.allows(Channel::Sms, at(t), &cal), "{t}");
        }
        assert_eq!(parse_hhmm("24:01"), None);
        assert_eq!(parse_hhmm("25:00"), None);
    }
    use chrono::NaiveDate;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn moves_to_the_next_allowed_moment() {
        let cal = Calendar::weekends_only();
        let q = QuietHours::default();
        // Friday evening → Monday 08:00.
        assert_eq!(
            q.next_allowed(Channel::Sms, at("2027-01-08 21:00"), &cal),
            at("2027-01-11 08:00")
        );
        // Early morning → same day 08:00.
        assert_eq!(
            q.next_allowed(Channel::Email, at("2027-01-08 06:30"), &cal),
            at("2027-01-08 08:00")
        );
        // Inside the window: unchanged.
        assert_eq!(
            q.next_allowed(Channel::Sms, at("2027-01-08 20:59"), &cal),
            at("2027-01-08 20:59")
        );
        assert!(QuietHours::none().allows(Channel::Sms, at("2027-01-09 03:00"), &cal));
    }

    #[test]
    fn different_windows_meet() {
        let cal = Calendar::weekends_only();
        let mut w = BTreeMap::new();
        w.insert(
            Channel::Sms,
            SendWindow {
                from: parse_hhmm("09:00").unwrap(),
                until: parse_hhmm("12:00").unwrap(),
                working_days_only: true,
            },
        );
        w.insert(
            Channel::Email,
            SendWindow {
                from: parse_hhmm("10:00").unwrap(),
                until: parse_hhmm("20:00").unwrap(),
                working_days_only: false,
            },
        );
        let q = QuietHours::new(w).unwrap();
        let t = q.next_allowed_all(
            &[Channel::Sms, Channel::Email],
            at("2027-01-09 11:00"),
            &cal,
        );
        assert_eq!(t, at("2027-01-11 10:00"));
        assert_eq!(NaiveDate::from_ymd_opt(2027, 1, 11).unwrap(), t.date());
    }

    #[test]
    fn empty_windows_are_rejected() {
        let mut w = BTreeMap::new();
        w.insert(
            Channel::Sms,
            SendWindow {
                from: parse_hhmm("21:00").unwrap(),
                until: parse_hhmm("08:00").unwrap(),
                working_days_only: true,
            },
        );
        assert!(QuietHours::new(w).is_err());
        assert_eq!(parse_hhmm("25:00"), None);
        assert_eq!(parse_hhmm("8:00"), NaiveTime::from_hms_opt(8, 0, 0));
    }
}
