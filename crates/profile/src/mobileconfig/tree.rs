//! Reading a property list (XML or binary) safely, and typed access to its dictionaries
//! with errors that name the key path (`PayloadContent[0].IKEv2.MTU`).
//!
//! The input is at most a megabyte already; what remains to bound is what a small file
//! can make a parser do:
//! - XML entity expansion ("billion laughs") and external entities: a document type
//!   declaration with an internal subset or any `<!ENTITY` is refused before parsing.
//!   Apple's own `<!DOCTYPE plist PUBLIC … "…PropertyList-1.0.dtd">` is harmless: no
//!   parser here fetches it.
//! - Nesting and object counts: a binary property list may reference one array from many
//!   places, so a few kilobytes can stand for billions of values. The event stream is
//!   walked once with limits on depth and on the number of values before anything is
//!   built.

use std::io::Cursor;

use std::cell::{Cell, RefCell};
use std::fmt;

use plist::{Dictionary, Value};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::{InputError, InputErrorKind};

/// Profiles nest five levels (profile, payload list, payload, IKEv2, SA parameters);
/// on-demand rules add three more.
pub(crate) const MAX_PLIST_DEPTH: usize = 16;

/// A VPN profile with a certificate and a handful of payloads has a few hundred values.
pub(crate) const MAX_PLIST_VALUES: usize = 100_000;

/// Parses an XML or binary property list.
pub(crate) fn parse(origin: &str, bytes: &[u8]) -> Result<Value, InputError> {
    let fail = |kind| InputError::new(origin, kind);
    let binary = bytes.starts_with(b"bplist");
    if !binary {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            fail(InputErrorKind::NotUtf8 {
                offset: e.valid_up_to(),
            })
        })?;
        check_doctype(text).map_err(|r| fail(InputErrorKind::Invalid(r)))?;
    }
    check_shape(bytes, binary).map_err(fail)?;
    let value = if binary {
        Value::from_reader(Cursor::new(bytes))
    } else {
        Value::from_reader_xml(Cursor::new(bytes))
    };
    value.map_err(|e| fail(InputErrorKind::Invalid(describe(&e))))
}

/// Refuses entity declarations (see the module docs).
fn check_doctype(text: &str) -> Result<(), String> {
    const WHY: &str = "the XML declares entities (a DOCTYPE with an internal subset or <!ENTITY>); \
         a property list never needs them and their expansion (\"billion laughs\", external \
         entities) is refused";
    if text.contains("<!ENTITY") {
        return Err(WHY.to_string());
    }
    if let Some(at) = text.find("<!DOCTYPE") {
        let decl = &text[at..];
        let end = decl.find('>').unwrap_or(decl.len());
        if decl[..end].contains('[') {
            return Err(WHY.to_string());
        }
    }
    Ok(())
}

/// Walks the values once, counting them and the depth, without building anything.
fn check_shape(bytes: &[u8], binary: bool) -> Result<(), InputErrorKind> {
    WALKED.with(|c| c.set(0));
    REFUSED.with(|r| r.take());
    let walked = if binary {
        plist::from_bytes::<Shape>(bytes).map(|_| ())
    } else {
        plist::from_reader_xml::<_, Shape>(Cursor::new(bytes)).map(|_| ())
    };
    walked.map_err(|e| {
        InputErrorKind::Invalid(REFUSED.with(|r| r.take()).unwrap_or_else(|| describe(&e)))
    })
}

thread_local! {
    /// Values seen by the current walk. The plist crate deserializes only into owned
    /// types, which cannot carry a counter, so the walk keeps it here.
    static WALKED: Cell<usize> = const { Cell::new(0) };
    /// Why the current walk stopped, when a limit did it.
    static REFUSED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A property list walked for its shape only.
struct Shape;

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Walk { depth: 0 }.deserialize(d).map(|()| Shape)
    }
}

/// One value at `depth`.
struct Walk {
    depth: usize,
}

impl Walk {
    fn count<E: de::Error>(&self) -> Result<(), E> {
        let seen = WALKED.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        if seen > MAX_PLIST_VALUES {
            return Err(refuse(format!(
                "the property list holds more than {MAX_PLIST_VALUES} values; a VPN profile has a few hundred"
            )));
        }
        Ok(())
    }

    fn enter<E: de::Error>(&self) -> Result<Walk, E> {
        self.count()?;
        if self.depth >= MAX_PLIST_DEPTH {
            return Err(refuse(format!(
                "the property list nests more than {MAX_PLIST_DEPTH} levels deep"
            )));
        }
        Ok(Walk {
            depth: self.depth + 1,
        })
    }
}

