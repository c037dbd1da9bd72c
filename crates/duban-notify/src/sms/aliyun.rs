//! Alibaba Cloud SMS (Dysmsapi 2017-05-25): `SendSms` and `SendBatchSms`, signed with
//! ACS3-HMAC-SHA256. Parameters travel in the query string (RPC style), the body is empty.
//!
//! A reply is JSON `{"Code": "OK", "Message": "OK", "BizId": "…", "RequestId": "…"}`; any other
//! `Code` is an error, classified by [`classify`] from Alibaba's published error codes.

use super::{
    acs3, classify_reqwest_error, classify_status, host_header, read_response, sha256_hex,
};
use crate::channel::{BoxFuture, Channel};
use crate::error::{Failure, FailureKind, SendError};
use crate::message::{Delivery, SmsMessage};
use crate::settings::AliyunTemplate;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::time::Duration;

pub const PROVIDER: &str = "aliyun";
pub const API_VERSION: &str = "2017-05-25";
/// SendBatchSms takes at most 100 numbers per call.
pub const BATCH_MAX: usize = 100;

/// The Alibaba Cloud SMS channel.
pub struct AliyunSms {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    access_key_id: SecretString,
    access_key_secret: SecretString,
    sign_name: String,
    templates: BTreeMap<String, AliyunTemplate>,
}

impl AliyunSms {
    pub fn new(
        endpoint: reqwest::Url,
        access_key_id: SecretString,
        access_key_secret: SecretString,
        sign_name: String,
        templates: BTreeMap<String, AliyunTemplate>,
        timeout: Duration,
    ) -> Self {
        AliyunSms {
            client: super::http_client(timeout),
            endpoint,
            access_key_id,
            access_key_secret,
            sign_name,
            templates,
        }
    }

    fn template(&self, name: &str) -> Result<&AliyunTemplate, SendError> {
        super::lookup(&self.templates, PROVIDER, name)
    }

    /// The `TemplateParam` object: each provider variable filled from the message parameter
    /// the mapping names; with no mapping, the message's parameters under their own names.
    fn template_param(&self, t: &AliyunTemplate, m: &SmsMessage) -> Result<String, SendError> {
        let mut obj = serde_json::Map::new();
        if t.params.is_empty() {
            for (k, v) in &m.params {
                obj.insert(k.clone(), serde_json::Value::String(v.clone()));
            }
        } else {
            for (var, ours) in &t.params {
                let v = super::param(PROVIDER, m, ours)?;
                obj.insert(var.clone(), serde_json::Value::String(v.to_string()));
            }
        }
        Ok(serde_json::Value::Object(obj).to_string())
    }

    /// One signed call of `action` with `params` in the query string.
    async fn call(
        &self,
        action: &str,
        params: Vec<(String, String)>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, SendError> {
        let hashed = sha256_hex(b"");
        let headers = vec![
            ("host".to_string(), host_header(&self.endpoint)),
            ("x-acs-action".to_string(), action.to_string()),
            ("x-acs-version".to_string(), API_VERSION.to_string()),
            (
                "x-acs-date".to_string(),
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ),
            (
                "x-acs-signature-nonce".to_string(),
                uuid::Uuid::now_v7().simple().to_string(),
            ),
            ("x-acs-content-sha256".to_string(), hashed.clone()),
        ];
        let authorization = acs3::sign(
            self.access_key_id.expose_secret(),
            self.access_key_secret.expose_secret(),
            "POST",
            "/",
            &params,
            &headers,
            &hashed,
        );
        let mut url = self.endpoint.clone();
        url.set_path("/");
        url.set_query(Some(&acs3::canonical_query(&params)));
        let mut req = self
            .client
            .post(url)
            .header("authorization", authorization)
            .header("accept", "application/json");
        for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| classify_reqwest_error(PROVIDER, &e))?;
        let (status, after, body) = read_response(PROVIDER, resp).await?;
        let json = serde_json::from_str::<serde_json::Value>(&body).ok();
        let Some(serde_json::Value::Object(obj)) = json else {
            return Err(classify_status(PROVIDER, status, after, &body));
        };
        match obj.get("Code").and_then(|c| c.as_str()) {
            Some("OK") if status.is_success() => Ok(obj),
            Some(code) => {
                let message = obj
                    .get("Message")
                    .and_then(|m| m.as_str())
                    .unwrap_or_default();
                Err(classify(code, message, after))
            }
            None => Err(classify_status(PROVIDER, status, after, &body)),
        }
    }

