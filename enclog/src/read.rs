//! Reading logs: open one line ([`Opener`]), stream a reader's lines ([`Decryptor`]), or a large
//! file's on several cores ([`ParallelDecryptor`]). Every line comes back as an [`Entry`]: its
//! number, its text and its [`Outcome`] (plain text, an [`Opened`] record, or a [`LineError`]);
//! a bad line never stops the lines after it.
//!
//! ```
//! use enclog::read::{Decryptor, Outcome};
//! let key = enclog::Key::generate()?;
//! let mut log = b"a plain line\n".to_vec();
//! enclog::Sealer::new(key.clone()).seal_to(None, b"secret event", &mut log)?;
//! let mut reader = Decryptor::new(&log[..], enclog::Keyring::from(key));
//! while let Some(entry) = reader.next_entry()? {
//!     match entry.outcome {
//!         Outcome::Plain => println!("{}", String::from_utf8_lossy(entry.raw)),
//!         Outcome::Opened(o) => println!("{}", String::from_utf8_lossy(o.plaintext)),
//!         Outcome::Failed(e) => eprintln!("line {}: {e}", entry.line_no),
//!         _ => {} // outcomes added by later versions
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod decryptor;
pub(crate) mod opener;
pub(crate) mod parallel;

pub use crate::error::OpenError;
pub use decryptor::{DEFAULT_MAX_LINE, Decryptor, Entry, LineError, Outcome};
pub use opener::{MetaStatus, Opened, Opener, SealedFields, Sequence};
pub use parallel::{DEFAULT_CHUNK, ParallelDecryptor, ParallelOptions, Piece};
