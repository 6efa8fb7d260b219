//! Writing lines as enclog's formatter does: an event's real line (with the place of each
//! value to seal) into the thread's [`Pending`], its redacted line into `tracing`'s buffer; a
//! span's fields as text holding every value vaulted (`spans`).

use std::fmt::{self, Write as _};
use std::io::Cursor;
use std::ops::Range;
use std::time::SystemTime;

use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatFields, FormattedFields};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use crate::fields::Syntax;
use crate::fields::json::push_pointer_token;
use crate::timestamp::write_rfc3339;

use super::handover::{self, IndexSpec, Out, Pending, Spec};
use super::sealed::{is_probe, take_probe};
use super::{REDACTED, SealedFields, Style};

mod spans;

use spans::span_fields;
pub(super) use spans::{add_fields, format_fields};

/// How a value's characters are escaped in the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    /// Inside a JSON string.
    Json,
    /// In a text line: control characters (a newline would start a forged line), DEL, C1
    /// controls and the Unicode line and paragraph separators.
    Text,
}

fn escape(how: Escape, s: &str, out: &mut String) {
    match how {
        Escape::Json => json_escape(s, out),
        Escape::Text => text_escape(s, out),
    }
}

/// `s` inside a JSON string: `"`, `\` and control characters escaped.
fn json_escape(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// `s` in a text line, so that it cannot start a line or move the cursor: `\n`, `\r`, `\t`,
/// and `\u{…}` for other controls and the line separators.
fn text_escape(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        let (len, esc) = match b[i] {
            b'\n' => (1, "\\n"),
            b'\r' => (1, "\\r"),
            b'\t' => (1, "\\t"),
            0..=0x1f | 0x7f => (1, ""),
            0xc2 if matches!(b.get(i + 1), Some(0x80..=0x9f)) => (2, ""),
            0xe2 if b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xa8 | 0xa9)) => {
                (3, "")
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let c = s[i..].chars().next().unwrap_or('\u{fffd}');
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push_str(esc);
        }
        i += len;
        start = i;
    }
    out.push_str(&s[start..]);
}

/// A value's characters on their way into the line: escaped, and the probe of a
/// [`sealed`](super::sealed) value taken when the field may be sealed.
struct ValueOut<'a> {
    out: &'a mut String,
    escape: Escape,
    take: bool,
    took: bool,
}

impl fmt::Write for ValueOut<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.take && is_probe(s) {
            take_probe();
            self.took = true;
            return Ok(());
        }
        escape(self.escape, s, self.out);
        Ok(())
    }
}

/// One field's value, as `tracing` hands it over.
enum FieldValue<'v> {
    Str(&'v str),
    Debug(&'v dyn fmt::Debug),
    Error(&'v (dyn std::error::Error + 'static)),
    /// A number or `true`/`false`, already written in `Number`'s buffer.
    Number(&'v str),
}

/// Writes fields (an event's, or a span's) into a line, and notes which values to seal.
pub(super) struct FieldWriter<'a> {
    cfg: &'a SealedFields,
    out: &'a mut Out,
    syntax: Syntax,
    /// JSON: the pointer of the object the fields go in (`""` for the root).
    prefix: &'a str,
    first: bool,
    result: fmt::Result,
    /// A span's fields: every value is noted (and vaulted), sealed by name or not; each
    /// event formatter decides with its own names when it writes them (see [`span_fields`]).
    vault_all: bool,
}

impl<'a> FieldWriter<'a> {
    fn new(cfg: &'a SealedFields, out: &'a mut Out, prefix: &'a str, first: bool) -> Self {
        FieldWriter {
            cfg,
            out,
            syntax: cfg.syntax(),
            prefix,
            first,
            result: Ok(()),
            vault_all: false,
        }
    }

    /// An integer field, written as its decimal text.
    fn integer(&mut self, field: &Field, value: impl fmt::Display) {
        let n = Number::of(format_args!("{value}"));
        self.field(field, FieldValue::Number(n.as_str()));
    }

