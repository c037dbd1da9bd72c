//! Emails per second into a local SMTP server through the pooled transport.
//!
//! ```text
//! cargo run --release -p duban-notify --example smtp_bench -- --count 2000
//!     [--pool 8] [--concurrency 8] [--discard] [--port N]
//! ```
//!
//! Without `--port` it starts aiosmtpd on a free loopback port storing into a temporary Maildir
//! (`--discard`: accept and drop), sends `--count` reminders with Chinese subjects from
//! `--concurrency` tasks sharing one channel whose pool holds `--pool` connections, checks the
//! Maildir holds them all, and prints the rate. With `--port` it sends to a server already
//! listening on 127.0.0.1 (plain SMTP) and does not check the mailbox.

use duban_notify::settings::{SmtpSecurity, SmtpSettings};
use duban_notify::testing::{SinkOptions, SmtpSink};
use duban_notify::{EmailAddress, EmailMessage, MapSecrets, NotifySettings, OutboxKey};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

struct Args {
    count: usize,
    pool: u32,
    concurrency: usize,
    discard: bool,
    port: Option<u16>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        count: 2000,
        pool: 8,
        concurrency: 8,
        discard: false,
        port: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--count" => {
                a.count = value("--count")?
                    .parse()
                    .map_err(|e| format!("--count: {e}"))?
            }
            "--pool" => {
                a.pool = value("--pool")?
                    .parse()
                    .map_err(|e| format!("--pool: {e}"))?
            }
            "--concurrency" => {
                a.concurrency = value("--concurrency")?
                    .parse()
                    .map_err(|e| format!("--concurrency: {e}"))?
            }
            "--port" => {
                a.port = Some(
                    value("--port")?
                        .parse()
                        .map_err(|e| format!("--port: {e}"))?,
                )
            }
            "--discard" => a.discard = true,
            other => {
                return Err(format!(
                    "unknown argument {other:?}; use --count N --pool N --concurrency N --discard --port N"
                ));
            }
        }
    }
    if a.count == 0 || a.pool == 0 || a.concurrency == 0 {
        return Err("--count, --pool and --concurrency must be at least 1".into());
    }
    Ok(a)
}

fn reminder(i: usize) -> EmailMessage {
    EmailMessage {
        outbox_id: OutboxKey::from(i as u64),
        to: EmailAddress::new(Some("张三"), &format!("secretary{i}@example.cn")),
        subject: format!("督办提醒：第{i}党支部换届选举将于3月1日到期"),
        text: format!(
            "张三同志：\n\n第{i}党支部任期将于2025年3月1日届满，请按期换届。\n确认：https://duban.example.cn/c/{i}\n"
        ),
        html: None,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args().map_err(anyhow::Error::msg)?;
    duban_notify::install_crypto_provider();
    let dir = std::env::temp_dir().join(format!(
        "duban-smtp-bench-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let sink = match args.port {
        Some(_) => None,
        None => Some(
            SmtpSink::start(
                dir.join("maildir"),
                SinkOptions {
                    discard: args.discard,
                    ..Default::default()
                },
            )
            .await?,
        ),
    };
    let port = args
        .port
        .or(sink.as_ref().map(SmtpSink::port))
        .expect("a port");

    let mut settings = NotifySettings::default();
    settings.email.message_id_domain = Some("bench.duban.test".into());
    settings.email.smtp = Some(SmtpSettings {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: SmtpSecurity::None,
        pool_max_size: args.pool,
        ..Default::default()
    });
    let email = settings.build(&MapSecrets::default())?.email().clone();

    // One warm-up message opens the first connection outside the measurement.
    email.send(&reminder(usize::MAX / 2)).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (email, next, count) = (email.clone(), next.clone(), args.count);
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, duban_notify::SendError>(());
                }
                email.send(&reminder(i)).await?;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let elapsed = started.elapsed();
    let rate = args.count as f64 / elapsed.as_secs_f64();

    let server = match (&sink, args.discard) {
        (None, _) => format!("127.0.0.1:{port}"),
        (Some(_), true) => "aiosmtpd (discarding)".to_string(),
        (Some(_), false) => "aiosmtpd (Maildir)".to_string(),
    };
    println!(
        "{} emails in {:.2} s: {:.0} emails/s (pool {}, {} concurrent senders, {server})",
        args.count,
        elapsed.as_secs_f64(),
        rate,
        args.pool,
        args.concurrency
    );
    if let Some(s) = &sink
        && !args.discard
    {
        let stored = s.count()?;
        anyhow::ensure!(
            stored == args.count + 1,
            "the Maildir holds {stored} messages, expected {}",
            args.count + 1
        );
        println!("the Maildir holds all {} messages (+1 warm-up)", args.count);
    }
    drop(sink);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
