//! Keys for Python: `Key`, `Recipient`, `Identity`, `FernetKey` and `Keyring`, each wrapping
//! the library's type (key bytes zeroized on drop by the library); and the conversions of the
//! `key` and `keyring` arguments the rest of the module takes.
//!
//! Key material never reaches a `repr` or an exception message: a key shows its id only.

use std::path::PathBuf;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use zeroize::Zeroizing;

use enclog::fernet::FernetKey;
use enclog::{Identity, Key, KeyError, Keyring, Recipient, SealingKey};

use crate::errors::key_error;

/// A symmetric enclog key (`ENCLOG-KEY-1-…`): writers seal with it and readers open with it.
/// `repr()` shows its id only. Make one with `enclog genkey -o app.key` (mode 0600) and load it
/// with `Key.from_file`.
#[pyclass(frozen, name = "Key", module = "enclog")]
pub(crate) struct PyKey(pub(crate) Key);

#[pymethods]
impl PyKey {
    /// A new random key.
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<PyKey> {
        Key::generate().map(PyKey).map_err(|e| key_error(py, &e))
    }

    /// The key in the file at `path` (as `enclog genkey -o` writes it). Refused when group or
    /// others can read the file, or another user owns it.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<PyKey> {
        Key::from_file(path)
            .map(PyKey)
            .map_err(|e| key_error(py, &e))
    }

    /// The key held by the environment variable `variable`.
    #[staticmethod]
    fn from_env(py: Python<'_>, variable: &str) -> PyResult<PyKey> {
        Key::from_env(variable)
            .map(PyKey)
            .map_err(|e| key_error(py, &e))
    }

    /// Parses key text (`ENCLOG-KEY-1-…`). Prefer `from_file` or `from_env`: a key in source
    /// code ends up in version control.
    #[staticmethod]
    fn from_text(text: &Bound<'_, PyAny>) -> PyResult<PyKey> {
        with_text(text, |t| t.parse::<Key>()).map(PyKey)
    }

    /// The key's id, as every line sealed with it names it.
    #[getter]
    fn id(&self) -> String {
        self.0.id().to_string()
    }

    /// The key's text, to store it (a key file must be mode 0600). The Python string this
    /// returns is not wiped from memory when it is freed, unlike the key itself.
    fn to_text(&self) -> String {
        self.0.to_text().as_str().to_owned()
    }

    fn __repr__(&self) -> String {
        format!("Key(id='{}')", self.0.id())
    }
}

/// A recipient (`ENCLOG-RECIPIENT-1-…`): the public half of an `Identity`. A writer given a
/// recipient seals lines it cannot read back; only the identity opens them.
#[pyclass(frozen, name = "Recipient", module = "enclog")]
pub(crate) struct PyRecipient(pub(crate) Recipient);

#[pymethods]
impl PyRecipient {
    /// The recipient in the file at `path` (any permissions but group or world write: it is
    /// public, but whoever can replace it chooses who reads the logs).
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<PyRecipient> {
        Recipient::from_file(path)
            .map(PyRecipient)
            .map_err(|e| key_error(py, &e))
    }

    /// Parses recipient text (`ENCLOG-RECIPIENT-1-…`).
    #[staticmethod]
    fn from_text(text: &Bound<'_, PyAny>) -> PyResult<PyRecipient> {
        with_text(text, |t| t.parse::<Recipient>()).map(PyRecipient)
    }

    /// The id its lines name (the identity's id).
    #[getter]
    fn id(&self) -> String {
        self.0.id().to_string()
    }

    /// The recipient's text (public).
    fn to_text(&self) -> String {
        self.0.to_string()
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("Recipient(id='{}')", self.0.id())
    }
}

/// An identity (`ENCLOG-IDENTITY-1-…`): the secret that opens lines sealed to its recipient.
/// Keep it on the hosts that read logs; give writers `identity.recipient`.
#[pyclass(frozen, name = "Identity", module = "enclog")]
pub(crate) struct PyIdentity(pub(crate) Identity);

#[pymethods]
impl PyIdentity {
    /// A new random identity.
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<PyIdentity> {
        Identity::generate()
            .map(PyIdentity)
            .map_err(|e| key_error(py, &e))
    }

    /// The identity in the file at `path` (`enclog genkey --recipient -o FILE`; mode 0600).
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<PyIdentity> {
        Identity::from_file(path)
            .map(PyIdentity)
            .map_err(|e| key_error(py, &e))
    }

