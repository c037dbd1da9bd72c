//! Tencent Cloud SMS `SendSms`, API version 2021-01-11, signed with TC3-HMAC-SHA256.
//!
//! A request-level failure comes back as `{"Response": {"Error": {"Code", "Message"}}}`; a
//! per-number result as `{"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo", …}]}}`.
//! Both codes go through [`classify`], built from Tencent's published error code list.

use super::{classify_reqwest_error, classify_status, host_header, read_response, tc3};
use crate::channel::{BoxFuture, Channel};
use crate::error::{Failure, FailureKind, SendError};
use crate::message::{Delivery, SmsMessage};
use crate::settings::TencentTemplate;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::time::Duration;

pub const PROVIDER: &str = "tencent";
pub const SERVICE: &str = "sms";
pub const API_VERSION: &str = "2021-01-11";

/// The Tencent Cloud SMS channel.
pub struct TencentSms {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    region: String,
    sdk_app_id: String,
    sign_name: String,
    secret_id: SecretString,
    secret_key: SecretString,
    templates: BTreeMap<String, TencentTemplate>,
}

/// Where and as whom a [`TencentSms`] sends.
pub struct TencentAccount {
    pub endpoint: reqwest::Url,
    pub region: String,
    pub sdk_app_id: String,
    pub sign_name: String,
    pub secret_id: SecretString,
    pub secret_key: SecretString,
}

impl TencentSms {
    pub fn new(
        account: TencentAccount,
        templates: BTreeMap<String, TencentTemplate>,
        timeout: Duration,
    ) -> Self {
        TencentSms {
            client: super::http_client(timeout),
            endpoint: account.endpoint,
            region: account.region,
            sdk_app_id: account.sdk_app_id,
            sign_name: account.sign_name,
            secret_id: account.secret_id,
            secret_key: account.secret_key,
            templates,
        }
    }

    /// The request body for `m`, exactly as it is signed and sent.
    pub fn body(&self, m: &SmsMessage) -> Result<Vec<u8>, SendError> {
        let t = super::lookup(&self.templates, PROVIDER, &m.template)?;
        let params = t
            .params
            .iter()
            .map(|name| super::param(PROVIDER, m, name).map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?;
        let body = serde_json::json!({
            "PhoneNumberSet": [super::e164(&m.to)],
            "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name,
            "TemplateId": t.id,
            "TemplateParamSet": params,
            "SessionContext": m.outbox_id.as_str(),
        });
        Ok(serde_json::to_vec(&body).expect("a JSON value serialises"))
    }

    pub async fn send_one(&self, m: &SmsMessage) -> Result<Delivery, SendError> {
        let body = self.body(m)?;
        let host = host_header(&self.endpoint);
        let timestamp = chrono::Utc::now().timestamp();
        let signed = tc3::sign(
            self.secret_id.expose_secret(),
            self.secret_key.expose_secret(),
            SERVICE,
            &host,
            timestamp,
            tc3::JSON_CONTENT_TYPE,
            &body,
        );
        let resp = self
            .client
            .post(self.endpoint.clone())
            .header("authorization", signed.authorization)
            .header("content-type", tc3::JSON_CONTENT_TYPE)
            .header("x-tc-action", "SendSms")
            .header("x-tc-timestamp", timestamp.to_string())
            .header("x-tc-version", API_VERSION)
            .header("x-tc-region", self.region.as_str())
            .body(body)
            .send()
            .await
            .map_err(|e| classify_reqwest_error(PROVIDER, &e))?;
        let (status, after, text) = read_response(PROVIDER, resp).await?;
        let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let Some(response) = json
            .as_ref()
            .and_then(|j| j.get("Response"))
            .and_then(|r| r.as_object())
        else {
            return Err(classify_status(PROVIDER, status, after, &text));
        };
        if let Some(err) = response.get("Error") {
            let code = err.get("Code").and_then(|c| c.as_str()).unwrap_or("Error");
            let message = err
                .get("Message")
                .and_then(|c| c.as_str())
                .unwrap_or_default();
            return Err(classify(code, message, after));
        }
        let request_id = response
            .get("RequestId")
            .and_then(|r| r.as_str())
            .unwrap_or_default();
        let Some(entry) = response
            .get("SendStatusSet")
            .and_then(|s| s.as_array())
            .and_then(|s| s.first())
        else {
            return Err(SendError::Transient(Failure::new(
                FailureKind::MalformedReply,
                PROVIDER,
                "SendStatusSet",
                format!("the reply has neither Error nor SendStatusSet (RequestId {request_id})"),
            )));
        };
        let code = entry
            .get("Code")
            .and_then(|c| c.as_str())
            .unwrap_or_default();
        let message = entry
            .get("Message")
            .and_then(|c| c.as_str())
            .unwrap_or_default();
        if code != "Ok" {
            return Err(classify(code, message, after));
        }
        let serial = entry
            .get("SerialNo")
            .and_then(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                SendError::Transient(Failure::new(
                    FailureKind::MalformedReply,
                    PROVIDER,
                    "Ok",
                    "the reply says Ok but carries no SerialNo",
                ))
            })?;
        let fee = entry.get("Fee").and_then(|f| f.as_u64()).unwrap_or(0);
        Ok(Delivery {
            provider: PROVIDER.to_string(),
            provider_message_id: serial.to_string(),
            detail: Some(format!("RequestId {request_id}, fee {fee}")),
        })
    }
}

impl Channel<SmsMessage> for TencentSms {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn send<'a>(&'a self, message: &'a SmsMessage) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(self.send_one(message))
    }
}

