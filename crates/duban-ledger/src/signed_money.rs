//! Serde for signed amounts (postings, balances): a string such as `"-2000.00"`.
//! `Money`'s own serde refuses a sign, because amounts people type are never negative.

use duban_core::money::{Money, parse_amount};
use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(m: &Money, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(m)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
    let s = String::deserialize(d)?;
    parse_signed(&s).map_err(serde::de::Error::custom)
}

/// Parses `-2000.00` or `2000.00` exactly.
pub fn parse_signed(s: &str) -> Result<Money, String> {
    let t = s.trim();
    let (neg, rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let m = parse_amount(rest).map_err(|e| e.to_string())?;
    if neg {
        m.checked_neg()
            .ok_or_else(|| "amount out of range".to_string())
    } else {
        Ok(m)
    }
}
