//! duban-notify against real servers: Debian's aiosmtpd for SMTP (plain, STARTTLS with AUTH,
//! implicit TLS, an outage in the middle of a run) and local HTTP gateways that verify the
//! Alibaba Cloud, Tencent Cloud and webhook signatures of every request they receive.
//! Needs `python3-aiosmtpd` and `openssl` (installed by `.ci/run`).

use anyhow::{Context, Result, bail, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use duban_notify::error::FailureKind;
use duban_notify::policy::{RetryDecision, RetryPolicy, SplitMix64};
use duban_notify::settings::{
    AliyunSettings, AliyunTemplate, SmsProvider, SmsTemplateSettings, SmtpSecurity, SmtpSettings,
    TencentSettings, TencentTemplate, WebhookSettings,
};
use duban_notify::sms::{acs3, sha256_hex, tc3, webhook};
use duban_notify::testing::{SinkOptions, SinkSecurity, SmtpSink, TestCerts};
use duban_notify::{
    Channel, EmailAddress, EmailMessage, MapSecrets, NotifySettings, OutboxKey, SendError,
    SmsMessage,
};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "duban-notify-{tag}-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn subject(i: usize) -> String {
    format!("督办提醒：第{i}党支部换届选举将于3月1日到期（剩5天）")
}

fn reminder(i: usize) -> EmailMessage {
    EmailMessage {
        outbox_id: OutboxKey::from(i as u64),
        to: EmailAddress::new(Some("张三"), &format!("secretary{i}@example.cn")),
        subject: subject(i),
        text: format!(
            "张三同志：\n\n贵单位第{i}党支部任期将于2025年3月1日届满，请按期换届。\n确认办理：https://duban.example.cn/c/{i}\n\n区委组织部"
        ),
        html: None,
    }
}

fn smtp_notify(port: u16, security: SmtpSecurity) -> NotifySettings {
    let mut s = NotifySettings::default();
    s.email.from = "督办提醒 <duban@duban.test>".into();
    s.email.message_id_domain = Some("duban.test".into());
    s.email.smtp = Some(SmtpSettings {
        host: "127.0.0.1".into(),
        port: Some(port),
        security,
        pool_max_size: 8,
        timeout_secs: 10,
        ..Default::default()
    });
    s
}

fn normalise(s: &str) -> String {
    s.replace("\r\n", "\n").trim().to_string()
}

/// Sends `count` messages through `channel` with `workers` concurrent senders.
async fn send_all(
    channel: Arc<dyn Channel<EmailMessage>>,
    count: usize,
    workers: usize,
) -> Result<()> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (channel, next) = (channel.clone(), next.clone());
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, SendError>(());
                }
                channel.send(&reminder(i)).await?;
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_delivers_a_thousand_reminders_with_utf8_subjects() -> Result<()> {
    duban_notify::install_crypto_provider();
    let dir = TempDir::new("smtp-1000");
    let sink = SmtpSink::start(dir.0.join("maildir"), SinkOptions::default()).await?;
    let notifier = smtp_notify(sink.port(), SmtpSecurity::None).build(&MapSecrets::default())?;
    assert_eq!(notifier.email().provider(), "smtp");
    send_all(notifier.email().clone(), 1000, 8).await?;

    let received = sink.received().await?;
    assert_eq!(received.len(), 1000);
    let by_id: HashMap<&str, _> = received
        .iter()
        .map(|m| (m.message_id.as_str(), m))
        .collect();
    assert_eq!(by_id.len(), 1000, "Message-IDs must be distinct");
    for i in 0..1000 {
        let id = format!("<outbox-{i}@duban.test>");
        let m = by_id
            .get(id.as_str())
            .with_context(|| format!("{id} is missing"))?;
        assert_eq!(m.subject, subject(i));
        assert_eq!(m.content_type, "multipart/alternative");
        assert!(
            m.from.contains("督办提醒") && m.from.contains("duban@duban.test"),
            "{}",
            m.from
        );
        assert!(
            m.to.contains(&format!("secretary{i}@example.cn")),
            "{}",
            m.to
        );
        assert_eq!(
            normalise(m.text.as_deref().unwrap_or_default()),
            normalise(&reminder(i).text)
        );
        let html = m.html.as_deref().unwrap_or_default();
        assert!(html.contains(&format!("第{i}党支部任期")), "{html}");
        assert!(
            html.contains(&format!("<a href=\"https://duban.example.cn/c/{i}\">")),
            "{html}"
        );
    }
    Ok(())
}

