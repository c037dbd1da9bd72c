//! Tencent Cloud's API 3.0 signature, `TC3-HMAC-SHA256`, for JSON POST requests.
//!
//! ```text
//! CanonicalRequest = POST \n / \n \n content-type:<ct>\nhost:<host>\n \n content-type;host \n
//!                    HexEncode(SHA256(payload))
//! StringToSign     = TC3-HMAC-SHA256 \n <timestamp> \n <date>/<service>/tc3_request \n
//!                    HexEncode(SHA256(CanonicalRequest))
//! SecretDate = HMAC("TC3" + SecretKey, date); SecretService = HMAC(SecretDate, service);
//! SecretSigning = HMAC(SecretService, "tc3_request")
//! Signature = HexEncode(HMAC(SecretSigning, StringToSign))
//! ```
//!
//! `date` is the UTC date of the timestamp: using local time breaks every request made
//! between 00:00 and 08:00 in Beijing.

use super::{hmac_sha256, sha256_hex};
use chrono::DateTime;

pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The parts of a signature, kept for tests and for a verifying server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tc3 {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signature: String,
    pub authorization: String,
}

/// `YYYY-MM-DD` in UTC for a Unix timestamp.
pub fn utc_date(timestamp: i64) -> String {
    DateTime::from_timestamp(timestamp, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".to_string())
}

pub fn canonical_request(host: &str, content_type: &str, payload: &[u8]) -> String {
    format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\ncontent-type;host\n{}",
        content_type.trim().to_ascii_lowercase(),
        host.trim().to_ascii_lowercase(),
        sha256_hex(payload)
    )
}

/// Signs a JSON POST to `host` for `service` at `timestamp` (Unix seconds).
pub fn sign(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    host: &str,
    timestamp: i64,
    content_type: &str,
    payload: &[u8],
) -> Tc3 {
    let date = utc_date(timestamp);
    let canonical_request = canonical_request(host, content_type, payload);
    let scope = format!("{date}/{service}/tc3_request");
    let string_to_sign = format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, service.as_bytes());
    let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
    let signature = hex::encode(hmac_sha256(&secret_signing, string_to_sign.as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"
    );
    Tc3 {
        canonical_request,
        string_to_sign,
        signature,
        authorization,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The payload of Tencent Cloud's "Signature v3" example (CVM DescribeInstances in
    /// ap-guangzhou), byte for byte: `\u672a\u547d\u540d` is written as an escape.
    const PAYLOAD: &str =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;

    /// Tencent Cloud's "Signature v3" page: SecretId `AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE`,
    /// SecretKey `Gu5t9xGARNpq86cd98joQYCN3EXAMPLE`, timestamp 1551113065, host
    /// `cvm.tencentcloudapi.com`. The page publishes the payload hash, the hashed canonical
    /// request, the string to sign and the final Authorization checked here.
    #[test]
    fn reproduces_tencents_published_example() {
        let s = sign(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "cvm",
            "cvm.tencentcloudapi.com",
            1551113065,
            JSON_CONTENT_TYPE,
            PAYLOAD.as_bytes(),
        );
        assert_eq!(
            sha256_hex(PAYLOAD.as_bytes()),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            s.canonical_request,
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n\
             content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            s.string_to_sign,
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n\
             5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        assert_eq!(
            s.authorization,
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, \
             Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    /// The current Chinese edition of the same page masks the key as
    /// `Gu5t9xGARNpq86cd98joQYCN3*******` and publishes the signature for that literal key.
    #[test]
    fn reproduces_the_masked_key_edition_of_the_example() {
        let s = sign(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
            "Gu5t9xGARNpq86cd98joQYCN3*******",
            "cvm",
            "cvm.tencentcloudapi.com",
            1551113065,
            JSON_CONTENT_TYPE,
            PAYLOAD.as_bytes(),
        );
        assert_eq!(
            s.signature,
            "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
        );
    }

    #[test]
    fn the_date_is_utc_not_beijing() {
        // 2019-02-26 00:44:25 in Beijing is still the 25th in UTC.
        assert_eq!(utc_date(1551113065), "2019-02-25");
    }
}
