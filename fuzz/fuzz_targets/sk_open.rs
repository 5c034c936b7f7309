//! Feeds arbitrary bodies to `SkCrypter::open` for every ENCR/INTEG combination.
//!
//! Checks that opening never panics, whatever the length or content; that for AES-CBC a
//! body whose ICV is valid (the target computes it, so the fuzzer reaches decryption and
//! the Pad Length check) opens or fails with a padding error only; and that sealing the
//! input then opening it gives the input back.
//!
//! Input: octet 0 picks the algorithms, octet 1 the associated-data length, the rest is
//! associated data followed by the body.

#![no_main]

use corridor_crypto::{CryptoError, DeterministicRandom, EncrAlgorithm, IntegAlgorithm, SkCrypter};
use libfuzzer_sys::fuzz_target;

const COMBOS: [(EncrAlgorithm, Option<IntegAlgorithm>); 7] = [
    (EncrAlgorithm::AesGcm16 { key_bits: 128 }, None),
    (EncrAlgorithm::AesGcm16 { key_bits: 256 }, None),
    (EncrAlgorithm::ChaCha20Poly1305, None),
    (
        EncrAlgorithm::AesCbc { key_bits: 128 },
        Some(IntegAlgorithm::HmacSha1_96),
    ),
    (
        EncrAlgorithm::AesCbc { key_bits: 128 },
        Some(IntegAlgorithm::HmacSha256_128),
    ),
    (
        EncrAlgorithm::AesCbc { key_bits: 256 },
        Some(IntegAlgorithm::HmacSha384_192),
    ),
    (
        EncrAlgorithm::AesCbc { key_bits: 256 },
        Some(IntegAlgorithm::HmacSha512_256),
    ),
];

const INTEG_KEY: [u8; 64] = [0x5a; 64];

fuzz_target!(|data: &[u8]| {
    let [selector, aad_len, rest @ ..] = data else {
        return;
    };
    let (encr, integ) = COMBOS[usize::from(*selector) % COMBOS.len()];
    let integ_key = integ.map(|i| &INTEG_KEY[..i.key_len()]);
    let crypter = SkCrypter::new(encr, integ, &vec![0xa5; encr.key_len()], integ_key)
        .expect("valid configuration");
    let split = usize::from(*aad_len).min(rest.len());
    let (aad, body) = rest.split_at(split);

    // Arbitrary bodies: any outcome but a panic.
    let _ = crypter.open(aad, body);

    // CBC with a correct ICV: reaches decryption and the padding check.
    if let (Some(integ), Some(key)) = (integ, integ_key) {
        let icv = integ
            .compute(key, &[aad, body].concat())
            .expect("key length");
        let signed = [body, &icv].concat();
        match crypter.open(aad, &signed) {
            Ok(plain) => assert!(plain.len() < body.len()),
            Err(CryptoError::BadPadding { .. } | CryptoError::MalformedCiphertext { .. }) => {}
            Err(e) => panic!("authentic body failed with {e}"),
        }
    }

    // Round trip.
    let mut rng = DeterministicRandom::new(data);
    let sealed = crypter.seal(&mut rng, aad, body).expect("seal");
    assert_eq!(sealed.len(), crypter.encrypted_len(body.len()));
    assert_eq!(
        crypter.open(aad, &sealed).expect("open what we sealed"),
        body
    );
});
