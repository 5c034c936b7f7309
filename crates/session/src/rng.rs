//! One injected RNG shared by the IKE SA and the ESP SAs (AES-CBC IVs).

use std::sync::{Arc, Mutex};

use corridor_crypto::Random;

/// A clonable handle on the caller's RNG.
#[derive(Clone)]
pub(crate) struct SharedRng(Arc<Mutex<Box<dyn Random + Send>>>);

impl SharedRng {
    pub(crate) fn new(rng: Box<dyn Random + Send>) -> Self {
        Self(Arc::new(Mutex::new(rng)))
    }
}

impl Random for SharedRng {
    fn fill(&mut self, dest: &mut [u8]) {
        // A poisoned lock only means another holder panicked mid-fill; the RNG state
        // itself is still usable.
        let mut rng = self.0.lock().unwrap_or_else(|e| e.into_inner());
        rng.fill(dest);
    }
}

impl std::fmt::Debug for SharedRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRng")
    }
}