/// The building block for "stopping the SMTP server for 30 seconds loses nothing": a send loop
/// that retries transient failures with the policy's backoff while the server is killed for
/// 30 seconds and restarted. Every message is confirmed exactly once; a message appears twice
/// in the mailbox only if one of its attempts failed transiently (it was in flight when the
/// server died), and never more often than there were such attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_outage_of_thirty_seconds_loses_nothing_and_repeats_only_in_flight() -> Result<()> {
    const N: usize = 300;
    const OUTAGE: Duration = Duration::from_secs(30);
    duban_notify::install_crypto_provider();
    let dir = TempDir::new("smtp-outage");
    let sink = Arc::new(tokio::sync::Mutex::new(
        SmtpSink::start(dir.0.join("maildir"), SinkOptions::default()).await?,
    ));
    let port = sink.lock().await.port();
    let mut settings = smtp_notify(port, SmtpSecurity::None);
    if let Some(s) = settings.email.smtp.as_mut() {
        s.timeout_secs = 3;
    }
    let email = settings.build(&MapSecrets::default())?.email().clone();
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(200),
        multiplier: 2,
        max_delay: Duration::from_secs(2),
        max_attempts: 1000,
        ..RetryPolicy::default()
    };

    let delivered = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
    let transient = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
    let confirmed = Arc::new(AtomicUsize::new(0));
    let permits = Arc::new(tokio::sync::Semaphore::new(8));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..N {
        let (email, policy, delivered, transient, confirmed, permits) = (
            email.clone(),
            policy.clone(),
            delivered.clone(),
            transient.clone(),
            confirmed.clone(),
            permits.clone(),
        );
        set.spawn(async move {
            let mut rng = SplitMix64::new(i as u64);
            let mut attempts = 0;
            loop {
                attempts += 1;
                let result = {
                    let _permit = permits.acquire().await.expect("semaphore open");
                    email.send(&reminder(i)).await
                };
                match result {
                    Ok(_) => {
                        delivered[i].fetch_add(1, Ordering::SeqCst);
                        confirmed.fetch_add(1, Ordering::SeqCst);
                        return Ok(());
                    }
                    Err(e) => {
                        transient[i].fetch_add(1, Ordering::SeqCst);
                        let now = chrono::Utc::now();
                        match policy.after_failure(attempts, &e, now, &mut rng) {
                            RetryDecision::RetryAt(t) => {
                                tokio::time::sleep((t - now).to_std().unwrap_or_default()).await
                            }
                            other => bail!("message {i}: {other:?} after {e}"),
                        }
                    }
                }
            }
        });
    }

    // Kill the server once a third of the messages are through, keep it down for 30 s.
    let started = Instant::now();
    while confirmed.load(Ordering::SeqCst) < N / 3 {
        ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the first third did not get through"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sink.lock().await.stop().await?;
    let at_stop = confirmed.load(Ordering::SeqCst);
    tokio::time::sleep(OUTAGE).await;
    let during = confirmed.load(Ordering::SeqCst) - at_stop;
    sink.lock().await.restart().await?;
    while let Some(r) = set.join_next().await {
        r??;
    }

    assert!(
        during <= 8,
        "{during} messages confirmed while the server was down"
    );
    let failed_attempts: usize = transient.iter().map(|t| t.load(Ordering::SeqCst)).sum();
    assert!(
        failed_attempts >= N - at_stop,
        "the outage must have been felt: {failed_attempts} transient failures"
    );
    let received = sink.lock().await.received().await?;
    let mut copies: HashMap<String, usize> = HashMap::new();
    for m in &received {
        *copies.entry(m.message_id.clone()).or_default() += 1;
    }
    let mut repeated = 0;
    for i in 0..N {
        assert_eq!(
            delivered[i].load(Ordering::SeqCst),
            1,
            "message {i} confirmed more than once"
        );
        let n = copies
            .get(&format!("<outbox-{i}@duban.test>"))
            .copied()
            .unwrap_or(0);
        let failures = transient[i].load(Ordering::SeqCst);
        assert!(n >= 1, "message {i} was lost");
        assert!(
            n <= 1 + failures,
            "message {i} arrived {n} times with only {failures} failed attempts"
        );
        repeated += n - 1;
    }
    assert!(
        repeated <= 8,
        "{repeated} repeats: more than the messages in flight"
    );
    assert_eq!(received.len(), N + repeated);
    eprintln!(
        "outage: {at_stop} sent before the stop, {failed_attempts} transient failures, {repeated} in-flight repeats, all {N} delivered"
    );
    Ok(())
}

