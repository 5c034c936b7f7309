//! In-crate tests that need test-only hooks (fixed IVs, counters).
mod kat;
mod sa;
