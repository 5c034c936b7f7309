//! Recognising a profile's format from its content, and reading and writing Corridor's
//! own JSON format.
//!
//! The format is decided by what the JSON says, never by the file name: a Corridor profile
//! carries `"format": "corridor-profile"`; a strongSwan `.sswan` profile has `type` and
//! `remote`. Type errors are reported with the JSON path (via `serde_path_to_error`) and
//! the line and column of the offending value.

use corridor_model::{FORMAT_NAME, FORMAT_VERSION, Profile};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{InputError, InputErrorKind};
use crate::input::Input;

/// The formats that can be read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Detected {
    Corridor,
    Sswan,
}

/// serde_json appends " at line L column C" to its messages; the position is reported
/// separately, so strip it.
fn message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix)
        .map(str::to_string)
        .unwrap_or(text)
}

/// Parses the whole text as JSON (syntax only) and decides which format it is.
pub(crate) fn detect(input: &Input) -> Result<(Detected, Value), InputError> {
    let value: Value = serde_json::from_str(&input.text).map_err(|e| {
        InputError::new(input.origin.clone(), InputErrorKind::Syntax(message(&e)))
            .with_position(e.line(), e.column())
    })?;
    let unknown =
        |text: String| InputError::new(input.origin.clone(), InputErrorKind::UnknownFormat(text));
    let Value::Object(map) = &value else {
        return Err(unknown(format!(
            "expected a JSON object with the profile's settings, found {}",
            kind_of(&value)
        )));
    };
    if let Some(format) = map.get("format") {
        return match format {
            Value::String(s) if s == FORMAT_NAME => {
                check_version(input, map.get("version"))?;
                Ok((Detected::Corridor, value))
            }
            other => Err(InputError::at_field(
                input.origin.clone(),
                "format",
                InputErrorKind::UnknownFormat(format!(
                    "expected \"{FORMAT_NAME}\", found {}",
                    describe(other)
                )),
            )),
        };
    }
    if map.contains_key("type") || map.contains_key("remote") {
        return Ok((Detected::Sswan, value));
    }
    Err(unknown(format!(
        "neither a Corridor profile (no \"format\": \"{FORMAT_NAME}\") nor a strongSwan .sswan profile (no \"type\" or \"remote\")"
    )))
}

fn check_version(input: &Input, version: Option<&Value>) -> Result<(), InputError> {
    match version {
        Some(Value::Number(n)) if n.as_u64() != Some(u64::from(FORMAT_VERSION)) => {
            Err(InputError::at_field(
                input.origin.clone(),
                "version",
                InputErrorKind::UnsupportedVersion {
                    found: n.to_string(),
                    supported: FORMAT_VERSION,
                },
            ))
        }
        // Missing or mistyped: the typed parse reports it with its position.
        _ => Ok(()),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{s}\""),
        other => kind_of(other).to_string(),
    }
}

/// Deserializes the text into `T`, reporting the first error with its field path and
/// position.
pub(crate) fn typed<T: DeserializeOwned>(input: &Input) -> Result<T, InputError> {
    let mut de = serde_json::Deserializer::from_str(&input.text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        InputError::at_field(
            input.origin.clone(),
            path,
            InputErrorKind::Invalid(message(inner)),
        )
        .with_position(inner.line(), inner.column())
    })
}

/// Reads a Corridor profile (after [`detect`] said it is one). Validation is separate.
pub(crate) fn read_corridor(input: &Input) -> Result<Profile, InputError> {
    typed(input)
}

/// The profile as pretty-printed JSON, exactly as it is stored (including its PSK).
pub fn to_json(profile: &Profile) -> String {
    // Serializing these types cannot fail: every map key is a string and no Serialize impl
    // returns an error.
    let mut text = serde_json::to_string_pretty(profile).unwrap_or_default();
    text.push('\n');
    text
}

/// The profile as pretty-printed JSON for showing to a person: the PSK is replaced by
/// `"***"` and long embedded certificates and containers by their size.
pub fn to_json_redacted(profile: &Profile) -> String {
    let mut value = serde_json::to_value(profile).unwrap_or(Value::Null);
    if let Some(psk) = value.pointer_mut("/auth/psk") {
        *psk = Value::String("***".to_string());
    }
    elide_blobs(&mut value, None);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

fn elide_blobs(value: &mut Value, key: Option<&str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                elide_blobs(v, Some(k));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| elide_blobs(v, key)),
        Value::String(s) if matches!(key, Some("base64" | "der" | "pem")) && s.len() > 80 => {
            *s = format!("<{} characters>", s.len());
        }
        _ => {}
    }
}