#[tokio::test]
async fn smtp_starttls_with_auth_and_a_private_ca() -> Result<()> {
    duban_notify::install_crypto_provider();
    let dir = TempDir::new("smtp-starttls");
    let certs = TestCerts::generate(&dir.0.join("certs"))?;
    let sink = SmtpSink::start(
        dir.0.join("maildir"),
        SinkOptions {
            security: SinkSecurity::Starttls {
                cert: certs.server_cert.clone(),
                key: certs.server_key.clone(),
            },
            auth: Some(("duban".into(), "s3cret-口令".into())),
            discard: false,
        },
    )
    .await?;
    let mut settings = smtp_notify(sink.port(), SmtpSecurity::Starttls);
    if let Some(s) = settings.email.smtp.as_mut() {
        s.username = Some("duban".into());
        s.ca_file = Some(certs.ca_cert.clone());
    }
    let good = MapSecrets::new([("DUBAN_SMTP_PASSWORD", "s3cret-口令")]);
    let email = settings.build(&good)?.email().clone();
    for i in 0..3 {
        let d = email.send(&reminder(i)).await?;
        assert_eq!(d.provider_message_id, format!("<outbox-{i}@duban.test>"));
        assert!(
            d.detail.as_deref().unwrap_or_default().starts_with("250"),
            "{:?}",
            d.detail
        );
    }
    let received = sink.received().await?;
    assert_eq!(received.len(), 3);
    assert!(received.iter().any(|m| m.subject == subject(1)));

    let wrong = MapSecrets::new([("DUBAN_SMTP_PASSWORD", "guess")]);
    let err = settings
        .build(&wrong)?
        .email()
        .send(&reminder(9))
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err}");
    assert_eq!(err.kind(), FailureKind::Auth, "{err}");

    if let Some(s) = settings.email.smtp.as_mut() {
        s.ca_file = None;
    }
    let err = settings
        .build(&good)?
        .email()
        .send(&reminder(10))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(err.failure().code, "tls", "{err}");
    assert_eq!(
        sink.count()?,
        3,
        "nothing may be sent over an unverified connection"
    );
    Ok(())
}

