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
    /// allow it: back to back from the start, all but the last of equal length, the
    /// last not longer. `None` for an empty batch.
    pub fn gso_segment_size(&self) -> Option<usize> {
        let (last, rest) = self.segments.split_last()?;
        let size = rest.first().map_or(last.len(), |r| r.len());
        let back_to_back = self.segments.first().is_some_and(|r| r.start == 0)
            && self.segments.windows(2).all(|w| w[0].end == w[1].start);
        (back_to_back && rest.iter().all(|r| r.len() == size) && last.len() <= size).then_some(size)
    }

    /// The whole buffer, beyond the datagrams too, for writing datagrams in place (a
    /// receive straight into the batch) before [`push_in_place`](Self::push_in_place)
    /// marks them. Grows it to at least `len` bytes first.
    pub fn buffer_mut(&mut self, len: usize) -> &mut [u8] {
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        &mut self.buf
    }

    /// Appends the datagram already written at `range` of the buffer (see
    /// [`buffer_mut`](Self::buffer_mut)), without copying it: a packet decrypted where it
    /// was received. Datagrams appended this way need not be back to back (a batch of
    /// them is for the packet device, not for a segmented send).
    ///
    /// # Errors
    /// [`EspError::BufferTooSmall`] if `range` lies outside the buffer (or is reversed).
    pub fn push_in_place(&mut self, range: Range<usize>) -> Result<(), EspError> {
        if range.start > range.end || range.end > self.buf.len() {
            return Err(EspError::BufferTooSmall {
                needed: range.start.max(range.end),
                available: self.buf.len(),
            });
        }
        self.used = self.used.max(range.end);
        self.segments.push(range);
        Ok(())
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

/// The most bytes one segmented UDP send carries: a UDP datagram's length field (and the
/// IP packet around it) limit the whole, not one segment.
pub const MAX_GSO_BYTES: usize = 65_000;

/// What one segmented UDP send covers: `bytes` of a batch's buffer, `count` datagrams of
/// `size` bytes each (the last may be shorter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GsoRun {
    /// The bytes of [`DatagramBatch::as_bytes`] the send carries.
    pub bytes: Range<usize>,
    /// The segment size (all datagrams but the last have it exactly).
    pub size: usize,
    /// How many datagrams.
    pub count: usize,
}

/// Splits back-to-back datagrams (a batch's [`segments`](DatagramBatch::segments), or a
/// stretch of them) into runs that one segmented send can carry: equal lengths, except
/// that a shorter datagram may end a run (the kernel cuts the buffer every `size`
/// bytes), at most `max_segments` datagrams and [`MAX_GSO_BYTES`].
pub fn gso_runs(
    segments: &[Range<usize>],
    max_segments: usize,
) -> impl Iterator<Item = GsoRun> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let first = segments.get(i)?;
        i += 1;
        let size = first.len();
        let mut run = GsoRun {
            bytes: first.clone(),
            size,
            count: 1,
        };
        while run.count < max_segments && size > 0 {
            let Some(next) = segments.get(i) else { break };
            if next.start != run.bytes.end
                || next.len() > size
                || next.end - run.bytes.start > MAX_GSO_BYTES
            {
                break;
            }
            run.bytes.end = next.end;
            run.count += 1;
            i += 1;
            if next.len() < size {
                break;
            }
        }
        Some(run)
    })
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

    #[test]
    fn datagrams_written_in_place_are_marked_without_a_copy() {
        let mut b = DatagramBatch::new();
        let buf = b.buffer_mut(32);
        buf[4..8].copy_from_slice(&[1, 2, 3, 4]);
        buf[20..22].copy_from_slice(&[5, 6]);
        b.push_in_place(4..8).unwrap();
        b.push_in_place(20..22).unwrap();
        assert!(b.push_in_place(30..40).is_err());
        assert_eq!(b.len(), 2);
        assert_eq!(b.get(0), Some(&[1, 2, 3, 4][..]));
        assert_eq!(b.get(1), Some(&[5, 6][..]));
        assert_eq!(b.as_bytes().len(), 22);
        assert_eq!(b.gso_segment_size(), None, "not back to back");
        b.clear();
        b.push(&[7, 7]);
        assert_eq!(b.as_bytes(), [7, 7]);
    }

    fn runs(lengths: &[usize], max: usize) -> Vec<(usize, usize)> {
        let mut b = DatagramBatch::new();
        for (i, len) in lengths.iter().enumerate() {
            b.push(&vec![i as u8; *len]);
        }
        gso_runs(b.segments(), max)
            .map(|r| (r.size, r.count))
            .collect()
    }

    #[test]
    fn equal_datagrams_go_in_one_run_a_shorter_one_ends_it() {
        assert_eq!(runs(&[100, 100, 100, 40, 100], 64), [(100, 4), (100, 1)]);
        assert_eq!(runs(&[40, 100, 100], 64), [(40, 1), (100, 2)]);
        assert_eq!(runs(&[], 64), []);
        assert_eq!(runs(&[100; 5], 2), [(100, 2), (100, 2), (100, 1)]);
        assert_eq!(runs(&[100; 3], 1), [(100, 1); 3]);
    }

    #[test]
    fn a_run_stays_within_one_udp_datagram() {
        let all = runs(&[1400; 100], 64);
        assert!(all.iter().all(|(_, count)| count * 1400 <= MAX_GSO_BYTES));
        assert_eq!(all.iter().map(|(_, c)| c).sum::<usize>(), 100);
    }

    #[test]
    fn run_bytes_cover_the_batch_in_order() {
        let mut b = DatagramBatch::new();
        for len in [10, 10, 5, 7, 7] {
            b.push(&vec![0; len]);
        }
        let covered: Vec<Range<usize>> = gso_runs(b.segments(), 64).map(|r| r.bytes).collect();
        assert_eq!(covered, [0..25, 25..39]);
    }
}
