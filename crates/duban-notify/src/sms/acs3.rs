//! Alibaba Cloud's request signature V3, `ACS3-HMAC-SHA256`.
//!
//! ```text
//! CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
//!                    SignedHeaders \n HexEncode(SHA256(body))
//! StringToSign     = "ACS3-HMAC-SHA256" \n HexEncode(SHA256(CanonicalRequest))
//! Signature        = HexEncode(HMAC-SHA256(AccessKeySecret, StringToSign))
//! Authorization    = ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<names>,Signature=<sig>
//! ```
//!
//! The signed headers are `host`, `content-type` and every `x-acs-*` header, lowercased,
//! trimmed and sorted; query parameters are RFC 3986 encoded and sorted by name.

use super::{hmac_sha256, percent_encode, sha256_hex};

pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// The canonical query string: names and values RFC 3986 encoded, sorted by encoded name
/// (then value), joined with `&`.
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut enc: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    enc.sort();
    enc.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The headers that take part in the signature, as `(CanonicalHeaders, SignedHeaders)`.
pub fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(k, _)| k == "host" || k == "content-type" || k.starts_with("x-acs-"))
        .collect();
    signed.sort();
    let canonical: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let names = signed
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (canonical, names)
}

/// The canonical request. `headers` must already hold `x-acs-content-sha256` = SHA-256 of the body.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    hashed_payload: &str,
) -> (String, String) {
    let (canon_headers, signed) = canonical_headers(headers);
    let req = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        canonical_uri,
        canonical_query(query),
        canon_headers,
        signed,
        hashed_payload
    );
    (req, signed)
}

pub fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", sha256_hex(canonical_request.as_bytes()))
}

pub fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(
        access_key_secret.as_bytes(),
        string_to_sign.as_bytes(),
    ))
}

pub fn authorization(access_key_id: &str, signed_headers: &str, signature: &str) -> String {
    format!(
        "{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}"
    )
}

/// Signs a request in one step and returns the `Authorization` value.
pub fn sign(
    access_key_id: &str,
    access_key_secret: &str,
    method: &str,
    canonical_uri: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    hashed_payload: &str,
) -> String {
    let (req, signed) = canonical_request(method, canonical_uri, query, headers, hashed_payload);
    let sig = signature(access_key_secret, &string_to_sign(&req));
    authorization(access_key_id, &signed, &sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The worked example of Alibaba Cloud's "Request syntax and signature method V3" page:
    /// ECS RunInstances, AccessKey `YourAccessKeyId` / `YourAccessKeySecret`, nonce
    /// `3156853299f313e23d1673dc12e1703d`, date `2023-10-26T10:22:32Z`, empty body. The page
    /// publishes the hashed canonical request and the final signature checked here.
    #[test]
    fn reproduces_alibabas_published_v3_example() {
        let query = pairs(&[
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            ),
            ("RegionId", "cn-shanghai"),
        ]);
        let hashed_payload = sha256_hex(b"");
        assert_eq!(
            hashed_payload,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let headers = pairs(&[
            ("x-acs-version", "2014-05-26"),
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-content-sha256", &hashed_payload),
            ("accept", "application/json"),
        ]);
        let (req, signed) = canonical_request("POST", "/", &query, &headers, &hashed_payload);
        assert_eq!(
            signed,
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
        );
        assert_eq!(
            req,
            "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n\
             host:ecs.cn-shanghai.aliyuncs.com\nx-acs-action:RunInstances\n\
             x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
             x-acs-date:2023-10-26T10:22:32Z\nx-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n\
             x-acs-version:2014-05-26\n\n\
             host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            string_to_sign(&req),
            "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(
            sign(
                "YourAccessKeyId",
                "YourAccessKeySecret",
                "POST",
                "/",
                &query,
                &headers,
                &hashed_payload
            ),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,\
             SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,\
             Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    #[test]
    fn query_values_with_json_and_chinese_are_encoded_and_sorted() {
        let q = pairs(&[
            ("TemplateParam", "{\"unit\":\"第一支部\"}"),
            ("PhoneNumbers", "13812348000"),
        ]);
        assert_eq!(
            canonical_query(&q),
            "PhoneNumbers=13812348000&TemplateParam=%7B%22unit%22%3A%22%E7%AC%AC%E4%B8%80%E6%94%AF%E9%83%A8%22%7D"
        );
    }
}