    fn delivery(obj: &serde_json::Map<String, serde_json::Value>) -> Result<Delivery, SendError> {
        let biz_id = obj
            .get("BizId")
            .and_then(|b| b.as_str())
            .filter(|b| !b.is_empty())
            .ok_or_else(|| {
                SendError::Transient(Failure::new(
                    FailureKind::MalformedReply,
                    PROVIDER,
                    "OK",
                    "the reply says OK but carries no BizId",
                ))
            })?;
        let request_id = obj
            .get("RequestId")
            .and_then(|r| r.as_str())
            .unwrap_or_default();
        Ok(Delivery {
            provider: PROVIDER.to_string(),
            provider_message_id: biz_id.to_string(),
            detail: Some(format!("RequestId {request_id}")),
        })
    }

    /// `SendSms` for one message.
    pub async fn send_one(&self, m: &SmsMessage) -> Result<Delivery, SendError> {
        let t = self.template(&m.template)?;
        let params = vec![
            ("PhoneNumbers".to_string(), super::mainland_digits(&m.to)),
            ("SignName".to_string(), self.sign_name.clone()),
            ("TemplateCode".to_string(), t.code.clone()),
            ("TemplateParam".to_string(), self.template_param(t, m)?),
            ("OutId".to_string(), m.outbox_id.to_string()),
        ];
        let obj = self.call("SendSms", params).await?;
        Self::delivery(&obj)
    }

    /// `SendBatchSms`: one call for up to [`BATCH_MAX`] messages of the same template. The call
    /// succeeds or fails as a whole; on success every message shares the batch's BizId.
    pub async fn send_batch(&self, messages: &[SmsMessage]) -> Result<Vec<Delivery>, SendError> {
        let Some(first) = messages.first() else {
            return Ok(Vec::new());
        };
        let config = |msg: String| {
            SendError::Permanent(Failure::new(FailureKind::Config, PROVIDER, "batch", msg))
        };
        if messages.len() > BATCH_MAX {
            return Err(config(format!(
                "{} messages in one batch; the limit is {BATCH_MAX}",
                messages.len()
            )));
        }
        if let Some(other) = messages.iter().find(|m| m.template != first.template) {
            return Err(config(format!(
                "a batch needs one template, got {:?} and {:?}",
                first.template, other.template
            )));
        }
        let t = self.template(&first.template)?;
        let mut phones = Vec::new();
        let mut signs = Vec::new();
        let mut tparams = Vec::new();
        for m in messages {
            phones.push(serde_json::Value::String(super::mainland_digits(&m.to)));
            signs.push(serde_json::Value::String(self.sign_name.clone()));
            tparams.push(
                serde_json::from_str::<serde_json::Value>(&self.template_param(t, m)?)
                    .unwrap_or_default(),
            );
        }
        let params = vec![
            (
                "PhoneNumberJson".to_string(),
                serde_json::Value::Array(phones).to_string(),
            ),
            (
                "SignNameJson".to_string(),
                serde_json::Value::Array(signs).to_string(),
            ),
            ("TemplateCode".to_string(), t.code.clone()),
            (
                "TemplateParamJson".to_string(),
                serde_json::Value::Array(tparams).to_string(),
            ),
        ];
        let obj = self.call("SendBatchSms", params).await?;
        let d = Self::delivery(&obj)?;
        Ok(messages.iter().map(|_| d.clone()).collect())
    }
}

impl Channel<SmsMessage> for AliyunSms {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn send<'a>(&'a self, message: &'a SmsMessage) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(self.send_one(message))
    }

    /// Runs of messages with the same template go out by SendBatchSms, 100 at a time; a run
    /// of one goes by SendSms. A failed batch call fails every message in it.
    fn send_batch<'a>(
        &'a self,
        messages: &'a [SmsMessage],
    ) -> BoxFuture<'a, Vec<Result<Delivery, SendError>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(messages.len());
            let mut start = 0;
            while start < messages.len() {
                let template = &messages[start].template;
                let mut end = start + 1;
                while end < messages.len()
                    && end - start < BATCH_MAX
                    && &messages[end].template == template
                {
                    end += 1;
                }
                let run = &messages[start..end];
                if run.len() == 1 {
                    out.push(self.send_one(&run[0]).await);
                } else {
                    match AliyunSms::send_batch(self, run).await {
                        Ok(ds) => out.extend(ds.into_iter().map(Ok)),
                        Err(e) => out.extend(run.iter().map(|_| Err(e.clone()))),
                    }
                }
                start = end;
            }
            out
        })
    }
}

