//! The borrowing cursor every parser reads through, and the helpers encoders write with.

use crate::error::{Error, Structure};

/// A cursor over borrowed bytes that knows which structure it is reading, so that every
/// error it returns names the structure and the field.
///
/// Reads never panic: a read past the end is [`Error::Truncated`]. Slices it hands out
/// borrow from the original input (`'a`), not from the reader.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: Structure,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, reporting errors as found in `at`.
    pub fn new(bytes: &'a [u8], at: Structure) -> Self {
        Self { bytes, at }
    }

    /// The structure errors are reported in.
    pub fn structure(&self) -> Structure {
        self.at
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The unread bytes, without consuming them.
    pub fn peek_rest(&self) -> &'a [u8] {
        self.bytes
    }

    /// Consumes and returns all unread bytes.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    /// Consumes `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Error> {
        if n > self.bytes.len() {
            return Err(Error::Truncated {
                at: self.at,
                field,
                needed: n,
                available: self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    /// Consumes `N` bytes into an array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    /// Reads one octet.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, Error> {
        Ok(self.array::<1>(field)?[0])
    }

    /// Reads a big-endian 16-bit integer.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    /// Reads a big-endian 32-bit integer.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// Reads a big-endian 64-bit integer.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Splits off the next `n` bytes as a reader of their own, for a substructure whose
    /// length field says `n`; errors inside it are reported in `at`.
    pub fn sub(&mut self, n: usize, field: &'static str, at: Structure) -> Result<Self, Error> {
        Ok(Self::new(self.take(n, field)?, at))
    }

    /// Succeeds only if everything has been read.
    pub fn finish(self) -> Result<(), Error> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingData {
                at: self.at,
                len: self.bytes.len(),
            })
        }
    }
}

/// Writes the length of everything appended after `start` (where a placeholder of two
/// bytes sits) into that placeholder, counting from `counted_from`.
///
/// Encoders reserve the length field with [`reserve_u16`], append the structure, then call
/// this; a structure too long for its 16-bit field is [`Error::TooLong`].
pub(crate) fn patch_u16(
    out: &mut [u8],
    at_offset: usize,
    counted_from: usize,
    structure: Structure,
    field: &'static str,
) -> Result<(), Error> {
    let length = out.len() - counted_from;
    let value = u16::try_from(length).map_err(|_| Error::TooLong {
        at: structure,
        field,
        length,
        max: u16::MAX.into(),
    })?;
    out[at_offset..at_offset + 2].copy_from_slice(&value.to_be_bytes());
    Ok(())
}

/// Appends a two-byte placeholder for a length and returns its offset.
pub(crate) fn reserve_u16(out: &mut Vec<u8>) -> usize {
    let offset = out.len();
    out.extend_from_slice(&[0, 0]);
    offset
}

/// Converts a count to the integer type of its field, or reports that it does not fit.
pub(crate) fn count<T: TryFrom<usize>>(
    n: usize,
    at: Structure,
    field: &'static str,
    max: usize,
) -> Result<T, Error> {
    T::try_from(n).map_err(|_| Error::TooLong {
        at,
        field,
        length: n,
        max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_reports_truncation() {
        let bytes = [1, 2, 3, 4, 5, 6, 7];
        let mut r = Reader::new(&bytes, Structure::Header);
        assert_eq!(r.u8("a").unwrap(), 1);
        assert_eq!(r.u16("b").unwrap(), 0x0203);
        assert_eq!(r.remaining(), 4);
        let err = r.u64("c").unwrap_err();
        assert_eq!(
            err,
            Error::Truncated {
                at: Structure::Header,
                field: "c",
                needed: 8,
                available: 4
            }
        );
        // A failed read consumes nothing.
        assert_eq!(r.u32("d").unwrap(), 0x04050607);
        r.finish().unwrap();
    }

    #[test]
    fn sub_reader_and_trailing_data() {
        let bytes = [0, 1, 2, 3];
        let mut r = Reader::new(&bytes, Structure::Chain);
        let mut sub = r.sub(3, "x", Structure::Proposal).unwrap();
        assert_eq!(sub.u8("y").unwrap(), 0);
        assert_eq!(
            sub.finish().unwrap_err(),
            Error::TrailingData {
                at: Structure::Proposal,
                len: 2
            }
        );
        assert_eq!(r.rest(), &[3]);
        assert!(r.is_empty());
    }

    #[test]
    fn patch_rejects_overlong() {
        let mut out = Vec::new();
        let at = reserve_u16(&mut out);
        out.resize(70_000, 0);
        let err = patch_u16(&mut out, at, 0, Structure::Chain, "len").unwrap_err();
        assert!(matches!(
            err,
            Error::TooLong {
                length: 70_000,
                max: 65_535,
                ..
            }
        ));
    }
}