    fn field(&mut self, field: &Field, value: FieldValue<'_>) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        // `log` records' metadata (tracing-log), shown as the line's target and level.
        if name.starts_with("log.") {
            return;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        let by_name = self.cfg.seal.matches(name);
        let message = name == "message";
        let json = self.syntax == Syntax::Json;
        let Out {
            real: out,
            index_text,
            ..
        } = &mut *self.out;
        if !std::mem::replace(&mut self.first, false) {
            out.push(if json { ',' } else { ' ' });
        }
        // A text line shows its message bare, unless it is sealed (a sealed value is found
        // after its name).
        if json || !message || by_name {
            if json {
                out.push('"');
                json_escape(name, out);
                out.push_str("\":");
            } else {
                text_escape(name, out);
                out.push('=');
            }
        }
        let start = out.len();
        // A text line's string is indexed without its quotes.
        let mut index = IndexSpec::Value;
        if let FieldValue::Str(s) = value
            && !json
            && !message
        {
            let at = index_text.len();
            index_text.extend_from_slice(s.as_bytes());
            index = IndexSpec::Given(at..index_text.len());
        }
        let escape = if json { Escape::Json } else { Escape::Text };
        // The message's text takes no probe: a `sealed()` value there shows the marker.
        let mut v = ValueOut {
            out,
            escape,
            take: !message || by_name,
            took: false,
        };
        let written = match value {
            FieldValue::Number(n) => {
                v.out.push_str(n);
                Ok(())
            }
            FieldValue::Str(s) if json => {
                v.out.push('"');
                json_escape(s, v.out);
                v.out.push('"');
                Ok(())
            }
            FieldValue::Str(s) if message => {
                text_escape(s, v.out);
                Ok(())
            }
            FieldValue::Str(s) => write!(v, "{s:?}"),
            FieldValue::Debug(d) => quoted(json, &mut v, |v| write!(v, "{d:?}")),
            FieldValue::Error(e) => quoted(json, &mut v, |v| {
                write!(v, "{e}")?;
                if let Some(mut source) = e.source() {
                    write!(v, " {name}.sources=[{source}")?;
                    while let Some(next) = source.source() {
                        write!(v, ", {next}")?;
                        source = next;
                    }
                    v.write_str("]")?;
                }
                Ok(())
            }),
        };
        let took = v.took;
        let end = self.out.real.len();
        if let Err(e) = written {
            self.result = Err(e);
            return;
        }
        if by_name || took || self.vault_all {
            let index = if !self.cfg.index.matches(name) {
                IndexSpec::None
            } else if json {
                IndexSpec::FromJson
            } else {
                index
            };
            self.push_spec(name, start..end, index, took);
        }
    }

    #[inline]
    fn push_spec(&mut self, name: &str, range: Range<usize>, index: IndexSpec, by_value: bool) {
        let names = &mut self.out.names;
        let path_start = names.len();
        // The name is the path's end (a text line's path is the name), unless a JSON
        // Pointer escaped it: then it follows the path.
        let mut verbatim = true;
        if self.syntax == Syntax::Json {
            names.push_str(self.prefix);
            if name.bytes().any(|b| b == b'~' || b == b'/') {
                push_pointer_token(name, names);
                verbatim = false;
            } else {
                names.push('/');
                names.push_str(name);
            }
        } else {
            names.push_str(name);
        }
        let path_end = names.len();
        let name_range = if verbatim {
            path_end - name.len()..path_end
        } else {
            names.push_str(name);
            path_end..names.len()
        };
        self.out.specs.push(Spec {
            path: path_start..path_end,
            name: name_range,
            range,
            index,
            by_value,
        });
    }
}

/// A value in quotes in a JSON line (a `Debug` or an error's text is a JSON string there).
fn quoted(
    json: bool,
    v: &mut ValueOut<'_>,
    write: impl FnOnce(&mut ValueOut<'_>) -> fmt::Result,
) -> fmt::Result {
    if json {
        v.out.push('"');
    }
    write(v)?;
    if json {
        v.out.push('"');
    }
    Ok(())
}

/// A short text formatted on the stack, without allocating: a number's (`Number`), a JSON
/// Pointer prefix such as `/spans/3` (`Prefix`). Text past `N` bytes is cut (neither comes
/// near it).
struct Small<const N: usize> {
    buf: [u8; N],
    len: usize,
}

type Number = Small<48>;
type Prefix = Small<32>;

impl<const N: usize> Small<N> {
    fn of(args: fmt::Arguments<'_>) -> Self {
        let mut s = Small {
            buf: [0; N],
            len: 0,
        };
        let mut cursor = Cursor::new(&mut s.buf[..]);
        let _ = std::io::Write::write_fmt(&mut cursor, args);
        s.len = cursor.position() as usize;
        s
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl Visit for FieldWriter<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let n = if !value.is_finite() && self.syntax == Syntax::Json {
            Number::of(format_args!("null"))
        } else {
            Number::of(format_args!("{value:?}"))
        };
        self.field(field, FieldValue::Number(n.as_str()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.integer(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.integer(field, value);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.integer(field, value);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.integer(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        let text = if value { "true" } else { "false" };
        self.field(field, FieldValue::Number(text));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, FieldValue::Str(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.field(field, FieldValue::Error(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, FieldValue::Debug(value));
    }
}

/// The original target of a `log` record (tracing-log gives it as a field).
struct LogTarget<'a>(&'a mut String);

impl Visit for LogTarget<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "log.target" {
            self.0.push_str(value);
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

fn level_text(level: &Level, padded: bool) -> &'static str {
    match (*level, padded) {
        (Level::TRACE, _) => "TRACE",
        (Level::DEBUG, _) => "DEBUG",
        (Level::INFO, true) => " INFO",
        (Level::INFO, false) => "INFO",
        (Level::WARN, true) => " WARN",
        (Level::WARN, false) => "WARN",
        (Level::ERROR, _) => "ERROR",
    }
}

fn push_timestamp(out: &mut String) {
    let mut buf = [0u8; 40];
    let mut cursor = Cursor::new(&mut buf[..]);
    write_rfc3339(SystemTime::now(), &mut cursor);
    let len = cursor.position() as usize;
    out.push_str(std::str::from_utf8(&buf[..len]).unwrap_or(""));
}

/// Formats `event` (enclog's `FormatEvent`): the real line into the thread's pending line, the
/// redacted one into `writer`.
pub(super) fn format_event<S, N>(
    cfg: &SealedFields,
    ctx: &FmtContext<'_, S, N>,
    writer: &mut Writer<'_>,
    event: &Event<'_>,
) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    handover::with_pending(|p, ours| {
        p.out.clear();
        p.redacted.clear();
        p.syntax = None;
        let built = match cfg.style {
            Style::Json => json_line(cfg, ctx, event, p),
            Style::Full | Style::Compact => text_line(cfg, ctx, event, p),
        };
        if let Err(e) = built {
            p.wipe_all();
            return Err(e);
        }
        redact(p, cfg.syntax());
        writer.write_str(&p.redacted)?;
        writer.write_char('\n')?;
        p.syntax = Some(cfg.syntax());
        if ours {
            handover::arm();
        } else {
            p.wipe();
        }
        Ok(())
    })
}

/// The redacted line: the real one with each value to seal replaced by the marker.
fn redact(p: &mut Pending, syntax: Syntax) {
    let mut pos = 0;
    for spec in &p.out.specs {
        p.redacted.push_str(&p.out.real[pos..spec.range.start]);
        // Each a copy of a constant size (one of a length chosen at run time is a call).
        match syntax {
            Syntax::Json => p.redacted.push_str("\"[sealed]\""),
            Syntax::Text => p.redacted.push_str(REDACTED),
        }
        pos = spec.range.end;
    }
    p.redacted.push_str(&p.out.real[pos..]);
}

/// The target a line shows: a `log` record's own (tracing-log), else the event's.
fn target<'e>(event: &'e Event<'_>, log_target: &'e mut String) -> &'e str {
    let meta = event.metadata();
    log_target.clear();
    if meta.target() == "log" && meta.fields().field("log.target").is_some() {
        event.record(&mut LogTarget(log_target));
        return log_target;
    }
    meta.target()
}

/// `{"timestamp":…,"level":…,"fields":{…},"target":…,"span":{…},"spans":[…]}`.
fn json_line<S, N>(
    cfg: &SealedFields,
    ctx: &FmtContext<'_, S, N>,
    event: &Event<'_>,
    p: &mut Pending,
) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    let meta = event.metadata();
    let real = &mut p.out.real;
    real.push('{');
    let mut first = true;
    if cfg.timestamp {
        comma(&mut first, real);
        real.push_str("\"timestamp\":\"");
        push_timestamp(real);
        real.push('"');
    }
    if cfg.level {
        comma(&mut first, real);
        real.push_str("\"level\":\"");
        real.push_str(level_text(meta.level(), false));
        real.push('"');
    }
    if cfg.flatten {
        let first_now = first;
        let mut fields = FieldWriter::new(cfg, &mut p.out, "", first_now);
        event.record(&mut fields);
        fields.result?;
        first = fields.first;
    } else {
        comma(&mut first, &mut p.out.real);
        p.out.real.push_str("\"fields\":{");
        let mut fields = FieldWriter::new(cfg, &mut p.out, "/fields", true);
        event.record(&mut fields);
        fields.result?;
        p.out.real.push('}');
    }
    if cfg.target {
        let target = target(event, &mut p.log_target);
        comma(&mut first, &mut p.out.real);
        p.out.real.push_str("\"target\":\"");
        json_escape(target, &mut p.out.real);
        p.out.real.push('"');
    }
    if let Some(leaf) = &leaf(ctx, event) {
        if cfg.current_span {
            comma(&mut first, &mut p.out.real);
            p.out.real.push_str("\"span\":");
            json_span::<S, N>(cfg, leaf, "/span", p)?;
        }
        if cfg.span_list {
            comma(&mut first, &mut p.out.real);
            p.out.real.push_str("\"spans\":[");
            from_root(ctx, leaf, |i, span| {
                if i > 0 {
                    p.out.real.push(',');
                }
                let prefix = Prefix::of(format_args!("/spans/{i}"));
                json_span::<S, N>(cfg, span, prefix.as_str(), p)
            })?;
            p.out.real.push(']');
        }
    }
    p.out.real.push('}');
    Ok(())
}

/// A comma before every member but the first.
fn comma(first: &mut bool, real: &mut String) {
    if !std::mem::replace(first, false) {
        real.push(',');
    }
}

/// `{<the span's fields>,"name":"…"}`.
fn json_span<S, N>(
    cfg: &SealedFields,
    span: &SpanRef<'_, S>,
    prefix: &str,
    p: &mut Pending,
) -> fmt::Result
where
    S: for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    p.out.real.push('{');
    SpanFields::with::<S, N, _>(span, |fields| match fields {
        SpanFields::None => {}
        SpanFields::Ours(fields) => {
            span_fields(cfg, fields, prefix, p);
            p.out.real.push(',');
        }
        SpanFields::Foreign => p.out.real.push_str("\"fields\":\"[sealed]\","),
    });
    p.out.real.push_str("\"name\":\"");
    json_escape(span.metadata().name(), &mut p.out.real);
    p.out.real.push_str("\"}");
    Ok(())
}

/// A span's fields as the layer's field formatter wrote them.
enum SpanFields<'a> {
    None,
    /// Written by [`SealedFields`]: sealed values vaulted.
    Ours(&'a str),
    /// Written by another field formatter: which of them are to be sealed cannot be told, so
    /// none is shown.
    Foreign,
}

impl SpanFields<'_> {
    fn with<S, N, R>(span: &SpanRef<'_, S>, f: impl FnOnce(SpanFields<'_>) -> R) -> R
    where
        S: for<'a> LookupSpan<'a>,
        N: for<'w> FormatFields<'w> + 'static,
    {
        let ext = span.extensions();
        if let Some(ours) = ext.get::<FormattedFields<SealedFields>>() {
            if ours.fields.is_empty() {
                return f(SpanFields::None);
            }
            return f(SpanFields::Ours(&ours.fields));
        }
        match ext.get::<FormattedFields<N>>() {
            Some(theirs) if !theirs.fields.is_empty() => f(SpanFields::Foreign),
            _ => f(SpanFields::None),
        }
    }
}

