//! Key, identity, recipient and Fernet key parsing (`Keyring::add_text`,
//! `SealingKey::from_text`, the `FromStr` impls) on arbitrary text: never a panic.
#![no_main]

use enclog::{Identity, Key, Keyring, Recipient, SealingKey};
use enclog::fernet::FernetKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Keyring::new().add_text(text);
    let _ = SealingKey::from_text(text);
    let _ = text.parse::<Key>();
    let _ = text.parse::<Identity>();
    let _ = text.parse::<Recipient>();
    let _ = text.parse::<FernetKey>();
});