    /// Parses identity text (`ENCLOG-IDENTITY-1-…`).
    #[staticmethod]
    fn from_text(text: &Bound<'_, PyAny>) -> PyResult<PyIdentity> {
        with_text(text, |t| t.parse::<Identity>()).map(PyIdentity)
    }

    /// The public recipient that writers seal to.
    #[getter]
    fn recipient(&self) -> PyRecipient {
        PyRecipient(self.0.recipient())
    }

    /// The id its lines name.
    #[getter]
    fn id(&self) -> String {
        self.0.id().to_string()
    }

    /// The identity's text, to store it (mode 0600). The Python string is not wiped from
    /// memory when it is freed.
    fn to_text(&self) -> String {
        self.0.to_text().as_str().to_owned()
    }

    fn __repr__(&self) -> String {
        format!("Identity(id='{}')", self.0.id())
    }
}

/// A zato-enclog Fernet key (44 characters of url-safe base64, what zato-enclog's `genkey`
/// and `cryptography.fernet.Fernet.generate_key()` make). Writers given one write lines that
/// zato-enclog's `enclog open` reads (the weaker format: no sequence numbers); readers open
/// zato-enclog's logs with it.
#[pyclass(frozen, name = "FernetKey", module = "enclog")]
pub(crate) struct PyFernetKey(pub(crate) FernetKey);

#[pymethods]
impl PyFernetKey {
    /// A new random Fernet key.
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<PyFernetKey> {
        FernetKey::generate()
            .map(PyFernetKey)
            .map_err(|e| key_error(py, &e))
    }

    /// The Fernet key in the file at `path` (mode 0600).
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<PyFernetKey> {
        FernetKey::from_file(path)
            .map(PyFernetKey)
            .map_err(|e| key_error(py, &e))
    }

    /// Parses a Fernet key (`str` or `bytes`, as `Fernet.generate_key()` returns it).
    #[staticmethod]
    fn from_text(text: &Bound<'_, PyAny>) -> PyResult<PyFernetKey> {
        with_text(text, |t| t.parse::<FernetKey>()).map(PyFernetKey)
    }

    /// The id enclog gives it (Fernet tokens name no key; this one is derived from the key).
    #[getter]
    fn id(&self) -> String {
        self.0.id().to_string()
    }

    /// The key's text. The Python string is not wiped from memory when it is freed.
    fn to_text(&self) -> String {
        self.0.to_text().as_str().to_owned()
    }

    fn __repr__(&self) -> String {
        format!("FernetKey(id='{}')", self.0.id())
    }
}

/// The keys a reader holds (keys, identities, Fernet keys, in any mix), found by the id each
/// line names: logs written across key rotations open in one pass. `Keyring(keys)` takes any
/// iterable of keys or key text.
#[pyclass(name = "Keyring", module = "enclog")]
pub(crate) struct PyKeyring(pub(crate) Keyring);

#[pymethods]
impl PyKeyring {
    #[new]
    #[pyo3(signature = (keys = None))]
    fn new(keys: Option<&Bound<'_, PyAny>>) -> PyResult<PyKeyring> {
        let mut ring = Keyring::new();
        if let Some(keys) = keys {
            for key in keys.try_iter()? {
                add_to(&mut ring, &key?)?;
            }
        }
        Ok(PyKeyring(ring))
    }

    /// Adds a `Key`, `Identity` or `FernetKey` (or key text); returns its id. A `Recipient`
    /// is refused: reading needs the identity.
    fn add(&mut self, key: &Bound<'_, PyAny>) -> PyResult<String> {
        add_to(&mut self.0, key)
    }

    /// Adds the key, identity or Fernet key in the file at `path`; returns its id.
    fn add_file(&mut self, py: Python<'_>, path: PathBuf) -> PyResult<String> {
        self.0
            .add_file(path)
            .map(|id| id.to_string())
            .map_err(|e| key_error(py, &e))
    }

    /// Adds every key file in the folder `path` (recipient files are skipped); returns their
    /// ids.
    fn add_dir(&mut self, py: Python<'_>, path: PathBuf) -> PyResult<Vec<String>> {
        self.0
            .add_dir(path)
            .map(|ids| ids.iter().map(ToString::to_string).collect())
            .map_err(|e| key_error(py, &e))
    }

