//! The one error type of this crate.
//!
//! Every inbound failure is cheap to produce (no allocation, no formatting until
//! displayed) because a flood of forged packets must cost the receiver as little as
//! possible. None carries key material or decrypted bytes.

/// Why an ESP operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EspError {
    /// The packet's SPI is not the one of this SA.
    #[error("ESP packet for SPI {spi:#010x}, which this SA does not handle")]
    UnknownSpi {
        /// The SPI in the packet.
        spi: u32,
    },
    /// The sequence number was already received, or is too old for the replay window.
    #[error("replayed or too old ESP sequence number {seq}")]
    Replay {
        /// The (inferred, with ESN) sequence number.
        seq: u64,
    },
    /// The ICV (or AEAD tag) did not verify: the packet was altered, forged, or is
    /// protected with other keys.
    #[error("ESP integrity check failed")]
    IntegrityFailed,
    /// The packet cannot be ESP of this SA: too short, misaligned, or (after a good ICV)
    /// with an inconsistent trailer.
    #[error("malformed ESP packet: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The outbound sequence number space is used up: the SA must be rekeyed.
    #[error("the ESP sequence number space is exhausted; the SA must be rekeyed")]
    SequenceExhausted,
    /// The SA reached its hard byte or packet lifetime and must not be used any more.
    #[error("the SA reached its hard {limit} lifetime")]
    LifetimeExpired {
        /// "byte" or "packet".
        limit: &'static str,
    },
    /// The caller's output buffer cannot hold the encapsulated packet.
    #[error("output buffer too small: {needed} bytes needed, {available} available")]
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The SA parameters or keys are not usable.
    #[error("invalid SA configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// The crypto backend failed in a way that input does not explain.
    #[error("internal cryptographic failure during {operation}")]
    Backend {
        /// What was being done.
        operation: &'static str,
    },
}

pub(crate) fn malformed(reason: &'static str) -> EspError {
    EspError::Malformed { reason }
}
