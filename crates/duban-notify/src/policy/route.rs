//! Which channels carry a reminder to a person.
//!
//! Each person lists preferred channels. A channel is usable when the person has a plausible
//! address for it and it has not failed permanently for that address (an invalid number, a
//! bounced mailbox). The preferred usable channels are used; if none is usable, any usable
//! channel is (no email → SMS only); if there is none at all the person is unreachable and the
//! dispatcher escalates to the superior unit.

use duban_core::register::{Channel, Person};
use serde::{Deserialize, Serialize};

/// What we know about how to reach a person.
#[derive(Debug, Clone, Copy)]
pub struct Contact<'a> {
    pub mobile: Option<&'a str>,
    pub email: Option<&'a str>,
    /// In order of preference.
    pub preferred: &'a [Channel],
}

impl<'a> From<&'a Person> for Contact<'a> {
    fn from(p: &'a Person) -> Self {
        Contact {
            mobile: p.mobile.as_deref(),
            email: p.email.as_deref(),
            preferred: &p.channels,
        }
    }
}

/// Whether a reminder goes out on every usable preferred channel or only the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RoutingMode {
    #[default]
    AllPreferred,
    FirstUsable,
}

/// Why nobody can be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unreachable {
    /// Neither a mobile number nor an email address on file.
    NoContact,
    /// Addresses on file, but every one is malformed or has failed permanently.
    NoUsableChannel,
}

/// The outcome of [`route`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Send on these channels, in this order.
    Send(Vec<Channel>),
    /// Escalate: the person cannot be reached.
    Unreachable(Unreachable),
}

/// A mainland mobile (11 digits starting with 1, optional `+86`) or an international number.
pub fn plausible_mobile(m: &str) -> bool {
    let d = crate::sms::mainland_digits(m.trim());
    let mainland = d.len() == 11 && d.starts_with('1') && d.bytes().all(|b| b.is_ascii_digit());
    let international = d.strip_prefix('+').is_some_and(|rest| {
        (8..=15).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit())
    });
    mainland || international
}

/// One `@`, something on either side, a dot or `localhost` in the domain, no spaces.
pub fn plausible_email(e: &str) -> bool {
    let e = e.trim();
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && (domain.contains('.') || domain == "localhost")
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Chooses the channels for `contact`. `failed` lists channels that failed permanently with
/// an invalid-recipient error for the person's current address.
pub fn route(contact: &Contact<'_>, mode: RoutingMode, failed: &[Channel]) -> Route {
    if contact.mobile.is_none_or(|m| m.trim().is_empty())
        && contact.email.is_none_or(|e| e.trim().is_empty())
    {
        return Route::Unreachable(Unreachable::NoContact);
    }
    let usable = |c: Channel| {
        !failed.contains(&c)
            && match c {
                Channel::Sms => contact.mobile.is_some_and(plausible_mobile),
                Channel::Email => contact.email.is_some_and(plausible_email),
            }
    };
    let mut chosen: Vec<Channel> = Vec::new();
    for &c in contact.preferred {
        if usable(c) && !chosen.contains(&c) {
            chosen.push(c);
        }
    }
    if chosen.is_empty()
        && let Some(c) = [Channel::Sms, Channel::Email]
            .into_iter()
            .find(|&c| usable(c))
    {
        chosen.push(c);
    }
    if chosen.is_empty() {
        return Route::Unreachable(Unreachable::NoUsableChannel);
    }
    if mode == RoutingMode::FirstUsable {
        chosen.truncate(1);
    }
    Route::Send(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn contact<'a>(
        mobile: Option<&'a str>,
        email: Option<&'a str>,
        preferred: &'a [Channel],
    ) -> Contact<'a> {
        Contact {
            mobile,
            email,
            preferred,
        }
    }

    #[test]
    fn preferred_channels_are_used_in_order() {
        let both = [Channel::Email, Channel::Sms];
        let c = contact(Some("13812348000"), Some("a@b.cn"), &both);
        assert_eq!(
            route(&c, RoutingMode::AllPreferred, &[]),
            Route::Send(vec![Channel::Email, Channel::Sms])
        );
        assert_eq!(
            route(&c, RoutingMode::FirstUsable, &[]),
            Route::Send(vec![Channel::Email])
        );
    }

    #[test]
    fn no_email_means_sms_only() {
        let c = contact(Some("13812348000"), None, &[Channel::Email]);
        assert_eq!(
            route(&c, RoutingMode::AllPreferred, &[]),
            Route::Send(vec![Channel::Sms])
        );
        let c = contact(
            Some("13812348000"),
            Some("not-an-address"),
            &[Channel::Email, Channel::Sms],
        );
        assert_eq!(
            route(&c, RoutingMode::AllPreferred, &[]),
            Route::Send(vec![Channel::Sms])
        );
    }

    #[test]
    fn nobody_to_tell_is_unreachable() {
        assert_eq!(
            route(
                &contact(None, None, &[Channel::Sms]),
                RoutingMode::AllPreferred,
                &[]
            ),
            Route::Unreachable(Unreachable::NoContact)
        );
        let c = contact(Some("12345"), Some("x@"), &[Channel::Sms]);
        assert_eq!(
            route(&c, RoutingMode::AllPreferred, &[]),
            Route::Unreachable(Unreachable::NoUsableChannel)
        );
        let c = contact(Some("13812348000"), None, &[Channel::Sms]);
        assert_eq!(
            route(&c, RoutingMode::AllPreferred, &[Channel::Sms]),
            Route::Unreachable(Unreachable::NoUsableChannel)
        );
    }

    #[test]
    fn a_person_from_the_register_routes() {
        let p = Person {
            name: "张三".into(),
            post: None,
            mobile: Some("13812348000".into()),
            email: None,
            channels: vec![Channel::Sms, Channel::Email],
        };
        assert_eq!(
            route(&Contact::from(&p), RoutingMode::AllPreferred, &[]),
            Route::Send(vec![Channel::Sms])
        );
    }

    proptest! {
        #[test]
        fn routes_only_use_usable_channels(
            mobile in prop::option::of("(1[0-9]{10}|[0-9]{3,8}|\\+852[0-9]{8})"),
            email in prop::option::of("([a-z]{1,5}@[a-z]{1,5}\\.cn|[a-z@ ]{1,6})"),
            preferred in prop::collection::vec(prop_oneof![Just(Channel::Sms), Just(Channel::Email)], 0..3),
            failed in prop::collection::vec(prop_oneof![Just(Channel::Sms), Just(Channel::Email)], 0..2),
            first in any::<bool>(),
        ) {
            let c = contact(mobile.as_deref(), email.as_deref(), &preferred);
            let mode = if first { RoutingMode::FirstUsable } else { RoutingMode::AllPreferred };
            let sms_ok = mobile.as_deref().is_some_and(plausible_mobile) && !failed.contains(&Channel::Sms);
            let email_ok = email.as_deref().is_some_and(plausible_email) && !failed.contains(&Channel::Email);
            match route(&c, mode, &failed) {
                Route::Send(chs) => {
                    prop_assert!(!chs.is_empty());
                    if first { prop_assert_eq!(chs.len(), 1); }
                    for ch in &chs {
                        let ok = match ch { Channel::Sms => sms_ok, Channel::Email => email_ok };
                        prop_assert!(ok, "{:?} is not usable", ch);
                    }
                    let mut dedup = chs.clone();
                    dedup.dedup();
                    prop_assert_eq!(dedup.len(), chs.len());
                }
                Route::Unreachable(_) => prop_assert!(!sms_ok && !email_ok),
            }
        }
    }
}
