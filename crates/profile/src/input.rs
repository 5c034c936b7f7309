//! Reading a profile file safely: size cap, encoding and nesting checks before any
//! parsing, so a hostile or broken file costs little and fails with one clear error.

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

/// The text of a profile and where it came from.
#[derive(Debug)]
pub(crate) struct Input {
    /// The file name (or other label) used in error messages.
    pub origin: String,
    /// The UTF-8 text, without a byte order mark.
    pub text: String,
    /// The directory relative file references are resolved against.
    pub base_dir: Option<PathBuf>,
}

/// Reads a file, refusing oversized, non-UTF-8, empty and too deeply nested ones.
pub(crate) fn read_file(path: &Path) -> Result<Input, InputError> {
    let origin = path.display().to_string();
    let fail = |kind| InputError::new(origin.clone(), kind);
    let file = File::open(path).map_err(|e| fail(InputErrorKind::Read(e)))?;
    let meta = file.metadata().map_err(|e| fail(InputErrorKind::Read(e)))?;
    if meta.is_dir() {
        return Err(fail(InputErrorKind::Read(io::Error::other(
            "it is a directory",
        ))));
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
    let mut text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let raw = e.as_bytes();
            if raw.starts_with(&[0xff, 0xfe]) || raw.starts_with(&[0xfe, 0xff]) {
                return Err(fail(InputErrorKind::Invalid(
                    "the file is UTF-16 text; save it as UTF-8".to_string(),
                )));
            }
            return Err(fail(InputErrorKind::NotUtf8 {
                offset: e.utf8_error().valid_up_to(),
            }));
        }
    };
    // Editors on Windows like to start UTF-8 files with a byte order mark; JSON forbids it.
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    if text.trim().is_empty() {
        return Err(fail(InputErrorKind::Empty));
    }
    if let Some((line, column)) = too_deep(&text, MAX_JSON_DEPTH) {
        return Err(fail(InputErrorKind::TooDeep {
            limit: MAX_JSON_DEPTH,
        })
        .with_position(line, column));
    }
    Ok(Input {
        origin,
        text,
        base_dir,
    })
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
}
