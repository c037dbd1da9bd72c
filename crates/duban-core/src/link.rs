//! Signed links: what a reminder's "请通过以下链接确认" carries. A link names the person it
//! was sent to, the timer that sent it (so the instance and the step, hence the answer
//! asked) and when it expires, and is signed with HMAC-SHA-256 under a key duban alone
//! holds. Short enough for an SMS: about 40 characters.
//!
//! A signature proves who a link was made for, not that it has not been used: the store
//! keeps used links ([`fingerprint`]) so a link acts once.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
/// Bytes of the MAC kept: 128 bits.
const MAC_LEN: usize = 16;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkClaim {
    pub person: i64,
    pub timer: i64,
    /// Whole seconds.
    pub expires: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is incomplete or not a duban link")]
    Malformed,
    #[error("the link has been altered")]
    Tampered,
    #[error("the link expired at {0}")]
    Expired(DateTime<Utc>),
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn mac(key: &[u8], payload: &[u8]) -> [u8; MAC_LEN] {
    // HMAC accepts keys of any length.
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(payload);
    let full = m.finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    out
}

/// The token for `claim` under `key`.
pub fn sign(key: &[u8], claim: &LinkClaim) -> String {
    let mut payload = vec![VERSION];
    put_varint(&mut payload, claim.person as u64);
    put_varint(&mut payload, claim.timer as u64);
    put_varint(&mut payload, claim.expires.timestamp().max(0) as u64);
    let tag = mac(key, &payload);
    payload.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(payload)
}

/// Checks a token's signature and expiry at `now`.
pub fn verify(key: &[u8], token: &str, now: DateTime<Utc>) -> Result<LinkClaim, LinkError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| LinkError::Malformed)?;
    if bytes.len() <= MAC_LEN + 1 {
        return Err(LinkError::Malformed);
    }
    let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
    if payload[0] != VERSION {
        return Err(LinkError::Malformed);
    }
    let expected = mac(key, payload);
    // Constant time: the comparison must not say how many bytes matched.
    let differ = expected
        .iter()
        .zip(tag)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if differ != 0 {
        return Err(LinkError::Tampered);
    }
    let mut at = 1;
    let person = take_varint(payload, &mut at).ok_or(LinkError::Malformed)?;
    let timer = take_varint(payload, &mut at).ok_or(LinkError::Malformed)?;
    let expires = take_varint(payload, &mut at).ok_or(LinkError::Malformed)?;
    if at != payload.len() {
        return Err(LinkError::Malformed);
    }
    let expires = i64::try_from(expires)
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or(LinkError::Malformed)?;
    let claim = LinkClaim {
        person: i64::try_from(person).map_err(|_| LinkError::Malformed)?,
        timer: i64::try_from(timer).map_err(|_| LinkError::Malformed)?,
        expires,
    };
    if now >= claim.expires {
        return Err(LinkError::Expired(claim.expires));
    }
    Ok(claim)
}

/// What the store keeps of a used link: its SHA-256, hex.
pub fn fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.trim().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    const KEY: &[u8] = b"a key of thirty-two bytes, or so";

    #[test]
    fn a_link_is_short_enough_for_an_sms() {
        let t = sign(
            KEY,
            &LinkClaim {
                person: 12_345,
                timer: 9_876_543,
                expires: at(1_800_000_000),
            },
        );
        assert!(t.len() <= 44, "{t} is {} characters", t.len());
    }

    #[test]
    fn expiry_tampering_and_other_keys_are_refused() {
        let claim = LinkClaim {
            person: 7,
            timer: 42,
            expires: at(2_000),
        };
        let t = sign(KEY, &claim);
        assert_eq!(verify(KEY, &t, at(1_999)), Ok(claim));
        assert_eq!(
            verify(KEY, &t, at(2_000)),
            Err(LinkError::Expired(at(2_000)))
        );
        assert_eq!(
            verify(b"another key", &t, at(1_000)),
            Err(LinkError::Tampered)
        );
        assert_eq!(
            verify(KEY, "not a link!", at(1_000)),
            Err(LinkError::Malformed)
        );
        assert_eq!(verify(KEY, "", at(1_000)), Err(LinkError::Malformed));
    }

    proptest! {
        #[test]
        fn round_trip(person in 0i64..i64::MAX, timer in 0i64..i64::MAX, exp in 1i64..4_000_000_000) {
            let claim = LinkClaim { person, timer, expires: at(exp) };
            prop_assert_eq!(verify(KEY, &sign(KEY, &claim), at(0)), Ok(claim));
        }

        #[test]
        fn any_changed_byte_is_refused(person in 0i64..1_000_000, timer in 0i64..1_000_000, pos in 0usize..64, bit in 0u8..8) {
            let claim = LinkClaim { person, timer, expires: at(3_000_000_000) };
            let t = sign(KEY, &claim);
            let mut bytes = URL_SAFE_NO_PAD.decode(&t).unwrap();
            let i = pos % bytes.len();
            bytes[i] ^= 1 << bit;
            let changed = URL_SAFE_NO_PAD.encode(&bytes);
            prop_assert!(verify(KEY, &changed, at(0)).is_err());
        }
    }
}