    /// The ids of the keys held.
    #[getter]
    fn ids(&self) -> Vec<String> {
        self.0.ids().iter().map(ToString::to_string).collect()
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    fn __repr__(&self) -> String {
        format!("Keyring(ids={:?})", self.ids())
    }
}

/// Adds `key` (a key object or key text) to `ring`; returns its id.
fn add_to(ring: &mut Keyring, key: &Bound<'_, PyAny>) -> PyResult<String> {
    let py = key.py();
    if let Ok(k) = key.cast::<PyKey>() {
        let k = &k.get().0;
        ring.add(k.clone());
        return Ok(k.id().to_string());
    }
    if let Ok(k) = key.cast::<PyIdentity>() {
        let k = &k.get().0;
        ring.add_identity(k.clone());
        return Ok(k.id().to_string());
    }
    if let Ok(k) = key.cast::<PyFernetKey>() {
        let k = &k.get().0;
        ring.add_fernet(k.clone());
        return Ok(k.id().to_string());
    }
    if key.cast::<PyRecipient>().is_ok() {
        return Err(key_error(py, &KeyError::RecipientForReader));
    }
    if key.cast::<PyString>().is_ok() || key.cast::<PyBytes>().is_ok() {
        return with_text(key, |t| ring.add_text(t)).map(|id| id.to_string());
    }
    Err(PyTypeError::new_err(format!(
        "expected a Key, Identity, FernetKey or key text, not {}",
        key.get_type().name()?
    )))
}

/// The `keyring` argument of the readers: a `Keyring` (copied), one key object, key text, or
/// an iterable of keys.
pub(crate) fn keyring_arg(keys: &Bound<'_, PyAny>) -> PyResult<Keyring> {
    if let Ok(ring) = keys.cast::<PyKeyring>() {
        return Ok(ring.borrow().0.clone());
    }
    let mut ring = Keyring::new();
    let single = keys.cast::<PyString>().is_ok()
        || keys.cast::<PyBytes>().is_ok()
        || keys.cast::<PyKey>().is_ok()
        || keys.cast::<PyIdentity>().is_ok()
        || keys.cast::<PyFernetKey>().is_ok()
        || keys.cast::<PyRecipient>().is_ok();
    if single {
        add_to(&mut ring, keys)?;
    } else {
        for key in keys.try_iter()? {
            add_to(&mut ring, &key?)?;
        }
    }
    Ok(ring)
}

/// The `key` argument of the writers: a `Key`, `Recipient` or `FernetKey`, or their text (`str`
/// or `bytes`, as zato-enclog users hold a Fernet key). An `Identity` is refused (give the
/// writer its recipient).
pub(crate) fn sealing_key_arg(key: &Bound<'_, PyAny>) -> PyResult<SealingKey> {
    let py = key.py();
    if let Ok(k) = key.cast::<PyKey>() {
        return Ok(SealingKey::from(k.get().0.clone()));
    }
    if let Ok(k) = key.cast::<PyRecipient>() {
        return Ok(SealingKey::from(k.get().0.clone()));
    }
    if let Ok(k) = key.cast::<PyFernetKey>() {
        return Ok(SealingKey::from(k.get().0.clone()));
    }
    if key.cast::<PyIdentity>().is_ok() {
        return Err(key_error(py, &KeyError::IdentityForWriter));
    }
    if key.cast::<PyString>().is_ok() || key.cast::<PyBytes>().is_ok() {
        return with_text(key, SealingKey::from_text);
    }
    Err(PyTypeError::new_err(format!(
        "expected a Key, Recipient or FernetKey (or key text), not {}",
        key.get_type().name()?
    )))
}

/// Calls `parse` with the text of `text` (`str`, or `bytes` holding UTF-8), copied into a
/// buffer that is wiped afterwards; a parse error becomes an `InvalidKeyError`.
fn with_text<T>(
    text: &Bound<'_, PyAny>,
    parse: impl FnOnce(&str) -> Result<T, KeyError>,
) -> PyResult<T> {
    let py = text.py();
    let bytes: Zeroizing<Vec<u8>> = if let Ok(s) = text.cast::<PyString>() {
        Zeroizing::new(s.encode_utf8()?.as_bytes().to_vec())
    } else if let Ok(b) = text.cast::<PyBytes>() {
        Zeroizing::new(b.as_bytes().to_vec())
    } else {
        return Err(PyTypeError::new_err(format!(
            "expected key text as str or bytes, not {}",
            text.get_type().name()?
        )));
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        let err = KeyError::Malformed {
            expected: enclog::key::KeyKind::Symmetric,
            reason: "the text is not UTF-8".into(),
        };
        return Err(key_error(py, &err));
    };
    parse(text).map_err(|e| key_error(py, &e))
}

/// Adds the key classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyKey>()?;
    m.add_class::<PyRecipient>()?;
    m.add_class::<PyIdentity>()?;
    m.add_class::<PyFernetKey>()?;
    m.add_class::<PyKeyring>()?;
    Ok(())
}
