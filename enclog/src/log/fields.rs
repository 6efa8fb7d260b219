//! The `log` crate's records as JSON lines with sealed fields: the record's key-value pairs
//! (`log::info!(user = email; "signed in")`) become members of the line, and those the
//! logger's [`Selection`] names are sealed in place (FORMAT.md §11).

use std::fmt::Write as _;
use std::io::Write;
use std::ops::Range;
use std::time::SystemTime;

use log::Record;
use log::kv::{Key, Value, VisitSource};

use crate::fields::json;
use crate::fields::{IndexText, Selection, Value as FieldValue};
use crate::timestamp::write_rfc3339;

/// One JSON line being built: its bytes, and the members that are to be sealed.
#[derive(Debug, Default)]
pub(super) struct JsonRecord {
    pub(super) line: Vec<u8>,
    /// (pointer, name, value range, indexed) of each member to seal, in line order.
    sealed: Vec<(String, String, Range<usize>, bool)>,
    text: String,
}

impl JsonRecord {
    /// Writes `record` as one JSON object: timestamp, level, target, message, then its
    /// key-value pairs (a key the record repeats, or one of the four names, is written as is:
    /// the line then has no canonical form and is sealed whole).
    pub(super) fn build(&mut self, record: &Record<'_>, selection: &Selection) {
        self.line.clear();
        self.sealed.clear();
        self.line.extend_from_slice(b"{\"timestamp\":\"");
        write_rfc3339(SystemTime::now(), &mut self.line);
        self.line.extend_from_slice(b"\",\"level\":\"");
        self.line
            .extend_from_slice(record.level().as_str().as_bytes());
        self.line.extend_from_slice(b"\"");
        self.member("target", selection, |this| {
            this.push_str_value(record.target());
        });
        self.member("message", selection, |this| {
            this.text.clear();
            let _ = write!(this.text, "{}", record.args());
            this.push_text();
        });
        let _ = record.key_values().visit(&mut Pairs {
            record: self,
            selection,
        });
        self.line.push(b'}');
    }

    /// Appends `,"key":` and the value `write` appends, recording it if it is to be sealed.
    fn member(&mut self, key: &str, selection: &Selection, write: impl FnOnce(&mut Self)) {
        self.line.push(b',');
        self.push_str_value(key);
        self.line.push(b':');
        let start = self.line.len();
        write(self);
        if selection.seals(key) {
            let mut pointer = String::new();
            json::push_pointer_token(key, &mut pointer);
            let range = start..self.line.len();
            (self.sealed).push((pointer, key.to_owned(), range, selection.indexes(key)));
        }
    }

    fn push_str_value(&mut self, s: &str) {
        self.line.push(b'"');
        json::push_json_str_inner(s.chars(), &mut |b| self.line.extend_from_slice(b));
        self.line.push(b'"');
    }

    fn push_text(&mut self) {
        let text = std::mem::take(&mut self.text);
        self.push_str_value(&text);
        self.text = text;
    }

    /// The values to seal, borrowing this record's buffers.
    pub(super) fn values(&self) -> Vec<FieldValue<'_>> {
        self.sealed
            .iter()
            .map(|(pointer, name, range, indexed)| FieldValue {
                path: pointer,
                name,
                range: range.clone(),
                index: indexed.then_some(IndexText::FromJson),
            })
            .collect()
    }
}

struct Pairs<'r, 's> {
    record: &'r mut JsonRecord,
    selection: &'s Selection,
}

impl<'kvs> VisitSource<'kvs> for Pairs<'_, '_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let record = &mut *self.record;
        record.member(key.as_str(), self.selection, |r| push_value(r, &value));
        Ok(())
    }
}

/// A key-value pair's value as JSON: numbers and booleans as such, everything else as a string
/// of its `Display` form.
fn push_value(record: &mut JsonRecord, value: &Value<'_>) {
    if let Some(b) = value.to_bool() {
        record
            .line
            .extend_from_slice(if b { b"true" } else { b"false" });
    } else if let Some(n) = value.to_i64() {
        let _ = write!(record.line, "{n}");
    } else if let Some(n) = value.to_u64() {
        let _ = write!(record.line, "{n}");
    } else if let Some(f) = value.to_f64().filter(|f| f.is_finite()) {
        let _ = write!(record.line, "{f}");
    } else if let Some(s) = value.to_borrowed_str() {
        record.push_str_value(s);
    } else {
        record.text.clear();
        let _ = write!(record.text, "{value}");
        record.push_text();
    }
}
