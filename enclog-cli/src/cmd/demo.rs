//! `enclog demo`: a tour needing no setup. A throwaway key, a few realistic events logged
//! through `tracing` into an encrypted file, the file as it is on disk, then decrypted.

use std::error::Error;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};

use anyhow::{Context, Result};
use clap::Args;
use enclog::format::RecordKind;
use enclog::read::{Decryptor, Outcome};
use enclog::{EncryptedWriter, Key, Keyring};

use crate::cmd::Status;
use crate::messages;
use crate::output::{self, ColorOption, TextStyle};

/// Raw lines are shortened to this many characters on screen (they are long and all alike).
const RAW_WIDTH: usize = 96;

/// Show what enclog does, with a throwaway key (no setup needed).
#[derive(Args, Debug)]
#[command(after_help = "Example:\n  enclog demo")]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    color: ColorOption,
}

/// Runs `enclog demo`.
pub(crate) fn run(args: DemoArgs) -> Result<Status> {
    let color = args.color.color.color_stdout();
    let key = Key::generate().context("cannot generate a key")?;
    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let path = dir.path().join("app.log");
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;

    let writer = EncryptedWriter::new(key.clone(), file).clear_level(true);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, log_some_events);
    writer.close_session();
    if writer.lost_lines() > 0 {
        anyhow::bail!(
            "{} lines could not be written to {}",
            writer.lost_lines(),
            path.display()
        );
    }

    let log = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let style = Style(color);
    let mut page = Vec::new();
    let w = &mut page;
    writeln!(w, "{}", style.title("enclog demo"))?;
    writeln!(
        w,
        "A throwaway key ({}) was generated, and a small web service logged a few events\n\
         through `tracing` into {} (a temporary file, removed when the demo ends).\n",
        key.id(),
        path.display()
    )?;

    writeln!(w, "{}", style.title("1. The log file as stored"))?;
    writeln!(
        w,
        "{}",
        style.dim(
            "Each line is one whole event (message, fields, spans, multi-line error chains),\n\
             sealed with XChaCha20-Poly1305. Only the level stays in clear, for grep and log\n\
             routers, and an encrypted copy of it detects any edit. The tokens start alike:\n\
             their first bytes are the (public) key id and the writer's session id; the\n\
             sequence number, then the ciphertext, follow. The last line closes the session:\n\
             `enclog verify` tells a clean shutdown from a crash or a cut file.\n\
             (Lines shortened for the screen.)"
        )
    )?;
    for line in log.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let line = String::from_utf8_lossy(line);
        match line.char_indices().nth(RAW_WIDTH) {
            Some((cut, _)) => writeln!(w, "  {}…", &line[..cut])?,
            None => writeln!(w, "  {line}")?,
        }
    }

    writeln!(
        w,
        "\n{}",
        style.title("2. Decrypted with the key (enclog decrypt)")
    )?;
    let mut reader = Decryptor::new(&log[..], Keyring::from(key));
    while let Some(entry) = reader
        .next_entry()
        .context("cannot read the demo log back")?
    {
        match entry.outcome {
            Outcome::Opened(opened) if opened.record == RecordKind::Close => {
                writeln!(w, "{}", style.dim("  (session closed cleanly)"))?;
            }
            Outcome::Opened(opened) => {
                w.write_all(b"  ")?;
                let mut event = Vec::new();
                output::write_opened(
                    &mut event,
                    &opened,
                    TextStyle {
                        color,
                        escape: false,
                    },
                )?;
                // Indent continuation lines (the error chain) like the first.
                for (i, part) in event.split_inclusive(|&b| b == b'\n').enumerate() {
                    if i > 0 {
                        w.write_all(b"  ")?;
                    }
                    w.write_all(part)?;
                }
            }
            Outcome::Plain => w.write_all(entry.raw)?,
            Outcome::Failed(e) => anyhow::bail!("demo line {} did not open: {e}", entry.line_no),
            _ => anyhow::bail!(
                "demo line {} holds a record the demo cannot show",
                entry.line_no
            ),
        }
    }

    writeln!(w, "\n{}", style.title("3. Next steps"))?;
    writeln!(
        w,
        "  Make a key (keep it secret; keep a copy: logs cannot be read without it):"
    )?;
    writeln!(w, "    {}", style.cmd("enclog genkey -o app.key"))?;
    writeln!(
        w,
        "  Log through it (Cargo.toml: enclog as a path or git dependency, tracing):"
    )?;
    for line in SNIPPET.lines() {
        writeln!(w, "    {}", style.code(line))?;
    }
    writeln!(w, "  Programs in any language:")?;
    writeln!(
        w,
        "    {}",
        style.cmd("my-app 2>&1 | enclog encrypt --key-file app.key >> app.log")
    )?;
    writeln!(w, "  Read, follow and check the log:")?;
    writeln!(
        w,
        "    {}",
        style.cmd("enclog decrypt --key-file app.key app.log")
    )?;
    writeln!(
        w,
        "    {}",
        style.cmd("enclog tailf --key-file app.key app.log")
    )?;
    writeln!(
        w,
        "    {}",
        style.cmd("enclog verify --key-file app.key app.log")
    )?;
    writeln!(w, "  More: enclog help COMMAND")?;

    output::print(&page).map_err(messages::stdout_failed)?;
    Ok(Status::Clean)
}

const SNIPPET: &str = r#"let key = enclog::SealingKey::from_file("app.key")?; // a key or a recipient
let _guard = enclog::init_file("app.log", key)?; // keep it: it closes the session on exit
tracing::info!(user = "alice@example.com", "signed in");
// stderr, rolling files, other formatters: enclog::EncryptedWriter + tracing_subscriber::fmt"#;

/// What a small web service logs in a minute.
fn log_some_events() {
    let _server = tracing::info_span!("server", version = "1.4.2").entered();
    tracing::info!(target: "shop", addr = "0.0.0.0:8443", "listening");
    {
        let _request = tracing::info_span!(
            "request",
            method = "POST",
            path = "/signup",
            request_id = 4711
        )
        .entered();
        tracing::info!(target: "shop::accounts", email = "alice@example.com", plan = "pro", "new account created");
        let err = PaymentError {
            invoice: "2026-0042",
            source: GatewayError {
                host: "api.payments.example",
                source: io::Error::new(io::ErrorKind::ConnectionReset, "connection reset by peer"),
            },
        };
        tracing::error!(
            target: "shop::billing",
            customer = 1842,
            "charging the first invoice failed: {}",
            Chain(&err)
        );
    }
    tracing::warn!(target: "shop::mail", queue = "welcome-emails", depth = 1024, "queue is backing up");
}

/// An error and its causes, one per line.
struct Chain<'a>(&'a dyn Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, "\n  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[derive(Debug)]
struct PaymentError {
    invoice: &'static str,
    source: GatewayError,
}

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot charge invoice {}", self.invoice)
    }
}

impl Error for PaymentError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

#[derive(Debug)]
struct GatewayError {
    host: &'static str,
    source: io::Error,
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "payment gateway {} did not answer", self.host)
    }
}

impl Error for GatewayError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// Terminal styles, or none.
#[derive(Clone, Copy)]
struct Style(bool);

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn title(self, text: &str) -> String {
        self.paint("1;4", text)
    }
    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
    fn cmd(self, text: &str) -> String {
        self.paint("1;36", &format!("$ {text}"))
    }
    fn code(self, text: &str) -> String {
        self.paint("36", text)
    }
}
