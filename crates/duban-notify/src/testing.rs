//! Test support (feature `testing`): a real SMTP server on a loopback port, backed by
//! Debian's `python3-aiosmtpd`, storing what it receives in a Maildir, and a reader that parses
//! the received mail with Python's own `email` package — an implementation independent of
//! lettre — so tests check what a real mail client would see.
//!
//! The server runs `/usr/bin/python3` (Debian's, where `apt-get install python3-aiosmtpd` puts
//! the module) unless `DUBAN_TEST_PYTHON` names another interpreter.

use serde::Deserialize;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SERVER: &str = r#"
import argparse, asyncio, logging, ssl, sys, warnings
from aiosmtpd.handlers import Mailbox, Sink
from aiosmtpd.smtp import SMTP, AuthResult

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--maildir", required=True)
p.add_argument("--mode", choices=["plain", "starttls", "smtps"], default="plain")
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--auth")
p.add_argument("--discard", action="store_true")
a = p.parse_args()

# Refused handshakes and AUTH-without-TLS notices are expected in tests; keep stderr for real faults.
warnings.simplefilter("ignore")
for name in ("mail.log", "asyncio"):
    logging.getLogger(name).setLevel(logging.CRITICAL)

ctx = None
if a.mode != "plain":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)

def authenticator(server, session, envelope, mechanism, auth_data):
    user, password = a.auth.split(":", 1)
    ok = (getattr(auth_data, "login", b"") == user.encode()
          and getattr(auth_data, "password", b"") == password.encode())
    return AuthResult(success=ok, handled=False)

handler = Sink() if a.discard else Mailbox(a.maildir)

def factory():
    kw = dict(hostname="localhost", enable_SMTPUTF8=True)
    if a.mode == "starttls":
        kw.update(tls_context=ctx, require_starttls=True)
    if a.auth:
        kw.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    return SMTP(handler, **kw)

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host="127.0.0.1", port=a.port,
                                      ssl=ctx if a.mode == "smtps" else None, reuse_address=True)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"#;

const READER: &str = r#"
import json, mailbox, sys
from email import policy
from email.parser import BytesParser

out = []
md = mailbox.Maildir(sys.argv[1], factory=None, create=False)
for key in md.iterkeys():
    with md.get_file(key) as f:
        msg = BytesParser(policy=policy.default).parse(f)
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    out.append({
        "message_id": str(msg.get("Message-ID", "")),
        "subject": str(msg.get("Subject", "")),
        "from": str(msg.get("From", "")),
        "to": str(msg.get("To", "")),
        "content_type": msg.get_content_type(),
        "text": text.get_content() if text is not None else None,
        "html": html.get_content() if html is not None else None,
    })
json.dump(out, sys.stdout, ensure_ascii=False)
"#;

/// The interpreter that has `aiosmtpd`.
pub fn python() -> String {
    std::env::var("DUBAN_TEST_PYTHON").unwrap_or_else(|_| {
        if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3".into()
        } else {
            "python3".into()
        }
    })
}

/// How the SMTP server listens.
#[derive(Debug, Clone, Default)]
pub enum SinkSecurity {
    #[default]
    Plain,
    /// STARTTLS required before MAIL.
    Starttls { cert: PathBuf, key: PathBuf },
    /// Implicit TLS.
    Smtps { cert: PathBuf, key: PathBuf },
}

/// Options for [`SmtpSink::start`].
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    pub security: SinkSecurity,
    /// `(user, password)` that AUTH must present; `None`: no AUTH.
    pub auth: Option<(String, String)>,
    /// Accept and discard messages instead of storing them (for measuring the client).
    pub discard: bool,
}

/// A running aiosmtpd server on 127.0.0.1.
pub struct SmtpSink {
    port: u16,
    maildir: PathBuf,
    options: SinkOptions,
    child: Option<Child>,
}

/// One message as Python's `email` package parsed it.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedMail {
    pub message_id: String,
    pub subject: String,
    pub from: String,
    pub to: String,
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl SmtpSink {
    /// Starts a server on a free port that stores mail in `maildir`.
    pub async fn start(maildir: impl Into<PathBuf>, options: SinkOptions) -> io::Result<Self> {
        let mut sink = SmtpSink {
            port: free_port()?,
            maildir: maildir.into(),
            options,
            child: None,
        };
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(sink.maildir.join(sub))?;
        }
        sink.spawn().await?;
        Ok(sink)
    }

    async fn spawn(&mut self) -> io::Result<()> {
        let mut cmd = Command::new(python());
        cmd.arg("-c")
            .arg(SERVER)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--maildir")
            .arg(&self.maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        match &self.options.security {
            SinkSecurity::Plain => {
                cmd.args(["--mode", "plain"]);
            }
            SinkSecurity::Starttls { cert, key } => {
                cmd.args(["--mode", "starttls"])
                    .arg("--cert")
                    .arg(cert)
                    .arg("--key")
                    .arg(key);
            }
            SinkSecurity::Smtps { cert, key } => {
                cmd.args(["--mode", "smtps"])
                    .arg("--cert")
                    .arg(cert)
                    .arg("--key")
                    .arg(key);
            }
        }
        if self.options.discard {
            cmd.arg("--discard");
        }
        if let Some((user, password)) = &self.options.auth {
            cmd.arg("--auth").arg(format!("{user}:{password}"));
        }
        let mut child = cmd.spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        match ready {
            Ok(Ok(Some(line))) if line.trim() == "READY" => {
                // Keep draining stdout so the server never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                self.child = Some(child);
                Ok(())
            }
            other => {
                let _ = child.kill().await;
                Err(io::Error::other(format!(
                    "aiosmtpd did not start with {} (install python3-aiosmtpd): {other:?}",
                    python()
                )))
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn maildir(&self) -> &Path {
        &self.maildir
    }

    /// Kills the server (as a crash would: open connections just break).
    pub async fn stop(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// Starts the server again on the same port and Maildir.
    pub async fn restart(&mut self) -> io::Result<()> {
        self.stop().await?;
        // The port was just released; retry briefly in case the kernel still holds it.
        let mut last = None;
        for _ in 0..50 {
            match self.spawn().await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("restart failed")))
    }

    /// How many messages the Maildir holds.
    pub fn count(&self) -> io::Result<usize> {
        let mut n = 0;
        for sub in ["new", "cur"] {
            match std::fs::read_dir(self.maildir.join(sub)) {
                Ok(entries) => n += entries.filter_map(Result::ok).count(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Every stored message, parsed by Python's `email` package (RFC 2047 subjects decoded,
    /// transfer encodings undone).
    pub async fn received(&self) -> io::Result<Vec<ReceivedMail>> {
        let out = Command::new(python())
            .arg("-c")
            .arg(READER)
            .arg(&self.maildir)
            .output()
            .await?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "reading the Maildir failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        serde_json::from_slice(&out.stdout).map_err(io::Error::other)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// A private CA and a server certificate for `localhost` / `127.0.0.1` it signed, made with
/// the `openssl` command line tool.
#[derive(Debug, Clone)]
pub struct TestCerts {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TestCerts {
    pub fn generate(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let p = |name: &str| dir.join(name);
        let run = |args: &[&str]| -> io::Result<()> {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()?;
            if out.status.success() {
                Ok(())
            } else {
                Err(io::Error::other(format!(
                    "openssl {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                )))
            }
        };
        std::fs::write(
            p("server.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )?;
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=duban test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ])?;
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ])?;
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ])?;
        Ok(TestCerts {
            ca_cert: p("ca.pem"),
            server_cert: p("server.pem"),
            server_key: p("server.key"),
        })
    }
}
