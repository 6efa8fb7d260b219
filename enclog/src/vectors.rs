//! Parser for the `FORMAT.md` test-vector files (`tests/vectors/v1.txt`, `v2.txt`), shared by the unit
//! tests and `tests/vectors.rs` (which includes this file by path; it uses nothing of the crate).
#![allow(dead_code, unreachable_pub)]

pub(crate) struct Vector {
    pub(crate) name: String,
    pub(crate) key: String,
    pub(crate) session: [u8; 16],
    pub(crate) seq: u64,
    /// `event` or `close`.
    pub(crate) record: String,
    pub(crate) meta: Option<String>,
    pub(crate) plaintext: Vec<u8>,
    pub(crate) line: String,
    /// Recipient-mode vectors: the ephemeral X25519 secret (`key` is then the identity).
    pub(crate) ephemeral_secret: Option<Vec<u8>>,
    /// Version 2, a session's first record: its link, MAC included.
    pub(crate) link: Option<Vec<u8>>,
    /// Version 2, a link's fields as the vector states them (`from`, `chain-key`, …).
    pub(crate) fields: Vec<(String, String)>,
}

pub(crate) fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Blocks of `field: value` lines separated by blank lines; `#` starts a comment line.
pub(crate) fn parse(text: &str) -> Vec<Vector> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let fields: Vec<(&str, &str)> = block
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split_once(": ").unwrap_or((l.trim_end_matches(':'), "")))
            .collect();
        if fields.is_empty() {
            continue;
        }
        let get = |k: &str| fields.iter().find(|(f, _)| *f == k).map(|(_, v)| *v);
        out.push(Vector {
            name: get("name").expect("name").to_owned(),
            key: get("key").expect("key").to_owned(),
            session: hex(get("session").expect("session"))
                .try_into()
                .expect("16 bytes"),
            seq: get("seq").expect("seq").parse().expect("seq"),
            record: get("record").expect("record").to_owned(),
            meta: get("meta").map(str::to_owned),
            plaintext: hex(get("plaintext-hex").unwrap_or("")),
            line: get("line").expect("line").to_owned(),
            ephemeral_secret: get("ephemeral-secret").map(hex),
            link: get("link-hex").map(hex),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        });
    }
    out
}
