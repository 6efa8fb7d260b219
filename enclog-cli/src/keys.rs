//! Where keys come from: key files, keyring folders, the environment, a key command, a prompt.
//!
//! Never argv: a key on the command line is visible to every local user through `ps`. The
//! loaders are the library's kind-agnostic ones (`Keyring::add_*`, `Sealer::from_key_*`), so new
//! key kinds work here without changes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use clap::Args;
use enclog::{Keyring, Recipient, SealingKey};
use zeroize::Zeroizing;

/// The environment variable naming a key file.
pub(crate) const ENV_KEY_FILE: &str = "ENCLOG_KEY_FILE";
/// The environment variable holding the key text itself.
pub(crate) const ENV_KEY: &str = "ENCLOG_KEY";
/// The environment variable holding a command that prints the key.
pub(crate) const ENV_KEY_COMMAND: &str = "ENCLOG_KEY_COMMAND";

/// Key options of the commands that read logs (they may hold many keys).
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct ReaderKeys {
    /// A key file (as written by `enclog genkey -o FILE`); repeat it for several keys.
    #[arg(long = "key-file", value_name = "FILE", help_heading = "Keys")]
    key_files: Vec<PathBuf>,
    /// A folder of key files (all files in it; names starting with `.` are skipped);
    /// repeatable.
    #[arg(long = "keyring", value_name = "DIR", help_heading = "Keys")]
    keyrings: Vec<PathBuf>,
    /// Run CMD with `sh -c` and read the key(s) from its output, one per line (e.g.
    /// `pass show logs/app`); also ENCLOG_KEY_COMMAND.
    #[arg(long = "key-command", value_name = "CMD", help_heading = "Keys")]
    key_command: Option<String>,
}

impl ReaderKeys {
    /// Whether a key option was given on the command line.
    pub(crate) fn given(&self) -> bool {
        !self.key_files.is_empty() || !self.keyrings.is_empty() || self.key_command.is_some()
    }
}

/// Key options of the commands that write logs (one key).
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct WriterKeys {
    /// The key file to seal with (as written by `enclog genkey -o FILE`).
    #[arg(long = "key-file", value_name = "FILE", help_heading = "Keys")]
    key_file: Option<PathBuf>,
    /// Run CMD with `sh -c` and read the key from its output (e.g. `pass show logs/app`);
    /// also ENCLOG_KEY_COMMAND.
    #[arg(
        long = "key-command",
        value_name = "CMD",
        help_heading = "Keys",
        conflicts_with = "key_file"
    )]
    key_command: Option<String>,
    /// Seal to this recipient (ENCLOG-RECIPIENT-1-…, from `enclog recipient`): public-key
    /// mode, this host cannot read what it writes. Public, so it may be given on the command
    /// line.
    #[arg(
        long = "recipient",
        value_name = "RECIPIENT",
        help_heading = "Keys",
        conflicts_with_all = ["key_file", "key_command"]
    )]
    recipient: Option<String>,
    /// Seal to the recipient in FILE (public: anyone may read it, but only you or root may
    /// own and write it).
    #[arg(
        long = "recipient-file",
        value_name = "FILE",
        help_heading = "Keys",
        conflicts_with_all = ["key_file", "key_command", "recipient"]
    )]
    recipient_file: Option<PathBuf>,
}

/// One place a key was asked to come from.
enum Source {
    File {
        path: PathBuf,
        origin: &'static str,
    },
    Dir(PathBuf),
    Text {
        text: Zeroizing<String>,
        origin: &'static str,
    },
    Command {
        command: String,
        origin: &'static str,
    },
}

/// The keys a reader holds, and the folders they came from (to look again when a line names a
/// key that is not loaded yet).
#[derive(Debug)]
pub(crate) struct LoadedKeys {
    pub(crate) keyring: Keyring,
    pub(crate) dirs: Vec<PathBuf>,
}

impl LoadedKeys {
    /// Loads the folders again into a copy of the keyring; `None` when nothing new was found.
    /// A folder that cannot be read now (a key file half written) is reported by the caller.
    pub(crate) fn rescan(&self) -> Result<Option<Keyring>> {
        let mut ring = self.keyring.clone();
        let before = ring.len();
        for dir in &self.dirs {
            ring.add_dir(dir)
                .with_context(|| format!("--keyring {}", dir.display()))?;
        }
        Ok((ring.len() > before).then_some(ring))
    }
}

