//! [`VerifyOptions`]: how a [`Verifier`](super::Verifier) judges what it reads.

/// How a [`Verifier`](super::Verifier) judges what it reads: which findings it leaves out for a log still being
/// written ([`allow_open_sessions`](Self::allow_open_sessions)), one shared with plain text
/// ([`allow_plain_lines`](Self::allow_plain_lines)) or with other writers
/// ([`allow_new_chains`](Self::allow_new_chains): the chain walk then accepts lineages it has
/// not seen), and which it adds ([`strict`](Self::strict)).
///
/// ```
/// use enclog::verify::{Verifier, VerifyOptions};
/// let live = VerifyOptions::default().allow_open_sessions(true); // a log still being written
/// let verifier = Verifier::with_options(live);
/// # let _ = verifier;
/// ```
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    pub(crate) allow_open_sessions: bool,
    pub(crate) allow_plain_lines: bool,
    pub(crate) strict: bool,
    pub(crate) allow_new_chains: bool,
    pub(crate) anchor: Option<crate::seal::ChainHead>,
    pub(crate) max_findings: usize,
}

impl VerifyOptions {
    /// For a log that is still being written: a session without a close record is not a
    /// finding (the writer may still be running), and neither is a last line that has no
    /// newline yet (it may be mid-write). The price: a writer that crashed, or a log whose tail
    /// was cut at a line boundary, goes unreported. Sessions left open are still counted in
    /// [`Report::open_sessions`](super::Report::open_sessions). Default: `false`.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{Verifier, VerifyOptions};
    /// let key = Key::generate()?;
    /// let log = Sealer::new(key.clone()).seal_line(b"still running")?; // no close record yet
    /// let mut live = Verifier::with_options(VerifyOptions::default().allow_open_sessions(true));
    /// live.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
    /// let report = live.finish();
    /// assert!(report.is_clean() && report.open_sessions == 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_open_sessions(mut self, on: bool) -> Self {
        self.allow_open_sessions = on;
        self
    }

    /// For a log that mixes plain lines with enclog's on purpose (another program writing to
    /// the same file): lines without a token are counted in [`Report::plain_lines`](super::Report::plain_lines) but are
    /// not [`FindingKind::PlainLine`](super::FindingKind::PlainLine) findings. The price: a forged plain line goes unreported.
    /// Blank lines are never findings. Default: `false`.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{Verifier, VerifyOptions};
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let mut log = b"starting (a plain line from a wrapper script)\n".to_vec();
    /// sealer.seal_to(None, b"event", &mut log)?;
    /// sealer.close_to(&mut log)?;
    /// let mut verifier = Verifier::with_options(VerifyOptions::default().allow_plain_lines(true));
    /// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
    /// let report = verifier.finish();
    /// assert!(report.is_clean() && report.plain_lines == 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_plain_lines(mut self, on: bool) -> Self {
        self.allow_plain_lines = on;
        self
    }

    /// Text before or after a token (a syslog header, a JSON wrapper, or words an attacker put
    /// there) is not authenticated; it is always counted in [`Report::unauthenticated_text`](super::Report::unauthenticated_text),
    /// and with `strict` each run of such lines is also a
    /// [`FindingKind::UnauthenticatedText`](super::FindingKind::UnauthenticatedText) finding. Clear metadata that matches its encrypted
    /// copy is authenticated and does not count. Default: `false`.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{FindingKind, Verifier, VerifyOptions};
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let mut log = b"Nov 26 20:27:30 web1 app[77]: ".to_vec(); // a syslog header
    /// sealer.seal_to(None, b"event", &mut log)?;
    /// sealer.close_to(&mut log)?;
    /// let mut verifier = Verifier::with_options(VerifyOptions::default().strict(true));
    /// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
    /// let report = verifier.finish();
    /// assert_eq!(report.unauthenticated_text, 1);
    /// assert_eq!(report.count(FindingKind::UnauthenticatedText), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn strict(mut self, on: bool) -> Self {
        self.strict = on;
        self
    }

    /// For a log that several writers share on purpose (processes started apart, hosts shipping
    /// to one file), or a writer that restarts without its chain state: a session that starts a
    /// lineage not seen before in the input is not a [`FindingKind::NewChain`](super::FindingKind::NewChain) finding. The
    /// price: a session forged as a new root (by a holder of the public recipient, or of the
    /// key) goes unreported. Every other chain finding stays. The input's first version 2
    /// session never is one. Default: `false`.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{FindingKind, Verifier, VerifyOptions};
    /// let key = Key::generate()?;
    /// let mut log = Vec::new();
    /// for writer in ["web", "worker"] {
    ///     let sealer = Sealer::new(key.clone()); // two writers: two lineages
    ///     sealer.seal_to(None, format!("{writer} started").as_bytes(), &mut log)?;
    ///     sealer.close_to(&mut log)?;
    /// }
    /// let ring = Keyring::from(key);
    /// let mut strict = Verifier::new();
    /// strict.observe_all("app.log", &mut Decryptor::new(&log[..], ring.clone()))?;
    /// assert_eq!(strict.finish().count(FindingKind::NewChain), 1);
    ///
    /// let shared = VerifyOptions::default().allow_new_chains(true);
    /// let mut verifier = Verifier::with_options(shared);
    /// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], ring))?;
    /// let report = verifier.finish();
    /// assert!(report.is_clean() && report.chains == 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_new_chains(mut self, on: bool) -> Self {
        self.allow_new_chains = on;
        self
    }

    /// Checks the ends of the log against a writer's chain state (`FORMAT.md` §8: the ends are
    /// invisible to a chain walk): the writer's lineage must start at its first session (index
    /// 0) and reach the latest session the state names, with its close record if the state says
    /// it was closed. Otherwise [`FindingKind::MissingStart`](super::FindingKind::MissingStart) or [`FindingKind::MissingEnd`](super::FindingKind::MissingEnd).
    /// Give every file of the log, oldest first. Read the head with
    /// [`ChainState::head`](crate::seal::ChainState::head) (CLI: `verify --chain FILE`).
    ///
    /// ```
    /// use enclog::seal::{ChainState, Rotation};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{FindingKind, Verifier, VerifyOptions};
    /// use enclog::{Key, Keyring, Sealer};
    /// let dir = tempfile::tempdir()?;
    /// let (key, path) = (Key::generate()?, dir.path().join("app.chain"));
    /// let mut runs = Vec::new();
    /// for run in 0..2 {
    ///     let state = ChainState::open(&path)?;
    ///     let sealer = Sealer::with_chain_state(key.clone(), Rotation::default(), state)?;
    ///     let mut log = sealer.seal_line(format!("run {run}").as_bytes())?;
    ///     sealer.close_to(&mut log)?;
    ///     runs.push(log);
    /// }
    /// let head = ChainState::head(&path)?.unwrap();
    /// let check = |log: &[u8]| -> Result<_, Box<dyn std::error::Error>> {
    ///     let mut v = Verifier::with_options(VerifyOptions::default().anchor(head));
    ///     v.observe_all("app.log", &mut Decryptor::new(log, Keyring::from(key.clone())))?;
    ///     Ok(v.finish())
    /// };
    /// assert!(check(&runs.concat())?.is_clean());
    /// // The last run cut off: a valid chain, but not the one the state names.
    /// assert_eq!(check(&runs[0])?.count(FindingKind::MissingEnd), 1);
    /// // The first run cut off.
    /// assert_eq!(check(&runs[1])?.count(FindingKind::MissingStart), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn anchor(mut self, head: crate::seal::ChainHead) -> Self {
        self.anchor = Some(head);
        self
    }

    /// At most this many findings are kept, the earliest in reading order first; the rest are
    /// only counted ([`Report::findings_total`](super::Report::findings_total), [`Report::count`](super::Report::count)). Default: 10 000.
    ///
    /// ```
    /// let options = enclog::verify::VerifyOptions::default().max_findings(100); // a summary view
    /// # let _ = options;
    /// ```
    pub fn max_findings(mut self, max_findings: usize) -> Self {
        self.max_findings = max_findings;
        self
    }
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            allow_open_sessions: false,
            allow_plain_lines: false,
            strict: false,
            allow_new_chains: false,
            anchor: None,
            max_findings: 10_000,
        }
    }
}
