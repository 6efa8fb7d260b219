//! `enclog index`: the blind index value of a field's value, to search field-sealed logs for.

use std::io::{self, Read};

use anyhow::{Context, Result, bail};
use clap::Args;
use enclog::fields::{FieldsError, IndexKey, field_name};
use zeroize::Zeroizing;

use crate::cmd::Status;
use crate::keys::{self, ReaderKeys};
use crate::{messages, output};

/// Print a value's blind index, to find its events in field-sealed logs.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  enclog index --key-file app.key --field user alice@example.com
  grep -F -e \"$(enclog index --key-file app.key --field user alice@example.com)\" app.log
  enclog index --key-file index.key --field amount --json 1e3     # same as 1000
  printf %s alice@example.com | enclog index --key-file app.key --field user -

Logs written with `enclog encrypt --fields user --index user` (or enclog's JSON
formatter with an index) carry, after each sealed value of an indexed field, a
member \"user_idx\":\"<22 characters>\": a keyed digest (HMAC-SHA256, truncated) of
the field's own key and its value. This prints that digest for VALUE, so that
grep, Loki (|= \"…\"), Elasticsearch or an SQL query finds every event of one
value without decrypting anything; `enclog grep` does it and decrypts the
events found.

Keys: the writer's symmetric key, or for a log sealed to a recipient the key the
writer was given with --index-key-file. With several keys (--keyring, or
--key-file repeated: a log written across key changes) one line is printed per
key, `KEYID<TAB>VALUE`; with one key, the value alone. Identities and zato-enclog
keys have no index key and are skipped.

The value is compared by its text: a string's characters (VALUE as given), or,
with --json, any JSON value's canonical form (RFC 8785: 1e3 and 1000 alike). A
string and a number of the same text (\"42\" and 42) have the same index value.
VALUE on the command line is visible to other local users (ps); give - to read
it from standard input instead (one line, its newline removed).

Exit status: 0 success; 2 usage, input/output or key error.")]
pub(crate) struct IndexArgs {
    /// The field, as `encrypt --fields` names it (`user`, `req.user`); its own key (`user`)
    /// goes into the index value.
    #[arg(long, value_name = "FIELD")]
    field: String,
    /// The value to look for: a string's characters (no quotes); with --json a JSON value;
    /// `-` reads it from standard input.
    #[arg(value_name = "VALUE", allow_hyphen_values = true)]
    value: String,
    /// VALUE is a JSON value (`42`, `true`, `"alice"`, `{"id":7}`), compared in canonical
    /// form.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    keys: ReaderKeys,
}

/// Runs `enclog index`.
pub(crate) fn run(args: IndexArgs) -> Result<Status> {
    check_field(&args.field)?;
    let keys = index_keys(&args.keys)?;
    let value = value_text(&args.value, args.json)?;
    let name = field_name(&args.field);
    let mut text = String::new();
    for key in &keys {
        let index = key.value(name, &value);
        if keys.len() == 1 {
            text = format!("{index}\n");
        } else {
            text.push_str(&format!("{}\t{index}\n", key.key_id()));
        }
    }
    output::print(text.as_bytes()).map_err(messages::stdout_failed)?;
    Ok(Status::Clean)
}

/// A field name as `--field` and `grep` take it: not empty, no empty segment.
pub(crate) fn check_field(field: &str) -> Result<()> {
    if field.is_empty() || field.split('.').any(str::is_empty) {
        bail!(
            "field {field:?}: give a field's name (`user`) or its dotted path from the line's \
             root (`req.user`), as `encrypt --fields` does"
        );
    }
    Ok(())
}

/// The index keys of the keys given: one per symmetric key.
pub(crate) fn index_keys(args: &ReaderKeys) -> Result<Vec<IndexKey>> {
    let loaded = keys::load_keyring(args)?;
    let keys = IndexKey::from_keyring(&loaded.keyring);
    if keys.is_empty() {
        bail!(
            "the keys given hold no symmetric key, and index values are computed with one: give \
             the writer's key, or for a log sealed to a recipient the key its writer was given \
             with --index-key-file (an identity has no index key)"
        );
    }
    Ok(keys)
}

/// The text a value's index is computed over: `value` as it is, or with `json` the index text
/// of the JSON value; `-` is read from standard input.
pub(crate) fn value_text(value: &str, json: bool) -> Result<Zeroizing<Vec<u8>>> {
    let mut given = Zeroizing::new(value.as_bytes().to_vec());
    if value == "-" {
        given.clear();
        io::stdin()
            .lock()
            .read_to_end(&mut given)
            .context("cannot read the value from standard input")?;
        if given.ends_with(b"\n") {
            given.pop();
            if given.ends_with(b"\r") {
                given.pop();
            }
        }
    }
    if !json {
        return Ok(given);
    }
    // Where the JSON is wrong is said; the value itself is not echoed.
    match enclog::fields::index_text(&given) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(FieldsError::NotJson { reason }) => bail!(
            "--json: the value is not one JSON value ({reason}); a string needs its quotes: \
             '\"text\"'"
        ),
        Err(e) => bail!("--json: {e}"),
    }
}
