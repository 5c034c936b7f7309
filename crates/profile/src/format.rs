//! Recognising a profile's format from its content, and reading and writing Corridor's
//! own JSON format.
//!
//! The format is decided by the content, never by the file name (IT mails
//! `vpn.xml`, `corp.txt` and `profile` as often as the proper extensions):
//! - JSON: a Corridor profile carries `"format": "corridor-profile"`; a strongSwan
//!   `.sswan` profile has `type` and `remote`.
//! - XML: the root element `<plist>` is an Apple configuration profile (`.mobileconfig`),
//!   `<VPNProfile>` a Windows VPNv2 ProfileXML.
//! - A binary property list or DER (a CMS-signed `.mobileconfig`).
//! - PowerShell calling `Add-VpnConnection` (and its companions), as IT scripts do.
//!
//! JSON type errors are reported with the JSON path (via `serde_path_to_error`) and the
//! line and column of the offending value.

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
    /// An Apple configuration profile: XML or binary plist, or either inside CMS.
    Mobileconfig,
    /// A Windows VPNv2 CSP ProfileXML.
    ProfileXml,
    /// A PowerShell script with `Add-VpnConnection`.
    PowerShell,
}

/// What the supported formats look like, for the error about a file that is none.
const SUPPORTED: &str = "expected a Corridor profile (JSON), a strongSwan .sswan file, an Apple \
     .mobileconfig, a Windows ProfileXML or a PowerShell script calling Add-VpnConnection";

/// Decides the format from the content; for JSON also returns the parsed value.
pub(crate) fn detect(input: &Input) -> Result<(Detected, Option<Value>), InputError> {
    if input.binary {
        return Ok((Detected::Mobileconfig, None));
    }
    let start = input.text.trim_start();
    if start.starts_with(['{', '[', '"']) {
        crate::input::check_json_depth(input)?;
        let (detected, value) = detect_json(input)?;
        return Ok((detected, Some(value)));
    }
    // `<#` opens a PowerShell block comment, which scripts often start with.
    if start.starts_with('<') && !start.starts_with("<#") {
        return detect_xml(input).map(|d| (d, None));
    }
    let lower = input.text.to_ascii_lowercase();
    if lower.contains("add-vpnconnection") {
        return Ok((Detected::PowerShell, None));
    }
    Err(InputError::new(
        input.origin.clone(),
        InputErrorKind::UnknownFormat(format!("not a VPN profile this version reads: {SUPPORTED}")),
    ))
}

/// The name of an XML document's root element, skipping the declaration, comments,
/// processing instructions and the document type declaration (whose own name is
/// enough: `<!DOCTYPE plist …>`). Only a scan for the name: the format's parser reads
/// the document properly.
fn xml_root(text: &str) -> Option<String> {
    let mut rest = text.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after.split_once("?>")?.1.trim_start();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->")?.1.trim_start();
        } else if let Some(after) = rest.strip_prefix("<!DOCTYPE") {
            return after
                .split_whitespace()
                .next()
                .map(|n| n.trim_end_matches(['>', '[']).to_string());
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = after
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .unwrap_or(after.len());
            return Some(after[..end].to_string());
        } else {
            return None;
        }
    }
}

fn detect_xml(input: &Input) -> Result<Detected, InputError> {
    let root = xml_root(&input.text).unwrap_or_default();
    // Element names may carry a namespace prefix (`<vpn:VPNProfile>`).
    let local = root.rsplit(':').next().unwrap_or_default();
    match local {
        "plist" => Ok(Detected::Mobileconfig),
        "VPNProfile" => Ok(Detected::ProfileXml),
        _ => Err(InputError::new(
            input.origin.clone(),
            InputErrorKind::UnknownFormat(format!(
                "an XML document whose root element is <{root}>: expected <plist> (an Apple \
                 .mobileconfig) or <VPNProfile> (a Windows ProfileXML)"
            )),
        )),
    }
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

/// Parses the whole text as JSON (syntax only) and decides which JSON format it is.
fn detect_json(input: &Input) -> Result<(Detected, Value), InputError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_root_skips_prolog_comments_and_doctype() {
        let plist = "<?xml version=\"1.0\"?>\n<!-- IT -->\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"x\">\n<plist>";
        assert_eq!(xml_root(plist).as_deref(), Some("plist"));
        let vpn = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<VPNProfile>\r\n<NativeProfile/>";
        assert_eq!(xml_root(vpn).as_deref(), Some("VPNProfile"));
        assert_eq!(
            xml_root("<a:VPNProfile xmlns:a=\"x\">").as_deref(),
            Some("a:VPNProfile")
        );
        assert_eq!(xml_root("<!-- unterminated"), None);
        assert_eq!(
            xml_root("<!DOCTYPE lolz [<!ENTITY a \"b\">]><lolz/>").as_deref(),
            Some("lolz")
        );
    }
}