#[tokio::test]
async fn an_smtp_server_that_stops_answering_times_out_transiently() -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut sock, _)) = listener.accept().await {
            let _ = sock.write_all(b"220 localhost ESMTP\r\n").await;
            held.push(sock); // greets, then never answers EHLO
        }
    });
    let mut settings = smtp_notify(port, SmtpSecurity::None);
    if let Some(s) = settings.email.smtp.as_mut() {
        s.timeout_secs = 1;
    }
    let started = Instant::now();
    let err = settings
        .build(&MapSecrets::default())?
        .email()
        .send(&reminder(1))
        .await
        .unwrap_err();
    assert_eq!(
        (err.is_transient(), err.kind()),
        (true, FailureKind::Timeout),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn smtp_implicit_tls() -> Result<()> {
    duban_notify::install_crypto_provider();
    let dir = TempDir::new("smtp-smtps");
    let certs = TestCerts::generate(&dir.0.join("certs"))?;
    let sink = SmtpSink::start(
        dir.0.join("maildir"),
        SinkOptions {
            security: SinkSecurity::Smtps {
                cert: certs.server_cert.clone(),
                key: certs.server_key.clone(),
            },
            auth: None,
            discard: false,
        },
    )
    .await?;
    let mut settings = smtp_notify(sink.port(), SmtpSecurity::Tls);
    if let Some(s) = settings.email.smtp.as_mut() {
        s.ca_file = Some(certs.ca_cert.clone());
    }
    send_all(
        settings.build(&MapSecrets::default())?.email().clone(),
        20,
        4,
    )
    .await?;
    let received = sink.received().await?;
    assert_eq!(received.len(), 20);
    assert!(
        received
            .iter()
            .all(|m| m.subject.starts_with("督办提醒：第"))
    );
    Ok(())
}

#[tokio::test]
async fn without_smtp_email_becomes_eml_files_written_atomically() -> Result<()> {
    let dir = TempDir::new("eml");
    let mut settings = NotifySettings::default();
    settings.email.eml_dir = dir.0.join("outbox");
    settings.email.message_id_domain = Some("duban.test".into());
    let email = settings.build(&MapSecrets::default())?.email().clone();
    assert_eq!(email.provider(), "eml");
    for i in [1, 2, 3, 2] {
        let d = email.send(&reminder(i)).await?;
        assert_eq!(d.provider_message_id, format!("<outbox-{i}@duban.test>"));
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.0.join("outbox"))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    assert_eq!(
        names,
        ["outbox-1.eml", "outbox-2.eml", "outbox-3.eml"],
        "a resend replaces its file, no temp file remains"
    );
    let raw = std::fs::read_to_string(dir.0.join("outbox/outbox-2.eml"))?;
    assert!(raw.contains("Message-ID: <outbox-2@duban.test>"));
    assert!(raw.contains("Subject: =?utf-8?"));
    assert!(raw.contains("multipart/alternative"));
    Ok(())
}

// ---------------------------------------------------------------- SMS gateways

const ALI_ID: &str = "LTAI-test-id";
const ALI_SECRET: &str = "ali-test-secret";
const TC_ID: &str = "AKID-test-id";
const TC_KEY: &str = "tc-test-key";
const HOOK_SECRET: &str = "hook-test-secret";

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<serde_json::Value>>>);

impl Seen {
    fn push(&self, v: serde_json::Value) {
        self.0.lock().expect("lock").push(v);
    }
    fn all(&self) -> Vec<serde_json::Value> {
        self.0.lock().expect("lock").clone()
    }
}