/// Loads every key a reader was given.
pub(crate) fn load_keyring(args: &ReaderKeys) -> Result<LoadedKeys> {
    let mut sources: Vec<Source> = args
        .key_files
        .iter()
        .map(|p| Source::File {
            path: p.clone(),
            origin: "--key-file",
        })
        .collect();
    sources.extend(args.keyrings.iter().cloned().map(Source::Dir));
    if let Some(command) = &args.key_command {
        sources.push(Source::Command {
            command: command.clone(),
            origin: "--key-command",
        });
    }
    if sources.is_empty() {
        sources =
            from_environment_or_prompt("--key-file FILE, --keyring DIR or --key-command CMD")?;
    }

    let mut keyring = Keyring::new();
    let mut dirs = Vec::new();
    for source in sources {
        match source {
            Source::File { path, origin } => {
                keyring.add_file(&path).with_context(|| origin)?;
            }
            Source::Dir(dir) => {
                let ids = keyring
                    .add_dir(&dir)
                    .with_context(|| format!("--keyring {}", dir.display()))?;
                if ids.is_empty() {
                    bail!(
                        "--keyring {}: the folder holds no key file; put keys there with \
                         `enclog genkey -o {}/NAME.key`",
                        dir.display(),
                        dir.display()
                    );
                }
                dirs.push(dir);
            }
            Source::Text { text, origin } => {
                keyring.add_text(&text).with_context(|| origin)?;
            }
            Source::Command { command, origin } => {
                let output = run_key_command(&command, origin)?;
                let mut any = false;
                for line in key_lines(&output) {
                    keyring
                        .add_text(line)
                        .with_context(|| format!("{origin} `{command}` printed an invalid key"))?;
                    any = true;
                }
                if !any {
                    bail!("{origin} `{command}` printed no key on its standard output");
                }
            }
        }
    }
    Ok(LoadedKeys { keyring, dirs })
}

