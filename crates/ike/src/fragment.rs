//! Reassembly of IKE fragments (RFC 7383 §2.6).
//!
//! Each fragment is authenticated and decrypted on its own before it gets here, so a
//! forged fragment cannot take the place of a real one; what remains to bound is how
//! much a gateway can make us hold: at most [`corridor_wire::limits::MAX_FRAGMENTS`]
//! fragments and [`MAX_REASSEMBLED`] bytes per message.

use corridor_wire::PayloadType;
use corridor_wire::limits::MAX_FRAGMENTS;

/// The largest reassembled message we hold: three times strongSwan's default maximum
/// IKE message size, enough for an RSA-4096 chain of three certificates and more.
pub(crate) const MAX_REASSEMBLED: usize = 64 * 1024;

/// One decrypted fragment.
#[derive(Debug)]
pub(crate) struct Fragment {
    pub(crate) message_id: u32,
    pub(crate) number: u16,
    pub(crate) total: u16,
    pub(crate) first_inner: PayloadType,
    pub(crate) plaintext: Vec<u8>,
}

/// A message being reassembled.
#[derive(Debug)]
pub(crate) struct Reassembly {
    message_id: u32,
    total: u16,
    first_inner: PayloadType,
    parts: Vec<Option<Vec<u8>>>,
    bytes: usize,
}

impl Default for Reassembly {
    fn default() -> Self {
        Self {
            message_id: 0,
            total: 0,
            first_inner: PayloadType::NONE,
            parts: Vec::new(),
            bytes: 0,
        }
    }
}

/// What adding a fragment did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Added {
    /// More fragments are needed.
    Incomplete,
    /// The fragment was dropped (duplicate, stale or over the limits), with why.
    Dropped(&'static str),
    /// The message is complete: the first inner payload type and the plaintext of all
    /// fragments in order.
    Complete(PayloadType, Vec<u8>),
}

impl Reassembly {
    /// Adds a fragment of the message we are waiting for.
    pub(crate) fn add(&mut self, f: Fragment) -> Added {
        if f.total == 0 || f.total > MAX_FRAGMENTS || f.number == 0 || f.number > f.total {
            return Added::Dropped("fragment numbering out of range");
        }
        if self.parts.is_empty() || self.message_id != f.message_id {
            self.start(f.message_id, f.total);
        } else if f.total != self.total {
            // RFC 7383 §2.6.1: a fragment announcing more Total Fragments than those
            // collected so far restarts reassembly with it (the sender re-fragmented);
            // one announcing fewer is stale and discarded.
            if f.total < self.total {
                return Added::Dropped("fewer Total Fragments than earlier fragments");
            }
            self.start(f.message_id, f.total);
        }
        let index = usize::from(f.number - 1);
        if self.parts.get(index).is_some_and(Option::is_some) {
            return Added::Dropped("duplicate fragment");
        }
        if self.bytes.saturating_add(f.plaintext.len()) > MAX_REASSEMBLED {
            self.parts.clear();
            return Added::Dropped("reassembled message would exceed the size limit");
        }
        if f.number == 1 {
            self.first_inner = f.first_inner;
        }
        self.bytes += f.plaintext.len();
        if let Some(slot) = self.parts.get_mut(index) {
            *slot = Some(f.plaintext);
        }
        if self.parts.iter().all(Option::is_some) {
            let mut whole = Vec::with_capacity(self.bytes);
            for part in self.parts.drain(..).flatten() {
                whole.extend_from_slice(&part);
            }
            self.bytes = 0;
            return Added::Complete(self.first_inner, whole);
        }
        Added::Incomplete
    }

    fn start(&mut self, message_id: u32, total: u16) {
        self.message_id = message_id;
        self.total = total;
        self.first_inner = PayloadType::NONE;
        self.parts = vec![None; usize::from(total)];
        self.bytes = 0;
    }

    /// Forgets any partial message.
    pub(crate) fn clear(&mut self) {
        self.parts.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(number: u16, total: u16, data: &[u8]) -> Fragment {
        Fragment {
            message_id: 1,
            number,
            total,
            first_inner: if number == 1 {
                PayloadType::IDR
            } else {
                PayloadType::NONE
            },
            plaintext: data.to_vec(),
        }
    }

    #[test]
    fn reassembles_out_of_order_with_duplicates() {
        let mut r = Reassembly::default();
        assert_eq!(r.add(frag(3, 3, b"c")), Added::Incomplete);
        assert_eq!(r.add(frag(1, 3, b"a")), Added::Incomplete);
        assert_eq!(
            r.add(frag(1, 3, b"a")),
            Added::Dropped("duplicate fragment")
        );
        assert_eq!(
            r.add(frag(2, 3, b"b")),
            Added::Complete(PayloadType::IDR, b"abc".to_vec())
        );
    }

    #[test]
    fn total_fragment_changes_and_limits() {
        let mut r = Reassembly::default();
        assert_eq!(r.add(frag(1, 3, b"a")), Added::Incomplete);
        assert!(matches!(r.add(frag(1, 2, b"a")), Added::Dropped(_)));
        assert_eq!(r.add(frag(4, 4, b"d")), Added::Incomplete);
        assert!(matches!(r.add(frag(5, 4, b"x")), Added::Dropped(_)));
        let big = vec![0u8; MAX_REASSEMBLED - 1];
        assert_eq!(r.add(frag(1, 4, &big)), Added::Incomplete);
        assert!(matches!(r.add(frag(2, 4, b"x")), Added::Dropped(_)));
    }
}