async fn serve(app: Router) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn json(status: StatusCode, v: serde_json::Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn sms(id: u64, to: &str) -> SmsMessage {
    SmsMessage {
        outbox_id: OutboxKey::from(id),
        to: to.into(),
        template: "reminder".into(),
        params: BTreeMap::from([
            ("unit".to_string(), "第一党支部".to_string()),
            ("days_left".to_string(), "5".to_string()),
        ]),
        text: "【区委组织部】第一党支部任期将于5天后届满，请及时换届。".into(),
    }
}

fn templates() -> BTreeMap<String, SmsTemplateSettings> {
    BTreeMap::from([(
        "reminder".to_string(),
        SmsTemplateSettings {
            aliyun: Some(AliyunTemplate {
                code: "SMS_154950909".into(),
                params: BTreeMap::from([
                    ("name".to_string(), "unit".to_string()),
                    ("days".to_string(), "days_left".to_string()),
                ]),
            }),
            tencent: Some(TencentTemplate {
                id: "1110".into(),
                params: vec!["unit".into(), "days_left".into()],
            }),
        },
    )])
}

/// Recomputes the ACS3 signature over what actually arrived and plays a scenario chosen by
/// the phone number.
async fn aliyun_gateway(
    State(seen): State<Seen>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = uri.query().unwrap_or_default().to_string();
    let pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let received: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let hashed = sha256_hex(&body);
    let expected = acs3::sign(ALI_ID, ALI_SECRET, "POST", "/", &pairs, &received, &hashed);
    let signed_ok = header(&headers, "authorization") == expected
        && header(&headers, "x-acs-content-sha256") == hashed
        && query == acs3::canonical_query(&pairs);
    let params: BTreeMap<String, String> = pairs.into_iter().collect();
    seen.push(serde_json::json!({"action": header(&headers, "x-acs-action"), "version": header(&headers, "x-acs-version"), "params": params}));
    if !signed_ok {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched with our calculation."}),
        );
    }
    let ok = serde_json::json!({"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "F655A8D5"});
    let phone = params.get("PhoneNumbers").cloned().unwrap_or_default();
    match phone.as_str() {
        "13800000002" => json(
            StatusCode::OK,
            serde_json::json!({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发号码天级流控Permits:50", "RequestId": "r"}),
        ),
        "13800000003" => (StatusCode::OK, "<html>gateway hiccup").into_response(),
        "13800000004" => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response(),
        "13800000005" => json(
            StatusCode::OK,
            serde_json::json!({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "r"}),
        ),
        "13800000006" => json(
            StatusCode::OK,
            serde_json::json!({"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "模板不合法", "RequestId": "r"}),
        ),
        "13800000007" => json(
            StatusCode::OK,
            serde_json::json!({"Code": "OK", "Message": "OK", "RequestId": "r"}),
        ),
        _ => json(StatusCode::OK, ok),
    }
}

fn aliyun_settings(addr: SocketAddr) -> NotifySettings {
    let mut s = NotifySettings::default();
    s.sms.provider = SmsProvider::Aliyun;
    s.sms.aliyun = Some(AliyunSettings {
        endpoint: format!("http://{addr}/"),
        sign_name: "区委组织部".into(),
        ..Default::default()
    });
    s.sms.templates = templates();
    s
}

#[tokio::test]
async fn alibaba_gateway_sees_valid_signatures_and_errors_are_classified() -> Result<()> {
    duban_notify::install_crypto_provider();
    let seen = Seen::default();
    let addr = serve(
        Router::new()
            .route("/", post(aliyun_gateway))
            .with_state(seen.clone()),
    )
    .await?;
    let secrets = MapSecrets::new([
        ("DUBAN_ALIYUN_ACCESS_KEY_ID", ALI_ID),
        ("DUBAN_ALIYUN_ACCESS_KEY_SECRET", ALI_SECRET),
    ]);
    let channel = aliyun_settings(addr).build(&secrets)?.sms().clone();

    let d = channel.send(&sms(1, "+8613800000001")).await?;
    assert_eq!(
        (d.provider.as_str(), d.provider_message_id.as_str()),
        ("aliyun", "900619746936498440^0")
    );
    let first = &seen.all()[0];
    assert_eq!(first["action"], "SendSms");
    assert_eq!(first["version"], "2017-05-25");
    assert_eq!(first["params"]["PhoneNumbers"], "13800000001");
    assert_eq!(first["params"]["SignName"], "区委组织部");
    assert_eq!(first["params"]["TemplateCode"], "SMS_154950909");
    assert_eq!(first["params"]["OutId"], "1");
    let tp: serde_json::Value = serde_json::from_str(
        first["params"]["TemplateParam"]
            .as_str()
            .unwrap_or_default(),
    )?;
    assert_eq!(tp, serde_json::json!({"name": "第一党支部", "days": "5"}));

    let expect = |to: &str, transient: bool, kind: FailureKind, code: &str| {
        (to.to_string(), transient, kind, code.to_string())
    };
    for (to, transient, kind, code) in [
        expect(
            "13800000002",
            true,
            FailureKind::Throttled,
            "isv.BUSINESS_LIMIT_CONTROL",
        ),
        expect("13800000003", true, FailureKind::MalformedReply, "http 200"),
        expect("13800000004", true, FailureKind::ProviderError, "http 503"),
        expect(
            "13800000005",
            false,
            FailureKind::InvalidRecipient,
            "isv.MOBILE_NUMBER_ILLEGAL",
        ),
        expect(
            "13800000006",
            false,
            FailureKind::RejectedContent,
            "isv.SMS_TEMPLATE_ILLEGAL",
        ),
        expect("13800000007", true, FailureKind::MalformedReply, "OK"),
    ] {
        let err = channel.send(&sms(2, &to)).await.unwrap_err();
        assert_eq!(
            (err.is_transient(), err.kind(), err.failure().code.as_str()),
            (transient, kind, code.as_str()),
            "{to}: {err}"
        );
    }

    let batch: Vec<SmsMessage> = (10..13).map(|i| sms(i, &format!("139000000{i}"))).collect();
    let ds = channel.send_batch(&batch).await;
    assert!(
        ds.iter().all(|d| d
            .as_ref()
            .is_ok_and(|d| d.provider_message_id == "900619746936498440^0")),
        "{ds:?}"
    );
    let last = seen.all().last().cloned().unwrap_or_default();
    assert_eq!(last["action"], "SendBatchSms");
    assert_eq!(
        last["params"]["PhoneNumberJson"],
        r#"["13900000010","13900000011","13900000012"]"#
    );
    assert_eq!(
        last["params"]["SignNameJson"],
        r#"["区委组织部","区委组织部","区委组织部"]"#
    );

    let wrong = MapSecrets::new([
        ("DUBAN_ALIYUN_ACCESS_KEY_ID", ALI_ID),
        ("DUBAN_ALIYUN_ACCESS_KEY_SECRET", "not-the-secret"),
    ]);
    let err = aliyun_settings(addr)
        .build(&wrong)?
        .sms()
        .send(&sms(3, "13800000001"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.is_transient(), err.kind()),
        (false, FailureKind::Auth),
        "{err}"
    );
    assert_eq!(err.failure().code, "SignatureDoesNotMatch");
    Ok(())
}

/// Recomputes the TC3 signature over what actually arrived and plays a scenario chosen by the
/// phone number.
async fn tencent_gateway(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> Response {
    let ts: i64 = header(&headers, "x-tc-timestamp").parse().unwrap_or(0);
    let expected = tc3::sign(
        TC_ID,
        TC_KEY,
        "sms",
        &header(&headers, "host"),
        ts,
        &header(&headers, "content-type"),
        &body,
    );
    let fresh = (chrono::Utc::now().timestamp() - ts).abs() <= 300;
    let proper = header(&headers, "x-tc-action") == "SendSms"
        && header(&headers, "x-tc-version") == "2021-01-11"
        && header(&headers, "x-tc-region") == "ap-guangzhou";
    let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    seen.push(req.clone());
    if header(&headers, "authorization") != expected.authorization || !fresh || !proper {
        return json(
            StatusCode::OK,
            serde_json::json!({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "The provided credentials could not be validated."}, "RequestId": "r"}}),
        );
    }
    let phone = req["PhoneNumberSet"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let status = |code: &str, message: &str| {
        json(
            StatusCode::OK,
            serde_json::json!({"Response": {"SendStatusSet": [{
            "SerialNo": if code == "Ok" { "5000:1045710669157053657849499619" } else { "" },
            "PhoneNumber": phone, "Fee": if code == "Ok" { 1 } else { 0 },
            "SessionContext": req["SessionContext"], "Code": code, "Message": message, "IsoCode": "CN"}],
            "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279"}}),
        )
    };
    match phone.as_str() {
        "+8613800000002" => status(
            "LimitExceeded.PhoneNumberDailyLimit",
            "the number of SMS messages sent from a single mobile number every day exceeds the upper limit",
        ),
        "+8613800000003" => (StatusCode::OK, "{\"Response\": ").into_response(),
        "+8613800000004" => (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response(),
        "+8613800000005" => status(
            "InvalidParameterValue.IncorrectPhoneNumber",
            "invalid number +8613800000005",
        ),
        "+8613800000006" => status(
            "FailedOperation.SignatureIncorrectOrUnapproved",
            "signature not approved",
        ),
        "+8613800000007" => status("LimitExceeded.PhoneNumberThirtySecondLimit", "30 s limit"),
        "+8613800000008" => json(
            StatusCode::OK,
            serde_json::json!({"Response": {"Error": {"Code": "InternalError.Timeout", "Message": "timeout"}, "RequestId": "r"}}),
        ),
        _ => status("Ok", "send success"),
    }
}

fn tencent_settings(addr: SocketAddr) -> NotifySettings {
    let mut s = NotifySettings::default();
    s.sms.provider = SmsProvider::Tencent;
    s.sms.tencent = Some(TencentSettings {
        endpoint: format!("http://{addr}/"),
        sdk_app_id: "1400006666".into(),
        sign_name: "区委组织部".into(),
        ..Default::default()
    });
    s.sms.templates = templates();
    s
}

#[tokio::test]
async fn tencent_gateway_sees_valid_signatures_and_errors_are_classified() -> Result<()> {
    duban_notify::install_crypto_provider();
    let seen = Seen::default();
    let addr = serve(
        Router::new()
            .route("/", post(tencent_gateway))
            .with_state(seen.clone()),
    )
    .await?;
    let secrets = MapSecrets::new([
        ("DUBAN_TENCENT_SECRET_ID", TC_ID),
        ("DUBAN_TENCENT_SECRET_KEY", TC_KEY),
    ]);
    let channel = tencent_settings(addr).build(&secrets)?.sms().clone();

    let d = channel.send(&sms(1, "13800000001")).await?;
    assert_eq!(
        (d.provider.as_str(), d.provider_message_id.as_str()),
        ("tencent", "5000:1045710669157053657849499619")
    );
    let first = &seen.all()[0];
    assert_eq!(
        first,
        &serde_json::json!({"PhoneNumberSet": ["+8613800000001"], "SmsSdkAppId": "1400006666", "SignName": "区委组织部",
                            "TemplateId": "1110", "TemplateParamSet": ["第一党支部", "5"], "SessionContext": "1"})
    );

    for (to, transient, kind, code) in [
        (
            "13800000002",
            true,
            FailureKind::Throttled,
            "LimitExceeded.PhoneNumberDailyLimit",
        ),
        ("13800000003", true, FailureKind::MalformedReply, "http 200"),
        ("13800000004", true, FailureKind::ProviderError, "http 502"),
        (
            "13800000005",
            false,
            FailureKind::InvalidRecipient,
            "InvalidParameterValue.IncorrectPhoneNumber",
        ),
        (
            "13800000006",
            false,
            FailureKind::RejectedContent,
            "FailedOperation.SignatureIncorrectOrUnapproved",
        ),
        (
            "13800000007",
            true,
            FailureKind::Throttled,
            "LimitExceeded.PhoneNumberThirtySecondLimit",
        ),
        (
            "13800000008",
            true,
            FailureKind::Timeout,
            "InternalError.Timeout",
        ),
    ] {
        let err = channel.send(&sms(2, to)).await.unwrap_err();
        assert_eq!(
            (err.is_transient(), err.kind(), err.failure().code.as_str()),
            (transient, kind, code),
            "{to}: {err}"
        );
        assert!(
            !err.to_string().contains("13800000005"),
            "numbers are masked in errors: {err}"
        );
    }

    let wrong = MapSecrets::new([
        ("DUBAN_TENCENT_SECRET_ID", TC_ID),
        ("DUBAN_TENCENT_SECRET_KEY", "not-the-key"),
    ]);
    let err = tencent_settings(addr)
        .build(&wrong)?
        .sms()
        .send(&sms(3, "13800000001"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.is_transient(), err.kind()),
        (false, FailureKind::Auth),
        "{err}"
    );
    Ok(())
}

async fn webhook_gateway(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> Response {
    let verified = webhook::verify(
        HOOK_SECRET.as_bytes(),
        &header(&headers, "x-duban-timestamp"),
        &header(&headers, "x-duban-signature"),
        &body,
        chrono::Utc::now().timestamp(),
        300,
    );
    let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    seen.push(serde_json::json!({"body": req, "outbox": header(&headers, "x-duban-outbox-id"), "verified": verified.is_ok()}));
    if verified.is_err() {
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    match req["to"].as_str().unwrap_or_default() {
        "13800000002" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "7")],
            "slow down",
        )
            .into_response(),
        "13800000003" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "13800000005" => json(
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({"error": {"code": "invalid_recipient", "message": "空号"}}),
        ),
        "13800000006" => (StatusCode::BAD_REQUEST, "template?").into_response(),
        "13800000009" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json(StatusCode::OK, serde_json::json!({"message_id": "late"}))
        }
        _ => json(StatusCode::OK, serde_json::json!({"message_id": "gw-42"})),
    }
}

fn webhook_settings(addr: SocketAddr) -> NotifySettings {
    let mut s = NotifySettings::default();
    s.sms.provider = SmsProvider::Webhook;
    s.sms.timeout_secs = 1;
    s.sms.webhook = Some(WebhookSettings {
        url: format!("http://{addr}/sms"),
        ..Default::default()
    });
    s
}

#[tokio::test]
async fn webhook_gateway_verifies_hmac_and_errors_are_classified() -> Result<()> {
    duban_notify::install_crypto_provider();
    let seen = Seen::default();
    let addr = serve(
        Router::new()
            .route("/sms", post(webhook_gateway))
            .with_state(seen.clone()),
    )
    .await?;
    let secrets = MapSecrets::new([("DUBAN_SMS_WEBHOOK_SECRET", HOOK_SECRET)]);
    let channel = webhook_settings(addr).build(&secrets)?.sms().clone();

    let d = channel.send(&sms(1, "13800000001")).await?;
    assert_eq!(d.provider_message_id, "gw-42");
    let first = &seen.all()[0];
    assert_eq!(first["verified"], true);
    assert_eq!(first["outbox"], "1");
    assert_eq!(
        first["body"]["text"],
        "【区委组织部】第一党支部任期将于5天后届满，请及时换届。"
    );
    assert_eq!(first["body"]["params"]["unit"], "第一党支部");

    let err = channel.send(&sms(2, "13800000002")).await.unwrap_err();
    assert_eq!(
        (err.is_transient(), err.kind()),
        (true, FailureKind::Throttled)
    );
    assert_eq!(err.failure().retry_after, Some(Duration::from_secs(7)));
    for (to, transient, kind) in [
        ("13800000003", true, FailureKind::ProviderError),
        ("13800000005", false, FailureKind::InvalidRecipient),
        ("13800000006", false, FailureKind::RejectedContent),
        ("13800000009", true, FailureKind::Timeout),
    ] {
        let err = channel.send(&sms(3, to)).await.unwrap_err();
        assert_eq!(
            (err.is_transient(), err.kind()),
            (transient, kind),
            "{to}: {err}"
        );
    }

    let wrong = MapSecrets::new([("DUBAN_SMS_WEBHOOK_SECRET", "other")]);
    let err = webhook_settings(addr)
        .build(&wrong)?
        .sms()
        .send(&sms(4, "13800000001"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.is_transient(), err.kind()),
        (false, FailureKind::Auth),
        "{err}"
    );

    // Nobody listening: a refused connection is transient.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await?
        .local_addr()?;
    let err = webhook_settings(closed)
        .build(&secrets)?
        .sms()
        .send(&sms(5, "13800000001"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.is_transient(), err.kind()),
        (true, FailureKind::Connection),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn without_a_gateway_sms_goes_to_a_masked_log() -> Result<()> {
    let dir = TempDir::new("smslog");
    let mut settings = NotifySettings::default();
    settings.sms.log_file = dir.0.join("data/sms.log");
    let channel = settings.build(&MapSecrets::default())?.sms().clone();
    assert_eq!(channel.provider(), "sms_log");
    let ds = channel
        .send_batch(&[sms(1, "13812348000"), sms(2, "13912345678")])
        .await;
    assert!(ds.iter().all(Result::is_ok), "{ds:?}");
    let log = std::fs::read_to_string(dir.0.join("data/sms.log"))?;
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["to"], "138****8000");
    assert_eq!(lines[1]["outbox_id"], "2");
    assert_eq!(
        lines[1]["text"],
        "【区委组织部】第一党支部任期将于5天后届满，请及时换届。"
    );
    assert!(
        !log.contains("13812348000") && !log.contains("13912345678"),
        "{log}"
    );
    Ok(())
}
