//! `Opener::open` on arbitrary bytes, with a keyring holding a symmetric key, an identity and
//! a Fernet key (those of the test vectors and zato fixtures, so seeds open for real).
//! Must never panic, and random bytes must never open.
#![no_main]

use std::sync::OnceLock;

use enclog::{Keyring, Opener};
use libfuzzer_sys::fuzz_target;

fn keyring() -> &'static Keyring {
    static RING: OnceLock<Keyring> = OnceLock::new();
    RING.get_or_init(|| {
        let mut ring = Keyring::new();
        for text in [
            "ENCLOG-KEY-1-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-aSBtd",
            "ENCLOG-IDENTITY-1-QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl-osCdc",
            "dDvV_tjVv-dZqeZ6wsIkMoiTfwAFvsMl_RuZMuan6Ew=",
        ] {
            ring.add_text(text).expect("fixture key");
        }
        ring
    })
}

fuzz_target!(|data: &[u8]| {
    let mut opener = Opener::new(keyring().clone());
    // Open twice: the second time goes through the session cache.
    for _ in 0..2 {
        if let Some(Ok(opened)) = opener.open(data) {
            let _ = (opened.plaintext.len(), opened.sequence, opened.meta_status);
        }
    }
});
