//! Reading a profile file safely: size cap, encoding and nesting checks before any
//! parsing, so a hostile or broken file costs little and fails with one clear error.
//!
//! Most formats are text (JSON, XML, PowerShell); two Apple forms are binary: a binary
//! property list (`bplist00…`) and a CMS-signed `.mobileconfig` (DER, starting with a
//! SEQUENCE). Those are kept as bytes; everything else must decode as UTF-8 or, as
//! Windows tools like to write it, UTF-16 with a byte order mark.

use std::fs::File;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use crate::error::{InputError, InputErrorKind};

/// The largest profile accepted, checked before reading. A profile with an embedded
/// PKCS#12 container and a CA chain is a few tens of kilobytes; a megabyte leaves ample
/// room while keeping memory and parse time trivial.
pub const MAX_PROFILE_BYTES: u64 = 1024 * 1024;

/// The deepest JSON nesting accepted. Profiles nest four levels; serde_json would stop
/// at 128, but with a less helpful message.
pub const MAX_JSON_DEPTH: usize = 32;

/// The content of a profile file and where it came from.
#[derive(Debug)]
pub(crate) struct Input {
    /// The file name (or other label) used in error messages.
    pub origin: String,
    /// The decoded text, without a byte order mark; empty for a binary file.
    pub text: String,
    /// The bytes as read (before decoding).
    pub bytes: Vec<u8>,
    /// Whether the content is one of the binary forms (see the module docs).
    pub binary: bool,
    /// The directory relative file references are resolved against.
    pub base_dir: Option<PathBuf>,
}

/// Reads a file, refusing oversized, non-UTF-8, empty and too deeply nested ones.
pub(crate) fn read_file(path: &Path) -> Result<Input, InputError> {
    let origin = path.display().to_string();
    let fail = |kind| InputError::new(origin.clone(), kind);
    let is_a_directory = || fail(InputErrorKind::Read(io::Error::other("it is a directory")));
    // Windows refuses to open a directory ("access denied"), Unix opens it: either way
    // the message says what the path is.
    let file = File::open(path).map_err(|e| {
        if path.is_dir() {
            is_a_directory()
        } else {
            fail(InputErrorKind::Read(e))
        }
    })?;
    let meta = file.metadata().map_err(|e| fail(InputErrorKind::Read(e)))?;
    if meta.is_dir() {
        return Err(is_a_directory());
    }
    if meta.len() > MAX_PROFILE_BYTES {
        return Err(fail(InputErrorKind::TooLarge {
            size: meta.len(),
            limit: MAX_PROFILE_BYTES,
        }));
    }
    // The size can change between the check and the read (or be unknown, for devices and
    // pipes): read at most one byte more than the limit.
    let mut bytes = Vec::new();
    file.take(MAX_PROFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(InputErrorKind::Read(e)))?;
    let base_dir = path.parent().map(|p| {
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.to_path_buf()
        }
    });
    from_bytes(origin.clone(), bytes, base_dir)
}

/// Checks bytes from any source the same way as a file.
pub(crate) fn from_bytes(
    origin: String,
    bytes: Vec<u8>,
    base_dir: Option<PathBuf>,
) -> Result<Input, InputError> {
    let fail = |kind| InputError::new(origin.clone(), kind);
    let len = bytes.len() as u64;
    if len > MAX_PROFILE_BYTES {
        return Err(fail(InputErrorKind::TooLarge {
            size: len,
            limit: MAX_PROFILE_BYTES,
        }));
    }
    if len == 0 {
        return Err(fail(InputErrorKind::Empty));
    }
    if is_binary(&bytes) {
        return Ok(Input {
            origin,
            text: String::new(),
            bytes,
            binary: true,
            base_dir,
        });
    }
    let text = decode_text(&bytes).map_err(fail)?;
    if text.trim().is_empty() {
        return Err(fail(InputErrorKind::Empty));
    }
    Ok(Input {
        origin,
        text,
        bytes,
        binary: false,
        base_dir,
    })
}

