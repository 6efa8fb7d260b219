//! The zato-enclog Fernet token parser (`FernetKey::open`) on arbitrary bytes: never a panic,
//! and nothing opens without the key's HMAC.
#![no_main]

use enclog::fernet::FernetKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key: FernetKey = "dDvV_tjVv-dZqeZ6wsIkMoiTfwAFvsMl_RuZMuan6Ew="
        .parse()
        .expect("fixture key");
    let mut out = Vec::new();
    let _ = key.open(data, &mut out);
});
