//! Just enough DER reading for AlgorithmIdentifiers and SubjectPublicKeyInfo headers:
//! definite lengths only, every length checked against its container.

/// A cursor over DER bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next element, if any.
    pub(super) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads one element with the given tag and returns its contents.
    pub(super) fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&t, rest) = self.rest.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            // Long form: 1 or 2 length octets are plenty for what we read, and DER
            // requires the shortest form.
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 2 || rest.len() < n {
                return None;
            }
            let mut len = 0usize;
            for &b in &rest[..n] {
                len = (len << 8) | usize::from(b);
            }
            if len < 0x80 || (n == 2 && len < 0x100) {
                return None;
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return None;
        }
        let (contents, rest) = rest.split_at(len);
        self.rest = rest;
        Some(contents)
    }

    /// Reads an element only if it has the given tag.
    pub(super) fn read_optional(&mut self, tag: u8) -> Option<Option<&'a [u8]>> {
        if self.peek_tag() == Some(tag) {
            self.read(tag).map(Some)
        } else {
            Some(None)
        }
    }
}

pub(super) const SEQUENCE: u8 = 0x30;
pub(super) const OID: u8 = 0x06;
pub(super) const NULL: u8 = 0x05;
pub(super) const INTEGER: u8 = 0x02;
pub(super) const BIT_STRING: u8 = 0x03;

/// Reads `SEQUENCE { OID, params ANY OPTIONAL }` and returns the OID and the raw
/// parameters (tag included) if present.
pub(super) fn algorithm_identifier(bytes: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let mut outer = Der::new(bytes);
    let inner = outer.read(SEQUENCE)?;
    if !outer.is_empty() {
        return None;
    }
    let mut inner = Der::new(inner);
    let oid = inner.read(OID)?;
    let params = if inner.is_empty() {
        None
    } else {
        Some(inner.rest)
    };
    Some((oid, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lengths_strictly() {
        assert_eq!(
            Der::new(&[0x30, 0x01, 0xaa]).read(SEQUENCE),
            Some(&[0xaa][..])
        );
        assert_eq!(Der::new(&[0x30, 0x02, 0xaa]).read(SEQUENCE), None);
        // Non-minimal long form.
        assert_eq!(Der::new(&[0x30, 0x81, 0x01, 0xaa]).read(SEQUENCE), None);
        assert_eq!(Der::new(&[0x30, 0x80]).read(SEQUENCE), None);
        assert_eq!(Der::new(&[0x31, 0x00]).read(SEQUENCE), None);
        assert_eq!(Der::new(&[]).read(SEQUENCE), None);
        let long = [&[0x04, 0x81, 0x80][..], &[7u8; 0x80]].concat();
        assert_eq!(Der::new(&long).read(0x04).map(<[u8]>::len), Some(0x80));
    }
}