/// Alibaba Cloud's error codes (SMS API error code list and the OpenAPI common errors).
/// Unknown codes are transient: the message is retried until it becomes a dead letter, which
/// an administrator can inspect, rather than being dropped on a guess.
pub fn classify(code: &str, message: &str, retry_after: Option<Duration>) -> SendError {
    use FailureKind::*;
    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(24 * 3600);
    let f = |kind, after: Option<Duration>| {
        Failure::new(kind, PROVIDER, code, message).retry_after(after.or(retry_after))
    };
    match code {
        // Frequency control: per number 1/min, 5/h, 10/day for codes; 50/day per
        // signature + template for notices. Which window tripped is not said.
        "isv.BUSINESS_LIMIT_CONTROL" => SendError::Transient(f(Throttled, Some(HOUR))),
        "isv.DAY_LIMIT_CONTROL" => SendError::Transient(f(Throttled, Some(DAY))),
        "isv.MONTH_LIMIT_CONTROL" => SendError::Transient(f(Throttled, Some(DAY))),
        "Throttling" | "Throttling.User" | "Throttling.Api" | "Throttling.Concurrent" => {
            SendError::Transient(f(Throttled, None))
        }
        // Balance: sending resumes once the account is topped up.
        "isv.AMOUNT_NOT_ENOUGH" | "isv.OUT_OF_SERVICE" => {
            SendError::Transient(f(Account, Some(HOUR)))
        }
        // Clock skew or a reused nonce: the next attempt signs afresh.
        "InvalidTimeStamp.Expired" | "SignatureNonceUsed" => SendError::Transient(f(Auth, None)),
        "isv.MOBILE_NUMBER_ILLEGAL" | "isv.DOMESTIC_NUMBER_NOT_SUPPORTED" => {
            SendError::Permanent(f(InvalidRecipient, None))
        }
        "isv.SMS_TEMPLATE_ILLEGAL"
        | "isv.SMS_SIGNATURE_ILLEGAL"
        | "isv.SMS_SIGN_ILLEGAL"
        | "isv.SIGN_STATE_ILLEGAL"
        | "isv.SMS_SIGNATURE_SCENE_ILLEGAL"
        | "isv.TEMPLATE_MISSING_PARAMETERS"
        | "isv.TEMPLATE_PARAMS_ILLEGAL"
        | "isv.INVALID_JSON_PARAM"
        | "isv.INVALID_PARAMETERS"
        | "isv.PARAM_LENGTH_LIMIT"
        | "isv.PARAM_NOT_SUPPORT_URL"
        | "isv.SMS_CONTENT_ILLEGAL"
        | "isv.BLACK_KEY_CONTROL_LIMIT"
        | "isv.EXTEND_CODE_ERROR" => SendError::Permanent(f(RejectedContent, None)),
        "isv.MOBILE_COUNT_OVER_LIMIT" | "MissingParameter" | "InvalidParameter" => {
            SendError::Permanent(f(Config, None))
        }
        "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "InvalidAccessKeyId.NotFound"
        | "InvalidAccessKeyId.Inactive"
        | "Forbidden.RAM"
        | "isp.RAM_PERMISSION_DENY"
        | "isv.ACCOUNT_NOT_EXISTS"
        | "isv.DENY_IP_RANGE" => SendError::Permanent(f(Auth, None)),
        "isv.ACCOUNT_ABNORMAL" | "isv.PRODUCT_UN_SUBSCRIPT" | "isv.PRODUCT_UNSUBSCRIBE" => {
            SendError::Permanent(f(Account, None))
        }
        "isp.SYSTEM_ERROR" | "isv.SYSTEM_ERROR" | "ServiceUnavailable" | "InternalError" => {
            SendError::Transient(f(ProviderError, None))
        }
        _ => SendError::Transient(f(ProviderError, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_transient_with_a_hint() {
        let e = classify("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控", None);
        assert!(e.is_transient());
        assert_eq!(e.kind(), FailureKind::Throttled);
        assert_eq!(e.failure().retry_after, Some(Duration::from_secs(3600)));
        assert_eq!(e.failure().code, "isv.BUSINESS_LIMIT_CONTROL");
    }

    #[test]
    fn bad_numbers_templates_and_keys_are_permanent() {
        for (code, kind) in [
            ("isv.MOBILE_NUMBER_ILLEGAL", FailureKind::InvalidRecipient),
            ("isv.SMS_TEMPLATE_ILLEGAL", FailureKind::RejectedContent),
            ("isv.SMS_SIGNATURE_ILLEGAL", FailureKind::RejectedContent),
            ("SignatureDoesNotMatch", FailureKind::Auth),
            ("InvalidAccessKeyId.NotFound", FailureKind::Auth),
        ] {
            let e = classify(code, "", None);
            assert!(!e.is_transient(), "{code}");
            assert_eq!(e.kind(), kind, "{code}");
        }
    }

    #[test]
    fn system_errors_and_unknown_codes_are_retried() {
        assert!(classify("isp.SYSTEM_ERROR", "", None).is_transient());
        assert!(classify("isv.SOMETHING_NEW", "", None).is_transient());
        assert!(classify("isv.OUT_OF_SERVICE", "", None).is_transient());
    }
}
