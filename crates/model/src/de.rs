//! Deserializing values that are parsed from a JSON string.
//!
//! The parse runs inside the visitor, so a deserializer that tracks positions (serde_json)
//! attaches the line and column of the offending string to the error.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{Error, Visitor};

struct ParseVisitor<T, F> {
    expecting: &'static str,
    parse: F,
    out: PhantomData<T>,
}

impl<T, F> Visitor<'_> for ParseVisitor<T, F>
where
    F: FnOnce(&str) -> Result<T, String>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: Error>(self, text: &str) -> Result<T, E> {
        (self.parse)(text).map_err(E::custom)
    }
}

/// Deserializes a string and parses it with `parse`, whose error text becomes the error.
pub(crate) fn parsed_string<'de, D, T, F>(
    deserializer: D,
    expecting: &'static str,
    parse: F,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> Result<T, String>,
{
    deserializer.deserialize_str(ParseVisitor {
        expecting,
        parse,
        out: PhantomData,
    })
}