/// `TIMESTAMP LEVEL span{a=1}:span2: target: fields` (full), or
/// `TIMESTAMP LEVEL span:span2: target: fields a=1` (compact).
fn text_line<S, N>(
    cfg: &SealedFields,
    ctx: &FmtContext<'_, S, N>,
    event: &Event<'_>,
    p: &mut Pending,
) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    let meta = event.metadata();
    let full = cfg.style == Style::Full;
    if cfg.timestamp {
        push_timestamp(&mut p.out.real);
        p.out.real.push(' ');
    }
    if cfg.level {
        p.out.real.push_str(level_text(meta.level(), true));
        p.out.real.push(' ');
    }
    let leaf = leaf(ctx, event);
    if let Some(leaf) = &leaf {
        from_root(ctx, leaf, |_, span| {
            text_escape(span.metadata().name(), &mut p.out.real);
            if full {
                SpanFields::with::<S, N, _>(span, |fields| match fields {
                    SpanFields::None => {}
                    SpanFields::Ours(fields) => {
                        p.out.real.push('{');
                        span_fields(cfg, fields, "", p);
                        p.out.real.push('}');
                    }
                    SpanFields::Foreign => p.out.real.push_str("{[sealed]}"),
                });
            }
            p.out.real.push(':');
            Ok(())
        })?;
        p.out.real.push(' ');
    }
    if cfg.target {
        let target = target(event, &mut p.log_target);
        text_escape(target, &mut p.out.real);
        p.out.real.push_str(": ");
    }
    let mut fields = FieldWriter::new(cfg, &mut p.out, "", true);
    event.record(&mut fields);
    fields.result?;
    if !full && let Some(leaf) = &leaf {
        from_root(ctx, leaf, |_, span| {
            SpanFields::with::<S, N, _>(span, |fields| match fields {
                SpanFields::None => {}
                SpanFields::Ours(fields) => {
                    p.out.real.push(' ');
                    span_fields(cfg, fields, "", p);
                }
                SpanFields::Foreign => p.out.real.push_str(" [sealed]"),
            });
            Ok(())
        })?;
    }
    Ok(())
}

