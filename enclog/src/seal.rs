//! Sealing: [`Sealer`] turns a plaintext into one line under a [`SealingKey`] (a symmetric key,
//! a public recipient, or a zato-enclog Fernet key), with sessions, sequence numbers and fork
//! detection. The writers of [`tracing`](mod@crate::tracing), [`non_blocking`](mod@crate::non_blocking)
//! and [`log`](mod@crate::log) are built on it; [`WriteErrorPolicy`] says what they do when the
//! writer under them fails, and [`KeyReloader`] switches a running writer's key.
//!
//! ```
//! use enclog::seal::{Rotation, Sealer};
//! let identity = enclog::Identity::generate()?;
//! let sealer = Sealer::with_rotation(identity.recipient(), Rotation::default());
//! let line = sealer.seal_line(b"disk 91% full")?;
//! assert!(line.starts_with(enclog::format::MARKER));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(any(feature = "tracing", feature = "log"))]
pub(crate) mod failure;
#[cfg(feature = "follow")]
mod reload;
pub(crate) mod sealer;

pub use crate::error::SealError;
#[cfg(any(feature = "tracing", feature = "log"))]
pub use failure::WriteErrorPolicy;
#[cfg(feature = "follow")]
pub use reload::KeyReloader;
pub use sealer::{Rotation, Sealer, SealingKey};