fn refuse<E: de::Error>(reason: String) -> E {
    let error = E::custom(&reason);
    REFUSED.with(|r| *r.borrow_mut() = Some(reason));
    error
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property list value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.count()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.count()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.count()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.count()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.count()
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        self.count()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.count()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.count()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        while seq
            .next_element_seed(Walk { depth: inner.depth })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        while map.next_key_seed(Walk { depth: inner.depth })?.is_some() {
            map.next_value_seed(Walk { depth: inner.depth })?;
        }
        Ok(())
    }
}

/// The plist crate's errors print as `KindName (offset N)`; say what the kind means.
fn describe(e: &plist::Error) -> String {
    let text = e.to_string();
    let (kind, position) = match text.split_once(" (offset ") {
        Some((k, p)) => (k, format!(" at byte {}", p.trim_end_matches(')'))),
        None => (text.as_str(), String::new()),
    };
    let name = kind.split([' ', '{', '(']).next().unwrap_or(kind);
    let meaning = match name {
        "UnexpectedEof" | "UnexpectedEndOfEventStream" | "UnclosedXmlElement" => {
            "the file is truncated: the property list ends"
        }
        "InvalidMagic" => "not a binary property list (bad header)",
        "InvalidXmlSyntax"
        | "UnexpectedXmlCharactersExpectedElement"
        | "UnexpectedXmlOpeningTag" => "malformed XML",
        "UnknownXmlElement" => "an element that property lists do not have",
        "InvalidDataString" => "a <data> element is not valid base64",
        "InvalidIntegerString" => "an <integer> element is not a whole number",
        "InvalidRealString" => "a <real> element is not a number",
        "InvalidDateString" => "a <date> element is not a date",
        "InvalidXmlUtf8" | "InvalidUtf8String" | "InvalidUtf16String" => {
            "a string is not valid Unicode"
        }
        "UnexpectedEventType" => "a value of the wrong kind (e.g. a <dict> without <key>s)",
        "ExpectedEndOfEventStream" => "content after the end of the property list",
        "RecursiveObject" => "an array or dictionary contains itself",
        "InvalidTrailerObjectOffsetSize"
        | "InvalidTrailerObjectReferenceSize"
        | "InvalidObjectLength"
        | "ObjectReferenceTooLarge"
        | "ObjectOffsetTooLarge"
        | "ObjectTooLarge"
        | "UnknownObjectType"
        | "NullObjectUnimplemented"
        | "FillObjectUnimplemented"
        | "IntegerOutOfRange" => "the binary property list is corrupt or truncated",
        _ => return format!("malformed property list: {text}"),
    };
    format!("{meaning}{position}")
}

/// What a value is, for type errors.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "an array",
        Value::Dictionary(_) => "a dictionary",
        Value::Boolean(_) => "a boolean",
        Value::Data(_) => "data",
        Value::Date(_) => "a date",
        Value::Real(_) => "a real number",
        Value::Integer(_) => "an integer",
        Value::String(_) => "a string",
        Value::Uid(_) => "a UID",
        _ => "an unknown value",
    }
}

/// A dictionary and its key path, for typed reads with precise errors.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node<'a> {
    pub origin: &'a str,
    pub dict: &'a Dictionary,
    pub path: &'a str,
}

impl<'a> Node<'a> {
    /// The path of one of its keys.
    pub(crate) fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(crate) fn error(&self, key: &str, reason: impl Into<String>) -> InputError {
        InputError::at_field(
            self.origin,
            self.key(key),
            InputErrorKind::Invalid(reason.into()),
        )
    }

    fn wrong_type(&self, key: &str, expected: &str, found: &Value) -> InputError {
        self.error(
            key,
            format!("expected {expected}, found {}", kind_of(found)),
        )
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.dict.get(key)
    }