/// A binary property list, or DER (a CMS `ContentInfo` is a SEQUENCE, tag 0x30, with a
/// definite or indefinite length). No text profile starts with either: JSON, XML and
/// PowerShell start with printable characters or a byte order mark.
fn is_binary(bytes: &[u8]) -> bool {
    bytes.starts_with(b"bplist") || (bytes.len() > 2 && bytes[0] == 0x30 && bytes[1] >= 0x80)
}

/// UTF-8 (a byte order mark is dropped) or UTF-16 with a byte order mark.
fn decode_text(bytes: &[u8]) -> Result<String, InputErrorKind> {
    let utf16 = |big_endian: bool| -> Result<String, InputErrorKind> {
        let body = &bytes[2..];
        if !body.len().is_multiple_of(2) {
            return Err(InputErrorKind::Invalid(
                "the file is UTF-16 text with an odd number of bytes (truncated?)".to_string(),
            ));
        }
        let units = body.chunks_exact(2).map(|c| {
            if big_endian {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .enumerate()
            .map(|(i, c)| {
                c.map_err(|_| {
                    InputErrorKind::Invalid(format!(
                        "the file is not valid UTF-16 text (unpaired surrogate at offset {})",
                        2 + 2 * i
                    ))
                })
            })
            .collect()
    };
    if bytes.starts_with(&[0xff, 0xfe]) {
        return utf16(false);
    }
    if bytes.starts_with(&[0xfe, 0xff]) {
        return utf16(true);
    }
    let mut text = String::from_utf8(bytes.to_vec()).map_err(|e| InputErrorKind::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })?;
    // Editors on Windows like to start UTF-8 files with a byte order mark; JSON forbids it.
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// Refuses JSON nested deeper than [`MAX_JSON_DEPTH`].
pub(crate) fn check_json_depth(input: &Input) -> Result<(), InputError> {
    match too_deep(&input.text, MAX_JSON_DEPTH) {
        Some((line, column)) => Err(InputError::new(
            input.origin.clone(),
            InputErrorKind::TooDeep {
                limit: MAX_JSON_DEPTH,
            },
        )
        .with_position(line, column)),
        None => Ok(()),
    }
}

/// Finds the first place where arrays/objects nest deeper than `limit`, ignoring brackets
/// inside strings. Returns its 1-based line and column.
fn too_deep(text: &str, limit: usize) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let (mut line, mut column) = (1, 0);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth > limit {
                    return Some((line, column));
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ignores_strings() {
        assert_eq!(too_deep("[[[\"[[[[[\"]]]", 3), None);
        assert_eq!(too_deep("[[[[1]]]]", 3), Some((1, 4)));
        assert_eq!(too_deep("{\"a\\\"[[[[\": [[[[]]]]}", 4), Some((1, 16)));
    }

    #[test]
    fn bom_is_stripped() {
        let input = from_bytes("x".into(), "\u{feff}{}".as_bytes().to_vec(), None).unwrap();
        assert_eq!(input.text, "{}");
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_decoded() {
        let mut le = vec![0xff, 0xfe];
        le.extend("<a>é</a>".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(from_bytes("x".into(), le, None).unwrap().text, "<a>é</a>");
        let mut be = vec![0xfe, 0xff];
        be.extend("{}".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(from_bytes("x".into(), be, None).unwrap().text, "{}");
        let odd = vec![0xff, 0xfe, b'{'];
        assert!(from_bytes("x".into(), odd, None).is_err());
    }

    #[test]
    fn binary_plists_and_der_stay_bytes() {
        let plist = from_bytes("x".into(), b"bplist00\xd0\x08".to_vec(), None).unwrap();
        assert!(plist.binary && plist.text.is_empty());
        let der = from_bytes("x".into(), vec![0x30, 0x82, 0x01, 0x00], None).unwrap();
        assert!(der.binary);
        assert!(from_bytes("x".into(), vec![0xc3, 0x28], None).is_err());
    }
}
