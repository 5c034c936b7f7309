//! Many datagrams in one contiguous buffer, for sending with one system call (UDP GSO,
//! `sendmmsg`) and for reuse across calls without allocating.

use std::ops::Range;

use crate::error::EspError;

/// Datagrams stored back to back in one buffer, with their ranges.
///
/// Reuse one batch across calls: [`clear`](Self::clear) keeps the capacity, so a
/// steady-state data path allocates nothing. When every datagram but the last has the
/// same length and the last is not longer ([`gso_segment_size`](Self::gso_segment_size)),
/// the whole buffer can go to the kernel as one UDP GSO send.
#[derive(Debug, Default, Clone)]
pub struct DatagramBatch {
    /// Initialised storage; only `buf[..used]` holds datagrams. The rest is kept (not
    /// truncated) so that later batches write into it without zeroing it again.
    buf: Vec<u8>,
    used: usize,
    segments: Vec<Range<usize>>,
}

impl PartialEq for DatagramBatch {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes() && self.segments == other.segments
    }
}

impl Eq for DatagramBatch {}

impl DatagramBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `datagrams` datagrams of `bytes` bytes in total.
    pub fn with_capacity(datagrams: usize, bytes: usize) -> Self {
        Self {
            buf: vec![0; bytes],
            used: 0,
            segments: Vec::with_capacity(datagrams),
        }
    }

    /// Removes all datagrams, keeping the allocations.
    pub fn clear(&mut self) {
        self.used = 0;
        self.segments.clear();
    }

    /// The number of datagrams.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// All datagrams back to back.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.used]
    }

    /// Where each datagram lies in [`as_bytes`](Self::as_bytes).
    pub fn segments(&self) -> &[Range<usize>] {
        &self.segments
    }

    /// Datagram `index`.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.buf.get(self.segments.get(index)?.clone())
    }

    /// The datagrams in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.segments.iter().map(|r| &self.buf[r.clone()])
    }

    /// The segment size for one UDP GSO send of the whole buffer, if the datagrams
    /// allow it: all but the last of equal length, the last not longer. `None` for an
    /// empty batch.
    pub fn gso_segment_size(&self) -> Option<usize> {
        let (last, rest) = self.segments.split_last()?;
        let size = rest.first().map_or(last.len(), |r| r.len());
        (rest.iter().all(|r| r.len() == size) && last.len() <= size).then_some(size)
    }

    /// Appends a datagram of at most `max_len` bytes written by `write`, which returns
    /// the length it wrote. Nothing is appended if `write` fails.
    ///
    /// # Errors
    /// Whatever `write` returns.
    pub fn push_with<F>(&mut self, max_len: usize, write: F) -> Result<(), EspError>
    where
        F: FnOnce(&mut [u8]) -> Result<usize, EspError>,
    {
        let start = self.used;
        if self.buf.len() < start + max_len {
            self.buf.resize(start + max_len, 0);
        }
        let written = write(&mut self.buf[start..start + max_len])?;
        let end = start + written.min(max_len);
        self.used = end;
        self.segments.push(start..end);
        Ok(())
    }

    /// Appends a copy of `datagram` (a NAT-keepalive, an IKE message behind its marker).
    pub fn push(&mut self, datagram: &[u8]) {
        let start = self.used;
        let end = start + datagram.len();
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        self.buf[start..end].copy_from_slice(datagram);
        self.used = end;
        self.segments.push(start..end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_gso() {
        let mut b = DatagramBatch::new();
        assert_eq!(b.gso_segment_size(), None);
        b.push(&[1, 2, 3]);
        assert_eq!(b.gso_segment_size(), Some(3));
        b.push(&[4, 5, 6]);
        b.push_with(10, |buf| {
            buf[..2].copy_from_slice(&[7, 8]);
            Ok(2)
        })
        .unwrap();
        assert_eq!(b.gso_segment_size(), Some(3));
        assert_eq!(b.as_bytes(), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(b.get(2), Some(&[7, 8][..]));
        assert_eq!(b.iter().count(), 3);
        let err = b.push_with(5, |_| Err(EspError::SequenceExhausted));
        assert!(err.is_err());
        assert_eq!(b.len(), 3);
        assert_eq!(b.as_bytes().len(), 8);
        b.push(&[9, 9, 9, 9]);
        assert_eq!(b.gso_segment_size(), None, "last longer than the rest");
        b.clear();
        assert!(b.is_empty());
        assert!(b.as_bytes().is_empty());
    }
}