    pub(crate) fn string(&self, key: &str) -> Result<Option<&'a str>, InputError> {
        match self.dict.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    pub(crate) fn required_string(&self, key: &str) -> Result<&'a str, InputError> {
        self.string(key)?
            .ok_or_else(|| self.error(key, "required key is missing"))
    }

    pub(crate) fn integer(&self, key: &str) -> Result<Option<i128>, InputError> {
        match self.dict.get(key) {
            None => Ok(None),
            Some(Value::Integer(i)) => Ok(i
                .as_signed()
                .map(i128::from)
                .or_else(|| i.as_unsigned().map(i128::from))),
            Some(other) => Err(self.wrong_type(key, "an integer", other)),
        }
    }

    /// A 0/1 switch: Apple documents integers; `<true/>`/`<false/>` are accepted too, as
    /// Apple's devices do.
    pub(crate) fn flag(&self, key: &str) -> Result<Option<bool>, InputError> {
        match self.dict.get(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(Value::Integer(i)) => match i.as_signed() {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(self.error(key, format!("expected 0 or 1, found {i}"))),
            },
            Some(other) => Err(self.wrong_type(key, "0 or 1", other)),
        }
    }

    pub(crate) fn data(&self, key: &str) -> Result<Option<&'a [u8]>, InputError> {
        match self.dict.get(key) {
            None => Ok(None),
            Some(Value::Data(d)) => Ok(Some(d.as_slice())),
            Some(other) => Err(self.wrong_type(key, "data", other)),
        }
    }

    pub(crate) fn dict(&self, key: &str) -> Result<Option<&'a Dictionary>, InputError> {
        match self.dict.get(key) {
            None => Ok(None),
            Some(Value::Dictionary(d)) => Ok(Some(d)),
            Some(other) => Err(self.wrong_type(key, "a dictionary", other)),
        }
    }

    pub(crate) fn array(&self, key: &str) -> Result<Option<&'a [Value]>, InputError> {
        match self.dict.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.as_slice())),
            Some(other) => Err(self.wrong_type(key, "an array", other)),
        }
    }

    /// An array of strings.
    pub(crate) fn strings(&self, key: &str) -> Result<Option<Vec<&'a str>>, InputError> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.as_str()),
                other => Err(self.error(
                    &format!("{key}[{i}]"),
                    format!("expected a string, found {}", kind_of(other)),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// An integer that must fit `T`.
    pub(crate) fn number<T: TryFrom<i128>>(
        &self,
        key: &str,
        what: &str,
    ) -> Result<Option<T>, InputError> {
        match self.integer(key)? {
            None => Ok(None),
            Some(n) => T::try_from(n)
                .map(Some)
                .map_err(|_| self.error(key, format!("{n} is not {what}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_declarations_are_refused() {
        let apple = "<?xml version=\"1.0\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\"><dict/></plist>";
        assert!(check_doctype(apple).is_ok());
        assert!(parse("x", apple.as_bytes()).is_ok());
        let lol = "<!DOCTYPE plist [<!ENTITY a \"aaaa\">]><plist><string>&a;</string></plist>";
        assert!(check_doctype(lol).unwrap_err().contains("billion laughs"));
        let xxe = "<!DOCTYPE plist [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><plist><string>&x;</string></plist>";
        assert!(parse("x", xxe.as_bytes()).is_err());
        assert!(check_doctype(xxe).is_err());
    }

    #[test]
    fn depth_and_counts_are_bounded() {
        let deep = format!(
            "<plist>{}{}</plist>",
            "<array>".repeat(40),
            "</array>".repeat(40)
        );
        let err = parse("x", deep.as_bytes()).unwrap_err();
        assert!(
            err.to_string().ends_with("nests more than 16 levels deep"),
            "{err}"
        );

        // A binary list whose arrays each hold the previous one ten times: 13 objects
        // in ~150 bytes stand for 10^12 values.
        let bytes = shared_arrays(12);
        assert!(bytes.len() < 200, "{}", bytes.len());
        let err = parse("x", &bytes).unwrap_err();
        assert!(err.to_string().contains("more than 100000 values"), "{err}");
    }

    /// `bplist00`: object 0 is the integer 1, object n an array of ten references to
    /// object n-1; the top object is the last.
    fn shared_arrays(levels: u8) -> Vec<u8> {
        let mut out = b"bplist00".to_vec();
        let mut offsets = vec![out.len() as u8];
        out.extend([0x10, 0x01]);
        for n in 1..=levels {
            offsets.push(out.len() as u8);
            out.push(0xaa);
            out.extend([n - 1; 10]);
        }
        let table = out.len() as u64;
        out.extend(&offsets);
        out.extend([0u8; 6]);
        out.extend([1u8, 1u8]);
        out.extend(u64::from(levels + 1).to_be_bytes());
        out.extend(u64::from(levels).to_be_bytes());
        out.extend(table.to_be_bytes());
        out
    }

    #[test]
    fn truncation_is_described() {
        let err = parse("f", b"<plist><dict><key>a</key><string>b").unwrap_err();
        assert!(err.to_string().contains("the file is truncated"), "{err}");
    }
}