/// Loads the one key a writer seals with.
pub(crate) fn load_sealing_key(args: &WriterKeys) -> Result<SealingKey> {
    if let Some(text) = &args.recipient {
        let recipient: Recipient = text.parse().context("--recipient")?;
        return Ok(recipient.into());
    }
    if let Some(path) = &args.recipient_file {
        return Ok(Recipient::from_file(path)
            .context("--recipient-file")?
            .into());
    }
    let mut sources = Vec::new();
    if let Some(path) = &args.key_file {
        sources.push(Source::File {
            path: path.clone(),
            origin: "--key-file",
        });
    }
    if let Some(command) = &args.key_command {
        sources.push(Source::Command {
            command: command.clone(),
            origin: "--key-command",
        });
    }
    if sources.is_empty() {
        sources = from_environment_or_prompt("--key-file FILE or --key-command CMD")?;
    }
    if sources.len() > 1 {
        bail!(
            "more than one key is set ({}); a writer seals with one key: unset the others",
            [ENV_KEY_FILE, ENV_KEY, ENV_KEY_COMMAND]
                .iter()
                .filter(|v| std::env::var_os(v).is_some())
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    match sources.pop().expect("one source") {
        Source::File { path, origin } => SealingKey::from_file(&path).with_context(|| origin),
        Source::Text { text, origin } => SealingKey::from_text(&text).with_context(|| origin),
        Source::Command { command, origin } => {
            let output = run_key_command(&command, origin)?;
            let lines: Vec<&str> = key_lines(&output).collect();
            match lines.as_slice() {
                [line] => SealingKey::from_text(line)
                    .with_context(|| format!("{origin} `{command}` printed an invalid key")),
                [] => bail!("{origin} `{command}` printed no key on its standard output"),
                _ => bail!(
                    "{origin} `{command}` printed {} keys; a writer seals with one key",
                    lines.len()
                ),
            }
        }
        Source::Dir(_) => unreachable!("writers take no folder"),
    }
}

/// The sources given by environment variables, else a prompt on a terminal, else an error
/// listing the options.
fn from_environment_or_prompt(options: &str) -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    if let Some(path) = std::env::var_os(ENV_KEY_FILE).filter(|v| !v.is_empty()) {
        sources.push(Source::File {
            path: PathBuf::from(path),
            origin: ENV_KEY_FILE,
        });
    }
    if let Some(text) = std::env::var_os(ENV_KEY).filter(|v| !v.is_empty()) {
        let text = Zeroizing::new(text.into_string().map_err(|_| {
            anyhow::anyhow!("{ENV_KEY} is not valid UTF-8; a key is plain ASCII text")
        })?);
        sources.push(Source::Text {
            text,
            origin: ENV_KEY,
        });
    }
    if let Some(command) = std::env::var(ENV_KEY_COMMAND)
        .ok()
        .filter(|v| !v.is_empty())
    {
        sources.push(Source::Command {
            command,
            origin: ENV_KEY_COMMAND,
        });
    }
    if !sources.is_empty() {
        return Ok(sources);
    }
    if std::io::stdin().is_terminal() {
        let text = Zeroizing::new(
            rpassword::prompt_password("enclog key (input hidden): ")
                .context("cannot read the key from the terminal")?,
        );
        return Ok(vec![Source::Text {
            text,
            origin: "the key typed at the prompt",
        }]);
    }
    bail!(
        "no key given: use {options}, or set {ENV_KEY_FILE}, {ENV_KEY} or {ENV_KEY_COMMAND} \
         (a new key: `enclog genkey -o FILE`)"
    )
}

/// Runs a key command and returns its standard output. Its standard input is closed (the
/// command must not eat the log being read from ours).
///
/// Threats: a key leaking through the command. It runs without `ENCLOG_KEY`, `ENCLOG_KEY_FILE`,
/// `ENCLOG_KEY_COMMAND` or any other `ENCLOG_KEY…` variable in its environment (it is there to
/// supply the key, not to be handed one; a helper that logs its environment would log the key). Its standard error is never
/// echoed: a command that fails half-way may have written the key there (`cat app.key >&2`, a
/// `set -x` trace), and enclog's standard error often ends up in a journal. Only its size and
/// the exit status are reported; run the command yourself to see what it said.
fn run_key_command(command: &str, origin: &str) -> Result<Zeroizing<String>> {
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(command);
    // ENCLOG_KEY, ENCLOG_KEY_FILE, ENCLOG_KEY_COMMAND, and any later ENCLOG_KEY… variable.
    for (name, _) in std::env::vars_os() {
        if name.as_encoded_bytes().starts_with(ENV_KEY.as_bytes()) {
            sh.env_remove(name);
        }
    }
    let output = sh
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("{origin}: cannot run `sh -c {command:?}`"))?;
    let stdout = Zeroizing::new(output.stdout);
    let stderr = Zeroizing::new(output.stderr);
    if !output.status.success() {
        let status = match output.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_owned(),
        };
        bail!(
            "{origin} `{command}` failed ({status}){}; run it yourself to see why",
            stderr_summary(&stderr)
        );
    }
    if !stderr.iter().all(u8::is_ascii_whitespace) {
        crate::messages::note(format_args!(
            "{origin} `{command}` succeeded{}",
            stderr_summary(&stderr)
        ));
    }
    let text = std::str::from_utf8(&stdout)
        .map_err(|_| anyhow::anyhow!("{origin} `{command}` printed something that is not text"))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// What a key command wrote to its standard error, told without its content (which may hold
/// the key): " and wrote 3 lines (120 bytes) to its standard error, not shown here because it
/// may hold the key", or nothing when it wrote nothing but blanks.
fn stderr_summary(stderr: &[u8]) -> String {
    if stderr.iter().all(u8::is_ascii_whitespace) {
        return String::new();
    }
    let lines = stderr
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count();
    format!(
        " and wrote {lines} line{} ({} bytes) to its standard error, not shown here \
         because it may hold the key",
        if lines == 1 { "" } else { "s" },
        stderr.len()
    )
}

/// The lines of a command's output that hold a key: not blank, not a `#` comment.
fn key_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}