/// Tencent Cloud's SMS and common error codes. Unknown codes fall back on their family
/// (`LimitExceeded.*` throttled, `AuthFailure.*` auth, `InternalError.*` provider error) and
/// otherwise count as transient, so a reminder is not dropped on a guess.
pub fn classify(code: &str, message: &str, retry_after: Option<Duration>) -> SendError {
    use FailureKind::*;
    const THIRTY_SECONDS: Duration = Duration::from_secs(30);
    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(24 * 3600);
    let f = |kind, after: Option<Duration>| {
        Failure::new(kind, PROVIDER, code, message).retry_after(after.or(retry_after))
    };
    match code {
        "LimitExceeded.PhoneNumberThirtySecondLimit" => {
            SendError::Transient(f(Throttled, Some(THIRTY_SECONDS)))
        }
        "LimitExceeded.PhoneNumberOneHourLimit" => SendError::Transient(f(Throttled, Some(HOUR))),
        "LimitExceeded.PhoneNumberDailyLimit"
        | "LimitExceeded.PhoneNumberSameContentDailyLimit"
        | "LimitExceeded.DailyLimit"
        | "LimitExceeded.AppDailyLimit"
        | "LimitExceeded.AppGlobalDailyLimit"
        | "LimitExceeded.AppMainlandChinaDailyLimit"
        | "LimitExceeded.AppCountryOrRegionDailyLimit" => {
            SendError::Transient(f(Throttled, Some(DAY)))
        }
        "LimitExceeded.DeliveryFrequencyLimit" => SendError::Transient(f(Throttled, Some(HOUR))),
        "LimitExceeded.PhoneNumberCountLimit"
        | "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber" => {
            SendError::Permanent(f(Config, None))
        }
        "LimitExceeded.AppCountryOrRegionInBlacklist" => {
            SendError::Permanent(f(InvalidRecipient, None))
        }
        "InvalidParameterValue.IncorrectPhoneNumber"
        | "FailedOperation.PhoneNumberInBlacklist"
        | "FailedOperation.PhoneNumberOnBlacklist"
        | "UnsupportedOperation.UnsupportedRegion" => {
            SendError::Permanent(f(InvalidRecipient, None))
        }
        "FailedOperation.SignatureIncorrectOrUnapproved"
        | "FailedOperation.TemplateIncorrectOrUnapproved"
        | "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"
        | "FailedOperation.MissingSignature"
        | "FailedOperation.MissingSignatureList"
        | "FailedOperation.MissingTemplateList"
        | "FailedOperation.ContainSensitiveWord"
        | "FailedOperation.TemplateIdNotExist"
        | "InvalidParameterValue.ContentLengthLimit"
        | "InvalidParameterValue.TemplateParameterFormatError"
        | "InvalidParameterValue.TemplateParameterLengthLimit"
        | "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter"
        | "InvalidParameterValue.InvalidTemplateFormat" => {
            SendError::Permanent(f(RejectedContent, None))
        }
        "FailedOperation.InsufficientBalanceInSmsPackage"
        | "FailedOperation.ServiceSuspendDueToArrears" => {
            SendError::Transient(f(Account, Some(HOUR)))
        }
        "AuthFailure.SignatureExpire" => SendError::Transient(f(Auth, None)),
        "InvalidParameterValue.SdkAppIdNotExist"
        | "FailedOperation.FailResolvePacket"
        | "InvalidParameter" => SendError::Permanent(f(Config, None)),
        "InternalError.Timeout" | "InternalError.RequestTimeException" => {
            SendError::Transient(f(Timeout, None))
        }
        "RequestLimitExceeded" => SendError::Transient(f(Throttled, None)),
        _ if code.starts_with("RequestLimitExceeded") || code.starts_with("LimitExceeded") => {
            SendError::Transient(f(Throttled, None))
        }
        _ if code.starts_with("AuthFailure") || code.starts_with("UnauthorizedOperation") => {
            SendError::Permanent(f(Auth, None))
        }
        _ if code.starts_with("InternalError") => SendError::Transient(f(ProviderError, None)),
        _ => SendError::Transient(f(ProviderError, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_number_limits_are_transient_with_their_window() {
        let e = classify("LimitExceeded.PhoneNumberThirtySecondLimit", "", None);
        assert!(e.is_transient());
        assert_eq!(e.failure().retry_after, Some(Duration::from_secs(30)));
        let e = classify("LimitExceeded.PhoneNumberDailyLimit", "", None);
        assert!(e.is_transient());
        assert_eq!(e.kind(), FailureKind::Throttled);
        assert_eq!(e.failure().retry_after, Some(Duration::from_secs(86400)));
    }

    #[test]
    fn numbers_signatures_templates_and_keys_are_permanent() {
        for (code, kind) in [
            (
                "InvalidParameterValue.IncorrectPhoneNumber",
                FailureKind::InvalidRecipient,
            ),
            (
                "FailedOperation.PhoneNumberInBlacklist",
                FailureKind::InvalidRecipient,
            ),
            (
                "FailedOperation.SignatureIncorrectOrUnapproved",
                FailureKind::RejectedContent,
            ),
            (
                "FailedOperation.TemplateIncorrectOrUnapproved",
                FailureKind::RejectedContent,
            ),
            ("AuthFailure.SignatureFailure", FailureKind::Auth),
            ("AuthFailure.SecretIdNotFound", FailureKind::Auth),
        ] {
            let e = classify(code, "", None);
            assert!(!e.is_transient(), "{code}");
            assert_eq!(e.kind(), kind, "{code}");
        }
    }

    #[test]
    fn families_decide_unknown_codes() {
        assert!(classify("LimitExceeded.SomethingNew", "", None).is_transient());
        assert!(!classify("AuthFailure.SomethingNew", "", None).is_transient());
        assert!(classify("InternalError.SomethingNew", "", None).is_transient());
        assert!(classify("AuthFailure.SignatureExpire", "", None).is_transient());
    }
}