/// The span an event is in: its explicit parent, else the current span.
fn leaf<'c, S, N>(ctx: &'c FmtContext<'_, S, N>, event: &Event<'_>) -> Option<SpanRef<'c, S>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    event
        .parent()
        .and_then(|id| ctx.span(id))
        .or_else(|| ctx.lookup_current())
}

/// Calls `f` with each span from the root to `leaf` (and its place from the root), without
/// allocating for up to 16 spans (`Scope::from_root` collects into a `Vec`).
fn from_root<S, N>(
    ctx: &FmtContext<'_, S, N>,
    leaf: &SpanRef<'_, S>,
    mut f: impl FnMut(usize, &SpanRef<'_, S>) -> fmt::Result,
) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    const MAX: usize = 16;
    let mut ids: [Option<tracing_core::span::Id>; MAX] = std::array::from_fn(|_| None);
    let mut depth = 0;
    for span in leaf.scope() {
        if depth == MAX {
            for (i, span) in leaf.scope().from_root().enumerate() {
                f(i, &span)?;
            }
            return Ok(());
        }
        ids[depth] = Some(span.id());
        depth += 1;
    }
    for (i, id) in ids[..depth].iter().rev().flatten().enumerate() {
        if let Some(span) = ctx.span(id) {
            f(i, &span)?;
        }
    }
    Ok(())
}
